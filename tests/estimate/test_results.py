"""The results object: immutability, statistics, display, prediction, provenance."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from ca_trade.estimate import GravityResults
from ca_trade.exceptions import SpecificationError


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 500
    df = pd.DataFrame(
        {"x": rng.normal(size=n), "g": rng.integers(0, 6, n), "h": rng.integers(0, 5, n)}
    )
    df["y"] = rng.poisson(np.exp(0.5 + 0.3 * df["x"] + 0.1 * df["g"])).astype(float)
    return df


@pytest.fixture(scope="module")
def res(data: pd.DataFrame) -> GravityResults:
    return ct.ppml("y ~ x | g + h", data, vcov={"CRV1": "g"})


def test_is_frozen(res: GravityResults) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.nobs = 3  # type: ignore[misc]


def test_inference_statistics_are_consistent(res: GravityResults) -> None:
    assert res.tvalues["x"] == pytest.approx(res.params["x"] / res.bse["x"])
    ci = res.conf_int(0.1)
    assert ci.loc["x", "lower"] < res.params["x"] < ci.loc["x", "upper"]
    assert 0.0 <= res.pvalues["x"] <= 1.0
    assert res.bse["x"] == pytest.approx(np.sqrt(res.vcov.loc["x", "x"]))
    with pytest.raises(SpecificationError):
        res.conf_int(1.5)


def test_fit_statistics(res: GravityResults) -> None:
    assert 0.0 < res.pseudo_r2 < 1.0
    assert 0.0 < res.r2_corr < 1.0
    assert res.null_deviance > res.deviance
    assert res.model == "ppml"
    assert res.depvar == "y"
    assert res.fixef_vars == ["g", "h"]
    assert res.vcov_type == "CRV1: g"
    assert res.ssc == "stata"
    assert res.tol == 1e-8


def test_summary_and_html(res: GravityResults) -> None:
    text = res.summary()
    assert "PPML" in text and "CRV1: g" in text and "x" in text
    assert str(res) == text
    html = res._repr_html_()
    assert html.startswith("<table>") and "Observations" in html


def test_predict_and_fixef(res: GravityResults, data: pd.DataFrame) -> None:
    fitted = res.predict()
    np.testing.assert_allclose(res.predict(data).to_numpy(), fitted.to_numpy(), rtol=1e-8)
    link = res.predict(data, type="link")
    np.testing.assert_allclose(np.exp(link.to_numpy()), fitted.to_numpy(), rtol=1e-10)
    fx = res.fixef()
    assert set(fx) == {"g", "h"}
    assert fx["h"].loc["0"] == 0.0
    new = data.iloc[:2].assign(g=[99, 0])  # unknown level -> NaN
    assert np.isnan(res.predict(new).iloc[0])
    with pytest.raises(SpecificationError):
        res.predict(type="mean")  # type: ignore[arg-type]


def test_provenance_and_with_vcov(res: GravityResults) -> None:
    p = res.provenance
    assert p["formula"] == "y ~ x | g + h"
    assert p["n_rows"] == 500
    assert len(p["data_sha256"]) == 64
    assert p["options"]["vcov"] == {"CRV1": "g"}
    other = res.with_vcov("hetero")
    assert other.vcov_type == "hetero"
    assert other.provenance["data_sha256"] == p["data_sha256"]
    assert not np.allclose(other.bse.to_numpy(), res.bse.to_numpy())
    assert res.vcov_type == "CRV1: g"


def test_provenance_hash_depends_on_data() -> None:
    df = pd.DataFrame({"y": [1.0, 2, 3, 5, 4, 6], "x": [0.0, 1, 2, 3, 2, 4], "z": 1.0})
    a = ct.ols("y ~ x", df).provenance["data_sha256"]
    assert ct.ols("y ~ x", df.assign(z=2.0)).provenance["data_sha256"] == a
    assert ct.ols("y ~ x", df.assign(x=df["x"] + 1)).provenance["data_sha256"] != a


def test_dropped_mapping(res: GravityResults) -> None:
    assert list(res.dropped) == [
        "missing",
        "non_finite",
        "zero_weight",
        "singleton",
        "separation_fe",
        "separation_ir",
    ]
    assert res.dropped.total == 0
    assert "Dropped" in repr(res.dropped)


def test_a_pickled_result_carries_no_copy_of_the_data(data: pd.DataFrame) -> None:
    rng = np.random.default_rng(1)
    wide = data.assign(**{f"unused_{k}": rng.normal(size=len(data)) for k in range(30)})
    small = pickle.dumps(ct.ppml("y ~ x | g + h", data, vcov={"CRV1": "g"}))
    big = pickle.dumps(ct.ppml("y ~ x | g + h", wide, vcov={"CRV1": "g"}))
    assert len(big) == len(small)
    assert b"unused_" not in big
    back = pickle.loads(big)
    np.testing.assert_allclose(back.predict(wide).to_numpy(), back.predict().to_numpy(), rtol=1e-10)


def test_with_vcov_reads_a_new_cluster_column_only_from_the_fitted_data(
    data: pd.DataFrame,
) -> None:
    df = data.assign(c=data.index % 7)
    res = ct.ppml("y ~ x | g + h", df)
    with pytest.raises(SpecificationError, match=r"not named when the model was fitted.*data=df"):
        res.with_vcov({"CRV1": "c"})
    other = df.assign(x=df["x"] + 1.0)
    with pytest.raises(SpecificationError, match="not the data this model was fitted on"):
        res.with_vcov({"CRV1": "c"}, data=other)
    with pytest.raises(SpecificationError, match="not the data this model was fitted on"):
        res.with_vcov({"CRV1": "c"}, data=df.iloc[:-1])
    late = res.with_vcov({"CRV1": "c"}, data=df.assign(extra=1.0))
    direct = ct.ppml("y ~ x | g + h", df, vcov={"CRV1": "c"})
    np.testing.assert_allclose(late.vcov.to_numpy(), direct.vcov.to_numpy(), rtol=1e-12)
    assert late.vcov_type == direct.vcov_type == "CRV1: c"
    # the new result keeps the codes it clustered by: no data needed from here on
    again = late.with_vcov({"CRV3": "c"})
    np.testing.assert_allclose(
        again.vcov.to_numpy(),
        ct.ppml("y ~ x | g + h", df, vcov={"CRV3": "c"}).vcov.to_numpy(),
        rtol=1e-12,
    )
    # fixed effects and fit-time clusters need no data
    assert res.with_vcov({"CRV1": "g"}).vcov_type == "CRV1: g"
