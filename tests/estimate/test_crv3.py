"""Leave-one-cluster-out covariance: exact for OLS, one-step for PPML, against refits."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from ca_trade.estimate.crv3 import crv3_factor
from ca_trade.exceptions import SpecificationError

pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")

FML = "y ~ x1 + x2 | exp_year + imp_year + pair"


def _panel(n: int = 6, t: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    i, j, s = np.meshgrid(np.arange(n), np.arange(n), np.arange(t), indexing="ij")
    df = pd.DataFrame({"exp": i.ravel(), "imp": j.ravel(), "year": s.ravel()})
    df = df[df["exp"] != df["imp"]].reset_index(drop=True)
    df["exp_year"] = df["exp"] * 100 + df["year"]
    df["imp_year"] = df["imp"] * 100 + df["year"]
    df["pair"] = df["exp"] * 100 + df["imp"]
    size = rng.normal(0, 1, n)
    df["x1"] = rng.normal(size=len(df)) + 0.3 * df["year"]
    df["x2"] = (rng.random(len(df)) < 0.3).astype(float)
    eta = 0.3 * df["x1"] - 0.5 * df["x2"] + size[df["exp"]] + size[df["imp"]]
    df["y"] = rng.poisson(np.exp(eta + rng.normal(0, 0.5, len(df))) * 3).astype(float)
    df["ly"] = eta + rng.normal(0, 1, len(df))
    return df


def _dummies(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    return np.hstack([pd.get_dummies(df[c].astype(str)).to_numpy(float) for c in cols])


def _ols_refits(df: pd.DataFrame, ycol: str) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients of x1, x2 with explicit dummies, on all data and leaving each pair out."""

    def coef(d: pd.DataFrame) -> np.ndarray:
        z = np.hstack([d[["x1", "x2"]].to_numpy(), _dummies(d, ["exp_year", "imp_year", "pair"])])
        return np.linalg.lstsq(z, d[ycol].to_numpy(), rcond=None)[0][:2]

    loo = np.array([coef(df[df["pair"] != g]) for g in np.unique(df["pair"])])
    return coef(df), loo


def test_ols_crv3_equals_leave_one_cluster_out_refits() -> None:
    df = _panel()
    res = ct.ols("ly ~ x1 + x2 | exp_year + imp_year + pair", df, vcov={"CRV3": "pair"})
    full, loo = _ols_refits(df, "ly")
    np.testing.assert_allclose(res.params.to_numpy(), full, rtol=1e-9)
    g = loo.shape[0]
    expected = (g - 1) / g * (loo - full).T @ (loo - full)
    np.testing.assert_allclose(res.vcov.to_numpy(), expected, rtol=1e-8)
    assert res.vcov_type == "CRV3: pair"


def test_ols_crv3_matches_pyfixest() -> None:
    pf = pytest.importorskip("pyfixest")
    df = _panel(seed=1)
    fml = "ly ~ x1 + x2 | exp_year + imp_year + pair"
    ref = pf.feols(fml, df, vcov={"CRV3": "pair"})
    res = ct.ols(fml, df, vcov={"CRV3": "pair"}, ssc="fixest", fixef_tol=1e-13)
    np.testing.assert_allclose(res.bse.to_numpy(), ref.se().to_numpy(), rtol=1e-8)


def test_ppml_crv3_is_close_to_refits_and_pyfixest() -> None:
    df = _panel(seed=2)
    res = ct.ppml(FML, df, vcov={"CRV3": "pair"}, tol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = []
        for g in np.unique(df["pair"]):
            fit = ct.ppml(FML, df[df["pair"] != g], vcov="iid", tol=1e-12)
            loo.append(fit.params.to_numpy())
    d = np.array(loo) - res.params.to_numpy()
    g = d.shape[0]
    brute = np.sqrt(np.diag((g - 1) / g * d.T @ d))
    # the one-step update misses a second-order term: a few percent of the standard error
    np.testing.assert_allclose(res.bse.to_numpy(), brute, rtol=0.05)
    crv1 = res.with_vcov({"CRV1": "pair"})
    assert (res.bse > crv1.bse).all()
    pf = pytest.importorskip("pyfixest")
    ref = pf.fepois(FML, df, vcov={"CRV3": "pair"}, iwls_tol=1e-12)
    fx = res.with_vcov({"CRV3": "pair"}, ssc="fixest")
    np.testing.assert_allclose(fx.bse.to_numpy(), ref.se().to_numpy(), rtol=0.05)


def test_crv3_without_fixed_effects_and_options() -> None:
    df = _panel(seed=3)
    res = ct.ols("ly ~ x1 + x2", df, vcov={"CRV3": "pair"})
    z = np.column_stack([np.ones(len(df)), df[["x1", "x2"]].to_numpy()])
    full = np.linalg.lstsq(z, df["ly"].to_numpy(), rcond=None)[0]
    loo = np.array(
        [
            np.linalg.lstsq(z[df["pair"] != g], df["ly"].to_numpy()[df["pair"] != g], rcond=None)[0]
            for g in np.unique(df["pair"])
        ]
    )
    g = loo.shape[0]
    np.testing.assert_allclose(
        res.vcov.to_numpy(), (g - 1) / g * (loo - full).T @ (loo - full), rtol=1e-8
    )
    with pytest.raises(SpecificationError, match="one cluster"):
        ct.ols("ly ~ x1", df, vcov={"CRV3": "pair+year"})
    assert crv3_factor("fixest", 4, 10, 2) == pytest.approx(4 / 3 * 9 / 8)
    with pytest.raises(SpecificationError):
        crv3_factor("stata", 1, 10, 2)
