"""The named steps of a fit (estimate/fit.py) and refits from the stored estimation sample."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from ca_trade.estimate.fit import (
    Refit,
    drop_unidentified,
    estimation_sample,
    partial_out,
    pow2,
    solve,
)
from ca_trade.estimate.formula import build_design, parse_formula
from ca_trade.estimate.state import FitOptions
from ca_trade.exceptions import (
    CollinearityWarning,
    DataValidationError,
    MissingValuesWarning,
    SingletonWarning,
)


def _panel(seed: int = 0, n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {"x": rng.normal(size=n), "g": rng.integers(0, 12, n), "w": rng.uniform(0.5, 2.0, n)}
    )
    df["y"] = rng.poisson(np.exp(1.0 + 0.4 * df["x"])).astype(float) * 1000.0
    return df


def test_estimation_sample_sets_rows_aside_by_reason() -> None:
    df = _panel()
    df.loc[3, "x"] = np.nan
    df.loc[5, "w"] = np.inf
    df.loc[7, "w"] = 0.0
    df.index = df.index + 100  # labels differ from positions
    parsed = parse_formula("y ~ x | g")
    with pytest.warns(MissingValuesWarning):
        sample, dropped = estimation_sample("ppml", "y", build_design(parsed, df), df, weights="w")
    assert dropped["missing"].tolist() == [103]
    assert dropped["non_finite"].tolist() == [105]
    assert dropped["zero_weight"].tolist() == [107]
    assert sample.nobs == len(df) - 3
    assert not np.isin([3, 5, 7], sample.rows).any()
    np.testing.assert_array_equal(sample.index, df.index.to_numpy()[sample.rows])
    np.testing.assert_array_equal(sample.y, df["y"].to_numpy()[sample.rows])
    assert sample.weights is not None and sample.xnames == ("x",)


def test_unidentified_partialled_and_solved_steps() -> None:
    df = _panel()
    df.loc[len(df)] = {"x": 0.3, "g": 99, "w": 1.0, "y": 5.0}  # alone in its level
    df["x2"] = 2.0 * df["x"]  # collinear with x
    parsed = parse_formula("y ~ x + x2 | g")
    sample, _ = estimation_sample("ppml", "y", build_design(parsed, df), df)
    options = FitOptions()
    with pytest.warns(SingletonWarning):
        kept, dropped = drop_unidentified("ppml", sample, options, "y")
    assert dropped["singleton"].tolist() == [len(df) - 1]
    assert kept.nobs == sample.nobs - 1
    with pytest.warns(CollinearityWarning):
        part = partial_out("ppml", kept, options, "y")
    assert part.xnames == ("x",) and part.collinear == ("x2",)
    # powers of two: dividing by them is exact
    assert np.log2(part.y_scale) == round(np.log2(part.y_scale))
    assert np.all(np.log2(part.x_scale) == np.round(np.log2(part.x_scale)))
    sol = solve("ppml", part, options)
    res = ct.ppml("y ~ x | g", df.iloc[:-1])
    np.testing.assert_allclose(sol.beta, res.params.to_numpy(), rtol=1e-10)
    assert sol.converged and sol.deviance == pytest.approx(res.deviance, rel=1e-12)
    with pytest.raises(DataValidationError, match="no observations left"):
        drop_unidentified("ppml", kept.take(np.zeros(kept.nobs, dtype=bool)), options, "y")
    unchecked = FitOptions(separation=(), drop_singletons=False)
    with pytest.raises(DataValidationError, match="zero in every observation"):
        drop_unidentified("ppml", kept.take(kept.y == 0), unchecked, "y")


def test_a_refit_uses_the_stored_sample_not_the_data() -> None:
    df = _panel(3)
    res = ct.ppml("y ~ x | g", df, weights="w")
    st = res._state
    refit = Refit("ppml", "y", st.sample, st.options)
    half = np.flatnonzero(st.sample.rows % 2 == 0)
    params, nobs = refit(half)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = ct.ppml("y ~ x | g", df.iloc[st.sample.rows[half]], weights="w")
    assert nobs == direct.nobs
    np.testing.assert_allclose(params.to_numpy(), direct.params.to_numpy(), rtol=1e-10)


def test_a_fit_keeps_no_view_of_the_callers_data() -> None:
    # the sample uses the design's arrays without copying them when no row is set aside; a
    # later edit of the caller's DataFrame must not reach a stored fit
    df = _panel(4)
    res = ct.ols("y ~ x | g", df)
    st = res._state
    for arr in (st.sample.y, st.sample.X):
        assert not any(np.may_share_memory(arr, df[c].to_numpy()) for c in ("x", "y", "g"))
    kept = st.sample.y.copy()
    df["y"] *= 2.0
    np.testing.assert_array_equal(st.sample.y, kept)


def test_positions_serve_as_labels_only_for_a_default_index() -> None:
    df = _panel(5)
    df.loc[2, "x"] = np.nan
    parsed = parse_formula("y ~ x | g")
    for index in (pd.RangeIndex(len(df)), pd.RangeIndex(7, 7 + len(df)), df.index[::-1]):
        framed = df.set_axis(index)
        with pytest.warns(MissingValuesWarning):
            sample, dropped = estimation_sample("ols", "y", build_design(parsed, framed), framed)
        np.testing.assert_array_equal(sample.index, framed.index.to_numpy()[sample.rows])
        assert dropped["missing"].tolist() == [framed.index[2]]
        sub = sample.take(np.arange(sample.nobs) % 3 == 0)
        np.testing.assert_array_equal(sub.index, framed.index.to_numpy()[sub.rows])


def test_pow2_is_the_nearest_power_of_two() -> None:
    assert pow2(3.0) == 4.0 and pow2(float("inf")) == 1.0 and pow2(0.7) == 0.5


def test_ols_demeans_to_the_tolerance_asked_and_decides_collinearity_at_1e10() -> None:
    rng = np.random.default_rng(7)
    n = 3000
    df = pd.DataFrame(
        {"g": rng.integers(0, 40, n), "h": rng.integers(0, 30, n), "x": rng.normal(size=n)}
    )
    df["z"] = rng.normal(size=n)
    df["y"] = 1.0 + 0.5 * df["x"] - 0.2 * df["z"] + rng.normal(size=n)
    tight = ct.ols("y ~ x + z | g + h", df, fixef_tol=1e-10)
    loose = ct.ols("y ~ x + z | g + h", df, fixef_tol=1e-6)
    np.testing.assert_allclose(loose.params, tight.params, rtol=1e-9)
    np.testing.assert_allclose(loose.bse, tight.bse, rtol=1e-7)
    # a regressor absorbed by a fixed effect, and one that is a combination of the others,
    # are found as at the tight tolerance
    df["absorbed"] = df["g"] * 0.25 - df["h"] * 2.0
    df["combo"] = df["x"] - 3.0 * df["z"]
    for fixef_tol in (1e-10, 1e-6):
        with pytest.warns(CollinearityWarning):
            res = ct.ols("y ~ x + absorbed + z + combo | g + h", df, fixef_tol=fixef_tol)
        assert res.collinear == ["absorbed", "combo"]
        np.testing.assert_allclose(res.params[["x", "z"]], tight.params, rtol=1e-9)
