"""The estimation shared by :func:`ca_trade.ppml` and :func:`ca_trade.ols`: :func:`fit`.

:func:`fit` checks the options, parses the formula and materialises it, then chains the named
steps of :mod:`ca_trade.estimate.fit` (estimation sample, unidentified observations,
partialling out and collinearity, the solve, provenance) around a frozen
:class:`~ca_trade.estimate.state.FitState`, computes the covariance chosen from
:mod:`ca_trade.estimate.covariance` and returns a
:class:`~ca_trade.estimate.results.GravityResults`.

Examples
--------
>>> from ca_trade.estimate.model import check_options
>>> check_options(ssc="stata", on_maxiter="warn", separation=("fe", "ir"))
('fe', 'ir')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ca_trade._synthetic import frame_is_synthetic
from ca_trade._typing import IntArray
from ca_trade.estimate.covariance import clusters_of, covariance, covariance_estimator
from ca_trade.estimate.demean import FixedEffects
from ca_trade.estimate.fingerprint import fingerprint_later, fit_provenance, hashed_columns
from ca_trade.estimate.fit import (
    Partialled,
    Solution,
    drop_unidentified,
    estimation_sample,
    partial_out,
    require_finite,
    solve,
)
from ca_trade.estimate.formula import ParsedFormula, build_design, parse_formula, to_pandas
from ca_trade.estimate.results import Dropped, GravityResults
from ca_trade.estimate.state import (
    DataFingerprint,
    EstimationSample,
    FitOptions,
    FitState,
    Model,
)
from ca_trade.estimate.vcov import cluster_codes
from ca_trade.exceptions import SpecificationError

__all__ = ["check_options", "fit", "fit_options"]


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


def fit_options(
    *,
    ssc: str = "stata",
    on_maxiter: str = "warn",
    separation: Sequence[str] | str | None = ("fe", "ir"),
    tol: Any = 1e-8,
    fixef_tol: Any = 1e-10,
    maxiter: Any = 1000,
    fixef_maxiter: Any = 10_000,
    drop_singletons: Any = True,
    safe_formula: Any = False,
    weights: Any = None,
    offset: Any = None,
    vcov: Any = "hetero",
) -> FitOptions:
    """Check the options of a fit (:func:`check_options`) and bundle the numerical ones.

    ``weights``, ``offset`` and ``vcov`` are accepted so that every option of a fit can be
    passed at once; they are checked where they are read.

    Returns
    -------
    FitOptions

    Examples
    --------
    >>> fit_options(separation="ir", maxiter=50).separation
    ('ir',)
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
    return FitOptions(
        tol=tol,
        maxiter=maxiter,
        separation=methods,
        drop_singletons=drop_singletons,
        fixef_tol=fixef_tol,
        fixef_maxiter=fixef_maxiter,
        on_maxiter="raise" if on_maxiter == "raise" else "warn",
    )


def _level_labels(
    codes: Sequence[IntArray], levels: Sequence[Sequence[str]], fe: FixedEffects | None
) -> tuple[tuple[str, ...], ...]:
    """Labels of the levels left in the estimation sample, by dense code."""
    # dense code g corresponds to the design's code uniq[g]: the sorted distinct codes, which
    # FixedEffects.from_codes already found (its labels) when it factorised these codes
    uniq = fe.labels if fe is not None and fe.labels else tuple(np.unique(c) for c in codes)
    return tuple(tuple(lev[u] for u in un.tolist()) for un, lev in zip(uniq, levels))


def _fit_state(
    model: Model,
    parsed: ParsedFormula,
    labels: tuple[tuple[str, ...], ...],
    model_spec: Any,
    sample: EstimationSample,
    part: Partialled,
    sol: Solution,
    options: FitOptions,
    clusters: dict[str, IntArray],
    data: DataFingerprint,
) -> FitState:
    """Bundle the frozen state of a fit: its sample (dense codes), options, fitted arrays."""
    return FitState(
        model=model,
        sample=sample,
        options=options,
        xnames=part.xnames,
        fixef_vars=tuple(parsed.fixef_names),
        fe_columns=tuple(parsed.fixef),
        fe_levels=labels,
        model_spec=model_spec,
        clusters=clusters,
        data=data,
        mu=sol.mu,
        eta=sol.eta,
        fe_sum=sol.fe_sum,
        X_tilde=sol.X_tilde,
        bread=sol.bread,
        weighted_residuals=sol.weighted_residuals,
        rss=sol.rss,
        y_scale=part.y_scale,
        x_scale=part.x_scale,
    )


def fit(
    model: Model,
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
    """Run the estimation; see :func:`ca_trade.ppml` for the parameters.

    Returns
    -------
    GravityResults
    """
    given: dict[str, Any] = {
        "weights": weights,
        "offset": offset,
        "vcov": vcov,
        "ssc": ssc,
        "tol": tol,
        "maxiter": maxiter,
        "separation": separation,
        "drop_singletons": drop_singletons,
        "fixef_tol": fixef_tol,
        "safe_formula": safe_formula,
    }
    options = fit_options(**given, fixef_maxiter=fixef_maxiter, on_maxiter=on_maxiter)
    estimator = covariance_estimator(vcov, ssc)
    parsed = parse_formula(formula, safe=bool(safe_formula))
    df = to_pandas(data)
    data_key = fingerprint_later(df, formula, hashed_columns(weights, offset, vcov))
    design = build_design(parsed, df)
    named = [c for c in estimator.cluster if c not in parsed.fixef_names and c in df]
    sample, dropped = estimation_sample(
        model, parsed.depvar, design, df, weights=weights, offset=offset, cluster_columns=named
    )
    fe_levels, model_spec = design.fe_levels, design.model_spec
    del design  # the sample holds what is needed of it
    sample, unidentified = drop_unidentified(model, sample, options, parsed.depvar)  # step 2
    # the dense codes replace the design's (not needed again) before the partialling out
    fe = FixedEffects.from_codes(list(sample.fe_codes)) if sample.fe_codes else None
    labels = _level_labels(sample.fe_codes, fe_levels, fe)
    sample = replace(sample, fe_codes=tuple(fe.codes) if fe is not None else ())
    part = partial_out(model, sample, options, parsed.depvar, fe)  # step 3
    del fe
    sol = solve(model, part, options)  # step 4
    clusters = dict(zip(named, cluster_codes(named, df, sample.rows, (), ())))
    hashed = data_key()
    state = _fit_state(
        model, parsed, labels, model_spec, sample, part, sol, options, clusters, hashed
    )
    params = pd.Series(sol.beta, index=pd.Index(list(part.xnames)), name=parsed.depvar)
    require_finite(model, params, sol.deviance, part.y_scale)
    collinear = list(part.collinear)
    del part  # the scaled data and the demeaned block: the state holds what is kept
    v = covariance(state, estimator, clusters_of(state, estimator.cluster, vcov=vcov))
    recorded = given | {"ssc": estimator.ssc, "separation": list(options.separation)}
    recorded["safe_formula"] = bool(safe_formula)
    return GravityResults(
        model=model,
        formula=formula,
        depvar=parsed.depvar,
        fixef_vars=parsed.fixef_names,
        params=params,
        vcov=pd.DataFrame(v, index=params.index, columns=params.index),
        vcov_type=estimator.label,
        ssc=estimator.ssc,
        nobs=state.nobs,
        deviance=sol.deviance,
        null_deviance=sol.null_deviance,
        converged=sol.converged,
        n_iter=sol.n_iter,
        dropped=Dropped(dropped | unidentified),
        collinear=collinear,
        tol=tol,
        provenance=fit_provenance(  # step 5
            model, formula, state.data, state.nobs, recorded, synthetic=frame_is_synthetic(data)
        ),
        _state=state,
    )
