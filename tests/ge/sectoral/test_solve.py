"""The multi-sector GE through ca_trade.ge.solve: special cases, invariances, result layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

import ca_trade.ge as ge
from ca_trade.exceptions import GEError, SpecificationError
from tests.ge._problems import names, random_effects, random_flows, to_frame
from tests.ge.sectoral._problems import random_changes, random_problem

ONE_TO_SECTORAL = {
    "welfare": "welfare",
    "real_gdp": "real_wage",
    "price": "wage",
    "imr": "price_index",
    "output": "output",
    "expenditure": "income",
    "exports": "exports",
    "imports": "imports",
    "domestic": "domestic",
}


def _one_sector_case(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Flows (imbalanced), partial effects and tariffs (baseline, counterfactual)."""
    flows = to_frame(random_flows(n, seed, zeros=True))
    effects = random_effects(n, seed)
    rng = np.random.default_rng(seed)
    t0 = rng.uniform(0.0, 0.3, (n, n))
    np.fill_diagonal(t0, 0.0)
    t1 = t0 * rng.uniform(0.0, 1.5, (n, n))
    tariffs = to_frame(t0).rename(columns={"value": "baseline"})
    tariffs["counterfactual"] = to_frame(t1)["value"]
    return flows, effects, tariffs


@pytest.mark.parametrize(("n", "seed"), [(2, 0), (4, 1), (7, 2), (12, 3), (25, 4)])
@pytest.mark.parametrize("numeraire", ["world_output", "first"])
def test_one_sector_reproduces_the_one_sector_solver(n: int, seed: int, numeraire: str) -> None:
    flows, effects, tariffs = _one_sector_case(n, seed)
    theta = 3.0 + seed
    num = names(n)[0] if numeraire == "first" else numeraire
    one = ge.solve(flows, effects, theta, tariffs=tariffs, numeraire=num)
    # the one-sector effect includes the tariff's: -(theta + 1) dln(1+t) on duty-exclusive
    # flows; the sectoral model applies -theta dln(1+t) to gross shares itself
    dlog = np.log1p(tariffs["counterfactual"]) - np.log1p(tariffs["baseline"])
    changes = tariffs[["exporter", "importer"]].assign(
        sector="TOTAL",
        new_tariff=tariffs["counterfactual"],
        effect=effects["effect"].to_numpy() + (theta + 1.0) * dlog.to_numpy(),
    )
    base = tariffs[["exporter", "importer"]].assign(sector="TOTAL", tariff=tariffs["baseline"])
    sec = ge.solve(flows.assign(sector="TOTAL"), changes, theta, tariffs=base, numeraire=num)
    assert isinstance(sec, ge.sectoral.SectoralGEResult)
    for a, b in ONE_TO_SECTORAL.items():
        np.testing.assert_allclose(sec.countries[b], one.countries[a], rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        sec.flows["value"] / one.flows["value"].abs().max(),
        one.flows["value"] / one.flows["value"].abs().max(),
        rtol=0,
        atol=1e-10,
    )


def test_identical_sectors_aggregate_to_one_sector() -> None:
    n = 6
    flows = to_frame(random_flows(n, 5))
    effects = random_effects(n, 5)
    one = ge.solve(flows, effects, 5.0)
    shares = [0.5, 0.3, 0.2]
    parts = [flows.assign(sector=f"S{k}", value=flows["value"] * w) for k, w in enumerate(shares)]
    sec = ge.solve(pd.concat(parts), effects, 5.0)  # effects without sector: every sector
    for a, b in ONE_TO_SECTORAL.items():
        np.testing.assert_allclose(sec.countries[b], one.countries[a], rtol=1e-10)
    # each sector's flows move as the aggregate
    s0 = sec.flows[sec.flows["sector"] == "S0"]["change_pct"].to_numpy()
    np.testing.assert_allclose(s0, one.flows["change_pct"].to_numpy(), rtol=1e-9)


@pytest.mark.parametrize("io", [False, True])
@pytest.mark.parametrize("deficits", ["fixed", "zero"])
def test_no_change_is_no_change(io: bool, deficits: str) -> None:
    f = random_problem(5, 3, 7, io=io)
    res = ge.solve(
        f.flows,
        None,
        f.theta,
        tariffs=f.tariffs,
        production=f.production if io else None,
        inputs=f.inputs if io else None,
        deficits=deficits,  # type: ignore[arg-type]
    )
    assert res.converged and res.settings["input_output"] is io
    ratios = res.countries.drop(columns=[c for c in res.countries if c.endswith("_pct")])
    np.testing.assert_allclose(ratios.to_numpy(), 1.0, atol=1e-10)
    np.testing.assert_allclose(res.flows["value"], res.flows["baseline_value"], rtol=1e-10)
    expected = "data" if deficits == "fixed" else "zero deficits (re-solved)"
    assert res.settings["baseline"] == expected


def test_zero_deficits_compare_with_the_balanced_baseline() -> None:
    f = random_problem(5, 3, 8)
    ch = random_changes(f, 8)
    kw = {"tariffs": f.tariffs, "production": f.production, "inputs": f.inputs}
    res = ge.solve(f.flows, ch, f.theta, deficits="zero", **kw)
    fl = res.flows
    imports = fl[fl.exporter != fl.importer].groupby("importer")["baseline_value"].sum()
    exports = fl[fl.exporter != fl.importer].groupby("exporter")["baseline_value"].sum()
    np.testing.assert_allclose(imports, exports, rtol=1e-9)  # the baseline is balanced
    new_imp = fl[fl.exporter != fl.importer].groupby("importer")["value"].sum()
    new_exp = fl[fl.exporter != fl.importer].groupby("exporter")["value"].sum()
    np.testing.assert_allclose(new_imp, new_exp, rtol=1e-9)
    # with zero deficits the model is homogeneous: the numeraire does not matter
    other = ge.solve(f.flows, ch, f.theta, deficits="zero", numeraire="C02", **kw)
    assert other.countries.loc["C02", "wage"] == pytest.approx(1.0, abs=1e-12)
    for col in ("welfare", "real_wage"):
        np.testing.assert_allclose(other.countries[col], res.countries[col], rtol=1e-9)
    # nominal values move one for one with the numeraire
    scale = other.countries["exports"] / res.countries["exports"]
    np.testing.assert_allclose(scale, scale.iloc[0], rtol=1e-9)
    fixed = ge.solve(f.flows, ch, f.theta, **kw)
    assert not np.allclose(fixed.countries["welfare"], res.countries["welfare"])


def test_result_layout() -> None:
    f = random_problem(4, 3, 9)
    res = ge.solve(
        f.flows.sample(frac=1.0, random_state=2),
        random_changes(f, 9),
        f.theta,
        tariffs=f.tariffs,
        production=f.production,
        inputs=f.inputs,
    )
    assert list(res.countries.index) == names(4)
    for col in ge.sectoral.SECTORAL_RATIO_COLUMNS:
        np.testing.assert_allclose(res.countries[f"{col}_pct"], 100 * (res.countries[col] - 1))
    np.testing.assert_allclose(res.countries["real_gdp"], res.countries["real_wage"])
    assert list(res.flows.columns) == [
        "exporter",
        "importer",
        "sector",
        "value",
        "baseline_value",
        "change_pct",
        "tariff",
        "new_tariff",
    ]
    assert len(res.flows) == 3 * 4 * 4
    assert list(res.sectors.index.names) == ["country", "sector"] and len(res.sectors) == 12
    # sector outputs add up to the country's output change
    out = res.sectors.groupby(level="country")[["baseline_output", "new_output"]].sum()
    np.testing.assert_allclose(
        out["new_output"] / out["baseline_output"], res.countries["output"], rtol=1e-12
    )
    # the consumer price index is the Cobb-Douglas aggregate of sector price indices
    assert (res.sectors["price_index"] > 0).all()
    assert "Multi-sector GE counterfactual (4 countries, 3 sectors" in res.summary()
    np.testing.assert_allclose(
        res.policy_effect()["welfare"], 100 * (1 / res.countries["welfare"] - 1)
    )
    # tariff revenue: received in the counterfactual over the baseline
    fl = res.flows
    rev0 = (fl["tariff"] * fl["baseline_value"]).groupby(fl["importer"]).sum()
    rev1 = (fl["new_tariff"] * fl["value"]).groupby(fl["importer"]).sum()
    np.testing.assert_allclose(res.countries["tariff_revenue"], rev1 / rev0, rtol=1e-12)


def test_polars_and_pandas_give_the_same_result() -> None:
    f = random_problem(3, 2, 10)
    ch = random_changes(f, 10)
    a = ge.solve(f.flows, ch, f.theta, tariffs=f.tariffs)
    b = ge.solve(
        pl.from_pandas(f.flows), pl.from_pandas(ch), f.theta, tariffs=pl.from_pandas(f.tariffs)
    )
    pd.testing.assert_frame_equal(a.countries, b.countries)


def test_theta_as_series_and_value_column() -> None:
    f = random_problem(3, 2, 11)
    a = ge.solve(f.flows, random_changes(f, 11), f.theta, tariffs=f.tariffs)
    b = ge.solve(
        f.flows.rename(columns={"value": "value_usd"}),
        random_changes(f, 11),
        pd.Series(f.theta),
        tariffs=f.tariffs,
        value="value_usd",
    )
    pd.testing.assert_frame_equal(a.countries, b.countries)


def test_options_of_one_model_are_refused_by_the_other() -> None:
    f = random_problem(3, 2, 12)
    for bad in ({"closure": "multiplicative"}, {"psi": 0.5}, {"conditional": True}):
        with pytest.raises(SpecificationError, match="one-sector model"):
            ge.solve(f.flows, None, f.theta, **bad)  # type: ignore[arg-type]
    flows = to_frame(random_flows(3, 0))
    with pytest.raises(SpecificationError, match="multi-sector model"):
        ge.solve(flows, None, 4.0, deficits="zero")
    with pytest.raises(SpecificationError, match="multi-sector model"):
        ge.solve(flows, None, {"S00": 4.0})
    with pytest.raises(SpecificationError, match="multi-sector model"):
        ge.solve(flows, None, 4.0, production=f.production)
    by_sector = pd.DataFrame({"exporter": ["C00"], "importer": ["C01"], "new_tariff": [0.1]})
    with pytest.raises(SpecificationError, match="multi-sector model"):
        ge.solve(flows, by_sector, 4.0)
    with pytest.raises(TypeError):
        ge.solve(f.flows, None, f.theta, sigma=4)  # type: ignore[call-arg]


def test_one_sector_scenario_on_sectoral_flows_explains_itself() -> None:
    f = random_problem(3, 2, 13)
    pairs = f.tariffs.drop(columns="sector").drop_duplicates(["exporter", "importer"])
    one = ge.tariff_harmonization(pairs, ["C00", "C01"], -5.0)
    with pytest.raises(SpecificationError, match="one-sector model"):
        ge.solve(f.flows, one, f.theta)


def test_failed_solution_raises() -> None:
    f = random_problem(4, 2, 14)
    with pytest.raises(GEError, match="residuals"):
        ge.solve(f.flows, random_changes(f, 14), f.theta, tariffs=f.tariffs, maxiter=2)


def test_partial_effects_by_sector_and_for_every_sector_add_up() -> None:
    f = random_problem(3, 2, 15)
    everywhere = pd.DataFrame({"exporter": ["C00"], "importer": ["C01"], "effect": [0.2]})
    one = everywhere.assign(sector="S01", effect=0.1)
    both = pd.concat([everywhere.assign(sector=None), one], ignore_index=True)
    res = ge.solve(f.flows, both, f.theta)
    manual = pd.DataFrame(
        {
            "exporter": ["C00", "C00"],
            "importer": ["C01", "C01"],
            "sector": ["S00", "S01"],
            "effect": [0.2, 0.3],
        }
    )
    ref = ge.solve(f.flows, manual, f.theta)
    pd.testing.assert_frame_equal(res.countries, ref.countries)
