"""Where every row of an ingest went: per-file and total counts (:class:`IngestReport`).

Each data row of each file is counted exactly once, as written to ``flows/``, quarantined, or
set aside by a named filter rule: ``rows_read == rows_written + rows_quarantined +
sum(rows_filtered.values())`` per file and in total (:meth:`IngestReport.balanced`).
``rows_read`` of a file is checked against an independent count of its data lines
(:class:`ca_trade.etl.rawtext.LineCounter`) before it is trusted.

Examples
--------
>>> rep = IngestReport([FileReport("a.csv", "plus_api", "", "ingested", 3, 1, 1,
...                                {"partner_world": 1})], Path("."))
>>> rep.balanced(), rep.rows_filtered
(True, {'partner_world': 1})
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

__all__ = ["FileReport", "IngestReport", "explain_empty"]


@dataclass
class FileReport:
    """Counts for one source file.

    Attributes
    ----------
    file : str
        Path relative to raw_dir.
    layout : str or None
        Detected Comtrade layout (None for a file that is not Comtrade).
    sha256 : str
        Content hash.
    status : str
        ``ingested``, ``cached`` (unchanged since the last run, not re-parsed),
        ``quarantined`` (whole file refused), ``source`` (a covariate/tariff/production
        file, read by :func:`ca_trade.etl.build_panel`, not by ingest) or ``ignored`` (not a
        Comtrade file: no Comtrade-like column names, e.g. a README).
    rows_read, rows_written, rows_quarantined : int
        Data rows read, written to ``flows/``, and quarantined.
    rows_filtered : dict of str to int
        Rows set aside per named filter rule.
    """

    file: str
    layout: str | None
    sha256: str
    status: str
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    rows_filtered: dict[str, int] = field(default_factory=dict)

    def balanced(self) -> bool:
        """Return whether every read row is accounted for.

        Returns
        -------
        bool
            ``rows_read == rows_written + rows_quarantined + sum(rows_filtered)``.

        Examples
        --------
        >>> FileReport("a", None, "", "ingested", 3, 1, 1, {"partner_world": 1}).balanced()
        True
        """
        return self.rows_read == (
            self.rows_written + self.rows_quarantined + sum(self.rows_filtered.values())
        )


@dataclass(repr=False)
class IngestReport:
    """What :func:`ingest` did, per file and in total.

    ``print(report)`` is one line of totals (``str``); ``repr`` names the counts, not every
    file: the per-file counts are in ``files`` and :meth:`to_frame`.

    Attributes
    ----------
    files : list of FileReport
        One entry per file found under raw_dir (sorted by name).
    processed_dir : Path
        Where the dataset was written (absolute, symbolic links resolved).
    skipped : bool
        True when nothing changed since the last run and the dataset was left as it was.
    problem : str or None
        Why no row was written to ``flows/`` (no Comtrade file found, the files hold no data
        rows, or where every row went instead); None when rows were written. The CLI exits
        with status 1 when it is set.
    synthetic : bool
        True when ``raw_dir`` holds the SYNTHETIC sample (its marker, ``SYNTHETIC.json``):
        the manifest and every Parquet file of the dataset say so.
    """

    files: list[FileReport]
    processed_dir: Path
    skipped: bool = False
    problem: str | None = None
    synthetic: bool = False

    @property
    def rows_read(self) -> int:
        """Total data rows read."""
        return sum(f.rows_read for f in self.files)

    @property
    def rows_written(self) -> int:
        """Total rows written to ``flows/``."""
        return sum(f.rows_written for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        """Total rows quarantined (whole-file records count all their lines)."""
        return sum(f.rows_quarantined for f in self.files)

    @property
    def rows_filtered(self) -> dict[str, int]:
        """Total rows set aside, per filter rule (sorted by rule)."""
        out: dict[str, int] = {}
        for f in self.files:
            for k, v in f.rows_filtered.items():
                out[k] = out.get(k, 0) + v
        return dict(sorted(out.items()))

    def __str__(self) -> str:
        """Return one line: what was ingested (or that nothing changed), and the row totals.

        Examples
        --------
        >>> rep = IngestReport([FileReport("a.csv", "plus_api", "", "ingested", 3, 2, 1)],
        ...                    Path("/data/processed"))
        >>> print(rep)
        ingested 1 file into /data/processed: rows read 3, written 2, quarantined 1, filtered: none
        """
        filtered = ", ".join(f"{k} {v}" for k, v in self.rows_filtered.items()) or "none"
        counts = (
            f"rows read {self.rows_read}, written {self.rows_written}, quarantined "
            f"{self.rows_quarantined}, filtered: {filtered}"
        )
        n = len(self.files)
        files = f"{n} file{'' if n == 1 else 's'}"
        if self.skipped:
            return (
                f"unchanged since the last ingest: {files} in {self.processed_dir} left as "
                f"they were (nothing re-read; {counts})"
            )
        return f"ingested {files} into {self.processed_dir}: {counts}"

    def __repr__(self) -> str:
        """Return the totals, not every file (those are in ``files``)."""
        return (
            f"IngestReport(files={len(self.files)}, rows_read={self.rows_read}, "
            f"rows_written={self.rows_written}, rows_quarantined={self.rows_quarantined}, "
            f"rows_filtered={self.rows_filtered!r}, skipped={self.skipped}, "
            f"problem={self.problem!r}, processed_dir={str(self.processed_dir)!r})"
        )

    def balanced(self) -> bool:
        """Return whether every file's counts reconcile exactly.

        Returns
        -------
        bool
            True when each file and the total balance.

        Examples
        --------
        >>> IngestReport([], Path(".")).balanced()
        True
        """
        return all(f.balanced() for f in self.files) and self.rows_read == (
            self.rows_written + self.rows_quarantined + sum(self.rows_filtered.values())
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the per-file counts as a DataFrame (one ``filtered_<rule>`` column per rule).

        Returns
        -------
        pandas.DataFrame
            One row per file.

        Examples
        --------
        >>> IngestReport([FileReport("a", None, "", "source")], Path(".")).to_frame().shape
        (1, 7)
        """
        rules = sorted({k for f in self.files for k in f.rows_filtered})
        rows = []
        for f in self.files:
            row: dict[str, Any] = {
                "file": f.file,
                "layout": f.layout,
                "status": f.status,
                "rows_read": f.rows_read,
                "rows_written": f.rows_written,
                "rows_quarantined": f.rows_quarantined,
                "rows_filtered": sum(f.rows_filtered.values()),
            }
            row.update({f"filtered_{r}": f.rows_filtered.get(r, 0) for r in rules})
            rows.append(row)
        return pd.DataFrame(rows)


def explain_empty(reports: list[FileReport], quarantine: pl.DataFrame) -> str | None:
    """Say why an ingest wrote no flow row (None when it wrote some).

    Parameters
    ----------
    reports : list of FileReport
        The run's per-file counts.
    quarantine : polars.DataFrame
        Its quarantine records (for the reasons).

    Returns
    -------
    str or None
        No Comtrade file found; the files hold no data rows; or where the rows went
        instead (filter rules, quarantine reasons).

    Examples
    --------
    >>> from ca_trade.etl.quarantine import empty_quarantine
    >>> explain_empty([FileReport("w.csv", "plus_api", "", "ingested", 2, 0, 0,
    ...                           {"partner_world": 2})], empty_quarantine())  # doctest: +ELLIPSIS
    'no rows were written to flows/: of 2 rows read from 1 Comtrade file, 2 filtered (...'
    """
    comtrade = [r for r in reports if r.status not in ("source", "ignored")]
    if not comtrade:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(Counter(r.status for r in reports).items()))
        return (
            f"found no Comtrade file in raw_dir ({len(reports)} files"
            + (f": {kinds}" if kinds else "")
            + "); nothing to ingest — check the folder"
        )
    if any(r.rows_written for r in comtrade):
        return None
    n_read = sum(r.rows_read for r in comtrade)
    files = f"{len(comtrade)} Comtrade file{'s' if len(comtrade) > 1 else ''}"
    if n_read == 0:
        return f"no rows were written to flows/: the {files} hold no data rows"
    parts = []
    filtered = Counter[str]()
    for r in comtrade:
        filtered.update(r.rows_filtered)
    if filtered:
        rules = ", ".join(f"{k} {v}" for k, v in sorted(filtered.items()))
        world = " (World totals are kept in controls/)" if "partner_world" in filtered else ""
        parts.append(f"{sum(filtered.values())} filtered ({rules}){world}")
    n_q = sum(r.rows_quarantined for r in comtrade)
    if n_q:
        by_reason = quarantine.group_by("reason").agg(pl.col("rows").sum()).sort("reason")
        reasons = ", ".join(f"{k} {v}" for k, v in by_reason.iter_rows())
        parts.append(f"{n_q} quarantined ({reasons}; see quarantine/quarantine.parquet)")
    row_s = "row" if n_read == 1 else "rows"
    return f"no rows were written to flows/: of {n_read} {row_s} read from {files}, " + (
        ", ".join(parts)
    )
