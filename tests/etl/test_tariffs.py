"""Sector tariffs: applied rates from MFN and preferential schedules, simple and weighted means."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ca_trade.etl.sources import read_wits_schedules
from ca_trade.etl.tariffs import applied_rates, product_sector, sector_tariffs


def test_products_of_any_depth_map_to_their_chapter_and_section() -> None:
    codes = pd.Series(["01", "0101", "010121", "27", "2709", "85", "97", "98", "S05", "TOTAL"])
    assert product_sector(codes, "chapter").tolist() == [
        "01", "01", "01", "27", "27", "85", "97", "98", None, None,
    ]  # fmt: skip
    assert product_sector(codes, "section").tolist() == [
        "S01", "S01", "S01", "S05", "S05", "S16", "S21", None, "S05", None,
    ]  # fmt: skip


def test_applied_rate_is_ahs_else_preferential_else_mfn() -> None:
    s = pd.DataFrame(
        {
            "importer": "KAZ",
            "exporter": ["WLD", "KGZ", "CHN", "RUS"],
            "year": 2019,
            "product": "27",
            "tariff_type": ["MFN", "PREF", "AHS", "PREF"],
            "tariff": [0.05, 0.0, 0.01, 0.09],
        }
    )
    out = applied_rates(s, ["CHN", "KAZ", "KGZ", "RUS", "USA"]).set_index("exporter")["tariff"]
    # AHS as given; PREF where below MFN; MFN for the rest; never the importer itself
    assert out.to_dict() == {"CHN": 0.01, "KGZ": 0.0, "RUS": 0.05, "USA": 0.05}


def test_sector_means_simple_and_pre_period_import_weighted() -> None:
    s = pd.DataFrame(
        {
            "importer": "KAZ",
            "exporter": "CHN",
            "year": [2015, 2015, 2016, 2016, 2015],
            "product": ["2709", "2710", "2709", "2710", "8401"],
            "tariff": [0.0, 0.2, 0.0, 0.4, 0.5],
            "imports_usd": [3.0, 1.0, 1.0, 9.0, 1.0],
        }
    )
    out = sector_tariffs(s, ["CHN"], "section").set_index(["sector", "year"])
    assert out.loc[("S05", 2015), "tariff"] == pytest.approx(0.1)
    assert out.loc[("S05", 2016), "tariff"] == pytest.approx(0.2)
    # weights from 2015 imports (3:1), also in 2016 when imports shifted
    assert out.loc[("S05", 2016), "ln_tariff_w"] == pytest.approx(np.log1p(0.1))
    assert out.loc[("S16", 2015), "ln_tariff"] == pytest.approx(np.log1p(0.5))
    only = sector_tariffs(s, ["CHN"], "chapter", sectors=["84"])
    assert only["sector"].tolist() == ["84"]


def test_the_samples_wits_file_gives_the_true_section_tariffs(tmp_path: Path) -> None:
    from ca_trade import sample
    from ca_trade.sample.model import simulate_truth

    info = sample.generate(tmp_path, seed=5, years=[2019])
    sched = read_wits_schedules(info.tariffs)
    assert set(sched["tariff_type"]) == {"AHS", "MFN", "PREF"}
    got = sector_tariffs(sched, list(info.countries), "section")
    truth = simulate_truth(np.random.default_rng(5), [2019]).tariffs
    truth = truth[truth.exporter != truth.importer]
    m = truth.merge(got, on=["exporter", "importer", "year", "sector"], how="left")
    assert m["tariff"].notna().all() and len(got) == len(truth)
    np.testing.assert_allclose(m["tariff"], m["ahs_pct"] / 100.0, atol=5e-9)
