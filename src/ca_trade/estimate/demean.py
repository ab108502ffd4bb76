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
    met ``tol``, and the largest number of iterations any column needed.

Algorithm
---------
Demeaning solves ``min_a sum_i w_i (x_i - (D a)_i)^2`` for the dummy matrix ``D`` of all
fixed effects and returns ``x - D a``. One weighted projection on dimension ``d`` subtracts
the weighted mean of each level. The *symmetric* Kaczmarz sweep ``T`` applies the projections
in the order ``0, 1, ..., D-1, ..., 1, 0``; ``T`` is self-adjoint in the ``w``-weighted inner
product, so the fixed-effect component ``p = D a`` solves the positive semi-definite system
``(I - T) p = (I - T) x``, which we solve by conjugate gradients (the acceleration reghdfe
uses). Each sweep is a fused numba loop that subtracts the level means of one dimension and
accumulates the weighted sums of the next in the same pass. With one fixed effect a single
projection is exact.

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

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["FixedEffects", "demean"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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

    @property
    def n_fe(self) -> int:
        """Number of fixed-effect dimensions."""
        return int(self.codes.shape[0])

    @property
    def nobs(self) -> int:
        """Number of observations."""
        return int(self.codes.shape[1])

    def subset(self, mask: npt.NDArray[np.bool_]) -> FixedEffects:
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
def _level_weights(codes: IntArray, offsets: IntArray, w: FloatArray) -> FloatArray:
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
def _sym_sweep(
    v: FloatArray,
    out: FloatArray,
    codes: IntArray,
    offsets: IntArray,
    inv_w: FloatArray,
    w: FloatArray,
    buf: FloatArray,
) -> None:
    """Set ``out = T v``, T the symmetric Kaczmarz sweep (fused passes)."""
    n_fe, n = codes.shape
    # order of dimensions: 0..D-1, D-2..0
    n_steps = 2 * n_fe - 1
    buf[:] = 0.0
    d0 = 0
    off0 = offsets[d0]
    for i in range(n):
        out[i] = v[i]
        buf[off0 + codes[d0, i]] += w[i] * v[i]
    for s in range(n_steps):
        d = s if s < n_fe else 2 * n_fe - 2 - s
        off = offsets[d]
        for g in range(off, offsets[d + 1]):
            buf[g] *= inv_w[g]
        if s + 1 < n_steps:
            dn = s + 1 if s + 1 < n_fe else 2 * n_fe - 3 - s
            offn = offsets[dn]
            for g in range(offn, offsets[dn + 1]):
                buf[g] = 0.0
            for i in range(n):
                val = out[i] - buf[off + codes[d, i]]
                out[i] = val
                buf[offn + codes[dn, i]] += w[i] * val
        else:
            for i in range(n):
                out[i] -= buf[off + codes[d, i]]


@njit(cache=True)
def _wdot(a: FloatArray, b: FloatArray, w: FloatArray) -> float:
    s = 0.0
    for i in range(a.shape[0]):
        s += w[i] * a[i] * b[i]
    return s


@njit(cache=True)
def _cg_demean(
    x: FloatArray,
    u: FloatArray,
    codes: IntArray,
    offsets: IntArray,
    inv_w: FloatArray,
    w: FloatArray,
    tol: float,
    maxiter: int,
) -> tuple[bool, int]:
    """Demean x in place of u (u holds the initial guess of x_tilde on entry)."""
    n = x.shape[0]
    buf = np.zeros(inv_w.shape[0])
    scale = np.sqrt(_wdot(x, x, w))
    if scale == 0.0:
        for i in range(n):
            u[i] = 0.0
        return True, 0
    if codes.shape[0] == 1:
        _sym_sweep(x, u, codes, offsets, inv_w, w, buf)
        return True, 1
    tu = np.empty(n)
    _sym_sweep(u, tu, codes, offsets, inv_w, w, buf)
    r = u - tu
    rs = _wdot(r, r, w)
    if np.sqrt(rs) <= tol * scale:
        return True, 0
    d = r.copy()
    ad = np.empty(n)
    for it in range(1, maxiter + 1):
        _sym_sweep(d, ad, codes, offsets, inv_w, w, buf)
        for i in range(n):
            ad[i] = d[i] - ad[i]
        dad = _wdot(d, ad, w)
        if dad <= 0.0:
            return np.sqrt(rs) <= tol * scale * 10.0, it
        alpha = rs / dad
        for i in range(n):
            u[i] -= alpha * d[i]
            r[i] -= alpha * ad[i]
        rs_new = _wdot(r, r, w)
        if np.sqrt(rs_new) <= tol * scale:
            return True, it
        beta = rs_new / rs
        rs = rs_new
        for i in range(n):
            d[i] = r[i] + beta * d[i]
    return False, maxiter


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
        Cap on conjugate-gradient iterations per column.
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
        Largest number of iterations over the columns.

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
        i2 = ia.reshape(-1, 1) if one_d else ia
    inv_w = _level_weights(fe.codes, fe.offsets, w)
    out = np.empty_like(x2, dtype=np.float64)
    converged = True
    n_iter = 0
    for j in range(x2.shape[1]):
        col = np.ascontiguousarray(x2[:, j])
        u = np.ascontiguousarray(i2[:, j]).copy() if init is not None else col.copy()
        ok, it = _cg_demean(col, u, fe.codes, fe.offsets, inv_w, w, float(tol), int(maxiter))
        out[:, j] = u
        converged = converged and bool(ok)
        n_iter = max(n_iter, int(it))
    return (out[:, 0] if one_d else out), converged, n_iter
