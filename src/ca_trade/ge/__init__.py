"""Exact general-equilibrium counterfactuals of structural gravity.

Entry points:

- :func:`solve` / :func:`solve_both`: the hat-algebra fixed point (full endowment and
  conditional), with additive or multiplicative trade imbalances, supply elasticity and tariff
  revenue; flows with a ``sector`` column select the multi-sector model with sector trade
  elasticities, tariffs and input-output links (:mod:`ca_trade.ge.sectoral`, Caliendo & Parro
  2015);
- :class:`Scenario` and the builders :func:`tariff_harmonization` (customs unions, by sector,
  with revenue pooling :class:`RevenuePool`), :func:`agreement`, :func:`corridor`: partial
  effects of policies, composable with ``+``;
- :func:`parametric_draws` and :func:`pairs_bootstrap`: confidence intervals;
- :func:`geppml_baseline`: PPML-fitted baseline flows (GEPPML).

Examples
--------
>>> import pandas as pd
>>> import ca_trade.ge as ge
>>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
...                   "value": [8.0, 2.0, 2.0, 8.0]})
>>> ge.solve(f, None, theta=4).countries["welfare"].tolist()
[1.0, 1.0]
"""

from __future__ import annotations

from ca_trade.ge import sectoral as sectoral  # the subpackage, documented on its own
from ca_trade.ge.baseline import fitted_flows, geppml_baseline, recover_pair_effects
from ca_trade.ge.results import OUTCOMES, RATIO_COLUMNS, GEComparison, GEResult, UncertaintyResult
from ca_trade.ge.routes import RouteGraph, load_routes, transit_days
from ca_trade.ge.scenario import RevenuePool, Scenario
from ca_trade.ge.scenarios import agreement, corridor, tariff_harmonization
from ca_trade.ge.solver import RESIDUAL_TOL, Problem, prepare, solve, solve_both
from ca_trade.ge.uncertainty import PpmlEstimator, pairs_bootstrap, parametric_draws

__all__ = [
    "OUTCOMES",
    "RATIO_COLUMNS",
    "RESIDUAL_TOL",
    "GEComparison",
    "GEResult",
    "PpmlEstimator",
    "Problem",
    "RevenuePool",
    "RouteGraph",
    "Scenario",
    "UncertaintyResult",
    "agreement",
    "corridor",
    "fitted_flows",
    "geppml_baseline",
    "load_routes",
    "pairs_bootstrap",
    "parametric_draws",
    "prepare",
    "recover_pair_effects",
    "solve",
    "solve_both",
    "tariff_harmonization",
    "transit_days",
]
