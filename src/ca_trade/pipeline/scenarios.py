"""GE scenarios of config-driven runs: a ``[[scenarios]]`` entry -> solved outcomes.

Translates a :class:`~ca_trade.pipeline.config.ScenarioSpec` into a
:class:`ca_trade.ge.Scenario` with the library's builders
(:func:`ca_trade.ge.tariff_harmonization`, :func:`ca_trade.ge.corridor`), solves it on the
panel's flows of the baseline year, and attaches parametric confidence intervals
(:func:`ca_trade.ge.parametric_draws`).

Examples
--------
>>> import pandas as pd
>>> panel = pd.DataFrame({"exporter": ["KAZ", "KAZ"], "importer": ["KAZ", "UZB"],
...                       "year": [2019, 2019], "value_usd": [9.0, 1.0]})
>>> baseline_year(panel, GESettings())["value"].tolist()
[9.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ca_trade._typing import EstimationResult
from ca_trade.exceptions import ConfigError, GEError
from ca_trade.executors import ExecutorLike
from ca_trade.ge import OUTCOMES as GE_OUTCOMES
from ca_trade.ge import GEResult, Scenario, corridor, parametric_draws, solve, tariff_harmonization
from ca_trade.pipeline.config import Cet, GESettings, ScenarioSpec
from ca_trade.report.provenance import result_provenance

__all__ = ["OUTCOMES", "ScenarioOutcome", "baseline_year", "build_scenario", "simulate"]

#: The per-country outcomes a scenario keeps (percent changes, with interval bounds).
#: The GE outcomes reported by a scenario: ca_trade.ge.OUTCOMES and domestic sales.
OUTCOMES = (*GE_OUTCOMES, "domestic")


@dataclass(frozen=True)
class ScenarioOutcome:
    """A solved scenario.

    Parameters
    ----------
    countries : pandas.DataFrame
        Per country ``<outcome>_pct`` with ``_lo``/``_hi`` bounds, indexed by ISO3.
    flows : pandas.DataFrame
        ``exporter, importer, value, baseline_value, change_pct`` of the point solution.
    record : dict
        Provenance: GE convergence, residuals, draws (successful and failed), the
        estimates used and the description.
    """

    countries: pd.DataFrame
    flows: pd.DataFrame
    record: dict[str, Any]


def baseline_year(panel: pd.DataFrame, ge: GESettings) -> pd.DataFrame:
    """Return the panel rows of the GE baseline year (default: last year with domestic flows).

    Parameters
    ----------
    panel : pandas.DataFrame
        The estimation panel.
    ge : GESettings
        GE settings (``year``).

    Returns
    -------
    pandas.DataFrame
        Rows of that year with ``value`` = ``value_usd``.

    Raises
    ------
    GEError
        When the panel has no domestic flows in any year.
    ConfigError
        When the configured year is not in the panel.
    """
    years = sorted(int(y) for y in panel["year"].unique())
    year = ge.year
    if year is None:
        dom = panel[panel["exporter"] == panel["importer"]]
        dom_years = sorted(int(y) for y in dom.loc[dom["value_usd"].notna(), "year"].unique())
        if not dom_years:
            raise GEError("the panel has no domestic flows in any year; GE needs X_ii")
        year = dom_years[-1]
    if year not in years:
        raise ConfigError(f"[ge].year = {year} is not in the panel (years {years[0]}-{years[-1]})")
    frame = panel[panel["year"] == year].copy()
    frame["value"] = frame["value_usd"].astype(float)
    return frame.reset_index(drop=True)


def build_scenario(spec: ScenarioSpec, frame: pd.DataFrame, result: EstimationResult) -> Scenario:
    """Build the :class:`ca_trade.ge.Scenario` a config entry describes.

    Parameters
    ----------
    spec : ScenarioSpec
        The entry.
    frame : pandas.DataFrame
        Panel rows of the baseline year.
    result : estimation result
        The specification whose coefficients build the partial effects.

    Returns
    -------
    ca_trade.ge.Scenario
        The scenario.

    Raises
    ------
    ConfigError
        When a corridor lacks its time saving or a coefficient to map days to costs.
    """
    if spec.kind in ("customs_union", "remove_internal_tariffs"):
        pairs = frame[frame["exporter"] != frame["importer"]]
        coef: EstimationResult | float = result if spec.elasticity is None else spec.elasticity
        cet: Cet = "simple" if spec.cet is None else spec.cet
        if spec.kind == "remove_internal_tariffs":
            cet = "keep"
        return tariff_harmonization(pairs, spec.members, coef, cet=cet, name=spec.name)
    links = pd.DataFrame({"from": [a for a, _ in spec.links], "to": [b for _, b in spec.links]})
    if spec.days_saved is not None:
        links["days_saved"] = spec.days_saved
    elif spec.cost_reduction is not None:
        links["cost_reduction"] = spec.cost_reduction
    else:
        raise ConfigError(f"scenario {spec.name}: a corridor needs days_saved or cost_reduction")
    if spec.elasticity is None and "ln_tariff" not in result.params.index:
        raise ConfigError(
            f"scenario {spec.name}: a corridor maps days to an ad valorem cost and needs "
            f"the ln_tariff coefficient, which specification {spec.specification!r} lacks; "
            "name a specification with ln_tariff or give elasticity = ..."
        )
    elasticity = spec.elasticity
    if elasticity is None:
        elasticity = float(result.params["ln_tariff"])
    return corridor(
        links,
        sorted(set(frame["exporter"]) | set(frame["importer"])),
        elasticity,
        mapping="days",
        ave_per_day=0.01 if spec.ave_per_day is None else spec.ave_per_day,
        regressor="ln_tariff",
        name=spec.name,
    )


def simulate(
    spec: ScenarioSpec,
    ge: GESettings,
    panel: pd.DataFrame,
    results: Mapping[str, EstimationResult],
    *,
    executor: ExecutorLike = None,
) -> ScenarioOutcome:
    """Solve one scenario with confidence intervals.

    Parameters
    ----------
    spec : ScenarioSpec
        The scenario.
    ge : GESettings
        GE settings.
    panel : pandas.DataFrame
        The estimation panel.
    results : mapping
        Estimation results by specification name.
    executor : None, str, distributed.Client or Executor, default None
        Where the draws run (:mod:`ca_trade.executors`); the intervals do not depend on it.

    Returns
    -------
    ScenarioOutcome
        Per-country outcomes (with bounds when ``ge.draws > 0``), the point solution's flows
        and the provenance record.
    """
    frame = baseline_year(panel, ge)
    result = results[spec.specification]
    scenario = build_scenario(spec, frame, result)
    flows = frame[["exporter", "importer", "value"]]
    record: dict[str, Any] = {}
    if ge.draws > 0:
        unc = parametric_draws(
            flows,
            scenario,
            ge.theta,
            result=result,
            n_draws=ge.draws,
            alpha=ge.alpha,
            seed=ge.seed,
            executor=executor,
            theta_from=ge.theta_from,
            closure=ge.closure,
        )
        point = unc.point
        cols = [c for o in OUTCOMES for c in (f"{o}_pct", f"{o}_pct_lo", f"{o}_pct_hi")]
        countries = unc.countries[[c for c in cols if c in unc.countries.columns]].copy()
        record["uncertainty"] = {
            "method": str(unc.method),
            "draws": int(unc.n_draws),
            "failed": int(unc.n_failed),
            "alpha": float(unc.alpha),
            "seed": int(unc.seed),
        }
    else:
        point = solve(flows, scenario, _theta(spec, ge, scenario), closure=ge.closure)
        countries = point.countries[[f"{o}_pct" for o in OUTCOMES]].copy()
    record["estimates"] = result_provenance(result)
    record["ge_solution"] = _solution_record(point, ge, scenario)
    countries = countries.sort_index()
    countries.index = countries.index.astype(str)
    return ScenarioOutcome(countries, point.flows, record)


def _theta(spec: ScenarioSpec, ge: GESettings, scenario: Scenario) -> float:
    """Return the point solution's trade elasticity: given, or ``-beta - 1`` (``theta_from``)."""
    if ge.theta_from is None:
        return ge.theta
    if ge.theta_from not in scenario.coefficients:
        raise ConfigError(
            f"[ge].theta_from = {ge.theta_from!r} is not a coefficient of scenario "
            f"{spec.name} ({sorted(scenario.coefficients)})"
        )
    return -float(scenario.coefficients[ge.theta_from]) - 1.0


def _solution_record(point: GEResult, ge: GESettings, scenario: Scenario) -> dict[str, Any]:
    return {
        "theta": float(point.settings.get("theta", ge.theta)),
        "converged": bool(point.converged),
        "n_iter": int(point.n_iter),
        # rounded so the record does not depend on the last bits of the arithmetic
        "max_residual": float(f"{max(point.residuals.values(), default=0.0):.0e}"),
        "description": scenario.description,
    }
