"""GE scenarios of config-driven runs (internal; see :mod:`ca_trade.pipeline`).

Translates a ``[[scenarios]]`` entry into a :class:`ca_trade.ge.Scenario` with the library's
builders (:func:`ca_trade.ge.tariff_harmonization`, :func:`ca_trade.ge.corridor`), solves it on
the panel's flows of the baseline year, and attaches parametric confidence intervals
(:func:`ca_trade.ge.parametric_draws`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ca_trade.exceptions import ConfigError, GEError
from ca_trade.pipeline import GESettings, ScenarioSpec

__all__ = ["OUTCOMES", "baseline_year", "build_scenario", "simulate"]

OUTCOMES = ("welfare", "real_gdp", "exports", "imports", "domestic")
_CET = {"simple_mean": "simple", "weighted_mean": "weighted", "max": "max"}


def _require(attr: str) -> Any:
    from ca_trade.pipeline.stages import require

    return require("ge", attr, "simulate")


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


def build_scenario(spec: ScenarioSpec, frame: pd.DataFrame, result: Any) -> Any:
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
    """
    p = spec.params
    countries = sorted(set(frame["exporter"]) | set(frame["importer"]))
    if spec.kind in ("customs_union", "remove_internal_tariffs"):
        build = _require("tariff_harmonization")
        pairs = frame[frame["exporter"] != frame["importer"]]
        coef = p.get("elasticity", result)
        rule = p.get("cet", "simple_mean")
        cet: str | tuple[str, str] = _CET.get(rule, ("adopt", rule))
        if spec.kind == "remove_internal_tariffs":
            cet = "keep"
        return build(pairs, p["members"], coef, cet=cet, name=spec.name)
    if spec.kind == "corridor":
        build = _require("corridor")
        links = pd.DataFrame(
            {
                "from": [a for a, _ in p["links"]],
                "to": [b for _, b in p["links"]],
            }
        )
        if "days_saved" in p:
            links["days_saved"] = p["days_saved"]
        elif "cost_reduction" in p:
            links["cost_reduction"] = p["cost_reduction"]
        else:
            raise ConfigError(
                f"scenario {spec.name}: a corridor needs days_saved or cost_reduction"
            )
        if "elasticity" not in p and "ln_tariff" not in result.params.index:
            raise ConfigError(
                f"scenario {spec.name}: a corridor maps days to an ad valorem cost and needs "
                f"the ln_tariff coefficient, which specification {spec.specification!r} lacks; "
                "name a specification with ln_tariff or give elasticity = ..."
            )
        coef = p.get("elasticity", float(result.params["ln_tariff"]))
        return build(
            links,
            countries,
            coef,
            mapping="days",
            ave_per_day=p.get("ave_per_day", 0.01),
            regressor="ln_tariff",
            name=spec.name,
        )
    raise ConfigError(f"scenario {spec.name}: unknown kind {spec.kind!r}")


def simulate(
    spec: ScenarioSpec, ge: GESettings, panel: pd.DataFrame, results: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Solve one scenario with confidence intervals.

    Parameters
    ----------
    spec : ScenarioSpec
        The scenario.
    ge : GESettings
        GE settings.
    panel : pandas.DataFrame
        The estimation panel.
    results : dict
        Estimation results by specification name.

    Returns
    -------
    countries : pandas.DataFrame
        Per country ``<outcome>_pct`` with ``_lo``/``_hi`` bounds.
    flows : pandas.DataFrame
        ``exporter, importer, value, baseline_value, change_pct`` of the point solution.
    provenance : dict
        GE convergence, residuals, draws (successful and failed) and the description.
    """
    frame = baseline_year(panel, ge)
    result = results[spec.specification]
    scenario = build_scenario(spec, frame, result)
    flows = frame[["exporter", "importer", "value"]]
    extra: dict[str, Any] = {}
    if ge.draws > 0:
        draws_fn = _require("parametric_draws")
        unc = draws_fn(
            flows,
            scenario,
            ge.theta,
            result=result,
            n_draws=ge.draws,
            alpha=ge.alpha,
            seed=ge.seed,
            n_jobs=1,
            theta_from=ge.theta_from,
            closure=ge.closure,
        )
        point = unc.point
        cols = [c for o in OUTCOMES for c in (f"{o}_pct", f"{o}_pct_lo", f"{o}_pct_hi")]
        countries = unc.countries[[c for c in cols if c in unc.countries.columns]].copy()
        extra["uncertainty"] = {
            "method": str(unc.method),
            "draws": int(unc.n_draws),
            "failed": int(unc.n_failed),
            "alpha": float(unc.alpha),
            "seed": int(unc.seed),
        }
    else:
        theta = ge.theta
        if ge.theta_from is not None:
            if ge.theta_from not in scenario.coefficients:
                raise ConfigError(
                    f"[ge].theta_from = {ge.theta_from!r} is not a coefficient of scenario "
                    f"{spec.name} ({sorted(scenario.coefficients)})"
                )
            theta = -float(scenario.coefficients[ge.theta_from]) - 1.0
        point = _require("solve")(flows, scenario, theta, closure=ge.closure)
        countries = point.countries[[f"{o}_pct" for o in OUTCOMES]].copy()
    from ca_trade.report.provenance import result_provenance

    extra["estimates"] = result_provenance(result)
    extra["ge_solution"] = {
        "theta": float(point.settings.get("theta", ge.theta)),
        "converged": bool(point.converged),
        "n_iter": int(point.n_iter),
        # rounded so the record does not depend on the last bits of the arithmetic
        "max_residual": float(f"{max(point.residuals.values(), default=0.0):.0e}"),
        "description": scenario.description,
    }
    countries = countries.sort_index()
    countries.index = countries.index.astype(str)
    return countries, point.flows, extra
