"""Gravity-panel roles read from fixed-effect codes (exporter-time, importer-time, pair)."""

from __future__ import annotations

import numpy as np
import pytest

from ca_trade.estimate.structure import detect_gravity_panel
from ca_trade.exceptions import SpecificationError


def _indices(n: int, t: int, drop: float = 0.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    i, j, s = (
        a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n), np.arange(t), indexing="ij")
    )
    keep = (i != j) & (rng.random(i.shape[0]) >= drop)
    return i[keep], j[keep], s[keep]


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1), (1, 2, 0)])
def test_three_way_roles_whatever_the_order_and_labels(order: tuple[int, int, int]) -> None:
    i, j, s = _indices(6, 3, drop=0.2)
    fes = [i * 1000 + s + 7, j * 1000 + s, (i * 1000 + j).astype(str)]  # any labels
    codes = [fes[k] for k in order]
    p = detect_gravity_panel(codes)
    assert p.kind == "three-way"
    assert codes[p.roles["pair"]] is fes[2]
    assert (p.n_exporters, p.n_importers, p.n_periods) == (6, 6, 3)
    # the recovered indices are the true ones up to renumbering
    for found, true in ((p.time, s), (p.pair, i * 100 + j)):
        pairs = set(zip(found.tolist(), true.tolist()))
        assert len(pairs) == len(set(found.tolist())) == len(set(true.tolist()))
    ex = set(zip(p.exporter.tolist(), i.tolist())) | set(zip(p.importer.tolist(), j.tolist()))
    ex2 = set(zip(p.exporter.tolist(), j.tolist())) | set(zip(p.importer.tolist(), i.tolist()))
    assert min(len(ex), len(ex2)) == 12  # exporter/importer up to their symmetric labelling


def test_time_is_the_short_index_unless_the_cluster_says_otherwise() -> None:
    i, j, s = _indices(5, 4)  # five exporters and importers, four periods
    codes = [i * 10 + s, j * 10 + s, i * 10 + j]
    assert detect_gravity_panel(codes).roles["pair"] == 2
    # a panel with as many periods as countries: the sizes cannot tell
    i, j, s = (
        a.ravel() for a in np.meshgrid(np.arange(3), np.arange(3), np.arange(3), indexing="ij")
    )
    codes = [i * 10 + s, j * 10 + s, i * 10 + j]
    with pytest.raises(SpecificationError, match="cannot tell the time dimension"):
        detect_gravity_panel(codes)
    assert detect_gravity_panel(codes, cluster=(i * 10 + j).astype(str)).roles["pair"] == 2
    assert detect_gravity_panel(codes, cluster=j * 10 + s).roles["pair"] == 1


def test_two_way_needs_the_pair_clusters() -> None:
    i, j, s = _indices(5, 3)
    codes = [i * 10 + s, j * 10 + s]
    with pytest.raises(SpecificationError, match="clustered by pair"):
        detect_gravity_panel(codes)
    p = detect_gravity_panel(codes, cluster=i * 10 + j)
    assert p.kind == "two-way" and p.n_pairs == 20 and p.n_periods == 3
    with pytest.raises(SpecificationError, match="not exporter-time, importer-time and pair"):
        detect_gravity_panel(codes, cluster=i)  # clustered by exporter


@pytest.mark.parametrize(
    "make",
    [
        lambda i, j, s: [i, j, s],  # exporter, importer, year effects
        lambda i, j, s: [i * 10 + s, j * 10 + s, np.minimum(i, j) * 10 + np.maximum(i, j)],
        lambda i, j, s: [i * 10 + s, j * 10 + s, i * 10 + j, s],  # four effects
        lambda i, j, s: [i * 10 + s],
    ],
    ids=["no-time", "symmetric-pairs", "four", "one"],
)
def test_other_structures_are_refused(make) -> None:
    i, j, s = _indices(5, 3)
    with pytest.raises(SpecificationError, match="supported: three-way PPML"):
        detect_gravity_panel(make(i, j, s), cluster=i * 10 + j)


def test_duplicate_cells_and_single_periods_are_refused() -> None:
    i, j, s = _indices(5, 3)
    dup = [np.concatenate([c, c]) for c in (i * 10 + s, j * 10 + s, i * 10 + j)]  # two sectors
    with pytest.raises(SpecificationError, match="supported"):
        detect_gravity_panel(dup)
    i, j, s = _indices(5, 1)
    with pytest.raises(SpecificationError, match="one period"):
        detect_gravity_panel([i * 10 + s, j * 10 + s], cluster=i * 10 + j)
