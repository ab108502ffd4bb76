r"""Exact hat-algebra general equilibrium of structural gravity (one sector, Armington-CES).

Equations (``docs/methods-ge.md`` derives them). With baseline duty-exclusive flows
:math:`X_{ij}`, tariffs :math:`t_{ij}`, gross shares :math:`\pi_{ij} = (1+t_{ij}) X_{ij} / E_j`,
partial effects :math:`\delta_{ij}` on duty-exclusive flows and the unknown log change of the
factory-gate price :math:`x_i = \ln \hat p_i`:

.. math::

    \Phi_j = \hat P_j^{-\theta} = \sum_i \pi_{ij} b_{ij} \hat p_i^{-\theta},\quad
    b_{ij} = e^{\delta_{ij}} \frac{1 + t'_{ij}}{1 + t_{ij}},\quad
    \hat Y_i = \hat p_i (\hat p_i / \hat P_i)^{\psi},

    X'_{ij} = \frac{\pi_{ij} b_{ij} \hat p_i^{-\theta}}{\Phi_j} \frac{E'_j}{1 + t'_{ij}},
    \quad Y_i \hat Y_i = \sum_j X'_{ij},\quad
    E'_j = \frac{I'_j}{1 - \sum_i \pi'_{ij} t'_{ij} / (1 + t'_{ij})},

with income :math:`I'_j = Y_j \hat Y_j + D_j` (additive imbalances) or
:math:`I'_j = \hat\Xi (Y_j + D_j) \hat Y_j` (multiplicative; :math:`\hat\Xi` keeps world
spending equal to world income). The numeraire keeps world output constant by default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from ca_trade.exceptions import GEError, SpecificationError
from ca_trade.ge._fixed_point import FixedPointOutcome, fixed_point
from ca_trade.ge._inputs import flow_matrix, pair_matrix
from ca_trade.ge.results import RATIO_COLUMNS, GEComparison, GEResult, labelled
from ca_trade.ge.scenario import Scenario
from ca_trade.ge.sectoral import solve as solve_sectoral

__all__ = [
    "RESIDUAL_TOL",
    "Problem",
    "Solution",
    "prepare",
    "solve",
    "solve_both",
    "solve_problem",
    "to_result",
]

#: Largest relative market-clearing / budget residual accepted at a solution.
RESIDUAL_TOL = 1e-10

# exp() of a larger log partial effect overflows double precision
_MAX_LOG_EFFECT = float(np.log(np.finfo(float).max))

Closure = Literal["additive", "multiplicative"]


@dataclass(frozen=True)
class Problem:
    """A validated GE problem on a country grid (matrices; built by :func:`prepare`).

    Attributes
    ----------
    countries : tuple of str
        Country labels (sorted).
    flows : numpy.ndarray
        Baseline duty-exclusive flows, exporters in rows.
    tariff0, tariff1 : numpy.ndarray
        Baseline and counterfactual ad valorem tariffs (fractions).
    theta, psi : float
        Trade elasticity and supply elasticity.
    closure : str
        ``"additive"`` or ``"multiplicative"``.
    conditional : bool
        Hold output and expenditure fixed (resistances only).
    numeraire : int or None
        Index of the country whose factory-gate price is fixed; None: world output constant.
    """

    countries: tuple[str, ...]
    flows: np.ndarray
    tariff0: np.ndarray
    tariff1: np.ndarray
    theta: float
    psi: float
    closure: str
    conditional: bool
    numeraire: int | None

    @property
    def n(self) -> int:
        """Number of countries."""
        return len(self.countries)


def _validate_iteration(tol: float, maxiter: int) -> None:
    if not (np.isfinite(tol) and 0 < tol < 1):
        raise SpecificationError(f"tol must be a finite number in (0, 1), got {tol!r}.")
    if isinstance(maxiter, bool) or not isinstance(maxiter, int | np.integer) or maxiter < 1:
        raise SpecificationError(f"maxiter must be an integer >= 1, got {maxiter!r}.")


def _validate_scalars(theta: float, psi: float, closure: str, method: str) -> None:
    if not (np.isfinite(theta) and theta > 0):
        raise SpecificationError(
            f"theta (the trade elasticity) must be a positive number, got {theta!r}; for CES "
            "demand theta = sigma - 1 (e.g. sigma = 7 gives theta = 6)."
        )
    if not (np.isfinite(psi) and psi >= 0):
        raise SpecificationError(f"psi (the supply elasticity) must be >= 0, got {psi!r}.")
    if closure not in ("additive", "multiplicative"):
        raise SpecificationError(
            f"closure must be 'additive' or 'multiplicative', got {closure!r}."
        )
    if method not in ("anderson", "damped"):
        raise SpecificationError(f"method must be 'anderson' or 'damped', got {method!r}.")


def prepare(
    flows: pd.DataFrame,
    theta: float,
    *,
    closure: Closure = "additive",
    psi: float = 0.0,
    tariffs: pd.DataFrame | None = None,
    conditional: bool = False,
    numeraire: str = "world_output",
    value: str = "value",
) -> Problem:
    """Validate the inputs of :func:`solve` once and return the matrix problem.

    Useful when one baseline is solved many times (bootstrap draws).

    Parameters
    ----------
    flows, theta, closure, psi, tariffs, conditional, numeraire, value
        As in :func:`solve`.

    Returns
    -------
    Problem
        The validated problem.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "value": [8.0, 2.0, 2.0, 8.0]})
    >>> prepare(f, 4.0).countries
    ('A', 'B')
    """
    _validate_scalars(float(theta), float(psi), closure, "anderson")
    fm = flow_matrix(flows, value=value)
    t0 = pair_matrix(tariffs, fm.countries, "baseline", "tariffs", above=-1.0)
    t1 = pair_matrix(tariffs, fm.countries, "counterfactual", "tariffs", above=-1.0)
    if numeraire == "world_output":
        num: int | None = None
    elif numeraire in fm.countries:
        num = fm.countries.index(numeraire)
    else:
        raise SpecificationError(
            f"numeraire must be 'world_output' or a country of the flow matrix, got {numeraire!r}."
        )
    return Problem(
        countries=fm.countries,
        flows=fm.values,
        tariff0=t0,
        tariff1=t1,
        theta=float(theta),
        psi=float(psi),
        closure=closure,
        conditional=bool(conditional),
        numeraire=num,
    )


@dataclass(frozen=True)
class Solution:
    """Arrays of one solution (:func:`to_result` turns it into a GEResult)."""

    ratios: dict[str, np.ndarray]
    new_flows: np.ndarray
    log_price: np.ndarray
    converged: bool
    n_iter: int
    residuals: dict[str, float]
    method: str
    negative_income: list[str]
    nonfinite: list[str]
    shock: str

    def failure(self) -> str:
        """Explain why the solution was rejected (empty when it was accepted)."""
        if self.converged:
            return ""
        if self.negative_income:
            return (
                f"at the solution the income (output + fixed deficit) of {self.negative_income} "
                "is not positive: with additive imbalances this shock has no economically "
                "meaningful equilibrium. Use closure='multiplicative' (deficits as a share of "
                "income) or a smaller shock."
            )
        if self.nonfinite:
            shown = ", ".join(self.nonfinite[:4]) + (", ..." if len(self.nonfinite) > 4 else "")
            return (
                f"at the solution {len(self.nonfinite)} outcome(s) are not finite or underflow "
                f"to 0 ({shown}): they overflow double precision with theta={self.shock}. No "
                "result is reported. Check theta (trade elasticities are about 2-10; theta = "
                "sigma - 1 under CES) and the units of the partial effects (changes in log "
                "trade: 0.1 = +10.5 %); a shock this large has no representable equilibrium."
            )
        return (
            f"the GE fixed point failed its check after {self.n_iter} iterations (residuals "
            f"{self.residuals}; required < {RESIDUAL_TOL} relative). Check the partial effects "
            "for extreme values, raise maxiter, or try method='damped'. With additive "
            "imbalances a large shock can push a country's income (output + fixed deficit) to "
            "zero, where no equilibrium exists: use closure='multiplicative'."
        )


def solve_problem(
    problem: Problem,
    log_b: np.ndarray,
    *,
    tol: float = 1e-12,
    maxiter: int = 10_000,
    method: str = "anderson",
    x0: np.ndarray | None = None,
) -> Solution:
    """Solve a prepared problem for a matrix of partial effects (arrays in, arrays out).

    Parameters
    ----------
    problem : Problem
        From :func:`prepare`.
    log_b : numpy.ndarray
        ``(n, n)`` partial effects on duty-exclusive log flows.
    tol, maxiter, method
        As in :func:`solve`.
    x0 : numpy.ndarray, optional
        Starting log prices.

    Returns
    -------
    Solution
        Ratios per country, new flows, diagnostics.
    """
    n, theta, psi = problem.n, problem.theta, problem.psi
    _validate_iteration(tol, maxiter)
    _check_effects(problem, log_b)
    x_base = problem.flows
    t0, t1 = problem.tariff0, problem.tariff1
    gross = (1.0 + t0) * x_base
    e_base = gross.sum(axis=0)
    y_base = x_base.sum(axis=1)
    d_base = x_base.sum(axis=0) - y_base
    pi = gross / e_base[None, :]
    bmat = np.exp(log_b) * (1.0 + t1) / (1.0 + t0)
    m = pi * bmat
    net_share = 1.0 / (1.0 + t1)
    m_net = m * net_share
    has_tariff = bool(np.any(t1 != 0))
    m_rev = m * (t1 * net_share) if has_tariff else None
    cond = problem.conditional
    additive = problem.closure == "additive"

    def state(x: np.ndarray) -> tuple[np.ndarray, ...]:
        a = np.exp(-theta * (x - x.max()))  # scale-free: shares only depend on ratios
        phi = m.T @ a
        log_pj = -np.log(phi) / theta + x.max()
        if cond:
            log_y = np.zeros(n)
        else:
            log_y = x + psi * (x - log_pj)
        y_hat = np.exp(log_y)
        if cond:
            income = y_base + d_base
        elif additive:
            income = y_base * y_hat + d_base
        else:
            weight = (y_base + d_base) * y_hat
            income = weight * (np.sum(y_base * y_hat) / np.sum(weight))
        rho = (m_rev.T @ a) / phi if m_rev is not None else np.zeros(n)
        e_new = income / (1.0 - rho)
        sales = a * (m_net @ (e_new / phi))
        return a, phi, log_pj, log_y, e_new, sales, income

    # slope of log excess supply in x: theta (conditional) or 1 + theta + psi (full)
    kappa = theta if cond else 1.0 + theta + psi

    def normalize(x: np.ndarray) -> np.ndarray:
        if problem.numeraire is not None:
            return x - x[problem.numeraire]
        if cond or psi == 0.0:  # output moves with the price: no resistance needed
            return x + (np.log(np.sum(y_base)) - np.log(np.sum(y_base * np.exp(x))))
        _, _, _, log_y, *_ = state(x)
        return x + (np.log(np.sum(y_base)) - np.log(np.sum(y_base * np.exp(log_y))))

    def g(x: np.ndarray) -> np.ndarray:
        _, _, _, log_y, _, sales, _ = state(x)
        f = np.log(sales) - np.log(y_base) - log_y
        return normalize(x + f / kappa)

    def g_newton(x: np.ndarray) -> np.ndarray:
        # diagonal Newton step: divide by each country's own slope of log excess supply,
        # theta * (1 - sum_j w_ij pi_ij) + d ln Y_i - w_ii d ln E_i (w: sales shares, pi:
        # import shares); much larger steps than 1 / (1 + theta) for home-biased countries
        a, phi, _, log_y, e_new, sales, income = state(x)
        f = np.log(sales) - np.log(y_base) - log_y
        share = m * (a[:, None] / phi[None, :])
        weights = m_net * a[:, None] * (e_new / phi)[None, :] / sales[:, None]
        own = np.einsum("ij,ij->i", weights, share)
        slope = theta * (1.0 - own)
        if not cond:
            d_y = 1.0 + psi * (1.0 - np.diag(share))
            d_e = d_y * (y_base * np.exp(log_y) / income if additive else 1.0)
            slope = slope + d_y - np.diag(weights) * d_e
        return normalize(x + f / np.maximum(slope, 0.05 * min(theta, 1.0)))

    start = np.zeros(n) if x0 is None else np.asarray(x0, dtype=float)
    # non-finite trial points are rejected by the iteration and the residual check below
    with np.errstate(all="ignore"):
        if method == "anderson":
            out = fixed_point(g_newton, normalize(start), tol=tol, maxiter=maxiter, fallback=g)
        else:
            out = fixed_point(g, normalize(start), tol=tol, maxiter=maxiter, method="damped")
        sol = _finish(problem, out, state, m, net_share, gross, x_base, bmat, e_base, t1)
    if sol.nonfinite:
        return replace(sol, shock=f"{problem.theta:g} and {_largest_effect(problem, log_b)}")
    return sol


def _check_effects(problem: Problem, log_b: np.ndarray) -> None:
    """Refuse partial effects whose exponential overflows, naming the pair and value."""
    if log_b.shape != (problem.n, problem.n) or not np.isfinite(log_b).all():
        raise GEError(
            f"partial effects must be a finite {problem.n}x{problem.n} matrix of log changes."
        )
    over = np.argwhere(log_b > _MAX_LOG_EFFECT)
    if len(over):
        i, j = (int(k) for k in over[0])
        c = problem.countries
        raise GEError(
            f"partial effect {c[i]} -> {c[j]} = {log_b[i, j]:.6g} overflows: exp() of it "
            f"exceeds the largest double (exp({_MAX_LOG_EFFECT:.2f})), "
            f"{len(over)} pair(s) in all. Partial effects are changes in log trade (0.1 = "
            "+10.5 %): check their units (a tariff in percent instead of a fraction, or a "
            "coefficient times a change in levels)."
        )


def _largest_effect(problem: Problem, log_b: np.ndarray) -> str:
    if not log_b.any():
        return "no partial effects"
    i, j = (int(k) for k in np.unravel_index(np.argmax(np.abs(log_b)), log_b.shape))
    c = problem.countries
    return (
        f"the largest partial effect {c[i]} -> {c[j]} = {log_b[i, j]:.6g} (trade x "
        f"{np.exp(log_b[i, j]):.3g} at constant resistances)"
    )


def _nonfinite(
    countries: tuple[str, ...], ratios: dict[str, np.ndarray], new: np.ndarray, x_base: np.ndarray
) -> list[str]:
    """Name the outcomes that are not finite or underflow to zero.

    Exports and imports of a country without baseline trade are undefined (NaN) and allowed;
    negative values are diagnosed as non-positive income.
    """
    off = ~np.eye(len(countries), dtype=bool)
    traded = {
        "exports": (x_base * off).sum(axis=1) > 0,
        "imports": (x_base * off).sum(axis=0) > 0,
    }
    bad: list[str] = []
    for name, values in ratios.items():
        ok = np.isfinite(values) & (values != 0)
        if name in traded:
            ok |= ~traded[name]
        bad += [f"{name} of {c} = {v:.3g}" for c, v, good in zip(countries, values, ok) if not good]
    rows, cols = np.nonzero(~np.isfinite(new))
    bad += [f"flow {countries[i]} -> {countries[j]} = {new[i, j]:.3g}" for i, j in zip(rows, cols)]
    return bad


def _finish(
    problem: Problem,
    out: FixedPointOutcome,
    state: Callable[[np.ndarray], tuple[np.ndarray, ...]],
    m: np.ndarray,
    net_share: np.ndarray,
    gross: np.ndarray,
    x_base: np.ndarray,
    bmat: np.ndarray,
    e_base: np.ndarray,
    t1: np.ndarray,
) -> Solution:
    n, theta, cond = problem.n, problem.theta, problem.conditional
    y_base = x_base.sum(axis=1)
    x = out.x
    a, phi, log_pj, log_y, e_new, _, income = state(x)
    gross_new = m * a[:, None] * (e_new / phi)[None, :]
    new = gross_new * net_share
    y_new = y_base * np.exp(log_y)
    mc = float(np.max(np.abs(new.sum(axis=1) / y_new - 1.0)))
    spend = gross_new.sum(axis=0)
    budget = float(np.max(np.abs(spend - (income + (t1 * new).sum(axis=0))) / spend))
    balance = float(abs(np.sum(income) - np.sum(y_new)) / np.sum(y_new))
    residuals = {
        "market_clearing": mc,
        "budget": budget,
        "world_balance": balance,
        "step": out.step,
    }
    # with additive imbalances the equations also have solutions where a surplus country's
    # income (output + fixed, negative deficit) is negative: no economic meaning, rejected
    negative = [c for c, e in zip(problem.countries, e_new) if not e > 0]

    p_imr = np.exp(log_pj)
    e_hat = e_new / e_base
    y_hat = np.exp(log_y)
    price = np.ones(n) if cond else np.exp(x)
    world = e_new.sum() / e_base.sum()
    sales_share = gross / gross.sum(axis=1, keepdims=True)
    omr_pow = (sales_share * bmat) @ (e_hat / world * p_imr**theta)
    off = ~np.eye(n, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        exports = (new * off).sum(axis=1) / (x_base * off).sum(axis=1)
        imports = (new * off).sum(axis=0) / (x_base * off).sum(axis=0)
    ratios = {
        "welfare": e_hat / p_imr,
        "real_gdp": y_hat / p_imr,
        "price": price,
        "omr": omr_pow ** (-1.0 / theta),
        "imr": p_imr,
        "output": y_hat,
        "expenditure": e_hat,
        "exports": exports,
        "imports": imports,
        "domestic": np.diag(new) / np.diag(x_base),
    }
    nonfinite = _nonfinite(problem.countries, ratios, new, x_base)
    if not np.all(np.isfinite(x)) or negative or nonfinite:
        converged = False
    else:
        converged = out.converged and max(mc, budget, balance) < RESIDUAL_TOL
    return Solution(
        ratios, new, x, converged, out.n_iter, residuals, out.method, negative, nonfinite, ""
    )


def to_result(
    problem: Problem,
    sol: Solution,
    method: str,
    description: str,
) -> GEResult:
    """Turn the arrays of a solution into a :class:`GEResult` (countries, flows, settings).

    Parameters
    ----------
    problem : Problem
    sol : Solution
        From :func:`solve_problem`.
    method : str
        Name of the fixed-point method used.
    description : str
        The scenario's description.

    Returns
    -------
    GEResult
    """
    idx = pd.Index(list(problem.countries), name="country")
    countries = pd.DataFrame({k: sol.ratios[k] for k in RATIO_COLUMNS}, index=idx)
    for col in RATIO_COLUMNS:
        countries[f"{col}_pct"] = 100.0 * (countries[col] - 1.0)
    n = problem.n
    exp = np.repeat(np.array(problem.countries, dtype=object), n)
    imp = np.tile(np.array(problem.countries, dtype=object), n)
    base = problem.flows.ravel()
    new = sol.new_flows.ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(base > 0, 100.0 * (new / base - 1.0), np.nan)
    flows = pd.DataFrame(
        {
            "exporter": exp,
            "importer": imp,
            "value": new,
            "baseline_value": base,
            "change_pct": change,
        }
    )
    numeraire = (
        "world_output" if problem.numeraire is None else problem.countries[problem.numeraire]
    )
    settings = {
        "theta": problem.theta,
        "psi": problem.psi,
        "closure": problem.closure,
        "conditional": problem.conditional,
        "numeraire": numeraire,
        "method": sol.method if method == "anderson" else method,
    }
    return GEResult(
        countries=countries,
        flows=flows,
        converged=sol.converged,
        n_iter=sol.n_iter,
        residuals=dict(sol.residuals),
        settings=settings,
        description=description,
    )


def solve(
    flows: pd.DataFrame,
    partial_effects: pd.DataFrame | Scenario | None,
    theta: float | Mapping[str, float] | pd.Series,
    *,
    closure: Closure = "additive",
    psi: float = 0.0,
    tariffs: pd.DataFrame | None = None,
    conditional: bool = False,
    numeraire: str = "world_output",
    value: str = "value",
    tol: float = 1e-12,
    maxiter: int = 10_000,
    method: Literal["anderson", "damped"] = "anderson",
    production: pd.DataFrame | None = None,
    inputs: pd.DataFrame | None = None,
    deficits: Literal["fixed", "zero"] = "fixed",
) -> GEResult:
    """Solve the exact general-equilibrium counterfactual of structural gravity.

    One entry point for two models. Flows ``exporter, importer, value`` give the one-sector
    model (Armington-CES). Flows with a ``sector`` column give the multi-sector model with
    sector trade elasticities, tariffs and optional input-output links (Caliendo & Parro
    2015; :func:`ca_trade.ge.sectoral.solve`, ``docs/methods-ge.md`` section 10), of which the
    one-sector model is the special case with one sector and no intermediate inputs.

    Parameters
    ----------
    flows : pandas.DataFrame
        Baseline flows ``exporter, importer, value`` including every domestic flow ``X_ii``
        (duty-exclusive when `tariffs` are given). Missing pairs are zero flows. With a
        ``sector`` column (pandas or polars): duty-exclusive flows by exporter, importer and
        sector, with domestic sales (a row, possibly zero, for every country and sector).
    partial_effects : pandas.DataFrame, Scenario or None
        ``exporter, importer, effect``: change in log (duty-exclusive) trade the policy causes
        at constant resistances; missing pairs mean 0. A :class:`~ca_trade.ge.Scenario`
        brings its description and tariffs. None: no shock. Multi-sector model: a Scenario,
        or a frame ``exporter, importer[, sector]`` with ``new_tariff`` (fraction) and/or
        ``effect`` (non-tariff changes); rows without a sector apply to every sector; the
        trade effect of a tariff change is ``-theta_s * dln(1 + t)`` on gross shares.
    theta : float, mapping or pandas.Series
        Trade elasticity (> 0); ``sigma - 1`` under CES. Multi-sector model: one number or one
        elasticity per sector (``{sector: theta}`` or a Series indexed by sector).
    closure : {"additive", "multiplicative"}, default "additive"
        Trade imbalances fixed in levels (numeraire units), or as a share of income
        (one-sector model; the multi-sector model uses `deficits`).
    psi : float, default 0.0
        Supply elasticity: output quantity moves as ``(p_i / P_i) ** psi`` (universal gravity;
        one-sector model).
    tariffs : pandas.DataFrame, optional
        ``exporter, importer, baseline, counterfactual`` ad valorem tariffs (fractions); the
        revenue is spent by the importer (``E_j = Y_j + D_j + sum_i t_ij X_ij``).
        Multi-sector model: baseline tariffs ``exporter, importer, sector, tariff`` (fractions
        in [0, 10); missing cells are zero).
    conditional : bool, default False
        Conditional GE: output and expenditure held at baseline, only resistances adjust
        (one-sector model).
    numeraire : str, default "world_output"
        Keep world nominal output (multi-sector: world value added) constant, or fix the
        factory-gate price (the wage) of this country.
    value : str, default "value"
        Name of the flow column.
    tol : float, default 1e-12
        Stop when the largest change in log prices is below `tol`.
    maxiter : int, default 10000
        Iteration cap.
    method : {"anderson", "damped"}, default "anderson"
        Anderson acceleration (with damped fallback) or the damped iteration only (one-sector
        model).
    production : pandas.DataFrame, optional
        Multi-sector model: ``country, sector, value_added_share[, final_demand_share]``.
        Without it value-added shares are one (no intermediate inputs); without
        ``final_demand_share`` the shares are derived from the data (spending minus the
        intermediate use the input-output table implies).
    inputs : pandas.DataFrame, optional
        Multi-sector model: ``country, input_sector, sector, share``, the input sector's share
        of the sector's intermediate spending (summing to one over input sectors wherever the
        value-added share is below one).
    deficits : {"fixed", "zero"}, default "fixed"
        Multi-sector model: trade deficits fixed in levels, or the two-step comparison of
        Caliendo & Parro (both the baseline and the counterfactual re-solved without
        deficits; results relative to the re-solved baseline).

    Returns
    -------
    GEResult
        Per-country ratios (new/old) and ``*_pct`` changes, new flows, diagnostics. The
        multi-sector model returns a :class:`~ca_trade.ge.sectoral.SectoralGEResult` (with
        ``.sectors`` and ``.welfare_decomposition()``).

    Raises
    ------
    MissingDomesticFlowsError
        If some country has no domestic flow.
    GEError
        If there are no flows; if a partial effect overflows ``exp()``; if the solution does
        not meet the residual check (1e-10 relative), has an outcome that is not finite and
        positive (theta far below its usual range, or a huge shock), or (additive imbalances)
        leaves some country with non-positive income. A result is only ever returned
        converged, with finite outcomes.
    SpecificationError
        If an option of one model is given to the other.

    Examples
    --------
    >>> import pandas as pd
    >>> import ca_trade.ge as ge
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "value": [8.0, 2.0, 2.0, 8.0]})
    >>> pe = pd.DataFrame({"exporter": ["A", "B"], "importer": ["B", "A"], "effect": [0.2, 0.2]})
    >>> r = ge.solve(f, pe, theta=4)
    >>> round(float(r.countries.loc["A", "welfare_pct"]), 4)
    1.0891
    >>> r.residuals["market_clearing"] < 1e-10
    True
    """
    _validate_iteration(tol, maxiter)  # before any work (solve_problem checks again)
    if "sector" in getattr(flows, "columns", ()):
        _only_one_sector(closure=closure, psi=psi, conditional=conditional, method=method)
        sectoral = solve_sectoral(
            flows,
            partial_effects,
            theta,
            tariffs=tariffs,
            production=production,
            inputs=inputs,
            deficits=deficits,
            numeraire=numeraire,
            value=value,
            tol=tol,
            maxiter=maxiter,
        )
        return labelled(sectoral, flows)
    _only_sectoral(theta, partial_effects, production, inputs, deficits)
    theta_one = float(theta)  # type: ignore[arg-type]  # mappings were refused above
    _validate_scalars(theta_one, float(psi), closure, method)
    description = ""
    if isinstance(partial_effects, Scenario):
        description = partial_effects.description
        if tariffs is None:
            tariffs = partial_effects.tariffs
        pe_frame: pd.DataFrame | None = partial_effects.effects
    else:
        pe_frame = partial_effects
    problem = prepare(
        flows,
        theta_one,
        closure=closure,
        psi=psi,
        tariffs=tariffs,
        conditional=conditional,
        numeraire=numeraire,
        value=value,
    )
    log_b = pair_matrix(pe_frame, problem.countries, "effect", "partial_effects")
    sol = solve_problem(problem, log_b, tol=tol, maxiter=maxiter, method=method)
    if not sol.converged:
        raise GEError(sol.failure())
    return labelled(to_result(problem, sol, method, description), flows)


def _only_one_sector(**options: Any) -> None:
    defaults = {"closure": "additive", "psi": 0.0, "conditional": False, "method": "anderson"}
    given = sorted(k for k, v in options.items() if v != defaults[k])
    if given:
        raise SpecificationError(
            f"{given} belong to the one-sector model; the flows have a sector column, so the "
            "multi-sector model is solved (trade deficits: `deficits='fixed'` or 'zero')."
        )


def _only_sectoral(theta: Any, changes: Any, production: Any, inputs: Any, deficits: str) -> None:
    given = [
        name
        for name, used in (
            ("production", production is not None),
            ("inputs", inputs is not None),
            ("deficits", deficits != "fixed"),
            ("theta by sector", isinstance(theta, (Mapping, pd.Series))),
        )
        if used
    ]
    if isinstance(changes, Scenario) and (changes.by_sector or changes.revenue_pools):
        given.append("a scenario with sectors or revenue pools")
    if isinstance(changes, pd.DataFrame) and {"sector", "new_tariff"} & set(changes.columns):
        given.append("changes by sector or with new tariffs")
    if given:
        raise SpecificationError(
            f"{given} need the multi-sector model: give the flows a `sector` column (a single "
            "sector, e.g. 'TOTAL', reproduces the one-sector model)."
        )


def solve_both(
    flows: pd.DataFrame,
    partial_effects: pd.DataFrame | Scenario | None,
    theta: float,
    **kwargs: object,
) -> GEComparison:
    """Solve the conditional and the full-endowment GE of one scenario, side by side.

    Parameters
    ----------
    flows, partial_effects, theta
        As in :func:`solve`.
    **kwargs
        Further keywords of :func:`solve` except `conditional`.

    Returns
    -------
    GEComparison
        ``.conditional`` and ``.full`` results and ``.table()``.

    Examples
    --------
    >>> import pandas as pd
    >>> import ca_trade.ge as ge
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "value": [8.0, 2.0, 2.0, 8.0]})
    >>> pe = pd.DataFrame({"exporter": ["A"], "importer": ["B"], "effect": [0.3]})
    >>> both = ge.solve_both(f, pe, 4)
    >>> both.conditional.settings["conditional"], both.full.settings["conditional"]
    (True, False)
    """
    if "conditional" in kwargs:
        raise SpecificationError("solve_both solves both cases; do not pass `conditional`.")
    cond = solve(flows, partial_effects, theta, conditional=True, **kwargs)  # type: ignore[arg-type]
    full = solve(flows, partial_effects, theta, conditional=False, **kwargs)  # type: ignore[arg-type]
    return GEComparison(conditional=cond, full=full)
