"""Compiled per-row passes of the Poisson IRLS loop (:mod:`ca_trade.estimate.irls`).

The fixed-effect parts are carried as coefficients per level (see
:mod:`ca_trade.estimate._hdfe_kernels`): a row's fixed-effect component of column ``j`` is
``sum_d a[lev[d, i], j]``, gathered on the fly, so no demeaned ``(n, k)`` block is ever
written inside the loop. Each function is one pass over the observations.
"""

from __future__ import annotations

import numpy as np
from numba import literally, njit

from ca_trade._typing import FloatArray, Int32Array

__all__ = ["apply_step", "gram", "halve", "log_y", "shift_left", "update", "working"]


@njit(cache=True, nogil=True)
def shift_left(flat: FloatArray, n: int, m: int) -> None:
    """Drop the first column of the C-ordered ``(n, m)`` matrix stored in ``flat``, in place.

    Afterwards ``flat[: n * (m - 1)]`` holds the other columns as a C-ordered ``(n, m - 1)``
    matrix (each element moves towards the front, so one forward pass is safe).
    """
    for i in range(n):
        src = i * m
        dst = i * (m - 1)
        for j in range(1, m):
            flat[dst + j - 1] = flat[src + j]


@njit(cache=True, nogil=True)
def log_y(y: FloatArray) -> FloatArray:
    """``log(y)`` where ``y > 0``, 0 elsewhere (used by the deviance kernels)."""
    out = np.zeros(y.shape[0])
    for i in range(y.shape[0]):
        if y[i] > 0.0:
            out[i] = np.log(y[i])
    return out


@njit(cache=True, nogil=True)
def working(
    y: FloatArray,
    eta: FloatArray,
    mu: FloatArray,
    off: FloatArray,
    pw: FloatArray,
    u: FloatArray,
    w: FloatArray,
    scale: FloatArray,
) -> None:
    """Working weights ``w = pw mu`` and response ``u[:, 0] = eta - off + (y - mu) / mu``.

    ``u[:, 1:]`` holds the regressors; ``scale`` gets the weighted norms of all columns of
    ``u`` (``off`` and ``pw`` may be empty: no offset, unit prior weights).
    """
    n, m = u.shape
    has_off = off.shape[0] == n
    has_pw = pw.shape[0] == n
    for j in range(m):
        scale[j] = 0.0
    for i in range(n):
        mi = mu[i]
        wi = pw[i] * mi if has_pw else mi
        w[i] = wi
        zi = eta[i] + (y[i] - mi) / mi
        if has_off:
            zi -= off[i]
        u[i, 0] = zi
        for j in range(m):
            v = u[i, j]
            scale[j] += wi * v * v
    for j in range(m):
        scale[j] = np.sqrt(scale[j])


@njit(cache=True, nogil=True)
def _gram_small(lev: Int32Array, u: FloatArray, a: FloatArray, w: FloatArray, m: int) -> FloatArray:
    """:func:`gram` for ``m <= 4`` columns (compiled for each ``m``), in scalars."""
    literally(m)
    n_fe = lev.shape[0]
    n = u.shape[0]
    g00 = g01 = g02 = g03 = g11 = g12 = g13 = g22 = g23 = g33 = 0.0
    v1 = v2 = v3 = 0.0
    for i in range(n):
        v0 = u[i, 0]
        if m > 1:
            v1 = u[i, 1]
        if m > 2:
            v2 = u[i, 2]
        if m > 3:
            v3 = u[i, 3]
        for d in range(n_fe):
            lv = lev[d, i]
            v0 -= a[lv, 0]
            if m > 1:
                v1 -= a[lv, 1]
            if m > 2:
                v2 -= a[lv, 2]
            if m > 3:
                v3 -= a[lv, 3]
        wi = w[i]
        w0 = wi * v0
        g00 += w0 * v0
        if m > 1:
            w1 = wi * v1
            g01 += w0 * v1
            g11 += w1 * v1
        if m > 2:
            w2 = wi * v2
            g02 += w0 * v2
            g12 += w1 * v2
            g22 += w2 * v2
        if m > 3:
            g03 += w0 * v3
            g13 += w1 * v3
            g23 += w2 * v3
            g33 += wi * v3 * v3
    full = np.array(
        [[g00, g01, g02, g03], [g01, g11, g12, g13], [g02, g12, g22, g23], [g03, g13, g23, g33]]
    )
    return full[:m, :m].copy()


@njit(cache=True, nogil=True)
def gram(lev: Int32Array, u: FloatArray, a: FloatArray, w: FloatArray) -> FloatArray:
    """``v' W v`` for ``v = u - D a`` (the partialled-out block), shape ``(m, m)``."""
    n_fe = lev.shape[0]
    n, m = u.shape
    if m == 1:
        return _gram_small(lev, u, a, w, 1)
    if m == 2:
        return _gram_small(lev, u, a, w, 2)
    if m == 3:
        return _gram_small(lev, u, a, w, 3)
    if m == 4:
        return _gram_small(lev, u, a, w, 4)
    g = np.zeros((m, m))
    v = np.empty(m)
    for i in range(n):
        for j in range(m):
            v[j] = u[i, j]
        for d in range(n_fe):
            lv = lev[d, i]
            for j in range(m):
                v[j] -= a[lv, j]
        wi = w[i]
        for p in range(m):
            wp = wi * v[p]
            for q in range(p, m):
                g[p, q] += wp * v[q]
    for p in range(m):
        for q in range(p):
            g[p, q] = g[q, p]
    return g


@njit(cache=True, nogil=True)
def _term(y: float, logy: float, e: float, mi: float) -> float:
    """Half the Poisson deviance contribution of one row at linear predictor ``e``."""
    return y * (logy - e) - y + mi if y > 0.0 else mi


@njit(cache=True, nogil=True)
def update(
    lev: Int32Array,
    x: FloatArray,
    beta: FloatArray,
    a_eta: FloatArray,
    off: FloatArray,
    y: FloatArray,
    logy: FloatArray,
    pw: FloatArray,
    eta: FloatArray,
    mu: FloatArray,
    eta_new: FloatArray,
    mu_new: FloatArray,
) -> tuple[float, float]:
    """Set ``eta_new = X b + D a_eta + off`` and ``mu_new = exp(eta_new)``.

    Returns the deviance at ``eta_new`` and an estimate of the deviance at twice the step,
    ``eta + 2 (eta_new - eta)``, whose mean ``exp(2 eta_new - eta)`` is formed as
    ``mu_new (mu_new / mu)`` (no second ``exp``, exact up to rounding; only to decide whether
    the longer step is taken: :func:`apply_step` recomputes it exactly).
    """
    n_fe = lev.shape[0]
    n, k = x.shape
    has_off = off.shape[0] == n
    has_pw = pw.shape[0] == n
    dev = 0.0
    dev2 = 0.0
    for i in range(n):
        e = 0.0
        for j in range(k):
            e += x[i, j] * beta[j]
        for d in range(n_fe):
            e += a_eta[lev[d, i]]
        if has_off:
            e += off[i]
        eta_new[i] = e
        mi = np.exp(e)
        mu_new[i] = mi
        # exp(2 e - eta) as mu_new (mu_new / mu); a non-finite value only rules the step out
        e2 = 2.0 * e - eta[i]
        m2 = mi * (mi / mu[i])
        t1 = _term(y[i], logy[i], e, mi)
        t2 = _term(y[i], logy[i], e2, m2)
        if has_pw:
            t1 *= pw[i]
            t2 *= pw[i]
        dev += t1
        dev2 += t2
    return 2.0 * dev, 2.0 * dev2


@njit(cache=True, nogil=True)
def halve(
    eta: FloatArray,
    eta_new: FloatArray,
    mu_new: FloatArray,
    y: FloatArray,
    logy: FloatArray,
    pw: FloatArray,
) -> float:
    """Step-halving: ``eta_new = (eta + eta_new) / 2``; returns the new deviance."""
    n = eta.shape[0]
    has_pw = pw.shape[0] == n
    dev = 0.0
    for i in range(n):
        e = 0.5 * (eta[i] + eta_new[i])
        eta_new[i] = e
        mi = np.exp(e)
        mu_new[i] = mi
        term = _term(y[i], logy[i], e, mi)
        dev += pw[i] * term if has_pw else term
    return 2.0 * dev


@njit(cache=True, nogil=True)
def apply_step(
    eta: FloatArray,
    eta_new: FloatArray,
    mu_new: FloatArray,
    s: float,
    y: FloatArray,
    logy: FloatArray,
    pw: FloatArray,
) -> float:
    """Set ``eta_new = eta + s (eta_new - eta)``, ``mu_new = exp(eta_new)``; return the deviance."""
    n = eta.shape[0]
    has_pw = pw.shape[0] == n
    dev = 0.0
    for i in range(n):
        e = eta[i] + s * (eta_new[i] - eta[i])
        eta_new[i] = e
        mi = np.exp(e)
        mu_new[i] = mi
        term = _term(y[i], logy[i], e, mi)
        dev += pw[i] * term if has_pw else term
    return 2.0 * dev
