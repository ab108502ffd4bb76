"""Weighted least squares and Poisson IRLS with fixed effects partialled out.

Poisson IRLS (ppmlhdfe's algorithm): with ``eta = X b + D a + offset`` and ``mu = exp(eta)``,
each iteration forms the working response ``z = eta - offset + (y - mu) / mu`` and working
weights ``w = p * mu`` (``p`` the prior weights), partials the fixed effects out of ``z`` and
``X`` by weighted demeaning (Frisch–Waugh–Lovell), solves ``b = (X~'WX~)^-1 X~'W z~`` and sets
``eta = z - (z~ - X~ b) + offset``. Demeaning is warm-started from the previous iteration's
fixed-effect components, and its tolerance is loose early (``1e-4``) and tightened to
``fixef_tol`` as the deviance settles. The loop stops when the relative change of the deviance
``|D_t - D_{t-1}| / max(min(D_t, D_{t-1}), 0.1)`` falls below ``tol`` with the demeaning at
``fixef_tol``. If the deviance rises, the step is halved (up to 10 times).

Examples
--------
>>> import numpy as np
>>> from ca_trade.estimate.irls import poisson_irls
>>> X = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])
>>> fit = poisson_irls(np.array([1.0, 2.0, 4.0, 8.0]), X, None)
>>> np.round(fit.beta, 6).tolist()
[0.0, 0.693147]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.linalg

from ca_trade.estimate.demean import FixedEffects, demean

__all__ = ["IRLSFit", "find_collinear", "poisson_deviance", "poisson_irls", "wls"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class IRLSFit:
    """Result of :func:`poisson_irls` or :func:`wls`.

    Attributes
    ----------
    beta : ndarray, shape (k,)
    eta : ndarray, shape (n,)
        Linear predictor including fixed effects and offset.
    mu : ndarray, shape (n,)
        Fitted mean (``exp(eta)`` for Poisson, ``eta`` for OLS).
    X_tilde : ndarray, shape (n, k)
        Regressors with fixed effects partialled out at the final weights.
    weights : ndarray, shape (n,)
        Final working weights (prior weights times ``mu`` for Poisson).
    deviance : float
    n_iter : int
    converged : bool
    fixef_converged : bool
        Whether every demeaning call met its tolerance.
    """

    beta: FloatArray
    eta: FloatArray
    mu: FloatArray
    X_tilde: FloatArray
    weights: FloatArray
    deviance: float
    n_iter: int
    converged: bool
    fixef_converged: bool


def poisson_deviance(y: FloatArray, mu: FloatArray, weights: FloatArray | None = None) -> float:
    """Poisson deviance ``2 sum p (y log(y/mu) - (y - mu))``.

    Parameters
    ----------
    y, mu : ndarray
    weights : ndarray, optional

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> poisson_deviance(np.array([0.0, 2.0]), np.array([1.0, 2.0]))
    2.0
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)
    if weights is not None:
        term = term * weights
    return float(2.0 * term.sum())


def _partial(
    x: FloatArray,
    fe: FixedEffects | None,
    w: FloatArray,
    tol: float,
    maxiter: int,
    init: FloatArray | None,
) -> tuple[FloatArray, bool]:
    if fe is None or x.size == 0:
        return x, True
    xt, ok, _ = demean(x, fe, w, tol=tol, maxiter=maxiter, init=init)
    return xt, ok


def _solve(Xt: FloatArray, zt: FloatArray, w: FloatArray) -> FloatArray:
    if Xt.shape[1] == 0:
        return np.zeros(0)
    xw = Xt * w[:, None]
    xtx = xw.T @ Xt
    xtz = xw.T @ zt
    try:
        c = scipy.linalg.cho_factor(xtx)
        return np.asarray(scipy.linalg.cho_solve(c, xtz), dtype=np.float64)
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.lstsq(xtx, xtz, rcond=None)[0], dtype=np.float64)


def find_collinear(Xt: FloatArray, X: FloatArray, w: FloatArray, tol: float = 1e-9) -> list[int]:
    """Columns to drop: absorbed by the fixed effects or linearly dependent on earlier ones.

    A column is absorbed when its partialled-out weighted norm is below ``tol`` times its
    original weighted norm; the remaining columns are checked in order by a QR
    decomposition of the weighted, partialled-out matrix (a column whose ``|R_jj|`` is below
    ``1e-7`` times its own norm depends on the columns before it).

    Parameters
    ----------
    Xt : ndarray, shape (n, k)
        Partialled-out regressors.
    X : ndarray, shape (n, k)
        Original regressors.
    w : ndarray, shape (n,)
        Weights.
    tol : float, default 1e-9

    Returns
    -------
    list of int
        Indices of the columns to drop, ascending.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.column_stack([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])
    >>> find_collinear(X, X, np.ones(3))
    [1]
    """
    k = Xt.shape[1]
    sw = np.sqrt(w)[:, None]
    drop: list[int] = []
    orig = np.sqrt(((X * sw) ** 2).sum(axis=0))
    part = np.sqrt(((Xt * sw) ** 2).sum(axis=0))
    keep: list[int] = []
    for j in range(k):
        if part[j] <= tol * max(orig[j], 1e-300) or part[j] == 0.0:
            drop.append(j)
            continue
        cand = [*keep, j]
        A = Xt[:, cand] * sw / part[cand]
        rmat = np.asarray(np.linalg.qr(A, mode="r"))
        if abs(rmat[-1, -1]) < 1e-7:
            drop.append(j)
        else:
            keep.append(j)
    return sorted(drop)


def wls(
    y: FloatArray,
    X: FloatArray,
    fe: FixedEffects | None,
    *,
    weights: FloatArray | None = None,
    offset: FloatArray | None = None,
    fixef_tol: float = 1e-10,
    fixef_maxiter: int = 10_000,
) -> IRLSFit:
    """Weighted least squares of ``y - offset`` on ``X`` and fixed effects.

    Parameters
    ----------
    y : ndarray, shape (n,)
    X : ndarray, shape (n, k)
    fe : FixedEffects or None
    weights, offset : ndarray, optional
    fixef_tol, fixef_maxiter
        Demeaning tolerance and cap.

    Returns
    -------
    IRLSFit
        ``mu`` is the fitted value including fixed effects and offset; ``deviance`` the
        weighted residual sum of squares.

    Examples
    --------
    >>> import numpy as np
    >>> fit = wls(np.array([1.0, 2.0, 3.0]), np.ones((3, 1)), None)
    >>> round(float(fit.beta[0]), 12)
    2.0
    """
    n = y.shape[0]
    w = np.ones(n) if weights is None else weights
    off = np.zeros(n) if offset is None else offset
    z = y - off
    both = np.column_stack([z, X])
    bt, ok = _partial(both, fe, w, fixef_tol, fixef_maxiter, None)
    zt, Xt = bt[:, 0], bt[:, 1:]
    beta = _solve(Xt, zt, w)
    e = zt - Xt @ beta
    fitted = y - e
    return IRLSFit(
        beta=beta,
        eta=fitted,
        mu=fitted,
        X_tilde=np.ascontiguousarray(Xt),
        weights=w,
        deviance=float((w * e * e).sum()),
        n_iter=1,
        converged=bool(ok),
        fixef_converged=bool(ok),
    )


def poisson_irls(
    y: FloatArray,
    X: FloatArray,
    fe: FixedEffects | None,
    *,
    weights: FloatArray | None = None,
    offset: FloatArray | None = None,
    tol: float = 1e-8,
    maxiter: int = 1000,
    fixef_tol: float = 1e-10,
    fixef_maxiter: int = 10_000,
    X_tilde_init: FloatArray | None = None,
) -> IRLSFit:
    """Poisson pseudo-maximum likelihood by IRLS (see module docstring).

    Parameters
    ----------
    y : ndarray, shape (n,)
        Non-negative outcome.
    X : ndarray, shape (n, k)
        Regressors (with a constant column when ``fe`` is None).
    fe : FixedEffects or None
    weights : ndarray, optional
        Prior weights.
    offset : ndarray, optional
        Offset in the linear predictor (coefficient fixed at 1).
    tol : float, default 1e-8
        Tolerance on the relative change of the deviance.
    maxiter : int, default 1000
        Cap on IRLS iterations; ``converged`` is False when it is reached.
    fixef_tol, fixef_maxiter
        Final demeaning tolerance and cap per demeaning call.
    X_tilde_init : ndarray, optional
        Warm start for the partialled-out regressors.

    Returns
    -------
    IRLSFit

    Examples
    --------
    >>> import numpy as np
    >>> fe = FixedEffects.from_codes([np.array([0, 0, 1, 1])])
    >>> fit = poisson_irls(np.array([1.0, 3.0, 2.0, 6.0]), np.array([[0.0], [1], [0], [1]]), fe)
    >>> round(float(np.exp(fit.beta[0])), 6)
    3.0
    """
    n, k = X.shape
    pw = np.ones(n) if weights is None else weights
    off = np.zeros(n) if offset is None else offset
    ybar = float((pw * y).sum() / pw.sum())
    mu = 0.5 * (y + ybar)
    eta = np.log(mu)
    if offset is not None:
        # start from the offset-adjusted mean, so that exp(eta) is not far off
        eta = eta.copy()
    dev_old = poisson_deviance(y, mu, pw)
    inner_tol = max(1e-4, fixef_tol) if fe is not None else fixef_tol
    Xt_prev = X_tilde_init
    p_z: FloatArray | None = None  # fixed-effect component of the previous working response
    converged = False
    fix_ok = True
    beta = np.zeros(k)
    Xt = X
    w = pw * mu
    it = 0
    for it in range(1, maxiter + 1):
        w = pw * mu
        z = eta - off + (y - mu) / mu
        Xt, ok_x = _partial(X, fe, w, inner_tol, fixef_maxiter, Xt_prev)
        z_init = None if p_z is None else z - p_z
        zt, ok_z = _partial(z, fe, w, inner_tol, fixef_maxiter, z_init)
        fix_ok = ok_x and ok_z
        Xt_prev = Xt
        p_z = z - zt
        beta = _solve(Xt, zt, w)
        e = zt - Xt @ beta
        eta_new = z - e + off
        mu_new = np.exp(eta_new)
        dev = poisson_deviance(y, mu_new, pw)
        halvings = 0
        while (not np.isfinite(dev) or dev > dev_old * (1 + 1e-12)) and halvings < 10 and it > 1:
            eta_new = 0.5 * (eta + eta_new)
            mu_new = np.exp(eta_new)
            dev = poisson_deviance(y, mu_new, pw)
            halvings += 1
        eps = abs(dev - dev_old) / max(min(dev, dev_old), 0.1)
        eta, mu, dev_old = eta_new, mu_new, dev
        if eps < tol and inner_tol <= fixef_tol * (1 + 1e-12):
            converged = True
            break
        if fe is not None:
            inner_tol = max(min(inner_tol, 0.1 * eps), fixef_tol)
            if eps < tol:
                inner_tol = fixef_tol
    return IRLSFit(
        beta=beta,
        eta=eta,
        mu=mu,
        X_tilde=np.ascontiguousarray(Xt),
        weights=w,
        deviance=dev_old,
        n_iter=it,
        converged=converged,
        fixef_converged=bool(fix_ok),
    )
