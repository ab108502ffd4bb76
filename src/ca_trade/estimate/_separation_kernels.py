"""Compiled counting passes of the separation checks (:mod:`ca_trade.estimate.separation`).

Fixed effects come as a tuple of integer code arrays (one per dimension, codes ``>= 0``);
masks are boolean arrays over the observations. Each function replaces a loop of
``numpy.bincount`` calls on fancy-indexed copies by one or two passes over the codes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ca_trade._typing import BoolArray, FloatArray, Int32Array, IntArray

__all__ = [
    "dense_levels",
    "drop_singletons_inplace",
    "singleton_pass",
    "weighted_cross",
    "zero_levels",
]


@njit(cache=True)
def _n_levels(c: IntArray) -> int:
    top = -1
    for i in range(c.shape[0]):
        if c[i] > top:
            top = c[i]
    return top + 1


@njit(cache=True)
def drop_singletons_inplace(codes: tuple[IntArray, ...], keep: BoolArray) -> int:
    """Remove singletons from ``keep`` until no level has exactly one observation.

    Returns the number of observations removed. The result is the largest subset of
    ``keep`` without singletons (unique, whatever the order of removal), as repeated
    ``bincount`` passes over the dimensions give.
    """
    n_fe = len(codes)
    n = keep.shape[0]
    counts = []
    for d in range(n_fe):
        c = codes[d]
        cnt = np.zeros(_n_levels(c), dtype=np.int64)
        for i in range(n):
            if keep[i]:
                cnt[c[i]] += 1
        counts.append(cnt)
    removed = 0
    changed = True
    while changed:
        changed = False
        for d in range(n_fe):
            c = codes[d]
            cnt = counts[d]
            for i in range(n):
                if keep[i] and cnt[c[i]] == 1:
                    keep[i] = False
                    removed += 1
                    changed = True
                    for e in range(n_fe):
                        counts[e][codes[e][i]] -= 1
    return removed


@njit(cache=True)
def singleton_pass(codes: tuple[IntArray, ...], keep: BoolArray) -> bool:
    """One pass over the dimensions, each dropping the rows alone in their level.

    The counts of each dimension are taken after the previous dimension's removals (as
    ``bincount(codes[d][keep])`` in turn). Returns whether any row was dropped.
    """
    n = keep.shape[0]
    changed = False
    for d in range(len(codes)):
        c = codes[d]
        cnt = np.zeros(_n_levels(c), dtype=np.int64)
        for i in range(n):
            if keep[i]:
                cnt[c[i]] += 1
        for i in range(n):
            if keep[i] and cnt[c[i]] == 1:
                keep[i] = False
                changed = True
    return changed


@njit(cache=True)
def zero_levels(y: FloatArray, codes: tuple[IntArray, ...], keep: BoolArray) -> BoolArray:
    """Observations in ``keep`` whose level of some fixed effect has no positive outcome."""
    n = keep.shape[0]
    sep = np.zeros(n, dtype=np.bool_)
    for d in range(len(codes)):
        c = codes[d]
        pos = np.zeros(_n_levels(c), dtype=np.int64)
        for i in range(n):
            if keep[i] and y[i] > 0.0:
                pos[c[i]] += 1
        for i in range(n):
            if keep[i] and pos[c[i]] == 0:
                sep[i] = True
    return sep


@njit(cache=True)
def dense_levels(codes: tuple[IntArray, ...], idx: IntArray) -> tuple[Int32Array, IntArray]:
    """Stacked dense level indices (int32, shape ``(D, m)``) of the rows ``idx``, and offsets.

    Levels of each dimension are renumbered ``0..G_d-1`` in the order of their codes, among
    the levels that occur in ``idx``, and shifted by ``offsets[d]`` (the layout of
    :attr:`ca_trade.estimate.demean.FixedEffects.kernel_codes`).
    """
    n_fe = len(codes)
    m = idx.shape[0]
    lev = np.empty((n_fe, m), dtype=np.int32)
    offsets = np.zeros(n_fe + 1, dtype=np.int64)
    for d in range(n_fe):
        c = codes[d]
        remap = np.zeros(_n_levels(c), dtype=np.int64)
        for r in range(m):
            remap[c[idx[r]]] = 1
        g = 0
        for v in range(remap.shape[0]):
            if remap[v]:
                remap[v] = g
                g += 1
        offsets[d + 1] = offsets[d] + g
        off = offsets[d]
        for r in range(m):
            lev[d, r] = off + remap[c[idx[r]]]
    return lev, offsets


@njit(cache=True)
def weighted_cross(x: FloatArray, w: FloatArray, r: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``x' W x`` and ``x' W r`` in one pass (``x`` of shape ``(n, k)``)."""
    n, k = x.shape
    xtx = np.zeros((k, k))
    xtr = np.zeros(k)
    for i in range(n):
        wi = w[i]
        for a in range(k):
            wa = wi * x[i, a]
            xtr[a] += wa * r[i]
            for b in range(a, k):
                xtx[a, b] += wa * x[i, b]
    for a in range(k):
        for b in range(a):
            xtx[a, b] = xtx[b, a]
    return xtx, xtr
