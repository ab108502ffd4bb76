"""Weighted least squares and Poisson IRLS with fixed effects partialled out.

Poisson IRLS (ppmlhdfe's algorithm): with ``eta = X b + D a + offset`` and ``mu = exp(eta)``,
each iteration forms the working response ``z = eta - offset + (y - mu) / mu`` and working
weights ``w = p * mu`` (``p`` the prior weights), partials the fixed effects out of ``z`` and
``X`` by weighted demeaning (Frisch–Waugh–Lovell), solves ``b = (X~'WX~)^-1 X~'W z~`` and sets
``eta = z - (z~ - X~ b) + offset``. Demeaning is warm-started from the previous iteration's
fixed-effect components, and its tolerance is loose early (``1e-4``) and tightened to
``fixef_tol`` as the deviance settles. The loop stops when the relative change of the deviance
``|D_t - D_{t-1}| / max(min(D_t, D_{t-1}), 0.1)`` falls below ``tol`` with the demeaning at
``fixef_tol``. If the deviance rises, the step is halved (up to 10 times); if twice the step
lowers it further, the longer step is kept (over-relaxation). ``z`` and ``X`` are demeaned
together as one block by :func:`~ca_trade.estimate.demean.demean_inplace`, and the per-row
work (working response, Gram matrix, update and deviance) runs in compiled loops. At the end
``X`` is partialled out once more at the final weights, at which the covariance is evaluated.

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
import scipy.linalg
from numba import njit

from ca_trade._typing import BoolArray, FloatArray
from ca_trade.estimate.demean import FixedEffects, demean_inplace, level_weights
from ca_trade.exceptions import ConvergenceError

__all__ = [
    "IRLSFit",
    "find_collinear",
    "initial_working",
    "poisson_deviance",
    "poisson_irls",
    "wls",
]


#: Demeaning tolerance of the first IRLS iterations, and the factor on the relative deviance
#: change that tightens it (ppmlhdfe's schedule); it ends at ``fixef_tol``.
_INNER_START = 1e-4
_INNER_FACTOR = 0.1
#: Once the relative deviance change is below this multiple of ``tol``, demean at ``fixef_tol``.
_FINAL_ZONE = 10.0
#: Longest over-relaxed step tried along the IRLS direction (powers of 2; 1 switches it off).
_EXTRA = 2.0
#: A zero-outcome observation whose linear predictor still falls by more than this in the last
#: iteration is diverging (separated: it falls by about 1 per iteration, a converged one ~0).
_DIVERGE_STEP = 0.5


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
        Regressors with fixed effects partialled out at ``weights``.
    weights : ndarray, shape (n,)
        Working weights at the estimate (prior weights times the final ``mu`` for Poisson),
        at which the covariance is evaluated.
    deviance : float
    n_iter : int
    converged : bool
    fixef_converged : bool
        Whether every demeaning call met its tolerance.
    diverging : ndarray of bool, shape (n,)
        Observations with a zero outcome whose linear predictor still fell by more than
        ``0.5`` in the last iteration: separated, their fitted values go to 0 (Poisson only;
        all False for least squares).
    beta_step : ndarray, shape (k,)
        Change of ``beta`` in the last iteration.
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
    diverging: BoolArray
    beta_step: FloatArray


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
    init_block: FloatArray | None = None,
    init_converged: bool = True,
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
    init_block : ndarray, shape (n, k + 1), optional
        ``[y - offset, X]`` already demeaned to ``fixef_tol`` (used as is, and overwritten).
    init_converged : bool, default True
        Whether the demeaning of ``init_block`` met its tolerance (reported back).

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
    n, k = X.shape
    w = np.ones(n) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    z = y if offset is None else y - offset
    if init_block is not None and init_block.shape != (n, k + 1):
        raise ValueError(f"init_block has shape {init_block.shape}; expected {(n, k + 1)}")
    if init_block is None:
        u = np.empty((n, k + 1))
        u[:, 0] = z
        u[:, 1:] = X
    else:
        u = np.ascontiguousarray(init_block, dtype=np.float64)
    ok = init_converged
    if fe is not None and init_block is None:
        scale = np.sqrt(np.concatenate([[float(w @ (z * z))], (w @ (X * X)).reshape(-1)]))
        ok, _ = demean_inplace(u, fe, w, scale, tol=fixef_tol, maxiter=fixef_maxiter)
    zt, Xt = u[:, 0], u[:, 1:]
    beta = _solve_gram(_gram(u, w))
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
        diverging=np.zeros(n, dtype=bool),
        beta_step=np.zeros(k),
    )


@njit(cache=True)
def _log_y(y: FloatArray) -> FloatArray:
    """``log(y)`` where ``y > 0``, 0 elsewhere (used by the deviance kernels)."""
    out = np.zeros(y.shape[0])
    for i in range(y.shape[0]):
        if y[i] > 0.0:
            out[i] = np.log(y[i])
    return out


@njit(cache=True)
def _working(
    y: FloatArray,
    eta: FloatArray,
    mu: FloatArray,
    off: FloatArray,
    pw: FloatArray,
    X: FloatArray,
    u: FloatArray,
    zbuf: FloatArray,
    w: FloatArray,
    scale: FloatArray,
    first: bool,
) -> None:
    """Working weights and response; warm start of the demeaning block ``u``.

    Sets ``w = pw mu``, ``z = eta - off + (y - mu) / mu``, ``u[:, 0] = z - p`` where ``zbuf``
    holds ``p`` (the previous fixed-effect component of ``z``; ignored on the first call) and
    then ``zbuf = z``; ``scale`` gets the weighted norms of ``z`` and of the columns of ``X``.
    """
    n, k = X.shape
    has_off = off.shape[0] == n
    has_pw = pw.shape[0] == n
    for j in range(k + 1):
        scale[j] = 0.0
    for i in range(n):
        m = mu[i]
        wi = pw[i] * m if has_pw else m
        w[i] = wi
        zi = eta[i] + (y[i] - m) / m
        if has_off:
            zi -= off[i]
        u[i, 0] = zi if first else zi - zbuf[i]
        zbuf[i] = zi
        scale[0] += wi * zi * zi
        for j in range(k):
            scale[j + 1] += wi * X[i, j] * X[i, j]
    for j in range(k + 1):
        scale[j] = np.sqrt(scale[j])


@njit(cache=True)
def _weighted_norms_2d(x: FloatArray, w: FloatArray) -> FloatArray:
    """Weighted 2-norm of every column of ``x``."""
    n, k = x.shape
    out = np.zeros(k)
    for i in range(n):
        for j in range(k):
            out[j] += w[i] * x[i, j] * x[i, j]
    return np.sqrt(out)


@njit(cache=True)
def _gram(u: FloatArray, w: FloatArray) -> FloatArray:
    """``u' W u`` for ``u`` of shape ``(n, m)``."""
    n, m = u.shape
    g = np.zeros((m, m))
    for i in range(n):
        wi = w[i]
        for a in range(m):
            wa = wi * u[i, a]
            for b in range(a, m):
                g[a, b] += wa * u[i, b]
    for a in range(m):
        for b in range(a):
            g[a, b] = g[b, a]
    return g


@njit(cache=True)
def _update(
    u: FloatArray,
    zbuf: FloatArray,
    beta: FloatArray,
    off: FloatArray,
    y: FloatArray,
    logy: FloatArray,
    pw: FloatArray,
    eta_new: FloatArray,
    mu_new: FloatArray,
) -> float:
    """Compute the new linear predictor ``eta = z - (z~ - X~ b) + off`` and its deviance.

    Also turns ``zbuf`` from ``z`` into the fixed-effect component ``z - z~`` (the warm start
    of the next iteration).
    """
    n, m = u.shape
    has_off = off.shape[0] == n
    has_pw = pw.shape[0] == n
    dev = 0.0
    for i in range(n):
        fit = 0.0
        for j in range(1, m):
            fit += u[i, j] * beta[j - 1]
        p = zbuf[i] - u[i, 0]
        e = p + fit
        if has_off:
            e += off[i]
        zbuf[i] = p
        eta_new[i] = e
        mi = np.exp(e)
        mu_new[i] = mi
        term = y[i] * (logy[i] - e) - (y[i] - mi) if y[i] > 0.0 else mi
        dev += pw[i] * term if has_pw else term
    return 2.0 * dev


@njit(cache=True)
def _halve(
    eta: FloatArray,
    eta_new: FloatArray,
    mu_new: FloatArray,
    y: FloatArray,
    logy: FloatArray,
    pw: FloatArray,
) -> float:
    """Step-halving: ``eta_new = (eta + eta_new) / 2``; returns the new deviance."""
    n = eta.shape[0]
    has_pw = pw.shape[0] == n
    dev = 0.0
    for i in range(n):
        e = 0.5 * (eta[i] + eta_new[i])
        eta_new[i] = e
        mi = np.exp(e)
        mu_new[i] = mi
        term = y[i] * (logy[i] - e) - (y[i] - mi) if y[i] > 0.0 else mi
        dev += pw[i] * term if has_pw else term
    return 2.0 * dev


def initial_working(
    y: FloatArray, weights: FloatArray | None, offset: FloatArray | None
) -> tuple[FloatArray, FloatArray]:
    """Working weights and response of the first Poisson IRLS iteration.

    ppmlhdfe's start ``mu = (y + ybar) / 2``, ``eta = log(mu)``, gives ``w0 = p mu`` and
    ``z0 = eta - offset + (y - mu) / mu``. :func:`ca_trade.estimate.model.fit` demeans
    ``[z0, X]`` at ``w0`` once, to check collinearity, and hands the result to
    :func:`poisson_irls` as ``init_block``.

    Parameters
    ----------
    y : ndarray, shape (n,)
    weights, offset : ndarray, optional

    Returns
    -------
    w0, z0 : ndarray, shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> w0, z0 = initial_working(np.array([0.0, 2.0]), None, None)
    >>> w0.tolist()
    [0.5, 1.5]
    """
    pw_sum = float(y.shape[0]) if weights is None else float(weights.sum())
    ybar = float((y if weights is None else weights * y).sum() / pw_sum)
    mu = 0.5 * (y + ybar)
    z = np.log(mu) + (y - mu) / mu
    if offset is not None:
        z -= offset
    return (mu if weights is None else weights * mu), z


@njit(cache=True)
def _step_deviance(
    eta: FloatArray, eta_new: FloatArray, s: float, y: FloatArray, logy: FloatArray, pw: FloatArray
) -> float:
    """Deviance at ``eta + s (eta_new - eta)`` (nothing is stored)."""
    n = eta.shape[0]
    has_pw = pw.shape[0] == n
    dev = 0.0
    for i in range(n):
        e = eta[i] + s * (eta_new[i] - eta[i])
        mi = np.exp(e)
        term = y[i] * (logy[i] - e) - (y[i] - mi) if y[i] > 0.0 else mi
        dev += pw[i] * term if has_pw else term
    return 2.0 * dev


@njit(cache=True)
def _apply_step(eta: FloatArray, eta_new: FloatArray, mu_new: FloatArray, s: float) -> None:
    """Set ``eta_new = eta + s (eta_new - eta)`` and ``mu_new = exp(eta_new)``."""
    for i in range(eta.shape[0]):
        e = eta[i] + s * (eta_new[i] - eta[i])
        eta_new[i] = e
        mu_new[i] = np.exp(e)


def _solve_gram(g: FloatArray) -> FloatArray:
    """Solve ``(X~'WX~) b = X~'W z~`` from the Gram matrix of ``[z~, X~]``.

    Raises ConvergenceError when the Gram matrix is not finite (overflowing weights or
    regressors), rather than returning NaN.
    """
    if not np.all(np.isfinite(g)):
        raise ConvergenceError(
            "the weighted cross-products of the regressors overflow float64 (the fitted "
            "values or the regressors are too large: exp of the linear predictor, or values "
            "near 1e150); check the offset and rescale the regressors"
        )
    xtx, xtz = g[1:, 1:], g[1:, 0]
    if xtx.shape[0] == 0:
        return np.zeros(0)
    try:
        c = scipy.linalg.cho_factor(xtx)
        return np.asarray(scipy.linalg.cho_solve(c, xtz), dtype=np.float64)
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.lstsq(xtx, xtz, rcond=None)[0], dtype=np.float64)


def _start(
    y: FloatArray, weights: FloatArray | None, offset: FloatArray | None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Prior weights and offset for the kernels (empty when absent), ``log y``, the first mu.

    ppmlhdfe's start: ``mu = (y + ybar) / 2``.
    """
    empty = np.zeros(0)
    pw = empty if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    off = empty if offset is None else np.ascontiguousarray(offset, dtype=np.float64)
    sum_pw = float(y.shape[0]) if weights is None else float(pw.sum())
    ybar = float((y if weights is None else pw * y).sum() / sum_pw)
    return pw, off, _log_y(y), 0.5 * (y + ybar)


def _first_block(
    y: FloatArray,
    X: FloatArray,
    fe: FixedEffects | None,
    weights: FloatArray | None,
    offset: FloatArray | None,
    init_block: FloatArray | None,
    zbuf: FloatArray,
) -> FloatArray:
    """Return the block ``[z~, X~]`` the loop demeans in place (the caller's, or a new one).

    With a warm start, ``zbuf`` receives the fixed-effect component ``z0 - z0~`` of the first
    working response.
    """
    n, k = X.shape
    if init_block is not None and fe is not None:
        if init_block.shape != (n, k + 1):
            raise ValueError(f"init_block has shape {init_block.shape}; expected {(n, k + 1)}")
        u = np.ascontiguousarray(init_block, dtype=np.float64)
        zbuf[:] = initial_working(y, weights, offset)[1]
        zbuf -= u[:, 0]
        return u
    u = np.empty((n, k + 1))
    u[:, 1:] = X
    return u


def _over_relax(
    eta: FloatArray,
    eta_new: FloatArray,
    mu_new: FloatArray,
    dev: float,
    y: FloatArray,
    logy: FloatArray,
    pw: FloatArray,
) -> float:
    """Lengthen the IRLS step while that lowers the deviance; return the deviance reached.

    IRLS converges only linearly where fitted zeros drift towards ``mu = 0``; a longer step
    along the Newton direction is kept when it lowers the deviance further (the deviance
    still decreases monotonically). ``eta_new`` and ``mu_new`` are updated in place.
    """
    s_try, best = 2.0, 1.0
    while s_try <= _EXTRA:
        d_try = _step_deviance(eta, eta_new, s_try, y, logy, pw)
        if not d_try < dev:
            break
        dev, best = d_try, s_try
        s_try *= 2.0
    if best > 1.0:
        _apply_step(eta, eta_new, mu_new, best)
    return dev


def _step_control(
    eta: FloatArray,
    eta_new: FloatArray,
    mu_new: FloatArray,
    dev: float,
    dev_old: float,
    y: FloatArray,
    logy: FloatArray,
    pw: FloatArray,
) -> float:
    """Halve a step that raises the deviance (up to 10 times), else try a longer one."""
    halvings = 0
    while (not np.isfinite(dev) or dev > dev_old * (1 + 1e-12)) and halvings < 10:
        dev = _halve(eta, eta_new, mu_new, y, logy, pw)
        halvings += 1
    if halvings == 0 and _EXTRA > 1.0:
        dev = _over_relax(eta, eta_new, mu_new, dev, y, logy, pw)
    return dev


def _next_inner_tol(inner_tol: float, eps: float, tol: float, fixef_tol: float) -> float:
    """Tighten the demeaning tolerance as the deviance settles (ppmlhdfe's schedule)."""
    inner_tol = max(min(inner_tol, _INNER_FACTOR * eps), fixef_tol)
    if eps < _FINAL_ZONE * tol:
        # the next iteration may be the last: do it at full precision rather than stop one
        # iteration later only because the demeaning was still loose
        inner_tol = fixef_tol
    return inner_tol


def _final_partial_out(
    Xt: FloatArray,
    X: FloatArray,
    fe: FixedEffects,
    w: FloatArray,
    fixef_tol: float,
    fixef_maxiter: int,
) -> bool:
    """Partial ``X~`` out once more at the final weights (warm-started); whether it converged.

    The last weighted regression used the weights of the previous iterate, which at a
    deviance-based stop can still be ~1e-4 away from the estimate in ``mu``; the sandwich must
    be evaluated at the estimate.
    """
    scale = _weighted_norms_2d(X, w)
    ok, _ = demean_inplace(Xt, fe, w, scale, tol=fixef_tol, maxiter=fixef_maxiter)
    return bool(ok)


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
    init_block: FloatArray | None = None,
    init_converged: bool = True,
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
    init_block : ndarray, shape (n, k + 1), optional
        ``[z0, X]`` demeaned at the initial weights to ``fixef_tol`` (see
        :func:`initial_working`); used as the first iteration's solution and overwritten.
    init_converged : bool, default True
        Whether the demeaning of ``init_block`` met its tolerance (reported back).

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
    y = np.ascontiguousarray(y, dtype=np.float64)
    X = np.ascontiguousarray(X, dtype=np.float64)
    pw, off, logy, mu = _start(y, weights, offset)
    # state: eta/mu and their candidates; u = [z~, X~] (demeaned in place, warm-started)
    eta = np.log(mu)
    eta_new = np.empty(n)
    mu_new = np.empty(n)
    zbuf = np.empty(n)
    cold = init_block is None or fe is None
    u = _first_block(y, X, fe, weights, offset, init_block, zbuf)
    w = np.empty(n)
    scale = np.empty(k + 1)
    work = np.empty((3, n, k + 1)) if fe is not None else None
    dev_old = poisson_deviance(y, mu, None if weights is None else pw)
    inner_tol = max(_INNER_START, fixef_tol) if fe is not None else fixef_tol
    converged = False
    fix_ok = True
    beta = np.zeros(k)
    beta_old = beta
    it = 0
    for it in range(1, maxiter + 1):
        beta_old = beta
        _working(y, eta, mu, off, pw, X, u, zbuf, w, scale, it == 1 and cold)
        if it == 1 and not cold:
            fix_ok = init_converged  # the caller demeaned [z0, X] to fixef_tol already
        elif fe is not None:
            inv_w = level_weights(fe, w)
            fix_ok, _ = demean_inplace(
                u, fe, w, scale, tol=inner_tol, maxiter=fixef_maxiter, inv_w=inv_w, work=work
            )
        beta = _solve_gram(_gram(u, w))
        dev = _update(u, zbuf, beta, off, y, logy, pw, eta_new, mu_new)
        if it > 1:
            dev = _step_control(eta, eta_new, mu_new, dev, dev_old, y, logy, pw)
        eps = abs(dev - dev_old) / max(min(dev, dev_old), 0.1)
        eta, eta_new = eta_new, eta
        mu, mu_new = mu_new, mu
        dev_old = dev
        if eps < tol and inner_tol <= fixef_tol * (1 + 1e-12):
            converged = True
            break
        if fe is not None:
            inner_tol = _next_inner_tol(inner_tol, eps, tol, fixef_tol)
    # The last weighted regression used the weights of the previous iterate, which at a
    # deviance-based stop can still be ~1e-4 away from the estimate in mu; the sandwich must be
    # evaluated at the estimate, so the regressors are partialled out once more at the final
    # weights (warm-started: a few sweeps).
    # separated observations: y = 0 and eta still falling by about 1 per iteration (eta_new
    # holds the previous iterate after the last swap)
    diverging = (y == 0.0) & (eta - eta_new < -_DIVERGE_STEP)
    w = mu if weights is None else pw * mu
    Xt = np.ascontiguousarray(u[:, 1:])
    del u, work
    if fe is not None and k:
        fix_ok = _final_partial_out(Xt, X, fe, w, fixef_tol, fixef_maxiter) and fix_ok
    return IRLSFit(
        beta=beta,
        eta=eta,
        mu=mu,
        X_tilde=Xt,
        weights=w,
        deviance=dev_old,
        n_iter=it,
        converged=converged,
        fixef_converged=bool(fix_ok),
        diverging=diverging,
        beta_step=beta - beta_old,
    )
