"""The estimation pipeline shared by :func:`ca_trade.ppml` and :func:`ca_trade.ols`.

Steps: parse the formula; materialise outcome, regressors and fixed effects; drop rows with
missing values, singletons and (PPML) separated observations, recording them by reason; drop
collinear regressors; fit (Poisson IRLS or WLS); compute the covariance; build the
:class:`~ca_trade.estimate.results.GravityResults`.

Examples
--------
>>> from ca_trade.estimate.model import check_options
>>> check_options(ssc="stata", on_maxiter="warn", separation=("fe", "ir"))
('fe', 'ir')
"""

from __future__ import annotations

import hashlib
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ca_trade._typing import AnyArray, BoolArray, FloatArray, IntArray
from ca_trade._version import __version__
from ca_trade.estimate.crv3 import crv3_factor, crv3_vcov
from ca_trade.estimate.demean import FixedEffects, demean_inplace
from ca_trade.estimate.formula import ParsedFormula, build_design, parse_formula, to_pandas
from ca_trade.estimate.irls import (
    IRLSFit,
    find_collinear,
    initial_working,
    poisson_deviance,
    poisson_irls,
    wls,
)
from ca_trade.estimate.missing import RowScan, normalise, scan_columns, scan_values
from ca_trade.estimate.results import Dropped, GravityResults
from ca_trade.estimate.vcov import (
    cluster_codes,
    fe_dof,
    fe_dof_fixest,
    is_nested,
    parse_vcov,
    sandwich_vcov,
    vcov_label,
)
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

__all__ = ["Refit", "check_options", "covariance", "fit"]

#: A regressor diverges when its last IRLS step times its standard deviation exceeds this
#: (a separated coefficient moves by about 1 / sd per iteration; a converged one by ~0).
_DIVERGE_COEF = 0.05


def _check_number(name: str, value: Any) -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )
    if not ok or not math.isfinite(float(value)) or not 0 < float(value) < 1:
        raise SpecificationError(f"{name}={value!r}; it must be a number between 0 and 1")


def _check_count(name: str, value: Any) -> None:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok or int(value) < 1:
        raise SpecificationError(f"{name}={value!r}; it must be an integer >= 1")


def check_options(
    *,
    ssc: str,
    on_maxiter: str,
    separation: Sequence[str] | str | None,
    tol: Any = 1e-8,
    fixef_tol: Any = 1e-10,
    maxiter: Any = 1000,
    fixef_maxiter: Any = 10_000,
    drop_singletons: Any = True,
    safe_formula: Any = False,
) -> tuple[str, ...]:
    """Validate options shared by both estimators; return the separation methods.

    Parameters
    ----------
    ssc : str
    on_maxiter : str
    separation : sequence of {"fe", "ir"} or None
    tol, fixef_tol : float
        Finite, strictly between 0 and 1.
    maxiter, fixef_maxiter : int
        Integers >= 1.
    drop_singletons, safe_formula : bool

    Returns
    -------
    tuple of str

    Raises
    ------
    SpecificationError
        Naming the option and the value.

    Examples
    --------
    >>> check_options(ssc="fixest", on_maxiter="raise", separation=None)
    ()
    >>> check_options(ssc="stata", on_maxiter="warn", separation=None, tol=float("nan"))
    Traceback (most recent call last):
    ...
    ca_trade.exceptions.SpecificationError: tol=nan; it must be a number between 0 and 1
    """
    _check_number("tol", tol)
    _check_number("fixef_tol", fixef_tol)
    _check_count("maxiter", maxiter)
    _check_count("fixef_maxiter", fixef_maxiter)
    for name, flag in (("drop_singletons", drop_singletons), ("safe_formula", safe_formula)):
        if not isinstance(flag, (bool, np.bool_)):
            raise SpecificationError(f"{name}={flag!r}; it must be True or False")
    if ssc not in ("stata", "fixest"):
        raise SpecificationError(f"ssc={ssc!r}; use 'stata' or 'fixest'")
    if on_maxiter not in ("warn", "raise"):
        raise SpecificationError(f"on_maxiter={on_maxiter!r}; use 'warn' or 'raise'")
    if separation is None:
        return ()
    seps = (separation,) if isinstance(separation, str) else tuple(separation)
    out = []
    for s in seps:
        m = {"fe": "fe", "ir": "ir", "relu": "ir"}.get(s)
        if m is None:
            raise SpecificationError(f"separation method {s!r}; use 'fe' and/or 'ir'")
        out.append(m)
    return tuple(out)


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


def _cluster_columns(vcov: Any, parsed: ParsedFormula, df: pd.DataFrame) -> list[str]:
    """Cluster variables of ``vcov`` that are columns of the data (not fixed effects)."""
    _, names = parse_vcov(vcov)
    return [c for c in names if c not in parsed.fixef_names and c in df.columns]


def _announce(scan: RowScan, n: int) -> None:
    """Emit the one warning about rows with missing or non-finite values."""
    k = int(scan.dropped.sum())
    if k:
        warnings.warn(
            f"{k} of {n} rows dropped: {scan.describe()}; their row labels are in "
            "res.dropped['missing'] and res.dropped['non_finite']",
            MissingValuesWarning,
            stacklevel=4,
        )


def _pow2(v: float) -> float:
    """Return the power of two nearest to ``v`` (1 for zero or non-finite ``v``)."""
    if not (v > 0 and math.isfinite(v)):
        return 1.0
    return float(2.0 ** round(math.log2(v)))


def _outcome_scale(
    model: Literal["ppml", "ols"], y: FloatArray, w: FloatArray | None, free_level: bool
) -> float:
    """Power of two the outcome is divided by inside the fit (results are reported unscaled).

    PPML: the (weighted) mean of ``y``, when a fixed effect or the intercept absorbs the
    shift ``log(scale)`` of the linear predictor (PPML is then scale-equivariant: the
    coefficients and standard errors do not change). OLS: the largest ``|y|`` (coefficients
    and standard errors scale with it). A power of two divides exactly.
    """
    top = float(np.max(np.abs(y))) if y.size else 0.0
    if model == "ols":
        return _pow2(top)
    if not free_level or top == 0.0:
        return 1.0
    rel = y / top
    mean = float(rel.mean() if w is None else (w * rel).sum() / w.sum())
    return _pow2(mean) * _pow2(top) if mean > 0 else 1.0


def _diverging_names(
    diverging: BoolArray, beta_step: FloatArray, X: FloatArray, names: list[str]
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
        stacklevel=4,
    )


def _unscale(
    model: str, res: IRLSFit, y_scale: float, xnames: list[str]
) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    """Coefficients, linear predictor, fitted values and deviance on the original scale.

    PPML: the fit of ``y / s`` has the linear predictor shifted by ``-log(s)`` (absorbed by
    the fixed effects or the intercept) and the deviance divided by ``s``. OLS: everything
    in the outcome's units is divided by ``s``, the residual sum of squares by ``s**2``.
    """
    if model == "ppml":
        beta = res.beta.copy()
        if "Intercept" in xnames:
            beta[xnames.index("Intercept")] += math.log(y_scale)
        eta = res.eta + math.log(y_scale)
        with np.errstate(over="ignore"):
            return beta, eta, res.mu * y_scale, float(res.deviance * y_scale)
    with np.errstate(over="ignore"):
        return (
            res.beta * y_scale,
            res.eta * y_scale,
            res.mu * y_scale,
            float(res.deviance * (y_scale * y_scale)),
        )


def _require_finite(model: str, params: pd.Series, deviance: float, y_scale: float) -> None:
    """Refuse a fit with non-finite estimates or deviance (the guard at the end of a fit)."""
    bad = [str(k) for k, v in params.items() if not np.isfinite(v)]
    if bad or not np.isfinite(deviance):
        what = f"coefficients {bad}" if bad else f"deviance {deviance}"
        raise ConvergenceError(
            f"{model} produced non-finite {what} (outcome scale about {y_scale:.3g}); the "
            "numbers overflow float64. Rescale the outcome or the regressors (e.g. divide "
            "by a power of ten) and check them for extreme values."
        )


def _sha256(df: pd.DataFrame, formula: str, extra: Sequence[str]) -> str:
    tokens = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", formula)) | set(extra)
    cols = sorted(c for c in df.columns if str(c) in tokens)
    h = hashlib.sha256()
    for c in cols:
        h.update(str(c).encode())
        h.update(pd.util.hash_pandas_object(df[c], index=False).to_numpy().tobytes())
    return h.hexdigest()


def _separation(
    y: FloatArray,
    X: FloatArray,
    codes: list[IntArray],
    weights: FloatArray | None,
    methods: tuple[str, ...],
    singletons: bool,
    intercept: bool,
) -> dict[str, BoolArray]:
    """Masks of singletons and separated rows (from ``separation.py``)."""
    from ca_trade.estimate import separation as sep

    if not methods:
        kept = sep.drop_singletons(codes) if singletons else np.ones(y.shape[0], dtype=bool)
        return {"singleton": ~np.asarray(kept, dtype=bool)}
    res = sep.find_separated(
        y,
        X if X.shape[1] else None,
        codes,
        weights,
        methods=tuple("relu" if m == "ir" else m for m in methods),
        singletons=singletons,
        intercept=intercept,
    )
    return {
        "singleton": res.singleton,
        "separation_fe": res.separated_fe,
        "separation_ir": res.separated_relu,
    }


def covariance(
    state: dict[str, Any], vcov: Any, ssc: str, model: Literal["ppml", "ols"]
) -> tuple[FloatArray, str, Literal["stata", "fixest"]]:
    """Covariance of a fitted model from its stored state (used by ``with_vcov``).

    Parameters
    ----------
    state : dict
        ``GravityResults._state``.
    vcov : str or dict
    ssc : {"stata", "fixest"}
    model : {"ppml", "ols"}

    Returns
    -------
    vcov : ndarray
    label : str
    ssc : str
    """
    if ssc not in ("stata", "fixest"):
        raise SpecificationError(f"ssc={ssc!r}; use 'stata' or 'fixest'")
    ssc_lit: Literal["stata", "fixest"] = "stata" if ssc == "stata" else "fixest"
    kind, cl_names = parse_vcov(vcov)
    clusters = cluster_codes(
        cl_names, state["data"], state["rows"], state["fixef_vars"], state["fe_codes"], vcov
    )
    fe_codes: list[IntArray] = state["fe_codes"]
    clustered = kind in ("CRV1", "CRV3")
    if ssc_lit == "fixest":
        k_fe = fe_dof_fixest(fe_codes, clusters if clustered else ())
    else:
        nested = [clustered and any(is_nested(f, cl) for cl in clusters[:1]) for f in fe_codes]
        k_fe = fe_dof(fe_codes, nested)
    n, k = state["X_tilde"].shape
    if kind == "CRV3":
        v = _crv3(state, clusters[0], ssc_lit, model, k + k_fe)
    else:
        v = sandwich_vcov(
            state["bread"],
            state["scores"],
            kind=kind,
            model=model,
            ssc=ssc_lit,
            n=n,
            k=k,
            k_fe=k_fe,
            clusters=clusters,
            sigma2_rss=state.get("rss"),
        )
    # the fit ran on y / s and X / x_scale: OLS variances scale with s**2; PPML's sandwich is
    # invariant, but its model-based (iid) variance is the inverse information (scales with
    # 1 / s); and the covariance of b = b_s / x_scale is divided by x_scale x_scale'
    s = float(state.get("y_scale", 1.0))
    xs = state.get("x_scale")
    scaled = v
    with np.errstate(over="ignore", under="ignore"):
        v = v * (s * s if model == "ols" else 1.0 / s if kind == "iid" else 1.0)
        if xs is not None and len(xs):
            v = v / np.outer(xs, xs)
    lost = (np.diag(scaled) > 0) & ~(np.diag(v) > 0)
    if not np.all(np.isfinite(v)) or lost.any():
        names = list(state.get("xnames", []))
        bad = [names[j] for j in np.flatnonzero(lost | ~np.isfinite(np.diag(v)))] if names else []
        raise ConvergenceError(
            f"{model} covariance ({vcov_label(kind, cl_names)}) cannot be represented in "
            f"float64 (variances of {bad or 'some regressors'} overflow or underflow). "
            "Rescale the outcome or the regressors (e.g. divide by a power of ten) and check "
            "them for extreme values."
        )
    return v, vcov_label(kind, cl_names), ssc_lit


def _crv3(
    state: dict[str, Any],
    cluster: IntArray,
    ssc: Literal["stata", "fixest"],
    model: Literal["ppml", "ols"],
    df_k: int,
) -> FloatArray:
    """CRV3 from the fit state: exact for OLS, one-step leave-out update for PPML.

    Computed in the fit's own units (outcome divided by ``y_scale``, regressors by
    ``x_scale``), like the sandwich, and scaled back by :func:`covariance`.
    """
    s = float(state.get("y_scale", 1.0))
    y, mu, p = state["y"] / s, state["mu"] / s, state["weights"]
    if model == "ppml":
        w, u = p * mu, (y - mu) / mu
    else:
        w, u = p, y - mu
    g = int(np.unique(cluster).shape[0])
    factor = crv3_factor(ssc, g, int(y.shape[0]), df_k)
    return crv3_vcov(
        state["X_tilde"], w, u, state["bread"], state["fe_codes"], cluster, factor=factor
    )


@dataclass(frozen=True)
class Refit:
    """The same model and options, re-estimated on part of the estimation sample.

    Used by the split-panel jackknife (:mod:`ca_trade.estimate.jackknife`). Calling it with
    positions in the estimation sample returns the coefficients and the number of
    observations of the refit; separation and singleton warnings of the subsample fits are
    expected there and are not re-emitted.

    Parameters
    ----------
    model : {"ppml", "ols"}
    formula : str
    data : pandas.DataFrame
        The full input data.
    rows : ndarray of int
        Positions in ``data`` of the estimation sample.
    weights, offset : str, ndarray or None
        As given to the fit; arrays cover all rows of ``data``.
    options : dict
        The remaining keyword options of :func:`fit`.
    """

    model: Literal["ppml", "ols"]
    formula: str
    data: pd.DataFrame
    rows: IntArray
    weights: str | FloatArray | None
    offset: str | FloatArray | None
    options: dict[str, Any]

    def __call__(self, positions: IntArray) -> tuple[pd.Series, int]:
        """Re-estimate on the estimation-sample observations at ``positions``."""
        pos = self.rows[np.asarray(positions, dtype=np.int64)]
        w = self.weights[pos] if isinstance(self.weights, np.ndarray) else self.weights
        off = self.offset[pos] if isinstance(self.offset, np.ndarray) else self.offset
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SeparationWarning)
            warnings.simplefilter("ignore", SingletonWarning)
            res = fit(
                self.model,
                self.formula,
                self.data.iloc[pos],
                weights=w,
                offset=off,
                vcov="iid",
                **self.options,
            )
        return res.params, res.nobs


def fit(
    model: Literal["ppml", "ols"],
    formula: str,
    data: Any,
    *,
    weights: Any = None,
    offset: Any = None,
    vcov: Any = "hetero",
    ssc: str = "stata",
    tol: float = 1e-8,
    maxiter: int = 1000,
    separation: Sequence[str] | str | None = ("fe", "ir"),
    drop_singletons: bool = True,
    fixef_tol: float = 1e-10,
    fixef_maxiter: int = 10_000,
    on_maxiter: str = "warn",
    safe_formula: bool = False,
) -> GravityResults:
    """Run the estimation pipeline; see :func:`ca_trade.ppml` for the parameters.

    Returns
    -------
    GravityResults
    """
    methods = check_options(
        ssc=ssc,
        on_maxiter=on_maxiter,
        separation=separation,
        tol=tol,
        fixef_tol=fixef_tol,
        maxiter=maxiter,
        fixef_maxiter=fixef_maxiter,
        drop_singletons=drop_singletons,
        safe_formula=safe_formula,
    )
    parse_vcov(vcov)
    parsed = parse_formula(formula, safe=bool(safe_formula))
    df = to_pandas(data)
    design = build_design(parsed, df)
    scan = design.scan.merge(scan_columns(df, _cluster_columns(vcov, parsed, df)))
    w, w_scan = _vector(weights, df, "weights")
    off, off_scan = _vector(offset, df, "offset")
    for part in (w_scan, off_scan):
        scan = scan if part is None else scan.merge(part)
    _announce(scan, len(df))
    missing = design.missing | scan.dropped
    zero_weight = np.zeros_like(missing)
    if w is not None:
        if np.any(w[~missing] < 0):
            first = int(np.flatnonzero((w < 0) & ~missing)[0])
            raise DataValidationError(
                f"weights must be non-negative; weight {w[first]} at row {df.index[first]!r}"
            )
        zero_weight = (w == 0) & ~missing
    y = design.y
    used = ~missing & ~zero_weight
    if model == "ppml" and np.any(y[used] < 0):
        first = int(np.flatnonzero((y < 0) & used)[0])
        raise DataValidationError(
            f"PPML needs a non-negative outcome; {parsed.depvar!r} is {y[first]} at row "
            f"{df.index[first]!r}. Use ct.ols for signed outcomes."
        )
    index = df.index.to_numpy()
    drop_rows: dict[str, AnyArray] = {
        "missing": index[missing & ~scan.non_finite],
        "non_finite": index[scan.non_finite],
        "zero_weight": index[zero_weight],
    }
    idx = np.flatnonzero(used)
    codes = [c[idx] for c in design.fe_codes]
    X = design.X[idx]
    yk = y[idx]
    wk = None if w is None else w[idx]
    offk = None if off is None else off[idx]
    if codes and (drop_singletons or (model == "ppml" and methods)):
        masks = _separation(
            yk,
            X,
            codes,
            wk,
            methods if model == "ppml" else (),
            drop_singletons,
            not parsed.fixef,
        )
    elif model == "ppml" and methods:
        masks = _separation(yk, X, codes, wk, methods, False, not parsed.fixef)
    else:
        masks = {}
    bad = np.zeros(idx.shape[0], dtype=bool)
    for reason, mask in masks.items():
        drop_rows[reason] = index[idx[mask]]
        bad |= mask
        if mask.any():
            cls = SingletonWarning if reason == "singleton" else SeparationWarning
            warnings.warn(
                f"{int(mask.sum())} observations dropped ({reason.replace('_', ' ')}); "
                f"their row labels are in res.dropped[{reason!r}]",
                cls,
                stacklevel=3,
            )
    if bad.any():
        sel = ~bad
        idx, X, yk = idx[sel], X[sel], yk[sel]
        codes = [c[sel] for c in codes]
        wk = None if wk is None else wk[sel]
        offk = None if offk is None else offk[sel]
    if idx.shape[0] == 0:
        raise DataValidationError("no observations left after dropping missing/separated rows")
    if model == "ppml" and not np.any(yk > 0):
        raise DataValidationError(f"outcome {parsed.depvar!r} is zero in every observation")
    fe = FixedEffects.from_codes(codes) if codes else None
    fe_codes_dense = list(fe.codes) if fe is not None else []
    fe_levels: list[list[str]] = []
    for c_orig, lev, c_dense in zip(codes, design.fe_levels, fe_codes_dense):
        uniq = np.unique(c_orig)  # dense code g corresponds to original code uniq[g]
        fe_levels.append([lev[int(u)] for u in uniq])
        del c_dense

    # the fit runs on y / y_scale (a power of two) and reports on the original scale
    y_scale = _outcome_scale(model, yk, wk, bool(codes) or "Intercept" in design.xnames)
    if not math.isfinite(y_scale * y_scale) and model == "ols":
        raise DataValidationError(
            f"outcome {parsed.depvar!r} reaches {float(np.max(np.abs(yk))):.3g}: its squares "
            "overflow float64, so OLS variances cannot be computed; divide it by a power of ten"
        )
    y_orig, yk = yk, yk / y_scale
    if model == "ols" and offk is not None:
        offk = offk / y_scale
    # ... and on X / x_scale (a power of two per column), so regressors in any units work
    x_scale = np.array([_pow2(float(np.max(np.abs(X[:, j])))) for j in range(X.shape[1])])
    X = X / x_scale
    # collinearity on the partialled-out regressors at the initial weights; the demeaned
    # block [z0, X] is the first IRLS iteration's solution, so it is handed on (not redone)
    pw = np.ones(idx.shape[0]) if wk is None else wk
    if model == "ppml":
        w0, z0 = initial_working(yk, wk, offk)
    else:
        w0, z0 = pw, (yk if offk is None else yk - offk)
    xnames = list(design.xnames)
    block: FloatArray | None = None
    block_ok = True
    collinear: list[str] = []
    if fe is not None:
        block = np.empty((yk.shape[0], X.shape[1] + 1))
        block[:, 0] = z0
        block[:, 1:] = X
        scale = np.sqrt(np.einsum("i,ij,ij->j", w0, block, block))
        block_ok, _ = demean_inplace(
            block, fe, w0, scale, tol=min(1e-10, fixef_tol), maxiter=fixef_maxiter
        )
    del z0
    if X.shape[1]:
        Xt0 = X if block is None else block[:, 1:]
        drop = find_collinear(Xt0, X, w0)
        if drop:
            names = [xnames[j] for j in drop]
            warnings.warn(
                f"regressors {names} are collinear with the fixed effects or other regressors "
                "and were dropped; they are listed in res.collinear",
                CollinearityWarning,
                stacklevel=3,
            )
            keepc = [j for j in range(X.shape[1]) if j not in drop]
            X = X[:, keepc]
            x_scale = x_scale[keepc]
            if block is not None:
                block = block[:, [0] + [j + 1 for j in keepc]]
            xnames = [xnames[j] for j in keepc]
        collinear = [design.xnames[j] for j in drop]
    X = np.ascontiguousarray(X)
    if model == "ppml":
        res = poisson_irls(
            yk,
            X,
            fe,
            weights=wk,
            offset=offk,
            tol=tol,
            maxiter=maxiter,
            fixef_tol=fixef_tol,
            fixef_maxiter=fixef_maxiter,
            init_block=block,
            init_converged=block_ok,
        )
        u = yk - res.mu
        scores = res.X_tilde * (pw * u)[:, None]
        mu_null = np.full_like(yk, float((pw * yk).sum() / pw.sum()))
        null_dev = poisson_deviance(yk, mu_null, pw) * y_scale
        rss = None
        diverging = _diverging_names(res.diverging, res.beta_step, X, xnames)
        if res.diverging.any():
            _warn_divergence(int(res.diverging.sum()), diverging, methods)
    else:
        res = wls(
            yk,
            X,
            fe,
            weights=wk,
            offset=offk,
            fixef_tol=fixef_tol,
            fixef_maxiter=fixef_maxiter,
            init_block=block,
            init_converged=block_ok,
        )
        u = yk - res.mu
        scores = res.X_tilde * (pw * u)[:, None]
        ybar = float((pw * yk).sum() / pw.sum())
        null_dev = float((pw * (yk - ybar) ** 2).sum()) * (y_scale * y_scale)
        rss = res.deviance
        diverging = []
    if not res.converged:
        msg = (
            f"{model} did not converge in {res.n_iter} iterations (maxiter={maxiter}, tol={tol}, "
            f"demeaning converged: {res.fixef_converged}); raise maxiter or fixef_maxiter"
        )
        if on_maxiter == "raise":
            raise ConvergenceError(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    Xt = res.X_tilde
    k = Xt.shape[1]
    bread = np.linalg.inv((Xt * res.weights[:, None]).T @ Xt) if k else np.zeros((0, 0))
    bread = 0.5 * (bread + bread.T)
    beta, eta, mu, deviance = _unscale(model, res, y_scale, xnames)
    off_part = np.zeros_like(yk) if offk is None else (offk if model == "ppml" else offk * y_scale)
    fe_sum = eta - off_part - (X @ beta if k else 0.0)
    beta = beta / x_scale
    state: dict[str, Any] = {
        "data": df,
        "rows": idx,
        "index": index[idx],
        "y": y_orig,
        "weights": pw,
        "mu": mu,
        "eta": eta,
        "X_tilde": Xt,
        "bread": bread,
        "scores": scores,
        "rss": rss,
        "y_scale": y_scale,
        "x_scale": x_scale,
        "xnames": xnames,
        "fe_codes": fe_codes_dense,
        "fe_levels": fe_levels,
        "fe_cols": list(parsed.fixef),
        "fixef_vars": parsed.fixef_names,
        "fe_sum": fe_sum,
        "model_spec": design.model_spec,
        "refit": Refit(
            model=model,
            formula=formula,
            data=df,
            rows=idx,
            weights=weights if isinstance(weights, str) or weights is None else w,
            offset=offset if isinstance(offset, str) or offset is None else off,
            options={
                "ssc": ssc,
                "tol": tol,
                "maxiter": maxiter,
                "separation": separation,
                "drop_singletons": drop_singletons,
                "fixef_tol": fixef_tol,
                "fixef_maxiter": fixef_maxiter,
                "on_maxiter": on_maxiter,
            },
        ),
    }
    params = pd.Series(beta, index=pd.Index(xnames), name=parsed.depvar)
    _require_finite(model, params, deviance, y_scale)
    v, label, ssc_lit = covariance(state, vcov, ssc, model)
    extra = [c for c in (weights, offset) if isinstance(c, str)]
    if isinstance(vcov, dict):
        extra += [s.strip() for s in next(iter(vcov.values())).split("+")]
    options = {
        "weights": weights if isinstance(weights, str) or weights is None else "<array>",
        "offset": offset if isinstance(offset, str) or offset is None else "<array>",
        "vcov": vcov,
        "ssc": ssc_lit,
        "tol": tol,
        "maxiter": maxiter,
        "separation": list(methods),
        "drop_singletons": drop_singletons,
        "fixef_tol": fixef_tol,
        "safe_formula": bool(safe_formula),
    }
    provenance = {
        "model": model,
        "formula": formula,
        "options": options,
        "data_sha256": _sha256(df, formula, extra),
        "package_version": __version__,
        "n_rows": len(df),
        "nobs": int(idx.shape[0]),
    }
    return GravityResults(
        model=model,
        formula=formula,
        depvar=parsed.depvar,
        fixef_vars=parsed.fixef_names,
        params=params,
        vcov=pd.DataFrame(v, index=params.index, columns=params.index),
        vcov_type=label,
        ssc=ssc_lit,
        nobs=int(idx.shape[0]),
        deviance=deviance,
        null_deviance=null_dev,
        converged=bool(res.converged) and not diverging,
        n_iter=int(res.n_iter),
        dropped=Dropped(drop_rows),
        collinear=collinear,
        tol=tol,
        provenance=provenance,
        _state=state,
    )
