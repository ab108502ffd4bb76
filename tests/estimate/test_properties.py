"""Properties every PPML / OLS fit with fixed effects must have (hypothesis, small panels).

- invariance to the order of the rows and to the labels of fixed-effect levels;
- rescaling the PPML outcome changes only the fixed effects (coefficients and standard errors
  unchanged, predictions rescaled);
- a constant regressor is collinear with the fixed effects and is dropped with a warning;
- OLS with absorbed fixed effects equals OLS with explicit dummy variables (Frisch-Waugh-Lovell).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ca_trade as ct
from ca_trade.exceptions import CaTradeWarning, CollinearityWarning

PPML_FORMULA = "trade ~ rta + ln_tariff | exp_year + imp_year + pair"
OLS_FORMULA = "ln_trade ~ rta + ln_tariff | exp_year + imp_year + pair"
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)


def _panel(n_countries: int, n_years: int, seed: int) -> pd.DataFrame:
    """Small three-way gravity panel with zeros, string country labels and a log outcome."""
    rng = np.random.default_rng(seed)
    names = [f"C{i:02d}" for i in range(n_countries)]
    rows = [
        (e, m, 2000 + t)
        for e in range(n_countries)
        for m in range(n_countries)
        if e != m
        for t in range(n_years)
    ]
    e, m, t = (np.array(v) for v in zip(*rows, strict=True))
    size = rng.normal(0, 1, n_countries)
    pair_effect = rng.normal(0, 0.5, (n_countries, n_countries))[e, m]
    rta = (rng.random(e.shape[0]) < 0.3).astype(float)
    ln_tariff = rng.uniform(0, 0.2, e.shape[0])
    mu = np.exp(1.0 + size[e] + size[m] + pair_effect + 0.4 * rta - 2.0 * ln_tariff)
    trade = np.where(rng.random(e.shape[0]) < 0.2, 0.0, mu * rng.lognormal(0, 0.3, e.shape[0]))
    df = pd.DataFrame(
        {
            "exporter": np.array(names)[e],
            "importer": np.array(names)[m],
            "year": t,
            "rta": rta,
            "ln_tariff": ln_tariff,
            "trade": trade,
        }
    )
    df["exp_year"] = df["exporter"] + "_" + df["year"].astype(str)
    df["imp_year"] = df["importer"] + "_" + df["year"].astype(str)
    df["pair"] = df["exporter"] + "_" + df["importer"]
    df["ln_trade"] = np.log1p(df["trade"])
    return df


panels = st.builds(
    _panel,
    n_countries=st.integers(5, 8),
    n_years=st.integers(3, 4),
    seed=st.integers(0, 2**31 - 1),
)


def _fit(kind: str, formula: str, df: pd.DataFrame) -> ct.estimate.results.GravityResults:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CaTradeWarning)
        if kind == "ppml":
            return ct.ppml(formula, df, tol=1e-12)
        return ct.ols(formula, df)


def _assert_same_fit(
    a: ct.estimate.results.GravityResults, b: ct.estimate.results.GravityResults
) -> None:
    assert a.nobs == b.nobs
    assert list(a.params.index) == list(b.params.index)
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(a.bse.to_numpy(), b.bse.to_numpy(), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize(("kind", "formula"), [("ppml", PPML_FORMULA), ("ols", OLS_FORMULA)])
@SETTINGS
@given(df=panels, order_seed=st.integers(0, 2**31 - 1))
def test_row_order_does_not_matter(
    kind: str, formula: str, df: pd.DataFrame, order_seed: int
) -> None:
    base = _fit(kind, formula, df)
    perm = np.random.default_rng(order_seed).permutation(len(df))
    shuffled = _fit(kind, formula, df.iloc[perm])
    _assert_same_fit(base, shuffled)


@pytest.mark.parametrize(("kind", "formula"), [("ppml", PPML_FORMULA), ("ols", OLS_FORMULA)])
@SETTINGS
@given(df=panels, label_seed=st.integers(0, 2**31 - 1))
def test_fixed_effect_labels_do_not_matter(
    kind: str, formula: str, df: pd.DataFrame, label_seed: int
) -> None:
    base = _fit(kind, formula, df)
    rng = np.random.default_rng(label_seed)
    relabelled = df.copy()
    for col in ("exp_year", "imp_year", "pair"):
        levels = relabelled[col].unique()
        new = rng.permutation(len(levels)) * 7 + 1000  # integers instead of strings, reordered
        relabelled[col] = relabelled[col].map(dict(zip(levels, new, strict=True)))
    _assert_same_fit(base, _fit(kind, formula, relabelled))


@SETTINGS
@given(df=panels, log_scale=st.floats(-8.0, 8.0))
def test_rescaling_ppml_outcome_changes_only_fixed_effects(
    df: pd.DataFrame, log_scale: float
) -> None:
    scale = float(np.exp(log_scale))
    base = _fit("ppml", PPML_FORMULA, df)
    scaled_df = df.assign(trade=df["trade"] * scale)
    scaled = _fit("ppml", PPML_FORMULA, scaled_df)
    _assert_same_fit(base, scaled)
    # fitted values (fixed effects included) scale with the outcome
    np.testing.assert_allclose(
        scaled.predict(scaled_df).to_numpy(), scale * base.predict(df).to_numpy(), rtol=1e-6
    )


@pytest.mark.filterwarnings("ignore::ca_trade.exceptions.SingletonWarning")
@pytest.mark.filterwarnings("ignore::ca_trade.exceptions.SeparationWarning")
@pytest.mark.parametrize(("kind", "formula"), [("ppml", PPML_FORMULA), ("ols", OLS_FORMULA)])
def test_constant_regressor_is_flagged_collinear(kind: str, formula: str) -> None:
    df = _panel(6, 3, seed=11).assign(one=1.0)
    with pytest.warns(CollinearityWarning, match="one"):
        res = (ct.ppml if kind == "ppml" else ct.ols)(formula.replace("rta", "rta + one"), df)
    assert "one" in res.collinear
    assert "one" not in res.params.index
    _assert_same_fit(_fit(kind, formula, df), res)


@SETTINGS
@given(df=panels)
def test_ols_absorbed_equals_explicit_dummies(df: pd.DataFrame) -> None:
    res = _fit("ols", OLS_FORMULA, df)
    sample = df.loc[np.sort(np.setdiff1d(df.index, np.concatenate(list(res.dropped.values()))))]
    dummies = [
        pd.get_dummies(sample[c], drop_first=i > 0, dtype=float)
        for i, c in enumerate(["exp_year", "imp_year", "pair"])
    ]
    design = np.column_stack([sample[["rta", "ln_tariff"]].to_numpy(), *dummies])
    beta = np.linalg.lstsq(design, sample["ln_trade"].to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(res.params.to_numpy(), beta[:2], rtol=1e-6, atol=1e-8)
