"""Least-squares solvers behind the separation checks of :mod:`ca_trade.estimate.separation`.

- :class:`WeightedDesign`: weighted least squares of a working outcome on the regressors and
  the fixed-effect dummies, solved by LSMR on a Jacobi-preconditioned sparse design (the
  iterated rectifier's weights span eight orders of magnitude, where the HDFE kernel stalls);
- :func:`no_separation_certificate`: a cheap Gordan certificate that nothing is separated, from
  one moderately weighted fit solved by the HDFE kernel (:mod:`ca_trade.estimate.demean`).

Details and proofs: ``docs/methods-separation.md``.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import lsmr

from ca_trade._typing import FloatArray, Int32Array, IntArray
from ca_trade.estimate._separation_kernels import dense_levels, weighted_cross
from ca_trade.estimate.demean import column_norms, demean_stacked

__all__ = ["WeightedDesign", "certificate_on_levels", "no_separation_certificate"]


#: Weight on ``y > 0`` rows in the cheap no-separation certificate (any positive value is valid;
#: 100 makes it succeed on gravity panels, 10-30 do not always), and its cap on kernel sweeps.
_SCREEN_WEIGHT = 100.0
_SCREEN_MAXITER = 500


class WeightedDesign:
    """Weighted least squares of a working outcome on ``[X, dummies]``, solved by LSMR.

    The design ``sqrt(w) [X, D_1, ..., D_G]`` is built once, as a CSR matrix with unit-norm
    columns (Jacobi preconditioning); each solve starts from the previous solution.
    """

    def __init__(self, x: FloatArray, codes: list[IntArray], weights: FloatArray) -> None:
        n, k = x.shape
        self.sw = np.sqrt(weights)
        width = k + len(codes)
        # CSR arrays built directly: every row holds its k regressors and one 1 per fixed effect
        data = np.empty((n, width), dtype=np.float64)
        n_cols = k + sum(int(c.max()) + 1 for c in codes if c.size)
        itype = np.int32 if max(n * width, n_cols) < 2**31 - 1 else np.int64  # half the memory
        indices = np.empty((n, width), dtype=itype)
        if k:
            norms = np.sqrt(np.einsum("ij,ij,i->j", x, x, weights))
            norms[norms == 0] = 1.0
            data[:, :k] = x * (self.sw[:, None] / norms)
            indices[:, :k] = np.arange(k)
        offset = k
        for j, c in enumerate(codes):
            g = int(c.max()) + 1 if c.size else 0
            level_norm = np.sqrt(np.bincount(c, weights=weights, minlength=g))
            level_norm[level_norm == 0] = 1.0
            data[:, k + j] = self.sw / level_norm[c]
            indices[:, k + j] = offset + c
            offset += g
        indptr = np.arange(0, n * width + 1, width, dtype=itype)
        self.a = sparse.csr_matrix((data.ravel(), indices.ravel(), indptr), shape=(n, offset))
        self.theta: FloatArray | None = None

    def fit(self, u: FloatArray, tol: float, maxiter: int) -> tuple[FloatArray, bool]:
        """Fitted values of the weighted regression of ``u``, and whether LSMR converged."""
        if self.a.shape[1] == 0:
            return np.zeros_like(u), True
        out = lsmr(self.a, u * self.sw, atol=tol, btol=tol, maxiter=maxiter, x0=self.theta)
        self.theta = out[0]
        converged = int(out[1]) in (0, 1, 2, 4, 5)
        return (self.a @ self.theta) / self.sw, converged


def no_separation_certificate(
    y: FloatArray, x: FloatArray, codes: list[IntArray], tol: float
) -> bool:
    """Try to prove cheaply that nothing is separated; False means "unknown".

    If ``A' r = 0`` (``A = [X, dummies]``) and ``r > 0`` on every ``y == 0`` row, every
    certificate ``z = A c`` is zero there: ``0 = c' A' r = sum r_i z_i`` (Gordan). The
    weighted residual of *any* positively weighted least-squares fit of ``1{y == 0}`` on ``A``
    has ``A' r = 0``; a moderate weight keeps it well conditioned for the HDFE kernel
    (regressors partialled out). See ``docs/methods-separation.md``.
    """
    if not codes or y.shape[0] == 0:
        return False
    kc = tuple(np.ascontiguousarray(c, dtype=np.int64) for c in codes)
    lev, offsets = dense_levels(kc, np.arange(y.shape[0], dtype=np.int64))
    return certificate_on_levels(y, x, lev, offsets, tol)


def certificate_on_levels(
    y: FloatArray,
    x: FloatArray,
    lev: Int32Array,
    offsets: IntArray,
    tol: float,
) -> bool:
    """:func:`no_separation_certificate` with the fixed effects as stacked level indices.

    ``lev`` and ``offsets`` are in the layout of
    :attr:`ca_trade.estimate.demean.FixedEffects.kernel_codes` (from
    :func:`~ca_trade.estimate._separation_kernels.dense_levels`).
    """
    if y.shape[0] == 0 or lev.shape[0] == 0:
        return False
    zero = y == 0
    w = np.where(zero, 1.0, _SCREEN_WEIGHT)
    block = np.empty((x.shape[0], 1 + x.shape[1]), dtype=np.float64)
    block[:, 0] = zero
    block[:, 1:] = x
    scale = column_norms(block, w)
    regtol = max(tol**2, 1e-13)  # the rectifier's least-squares tolerance
    ok, _ = demean_stacked(block, lev, offsets, w, scale, tol=regtol, maxiter=_SCREEN_MAXITER)
    if not ok:
        return False
    resid = block[:, 0]
    if x.shape[1]:
        xt = np.ascontiguousarray(block[:, 1:])
        xtx, xtr = weighted_cross(xt, w, resid)
        resid = resid - xt @ np.linalg.lstsq(xtx, xtr, rcond=None)[0]
    return bool(np.all(resid[zero] > tol))
