r"""``ingest``: Comtrade files in ``raw_dir`` to the validated Parquet store.

Both folders are resolved once (:mod:`ca_trade.etl.paths`) and the whole run holds the
dataset folder's exclusive lock (:mod:`ca_trade.etl.lock`). Two passes:

1. **Per file** (cached by name and sha256, computed while the file is parsed): find how its
   bytes are stored and detect the layout from the header (:mod:`ca_trade.etl.rawtext`,
   :mod:`ca_trade.etl.layouts`), then stream the file once through
   :func:`ca_trade.etl.validate.transform` (a pure function of the file and the code table)
   into a stage directory split by status and partition (:mod:`ca_trade.etl.staging`). The
   rows staged must equal the file's independent line count. A file that cannot be read
   becomes one whole-file quarantine record (reason, detail, number of lines).
2. **Per partition** (classification, year): ok rows from all files are checked for
   duplicate keys across files (repeats are filtered as ``duplicate_record``, conflicting
   values quarantined as ``duplicate_conflict``). A partition staged by one file with nothing
   to drop is linked into place as it is; others are streamed to Parquet in (source file,
   line) order. World rows go to ``controls/``; quarantined rows to ``quarantine/``.

Every input row is counted exactly once: ``rows_read == rows_written + rows_quarantined +
sum(rows_filtered.values())`` per file and in total (:mod:`ca_trade.etl.counts`). When the
inputs are unchanged and the dataset on disk matches its manifest, the stored report is
returned and nothing is rewritten.

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

from ca_trade._io import write_json
from ca_trade._synthetic import parquet_metadata, raw_is_synthetic
from ca_trade.etl.countries import CodeTable, code_table
from ca_trade.etl.counts import FileReport, IngestReport, explain_empty
from ca_trade.etl.layouts import normalise_name, sniff_header
from ca_trade.etl.lock import dataset_lock
from ca_trade.etl.paths import recorded_name, separate_folders
from ca_trade.etl.quarantine import empty_quarantine, whole_file_record
from ca_trade.etl.rawtext import (
    GZIP_PROBLEM,
    LineCounter,
    TextFormat,
    count_lines,
    sniff_file,
    to_plain,
)
from ca_trade.etl.schema import FILE_SCHEMA, QUARANTINE_SCHEMA
from ca_trade.etl.sidecar import read_sidecar
from ca_trade.etl.sources import detect_source
from ca_trade.etl.staging import (
    REST_CHECK,
    REST_VALUE,
    rest_files,
    stage_file,
    staged_partitions,
    staged_rows,
)
from ca_trade.etl.store import (
    TMP_NAME,
    dataset_files,
    read_manifest,
    recover,
    sha256_file,
    sink_parquet,
    swap_in,
    verify_dataset,
    write_parquet,
)
from ca_trade.etl.validate import COLUMN_OF, DUP_KEY, STATUS_OF, dup_key_hash
from ca_trade.exceptions import DataValidationWarning
from ca_trade.executors import ExecutorLike, executor_for

__all__ = ["ETL_VERSION", "FileReport", "IngestReport", "ingest"]

#: Bumped when the per-file transform or the stored layout changes (invalidates the staging
#: cache). 3: ragged rows quarantined, stages checked against line counts. 4: partition keys
#: in the hive folder names only (any reader); manifest and files record SYNTHETIC.
ETL_VERSION = 4
_TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".gz"}
# A header without a known layout but with one of these words is a damaged Comtrade file
# (quarantined); other unrecognised files are listed as ignored.
_COMTRADE_WORDS = ("reporter", "partner", "commodity", "cmdcode", "tradevalue", "primaryvalue")
# Errors of the output disk (full, quota, read-only) are not the source file's fault.
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
_PARSE_ERRORS = (pl.exceptions.PolarsError, OSError, EOFError, ValueError, zlib.error)


def _discover(raw_dir: Path, out: Path) -> list[Path]:
    found = []
    for path in sorted(raw_dir.rglob("*")):
        rel = path.relative_to(raw_dir)
        if any(part.startswith((".", "_")) for part in rel.parts):
            continue
        if out == path or out in path.parents:
            continue
        if path.is_file() and path.suffix.lower() in _TEXT_SUFFIXES:
            found.append(path)
    return found


def _looks_like_comtrade(columns: tuple[str, ...]) -> bool:
    """Return whether a header has Comtrade-like names and is not a reference table."""
    names = {normalise_name(c) for c in columns}
    norm = " ".join(sorted(names))
    if "entryeffectivedate" in names and any(n.endswith("isoalpha3") for n in names):
        return False  # the reporter/partner area list of the Comtrade reference API
    return any(w in norm for w in _COMTRADE_WORDS)


def _failure(exc: BaseException, fmt: TextFormat) -> str:
    if isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS:
        raise exc  # our disk, not the file: do not quarantine (and cache) the file
    if fmt.gzip and isinstance(exc, (EOFError, zlib.error)):
        return GZIP_PROBLEM.format(exc)
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


@dataclass
class _Staged:
    """Pass 1 of one file: what it is, and where its rows went."""

    layout: str | None = None  # Comtrade layout, source kind, or "ignored"
    record: tuple[str, str] | None = None  # whole-file quarantine: (reason, detail)
    rows: int | None = None  # rows staged (a Comtrade file that was read)
    lines: LineCounter | None = None  # the independent count of its lines
    direct: bool = False  # Polars read the file itself (no plain copy)
    fmt: TextFormat = field(default_factory=TextFormat)

    @property
    def balanced(self) -> bool:
        """Rows were staged, one per data line of the independent count."""
        return self.lines is not None and self.rows == self.lines.data_lines


def _stage_file(
    path: Path, rel: str, codes: CodeTable, stage: Path, utf8_name: bool = True
) -> _Staged:
    """Pass 1 for one file: write its stage directory, or say why the file is refused.

    The line count of a file Polars reads as it is comes from the hashing thread (filled in
    by the caller); that of a file turned into plain text first, from :func:`to_plain`.
    """
    head = sniff_file(path)
    fmt = head.format
    if head.problem is not None:
        return _Staged(record=(str(head.reason), head.problem), fmt=fmt)
    info = sniff_header(head.header + b"\n", gzip_file=fmt.gzip)
    if info.layout is None:
        kind = detect_source(list(info.columns))
        if kind is not None:
            return _Staged(layout=kind)
        if head.empty:
            return _Staged(record=("unknown_layout", "empty file"), fmt=fmt)
        if not _looks_like_comtrade(info.columns):
            return _Staged(layout="ignored")
        detail = f"header: {','.join(info.columns)[:300]!r}"
        return _Staged(record=("unknown_layout", detail), fmt=fmt)
    if info.missing:
        return _Staged(info.layout, ("missing_columns", ",".join(info.missing)), fmt=fmt)
    if info.ambiguous:
        detail = "; ".join(info.ambiguous) + " (which column holds the value is unknown)"
        return _Staged(info.layout, ("duplicate_columns", detail), fmt=fmt)
    direct = fmt.plain and utf8_name
    counter = LineCounter.for_format(fmt)
    tmp = stage.with_name(stage.name + ".part")
    plain = stage.with_name(stage.name + ".csv")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        if not direct:
            to_plain(path, plain, fmt, counter)
        stage_file(path if direct else plain, rel, info, codes, tmp)
        rows = staged_rows(tmp)
        if stage.exists():
            shutil.rmtree(stage)
        tmp.replace(stage)
    except _PARSE_ERRORS as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        return _Staged(info.layout, ("unparseable_file", _failure(exc, fmt)), fmt=fmt)
    finally:
        plain.unlink(missing_ok=True)
    lines = None if direct else counter
    return _Staged(info.layout, rows=rows, lines=lines, direct=direct, fmt=fmt)


def _name_id(rel: str) -> str:
    return hashlib.sha256(rel.encode()).hexdigest()[:8]


def _cache_key(sha: str, rel: str, codes: CodeTable) -> str:
    # The staged rows carry the file name, so the cache key covers name and content.
    return f"{sha[:32]}-{_name_id(rel)}-{codes.digest}-v{ETL_VERSION}-pl{pl.__version__}"


@dataclass(frozen=True)
class _StageContext:
    """What every file's pass-1 task shares: the code table and the staging folder."""

    codes: CodeTable
    staging: Path


@dataclass(frozen=True)
class _FileTask:
    """One file of pass 1: where it is, its recorded name, and its entry of the last run."""

    path: Path
    rel: str
    utf8_name: bool
    size: int
    prev: dict[str, Any]


@dataclass
class _FileOutcome:
    """What a pass-1 task found: the file's hash, and a cached outcome or a fresh stage."""

    sha: str
    reused: bool = False
    damaged: int | None = None  # rows of a cached stage that did not match its file
    staged: _Staged | None = None


def _stage_task(ctx: _StageContext, task: _FileTask) -> _FileOutcome:
    """Pass 1 for one file, where the executor runs it: reuse its cached stage or stage it.

    A pure function of the file, its last entry and the code table; it writes only the
    file's own stage folder under ``ctx.staging`` (a shared folder when the executor is a
    cluster), so files are staged in any order, anywhere, with the same bytes.
    """
    prev, damaged = task.prev, None
    if prev.get("size") == task.size:  # probably unchanged: the hash decides before parsing
        sha = sha256_file(task.path)
        if prev.get("key") == _cache_key(sha, task.rel, ctx.codes):
            rows = _cached_rows(ctx.staging, prev)
            if rows is None:
                return _FileOutcome(sha, reused=True)
            damaged = rows
    staged, sha = _fresh(ctx, task.path, task.rel, task.utf8_name)
    return _FileOutcome(sha, damaged=damaged, staged=staged)


def _cached_rows(staging: Path, prev: dict[str, Any]) -> int | None:
    """None when the last run's outcome of a file can be reused, else its stage's row count.

    Whole-file outcomes (quarantined, source, ignored files) are reused as they are; a
    Comtrade file's stage must hold one row per data line of the file (-1: no readable stage).
    """
    kind = prev.get("kind")
    if kind in ("quarantined", "source", "ignored"):
        return None
    if kind != "comtrade":
        return -1
    stage = staging / prev["key"]
    try:
        rows = staged_rows(stage) if stage.is_dir() else -1
    except (OSError, ValueError):
        rows = -1
    return None if rows == prev.get("lines") else rows


def _fresh(ctx: _StageContext, path: Path, rel: str, utf8_name: bool) -> tuple[_Staged, str]:
    """Stage a new or changed file, hashing (and counting) it in a thread meanwhile."""
    fresh = ctx.staging / f".new-{_name_id(rel)}"
    counter = LineCounter()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ca_trade-sha256") as hasher:
        pending = hasher.submit(sha256_file, path, counter)
        try:
            staged = _stage_file(path, rel, ctx.codes, fresh, utf8_name)
        finally:
            sha = pending.result()
    if staged.direct:
        staged.lines = counter
        if not staged.balanced and counter.lone_cr:
            # Mixed line ends: some lines end in a lone \r, which Polars does not split
            # on. Read the file again through a plain copy with \n line ends.
            shutil.rmtree(fresh, ignore_errors=True)
            staged = _stage_file(path, rel, ctx.codes, fresh, False)
    if fresh.exists() and staged.balanced:
        stage = ctx.staging / _cache_key(sha, rel, ctx.codes)
        if stage.exists():
            shutil.rmtree(stage)
        fresh.replace(stage)
    else:  # never keep a stage the independent count disagrees with
        shutil.rmtree(fresh, ignore_errors=True)
    return staged, sha


@dataclass
class _Pass1:
    """Pass 1 over all files: per-file reports, manifest entries, stages, whole-file records.

    The tasks (:func:`_stage_task`) run on the executor; their outcomes are recorded here, on
    the client, in the order of the files.
    """

    raw: Path
    staging: Path
    codes: CodeTable
    reports: list[FileReport] = field(default_factory=list)
    stages: list[tuple[str, Path]] = field(default_factory=list)
    whole: list[pl.DataFrame] = field(default_factory=list)
    entries: dict[str, Any] = field(default_factory=dict)

    def add(self, task: _FileTask, outcome: _FileOutcome) -> None:
        """Record one file's outcome (with its download sidecar)."""
        rel, prev, sha = task.rel, task.prev, outcome.sha
        if outcome.damaged is not None:
            warnings.warn(
                f"the cached stage of {rel} is damaged or missing ({outcome.damaged} rows "
                f"staged, {prev.get('lines')} data lines in the file); it is staged again",
                DataValidationWarning,
                stacklevel=5,
            )
        if outcome.reused:
            self._reuse(rel, prev, sha)
        elif outcome.staged is not None:
            self._record(task.path, rel, outcome.staged, sha, task.size)
        else:  # pragma: no cover - a task either reuses its file's outcome or stages it
            raise RuntimeError(f"internal error: pass 1 of {rel} neither reused nor staged it")
        # Provenance of downloaded files: their `<file>.meta.json` sidecar (etl.download).
        entry = {k: v for k, v in self.entries[rel].items() if k != "download"}
        download_meta = read_sidecar(task.path)
        if download_meta is not None:
            entry["download"] = download_meta
        self.entries[rel] = entry

    def _reuse(self, rel: str, prev: dict[str, Any], sha: str) -> None:
        """Record the cached outcome of an unchanged file (checked by :func:`_cached_rows`)."""
        kind, layout = prev.get("kind"), prev.get("layout")
        if kind == "comtrade":
            self.stages.append((rel, self.staging / prev["key"]))
            self.reports.append(FileReport(rel, layout, sha, "cached"))
        elif kind == "quarantined":
            n = int(prev["rows"])
            self.whole.append(whole_file_record(rel, prev["reason"], prev["detail"], n))
            self.reports.append(FileReport(rel, layout, sha, "cached", n, 0, n, {}))
        else:
            self.reports.append(FileReport(rel, None, sha, str(kind)))
        self.entries[rel] = prev

    def _record(self, path: Path, rel: str, staged: _Staged, sha: str, size: int) -> None:
        key: str | None = _cache_key(sha, rel, self.codes)
        entry: dict[str, Any] = {"sha256": sha, "size": size, "layout": staged.layout}
        record = staged.record
        lines = staged.lines
        if record is None and lines is not None and not staged.balanced:
            # The reader and the byte count disagree: never trust (nor cache) the stage.
            detail = (
                f"the CSV reader produced {staged.rows} records from {lines.data_lines} "
                "data lines (counted byte by byte); does a quoted field span lines?"
            )
            record, key = ("record_count_mismatch", detail), None
        if record is not None:
            n = (lines or count_lines(path, staged.fmt)).data_lines
            self.whole.append(whole_file_record(rel, record[0], record[1], n))
            self.reports.append(FileReport(rel, staged.layout, sha, "quarantined", n, 0, n, {}))
            entry.update(kind="quarantined", reason=record[0], detail=record[1], rows=n)
        elif staged.rows is not None and lines is not None:
            self.stages.append((rel, self.staging / str(key)))
            self.reports.append(FileReport(rel, staged.layout, sha, "ingested"))
            entry.update(kind="comtrade", lines=lines.data_lines)
        else:
            kind = "ignored" if staged.layout == "ignored" else "source"
            self.reports.append(FileReport(rel, None, sha, kind))
            entry.update(kind=kind, layout=None, source=staged.layout)
        entry["key"] = key
        self.entries[rel] = entry


def ingest(
    raw_dir: str | Path,
    processed_dir: str | Path,
    *,
    areas: pd.DataFrame | None = None,
    force: bool = False,
    wait: bool = True,
    executor: ExecutorLike = None,
) -> IngestReport:
    r"""Ingest the Comtrade files of ``raw_dir`` into a validated Parquet dataset.

    Parameters
    ----------
    raw_dir : str or Path
        Directory searched recursively for ``.csv``, ``.tsv``, ``.txt`` and ``.gz`` files
        (names starting with ``.`` or ``_`` are ignored). Covariate, tariff and production
        files are recognised and left for :func:`ca_trade.etl.build_panel`. Relative paths,
        ``..`` and symbolic links are resolved once, here.
    processed_dir : str or Path
        Output directory (see :mod:`ca_trade.etl.store` for its layout). It must not be
        ``raw_dir``, contain it, or lie inside it (except in a folder whose name starts with
        ``_`` or ``.``).
    areas : pandas.DataFrame, optional
        Comtrade area table; default :func:`ca_trade.facts.comtrade_areas`.
    force : bool, default False
        Re-parse every file even when unchanged.
    wait : bool, default True
        Where another process is writing ``processed_dir``: wait for it (after a
        :class:`~ca_trade.exceptions.DatasetBusyWarning` naming it), or raise.
    executor : None, str, distributed.Client or Executor, default None
        Where pass 1 stages the files (they are independent): ``None`` here, one after
        another; ``"processes"`` in one local process per core; a Dask
        ``distributed.Client`` or scheduler address (``"tcp://host:8786"``) on its workers
        (:mod:`ca_trade.executors`). Pass 2 (duplicates, partitions, manifest) runs here.
        The dataset, quarantine and manifest are byte for byte those of a serial run. On a
        cluster, every worker must see ``raw_dir`` and ``processed_dir`` at the same paths
        as this process (a shared filesystem; see ``docs/etl.md``).

    Returns
    -------
    IngestReport
        Per-file and total counts; they always balance. ``report.problem`` says why no flow
        row was written, when none was (the CLI then exits with status 1).

    Raises
    ------
    DataValidationError
        ``raw_dir`` is not a directory, or the two folders are the same or nest.
    DatasetBusyError
        ``wait=False`` and another process is writing ``processed_dir``.

    Warns
    -----
    DataValidationWarning
        When rows or files were quarantined (the message says where to look), when no flow
        row was written, and when a cached stage or the dataset did not match its manifest
        (it is then rebuilt).
    DatasetBusyWarning
        Before waiting for another ingest of ``processed_dir``.

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
    >>> print(rep.problem)  # the CLI exits with status 1  # doctest: +NORMALIZE_WHITESPACE
    no rows were written to flows/: of 1 row read from 1 Comtrade file, 1 quarantined
    (unknown_layout 1; see quarantine/quarantine.parquet)
    """
    raw, out = separate_folders(raw_dir, processed_dir)
    with dataset_lock(out, wait=wait):
        report = _ingest_locked(raw, out, code_table(areas), force, executor)
    if report.rows_quarantined:
        warnings.warn(
            f"{report.rows_quarantined} of {report.rows_read} rows were quarantined; see "
            f"{out / 'quarantine' / 'quarantine.parquet'} (file, line, column, value, reason)",
            DataValidationWarning,
            stacklevel=2,
        )
    if report.problem is not None:
        warnings.warn(f"{out}: {report.problem}", DataValidationWarning, stacklevel=2)
    return report


def _ingest_locked(
    raw: Path, out: Path, codes: CodeTable, force: bool, executor: ExecutorLike
) -> IngestReport:
    """Pass 1, then pass 2 and the swap (unless nothing changed); the caller holds the lock."""
    recover(out)
    old = read_manifest(out)
    synthetic = raw_is_synthetic(raw, skip=[out])
    p1 = _stage(raw, out, codes, {} if force else old.get("files", {}), executor)
    same_flag = old.get("synthetic", False) == synthetic
    cached = None if force or not same_flag else _cached_report(p1, old, out)
    return cached if cached is not None else _publish(p1, out, codes, synthetic)


def _stage(
    raw: Path, out: Path, codes: CodeTable, known: dict[str, Any], executor: ExecutorLike
) -> _Pass1:
    """Pass 1: stage every new or changed file of `raw` on the executor; record in file order."""
    staging = out / "_staging"
    staging.mkdir(exist_ok=True)
    tasks = []
    for path in _discover(raw, out):
        rel, utf8_name = recorded_name(path, raw)
        tasks.append(_FileTask(path, rel, utf8_name, path.stat().st_size, known.get(rel) or {}))
    with executor_for(executor, n_tasks=len(tasks)) as ex:
        outcomes = ex.map(_stage_task, tasks, shared=_StageContext(codes, staging))
    p1 = _Pass1(raw, staging, codes)
    for task, outcome in zip(tasks, outcomes, strict=True):
        p1.add(task, outcome)
    return p1


def _input_keys(p1: _Pass1) -> dict[str, str | None]:
    return {k: v["key"] for k, v in p1.entries.items()}


def _cached_report(p1: _Pass1, old: dict[str, Any], out: Path) -> IngestReport | None:
    """Return the last run's report when no input changed and the dataset is intact.

    Inputs are unchanged when every file's cache key and download sidecar are those of the
    manifest; the dataset on disk is checked against the manifest, and rebuilt (after a
    warning) when it does not match.
    """
    old_files = old.get("files", {})
    sidecars_same = all(
        v.get("download") == old_files.get(k, {}).get("download") for k, v in p1.entries.items()
    )
    if old.get("inputs") != _input_keys(p1) or not sidecars_same or not (out / "flows").exists():
        return None
    problem = verify_dataset(out, old)
    if problem is None:
        return _stored_report(p1.reports, old, out)
    warnings.warn(
        f"the dataset in {out} does not match its manifest ({problem}); it is rebuilt",
        DataValidationWarning,
        stacklevel=4,
    )
    return None


def _publish(p1: _Pass1, out: Path, codes: CodeTable, synthetic: bool) -> IngestReport:
    """Pass 2: build the dataset in a temporary folder, swap it in, drop stale stages.

    Every file is written with the SYNTHETIC flag in its key-value metadata when `synthetic`.
    """
    tmp = out / TMP_NAME
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    reports = p1.reports
    by_file = {r.file: r for r in reports}
    quarantine_parts = [empty_quarantine(), *p1.whole]
    if p1.stages:
        quarantine_parts.append(_build(p1.stages, tmp, by_file, synthetic))
    qframe = pl.concat(quarantine_parts, how="vertical").sort(
        "file", "line", "reason", "column", nulls_last=False
    )
    write_parquet(
        qframe.cast(QUARANTINE_SCHEMA),  # type: ignore[arg-type]
        tmp / "quarantine" / "quarantine.parquet",
        metadata=parquet_metadata(synthetic),
    )
    for name in ("flows", "controls"):
        (tmp / name).mkdir(exist_ok=True)

    report = IngestReport(reports, out, problem=explain_empty(reports, qframe), synthetic=synthetic)
    write_json(tmp / "manifest.json", _manifest(report, codes, p1.entries, _input_keys(p1), tmp))
    swap_in(out, tmp)
    live = {s.name for _, s in p1.stages}
    for stale in (out / "_staging").iterdir():
        if stale.name not in live:
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
    return report


def _stored_report(reports: list[FileReport], old: dict[str, Any], out: Path) -> IngestReport:
    """Return the report of the last run, for inputs that have not changed since."""
    prev_reports = old.get("reports", {})
    for r in reports:
        p = prev_reports.get(r.file, {})
        r.status = r.status if r.status in ("source", "ignored") else "cached"
        r.rows_read = p.get("rows_read", r.rows_read)
        r.rows_written = p.get("rows_written", r.rows_written)
        r.rows_quarantined = p.get("rows_quarantined", r.rows_quarantined)
        r.rows_filtered = dict(p.get("rows_filtered", r.rows_filtered))
    return IngestReport(
        reports,
        out,
        skipped=True,
        problem=old.get("problem"),
        synthetic=bool(old.get("synthetic", False)),
    )


def _manifest(
    report: IngestReport,
    codes: CodeTable,
    entries: dict[str, Any],
    keys: dict[str, str | None],
    build: Path,
) -> dict[str, Any]:
    return {
        "etl_version": ETL_VERSION,
        "codes_digest": codes.digest,
        "dataset": dataset_files(build),
        "files": entries,
        "inputs": keys,
        "problem": report.problem,
        "synthetic": report.synthetic,
        "reports": {
            r.file: {
                "rows_read": r.rows_read,
                "rows_written": r.rows_written,
                "rows_quarantined": r.rows_quarantined,
                "rows_filtered": dict(sorted(r.rows_filtered.items())),
            }
            for r in report.files
        },
        "totals": {
            "rows_read": report.rows_read,
            "rows_written": report.rows_written,
            "rows_quarantined": report.rows_quarantined,
            "rows_filtered": report.rows_filtered,
        },
    }


def _build(
    stages: list[tuple[str, Path]], tmp: Path, by_file: dict[str, FileReport], synthetic: bool
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

    drop, dq = _duplicates(
        {(c, y): [f for _, f in fs] for (g, c, y), fs in parts.items() if g == "flows"}
    )
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
        _write_partition(files, lines, folder, synthetic)

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


def _duplicates(parts: dict[tuple[str, int], list[Path]]) -> tuple[_Drops, pl.DataFrame]:
    """Find duplicate keys among the ok rows of ``parts``; return drops and quarantine rows.

    ``parts`` maps each partition (classification, year) to its staged files, whose rows
    carry the partition keys in their folder names only: they are added back here.
    """
    dq = empty_quarantine()
    drop: _Drops = {}
    if not parts:
        return drop, dq
    lf = pl.concat(
        [
            pl.scan_parquet(files, hive_partitioning=False).with_columns(
                pl.lit(cls, pl.String).alias("classification"),
                pl.lit(year, pl.Int32).alias("year"),
            )
            for (cls, year), files in sorted(parts.items())
        ],
        how="vertical",
    ).with_columns(_key=dup_key_hash())
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
    files: list[tuple[str, Path]], drop: dict[str, dict[int, bool]], folder: Path, synthetic: bool
) -> None:
    """Place one partition at ``folder/part-0.parquet``.

    A partition staged as one file with nothing to drop is already in its final form and is
    hard-linked (copied where links are not supported); otherwise (and for SYNTHETIC data,
    whose files record the flag in their metadata) the staged files are streamed, in
    (source file, line) order, without the dropped lines.
    """
    target = folder / "part-0.parquet"
    if len(files) == 1 and not drop and not synthetic:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            os.link(files[0][1], target)
        except OSError:
            shutil.copyfile(files[0][1], target)
        return
    lf = pl.scan_parquet([f for _, f in files], hive_partitioning=False)
    for f, lines in sorted(drop.items()):
        lf = lf.filter(~((pl.col("source_file") == f) & pl.col("source_line").is_in(list(lines))))
    sink_parquet(lf.select(list(FILE_SCHEMA)), target, metadata=parquet_metadata(synthetic))
