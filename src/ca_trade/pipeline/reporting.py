"""The artefacts of a run: estimation tables, coefficient plot, scenario tables and figures.

Each artefact is written with its provenance sidecar (what went in: input fingerprints,
specifications, seeds, GE settings) through :mod:`ca_trade.report`, in every format the
configuration asks for, under the run's root.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ca_trade.estimate import GravityResults, SplitResults
from ca_trade.facts import CENTRAL_ASIA
from ca_trade.ge import OUTCOMES as GE_OUTCOMES
from ca_trade.pipeline.config import Artefacts, Config, GESettings, ScenarioSpec, Specification
from ca_trade.pipeline.scenarios import ScenarioOutcome
from ca_trade.report import (
    build_provenance,
    coefplot,
    etable,
    outcome_plot,
    save_figure,
    scenario_table,
    trade_heatmap,
)

__all__ = [
    "TABLE_OUTCOMES",
    "report_estimates",
    "report_scenario",
    "report_split",
    "sample_truth",
]

#: Outcomes in scenario tables (domestic sales stay in the frame, untabulated).
TABLE_OUTCOMES = GE_OUTCOMES
#: Countries shown beside the five Central Asian states in scenario figures (tables list all).
_NEIGHBOURS = ("AFG", "CHN", "IRN", "PAK", "RUS", "TUR")

#: Renders one table: (format, file, provenance record) -> the table's text.
_Render = Callable[[str, Path, Mapping[str, Any]], str]


def sample_truth(cfg: Config) -> dict[str, float] | None:
    """Return the true coefficients of the SYNTHETIC sample (``truth.json``), if any.

    Parameters
    ----------
    cfg : Config
        A run whose source is the sample.

    Returns
    -------
    dict or None
        Coefficient by regressor; None for raw data or without ``truth.json``.
    """
    path = cfg.raw_dir / "truth.json"
    if cfg.source_kind != "sample" or not path.is_file():
        return None
    coefs = json.loads(path.read_text(encoding="utf-8")).get("model", {}).get("coefficients")
    return {str(k): float(v) for k, v in coefs.items()} if isinstance(coefs, dict) else None


def _write_tables(
    out: Artefacts, stem: str, render: _Render, record: Mapping[str, Any]
) -> list[Path]:
    """Write ``tables/<stem>.<fmt>`` (with its sidecar) for every configured table format."""
    written: list[Path] = []
    for fmt in out.table_formats:
        path = out.root / "tables" / f"{stem}.{fmt}"
        render(fmt, path, record)
        written.append(path)
    return written


def report_estimates(
    cfg: Config,
    results: Mapping[str, GravityResults],
    inputs: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> list[Path]:
    """Write the estimation table and the coefficient plot of a run; return their paths.

    Parameters
    ----------
    cfg : Config
        The run.
    results : mapping
        Estimation results by specification name.
    inputs : mapping
        Fingerprints of the run's inputs (raw files, panel).
    extra : mapping
        Provenance common to the run's artefacts (run name, ETL counts, seeds).

    Returns
    -------
    list of pathlib.Path
        Tables and figures written (sidecars not listed).
    """
    out = cfg.artefacts
    specs = [_spec_record(s) for s in cfg.specifications if s.name in results]
    record = {**extra, "inputs": inputs, "specifications": specs}

    def render(fmt: str, path: Path, rec: Mapping[str, Any]) -> str:
        return etable(
            dict(results),
            fmt,
            title=f"Gravity estimates ({cfg.name})",
            synthetic=out.synthetic,
            git=out.record_git_commit,
            extra_provenance=rec,
            file=path,
        )

    written = _write_tables(out, "estimates", render, record)
    if out.figure_formats:
        fig_record = build_provenance(
            results=list(results.values()),
            synthetic=out.synthetic,
            extra={**record, "artefact": "coefplot"},
            git=out.record_git_commit,
        )
        truth = sample_truth(cfg)
        title = "Coefficients (95% CI)" + ("; x = true value" if truth else "")
        fig = coefplot(dict(results), synthetic=out.synthetic, title=title, truth=truth)
        written += save_figure(
            fig, out.root / "figures" / "coefficients", fig_record, formats=out.figure_formats
        )
    return written


def _spec_record(s: Specification) -> dict[str, Any]:
    return {
        "name": s.name,
        "model": s.model,
        "formula": s.formula,
        "vcov": s.vcov,
        "ssc": s.ssc,
        "years": list(s.years) if s.years else None,
        "international_only": s.international_only,
        **({"split": s.split} if s.split is not None else {}),
    }


def report_split(
    cfg: Config,
    spec: Specification,
    results: SplitResults,
    inputs: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> list[Path]:
    """Write the table of a split specification: one column per group; return its paths.

    Written to ``tables/<name>_by_<split>.<fmt>``; groups that could not be estimated are
    named in a note, and the split (groups, failures) is in the provenance.

    Parameters
    ----------
    cfg : Config
        The run.
    spec : Specification
        The split specification.
    results : SplitResults
        Its results.
    inputs, extra : mapping
        As in :func:`report_estimates`.

    Returns
    -------
    list of pathlib.Path
        Tables written (sidecars not listed).
    """
    out = cfg.artefacts
    record = {
        **extra,
        "inputs": inputs,
        "specifications": [_spec_record(spec)],
        "split": dict(results.provenance["split"]),
    }

    def render(fmt: str, path: Path, rec: Mapping[str, Any]) -> str:
        return etable(
            results,
            fmt,
            title=f"Gravity estimates by {results.by}: {spec.name} ({cfg.name})",
            synthetic=out.synthetic,
            git=out.record_git_commit,
            extra_provenance=rec,
            file=path,
        )

    return _write_tables(out, f"{spec.name}_by_{results.by}", render, record)


def _scenario_record(
    sc: ScenarioSpec, ge: GESettings, inputs: Mapping[str, Any], extra: Mapping[str, Any]
) -> dict[str, Any]:
    """Provenance of a scenario's artefacts: the entry, the GE settings, every seed."""
    return {
        **extra,
        "inputs": inputs,
        "scenario": {
            "name": sc.name,
            "kind": sc.kind,
            "specification": sc.specification,
            **sc.params,
        },
        "ge": {
            "year": ge.year,
            "theta": ge.theta if ge.theta_from is None else None,
            "theta_from": ge.theta_from,
            "closure": ge.closure,
            "draws": ge.draws,
            "alpha": ge.alpha,
        },
        "seeds": {**extra.get("seeds", {}), "ge_draws": ge.seed},
    }


def report_scenario(
    out: Artefacts,
    sc: ScenarioSpec,
    ge: GESettings,
    outcome: ScenarioOutcome,
    inputs: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> list[Path]:
    """Write a scenario's table and figures (with provenance sidecars); return their paths.

    Parameters
    ----------
    out : Artefacts
        Where and how to write.
    sc : ScenarioSpec
        The scenario.
    ge : GESettings
        The GE settings it was solved with.
    outcome : ScenarioOutcome
        The solved scenario.
    inputs : mapping
        Fingerprints of the inputs (panel, estimates).
    extra : mapping
        Further provenance (the run's, and the solution's record).

    Returns
    -------
    list of pathlib.Path
        Tables and figures written (sidecars not listed).
    """
    record = _scenario_record(sc, ge, inputs, extra)
    title = sc.description or sc.name

    def render(fmt: str, path: Path, rec: Mapping[str, Any]) -> str:
        return scenario_table(
            outcome.countries,
            fmt,
            outcomes=list(TABLE_OUTCOMES),
            title=title,
            synthetic=out.synthetic,
            git=out.record_git_commit,
            extra_provenance=rec,
            file=path,
        )

    written = _write_tables(out, f"scenario_{sc.name}", render, record)
    if out.figure_formats:
        written += _scenario_figures(out, sc, outcome, record, title)
    return written


def _scenario_figures(
    out: Artefacts,
    sc: ScenarioSpec,
    outcome: ScenarioOutcome,
    record: Mapping[str, Any],
    title: str,
) -> list[Path]:
    fig_record = build_provenance(
        synthetic=out.synthetic, extra={**record, "artefact": "figure"}, git=out.record_git_commit
    )
    frame = outcome.countries
    shown: Sequence[str] = [c for c in (*CENTRAL_ASIA, *_NEIGHBOURS) if c in frame.index]
    fig = outcome_plot(frame, countries=shown, synthetic=out.synthetic, title=title)
    written = save_figure(
        fig, out.root / "figures" / f"outcomes_{sc.name}", fig_record, formats=out.figure_formats
    )
    fig = trade_heatmap(
        outcome.flows,
        countries=CENTRAL_ASIA,
        synthetic=out.synthetic,
        title=f"Change in trade: {sc.name}",
    )
    written += save_figure(
        fig,
        out.root / "figures" / f"trade_heatmap_{sc.name}",
        fig_record,
        formats=out.figure_formats,
    )
    return written
