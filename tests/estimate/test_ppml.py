"""PPML against statsmodels GLM Poisson with explicit dummies, and PPML behaviour."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
import statsmodels.api as sm

import ca_trade as ct
from ca_trade.exceptions import (
    CollinearityWarning,
    ConvergenceError,
    ConvergenceWarning,
    DataValidationError,
    SeparationWarning,
    SpecificationError,
)


def _panel(seed: int = 0, n: int = 800) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "exp": rng.integers(0, 8, n),
            "imp": rng.integers(0, 9, n),
            "yr": rng.integers(0, 3, n),
            "x1": rng.normal(size=n),
            "x2": rng.uniform(1, 5, n),
        }
    )
    eta = 0.4 * df["x1"] - 0.7 * np.log(df["x2"]) + 0.2 * df["exp"] - 0.1 * df["imp"]
    df["y"] = rng.poisson(np.exp(eta + 1.0)).astype(float) * rng.uniform(0.5, 1.5, n)
    df["cl"] = rng.integers(0, 40, n)
    return df


def _glm(df: pd.DataFrame, **kw: object) -> sm.GLM:
    dummies = pd.get_dummies(df[["exp", "imp"]].astype(str), drop_first=False, dtype=float)
    dummies = dummies.drop(columns=["imp_0"])
    X = pd.concat(
        [df[["x1"]], np.log(df[["x2"]]).rename(columns={"x2": "log(x2)"}), dummies], axis=1
    )
    return sm.GLM(df["y"], X, family=sm.families.Poisson(), **kw)


FORMULA = "y ~ x1 + log(x2) | exp + imp"


def test_coefficients_and_robust_se_match_statsmodels() -> None:
    df = _panel()
    ref = _glm(df).fit(tol=1e-13, cov_type="HC0")
    res = ct.ppml(FORMULA, df, tol=1e-13, fixef_tol=1e-13)
    names = ["x1", "log(x2)"]
    np.testing.assert_allclose(res.params[names].to_numpy(), ref.params[names], rtol=1e-8)
    n = res.nobs
    # ssc="stata": Stata's ML robust factor N/(N-1) over the HC0 sandwich
    np.testing.assert_allclose(
        res.bse[names].to_numpy(), ref.bse[names] * np.sqrt(n / (n - 1)), rtol=1e-6
    )
    assert res.deviance == pytest.approx(ref.deviance, rel=1e-10)
    assert res.converged


def test_iid_and_cluster_se_match_statsmodels() -> None:
    df = _panel(1)
    names = ["x1", "log(x2)"]
    iid = _glm(df).fit(tol=1e-13)
    res = ct.ppml(FORMULA, df, tol=1e-13, fixef_tol=1e-13, vcov="iid")
    np.testing.assert_allclose(res.bse[names].to_numpy(), iid.bse[names], rtol=1e-6)
    cl = _glm(df).fit(
        tol=1e-13,
        cov_type="cluster",
        cov_kwds={"groups": df["cl"].to_numpy(), "use_correction": False},
    )
    res_cl = res.with_vcov({"CRV1": "cl"})
    g = df["cl"].nunique()
    np.testing.assert_allclose(
        res_cl.bse[names].to_numpy(), cl.bse[names] * np.sqrt(g / (g - 1)), rtol=1e-6
    )
    assert res_cl.vcov_type == "CRV1: cl"


def test_offset_and_weights_match_statsmodels() -> None:
    df = _panel(2)
    rng = np.random.default_rng(9)
    df["off"] = rng.normal(scale=0.3, size=len(df))
    df["w"] = rng.uniform(0.5, 2.0, len(df))
    ref = _glm(df, offset=df["off"], var_weights=df["w"]).fit(tol=1e-13)
    res = ct.ppml(FORMULA, df, offset="off", weights="w", tol=1e-13, fixef_tol=1e-13)
    names = ["x1", "log(x2)"]
    np.testing.assert_allclose(res.params[names].to_numpy(), ref.params[names], rtol=1e-8)


def test_no_fixed_effects_has_intercept() -> None:
    df = _panel(3)
    res = ct.ppml("y ~ x1", df, tol=1e-13)
    ref = sm.GLM(df["y"], sm.add_constant(df[["x1"]]), family=sm.families.Poisson()).fit(tol=1e-13)
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    assert list(res.params.index) == ["Intercept", "x1"]


def test_polars_input_gives_same_result() -> None:
    df = _panel(4)
    a = ct.ppml(FORMULA, df)
    b = ct.ppml(FORMULA, pl.from_pandas(df))
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-12)


def test_collinear_regressor_is_dropped_with_warning() -> None:
    df = _panel(5)
    df["x1b"] = 2 * df["x1"]
    df["e2"] = df["exp"] * 1.0
    with pytest.warns(CollinearityWarning, match="x1b"):
        res = ct.ppml("y ~ x1 + x1b + e2 | exp + imp", df)
    assert res.collinear == ["x1b", "e2"]
    assert list(res.params.index) == ["x1"]


def test_separated_and_missing_rows_are_recorded() -> None:
    df = _panel(6).iloc[:300].copy()
    df.loc[df["exp"] == 7, "y"] = 0.0  # an exporter level that never trades
    df.loc[df.index[:3], "x1"] = np.nan
    with pytest.warns(SeparationWarning):
        res = ct.ppml(FORMULA, df, separation=("fe",))
    expected = sorted(set(df.index[df["exp"] == 7]) - set(df.index[:3]))
    assert sorted(res.dropped["separation_fe"].tolist()) == expected
    assert res.dropped["missing"].tolist() == list(df.index[:3])
    assert res.nobs == len(df) - res.dropped.total


def test_maxiter_warns_or_raises() -> None:
    df = _panel(7)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = ct.ppml(FORMULA, df, maxiter=2)
    assert not res.converged
    with pytest.raises(ConvergenceError):
        ct.ppml(FORMULA, df, maxiter=2, on_maxiter="raise")


def test_invalid_inputs() -> None:
    df = _panel(8)
    df.loc[0, "y"] = -1.0
    with pytest.raises(DataValidationError, match="non-negative"):
        ct.ppml(FORMULA, df)
    df.loc[0, "y"] = 1.0
    with pytest.raises(SpecificationError, match="ssc"):
        ct.ppml(FORMULA, df, ssc="sas")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="vcov"):
        ct.ppml(FORMULA, df, vcov="HC3")
    with pytest.raises(SpecificationError, match="separation"):
        ct.ppml(FORMULA, df, separation=("magic",))
    with pytest.raises(TypeError):
        ct.ppml(FORMULA, df, cluster="exp")  # type: ignore[call-arg]


def test_scaling_outcome_changes_only_fixed_effects() -> None:
    df = _panel(9)
    a = ct.ppml(FORMULA, df, tol=1e-12)
    df2 = df.assign(y=df["y"] * 1000.0)
    b = ct.ppml(FORMULA, df2, tol=1e-12)
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-7)
    np.testing.assert_allclose(b.predict().to_numpy(), 1000 * a.predict().to_numpy(), rtol=1e-6)


def test_three_way_converges_quietly() -> None:
    df = _panel(10, n=3000)
    df["pair"] = df["exp"].astype(str) + "_" + df["imp"].astype(str)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = ct.ppml("y ~ x1 | exp^yr + imp^yr + pair", df)
    assert res.converged
    assert res.n_iter < 50


def _border_panel(seed: int = 0, n: int = 40) -> pd.DataFrame:
    """Square exporter x importer cross-section with domestic flows and large outcomes."""
    rng = np.random.default_rng(seed)
    e, m = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    lon, lat = rng.uniform(0, 10, n), rng.uniform(0, 10, n)
    dist = np.hypot(lon[e] - lon[m], lat[e] - lat[m]) + 0.5
    brdr = (e != m).astype(float)
    size = rng.normal(0, 1.5, n)
    mu = np.exp(10 + size[e] + size[m] - 0.8 * np.log(dist) - 2.0 * brdr)
    y = mu * rng.lognormal(-0.5, 1.0, n * n)
    return pd.DataFrame({"y": y, "ln_dist": np.log(dist), "brdr": brdr, "exp": e, "imp": m})


def test_standard_errors_are_evaluated_at_the_estimate() -> None:
    # The IRLS stops on the deviance change, when mu of the previous iterate can still be
    # ~1e-4 off; the sandwich must use the final mu (this was the 'trade without borders'
    # 3e-6 SE discrepancy). Default tolerances must give the fully converged SEs.
    df = _border_panel()
    formula = "y ~ ln_dist + brdr | exp + imp"
    tight = ct.ppml(formula, df, tol=1e-13, fixef_tol=1e-13)
    default = ct.ppml(formula, df)
    np.testing.assert_allclose(default.params, tight.params, rtol=1e-7)
    np.testing.assert_allclose(default.bse, tight.bse, rtol=1e-8)


def test_irls_with_a_predemeaned_first_block_matches_a_cold_start() -> None:
    from ca_trade.estimate.demean import FixedEffects, demean
    from ca_trade.estimate.irls import initial_working, poisson_irls

    df = _panel(3)
    fe = FixedEffects.from_codes([df["exp"].to_numpy(), df["imp"].to_numpy()])
    y = df["y"].to_numpy()
    X = np.ascontiguousarray(df[["x1", "x2"]].to_numpy())
    cold = poisson_irls(y, X, fe, tol=1e-12, fixef_tol=1e-12)
    w0, z0 = initial_working(y, None, None)
    block, ok, _ = demean(np.column_stack([z0, X]), fe, w0, tol=1e-12)
    warm = poisson_irls(y, X, fe, tol=1e-12, fixef_tol=1e-12, init_block=block)
    assert ok and cold.converged and warm.converged
    np.testing.assert_allclose(warm.beta, cold.beta, rtol=1e-9)
    np.testing.assert_allclose(warm.X_tilde, cold.X_tilde, atol=1e-9)
    with pytest.raises(ValueError, match="init_block"):
        poisson_irls(y, X, fe, init_block=block[:, :2])
