r"""Parametric confidence intervals for the multi-sector GE.

Draws of the sector trade elasticities :math:`\theta_s` and of the scenario's coefficients.

Draw *k* takes the scenario's coefficients that appear in the covariance matrix jointly from
:math:`N(\hat\beta, \hat V)` and each sector elasticity with a standard error independently
from :math:`N(\hat\theta_s, se_s^2)` (Caliendo & Parro estimate the :math:`\theta_s` sector by
sector), rebuilds the partial effects and re-solves (the zero-deficit baseline too, as it
depends on :math:`\theta`). Its generator is spawned from ``SeedSequence(seed)``, so results do
not depend on the executor that runs the draws (:mod:`ca_trade.executors`). A draw with a
non-positive elasticity or a failed solution is counted and reported, never dropped silently.
:func:`ca_trade.ge.parametric_draws` calls :func:`parametric_draws` when the flows have a
``sector`` column.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ca_trade._typing import EstimationResult
from ca_trade.exceptions import CaTradeError, GEError, SpecificationError
from ca_trade.executors import ExecutorLike, executor_for
from ca_trade.ge.results import UncertaintyResult
from ca_trade.ge.scenario import Scenario
from ca_trade.ge.sectoral.changes import regressor_arrays
from ca_trade.ge.sectoral.inputs import FlowCube
from ca_trade.ge.sectoral.problem import SectoralProblem
from ca_trade.ge.sectoral.results import SECTORAL_RATIO_COLUMNS
from ca_trade.ge.sectoral.solve import country_ratios, prepare, solve_problem, to_result

__all__ = ["parametric_draws"]

_Outcome = tuple[int, np.ndarray | None, np.ndarray | None, str]


def _covariance(
    result: EstimationResult | None, vcov: Any, names: list[str]
) -> pd.DataFrame | None:
    if vcov is None and result is not None:
        vcov = result.vcov
    if vcov is None:
        return None
    if isinstance(vcov, pd.DataFrame):
        return vcov
    arr = np.atleast_2d(np.asarray(vcov, dtype=float))
    if arr.shape != (len(names), len(names)):
        raise SpecificationError(
            f"vcov is {arr.shape}; without labels it must be {len(names)}x{len(names)} in the "
            f"order {names}."
        )
    return pd.DataFrame(arr, index=names, columns=names)


def _theta_se(theta_se: Any, sectors: tuple[str, ...]) -> np.ndarray:
    if theta_se is None:
        return np.zeros(len(sectors))
    if isinstance(theta_se, (Mapping, pd.Series)):
        given = {str(k): v for k, v in dict(theta_se).items()}
        extra = sorted(set(given) - set(sectors))
        if extra:
            raise SpecificationError(f"theta_se names sectors that are not in the flows: {extra}.")
        raw = [given.get(s, 0.0) for s in sectors]
    else:
        raw = [theta_se] * len(sectors)
    se = np.array([float(v) for v in raw])
    if not (np.isfinite(se).all() and (se >= 0).all()):
        raise SpecificationError(f"theta_se must be non-negative numbers, got {theta_se!r}.")
    return se


@dataclass(frozen=True)
class _Job:
    problem: SectoralProblem
    changes: dict[str, np.ndarray]
    cells: np.ndarray
    tol: float
    maxiter: int
    x0: np.ndarray


def _solve_draws(
    job: _Job, draws: list[tuple[int, dict[str, float], np.ndarray]]
) -> list[_Outcome]:
    out: list[_Outcome] = []
    for k, coef, theta in draws:
        try:
            if not (theta > 0).all():
                bad = int(np.flatnonzero(~(theta > 0))[0])
                raise CaTradeError(
                    f"drawn theta {theta[bad]:.4g} of sector {job.problem.sectors[bad]!r} is "
                    "not positive"
                )
            effect = np.zeros_like(job.problem.flows)
            for reg, mat in job.changes.items():
                effect += float(coef[reg]) * mat
            problem = replace(job.problem, theta=theta, log_effect=effect)
            sol = solve_problem(problem, tol=job.tol, maxiter=job.maxiter, x0=job.x0)
            if not sol.converged:
                raise CaTradeError(sol.failure())
            ratios = country_ratios(problem, sol)
            table = np.column_stack([ratios[c] for c in SECTORAL_RATIO_COLUMNS])
            old = sol.baseline.flows.ravel()[job.cells]
            new = sol.equilibrium.flows.ravel()[job.cells]
            flow = (100.0 * (new / old - 1.0)).astype(np.float32)
            out.append((k, 100.0 * (table - 1.0), flow, ""))
        except (CaTradeError, FloatingPointError, np.linalg.LinAlgError, ValueError) as exc:
            out.append((k, None, None, f"{type(exc).__name__}: {exc}"))
    return out


def _run(
    job: _Job, coefs: list[tuple[int, dict[str, float], np.ndarray]], executor: ExecutorLike
) -> list[_Outcome]:
    """Solve the draws in chunks on the executor (the common job sent once); sorted by draw."""
    with executor_for(executor, n_tasks=len(coefs)) as ex:
        n_chunks = max(1, min(len(coefs), 4 * ex.workers))
        chunks = [coefs[i::n_chunks] for i in range(n_chunks) if coefs[i::n_chunks]]
        results = ex.map(_solve_draws, chunks, shared=job, fork_safe=True)
    return sorted((r for chunk in results for r in chunk), key=lambda r: r[0])


def _summarise(
    point: Any,
    outcomes: list[_Outcome],
    cells: np.ndarray,
    coef_rows: list[dict[str, float]],
    *,
    alpha: float,
    seed: int,
) -> UncertaintyResult:
    failures = {k: msg for k, _, _, msg in outcomes if msg}
    good = [(k, r, f) for k, r, f, msg in outcomes if r is not None and f is not None and not msg]
    pct = [f"{c}_pct" for c in SECTORAL_RATIO_COLUMNS]
    countries = point.countries[pct].copy()
    n = len(countries)
    lo_q, hi_q = 100 * alpha / 2, 100 * (1 - alpha / 2)
    flo = np.full(len(point.flows), np.nan)
    fhi = np.full(len(point.flows), np.nan)
    if good:
        stack = np.stack([r for _, r, _ in good])
        flows = np.stack([f for _, _, f in good]).astype(float)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (no revenue)
            lo = np.nanpercentile(stack, lo_q, axis=0)
            hi = np.nanpercentile(stack, hi_q, axis=0)
            sd = np.nanstd(stack, axis=0, ddof=1) if len(good) > 1 else np.full_like(lo, np.nan)
            flo[cells] = np.nanpercentile(flows, lo_q, axis=0)
            fhi[cells] = np.nanpercentile(flows, hi_q, axis=0)
    else:
        lo = hi = sd = np.full((n, len(pct)), np.nan)
    for k, col in enumerate(pct):
        countries[f"{col}_lo"] = lo[:, k]
        countries[f"{col}_hi"] = hi[:, k]
        countries[f"{col}_se"] = sd[:, k]
    flow_frame = point.flows[["exporter", "importer", "sector", "change_pct"]].copy()
    flow_frame["change_pct_lo"] = flo
    flow_frame["change_pct_hi"] = fhi
    names = list(countries.index)
    long = [pd.DataFrame(r, columns=pct).assign(draw=k, country=names) for k, r, _ in good]
    draws = (
        pd.concat(long, ignore_index=True)[["draw", "country", *pct]]
        if long
        else pd.DataFrame(columns=["draw", "country", *pct])
    )
    coef_frame = pd.DataFrame(coef_rows)
    coef_frame.insert(0, "draw", range(len(coef_rows)))
    coef_frame["failed"] = coef_frame["draw"].isin(list(failures))
    return UncertaintyResult(
        point=point,
        countries=countries,
        flows=flow_frame,
        draws=draws,
        coefficients=coef_frame,
        n_draws=len(coef_rows),
        n_failed=len(failures),
        failures=[f"draw {k}: {failures[k]}" for k in sorted(failures)],
        method="parametric",
        alpha=alpha,
        seed=seed,
    )


def parametric_draws(
    flows: Any,
    scenario: Scenario,
    theta: Any,
    *,
    result: EstimationResult | None = None,
    vcov: Any = None,
    theta_se: Any = None,
    n_draws: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    executor: ExecutorLike = None,
    tol: float = 1e-12,
    maxiter: int = 2000,
    **solve_kwargs: Any,
) -> UncertaintyResult:
    r"""Parametric confidence intervals of the multi-sector GE.

    Parameters
    ----------
    flows : DataFrame-like
        Baseline flows with a ``sector`` column (as in :func:`ca_trade.ge.solve`).
    scenario : Scenario
        The policy; its coefficients are the point estimates.
    theta : float, mapping or pandas.Series
        Point elasticities by sector.
    result, vcov
        Covariance of the scenario's coefficients (as in
        :func:`ca_trade.ge.parametric_draws`); optional when `theta_se` is given.
    theta_se : float, mapping or pandas.Series, optional
        Standard errors of the elasticities (one number, or per sector; sectors not named are
        held fixed).
    n_draws, alpha, seed, executor, tol, maxiter
        As in :func:`ca_trade.ge.parametric_draws`.
    **solve_kwargs
        ``tariffs``, ``production``, ``inputs``, ``deficits``, ``numeraire``, ``value``.

    Returns
    -------
    UncertaintyResult
        Point solution, intervals by country and flow, draws and failures.

    Examples
    --------
    >>> import pandas as pd
    >>> import ca_trade.ge as ge
    >>> f = pd.DataFrame({"exporter": list("AABB") * 2, "importer": list("ABAB") * 2,
    ...                   "sector": ["S1"] * 4 + ["S2"] * 4,
    ...                   "value": [8.0, 2.0, 2.0, 8.0, 5.0, 1.0, 2.0, 6.0]})
    >>> u = parametric_draws(f, ge.agreement(["A", "B"], 0.3), {"S1": 4.0, "S2": 6.0},
    ...                      vcov=[[0.01]], theta_se={"S1": 0.5}, n_draws=20)
    >>> u.n_draws, u.n_failed, "theta[S1]" in u.coefficients
    (20, 0, True)
    """
    if n_draws < 2:
        raise SpecificationError(f"n_draws must be >= 2, got {n_draws}.")
    if not 0 < alpha < 1:
        raise SpecificationError(f"alpha must be in (0, 1), got {alpha}.")
    allowed = {"tariffs", "production", "inputs", "deficits", "numeraire", "value"}
    unknown = sorted(set(solve_kwargs) - allowed)
    if unknown:
        hint = (
            " n_jobs= was replaced by executor=: executor='processes' (one process per core) "
            "or executor=ca_trade.executors.Processes(max_workers=N)."
            if "n_jobs" in unknown
            else ""
        )
        raise SpecificationError(f"unknown keyword(s) {unknown}; allowed: {sorted(allowed)}.{hint}")
    problem = prepare(flows, scenario, theta, **solve_kwargs)
    names = scenario.regressors
    v = _covariance(result, vcov, names)
    drawn = [r for r in names if v is not None and r in v.index]
    se = _theta_se(theta_se, problem.sectors)
    if not drawn and not (se > 0).any():
        raise SpecificationError(
            f"nothing to draw: none of the scenario's coefficients {names} is in the covariance "
            "matrix and no theta_se is given."
        )
    mean = np.array([float(scenario.coefficients[r]) for r in drawn])
    cov = v.loc[drawn, drawn].to_numpy(dtype=float) if v is not None and drawn else np.zeros((0, 0))
    if drawn and (
        not np.allclose(cov, cov.T) or np.linalg.eigvalsh(cov).min() < -1e-12 * abs(cov).max()
    ):
        raise SpecificationError("vcov must be symmetric positive semi-definite.")
    point_sol = solve_problem(problem, tol=tol, maxiter=maxiter)
    if not point_sol.converged:
        raise GEError(f"the solution at the point estimates failed: {point_sol.failure()}")
    point = to_result(problem, point_sol, scenario.description)
    coefs: list[tuple[int, dict[str, float], np.ndarray]] = []
    rows: list[dict[str, float]] = []
    for k, child in enumerate(np.random.SeedSequence(seed).spawn(n_draws)):
        rng = np.random.default_rng(child)
        beta = rng.multivariate_normal(mean, cov, method="eigh") if drawn else np.zeros(0)
        th = np.where(se > 0, rng.normal(problem.theta, np.where(se > 0, se, 1.0)), problem.theta)
        coef = {**dict(scenario.coefficients), **dict(zip(drawn, beta.tolist()))}
        coefs.append((k, coef, th))
        rows.append({**coef, **{f"theta[{s}]": float(t) for s, t in zip(problem.sectors, th)}})
    grid = FlowCube(problem.countries, problem.sectors, problem.flows)
    changes = regressor_arrays(scenario, grid)
    cells = np.flatnonzero(point_sol.baseline.flows.ravel() > 0)
    x0 = point_sol.equilibrium.log_wage
    outcomes = _run(_Job(problem, changes, cells, tol, maxiter, x0), coefs, executor)
    return _summarise(point, outcomes, cells, rows, alpha=alpha, seed=seed)
