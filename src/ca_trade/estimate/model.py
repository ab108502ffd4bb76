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
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ca_trade.estimate.crv3 import crv3_factor, crv3_vcov
from ca_trade.estimate.demean import FixedEffects, demean_inplace
from ca_trade.estimate.formula import build_design, parse_formula, to_pandas
from ca_trade.estimate.irls import (
    find_collinear,
    initial_working,
    poisson_deviance,
    poisson_irls,
    wls,
)
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
    SeparationWarning,
    SingletonWarning,
    SpecificationError,
)

__all__ = ["Refit", "check_options", "covariance", "fit"]

FloatArray = npt.NDArray[np.float64]


def check_options(
    *, ssc: str, on_maxiter: str, separation: Sequence[str] | str | None
) -> tuple[str, ...]:
    """Validate options shared by both estimators; return the separation methods.

    Parameters
    ----------
    ssc : str
    on_maxiter : str
    separation : sequence of {"fe", "ir"} or None

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> check_options(ssc="fixest", on_maxiter="raise", separation=None)
    ()
    """
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


def _vector(arg: Any, df: pd.DataFrame, name: str) -> FloatArray | None:
    if arg is None:
        return None
    if isinstance(arg, str):
        if arg not in df.columns:
            raise SpecificationError(f"{name} column {arg!r} is not in the data")
        return df[arg].to_numpy(dtype=np.float64)
    v = np.asarray(arg, dtype=np.float64)
    if v.shape != (len(df),):
        raise SpecificationError(f"{name} has shape {v.shape}; expected ({len(df)},)")
    return v


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
    codes: list[npt.NDArray[np.int64]],
    weights: FloatArray | None,
    methods: tuple[str, ...],
    singletons: bool,
    intercept: bool,
) -> dict[str, npt.NDArray[np.bool_]]:
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
        cl_names, state["data"], state["rows"], state["fixef_vars"], state["fe_codes"]
    )
    fe_codes: list[npt.NDArray[np.int64]] = state["fe_codes"]
    clustered = kind in ("CRV1", "CRV3")
    if ssc_lit == "fixest":
        k_fe = fe_dof_fixest(fe_codes, clusters if clustered else ())
    else:
        nested = [clustered and any(is_nested(f, cl) for cl in clusters[:1]) for f in fe_codes]
        k_fe = fe_dof(fe_codes, nested)
    n, k = state["X_tilde"].shape
    if kind == "CRV3":
        return (
            _crv3(state, clusters[0], ssc_lit, model, k + k_fe),
            vcov_label(kind, cl_names),
            ssc_lit,
        )
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
    return v, vcov_label(kind, cl_names), ssc_lit


def _crv3(
    state: dict[str, Any],
    cluster: npt.NDArray[np.int64],
    ssc: Literal["stata", "fixest"],
    model: Literal["ppml", "ols"],
    df_k: int,
) -> FloatArray:
    """CRV3 from the fit state: exact for OLS, one-step leave-out update for PPML."""
    y, mu, p = state["y"], state["mu"], state["weights"]
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
    rows: npt.NDArray[np.int64]
    weights: str | FloatArray | None
    offset: str | FloatArray | None
    options: dict[str, Any]

    def __call__(self, positions: npt.NDArray[np.int64]) -> tuple[pd.Series, int]:
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
) -> GravityResults:
    """Run the estimation pipeline; see :func:`ca_trade.ppml` for the parameters.

    Returns
    -------
    GravityResults
    """
    import ca_trade

    methods = check_options(ssc=ssc, on_maxiter=on_maxiter, separation=separation)
    parse_vcov(vcov)
    if tol <= 0 or fixef_tol <= 0 or maxiter < 1 or fixef_maxiter < 1:
        raise SpecificationError("tol and fixef_tol must be > 0, maxiter and fixef_maxiter >= 1")
    parsed = parse_formula(formula)
    df = to_pandas(data)
    design = build_design(parsed, df)
    w = _vector(weights, df, "weights")
    off = _vector(offset, df, "offset")
    missing = design.missing.copy()
    if w is not None:
        missing |= ~np.isfinite(w)
        if np.any(w[~missing] < 0):
            raise DataValidationError("weights must be non-negative")
        missing |= w == 0
    if off is not None:
        missing |= ~np.isfinite(off)
    y = design.y
    if model == "ppml" and np.any(y[~missing] < 0):
        first = int(np.flatnonzero((y < 0) & ~missing)[0])
        raise DataValidationError(
            f"PPML needs a non-negative outcome; {parsed.depvar!r} is {y[first]} at row "
            f"{df.index[first]!r}. Use ct.ols for signed outcomes."
        )
    index = df.index.to_numpy()
    drop_rows: dict[str, npt.NDArray[Any]] = {"missing": index[missing]}
    keep = ~missing
    idx = np.flatnonzero(keep)
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
        null_dev = poisson_deviance(yk, mu_null, pw)
        rss = None
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
        null_dev = float((pw * (yk - ybar) ** 2).sum())
        rss = res.deviance
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
    off_part = np.zeros_like(yk) if offk is None else offk
    fe_sum = res.eta - off_part - (X @ res.beta if k else 0.0)
    state: dict[str, Any] = {
        "data": df,
        "rows": idx,
        "index": index[idx],
        "y": yk,
        "weights": pw,
        "mu": res.mu,
        "eta": res.eta,
        "X_tilde": Xt,
        "bread": bread,
        "scores": scores,
        "rss": rss,
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
    v, label, ssc_lit = covariance(state, vcov, ssc, model)
    params = pd.Series(res.beta, index=pd.Index(xnames), name=parsed.depvar)
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
    }
    provenance = {
        "model": model,
        "formula": formula,
        "options": options,
        "data_sha256": _sha256(df, formula, extra),
        "package_version": ca_trade.__version__,
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
        deviance=float(res.deviance),
        null_deviance=null_dev,
        converged=bool(res.converged),
        n_iter=int(res.n_iter),
        dropped=Dropped(drop_rows),
        collinear=collinear,
        tol=tol,
        provenance=provenance,
        _state=state,
    )
