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
    MissingValuesWarning,
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
    res_cl = res.with_vcov({"CRV1": "cl"}, data=df)
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
    with pytest.warns(SeparationWarning), pytest.warns(MissingValuesWarning, match="x1: 3"):
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


# -- no success without finite numbers (issue 10) --------------------------------------------


@pytest.mark.parametrize("scale", [1e160, 1e300, 1e-150, 1e-300])
def test_outcome_in_any_units_gives_the_same_estimates(scale: float) -> None:
    # before: y * 1e160 reported converged=True with infinite standard errors
    df = _panel(11)
    a = ct.ppml(FORMULA, df)
    b = ct.ppml(FORMULA, df.assign(y=df["y"] * scale))
    assert b.converged and b.n_iter == a.n_iter
    np.testing.assert_allclose(b.params, a.params, rtol=1e-8)
    np.testing.assert_allclose(b.bse, a.bse, rtol=1e-8)
    np.testing.assert_allclose(b.deviance, a.deviance * scale, rtol=1e-8)
    np.testing.assert_allclose(b.predict(), a.predict() * scale, rtol=1e-8)
    shift = b.fixef()["exp"] - a.fixef()["exp"]  # the first fixed effect absorbs log(scale)
    np.testing.assert_allclose(shift, np.log(scale), rtol=1e-8)
    # the model-based (iid) variance is the inverse Poisson information: it scales with 1/y
    np.testing.assert_allclose(
        b.with_vcov("iid").bse, a.with_vcov("iid").bse / np.sqrt(scale), rtol=1e-8
    )


def test_outcome_scale_moves_only_the_intercept_without_fixed_effects() -> None:
    df = _panel(12)
    a = ct.ppml("y ~ x1 + log(x2)", df)
    b = ct.ppml("y ~ x1 + log(x2)", df.assign(y=df["y"] * 1e200))
    np.testing.assert_allclose(b.params["Intercept"], a.params["Intercept"] + np.log(1e200))
    np.testing.assert_allclose(b.params[["x1", "log(x2)"]], a.params[["x1", "log(x2)"]], rtol=1e-8)
    np.testing.assert_allclose(b.bse, a.bse, rtol=1e-8)


@pytest.mark.parametrize("scale", [1e150, 1e-150])
def test_regressors_in_any_units_give_rescaled_estimates(scale: float) -> None:
    df = _panel(13)
    a = ct.ppml(FORMULA, df)
    b = ct.ppml(FORMULA, df.assign(x1=df["x1"] * scale))
    np.testing.assert_allclose(b.params["x1"] * scale, a.params["x1"], rtol=1e-8)
    np.testing.assert_allclose(b.bse["x1"] * scale, a.bse["x1"], rtol=1e-8)
    np.testing.assert_allclose(b.params["log(x2)"], a.params["log(x2)"], rtol=1e-8)


def test_numbers_that_float64_cannot_hold_raise_instead_of_returning() -> None:
    df = _panel(14)
    with pytest.raises(ConvergenceError, match="deviance"):
        ct.ppml(FORMULA, df.assign(y=df["y"] * 1e306))  # the deviance overflows
    with pytest.raises(ConvergenceError, match=r"variances of \['x1'\]"):
        ct.ppml(FORMULA, df.assign(x1=df["x1"] * 1e200))  # its variance underflows
    with pytest.raises(ConvergenceError, match="overflow"):
        ct.ppml(FORMULA, df, offset=np.where(df.index == 0, 800.0, 0.0))


def _separated(seed: int = 1, n: int = 300) -> pd.DataFrame:
    """Regressor separation: y = 0 wherever d = 1, within fixed-effect levels that trade.

    The fixed-effect check cannot see it (every level has positive outcomes); only the
    iterated rectifier does, and without it the coefficient of d runs to -infinity.
    """
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"g": rng.integers(0, 10, n), "z": rng.normal(size=n)})
    df["d"] = (rng.random(n) < 0.2).astype(float)
    df["y"] = rng.poisson(np.exp(1 + 0.3 * df["z"])).astype(float)
    df.loc[df["d"] == 1, "y"] = 0.0
    return df


@pytest.mark.parametrize("separation", [("fe",), None])
def test_diverging_separated_estimates_are_not_reported_as_converged(
    separation: tuple[str, ...] | None,
) -> None:
    # before: d = -20.7 (SE 0.16) with converged=True and no warning
    df = _separated()
    with pytest.warns(SeparationWarning, match=r"\['d'\] diverge") as caught:
        res = ct.ppml("y ~ d + z | g", df, separation=separation)
    assert f"{int((df['d'] == 1).sum())} observations" in str(caught[0].message)
    assert not res.converged
    assert res.params["d"] < -10
    # with the full checks the separated rows are dropped and d is not identified
    with pytest.warns(SeparationWarning), pytest.warns(CollinearityWarning, match="'d'"):
        full = ct.ppml("y ~ d + z | g", df)
    assert full.converged and "d" in full.collinear
    np.testing.assert_allclose(res.params["z"], full.params["z"], rtol=1e-6)


def test_fixed_effect_separation_without_checks_warns_and_keeps_the_estimates() -> None:
    df = _separated()
    df.loc[df["g"] == 3, "y"] = 0.0  # a level that never trades
    df = df[df["d"] == 0].reset_index(drop=True)
    with pytest.warns(SeparationWarning, match="fixed effects of their levels diverge"):
        res = ct.ppml("y ~ z | g", df, separation=None)
    assert res.converged  # the coefficients are unaffected
    ref = ct.ppml("y ~ z | g", df[df["g"] != 3])
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-6)


def test_no_divergence_warning_on_gravity_data_with_zeros() -> None:
    df = _panel(15, n=3000)
    df["pair"] = df["exp"].astype(str) + "_" + df["imp"].astype(str)
    df.loc[df.index % 5 == 0, "y"] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeparationWarning)
        for separation in [("fe", "ir"), ("fe",), None]:
            assert ct.ppml(
                "y ~ x1 + log(x2) | exp^yr + imp^yr", df, separation=separation
            ).converged


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("tol", float("nan")),
        ("tol", float("inf")),
        ("tol", 0.0),
        ("tol", -1e-8),
        ("tol", 1.5),
        ("tol", "1e-8"),
        ("tol", True),
        ("fixef_tol", float("nan")),
        ("fixef_tol", None),
        ("maxiter", 10.5),
        ("maxiter", 0),
        ("maxiter", True),
        ("maxiter", "100"),
        ("fixef_maxiter", float("nan")),
        ("fixef_maxiter", -5),
        ("drop_singletons", "no"),
        ("safe_formula", 1),
    ],
)
def test_invalid_options_are_refused(option: str, value: object) -> None:
    # before: tol=nan passed the `tol <= 0` check
    with pytest.raises(SpecificationError, match=option):
        ct.ppml(FORMULA, _panel(8), **{option: value})  # type: ignore[arg-type]
