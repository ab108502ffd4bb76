r"""``ingest``: Comtrade files in ``raw_dir`` to the validated Parquet store.

Two passes:

1. **Per file** (cached by name and sha256, computed while the file is parsed): detect the
   layout from the header, then stream the file once through
   :func:`ca_trade.etl.validate.transform` (a pure function of the file and the code table)
   into a stage directory split by status and partition (:mod:`ca_trade.etl.staging`). A file
   that cannot be parsed at all becomes one whole-file quarantine record (reason, detail,
   number of lines).
2. **Per partition** (classification, year): ok rows from all files are checked for
   duplicate keys across files (repeats are filtered as ``duplicate_record``, conflicting
   values quarantined as ``duplicate_conflict``). A partition staged by one file with nothing
   to drop is linked into place as it is; others are streamed to Parquet in (source file,
   line) order. World rows go to ``controls/``; quarantined rows to ``quarantine/``.

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

import errno
import hashlib
import os
import shutil
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow.parquet as pq

from ca_trade.etl.countries import CodeTable, code_table
from ca_trade.etl.layouts import (
    normalise_name,
    read_head,
    sniff_header,
)
from ca_trade.etl.quarantine import count_data_lines, empty_quarantine, whole_file_record
from ca_trade.etl.schema import FLOW_SCHEMA, QUARANTINE_SCHEMA
from ca_trade.etl.sidecar import read_sidecar
from ca_trade.etl.sources import detect_source
from ca_trade.etl.staging import REST_CHECK, REST_VALUE, rest_files, stage_file, staged_partitions
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
from ca_trade.etl.validate import COLUMN_OF, DUP_KEY, STATUS_OF, dup_key_hash
from ca_trade.exceptions import DataValidationWarning

__all__ = ["ETL_VERSION", "FileReport", "IngestReport", "ingest"]

#: Bumped when the per-file transform changes (invalidates the staging cache).
ETL_VERSION = 2
_TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".gz"}
# A header without a known layout but with one of these words is a damaged Comtrade file
# (quarantined); other unrecognised files are listed as ignored.
_COMTRADE_WORDS = ("reporter", "partner", "commodity", "cmdcode", "tradevalue", "primaryvalue")
# Errors of the output disk (full, quota, read-only) are not the source file's fault.
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
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
    """Return whether a header has Comtrade-like names and is not a reference table."""
    names = {normalise_name(c) for c in columns}
    norm = " ".join(sorted(names))
    if "entryeffectivedate" in names and any(n.endswith("isoalpha3") for n in names):
        return False  # the reporter/partner area list of the Comtrade reference API
    return any(w in norm for w in _COMTRADE_WORDS)


def _stage_file(
    path: Path, rel: str, codes: CodeTable, stage: Path
) -> tuple[str | None, pl.DataFrame | None]:
    """Pass 1 for one file: write its stage directory, or return a whole-file record.

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
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        stage_file(path, rel, info, codes, tmp)
        if stage.exists():
            shutil.rmtree(stage)
        tmp.replace(stage)
    except _PARSE_ERRORS as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS:
            raise  # our disk, not the file: do not quarantine (and cache) the file
        detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return info.layout, whole_file_record(
            rel, "unparseable_file", detail, count_data_lines(path)
        )
    return info.layout, None


def _name_id(rel: str) -> str:
    return hashlib.sha256(rel.encode()).hexdigest()[:8]


def _cache_key(sha: str, rel: str, codes: CodeTable) -> str:
    # The staged rows carry the file name, so the cache key covers name and content.
    return f"{sha[:32]}-{_name_id(rel)}-{codes.digest}-v{ETL_VERSION}-pl{pl.__version__}"


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
    stages: list[tuple[str, Path]] = []
    whole: list[pl.DataFrame] = []
    manifest_files: dict[str, Any] = {}
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ca_trade-sha256")
    for path in _discover(raw):
        if out in path.parents or path == out:
            continue
        rel = path.relative_to(raw).as_posix()
        prev: dict[str, Any] = old_files.get(rel) or {}
        size = path.stat().st_size
        layout: str | None = None
        rec: pl.DataFrame | None = None
        fresh: Path | None = None
        if prev.get("size") == size:
            sha = sha256_file(path)  # probably unchanged: the hash decides before any parsing
        else:
            # New or changed: hash while Polars parses (the hash only names the cache entry).
            pending = hasher.submit(sha256_file, path)
            fresh = staging / f".new-{_name_id(rel)}"
            try:
                layout, rec = _stage_file(path, rel, codes, fresh)
            finally:
                sha = pending.result()
        key = _cache_key(sha, rel, codes)
        stage = staging / key
        cached = fresh is None and prev.get("key") == key
        if cached and prev["kind"] == "comtrade" and stage.exists():
            kind, layout, status = "comtrade", prev.get("layout"), "cached"
        elif cached and prev["kind"] == "quarantined":
            kind, layout, status = "quarantined", prev.get("layout"), "cached"
            rec = whole_file_record(rel, prev["reason"], prev["detail"], prev["rows"])
        elif cached and prev["kind"] in ("source", "ignored"):
            kind, layout, status = prev["kind"], prev.get("source"), prev["kind"]
        else:
            if fresh is None:
                layout, rec = _stage_file(path, rel, codes, stage)
            elif fresh.exists():
                if stage.exists():
                    shutil.rmtree(stage)
                fresh.replace(stage)
            status = "ingested"
            if rec is not None:
                kind = "quarantined"
            elif stage.exists():
                kind = "comtrade"
            elif layout == "ignored":
                kind, layout = "ignored", None
            else:
                kind = "source"
        entry: dict[str, Any] = {"sha256": sha, "size": size, "key": key, "kind": kind}
        # Provenance of downloaded files: their `<file>.meta.json` sidecar (ca_trade.etl.download).
        download_meta = read_sidecar(path)
        if download_meta is not None:
            entry["download"] = download_meta
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
            stages.append((rel, stage))
            reports.append(FileReport(rel, layout, sha, status))
            entry.update(layout=layout)
        manifest_files[rel] = entry
    hasher.shutdown()

    keys = {k: v["key"] for k, v in manifest_files.items()}
    sidecars_same = all(
        v.get("download") == old_files.get(k, {}).get("download") for k, v in manifest_files.items()
    )
    if not force and old.get("inputs") == keys and sidecars_same and (out / "flows").exists():
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
        quarantine_parts.append(_build(stages, tmp, by_file))
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
    live = {s.name for _, s in stages}
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


def _build(
    stages: list[tuple[str, Path]], tmp: Path, by_file: dict[str, FileReport]
) -> pl.DataFrame:
    """Pass 2: count, de-duplicate, place the partitions; return the quarantined rows.

    Counts of ok and World rows come from the staged files' metadata; duplicates are found
    on a hash of the key first, then confirmed on the key columns, so only candidate rows
    are ever held in memory.
    """
    parts: dict[tuple[str, str, int], list[tuple[str, Path]]] = {}
    rest: list[Path] = []
    for rel, stage in stages:  # in source-file order
        for part, staged in staged_partitions(stage).items():
            parts.setdefault(part, []).extend((rel, f) for f in staged)
        rest.extend(rest_files(stage))
    for (group, _cls, _year), files in parts.items():
        for rel, f in files:
            n = pq.read_metadata(f).num_rows
            r = by_file[rel]
            r.rows_read += n
            if group == "flows":
                r.rows_written += n
            else:
                r.rows_filtered["partner_world"] = r.rows_filtered.get("partner_world", 0) + n
    rest_lf = pl.scan_parquet(rest, hive_partitioning=False) if rest else None
    if rest_lf is not None:
        counts = rest_lf.group_by("source_file", REST_CHECK).len().collect()
        for f, ci, n in counts.iter_rows():
            st, r = STATUS_OF[ci], by_file[f]
            r.rows_read += int(n)
            if st.startswith("q:"):
                r.rows_quarantined += int(n)
            else:
                r.rows_filtered[st[2:]] = r.rows_filtered.get(st[2:], 0) + int(n)

    drop, dq = _duplicates([f for (g, _, _), fs in parts.items() if g == "flows" for _, f in fs])
    for rel, n_conflict, n_repeat in _drop_counts(drop):
        r = by_file[rel]
        r.rows_written -= n_conflict + n_repeat
        r.rows_quarantined += n_conflict
        if n_repeat:
            r.rows_filtered["duplicate_record"] = (
                r.rows_filtered.get("duplicate_record", 0) + n_repeat
            )
    for (group, cls, year), files in sorted(parts.items()):
        folder = tmp / group / f"classification={cls}" / f"year={year}"
        lines = drop.get((cls, year), {}) if group == "flows" else {}
        _write_partition(files, lines, folder)

    q = empty_quarantine()
    if rest_lf is not None:
        q = (
            rest_lf.filter(pl.col(REST_CHECK).is_in(sorted(COLUMN_OF)))
            .select("source_file", "source_line", REST_CHECK, REST_VALUE)
            .collect()
            .select(
                pl.col("source_file").alias("file"),
                pl.col("source_line").alias("line"),
                pl.col(REST_CHECK)
                .replace_strict(COLUMN_OF, return_dtype=pl.String)
                .alias("column"),
                pl.col(REST_VALUE).alias("value"),
                pl.col(REST_CHECK)
                .replace_strict(STATUS_OF, return_dtype=pl.String)
                .str.slice(2)
                .alias("reason"),
                pl.lit(1, pl.Int64).alias("rows"),
            )
        )
    return pl.concat([q, dq], how="vertical")


#: Lines to drop per partition (classification, year) and file: line -> True for a
#: conflicting value (quarantined), False for an exact repeat (filtered).
_Drops = dict[tuple[str, int], dict[str, dict[int, bool]]]


def _duplicates(files: list[Path]) -> tuple[_Drops, pl.DataFrame]:
    """Find duplicate keys among the ok rows of ``files``; return drops and quarantine rows."""
    dq = empty_quarantine()
    drop: _Drops = {}
    if not files:
        return drop, dq
    lf = pl.scan_parquet(files, hive_partitioning=False).with_columns(_key=dup_key_hash())
    cand = lf.group_by("_key").len().filter(pl.col("len") > 1).select("_key").collect()
    if not cand.height:
        return drop, dq
    rows = (
        lf.join(cand.lazy(), on="_key", how="semi")
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
    for frame, is_conflict in ((conflict, True), (exact, False)):
        for cls, year, f, line in frame.select(
            "classification", "year", "source_file", "source_line"
        ).iter_rows():
            drop.setdefault((cls, year), {}).setdefault(f, {})[int(line)] = is_conflict
    dq = conflict.select(
        pl.col("source_file").alias("file"),
        pl.col("source_line").alias("line"),
        pl.lit("value_usd").alias("column"),
        pl.col("value_usd").cast(pl.String).alias("value"),
        pl.lit("duplicate_conflict").alias("reason"),
        pl.lit(1, pl.Int64).alias("rows"),
    )
    return drop, dq


def _drop_counts(drop: _Drops) -> list[tuple[str, int, int]]:
    """(file, conflicting rows, repeated rows) per file, sorted by file."""
    out: dict[str, list[int]] = {}
    for per_file in drop.values():
        for f, lines in per_file.items():
            c = out.setdefault(f, [0, 0])
            n_conflict = sum(lines.values())
            c[0] += n_conflict
            c[1] += len(lines) - n_conflict
    return [(f, c[0], c[1]) for f, c in sorted(out.items())]


def _write_partition(
    files: list[tuple[str, Path]], drop: dict[str, dict[int, bool]], folder: Path
) -> None:
    """Place one partition at ``folder/part-0.parquet``.

    A partition staged as one file with nothing to drop is already in its final form and is
    hard-linked (copied where links are not supported); otherwise the staged files are
    streamed, in (source file, line) order, without the dropped lines.
    """
    target = folder / "part-0.parquet"
    if len(files) == 1 and not drop:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            os.link(files[0][1], target)
        except OSError:
            shutil.copyfile(files[0][1], target)
        return
    lf = pl.scan_parquet([f for _, f in files], hive_partitioning=False)
    for f, lines in sorted(drop.items()):
        lf = lf.filter(~((pl.col("source_file") == f) & pl.col("source_line").is_in(list(lines))))
    sink_parquet(lf.select(list(FLOW_SCHEMA)), target)
