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

``demean_inplace(u, fe, w, scale, *, tol, maxiter, inv_w=None, coef=None)
-> (converged, n_iter)`` and ``level_weights(fe, w)``: the allocation-free form, which
demeans a ``(n, k)`` block in place (optionally returning the fixed-effect coefficients it
subtracted); ``demean_stacked`` is the same for fixed effects given as stacked level indices
(the separation checks build those directly); ``column_norms(x, w)`` gives the weighted norm of
every column, the scale the solver's tolerance is relative to.

Algorithm
---------
Demeaning solves ``min_a sum_i w_i (x_i - (D a)_i)^2`` for the dummy matrix ``D`` of all
fixed effects and returns ``x - D a``: the normal equations ``D'WD a = D'W x`` are solved in
level space by conjugate gradients preconditioned with symmetric block Gauss-Seidel (one
block per fixed-effect dimension), in the kernels of :mod:`ca_trade.estimate._hdfe_kernels`.
A pass over the observations reads only each row's level codes (int32) and weight, for all
columns of the block at once; every column keeps its own CG recursion and stops on its own
criterion. With one fixed effect the solve is exact in one step. The kernels are compiled
with ``cache=True``: the first call in a fresh environment compiles them, later processes
load them from ``__pycache__``.

Convergence: column ``j`` stops when ``sqrt(r' M^-1 r) <= tol * ||x_j||_w`` with
``r = D'W (x - D a)`` and ``M`` the preconditioner; this bounds the weighted norm of
``(I - T)(x - D a)`` (``T`` the symmetric Kaczmarz sweep of the alternating projections, the
criterion of reghdfe's CG acceleration) from above, so it is at least as strict.

Warm starts: ``init`` is a guess of ``x_tilde``. It must differ from ``x`` by an element of the
span of the fixed-effect dummies (for example ``init = x - p_old`` with ``p_old`` a previous
fixed-effect component ``x_old - x_old_tilde``); the solver then finds only the correction.

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
from ca_trade.estimate._hdfe_kernels import (
    level_sums,
    pcg,
    residual,
    subtract,
    weighted_norms,
)

__all__ = [
    "FixedEffects",
    "column_norms",
    "demean",
    "demean_inplace",
    "demean_stacked",
    "level_weights",
]


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
    labels : tuple of ndarray
        The label of each level, one array per dimension (dense code ``g`` of dimension
        ``d`` is ``labels[d][g]``); empty when the codes were given already dense.

    Examples
    --------
    >>> import numpy as np
    >>> fe = FixedEffects.from_codes([np.array([5, 5, 9])])
    >>> fe.n_levels.tolist(), fe.counts[0].tolist(), fe.labels[0].tolist()
    ([2], [2, 1], [5, 9])
    """

    codes: IntArray
    n_levels: IntArray
    counts: tuple[IntArray, ...]
    offsets: IntArray
    labels: tuple[npt.NDArray[np.generic], ...] = ()

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
        labels: list[npt.NDArray[np.generic]] = []
        for d, a in enumerate(arrays):
            if a.ndim != 1 or a.shape[0] != n:
                raise ValueError(
                    f"fixed-effect array {d} has shape {a.shape}; expected ({n},) like the first"
                )
            lab, cnt = _factorise(a, out[d])
            n_levels[d] = cnt.shape[0]
            counts.append(cnt)
            labels.append(lab)
        offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(n_levels)
        return cls(
            codes=out,
            n_levels=n_levels,
            counts=tuple(counts),
            offsets=offsets,
            labels=tuple(labels),
        )

    @cached_property
    def kernel_codes(self) -> Int32Array:
        """Each row's level in the stacked level space, ``codes[d] + offsets[d]``, as int32.

        Shape ``(n_fe, n)``, C-contiguous: the index into arrays that hold the levels of all
        dimensions one after the other (int32 halves the memory traffic of the kernels).
        """
        if self.codes.shape[1] and int(self.offsets[-1]) >= 2**31:
            raise ValueError("the fixed effects have 2**31 levels or more; the kernel uses int32")
        out = np.empty(self.codes.shape, dtype=np.int32)
        np.add(self.codes, self.offsets[:-1, None], out=out, casting="unsafe")  # no int64 copy
        return out

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


def _factorise(
    a: npt.NDArray[np.generic], codes: IntArray
) -> tuple[npt.NDArray[np.generic], IntArray]:
    """Sorted labels and counts of one label array; its dense codes are written to ``codes``.

    Non-negative integer labels below ``2 n + 1024`` (codes from ``pandas.factorize`` and
    subsets of them) are mapped with one ``bincount`` instead of a sort.
    """
    n = a.shape[0]
    if (
        np.issubdtype(a.dtype, np.integer)
        and n
        and int(a.min()) >= 0
        and int(a.max()) < 2 * n + 1024
    ):
        cnt = np.bincount(a)
        present = cnt > 0
        remap = np.cumsum(present, dtype=np.int64) - 1
        np.take(remap, a.astype(np.int64, copy=False), out=codes)
        return np.flatnonzero(present).astype(a.dtype), cnt[present].astype(np.int64)
    lab, inv = np.unique(a, return_inverse=True)
    codes[:] = inv.ravel()
    return lab, np.bincount(codes, minlength=lab.shape[0]).astype(np.int64)


@njit(cache=True, nogil=True)
def _level_weights(lev: Int32Array, n_levels: int, w: FloatArray) -> FloatArray:
    """Inverse of the total weight of every level (0 for levels without weight)."""
    inv = np.empty(n_levels)
    level_sums(lev, w, inv)
    for g in range(inv.shape[0]):
        inv[g] = 1.0 / inv[g] if inv[g] > 0.0 else 0.0
    return inv


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
    coef: FloatArray | None = None,
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
        Accepted for callers of the earlier observation-space solver, which needed this
        scratch; the coefficient-space solver keeps its vectors per level and does not use
        it (the shape is still checked).
    coef : ndarray of float64, shape (fe.offsets[-1], k), C-contiguous, optional
        If given, receives the fixed-effect coefficients that were subtracted:
        ``u_out = u_in - D coef`` (levels of all dimensions stacked as in ``fe.offsets``).

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
    n, k = u.shape
    if work is not None and (work.shape != (3, n, k) or not work.flags.c_contiguous):
        raise ValueError(f"work has shape {work.shape}; expected a C-contiguous {(3, n, k)}")
    return demean_stacked(
        u, fe.kernel_codes, fe.offsets, w, scale, tol=tol, maxiter=maxiter, inv_w=inv_w, coef=coef
    )


def demean_stacked(
    u: FloatArray,
    lev: Int32Array,
    offsets: IntArray,
    w: FloatArray,
    scale: FloatArray,
    *,
    tol: float = 1e-10,
    maxiter: int = 10_000,
    inv_w: FloatArray | None = None,
    coef: FloatArray | None = None,
) -> tuple[bool, int]:
    """:func:`demean_inplace` for fixed effects given as stacked level indices.

    For callers that build the kernel's layout directly (the separation checks):
    ``lev[d, i]`` is row ``i``'s level of dimension ``d`` in the stacked level space,
    ``offsets`` (length ``D + 1``) where each dimension starts, as
    :attr:`FixedEffects.kernel_codes` and :attr:`FixedEffects.offsets`.

    Parameters
    ----------
    u : ndarray of float64, shape (n, k), C-contiguous
    lev : ndarray of int32, shape (D, n), C-contiguous
    offsets : ndarray of int64, shape (D + 1,)
    w, scale, tol, maxiter, inv_w, coef
        As in :func:`demean_inplace`.

    Returns
    -------
    converged : bool
    n_iter : int

    Examples
    --------
    >>> import numpy as np
    >>> fe = FixedEffects.from_codes([np.array([0, 0, 1])])
    >>> u = np.array([[1.0], [3.0], [5.0]])
    >>> demean_stacked(u, fe.kernel_codes, fe.offsets, np.ones(3), np.ones(1))
    (True, 1)
    >>> u[:, 0].tolist()
    [-1.0, 1.0, 0.0]
    """
    if not (u.flags.c_contiguous and u.dtype == np.float64 and u.ndim == 2):
        raise ValueError("demean_stacked needs a C-contiguous float64 array of shape (n, k)")
    n, k = u.shape
    n_levels = int(offsets[-1])
    if lev.dtype != np.int32 or lev.ndim != 2 or lev.shape[1] != n or not lev.flags.c_contiguous:
        raise ValueError(f"lev must be a C-contiguous int32 array of shape (D, {n})")
    if coef is not None and (
        coef.shape != (n_levels, k) or not coef.flags.c_contiguous or coef.dtype != np.float64
    ):
        raise ValueError(
            f"coef has shape {coef.shape}; expected a C-contiguous float64 {(n_levels, k)}"
        )
    if k == 0:
        return True, 0
    w = np.ascontiguousarray(w, dtype=np.float64)
    iw = _level_weights(lev, n_levels, w) if inv_w is None else inv_w
    with np.errstate(divide="ignore"):
        e = np.where(iw > 0.0, 1.0 / iw, 0.0)
    a = np.empty((n_levels, k)) if coef is None else coef
    cols = np.arange(k, dtype=np.int64)
    r0 = np.empty((n_levels, k))
    residual(lev, w, u, a, r0, cols, True)
    a[:] = 0.0
    scale = np.ascontiguousarray(scale, dtype=np.float64)
    ok, it = pcg(
        lev,
        np.ascontiguousarray(offsets, dtype=np.int64),
        w,
        e,
        iw,
        r0,
        a,
        scale,
        float(tol),
        int(maxiter),
        np.empty((5, n_levels, k)),
        cols,
    )
    zero = scale == 0.0
    if zero.any():
        a[:, zero] = 0.0
        u[:, zero] = 0.0
    subtract(lev, u, a, u, np.flatnonzero(~zero).astype(np.int64))
    return bool(ok), int(it)


def column_norms(x: FloatArray, w: FloatArray) -> FloatArray:
    """Weighted norm ``sqrt(sum_i w_i x_ij^2)`` of every column of ``x``, in one pass.

    Parameters
    ----------
    x : ndarray, shape (n, k)
    w : ndarray, shape (n,)

    Returns
    -------
    ndarray, shape (k,)

    Examples
    --------
    >>> import numpy as np
    >>> column_norms(np.array([[3.0, 1.0], [4.0, 0.0]]), np.ones(2)).tolist()
    [5.0, 1.0]
    """
    out = np.empty(x.shape[1])
    weighted_norms(x, np.ascontiguousarray(w, dtype=np.float64), out)
    return out


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
    return _level_weights(fe.kernel_codes, int(fe.offsets[-1]), w)


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
    scale = column_norms(np.ascontiguousarray(x2, dtype=np.float64), w)
    converged, n_iter = demean_inplace(u, fe, w, scale, tol=tol, maxiter=maxiter)
    return (u[:, 0] if one_d else u), converged, n_iter
