from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ca_trade.ge as ge
from ca_trade.exceptions import SpecificationError
from ca_trade.ge.scenarios import coefficient_of
from ca_trade.report.stored import StoredResults

CA5 = ["KAZ", "KGZ", "TJK", "TKM", "UZB"]


def _result() -> StoredResults:
    """A saved estimation result (the results protocol, without the fit's arrays)."""
    params = pd.Series({"rta": 0.4, "ln_tariff": -6.0, "ln_dist": -0.9})
    return StoredResults(
        params, pd.DataFrame(np.diag([0.01, 1.0, 0.01]), params.index, params.index), 99
    )


def _tariffs() -> pd.DataFrame:
    cs = ["CHN", "KAZ", "KGZ", "RUS"]
    rows = []
    rates = {
        ("CHN", "KAZ"): 0.08,
        ("CHN", "KGZ"): 0.04,
        ("RUS", "KAZ"): 0.0,
        ("RUS", "KGZ"): 0.02,
        ("KAZ", "KGZ"): 0.05,
        ("KGZ", "KAZ"): 0.03,
        ("KAZ", "CHN"): 0.07,
    }
    weights = {("CHN", "KAZ"): 300.0, ("CHN", "KGZ"): 100.0}
    for i in cs:
        for j in cs:
            if i != j:
                rows.append((i, j, rates.get((i, j), 0.06), weights.get((i, j), 10.0)))
    return pd.DataFrame(rows, columns=["exporter", "importer", "tariff", "value_usd"])


def _cf(s: ge.Scenario, i: str, j: str) -> float:
    t = s.tariffs
    assert t is not None
    row = t[(t.exporter == i) & (t.importer == j)]
    return float(row["counterfactual"].iloc[0]) if len(row) else float("nan")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("simple", (0.08 + 0.04) / 2),
        ("weighted", (0.08 * 300 + 0.04 * 100) / 400),
        ("max", 0.08),
        (("adopt", "KAZ"), 0.08),
    ],
)
def test_common_external_tariff_rules(rule: str | tuple[str, str], expected: float) -> None:
    s = ge.tariff_harmonization(_tariffs(), ["KAZ", "KGZ"], -6.0, cet=rule)
    assert _cf(s, "CHN", "KGZ") == pytest.approx(expected)
    assert _cf(s, "KAZ", "KGZ") == 0.0 and _cf(s, "KGZ", "KAZ") == 0.0
    eff = s.effects.set_index(["exporter", "importer"])["effect"]
    assert eff[("KAZ", "KGZ")] == pytest.approx(-6.0 * (np.log(1.0) - np.log(1.05)))
    # non-members' tariffs are untouched
    assert ("KAZ", "CHN") not in eff.index
    assert (
        "KAZ's schedule" in s.description
        or "average" in s.description
        or "highest" in s.description
    )


def test_tariff_options_and_errors() -> None:
    keep = ge.tariff_harmonization(_tariffs(), ["KAZ", "KGZ"], _result(), internal="keep")
    assert keep.coefficients == {"ln_tariff": -6.0}
    assert _cf(keep, "KAZ", "KGZ") == 0.05  # kept: the pair is listed, unchanged
    assert ("KAZ", "KGZ") not in set(map(tuple, keep.changes[["exporter", "importer"]].values))
    only_internal = ge.tariff_harmonization(_tariffs(), ["KAZ", "KGZ"], -6.0, cet="keep")
    assert set(map(tuple, only_internal.changes[["exporter", "importer"]].values)) == {
        ("KAZ", "KGZ"),
        ("KGZ", "KAZ"),
    }
    with pytest.raises(SpecificationError, match="cet"):
        ge.tariff_harmonization(_tariffs(), ["KAZ", "KGZ"], -6.0, cet="CHN")
    with pytest.raises(SpecificationError, match=r"\('adopt', 'KAZ'\)"):
        ge.tariff_harmonization(_tariffs(), ["KAZ", "KGZ"], -6.0, cet="KAZ")
    with pytest.raises(TypeError):
        ge.tariff_harmonization(_tariffs(), ["KAZ", "KGZ"], -6.0, external="simple")  # type: ignore[call-arg]
    with pytest.raises(SpecificationError, match="two members"):
        ge.tariff_harmonization(_tariffs(), ["KAZ"], -6.0)
    dup = pd.concat([_tariffs(), _tariffs().iloc[:1]])
    with pytest.raises(SpecificationError, match="more than once"):
        ge.tariff_harmonization(dup, ["KAZ", "KGZ"], -6.0)
    with pytest.raises(SpecificationError, match="no coefficient"):
        coefficient_of(_result(), "cu")


def test_agreement_join_and_leave() -> None:
    s = ge.agreement(CA5, _result())
    assert len(s.changes) == 20 and (s.changes["rta"] == 1).all()
    assert s.coefficients == {"rta": 0.4}
    base = pd.DataFrame({"exporter": ["KAZ", "KGZ"], "importer": ["KGZ", "KAZ"], "rta": [1.0, 1.0]})
    joined = ge.agreement(["KAZ", "KGZ", "UZB"], 0.4, baseline=base)
    assert len(joined.changes) == 4  # only pairs involving UZB change
    left = ge.agreement(["KAZ", "KGZ"], 0.4, baseline=base, leave=True)
    assert (left.changes["rta"] == -1).all() and len(left.changes) == 2
    assert "leave" in left.description


def test_scenarios_compose() -> None:
    a = ge.agreement(["KAZ", "KGZ"], 0.4)
    b = ge.agreement(["KGZ", "UZB"], 0.4)
    both = a + b
    assert len(both.effects) == 4
    assert a.description in both.description and b.description in both.description
    t = ge.tariff_harmonization(_tariffs(), ["KAZ", "KGZ"], -6.0)
    mixed = a + t
    eff = mixed.effects.set_index(["exporter", "importer"])["effect"]
    assert eff[("KAZ", "KGZ")] == pytest.approx(0.4 - 6.0 * (0.0 - np.log(1.05)))
    assert mixed.tariffs is not None
    with pytest.raises(SpecificationError, match="different coefficients"):
        _ = a + ge.agreement(["KAZ", "UZB"], 0.5)
    assert (a + ge.Scenario()).effects.equals(a.effects)


def test_routes_table_is_complete_and_cited() -> None:
    r = ge.load_routes()
    assert set(CA5) <= set(r["from"]) | set(r["to"])
    assert r["source"].str.len().min() > 20
    assert (r["distance_km"] > 0).all() and (r["transit_days"] > 0).all()
    assert set(r["mode"]) <= {"rail", "road", "sea"}
    days = ge.transit_days()
    assert np.isfinite(days.loc[CA5, CA5].to_numpy()).all()


def test_corridor_reaches_third_countries() -> None:
    link = pd.DataFrame({"from": ["KGZ"], "to": ["CHN"], "days_saved": [5.0]})
    countries = ["CHN", "KAZ", "KGZ", "UZB", "TJK", "DEU"]
    s = ge.corridor(link, countries, -5.0, name="CKU")
    eff = s.effects.set_index(["exporter", "importer"])["effect"]
    before, after = ge.transit_days(), ge.RouteGraph(ge.load_routes()).with_changes(link).days()
    # Uzbekistan reaches China through Kyrgyzstan after the project
    assert after.loc["UZB", "CHN"] < before.loc["UZB", "CHN"]
    expected = -5.0 * (
        np.log1p(0.01 * after.loc["UZB", "CHN"]) - np.log1p(0.01 * before.loc["UZB", "CHN"])
    )
    assert eff[("UZB", "CHN")] == pytest.approx(expected)
    assert eff[("CHN", "UZB")] == pytest.approx(expected)
    assert (eff > 0).all()
    assert not any("DEU" in pair for pair in eff.index)  # not on the route graph
    assert "Hummels & Schaur" in s.description
    dist = ge.corridor(link, countries, _result(), mapping="distance")
    assert dist.coefficients == {"ln_dist": -0.9}
    cut = ge.corridor(
        pd.DataFrame({"from": ["KGZ"], "to": ["CHN"], "cost_reduction": [0.5]}), countries, -5.0
    )
    assert len(cut.effects) > 0
    new = ge.corridor(
        pd.DataFrame({"from": ["TJK"], "to": ["KAZ"], "transit_days": [2.0]}), countries, -5.0
    )
    assert ("TJK", "KAZ") in set(map(tuple, new.effects[["exporter", "importer"]].values))


def test_corridor_errors() -> None:
    with pytest.raises(SpecificationError, match="not in the route graph"):
        ge.corridor(pd.DataFrame({"from": ["KAZ"], "to": ["IRN"], "days_saved": [1.0]}), CA5, -5)
    with pytest.raises(SpecificationError, match="> 0"):
        ge.corridor(pd.DataFrame({"from": ["KGZ"], "to": ["UZB"], "days_saved": [50]}), CA5, -5)
    with pytest.raises(SpecificationError, match="mapping"):
        ge.corridor(
            pd.DataFrame({"from": ["KGZ"], "to": ["UZB"], "days_saved": [1]}),
            CA5,
            -5,
            mapping="miles",  # type: ignore[arg-type]
        )


def test_scenario_validation() -> None:
    with pytest.raises(SpecificationError, match="without a coefficient"):
        ge.Scenario(pd.DataFrame({"exporter": ["A"], "importer": ["B"], "rta": [1.0]}), {})
    with pytest.raises(SpecificationError, match="exporter"):
        ge.Scenario(pd.DataFrame({"importer": ["B"]}), {})
    s = ge.agreement(["A", "B"], 0.3)
    assert s.effects_with({"rta": 0.1})["effect"].tolist() == [0.1, 0.1]
    assert "Scenario(" in repr(s)


def test_tariff_scenario_brings_its_tariffs_to_the_solver() -> None:
    cs = ["CHN", "KAZ", "KGZ", "RUS"]
    rng = np.random.default_rng(0)
    mat = rng.uniform(1, 5, (4, 4)) + np.diag([50.0, 30.0, 10.0, 40.0])
    flows = pd.DataFrame(
        {"exporter": np.repeat(cs, 4), "importer": np.tile(cs, 4), "value": mat.ravel()}
    )
    s = ge.tariff_harmonization(_tariffs(), ["KAZ", "KGZ"], -5.0, cet="weighted")
    implicit = ge.solve(flows, s, 4.0)
    explicit = ge.solve(flows, s.effects, 4.0, tariffs=s.tariffs)
    pd.testing.assert_frame_equal(implicit.countries, explicit.countries)
    without = ge.solve(flows, s.effects, 4.0)
    assert not np.allclose(without.countries["welfare"], implicit.countries["welfare"])
    assert implicit.residuals["budget"] < 1e-10


# --------------------------------------------------------------------------------------
# Builders refuse missing, infinite and negative inputs, naming the row
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -0.05])
def test_tariff_values_are_checked_and_the_row_named(bad: float) -> None:
    t = _tariffs()
    t.loc[1, "tariff"] = bad  # row 1 is CHN -> KGZ
    with pytest.raises(SpecificationError, match=r"row 1 \(CHN -> KGZ\)"):
        ge.tariff_harmonization(t, ["KAZ", "KGZ"], -6.0)


@pytest.mark.parametrize("bad", [np.inf, -10.0])
def test_import_weights_are_checked_and_the_row_named(bad: float) -> None:
    t = _tariffs()
    t.loc[0, "value_usd"] = bad
    with pytest.raises(SpecificationError, match=r"value_usd.*row 0 \(CHN -> KAZ\)"):
        ge.tariff_harmonization(t, ["KAZ", "KGZ"], -6.0, cet="weighted")
    # the simple average does not use the weights
    ge.tariff_harmonization(t, ["KAZ", "KGZ"], -6.0, cet="simple")


def test_missing_import_weights_count_as_no_imports() -> None:
    t = _tariffs()
    t.loc[0, "value_usd"] = np.nan  # CHN -> KAZ: unknown imports weigh nothing
    s = ge.tariff_harmonization(t, ["KAZ", "KGZ"], -6.0, cet="weighted")
    assert _cf(s, "CHN", "KGZ") == pytest.approx(0.04)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0, 2.0])
def test_agreement_baseline_values_are_checked_and_the_row_named(bad: float) -> None:
    base = pd.DataFrame({"exporter": ["KAZ", "KGZ"], "importer": ["KGZ", "KAZ"], "rta": [1.0, bad]})
    with pytest.raises(SpecificationError, match=r"rta.*row 1 \(KGZ -> KAZ\)"):
        ge.agreement(["KAZ", "KGZ"], 0.3, baseline=base)


@pytest.mark.parametrize(
    ("column", "bad"),
    [
        ("days_saved", np.inf),
        ("days_saved", -1.0),
        ("cost_reduction", np.nan),
        ("cost_reduction", 1.5),
        ("transit_days", np.inf),
        ("transit_days", -3.0),
    ],
)
def test_corridor_link_values_are_checked_and_the_row_named(column: str, bad: float) -> None:
    links = pd.DataFrame({"from": ["KGZ", "CHN"], "to": ["UZB", "KGZ"], column: [0.2, bad]})
    with pytest.raises(SpecificationError, match=r"row 1 \(CHN-KGZ\)") as info:
        ge.corridor(links, [*CA5, "CHN"], -5.0)
    assert column in str(info.value)


def test_coefficients_from_a_result_must_be_finite() -> None:
    bad = StoredResults(pd.Series({"rta": np.nan}), pd.DataFrame([[1.0]], ["rta"], ["rta"]), 9)
    with pytest.raises(SpecificationError, match="not finite"):
        coefficient_of(bad, "rta")
    with pytest.raises(SpecificationError, match="not finite"):
        ge.agreement(["KAZ", "KGZ"], bad)
    with pytest.raises(SpecificationError, match="a number or an estimation result"):
        coefficient_of("rta", "rta")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_scenario_changes_must_be_finite(bad: float) -> None:
    changes = pd.DataFrame({"exporter": ["A", "B"], "importer": ["B", "A"], "rta": [1.0, bad]})
    with pytest.raises(SpecificationError, match=r"rta.*row 1 \(B -> A\)"):
        ge.Scenario(changes, {"rta": 0.3})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0])
def test_scenario_tariffs_must_be_finite_and_above_minus_one(bad: float) -> None:
    tariffs = pd.DataFrame(
        {"exporter": ["A", "B"], "importer": ["B", "A"], "baseline": [0.1, 0.1]}
    ).assign(counterfactual=[0.0, bad])
    with pytest.raises(SpecificationError, match=r"counterfactual.*row 1 \(B -> A\)"):
        ge.Scenario(tariffs=tariffs)


def test_scenarios_with_sectors_compose() -> None:
    t = pd.DataFrame(
        {
            "exporter": ["CHN", "CHN", "KAZ", "KGZ"],
            "importer": ["KAZ", "KGZ", "KGZ", "KAZ"],
            "sector": ["S01"] * 4,
            "tariff": [0.1, 0.2, 0.05, 0.05],
        }
    )
    cu = ge.tariff_harmonization(t, ["KAZ", "KGZ"], revenue_shares={"KAZ": 0.8, "KGZ": 0.2})
    fta = ge.agreement(["KAZ", "KGZ"], 0.4)
    both = cu + fta
    assert both.by_sector and not fta.by_sector
    assert both.revenue_pools == cu.revenue_pools
    assert both.keys == ["exporter", "importer", "sector"]
    eff = both.effects
    assert eff["sector"].isna().all() and len(eff) == 2  # the agreement: every sector
    link = pd.DataFrame({"from": ["KGZ"], "to": ["CHN"], "days_saved": [3.0]})
    rail = ge.corridor(link, ["CHN", "KAZ", "KGZ"], -5.0, ave_per_day={"S01": 0.02})
    mixed = both + rail
    assert set(mixed.effects["sector"].dropna()) == {"S01"}
    assert mixed.effects["sector"].isna().sum() == 2
    with pytest.raises(SpecificationError, match="two revenue pools"):
        _ = cu + cu
    one_sector = ge.tariff_harmonization(t.drop(columns="sector"), ["KAZ", "KGZ"], -5.0)
    with pytest.raises(SpecificationError, match="tariffs by sector"):
        _ = cu + one_sector


def test_revenue_pool_checks() -> None:
    with pytest.raises(SpecificationError, match="sum to one"):
        ge.RevenuePool(("KAZ", "KGZ"), (0.5, 0.6))
    with pytest.raises(SpecificationError, match="two or more"):
        ge.RevenuePool(("KAZ",), (1.0,))
    with pytest.raises(SpecificationError, match="twice"):
        ge.RevenuePool(("KAZ", "KAZ"), (0.5, 0.5))
    with pytest.raises(SpecificationError, match="non-negative"):
        ge.RevenuePool(("KAZ", "KGZ"), (1.5, -0.5))


def test_corridor_with_sector_specific_time_costs() -> None:
    link = pd.DataFrame({"from": ["KGZ"], "to": ["CHN"], "days_saved": [4.0]})
    aves = {"S16": 0.021, "S02": 0.006}
    s = ge.corridor(link, ["CHN", "KGZ", "UZB"], {"S16": -4.0, "S02": -9.0}, ave_per_day=aves)
    assert s.coefficients == {"ln_tau_S02": -9.0, "ln_tau_S16": -4.0}
    ch = s.changes.set_index(["exporter", "importer", "sector"])
    fast = ch.loc[("KGZ", "CHN", "S16"), "ln_tau_S16"]
    slow = ch.loc[("KGZ", "CHN", "S02"), "ln_tau_S02"]
    assert fast < slow < 0  # time matters more for S16
    assert ch.loc[("KGZ", "CHN", "S16"), "ln_tau_S02"] == 0.0
    eff = s.effects.set_index(["exporter", "importer", "sector"])["effect"]
    assert eff[("KGZ", "CHN", "S16")] == pytest.approx(-4.0 * fast)
    common = ge.corridor(link, ["CHN", "KGZ"], -5.0, ave_per_day=aves)
    assert common.regressors == ["ln_tau"] and set(common.changes["sector"]) == {"S02", "S16"}
    with pytest.raises(SpecificationError, match="same sectors"):
        ge.corridor(link, ["CHN", "KGZ"], {"S16": -4.0}, ave_per_day=aves)
    with pytest.raises(SpecificationError, match="sector 'S02'"):
        ge.corridor(link, ["CHN", "KGZ"], -5.0, ave_per_day={"S02": 1.5})
    with pytest.raises(SpecificationError, match="mapping='days'"):
        ge.corridor(link, ["CHN", "KGZ"], -5.0, ave_per_day=aves, mapping="distance")
