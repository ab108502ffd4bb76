r"""``ingest``: Comtrade files in ``raw_dir`` to the validated Parquet store.

Two passes:

1. **Per file** (cached by name and sha256): detect the layout from the header, read the
   file in pieces of :data:`ca_trade.etl.layouts.CHUNK_BYTES` (bounded memory whatever the
   file size) through :func:`ca_trade.etl.validate.transform` (a pure function of the file
   and the code table) into ``_staging/<key>/part-*.parquet`` with a status per row. A file that
   cannot be parsed at all becomes one whole-file quarantine record (reason, detail, number
   of lines).
2. **Per partition** (classification, year): rows with status ``ok`` from all files are
   checked for duplicate keys across files (repeats are filtered as ``duplicate_record``,
   conflicting values quarantined as ``duplicate_conflict``) and streamed to Parquet in
   (source file, line) order; World rows go to ``controls/``; quarantined rows to
   ``quarantine/``.

Every input row is counted exactly once: ``rows_read == rows_written + rows_quarantined +
sum(rows_filtered.values())`` per file and in total.

Examples
--------
>>> import tempfile, pathlib
>>> raw = pathlib.Path(tempfile.mkdtemp())
>>> _ = (raw / "kaz.csv").write_text(
...     "refYear,reporterCode,flowCode,partnerCode,cmdCode,primaryValue,classificationCode\n"
...     "2019,398,X,156,TOTAL,100,H5\n2019,398,X,0,TOTAL,900,H5\n2019,398,X,156,TOTAL,-1,H5\n")
>>> import warnings
>>> with warnings.catch_warnings():  # one row is quarantined: a DataValidationWarning
...     warnings.simplefilter("ignore")
...     rep = ingest(raw, raw.parent / (raw.name + "_out"))
>>> rep.rows_read, rep.rows_written, rep.rows_quarantined, rep.rows_filtered
(3, 1, 1, {'partner_world': 1})
"""

from __future__ import annotations

import hashlib
import shutil
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow.parquet as pq

from ca_trade.etl import layouts as _layouts
from ca_trade.etl.countries import CodeTable, code_table
from ca_trade.etl.layouts import (
    HeaderInfo,
    iter_chunks,
    normalise_name,
    read_head,
    scan_layout,
    sniff_header,
)
from ca_trade.etl.quarantine import count_data_lines, empty_quarantine, whole_file_record
from ca_trade.etl.schema import FLOW_SCHEMA, QUARANTINE_SCHEMA
from ca_trade.etl.sources import detect_source
from ca_trade.etl.store import (
    TMP_NAME,
    read_manifest,
    recover,
    sha256_file,
    sink_parquet,
    swap_in,
    write_json,
    write_parquet,
)
from ca_trade.etl.validate import DUP_KEY, transform
from ca_trade.exceptions import DataValidationWarning

__all__ = ["ETL_VERSION", "FileReport", "IngestReport", "ingest"]

#: Bumped when the per-file transform changes (invalidates the staging cache).
ETL_VERSION = 1
_TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".gz"}
# A header without a known layout but with one of these words is a damaged Comtrade file
# (quarantined); other unrecognised files are listed as ignored.
_COMTRADE_WORDS = ("reporter", "partner", "commodity", "cmdcode", "tradevalue", "primaryvalue")
_PARSE_ERRORS: tuple[type[BaseException], ...] = (
    pl.exceptions.PolarsError,
    OSError,
    EOFError,
    ValueError,
    zlib.error,
)


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


@dataclass
class IngestReport:
    """What :func:`ingest` did, per file and in total.

    Attributes
    ----------
    files : list of FileReport
        One entry per file found under raw_dir (sorted by name).
    processed_dir : Path
        Where the dataset was written.
    skipped : bool
        True when nothing changed since the last run and the dataset was left as it was.
    """

    files: list[FileReport]
    processed_dir: Path
    skipped: bool = False

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


def _discover(raw_dir: Path) -> list[Path]:
    out = []
    for path in sorted(raw_dir.rglob("*")):
        rel = path.relative_to(raw_dir)
        if any(part.startswith((".", "_")) for part in rel.parts):
            continue
        if path.is_file() and path.suffix.lower() in _TEXT_SUFFIXES:
            out.append(path)
    return out


def _looks_like_comtrade(columns: tuple[str, ...]) -> bool:
    norm = " ".join(normalise_name(c) for c in columns)
    return any(w in norm for w in _COMTRADE_WORDS)


def _stage_file(
    path: Path, rel: str, codes: CodeTable, stage: Path
) -> tuple[str | None, pl.DataFrame | None]:
    """Pass 1 for one file: write its staged rows, or return a whole-file record.

    Returns (layout or source kind or ``"ignored"``, whole-file record or None).
    """
    head, gz = read_head(path)
    info = sniff_header(head, gzip_file=gz)
    if info.layout is None:
        kind = detect_source(list(info.columns))
        if kind is not None:
            return kind, None
        if not head.strip():
            return None, whole_file_record(rel, "unknown_layout", "empty file", 0)
        if not _looks_like_comtrade(info.columns):
            return "ignored", None
        detail = f"header: {','.join(info.columns)[:300]!r}"
        return None, whole_file_record(rel, "unknown_layout", detail, count_data_lines(path))
    if info.missing:
        return info.layout, whole_file_record(
            rel, "missing_columns", ",".join(info.missing), count_data_lines(path)
        )
    tmp = stage.with_name(stage.name + ".part")
    try:
        _stage_chunks(path, rel, info, codes, tmp)
        if stage.exists():
            shutil.rmtree(stage)
        tmp.replace(stage)
    except _PARSE_ERRORS as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return info.layout, whole_file_record(
            rel, "unparseable_file", detail, count_data_lines(path)
        )
    return info.layout, None


def _stage_chunks(path: Path, rel: str, info: HeaderInfo, codes: CodeTable, out: Path) -> None:
    """Validate a file piece by piece into ``out/part-NNNNN.parquet`` (bounded memory).

    Each piece is streamed by Polars; reading the file in pieces bounds how far the CSV
    reader can run ahead of the validation, so memory does not grow with the file size.
    """
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    line = 2
    n_parts = 0
    for i, piece in enumerate(iter_chunks(path, _layouts.CHUNK_BYTES)):
        part = out / f"part-{i:05d}.parquet"
        raw = scan_layout(piece, info, skip_header=i == 0, first_line=line)
        transform(raw, codes, rel).sink_parquet(part, compression="lz4")
        line += pq.read_metadata(part).num_rows
        n_parts += 1
    if n_parts == 0:  # no content at all: an empty part keeps the schema
        empty = transform(scan_layout(b"", info, skip_header=False), codes, rel).collect()
        empty.write_parquet(out / "part-00000.parquet", compression="lz4")


def ingest(
    raw_dir: str | Path,
    processed_dir: str | Path,
    *,
    areas: pd.DataFrame | None = None,
    force: bool = False,
) -> IngestReport:
    r"""Ingest the Comtrade files of ``raw_dir`` into a validated Parquet dataset.

    Parameters
    ----------
    raw_dir : str or Path
        Directory searched recursively for ``.csv``, ``.tsv``, ``.txt`` and ``.gz`` files
        (names starting with ``.`` or ``_`` are ignored). Covariate, tariff and production
        files are recognised and left for :func:`ca_trade.etl.build_panel`.
    processed_dir : str or Path
        Output directory (see :mod:`ca_trade.etl.store` for its layout).
    areas : pandas.DataFrame, optional
        Comtrade area table; default :func:`ca_trade.facts.comtrade_areas`.
    force : bool, default False
        Re-parse every file even when unchanged.

    Returns
    -------
    IngestReport
        Per-file and total counts; they always balance.

    Warns
    -----
    DataValidationWarning
        When rows or files were quarantined (the message says where to look).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> raw = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (raw / "a.csv").write_text("reporter,partner\n398,156\n")
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     rep = ingest(raw, raw / "_out")
    >>> rep.files[0].status, rep.rows_quarantined
    ('quarantined', 1)
    """
    raw = Path(raw_dir)
    out = Path(processed_dir)
    if not raw.is_dir():
        from ca_trade.exceptions import DataValidationError

        raise DataValidationError(f"raw_dir {raw} is not a directory; create it and add files")
    out.mkdir(parents=True, exist_ok=True)
    recover(out)
    codes = code_table(areas)
    old = read_manifest(out)
    old_files: dict[str, Any] = old.get("files", {}) if not force else {}
    staging = out / "_staging"
    staging.mkdir(exist_ok=True)

    reports: list[FileReport] = []
    stages: list[Path] = []
    whole: list[pl.DataFrame] = []
    manifest_files: dict[str, Any] = {}
    for path in _discover(raw):
        if out in path.parents or path == out:
            continue
        rel = path.relative_to(raw).as_posix()
        sha = sha256_file(path)
        # The staged rows carry the file name, so the cache key covers name and content.
        name_id = hashlib.sha256(rel.encode()).hexdigest()[:8]
        key = f"{sha[:32]}-{name_id}-{codes.digest}-v{ETL_VERSION}-pl{pl.__version__}"
        stage = staging / key
        prev: dict[str, Any] = old_files.get(rel) or {}
        cached = prev.get("key") == key
        layout: str | None
        rec: pl.DataFrame | None = None
        if cached and prev["kind"] == "comtrade" and stage.exists():
            kind, layout, status = "comtrade", prev.get("layout"), "cached"
        elif cached and prev["kind"] == "quarantined":
            kind, layout, status = "quarantined", prev.get("layout"), "cached"
            rec = whole_file_record(rel, prev["reason"], prev["detail"], prev["rows"])
        elif cached and prev["kind"] in ("source", "ignored"):
            kind, layout, status = prev["kind"], prev.get("source"), prev["kind"]
        else:
            layout, rec = _stage_file(path, rel, codes, stage)
            status = "ingested"
            if rec is not None:
                kind = "quarantined"
            elif stage.exists():
                kind = "comtrade"
            elif layout == "ignored":
                kind, layout = "ignored", None
            else:
                kind = "source"
        entry: dict[str, Any] = {"sha256": sha, "key": key, "kind": kind}
        if kind == "quarantined" and rec is not None:
            n = int(rec["rows"].item())
            whole.append(rec)
            reports.append(FileReport(rel, layout, sha, "quarantined", n, 0, n, {}))
            entry.update(
                layout=layout, reason=rec["reason"].item(), detail=rec["value"].item(), rows=n
            )
        elif kind in ("source", "ignored"):
            reports.append(FileReport(rel, None, sha, kind))
            entry.update(layout=None, source=layout)
        else:
            stages.append(stage)
            reports.append(FileReport(rel, layout, sha, status))
            entry.update(layout=layout)
        manifest_files[rel] = entry

    keys = {k: v["key"] for k, v in manifest_files.items()}
    if not force and old.get("inputs") == keys and (out / "flows").exists():
        prev_reports = old.get("reports", {})
        for r in reports:
            p = prev_reports.get(r.file, {})
            r.status = r.status if r.status in ("source", "ignored") else "cached"
            r.rows_read = p.get("rows_read", r.rows_read)
            r.rows_written = p.get("rows_written", r.rows_written)
            r.rows_quarantined = p.get("rows_quarantined", r.rows_quarantined)
            r.rows_filtered = dict(p.get("rows_filtered", r.rows_filtered))
        return IngestReport(reports, out, skipped=True)

    tmp = out / TMP_NAME
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    by_file = {r.file: r for r in reports}
    quarantine_parts = [empty_quarantine(), *whole]
    if stages:
        parts = [p for d in stages for p in sorted(d.glob("part-*.parquet"))]
        quarantine_parts.append(_build(parts, tmp, by_file))
    qframe = pl.concat(quarantine_parts, how="vertical").sort(
        "file", "line", "reason", "column", nulls_last=False
    )
    write_parquet(qframe.cast(QUARANTINE_SCHEMA), tmp / "quarantine" / "quarantine.parquet")  # type: ignore[arg-type]
    for name in ("flows", "controls"):
        (tmp / name).mkdir(exist_ok=True)

    report = IngestReport(reports, out)
    manifest = {
        "etl_version": ETL_VERSION,
        "codes_digest": codes.digest,
        "files": manifest_files,
        "inputs": keys,
        "reports": {
            r.file: {
                "rows_read": r.rows_read,
                "rows_written": r.rows_written,
                "rows_quarantined": r.rows_quarantined,
                "rows_filtered": dict(sorted(r.rows_filtered.items())),
            }
            for r in reports
        },
        "totals": {
            "rows_read": report.rows_read,
            "rows_written": report.rows_written,
            "rows_quarantined": report.rows_quarantined,
            "rows_filtered": report.rows_filtered,
        },
    }
    write_json(manifest, tmp / "manifest.json")
    swap_in(out, tmp)
    live = {s.name for s in stages}
    for stale in staging.iterdir():
        if stale.name not in live:
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
    if report.rows_quarantined:
        warnings.warn(
            f"{report.rows_quarantined} of {report.rows_read} rows were quarantined; see "
            f"{out / 'quarantine' / 'quarantine.parquet'} (file, line, column, value, reason)",
            DataValidationWarning,
            stacklevel=2,
        )
    return report


def _build(stages: list[Path], tmp: Path, by_file: dict[str, FileReport]) -> pl.DataFrame:
    """Pass 2: count, de-duplicate, partition and write; return quarantined rows.

    Streaming: each partition is one filtered scan of the staged files sunk to Parquet, rows
    in (source file, source line) order. Duplicates are found on the key hash first, then
    confirmed on the key columns, so only candidate rows are ever held in memory.
    """
    lf = pl.scan_parquet(stages)
    counts = lf.group_by("source_file", "_status", "classification", "year").len().collect()
    parts: dict[str, set[tuple[str, int]]] = {"ok": set(), "f:partner_world": set()}
    for f, st, cls, year, n in counts.iter_rows():
        r = by_file[f]
        r.rows_read += int(n)
        if st == "ok":
            r.rows_written += int(n)
        elif st.startswith("q:"):
            r.rows_quarantined += int(n)
        else:
            rule = st[2:]
            r.rows_filtered[rule] = r.rows_filtered.get(rule, 0) + int(n)
        if st in parts:
            parts[st].add((cls, year))

    ok = lf.filter(pl.col("_status") == "ok")
    cand = ok.group_by("_key").len().filter(pl.col("len") > 1).select("_key").collect()
    dq = empty_quarantine()
    drop: dict[str, list[int]] = {}
    if cand.height:
        rows = (
            ok.join(cand.lazy(), on="_key", how="semi")
            .collect()
            .sort("source_file", "source_line")
            .with_columns(
                _n=pl.len().over(DUP_KEY),
                _nv=pl.col("value_usd").n_unique().over(DUP_KEY),
                _rank=pl.int_range(pl.len()).over(DUP_KEY),
            )
        )
        conflict = rows.filter((pl.col("_n") > 1) & (pl.col("_nv") > 1))
        exact = rows.filter((pl.col("_n") > 1) & (pl.col("_nv") == 1) & (pl.col("_rank") > 0))
        for frame, reason in ((conflict, "duplicate_conflict"), (exact, "duplicate_record")):
            for f, n in frame.group_by("source_file").len().iter_rows():
                r = by_file[f]
                r.rows_written -= int(n)
                if reason == "duplicate_conflict":
                    r.rows_quarantined += int(n)
                else:
                    r.rows_filtered[reason] = r.rows_filtered.get(reason, 0) + int(n)
        for f, line in pl.concat([conflict, exact]).select("source_file", "source_line").rows():
            drop.setdefault(f, []).append(int(line))
        dq = conflict.select(
            pl.col("source_file").alias("file"),
            pl.col("source_line").alias("line"),
            pl.lit("value_usd").alias("column"),
            pl.col("value_usd").cast(pl.String).alias("value"),
            pl.lit("duplicate_conflict").alias("reason"),
            pl.lit(1, pl.Int64).alias("rows"),
        )
    for f, lines in sorted(drop.items()):
        ok = ok.filter(~((pl.col("source_file") == f) & pl.col("source_line").is_in(lines)))

    world = lf.filter(pl.col("_status") == "f:partner_world")
    for name, part, keys in (
        ("flows", ok, parts["ok"]),
        ("controls", world, parts["f:partner_world"]),
    ):
        for cls, year in sorted(keys):
            folder = tmp / name / f"classification={cls}" / f"year={year}"
            subset = part.filter((pl.col("classification") == cls) & (pl.col("year") == year))
            _write_partition(subset.select(list(FLOW_SCHEMA)), folder)

    q = (
        lf.filter(pl.col("_status").str.starts_with("q:"))
        .select(
            pl.col("source_file").alias("file"),
            pl.col("source_line").alias("line"),
            pl.col("_qcol").alias("column"),
            pl.col("_qval").alias("value"),
            pl.col("_status").str.slice(2).alias("reason"),
            pl.lit(1, pl.Int64).alias("rows"),
        )
        .collect()
    )
    return pl.concat([q, dq], how="vertical")


def _write_partition(frame: pl.LazyFrame, folder: Path) -> None:
    """Stream one partition to ``folder/part-0.parquet`` (via a temporary name)."""
    sink_parquet(frame, folder / "part-0.parquet")
