"""Saved estimates: a split estimation saved group by group and read back."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from ca_trade.exceptions import SpecificationError
from ca_trade.report.stored import load_results, save_split
from tests.estimate.test_split import ESTIMATED, FORMULA, sector_panel


def test_each_group_is_read_back_and_split_json_records_the_failures(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coll = ct.ppml(FORMULA, sector_panel(), split="sector", executor=None)
    written = save_split(coll, tmp_path / "by_sector")
    assert [p.name for p in written] == [*(f"{s}.json" for s in ESTIMATED), "split.json"]
    for sector in ESTIMATED:
        back = load_results(tmp_path / "by_sector" / f"{sector}.json")
        assert np.array_equal(back.params.to_numpy(), coll[sector].params.to_numpy())
        assert np.array_equal(back.vcov.to_numpy(), coll[sector].vcov.to_numpy())
    record = json.loads((tmp_path / "by_sector" / "split.json").read_text())
    assert record["by"] == "sector" and record["groups"] == ESTIMATED
    assert sorted(record["failures"]) == ["S04", "S05", "S06"]
    assert all(record["failures"][k] for k in record["failures"])  # a reason each


def test_group_values_become_safe_distinct_file_names(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "g": ["a/../b"] * 4 + ["split"] * 4 + [".."] * 4,
            "x": [0.0, 1, 2, 3] * 3,
            "y": [1.0, 2, 2, 4, 0, 1, 3, 4, 2, 3, 5, 6],
        }
    )
    coll = ct.ols("y ~ x", df, split="g", executor=None)
    names = sorted(p.name for p in save_split(coll, tmp_path / "o"))
    assert names == ["_...json", "_split.json", "a_.._b.json", "split.json"]
    assert all(p.parent == tmp_path / "o" for p in (tmp_path / "o").iterdir())
    clash = pd.DataFrame({"g": ["a b"] * 4 + ["a_b"] * 4, "x": [0.0, 1, 2, 3] * 2, "y": 1.0})
    clash["y"] = clash["x"] * 2 + np.tile([0.1, -0.1], 4)
    with pytest.raises(SpecificationError, match="distinct file names"):
        save_split(ct.ols("y ~ x", clash, split="g", executor=None), tmp_path / "c")
