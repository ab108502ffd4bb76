"""build_panel: known zeros only, domestic flows never invented, covariates, tariffs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ca_trade.etl import PANEL_COLUMNS, build_panel
from ca_trade.exceptions import DataValidationError, DataValidationWarning


def _rec(rows: list[tuple[str, str, int, str, float, str]]) -> pd.DataFrame:
    e, i, y, s, v, src = zip(*rows)
    return pd.DataFrame(
        {
            "exporter": e,
            "importer": i,
            "year": y,
            "sector": s,
            "value_usd": v,
            "source": src,
            "value_exporter": v,
            "value_importer_fob": v,
        }
    )


def test_schema_and_identifiers() -> None:
    p = build_panel(_rec([("KAZ", "UZB", 2019, "TOTAL", 5.0, "both")]))
    assert list(p.columns) == PANEL_COLUMNS
    row = p[(p.exporter == "KAZ") & (p.importer == "UZB")].iloc[0]
    assert row["pair"] == "KAZ_UZB" and row["pair_sym"] == "KAZ_UZB"
    assert row["intl"] == 1 and row["contig"] == 1 and not row["domestic"]
    dom = p[p.domestic]
    assert set(dom["pair_sym"]) == {"DOMESTIC"}
    assert (dom["intl"] == 0).all() and (dom["tariff"] == 0).all()
    np.testing.assert_allclose(p["ln_dist"], np.log(p["dist_km"]))


def test_zeros_only_where_a_side_reports() -> None:
    rec = _rec(
        [
            ("KAZ", "KGZ", 2019, "TOTAL", 5.0, "exporter_only"),  # KAZ reports exports
            ("TJK", "KAZ", 2019, "TOTAL", 3.0, "importer_only"),  # KAZ reports imports
        ]
    )
    p = build_panel(rec, countries=["KAZ", "KGZ", "TJK", "TKM"])
    src = {(r.exporter, r.importer): r.source for r in p.itertuples() if not r.domestic}
    assert src[("KAZ", "TJK")] == "zero"  # KAZ reports its exports
    assert src[("KAZ", "TKM")] == "zero"
    assert src[("KGZ", "KAZ")] == "zero"  # KAZ reports its imports
    assert ("TKM", "TJK") not in src  # neither reports: never invented
    assert ("KGZ", "TJK") not in src
    assert p.loc[p.source == "zero", "value_usd"].eq(0).all()


def test_sector_zero_needs_detail_at_that_level() -> None:
    rec = _rec(
        [
            ("KAZ", "CHN", 2019, "TOTAL", 9.0, "both"),
            ("KAZ", "CHN", 2019, "S05", 9.0, "both"),
            ("KAZ", "RUS", 2019, "TOTAL", 4.0, "both"),  # pair known in total only
        ]
    )
    p = build_panel(rec, sector="S11", countries=["KAZ", "CHN", "RUS"])
    src = {(r.exporter, r.importer): r.source for r in p.itertuples() if not r.domestic}
    assert src[("KAZ", "CHN")] == "zero"  # reported at section level, S11 absent
    assert ("KAZ", "RUS") not in src  # only a total: S11 unknown


def test_domestic_flows_from_production_never_invented() -> None:
    rec = _rec(
        [
            ("KAZ", "UZB", 2019, "TOTAL", 30.0, "both"),
            ("UZB", "KAZ", 2019, "TOTAL", 80.0, "both"),
        ]
    )
    prod = pd.DataFrame(
        {"country": ["KAZ", "UZB"], "year": [2019, 2019], "production_usd": [100.0, 50.0]}
    )
    with pytest.warns(DataValidationWarning, match="production below exports"):
        p = build_panel(rec, production=prod)
    dom = p[p.domestic].set_index("exporter")["value_usd"]
    assert dom["KAZ"] == 70.0
    assert np.isnan(dom["UZB"])  # 50 < 80 exports: left missing, not clipped
    no_prod = build_panel(rec)
    assert no_prod.loc[no_prod.domestic, "value_usd"].isna().all()


def test_tariffs_are_aggregated(tmp_path: object) -> None:
    rec = _rec([("CHN", "KAZ", 2019, "TOTAL", 5.0, "both")])
    t = pd.DataFrame(
        {
            "importer": ["KAZ", "KAZ"],
            "exporter": ["CHN", "CHN"],
            "year": [2019, 2019],
            "product": ["01", "02"],
            "tariff": [0.1, 0.3],
            "imports_usd": [3.0, 1.0],
        }
    )
    p = build_panel(rec, tariffs=t)
    row = p[(p.exporter == "CHN") & (p.importer == "KAZ")].iloc[0]
    assert row["tariff"] == pytest.approx(0.2)
    assert row["ln_tariff"] == pytest.approx(np.log(1.2))
    assert row["ln_tariff_w"] == pytest.approx(np.log(1.15))


def test_unknown_entities_are_dropped_with_a_warning_and_bad_input_raises() -> None:
    rec = _rec(
        [("KAZ", "SUN", 1991, "TOTAL", 5.0, "both"), ("KAZ", "UZB", 1991, "TOTAL", 1.0, "both")]
    )
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        p = build_panel(rec)
    assert "SUN" not in set(p.exporter) | set(p.importer)
    assert any(issubclass(x.category, DataValidationWarning) for x in w)
    with pytest.raises(DataValidationError, match="lack columns"):
        build_panel(rec.drop(columns="source"))
    with pytest.raises(DataValidationError, match="no packaged facts"):
        build_panel(rec, countries=["KAZ", "QQQ"])


def test_itpde_file_in_raw_dir_gives_domestic_flows(tmp_path: Path) -> None:
    (tmp_path / "itpde.csv").write_text(
        "exporter_iso3,importer_iso3,year,industry_id,trade\n"
        "KAZ,KAZ,2019,1,2.0\nKAZ,KAZ,2019,2,1.0\nUZB,KAZ,2019,1,0.5\n"
    )
    rec = _rec([("KAZ", "UZB", 2019, "TOTAL", 5.0, "both")])
    p = build_panel(rec, raw_dir=tmp_path)
    dom = p[p.domestic].set_index("exporter")["value_usd"]
    assert dom["KAZ"] == 3e6  # ITPD-E trade is in millions of US dollars
    assert np.isnan(dom["UZB"])


# --- sector panels ---------------------------------------------------------------------------


def _sector_rec() -> pd.DataFrame:
    """KAZ, KGZ and CHN report by section; RUS trades with CHN in total only."""
    return _rec(
        [
            ("KAZ", "CHN", 2019, "TOTAL", 9.0, "both"),
            ("KAZ", "CHN", 2019, "S05", 8.0, "both"),
            ("KAZ", "CHN", 2019, "S15", 1.0, "both"),
            ("CHN", "KAZ", 2019, "TOTAL", 6.0, "both"),
            ("CHN", "KAZ", 2019, "S16", 6.0, "both"),
            ("KGZ", "KAZ", 2019, "TOTAL", 2.0, "exporter_only"),
            ("KGZ", "KAZ", 2019, "S05", 2.0, "exporter_only"),
            ("RUS", "CHN", 2019, "TOTAL", 5.0, "both"),
        ]
    )


def test_itpde_domestic_flows_serve_the_total_only(tmp_path: Path) -> None:
    # Defect: ITPD-E domestic flows (summed over industries: a TOTAL) filled the domestic rows
    # of a sector panel. They are the TOTAL's; a section has none without section production.
    (tmp_path / "itpde.csv").write_text(
        "exporter_iso3,importer_iso3,year,industry_id,trade\nKAZ,KAZ,2019,1,2.0\n"
    )
    p = build_panel(_sector_rec(), raw_dir=tmp_path, sector="S05")
    assert np.isnan(p.loc[p.domestic & (p.exporter == "KAZ"), "value_usd"].item())


def test_a_sector_panel_gets_its_sectors_tariffs_not_the_totals() -> None:
    # Defect: build_panel(sector="S05") merged the pair's tariff over every product.
    t = pd.DataFrame(
        {
            "importer": "KAZ",
            "exporter": "CHN",
            "year": 2019,
            "product": ["2709", "2710", "8401"],
            "tariff": [0.02, 0.04, 0.30],
        }
    )
    p = build_panel(_sector_rec(), sector="S05", tariffs=t)
    row = p[(p.exporter == "CHN") & (p.importer == "KAZ")].iloc[0]
    assert row["tariff"] == pytest.approx(0.03)  # chapter 27 only: section S05


def test_sector_domestic_flows_need_complete_exports_by_sector() -> None:
    # Defect: a sector's domestic flow subtracted only the exports known by sector; an
    # exporter with a partner known in TOTAL only (RUS -> CHN) had its domestic flow
    # overstated. It is left missing, with a warning.
    prod = pd.DataFrame(
        {"country": ["KAZ", "RUS"], "year": 2019, "sector": "S05", "production_usd": [50.0, 70.0]}
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = build_panel(_sector_rec(), sector="S05", production=prod)
    said = " ".join(str(w.message) for w in caught)
    assert "1 country-years trade with partners known in TOTAL only (first: RUS 2019)" in said
    assert "2 country-year-sectors have no production data (first: CHN 2019 sector S05)" in said
    dom = p[p.domestic].set_index("exporter")["value_usd"]
    assert dom["KAZ"] == 42.0  # 50 - 8 to CHN
    assert np.isnan(dom["RUS"]) and np.isnan(dom["CHN"]) and np.isnan(dom["KGZ"])


def test_domestic_warnings_speak_of_the_panels_years_only() -> None:
    # Defect: production rows of years outside `years=` were checked too, so the warnings
    # counted (and named first) country-years that are not in the panel.
    rec = pd.concat([_sector_rec(), _sector_rec().assign(year=2017)], ignore_index=True)
    prod = pd.DataFrame(
        {
            "country": ["KAZ", "RUS", "KAZ", "RUS"],
            "year": [2017, 2017, 2019, 2019],
            "sector": "S05",
            "production_usd": [1.0, 70.0, 50.0, 70.0],
        }
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = build_panel(rec, sector="S05", production=prod, years=[2019])
    said = " ".join(str(w.message) for w in caught)
    assert "2017" not in said and "production below exports" not in said
    assert "1 country-years trade with partners known in TOTAL only (first: RUS 2019)" in said
    assert set(p["year"]) == {2019}


def test_level_gives_every_sector_with_zeros_only_where_known() -> None:
    rec = _sector_rec()
    p = build_panel(rec, level="section", countries=["CHN", "KAZ", "KGZ", "RUS"])
    assert list(p.columns) == PANEL_COLUMNS
    assert list(p["sector"].unique()) == ["S05", "S15", "S16"]  # those in the data, sorted
    assert p.equals(p.sort_values(["sector", "exporter", "importer", "year"]))
    for s, part in p.groupby("sector"):
        one = build_panel(rec, sector=str(s), countries=["CHN", "KAZ", "KGZ", "RUS"])
        pd.testing.assert_frame_equal(part.reset_index(drop=True), one)
    s16 = p[(p.sector == "S16") & ~p.domestic].set_index(["exporter", "importer"])
    assert s16.loc[("CHN", "KAZ"), "value_usd"] == 6.0
    assert s16.loc[("KAZ", "CHN"), "source"] == "zero"  # the pair is known by section
    assert s16.loc[("KGZ", "KAZ"), "source"] == "zero"  # KGZ reports its exports by section
    assert ("RUS", "CHN") not in s16.index  # known in TOTAL only: never a zero
    assert (p.groupby("sector")["domestic"].sum() == 4).all()


def test_level_and_sector_arguments_are_checked() -> None:
    from ca_trade.exceptions import SpecificationError

    with pytest.raises(SpecificationError, match="either sector='S05'"):
        build_panel(_sector_rec(), sector="S05", level="section")
    with pytest.raises(SpecificationError, match="level 'hs6' is not one of"):
        build_panel(_sector_rec(), level="hs6")  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="no chapter-level rows"):
        build_panel(_sector_rec(), level="chapter")
    with pytest.warns(DataValidationWarning, match="no TOTAL rows"):
        build_panel(_sector_rec().query("sector != 'TOTAL'"), level="section")


def test_sector_tariffs_from_mfn_and_preferential_rows() -> None:
    # WITS schedules: KAZ's MFN rates by chapter (partner WLD) and a preference for KGZ
    sched = pd.DataFrame(
        {
            "importer": "KAZ",
            "exporter": ["WLD", "WLD", "WLD", "KGZ", "KGZ"],
            "year": 2019,
            "product": ["2709", "2710", "7601", "2709", "2710"],
            "tariff_type": ["MFN", "MFN", "MFN", "PREF", "PREF"],
            "tariff": [0.02, 0.06, 0.10, 0.0, 0.08],
        }
    )
    p = build_panel(_sector_rec(), level="section", tariffs=sched)
    t = p.set_index(["sector", "exporter", "importer"])["tariff"]
    assert t[("S05", "CHN", "KAZ")] == pytest.approx(0.04)  # mean of the two chapter-27 lines
    # preferential where lower than MFN: 2709 at 0, 2710 at MFN 0.06 (the PREF row is higher)
    assert t[("S05", "KGZ", "KAZ")] == pytest.approx(0.03)
    assert t[("S15", "CHN", "KAZ")] == pytest.approx(0.10)
    assert np.isnan(t[("S16", "CHN", "KAZ")])  # no S16 products in the file
    assert (p.loc[p.domestic, "tariff"] == 0).all()


def test_polars_frames_and_parquet_files_give_the_same_panel(tmp_path: Path) -> None:
    import polars as pl

    from ca_trade._io import write_parquet

    rec = _sector_rec()
    expected = build_panel(rec, level="section")
    pd.testing.assert_frame_equal(build_panel(pl.from_pandas(rec), level="section"), expected)
    write_parquet(tmp_path / "rec.parquet", rec)
    pd.testing.assert_frame_equal(build_panel(tmp_path / "rec.parquet", level="section"), expected)
    for k, part in enumerate((rec.iloc[:4], rec.iloc[4:])):
        write_parquet(tmp_path / "parts" / f"p{k}.parquet", part)
    pd.testing.assert_frame_equal(build_panel(tmp_path / "parts", level="section"), expected)
    with pytest.raises(DataValidationError, match="lack columns"):
        build_panel(pl.from_pandas(rec.drop(columns="source")))
