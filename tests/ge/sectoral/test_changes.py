"""Tariffs, new tariffs and partial effects of the multi-sector model: placement and checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ca_trade.ge as ge
from ca_trade.exceptions import DataValidationError, SpecificationError
from ca_trade.ge.scenario import Scenario
from ca_trade.ge.sectoral.changes import policy_arrays
from ca_trade.ge.sectoral.inputs import flow_cube
from tests.ge.sectoral._problems import random_problem


def _case() -> tuple[pd.DataFrame, pd.DataFrame]:
    f = random_problem(3, 2, 0)
    return f.flows, f.tariffs


@pytest.mark.parametrize("bad", [-0.01, 10.0, 25.0, np.inf])
def test_tariffs_outside_the_range_name_the_cell(bad: float) -> None:
    flows, tariffs = _case()
    t = tariffs.copy()
    t.loc[1, "tariff"] = bad  # C00 -> C01, S00
    with pytest.raises(DataValidationError, match=r"C01 on C00 in sector 'S00'|row 1"):
        ge.solve(flows, None, 4.0, tariffs=t)
    new = tariffs.rename(columns={"tariff": "new_tariff"})
    new.loc[1, "new_tariff"] = bad
    with pytest.raises(DataValidationError, match=r"C01 on C00 in sector 'S00'|row 1"):
        ge.solve(flows, new, 4.0, tariffs=tariffs)


def test_domestic_tariffs_and_unknown_cells_are_refused() -> None:
    flows, tariffs = _case()
    home = tariffs.copy()
    home.loc[0, "tariff"] = 0.1  # C00 -> C00
    with pytest.raises(DataValidationError, match="domestic sales"):
        ge.solve(flows, None, 4.0, tariffs=home)
    other = pd.DataFrame(
        {"exporter": ["C00"], "importer": ["ZZZ"], "sector": ["S00"], "tariff": [0.1]}
    )
    with pytest.raises(SpecificationError, match="ZZZ"):
        ge.solve(flows, None, 4.0, tariffs=other)
    sector = other.assign(importer="C01", sector="S99")
    with pytest.raises(SpecificationError, match="S99"):
        ge.solve(flows, None, 4.0, tariffs=sector)
    with pytest.raises(SpecificationError, match="new_tariff"):
        ge.solve(flows, tariffs, 4.0)


def test_tariffs_without_sector_apply_to_every_sector() -> None:
    flows, _ = _case()
    grid = flow_cube(flows)
    t = pd.DataFrame({"exporter": ["C00"], "importer": ["C01"], "tariff": [0.2]})
    p = policy_arrays(None, t, grid)
    assert p.tariff0[:, 0, 1].tolist() == [0.2, 0.2]
    assert (p.tariff1 == p.tariff0).all()


def test_scenario_tariffs_must_agree_with_the_given_baseline() -> None:
    flows, tariffs = _case()
    grid = flow_cube(flows)
    scen = ge.tariff_harmonization(tariffs, ["C00", "C01"])
    p = policy_arrays(scen, None, grid)
    q = policy_arrays(scen, tariffs, grid)
    np.testing.assert_array_equal(p.tariff0, q.tariff0)
    np.testing.assert_array_equal(p.tariff1, q.tariff1)
    assert p.tariff1[:, 0, 1].tolist() == [0.0, 0.0]  # internal tariffs removed
    other = tariffs.assign(tariff=tariffs["tariff"] * 0.5)
    with pytest.raises(SpecificationError, match="baseline tariff"):
        policy_arrays(scen, other, grid)
    one_sector = Scenario(
        tariffs=tariffs.drop(columns="sector")
        .drop_duplicates(["exporter", "importer"])
        .rename(columns={"tariff": "baseline"})
        .assign(counterfactual=0.0)
    )
    with pytest.raises(SpecificationError, match="no sector column"):
        policy_arrays(one_sector, None, grid)
    # a member outside the data is refused when the scenario is built (it changed nothing)
    with pytest.raises(SpecificationError, match="member 'ZZZ' is not a country of the tariffs"):
        ge.tariff_harmonization(tariffs, ["C00", "ZZZ"], revenue_shares={"C00": 0.5, "ZZZ": 0.5})


def test_tariff_changes_move_trade_through_theta() -> None:
    flows, tariffs = _case()
    cut = tariffs.rename(columns={"tariff": "new_tariff"}).assign(new_tariff=0.0)
    low = ge.solve(flows, cut, {"S00": 2.0, "S01": 2.0}, tariffs=tariffs)
    high = ge.solve(flows, cut, {"S00": 8.0, "S01": 8.0}, tariffs=tariffs)
    assert (high.countries["imports_pct"] > low.countries["imports_pct"]).all()
