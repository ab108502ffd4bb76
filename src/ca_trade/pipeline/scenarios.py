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

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from scipy import stats

from ca_trade._typing import EstimationResult
from ca_trade.exceptions import ConfigError, ElasticityWarning, GEError
from ca_trade.executors import ExecutorLike
from ca_trade.ge import OUTCOMES as GE_OUTCOMES
from ca_trade.ge import GEResult, Scenario, corridor, parametric_draws, solve, tariff_harmonization
from ca_trade.pipeline.config import Cet, GESettings, ScenarioSpec
from ca_trade.report.provenance import result_provenance

__all__ = [
    "OUTCOMES",
    "THETA_FROM",
    "ScenarioOutcome",
    "baseline_year",
    "build_scenario",
    "scenario_theta",
    "simulate",
]

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
    synthetic : bool
        Whether the baseline flows or the estimates were SYNTHETIC (then every artefact
        built from the outcome says so).
    """

    countries: pd.DataFrame
    flows: pd.DataFrame
    record: dict[str, Any]
    synthetic: bool = False

    def __repr__(self) -> str:
        """Return the sizes and the solution's settings, not the frames."""
        solution = self.record.get("ge_solution", {})
        draws = self.record.get("uncertainty", {}).get("n_draws", 0)
        return (
            f"ScenarioOutcome(countries={len(self.countries)}, flows={len(self.flows)}, "
            f"theta={solution.get('theta')!r}, n_draws={draws})"
        )


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
        When a corridor lacks its time saving, or a scenario the ``ln_tariff`` coefficient
        that maps tariffs or days to trade costs.
    """
    if spec.coefficient is None and "ln_tariff" not in result.params.index:
        what = "maps days to an ad valorem cost" if spec.kind == "corridor" else "changes tariffs"
        raise ConfigError(
            f"scenario {spec.name}: a {spec.kind} scenario {what} and needs the ln_tariff "
            f"coefficient, which specification {spec.specification!r} lacks (it has "
            f"{', '.join(map(str, result.params.index))}); use estimates with ln_tariff in the "
            "formula, or give coefficient = ... in the config's scenario"
        )
    if spec.kind == "tariff_harmonization":
        pairs = frame[frame["exporter"] != frame["importer"]]
        coef: EstimationResult | float = result if spec.coefficient is None else spec.coefficient
        cet: Cet = "simple" if spec.cet is None else spec.cet
        return tariff_harmonization(pairs, spec.members, coef, cet=cet, name=spec.name)
    links = pd.DataFrame({"from": [a for a, _ in spec.links], "to": [b for _, b in spec.links]})
    if spec.days_saved is not None:
        links["days_saved"] = spec.days_saved
    elif spec.cost_reduction is not None:
        links["cost_reduction"] = spec.cost_reduction
    else:
        raise ConfigError(f"scenario {spec.name}: a corridor needs days_saved or cost_reduction")
    coefficient = spec.coefficient
    if coefficient is None:
        coefficient = float(result.params["ln_tariff"])
    return corridor(
        links,
        sorted(set(frame["exporter"]) | set(frame["importer"])),
        coefficient,
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
        Per-country outcomes (with bounds when ``ge.n_draws > 0``), the point solution's flows
        and the provenance record.
    """
    frame = baseline_year(panel, ge)
    result = results[spec.specification]
    scenario = build_scenario(spec, frame, result)
    theta, theta_from = scenario_theta(spec, ge, scenario, result)
    flows = frame[["exporter", "importer", "value"]]
    record: dict[str, Any] = {}
    if ge.n_draws > 0:
        unc = parametric_draws(
            flows,
            scenario,
            theta,
            result=result,
            n_draws=ge.n_draws,
            alpha=ge.alpha,
            seed=ge.seed,
            executor=executor,
            theta_from=theta_from,
            closure=ge.closure,
        )
        point = unc.point
        cols = [c for o in OUTCOMES for c in (f"{o}_pct", f"{o}_pct_lo", f"{o}_pct_hi")]
        countries = unc.countries[[c for c in cols if c in unc.countries.columns]].copy()
        record["uncertainty"] = {
            "method": str(unc.method),
            "n_draws": int(unc.n_draws),
            "n_failed": int(unc.n_failed),
            "alpha": float(unc.alpha),
            "seed": int(unc.seed),
        }
    else:
        point = solve(flows, scenario, theta, closure=ge.closure)
        countries = point.countries[[f"{o}_pct" for o in OUTCOMES]].copy()
    record["estimates"] = result_provenance(result)
    record["ge_solution"] = {
        "year": int(frame["year"].iloc[0]),
        **_solution_record(point, theta, theta_from, scenario),
    }
    countries = countries.sort_index()
    countries.index = countries.index.astype(str)
    synthetic = point.synthetic or bool(result.provenance.get("synthetic"))
    return ScenarioOutcome(countries, point.flows, record, synthetic)


#: The coefficient the trade elasticity is derived from when none is given: theta = -b - 1.
THETA_FROM = "ln_tariff"


def scenario_theta(
    spec: ScenarioSpec, ge: GESettings, scenario: Scenario, result: EstimationResult
) -> tuple[float, str | None]:
    r"""Return the trade elasticity of a scenario and the coefficient it is tied to (if any).

    One rule for configs and the command line: ``[ge].theta_from`` ties theta to a
    coefficient of the scenario, ``theta = -b - 1`` (the ``ln(1+t)`` coefficient is
    :math:`-\sigma = -(\theta + 1)` with duty-exclusive flows), in the point solution and in
    every draw; a given ``theta`` is used as it is, with an :class:`ElasticityWarning` when it
    lies outside the ``1 - alpha`` interval the estimates imply; with neither, theta is tied
    to the scenario's ``ln_tariff`` coefficient, and a scenario without one needs ``theta``.

    Parameters
    ----------
    spec : ScenarioSpec
        The scenario (for messages).
    ge : GESettings
        ``theta``, ``theta_from`` and ``alpha``.
    scenario : ca_trade.ge.Scenario
        The built scenario (its coefficients).
    result : estimation result
        The estimates the scenario is built from.

    Returns
    -------
    theta : float
        Trade elasticity of the point solution.
    theta_from : str or None
        The coefficient theta is tied to in every draw; None when theta is given.

    Raises
    ------
    ConfigError
        When ``theta_from`` is not a coefficient of the scenario, or theta can be neither
        read nor derived.

    Warns
    -----
    ElasticityWarning
        When a given theta contradicts the estimates.
    """
    tie = ge.theta_from
    if tie is None and ge.theta is not None:
        _check_given_theta(spec, ge, ge.theta, result)
        return ge.theta, None
    if tie is None:
        tie = THETA_FROM
        if tie not in scenario.coefficients:
            raise ConfigError(
                f"scenario {spec.name}: no trade elasticity: the estimates of specification "
                f"{spec.specification!r} have no {THETA_FROM} coefficient b to derive "
                "theta = -b - 1 from; give theta (--theta on the command line, [ge].theta in a "
                "config)"
            )
    if tie not in scenario.coefficients:
        raise ConfigError(
            f"[ge].theta_from = {tie!r} is not a coefficient of scenario "
            f"{spec.name} ({sorted(scenario.coefficients)})"
        )
    theta = -float(scenario.coefficients[tie]) - 1.0
    if not theta > 0:
        raise ConfigError(
            f"scenario {spec.name}: the {tie} coefficient {-theta - 1:.4g} implies theta = "
            f"-b - 1 = {theta:.4g}, not a trade elasticity (> 0); check the specification or "
            "give theta"
        )
    return theta, tie


def _check_given_theta(
    spec: ScenarioSpec, ge: GESettings, theta: float, result: EstimationResult
) -> None:
    """Warn when a given theta lies outside the interval of -b - 1 the estimates imply."""
    if THETA_FROM not in result.params.index or THETA_FROM not in result.bse.index:
        return
    b, se = float(result.params[THETA_FROM]), float(result.bse[THETA_FROM])
    z = float(stats.norm.ppf(1 - ge.alpha / 2))
    implied, lo, hi = -b - 1, -b - 1 - z * se, -b - 1 + z * se
    if lo <= theta <= hi or not math.isfinite(se):
        return
    warnings.warn(
        f"scenario {spec.name}: theta = {theta:g} contradicts the estimates of specification "
        f"{spec.specification!r}: their {THETA_FROM} coefficient b = {b:.4g} (SE {se:.3g}) "
        f"implies theta = -b - 1 = {implied:.3g}, {100 * (1 - ge.alpha):g}% interval "
        f"[{lo:.3g}, {hi:.3g}]; leave theta out to use the estimate",
        ElasticityWarning,
        stacklevel=3,
    )


def _solution_record(
    point: GEResult, theta: float, theta_from: str | None, scenario: Scenario
) -> dict[str, Any]:
    return {
        "theta": float(point.settings.get("theta", theta)),
        "theta_from": theta_from,
        "converged": bool(point.converged),
        "n_iter": int(point.n_iter),
        # rounded so the record does not depend on the last bits of the arithmetic
        "max_residual": float(f"{max(point.residuals.values(), default=0.0):.0e}"),
        "description": scenario.description,
    }
