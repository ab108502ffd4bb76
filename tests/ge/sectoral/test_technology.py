"""Production, input-output and final-demand shares: validation and derivation from data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import ca_trade.ge as ge
from ca_trade.exceptions import DataValidationError, DataValidationWarning, SpecificationError
from ca_trade.ge.sectoral.inputs import flow_cube
from ca_trade.ge.sectoral.technology import final_shares, technology
from tests.ge.sectoral._problems import random_changes, random_problem


def test_bad_production_rows_are_named() -> None:
    f = random_problem(3, 2, 1)
    grid = flow_cube(f.flows)
    missing = f.production.iloc[1:]
    with pytest.raises(DataValidationError, match=r"lacks 1 country/sector row.*C00/S00"):
        technology(missing, f.inputs, grid)
    above = f.production.copy()
    above.loc[3, "value_added_share"] = 1.2
    with pytest.raises(DataValidationError, match=r"row 3 .*value_added_share 1.2"):
        technology(above, f.inputs, grid)
    outsider = f.production.copy()
    outsider.loc[0, "country"] = "ZZZ"
    with pytest.raises(SpecificationError, match="'ZZZ'"):
        technology(outsider, f.inputs, grid)
    dup = pd.concat([f.production, f.production.iloc[[0]]])
    with pytest.raises(DataValidationError, match="more than once"):
        technology(dup, f.inputs, grid)


def test_input_shares_must_sum_to_one_where_inputs_are_used() -> None:
    f = random_problem(3, 2, 2)
    grid = flow_cube(f.flows)
    short = f.inputs.copy()
    short.loc[0, "share"] *= 0.5
    row = short.loc[0]
    with pytest.raises(DataValidationError, match=rf"sector '{row.sector}' in {row.country}"):
        technology(f.production, short, grid)
    with pytest.raises(SpecificationError, match="no `inputs`"):
        technology(f.production, None, grid)
    with pytest.raises(SpecificationError, match="need `production`"):
        technology(None, f.inputs, grid)
    # tiny rounding is rescaled away
    near = f.inputs.assign(share=f.inputs["share"] * (1 + 5e-5))
    tech = technology(f.production, near, grid)
    np.testing.assert_allclose(tech.io.sum(axis=1), 1.0, rtol=1e-14)
    negative = f.inputs.copy()
    negative.loc[1, "share"] = -0.01
    with pytest.raises(DataValidationError, match="row 1"):
        technology(f.production, negative, grid)


def test_final_demand_shares_given_or_derived() -> None:
    f = random_problem(3, 2, 3)
    grid = flow_cube(f.flows)
    tech = technology(f.production, f.inputs, grid)
    alpha, clipped = final_shares(grid.values, f.tariff, tech, grid)
    assert clipped == []
    np.testing.assert_allclose(alpha.sum(axis=1), 1.0)
    # derived shares make the data an equilibrium: no change means no change
    given = f.production.assign(final_demand_share=alpha.ravel())
    res = ge.solve(f.flows, None, f.theta, tariffs=f.tariffs, production=given, inputs=f.inputs)
    assert res.settings["baseline"] == "data"
    off = f.production.assign(final_demand_share=0.4)
    with pytest.raises(DataValidationError, match=r"C00 sums to 0\.8"):
        technology(off, f.inputs, grid)


def test_shares_inconsistent_with_the_data_re_solve_the_baseline() -> None:
    f = random_problem(3, 2, 4)
    given = f.production.assign(final_demand_share=0.5)
    ch = random_changes(f, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = ge.solve(f.flows, ch, f.theta, tariffs=f.tariffs, production=given, inputs=f.inputs)
    assert res.settings["baseline"] == "re-solved (the data are not an equilibrium of the model)"
    assert res.converged
    # negative derived final demand is clipped with a warning that names the cells
    grid = flow_cube(f.flows)
    heavy = f.production.assign(value_added_share=0.01)
    tech = technology(heavy, f.inputs, grid)
    _, clipped = final_shares(grid.values, f.tariff, tech, grid)
    assert clipped
    with pytest.warns(DataValidationWarning, match=clipped[0]):
        ge.solve(f.flows, ch, f.theta, tariffs=f.tariffs, production=heavy, inputs=f.inputs)


def test_sector_nobody_buys_is_refused_when_demanded() -> None:
    f = random_problem(2, 2, 5)
    flows = f.flows.copy()
    flows.loc[(flows.sector == "S01") & (flows.importer == "C01"), "value"] = 0.0
    given = f.production.assign(final_demand_share=0.5)
    with pytest.raises(DataValidationError, match=r"C01 spends nothing on sector 'S01'"):
        ge.solve(flows, None, f.theta, production=given, inputs=f.inputs)
