"""Scenario entries -> the library's GE builders: the rules a config names, typed."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from ca_trade.exceptions import ConfigError, ElasticityWarning
from ca_trade.pipeline import GESettings, ScenarioSpec
from ca_trade.pipeline.scenarios import baseline_year, build_scenario, scenario_theta
from ca_trade.report.stored import StoredResults

PAIRS = [("CHN", "KAZ"), ("CHN", "UZB"), ("KAZ", "UZB"), ("UZB", "KAZ"), ("KGZ", "UZB")]


def _frame() -> pd.DataFrame:
    rows = [(e, i, 0.10 + 0.05 * k) for k, (e, i) in enumerate(PAIRS)]
    frame = pd.DataFrame(rows, columns=["exporter", "importer", "tariff"])
    return frame.assign(year=2019, value_usd=[5.0, 1.0, 2.0, 3.0, 4.0])


def _result(**params: float) -> StoredResults:
    """An estimation result as `ca-trade estimate --json` stores it."""
    names = list(params)
    vcov = pd.DataFrame(0.01, index=names, columns=names)
    return StoredResults(params=pd.Series(params), vcov=vcov, nobs=100)


def _cu(**fields: object) -> ScenarioSpec:
    return ScenarioSpec(
        name="cu", kind="tariff_harmonization", specification="s", members=("KAZ", "UZB"), **fields
    )  # type: ignore[arg-type]


def _counterfactual(spec: ScenarioSpec) -> dict[tuple[str, str], float]:
    s = build_scenario(spec, _frame(), _result(ln_tariff=-5.0))
    t = s.tariffs
    return {(e, i): float(c) for e, i, c in zip(t.exporter, t.importer, t.counterfactual)}


def test_a_customs_union_removes_internal_tariffs_and_applies_the_cet() -> None:
    new = _counterfactual(_cu())  # cet defaults to the simple mean
    assert new[("KAZ", "UZB")] == new[("UZB", "KAZ")] == 0.0
    assert new[("CHN", "KAZ")] == new[("CHN", "UZB")] == pytest.approx((0.10 + 0.15) / 2)
    assert _counterfactual(_cu(cet="max"))[("CHN", "KAZ")] == pytest.approx(0.15)
    assert _counterfactual(_cu(cet=("adopt", "KAZ")))[("CHN", "UZB")] == pytest.approx(0.10)
    weighted = (0.10 * 5.0 + 0.15 * 1.0) / 6.0  # members' imports from CHN weigh
    assert _counterfactual(_cu(cet="weighted"))[("CHN", "KAZ")] == pytest.approx(weighted)


def test_removing_internal_tariffs_keeps_the_external_ones() -> None:
    spec = ScenarioSpec(
        name="rit",
        kind="tariff_harmonization",
        specification="s",
        members=("KAZ", "UZB"),
        cet="keep",
    )
    new = _counterfactual(spec)
    assert new[("KAZ", "UZB")] == 0.0
    assert new[("CHN", "KAZ")] == pytest.approx(0.10)
    assert new[("CHN", "UZB")] == pytest.approx(0.15)


def test_a_coefficient_overrides_the_estimated_one() -> None:
    spec = _cu(coefficient=-7.0)
    scenario = build_scenario(spec, _frame(), _result(ln_tariff=-5.0))
    assert scenario.coefficients == {"ln_tariff": -7.0}


def test_a_corridor_with_a_coefficient_needs_no_ln_tariff_estimate() -> None:
    # Before issue 11 this raised KeyError('ln_tariff'): the default coefficient was read
    # from the result even when the entry gave one.
    spec = ScenarioSpec(
        name="rail",
        kind="corridor",
        specification="s",
        links=(("CHN", "KGZ"), ("KGZ", "UZB")),
        cost_reduction=0.4,
        coefficient=-5.0,
    )
    scenario = build_scenario(spec, _frame(), _result(rta=0.4))
    assert scenario.coefficients == {"ln_tariff": -5.0}
    assert len(scenario.changes) > 0


def test_a_corridor_without_ln_tariff_or_coefficient_is_refused() -> None:
    spec = ScenarioSpec(
        name="rail", kind="corridor", specification="s", links=(("CHN", "KGZ"),), days_saved=2.0
    )
    with pytest.raises(ConfigError, match=r"needs the ln_tariff coefficient.*'s' lacks"):
        build_scenario(spec, _frame(), _result(rta=0.4))
    # a tariff scenario too: before, a bare "no coefficient 'ln_tariff'" with no way out
    with pytest.raises(ConfigError, match=r"changes tariffs and needs the ln_tariff.*give coef"):
        build_scenario(_cu(), _frame(), _result(rta=0.4))
    spec = ScenarioSpec(name="rail", kind="corridor", specification="s", links=(("CHN", "KGZ"),))
    with pytest.raises(ConfigError, match="needs days_saved or cost_reduction"):
        build_scenario(spec, _frame(), _result(ln_tariff=-5.0))


def test_the_provenance_record_holds_the_given_keys_as_written() -> None:
    assert _cu().params == {"members": ["KAZ", "UZB"]}
    assert _cu(cet=("adopt", "KAZ")).params["cet"] == ["adopt", "KAZ"]
    corridor = ScenarioSpec(
        name="r", kind="corridor", specification="s", links=(("CHN", "KGZ"),), days_saved=2.0
    )
    assert corridor.params == {"links": [("CHN", "KGZ")], "days_saved": 2.0}


def test_the_baseline_year_defaults_to_the_last_with_domestic_flows() -> None:
    panel = pd.DataFrame(
        {
            "exporter": ["KAZ", "KAZ", "KAZ", "KAZ"],
            "importer": ["KAZ", "UZB", "KAZ", "UZB"],
            "year": [2018, 2018, 2019, 2019],
            "value_usd": [9.0, 1.0, float("nan"), 2.0],
        }
    )
    assert baseline_year(panel, GESettings())["year"].unique().tolist() == [2018]
    assert baseline_year(panel, GESettings(year=2019))["value"].tolist()[1] == 2.0
    with pytest.raises(ConfigError, match=r"\[ge\].year = 2020 is not in the panel"):
        baseline_year(panel, GESettings(year=2020))


def _theta(ge: GESettings, **params: float) -> tuple[float, str | None]:
    result = _result(**params)  # standard errors 0.1
    return scenario_theta(_cu(), ge, build_scenario(_cu(), _frame(), result), result)


def test_theta_is_tied_to_the_tariff_coefficient_unless_given() -> None:
    # neither theta nor theta_from: theta = -b - 1 from ln_tariff, redrawn with it
    assert _theta(GESettings(), ln_tariff=-5.0) == (4.0, "ln_tariff")
    assert _theta(GESettings(theta_from="ln_tariff"), ln_tariff=-5.0) == (4.0, "ln_tariff")
    # a given theta inside the estimate's 95% interval (4 +/- 0.196) is used silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _theta(GESettings(theta=4.1), ln_tariff=-5.0) == (4.1, None)
    # outside it: used, with a warning that names the implied theta and its interval
    with pytest.warns(ElasticityWarning, match=r"theta = 5 contradicts .* implies theta = -b - 1"):
        assert _theta(GESettings(theta=5.0), ln_tariff=-5.0) == (5.0, None)


def test_a_tariff_coefficient_that_implies_no_trade_elasticity_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"implies theta = -b - 1 = -0\.5, not a trade elast"):
        _theta(GESettings(), ln_tariff=-0.5)
    with pytest.raises(ConfigError, match=r"theta_from = 'rta' is not a coefficient of scenario"):
        _theta(GESettings(theta_from="rta"), ln_tariff=-5.0, rta=0.4)
