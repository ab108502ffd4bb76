"""Tests of the SYNTHETIC sample generator (ca_trade.sample), read back with plain pandas."""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ca_trade import facts, sample
from ca_trade.exceptions import ConfigError
from ca_trade.sample.layouts import HEADERS, UNKNOWN_PARTNER_CODE
from ca_trade.sample.model import simulate_truth
from ca_trade.sample.reporting import CHAPTER_OF_SECTION
from tests.sample.helpers import ppml_fe

YEARS = [2004, 2010, 2016, 2019]  # one year per layout; UZB reports only in 2019

# Headers quoted from shared/reference/README.md (independent of the generator's constants).
README_LEGACY_API = (
    "Classification,Year,Period,Period Desc.,Aggregate Level,Is Leaf Code,Trade Flow Code,"
    "Trade Flow,Reporter Code,Reporter,Reporter ISO,Partner Code,Partner,Partner ISO,"
    "2nd Partner Code,2nd Partner,2nd Partner ISO,Customs Proc. Code,Customs,"
    "Mode of Transport Code,Mode of Transport,Commodity Code,Commodity,Qty Unit Code,Qty Unit,"
    "Qty,Alt Qty Unit Code,Alt Qty Unit,Alt Qty,Netweight (kg),Gross weight (kg),"
    "Trade Value (US$),CIF Trade Value (US$),FOB Trade Value (US$),Flag"
)
README_PLUS_API = (
    "typeCode,freqCode,refPeriodId,refYear,refMonth,period,reporterCode,reporterISO,"
    "reporterDesc,flowCode,flowDesc,partnerCode,partnerISO,partnerDesc,partner2Code,"
    "partner2ISO,partner2Desc,classificationCode,classificationSearchCode,"
    "isOriginalClassification,cmdCode,cmdDesc,aggrLevel,isLeaf,customsCode,customsDesc,mosCode,"
    "motCode,motDesc,qtyUnitCode,qtyUnitAbbr,qty,isQtyEstimated,altQtyUnitCode,altQtyUnitAbbr,"
    "altQty,isAltQtyEstimated,netWgt,isNetWgtEstimated,grossWgt,isGrossWgtEstimated,cifvalue,"
    "fobvalue,primaryValue,legacyEstimationFlag,isReported,isAggregate"
)
LEGACY_BULK_22 = (
    "Classification,Year,Period,Period Desc.,Aggregate Level,Is Leaf Code,Trade Flow Code,"
    "Trade Flow,Reporter Code,Reporter,Reporter ISO,Partner Code,Partner,Partner ISO,"
    "Commodity Code,Commodity,Qty Unit Code,Qty Unit,Qty,Netweight (kg),Trade Value (US$),Flag"
)


@pytest.fixture(scope="module")
def info(tmp_path_factory: pytest.TempPathFactory) -> sample.SampleInfo:
    return sample.generate(tmp_path_factory.mktemp("s1"), seed=2024, years=YEARS)


@pytest.fixture(scope="module")
def truth(info: sample.SampleInfo) -> dict[str, Any]:
    return json.loads(info.truth_json.read_text())


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _read_raw(path: Path) -> pd.DataFrame:
    if path.name.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return pd.read_csv(fh, sep="\t", dtype=str, keep_default_na=False)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _standard(path: Path) -> pd.DataFrame:
    """Plain-pandas reading of any layout into reporter/partner/year/flow/cmd/value."""
    raw = _read_raw(path)
    if "Reporter Code" in raw.columns:
        flow = raw["Trade Flow Code"].map({"1": "M", "2": "X", "3": "RX"})
        cols = ("Reporter Code", "Partner Code", "Year", "Commodity Code", "Trade Value (US$)")
    else:
        flow = raw["flowCode"]
        cols = ("reporterCode", "partnerCode", "refYear", "cmdCode", "primaryValue")
    return pd.DataFrame(
        {
            "reporter_code": raw[cols[0]].astype(int),
            "partner_code": raw[cols[1]].astype(int),
            "year": raw[cols[2]].astype(int),
            "flow": flow,
            "cmd": raw[cols[3]],
            "value": pd.to_numeric(raw[cols[4]], errors="coerce"),
        }
    )


@pytest.fixture(scope="module")
def records(info: sample.SampleInfo) -> pd.DataFrame:
    return pd.concat([_standard(p) for p in info.comtrade_files], ignore_index=True)


def _clean_bilateral(records: pd.DataFrame) -> pd.DataFrame:
    areas = facts.comtrade_areas()
    areas = areas[~areas.is_nes & ~areas.is_group].drop_duplicates("code")
    iso = areas.set_index("code")["iso3"]
    rec = records[(records.value > 0) & records.partner_code.isin(iso.index)]
    rec = rec.drop_duplicates()
    section = {v: k for k, v in CHAPTER_OF_SECTION.items()} | {"TOTAL": "TOTAL"}
    return rec.assign(
        reporter=rec.reporter_code.map(iso),
        partner=rec.partner_code.map(iso),
        sector=rec.cmd.map(section),
    )


def test_same_seed_is_byte_identical_other_seed_differs(
    info: sample.SampleInfo, tmp_path: Path
) -> None:
    again = sample.generate(tmp_path / "same", seed=2024, years=YEARS)
    other = sample.generate(tmp_path / "other", seed=7, years=YEARS)
    first = _hashes(info.out_dir)
    assert first == _hashes(again.out_dir)
    other_hashes = _hashes(other.out_dir)
    assert set(first) == set(other_hashes)
    assert first["truth_flows.parquet"] != other_hashes["truth_flows.parquet"]
    changed = [k for k in first if k.startswith("comtrade/") and first[k] != other_hashes[k]]
    assert len(changed) == sum(k.startswith("comtrade/") for k in first)


def test_every_layout_has_its_exact_header(info: sample.SampleInfo) -> None:
    expected = {
        "legacy_api": README_LEGACY_API.split(","),
        "legacy_bulk": LEGACY_BULK_22.split(","),
        "plus_api": README_PLUS_API.split(","),
    }
    seen = set()
    for path in info.comtrade_files:
        text = (
            gzip.decompress(path.read_bytes()).decode()
            if path.name.endswith(".gz")
            else path.read_text()
        )
        header = text.split("\n", 1)[0]
        if path.name.endswith(".tsv.gz"):
            layout = "plus_bulk"
            cols = header.split("\t")
            assert "CIFValue" in cols and "FOBValue" in cols and "primaryValue" in cols
            assert cols == HEADERS["plus_bulk"]
        else:
            layout = next(k for k in expected if f"_{k}_" in path.name)
            assert header.split(",") == expected[layout], path.name
        seen.add(layout)
    assert seen == {"legacy_api", "legacy_bulk", "plus_api", "plus_bulk"}
    assert len(expected["legacy_api"]) == 35 and len(expected["plus_api"]) == 47
    assert len(expected["legacy_bulk"]) == 22


def test_everything_is_labelled_synthetic(info: sample.SampleInfo, truth: dict[str, Any]) -> None:
    assert truth["synthetic"] is True
    names = [p.name for p in info.out_dir.rglob("*") if p.is_file()]
    for name in names:
        assert name.startswith("SYNTHETIC") or name in {"truth.json", "truth_flows.parquet"}
    assert "SYNTHETIC" in info.readme.read_text()
    import pyarrow.parquet as pq

    assert pq.read_schema(info.truth_flows).metadata[b"synthetic"] == b"true"
    # The marker by which ingest knows the folder is the sample (its content, not its name).
    assert info.marker == info.out_dir / "SYNTHETIC.json"
    marker = json.loads(info.marker.read_text())
    assert marker["synthetic"] is True and marker["generator"] == "ca_trade.sample.generate"
    assert pd.read_parquet(info.truth_flows).attrs == {"synthetic": True}


def test_reporters_tkm_never_uzb_from_2017(records: pd.DataFrame) -> None:
    assert 795 not in set(records.reporter_code)
    uzb_years = set(records.loc[records.reporter_code == 860, "year"])
    assert uzb_years == {2019}
    # their partners' mirror reports carry them
    assert (records.partner_code == 795).sum() > 0


def test_comtrade_specific_codes(records: pd.DataFrame) -> None:
    codes = set(records.partner_code) | set(records.reporter_code)
    assert {842, 251, 381, 699, 757} <= codes
    assert not ({840, 250, 380, 356, 756} & codes)
    assert {0, 899} <= set(records.partner_code)


def test_files_parse_back_to_the_truth(info: sample.SampleInfo, records: pd.DataFrame) -> None:
    flows = pd.read_parquet(info.truth_flows)
    rec = _clean_bilateral(records)
    exports = rec[rec.flow == "X"].merge(
        flows,
        left_on=["reporter", "partner", "year", "sector"],
        right_on=["exporter", "importer", "year", "sector"],
    )
    assert len(exports) > 1000
    for year, grp in exports.groupby("year"):
        ratio = np.log(grp.value / grp.value_usd)
        # documented exporter noise: log-normal, sd 0.05, mean 1 (rounding adds nothing)
        sec = ratio[grp.sector != "TOTAL"]
        assert abs(sec.mean()) < 0.01, year
        assert 0.04 < sec.std() < 0.06, year
    imports = rec[rec.flow == "M"].merge(
        flows,
        left_on=["partner", "reporter", "year", "sector"],
        right_on=["exporter", "importer", "year", "sector"],
    )
    ratio = imports.value / imports.value_usd
    # CIF = FOB * (1 + margin), margin in [0.02, 0.25], times noise of sd 0.05
    assert 1.02 < ratio.median() < 1.25
    assert ratio.quantile(0.01) > 0.85 and ratio.quantile(0.99) < 1.45


def test_mirror_discrepancies_present(records: pd.DataFrame) -> None:
    rec = _clean_bilateral(records)
    x = rec[rec.flow == "X"].set_index(["reporter", "partner", "year", "cmd"])["value"]
    m = rec[rec.flow == "M"].set_index(["partner", "reporter", "year", "cmd"])["value"]
    m.index.names = x.index.names
    both = pd.concat([x.rename("x"), m.rename("m")], axis=1, join="inner")
    assert len(both) > 500
    assert (both.x != both.m).mean() > 0.99
    assert (both.m / both.x).median() > 1.0  # CIF above FOB


def test_anomaly_counts_match_truth(info: sample.SampleInfo, truth: dict[str, Any]) -> None:
    total = dict.fromkeys(truth["anomaly_counts"], 0)
    for path in info.comtrade_files:
        rel = f"comtrade/{path.name}"
        raw = _read_raw(path)
        std = _standard(path)
        value_col = "Trade Value (US$)" if "Trade Value (US$)" in raw.columns else "primaryValue"
        found = {
            "non_numeric_value": int(pd.to_numeric(raw[value_col], errors="coerce").isna().sum()),
            "negative_value": int((std.value < 0).sum()),
            "unknown_partner_code": int((std.partner_code == UNKNOWN_PARTNER_CODE).sum()),
            "duplicate_record": int(raw.duplicated().sum()),
        }
        assert found == truth["files"][rel]["anomalies"], rel
        assert len(raw) == truth["files"][rel]["records"]
        for key in total:
            total[key] += found[key]
    assert total == truth["anomaly_counts"]
    assert all(v == len(HEADERS) for v in total.values())  # one of each per layout
    assert info.n_anomalies == sum(total.values())


def test_world_nes_and_re_export_rows(info: sample.SampleInfo, truth: dict[str, Any]) -> None:
    counts = {"world_rows": 0, "nes_rows": 0, "re_export_rows": 0}
    for path in info.comtrade_files:
        std = _standard(path)
        entry = truth["files"][f"comtrade/{path.name}"]
        anomalies = entry["anomalies"]
        world = int((std.partner_code == 0).sum())
        nes = int(std.partner_code.isin([899, 490]).sum())
        rx = int((std.flow == "RX").sum())
        extra = anomalies["duplicate_record"] + anomalies["unknown_partner_code"]
        assert entry["world_rows"] <= world <= entry["world_rows"] + extra
        assert entry["nes_rows"] <= nes <= entry["nes_rows"] + extra
        assert entry["re_export_rows"] <= rx <= entry["re_export_rows"] + extra
        counts["world_rows"] += world
        counts["nes_rows"] += nes
        counts["re_export_rows"] += rx
    assert all(v > 0 for v in counts.values())


def test_world_total_exceeds_partner_sum(records: pd.DataFrame) -> None:
    rec = records[(records.cmd == "TOTAL") & records.value.notna() & (records.value > 0)]
    rec = rec.drop_duplicates()
    world = rec[rec.partner_code == 0].set_index(["reporter_code", "year", "flow"])["value"]
    partners = rec[(rec.partner_code != 0) & (rec.partner_code != UNKNOWN_PARTNER_CODE)]
    psum = partners.groupby(["reporter_code", "year", "flow"])["value"].sum()
    both = pd.concat([world.rename("w"), psum.rename("p")], axis=1, join="inner")
    assert (both.w >= 0.98 * both.p).mean() > 0.95


def test_truth_flows_sections_sum_and_zero_share(info: sample.SampleInfo) -> None:
    flows = pd.read_parquet(info.truth_flows)
    n = len(facts.countries())
    assert len(flows) == n * n * len(YEARS) * 22
    wide = flows.pivot_table(
        index=["exporter", "importer", "year"], columns="sector", values="value_usd"
    )
    assert np.allclose(wide[[f"S{k:02d}" for k in range(1, 22)]].sum(axis=1), wide["TOTAL"])
    sec = flows[(flows.sector != "TOTAL") & (flows.exporter != flows.importer)]
    assert 0.15 < (sec.value_usd == 0).mean() < 0.6
    assert (flows.loc[flows.sector == "TOTAL", "value_usd"] > 0).all()


def test_production_gives_domestic_flows(info: sample.SampleInfo) -> None:
    flows = pd.read_parquet(info.truth_flows)
    prod = pd.read_csv(info.production)
    assert list(prod.columns) == ["country", "year", "sector", "production_usd"]
    tot = flows[flows.sector == "TOTAL"]
    exports = tot[tot.exporter != tot.importer].groupby(["exporter", "year"])["value_usd"].sum()
    dom = tot[tot.exporter == tot.importer].set_index(["exporter", "year"])["value_usd"]
    p = prod[prod.sector == "TOTAL"].set_index(["country", "year"])["production_usd"]
    p.index.names = ["exporter", "year"]
    assert np.allclose(p - exports, dom)


def test_tariffs_file(info: sample.SampleInfo) -> None:
    t = pd.read_csv(info.tariffs)
    assert list(t.columns) == [
        "reporter_iso3",
        "partner_iso3",
        "year",
        "tariff_type",
        "product",
        "simple_average_pct",
        "weighted_average_pct",
    ]
    assert set(t.tariff_type) == {"MFN", "PREF", "AHS"}
    assert (t.loc[t.tariff_type == "PREF", "simple_average_pct"] == 0).all()
    mfn = t[(t.tariff_type == "MFN") & (t["product"] == "TOTAL")].set_index(
        ["reporter_iso3", "year"]
    )
    ahs = t[t.tariff_type == "AHS"]
    cov = facts.pair_covariates(sorted(facts.countries().iso3), YEARS)
    ahs = ahs.merge(
        cov,
        left_on=["partner_iso3", "reporter_iso3", "year"],
        right_on=["exporter", "importer", "year"],
    )
    no_pref = ahs[ahs.rta == 0]
    expected = mfn.loc[list(zip(no_pref.reporter_iso3, no_pref.year)), "simple_average_pct"]
    assert np.allclose(no_pref.simple_average_pct.to_numpy(), expected.to_numpy(), atol=1e-3)
    assert (ahs.loc[ahs.rta == 1, "simple_average_pct"] == 0).all()
    # KAZ applies the common external tariff of the EAEU in 2016 and 2019: same as RUS
    assert (
        mfn.loc[("KAZ", 2019), "simple_average_pct"] == mfn.loc[("RUS", 2019), "simple_average_pct"]
    )
    # products are HS chapters (one per section) and TOTAL; chapter rates are the true ones
    chapters = {v: k for k, v in CHAPTER_OF_SECTION.items()}
    assert set(t["product"].astype(str)) == {"TOTAL", *chapters}
    truth = simulate_truth(np.random.default_rng(2024), YEARS).tariffs
    mfn_ch = t[(t.tariff_type == "MFN") & (t["product"] != "TOTAL")]
    m = mfn_ch.assign(sector=mfn_ch["product"].astype(str).map(chapters)).merge(
        truth.drop_duplicates(["importer", "year", "sector"]),
        left_on=["reporter_iso3", "year", "sector"],
        right_on=["importer", "year", "sector"],
    )
    assert len(m) == len(mfn_ch) == 31 * len(YEARS) * 21
    np.testing.assert_allclose(m.simple_average_pct, m.mfn_pct, atol=1e-9)


def test_truth_flows_recover_documented_distance_and_border_effects(
    info: sample.SampleInfo, truth: dict[str, Any]
) -> None:
    # PPML with exporter and importer effects on the written true TOTAL flows of 2019
    # (961 pairs, Gamma(4) noise, a few huge domestic flows carry much weight): ln_dist and
    # intl within sampling noise (tolerances 0.25 and 0.5).
    flows = pd.read_parquet(info.truth_flows)
    tot = flows[(flows.sector == "TOTAL") & (flows.year == 2019)]
    cov = facts.pair_covariates(sorted(facts.countries().iso3), [2019])
    d = tot.merge(cov, on=["exporter", "importer", "year"])
    t = pd.read_csv(info.tariffs).query("tariff_type == 'AHS'")
    t = t.rename(columns={"reporter_iso3": "importer", "partner_iso3": "exporter"})
    d = d.merge(t[["exporter", "importer", "year", "simple_average_pct"]], how="left")
    d["ln_tariff"] = np.log1p(d.simple_average_pct.fillna(0.0) / 100)
    params = ppml_fe(d, "value_usd", ["ln_dist", "contig", "comlang", "intl", "rta", "ln_tariff"])
    beta = truth["model"]["coefficients"]
    assert params["ln_dist"] == pytest.approx(beta["ln_dist"], abs=0.25)
    assert params["intl"] == pytest.approx(beta["intl"], abs=0.5)


def test_bad_years_raise_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="empty"):
        sample.generate(tmp_path, years=[])
    with pytest.raises(ConfigError, match="1992"):
        sample.generate(tmp_path, years=[1985])


@pytest.mark.slow
def test_full_sample_budget(tmp_path: Path) -> None:
    # Budget from issue 2: all files < 60 MB and generate() < 30 s on one core. CPU time of
    # this process (all its threads), not wall-clock time, so a loaded machine does not fail it.
    start = time.process_time()
    info = sample.generate(tmp_path)
    elapsed = time.process_time() - start
    size = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert size < 60e6
    assert elapsed < 30
    assert info.years == tuple(range(2000, 2024))
    assert len(info.countries) >= 30


def test_negative_seed_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"seed must be an integer >= 0, got -1"):
        sample.generate(tmp_path, seed=-1, years=[2019])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("link", ["comtrade", "truth.json"])
def test_links_inside_the_output_folder_that_lead_out_are_refused(
    tmp_path: Path, link: str
) -> None:
    from ca_trade.exceptions import UnsafePathError

    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / link).symlink_to(outside / link)
    with pytest.raises(UnsafePathError, match=rf"{link} is a symbolic link"):
        sample.generate(out, seed=1, years=[2019])
    assert list(outside.iterdir()) == []
