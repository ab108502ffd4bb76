"""Compiled kernels of the HDFE solver: fixed-effect coefficients by preconditioned CG.

The fixed-effect component ``D a`` of a column ``x`` solves the normal equations
``A a = D'W x`` with ``A = D'WD``. Its blocks ``A_dd'`` (one per pair of fixed-effect
dimensions) are never formed: ``A_dd' v`` is one pass over the observations that gathers
``v`` at each row's level of dimension ``d'`` and adds ``w_i`` times it to the row's level of
dimension ``d``. The diagonal blocks ``E_d = A_dd`` are diagonal (the level weights).

The system is solved by conjugate gradients preconditioned with symmetric block
Gauss-Seidel, ``M = (E + L) E^-1 (E + U)`` (``L``, ``U`` the strictly lower and upper block
parts of ``A``), in Eisenstat's form: CG runs on ``E^1/2 (E + L)^-1 A (E + U)^-1 E^1/2``,
whose product with a vector is one backward block solve and one forward block solve,
``2 (D - 1)`` passes for ``D`` fixed effects (4 for three-way gravity), and nothing else
touches the observations. Everything else (search directions, residuals, step lengths) lives
in level space, so a pass reads only the level codes and the weights of each row, however
many columns are solved together; each column keeps its own CG recursion and stops on its own
criterion. Scaled by ``E^-1/2`` the vectors need no square roots: in the code ``p`` is the
search direction, ``t = (E + U)^-1 E p`` and ``gamma = t + (E + L)^-1 E (p - t)`` its image,
and the solution is updated by ``a += alpha t``.

Convergence: column ``j`` stops when ``sqrt(r' M^-1 r) <= tol * scale[j]`` with
``r = D'W (x - D a)``. Because ``M - A = L E^-1 U`` is positive semi-definite, this bounds the
weighted norm of ``(I - T)(x - D a)``, the residual of the symmetric Kaczmarz sweep ``T``
(the criterion of the earlier n-space solver), from above: the stopping rule is at least as
strict.

Passes handle up to four columns at once in scalar accumulators (wider blocks are done four
columns at a time), which keeps the gathered values in registers.
"""

from __future__ import annotations

import numpy as np
from numba import literally, njit

from ca_trade._typing import FloatArray, Int32Array, IntArray

__all__ = [
    "bipartite_components",
    "gather_scatter",
    "level_sums",
    "pcg",
    "residual",
    "subtract",
    "weighted_norms",
]


@njit(cache=True, nogil=True)
def level_sums(lev: Int32Array, w: FloatArray, out: FloatArray) -> None:
    """``out[l] = sum of w over the rows in level l`` for every level of every dimension."""
    n_fe, n = lev.shape
    for g in range(out.shape[0]):
        out[g] = 0.0
    for d in range(n_fe):
        for i in range(n):
            out[lev[d, i]] += w[i]


@njit(cache=True, nogil=True)
def weighted_norms(x: FloatArray, w: FloatArray, out: FloatArray) -> None:
    """``out[j] = ||x[:, j]||_w`` for every column of ``x``."""
    n, k = x.shape
    for j in range(k):
        out[j] = 0.0
    for i in range(n):
        wi = w[i]
        for j in range(k):
            v = x[i, j]
            out[j] += wi * v * v
    for j in range(k):
        out[j] = np.sqrt(out[j])


@njit(cache=True, nogil=True)
def _gs_body(
    lev: Int32Array,
    w: FloatArray,
    src: FloatArray,
    dlo: int,
    dhi: int,
    dst: int,
    out: FloatArray,
    j0: int,
    j1: int,
    j2: int,
    j3: int,
    kw: int,
) -> None:
    """One :func:`gather_scatter` pass over ``kw`` (1-4, compiled for each) columns."""
    literally(kw)
    n = lev.shape[1]
    m = dhi - dlo
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    for i in range(n):
        g = lev[dlo, i]
        s0 = src[g, j0]
        if kw > 1:
            s1 = src[g, j1]
        if kw > 2:
            s2 = src[g, j2]
        if kw > 3:
            s3 = src[g, j3]
        if m > 1:
            g = lev[dlo + 1, i]
            s0 += src[g, j0]
            if kw > 1:
                s1 += src[g, j1]
            if kw > 2:
                s2 += src[g, j2]
            if kw > 3:
                s3 += src[g, j3]
        if m > 2:
            for d in range(dlo + 2, dhi):
                g = lev[d, i]
                s0 += src[g, j0]
                if kw > 1:
                    s1 += src[g, j1]
                if kw > 2:
                    s2 += src[g, j2]
                if kw > 3:
                    s3 += src[g, j3]
        gg = lev[dst, i]
        wi = w[i]
        out[gg, j0] += wi * s0
        if kw > 1:
            out[gg, j1] += wi * s1
        if kw > 2:
            out[gg, j2] += wi * s2
        if kw > 3:
            out[gg, j3] += wi * s3


@njit(cache=True, nogil=True)
def gather_scatter(
    lev: Int32Array,
    offsets: IntArray,
    w: FloatArray,
    src: FloatArray,
    dlo: int,
    dhi: int,
    dst: int,
    out: FloatArray,
    cols: IntArray,
) -> None:
    """``out_dst = sum_{d in [dlo, dhi)} A_{dst,d} src_d`` for the columns in ``cols``.

    ``lev`` holds each row's level in the stacked level space (codes plus ``offsets``);
    ``src`` and ``out`` are level arrays of shape ``(L, K)``; only the rows of dimension
    ``dst`` of ``out`` are written. ``dhi > dlo``.
    """
    od = offsets[dst]
    ka = cols.shape[0]
    for jj in range(ka):
        j = cols[jj]
        for g in range(od, offsets[dst + 1]):
            out[g, j] = 0.0
    for g0 in range(0, ka, 4):
        kw = min(4, ka - g0)
        j0 = cols[g0]
        j1 = cols[g0 + 1] if kw > 1 else j0
        j2 = cols[g0 + 2] if kw > 2 else j0
        j3 = cols[g0 + 3] if kw > 3 else j0
        if kw == 1:
            _gs_body(lev, w, src, dlo, dhi, dst, out, j0, j1, j2, j3, 1)
        elif kw == 2:
            _gs_body(lev, w, src, dlo, dhi, dst, out, j0, j1, j2, j3, 2)
        elif kw == 3:
            _gs_body(lev, w, src, dlo, dhi, dst, out, j0, j1, j2, j3, 3)
        else:
            _gs_body(lev, w, src, dlo, dhi, dst, out, j0, j1, j2, j3, 4)


@njit(cache=True, nogil=True)
def _residual_body(
    lev: Int32Array,
    w: FloatArray,
    x: FloatArray,
    a: FloatArray,
    out: FloatArray,
    zero_start: bool,
    j0: int,
    j1: int,
    j2: int,
    j3: int,
    kw: int,
) -> None:
    """:func:`residual` for ``kw`` (1-4, compiled for each) columns."""
    literally(kw)
    n_fe, n = lev.shape
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    for i in range(n):
        s0 = x[i, j0]
        if kw > 1:
            s1 = x[i, j1]
        if kw > 2:
            s2 = x[i, j2]
        if kw > 3:
            s3 = x[i, j3]
        if not zero_start:
            for d in range(n_fe):
                g = lev[d, i]
                s0 -= a[g, j0]
                if kw > 1:
                    s1 -= a[g, j1]
                if kw > 2:
                    s2 -= a[g, j2]
                if kw > 3:
                    s3 -= a[g, j3]
        wi = w[i]
        s0 *= wi
        s1 *= wi
        s2 *= wi
        s3 *= wi
        for d in range(n_fe):
            g = lev[d, i]
            out[g, j0] += s0
            if kw > 1:
                out[g, j1] += s1
            if kw > 2:
                out[g, j2] += s2
            if kw > 3:
                out[g, j3] += s3


@njit(cache=True, nogil=True)
def residual(
    lev: Int32Array,
    w: FloatArray,
    x: FloatArray,
    a: FloatArray,
    out: FloatArray,
    cols: IntArray,
    zero_start: bool,
) -> None:
    """``out = D'W (x - D a)`` (all dimensions) for the columns in ``cols``.

    ``zero_start``: ``a`` is zero (not read).
    """
    ka = cols.shape[0]
    for jj in range(ka):
        j = cols[jj]
        for g in range(out.shape[0]):
            out[g, j] = 0.0
    for g0 in range(0, ka, 4):
        kw = min(4, ka - g0)
        j0 = cols[g0]
        j1 = cols[g0 + 1] if kw > 1 else j0
        j2 = cols[g0 + 2] if kw > 2 else j0
        j3 = cols[g0 + 3] if kw > 3 else j0
        if kw == 1:
            _residual_body(lev, w, x, a, out, zero_start, j0, j1, j2, j3, 1)
        elif kw == 2:
            _residual_body(lev, w, x, a, out, zero_start, j0, j1, j2, j3, 2)
        elif kw == 3:
            _residual_body(lev, w, x, a, out, zero_start, j0, j1, j2, j3, 3)
        else:
            _residual_body(lev, w, x, a, out, zero_start, j0, j1, j2, j3, 4)


@njit(cache=True, nogil=True)
def _subtract_body(
    lev: Int32Array,
    x: FloatArray,
    a: FloatArray,
    out: FloatArray,
    j0: int,
    j1: int,
    j2: int,
    j3: int,
    kw: int,
) -> None:
    """:func:`subtract` for ``kw`` (1-4, compiled for each) columns."""
    literally(kw)
    n_fe, n = lev.shape
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    for i in range(n):
        s0 = x[i, j0]
        if kw > 1:
            s1 = x[i, j1]
        if kw > 2:
            s2 = x[i, j2]
        if kw > 3:
            s3 = x[i, j3]
        for d in range(n_fe):
            g = lev[d, i]
            s0 -= a[g, j0]
            if kw > 1:
                s1 -= a[g, j1]
            if kw > 2:
                s2 -= a[g, j2]
            if kw > 3:
                s3 -= a[g, j3]
        out[i, j0] = s0
        if kw > 1:
            out[i, j1] = s1
        if kw > 2:
            out[i, j2] = s2
        if kw > 3:
            out[i, j3] = s3


@njit(cache=True, nogil=True)
def subtract(
    lev: Int32Array,
    x: FloatArray,
    a: FloatArray,
    out: FloatArray,
    cols: IntArray,
) -> None:
    """``out[:, j] = x[:, j] - (D a)[:, j]`` for ``j`` in ``cols`` (``out`` may be ``x``)."""
    ka = cols.shape[0]
    for g0 in range(0, ka, 4):
        kw = min(4, ka - g0)
        j0 = cols[g0]
        j1 = cols[g0 + 1] if kw > 1 else j0
        j2 = cols[g0 + 2] if kw > 2 else j0
        j3 = cols[g0 + 3] if kw > 3 else j0
        if kw == 1:
            _subtract_body(lev, x, a, out, j0, j1, j2, j3, 1)
        elif kw == 2:
            _subtract_body(lev, x, a, out, j0, j1, j2, j3, 2)
        elif kw == 3:
            _subtract_body(lev, x, a, out, j0, j1, j2, j3, 3)
        else:
            _subtract_body(lev, x, a, out, j0, j1, j2, j3, 4)


@njit(cache=True, nogil=True)
def _apply_g(
    lev: Int32Array,
    offsets: IntArray,
    w: FloatArray,
    inv_e: FloatArray,
    p: FloatArray,
    t: FloatArray,
    gam: FloatArray,
    acc: FloatArray,
    cols: IntArray,
) -> None:
    """``t = (E + U)^-1 E p`` and ``gam = t + (E + L)^-1 E (p - t)`` for the columns in ``cols``.

    Backward block solve (dimensions ``D-1, ..., 0``), then forward (``0, ..., D-1``); each
    dimension but the first of each solve costs one :func:`gather_scatter` pass.
    """
    n_fe = lev.shape[0]
    ka = cols.shape[0]
    last = n_fe - 1
    for g in range(offsets[last], offsets[last + 1]):
        for jj in range(ka):
            j = cols[jj]
            t[g, j] = p[g, j]
    for d in range(n_fe - 2, -1, -1):
        gather_scatter(lev, offsets, w, t, d + 1, n_fe, d, acc, cols)
        for g in range(offsets[d], offsets[d + 1]):
            ig = inv_e[g]
            for jj in range(ka):
                j = cols[jj]
                t[g, j] = p[g, j] - ig * acc[g, j]
    # forward solve into gam (dimension 0 needs no pass), then gam += t
    for g in range(offsets[0], offsets[1]):
        for jj in range(ka):
            j = cols[jj]
            gam[g, j] = p[g, j] - t[g, j]
    for d in range(1, n_fe):
        gather_scatter(lev, offsets, w, gam, 0, d, d, acc, cols)
        for g in range(offsets[d], offsets[d + 1]):
            ig = inv_e[g]
            for jj in range(ka):
                j = cols[jj]
                gam[g, j] = p[g, j] - t[g, j] - ig * acc[g, j]
    for g in range(offsets[n_fe]):
        for jj in range(ka):
            j = cols[jj]
            gam[g, j] += t[g, j]


@njit(cache=True, nogil=True)
def _forward(
    lev: Int32Array,
    offsets: IntArray,
    w: FloatArray,
    inv_e: FloatArray,
    r: FloatArray,
    out: FloatArray,
    acc: FloatArray,
    cols: IntArray,
) -> None:
    """``out = (E + L)^-1 r`` (forward block solve) for the columns in ``cols``."""
    n_fe = lev.shape[0]
    ka = cols.shape[0]
    for d in range(n_fe):
        if d > 0:
            gather_scatter(lev, offsets, w, out, 0, d, d, acc, cols)
        for g in range(offsets[d], offsets[d + 1]):
            ig = inv_e[g]
            for jj in range(ka):
                j = cols[jj]
                out[g, j] = ig * (r[g, j] - acc[g, j]) if d > 0 else ig * r[g, j]


@njit(cache=True, nogil=True)
def _edot(e: FloatArray, u: FloatArray, v: FloatArray, j: int) -> float:
    """``sum_l e_l u_lj v_lj``."""
    s = 0.0
    for g in range(e.shape[0]):
        s += e[g] * u[g, j] * v[g, j]
    return s


@njit(cache=True, nogil=True)
def pcg(
    lev: Int32Array,
    offsets: IntArray,
    w: FloatArray,
    e: FloatArray,
    inv_e: FloatArray,
    r0: FloatArray,
    a: FloatArray,
    scale: FloatArray,
    tol: float,
    maxiter: int,
    work: FloatArray,
    cols_in: IntArray,
) -> tuple[bool, int]:
    """Solve ``A a = D'W x`` for the columns ``cols_in`` by block PCG (module docstring).

    ``r0 = D'W (x - D a)`` is the residual of the warm start ``a`` (updated in place).
    ``e``, ``inv_e``: level weights and their inverses (0 for a level without weight).
    ``work``: scratch of shape ``(5, L, K)``. A column with ``scale[j] == 0`` is left
    unchanged (its data are zero in the weighted norm). Returns whether every column met
    ``tol`` and the number of iterations (each one shared by all columns still running).
    """
    n_fe = lev.shape[0]
    rho = work[0]
    p = work[1]
    t = work[2]
    gam = work[3]
    acc = work[4]
    k = cols_in.shape[0]
    # the forward solves accumulate into acc only in the dimension they write
    _forward(lev, offsets, w, inv_e, r0, rho, acc, cols_in)
    rr = np.zeros(a.shape[1])
    active = np.zeros(a.shape[1], dtype=np.bool_)
    ok = np.ones(a.shape[1], dtype=np.bool_)
    for jj in range(k):
        j = cols_in[jj]
        rr[j] = _edot(e, rho, rho, j)
        active[j] = scale[j] > 0.0 and np.sqrt(rr[j]) > tol * scale[j]
        if active[j]:
            for g in range(offsets[n_fe]):
                p[g, j] = rho[g, j]
    n_iter = 0
    if n_fe == 1:
        # one fixed effect: the block Gauss-Seidel preconditioner is exact
        for jj in range(k):
            j = cols_in[jj]
            if active[j]:
                for g in range(offsets[1]):
                    a[g, j] += rho[g, j]
                n_iter = 1
        return True, n_iter
    for it in range(1, maxiter + 1):
        cols = np.flatnonzero(active)
        if cols.shape[0] == 0:
            break
        n_iter = it
        _apply_g(lev, offsets, w, inv_e, p, t, gam, acc, cols)
        for jj in range(cols.shape[0]):
            j = cols[jj]
            pq = _edot(e, p, gam, j)
            if not pq > 0.0:
                # breakdown: no further progress possible in this column
                active[j] = False
                ok[j] = np.sqrt(rr[j]) <= tol * scale[j] * 10.0
                continue
            alpha = rr[j] / pq
            rr_new = 0.0
            for g in range(offsets[n_fe]):
                a[g, j] += alpha * t[g, j]
                v = rho[g, j] - alpha * gam[g, j]
                rho[g, j] = v
                rr_new += e[g] * v * v
            if np.sqrt(rr_new) <= tol * scale[j]:
                active[j] = False
            else:
                beta = rr_new / rr[j]
                for g in range(offsets[n_fe]):
                    p[g, j] = rho[g, j] + beta * p[g, j]
            rr[j] = rr_new
    all_ok = True
    for jj in range(k):
        j = cols_in[jj]
        if active[j] or not ok[j]:
            all_ok = False
    return all_ok, n_iter


@njit(cache=True, nogil=True)
def _root(parent: IntArray, x: int) -> int:
    """Root of ``x`` in a union-find forest (with path halving)."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def bipartite_components(a: IntArray, b: IntArray, na: int, nb: int) -> int:
    """Count the components of the bipartite graph with an edge ``(a[i], b[i])`` per row.

    ``a`` has codes ``0..na-1`` and ``b`` ``0..nb-1``; a level without rows is a component
    of its own (as in ``scipy.sparse.csgraph.connected_components``).
    """
    parent = np.arange(na + nb)
    count = na + nb
    for i in range(a.shape[0]):
        ra = _root(parent, a[i])
        rb = _root(parent, na + b[i])
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb
            count -= 1
    return count
