"""Readers of CEPII, ITPD-E, WITS and production files; CEPII overrides; tariff weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ca_trade import facts
from ca_trade.etl.covariates import cepii_overrides
from ca_trade.etl.sources import (
    detect_source,
    find_sources,
    read_cepii,
    read_itpde,
    read_production,
    read_wits_tariffs,
)
from ca_trade.etl.tariffs import aggregate_tariffs
from ca_trade.exceptions import DataValidationError


def test_detect_source_kinds() -> None:
    assert detect_source(["iso3_o", "iso3_d", "year", "distcap", "contig"]) == "cepii_gravity"
    assert detect_source(["Reporter ISO3", "Partner ISO3", "Year", "Simple Average"]) == (
        "wits_tariffs"
    )
    assert detect_source(["country", "year", "gdp_usd"]) == "gdp"
    assert detect_source(["a", "b"]) is None


def test_gravity_file_overrides_by_year(tmp_path: Path) -> None:
    pd.DataFrame(
        {
            "iso3_o": ["KAZ", "KAZ"],
            "iso3_d": ["UZB", "UZB"],
            "year": [2018, 2019],
            "distcap": [1000.0, 1234.0],
            "contig": [1, 1],
            "comlang_off": [0, 1],
        }
    ).to_csv(tmp_path / "Gravity_V202211.csv", index=False)
    assert list(find_sources(tmp_path)) == ["cepii_gravity"]
    cov = cepii_overrides(facts.pair_covariates(["KAZ", "UZB"], [2018, 2019]), tmp_path)
    ku = cov[(cov.exporter == "KAZ") & (cov.importer == "UZB")].set_index("year")
    assert ku.loc[2018, "dist_km"] == 1000.0 and ku.loc[2019, "dist_km"] == 1234.0
    assert ku.loc[2019, "comlang"] == 1 and ku.loc[2018, "comlang"] == 0
    uk = cov[(cov.exporter == "UZB") & (cov.importer == "KAZ")]
    assert (uk["dist_km"] != 1234.0).all()  # the other direction is not in the file
    np.testing.assert_allclose(cov["ln_dist"], np.log(cov["dist_km"]))


def test_read_cepii_rejects_other_files(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataValidationError, match="not a CEPII"):
        read_cepii(tmp_path / "x.csv")


def test_itpde_sums_industries_in_dollars(tmp_path: Path) -> None:
    path = tmp_path / "itpde.csv"
    path.write_text(
        "exporter_iso3,importer_iso3,year,industry_id,trade,flag_mirror\n"
        "KAZ,KAZ,2016,1,1.5,0\nKAZ,KAZ,2016,2,0.5,0\nKAZ,CHN,2016,1,0.25,1\n"
    )
    out = read_itpde(path)
    assert out[["exporter", "importer"]].values.tolist() == [["KAZ", "CHN"], ["KAZ", "KAZ"]]
    assert out["value_usd"].tolist() == [250000.0, 2000000.0]


def test_production_without_sector_and_bad_numbers(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("country,year,production_usd\nkaz,2019,10\n")
    assert read_production(path)[["country", "sector"]].values.tolist() == [["KAZ", "TOTAL"]]
    path.write_text("country,year,production_usd\nKAZ,2019,ten\n")
    with pytest.raises(DataValidationError, match="'ten'"):
        read_production(path)


def test_wits_keeps_applied_bilateral_rates(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text(
        "reporter_iso3,partner_iso3,year,tariff_type,sector,simple_average_pct,"
        "weighted_average_pct\n"
        "KAZ,WLD,2019,MFN,TOTAL,7.0,6.0\n"
        "KAZ,CHN,2019,AHS,TOTAL,7.0,5.0\n"
        "KAZ,RUS,2019,AHS,TOTAL,0.0,0.0\n"
        "KAZ,RUS,2019,PREF,S01,0.0,0.0\n"
    )
    t = read_wits_tariffs(path)
    assert t[["importer", "exporter"]].values.tolist() == [["KAZ", "CHN"], ["KAZ", "RUS"]]
    np.testing.assert_allclose(t["tariff"], [0.07, 0.0])
    agg = aggregate_tariffs(t)
    np.testing.assert_allclose(agg["ln_tariff_w"], np.log1p([0.05, 0.0]))


def test_wits_negative_tariff_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text("importer,exporter,year,tariff\nKAZ,CHN,2019,-0.1\n")
    with pytest.raises(DataValidationError, match="negative tariff"):
        read_wits_tariffs(path)


def test_pre_period_weights_do_not_respond_to_later_imports() -> None:
    t = pd.DataFrame(
        {
            "importer": "KAZ",
            "exporter": "CHN",
            "year": [2015, 2015, 2016, 2016],
            "product": ["01", "02"] * 2,
            "tariff": [0.1, 0.0, 0.2, 0.0],
            "imports_usd": [1.0, 1.0, 0.0, 100.0],  # 2016 imports shift to the free good
        }
    )
    agg = aggregate_tariffs(t).set_index("year")
    assert agg.loc[2016, "ln_tariff_w"] == pytest.approx(np.log1p(0.1))  # 2015 weights 1/2
    assert aggregate_tariffs(t, weight_year=2016).set_index("year").loc[2016, "ln_tariff_w"] == 0
