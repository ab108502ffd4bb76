"""Real UN Comtrade layout samples and CEPII GeoDist against the ETL.

Sources (``CA_TRADE_REFERENCE``):
- ``comtrade_samples/``: real UN Comtrade files from public test fixtures (legacy API with a
  shortened header, legacy bulk goods and services, Comtrade+ partner reference rows);
- ``geography/geodist_dist_cepii.parquet``: CEPII GeoDist (Mayer & Zignago 2011), Etalab
  Open Licence 2.0.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

import ca_trade as ct
from ca_trade import facts
from ca_trade.etl.countries import code_table, map_codes
from ca_trade.etl.covariates import cepii_overrides
from ca_trade.etl.layouts import read_head, sniff_header
from ca_trade.exceptions import DataValidationWarning
from tests.conftest import require_reference

pytestmark = pytest.mark.reference

SAMPLES = {
    "legacy_api_hs01_2016.csv": ("legacy_api", 127),
    "legacy_bulk_goods_afg_2008.csv": ("legacy_bulk", 2),
    "legacy_bulk_services_afg_2008.csv": ("legacy_bulk", 2),
}
# The 31 countries of the SYNTHETIC sample (ca_trade.sample): Central Asia and partners.
SAMPLE_COUNTRIES = [
    "AFG", "ARE", "ARM", "AZE", "BLR", "CHE", "CHN", "DEU", "FRA", "GBR", "GEO", "IND", "IRN",
    "ITA", "JPN", "KAZ", "KGZ", "KOR", "LTU", "LVA", "MNG", "NLD", "PAK", "POL", "RUS", "TJK",
    "TKM", "TUR", "UKR", "USA", "UZB",
]  # fmt: skip


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_real_layouts_are_detected(name: str) -> None:
    path = require_reference("comtrade_samples", name)
    head, gz = read_head(path)
    info = sniff_header(head, gzip_file=gz)
    assert (info.layout, info.missing) == (SAMPLES[name][0], ())


def test_real_samples_ingest_without_loss(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in SAMPLES:
        shutil.copy(require_reference("comtrade_samples", name), raw / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataValidationWarning)
        rep = ct.etl.ingest(raw, tmp_path / "out")
    assert rep.balanced()
    by = {f.file: f for f in rep.files}
    for name, (_, n) in SAMPLES.items():
        assert by[name].rows_read == n, name
    # Every row of the real samples is to World (partner 0): control totals, or quarantined
    # where the reporter is not in the packaged area table.
    assert rep.rows_written == 0
    controls = pl.read_parquet(tmp_path / "out" / "controls", hive_partitioning=True)
    assert set(controls["partner"]) == {"WLD"}
    assert {"HS", "SITC", "EBOPS"} == set(controls["classification"])
    kaz = controls.filter((pl.col("reporter") == "KAZ") & (pl.col("flow") == "M"))
    assert kaz["cmd_code"].to_list() == ["01"]  # leading zero kept
    # Kazakhstan's 2016 imports of HS 01 to World as published in the fixture.
    raw_kaz = pd.read_csv(raw / "legacy_api_hs01_2016.csv", dtype=str)
    want = raw_kaz[(raw_kaz["Reporter Code"] == "398") & (raw_kaz["TradeFlow Code"] == "1")]
    assert kaz["value_usd"].item() == float(want["TradeValueUS"].item())


def test_special_areas_of_the_partner_reference_are_never_countries() -> None:
    path = require_reference("comtrade_samples", "plus_partner_reference_special_areas.csv")
    ref = pd.read_csv(path, dtype=str)
    table = code_table()
    codes = [int(c) for c in ref["PartnerCode"]]
    got = map_codes(table, codes, [2019] * len(codes))
    countries = set(ct.facts.countries()["iso3"])
    for code, g in zip(codes, got):
        if g is not None:
            assert g[0] not in countries, code  # 'nes' areas keep X.. pseudo-codes
    mapped = dict(zip(codes, got))
    assert mapped[492] == ("XEU", True, False)  # its ISO field says MCO: not Monaco
    assert mapped[899] is not None and mapped[899][1]
    assert mapped[490] is not None and mapped[490][1]


@pytest.fixture(scope="module")
def geodist() -> pd.DataFrame:
    return pd.read_parquet(require_reference("geography", "geodist_dist_cepii.parquet"))


def test_sample_pairs_agree_with_cepii_geodist(geodist: pd.DataFrame) -> None:
    cov = facts.pair_covariates(SAMPLE_COUNTRIES, [2019])
    ref = geodist.rename(columns={"iso_o": "exporter", "iso_d": "importer"})
    m = cov.merge(ref, on=["exporter", "importer"], suffixes=("", "_cepii"))
    assert len(m) == len(SAMPLE_COUNTRIES) ** 2
    intl = m[m.exporter != m.importer]
    # Issue 3: capital distance within 5 % of CEPII `distcap`, contiguity exact.
    rel = np.abs(intl["dist_km"] / intl["distcap"] - 1.0)
    assert rel.max() < 0.05, intl.loc[rel.idxmax(), ["exporter", "importer"]].tolist()
    assert (intl["contig"] == intl["contig_cepii"]).all()


def test_cepii_file_in_raw_dir_overrides_packaged_facts(
    geodist: pd.DataFrame, tmp_path: Path
) -> None:
    sub = geodist[
        geodist.iso_o.isin(SAMPLE_COUNTRIES[:6]) & geodist.iso_d.isin(SAMPLE_COUNTRIES[:6])
    ]
    sub.to_csv(tmp_path / "dist_cepii.csv", index=False)
    cov = cepii_overrides(facts.pair_covariates(SAMPLE_COUNTRIES[:6], [2019]), tmp_path)
    m = cov.merge(sub.rename(columns={"iso_o": "exporter", "iso_d": "importer"}))
    np.testing.assert_allclose(m["dist_km"], m["distcap"].astype(float), rtol=1e-6)
    intl = m[m.exporter != m.importer]
    assert (intl["comlang"] == intl["comlang_off"]).all()
    np.testing.assert_allclose(m["ln_dist"], np.log(m["dist_km"]))
