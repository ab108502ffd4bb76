"""Compiled loops of :mod:`ca_trade.estimate.leverage`: Schur assembly and inverse gathers.

Both walk every cluster's slot pairs ``(s, t)`` and fixed-effect dimension pairs
``(d1, d2)``; a crossing level ``l`` is described by one row of ``table``:
``comp, is_e, block, position in block, dense component, position in R, padded E row``,
and a dense component ``c`` by ``dense_info[c] = (R size, offset of its ER block, offset of
its RR block)`` in the flat buffers.

Examples
--------
>>> import numpy as np
>>> from ca_trade.estimate._leverage_kernels import assemble_schur
>>> table = np.array([[0, 1, 0, 0, -1, -1, -1]])
>>> s_ee = np.zeros(1)
>>> assemble_schur(np.ones((1, 1, 1)), np.zeros((1, 1, 1), dtype=np.int64), table,
...                np.zeros((0, 3), dtype=np.int64), 1, s_ee, np.zeros(0), np.zeros(0))
>>> s_ee.tolist()
[1.0]
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ca_trade._typing import FloatArray, IntArray

__all__ = [
    "BLOCK",
    "BPOS",
    "COMP",
    "DENSE",
    "E_ROW",
    "IS_E",
    "RPOS",
    "assemble_schur",
    "gather_inverse",
]


#: Columns of the crossing-level table.
COMP, IS_E, BLOCK, BPOS, DENSE, RPOS, E_ROW = range(7)


@njit(cache=True)
def assemble_schur(
    gam: FloatArray,
    cid: IntArray,
    table: IntArray,
    dense_info: IntArray,
    bmax: int,
    s_ee: FloatArray,
    s_er: FloatArray,
    s_rr: FloatArray,
) -> None:  # pragma: no cover - compiled
    """Add ``sum_g D_Cg' Gamma_g D_Cg`` of one chunk into the flat EE, ER and RR buffers."""
    gc, m, n_dims = cid.shape
    for g in range(gc):
        for s in range(m):
            for d1 in range(n_dims):
                a = cid[g, s, d1]
                if a < 0:
                    continue
                for t in range(m):
                    v = gam[g, s, t]
                    if v == 0.0:
                        continue
                    for d2 in range(n_dims):
                        b = cid[g, t, d2]
                        if b < 0:
                            continue
                        ea = table[a, IS_E] == 1
                        eb = table[b, IS_E] == 1
                        if ea and eb:
                            k = (table[a, BLOCK] * bmax + table[a, BPOS]) * bmax + table[b, BPOS]
                            s_ee[k] += v
                        elif ea:
                            c = table[b, DENSE]
                            k = (
                                dense_info[c, 1]
                                + table[a, E_ROW] * dense_info[c, 0]
                                + table[b, RPOS]
                            )
                            s_er[k] += v
                        elif not eb:
                            c = table[a, DENSE]
                            k = (
                                dense_info[c, 2]
                                + table[a, RPOS] * dense_info[c, 0]
                                + table[b, RPOS]
                            )
                            s_rr[k] += v


@njit(cache=True)
def _entry(
    a: int,
    b: int,
    table: IntArray,
    dense_info: IntArray,
    bmax: int,
    z: FloatArray,
    y: FloatArray,
    lmat: FloatArray,
    v_rr: FloatArray,
) -> float:  # pragma: no cover - compiled
    if table[a, COMP] != table[b, COMP]:
        return 0.0
    ea = table[a, IS_E] == 1
    eb = table[b, IS_E] == 1
    if ea and eb:
        if table[a, BLOCK] == table[b, BLOCK]:
            return z[(table[a, BLOCK] * bmax + table[a, BPOS]) * bmax + table[b, BPOS]]
        c = table[a, DENSE]
        if c < 0:
            return 0.0
        rs = dense_info[c, 0]
        ra = dense_info[c, 1] + table[a, E_ROW] * rs
        rb = dense_info[c, 1] + table[b, E_ROW] * rs
        acc = 0.0
        for r in range(rs):
            acc += y[ra + r] * lmat[rb + r]
        return acc
    if ea:
        c = table[b, DENSE]
        return -y[dense_info[c, 1] + table[a, E_ROW] * dense_info[c, 0] + table[b, RPOS]]
    if eb:
        c = table[a, DENSE]
        return -y[dense_info[c, 1] + table[b, E_ROW] * dense_info[c, 0] + table[a, RPOS]]
    c = table[a, DENSE]
    return v_rr[dense_info[c, 2] + table[a, RPOS] * dense_info[c, 0] + table[b, RPOS]]


@njit(cache=True)
def gather_inverse(
    cid: IntArray,
    table: IntArray,
    dense_info: IntArray,
    bmax: int,
    z: FloatArray,
    y: FloatArray,
    lmat: FloatArray,
    v_rr: FloatArray,
) -> FloatArray:  # pragma: no cover - compiled
    """Per cluster ``K[s, t] = sum_{d1, d2} S^-[cid[s, d1], cid[t, d2]]``."""
    gc, m, n_dims = cid.shape
    out = np.zeros((gc, m, m))
    for g in range(gc):
        for s in range(m):
            for t in range(s, m):
                acc = 0.0
                for d1 in range(n_dims):
                    a = cid[g, s, d1]
                    if a < 0:
                        continue
                    for d2 in range(n_dims):
                        b = cid[g, t, d2]
                        if b < 0:
                            continue
                        acc += _entry(a, b, table, dense_info, bmax, z, y, lmat, v_rr)
                out[g, s, t] = acc
                out[g, t, s] = acc
    return out
