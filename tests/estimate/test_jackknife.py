"""Split-panel jackknife: the split, its determinism, failures, and data from polars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from ca_trade.estimate.jackknife import halves, split_panel_jackknife
from ca_trade.exceptions import SpecificationError
from tests.estimate.test_bias import THREE_WAY, gravity_panel

pytestmark = pytest.mark.filterwarnings("ignore::ca_trade.exceptions.SeparationWarning")


def test_halves_split_floor_and_ceiling() -> None:
    rng = np.random.default_rng(0)
    for n in (2, 5, 8, 65):
        h = halves(n, rng)
        assert int((h == 0).sum()) == n // 2 and int((h == 1).sum()) == n - n // 2


def test_subpanels_partition_the_pairs_and_the_seed_fixes_them() -> None:
    exporter = np.repeat(np.arange(6), 6)
    importer = np.tile(np.arange(6), 6)
    seen: list[np.ndarray] = []

    def refit(pos: np.ndarray) -> tuple[pd.Series, int]:
        seen.append(pos)
        return pd.Series({"x": float(pos.size)}), int(pos.size)

    b = pd.Series({"x": 9.0})
    jk = split_panel_jackknife(b, exporter, importer, refit, splits=3, seed=7)
    assert len(seen) == 12
    for r in range(3):  # each split's four subpanels hold every observation once
        block = np.sort(np.concatenate(seen[4 * r : 4 * r + 4]))
        np.testing.assert_array_equal(block, np.arange(36))
    assert float(jk.params["x"]) == 2 * 9.0 - 9.0  # each quarter holds 9 observations
    assert list(jk.subsample_params.columns[:4]) == ["split", "exporters", "importers", "nobs"]
    again = split_panel_jackknife(b, exporter, importer, refit, splits=3, seed=7)
    pd.testing.assert_frame_equal(again.subsample_params, jk.subsample_params)
    np.testing.assert_array_equal(np.concatenate(seen[:12]), np.concatenate(seen[12:]))


def test_missing_coefficients_and_bad_options_raise() -> None:
    exporter = np.repeat(np.arange(4), 4)
    importer = np.tile(np.arange(4), 4)

    def refit(pos: np.ndarray) -> tuple[pd.Series, int]:
        return pd.Series({"x": 1.0}), int(pos.size)

    with pytest.raises(SpecificationError, match=r"\['z'\] not identified"):
        split_panel_jackknife(pd.Series({"x": 1.0, "z": 2.0}), exporter, importer, refit)
    with pytest.raises(SpecificationError, match="splits"):
        split_panel_jackknife(pd.Series({"x": 1.0}), exporter, importer, refit, splits=0)
    with pytest.raises(SpecificationError, match="two exporters"):
        split_panel_jackknife(pd.Series({"x": 1.0}), exporter * 0, importer, refit)


def test_jackknife_from_polars_equals_pandas() -> None:
    pl = pytest.importorskip("polars")
    df = gravity_panel(n=12, t=3, seed=4, missing=0.0)
    a = ct.ppml(THREE_WAY, df, vcov={"CRV1": "orig^dest"}).bias_corrected("jackknife", seed=1)
    b = ct.ppml(THREE_WAY, pl.from_pandas(df), vcov={"CRV1": "orig^dest"}).bias_corrected(
        "jackknife", seed=1
    )
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-10)
