"""The artefacts of a run: estimation tables, coefficient plot, scenario tables and figures.

Each artefact is written with its provenance sidecar (what went in: input fingerprints,
specifications, seeds, GE settings) through :mod:`ca_trade.report`, in every format the
configuration asks for, under the run's root.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from ca_trade.estimate import GravityResults, SplitResults
from ca_trade.facts import CENTRAL_ASIA
from ca_trade.ge import OUTCOMES as GE_OUTCOMES
from ca_trade.pipeline.config import (
    Artefacts,
    Config,
    GESettings,
    ScenarioSpec,
    Specification,
)
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
from ca_trade.report.tables import bounds_at_estimate, scenario_frame

__all__ = [
    "TABLE_OUTCOMES",
    "ScenarioText",
    "report_estimates",
    "report_scenario",
    "report_split",
    "sample_rows",
    "sample_truth",
    "scenario_text",
    "scenario_words",
    "table_columns",
    "welfare_summary",
]

#: Outcomes in scenario tables (domestic sales stay in the frame, untabulated).
TABLE_OUTCOMES = GE_OUTCOMES
#: How a paper names the coefficient theta is tied to.
_TIES = {"ln_tariff": "ln(1 + tariff) (ln_tariff)"}
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


def sample_rows(
    international_only: Sequence[bool | None],
    years: Sequence[tuple[int, int] | None] = (),
) -> dict[str, list[str]]:
    """Return the table rows that say which rows of the panel each column was estimated on.

    Parameters
    ----------
    international_only : sequence of bool or None
        One per column: whether its sample was international pairs only (None: unknown).
    years : sequence of (int, int) or None, optional
        One per column: its year window (None: all years).

    Returns
    -------
    dict
        ``{"Sample": [...]}`` ("International pairs" or "All pairs") when a column drops the
        domestic pairs, and ``{"Years": [...]}`` when one has a year window; empty when
        every column uses the whole panel.

    Examples
    --------
    >>> sample_rows([True, False])
    {'Sample': ['International pairs', 'All pairs']}
    >>> sample_rows([False], [(2000, 2019)])
    {'Years': ['2000–2019']}
    """
    rows: dict[str, list[str]] = {}
    if any(international_only):
        rows["Sample"] = [
            "International pairs" if f else ("All pairs" if f is False else "")
            for f in international_only
        ]
    if any(years):
        rows["Years"] = [f"{y[0]}–{y[1]}" if y else "All" for y in years]
    return rows


def table_columns(
    specs: Sequence[Specification], results: Mapping[str, GravityResults]
) -> tuple[dict[str, GravityResults], list[Specification]]:
    """Return the columns of the estimates table and the specification of each.

    A specification with ``bias_corrected`` has two columns: its estimates, then the
    corrected ones (headed ``"<name>, bias-corrected"``).

    Parameters
    ----------
    specs : sequence of Specification
        The run's specifications.
    results : mapping
        Results by name (corrected ones under ``spec.corrected_name``).

    Returns
    -------
    columns : dict
        Result by column heading.
    specs : list of Specification
        The specification of each column.
    """
    columns: dict[str, GravityResults] = {}
    of: list[Specification] = []
    for s in specs:
        if s.name not in results:
            continue
        columns[s.name] = results[s.name]
        of.append(s)
        if s.bias_corrected is not None and s.corrected_name in results:
            columns[f"{s.name}, bias-corrected"] = results[s.corrected_name]
            of.append(s)
    return columns, of


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
    if any(bool(r.provenance.get("synthetic")) for r in results.values()):
        out = replace(out, synthetic=True)  # estimated on the SYNTHETIC sample
    specs = [_spec_record(s) for s in cfg.specifications if s.name in results]
    record = {**extra, "inputs": inputs, "specifications": specs}
    columns, of = table_columns(cfg.specifications, results)

    def render(fmt: str, path: Path, rec: Mapping[str, Any]) -> str:
        return etable(
            columns,
            fmt,
            extra_rows=sample_rows([s.international_only for s in of], [s.years for s in of]),
            title=f"Gravity estimates ({cfg.name})",
            synthetic=out.synthetic,
            git=out.record_git_commit,
            extra_provenance=rec,
            file=path,
        )

    written = _write_tables(out, "estimates", render, record)
    if out.figure_formats:
        fig_record = build_provenance(
            results=list(columns.values()),
            synthetic=out.synthetic,
            extra={**record, "artefact": "coefplot"},
            git=out.record_git_commit,
        )
        truth = sample_truth(cfg)
        title = "Coefficients (95% CI)" + ("; x = true value" if truth else "")
        fig = coefplot(columns, synthetic=out.synthetic, title=title, truth=truth)
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
        "bias_corrected": s.bias_corrected,
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
    sc: ScenarioSpec,
    ge: GESettings,
    outcome: ScenarioOutcome,
    inputs: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """Provenance of a scenario's artefacts: the entry, the GE settings, every seed.

    ``ge.theta`` is the trade elasticity of the point solution, ``ge.theta_from`` the
    coefficient it is tied to in every draw (None when it was given).
    """
    solution = outcome.record.get("ge_solution", {})
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
            "theta": solution.get("theta", ge.theta),
            "theta_from": solution.get("theta_from", ge.theta_from),
            "closure": ge.closure,
            "n_draws": ge.n_draws,
            "alpha": ge.alpha,
        },
        "seeds": {**extra.get("seeds", {}), "ge_draws": ge.seed},
    }


@dataclass(frozen=True)
class ScenarioText:
    """What a scenario's table and figures say in words.

    Parameters
    ----------
    title : str
        The scenario in words (the caption).
    interval : str or None
        What the brackets are: level, percentiles, draws (None without draws).
    notes : list of str
        Theta and how it was set, the baseline, the scenario's details.
    """

    title: str
    interval: str | None
    notes: list[str]

    @property
    def figure_note(self) -> str:
        """The caption of the scenario's figures: the intervals, theta and the baseline."""
        return " ".join([*([self.interval] if self.interval else []), *self.notes[:2]])


def scenario_words(sc: ScenarioSpec) -> str:
    """Return the scenario in words: its ``description``, or one made from its entry.

    Parameters
    ----------
    sc : ScenarioSpec
        The scenario.

    Returns
    -------
    str
        E.g. "Customs union of KAZ, KGZ, UZB: internal tariffs removed, common external
        tariff the simple mean of members' tariffs".

    Examples
    --------
    >>> scenario_words(ScenarioSpec(name="c", kind="corridor", specification="s",
    ...                             links=(("CHN", "KGZ"),), cost_reduction=0.4))
    'Corridor CHN-KGZ: transit time cut by 40%'
    """
    if sc.description:
        return sc.description
    if sc.kind == "corridor":
        links = ", ".join(f"{a}-{b}" for a, b in sc.links)
        if sc.days_saved is not None:
            return f"Corridor {links}: {sc.days_saved:g} days saved on each link"
        return f"Corridor {links}: transit time cut by {100 * (sc.cost_reduction or 0):.0f}%"
    members = ", ".join(sc.members)
    if sc.cet == "keep":
        return f"Removal of tariffs between {members} (external tariffs kept)"
    rule = {
        None: "the simple mean",
        "simple": "the simple mean",
        "weighted": "the import-weighted mean",
        "max": "the highest",
    }.get(sc.cet if isinstance(sc.cet, str | None) else "", "")
    cet = f"{rule} of members' tariffs" if rule else f"{sc.cet[1]}'s schedule"  # type: ignore[index]
    return f"Customs union of {members}: internal tariffs removed, common external tariff {cet}"


def scenario_text(sc: ScenarioSpec, ge: GESettings, outcome: ScenarioOutcome) -> ScenarioText:
    """Return the caption and notes of a scenario's table and figures.

    Parameters
    ----------
    sc : ScenarioSpec
        The scenario.
    ge : GESettings
        The GE settings (closure).
    outcome : ScenarioOutcome
        The solved scenario (its record: draws, level, theta, year, description).

    Returns
    -------
    ScenarioText
        Title (the scenario in words), what the brackets are, and notes on theta, the
        baseline and the scenario's details.
    """
    unc, solution = outcome.record.get("uncertainty", {}), outcome.record.get("ge_solution", {})
    interval = None
    if unc:
        alpha, n, failed = float(unc["alpha"]), int(unc["n_draws"]), int(unc["n_failed"])
        used = f"the {n - failed} successful of {n}" if failed else f"{n}"
        interval = (
            f"{100 * (1 - alpha):g}% intervals in brackets: the {100 * alpha / 2:g}th and "
            f"{100 * (1 - alpha / 2):g}th percentiles of each outcome over {used} parametric "
            "draws of the estimated coefficients from their estimated normal distribution."
        )
    theta, tie = float(solution.get("theta", float("nan"))), solution.get("theta_from")
    if tie:
        theta_note = (
            f"Trade elasticity θ = {theta:.2f} = −b − 1, b the estimated coefficient of "
            f"{_TIES.get(tie, tie)} in specification {sc.specification}; θ is redrawn with b "
            "in every draw."
        )
    else:
        theta_note = f"Trade elasticity θ = {theta:g}, as given (the same in every draw)."
    notes = [
        theta_note,
        f"Baseline: the panel's flows of {solution.get('year', ge.year)}, trade imbalances "
        f"with the {ge.closure} closure.",
    ]
    if solution.get("description"):
        notes.append(f"Scenario details: {solution['description']}.")
    one_side, _ = bounds_at_estimate(
        scenario_frame(outcome.countries, list(TABLE_OUTCOMES)), list(TABLE_OUTCOMES), 2
    )
    if tie and unc and one_side:
        notes.append(
            "With θ tied to b, a larger |b| raises both the trade-cost change and θ, and their "
            "effects on welfare offset: an outcome at its smallest (or largest) near the "
            "estimated b has its lower (or upper) bound at the estimate."
        )
    return ScenarioText(scenario_words(sc), interval, notes)


def report_scenario(
    out: Artefacts,
    sc: ScenarioSpec,
    ge: GESettings,
    outcome: ScenarioOutcome,
    inputs: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> list[Path]:
    """Write a scenario's table and figures (with provenance sidecars); return their paths.

    The table's caption and the figures' titles say the scenario in words; their notes say
    what the intervals are (level, percentiles, number of draws), theta and how it was set,
    and the baseline (:func:`scenario_text`). The sidecars carry the scenario, theta, the
    draws and the fingerprints (SHA-256) of the data.

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
    if outcome.synthetic:  # built from the SYNTHETIC sample: say so, whatever `out` says
        out = replace(out, synthetic=True)
    record = _scenario_record(sc, ge, outcome, inputs, extra)
    text = scenario_text(sc, ge, outcome)

    def render(fmt: str, path: Path, rec: Mapping[str, Any]) -> str:
        return scenario_table(
            outcome.countries,
            fmt,
            outcomes=list(TABLE_OUTCOMES),
            title=text.title,
            interval_note=text.interval,
            notes=text.notes,
            synthetic=out.synthetic,
            git=out.record_git_commit,
            extra_provenance=rec,
            file=path,
        )

    written = _write_tables(out, f"scenario_{sc.name}", render, record)
    if out.figure_formats:
        written += _scenario_figures(out, sc, outcome, record, text)
    return written


def _scenario_figures(
    out: Artefacts,
    sc: ScenarioSpec,
    outcome: ScenarioOutcome,
    record: Mapping[str, Any],
    text: ScenarioText,
) -> list[Path]:
    fig_record = build_provenance(
        synthetic=out.synthetic, extra={**record, "artefact": "figure"}, git=out.record_git_commit
    )
    frame = outcome.countries
    own = [*sc.members, *(c for link in sc.links for c in link)]
    # the five Central Asian states, then the scenario's other countries, then neighbours
    shown = list(dict.fromkeys(c for c in (*CENTRAL_ASIA, *own, *_NEIGHBOURS) if c in frame.index))
    fig = outcome_plot(
        frame, countries=shown, synthetic=out.synthetic, title=text.title, note=text.figure_note
    )
    written = save_figure(
        fig, out.root / "figures" / f"outcomes_{sc.name}", fig_record, formats=out.figure_formats
    )
    touched = list(dict.fromkeys(c for c in (*CENTRAL_ASIA, *own) if c in frame.index))
    fig = trade_heatmap(
        outcome.flows,
        countries=touched,
        synthetic=out.synthetic,
        title=f"Change in bilateral trade (%): {text.title}",
        note=text.notes[1] if len(text.notes) > 1 else None,
    )
    written += save_figure(
        fig,
        out.root / "figures" / f"trade_heatmap_{sc.name}",
        fig_record,
        formats=out.figure_formats,
    )
    return written


def _change(frame: pd.DataFrame, country: str, outcome: str) -> str:
    """``+0.08 [+0.07, +0.09]``: a percent change with its interval where there is one."""
    point = float(frame[f"{outcome}_pct"].loc[country])
    text = f"{point:+.2f}"
    lo_col, hi_col = f"{outcome}_pct_lo", f"{outcome}_pct_hi"
    if lo_col in frame.columns and hi_col in frame.columns:
        lo, hi = float(frame[lo_col].loc[country]), float(frame[hi_col].loc[country])
        if math.isfinite(lo) and math.isfinite(hi):
            text += f" [{lo:+.2f}, {hi:+.2f}]"
    return text


def welfare_summary(
    name: str,
    countries: pd.DataFrame,
    record: Mapping[str, Any],
    *,
    first: Sequence[str] = (),
    others: int = 5,
) -> str:
    """Return a short table of a scenario's welfare and real GDP changes by country.

    Parameters
    ----------
    name : str
        The scenario's name.
    countries : pandas.DataFrame
        Per-country outcomes (``welfare_pct``, ``real_gdp_pct`` and their ``_lo``/``_hi``).
    record : mapping
        The outcome's record (``uncertainty``: draws and level; ``ge_solution``: theta).
    first : sequence of str
        Countries listed first, in this order (the scenario's own: members, link ends).
    others : int, default 5
        How many of the other countries with the largest welfare changes follow.

    Returns
    -------
    str
        The table, with a line on the countries left out.

    Examples
    --------
    >>> df = pd.DataFrame({"welfare_pct": [0.5, -0.01, 0.002], "real_gdp_pct": [0.4, 0.0, 0.0]},
    ...                   index=["KGZ", "CHN", "DEU"])
    >>> print(welfare_summary("cu", df, {}, first=["KGZ"], others=1))
    cu: change in welfare and real GDP, %
      country  welfare                 real GDP
      KGZ      +0.50                   +0.40
      CHN      -0.01                   +0.00
      (1 other country, each within +/-0.00%)
    """
    unc, solution = record.get("uncertainty", {}), record.get("ge_solution", {})
    notes = []
    if unc:
        level = 100 * (1 - float(unc.get("alpha", 0.05)))
        n, failed = int(unc.get("n_draws", 0)), int(unc.get("n_failed", 0))
        used = f"the {n - failed} successful of {n}" if failed else f"{n}"
        notes.append(f"{level:g}% interval of {used} parametric draws")
    if "theta" in solution:
        tie = solution.get("theta_from")
        rule = f" = -b - 1 from the {tie} coefficient" if tie else " (given)"
        notes.append(f"theta = {float(solution['theta']):.3g}{rule}")
    lines = [
        f"{name}: change in welfare and real GDP, %" + (f" ({'; '.join(notes)})" if notes else "")
    ]
    shown = [c for c in first if c in countries.index]
    rest = countries.drop(index=shown)
    order = rest["welfare_pct"].abs().sort_values(ascending=False, kind="stable")
    shown += [str(c) for c in order.index[: max(others, 0)]]
    lines.append(f"  {'country':<8} {'welfare':<23} real GDP")
    has_gdp = "real_gdp_pct" in countries.columns
    for c in shown:
        gdp = _change(countries, c, "real_gdp") if has_gdp else ""
        lines.append(f"  {c:<8} {_change(countries, c, 'welfare'):<23} {gdp}".rstrip())
    left = order.index[max(others, 0) :]
    if len(left):
        bound = float(order.iloc[max(others, 0)])
        noun = "country" if len(left) == 1 else "countries"
        lines.append(f"  ({len(left)} other {noun}, each within +/-{bound:.2f}%)")
    return "\n".join(lines)
