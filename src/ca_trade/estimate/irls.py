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
lowers it further, the longer step is kept (over-relaxation). The fixed effects of ``z`` and
``X`` are carried as coefficients per level, solved together as one block by the HDFE
kernels of :mod:`ca_trade.estimate._hdfe_kernels` and warm-started from the previous
iteration's coefficients; the per-row work (working response, Gram matrix, update and
deviance, gathering the fixed effects on the fly) runs in the compiled passes of
:mod:`ca_trade.estimate._irls_kernels`. At the end ``X`` is partialled out once more at the
final weights, at which the covariance is evaluated.

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

from ca_trade._typing import BoolArray, FloatArray, Int32Array, IntArray
from ca_trade.estimate._hdfe_kernels import level_sums, pcg, residual, subtract, weighted_norms
from ca_trade.estimate._irls_kernels import (
    apply_step,
    gram,
    halve,
    log_y,
    shift_left,
    update,
    working,
)
from ca_trade.estimate.demean import FixedEffects, column_norms, demean_inplace
from ca_trade.exceptions import ConvergenceError

__all__ = [
    "IRLSFit",
    "block_gram",
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
#: Level codes of a model without fixed effects (the Gram kernel gathers nothing).
_NO_LEVELS = np.empty((0, 0), dtype=np.int32)
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
    total = 0.0
    chunk = 1 << 16  # in row chunks: no temporaries the size of the data
    for i in range(0, y.shape[0], chunk):
        yc, mc = y[i : i + chunk], mu[i : i + chunk]
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(yc > 0, yc * np.log(yc / mc), 0.0) - (yc - mc)
        if weights is not None:
            term *= weights[i : i + chunk]
        total += float(term.sum())
    return 2.0 * total


def _r_factor(
    Xt: FloatArray, w: FloatArray, cols: list[int], norms: FloatArray, chunk: int = 1 << 16
) -> FloatArray:
    """``R`` of the QR decomposition of ``W^1/2 Xt[:, cols] / norms[cols]``, by row chunks.

    Each chunk is stacked under the ``R`` so far and decomposed again (tall-skinny QR), so
    no scaled copy of the whole matrix is made; ``R`` is unique up to the signs of its rows.
    """
    scale = 1.0 / norms[cols]
    r = np.zeros((0, len(cols)))
    for i in range(0, Xt.shape[0], chunk):
        block = Xt[i : i + chunk, cols] * np.sqrt(w[i : i + chunk])[:, None] * scale
        r = np.asarray(np.linalg.qr(np.vstack([r, block]), mode="r"))
    return r


def find_collinear(
    Xt: FloatArray, X: FloatArray, w: FloatArray, tol: float = 1e-9, rtol: float = 1e-7
) -> list[int]:
    """Columns to drop: absorbed by the fixed effects or linearly dependent on earlier ones.

    A column is absorbed when its partialled-out weighted norm is below ``tol`` times its
    original weighted norm; the remaining columns are checked in order by a QR
    decomposition of the weighted, partialled-out matrix (a column whose ``|R_jj|`` is below
    ``rtol`` times its own norm depends on the columns before it).

    Parameters
    ----------
    Xt : ndarray, shape (n, k)
        Partialled-out regressors.
    X : ndarray, shape (n, k)
        Original regressors.
    w : ndarray, shape (n,)
        Weights.
    tol : float, default 1e-9
    rtol : float, default 1e-7

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
    orig, part = column_norms(X, w), column_norms(Xt, w)
    drop = [j for j in range(k) if part[j] <= tol * max(orig[j], 1e-300) or part[j] == 0.0]
    rest = [j for j in range(k) if j not in drop]
    if len(rest) < 2:
        return drop
    # Householder QR works through the columns in order, so the leading block of the R of all
    # remaining columns is the R of the leading columns: one decomposition decides every
    # column unless one of them depends on earlier ones (then they are decided one by one)
    rdiag = np.abs(np.diag(_r_factor(Xt, w, rest, part)))
    if rdiag.shape[0] == len(rest) and np.all(rdiag >= rtol):
        return drop
    keep: list[int] = []
    for j in rest:
        rmat = _r_factor(Xt, w, [*keep, j], part)
        if abs(rmat[-1, -1]) < rtol:
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
    beta = _solve_gram(block_gram(u, w))
    e = zt - Xt @ beta
    deviance = float(((e * e) if weights is None else (w * e * e)).sum())
    np.subtract(y, e, out=e)  # the fitted values, in e's memory
    # the partialled-out regressors, moved to the front of u's memory: a C-ordered (n, k)
    # view, without a copy beside the block
    shift_left(u.reshape(-1), n, k + 1)
    X_tilde = u.reshape(-1)[: n * k].reshape(n, k)
    return IRLSFit(
        beta=beta,
        eta=e,
        mu=e,
        X_tilde=X_tilde,
        weights=w,
        deviance=deviance,
        n_iter=1,
        converged=bool(ok),
        fixef_converged=bool(ok),
        diverging=np.zeros(n, dtype=bool),
        beta_step=np.zeros(k),
    )


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
    return pw, off, log_y(y), 0.5 * (y + ybar)


@dataclass
class _Engine:
    """Fixed-effect state of one IRLS run: coefficients per level and the solver's scratch.

    The fixed effects are carried as coefficients ``a`` (one column per column of
    ``[z, X]``), so no demeaned ``(n, k + 1)`` block is written inside the loop: the Gram and
    update passes gather ``D a`` on the fly, and each solve starts from the previous
    iteration's coefficients (the warm start).
    """

    lev: Int32Array
    offsets: IntArray
    a: FloatArray  # FE coefficients of the columns of [z, X], shape (L, k + 1)
    e: FloatArray  # level weights at the current w
    inv_e: FloatArray
    r0: FloatArray
    work: FloatArray

    @classmethod
    def create(cls, fe: FixedEffects | None, n: int, m: int) -> _Engine:
        if fe is None:
            lev, offsets = np.empty((0, n), dtype=np.int32), np.zeros(1, dtype=np.int64)
        else:
            lev, offsets = fe.kernel_codes, fe.offsets
        n_lev = int(offsets[-1])
        return cls(
            lev=lev,
            offsets=offsets,
            a=np.zeros((n_lev, m)),
            e=np.empty(n_lev),
            inv_e=np.empty(n_lev),
            r0=np.empty((n_lev, m)),
            work=np.empty((5, n_lev, m)),
        )

    @classmethod
    def start(
        cls,
        fe: FixedEffects | None,
        n: int,
        m: int,
        init_block: FloatArray | None,
        init_coef: FloatArray | None,
        init_gram: FloatArray | None = None,
    ) -> tuple[_Engine, bool]:
        """Create the engine of a run, warm-started from ``init_coef``; say if a block is used.

        Raises ValueError for an ``init_block``, ``init_gram`` or ``init_coef`` of the wrong
        shape, coefficients without their block (or its Gram matrix), or a Gram matrix
        without the coefficients.
        """
        if init_block is not None and init_block.shape != (n, m):
            raise ValueError(f"init_block has shape {init_block.shape}; expected {(n, m)}")
        if init_gram is not None and init_gram.shape != (m, m):
            raise ValueError(f"init_gram has shape {init_gram.shape}; expected {(m, m)}")
        warm = (init_block is not None or init_gram is not None) and fe is not None
        eng = cls.create(fe, n, m)
        if init_coef is not None:
            if init_coef.shape != eng.a.shape:
                raise ValueError(f"init_coef has shape {init_coef.shape}; expected {eng.a.shape}")
            if not warm:
                raise ValueError("init_coef needs init_block or init_gram (the first block)")
            eng.a[:] = init_coef
        elif init_gram is not None and init_block is None and warm:
            raise ValueError("init_gram needs init_coef (the block's fixed-effect coefficients)")
        return eng, warm

    def solve(
        self, u: FloatArray, w: FloatArray, scale: FloatArray, cols: IntArray, tol: float, cap: int
    ) -> bool:
        """Update the coefficients of ``cols`` so that ``u - D a`` is demeaned at ``w``."""
        if self.lev.shape[0] == 0:
            return True
        level_sums(self.lev, w, self.e)
        np.divide(1.0, self.e, out=self.inv_e, where=self.e > 0.0)
        self.inv_e[self.e <= 0.0] = 0.0
        residual(self.lev, w, u, self.a, self.r0, cols, False)
        ok, _ = pcg(
            self.lev, self.offsets, w, self.e, self.inv_e, self.r0, self.a, scale, tol, cap,
            self.work, cols,
        )  # fmt: skip
        return bool(ok)


def block_gram(block: FloatArray, w: FloatArray) -> FloatArray:
    """Return ``block' W block``: the normal equations of a regression on a demeaned block.

    Parameters
    ----------
    block : ndarray, shape (n, m), C-contiguous
        ``[z, X]`` with the fixed effects partialled out.
    w : ndarray, shape (n,)

    Returns
    -------
    ndarray, shape (m, m)

    Examples
    --------
    >>> import numpy as np
    >>> block_gram(np.array([[1.0, 2.0], [3.0, 0.0]]), np.array([1.0, 0.5])).tolist()
    [[5.5, 2.0], [2.0, 4.0]]
    """
    return gram(_NO_LEVELS, block, np.empty((0, block.shape[1])), w)


def _first_from_block(
    block: FloatArray, z0: FloatArray, w0: FloatArray, off: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """First iteration from ``[z0~, X~]`` alone (no coefficients): ``beta`` and ``eta``."""
    beta = _solve_gram(block_gram(block, w0))
    eta = z0 - block[:, 0] + block[:, 1:] @ beta
    return beta, (eta + off if off.shape[0] else eta)


def _step_control(
    eta: FloatArray,
    eta_new: FloatArray,
    mu_new: FloatArray,
    dev: float,
    dev2: float,
    dev_old: float,
    y: FloatArray,
    logy: FloatArray,
    pw: FloatArray,
) -> float:
    """Halve a step that raises the deviance (up to 10 times), else try twice the step.

    IRLS converges only linearly where fitted zeros drift towards ``mu = 0``; twice the step
    along the Newton direction is kept when it lowers the deviance further (``dev2``, the
    update pass's estimate, says whether to try; the deviance is then recomputed exactly and
    the step is halved back if it is not lower), so the deviance decreases monotonically.
    ``eta_new`` and ``mu_new`` are updated in place; returns the deviance reached.
    """
    halvings = 0
    while (not np.isfinite(dev) or dev > dev_old * (1 + 1e-12)) and halvings < 10:
        dev = halve(eta, eta_new, mu_new, y, logy, pw)
        halvings += 1
    if halvings == 0 and dev2 < dev:
        longer = apply_step(eta, eta_new, mu_new, 2.0, y, logy, pw)
        dev = longer if longer < dev else halve(eta, eta_new, mu_new, y, logy, pw)
    return dev


def _next_inner_tol(inner_tol: float, eps: float, tol: float, fixef_tol: float) -> float:
    """Tighten the demeaning tolerance as the deviance settles (ppmlhdfe's schedule)."""
    inner_tol = max(min(inner_tol, _INNER_FACTOR * eps), fixef_tol)
    if eps < _FINAL_ZONE * tol:
        # the next iteration may be the last: do it at full precision rather than stop one
        # iteration later only because the demeaning was still loose
        inner_tol = fixef_tol
    return inner_tol


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
    init_coef: FloatArray | None = None,
    init_gram: FloatArray | None = None,
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
    init_coef : ndarray, shape (fe.offsets[-1], k + 1), optional
        The fixed-effect coefficients that ``init_block`` subtracted (``coef`` of
        :func:`~ca_trade.estimate.demean.demean_inplace`): the first iteration's solution in
        coefficient form, which warm-starts the second. Without it the second iteration's
        demeaning starts from zero.
    init_gram : ndarray, shape (k + 1, k + 1), optional
        ``init_block' W0 init_block`` (:func:`block_gram`), in place of ``init_block``: with
        ``init_coef`` the first iteration needs only this matrix, so the caller need not keep
        the ``(n, k + 1)`` block while the loop runs.

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
    eng, warm = _Engine.start(fe, n, k + 1, init_block, init_coef, init_gram)
    # state: eta/mu and their candidates; u = [z, X] (z rewritten every iteration)
    eta = np.log(mu)
    eta_new = np.empty(n)
    mu_new = np.empty(n)
    u = np.empty((n, k + 1))
    u[:, 1:] = X
    w = np.empty(n)
    scale = np.empty(k + 1)
    cols = np.arange(k + 1, dtype=np.int64)
    dev_old = poisson_deviance(y, mu, None if weights is None else pw)
    inner_tol = max(_INNER_START, fixef_tol) if fe is not None else fixef_tol
    converged = False
    fix_ok = True
    beta = np.zeros(k)
    beta_old = beta
    it = 0
    for it in range(1, maxiter + 1):
        beta_old = beta
        working(y, eta, mu, off, pw, u, w, scale)
        dev2 = np.inf
        if it == 1 and warm and init_coef is None:
            # [z0~, X~] without its coefficients: first step from the block, cold start after
            assert init_block is not None
            beta, eta_new[:] = _first_from_block(init_block, u[:, 0], w, off)
            fix_ok = init_converged
            with np.errstate(over="ignore"):
                np.exp(eta_new, out=mu_new)
            dev = poisson_deviance(y, mu_new, None if weights is None else pw)
        else:
            if it == 1 and warm:
                fix_ok = init_converged  # the caller demeaned [z0, X] to fixef_tol already
                if init_gram is not None:
                    g = init_gram
                else:
                    assert init_block is not None
                    g = block_gram(init_block, w)
                init_block = None  # not needed again (the caller may free it)
            else:
                fix_ok = eng.solve(u, w, scale, cols, inner_tol, fixef_maxiter)
                g = gram(eng.lev, u, eng.a, w)
            beta = _solve_gram(g)
            a_eta = eng.a[:, 0] - eng.a[:, 1:] @ beta
            dev, dev2 = update(eng.lev, X, beta, a_eta, off, y, logy, pw, eta, mu, eta_new, mu_new)
        if it > 1:
            dev = _step_control(eta, eta_new, mu_new, dev, dev2, dev_old, y, logy, pw)
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
    # weights (warm-started from their coefficients: a few iterations).
    # separated observations: y = 0 and eta still falling by about 1 per iteration (eta_new
    # holds the previous iterate after the last swap)
    diverging = (y == 0.0) & (eta - eta_new < -_DIVERGE_STEP)
    del eta_new, mu_new, logy  # memory for the partialled-out regressors below
    w = mu if weights is None else pw * mu
    if fe is not None and k:
        xcols = cols[1:]
        weighted_norms(u, w, scale)
        fix_ok = eng.solve(u, w, scale, xcols, fixef_tol, fixef_maxiter) and fix_ok
        subtract(eng.lev, u, eng.a, u, xcols)
    Xt = np.ascontiguousarray(u[:, 1:])
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
