"""Customs unions by sector: common external tariff rules and revenue pooling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ca_trade.ge as ge
from ca_trade.exceptions import SpecificationError
from ca_trade.ge.customs_union import common_external_tariff, revenue_pool
from tests.ge.sectoral._problems import random_problem


def _tariffs() -> pd.DataFrame:
    """Two members (KAZ, KGZ), outsiders CHN and RUS, two sectors."""
    rows = []
    for sector, scale in (("S01", 1.0), ("S02", 2.0)):
        rows += [
            ("CHN", "KAZ", sector, 0.08 * scale, 300.0),
            ("CHN", "KGZ", sector, 0.04 * scale, 100.0),
            ("RUS", "KAZ", sector, 0.00, 50.0),
            ("RUS", "KGZ", sector, 0.02 * scale, 0.0),
            ("KAZ", "KGZ", sector, 0.05, 10.0),
            ("KGZ", "KAZ", sector, 0.03, 10.0),
            ("KAZ", "CHN", sector, 0.10, 10.0),
        ]
    return pd.DataFrame(rows, columns=["exporter", "importer", "sector", "tariff", "value_usd"])


def _new(s: ge.Scenario, exp: str, imp: str, sector: str) -> float:
    t = s.tariffs
    assert t is not None
    row = t[(t.exporter == exp) & (t.importer == imp) & (t.sector == sector)]
    return float(row["counterfactual"].iloc[0])


@pytest.mark.parametrize(
    ("cet", "chn_s1", "chn_s2"),
    [
        ("simple", 0.06, 0.12),
        ("weighted", (0.08 * 300 + 0.04 * 100) / 400, (0.16 * 300 + 0.08 * 100) / 400),
        ("max", 0.08, 0.16),
        (("adopt", "KGZ"), 0.04, 0.08),
        (pd.DataFrame({"sector": ["S01", "S02"], "tariff": [0.07, 0.01]}), 0.07, 0.01),
    ],
)
def test_common_external_tariff_by_sector(cet: object, chn_s1: float, chn_s2: float) -> None:
    s = ge.tariff_harmonization(_tariffs(), ["KAZ", "KGZ"], cet=cet)  # type: ignore[arg-type]
    for member in ("KAZ", "KGZ"):
        assert _new(s, "CHN", member, "S01") == pytest.approx(chn_s1)
        assert _new(s, "CHN", member, "S02") == pytest.approx(chn_s2)
    assert _new(s, "KAZ", "KGZ", "S02") == 0.0 and _new(s, "KGZ", "KAZ", "S01") == 0.0
    assert _new(s, "KAZ", "CHN", "S01") == 0.10  # outsiders' tariffs are untouched
    assert s.changes.empty and s.coefficients == {}  # trade effects come from theta_s
    assert "by sector" in s.description


def test_weighted_mean_falls_back_to_simple_without_weights() -> None:
    t = _tariffs()
    t.loc[t.exporter == "RUS", "value_usd"] = 0.0
    s = ge.tariff_harmonization(t, ["KAZ", "KGZ"], cet="weighted")
    assert _new(s, "RUS", "KAZ", "S01") == pytest.approx(0.01)


def test_schedule_by_exporter_and_sector() -> None:
    sched = pd.DataFrame(
        {"exporter": ["CHN", "RUS"], "sector": ["S01", "S01"], "tariff": [0.09, 0.0]}
    )
    s = ge.tariff_harmonization(_tariffs(), ["KAZ", "KGZ"], cet=sched)
    assert _new(s, "CHN", "KGZ", "S01") == 0.09 and _new(s, "RUS", "KGZ", "S01") == 0.0
    assert _new(s, "CHN", "KGZ", "S02") == 0.08  # not in the schedule: kept
    with pytest.raises(SpecificationError, match="tariff"):
        ge.tariff_harmonization(_tariffs(), ["KAZ", "KGZ"], cet=sched.assign(tariff=12.0))
    with pytest.raises(SpecificationError, match="sector"):
        common_external_tariff(
            pd.DataFrame({"exporter": ["CHN"], "importer": ["KAZ"], "baseline": [0.1]}),
            ["KAZ", "KGZ"],
            pd.DataFrame({"sector": ["S01"], "tariff": [0.1]}),
            keys=["exporter", "importer"],
            weight="w",
        )


def test_rules_and_shares_are_validated() -> None:
    t = _tariffs()
    with pytest.raises(SpecificationError, match=r"\('adopt', 'KAZ'\)"):
        ge.tariff_harmonization(t, ["KAZ", "KGZ"], cet="KAZ")
    with pytest.raises(SpecificationError, match="adopt"):
        ge.tariff_harmonization(t, ["KAZ", "KGZ"], cet=("adopt", "CHN"))
    with pytest.raises(SpecificationError, match="hold 2 sectors"):
        ge.tariff_harmonization(t, ["KAZ", "KGZ"], -5.0)
    with pytest.raises(SpecificationError, match="coefficient"):
        ge.tariff_harmonization(
            t.drop(columns="sector").drop_duplicates(["exporter", "importer"]), ["KAZ", "KGZ"]
        )
    with pytest.raises(SpecificationError, match="multi-sector"):
        ge.tariff_harmonization(
            t[t.sector == "S01"].drop(columns="sector"),
            ["KAZ", "KGZ"],
            -5.0,
            revenue_shares={"KAZ": 0.5, "KGZ": 0.5},
        )
    bad = t.copy()
    bad.loc[0, "tariff"] = 10.0
    with pytest.raises(SpecificationError, match=r"\[0, 10\)"):
        ge.tariff_harmonization(bad, ["KAZ", "KGZ"])
    for shares, message in (
        ({"KAZ": 0.5, "CHN": 0.5}, "outside the union"),
        ({"KAZ": 1.0}, "lacks member"),
        ({"KAZ": 1.2, "KGZ": -0.2}, "non-negative"),
        ({"KAZ": 0.5, "KGZ": 0.4}, "sum to one"),
        ({"KAZ": "half", "KGZ": 0.5}, "numbers"),
    ):
        with pytest.raises(SpecificationError, match=message):
            revenue_pool(shares, ["KAZ", "KGZ"])  # type: ignore[arg-type]
    pool = revenue_pool({"KGZ": 0.1, "KAZ": 0.9}, ["KAZ", "KGZ"])
    assert pool.members == ("KAZ", "KGZ") and pool.quotas == (0.9, 0.1)


def test_pooled_union_end_to_end() -> None:
    f = random_problem(4, 3, 2)
    members = ["C00", "C01", "C02"]
    quotas = {"C00": 0.7, "C01": 0.2, "C02": 0.1}
    cu = ge.tariff_harmonization(f.tariffs, members, cet=("adopt", "C00"), revenue_shares=quotas)
    res = ge.solve(f.flows, cu, f.theta, production=f.production, inputs=f.inputs)
    assert res.converged and res.settings["revenue_pools"] == [quotas]
    fl = res.flows
    own = (fl["new_tariff"] * fl["value"]).groupby(fl["importer"]).sum()
    base = (fl["tariff"] * fl["baseline_value"]).groupby(fl["importer"]).sum()
    received = res.countries["tariff_revenue"] * base
    pool = own[members].sum()
    for m in members:
        assert received[m] == pytest.approx(quotas[m] * pool, rel=1e-10)
    assert received["C03"] == pytest.approx(own["C03"], rel=1e-10)
    plain = ge.tariff_harmonization(f.tariffs, members, cet=("adopt", "C00"))
    alone = ge.solve(f.flows, plain, f.theta, production=f.production, inputs=f.inputs)
    # without a pool every member keeps its own duties
    af = alone.flows
    alone_own = (af["new_tariff"] * af["value"]).groupby(af["importer"]).sum()
    np.testing.assert_allclose(alone.countries["tariff_revenue"] * base, alone_own, rtol=1e-12)
    assert res.countries.loc["C00", "income"] != pytest.approx(alone.countries.loc["C00", "income"])


def test_a_panel_of_one_sector_with_a_coefficient_is_the_one_sector_scenario() -> None:
    one = _tariffs()
    one = one[one.sector == "S01"].assign(sector="TOTAL")  # as in a one-sector panel
    with_column = ge.tariff_harmonization(one, ["KAZ", "KGZ"], -5.0)
    without = ge.tariff_harmonization(one.drop(columns="sector"), ["KAZ", "KGZ"], -5.0)
    pd.testing.assert_frame_equal(with_column.changes, without.changes)
    assert with_column.tariffs is not None and "sector" not in with_column.tariffs.columns
    assert not with_column.by_sector
