"""Missing and non-finite inputs are dropped visibly, by one rule for every dtype.

Before the fix a polars Boolean with nulls or a pandas object column with None kept its rows
(the nulls became the reference category), a pandas ``boolean`` column with NA raised a raw
TypeError, and infinite values dropped rows without a word. Now every representation of a
missing value drops the row as ``missing``, every infinite or non-finite-after-transform value
as ``non_finite``, with one MissingValuesWarning, and the estimates equal those on the rows
that remain.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

import ca_trade as ct
from ca_trade.estimate.missing import inf_mask, na_mask, normalise, scan_columns, scan_values
from ca_trade.exceptions import (
    DataValidationError,
    DataValidationWarning,
    MissingValuesWarning,
    SpecificationError,
)

MISS = [3, 17, 40]  # rows made missing


def _panel(n: int = 240, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "flag": rng.random(n) < 0.4,
            "region": rng.choice(["north", "south", "east"], n),
            "g": rng.integers(0, 8, n),
            "h": rng.choice(list("abcdef"), n),
            "w": rng.uniform(0.5, 2.0, n),
            "cl": rng.integers(0, 30, n),
        }
    )
    eta = 0.5 + 0.3 * df["x"] + 0.4 * df["flag"] + (df["region"] == "south") * 0.2
    df["y"] = rng.poisson(np.exp(eta)).astype(float)
    df["pos"] = rng.uniform(0.5, 3.0, n)
    return df


def _fit(data: Any, formula: str, safe: bool = False, **kw: Any) -> tuple[Any, list[Any]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = ct.ppml(formula, data, safe_formula=safe, **kw)
    return res, [w for w in caught if issubclass(w.category, MissingValuesWarning)]


# each representation of a column whose rows MISS are missing ------------------------------


def _bool_variants(df: pd.DataFrame) -> dict[str, Callable[[], Any]]:
    flag = df["flag"].to_numpy()
    obj = pd.Series(flag, dtype=object)
    obj[MISS] = None
    nullable = pd.array(flag, dtype="boolean")
    nullable[MISS] = pd.NA

    def polars() -> pl.DataFrame:
        out = pl.from_pandas(df.drop(columns="flag"))
        vals = [None if i in MISS else bool(v) for i, v in enumerate(flag)]
        return out.with_columns(pl.Series("flag", vals, dtype=pl.Boolean))

    return {
        "object None": lambda: df.assign(flag=obj),
        "pandas boolean NA": lambda: df.assign(flag=nullable),
        "polars Boolean null": polars,
    }


def _str_variants(df: pd.DataFrame) -> dict[str, Callable[[], Any]]:
    reg = df["region"].to_numpy(dtype=object)

    def with_none(dtype: Any) -> pd.DataFrame:
        s = pd.Series(reg, dtype=object)
        s[MISS] = None
        return df.assign(region=s.astype(dtype) if dtype is not object else s)

    def polars(dtype: Any) -> pl.DataFrame:
        out = pl.from_pandas(df.drop(columns="region"))
        vals = [None if i in MISS else str(v) for i, v in enumerate(reg)]
        return out.with_columns(pl.Series("region", vals, dtype=dtype))

    return {
        "object None": lambda: with_none(object),
        "str NaN": lambda: with_none("str"),
        "pandas string NA": lambda: with_none("string"),
        "category NaN": lambda: with_none("category"),
        "polars String null": lambda: polars(pl.String),
        "polars Categorical null": lambda: polars(pl.Categorical),
    }


def _num_variants(df: pd.DataFrame) -> dict[str, Callable[[], Any]]:
    x = df["x"].to_numpy()

    def nan() -> pd.DataFrame:
        v = x.copy()
        v[MISS] = np.nan
        return df.assign(x=v)

    def obj() -> pd.DataFrame:
        v = pd.Series(x, dtype=object)
        v[MISS] = None
        return df.assign(x=v)

    def nullable() -> pd.DataFrame:
        v = pd.array(x, dtype="Float64")
        v[MISS] = pd.NA
        return df.assign(x=v)

    def polars() -> pl.DataFrame:
        vals = [None if i in MISS else float(v) for i, v in enumerate(x)]
        return pl.from_pandas(df.drop(columns="x")).with_columns(pl.Series("x", vals))

    return {"NaN": nan, "object None": obj, "Float64 NA": nullable, "polars null": polars}


CASES = [
    ("y ~ x + flag | g", "flag", _bool_variants),
    ("y ~ x + region | g", "region", _str_variants),
    ("y ~ x + C(region) | g", "region", _str_variants),
    ("y ~ log(pos) + x | g", "x", _num_variants),
]


@pytest.mark.parametrize("safe", [False, True], ids=["formulaic", "safe"])
@pytest.mark.parametrize(("formula", "column", "variants"), CASES)
def test_every_representation_of_missing_drops_the_row(
    formula: str, column: str, variants: Callable[[pd.DataFrame], dict[str, Any]], safe: bool
) -> None:
    df = _panel()
    expected, none = _fit(df.drop(index=MISS), formula, safe)
    assert none == []
    for name, make in variants(df).items():
        res, caught = _fit(make(), formula, safe)
        assert res.dropped["missing"].tolist() == MISS, name
        assert res.nobs == len(df) - len(MISS), name
        assert list(res.params.index) == list(expected.params.index), name
        np.testing.assert_allclose(res.params, expected.params, rtol=1e-10, err_msg=name)
        np.testing.assert_allclose(res.bse, expected.bse, rtol=1e-8, err_msg=name)
        assert len(caught) == 1, name
        msg = str(caught[0].message)
        assert f"{len(MISS)} of {len(df)} rows dropped" in msg and f"{column}: 3" in msg, msg


def test_missing_fixed_effect_cluster_weights_and_offset() -> None:
    df = _panel()
    df["h"] = df["h"].astype(object)
    df.loc[5, "h"] = None
    df["cl"] = df["cl"].astype("Int64")
    df.loc[6, "cl"] = pd.NA
    df.loc[7, "w"] = np.nan
    df["off"] = 0.1
    df.loc[8, "off"] = None
    df.loc[9, "w"] = 0.0
    res, caught = _fit(df, "y ~ x | g + h", weights="w", offset="off", vcov={"CRV1": "cl"})
    assert res.dropped["missing"].tolist() == [5, 6, 7, 8]
    assert res.dropped["zero_weight"].tolist() == [9]
    assert len(caught) == 1
    msg = str(caught[0].message)
    for part in ("4 with missing values", "h: 1", "cl: 1", "w: 1", "off: 1"):
        assert part in msg, msg
    # the same estimates as on the complete rows
    keep = df.drop(index=[5, 6, 7, 8, 9])
    ref = ct.ppml("y ~ x | g + h", keep, weights="w", offset="off", vcov={"CRV1": "cl"})
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-8)


def test_infinite_and_transform_non_finite_values() -> None:
    df = _panel()
    df.loc[[1, 2], "x"] = [np.inf, -np.inf]
    df.loc[4, "pos"] = 0.0  # log(0) = -inf
    df.loc[11, "x"] = np.nan
    for safe in (False, True):
        res, caught = _fit(df, "y ~ x + log(pos) | g", safe)
        assert res.dropped["missing"].tolist() == [11]
        assert res.dropped["non_finite"].tolist() == [1, 2, 4]
        assert len(caught) == 1
        msg = str(caught[0].message)
        assert "1 with missing values (x: 1)" in msg
        assert "3 with non-finite values (x: 2, log(pos): 1)" in msg


def test_weights_and_offset_arrays_follow_the_rule() -> None:
    df = _panel()
    w = df["w"].to_numpy().copy()
    w[[0, 1]] = [np.nan, np.inf]
    res, caught = _fit(df, "y ~ x | g", weights=w)
    assert res.dropped["missing"].tolist() == [0]
    assert res.dropped["non_finite"].tolist() == [1]
    assert "weights: 1" in str(caught[0].message)
    with pytest.raises(DataValidationError, match=r"non-negative.*row 5"):
        ct.ppml("y ~ x | g", df, weights=np.where(df.index == 5, -1.0, 1.0))


def test_with_vcov_on_a_cluster_with_missing_values_says_what_to_do() -> None:
    df = _panel()
    df["cl2"] = df["cl"].astype(float)
    df.loc[0, "cl2"] = np.nan
    res = ct.ppml("y ~ x | g", df)
    with pytest.raises(DataValidationError, match=r"estimate again with vcov="):
        res.with_vcov({"CRV1": "cl2"}, data=df)


def test_no_warning_without_missing_values_and_a_filterable_class() -> None:
    res, caught = _fit(_panel(), "y ~ x + flag + region | g")
    assert caught == [] and res.dropped.total == 0
    assert issubclass(MissingValuesWarning, DataValidationWarning)


def test_duplicate_column_names_are_refused() -> None:
    df = _panel()[["y", "x", "g"]]
    df = pd.concat([df, df[["x"]]], axis=1)
    for safe in (False, True):
        with pytest.raises(SpecificationError, match="more than one column named 'x'"):
            ct.ppml("y ~ x | g", df, safe_formula=safe)


def test_everything_missing_is_an_error() -> None:
    df = _panel().assign(x=np.nan)
    with pytest.raises(DataValidationError, match="every row has a missing"):
        ct.ppml("y ~ x | g", df)


# the functions of the module -------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "na", "inf"),
    [
        (pd.Series([1.0, np.nan, np.inf, -np.inf]), [0, 1, 0, 0], [0, 0, 1, 1]),
        (pd.Series([1, None, 2], dtype="Int64"), [0, 1, 0], [0, 0, 0]),
        (pd.Series([1.0, None, np.inf], dtype="Float64"), [0, 1, 0], [0, 0, 1]),
        (pd.Series([True, None], dtype="boolean"), [0, 1], [0, 0]),
        (pd.Series(["a", None, float("nan")], dtype=object), [0, 1, 1], [0, 0, 0]),
        (pd.Series([1.0, None, float("inf")], dtype=object), [0, 1, 0], [0, 0, 1]),
        (pd.Series(["a", None], dtype="string"), [0, 1], [0, 0]),
        (pd.Series(["a", None], dtype="category"), [0, 1], [0, 0]),
        (pd.Series([1.0, np.inf, None], dtype="category"), [0, 0, 1], [0, 1, 0]),
        (pd.Series(pd.to_datetime(["2020-01-01", None])), [0, 1], [0, 0]),
        (pl.Series([1.0, None]).to_pandas(), [0, 1], [0, 0]),
        (np.array([1.0, np.nan]), [0, 1], [0, 0]),
    ],
)
def test_masks_for_every_dtype(values: Any, na: list[int], inf: list[int]) -> None:
    assert na_mask(values).tolist() == [bool(v) for v in na]
    assert inf_mask(values).tolist() == [bool(v) for v in inf]


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        (pd.Series([True, False], dtype=object), "bool"),
        (pd.Series([True, False], dtype="boolean"), "bool"),
        (pd.Series([1, 2], dtype="Int64"), "int64"),
        (pd.Series([1.5, 2.0], dtype="Float64"), "float64"),
        (pd.Series([1, 2.5], dtype=object), "float64"),
        (pd.Series(["a", "b"], dtype="string"), "object"),
        (pd.Series(["a", "b"], dtype=object), "object"),
        (pd.Series(["a", "b"], dtype="category"), "category"),
    ],
)
def test_normalise_gives_plain_dtypes(values: pd.Series, dtype: str) -> None:
    assert str(normalise(values).dtype) == dtype


def test_scan_counts_and_precedence() -> None:
    df = pd.DataFrame({"a": [np.inf, np.nan, 1.0], "b": [None, np.inf, "x"]})
    s = scan_columns(df, ["a", "b", "a"])
    assert s.missing.tolist() == [True, True, False]
    assert s.non_finite.tolist() == [False, False, False]  # missing wins
    assert s.by_column == {"a": (1, 1), "b": (1, 1)}
    assert scan_values("w", [1.0, 2.0]).by_column == {}
