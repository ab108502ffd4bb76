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
