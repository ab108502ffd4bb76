"""The stages of a config-driven run, in order: each one a call of the library's public API.

sample or download -> :func:`ca_trade.etl.ingest` -> :func:`ca_trade.etl.reconcile` ->
:func:`ca_trade.etl.build_panel` -> :func:`ca_trade.ppml` / :func:`ca_trade.ols` ->
:mod:`ca_trade.pipeline.scenarios` (GE with confidence intervals) -> tables and figures
(:mod:`ca_trade.pipeline.reporting`). Every file a run writes stays inside its root.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from ca_trade.pipeline import parse_config
>>> d = Path(tempfile.mkdtemp())
>>> check_output_folders(parse_config({"run": {}}, Path("c.toml"), project_root=d), data=True)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict

import pandas as pd

from ca_trade._io import confine, output_root, write_parquet
from ca_trade._synthetic import frame_is_synthetic
from ca_trade.estimate import GravityResults, SplitProgress, SplitResults, ols, ppml
from ca_trade.etl import IngestReport, build_panel, download, ingest, reconcile
from ca_trade.exceptions import ConfigError, DataValidationError
from ca_trade.executors import ExecutorLike
from ca_trade.pipeline.config import Config, Specification
from ca_trade.pipeline.progress import Progress
from ca_trade.pipeline.reporting import report_estimates, report_scenario, report_split
from ca_trade.pipeline.scenarios import simulate
from ca_trade.report.provenance import file_fingerprint, frame_fingerprint
from ca_trade.report.stored import save_results, save_split
from ca_trade.sample import generate

__all__ = [
    "IngestCounts",
    "RunOutcome",
    "check_output_folders",
    "estimate_specification",
    "estimate_split",
    "estimation_data",
    "execute",
    "ingest_counts",
]


class IngestCounts(TypedDict):
    """Rows read, written, quarantined and filtered (by rule) by the ingest stage."""

    rows_read: int
    rows_written: int
    rows_quarantined: int
    rows_filtered: dict[str, int]


@dataclass(frozen=True)
class RunOutcome:
    """What a run produced.

    Parameters
    ----------
    config : Config
        The configuration run.
    panel : pandas.DataFrame
        The estimation panel.
    ingest_counts : IngestCounts
        Rows read, written, quarantined and filtered (by rule) by the ingest stage.
    results : dict
        Estimation results by specification name (specifications without ``split``).
    scenarios : dict
        Per-country outcome frames (percent changes with interval bounds) by scenario name.
    written : list of pathlib.Path
        Artefacts written (tables, figures, saved estimates; sidecars not listed).
    splits : dict
        Results of the split specifications by name (:class:`ca_trade.estimate.SplitResults`).
    """

    config: Config
    panel: pd.DataFrame
    ingest_counts: IngestCounts
    results: dict[str, GravityResults]
    scenarios: dict[str, pd.DataFrame]
    written: list[Path]
    splits: dict[str, SplitResults] = field(default_factory=dict)

    def __repr__(self) -> str:
        """Return what the run made, not the frames (they are in the attributes)."""
        return (
            f"RunOutcome(config={str(self.config.path)!r}, panel={len(self.panel)} rows, "
            f"results={list(self.results)}, scenarios={list(self.scenarios)}, "
            f"written={len(self.written)} files under {str(self.config.root)!r})"
        )


def ingest_counts(report: IngestReport) -> IngestCounts:
    """Return the row counts of an ingest report (read, written, quarantined, filtered).

    Parameters
    ----------
    report : IngestReport
        What :func:`ca_trade.etl.ingest` returned.

    Returns
    -------
    IngestCounts
        Its totals.
    """
    return IngestCounts(
        rows_read=report.rows_read,
        rows_written=report.rows_written,
        rows_quarantined=report.rows_quarantined,
        rows_filtered=dict(report.rows_filtered),
    )


def estimation_data(panel: pd.DataFrame, spec: Specification) -> pd.DataFrame:
    """Return the rows of `panel` a specification estimates on (its years, its pairs).

    Parameters
    ----------
    panel : pandas.DataFrame
        The panel.
    spec : Specification
        The specification (``years``, ``international_only``).

    Returns
    -------
    pandas.DataFrame
        The rows, with a fresh index.
    """
    data = panel
    if spec.years is not None:
        data = data[(data["year"] >= spec.years[0]) & (data["year"] <= spec.years[1])]
    if spec.international_only:
        if "domestic" in data.columns:
            data = data[~data["domestic"].astype(bool)]
        else:
            data = data[data["exporter"] != data["importer"]]
    return data.reset_index(drop=True)


def estimate_specification(spec: Specification, panel: pd.DataFrame) -> GravityResults:
    """Estimate one specification on its rows of a panel (its years, its pairs).

    Formulas from a configuration or the command line are materialised safely (parsed,
    never evaluated).

    Parameters
    ----------
    spec : Specification
        The specification (``model``, ``formula``, ``vcov``, ``ssc``, ``tol``, ``years``,
        ``international_only``).
    panel : pandas.DataFrame
        The panel.

    Returns
    -------
    GravityResults
        The fit.
    """
    data = estimation_data(panel, spec)
    if spec.model == "ols":
        return ols(spec.formula, data, vcov=spec.vcov, ssc=spec.ssc, safe_formula=True)
    if spec.tol is not None:
        return ppml(
            spec.formula, data, vcov=spec.vcov, ssc=spec.ssc, tol=spec.tol, safe_formula=True
        )
    return ppml(spec.formula, data, vcov=spec.vcov, ssc=spec.ssc, safe_formula=True)


def estimate_split(
    spec: Specification,
    panel: pd.DataFrame | str | os.PathLike[str],
    *,
    executor: ExecutorLike,
    progress: Progress,
) -> SplitResults:
    """Estimate a split specification, one line of progress per finished group.

    The run's ``[[specifications]]`` with ``split`` and ``ca-trade estimate --split`` both
    call this; formulas are materialised safely (parsed, never evaluated).

    Parameters
    ----------
    spec : Specification
        The specification; ``split`` names the column whose groups are fitted one by one.
    panel : pandas.DataFrame or path-like
        The panel (its rows are chosen by the specification's ``years`` and
        ``international_only``), or a folder partitioned as ``<split>=<value>/*.parquet``,
        each group read by its own task.
    executor : executor-like
        Where the groups run (:func:`ca_trade.executors.executor_for`).
    progress : Progress
        Receives a line per finished group.

    Returns
    -------
    SplitResults
        One fit per group, and the groups that could not be estimated.
    """
    data = estimation_data(panel, spec) if isinstance(panel, pd.DataFrame) else panel
    by = str(spec.split)

    def note(p: SplitProgress) -> None:
        progress.note(f"  {by} {p.line()}")

    if spec.model == "ols":
        return ols(
            spec.formula,
            data,
            split=by,
            executor=executor,
            progress=note,
            vcov=spec.vcov,
            ssc=spec.ssc,
            safe_formula=True,
        )
    return ppml(
        spec.formula,
        data,
        split=by,
        executor=executor,
        progress=note,
        vcov=spec.vcov,
        ssc=spec.ssc,
        tol=spec.tol if spec.tol is not None else 1e-8,
        safe_formula=True,
    )


def check_output_folders(cfg: Config, *, data: bool) -> None:
    """Check, before any work, that the folders a run writes resolve inside ``cfg.root``.

    Parameters
    ----------
    cfg : Config
        The configuration.
    data : bool
        Also check the intermediate data folders (and the sample's raw folder).

    Raises
    ------
    UnsafePathError
        Naming the symbolic link (or ``..``) that leads out of the root.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from ca_trade.pipeline import parse_config
    >>> d = Path(tempfile.mkdtemp())
    >>> check_output_folders(parse_config({"run": {}}, Path("c.toml"), project_root=d), data=True)
    """
    folders = list(cfg.output_dirs)
    if data:
        folders += [cfg.data_dir, cfg.data_dir / "processed"]
        if cfg.source_kind == "sample":
            folders.append(cfg.raw_dir)
    for folder in folders:
        confine(folder, cfg.root)


def execute(cfg: Config, progress: Progress) -> RunOutcome:
    """Run the stages of a configuration in order, writing outputs under ``cfg.root``.

    Every write stays inside ``cfg.root`` after resolving symbolic links: the folders the
    run writes are checked before the first stage, and every file when it is written
    (:func:`ca_trade._io.output_root`); a link that leads out stops the run with
    :class:`~ca_trade.exceptions.UnsafePathError` naming it.

    Parameters
    ----------
    cfg : Config
        Validated configuration.
    progress : Progress
        Progress reporter.

    Returns
    -------
    RunOutcome
        What was produced.

    Raises
    ------
    UnsafePathError
        When a folder or file of the outputs resolves outside ``cfg.root``.
    """
    with output_root(cfg.root):
        check_output_folders(cfg, data=True)
        return _stages(cfg, progress)


def _stages(cfg: Config, progress: Progress) -> RunOutcome:
    _raw_files(cfg, progress)
    counts = _ingest(cfg, progress)
    panel = _panel(cfg, progress)
    if frame_is_synthetic(panel):  # the data say SYNTHETIC: so does every artefact
        cfg = replace(cfg, synthetic=True)
    inputs = {"raw_dir": _dir_fingerprint(cfg.raw_dir), "panel": frame_fingerprint(panel)}
    extra: dict[str, Any] = {
        "run": cfg.name,
        "etl": {"reconcile_method": cfg.reconcile_method, "sector": cfg.sector, **counts},
    }
    if cfg.source_kind == "sample":
        extra["seeds"] = {"sample": cfg.seed}
    results: dict[str, GravityResults] = {}
    splits: dict[str, SplitResults] = {}
    written: list[Path] = []
    for spec in cfg.specifications:
        if spec.split is not None:
            with progress.stage(f"estimate: {spec.name} ({spec.model.upper()} by {spec.split})"):
                splits[spec.name] = estimate_split(
                    spec,
                    panel,
                    executor=cfg.executor if cfg.executor is not None else "auto",
                    progress=progress,
                )
                written += save_split(splits[spec.name], cfg.root / "estimates" / spec.name)
            continue
        with progress.stage(f"estimate: {spec.name} ({spec.model.upper()})"):
            results[spec.name] = estimate_specification(spec, panel)
            written.append(_save(cfg, spec.name, results[spec.name], spec))
        if spec.bias_corrected is not None:
            with progress.stage(f"estimate: {spec.name}, bias correction ({spec.bias_corrected})"):
                corrected = results[spec.name].bias_corrected(method=spec.bias_corrected)
                results[spec.corrected_name] = corrected
                written.append(_save(cfg, spec.corrected_name, corrected, spec))
    if results:
        with progress.stage("report: estimation tables and coefficient plot"):
            written += report_estimates(cfg, results, inputs, extra)
    for spec in cfg.specifications:
        if spec.name in splits:
            with progress.stage(f"report: {spec.name} by {spec.split}"):
                written += report_split(cfg, spec, splits[spec.name], inputs, extra)
    scenarios: dict[str, pd.DataFrame] = {}
    for sc in cfg.scenarios:
        with progress.stage(f"simulate: {sc.name} ({cfg.ge.n_draws} draws)"):
            outcome = simulate(sc, cfg.ge, panel, results, executor=cfg.executor)
            scenarios[sc.name] = outcome.countries
        with progress.stage(f"report: {sc.name} table and figures"):
            written += report_scenario(
                cfg.artefacts, sc, cfg.ge, outcome, inputs, {**extra, **outcome.record}
            )
    return RunOutcome(cfg, panel, counts, results, scenarios, written, splits)


def _save(cfg: Config, name: str, result: GravityResults, spec: Specification) -> Path:
    """Save a result as ``estimates/<name>.json``, with the sample it was estimated on."""
    return save_results(
        result, cfg.root / "estimates" / f"{name}.json", international_only=spec.international_only
    )


def _raw_files(cfg: Config, progress: Progress) -> None:
    """Generate the SYNTHETIC sample, or download into the raw folder; check it exists."""
    if cfg.source_kind == "sample":
        with progress.stage("sample: generating the SYNTHETIC Central Asia dataset"):
            generate(cfg.raw_dir, seed=cfg.seed, years=range(cfg.years[0], cfg.years[1] + 1))
        return
    if cfg.download is not None:
        target = cfg.raw_dir / "comtrade"
        # The download writes input files: confined to their own folder, not the report root.
        with progress.stage(f"download: UN Comtrade -> {target}"), output_root(target):
            download(
                target,
                progress=lambda piece: progress.note(f"  {piece.line()}"),
                **cfg.download.kwargs(),
            )
    if not cfg.raw_dir.is_dir():
        raise ConfigError(f"{cfg.path}: [source].raw_dir {cfg.raw_dir} does not exist")


def _ingest(cfg: Config, progress: Progress) -> IngestCounts:
    """Ingest the raw files; stop the run, saying why, when no flow row was written."""
    with progress.stage("ingest: Comtrade files -> validated Parquet"):
        report = ingest(cfg.raw_dir, cfg.data_dir / "processed", executor=cfg.executor)
    if report.problem is not None:
        raise DataValidationError(
            f"{cfg.path}: the ingest of {cfg.raw_dir} into {cfg.data_dir / 'processed'} wrote "
            f"no bilateral flow, so the run stops: {report.problem}"
        )
    return ingest_counts(report)


def _panel(cfg: Config, progress: Progress) -> pd.DataFrame:
    """Reconcile the mirror flows, build the panel and write it to ``data/panel.parquet``."""
    with progress.stage(f"reconcile: mirror flows ({cfg.reconcile_method})"):
        reconciled = reconcile(cfg.data_dir / "processed", method=cfg.reconcile_method)
    if reconciled.empty:
        raise DataValidationError(
            f"{cfg.path}: no flow between two distinct countries to reconcile in "
            f"{cfg.data_dir / 'processed'} (only reports with themselves, 'nes' areas or other "
            "frequencies), so the run stops"
        )
    with progress.stage("panel: square panel with covariates"):
        panel = build_panel(reconciled, raw_dir=cfg.raw_dir, sector=cfg.sector)
        write_parquet(cfg.data_dir / "panel.parquet", panel)
    return panel


def _dir_fingerprint(path: Path) -> dict[str, int | str]:
    """Files, rows and one SHA-256 over the names and hashes of the files under `path`."""
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    digest = hashlib.sha256()
    rows = 0
    for f in files:
        fp = file_fingerprint(f)
        rows += int(fp.get("rows", 0))
        digest.update(f"{f.relative_to(path).as_posix()}:{fp['sha256']}\n".encode())
    return {"files": len(files), "sha256": digest.hexdigest(), "rows": rows}
