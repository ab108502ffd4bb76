"""Validation of sectoral flows and elasticities: errors name the row and say what to do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ca_trade.ge as ge
from ca_trade.exceptions import (
    DataValidationError,
    MissingDomesticFlowsError,
    SpecificationError,
)
from ca_trade.ge.sectoral.inputs import as_pandas, flow_cube, theta_vector
from tests.ge.sectoral._problems import random_problem


def _flows() -> pd.DataFrame:
    return random_problem(3, 2, 0).flows


def test_negative_and_missing_flows_name_the_row() -> None:
    bad = _flows()
    bad.loc[5, "value"] = -1.0
    row = bad.loc[5]
    with pytest.raises(DataValidationError, match=rf"row 5 .*{row.exporter}.*{row.sector}"):
        flow_cube(bad)
    nan = _flows()
    nan.loc[7, "value"] = np.nan
    with pytest.raises(DataValidationError, match="row 7"):
        ge.solve(nan, None, 4.0)
    code = _flows()
    code.loc[2, "sector"] = None
    with pytest.raises(DataValidationError, match="'sector' is missing in 1 row"):
        flow_cube(code)


def test_duplicates_and_missing_domestic_sales() -> None:
    f = _flows()
    dup = pd.concat([f, f.iloc[[4]]], ignore_index=True)
    with pytest.raises(DataValidationError, match="more than once"):
        flow_cube(dup)
    no_home = f[~((f.exporter == "C01") & (f.importer == "C01") & (f.sector == "S01"))]
    with pytest.raises(MissingDomesticFlowsError, match="C01/S01"):
        ge.solve(no_home, None, 4.0)
    # a zero domestic row is data (the country does not produce the sector), not a gap
    zero = f.copy()
    zero.loc[
        (zero.exporter == "C01") & (zero.importer == "C01") & (zero.sector == "S01"), "value"
    ] = 0
    assert flow_cube(zero).values[1, 1, 1] == 0.0
    nothing = f.copy()
    nothing.loc[(nothing.exporter == "C02") & (nothing.importer == "C02"), "value"] = 0.0
    with pytest.raises(MissingDomesticFlowsError, match="C02"):
        flow_cube(nothing)
    with pytest.raises(SpecificationError, match="value_usd"):
        flow_cube(f, value="value_usd")


def test_theta_by_sector() -> None:
    assert theta_vector(4, ("A", "B")).tolist() == [4.0, 4.0]
    assert theta_vector(pd.Series({"B": 2.0, "A": 3.0}), ("A", "B")).tolist() == [3.0, 2.0]
    with pytest.raises(SpecificationError, match=r"missing: \['B'\]"):
        theta_vector({"A": 3.0}, ("A", "B"))
    with pytest.raises(SpecificationError, match=r"not in the flows: \['C'\]"):
        theta_vector({"A": 3.0, "B": 1.0, "C": 1.0}, ("A", "B"))
    with pytest.raises(SpecificationError, match="sector 'B' has -1"):
        theta_vector({"A": 3.0, "B": -1}, ("A", "B"))
    with pytest.raises(SpecificationError, match="numbers"):
        theta_vector("four", ("A",))


def test_frames_other_than_pandas() -> None:
    with pytest.raises(SpecificationError, match="pandas or polars"):
        as_pandas([1, 2], "flows")
    import polars as pl

    lazy = pl.from_pandas(_flows()).lazy()
    assert as_pandas(lazy, "flows").shape == _flows().shape
