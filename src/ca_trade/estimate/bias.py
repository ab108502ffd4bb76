"""Weidner & Zylkin (2021): bias-corrected three-way PPML and de-biased clustered variances.

With exporter-time, importer-time and pair fixed effects and a fixed number of periods ``T``,
PPML has an incidental-parameter bias of order ``1/N`` and the pair-clustered sandwich is
biased downward (Weidner & Zylkin 2021, *JIE* 132, 103513; their Stata command
``ppml_fe_bias``). Both are corrected here, exactly as the published example output is
reproduced (``tests/reference/test_ppml_fe_bias.py``), from the fit's means ``lam``,
residuals ``e = y - lam`` and regressors ``x~`` partialled out on the fixed effects with
weights ``lam``. Work pair by pair on length-``T`` vectors (cells missing from the panel have
``y = lam = 0``).

**Bias** (three-way only). ``H_ij = diag(lam_ij) - lam_ij lam_ij' / sum_t lam_ijt``;
for exporter ``i``: ``Hbar_i = sum_j H_ij``, ``S_i = sum_j e_ij e_ij'``,
``A_ik = sum_j (H_ij x~_ijk) e_ij'``, ``G_ik = -sum_j (H_ij diag(x~_ijk) + diag(x~_ijk) H_ij)``;
``B_k = sum_i [-tr(Hbar_i^+ A_ik) + tr(Hbar_i^+ G_ik Hbar_i^+ S_i) / 2]``, ``D_k`` the same
over importers; ``bias = W^-1 [N_i/(N_i-1) B + N_j/(N_j-1) D]`` with ``W = X~' diag(lam) X~``
(the exact third-derivative term of the concentrated likelihood differs from ``G_ik`` by
``diag(lam x~)``, whose contribution vanishes because ``x~`` is orthogonal to the
exporter-time and importer-time dummies).

**Variance** (three-way and two-way). Leave-one-pair-out ("locally de-biased"):
``Omega = sum_ij x~_ij' (I - H_ij M_ij)^-1 e_ij e_ij' x~_ij`` with
``M_ij = x~_ij W^-1 x~_ij' + D_ij V_FE D_ij'``, ``V_FE`` a generalised inverse of the
Gram matrix of the exporter-time and importer-time dummies after the pair effects are
concentrated out (two-way: ``H_ij = diag(lam_ij)``, no pair effect), and
``V = n/(n-1) W^-1 Omega W^-1`` (``n`` pairs), symmetrised. ``H_ij M_ij`` is the pair block of
the full model's hat matrix with the pair direction removed, so ``Omega`` comes from
:func:`ca_trade.estimate.leverage.leave_cluster_out`, which computes ``V_FE``'s blocks
exactly with sparse block elimination and one dense factorisation, at every size (the Stata
command switches to an approximation above 1,500 country-time effects).

Examples
--------
>>> import numpy as np
>>> from ca_trade.estimate.bias import pair_slots
>>> slots = pair_slots(np.array([0, 0, 1]), np.array([1, 0, 0]), 2, 2)
>>> slots.tolist()
[[1, 0], [2, -1]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ca_trade._typing import FloatArray, IntArray
from ca_trade.estimate.leverage import leave_cluster_out
from ca_trade.estimate.structure import GravityPanel

__all__ = ["analytical_bias", "debiased_vcov", "pair_slots"]


#: Relative eigenvalue cut-off of the pseudo-inverses of ``Hbar_i`` (rank ``T - 1``).
PINV_RTOL = 1e-12


def pair_slots(pair: IntArray, time: IntArray, n_pairs: int, n_periods: int) -> IntArray:
    """Observation index of every (pair, period) cell; ``-1`` where the cell is absent.

    Parameters
    ----------
    pair, time : ndarray of int
        Dense codes per observation.
    n_pairs, n_periods : int

    Returns
    -------
    ndarray of int, shape (n_pairs, n_periods)

    Examples
    --------
    >>> import numpy as np
    >>> pair_slots(np.array([0, 1]), np.array([0, 0]), 2, 1).tolist()
    [[0], [1]]
    """
    slots = np.full((n_pairs, n_periods), -1, dtype=np.int64)
    slots[pair, time] = np.arange(pair.shape[0])
    return slots


@dataclass(frozen=True)
class _PairArrays:
    lam: FloatArray  # (P, T)
    e: FloatArray  # (P, T)
    x: FloatArray  # (P, T, K)
    h: FloatArray  # (P, T, T)
    exporter: IntArray  # (P,)
    importer: IntArray  # (P,)


def _pair_arrays(
    y: FloatArray, mu: FloatArray, x_tilde: FloatArray, panel: GravityPanel
) -> _PairArrays:
    slots = pair_slots(panel.pair, panel.time, panel.n_pairs, panel.n_periods)
    ok = slots >= 0
    safe = np.where(ok, slots, 0)
    lam = np.where(ok, mu[safe], 0.0)
    e = np.where(ok, y[safe] - mu[safe], 0.0)
    x = np.where(ok[:, :, None], x_tilde[safe], 0.0)
    total = lam.sum(axis=1)
    h = -lam[:, :, None] * lam[:, None, :] / np.where(total > 0, total, 1.0)[:, None, None]
    idx = np.arange(lam.shape[1])
    h[:, idx, idx] += lam
    exporter = np.zeros(panel.n_pairs, dtype=np.int64)
    importer = np.zeros(panel.n_pairs, dtype=np.int64)
    exporter[panel.pair] = panel.exporter
    importer[panel.pair] = panel.importer
    return _PairArrays(lam=lam, e=e, x=x, h=h, exporter=exporter, importer=importer)


def _group_sum(group: IntArray, n_groups: int, blocks: FloatArray) -> FloatArray:
    """``out[g] = sum of blocks[p]`` over pairs ``p`` of group ``g``."""
    p = group.shape[0]
    ind = sp.csr_matrix((np.ones(p), (group, np.arange(p))), shape=(n_groups, p))
    flat = blocks.reshape(p, -1)
    return np.asarray(ind @ flat, dtype=np.float64).reshape((n_groups, *blocks.shape[1:]))


def _side(arr: _PairArrays, group: IntArray, n_groups: int) -> FloatArray:
    """``sum_g [-tr(Hbar^+ A_gk) + tr(Hbar^+ G_gk Hbar^+ S_g) / 2]`` for one side (K,)."""
    hbar = _group_sum(group, n_groups, arr.h)
    s = _group_sum(group, n_groups, arr.e[:, :, None] * arr.e[:, None, :])
    hinv = np.linalg.pinv(hbar, rtol=PINV_RTOL, hermitian=True)
    v = np.einsum("pts,ps->pt", hinv[group], arr.e)  # Hbar_i^+ e_ij
    hx = np.einsum("pts,psk->ptk", arr.h, arr.x)  # H_ij x~_ij
    first = np.einsum("ptk,pt->k", hx, v)  # sum tr(Hbar^+ A)
    q = hinv @ s @ hinv
    # tr(G_k Q) = -2 sum_{t,s} H[t,s] x[s,k] Q[s,t] (H and Q symmetric)
    qh_diag = np.einsum("pst,pts->ps", q[group], arr.h)
    second = -2.0 * np.einsum("psk,ps->k", arr.x, qh_diag)
    return np.asarray(-first + 0.5 * second, dtype=np.float64)


def analytical_bias(
    y: FloatArray, mu: FloatArray, x_tilde: FloatArray, bread: FloatArray, panel: GravityPanel
) -> FloatArray:
    """Weidner–Zylkin incidental-parameter bias of three-way PPML (to be subtracted).

    Parameters
    ----------
    y, mu : ndarray, shape (n,)
        Outcome and fitted means of the estimation sample.
    x_tilde : ndarray, shape (n, K)
        Regressors partialled out on all three fixed effects with weights ``mu``.
    bread : ndarray, shape (K, K)
        ``W^-1 = (X~' diag(mu) X~)^-1``.
    panel : GravityPanel
        A three-way structure (:func:`ca_trade.estimate.structure.detect_gravity_panel`).

    Returns
    -------
    ndarray, shape (K,)

    Examples
    --------
    >>> import numpy as np
    >>> from ca_trade.estimate.structure import detect_gravity_panel
    >>> i, j, t = np.meshgrid(np.arange(3), np.arange(3), np.arange(2), indexing="ij")
    >>> i, j, t = i.ravel(), j.ravel(), t.ravel()
    >>> panel = detect_gravity_panel([i * 9 + t, j * 9 + t, i * 9 + j])
    >>> mu = np.ones(18)
    >>> analytical_bias(mu, mu, np.zeros((18, 1)), np.eye(1), panel).tolist()
    [0.0]
    """
    if panel.kind != "three-way":
        raise ValueError("the analytical bias is defined for three-way models")
    arr = _pair_arrays(y, mu, x_tilde, panel)
    ni, nj = panel.n_exporters, panel.n_importers
    b = _side(arr, arr.exporter, ni)
    d = _side(arr, arr.importer, nj)
    return np.asarray(bread @ (ni / (ni - 1) * b + nj / (nj - 1) * d), dtype=np.float64)


def debiased_vcov(
    y: FloatArray, mu: FloatArray, x_tilde: FloatArray, bread: FloatArray, panel: GravityPanel
) -> FloatArray:
    """Weidner–Zylkin locally de-biased pair-clustered covariance (three-way or two-way).

    Parameters
    ----------
    y, mu : ndarray, shape (n,)
    x_tilde : ndarray, shape (n, K)
        Regressors partialled out on the model's fixed effects with weights ``mu``.
    bread : ndarray, shape (K, K)
    panel : GravityPanel

    Returns
    -------
    ndarray, shape (K, K)

    Examples
    --------
    >>> import numpy as np
    >>> from ca_trade.estimate.structure import detect_gravity_panel
    >>> i, j, t = np.meshgrid(np.arange(3), np.arange(3), np.arange(2), indexing="ij")
    >>> i, j, t = i.ravel(), j.ravel(), t.ravel()
    >>> panel = detect_gravity_panel([i * 9 + t, j * 9 + t], cluster=i * 9 + j)
    >>> debiased_vcov(np.ones(18), np.ones(18), np.zeros((18, 1)), np.eye(1), panel).tolist()
    [[0.0]]
    """
    codes = [panel.exporter_time, panel.importer_time]
    if panel.kind == "three-way":
        codes.append(panel.pair)
    sw = np.sqrt(mu)
    lo = leave_cluster_out(
        codes, mu, panel.pair, x_tilde * sw[:, None], (y - mu) / np.where(sw > 0, sw, 1.0), bread
    )
    g = lo.t.shape[0]
    v = g / (g - 1) * (bread @ (lo.t.T @ lo.s) @ bread)
    return np.asarray(0.5 * (v + v.T), dtype=np.float64)
