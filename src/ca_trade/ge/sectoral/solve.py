"""Entry points of the multi-sector GE: prepare, solve_problem, to_result and solve.

:func:`prepare` → :class:`SectoralProblem` → :func:`solve_problem` → :func:`to_result`, and
:func:`solve` doing all three.

:func:`ca_trade.ge.solve` calls :func:`solve` when the flows have a ``sector`` column.
The equations are in ``docs/methods-ge.md``, section 10.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from ca_trade.exceptions import (
    DataValidationError,
    DataValidationWarning,
    GEError,
    SpecificationError,
)
from ca_trade.ge.scenario import RevenuePool, Scenario
from ca_trade.ge.sectoral.changes import policy_arrays
from ca_trade.ge.sectoral.decomposition import decompose
from ca_trade.ge.sectoral.equilibrium import Equilibrium, Shock, solve_equilibrium
from ca_trade.ge.sectoral.inputs import FlowCube, flow_cube, theta_vector
from ca_trade.ge.sectoral.problem import BaselineAccounts, SectoralProblem, accounts
from ca_trade.ge.sectoral.results import (
    SECTOR_RATIO_COLUMNS,
    SECTORAL_RATIO_COLUMNS,
    SectoralGEResult,
)
from ca_trade.ge.sectoral.technology import equilibrium_gap, final_shares, technology

__all__ = ["GAP_TOL", "SectoralSolution", "prepare", "solve", "solve_problem", "to_result"]

#: Relative gap of the expenditure equations above which the data are not an equilibrium
#: of the model and the baseline is re-solved first.
GAP_TOL = 1e-9

Deficits = Literal["fixed", "zero"]


def prepare(
    flows: Any,
    changes: pd.DataFrame | Scenario | None,
    theta: Any,
    *,
    tariffs: Any = None,
    production: Any = None,
    inputs: Any = None,
    deficits: Deficits = "fixed",
    numeraire: str = "world_output",
    value: str = "value",
) -> SectoralProblem:
    """Validate the inputs of the multi-sector model once and return the array problem.

    Parameters
    ----------
    flows, changes, theta, tariffs, production, inputs, deficits, numeraire, value
        As in :func:`ca_trade.ge.solve` (flows with a ``sector`` column).

    Returns
    -------
    SectoralProblem
        The validated problem (final-demand shares derived from the data when
        `production` gives none).

    Warns
    -----
    DataValidationWarning
        When derived final demand is negative in some cells (set to zero): the data are then
        not an equilibrium of the model and :func:`solve_problem` re-solves the baseline.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "sector": ["S1"] * 4, "value": [8.0, 2.0, 2.0, 8.0]})
    >>> p = prepare(f, None, 4.0)
    >>> p.countries, p.sectors, p.flows.shape
    (('A', 'B'), ('S1',), (1, 2, 2))
    """
    if deficits not in ("fixed", "zero"):
        raise SpecificationError(f"deficits must be 'fixed' or 'zero', got {deficits!r}.")
    grid = flow_cube(flows, value=value)
    th = theta_vector(theta, grid.sectors)
    tech = technology(production, inputs, grid)
    policy = policy_arrays(changes, tariffs, grid)
    final = tech.final_share
    if final is None:
        final, clipped = final_shares(grid.values, policy.tariff0, tech, grid)
        if clipped:
            warnings.warn(
                f"final demand implied by the data is negative in {len(clipped)} country/sector "
                f"cell(s) ({clipped[:5]}{' ...' if len(clipped) > 5 else ''}): the input-output "
                "table asks for more intermediate inputs than the country buys. Their "
                "final-demand shares are set to zero, so the data are not an equilibrium of "
                "the model; the baseline is re-solved and results are relative to it.",
                DataValidationWarning,
                stacklevel=4,  # the caller of ca_trade.ge.solve
            )
    equilibrium_gap(grid.values, policy.tariff0, tech, final, grid)  # refuses idle sectors
    va = np.einsum("ns,sn->n", tech.va_share, grid.values.sum(axis=2))
    if not (va > 0).all():
        lack = [grid.countries[k] for k in np.flatnonzero(~(va > 0))]
        raise DataValidationError(
            f"countries {lack} have no value added (output times value_added_share is zero in "
            "every sector); the model needs a positive wage bill in every country."
        )
    return SectoralProblem(
        countries=grid.countries,
        sectors=grid.sectors,
        flows=grid.values,
        tariff0=policy.tariff0,
        tariff1=policy.tariff1,
        log_effect=policy.log_effect,
        theta=th,
        va_share=tech.va_share,
        io=tech.io,
        final_share=final,
        pools=_pools(policy.pools, grid),
        deficits=deficits,
        numeraire=_numeraire(numeraire, grid),
    )


def _pools(pools: tuple[RevenuePool, ...], grid: FlowCube) -> tuple[RevenuePool, ...]:
    for pool in pools:
        unknown = [c for c in pool.members if c not in grid.countries]
        if unknown:
            raise SpecificationError(
                f"the revenue pool names countries that are not in the flows: {unknown}."
            )
    return pools


def _numeraire(numeraire: str, grid: FlowCube) -> int | None:
    if numeraire == "world_output":
        return None
    if numeraire in grid.countries:
        return grid.countries.index(numeraire)
    raise SpecificationError(
        f"numeraire must be 'world_output' (world value added constant) or a country of the "
        f"flows, got {numeraire!r}."
    )


def expenditure_gap(problem: SectoralProblem, acc: BaselineAccounts) -> float:
    """Largest relative gap of the expenditure equations at the problem's baseline.

    Parameters
    ----------
    problem : SectoralProblem
        The problem.
    acc : BaselineAccounts
        Its accounts.

    Returns
    -------
    float
        Zero (to rounding) when the baseline is an equilibrium of the model.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "sector": ["S1"] * 4, "value": [8.0, 2.0, 2.0, 8.0]})
    >>> p = prepare(f, None, 4.0)
    >>> expenditure_gap(p, accounts(p)) < 1e-15
    True
    """
    gm = problem.io * (1.0 - problem.va_share)[:, None, :]
    demand = np.einsum("nsk,kn->sn", gm, acc.output) + problem.final_share.T * acc.income
    return float(np.max(np.abs(acc.spending - demand).sum(axis=0) / acc.spending.sum(axis=0)))


@dataclass(frozen=True)
class SectoralSolution:
    """The arrays of a solved problem (internal; :func:`to_result` makes the result).

    Attributes
    ----------
    baseline : SectoralProblem
        The problem whose flows are the baseline of the ratios (the data, or the re-solved
        baseline).
    accounts : BaselineAccounts
        Its accounts.
    equilibrium : Equilibrium
        The counterfactual (or, when re-solving the baseline failed, that attempt).
    label : str
        Which baseline the ratios are relative to.
    stage : str
        ``"counterfactual"``, or ``"baseline"`` when re-solving the baseline failed.
    baseline_iterations : int
        Iterations spent re-solving the baseline (0 when the data are the baseline).
    """

    baseline: SectoralProblem
    accounts: BaselineAccounts
    equilibrium: Equilibrium
    label: str
    stage: str = "counterfactual"
    baseline_iterations: int = 0

    @property
    def converged(self) -> bool:
        """Whether both steps converged and passed the residual check."""
        return self.stage == "counterfactual" and self.equilibrium.converged

    def failure(self) -> str:
        """Explain why the solution was rejected (empty when it was accepted)."""
        if self.converged:
            return ""
        what = "re-solving the baseline" if self.stage == "baseline" else "the counterfactual"
        return f"{what}: {self.equilibrium.failure()}"


def solve_problem(
    problem: SectoralProblem,
    *,
    tol: float = 1e-12,
    maxiter: int = 2000,
    x0: np.ndarray | None = None,
) -> SectoralSolution:
    """Solve a prepared problem: re-solve the baseline where needed, then the counterfactual.

    With ``deficits="zero"`` the baseline is first re-solved without trade deficits (no other
    change) and the counterfactual, also without deficits, is compared with it (Caliendo &
    Parro 2015, section 4). With fixed deficits the data are the baseline, unless they are not
    an equilibrium of the model (expenditure gap above :data:`GAP_TOL`), in which case the
    baseline is re-solved with the data's deficits first.

    Parameters
    ----------
    problem : SectoralProblem
        From :func:`prepare`.
    tol, maxiter
        As in :func:`ca_trade.ge.solve`.
    x0 : numpy.ndarray, optional
        Starting log wages of the counterfactual step.

    Returns
    -------
    SectoralSolution
        Baseline and counterfactual arrays.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "sector": ["S1"] * 4, "value": [8.0, 2.0, 3.0, 7.0]})
    >>> sol = solve_problem(prepare(f, None, 4.0, deficits="zero"))
    >>> sol.label, sol.converged
    ('zero deficits (re-solved)', True)
    """
    acc = accounts(problem)
    n, zero = problem.n, problem.deficits == "zero"
    target = np.zeros(n) if zero else acc.deficit
    base, base_acc, label, pre_iter = problem, acc, "data", 0
    if zero or expenditure_gap(problem, acc) > GAP_TOL:
        still = Shock(np.zeros_like(problem.flows), problem.tariff0, np.eye(n), target)
        pre = solve_equilibrium(problem, acc, still, tol=tol, maxiter=maxiter)
        if not pre.converged:
            return SectoralSolution(problem, acc, pre, "data", stage="baseline")
        base = replace(problem, flows=pre.flows)
        base_acc = accounts(base)
        pre_iter = pre.n_iter
        label = (
            "zero deficits (re-solved)"
            if zero
            else "re-solved (the data are not an equilibrium of the model)"
        )
    log_tariff = np.log1p(problem.tariff1) - np.log1p(problem.tariff0)
    shift = problem.log_effect - problem.theta[:, None, None] * log_tariff
    shock = Shock(shift, problem.tariff1, problem.transfer_matrix(), target)
    eq = solve_equilibrium(base, base_acc, shock, tol=tol, maxiter=maxiter, x0=x0)
    return SectoralSolution(base, base_acc, eq, label, baseline_iterations=pre_iter)


def _ratio(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(old != 0, new / np.where(old != 0, old, 1.0), np.nan)


def country_ratios(problem: SectoralProblem, sol: SectoralSolution) -> dict[str, np.ndarray]:
    """Per-country ratios (new/old) of :data:`SECTORAL_RATIO_COLUMNS`.

    Parameters
    ----------
    problem : SectoralProblem
        The problem (its final-demand shares weight the consumer price index).
    sol : SectoralSolution
        The solution.

    Returns
    -------
    dict of str to numpy.ndarray
        One ``(N,)`` array per ratio.
    """
    eq, acc = sol.equilibrium, sol.accounts
    old, new = sol.baseline.flows, eq.flows
    wage = np.exp(eq.log_wage)
    price = np.exp(np.einsum("ns,sn->n", problem.final_share, eq.log_price))
    income = eq.income / acc.income
    off = ~np.eye(problem.n, dtype=bool)[None, :, :]
    return {
        "welfare": income / price,
        "real_wage": wage / price,
        "real_gdp": wage / price,
        "wage": wage,
        "price_index": price,
        "income": income,
        "output": eq.output.sum(axis=0) / acc.output.sum(axis=0),
        "expenditure": eq.spending.sum(axis=0) / acc.spending.sum(axis=0),
        "exports": _ratio((new * off).sum(axis=(0, 2)), (old * off).sum(axis=(0, 2))),
        "imports": _ratio((new * off).sum(axis=(0, 1)), (old * off).sum(axis=(0, 1))),
        "domestic": np.einsum("snn->n", new) / np.einsum("snn->n", old),
        "tariff_revenue": _ratio(eq.revenue, acc.revenue),
    }


def _sector_frame(problem: SectoralProblem, sol: SectoralSolution) -> pd.DataFrame:
    eq, acc = sol.equilibrium, sol.accounts
    old, new = sol.baseline.flows, eq.flows
    off = ~np.eye(problem.n, dtype=bool)[None, :, :]
    ratios = {
        "output": _ratio(eq.output, acc.output),
        "unit_cost": np.exp(eq.log_cost),
        "price_index": np.exp(eq.log_price),
        "expenditure": _ratio(eq.spending, acc.spending),
        "exports": _ratio((new * off).sum(axis=2), (old * off).sum(axis=2)),
        "imports": _ratio((new * off).sum(axis=1), (old * off).sum(axis=1)),
        "domestic": _ratio(np.einsum("snn->sn", new), np.einsum("snn->sn", old)),
    }
    index = pd.MultiIndex.from_product(
        [problem.countries, problem.sectors], names=["country", "sector"]
    )
    frame = pd.DataFrame({k: ratios[k].T.ravel() for k in SECTOR_RATIO_COLUMNS}, index=index)
    for col in SECTOR_RATIO_COLUMNS:
        frame[f"{col}_pct"] = 100.0 * (frame[col] - 1.0)
    frame["baseline_output"] = acc.output.T.ravel()
    frame["new_output"] = eq.output.T.ravel()
    return frame


def _flow_frame(problem: SectoralProblem, sol: SectoralSolution) -> pd.DataFrame:
    s, n = problem.n_sectors, problem.n
    cs = np.array(problem.countries, dtype=object)
    base = sol.baseline.flows.ravel()
    new = sol.equilibrium.flows.ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(base > 0, 100.0 * (new / base - 1.0), np.nan)
    return pd.DataFrame(
        {
            "exporter": np.tile(np.repeat(cs, n), s),
            "importer": np.tile(cs, s * n),
            "sector": np.repeat(np.array(problem.sectors, dtype=object), n * n),
            "value": new,
            "baseline_value": base,
            "change_pct": change,
            "tariff": problem.tariff0.ravel(),
            "new_tariff": problem.tariff1.ravel(),
        }
    )


def to_result(
    problem: SectoralProblem, sol: SectoralSolution, description: str = ""
) -> SectoralGEResult:
    """Turn a solution into a :class:`SectoralGEResult` (tables by country, sector, flow).

    Parameters
    ----------
    problem : SectoralProblem
        The problem that was solved.
    sol : SectoralSolution
        Its solution.
    description : str, default ""
        Scenario description.

    Returns
    -------
    SectoralGEResult
        The result.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "sector": ["S1"] * 4, "value": [8.0, 2.0, 3.0, 7.0]})
    >>> p = prepare(f, None, 4.0)
    >>> to_result(p, solve_problem(p)).countries.shape
    (2, 24)
    """
    ratios = country_ratios(problem, sol)
    idx = pd.Index(list(problem.countries), name="country")
    countries = pd.DataFrame({k: ratios[k] for k in SECTORAL_RATIO_COLUMNS}, index=idx)
    for col in SECTORAL_RATIO_COLUMNS:
        countries[f"{col}_pct"] = 100.0 * (countries[col] - 1.0)
    eq, acc = sol.equilibrium, sol.accounts
    by_country, by_sector = decompose(
        countries=problem.countries,
        sectors=problem.sectors,
        flows=sol.baseline.flows,
        new_flows=eq.flows,
        tariff=problem.tariff0,
        log_effect=problem.log_effect,
        theta=problem.theta,
        log_cost=eq.log_cost,
        income=acc.income,
        pooling=eq.revenue - eq.own_revenue,
        exact=countries["welfare_pct"].to_numpy(),
    )
    numeraire = (
        "world_output" if problem.numeraire is None else problem.countries[problem.numeraire]
    )
    settings = {
        "theta": dict(zip(problem.sectors, problem.theta.tolist())),
        "deficits": problem.deficits,
        "baseline": sol.label,
        "baseline_iterations": sol.baseline_iterations,
        "numeraire": numeraire,
        "n_sectors": problem.n_sectors,
        "input_output": bool(np.any(problem.va_share < 1.0)),
        "revenue_pools": [dict(zip(p.members, p.quotas)) for p in problem.pools],
        "method": eq.method,
    }
    return SectoralGEResult(
        countries=countries,
        flows=_flow_frame(problem, sol),
        converged=sol.converged,
        n_iter=eq.n_iter,
        residuals=dict(eq.residuals),
        settings=settings,
        description=description,
        sectors=_sector_frame(problem, sol),
        decomposition=by_country,
        sector_decomposition=by_sector,
    )


def solve(
    flows: Any,
    changes: pd.DataFrame | Scenario | None,
    theta: Any,
    *,
    tariffs: Any = None,
    production: Any = None,
    inputs: Any = None,
    deficits: Deficits = "fixed",
    numeraire: str = "world_output",
    value: str = "value",
    tol: float = 1e-12,
    maxiter: int = 2000,
) -> SectoralGEResult:
    """Solve the multi-sector GE counterfactual (called by :func:`ca_trade.ge.solve`).

    Parameters
    ----------
    flows, changes, theta, tariffs, production, inputs, deficits, numeraire, value, tol, maxiter
        As in :func:`ca_trade.ge.solve`.

    Returns
    -------
    SectoralGEResult
        Ratios by country, by country and sector, new flows, decomposition, diagnostics.

    Raises
    ------
    GEError
        If an equilibrium fails its residual check.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "sector": ["S1"] * 4, "value": [8.0, 2.0, 2.0, 8.0]})
    >>> cut = pd.DataFrame({"exporter": ["A"], "importer": ["B"], "sector": ["S1"],
    ...                     "effect": [0.2]})
    >>> r = solve(f, cut, 4.0)
    >>> bool(r.countries.loc["A", "welfare"] > 1)
    True
    """
    description = changes.description if isinstance(changes, Scenario) else ""
    problem = prepare(
        flows,
        changes,
        theta,
        tariffs=tariffs,
        production=production,
        inputs=inputs,
        deficits=deficits,
        numeraire=numeraire,
        value=value,
    )
    sol = solve_problem(problem, tol=tol, maxiter=maxiter)
    if not sol.converged:
        raise GEError(sol.failure())
    return to_result(problem, sol, description)
