r"""Confidence intervals for GE counterfactuals: parametric draws and the pairs bootstrap.

*Parametric*: draw the scenario's coefficients from :math:`N(\hat\beta, \hat V)`, rebuild
the partial effects and re-solve. *Pairs bootstrap*: resample country pairs (clusters) with
replacement, re-estimate the gravity equation, rebuild the effects and re-solve. Percentile
intervals are reported for every per-country change and every pair's flow change.

Reproducibility: draw *k* uses its own generator spawned from ``numpy.random.SeedSequence(seed)``,
so results do not depend on the executor (serial, local processes or a Dask cluster:
:mod:`ca_trade.executors`) or on how draws are split among its workers. Draws whose
solution fails (no convergence, residual check, an outcome that is not finite, estimation
error) are counted and reported in ``failures``, left out of the intervals and announced by
one :class:`~ca_trade.exceptions.ConvergenceWarning` with their count; they are never averaged
in. When every draw fails there are no intervals: :class:`~ca_trade.exceptions.GEError`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ca_trade._typing import EstimationResult
from ca_trade.exceptions import CaTradeError, ConvergenceWarning, GEError, SpecificationError
from ca_trade.executors import Executor, ExecutorLike, executor_for
from ca_trade.ge._inputs import pair_matrix
from ca_trade.ge.results import RATIO_COLUMNS, GEResult, UncertaintyResult, labelled
from ca_trade.ge.scenario import Scenario
from ca_trade.ge.sectoral.uncertainty import parametric_draws as sectoral_parametric_draws
from ca_trade.ge.solver import Problem, prepare, solve_problem, to_result

__all__ = ["UncertaintyResult", "pairs_bootstrap", "parametric_draws"]

Estimator = Callable[[pd.DataFrame], Mapping[str, float]]
_T = TypeVar("_T")
_J = TypeVar("_J")
_R = TypeVar("_R", bound=tuple[Any, ...])


def _vcov_frame(result: EstimationResult | None, vcov: Any, names: Sequence[str]) -> pd.DataFrame:
    if vcov is None and result is not None:
        vcov = result.vcov
    if vcov is None:
        raise SpecificationError(
            "parametric draws need a covariance matrix: pass `result` (with vcov) or `vcov`."
        )
    if not isinstance(vcov, pd.DataFrame):
        arr = np.atleast_2d(np.asarray(vcov, dtype=float))
        if arr.shape != (len(names), len(names)):
            raise SpecificationError(
                f"vcov is {arr.shape}; without labels it must be {len(names)}x{len(names)} in "
                f"the order {list(names)}."
            )
        vcov = pd.DataFrame(arr, index=list(names), columns=list(names))
    return vcov


def _change_matrices(scenario: Scenario, countries: tuple[str, ...]) -> dict[str, np.ndarray]:
    out = {}
    for reg in scenario.regressors:
        frame = scenario.changes[["exporter", "importer", reg]]
        out[reg] = pair_matrix(frame, countries, reg, f"scenario change {reg!r}")
    return out


def _log_b(changes: Mapping[str, np.ndarray], coef: Mapping[str, float], n: int) -> np.ndarray:
    """Log partial effects ``sum_r coef[r] * change_r`` of one set of coefficients."""
    log_b = np.zeros((n, n))
    for reg, mat in changes.items():
        log_b += float(coef[reg]) * mat
    return log_b


def _point_solution(
    problem: Problem,
    changes: Mapping[str, np.ndarray],
    scenario: Scenario,
    theta_from: str | None,
    tol: float,
    maxiter: int,
) -> tuple[GEResult, np.ndarray]:
    """Solve at the point estimates; return the result and its log prices (warm start)."""
    point_problem = problem
    if theta_from is not None:
        point_problem = replace(problem, theta=-float(scenario.coefficients[theta_from]) - 1.0)
    log_b = _log_b(changes, scenario.coefficients, problem.n)
    point_sol = solve_problem(point_problem, log_b, tol=tol, maxiter=maxiter)
    if not point_sol.converged:
        raise GEError(f"the solution at the point estimates failed: {point_sol.failure()}")
    point = to_result(point_problem, point_sol, "anderson", scenario.description)
    return point, point_sol.log_price


def _chunks(items: list[_T], workers: int) -> list[list[_T]]:
    """Split items round-robin into at most ``4 * workers`` non-empty chunks."""
    n_chunks = max(1, min(len(items), 4 * max(workers, 1)))
    return [items[i::n_chunks] for i in range(n_chunks) if items[i::n_chunks]]


def _map_sorted(
    fn: Callable[[_J, list[_T]], list[_R]], job: _J, items: list[_T], executor: Executor
) -> list[_R]:
    """Run `fn` on chunks of `items` (the common `job` sent once); results sorted by draw."""
    chunks = _chunks(items, executor.workers)
    results = executor.map(fn, chunks, shared=job, fork_safe=True)
    return sorted((r for chunk in results for r in chunk), key=lambda r: r[0])


@dataclass(frozen=True)
class _Job:
    problem: Problem
    changes: dict[str, np.ndarray]
    theta_from: str | None
    theta_offset: float
    tol: float
    maxiter: int
    x0: np.ndarray | None = None


def _solve_draws(
    job: _Job, draws: list[tuple[int, dict[str, float]]]
) -> list[tuple[int, np.ndarray | None, np.ndarray | None, str]]:
    out: list[tuple[int, np.ndarray | None, np.ndarray | None, str]] = []
    for k, coef in draws:
        try:
            problem = job.problem
            if job.theta_from is not None:
                theta = -coef[job.theta_from] - job.theta_offset
                if not theta > 0:
                    raise CaTradeError(f"implied theta {theta:.4g} is not positive")
                problem = replace(problem, theta=theta)
            log_b = _log_b(job.changes, coef, problem.n)
            sol = solve_problem(problem, log_b, tol=job.tol, maxiter=job.maxiter, x0=job.x0)
            if not sol.converged:
                raise CaTradeError(sol.failure())
            ratios = np.column_stack([sol.ratios[c] for c in RATIO_COLUMNS])
            with np.errstate(all="ignore"):
                flow = 100.0 * (sol.new_flows / problem.flows - 1.0)
                pct = 100.0 * (ratios - 1.0)
            out.append((k, pct, flow.ravel(), _nonfinite_draw(pct, flow, problem.flows)))
        except (CaTradeError, FloatingPointError, np.linalg.LinAlgError, ValueError) as exc:
            out.append((k, None, None, f"{type(exc).__name__}: {exc}"))
    return out


def _nonfinite_draw(pct: np.ndarray, flow: np.ndarray, base: np.ndarray) -> str:
    """Why a solved draw's outcomes cannot enter the intervals ("" when they can).

    Percent changes must be finite, except exports and imports of a country without
    baseline trade (undefined) and flows of pairs without baseline trade.
    """
    undefined = np.zeros_like(pct, dtype=bool)
    for col in ("exports", "imports"):
        k = RATIO_COLUMNS.index(col)
        undefined[:, k] = np.isnan(pct[:, k])
    bad = ~np.isfinite(pct) & ~undefined
    bad_flow = ~np.isfinite(flow) & (base > 0)
    if not (bad.any() or bad_flow.any()):
        return ""
    return (
        f"{int(bad.sum() + bad_flow.sum())} percent change(s) are not finite "
        "(outcomes too large for double precision)"
    )


def _nanstd(stack: np.ndarray) -> np.ndarray:
    """Return the standard deviation over draws (axis 0, ddof 1) without overflow.

    Columns with outcomes so large that their squares overflow (beyond 1e150) are scaled
    first; the others are computed as they are.
    """
    scale = np.nanmax(np.abs(stack), axis=0)
    scale = np.where(np.isfinite(scale) & (scale > 1e150), scale, 1.0)
    return np.asarray(np.nanstd(stack / scale, axis=0, ddof=1) * scale)


def _run(
    problem: Problem,
    changes: dict[str, np.ndarray],
    coefs: list[dict[str, float]],
    *,
    executor: Executor,
    theta_from: str | None,
    theta_offset: float,
    tol: float,
    maxiter: int,
    x0: np.ndarray | None = None,
) -> list[tuple[int, np.ndarray | None, np.ndarray | None, str]]:
    job = _Job(problem, changes, theta_from, theta_offset, tol, maxiter, x0)
    return _map_sorted(_solve_draws, job, list(enumerate(coefs)), executor)


def _failures(
    outcomes: list[tuple[int, np.ndarray | None, np.ndarray | None, str]],
    n_draws: int,
    extra: Mapping[int, str] | None,
) -> dict[int, str]:
    """Failed draws by number; one warning for them, an error when every draw failed."""
    failures = {k: msg for k, _, _, msg in outcomes if msg}
    failures.update(extra or {})
    if failures:
        first = min(failures)
        if len(failures) == n_draws:
            raise GEError(
                f"all {n_draws} draws failed, so there are no intervals (first: draw "
                f"{first}: {failures[first]}). Check the covariance, theta and the partial "
                "effects the first failure names."
            )
        warnings.warn(
            f"{len(failures)} of {n_draws} draws failed and are left out of the "
            f"intervals (first: draw {first}: {failures[first]}); see .failures",
            ConvergenceWarning,
            stacklevel=4,
        )
    return failures


def _intervals(
    good: list[tuple[int, np.ndarray, np.ndarray]], n: int, n_cols: int, alpha: float
) -> tuple[np.ndarray, ...]:
    """Percentile bounds and spread of the ratios, and bounds of the flow changes."""
    lo_q, hi_q = 100 * alpha / 2, 100 * (1 - alpha / 2)
    if not good:
        nan = np.full((n, n_cols), np.nan)
        return nan, nan, nan, np.full(n * n, np.nan), np.full(n * n, np.nan)
    stack = np.stack([r for _, r, _ in good])  # draws x countries x ratios
    flows = np.stack([f for _, _, f in good])
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: pairs with zero flows
        lo = np.nanpercentile(stack, lo_q, axis=0)
        hi = np.nanpercentile(stack, hi_q, axis=0)
        sd = _nanstd(stack) if len(good) > 1 else np.full_like(lo, np.nan)
        flo = np.nanpercentile(flows, lo_q, axis=0)
        fhi = np.nanpercentile(flows, hi_q, axis=0)
    return lo, hi, sd, flo, fhi


def _summarise(
    point: GEResult,
    problem: Problem,
    outcomes: list[tuple[int, np.ndarray | None, np.ndarray | None, str]],
    coef_rows: list[dict[str, float]],
    *,
    method: str,
    alpha: float,
    seed: int,
    extra_failures: Mapping[int, str] | None = None,
) -> UncertaintyResult:
    failures = _failures(outcomes, len(coef_rows), extra_failures)
    good: list[tuple[int, np.ndarray, np.ndarray]] = [
        (k, r, f)
        for k, r, f, msg in outcomes
        if r is not None and f is not None and not msg and k not in failures
    ]
    pct_cols = [f"{c}_pct" for c in RATIO_COLUMNS]
    countries = point.countries[pct_cols].copy()
    lo, hi, sd, flo, fhi = _intervals(good, problem.n, len(pct_cols), alpha)
    for k, col in enumerate(pct_cols):
        countries[f"{col}_lo"] = lo[:, k]
        countries[f"{col}_hi"] = hi[:, k]
        countries[f"{col}_se"] = sd[:, k]
    flow_frame = point.flows[["exporter", "importer", "change_pct"]].copy()
    flow_frame["change_pct_lo"] = flo
    flow_frame["change_pct_hi"] = fhi
    long = [
        pd.DataFrame(r, columns=pct_cols).assign(draw=k, country=list(problem.countries))
        for k, r, _ in good
    ]
    draws = (
        pd.concat(long, ignore_index=True)[["draw", "country", *pct_cols]]
        if long
        else pd.DataFrame(columns=["draw", "country", *pct_cols])
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
        method=method,
        alpha=alpha,
        seed=seed,
    )


def _solve_options(solve_kwargs: Mapping[str, Any], scenario: Scenario) -> dict[str, Any]:
    """Keywords for the one-sector solver; unknown ones refused, the scenario's tariffs added."""
    allowed = {"closure", "psi", "tariffs", "conditional", "numeraire", "value"}
    unknown = sorted(set(solve_kwargs) - allowed)
    if unknown:
        hint = (
            " n_jobs= was replaced by executor=: executor='processes' (one process per core) "
            "or executor=ca_trade.executors.Processes(max_workers=N)."
            if "n_jobs" in unknown
            else ""
        )
        raise SpecificationError(f"unknown keyword(s) {unknown}; allowed: {sorted(allowed)}.{hint}")
    out = dict(solve_kwargs)
    if "tariffs" not in out and scenario.tariffs is not None:
        out["tariffs"] = scenario.tariffs
    return out


def _drawn(
    scenario: Scenario, v: pd.DataFrame, theta_from: str | None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Return the scenario's coefficients in the covariance, their means and covariance."""
    names = scenario.regressors
    drawn = [r for r in names if r in v.index]
    if theta_from is not None and theta_from not in drawn:
        raise SpecificationError(f"theta_from={theta_from!r} is not a drawn coefficient {drawn}.")
    if not drawn:
        raise SpecificationError(
            f"none of the scenario's coefficients {names} is in the covariance matrix "
            f"({list(v.index)}); nothing to draw."
        )
    mean = np.array([float(scenario.coefficients[r]) for r in drawn])
    cov = v.loc[drawn, drawn].to_numpy(dtype=float)
    if not np.allclose(cov, cov.T) or np.linalg.eigvalsh(cov).min() < -1e-12 * abs(cov).max():
        raise SpecificationError("vcov must be symmetric positive semi-definite.")
    return drawn, mean, cov


def _check_common(n_draws: int, alpha: float) -> None:
    if n_draws < 2:
        raise SpecificationError(f"n_draws must be >= 2, got {n_draws}.")
    if not 0 < alpha < 1:
        raise SpecificationError(f"alpha must be in (0, 1), got {alpha}.")


def parametric_draws(
    flows: pd.DataFrame,
    scenario: Scenario,
    theta: float,
    *,
    result: EstimationResult | None = None,
    vcov: Any = None,
    n_draws: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    executor: ExecutorLike = None,
    theta_from: str | None = None,
    tol: float = 1e-12,
    maxiter: int = 10_000,
    theta_se: Any = None,
    **solve_kwargs: Any,
) -> UncertaintyResult:
    r"""Parametric confidence intervals: draw coefficients from :math:`N(\hat\beta, \hat V)`.

    Coefficients of the scenario that appear in the covariance matrix are drawn jointly;
    the others (e.g. a user-given elasticity) stay fixed. Flows with a ``sector`` column
    select the multi-sector model (:func:`ca_trade.ge.sectoral.uncertainty.parametric_draws`),
    which also draws the sector elasticities given `theta_se`.

    Parameters
    ----------
    flows : pandas.DataFrame
        Baseline flows (as in :func:`ca_trade.ge.solve`).
    scenario : Scenario
        The policy; its coefficients are the point estimates.
    theta : float
        Trade elasticity.
    result : EstimationResult, optional
        An estimation result (its ``vcov``, labelled by coefficient), e.g. a
        ``ca_trade.ppml`` result or a saved one.
    vcov : pandas.DataFrame or array, optional
        Covariance matrix (overrides `result`); an array must follow the scenario's
        regressor order.
    n_draws : int, default 1000
        Number of draws.
    alpha : float, default 0.05
        Intervals cover ``1 - alpha``.
    seed : int, default 0
        Root seed (``numpy.random.SeedSequence``).
    executor : None, str, distributed.Client or Executor, default None
        Where the draws run: ``None`` here, ``"processes"`` in one local process per core, a
        Dask ``distributed.Client`` or scheduler address on its cluster
        (:mod:`ca_trade.executors`). Draws are seeded one by one, so the intervals are the
        same whatever runs them.
    theta_from : str, optional
        Tie theta to a drawn coefficient: ``theta = -beta[theta_from] - 1`` (the ``ln(1+t)``
        coefficient is :math:`-\sigma = -(\theta + 1)` with duty-exclusive flows; one-sector
        model).
    tol, maxiter
        Solver settings.
    theta_se : float or mapping, optional
        Multi-sector model: standard errors of the sector elasticities, drawn independently
        from :math:`N(\hat\theta_s, se_s^2)`.
    **solve_kwargs
        ``closure``, ``psi``, ``tariffs``, ``conditional``, ``numeraire``, ``value``;
        multi-sector model: ``tariffs``, ``production``, ``inputs``, ``deficits``,
        ``numeraire``, ``value``.

    Returns
    -------
    UncertaintyResult
        Point solution, intervals, draws and failures.

    Examples
    --------
    >>> import pandas as pd
    >>> import ca_trade.ge as ge
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "value": [8.0, 2.0, 2.0, 8.0]})
    >>> u = ge.parametric_draws(f, ge.agreement(["A", "B"], 0.3), 4,
    ...                         vcov=[[0.01]], n_draws=20, seed=1)
    >>> u.n_draws, u.n_failed
    (20, 0)
    """
    if "sector" in getattr(flows, "columns", ()):
        if theta_from is not None:
            raise SpecificationError(
                "theta_from ties one trade elasticity to a coefficient (one-sector model); the "
                "multi-sector model draws its sector elasticities from `theta_se`."
            )
        drawn_sectors = sectoral_parametric_draws(
            flows,
            scenario,
            theta,
            result=result,
            vcov=vcov,
            theta_se=theta_se,
            n_draws=n_draws,
            alpha=alpha,
            seed=seed,
            executor=executor,
            tol=tol,
            maxiter=maxiter,
            **solve_kwargs,
        )
        return replace(drawn_sectors, point=labelled(drawn_sectors.point, flows))
    if theta_se is not None:
        raise SpecificationError(
            "theta_se draws the sector elasticities of the multi-sector model: give the flows "
            "a `sector` column."
        )
    _check_common(n_draws, alpha)
    solve_kwargs = _solve_options(solve_kwargs, scenario)
    drawn, mean, cov = _drawn(scenario, _vcov_frame(result, vcov, scenario.regressors), theta_from)
    problem = prepare(flows, theta, **solve_kwargs)
    changes = _change_matrices(scenario, problem.countries)
    children = np.random.SeedSequence(seed).spawn(n_draws)
    coefs: list[dict[str, float]] = []
    for child in children:
        beta = np.random.default_rng(child).multivariate_normal(mean, cov, method="eigh")
        coefs.append({**dict(scenario.coefficients), **dict(zip(drawn, beta.tolist()))})
    point, x0 = _point_solution(problem, changes, scenario, theta_from, tol, maxiter)
    with executor_for(executor, n_tasks=n_draws) as ex:
        outcomes = _run(
            problem,
            changes,
            coefs,
            executor=ex,
            theta_from=theta_from,
            theta_offset=1.0,
            tol=tol,
            maxiter=maxiter,
            x0=x0,
        )
    return _summarise(
        labelled(point, flows),
        problem,
        outcomes,
        coefs,
        method="parametric",
        alpha=alpha,
        seed=seed,
    )


class PpmlEstimator:
    """Picklable estimator calling :func:`ca_trade.ppml` with a fixed formula.

    Parameters
    ----------
    formula : str
        fixest-style formula, e.g. ``"value_usd ~ ln_tariff + rta | exporter + importer"``.
    **kwargs
        Further keywords of :func:`ca_trade.ppml`.

    Examples
    --------
    >>> est = PpmlEstimator("y ~ x | fe")
    >>> est.formula
    'y ~ x | fe'
    """

    def __init__(self, formula: str, **kwargs: Any) -> None:
        self.formula = formula
        self.kwargs = kwargs

    def __call__(self, data: pd.DataFrame) -> Mapping[str, float]:
        """Estimate on `data` and return the coefficients."""
        from ca_trade.estimate import ppml

        res = ppml(self.formula, data, **self.kwargs)
        return {str(k): float(v) for k, v in res.params.items()}


@dataclass(frozen=True)
class _BootJob:
    data: pd.DataFrame
    cluster: str
    estimator: Estimator
    names: list[str]


def _estimate_draws(
    job: _BootJob, draws: list[tuple[int, np.random.SeedSequence]]
) -> list[tuple[int, dict[str, float] | None, str]]:
    codes, levels = pd.factorize(job.data[job.cluster], sort=True)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(len(levels) + 1))
    out: list[tuple[int, dict[str, float] | None, str]] = []
    for k, ss in draws:
        rng = np.random.default_rng(ss)
        pick = rng.integers(0, len(levels), size=len(levels))
        rows = np.concatenate([order[starts[c] : starts[c + 1]] for c in pick])
        sample = job.data.iloc[rows].reset_index(drop=True)
        try:
            params = job.estimator(sample)
            coef = {n: float(params[n]) for n in job.names if n in params}
            if not coef:
                raise CaTradeError(f"the estimator returned none of {job.names}")
            if not all(np.isfinite(list(coef.values()))):
                raise CaTradeError("non-finite coefficient")
            out.append((k, coef, ""))
        except Exception as exc:  # any estimation failure is a counted, reported failed draw
            out.append((k, None, f"estimation failed: {type(exc).__name__}: {exc}"))
    return out


def pairs_bootstrap(
    data: pd.DataFrame,
    flows: pd.DataFrame,
    scenario: Scenario,
    theta: float,
    *,
    estimator: Estimator | None = None,
    formula: str | None = None,
    cluster: str = "pair",
    n_draws: int = 200,
    alpha: float = 0.05,
    seed: int = 0,
    executor: ExecutorLike = None,
    theta_from: str | None = None,
    tol: float = 1e-12,
    maxiter: int = 10_000,
    **solve_kwargs: Any,
) -> UncertaintyResult:
    """Pairs-bootstrap intervals: resample pairs, re-estimate, rebuild effects and re-solve.

    Parameters
    ----------
    data : pandas.DataFrame
        The estimation sample (e.g. the panel), with a `cluster` column identifying pairs.
    flows : pandas.DataFrame
        Baseline flows of the GE problem (calibrated baseline kept fixed across draws).
    scenario : Scenario
        The policy; its coefficients that the model estimates are re-estimated in every draw,
        the others (e.g. a user-given elasticity) stay fixed.
    theta : float
        Trade elasticity.
    estimator : callable, optional
        ``estimator(sample) -> mapping of coefficient names to values``; must be picklable
        (a top-level function) for an executor other than ``None``.
    formula : str, optional
        Instead of `estimator`: re-estimate with ``ca_trade.ppml(formula, sample)``.
    cluster : str, default "pair"
        Column whose levels are resampled.
    n_draws, alpha, seed, executor, theta_from, tol, maxiter, **solve_kwargs
        As in :func:`parametric_draws`.

    Returns
    -------
    UncertaintyResult
        Point solution, intervals, draws and failures (estimation or solution).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import ca_trade.ge as ge
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "value": [8.0, 2.0, 2.0, 8.0]})
    >>> d = pd.DataFrame({"pair": np.arange(30), "y": np.linspace(0.2, 0.4, 30)})
    >>> def mean_effect(sample):
    ...     return {"rta": float(sample["y"].mean())}
    >>> u = ge.pairs_bootstrap(d, f, ge.agreement(["A", "B"], 0.3), 4,
    ...                        estimator=mean_effect, n_draws=20)
    >>> u.method, u.n_failed
    ('pairs bootstrap', 0)
    """
    if "sector" in getattr(flows, "columns", ()):
        raise SpecificationError(
            "pairs_bootstrap solves the one-sector model; for flows by sector use "
            "parametric_draws (coefficients and sector elasticities)."
        )
    _check_common(n_draws, alpha)
    solve_kwargs = _solve_options(solve_kwargs, scenario)
    if (estimator is None) == (formula is None):
        raise SpecificationError("give exactly one of `estimator` or `formula`.")
    est: Estimator = estimator if estimator is not None else PpmlEstimator(str(formula))
    if cluster not in data.columns:
        raise SpecificationError(f"cluster column {cluster!r} is not in data.")
    problem = prepare(flows, theta, **solve_kwargs)
    changes = _change_matrices(scenario, problem.countries)
    names = scenario.regressors
    fixed = dict(scenario.coefficients)
    point, x0 = _point_solution(problem, changes, scenario, theta_from, tol, maxiter)
    children = np.random.SeedSequence(seed).spawn(n_draws)
    job = _BootJob(data, cluster, est, names)
    with executor_for(executor, n_tasks=n_draws) as ex:
        estimates = _map_sorted(_estimate_draws, job, list(enumerate(children)), ex)
        coef_rows = [
            {**fixed, **(c if c is not None else dict.fromkeys(names, np.nan))}
            for _, c, _ in estimates
        ]
        est_failures = {k: msg for k, c, msg in estimates if c is None}
        ok_rows = [(k, coef_rows[k]) for k, c, _ in estimates if c is not None]
        outcomes = _run(
            problem,
            changes,
            [c for _, c in ok_rows],
            executor=ex,
            theta_from=theta_from,
            theta_offset=1.0,
            tol=tol,
            maxiter=maxiter,
            x0=x0,
        )
    remapped = [(ok_rows[i][0], r, f, m) for i, r, f, m in outcomes]
    return _summarise(
        labelled(point, flows),
        problem,
        remapped,
        coef_rows,
        method="pairs bootstrap",
        alpha=alpha,
        seed=seed,
        extra_failures=est_failures,
    )
