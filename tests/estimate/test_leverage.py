"""Per-cluster hat-matrix blocks against a dense computation with explicit dummy matrices."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from ca_trade.estimate.leverage import fe_hat_blocks, leave_cluster_out
from ca_trade.exceptions import SpecificationError


def _dummies(codes: list[npt.NDArray[np.int64]]) -> npt.NDArray[np.float64]:
    cols = []
    for c in codes:
        _, inv = np.unique(c, return_inverse=True)
        d = np.zeros((c.shape[0], int(inv.max()) + 1))
        d[np.arange(c.shape[0]), inv] = 1.0
        cols.append(d)
    return np.hstack(cols) if cols else np.zeros((0, 0))


def _dense_hat(codes: list[npt.NDArray[np.int64]], w: npt.NDArray[np.float64]):
    d = _dummies(codes) * np.sqrt(w)[:, None]
    return d @ np.linalg.pinv(d.T @ d) @ d.T


def _panel(n: int, t: int, seed: int, drop: float = 0.0):
    rng = np.random.default_rng(seed)
    i, j, s = np.meshgrid(np.arange(n), np.arange(n), np.arange(t), indexing="ij")
    i, j, s = i.ravel(), j.ravel(), s.ravel()
    keep = (i != j) & (rng.random(i.shape[0]) >= drop)
    i, j, s = i[keep], j[keep], s[keep]
    return i, j, s, rng


STRUCTURES = {
    "three-way, pair clusters": lambda i, j, s: (
        [i * 100 + s, j * 100 + s, i * 100 + j],
        i * 100 + j,
    ),
    "two-way, pair clusters": lambda i, j, s: ([i * 100 + s, j * 100 + s], i * 100 + j),
    "three-way, exporter clusters": lambda i, j, s: ([i * 100 + s, j * 100 + s, i * 100 + j], i),
    "exporter + importer + year, pair clusters": lambda i, j, s: ([i, j, s], i * 100 + j),
    "pair effects only": lambda i, j, s: ([i * 100 + j], i * 100 + j),
}


@pytest.mark.parametrize("name", list(STRUCTURES))
@pytest.mark.parametrize("drop", [0.0, 0.25])
def test_blocks_match_dense_hat_matrix(name: str, drop: float) -> None:
    i, j, s, rng = _panel(6, 4, seed=len(name), drop=drop)
    codes, cluster = STRUCTURES[name](i, j, s)
    w = rng.lognormal(0.0, 2.0, i.shape[0])  # weights over several orders of magnitude
    hat = _dense_hat(codes, w)
    blocks = fe_hat_blocks(codes, w, cluster)
    labels = np.unique(cluster)
    assert len(blocks) == labels.shape[0]
    for g, lab in enumerate(labels):
        rows = np.flatnonzero(cluster == lab)
        np.testing.assert_allclose(blocks[g], hat[np.ix_(rows, rows)], atol=1e-9)


def test_levels_nested_by_chance_are_concentrated() -> None:
    # exporter 0 trades with importer 1 only: its exporter-year levels lie in one pair
    i, j, s, rng = _panel(5, 3, seed=3)
    keep = (i != 0) | (j == 1)
    i, j, s = i[keep], j[keep], s[keep]
    codes = [i * 100 + s, j * 100 + s, i * 100 + j]
    cluster = i * 100 + j
    w = rng.uniform(0.5, 2.0, i.shape[0])
    hat = _dense_hat(codes, w)
    for g, lab in enumerate(np.unique(cluster)):
        rows = np.flatnonzero(cluster == lab)
        np.testing.assert_allclose(
            fe_hat_blocks(codes, w, cluster)[g], hat[np.ix_(rows, rows)], atol=1e-9
        )


def _brute_force_loo(x, y, codes, w, cluster):
    """Leave-one-cluster-out WLS coefficients with explicit dummies (lstsq)."""
    z = np.hstack([x, _dummies(codes)]) if codes else x
    out = []
    for lab in np.unique(cluster):
        keep = cluster != lab
        sw = np.sqrt(w[keep])
        coef = np.linalg.lstsq(z[keep] * sw[:, None], y[keep] * sw, rcond=None)[0]
        out.append(coef[: x.shape[1]])
    sw = np.sqrt(w)
    full = np.linalg.lstsq(z * sw[:, None], y * sw, rcond=None)[0][: x.shape[1]]
    return np.array(out), full


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_leave_cluster_out_is_exact_for_weighted_least_squares(name: str) -> None:
    i, j, s, rng = _panel(6, 4, seed=7, drop=0.2)
    codes, cluster = STRUCTURES[name](i, j, s)
    n = i.shape[0]
    x = rng.normal(size=(n, 2)) + 0.3 * (i + s)[:, None] / 5
    y = x @ np.array([0.5, -1.0]) + 0.1 * i + rng.normal(size=n)
    w = rng.uniform(0.2, 3.0, n)
    loo, full = _brute_force_loo(x, y, codes, w, cluster)
    # partial out the fixed effects with weights w (dense), then the public function
    d = _dummies(codes)
    sw = np.sqrt(w)
    proj = (d * sw[:, None]) @ np.linalg.pinv((d * sw[:, None]).T @ (d * sw[:, None]))
    xt = x - proj @ ((d * sw[:, None]).T @ (x * sw[:, None])) / sw[:, None]
    bread = np.linalg.inv((xt * w[:, None]).T @ xt)
    resid = y - x @ full
    resid = resid - (proj @ ((d * sw[:, None]).T @ (resid * sw))) / sw
    lo = leave_cluster_out(codes, w, cluster, xt * sw[:, None], resid * sw, bread)
    np.testing.assert_allclose(full - lo.t @ bread, loo, atol=1e-9)
    np.testing.assert_allclose(
        lo.s,
        np.array([(xt * (w * resid)[:, None])[cluster == g].sum(0) for g in np.unique(cluster)]),
        atol=1e-9,
    )


def test_unidentified_leave_out_raises() -> None:
    x = np.array([[1.0], [0.0], [0.0], [0.0]])
    e = np.zeros(4)
    with pytest.raises(SpecificationError, match="unidentified"):
        leave_cluster_out([], np.ones(4), np.array([0, 1, 1, 1]), x, e, np.eye(1))
