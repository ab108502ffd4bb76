"""Identification checks for Poisson (PPML) models with high-dimensional fixed effects.

A Poisson pseudo-maximum-likelihood estimate does not exist when some observations are
*separated*: there is a linear combination ``z = X b + (fixed effects)`` with ``z = 0`` on every
observation with ``y > 0`` and ``z >= 0`` on the observations with ``y = 0``, strictly positive
on at least one of them. Those observations (``y = 0, z > 0``) have a fitted mean that goes to
zero as the estimates go to infinity and must be dropped (Santos Silva & Tenreyro 2010;
Correia, Guimarães & Zylkin 2021, arXiv:1903.01633). This module finds them, and *singletons*
(alone in a fixed-effect level; they inflate standard errors, Correia 2015), as ppmlhdfe does:

- :func:`drop_singletons`: iterated removal of fixed-effect levels with a single observation;
- :func:`fe_separation`: fixed-effect levels whose outcome is zero on every observation,
  iterated together with singleton removal to a fixed point (ppmlhdfe's ``fe`` method);
- :func:`rectifier_separation`: the iterated rectifier (ppmlhdfe's ``relu`` method), which also
  finds separation caused by regressors and by combinations of regressors and fixed effects;
- :func:`find_separated`: all of the above in ppmlhdfe's order, iterated until nothing changes,
  returning a :class:`SeparationResult` with one mask per reason.

Fixed effects are lists of integer code arrays (e.g. from ``pandas.factorize``); results are
boolean masks over the observations given; inputs are never modified.

The iterated rectifier solves, repeatedly, a least-squares problem with equality constraints by
the method of weighting: regress a working outcome ``u`` (initially ``1`` where ``y == 0`` and
``0`` elsewhere) on the regressors and the fixed effects, with weight ``M = ceil(eps ** -0.5)``
(about 6.7e7) on the observations with ``y > 0`` (forcing the fit ``û`` to zero there) and 1 on
the others. If ``û >= 0`` on every ``y == 0`` observation, those with ``û > 0`` are separated
(``û`` is the certificate ``z``); otherwise ``u`` is replaced by ``max(û, 0)`` on the ``y == 0``
observations and the regression is repeated. Three exact devices, checked against a linear
program in the tests, make it complete and fast where the plain algorithm is not (details and
proofs in ``docs/methods-separation.md``): a dual (Farkas) certificate proves rows *not*
separated, candidate rows are verified directly every few iterations, and the rectifier is
rerun on the remaining rows until a run finds nothing.

The weighted regressions are solved by LSMR on the sparse design ``sqrt(w) [X, dummies]``, as
ppmlhdfe does; the HDFE kernel of :mod:`ca_trade.estimate.demean` stalls on them (weights
spanning eight orders of magnitude; ppmlhdfe dataset 07). Before any of that, a cheap Gordan
certificate (one well-conditioned weighted least-squares fit with weight 100, solved by that
kernel) proves in most real panels that nothing is separated, at a third of the cost.

Examples
--------
>>> import numpy as np
>>> from ca_trade.estimate.separation import find_separated
>>> y = np.array([0.0, 0.0, 1.0, 2.0, 0.0, 3.0])
>>> fe = [np.array([0, 0, 1, 1, 2, 2])]
>>> res = find_separated(y, None, fe)
>>> res.separated_fe.nonzero()[0].tolist()
[0, 1]
>>> res.counts
{'singleton': 0, 'separated_fe': 2, 'separated_ir': 0}
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from ca_trade._typing import BoolArray, FloatArray, IntArray
from ca_trade.estimate._separation_kernels import (
    dense_levels,
    drop_singletons_inplace,
    singleton_pass,
    zero_levels,
)
from ca_trade.estimate._separation_lsq import WeightedDesign, certificate_on_levels
from ca_trade.exceptions import (
    ConvergenceError,
    ConvergenceWarning,
    DataValidationError,
    SpecificationError,
)

__all__ = [
    "SeparationResult",
    "drop_singletons",
    "fe_separation",
    "find_separated",
    "rectifier_separation",
]


#: Weight on the ``y > 0`` observations in the method of weighting (Van Loan 1985 rule of thumb).
_M_WEIGHT = float(np.ceil(np.finfo(np.float64).eps ** -0.5))
#: Residuals smaller than this in absolute value are treated as exact zeros (ppmlhdfe's value).
_ZERO_TOL = 1e-8
#: Shrinking rounds of the certificate test of rectifier candidates.
_CERTIFY_ROUNDS = 3
#: Largest weight the acceleration gives a zero row whose fit stays negative.
_ACCEL_MAX_WEIGHT = 256.0


# --- Input validation -----------------------------------------------------------------------------


def _validate_codes(fe_codes: Sequence[ArrayLike], n: int | None = None) -> list[IntArray]:
    """Return fixed-effect codes as dense ``intp`` arrays ``0..G-1``, checking their shape."""
    if isinstance(fe_codes, np.ndarray) and fe_codes.ndim == 2:
        fe_codes = list(fe_codes)
    out: list[IntArray] = []
    for j, raw in enumerate(fe_codes):
        codes = np.asarray(raw)
        if codes.ndim != 1:
            raise SpecificationError(
                f"fixed effect {j}: codes must be a 1-D array, got shape {codes.shape}; pass one "
                "integer code per observation (e.g. from pandas.factorize)"
            )
        if n is None:
            n = codes.shape[0]
        if codes.shape[0] != n:
            raise SpecificationError(
                f"fixed effect {j}: {codes.shape[0]} codes for {n} observations; every fixed "
                "effect needs one code per observation"
            )
        if not np.issubdtype(codes.dtype, np.integer):
            raise SpecificationError(
                f"fixed effect {j}: codes must be integers, got dtype {codes.dtype}; factorize "
                "the column first (pandas.factorize)"
            )
        if codes.size and codes.min() < 0:
            first = int(np.flatnonzero(codes < 0)[0])
            raise DataValidationError(
                f"fixed effect {j}: negative code {int(codes[first])} at observation {first} "
                "(missing value?); drop rows with missing fixed effects before this check"
            )
        if codes.size and int(codes.max()) >= 2 * max(n, 1):
            codes = np.unique(codes, return_inverse=True)[1].reshape(-1)
        out.append(codes.astype(np.intp, copy=False))
    return out


def _validate_y(y: ArrayLike) -> FloatArray:
    """Return the outcome as a float vector, checking it is finite and non-negative."""
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim != 1:
        raise SpecificationError(f"y must be a 1-D array, got shape {arr.shape}")
    return _check_nonnegative(arr, "y", " for Poisson models", "; drop or fix them first")


def _check_nonnegative(arr: FloatArray, name: str, context: str, hint: str) -> FloatArray:
    """Return ``arr`` if every value is finite and non-negative; else name the first bad one."""
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataValidationError(
            f"{name} must be finite and non-negative{context}: {int(bad.sum())} invalid "
            f"values (first: observation {first}, value {arr[first]!r}){hint}"
        )
    return arr


def _validate_x(x: ArrayLike | None, n: int) -> FloatArray:
    """Return regressors as a finite ``(n, k)`` float matrix (``k`` may be 0)."""
    if x is None:
        return np.empty((n, 0), dtype=np.float64)
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n:
        raise SpecificationError(
            f"X must have shape ({n}, k) to match y, got {arr.shape}; pass None for no regressors"
        )
    if not np.isfinite(arr).all():
        row, col = (int(v[0]) for v in np.nonzero(~np.isfinite(arr)))
        raise DataValidationError(
            f"X has non-finite values (first: observation {row}, column {col}); drop them first"
        )
    return arr


def _validate_weights(weights: ArrayLike | None, n: int) -> FloatArray | None:
    """Return user weights as a float vector, checking they are finite and non-negative."""
    if weights is None:
        return None
    arr = np.asarray(weights, dtype=np.float64)
    if arr.shape != (n,):
        raise SpecificationError(f"weights must have shape ({n},) to match y, got {arr.shape}")
    return _check_nonnegative(arr, "weights", "", "")


# --- Singletons and fixed-effect separation -------------------------------------------------------


def _kernel_codes(codes: Sequence[IntArray]) -> tuple[IntArray, ...]:
    """Return the codes as a tuple of contiguous int64 arrays (the compiled passes' input)."""
    return tuple(np.ascontiguousarray(c, dtype=np.int64) for c in codes)


def _singleton_pass(codes: list[IntArray], keep: BoolArray) -> bool:
    """Drop (in place) singletons of every fixed effect once; return whether any were dropped."""
    return bool(codes) and bool(singleton_pass(_kernel_codes(codes), keep))


def drop_singletons(fe_codes: Sequence[ArrayLike], keep: ArrayLike | None = None) -> BoolArray:
    """Keep-mask after iteratively dropping observations alone in a fixed-effect level.

    A singleton is fitted exactly by its fixed effect, carries no information on the other
    parameters and biases clustered standard errors (Correia 2015). Removing one can create
    another, so ``O(n)`` passes over all fixed effects repeat until one removes nothing.

    Parameters
    ----------
    fe_codes : sequence of array_like of int
        One integer code array per fixed effect, each of length ``n`` (codes need not be dense).
    keep : array_like of bool, optional
        Observations to consider (default: all); observations outside it are ignored and
        stay ``False`` in the result.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` for observations that remain, shape ``(n,)``. With no fixed effects, every
        observation in ``keep`` remains.

    Examples
    --------
    >>> import numpy as np
    >>> exporter = np.array([0, 0, 1, 1, 1, 2])
    >>> importer = np.array([0, 1, 0, 1, 2, 2])
    >>> drop_singletons([exporter, importer]).tolist()
    [True, True, True, True, False, False]
    """
    codes = _validate_codes(fe_codes, None if keep is None else np.asarray(keep).shape[0])
    n = codes[0].shape[0] if codes else (0 if keep is None else np.asarray(keep).shape[0])
    mask = np.ones(n, dtype=bool) if keep is None else np.array(keep, dtype=bool, copy=True)
    if mask.shape != (n,):
        raise SpecificationError(f"keep must have shape ({n},), got {mask.shape}")
    if not codes:
        return mask
    drop_singletons_inplace(_kernel_codes(codes), mask)
    return mask


def _fe_separation_pass(y: FloatArray, codes: list[IntArray], keep: BoolArray) -> BoolArray:
    """Observations in ``keep`` whose level of some fixed effect has only zero outcomes."""
    return np.asarray(zero_levels(y, _kernel_codes(codes), keep), dtype=bool)


def fe_separation(
    y: ArrayLike,
    fe_codes: Sequence[ArrayLike],
    *,
    singletons: bool = True,
    keep: ArrayLike | None = None,
) -> BoolArray:
    """Observations separated by the fixed effects alone (levels whose outcome is all zero).

    In a Poisson model a fixed-effect level whose observations all have ``y == 0`` has its
    effect at minus infinity; the observations are separated and are dropped (ppmlhdfe's ``fe``
    method). Dropping them may leave singletons, whose removal may leave further all-zero
    levels, so with ``singletons=True`` the two removals alternate until neither changes.

    Parameters
    ----------
    y : array_like of float
        Outcome, shape ``(n,)``, finite and non-negative.
    fe_codes : sequence of array_like of int
        One integer code array per fixed effect, each of length ``n``.
    singletons : bool, default True
        Iterate together with singleton removal. Singletons found on the way are *not*
        flagged in the result (use :func:`drop_singletons` on the rows left, or
        :func:`find_separated`, to get them).
    keep : array_like of bool, optional
        Observations to consider (default: all).

    Returns
    -------
    numpy.ndarray of bool
        ``True`` for separated observations, shape ``(n,)``.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0.0, 0.0, 1.0, 0.0, 2.0, 3.0])
    >>> pair = np.array([0, 0, 1, 1, 2, 2])
    >>> fe_separation(y, [pair]).tolist()
    [True, True, False, False, False, False]
    """
    yv = _validate_y(y)
    codes = _validate_codes(fe_codes, yv.shape[0])
    mask = np.ones(yv.shape[0], dtype=bool) if keep is None else np.array(keep, dtype=bool)
    if mask.shape != yv.shape:
        raise SpecificationError(f"keep must have shape {yv.shape}, got {mask.shape}")
    separated = np.zeros(yv.shape[0], dtype=bool)
    if not codes:
        return separated
    while True:
        new = _fe_separation_pass(yv, codes, mask)
        if new.any():
            separated |= new
            mask &= ~new
        dropped_singletons = singletons and _singleton_pass(codes, mask)
        if not new.any() and not dropped_singletons:
            return separated


# --- Iterated rectifier ---------------------------------------------------------------------------


def rectifier_separation(
    y: ArrayLike,
    X: ArrayLike | None,
    fe_codes: Sequence[ArrayLike],
    weights: ArrayLike | None = None,
    *,
    intercept: bool = True,
    tol: float = 1e-4,
    maxiter: int = 100,
    strict: bool = False,
    ls_maxiter: int = 100_000,
) -> BoolArray:
    """Observations separated by regressors and fixed effects (the iterated rectifier).

    Implements the iterated rectifier ("ReLU") of Correia, Guimarães & Zylkin (2021), the
    default separation check of ppmlhdfe: start from ``u = 1{y == 0}``; regress ``u`` on ``X``
    and the fixed effects with weight ``M`` (about 6.7e7) on ``y > 0`` observations and 1 on the
    others; set fitted values within ``(-0.1 delta, delta)`` of zero to zero, where ``delta`` is
    ``tol`` plus the error implied by the weighting; stop when every ``y == 0`` observation has
    a non-negative fit (those with a positive fit are separated); otherwise replace ``u`` by
    ``max(fit, 0)`` on the ``y == 0`` observations and repeat. Rows found are removed and the
    check rerun on the rest until nothing is found. Rows with a positive residual when no
    residual is negative are proven not separated (Farkas), candidates are verified directly
    every few iterations, and persistently negative rows are up-weighted. With fixed effects,
    a cheap certificate that nothing is separated is tried first (one moderately weighted fit
    by the HDFE kernel); see ``docs/methods-separation.md``. ``maxiter`` counts iterations
    over all runs.

    Parameters
    ----------
    y : array_like of float
        Outcome, shape ``(n,)``, finite and non-negative.
    X : array_like of float or None
        Regressors, shape ``(n, k)``; None for none. Collinear columns are harmless.
    fe_codes : sequence of array_like of int
        One integer code array per fixed effect, each of length ``n``; may be empty.
    weights : array_like of float, optional
        Observation weights. Separation depends only on which observations have positive
        weight, so weights serve only to exclude zero-weight observations from the check.
    intercept : bool, default True
        Include a constant when there are no fixed effects (with fixed effects it is spanned).
    tol : float, default 1e-4
        Tolerance on the fitted values (ppmlhdfe's ``relu_tol``); the weighted least-squares
        problems are solved to ``max(tol**2, 1e-13)``.
    maxiter : int, default 100
        Cap on rectifier iterations.
    strict : bool, default False
        At the cap, raise :class:`~ca_trade.exceptions.ConvergenceError` instead of warning.
    ls_maxiter : int, default 100000
        Cap on LSMR iterations in each weighted least-squares solve.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` for separated observations, shape ``(n,)``. All ``False`` (with a
        :class:`~ca_trade.exceptions.ConvergenceWarning`) when the cap is reached and
        ``strict`` is False: nothing is dropped on an unfinished check.

    Examples
    --------
    A regressor that is positive only where ``y == 0`` and zero elsewhere separates those
    observations:

    >>> import numpy as np
    >>> y = np.array([0.0, 0.0, 1.0, 2.0, 0.0, 3.0])
    >>> x = np.array([1.0, 2.0, 0.0, 0.0, 0.0, 0.0])
    >>> rectifier_separation(y, x[:, None], []).tolist()
    [True, True, False, False, False, False]
    """
    _check_rectifier_options(tol, maxiter, ls_maxiter)
    yv = _validate_y(y)
    n = yv.shape[0]
    xv = _validate_x(X, n)
    codes = _validate_codes(fe_codes, n)
    wv = _validate_weights(weights, n)
    separated = np.zeros(n, dtype=bool)
    active = np.ones(n, dtype=bool) if wv is None else wv > 0
    idx = np.flatnonzero(active)
    sep_a = _rectifier_rows(yv, xv, codes, idx, intercept, tol, maxiter, strict, ls_maxiter)
    separated[idx[sep_a]] = True
    return separated


def _check_rectifier_options(tol: float, maxiter: int, ls_maxiter: int) -> None:
    if not 0 < tol < 1:
        raise SpecificationError(f"tol must be in (0, 1), got {tol!r}")
    if maxiter < 1 or ls_maxiter < 1:
        raise SpecificationError(
            f"maxiter and ls_maxiter must be positive, got {maxiter!r} and {ls_maxiter!r}"
        )


def _rectifier_rows(
    yv: FloatArray,
    xv: FloatArray,
    codes: list[IntArray],
    idx: IntArray,
    intercept: bool,
    tol: float,
    maxiter: int,
    strict: bool,
    ls_maxiter: int,
) -> BoolArray:
    """Run the iterated rectifier on the (validated) rows ``idx``; return a mask over them.

    With fixed effects (or the intercept) the cheap no-separation certificate runs first, on
    dense level indices built straight from the codes of the rows (no copies of the codes).
    """
    y = yv[idx]
    if not np.any(y == 0):
        return np.zeros(idx.shape[0], dtype=bool)
    x = xv[idx]
    if x.shape[1]:  # drop all-zero columns, scale to unit max so tolerances are comparable
        xmax = np.max(np.abs(x), axis=0)
        x = x[:, xmax > 0] / xmax[xmax > 0]
    kc = _kernel_codes(codes)
    if not kc and intercept:
        kc = (np.zeros(yv.shape[0], dtype=np.int64),)
    if kc:
        lev, offsets = dense_levels(kc, idx.astype(np.int64))
        if certificate_on_levels(y, x, lev, offsets, tol):
            return np.zeros(idx.shape[0], dtype=bool)
    return _rectifier_core(y, x, [c[idx] for c in kc], tol, maxiter, strict, ls_maxiter)


def _rectifier_core(
    y: FloatArray,
    x: FloatArray,
    codes: list[IntArray],
    tol: float,
    maxiter: int,
    strict: bool,
    ls_maxiter: int,
) -> BoolArray:
    """Run the iterated rectifier on already validated, active observations.

    Each run of the rectifier (:func:`_rectify`) returns rows it has proven separated (by its
    stopping rule or by a certificate check); they are removed and the rectifier restarts on
    the rest, until a run finds nothing. Restarting is exact: a certificate on the full sample
    plus a large multiple of one on the rest certifies the union, and a certificate on the
    full sample restricted to the rest is one there. It is also needed: the stopping rule
    proves the rows it flags separated, but may miss others (a separated row can get a zero
    fit); the final run's first iteration regresses ``1{y == 0}`` itself, and a zero fit there
    proves that nothing is left (``sum(z) = 0`` on the zeros for every certificate ``z``).
    """
    n = y.shape[0]
    separated = np.zeros(n, dtype=bool)
    active = np.ones(n, dtype=bool)
    left = maxiter
    while True:
        idx = np.flatnonzero(active)
        sub_codes = [c[idx] for c in codes]
        found, used = _rectify(y[idx], x[idx], sub_codes, tol, left, ls_maxiter)
        left -= used
        if found is None:
            break
        if not found.any():
            return separated
        separated[idx[found]] = True
        active[idx[found]] = False
    msg = (
        f"iterated-rectifier separation check reached its cap of {maxiter} iterations before "
        "converging; no observation was dropped for regressor-induced separation. Raise "
        "maxiter, or inspect the data for separation by hand"
    )
    if strict:
        raise ConvergenceError(msg)
    warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    return np.zeros(n, dtype=bool)


def _implied_delta(x: FloatArray, heavy: BoolArray, u: FloatArray, tol: float) -> float:
    """Return ``tol`` plus ``max(u'u / M * max(|X_light|_1 / |X_heavy|_1, 1)**2, 1e-8)``."""
    ratio = 1.0
    if x.shape[1] and heavy.any() and (~heavy).any():
        norm_light = float(np.max(np.sum(np.abs(x[~heavy]), axis=0)))
        norm_heavy = float(np.max(np.sum(np.abs(x[heavy]), axis=0)))
        if norm_heavy > 0:
            ratio = max(norm_light / norm_heavy, 1.0)
    return max(float(u @ u) / _M_WEIGHT * ratio**2, 1e-8) + tol


def _warn_ls(converged: bool, ls_maxiter: int) -> None:
    """Warn loudly when a weighted least-squares solve hit its iteration cap."""
    if not converged:
        warnings.warn(
            f"separation check: the weighted least-squares solve did not converge in "
            f"{ls_maxiter} LSMR iterations; results may be inexact. Raise ls_maxiter",
            ConvergenceWarning,
            stacklevel=4,
        )


def _rectify(
    y: FloatArray,
    x: FloatArray,
    codes: list[IntArray],
    tol: float,
    maxiter: int,
    ls_maxiter: int,
) -> tuple[BoolArray | None, int]:
    """Rectifier iterations; return (rows proven separated, iterations used).

    The rows are None when the cap is reached; an empty mask means none was found.

    Besides the rectifier step, two exact devices keep the number of iterations small:

    - *dual certificate*: the residual ``r = u - fit`` of a weighted least-squares fit is
      orthogonal (in the weights) to every candidate certificate ``z``; where ``r >= 0`` on
      all zero rows, ``sum_i w_i r_i z_i = 0`` with ``z >= 0`` forces ``z_i = 0`` wherever
      ``r_i > 0`` (Farkas' lemma): those rows are proven *not* separated and join the
      equality-constrained rows (ppmlhdfe stops here instead, declaring separated the rows
      with a positive fit and a zero residual, which can flag rows that are not separated);
    - *certificate checks* of the current candidates (:func:`_certify`) every few iterations.
    """
    boundary = y == 0
    heavy = ~boundary  # rows where every certificate is zero: y > 0, or proven not separated
    regtol = max(tol**2, 1e-13)
    weights = np.where(heavy, _M_WEIGHT, 1.0)
    design = WeightedDesign(x, codes, weights)
    u = boundary.astype(np.float64)
    negative_streak = np.zeros(y.shape[0], dtype=np.int64)
    for it in range(1, maxiter + 1):
        fit, ok = design.fit(u, regtol, ls_maxiter)
        _warn_ls(ok, ls_maxiter)
        resid = u - fit
        delta = _implied_delta(x, heavy, u, tol)
        free = ~heavy

        fit[heavy] = 0.0
        fit[free & (fit > -0.1 * delta) & (fit < delta)] = 0.0
        if np.all(fit[free] >= 0):
            return free & (fit > 0), it

        resid[np.abs(resid) < _ZERO_TOL] = 0.0
        rebuild = False
        if np.all(resid[free] >= 0):
            proven = free & (resid > delta)
            if not np.any(free & ~proven):
                return np.zeros(y.shape[0], dtype=bool), it
            heavy |= proven
            weights[proven] = _M_WEIGHT
            rebuild = True
        elif it == 3 or it % 10 == 0:
            certified = _certify(x, codes, free & (fit > 0), tol, ls_maxiter)
            if certified is not None:
                return certified, it

        # acceleration (after ppmlhdfe's): zero rows whose fit stays negative are very likely
        # not separated (a certificate is zero there); weighting them more pulls the fit to
        # zero on them faster. Rows flagged at the end are still verified by the stopping rule.
        negative_streak = np.where(~heavy & (fit < 0), negative_streak + 1, 0)
        stuck = negative_streak >= 3
        if stuck.any():
            weights[stuck] = np.minimum(weights[stuck] * 4.0, _ACCEL_MAX_WEIGHT)
            negative_streak[stuck] = 0
            rebuild = True
        if rebuild:
            design = WeightedDesign(x, codes, weights)
        u = np.where(heavy, 0.0, np.maximum(fit, 0.0))
    return None, maxiter


def _certify(
    x: FloatArray, codes: list[IntArray], candidates: BoolArray, tol: float, ls_maxiter: int
) -> BoolArray | None:
    """Try to prove that some of the ``candidates`` are separated; return them, or None.

    The rectifier converges linearly and can be slow when observations are almost separated.
    Its current candidates (``y == 0`` rows with a positive fit) are tested directly: regress
    ``1{candidate}`` on the regressors and fixed effects with weight ``M`` on every other
    observation. If the fit ``z`` is within tolerance of zero on all other observations and
    not negative on the candidates, ``z`` is a certificate of separation for the candidates
    where it is positive (Correia, Guimaraes & Zylkin 2021, definition of separation). When
    some candidates get a negative fit, those without a clearly positive fit are dropped and
    the test repeated (``_CERTIFY_ROUNDS`` times at most). Only verified rows are returned;
    rows it misses are left to the rectifier, rerun on the remaining observations.
    """
    cand = candidates.copy()
    regtol = max(tol**2, 1e-13)
    for _ in range(_CERTIFY_ROUNDS):
        if not cand.any():
            return None
        heavy = ~cand
        u = cand.astype(np.float64)
        design = WeightedDesign(x, codes, np.where(heavy, _M_WEIGHT, 1.0))
        z, ok = design.fit(u, regtol, ls_maxiter)
        _warn_ls(ok, ls_maxiter)
        delta = _implied_delta(x, heavy, u, tol)
        if np.any(np.abs(z[heavy]) >= delta):
            return None
        if not np.any(z[cand] <= -0.1 * delta):
            separated = cand & (z >= delta)
            return separated if separated.any() else None
        cand &= z >= delta
    return None


# --- Everything together --------------------------------------------------------------------------


@dataclass(frozen=True)
class SeparationResult:
    """Which observations to drop before a Poisson fit, and why.

    Each mask has shape ``(n,)`` over the observations given to :func:`find_separated`; an
    observation is flagged under one reason only (the first that removed it).

    Attributes
    ----------
    keep : numpy.ndarray of bool
        Observations left for estimation.
    singleton : numpy.ndarray of bool
        Dropped as singletons (alone in a fixed-effect level).
    separated_fe : numpy.ndarray of bool
        Dropped because a fixed-effect level has only zero outcomes.
    separated_ir : numpy.ndarray of bool
        Dropped by the iterated rectifier (separation by regressors and fixed effects).
    n_rounds : int
        Rounds of (singletons, fe, ir) needed to reach the fixed point.

    Examples
    --------
    >>> import numpy as np
    >>> res = find_separated(np.array([0.0, 1.0, 2.0]), None, [])
    >>> res.keep.all(), res.n_dropped
    (np.True_, 0)
    """

    keep: BoolArray
    singleton: BoolArray
    separated_fe: BoolArray
    separated_ir: BoolArray
    n_rounds: int = field(default=1)

    @property
    def counts(self) -> dict[str, int]:
        """Number of dropped observations by reason."""
        return {
            "singleton": int(self.singleton.sum()),
            "separated_fe": int(self.separated_fe.sum()),
            "separated_ir": int(self.separated_ir.sum()),
        }

    @property
    def n_dropped(self) -> int:
        """Total number of dropped observations."""
        return int((~self.keep).sum())

    @property
    def separated(self) -> BoolArray:
        """Observations dropped for separation by either method."""
        return self.separated_fe | self.separated_ir


_METHODS = frozenset({"fe", "ir"})


def find_separated(
    y: ArrayLike,
    X: ArrayLike | None,
    fe_codes: Sequence[ArrayLike],
    weights: ArrayLike | None = None,
    *,
    methods: Sequence[str] = ("fe", "ir"),
    singletons: bool = True,
    intercept: bool = True,
    tol: float = 1e-4,
    maxiter: int = 100,
    strict: bool = False,
) -> SeparationResult:
    """Find the observations a Poisson fit must drop: singletons and separated observations.

    Runs, as ppmlhdfe does, singleton removal, fixed-effect separation (iterated with singleton
    removal) and the iterated rectifier, and repeats the round while any step still removes
    observations (removing separated observations can create singletons, whose removal can
    leave an all-zero level).

    Parameters
    ----------
    y : array_like of float
        Outcome, shape ``(n,)``, finite and non-negative.
    X : array_like of float or None
        Regressors, shape ``(n, k)``, or None.
    fe_codes : sequence of array_like of int
        One integer code array per fixed effect; may be empty.
    weights : array_like of float, optional
        Observation weights; zero-weight observations are ignored by the rectifier.
    methods : sequence of {"fe", "ir"}, default ("fe", "ir")
        Separation checks to run; an empty sequence runs only singleton removal.
    singletons : bool, default True
        Drop singletons (ppmlhdfe and reghdfe default).
    intercept : bool, default True
        The model has a constant when it has no fixed effects.
    tol, maxiter, strict
        Passed to :func:`rectifier_separation`.

    Returns
    -------
    SeparationResult
        Masks by reason and the keep-mask.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0.0, 0.0, 1.0, 2.0, 0.0, 3.0, 5.0])
    >>> x = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    >>> fe = [np.array([0, 0, 1, 1, 2, 2, 3])]
    >>> res = find_separated(y, x[:, None], fe)
    >>> res.counts
    {'singleton': 1, 'separated_fe': 2, 'separated_ir': 0}
    """
    unknown = set(methods) - _METHODS
    if unknown:
        raise SpecificationError(
            f"unknown separation method(s) {sorted(unknown)}; choose from {sorted(_METHODS)}"
        )
    yv = _validate_y(y)
    n = yv.shape[0]
    xv = _validate_x(X, n)
    codes = _validate_codes(fe_codes, n)
    wv = _validate_weights(weights, n)

    keep = np.ones(n, dtype=bool) if wv is None else wv > 0
    excluded = ~keep
    singleton = np.zeros(n, dtype=bool)
    sep_fe = np.zeros(n, dtype=bool)
    sep_ir = np.zeros(n, dtype=bool)
    kc = _kernel_codes(codes)
    rounds = 0
    checked = None  # sample the rectifier last ran on (it reruns itself until nothing is left)
    while True:
        rounds += 1
        before = keep.copy()
        if singletons and kc:
            kept = keep.copy()
            drop_singletons_inplace(kc, kept)
            singleton |= keep & ~kept
            keep = kept
        if "fe" in methods and kc:
            new = np.zeros(n, dtype=bool)
            while True:  # zero-outcome levels, to a fixed point
                more = np.asarray(zero_levels(yv, kc, keep), dtype=bool)
                if not more.any():
                    break
                new |= more
                keep &= ~more
            sep_fe |= new
            if singletons:
                kept = keep.copy()
                drop_singletons_inplace(kc, kept)
                singleton |= keep & ~kept
                keep = kept
            if new.any():
                continue
        if "ir" in methods and (checked is None or not np.array_equal(checked, keep)):
            _check_rectifier_options(tol, maxiter, 100_000)
            idx = np.flatnonzero(keep)
            new_sub = _rectifier_rows(yv, xv, codes, idx, intercept, tol, maxiter, strict, 100_000)
            new = np.zeros(n, dtype=bool)
            new[idx[new_sub]] = True
            sep_ir |= new
            keep &= ~new
            checked = keep.copy()
        if np.array_equal(before, keep):
            break
    return SeparationResult(
        keep=keep & ~excluded,
        singleton=singleton,
        separated_fe=sep_fe,
        separated_ir=sep_ir,
        n_rounds=rounds,
    )
