"""Covariance estimators from one registry (estimate/covariance.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from ca_trade.estimate.covariance import (
    CRV1,
    CRV3,
    ESTIMATORS,
    IID,
    Hetero,
    clusters_of,
    covariance,
    covariance_estimator,
)
from ca_trade.estimate.vcov import sandwich_vcov
from ca_trade.exceptions import SpecificationError


@pytest.mark.parametrize(
    ("vcov", "cls", "label"),
    [
        ("iid", IID, "iid"),
        ("hetero", Hetero, "hetero"),
        ("HC1", Hetero, "hetero"),
        ("robust", Hetero, "hetero"),
        ({"CRV1": "pair"}, CRV1, "CRV1: pair"),
        ({"CRV1": "a + b"}, CRV1, "CRV1: a+b"),
        ({"CRV3": "pair"}, CRV3, "CRV3: pair"),
    ],
)
def test_each_option_names_one_estimator(vcov: object, cls: type, label: str) -> None:
    est = covariance_estimator(vcov, "fixest")
    assert type(est) is cls and est.label == label and est.ssc == "fixest"
    assert ESTIMATORS[est.kind] is cls


@pytest.mark.parametrize(
    ("vcov", "ssc"), [("HC3", "stata"), ({"CRV3": "a+b"}, "stata"), ("iid", "r")]
)
def test_unknown_options_are_refused(vcov: object, ssc: str) -> None:
    with pytest.raises(SpecificationError):
        covariance_estimator(vcov, ssc)


def test_estimators_compute_the_sandwich_in_the_data_units() -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x": rng.normal(size=300) * 1e4, "g": rng.integers(0, 10, 300)})
    df["c"] = df.index % 13
    df["y"] = rng.poisson(np.exp(0.5 + 0.3e-4 * df["x"])).astype(float)
    res = ct.ppml("y ~ x | g", df, vcov={"CRV1": "c"})
    st = res._state
    est = covariance_estimator({"CRV1": "c"}, "stata")
    (codes,) = clusters_of(st, ["c"])
    fit_units = est.matrix(st, [codes])
    by_hand = sandwich_vcov(
        st.bread,
        st.scores,
        kind="CRV1",
        model="ppml",
        ssc="stata",
        n=st.nobs,
        k=1,
        k_fe=est.absorbed(st.fe_codes, [codes]),
        clusters=[codes],
    )
    np.testing.assert_allclose(fit_units, by_hand, rtol=1e-14)
    data_units = covariance(st, est, [codes])
    np.testing.assert_allclose(data_units, fit_units / np.outer(st.x_scale, st.x_scale))
    np.testing.assert_allclose(data_units, res.vcov.to_numpy())
    with pytest.raises(SpecificationError, match="not named when the model was fitted"):
        clusters_of(st, ["g2"], vcov={"CRV1": "g2"})
    (g,) = clusters_of(st, ["g"])  # a fixed effect needs no data
    assert g.shape == (st.nobs,)
