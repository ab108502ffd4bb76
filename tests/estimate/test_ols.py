"""OLS against statsmodels with explicit dummies and linearmodels AbsorbingLS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from linearmodels.iv.absorbing import AbsorbingLS

import ca_trade as ct
from ca_trade.exceptions import DataValidationError, SingletonWarning, SpecificationError


def _data(seed: int = 0, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "a": rng.integers(0, 10, n),
            "b": rng.integers(0, 12, n),
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "cl": rng.integers(0, 30, n),
        }
    )
    df["y"] = 1.5 * df["x1"] - 0.5 * df["x2"] + 0.3 * df["a"] + rng.normal(size=n)
    return df


def _sm(df: pd.DataFrame) -> sm.OLS:
    d = pd.get_dummies(df[["a", "b"]].astype(str), dtype=float).drop(columns=["b_0"])
    return sm.OLS(df["y"], pd.concat([df[["x1", "x2"]], d], axis=1))


NAMES = ["x1", "x2"]


@pytest.mark.parametrize(
    ("vcov", "sm_kw"),
    [
        ("iid", {}),
        ("hetero", {"cov_type": "HC1"}),
        ({"CRV1": "cl"}, {"cov_type": "cluster"}),
    ],
)
def test_matches_statsmodels_dummies(vcov: object, sm_kw: dict[str, object]) -> None:
    df = _data()
    if sm_kw.get("cov_type") == "cluster":
        sm_kw = {**sm_kw, "cov_kwds": {"groups": df["cl"].to_numpy()}}
    ref = _sm(df).fit(**sm_kw)
    res = ct.ols("y ~ x1 + x2 | a + b", df, vcov=vcov, fixef_tol=1e-13)  # type: ignore[arg-type]
    np.testing.assert_allclose(res.params[NAMES].to_numpy(), ref.params[NAMES], rtol=1e-8)
    # ssc="stata" (reghdfe): N-K counts absorbed levels, as statsmodels with dummies
    np.testing.assert_allclose(res.bse[NAMES].to_numpy(), ref.bse[NAMES], rtol=1e-6)
    assert res.r2 == pytest.approx(ref.rsquared, rel=1e-8)


def test_matches_linearmodels_absorbing_ls() -> None:
    df = _data(1)
    absorb = pd.DataFrame({"a": df["a"].astype("category"), "b": df["b"].astype("category")})
    ref = AbsorbingLS(df["y"], df[["x1", "x2"]], absorb=absorb).fit(cov_type="robust")
    res = ct.ols("y ~ x1 + x2 | a + b", df, fixef_tol=1e-13)
    np.testing.assert_allclose(res.params[NAMES].to_numpy(), ref.params[NAMES], rtol=1e-7)


def test_weights_match_statsmodels_wls() -> None:
    df = _data(2)
    w = np.random.default_rng(3).uniform(0.5, 2.0, len(df))
    d = pd.get_dummies(df[["a", "b"]].astype(str), dtype=float).drop(columns=["b_0"])
    ref = sm.WLS(df["y"], pd.concat([df[NAMES], d], axis=1), weights=w).fit()
    res = ct.ols("y ~ x1 + x2 | a + b", df, weights=w, vcov="iid", fixef_tol=1e-13)
    np.testing.assert_allclose(res.params[NAMES].to_numpy(), ref.params[NAMES], rtol=1e-8)
    np.testing.assert_allclose(res.bse[NAMES].to_numpy(), ref.bse[NAMES], rtol=1e-6)


def test_singletons_dropped_and_reported() -> None:
    df = _data(4, n=200)
    df.loc[df.index[0], "a"] = 99  # a level with a single observation
    with pytest.warns(SingletonWarning):
        res = ct.ols("y ~ x1 | a", df)
    assert res.dropped["singleton"].tolist() == [df.index[0]]
    assert res.nobs == 199


def test_fitted_values_and_fixef_reproduce_outcome_fit() -> None:
    df = _data(5)
    res = ct.ols("y ~ x1 + x2 | a + b", df)
    fx = res.fixef()
    assert fx["b"].iloc[0] == 0.0  # normalisation: first level of later fixed effects at 0
    eta = (
        df[NAMES].to_numpy() @ res.params[NAMES].to_numpy()
        + fx["a"].reindex(df["a"].astype(str)).to_numpy()
        + fx["b"].reindex(df["b"].astype(str)).to_numpy()
    )
    np.testing.assert_allclose(eta, res.predict().to_numpy(), atol=1e-8)
    np.testing.assert_allclose(res.predict(df).to_numpy(), res.predict().to_numpy(), atol=1e-8)


# -- no success without finite numbers (issue 10) --------------------------------------------


def _scaled_panel() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    n = 300
    df = pd.DataFrame({"x": rng.normal(size=n), "g": rng.integers(0, 6, n)})
    df["y"] = 1.0 + 0.5 * df["x"] + rng.normal(size=n)
    return df


def test_outcome_overflowing_float64_is_refused() -> None:
    # before: y * 1e300 gave +-inf standard errors with converged=True
    df = _scaled_panel()
    with pytest.raises(DataValidationError, match="overflow float64"):
        ct.ols("y ~ x | g", df.assign(y=df["y"] * 1e300))


@pytest.mark.parametrize("scale", [1e150, 1e-150, 3.0])
def test_outcome_and_regressors_in_any_units(scale: float) -> None:
    df = _scaled_panel()
    a = ct.ols("y ~ x | g", df)
    b = ct.ols("y ~ x | g", df.assign(y=df["y"] * scale))
    np.testing.assert_allclose(b.params, a.params * scale, rtol=1e-12)
    np.testing.assert_allclose(b.bse, a.bse * scale, rtol=1e-12)
    c = ct.ols("y ~ x | g", df.assign(x=df["x"] * scale))
    np.testing.assert_allclose(c.params * scale, a.params, rtol=1e-12)
    np.testing.assert_allclose(c.bse * scale, a.bse, rtol=1e-12)


@pytest.mark.parametrize(
    ("option", "value"),
    [("fixef_tol", float("nan")), ("fixef_tol", 0), ("fixef_maxiter", 2.5)],
)
def test_invalid_options_are_refused(option: str, value: object) -> None:
    with pytest.raises(SpecificationError, match=option):
        ct.ols("y ~ x | g", _scaled_panel(), **{option: value})  # type: ignore[arg-type]
