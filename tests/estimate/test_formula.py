"""Tests of the fixest-style formula parser and design builder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from ca_trade.estimate.formula import build_design, fe_codes, parse_formula, to_pandas
from ca_trade.exceptions import SpecificationError


def test_parse_with_interactions() -> None:
    f = parse_formula("trade ~ rta + log(dist) | exporter^year + importer^year + pair")
    assert f.depvar == "trade"
    assert f.rhs == "rta + log(dist)"
    assert f.fixef == (("exporter", "year"), ("importer", "year"), ("pair",))
    assert f.fixef_names == ["exporter^year", "importer^year", "pair"]
    assert not f.has_intercept


def test_parse_without_fixed_effects_keeps_intercept() -> None:
    f = parse_formula("y ~ x1 + x2")
    assert f.fixef == ()
    assert f.has_intercept


@pytest.mark.parametrize(
    "bad",
    ["y x", "y ~ x ~ z", " ~ x", "y ~ x | a | b", "y ~ x | ", "y ~ x | log(a)", "y ~ x | a + a"],
)
def test_bad_formulas_raise(bad: str) -> None:
    with pytest.raises(SpecificationError):
        parse_formula(bad)


def test_design_transforms_missing_and_fixed_effects() -> None:
    df = pd.DataFrame(
        {
            "y": [1.0, 2.0, 3.0, np.nan, 5.0],
            "x": [1.0, 2.0, 0.0, 4.0, 5.0],
            "a": ["u", "v", "u", "v", None],
            "b": [1, 1, 2, 2, 2],
        }
    )
    d = build_design(parse_formula("y ~ log(x) | a^b"), df)
    assert d.xnames == ["log(x)"]
    # row 2: log(0) = -inf; row 3: missing y; row 4: missing fixed effect
    assert d.missing.tolist() == [False, False, True, True, True]
    assert d.fe_levels[0][: int(d.fe_codes[0][:4].max()) + 1] == ["u_1", "v_1", "u_2", "v_2"]
    assert d.fe_codes[0][4] == -1


def test_intercept_added_without_fixed_effects() -> None:
    df = pd.DataFrame({"y": [1.0, 2.0], "x": [3.0, 4.0]})
    d = build_design(parse_formula("y ~ x"), df)
    assert d.xnames == ["Intercept", "x"]
    np.testing.assert_array_equal(d.X[:, 0], 1.0)


def test_fe_codes_interaction() -> None:
    df = pd.DataFrame({"a": ["x", "y", "x", None], "b": [1, 1, 1, 2]})
    codes, labels = fe_codes(df, ("a", "b"))
    assert codes.tolist() == [0, 1, 0, -1]
    assert labels == ["x_1", "y_1"]


def test_unknown_columns_raise() -> None:
    df = pd.DataFrame({"y": [1.0], "x": [1.0]})
    with pytest.raises(SpecificationError, match="nope"):
        build_design(parse_formula("y ~ x | nope"), df)
    with pytest.raises(SpecificationError):
        build_design(parse_formula("y ~ missing_col"), df)


def test_polars_is_accepted() -> None:
    df = to_pandas(pl.DataFrame({"y": [1.0, 2.0], "x": [0.0, 1.0]}))
    assert isinstance(df, pd.DataFrame)
    with pytest.raises(SpecificationError, match="pandas or polars"):
        to_pandas({"y": [1.0]})


@pytest.mark.parametrize(
    "values",
    [
        [5, -3, 5, 7, -3, 0],  # negative integers, compiled pass
        [10**12, 3, 10**12],  # a range too wide: pandas
        np.array([2, 1, 2], dtype=np.uint8),
        np.array([2**63 + 5, 7, 2**63 + 5], dtype=np.uint64),  # beyond int64: pandas
    ],
)
def test_integer_codes_follow_first_appearance_like_pandas(values: object) -> None:
    s = pd.Series(values)
    codes, labels = fe_codes(pd.DataFrame({"a": s}), ("a",))
    ref_codes, ref_uniq = pd.factorize(s, sort=False)
    np.testing.assert_array_equal(codes, ref_codes)
    assert codes.dtype == np.int64
    assert labels == [str(u) for u in ref_uniq]
