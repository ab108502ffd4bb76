"""Stage execution of config-driven runs (internal; see :mod:`ca_trade.pipeline`).

Each stage calls the library's public functions; a stage whose module is not built yet
raises :class:`~ca_trade.exceptions.NotBuiltYetError` naming it, after the earlier stages'
outputs were written. Nothing is ever faked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ca_trade._io import confine, output_root
from ca_trade.exceptions import ConfigError, NotBuiltYetError
from ca_trade.pipeline import Config, Progress, ScenarioSpec, Specification

__all__ = [
    "RunOutcome",
    "check_output_folders",
    "execute",
    "ingest_counts",
    "parquet_bytes",
    "report_scenario",
    "require",
]

# Countries shown beside the five Central Asian states in scenario figures (tables list all).
_NEIGHBOURS = ("AFG", "CHN", "IRN", "PAK", "RUS", "TUR")


def require(module: str, attr: str, stage: str) -> Callable[..., Any]:
    """Return ``ca_trade.<module>.<attr>`` or raise NotBuiltYetError naming the stage.

    Parameters
    ----------
    module : str
        Submodule of ``ca_trade`` (e.g. ``"etl"``).
    attr : str
        Function name.
    stage : str
        Pipeline stage, for the message.

    Returns
    -------
    callable
        The function.

    Raises
    ------
    NotBuiltYetError
        When the module or function does not exist in this version.

    Examples
    --------
    >>> callable(require("report", "etable", "report"))
    True
    """
    import importlib
    import types

    try:
        mod = importlib.import_module(f"ca_trade.{module}")
    except ImportError as exc:
        raise NotBuiltYetError(
            f"stage '{stage}' needs ca_trade.{module}, which is not built yet ({exc})"
        ) from exc
    fn = getattr(mod, attr, None)
    if fn is None or isinstance(fn, types.ModuleType) or not callable(fn):
        raise NotBuiltYetError(
            f"stage '{stage}' needs ca_trade.{module}.{attr}, which is not built yet"
        )
    return fn


@dataclass
class RunOutcome:
    """What a run produced.

    Parameters
    ----------
    config : Config
        The configuration run.
    results : dict
        Estimation results by specification name.
    scenarios : dict
        Per-country outcome frames (percent changes with interval bounds) by scenario name.
    written : list of pathlib.Path
        Artefacts written (tables, figures, saved estimates; sidecars not listed).
    panel : pandas.DataFrame or None
        The estimation panel.
    ingest_counts : dict
        Rows read, written, quarantined and filtered (by rule) by the ingest stage.
    """

    config: Config
    results: dict[str, Any] = field(default_factory=dict)
    scenarios: dict[str, Any] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)
    panel: Any = None
    ingest_counts: dict[str, Any] = field(default_factory=dict)


def _dir_fingerprint(path: Path) -> dict[str, Any]:
    import hashlib

    from ca_trade.report.provenance import file_fingerprint

    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    digest = hashlib.sha256()
    rows = 0
    for f in files:
        fp = file_fingerprint(f)
        rows += int(fp.get("rows", 0))
        digest.update(f"{f.relative_to(path).as_posix()}:{fp['sha256']}\n".encode())
    return {"files": len(files), "sha256": digest.hexdigest(), "rows": rows}


def ingest_counts(report: Any) -> dict[str, Any]:
    """Return the row counts of an ingest report (read, written, quarantined, filtered)."""
    out: dict[str, Any] = {}
    for key in ("rows_read", "rows_written", "rows_quarantined", "rows_filtered"):
        val = getattr(report, key, None)
        if callable(val):
            val = val()
        if val is not None:
            out[key] = dict(val) if isinstance(val, Mapping) else int(val)
    return out


def _estimation_data(panel: Any, spec: Specification) -> Any:
    data = panel
    if spec.years is not None:
        data = data[(data["year"] >= spec.years[0]) & (data["year"] <= spec.years[1])]
    if spec.international_only:
        if "domestic" in data.columns:
            data = data[~data["domestic"].astype(bool)]
        else:
            data = data[data["exporter"] != data["importer"]]
    return data.reset_index(drop=True)


def _estimate(spec: Specification, panel: Any) -> Any:
    fn = require("estimate", spec.model, "estimate")
    # formulas from a configuration are data: materialised by the safe evaluator
    kwargs: dict[str, Any] = {"vcov": spec.vcov, "ssc": spec.ssc, "safe_formula": True}
    if spec.tol is not None:
        kwargs["tol"] = spec.tol
    return fn(spec.formula, _estimation_data(panel, spec), **kwargs)


def execute(cfg: Config, progress: Progress) -> RunOutcome:
    """Run the stages of a configuration in order, writing outputs under ``cfg.root``.

    Every write stays inside ``cfg.root`` after resolving symbolic links: the folders the
    run writes are checked before the first stage, and every file when it is written
    (:func:`ca_trade._io.output_root`); a link that leads out stops the run with
    :class:`~ca_trade.exceptions.UnsafePathError` naming it. Stages that are not built yet
    stop the run with :class:`NotBuiltYetError` after the earlier stages' outputs were
    written; nothing is ever faked.

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


def _stages(cfg: Config, progress: Progress) -> RunOutcome:
    import pandas as pd

    from ca_trade.report.provenance import atomic_write
    from ca_trade.report.stored import save_results

    out = RunOutcome(config=cfg)
    data_dir = cfg.data_dir
    if cfg.source_kind == "sample":
        with progress.stage("sample: generating the SYNTHETIC Central Asia dataset"):
            generate = require("sample", "generate", "sample")
            generate(cfg.raw_dir, seed=cfg.seed, years=range(cfg.years[0], cfg.years[1] + 1))
    else:
        if cfg.download is not None:
            _download(cfg, progress)
        if not cfg.raw_dir.is_dir():
            raise ConfigError(f"{cfg.path}: [source].raw_dir {cfg.raw_dir} does not exist")
    processed = data_dir / "processed"
    with progress.stage("ingest: Comtrade files -> validated Parquet"):
        report = require("etl", "ingest", "ingest")(cfg.raw_dir, processed)
        out.ingest_counts = ingest_counts(report)
    with progress.stage(f"reconcile: mirror flows ({cfg.reconcile_method})"):
        reconciled = require("etl", "reconcile", "reconcile")(
            processed, method=cfg.reconcile_method
        )
    with progress.stage("panel: square panel with covariates"):
        panel = require("etl", "build_panel", "panel")(
            reconciled, raw_dir=cfg.raw_dir, sector=cfg.sector
        )
        panel = pd.DataFrame(panel)
        out.panel = panel
        buf = parquet_bytes(panel)
        atomic_write(data_dir / "panel.parquet", buf)
    inputs: dict[str, Any] = {
        "raw_dir": _dir_fingerprint(cfg.raw_dir),
        "panel": _frame_fp(panel),
    }
    base_extra: dict[str, Any] = {
        "run": cfg.name,
        "etl": {
            "reconcile_method": cfg.reconcile_method,
            "sector": cfg.sector,
            **out.ingest_counts,
        },
    }
    if cfg.source_kind == "sample":
        base_extra["seeds"] = {"sample": cfg.seed}
    for spec in cfg.specifications:
        with progress.stage(f"estimate: {spec.name} ({spec.model.upper()})"):
            res = _estimate(spec, panel)
            out.results[spec.name] = res
            out.written.append(save_results(res, cfg.root / "estimates" / f"{spec.name}.json"))
    if out.results:
        with progress.stage("report: estimation tables and coefficient plot"):
            out.written += _report_estimates(cfg, out.results, inputs, base_extra)
    if cfg.scenarios:
        from ca_trade.pipeline import scenarios as _scenarios

        for sc in cfg.scenarios:
            with progress.stage(f"simulate: {sc.name} ({cfg.ge.draws} draws)"):
                frame, flows, extra = _scenarios.simulate(sc, cfg.ge, panel, out.results)
                out.scenarios[sc.name] = frame
            with progress.stage(f"report: {sc.name} table and figures"):
                out.written += report_scenario(
                    cfg, sc, frame, flows, inputs, {**base_extra, **extra}
                )
    return out


def _download(cfg: Config, progress: Progress) -> None:
    """Run the ``[download]`` table: UN Comtrade data into ``raw_dir/comtrade``."""
    settings = cfg.download
    if settings is None:
        return
    target = cfg.raw_dir / "comtrade"
    # The download writes input files: confined to their own folder, not the report root.
    with progress.stage(f"download: UN Comtrade -> {target}"), output_root(target):
        require("etl", "download", "download")(
            target,
            progress=lambda piece: progress.note(f"  {piece.line()}"),
            **settings.kwargs(),
        )


def parquet_bytes(frame: Any) -> bytes:
    """Return `frame` as Parquet bytes (zstd, no pandas metadata: deterministic)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def _frame_fp(frame: Any) -> dict[str, Any]:
    from ca_trade.report.provenance import frame_fingerprint

    return frame_fingerprint(frame)


def _sample_truth(cfg: Config) -> dict[str, float] | None:
    """Return the true coefficients of the SYNTHETIC sample (``truth.json``), if any."""
    import json

    path = cfg.raw_dir / "truth.json"
    if cfg.source_kind != "sample" or not path.is_file():
        return None
    coefs = json.loads(path.read_text(encoding="utf-8")).get("model", {}).get("coefficients")
    return {str(k): float(v) for k, v in coefs.items()} if isinstance(coefs, dict) else None


def _write_tables(
    cfg: Config,
    stem: str,
    write: Callable[..., str],
    data: Any,
    record_extra: dict[str, Any],
    **options: Any,
) -> list[Path]:
    """Write ``tables/<stem>.<fmt>`` (with its sidecar) for every configured table format."""
    written: list[Path] = []
    for fmt in cfg.table_formats:
        path = cfg.root / "tables" / f"{stem}.{fmt}"
        write(
            data,
            fmt,
            synthetic=cfg.synthetic,
            git=cfg.record_git_commit,
            extra_provenance=record_extra,
            file=path,
            **options,
        )
        written.append(path)
    return written


def _report_estimates(
    cfg: Config, results: dict[str, Any], inputs: dict[str, Any], extra: dict[str, Any]
) -> list[Path]:
    from ca_trade.report import build_provenance, coefplot, etable, save_figure

    written: list[Path] = []
    specs = [
        {
            "name": s.name,
            "model": s.model,
            "formula": s.formula,
            "vcov": s.vcov,
            "ssc": s.ssc,
            "years": list(s.years) if s.years else None,
            "international_only": s.international_only,
        }
        for s in cfg.specifications
    ]
    record_extra = {**extra, "inputs": inputs, "specifications": specs}
    written += _write_tables(
        cfg, "estimates", etable, results, record_extra, title=f"Gravity estimates ({cfg.name})"
    )
    if cfg.figure_formats:
        record = build_provenance(
            results=list(results.values()),
            synthetic=cfg.synthetic,
            extra={**record_extra, "artefact": "coefplot"},
            git=cfg.record_git_commit,
        )
        truth = _sample_truth(cfg)
        title = "Coefficients (95% CI)" + ("; x = true value" if truth else "")
        fig = coefplot(results, synthetic=cfg.synthetic, title=title, truth=truth)
        written += save_figure(
            fig, cfg.root / "figures" / "coefficients", record, formats=cfg.figure_formats
        )
    return written


def report_scenario(
    cfg: Config,
    sc: ScenarioSpec,
    frame: Any,
    flows: Any,
    inputs: dict[str, Any],
    extra: dict[str, Any],
) -> list[Path]:
    """Write a scenario's table and figures (with provenance sidecars); return their paths."""
    from ca_trade.report import build_provenance, outcome_plot, save_figure, scenario_table
    from ca_trade.report.figures import CENTRAL_ASIA

    written: list[Path] = []
    record_extra = {
        **extra,
        "inputs": inputs,
        "scenario": {
            "name": sc.name,
            "kind": sc.kind,
            "specification": sc.specification,
            **sc.params,
        },
        "ge": {
            "year": cfg.ge.year,
            "theta": cfg.ge.theta if cfg.ge.theta_from is None else None,
            "theta_from": cfg.ge.theta_from,
            "closure": cfg.ge.closure,
            "draws": cfg.ge.draws,
            "alpha": cfg.ge.alpha,
        },
        "seeds": {**extra.get("seeds", {}), "ge_draws": cfg.ge.seed},
    }
    title = sc.description or sc.name
    written += _write_tables(
        cfg,
        f"scenario_{sc.name}",
        scenario_table,
        frame,
        record_extra,
        outcomes=["welfare", "real_gdp", "exports", "imports"],
        title=title,
    )
    if cfg.figure_formats:
        record = build_provenance(
            synthetic=cfg.synthetic,
            extra={**record_extra, "artefact": "figure"},
            git=cfg.record_git_commit,
        )
        shown = [c for c in (*CENTRAL_ASIA, *_NEIGHBOURS) if c in frame.index]
        fig = outcome_plot(frame, countries=shown, synthetic=cfg.synthetic, title=title)
        written += save_figure(
            fig,
            cfg.root / "figures" / f"outcomes_{sc.name}",
            record,
            formats=cfg.figure_formats,
        )
        from ca_trade.report import trade_heatmap

        fig = trade_heatmap(
            flows,
            countries=CENTRAL_ASIA,
            synthetic=cfg.synthetic,
            title=f"Change in trade: {sc.name}",
        )
        written += save_figure(
            fig,
            cfg.root / "figures" / f"trade_heatmap_{sc.name}",
            record,
            formats=cfg.figure_formats,
        )
    return written
