"""The HDFE kernel: weighted partialling-out of high-dimensional fixed effects.

Public, stable API (other modules, e.g. :mod:`ca_trade.estimate.separation`, rely on it):

``FixedEffects.from_codes(codes: list[np.ndarray]) -> FixedEffects``
    Factorise one integer (or any hashable-valued) array per fixed-effect dimension into dense
    codes ``0..G-1``; ``.n_levels`` and ``.counts`` give the number of levels and the number
    of observations per level of each dimension.

``demean(x, fe, weights=None, *, tol=1e-10, maxiter=10_000, init=None)
-> (x_tilde, converged, n_iter)``
    ``x`` is ``(n,)`` or ``(n, k)`` float64. Returns the weighted residual of ``x`` after
    projecting out all fixed effects (same shape as ``x``), a bool saying whether every column
    met ``tol``, and the number of iterations (sweeps shared by all columns).

``demean_inplace(u, fe, w, scale, *, tol, maxiter, inv_w=None) -> (converged, n_iter)`` and
``level_weights(fe, w)``: the allocation-free kernel used by IRLS, which demeans its working
response and regressors together in one ``(n, k + 1)`` block.

Algorithm
---------
Demeaning solves ``min_a sum_i w_i (x_i - (D a)_i)^2`` for the dummy matrix ``D`` of all
fixed effects and returns ``x - D a``. One weighted projection on dimension ``d`` subtracts
the weighted mean of each level. The *symmetric* Kaczmarz sweep ``T`` applies the projections
in the order ``0, 1, ..., D-1, ..., 1, 0``; ``T`` is self-adjoint in the ``w``-weighted inner
product, so the fixed-effect component ``p = D a`` solves the positive semi-definite system
``(I - T) p = (I - T) x``, which we solve by conjugate gradients (the acceleration reghdfe
uses). Each sweep is a fused numba loop that subtracts the level means of one dimension and
accumulates the weighted sums of the next in the same pass, for all columns at once (rows are
stored C order, so a pass reads each row's codes once and touches ``k`` adjacent values); the
last pass also forms ``(I - T) v`` and the CG inner product. Every column keeps its own CG
step lengths and stops on its own criterion; a finished column gets a zero search direction.
Codes are int32 to halve the memory traffic. With one fixed effect a single projection is
exact. The kernels are compiled with ``cache=True``: the first call in a fresh environment
compiles them (~11 s on a 2-core machine), later processes load them from ``__pycache__``.

Convergence: the CG residual ``r = (I - T)(x - p)`` must satisfy
``||r||_w <= tol * ||x||_w`` (weighted 2-norms).

Warm starts: ``init`` is a guess of ``x_tilde``. It must differ from ``x`` by an element of the
span of the fixed-effect dummies (for example ``init = x - p_old`` with ``p_old`` a previous
fixed-effect component ``x_old - x_old_tilde``); IRLS uses this to reuse the previous
iteration's solution.

Examples
--------
>>> import numpy as np
>>> from ca_trade.estimate.demean import FixedEffects, demean
>>> fe = FixedEffects.from_codes([np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])])
>>> xt, ok, it = demean(np.array([1.0, 2.0, 3.0, 4.0]), fe)
>>> bool(ok), np.allclose(xt, 0.0)
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
from numba import njit

from ca_trade._typing import BoolArray, FloatArray, Int32Array, IntArray

__all__ = ["FixedEffects", "demean", "demean_inplace", "level_weights"]


@dataclass(frozen=True)
class FixedEffects:
    """Factorised fixed effects: dense level codes per dimension.

    Parameters
    ----------
    codes : ndarray of int64, shape (n_fe, n)
        Dense codes ``0..G_d-1`` of each dimension ``d``.
    n_levels : ndarray of int64, shape (n_fe,)
        Number of levels ``G_d`` per dimension.
    counts : tuple of ndarray
        Observations per level, one array per dimension.
    offsets : ndarray of int64, shape (n_fe + 1,)
        Start of each dimension in a flat array of all levels.

    Examples
    --------
    >>> import numpy as np
    >>> fe = FixedEffects.from_codes([np.array([5, 5, 9])])
    >>> fe.n_levels.tolist(), fe.counts[0].tolist()
    ([2], [2, 1])
    """

    codes: IntArray
    n_levels: IntArray
    counts: tuple[IntArray, ...]
    offsets: IntArray

    @classmethod
    def from_codes(cls, codes: Sequence[npt.ArrayLike]) -> FixedEffects:
        """Factorise one array of level labels per fixed-effect dimension.

        Parameters
        ----------
        codes : sequence of array_like
            One array of length ``n`` per dimension; any sortable labels (integers,
            strings). Labels are mapped to ``0..G-1`` in sorted order.

        Returns
        -------
        FixedEffects

        Examples
        --------
        >>> import numpy as np
        >>> fe = FixedEffects.from_codes([np.array(["b", "a", "b"])])
        >>> fe.codes.tolist()
        [[1, 0, 1]]
        """
        if len(codes) == 0:
            raise ValueError("FixedEffects.from_codes needs at least one fixed-effect array")
        arrays = [np.asarray(c) for c in codes]
        n = arrays[0].shape[0]
        out = np.empty((len(arrays), n), dtype=np.int64)
        n_levels = np.empty(len(arrays), dtype=np.int64)
        counts: list[IntArray] = []
        for d, a in enumerate(arrays):
            if a.ndim != 1 or a.shape[0] != n:
                raise ValueError(
                    f"fixed-effect array {d} has shape {a.shape}; expected ({n},) like the first"
                )
            _, inv = np.unique(a, return_inverse=True)
            inv = inv.astype(np.int64).ravel()
            out[d] = inv
            cnt = np.bincount(inv).astype(np.int64)
            n_levels[d] = cnt.shape[0]
            counts.append(cnt)
        offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(n_levels)
        return cls(codes=out, n_levels=n_levels, counts=tuple(counts), offsets=offsets)

    @cached_property
    def kernel_codes(self) -> Int32Array:
        """The codes as a C-contiguous int32 array (half the memory traffic in the sweeps)."""
        if self.codes.shape[1] and int(self.n_levels.max()) >= 2**31:
            raise ValueError("a fixed effect has 2**31 levels or more; the kernel uses int32")
        return np.ascontiguousarray(self.codes, dtype=np.int32)

    @property
    def n_fe(self) -> int:
        """Number of fixed-effect dimensions."""
        return int(self.codes.shape[0])

    @property
    def nobs(self) -> int:
        """Number of observations."""
        return int(self.codes.shape[1])

    def subset(self, mask: BoolArray) -> FixedEffects:
        """Return the fixed effects of the rows where ``mask`` is true, re-factorised.

        Parameters
        ----------
        mask : ndarray of bool, shape (n,)

        Returns
        -------
        FixedEffects

        Examples
        --------
        >>> import numpy as np
        >>> fe = FixedEffects.from_codes([np.array([0, 1, 2])])
        >>> int(fe.subset(np.array([True, False, True])).n_levels[0])
        2
        """
        return FixedEffects.from_codes([c[mask] for c in self.codes])


@njit(cache=True)
def _level_weights(codes: Int32Array, offsets: IntArray, w: FloatArray) -> FloatArray:
    """Inverse of the total weight of every level (0 for levels without weight)."""
    n_fe, n = codes.shape
    inv = np.zeros(offsets[n_fe])
    for d in range(n_fe):
        off = offsets[d]
        for i in range(n):
            inv[off + codes[d, i]] += w[i]
    for g in range(inv.shape[0]):
        inv[g] = 1.0 / inv[g] if inv[g] > 0.0 else 0.0
    return inv


@njit(cache=True)
def _weighted_norms(x: FloatArray, w: FloatArray) -> FloatArray:
    """Weighted 2-norm of every column of ``x`` (shape ``(n, k)``)."""
    n, k = x.shape
    out = np.zeros(k)
    for i in range(n):
        wi = w[i]
        for j in range(k):
            out[j] += wi * x[i, j] * x[i, j]
    return np.sqrt(out)


@njit(cache=True)
def _sweep_dim(s: int, n_fe: int) -> int:
    """Dimension projected at step ``s`` of the symmetric order ``0, 1, ..., D-1, ..., 1, 0``."""
    return s if s < n_fe else 2 * n_fe - 2 - s


@njit(cache=True)
def _i_minus_t(
    v: FloatArray,
    out: FloatArray,
    codes: Int32Array,
    offsets: IntArray,
    inv_w: FloatArray,
    w: FloatArray,
    buf: FloatArray,
    dots: FloatArray,
    r: FloatArray,
    ca: FloatArray,
    cb: FloatArray,
    update: bool,
    start: int,
) -> None:
    """Set ``out = (I - T) v`` column by column and ``dots[j] = <v_j, out_j>_w``.

    ``T`` is the symmetric sweep over the dimensions ``0, 1, ..., D-1, ..., 1, 0``. All
    columns of ``v`` (shape ``(n, k)``, C order) go through each pass together, so the level
    codes are read once per pass whatever ``k`` is; the pass that subtracts the level means
    of one dimension accumulates the weighted level sums of the next.

    ``start = 0``: ``v`` is first projected on dimension 0 and that projection is written back
    into ``v`` (so ``v`` then has zero weighted level means in dimension 0). ``start = 1``:
    ``v`` must already have them, so the leading projection is the identity and is skipped
    (one pass fewer per sweep). With ``update``, ``v`` is first replaced by
    ``ca[j] r + cb[j] v`` in the same pass (the CG search-direction update).
    """
    n_fe, n = codes.shape
    k = v.shape[1]
    n_steps = 2 * n_fe - 1
    d0 = _sweep_dim(start, n_fe)
    off0 = offsets[d0]
    for g in range(off0, offsets[d0 + 1]):
        for j in range(k):
            buf[g, j] = 0.0
    if update:
        for i in range(n):
            g = off0 + codes[d0, i]
            wi = w[i]
            for j in range(k):
                vij = ca[j] * r[i, j] + cb[j] * v[i, j]
                v[i, j] = vij
                buf[g, j] += wi * vij
    else:
        for i in range(n):
            g = off0 + codes[d0, i]
            wi = w[i]
            for j in range(k):
                buf[g, j] += wi * v[i, j]
    for j in range(k):
        dots[j] = 0.0
    for s in range(start, n_steps):
        d = _sweep_dim(s, n_fe)
        off = offsets[d]
        for g in range(off, offsets[d + 1]):
            ig = inv_w[g]
            for j in range(k):
                buf[g, j] *= ig
        src = v if s == start else out
        if s + 1 < n_steps:
            dn = _sweep_dim(s + 1, n_fe)
            offn = offsets[dn]
            for g in range(offn, offsets[dn + 1]):
                for j in range(k):
                    buf[g, j] = 0.0
            write_back = s == 0
            for i in range(n):
                g = off + codes[d, i]
                gn = offn + codes[dn, i]
                wi = w[i]
                for j in range(k):
                    val = src[i, j] - buf[g, j]
                    out[i, j] = val
                    if write_back:
                        v[i, j] = val
                    buf[gn, j] += wi * val
        else:
            for i in range(n):
                g = off + codes[d, i]
                wi = w[i]
                for j in range(k):
                    val = v[i, j] - (src[i, j] - buf[g, j])
                    out[i, j] = val
                    dots[j] += wi * v[i, j] * val


@njit(cache=True)
def _cg_block(
    u: FloatArray,
    scale: FloatArray,
    codes: Int32Array,
    offsets: IntArray,
    inv_w: FloatArray,
    w: FloatArray,
    tol: float,
    maxiter: int,
    work: FloatArray,
) -> tuple[bool, int]:
    """Demean every column of ``u`` (shape ``(n, k)``, C order) in place by block CG.

    ``work`` (shape ``(3, n, k)``, C order) holds the residual, search direction and its
    image, so that repeated calls (IRLS) allocate nothing.

    Each column runs its own conjugate-gradient recursion (own step lengths), but all
    columns share every sweep. A column stops when its residual meets ``tol * scale[j]``;
    its search direction is then zeroed so later sweeps leave it unchanged.
    """
    n, k = u.shape
    buf = np.empty((inv_w.shape[0], k))
    dots = np.empty(k)
    r = work[0]
    ca = np.ones(k)
    cb = np.zeros(k)
    _i_minus_t(u, r, codes, offsets, inv_w, w, buf, dots, r, ca, cb, False, 0)
    if codes.shape[0] == 1:
        # one fixed effect: (I - T) u is the level-mean part, removed exactly
        for i in range(n):
            for j in range(k):
                u[i, j] -= r[i, j]
        return True, 1
    rs = _weighted_norms(r, w) ** 2
    active = np.empty(k, dtype=np.bool_)
    ok = np.ones(k, dtype=np.bool_)
    for j in range(k):
        if scale[j] == 0.0:
            for i in range(n):
                u[i, j] = 0.0
            active[j] = False
        else:
            active[j] = np.sqrt(rs[j]) > tol * scale[j]
    if not active.any():
        return True, 0
    d = work[1]
    for i in range(n):
        for j in range(k):
            d[i, j] = r[i, j] if active[j] else 0.0
    ad = work[2]
    alpha = np.zeros(k)
    rs_new = np.zeros(k)
    n_iter = 0
    for it in range(1, maxiter + 1):
        n_iter = it
        # it > 1: d = ca r + cb d (the direction update) is fused into the first pass; d has
        # zero dimension-0 level means (u was projected on dimension 0 above), so start = 1
        _i_minus_t(d, ad, codes, offsets, inv_w, w, buf, dots, r, ca, cb, it > 1, 1)
        for j in range(k):
            alpha[j] = 0.0
            if active[j]:
                if dots[j] <= 0.0:
                    # breakdown: no further progress possible in this column
                    active[j] = False
                    ok[j] = np.sqrt(rs[j]) <= tol * scale[j] * 10.0
                else:
                    alpha[j] = rs[j] / dots[j]
            rs_new[j] = 0.0
        for i in range(n):
            wi = w[i]
            for j in range(k):
                a = alpha[j]
                u[i, j] -= a * d[i, j]
                rij = r[i, j] - a * ad[i, j]
                r[i, j] = rij
                rs_new[j] += wi * rij * rij
        for j in range(k):
            ca[j] = 0.0
            cb[j] = 0.0
            if active[j]:
                if np.sqrt(rs_new[j]) <= tol * scale[j]:
                    active[j] = False
                else:
                    ca[j] = 1.0
                    cb[j] = rs_new[j] / rs[j]
                rs[j] = rs_new[j]
        if not active.any():
            break
    all_ok = True
    for j in range(k):
        if active[j] or not ok[j]:
            all_ok = False
    return all_ok, n_iter


def demean_inplace(
    u: FloatArray,
    fe: FixedEffects,
    w: FloatArray,
    scale: FloatArray,
    *,
    tol: float = 1e-10,
    maxiter: int = 10_000,
    inv_w: FloatArray | None = None,
    work: FloatArray | None = None,
) -> tuple[bool, int]:
    """Demean the columns of ``u`` in place (the low-level kernel behind :func:`demean`).

    Parameters
    ----------
    u : ndarray of float64, shape (n, k), C-contiguous
        On entry a warm start (``x`` itself, or ``x`` minus an element of the span of the
        fixed-effect dummies); on exit the demeaned ``x``.
    fe : FixedEffects
    w : ndarray of float64, shape (n,)
        Non-negative weights (not checked).
    scale : ndarray of float64, shape (k,)
        Weighted norm of each original column; column ``j`` is converged when its residual
        norm is at most ``tol * scale[j]``. A zero scale sets the column to zero.
    tol : float, default 1e-10
    maxiter : int, default 10_000
    inv_w : ndarray, optional
        Precomputed inverse level weights (from :func:`level_weights`) for these ``w``.
    work : ndarray of float64, shape (3, n, k), C-contiguous, optional
        Scratch space, reused across calls to avoid allocating (and page-faulting) three
        ``(n, k)`` blocks per call.

    Returns
    -------
    converged : bool
    n_iter : int
        Conjugate-gradient iterations (each costs one sweep over all columns).

    Examples
    --------
    >>> import numpy as np
    >>> fe = FixedEffects.from_codes([np.array([0, 0, 1]), np.array([0, 1, 1])])
    >>> u = np.array([[1.0], [2.0], [4.0]])
    >>> w = np.ones(3)
    >>> ok, it = demean_inplace(u, fe, w, np.sqrt((u**2).sum(axis=0)))
    >>> bool(ok), np.allclose(u, 0.0)
    (True, True)
    """
    if not (u.flags.c_contiguous and u.dtype == np.float64 and u.ndim == 2):
        raise ValueError("demean_inplace needs a C-contiguous float64 array of shape (n, k)")
    if u.shape[1] == 0:
        return True, 0
    iw = level_weights(fe, w) if inv_w is None else inv_w
    if work is None:
        work = np.empty((3, *u.shape))
    elif work.shape != (3, *u.shape) or not work.flags.c_contiguous:
        raise ValueError(f"work has shape {work.shape}; expected a C-contiguous {(3, *u.shape)}")
    ok, it = _cg_block(u, scale, fe.kernel_codes, fe.offsets, iw, w, float(tol), int(maxiter), work)
    return bool(ok), int(it)


def level_weights(fe: FixedEffects, w: FloatArray) -> FloatArray:
    """Inverse total weight of every fixed-effect level, stacked over dimensions.

    Parameters
    ----------
    fe : FixedEffects
    w : ndarray of float64, shape (n,)

    Returns
    -------
    ndarray of float64, shape (fe.offsets[-1],)
        ``1 / sum_{i in g} w_i`` (0 for a level with no weight).

    Examples
    --------
    >>> import numpy as np
    >>> fe = FixedEffects.from_codes([np.array([0, 0, 1])])
    >>> level_weights(fe, np.array([1.0, 3.0, 2.0])).tolist()
    [0.25, 0.5]
    """
    return _level_weights(fe.kernel_codes, fe.offsets, w)


def demean(
    x: npt.ArrayLike,
    fe: FixedEffects,
    weights: npt.ArrayLike | None = None,
    *,
    tol: float = 1e-10,
    maxiter: int = 10_000,
    init: npt.ArrayLike | None = None,
) -> tuple[FloatArray, bool, int]:
    """Partial the fixed effects out of ``x`` by weighted least squares.

    Parameters
    ----------
    x : array_like, shape (n,) or (n, k)
        Variables to demean (converted to float64).
    fe : FixedEffects
        The fixed effects, with ``fe.nobs == n``.
    weights : array_like, shape (n,), optional
        Non-negative weights; ``None`` means unit weights.
    tol : float, default 1e-10
        Relative tolerance on the weighted norm of the CG residual (see module docstring).
    maxiter : int, default 10_000
        Cap on conjugate-gradient iterations (all columns advance together).
    init : array_like, optional
        Initial guess of the result, same shape as ``x``; ``x - init`` must lie in the span
        of the fixed-effect dummies (a warm start from a previous solution).

    Returns
    -------
    x_tilde : ndarray of float64
        Demeaned ``x``, same shape.
    converged : bool
        Whether every column met ``tol`` within ``maxiter``.
    n_iter : int
        Number of conjugate-gradient iterations (sweeps shared by all columns).

    Examples
    --------
    >>> import numpy as np
    >>> fe = FixedEffects.from_codes([np.array([0, 0, 1])])
    >>> demean(np.array([1.0, 3.0, 5.0]), fe)[0].tolist()
    [-1.0, 1.0, 0.0]
    """
    xa = np.asarray(x, dtype=np.float64)
    one_d = xa.ndim == 1
    x2 = xa.reshape(-1, 1) if one_d else xa
    n = fe.nobs
    if x2.ndim != 2 or x2.shape[0] != n:
        raise ValueError(f"x has shape {xa.shape}; expected ({n},) or ({n}, k)")
    if weights is None:
        w = np.ones(n)
    else:
        w = np.ascontiguousarray(weights, dtype=np.float64)
        if w.shape != (n,):
            raise ValueError(f"weights have shape {w.shape}; expected ({n},)")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be finite and non-negative")
    if init is not None:
        ia = np.asarray(init, dtype=np.float64)
        if ia.shape != xa.shape:
            raise ValueError(f"init has shape {ia.shape}; expected {xa.shape} like x")
        u = np.array(ia.reshape(-1, 1) if one_d else ia, dtype=np.float64, order="C")
    else:
        u = np.array(x2, dtype=np.float64, order="C")
    if u.shape[1] == 0:
        return (u[:, 0] if one_d else u), True, 0
    scale = _weighted_norms(np.ascontiguousarray(x2), w)
    converged, n_iter = demean_inplace(u, fe, w, scale, tol=tol, maxiter=maxiter)
    return (u[:, 0] if one_d else u), converged, n_iter
