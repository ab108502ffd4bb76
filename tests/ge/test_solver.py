from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ca_trade.ge as ge
from ca_trade.exceptions import (
    DataValidationError,
    GEError,
    MissingDomesticFlowsError,
    SpecificationError,
)
from tests.ge._problems import random_effects, random_flows, to_frame


def _two() -> pd.DataFrame:
    return pd.DataFrame(
        {"exporter": list("AABB"), "importer": list("ABAB"), "value": [8.0, 2.0, 3.0, 7.0]}
    )


def test_missing_domestic_flows_are_refused_with_names() -> None:
    flows = _two()
    flows = flows[~((flows.exporter == "B") & (flows.importer == "B"))]
    with pytest.raises(MissingDomesticFlowsError, match=r"\['B'\]"):
        ge.solve(flows, None, 4)
    zero = _two().assign(value=[0.0, 2.0, 3.0, 7.0])
    with pytest.raises(MissingDomesticFlowsError, match="A"):
        ge.solve(zero, None, 4)


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (_two().assign(value=[8.0, -2.0, 3.0, 7.0]), DataValidationError),
        (_two().assign(value=[8.0, np.nan, 3.0, 7.0]), DataValidationError),
        (pd.concat([_two(), _two().iloc[:1]]), DataValidationError),
        (_two().rename(columns={"value": "v"}), SpecificationError),
    ],
)
def test_bad_flows_raise(frame: pd.DataFrame, error: type[Exception]) -> None:
    with pytest.raises(error):
        ge.solve(frame, None, 4)


def test_bad_options_raise() -> None:
    pe = pd.DataFrame({"exporter": ["A"], "importer": ["Z"], "effect": [0.1]})
    with pytest.raises(SpecificationError, match="Z"):
        ge.solve(_two(), pe, 4)
    with pytest.raises(SpecificationError, match="theta"):
        ge.solve(_two(), None, -1)
    with pytest.raises(SpecificationError, match="closure"):
        ge.solve(_two(), None, 4, closure="sideways")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="numeraire"):
        ge.solve(_two(), None, 4, numeraire="ZZZ")
    with pytest.raises(SpecificationError, match="psi"):
        ge.solve(_two(), None, 4, psi=-0.5)
    with pytest.raises(TypeError):
        ge.solve(_two(), None, 4, sigma=5)  # type: ignore[call-arg]


def test_unconverged_solution_raises_geerror() -> None:
    flows = to_frame(random_flows(6, 3))
    with pytest.raises(GEError, match="residual"):
        ge.solve(flows, random_effects(6, 3), 4, maxiter=2)


def test_result_layout_and_sorting() -> None:
    flows = to_frame(random_flows(5, 0))
    res = ge.solve(flows.sample(frac=1.0, random_state=1), random_effects(5, 0), 5)
    assert list(res.countries.index) == sorted(res.countries.index)
    assert res.countries.index.name == "country"
    for col in ge.RATIO_COLUMNS:
        np.testing.assert_allclose(res.countries[f"{col}_pct"], 100 * (res.countries[col] - 1))
    assert list(res.flows.columns) == [
        "exporter",
        "importer",
        "value",
        "baseline_value",
        "change_pct",
    ]
    assert res.flows[["exporter", "importer"]].equals(
        res.flows[["exporter", "importer"]].sort_values(["exporter", "importer"])
    )
    assert res.converged and res.n_iter > 0
    assert set(res.residuals) >= {"market_clearing", "budget"}


def test_anderson_and_damped_reach_the_same_point() -> None:
    flows = to_frame(random_flows(8, 4))
    pe = random_effects(8, 4)
    a = ge.solve(flows, pe, 4, method="anderson")
    d = ge.solve(flows, pe, 4, method="damped")
    np.testing.assert_allclose(a.countries["welfare"], d.countries["welfare"], rtol=1e-10)
    assert a.n_iter < d.n_iter


def test_positive_shock_raises_partner_trade_and_welfare() -> None:
    pe = pd.DataFrame({"exporter": ["A", "B"], "importer": ["B", "A"], "effect": [0.2, 0.2]})
    res = ge.solve(_two(), pe, 4)
    assert (res.countries["welfare"] > 1).all()
    assert (res.countries["exports"] > 1).all()
    assert (res.countries["domestic"] < 1).all()
    # the book's direction (effect of the policy = baseline relative to counterfactual)
    eff = res.policy_effect()
    np.testing.assert_allclose(eff["welfare"], 100 * (1 / res.countries["welfare"] - 1))


def test_conditional_keeps_output_and_spending() -> None:
    flows = to_frame(random_flows(6, 2))
    res = ge.solve(flows, random_effects(6, 2), 4, conditional=True)
    np.testing.assert_allclose(res.countries["price"], 1.0)
    sales = res.flows.groupby("exporter")["value"].sum()
    base_sales = res.flows.groupby("exporter")["baseline_value"].sum()
    np.testing.assert_allclose(sales, base_sales, rtol=1e-10)
    spend = res.flows.groupby("importer")["value"].sum()
    base_spend = res.flows.groupby("importer")["baseline_value"].sum()
    np.testing.assert_allclose(spend, base_spend, rtol=1e-10)
    both = ge.solve_both(flows, random_effects(6, 2), 4)
    table = both.table()
    assert table.shape == (6, 2 * len(ge.RATIO_COLUMNS))
    np.testing.assert_allclose(
        table["exports_pct_conditional"], both.conditional.countries["exports_pct"]
    )
    with pytest.raises(SpecificationError):
        ge.solve_both(flows, None, 4, conditional=True)


def test_additive_keeps_deficits_in_world_output_units() -> None:
    flows = to_frame(random_flows(6, 5))
    res = ge.solve(flows, random_effects(6, 5), 4, closure="additive")
    base_y = res.flows.groupby("exporter")["baseline_value"].sum()
    base_e = res.flows.groupby("importer")["baseline_value"].sum()
    new_y = res.flows.groupby("exporter")["value"].sum()
    new_e = res.flows.groupby("importer")["value"].sum()
    np.testing.assert_allclose(new_e - new_y, base_e - base_y, rtol=1e-9, atol=1e-9)
    assert new_y.sum() == pytest.approx(base_y.sum(), rel=1e-12)  # world output numeraire


def test_multiplicative_keeps_deficit_shares_up_to_world_scale() -> None:
    flows = to_frame(random_flows(6, 6))
    res = ge.solve(flows, random_effects(6, 6), 4, closure="multiplicative")
    base_ratio = (
        res.flows.groupby("importer")["baseline_value"].sum()
        / res.flows.groupby("exporter")["baseline_value"].sum()
    )
    new_ratio = (
        res.flows.groupby("importer")["value"].sum() / res.flows.groupby("exporter")["value"].sum()
    )
    scale = new_ratio / base_ratio
    np.testing.assert_allclose(scale, scale.iloc[0], rtol=1e-10)


def test_tariff_revenue_enters_income() -> None:
    flows = to_frame(random_flows(4, 7))
    tariffs = flows[flows.exporter != flows.importer][["exporter", "importer"]].copy()
    tariffs["baseline"] = 0.10
    tariffs["counterfactual"] = 0.10
    same = ge.solve(flows, None, 4, tariffs=tariffs)
    np.testing.assert_allclose(same.countries["welfare"], 1.0, atol=1e-12)
    cut = tariffs.assign(counterfactual=0.0)
    sigma = 5.0
    pe = cut[["exporter", "importer"]].assign(effect=-sigma * (np.log(1.0) - np.log(1.1)))
    res = ge.solve(flows, pe, sigma - 1, tariffs=cut)
    assert res.residuals["budget"] < 1e-10
    # duty-exclusive flows: spending now equals income (no revenue), sales equal output
    new = res.flows
    y = new.groupby("exporter")["value"].sum()
    e = new.groupby("importer")["value"].sum()
    base = (
        new.groupby("importer")["baseline_value"].sum()
        - new.groupby("exporter")["baseline_value"].sum()
    )
    np.testing.assert_allclose(e - y, base, rtol=1e-8, atol=1e-8)
    # the same cut without revenue accounting is a different (pure cost) experiment
    no_rev = ge.solve(flows, pe, sigma - 1)
    assert not np.allclose(no_rev.countries["welfare"], res.countries["welfare"])


def test_supply_elasticity_solves_and_amplifies_output() -> None:
    flows = to_frame(random_flows(6, 8, balanced=True))
    pe = random_effects(6, 8, scale=0.2).assign(effect=lambda d: d["effect"].abs())
    base = ge.solve(flows, pe, 4, closure="multiplicative")
    elastic = ge.solve(flows, pe, 4, closure="multiplicative", psi=1.0)
    assert elastic.residuals["market_clearing"] < 1e-10
    quantity = elastic.countries["output"] / elastic.countries["price"]
    real_price = elastic.countries["price"] / elastic.countries["imr"]
    np.testing.assert_allclose(quantity, real_price**1.0, rtol=1e-10)
    assert not np.allclose(base.countries["real_gdp"], elastic.countries["real_gdp"])


def test_scenario_is_accepted_and_described() -> None:
    s = ge.agreement(["A", "B"], 0.2, name="AB")
    res = ge.solve(_two(), s, 4)
    assert "AB" in res.description
    assert "converged" in res.summary()


def test_250_countries_under_a_second() -> None:
    import time

    flows = to_frame(random_flows(250, 9))
    pe = random_effects(250, 9, scale=0.1)
    start = time.perf_counter()
    res = ge.solve(flows, pe, 5)
    elapsed = time.perf_counter() - start
    assert res.converged
    assert elapsed < 3.0  # target < 1 s (benchmarks/ge.py); loose bound for a shared CI box


def test_negative_income_under_additive_imbalances_is_refused() -> None:
    # A runs a surplus of 70 % of its output; a large fall in its exports would leave its
    # income (output + fixed deficit) negative: the equations solve, the economics does not
    flows = pd.DataFrame(
        {"exporter": list("AABB"), "importer": list("ABAB"), "value": [2.0, 8.0, 1.0, 9.0]}
    )
    pe = pd.DataFrame({"exporter": ["A"], "importer": ["B"], "effect": [-3.0]})
    with pytest.raises(GEError, match=r"\['A'\].*multiplicative"):
        ge.solve(flows, pe, 4)
    res = ge.solve(flows, pe, 4, closure="multiplicative")
    assert (res.countries["welfare"] > 0).all() and (res.flows["value"] > 0).all()


# --------------------------------------------------------------------------------------
# No success with non-finite numbers; errors that say what is wrong and where
# --------------------------------------------------------------------------------------


def _pe(effect: float) -> pd.DataFrame:
    return pd.DataFrame({"exporter": ["A", "B"], "importer": ["B", "A"], "effect": [effect] * 2})


@pytest.mark.parametrize(("theta", "effect"), [(1e-6, 0.2), (1e-3, 2.0), (0.1, 100.0)])
def test_non_finite_outcomes_are_never_reported_as_converged(theta: float, effect: float) -> None:
    with pytest.raises(GEError, match=r"not finite") as info:
        ge.solve(_two(), _pe(effect), theta)
    msg = str(info.value)
    assert f"theta={theta:g}" in msg
    assert "A -> B" in msg  # the largest partial effect, named
    assert "income" not in msg


def test_an_overflowing_partial_effect_is_named_not_blamed_on_income() -> None:
    pe = pd.DataFrame({"exporter": ["A", "B"], "importer": ["B", "A"], "effect": [0.1, 800.0]})
    with pytest.raises(GEError, match=r"partial effect B -> A = 800 overflows") as info:
        ge.solve(_two(), pe, 4)
    assert "income" not in str(info.value)


def test_empty_flows_raise_a_geerror() -> None:
    for empty in (_two().iloc[:0], pd.DataFrame({"exporter": [], "importer": [], "value": []})):
        with pytest.raises(GEError, match="no flows"):
            ge.solve(empty, None, 4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"theta": float("nan")}, "theta"),
        ({"theta": float("inf")}, "theta"),
        ({"theta": 4, "tol": float("nan")}, "tol"),
        ({"theta": 4, "tol": -1.0}, "tol"),
        ({"theta": 4, "maxiter": 0}, "maxiter"),
        ({"theta": 4, "psi": float("inf")}, "psi"),
    ],
)
def test_non_finite_settings_are_refused(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(SpecificationError, match=match):
        ge.solve(_two(), None, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("column", "value", "row"),
    [("value", np.nan, "row 1"), ("value", np.inf, "row 1"), ("value", -2.0, "row 1")],
)
def test_bad_flow_values_name_the_row(column: str, value: float, row: str) -> None:
    flows = _two()
    flows.loc[1, column] = value
    with pytest.raises(DataValidationError, match=rf"{row}, A -> B"):
        ge.solve(flows, None, 4)


def test_a_missing_country_code_names_the_row() -> None:
    flows = _two().astype({"importer": object})
    flows.loc[2, "importer"] = None
    with pytest.raises(DataValidationError, match=r"row 2"):
        ge.solve(flows, None, 4)


@pytest.mark.parametrize(
    ("frame", "what"),
    [
        (pd.DataFrame({"exporter": ["A"], "importer": ["B"], "effect": [np.nan]}), "effect"),
        (pd.DataFrame({"exporter": ["A"], "importer": ["B"], "effect": [-np.inf]}), "effect"),
    ],
)
def test_bad_partial_effects_name_the_row(frame: pd.DataFrame, what: str) -> None:
    with pytest.raises(SpecificationError, match=rf"{what}.*row 0, A -> B"):
        ge.solve(_two(), frame, 4)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0, -3.0])
def test_bad_tariffs_name_the_row(bad: float) -> None:
    tariffs = pd.DataFrame(
        {"exporter": ["A", "B"], "importer": ["B", "A"], "baseline": [0.1, 0.1]}
    ).assign(counterfactual=[0.0, bad])
    with pytest.raises(SpecificationError, match=r"row 1, B -> A"):
        ge.solve(_two(), None, 4, tariffs=tariffs)


def test_repr_names_the_solution_not_the_frames() -> None:
    flows = pd.DataFrame(
        {"exporter": list("AABB"), "importer": list("ABAB"), "value": [8.0, 2.0, 2.0, 8.0]}
    )
    res = ge.solve(flows, ge.agreement(["A", "B"], 0.3), 4.0)
    text = repr(res)
    assert text.startswith("GEResult(countries=2, flows=4, theta=4.0, closure=")
    assert "converged=True" in text and "welfare" not in text
