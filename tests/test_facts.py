"""Tests of the packaged facts (ca_trade.facts)."""

from __future__ import annotations

import itertools
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ca_trade import facts
from ca_trade.etl import ingest
from ca_trade.etl.countries import code_table, map_codes
from ca_trade.exceptions import DataValidationError, DataValidationWarning
from tests.conftest import require_reference

CA5 = ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
PARTNERS = (
    "RUS CHN TUR IRN AFG PAK IND KOR JPN DEU ITA FRA NLD POL UKR BLR AZE GEO ARM MNG ARE USA "
    "LTU LVA GBR CHE"
).split()


def test_every_file_cites_a_source_on_every_row() -> None:
    for frame in (
        facts.comtrade_areas(),
        facts.countries(),
        facts.contiguity(),
        facts.agreements(),
        facts.wto(),
    ):
        assert frame["source"].str.len().min() > 10


def test_countries_cover_the_sample() -> None:
    c = facts.countries()
    assert set(CA5 + PARTNERS) <= set(c["iso3"])
    assert c["iso3"].is_unique and c["iso3"].is_monotonic_increasing
    assert c["lat"].between(-90, 90).all() and c["lon"].between(-180, 180).all()
    assert (c["area_km2"] > 0).all()
    assert c.set_index("iso3").loc[CA5, "landlocked"].all()
    assert c.set_index("iso3").loc[CA5, "former_ussr"].all()
    assert not c.set_index("iso3").loc["CHN", "former_ussr"]
    for langs in c["languages"]:
        assert all(len(code) == 2 and code.islower() for code in langs.split(";"))


def test_comtrade_specific_and_special_codes() -> None:
    a = facts.comtrade_areas().set_index("code")
    for code, iso3 in [
        (842, "USA"),
        (251, "FRA"),
        (381, "ITA"),
        (579, "NOR"),
        (699, "IND"),
        (757, "CHE"),
        (810, "SUN"),
        (890, "YUG"),
        (200, "CSK"),
        (0, "WLD"),
        (899, "XNS"),
        (490, "XOA"),
        (492, "XEU"),
        (398, "KAZ"),
        (417, "KGZ"),
        (762, "TJK"),
        (795, "TKM"),
        (860, "UZB"),
    ]:
        assert a.loc[code, "iso3"] == iso3
    assert a.loc[0, "is_group"] and not a.loc[0, "is_nes"]
    assert a.loc[[899, 490, 492], "is_nes"].all()
    assert a.loc[810, "valid_to"] == 1991 and a.loc[398, "valid_from"] == 1992


def test_codes_table_integrity() -> None:
    a = facts.comtrade_areas()
    assert a["code"].is_unique  # one row per code, so one ISO3 per code in any window
    known = set(facts.countries()["iso3"])
    nes = a[a["is_nes"]]
    assert nes["iso3"].str.match(r"^X[A-Z]{2}$").all()
    assert not (set(nes["iso3"]) & known)
    assert "MCO" not in set(a["iso3"])
    # no two codes claim the same ISO3 in overlapping windows
    lo = a["valid_from"].fillna(0).astype(int)
    hi = a["valid_to"].fillna(9999).astype(int)
    for iso3, grp in a.assign(lo=lo, hi=hi).groupby("iso3"):
        spans = sorted(zip(grp["lo"], grp["hi"]))
        for (_, h1), (l2, _) in itertools.pairwise(spans):
            assert h1 < l2, f"{iso3} has overlapping codes"
    # every sample country has a code valid for 2000-2023
    live = a[(lo <= 2000) & (hi >= 2023)]
    assert set(CA5 + PARTNERS) <= set(live["iso3"])


def test_contiguity_pairs_are_ordered_and_known() -> None:
    c = facts.contiguity()
    known = set(facts.countries()["iso3"])
    assert (c["iso3_a"] < c["iso3_b"]).all()
    assert not c.duplicated(["iso3_a", "iso3_b"]).any()
    assert set(c["iso3_a"]) | set(c["iso3_b"]) <= known
    pairs = set(zip(c["iso3_a"], c["iso3_b"]))
    for pair in [
        ("CHN", "KAZ"),
        ("KAZ", "RUS"),
        ("KAZ", "KGZ"),
        ("KAZ", "UZB"),
        ("KAZ", "TKM"),
        ("CHN", "KGZ"),
        ("KGZ", "TJK"),
        ("KGZ", "UZB"),
        ("AFG", "TJK"),
        ("CHN", "TJK"),
        ("TJK", "UZB"),
        ("AFG", "TKM"),
        ("IRN", "TKM"),
        ("TKM", "UZB"),
        ("AFG", "UZB"),
    ]:
        assert pair in pairs


def test_agreement_dates() -> None:
    a = facts.agreements()
    assert set(a["type"]) <= set(facts.AGREEMENT_TYPES)
    assert ((a["exit"].isna()) | (a["exit"] >= a["entry"])).all()

    def entry(agreement: str, iso3: str) -> str:
        row = a[(a.agreement == agreement) & (a.iso3 == iso3)]
        return str(row["entry"].min().date())

    assert entry("EAEU", "KAZ") == "2015-01-01"
    assert entry("EAEU", "ARM") == "2015-01-02"
    assert entry("EAEU", "KGZ") == "2015-08-12"
    assert entry("CU_BLR_KAZ_RUS", "RUS") == "2010-01-01"
    assert entry("EAEU_VNM", "VNM") == "2016-10-05"
    assert "TKM" not in set(a.loc[a.agreement == "EAEU", "iso3"])


def test_cis_fta_parties_and_dates() -> None:
    a = facts.agreements()

    def members(agreement: str) -> set[str]:
        return set(a.loc[a.agreement == agreement, "iso3"])

    # 1994 agreement: ratified by ten, provisionally applied by Russia (CIS Executive Committee
    # via Wikipedia; docs.cntd.ru); Turkmenistan left out because sources disagree.
    assert members("CIS_FTA_1994") == {
        "ARM",
        "AZE",
        "BLR",
        "GEO",
        "KAZ",
        "KGZ",
        "MDA",
        "RUS",
        "TJK",
        "UKR",
        "UZB",
    }
    # 2011 treaty: the eight signatories plus Uzbekistan by the 2013 protocol; never TKM/AZE.
    assert members("CIS_FTA") == {"ARM", "BLR", "KAZ", "KGZ", "MDA", "RUS", "TJK", "UKR", "UZB"}
    first = a[a.agreement == "CIS_FTA"].set_index("iso3")["entry"].dt.strftime("%Y-%m-%d")
    # confirmed dates: 20 Sep 2012 for RUS/BLR/UKR (TASS), 17 Oct 2012 for ARM (topgorod.com)
    assert {first[c] for c in ("RUS", "BLR", "UKR")} == {"2012-09-20"}
    assert first["ARM"] == "2012-10-17"
    # dates whose day could not be confirmed say so in their source text
    src = a[a.agreement == "CIS_FTA"].set_index("iso3")["source"]
    for iso3 in ("KAZ", "MDA", "KGZ", "TJK", "UZB"):
        assert "unverified" in src[iso3], iso3
    # the unverified days cannot move membership across a year under the mid-year rule
    cov = facts.pair_covariates(["RUS", "KAZ", "KGZ", "TJK", "UZB"], [2013, 2014, 2015, 2016])
    idx = cov.set_index(["exporter", "importer", "year"])
    assert idx.loc[("KAZ", "RUS", 2013), "cis_fta"] == 1
    assert idx.loc[("KGZ", "RUS", 2014), "cis_fta"] == 1
    assert idx.loc[("UZB", "RUS", 2014), "cis_fta"] == 1


def test_every_packaged_date_cites_a_source_or_says_unverified() -> None:
    for frame in (facts.agreements(), facts.wto(), facts.suspensions()):
        assert (frame["source"].str.len() > 20).all()


def test_russia_ukraine_suspension_is_bilateral() -> None:
    s = facts.suspensions()
    assert set(s["agreement"]) <= set(facts.agreements()["agreement"])
    assert (s["iso3_a"] < s["iso3_b"]).all()
    cov = facts.pair_covariates(["KAZ", "RUS", "UKR"], [2015, 2016, 2020])
    idx = cov.set_index(["exporter", "importer", "year"])
    # Russia suspended the CIS FTA for Ukraine from 1 January 2016 (mid-year rule: 2016 on)
    assert idx.loc[("RUS", "UKR", 2015), "cis_fta"] == 1
    for year in (2016, 2020):
        for pair in (("RUS", "UKR"), ("UKR", "RUS")):
            assert idx.loc[(*pair, year), ["cis_fta", "fta", "rta"]].tolist() == [0, 0, 0]
    # ... for that pair only: Ukraine keeps the treaty with Kazakhstan, Russia with Kazakhstan
    assert idx.loc[("KAZ", "UKR", 2016), "cis_fta"] == 1
    assert idx.loc[("KAZ", "RUS", 2016), "cis_fta"] == 1


def test_russia_1994_provisional_application_codes_1990s_ftas() -> None:
    cov = facts.pair_covariates(["GEO", "RUS", "UZB"], [2000, 2010])
    idx = cov.set_index(["exporter", "importer", "year"])
    assert idx.loc[("RUS", "GEO", 2000), "fta"] == 1
    assert idx.loc[("RUS", "UZB", 2010), "cis_fta"] == 1


def test_1994_parties_are_covered_in_every_year_so_bilateral_ftas_add_nothing() -> None:
    # facts.py documents that 1990s bilateral FTAs among 1994-agreement parties are omitted
    # because the multilateral agreement already codes every such pair; check that claim.
    a = facts.agreements()
    known = set(facts.countries()["iso3"])
    parties = sorted(set(a.loc[a.agreement == "CIS_FTA_1994", "iso3"]) & known)
    assert {"KAZ", "KGZ", "TJK", "UZB", "UKR", "RUS"} <= set(parties)
    cov = facts.pair_covariates(parties, range(1995, 2024))
    intl = cov[cov.exporter != cov.importer]
    suspended = intl.exporter.isin(["RUS", "UKR"]) & intl.importer.isin(["RUS", "UKR"])
    live = intl[~suspended | (intl.year < 2016)]
    assert (live["cis_fta"] == 1).all() and (live["rta"] == 1).all()


def test_bad_suspension_files_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    real_read = facts._read

    def fake(rows: list[dict[str, str]]) -> Callable[[str], pd.DataFrame]:
        def read(name: str) -> pd.DataFrame:
            if name == "agreement_suspensions.csv":
                return pd.DataFrame(rows, dtype=str)
            return real_read(name)

        return read

    base = {"agreement": "CIS_FTA", "iso3_a": "RUS", "iso3_b": "UKR", "start": "2016-01-01"}
    cases = [
        ({**base, "agreement": "NOPE", "end": "", "source": "x"}, "unknown agreement 'NOPE'"),
        ({**base, "iso3_a": "UKR", "iso3_b": "RUS", "end": "", "source": "x"}, "iso3_a < iso3_b"),
        ({**base, "end": "2015-01-01", "source": "x"}, "ends before it starts"),
    ]
    try:
        for row, message in cases:
            facts._suspensions.cache_clear()
            monkeypatch.setattr(facts, "_read", fake([row]))
            with pytest.raises(DataValidationError, match=message):
                facts.suspensions()
    finally:
        monkeypatch.undo()
        facts._suspensions.cache_clear()
    assert len(facts.suspensions()) >= 1


def test_wto_dates() -> None:
    w = facts.wto().set_index("iso3")["accession"]
    expected = {
        "KGZ": "1998-12-20",
        "TJK": "2013-03-02",
        "KAZ": "2015-11-30",
        "RUS": "2012-08-22",
        "CHN": "2001-12-11",
        "UKR": "2008-05-16",
        "GEO": "2000-06-14",
        "ARM": "2003-02-05",
        "MNG": "1997-01-29",
        "LTU": "2001-05-31",
        "LVA": "1999-02-10",
        "AFG": "2016-07-29",
    }
    for iso3, date in expected.items():
        assert str(w[iso3].date()) == date
    for iso3 in ["UZB", "TKM", "AZE", "BLR", "IRN"]:
        assert pd.isna(w[iso3])


def test_loaders_return_copies() -> None:
    c = facts.countries()
    c.loc[0, "capital"] = "changed"
    assert facts.countries().loc[0, "capital"] != "changed"


def test_in_force_mid_year_rule() -> None:
    entry = pd.Series(pd.to_datetime(["2015-07-01", "2015-07-02", "2010-01-01"]))
    exit_ = pd.Series(pd.to_datetime([None, None, "2015-06-30"]))
    assert facts.in_force(entry, exit_, 2015).tolist() == [True, False, False]
    assert facts.in_force(entry, exit_, 2014).tolist() == [False, False, True]


def test_pair_covariates_shape_and_values() -> None:
    codes = [*CA5, "RUS", "CHN", "ARM", "BLR"]
    years = range(2009, 2018)
    cov = facts.pair_covariates(codes, years)
    assert len(cov) == len(codes) ** 2 * len(years)
    assert list(cov.columns) == ["exporter", "importer", "year", *facts.PAIR_COVARIATES]
    assert not cov.duplicated(["exporter", "importer", "year"]).any()
    assert cov.equals(cov.sort_values(["exporter", "importer", "year"], ignore_index=True))
    idx = cov.set_index(["exporter", "importer", "year"])
    # EAEU and its predecessors, mid-year rule
    assert idx.loc[("KAZ", "RUS", 2015), "eaeu"] == 1
    assert idx.loc[("KAZ", "KGZ", 2015), "eaeu"] == 0
    assert idx.loc[("KAZ", "KGZ", 2016), "eaeu"] == 1
    assert idx.loc[("KAZ", "RUS", 2010), "cu"] == 1
    assert idx.loc[("KAZ", "RUS", 2009), "cu"] == 1  # EurAsEC
    assert idx.loc[("KAZ", "TKM", 2016), "rta"] == 0
    # fta and cu exclusive, rta their union
    assert ((cov["fta"] + cov["cu"]) <= 1).all()
    assert (cov["rta"] == cov["fta"] | cov["cu"]).all()
    # WTO: KAZ from 2016 under the mid-year rule, UZB never
    assert idx.loc[("KAZ", "KGZ", 2015), "wto_exp"] == 0
    assert idx.loc[("KAZ", "KGZ", 2016), "wto_both"] == 1
    assert (cov.loc[cov.exporter == "UZB", "wto_exp"] == 0).all()
    # domestic pairs
    dom = cov[cov.exporter == cov.importer]
    assert (dom[["intl", "contig", "comlang", "rta", "former_ussr", "wto_both"]] == 0).all().all()
    kaz = dom[dom.exporter == "KAZ"]["dist_km"].iloc[0]
    assert kaz == pytest.approx(0.67 * np.sqrt(2724900 / np.pi))
    assert idx.loc[("KAZ", "RUS", 2010), "comlang"] == 1
    assert idx.loc[("UZB", "CHN", 2010), "comlang"] == 0
    assert np.allclose(cov["ln_dist"], np.log(cov["dist_km"]))


def test_pair_covariates_rejects_unknown_codes() -> None:
    with pytest.raises(DataValidationError, match="XXX"):
        facts.pair_covariates(["KAZ", "XXX"], [2010])
    with pytest.raises(DataValidationError, match="empty"):
        facts.pair_covariates([], [2010])


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.sampled_from(CA5 + PARTNERS), min_size=2, max_size=6, unique=True),
    st.integers(1995, 2025),
)
def test_pair_covariates_symmetry(codes: list[str], year: int) -> None:
    cov = facts.pair_covariates(codes, [year])
    swapped = cov.rename(
        columns={
            "exporter": "importer",
            "importer": "exporter",
            "landlocked_exp": "landlocked_imp",
            "landlocked_imp": "landlocked_exp",
            "wto_exp": "wto_imp",
            "wto_imp": "wto_exp",
        }
    )
    merged = cov.merge(swapped, on=["exporter", "importer", "year"], suffixes=("", "_s"))
    for col in facts.PAIR_COVARIATES:
        assert np.allclose(merged[col], merged[f"{col}_s"]), col


def test_haversine_known_distance() -> None:
    # Paris–London great-circle distance ≈ 344 km (R = 6371 km)
    assert float(facts.haversine_km(48.8566, 2.3522, 51.5074, -0.1278)) == pytest.approx(
        343.6, abs=1.0
    )


# --- the full Comtrade area table (issue 3 item 3, issue 2 item 5) ------------------------

# A spread of ISO 3166-1 countries on every continent, each with the Comtrade code that equals
# its ISO 3166-1 numeric code (UN M49).
ISO_EQUALS_COMTRADE = {
    36: "AUS", 76: "BRA", 124: "CAN", 152: "CHL", 208: "DNK", 344: "HKG", 360: "IDN",
    376: "ISR", 404: "KEN", 484: "MEX", 554: "NZL", 566: "NGA", 608: "PHL", 642: "ROU",
    682: "SAU", 702: "SGP", 716: "ZWE", 724: "ESP", 752: "SWE", 818: "EGY", 858: "URY",
    894: "ZMB", 10: "ATA", 275: "PSE", 446: "MAC", 533: "ABW", 626: "TLS",
}  # fmt: skip


def _mapping(year: int) -> dict[int, str]:
    """Code -> ISO3 of the rows valid in ``year``."""
    a = facts.comtrade_areas()
    live = (a["valid_from"].fillna(0) <= year) & (a["valid_to"].fillna(9999) >= year)
    return dict(zip(a.loc[live, "code"], a.loc[live, "iso3"]))


def test_table_covers_every_iso_country() -> None:
    a = facts.comtrade_areas()
    now = _mapping(2023)
    countries_now = a[a["code"].isin(now) & ~a["is_nes"] & ~a["is_group"]]
    # ISO 3166-1 lists 249 countries; Comtrade codes all of them but Monaco (inside France),
    # plus its own 80 'Br. Antarctic Terr.' (ISO 3166-3 ATB)
    assert countries_now["iso3"].nunique() == 248 + 1
    assert "ATB" in set(countries_now["iso3"]) and "MCO" not in set(countries_now["iso3"])
    assert countries_now["iso3"].str.fullmatch(r"[A-Z]{3}").all()
    for code, iso3 in ISO_EQUALS_COMTRADE.items():
        assert now[code] == iso3, code
    assert len(a) >= 280
    assert a["code"].is_monotonic_increasing


def test_australia_maps_to_aus() -> None:
    for year in (1962, 2016, 2023):
        assert _mapping(year)[36] == "AUS"


@settings(max_examples=40, deadline=None)
@given(st.integers(1900, 2100))
def test_492_is_never_monaco_and_490_never_taiwan(year: int) -> None:
    m = _mapping(year)
    assert m[492] == "XEU" and m[490] == "XOA"
    assert "MCO" not in m.values()
    assert [c for c, iso3 in m.items() if iso3 == "TWN"] in ([], [158])


def test_no_code_or_iso3_is_claimed_twice_in_any_year() -> None:
    frame = code_table().frame
    assert frame.group_by("code", "year").len()["len"].max() == 1
    per_iso = frame.group_by("iso3", "year").len()
    clash = per_iso.filter(pl.col("len") > 1)
    assert clash.height == 0, clash.head()
    # an ISO3 keeps the same nes/group flags under all its codes (the ETL looks flags up by ISO3)
    flags = frame.select("iso3", "is_nes", "is_group").unique()
    assert flags["iso3"].n_unique() == flags.height


def test_comtrade_deviations_and_historical_windows() -> None:
    a = facts.comtrade_areas().set_index("code")
    # Comtrade's own codes replace the ISO numerics: 250, 380, 578, 356, 756, 840 are unused
    assert not ({250, 380, 578, 356, 756, 840} & set(a.index))
    cases = {
        # code: (iso3, valid_from, valid_to)
        58: ("BLX", None, 1998),
        56: ("BEL", 1999, None),
        442: ("LUX", 1999, None),
        280: ("DEU", None, 1990),
        278: ("DDR", None, 1990),
        276: ("DEU", 1991, None),
        736: ("SDN", None, 2011),
        729: ("SDN", 2012, None),
        728: ("SSD", 2012, None),
        530: ("ANT", 1986, 2010),
        531: ("CUW", 2011, None),
        532: ("ANT", None, 1985),
        533: ("ABW", 1986, None),
        590: ("PAN", None, 1979),
        592: ("PCZ", None, 1979),
        591: ("PAN", 1980, None),
        866: ("VDR", None, 1975),
        720: ("YMD", None, 1990),
        886: ("YEM", None, 1990),
        887: ("YEM", 1991, None),
        230: ("ETH", None, 1992),
        231: ("ETH", 1993, None),
        232: ("ERI", 1993, None),
        711: ("XSU", None, 1999),
        710: ("ZAF", 2000, None),
        891: ("SCG", 1992, 2005),
        688: ("SRB", 2006, None),
        499: ("MNE", 2006, None),
    }
    for code, (iso3, lo, hi) in cases.items():
        row = a.loc[code]
        got_lo = None if pd.isna(row["valid_from"]) else int(row["valid_from"])
        got_hi = None if pd.isna(row["valid_to"]) else int(row["valid_to"])
        assert (row["iso3"], got_lo, got_hi) == (iso3, lo, hi), code
    assert a.loc[711, "is_group"] and a.loc[97, "is_group"]
    for code in (471, 472, 473, 527, 536, 568, 577, 636, 637, 837, 838, 839, 879, 492, 899):
        assert a.loc[code, "is_nes"] and a.loc[code, "iso3"].startswith("X"), code
    # every row says where it comes from
    src = a["source"]
    assert src.str.contains("M49|Comtrade").all()
    assert src[~a["is_nes"] & ~a["is_group"]].str.contains("ISO 3166|Comtrade").all()


def _legacy_sample() -> pd.DataFrame:
    path = require_reference("comtrade_samples", "legacy_api_hs01_2016.csv")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.reference
def test_every_area_of_the_real_legacy_sample_maps_to_its_published_iso3() -> None:
    # legacy UN Comtrade API file (127 rows, 55 reporters, HS 01, 2016); its 'Reporter ISO'
    # and 'Partner ISO' columns are Comtrade's own: exact agreement expected.
    raw = _legacy_sample()
    table = code_table()
    years = [int(y) for y in raw["Year"]]
    for code_col, iso_col in (("Reporter Code", "Reporter ISO"), ("Partner Code", "Partner ISO")):
        got = map_codes(table, [int(c) for c in raw[code_col]], years)
        assert [g and g[0] for g in got] == raw[iso_col].tolist(), code_col


@pytest.mark.reference
def test_legacy_sample_quarantines_no_unknown_reporter(tmp_path: Path) -> None:
    # With the 70-code table 74 of its 127 rows were quarantined as unknown reporters.
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(require_reference("comtrade_samples", "legacy_api_hs01_2016.csv"), raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataValidationWarning)
        rep = ingest(raw, tmp_path / "out")
    (file,) = rep.files
    assert (file.rows_read, file.rows_quarantined) == (127, 0)
    assert file.rows_filtered == {"partner_world": 127}
