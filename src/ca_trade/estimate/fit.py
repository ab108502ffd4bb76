"""The named steps of a fit, shared by :func:`ca_trade.ppml`, :func:`ca_trade.ols` and refits.

1. :func:`estimation_sample`: rows with missing or non-finite values (and zero weights) are
   set aside by reason; the rest become an :class:`~ca_trade.estimate.state.EstimationSample`.
2. :func:`drop_unidentified`: singletons and (PPML) separated observations are dropped.
3. :func:`partial_out`: the outcome and the regressors are divided by powers of two (so data
   in any units fit alike), the fixed effects are partialled out of ``[z0, X]`` at the first
   iteration's weights, and collinear regressors are dropped.
4. :func:`solve`: Poisson IRLS or weighted least squares; residuals, bread, and estimates back in
   the data's units; divergence and convergence are checked.

:func:`ca_trade.estimate.model.fit` chains them (and adds the covariance and the provenance
of :mod:`ca_trade.estimate.fingerprint`);
:class:`Refit` runs steps 2-4 on part of a stored estimation sample (the split-panel
jackknife), never on the caller's DataFrame.

Examples
--------
>>> from ca_trade.estimate.fit import pow2
>>> pow2(1000.0), pow2(0.0)
(1024.0, 1.0)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ca_trade._typing import AnyArray, BoolArray, FloatArray, IntArray
from ca_trade.estimate.demean import FixedEffects, column_norms, demean_inplace
from ca_trade.estimate.formula import Design
from ca_trade.estimate.irls import (
    IRLSFit,
    block_gram,
    find_collinear,
    initial_working,
    poisson_deviance,
    poisson_irls,
    wls,
)
from ca_trade.estimate.missing import RowScan, normalise, scan_columns, scan_values
from ca_trade.estimate.separation import drop_singletons, find_separated
from ca_trade.estimate.state import EstimationSample, FitOptions, Model
from ca_trade.exceptions import (
    CollinearityWarning,
    ConvergenceError,
    ConvergenceWarning,
    DataValidationError,
    MissingValuesWarning,
    SeparationWarning,
    SingletonWarning,
    SpecificationError,
)

__all__ = [
    "Partialled",
    "Refit",
    "Solution",
    "drop_unidentified",
    "estimation_sample",
    "partial_out",
    "pow2",
    "require_finite",
    "solve",
]

#: Warnings point at the user's call: user -> ppml/ols -> model.fit -> a step here.
_STACK = 4
#: A regressor diverges when its last IRLS step times its standard deviation exceeds this
#: (a separated coefficient moves by about 1 / sd per iteration; a converged one by ~0).
_DIVERGE_COEF = 0.05


# -- 1. estimation sample -------------------------------------------------------------------
def _vector(arg: Any, df: pd.DataFrame, name: str) -> tuple[FloatArray | None, RowScan | None]:
    """Weights or offset (a column name or an array) as float64, and their scan."""
    if arg is None:
        return None, None
    if isinstance(arg, str):
        if arg not in df.columns:
            raise SpecificationError(f"{name} column {arg!r} is not in the data")
        s = df[arg]
        label = arg
    else:
        if np.ndim(arg) != 1 or len(arg) != len(df):
            raise SpecificationError(f"{name} has shape {np.shape(arg)}; expected ({len(df)},)")
        s = pd.Series(np.asarray(arg) if not isinstance(arg, pd.Series) else arg.to_numpy())
        label = name
    scan = scan_values(label, s)
    kept = normalise(s[~scan.missing]) if scan.missing.any() else normalise(s)
    if not pd.api.types.is_numeric_dtype(kept.dtype):
        raise SpecificationError(f"{name} {label!r} must be numeric, not {kept.dtype}")
    v = np.full(len(df), np.nan)
    v[~scan.missing] = kept.to_numpy(dtype=np.float64)
    return v, scan


def _announce(scan: RowScan, n: int) -> None:
    """Emit the one warning about rows with missing or non-finite values."""
    k = int(scan.dropped.sum())
    if k:
        warnings.warn(
            f"{k} of {n} rows dropped: {scan.describe()}; their row labels are in "
            "res.dropped['missing'] and res.dropped['non_finite']",
            MissingValuesWarning,
            stacklevel=_STACK + 1,
        )


def _check_signs(
    model: Model, depvar: str, y: FloatArray, w: FloatArray | None, skip: BoolArray, df: Any
) -> None:
    """Refuse negative weights, and a negative PPML outcome, among the rows kept."""
    if w is not None and np.any(w[~skip] < 0):
        first = int(np.flatnonzero((w < 0) & ~skip)[0])
        raise DataValidationError(
            f"weights must be non-negative; weight {w[first]} at row {df.index[first]!r}"
        )
    used = ~skip if w is None else ~skip & (w != 0)
    if model == "ppml" and np.any(y[used] < 0):
        first = int(np.flatnonzero((y < 0) & used)[0])
        raise DataValidationError(
            f"PPML needs a non-negative outcome; {depvar!r} is {y[first]} at row "
            f"{df.index[first]!r}. Use ct.ols for signed outcomes."
        )


def estimation_sample(
    model: Model,
    depvar: str,
    design: Design,
    df: pd.DataFrame,
    *,
    weights: Any = None,
    offset: Any = None,
    cluster_columns: Sequence[str] = (),
) -> tuple[EstimationSample, dict[str, AnyArray]]:
    """Step 1: the rows without missing or non-finite values and with a positive weight.

    Parameters
    ----------
    model : {"ppml", "ols"}
    depvar : str
    design : Design
        The formula materialised on ``df``.
    df : pandas.DataFrame
    weights, offset : str, array_like or None
    cluster_columns : sequence of str
        Cluster variables that are data columns (scanned for missing values too).

    Returns
    -------
    sample : EstimationSample
        Fixed-effect codes as the design numbered them.
    dropped : dict of str to ndarray
        Row labels under ``missing``, ``non_finite`` and ``zero_weight``.
    """
    scan = design.scan.merge(scan_columns(df, cluster_columns))
    w, w_scan = _vector(weights, df, "weights")
    off, off_scan = _vector(offset, df, "offset")
    for part in (w_scan, off_scan):
        scan = scan if part is None else scan.merge(part)
    _announce(scan, len(df))
    missing = design.missing | scan.dropped
    _check_signs(model, depvar, design.y, w, missing, df)
    zero_weight = np.zeros_like(missing) if w is None else (w == 0) & ~missing
    ix = df.index
    # labels that are the positions (a default RangeIndex) are not materialised: the sample's
    # row positions serve as its labels too
    positional = isinstance(ix, pd.RangeIndex) and ix.start == 0 and ix.step == 1
    index = None if positional else ix.to_numpy()

    def labels(sel: BoolArray) -> AnyArray:
        return np.flatnonzero(sel) if index is None else index[sel]

    dropped = {
        "missing": labels(missing & ~scan.non_finite),
        "non_finite": labels(scan.non_finite),
        "zero_weight": labels(zero_weight),
    }
    rows = np.flatnonzero(~missing & ~zero_weight).astype(np.int64, copy=False)
    whole = rows.shape[0] == len(df)

    def pick(a: AnyArray) -> AnyArray:
        # with nothing set aside the design's arrays are used without a copy: they are this
        # fit's own (built from, never sharing memory with, the caller's data)
        return a if whole else a[rows]

    sample = EstimationSample(
        y=pick(design.y),
        X=pick(design.X),
        xnames=tuple(design.xnames),
        fe_codes=tuple(pick(c) for c in design.fe_codes),
        weights=None if w is None else pick(w),
        offset=None if off is None else pick(off),
        rows=rows,
        index=rows if index is None else pick(index),
    )
    return sample, dropped


# -- 2. unidentified observations -----------------------------------------------------------
def _unidentified_masks(
    model: Model, sample: EstimationSample, options: FitOptions
) -> dict[str, BoolArray]:
    """Masks of singletons and (PPML) separated rows (``separation.py``)."""
    codes = list(sample.fe_codes)
    methods = options.separation if model == "ppml" else ()
    singletons = options.drop_singletons and bool(codes)
    if not methods:
        if not singletons:
            return {}
        return {"singleton": ~np.asarray(drop_singletons(codes), dtype=bool)}
    res = find_separated(
        sample.y,
        sample.X if sample.X.shape[1] else None,
        codes,
        sample.weights,
        methods=methods,
        singletons=singletons,
        intercept=not codes,
    )
    return {
        "singleton": res.singleton,
        "separation_fe": res.separated_fe,
        "separation_ir": res.separated_ir,
    }


def drop_unidentified(
    model: Model, sample: EstimationSample, options: FitOptions, depvar: str
) -> tuple[EstimationSample, dict[str, AnyArray]]:
    """Step 2: drop singletons and separated observations, with one warning per reason.

    Parameters
    ----------
    model : {"ppml", "ols"}
    sample : EstimationSample
    options : FitOptions
    depvar : str
        Named in the error when the outcome is zero everywhere.

    Returns
    -------
    sample : EstimationSample
        The identified rows.
    dropped : dict of str to ndarray
        Row labels of the rows dropped, by reason.

    Raises
    ------
    DataValidationError
        No observation left, or (PPML) an outcome that is zero everywhere.
    """
    masks = _unidentified_masks(model, sample, options)
    bad = np.zeros(sample.nobs, dtype=bool)
    dropped: dict[str, AnyArray] = {}
    for reason, mask in masks.items():
        dropped[reason] = sample.index[mask]
        bad |= mask
        if mask.any():
            cls = SingletonWarning if reason == "singleton" else SeparationWarning
            warnings.warn(
                f"{int(mask.sum())} observations dropped ({reason.replace('_', ' ')}); "
                f"their row labels are in res.dropped[{reason!r}]",
                cls,
                stacklevel=_STACK,
            )
    if bad.any():
        sample = sample.take(~bad)
    if sample.nobs == 0:
        raise DataValidationError("no observations left after dropping missing/separated rows")
    if model == "ppml" and not np.any(sample.y > 0):
        raise DataValidationError(f"outcome {depvar!r} is zero in every observation")
    return sample, dropped


# -- 3. partialling out and collinearity ----------------------------------------------------
def pow2(v: float) -> float:
    """Return the power of two nearest to ``v`` (1 for zero or non-finite ``v``).

    Parameters
    ----------
    v : float

    Returns
    -------
    float
    """
    if not (v > 0 and math.isfinite(v)):
        return 1.0
    return float(2.0 ** round(math.log2(v)))


def _outcome_scale(model: Model, y: FloatArray, w: FloatArray | None, free_level: bool) -> float:
    """Power of two the outcome is divided by inside the fit (results are reported unscaled).

    PPML: the (weighted) mean of ``y``, when a fixed effect or the intercept absorbs the
    shift ``log(scale)`` of the linear predictor (PPML is then scale-equivariant: the
    coefficients and standard errors do not change). OLS: the largest ``|y|`` (coefficients
    and standard errors scale with it). A power of two divides exactly.
    """
    top = float(np.max(np.abs(y))) if y.size else 0.0
    if model == "ols":
        return pow2(top)
    if not free_level or top == 0.0:
        return 1.0
    rel = y / top
    mean = float(rel.mean() if w is None else (w * rel).sum() / w.sum())
    return pow2(mean) * pow2(top) if mean > 0 else 1.0


@dataclass(frozen=True)
class Partialled:
    """Step 3's output: the scaled problem, ready for the solver.

    ``y``, ``X`` and (OLS) ``offset`` are divided by ``y_scale`` and ``x_scale``; ``block``
    is ``[z0, X]`` partialled out at the first iteration's weights (OLS: the solver overwrites
    it) and ``coef`` the fixed-effect coefficients it subtracted (the IRLS warm start). PPML
    keeps only the block's Gram matrix ``gram`` (all its first iteration needs), not the
    ``(n, k + 1)`` block.
    """

    fe: FixedEffects | None
    y: FloatArray
    X: FloatArray
    weights: FloatArray | None
    offset: FloatArray | None
    y_scale: float
    x_scale: FloatArray
    xnames: tuple[str, ...]
    collinear: tuple[str, ...]
    block: FloatArray | None
    block_ok: bool
    coef: FloatArray | None
    gram: FloatArray | None = None


def _scaled(
    model: Model, sample: EstimationSample, depvar: str
) -> tuple[FloatArray, FloatArray, FloatArray | None, float, FloatArray]:
    """Outcome, regressors and offset divided by their powers of two, and the powers."""
    free = bool(sample.fe_codes) or "Intercept" in sample.xnames
    y_scale = _outcome_scale(model, sample.y, sample.weights, free)
    if not math.isfinite(y_scale * y_scale) and model == "ols":
        raise DataValidationError(
            f"outcome {depvar!r} reaches {float(np.max(np.abs(sample.y))):.3g}: its squares "
            "overflow float64, so OLS variances cannot be computed; divide it by a power of ten"
        )
    y = sample.y / y_scale if y_scale != 1.0 else sample.y
    off = sample.offset
    if model == "ols" and off is not None:
        off = off / y_scale
    X = sample.X
    x_scale = np.array([pow2(float(np.max(np.abs(X[:, j])))) for j in range(X.shape[1])])
    if np.any(x_scale != 1.0):
        scaled = np.empty(X.shape)  # column by column: long inner loops, no broadcast
        for j in range(X.shape[1]):
            np.divide(X[:, j], x_scale[j], out=scaled[:, j])
        X = scaled
    return y, X, off, y_scale, x_scale


def _first_block(
    fe: FixedEffects | None,
    w0: FloatArray,
    z0: FloatArray,
    X: FloatArray,
    options: FitOptions,
    tol: float,
) -> tuple[FloatArray | None, bool, FloatArray | None]:
    """``[z0, X]`` partialled out at the first iteration's weights, with its FE coefficients.

    Returns the block, whether its demeaning converged and the fixed-effect coefficients it
    subtracted (``None, True, None`` without fixed effects).
    """
    if fe is None:
        return None, True, None
    block = np.empty((z0.shape[0], X.shape[1] + 1))
    block[:, 0] = z0
    block[:, 1:] = X
    scale = column_norms(block, w0)
    coef = np.empty((int(fe.offsets[-1]), X.shape[1] + 1))
    ok, _ = demean_inplace(
        block,
        fe,
        w0,
        scale,
        tol=tol,
        maxiter=options.fixef_maxiter,
        coef=coef,
    )
    return block, ok, coef


def partial_out(
    model: Model,
    sample: EstimationSample,
    options: FitOptions,
    depvar: str,
    fe: FixedEffects | None = None,
) -> Partialled:
    """Step 3: scale, partial the fixed effects out at the initial weights, drop collinear X.

    The demeaned block ``[z0, X]`` is the first IRLS iteration's solution, so it is handed on
    to :func:`solve` rather than redone.

    Parameters
    ----------
    model : {"ppml", "ols"}
    sample : EstimationSample
    options : FitOptions
    depvar : str
    fe : FixedEffects, optional
        The sample's fixed effects, factorised (from ``sample.fe_codes`` when not given).

    Returns
    -------
    Partialled
    """
    if fe is None and sample.fe_codes:
        fe = FixedEffects.from_codes(list(sample.fe_codes))
    y, X, off, y_scale, x_scale = _scaled(model, sample, depvar)
    wk = sample.weights
    if model == "ppml":
        w0, z0 = initial_working(y, wk, off)
    else:
        w0, z0 = (np.ones(y.shape[0]) if wk is None else wk), (y if off is None else y - off)
    # the collinearity checks need the block at 1e-10; OLS takes the block as its solution, so
    # it is demeaned to the tolerance asked for, and again to 1e-10 only when a regressor comes
    # near the thresholds there (within 1000 times and 100 times that tolerance)
    tight = min(1e-10, options.fixef_tol)
    first_tol = options.fixef_tol if model == "ols" and fe is not None else tight
    block, block_ok, coef = _first_block(fe, w0, z0, X, options, first_tol)
    xnames = list(sample.xnames)
    drop: list[int] = []
    if X.shape[1] and block is not None and first_tol > tight:
        margin = max(1e-6, 100.0 * first_tol)
        if find_collinear(block[:, 1:], X, w0, tol=margin, rtol=max(1e-4, margin)):
            block, block_ok, coef = _first_block(fe, w0, z0, X, options, tight)
            first_tol = tight
    if X.shape[1] and first_tol == tight:
        drop = find_collinear(X if block is None else block[:, 1:], X, w0)
    if drop:
        warnings.warn(
            f"regressors {[xnames[j] for j in drop]} are collinear with the fixed effects or "
            "other regressors and were dropped; they are listed in res.collinear",
            CollinearityWarning,
            stacklevel=_STACK,
        )
        keep = [j for j in range(X.shape[1]) if j not in drop]
        X, x_scale = X[:, keep], x_scale[keep]
        if block is not None and coef is not None:
            block = block[:, [0] + [j + 1 for j in keep]]
            coef = np.ascontiguousarray(coef[:, [0] + [j + 1 for j in keep]])
        xnames = [xnames[j] for j in keep]
    g0 = None
    if model == "ppml" and block is not None and coef is not None:
        g0, block = block_gram(block, w0), None
    return Partialled(
        fe=fe,
        y=y,
        X=np.ascontiguousarray(X),
        weights=wk,
        offset=off,
        y_scale=y_scale,
        x_scale=x_scale,
        xnames=tuple(xnames),
        collinear=tuple(sample.xnames[j] for j in drop),
        block=block,
        block_ok=block_ok,
        coef=coef,
        gram=g0,
    )


# -- 4. the solve ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Solution:
    """Step 4's output.

    ``beta``, ``eta``, ``mu``, ``deviance``, ``null_deviance`` and ``fe_sum`` are in the data's
    units; ``X_tilde``, ``bread``, ``weighted_residuals`` (prior weight times residual: the
    scores are ``X_tilde`` times these) and ``rss`` in the fit's.
    """

    beta: FloatArray
    eta: FloatArray
    mu: FloatArray
    fe_sum: FloatArray
    deviance: float
    null_deviance: float
    X_tilde: FloatArray
    bread: FloatArray
    weighted_residuals: FloatArray
    rss: float | None
    n_iter: int
    converged: bool


def _diverging_names(
    diverging: BoolArray, beta_step: FloatArray, X: FloatArray, names: Sequence[str]
) -> list[str]:
    """Regressors whose estimate still moves by a sizeable step where observations diverge."""
    if not diverging.any() or not X.shape[1]:
        return []
    spread = X.std(axis=0)
    return [n for n, b, s in zip(names, beta_step, spread) if abs(b) * s > _DIVERGE_COEF]


def _warn_divergence(n_rows: int, names: list[str], methods: tuple[str, ...]) -> None:
    what = (
        f"the estimates of {names} diverge to infinity and are not reported as converged"
        if names
        else "the regressors are unaffected, but the fixed effects of their levels diverge"
    )
    checks = f"separation={methods!r}" if methods else "separation=None"
    warnings.warn(
        f"{n_rows} observations with a zero outcome have fitted values that keep falling "
        f"towards 0 (their linear predictor still moves to -infinity at convergence): they "
        f"are separated, and {what}. The separation checks were {checks}; use "
        "separation=('fe', 'ir') (the default) to drop them.",
        SeparationWarning,
        stacklevel=_STACK + 2,
    )


def _unscale(
    model: Model, res: IRLSFit, y_scale: float, xnames: Sequence[str]
) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    """Coefficients, linear predictor, fitted values and deviance on the original scale.

    PPML: the fit of ``y / s`` has the linear predictor shifted by ``-log(s)`` (absorbed by
    the fixed effects or the intercept) and the deviance divided by ``s``. OLS: everything
    in the outcome's units is divided by ``s``, the residual sum of squares by ``s**2``.
    """
    if model == "ppml":
        beta = res.beta.copy()
        if "Intercept" in xnames:
            beta[list(xnames).index("Intercept")] += math.log(y_scale)
        eta = res.eta + math.log(y_scale)
        with np.errstate(over="ignore"):
            return beta, eta, res.mu * y_scale, float(res.deviance * y_scale)
    with np.errstate(over="ignore"):
        # least squares: eta and mu are one array of the solve's own, scaled in place
        eta = np.multiply(res.eta, y_scale, out=res.eta if res.mu is res.eta else None)
        mu = eta if res.mu is res.eta else res.mu * y_scale
        return res.beta * y_scale, eta, mu, float(res.deviance * (y_scale * y_scale))


def _irls(
    model: Model, part: Partialled, options: FitOptions
) -> tuple[IRLSFit, float, float | None, list[str]]:
    """Solve PPML or OLS; return the fit, its null deviance, the RSS (OLS), diverging names."""
    y, X, pw, s = part.y, part.X, part.weights, part.y_scale
    ybar = float(y.mean() if pw is None else (pw * y).sum() / pw.sum())  # (1 * y) sums alike
    if model == "ppml":
        res = poisson_irls(
            y,
            X,
            part.fe,
            weights=part.weights,
            offset=part.offset,
            tol=options.tol,
            maxiter=options.maxiter,
            fixef_tol=options.fixef_tol,
            fixef_maxiter=options.fixef_maxiter,
            init_block=part.block,
            init_converged=part.block_ok,
            init_coef=part.coef,
            init_gram=part.gram,
        )
        null_dev = poisson_deviance(y, np.full_like(y, ybar), pw) * s
        diverging = _diverging_names(res.diverging, res.beta_step, X, part.xnames)
        if res.diverging.any():
            _warn_divergence(int(res.diverging.sum()), diverging, options.separation)
        return res, null_dev, None, diverging
    res = wls(
        y,
        X,
        part.fe,
        weights=part.weights,
        offset=part.offset,
        fixef_tol=options.fixef_tol,
        fixef_maxiter=options.fixef_maxiter,
        init_block=part.block,
        init_converged=part.block_ok,
    )
    dev = (y - ybar) ** 2
    null_dev = float((dev if pw is None else pw * dev).sum()) * (s * s)
    return res, null_dev, res.deviance, []


def _check_convergence(model: Model, res: IRLSFit, options: FitOptions) -> None:
    if res.converged:
        return
    msg = (
        f"{model} did not converge in {res.n_iter} iterations (maxiter={options.maxiter}, "
        f"tol={options.tol}, demeaning converged: {res.fixef_converged}); raise maxiter or "
        "fixef_maxiter"
    )
    if options.on_maxiter == "raise":
        raise ConvergenceError(msg)
    warnings.warn(msg, ConvergenceWarning, stacklevel=_STACK + 1)


def _cross(Xt: FloatArray, w: FloatArray | None, chunk: int = 1 << 16) -> FloatArray:
    """``Xt' W Xt`` (``W = I`` when ``w`` is None), in row chunks (no ``(n, k)`` temporary)."""
    if w is None:
        return np.asarray(Xt.T @ Xt)
    k = Xt.shape[1]
    out = np.zeros((k, k))
    for i in range(0, Xt.shape[0], chunk):
        part = Xt[i : i + chunk]
        out += (part * w[i : i + chunk, None]).T @ part
    return out


def solve(model: Model, part: Partialled, options: FitOptions) -> Solution:
    """Step 4: the PPML (Poisson IRLS) or OLS (weighted least squares) solve.

    Parameters
    ----------
    model : {"ppml", "ols"}
    part : Partialled
    options : FitOptions

    Returns
    -------
    Solution

    Raises
    ------
    ConvergenceError
        At the iteration cap with ``on_maxiter="raise"``.
    """
    res, null_dev, rss, diverging = _irls(model, part, options)
    _check_convergence(model, res, options)
    resid = part.y - res.mu
    if part.weights is not None:
        resid *= part.weights
    Xt = res.X_tilde
    k = Xt.shape[1]
    unit = model == "ols" and part.weights is None  # OLS without weights: W = I
    bread = np.linalg.inv(_cross(Xt, None if unit else res.weights)) if k else np.zeros((0, 0))
    bread = 0.5 * (bread + bread.T)
    beta, eta, mu, deviance = _unscale(model, res, part.y_scale, part.xnames)
    fe_sum = eta - part.X @ beta if k else eta.copy()
    off = part.offset
    if off is not None:
        fe_sum -= off if model == "ppml" else off * part.y_scale
    return Solution(
        beta=beta / part.x_scale,
        eta=eta,
        mu=mu,
        fe_sum=fe_sum,
        deviance=deviance,
        null_deviance=null_dev,
        X_tilde=Xt,
        bread=bread,
        weighted_residuals=resid,
        rss=rss,
        n_iter=int(res.n_iter),
        converged=bool(res.converged) and not diverging,
    )


def require_finite(model: Model, params: pd.Series, deviance: float, y_scale: float) -> None:
    """Refuse a fit with non-finite estimates or deviance (the guard at the end of a fit).

    Parameters
    ----------
    model : {"ppml", "ols"}
    params : pandas.Series
    deviance, y_scale : float

    Raises
    ------
    ConvergenceError
    """
    bad = [str(k) for k, v in params.items() if not np.isfinite(v)]
    if bad or not np.isfinite(deviance):
        what = f"coefficients {bad}" if bad else f"deviance {deviance}"
        raise ConvergenceError(
            f"{model} produced non-finite {what} (outcome scale about {y_scale:.3g}); the "
            "numbers overflow float64. Rescale the outcome or the regressors (e.g. divide "
            "by a power of ten) and check them for extreme values."
        )


# -- refits on part of the sample ----------------------------------------------------------
@dataclass(frozen=True)
class Refit:
    """The same model and options, re-estimated on part of a stored estimation sample.

    Used by the split-panel jackknife (:mod:`ca_trade.estimate.jackknife`). Calling it with
    positions in the estimation sample runs steps 2-4 on those rows of the stored arrays and
    returns the coefficients and the number of observations; separation and singleton
    warnings of the subsample fits are expected there and are not re-emitted.

    Parameters
    ----------
    model : {"ppml", "ols"}
    depvar : str
    sample : EstimationSample
        The full fit's estimation sample.
    options : FitOptions
    """

    model: Model
    depvar: str
    sample: EstimationSample
    options: FitOptions

    def __call__(self, positions: IntArray) -> tuple[pd.Series, int]:
        """Re-estimate on the estimation-sample observations at ``positions``."""
        sub = self.sample.take(np.asarray(positions, dtype=np.int64))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SeparationWarning)
            warnings.simplefilter("ignore", SingletonWarning)
            sub, _ = drop_unidentified(self.model, sub, self.options, self.depvar)
            part = partial_out(self.model, sub, self.options, self.depvar)
            sol = solve(self.model, part, self.options)
        params = pd.Series(sol.beta, index=pd.Index(list(part.xnames)), name=self.depvar)
        require_finite(self.model, params, sol.deviance, part.y_scale)
        return params, sub.nobs
