"""Per-cluster blocks of the hat matrix of a fixed-effects regression, computed exactly.

Leave-one-cluster-out variances (CRV3) and the locally de-biased variance of Weidner &
Zylkin (2021) need, for every cluster ``g``, the block ``h_gg`` of the hat matrix of the
weighted regression of ``y`` on the regressors ``X`` *and all fixed-effect dummies* ``D``
(weights ``w``). Leaving a cluster out moves the fixed effects too, so ``h_gg`` must include
their part ``W^1/2 D F^- D' W^1/2`` (``F = D'WD``, any generalised inverse), which no
observation-level formula gives. This module computes those blocks without ever forming an
``n x n`` or levels x levels inverse where a smaller one will do.

Algebra (symmetric form, ``x = W^1/2 X~``, ``e = W^1/2 u``, ``A = X~'WX~``):

1. *Nested levels.* A fixed-effect level whose observations all lie in one cluster (the pair
   effect when clustering by pair) is concentrated out inside its cluster: with ``Q_g`` an
   orthonormal basis of ``W^1/2`` times those dummies, ``Pi_g = I - Q_g Q_g'`` and
   ``Gamma_g = W^1/2 Pi_g W^1/2``.
2. *Crossing levels* (all others) enter through the Schur complement
   ``S = sum_g D_Cg' Gamma_g D_Cg``. One crossing dimension whose levels only couple in small
   groups (exporter-time levels couple through the pair effects of one exporter) is
   eliminated blockwise ("E"); the rest ("R") is a dense matrix per connected component of
   ``S``, inverted (generalised) by a pivoted Cholesky factorisation. Entries of ``S^-`` are
   then read where a cluster needs them: ``V_RR``, ``V_ER = -L V_RR`` and
   ``V_EE = S_EE^- + L V_RR L'`` with ``L = S_EE^- S_ER``.
3. ``h_gg = x_g A^-1 x_g' + Q_g Q_g' + B_g`` with ``B_g = Pi_g W^1/2 D_Cg V D_Cg' W^1/2 Pi_g``.
   Any generalised inverse gives the same ``h_gg``.

For each cluster :func:`leave_cluster_out` returns ``t_g = x_g' (I - h_gg)^+ e_g``, which
gives the exact leave-one-cluster-out change of the weighted least-squares coefficients,
``b_(-g) - b = -A^-1 t_g`` (one Newton step for a GLM), and the score ``s_g = x_g' e_g``.
The nested directions drop out of ``t_g`` because ``Q_g' x_g = 0`` and ``Q_g' e_g = 0`` (the
nested fixed effects' own normal equations), so ``(I - h)^+`` acts as
``(I - x A^-1 x' - B_g)^-1`` there.

Cost: with ``R`` dense levels per component, ``O(R^3)`` (a 4,480-level component, the
1M-row three-way panel, takes a few seconds); memory about ``4 * 8 * R^2`` bytes. Clusters
are processed in chunks of bounded size.

Examples
--------
>>> import numpy as np
>>> from ca_trade.estimate.leverage import fe_hat_blocks
>>> g = np.array([0, 0, 1, 1])
>>> blocks = fe_hat_blocks([g], np.ones(4), np.array([0, 1, 2, 3]))
>>> [round(float(b[0, 0]), 3) for b in blocks]
[0.5, 0.5, 0.5, 0.5]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import blas, lapack
from scipy.sparse.csgraph import connected_components

from ca_trade._typing import BoolArray, FloatArray, IntArray
from ca_trade.estimate._leverage_kernels import assemble_schur, gather_inverse
from ca_trade.exceptions import SpecificationError

__all__ = ["LeaveOut", "fe_hat_blocks", "leave_cluster_out", "psd_pinv_blocks"]


#: Largest group of eliminated levels (one exporter's exporter-time levels, say).
BLOCK_MAX = 128
#: Largest dense component of crossing levels (memory about 4 * 8 * n^2 bytes).
DENSE_MAX = 10_000
#: Elements per chunk array of shape (clusters, m, m).
CHUNK_ELEMENTS = 2_000_000
#: Relative tolerance of the generalised inverses (on Jacobi-scaled matrices).
RANK_TOL = 1e-10


@dataclass(frozen=True)
class LeaveOut:
    """Per-cluster leave-one-out terms of a fixed-effects regression.

    Attributes
    ----------
    t : ndarray, shape (G, K)
        ``x_g' (I - h_gg)^+ e_g``; the leave-one-cluster-out coefficient change is
        ``-A^-1 t_g``.
    s : ndarray, shape (G, K)
        Cluster scores ``x_g' e_g``.
    sizes : ndarray of int, shape (G,)
        Observations per cluster.
    """

    t: FloatArray
    s: FloatArray
    sizes: IntArray


# ----------------------------------------------------------------------------- structure


@dataclass(frozen=True)
class _Layout:
    """Observations grouped by cluster: cluster ``g`` is ``order[starts[g]:starts[g+1]]``."""

    cluster: IntArray
    order: IntArray
    starts: IntArray
    sizes: IntArray

    @classmethod
    def build(cls, cluster: npt.ArrayLike) -> _Layout:
        codes, _ = pd.factorize(np.asarray(cluster), sort=True)
        if (codes < 0).any():
            raise SpecificationError("the cluster variable has missing values")
        cl = codes.astype(np.int64)
        order = np.argsort(cl, kind="stable").astype(np.int64)
        sizes = np.bincount(cl).astype(np.int64)
        starts = np.zeros(sizes.shape[0] + 1, dtype=np.int64)
        starts[1:] = np.cumsum(sizes)
        return cls(cluster=cl, order=order, starts=starts, sizes=sizes)

    @property
    def n_clusters(self) -> int:
        return int(self.sizes.shape[0])

    def chunks(self, per_cluster: int) -> Iterator[tuple[IntArray, IntArray, BoolArray]]:
        """Yield ``(clusters, slots, mask)``: clusters of similar size, padded to ``m`` slots."""
        by_size = np.argsort(self.sizes, kind="stable")
        i = 0
        g_all = by_size.shape[0]
        while i < g_all:
            m0 = int(self.sizes[by_size[i]])
            count = max(1, CHUNK_ELEMENTS // max(1, m0 * m0 * per_cluster))
            m1 = int(self.sizes[by_size[min(g_all, i + count) - 1]])
            count = min(count, max(1, CHUNK_ELEMENTS // max(1, m1 * m1 * per_cluster)))
            gs = by_size[i : i + count]
            m = int(self.sizes[gs].max())
            k = np.arange(m)
            mask = k[None, :] < self.sizes[gs][:, None]
            pos = np.minimum(self.starts[gs][:, None] + k[None, :], self.order.shape[0] - 1)
            slots = np.where(mask, self.order[pos], -1)
            yield gs, slots, mask
            i += gs.shape[0]


def _nested_levels(codes: Sequence[IntArray], cluster: IntArray, g: int) -> list[BoolArray]:
    """Per dimension: which levels have all their observations in one cluster."""
    out = []
    for c in codes:
        n_lev = int(c.max()) + 1 if c.size else 0
        lo = np.full(n_lev, g, dtype=np.int64)
        hi = np.full(n_lev, -1, dtype=np.int64)
        np.minimum.at(lo, c, cluster)
        np.maximum.at(hi, c, cluster)
        out.append(lo == hi)
    return out


@dataclass
class _Crossing:
    """Crossing levels: their grouping into eliminated blocks and dense components."""

    ids: list[IntArray]  # per dimension: level -> crossing id (-1 if nested)
    n: int
    comp: IntArray  # crossing id -> component
    is_e: BoolArray
    blk: IntArray  # E-level -> block (-1 for R)
    bpos: IntArray  # position within the block
    bmax: int
    n_blocks: int
    dense: IntArray  # crossing id -> dense component index (-1 if none)
    rpos: IntArray  # R-level -> position in its component
    erow: IntArray  # E-level in a dense component -> padded row (local block * bmax + bpos)
    r_size: IntArray  # per dense component
    e_rows: IntArray  # per dense component: padded rows
    blk_first: IntArray  # per dense component: first global block
    off_rr: IntArray
    off_er: IntArray

    @property
    def table(self) -> IntArray:
        """One row per crossing level, columns as in :mod:`._leverage_kernels`."""
        cols = [
            self.comp,
            self.is_e.astype(np.int64),
            self.blk,
            self.bpos,
            self.dense,
            self.rpos,
            self.erow,
        ]
        return np.ascontiguousarray(np.stack(cols, axis=1), dtype=np.int64)

    @property
    def dense_info(self) -> IntArray:
        """Per dense component: R size, offset of its ER block, offset of its RR block."""
        cols = [self.r_size, self.off_er[:-1], self.off_rr[:-1]]
        return np.ascontiguousarray(np.stack(cols, axis=1), dtype=np.int64)


def _components(n_nodes: int, a: IntArray, b: IntArray) -> IntArray:
    g = sp.coo_matrix((np.ones(a.shape[0]), (a, b)), shape=(n_nodes, n_nodes)).tocsr()
    return np.asarray(connected_components(g, directed=False)[1], dtype=np.int64)


def _level_graph(
    codes: Sequence[IntArray], nested: list[BoolArray], layout: _Layout
) -> tuple[list[IntArray], IntArray, IntArray, int]:
    """Crossing-level ids per dimension, their dimension, and each observation's unit.

    Observations coupled by a nested level share a unit (conservatively, the whole cluster);
    the others are units of their own.
    """
    ids: list[IntArray] = []
    dim_of: list[IntArray] = []
    start = 0
    for d, nest in enumerate(nested):
        cid = np.full(nest.shape[0], -1, dtype=np.int64)
        k = int((~nest).sum())
        cid[~nest] = np.arange(start, start + k)
        ids.append(cid)
        dim_of.append(np.full(k, d, dtype=np.int64))
        start += k
    dims = np.concatenate(dim_of) if dim_of else np.zeros(0, dtype=np.int64)
    n = layout.cluster.shape[0]
    has_nested = np.zeros(layout.n_clusters, dtype=bool)
    for c, nest in zip(codes, nested):
        has_nested[layout.cluster[nest[c]]] = True
    unit = np.where(has_nested[layout.cluster], layout.cluster, layout.n_clusters + np.arange(n))
    return ids, dims, unit, layout.n_clusters + n


def _eliminated(
    codes: Sequence[IntArray],
    ids: list[IntArray],
    dims: IntArray,
    unit: IntArray,
    n_units: int,
    comp: IntArray,
) -> tuple[BoolArray, IntArray, IntArray, int, int]:
    """Pick the dimension to eliminate blockwise; number its blocks in component order.

    The dimension with the most levels among those whose levels only couple (through units)
    in groups of at most ``BLOCK_MAX``. Returns ``is_e``, block and position per crossing
    level, the number of blocks and the largest block size.
    """
    n_c = dims.shape[0]
    best, best_blocks = -1, np.zeros(0, dtype=np.int64)
    for d, (c, cid) in enumerate(zip(codes, ids)):
        k = int((dims == d).sum())
        if k == 0 or (best >= 0 and k <= int((dims == best).sum())):
            continue
        lev = cid[c]
        ok = lev >= 0
        lab = _components(n_c + n_units, lev[ok], unit[ok] + n_c)
        blocks = lab[:n_c][dims == d]
        if int(np.bincount(blocks).max()) <= BLOCK_MAX:
            best, best_blocks = d, blocks
    is_e = dims == best
    blk = np.full(n_c, -1, dtype=np.int64)
    bpos = np.full(n_c, -1, dtype=np.int64)
    if best < 0:
        return is_e, blk, bpos, 0, 1
    e_idx = np.flatnonzero(is_e)
    _, raw = np.unique(best_blocks, return_inverse=True)
    raw = raw.ravel()
    # each dense component's blocks get contiguous numbers
    n_blocks = int(raw.max()) + 1
    block_comp = np.zeros(n_blocks, dtype=np.int64)
    block_comp[raw] = comp[e_idx]
    new_id = np.empty(n_blocks, dtype=np.int64)
    new_id[np.argsort(block_comp, kind="stable")] = np.arange(n_blocks)
    blk[e_idx] = new_id[raw]
    order = np.argsort(blk[e_idx], kind="stable")
    sb = blk[e_idx][order]
    bpos[e_idx[order]] = np.arange(order.shape[0]) - np.searchsorted(sb, sb)
    return is_e, blk, bpos, n_blocks, int(bpos.max()) + 1


def _crossing(codes: Sequence[IntArray], nested: list[BoolArray], layout: _Layout) -> _Crossing:
    """Give crossing levels ids, pick the eliminated dimension, lay out dense components."""
    ids, dims, unit, n_units = _level_graph(codes, nested, layout)
    n_c = dims.shape[0]
    eu = [unit[cid[c] >= 0] + n_c for c, cid in zip(codes, ids)]
    el = [cid[c][cid[c] >= 0] for c, cid in zip(codes, ids)]
    empty = np.zeros(0, dtype=np.int64)
    comp = _components(
        n_c + n_units,
        np.concatenate(el) if el else empty,
        np.concatenate(eu) if eu else empty,
    )[:n_c]
    is_e, blk, bpos, n_blocks, bmax = _eliminated(codes, ids, dims, unit, n_units, comp)
    # dense components: those holding R levels
    r_idx = np.flatnonzero(~is_e)
    dcomp_ids, r_comp = np.unique(comp[r_idx], return_inverse=True)
    n_dense = dcomp_ids.shape[0]
    comp_to_dense = np.full(int(comp.max()) + 1 if n_c else 0, -1, dtype=np.int64)
    comp_to_dense[dcomp_ids] = np.arange(n_dense)
    dense = comp_to_dense[comp] if n_c else np.full(0, -1, dtype=np.int64)
    r_size = np.bincount(r_comp, minlength=n_dense).astype(np.int64)
    if n_dense and int(r_size.max()) > DENSE_MAX:
        raise SpecificationError(
            f"the fixed effects couple {int(r_size.max()):,} levels that no cluster nests; "
            f"the exact leverage needs a dense matrix of that size (at most {DENSE_MAX:,}). "
            "Cluster on a variable that nests more of the fixed effects, or use CRV1"
        )
    rpos = np.full(n_c, -1, dtype=np.int64)
    order_r = np.lexsort((r_idx, r_comp))
    rs = r_comp[order_r]
    rpos[r_idx[order_r]] = np.arange(order_r.shape[0]) - np.searchsorted(rs, rs)
    # E rows of the dense components: their blocks, padded to bmax
    blk_first = np.zeros(n_dense, dtype=np.int64)
    n_blk_d = np.zeros(n_dense, dtype=np.int64)
    erow = np.full(n_c, -1, dtype=np.int64)
    e_idx = np.flatnonzero(is_e & (dense >= 0))
    if e_idx.size:
        dc, b = dense[e_idx], blk[e_idx]
        lo = np.full(n_dense, np.iinfo(np.int64).max, dtype=np.int64)
        hi = np.full(n_dense, -1, dtype=np.int64)
        np.minimum.at(lo, dc, b)
        np.maximum.at(hi, dc, b)
        has = hi >= 0
        blk_first[has] = lo[has]
        n_blk_d[has] = hi[has] - lo[has] + 1
        erow[e_idx] = (b - blk_first[dc]) * bmax + bpos[e_idx]
    e_rows = n_blk_d * bmax
    off_rr = np.zeros(n_dense + 1, dtype=np.int64)
    off_rr[1:] = np.cumsum(r_size * r_size)
    off_er = np.zeros(n_dense + 1, dtype=np.int64)
    off_er[1:] = np.cumsum(e_rows * r_size)
    return _Crossing(
        ids=ids,
        n=n_c,
        comp=comp,
        is_e=is_e,
        blk=blk,
        bpos=bpos,
        bmax=bmax,
        n_blocks=n_blocks,
        dense=dense,
        rpos=rpos,
        erow=erow,
        r_size=r_size,
        e_rows=e_rows,
        blk_first=blk_first,
        off_rr=off_rr,
        off_er=off_er,
    )


# ------------------------------------------------------------------------- per-chunk pieces


def _nested_basis(
    codes: Sequence[IntArray],
    nested: list[BoolArray],
    slots: IntArray,
    mask: BoolArray,
    sw: FloatArray,
) -> FloatArray:
    """Orthonormal basis ``Q`` (clusters, m, r) of ``W^1/2`` times the nested dummies."""
    gc, m = slots.shape
    safe = np.where(mask, slots, 0)
    labels = []
    offset = 0
    for c, nest in zip(codes, nested):
        lev = c[safe]
        lab = np.where(mask & nest[lev], lev + offset, -1)
        labels.append(lab)
        offset += nest.shape[0]
    if not labels:
        return np.zeros((gc, m, 0))
    lab = np.stack(labels, axis=2).reshape(gc, -1)  # (gc, m * n_dims)
    if not (lab >= 0).any():
        return np.zeros((gc, m, 0))
    # local column of every nested level within its cluster
    valid = lab >= 0
    row = np.broadcast_to(np.arange(gc)[:, None], lab.shape)
    key = row[valid] * (offset + 1) + lab[valid]
    uniq, inv = np.unique(key, return_inverse=True)
    first = np.searchsorted(uniq // (offset + 1), np.arange(gc))
    col = np.full(lab.shape, -1, dtype=np.int64)
    col[valid] = inv.ravel() - first[row[valid]]
    r = int(col.max()) + 1
    dmat = np.zeros((gc, m, r))
    col3 = col.reshape(gc, m, len(codes))
    for d in range(len(codes)):
        gi, si = np.nonzero(col3[:, :, d] >= 0)
        dmat[gi, si, col3[gi, si, d]] = sw[gi, si]
    norms = np.sqrt((dmat * dmat).sum(axis=1, keepdims=True))
    dmat = np.divide(dmat, norms, out=np.zeros_like(dmat), where=norms > 0)
    if r == 1:
        return dmat
    u, s, _ = np.linalg.svd(dmat, full_matrices=False)
    keep = s > RANK_TOL * np.maximum(s[:, :1], 1.0)
    return np.asarray(u * keep[:, None, :], dtype=np.float64)


def _chunk_geometry(
    codes: Sequence[IntArray],
    nested: list[BoolArray],
    cross: _Crossing,
    slots: IntArray,
    mask: BoolArray,
    w: FloatArray,
) -> tuple[FloatArray, FloatArray, IntArray]:
    """``sqrt(w)`` per slot, the nested basis ``Q`` and the crossing ids ``(G, m, dims)``."""
    safe = np.where(mask, slots, 0)
    sw = np.where(mask, np.sqrt(w[safe]), 0.0)
    q = _nested_basis(codes, nested, slots, mask, sw)
    cids = [np.where(mask, cid[c[safe]], -1) for c, cid in zip(codes, cross.ids)]
    stacked = np.stack(cids, axis=2) if cids else np.full((*slots.shape, 0), -1)
    return sw, q, np.ascontiguousarray(stacked, dtype=np.int64)


def _gamma(sw: FloatArray, q: FloatArray) -> FloatArray:
    """``Gamma_g = W^1/2 (I - Q Q') W^1/2`` per cluster."""
    sq = sw[:, :, None] * q
    gam = -np.einsum("gsr,gtr->gst", sq, sq)
    idx = np.arange(sw.shape[1])
    gam[:, idx, idx] += sw * sw
    return gam


# --------------------------------------------------------------------------- the Schur system


def _assemble(
    codes: Sequence[IntArray],
    nested: list[BoolArray],
    cross: _Crossing,
    layout: _Layout,
    w: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Accumulate ``S`` into its EE blocks, dense ER and dense RR parts (flat buffers)."""
    bm = cross.bmax
    s_ee = np.zeros(max(cross.n_blocks, 1) * bm * bm)
    s_er = np.zeros(int(cross.off_er[-1]))
    s_rr = np.zeros(int(cross.off_rr[-1]))
    table, info = cross.table, cross.dense_info
    for _, slots, mask in layout.chunks(2):
        sw, q, cid = _chunk_geometry(codes, nested, cross, slots, mask, w)
        assemble_schur(_gamma(sw, q), cid, table, info, bm, s_ee, s_er, s_rr)
    return s_ee.reshape(-1, bm, bm), s_er, s_rr


def psd_pinv_blocks(blocks: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Generalised inverses ``U U'`` of a stack of symmetric positive semi-definite blocks.

    Each block is Jacobi-scaled to unit diagonal and inverted on the eigenvalues above
    ``RANK_TOL`` times its largest; zero rows stay zero.

    Parameters
    ----------
    blocks : ndarray, shape (b, m, m)

    Returns
    -------
    inverse : ndarray, shape (b, m, m)
    u : ndarray, shape (b, m, m)
        Factor with ``inverse = u u'``.

    Examples
    --------
    >>> import numpy as np
    >>> inv, _ = psd_pinv_blocks(np.array([[[1.0, -1.0], [-1.0, 1.0]]]))
    >>> inv.round(3).tolist()
    [[[0.25, -0.25], [-0.25, 0.25]]]
    """
    d = np.einsum("bii->bi", blocks)
    s = np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 0.0)
    scaled = blocks * s[:, :, None] * s[:, None, :]
    vals, vecs = np.linalg.eigh(scaled)
    top = np.maximum(vals.max(axis=1, keepdims=True), 1e-300)
    keep = vals > RANK_TOL * top
    inv_sqrt = np.where(keep, 1.0 / np.sqrt(np.where(keep, vals, 1.0)), 0.0)
    u = s[:, :, None] * vecs * inv_sqrt[:, None, :]
    return np.einsum("bir,bjr->bij", u, u), u


def _dense_ginv(s: FloatArray) -> FloatArray:
    """Generalised inverse of a dense symmetric PSD matrix by pivoted Cholesky.

    The Jacobi-scaled matrix is factorised with complete pivoting; the inverse of its
    leading full-rank principal block, padded with zeros, is a generalised inverse. ``s`` (C
    order, symmetric) is overwritten.
    """
    n = s.shape[0]
    d = np.diag(s).copy()
    sc = np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 0.0)
    s *= sc[:, None]
    s *= sc[None, :]
    # the transpose of a symmetric C-order matrix is the same matrix in Fortran order
    c, piv, rank, info = lapack.dpstrf(s.T, tol=RANK_TOL, lower=0, overwrite_a=1)
    if info < 0:
        raise RuntimeError(f"dpstrf failed (info={info})")
    p = piv[:rank] - 1
    inv, info = lapack.dpotri(c[:rank, :rank], lower=0, overwrite_c=1)
    if info != 0:
        raise RuntimeError(f"dpotri failed (info={info})")
    inv = _symmetrize(np.ascontiguousarray(inv), upper=True)
    inv *= sc[p][:, None]
    inv *= sc[p][None, :]
    out = np.zeros((n, n))
    out[np.ix_(p, p)] = inv
    return out


def _symmetrize(a: FloatArray, *, upper: bool, block: int = 512) -> FloatArray:
    """Copy one triangle of the C-order square ``a`` onto the other, in place, by blocks."""
    n = a.shape[0]
    for i in range(0, n, block):
        j = min(n, i + block)
        d = a[i:j, i:j]
        if upper:
            a[i:j, i:j] = np.triu(d) + np.triu(d, 1).T
            a[j:, i:j] = a[i:j, j:].T
        else:
            a[i:j, i:j] = np.tril(d) + np.tril(d, -1).T
            a[i:j, j:] = a[j:, i:j].T
    return a


@dataclass
class _Inverse:
    """Entries of ``S^-`` where clusters need them (layouts as in :class:`_Crossing`)."""

    cross: _Crossing
    z: FloatArray  # (blocks, bmax, bmax): V_EE within a block
    y: FloatArray  # flat, ER layout: V_ER = -y
    lmat: FloatArray  # flat, ER layout: L = S_EE^- S_ER
    v_rr: FloatArray  # flat, RR layout

    def kernel(self, cid: IntArray) -> FloatArray:
        """Per cluster ``D_C S^- D_C'`` on its slots."""
        cr = self.cross
        return np.asarray(
            gather_inverse(
                cid, cr.table, cr.dense_info, cr.bmax, self.z.ravel(), self.y, self.lmat, self.v_rr
            ),
            dtype=np.float64,
        )


def _invert(cross: _Crossing, s_ee: FloatArray, s_er: FloatArray, s_rr: FloatArray) -> _Inverse:
    """Block elimination of the E levels, dense generalised inverse of the rest."""
    bm = cross.bmax
    e_inv, u = psd_pinv_blocks(s_ee) if cross.n_blocks else (s_ee, s_ee)
    z = e_inv.copy()
    y = np.zeros_like(s_er)
    lmat = np.zeros_like(s_er)
    v_rr = np.zeros_like(s_rr)
    for dc in range(cross.r_size.shape[0]):
        rs = int(cross.r_size[dc])
        srr = s_rr[cross.off_rr[dc] : cross.off_rr[dc + 1]].reshape(rs, rs)
        nb = int(cross.e_rows[dc]) // bm
        if nb == 0:
            v_rr[cross.off_rr[dc] : cross.off_rr[dc + 1]] = _dense_ginv(srr.copy()).ravel()
            continue
        b0 = int(cross.blk_first[dc])
        ser = s_er[cross.off_er[dc] : cross.off_er[dc + 1]].reshape(nb, bm, rs)
        ub = u[b0 : b0 + nb]
        mm = np.empty((nb, bm, rs))
        for b in range(nb):  # M = U' S_ER, block by block (BLAS per block)
            np.matmul(ub[b].T, ser[b], out=mm[b])
        # S_R = S_RR - M'M: rank-k update of the Fortran-order upper (C-order lower) triangle
        schur = blas.dsyrk(
            -1.0, mm.reshape(nb * bm, rs).T, beta=1.0, c=srr.T, trans=0, lower=0, overwrite_c=1
        )
        vr = _dense_ginv(_symmetrize(np.ascontiguousarray(schur.T), upper=False))
        del schur
        lm = lmat[cross.off_er[dc] : cross.off_er[dc + 1]].reshape(nb, bm, rs)
        for b in range(nb):  # L = U M
            np.matmul(ub[b], mm[b], out=lm[b])
        del mm
        yy = y[cross.off_er[dc] : cross.off_er[dc + 1]].reshape(nb * bm, rs)
        np.matmul(lm.reshape(nb * bm, rs), vr, out=yy)
        yb = yy.reshape(nb, bm, rs)
        for b in range(nb):
            z[b0 + b] += yb[b] @ lm[b].T
        v_rr[cross.off_rr[dc] : cross.off_rr[dc + 1]] = vr.ravel()
    return _Inverse(cross=cross, z=z, y=y, lmat=lmat, v_rr=v_rr)


# ------------------------------------------------------------------------------ public API


@dataclass
class _Engine:
    codes: list[IntArray]
    w: FloatArray
    layout: _Layout
    nested: list[BoolArray]
    cross: _Crossing
    inverse: _Inverse

    @classmethod
    def build(
        cls, codes: Sequence[npt.ArrayLike], weights: npt.ArrayLike, cluster: npt.ArrayLike
    ) -> _Engine:
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1 or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise SpecificationError("weights must be a finite, non-negative vector")
        dense_codes = []
        for c in codes:
            k, _ = pd.factorize(np.asarray(c), sort=True)
            if k.shape != w.shape:
                raise SpecificationError(
                    "fixed-effect codes, weights and clusters differ in length"
                )
            dense_codes.append(k.astype(np.int64))
        layout = _Layout.build(cluster)
        if layout.cluster.shape != w.shape:
            raise SpecificationError("fixed-effect codes, weights and clusters differ in length")
        nested = _nested_levels(dense_codes, layout.cluster, layout.n_clusters)
        cross = _crossing(dense_codes, nested, layout)
        s_ee, s_er, s_rr = _assemble(dense_codes, nested, cross, layout, w)
        inverse = _invert(cross, s_ee, s_er, s_rr)
        return cls(dense_codes, w, layout, nested, cross, inverse)

    def chunks(self) -> Iterator[tuple[IntArray, IntArray, BoolArray, FloatArray, FloatArray]]:
        """Yield ``(clusters, slots, mask, sqrt(w), B)`` with ``B`` the crossing leverage."""
        for gs, slots, mask in self.layout.chunks(4):
            sw, q, cids = _chunk_geometry(self.codes, self.nested, self.cross, slots, mask, self.w)
            kc = self.inverse.kernel(cids)
            kc *= sw[:, :, None] * sw[:, None, :]
            if q.shape[2]:
                # B = Pi K Pi with Pi = I - Q Q'
                kq = np.matmul(kc, q)
                kc = kc - kq @ q.transpose(0, 2, 1)
                qk = np.matmul(q.transpose(0, 2, 1), kc)
                kc = kc - q @ qk
            yield gs, slots, mask, sw, kc


def fe_hat_blocks(
    codes: Sequence[npt.ArrayLike], weights: npt.ArrayLike, cluster: npt.ArrayLike
) -> list[FloatArray]:
    """Blocks ``h_gg`` of the fixed-effect hat matrix ``W^1/2 D (D'WD)^- D' W^1/2``.

    For inspection and tests on small problems; the estimators use :func:`leave_cluster_out`.

    Parameters
    ----------
    codes : sequence of array_like
        One array of fixed-effect levels per dimension, length ``n``.
    weights : array_like, shape (n,)
        Non-negative regression weights.
    cluster : array_like, shape (n,)
        Cluster labels.

    Returns
    -------
    list of ndarray
        One ``(n_g, n_g)`` block per cluster, in sorted cluster-label order; rows follow the
        observations' order in the data.

    Examples
    --------
    >>> import numpy as np
    >>> b = fe_hat_blocks([np.array([0, 0, 1])], np.ones(3), np.array([0, 0, 1]))
    >>> b[0].round(3).tolist(), b[1].tolist()
    ([[0.5, 0.5], [0.5, 0.5]], [[1.0]])
    """
    eng = _Engine.build(codes, weights, cluster)
    out: list[FloatArray] = [np.zeros((0, 0))] * eng.layout.n_clusters
    for gs, slots, mask, sw, b in eng.chunks():
        q = _nested_basis(eng.codes, eng.nested, slots, mask, sw)
        h = b + np.einsum("gsr,gtr->gst", q, q)
        for i, g in enumerate(gs):
            k = int(mask[i].sum())
            out[int(g)] = h[i, :k, :k].copy()
    return out


def leave_cluster_out(
    codes: Sequence[npt.ArrayLike],
    weights: npt.ArrayLike,
    cluster: npt.ArrayLike,
    x: FloatArray,
    e: FloatArray,
    bread: FloatArray,
) -> LeaveOut:
    """Leave-one-cluster-out terms ``t_g = x_g' (I - h_gg)^+ e_g`` and scores ``x_g' e_g``.

    Parameters
    ----------
    codes : sequence of array_like
        Fixed-effect levels per dimension (may be empty).
    weights : array_like, shape (n,)
        Regression weights ``w`` (prior weights for OLS, ``p * mu`` for PPML).
    cluster : array_like, shape (n,)
        Cluster labels.
    x : ndarray, shape (n, K)
        ``sqrt(w) * X~``, the regressors partialled out on the fixed effects with ``w``.
    e : ndarray, shape (n,)
        ``sqrt(w) * u`` with ``u`` the (working) residual.
    bread : ndarray, shape (K, K)
        ``A^-1 = (X~' W X~)^-1``.

    Returns
    -------
    LeaveOut

    Raises
    ------
    SpecificationError
        If leaving some cluster out leaves the coefficients unidentified.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[-1.0], [1.0], [-1.0], [1.0]])
    >>> e = np.array([0.1, -0.1, 0.2, -0.2])
    >>> lo = leave_cluster_out([], np.ones(4), np.array([0, 0, 1, 1]), x, e, np.array([[0.25]]))
    >>> lo.t.ravel().round(6).tolist(), lo.s.ravel().round(6).tolist()
    ([-0.4, -0.8], [-0.2, -0.4])
    """
    x = np.asarray(x, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    eng = _Engine.build(codes, weights, cluster) if len(codes) else None
    layout = eng.layout if eng is not None else _Layout.build(cluster)
    k = x.shape[1]
    g_all = layout.n_clusters
    t = np.zeros((g_all, k))
    s = np.zeros((g_all, k))
    chunks = eng.chunks() if eng is not None else _no_fe_chunks(layout, weights)
    for gs, slots, mask, _, b in chunks:
        safe = np.where(mask, slots, 0)
        xg = np.where(mask[:, :, None], x[safe], 0.0)
        eg = np.where(mask, e[safe], 0.0)
        m = slots.shape[1]
        mat = -np.einsum("gsk,kl,gtl->gst", xg, bread, xg) - b
        idx = np.arange(m)
        mat[:, idx, idx] += 1.0
        try:
            z = np.linalg.solve(mat, eg[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            bad = [int(g) for i, g in enumerate(gs) if np.linalg.matrix_rank(mat[i]) < m]
            raise SpecificationError(
                f"leaving out cluster(s) {bad[:5]} (in sorted label order) leaves the "
                "coefficients unidentified: the leave-one-cluster-out variance does not exist"
            ) from None
        t[gs] = np.einsum("gsk,gs->gk", xg, z)
        s[gs] = np.einsum("gsk,gs->gk", xg, eg)
    return LeaveOut(t=t, s=s, sizes=layout.sizes)


def _no_fe_chunks(
    layout: _Layout, weights: npt.ArrayLike
) -> Iterator[tuple[IntArray, IntArray, BoolArray, FloatArray, FloatArray]]:
    w = np.asarray(weights, dtype=np.float64)
    for gs, slots, mask in layout.chunks(2):
        safe = np.where(mask, slots, 0)
        sw = np.where(mask, np.sqrt(w[safe]), 0.0)
        yield gs, slots, mask, sw, np.zeros((*slots.shape, slots.shape[1]))
