"""Covariance conventions: option parsing, absorbed degrees of freedom, fixest agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

import ca_trade as ct
from ca_trade.estimate.vcov import (
    fe_dof,
    fe_dof_fixest,
    is_nested,
    parse_vcov,
    sandwich_vcov,
    vcov_label,
)
from ca_trade.exceptions import SpecificationError

pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")


def test_parse_vcov() -> None:
    assert parse_vcov("iid") == ("iid", ())
    assert parse_vcov("HC1") == ("hetero", ())
    assert parse_vcov({"CRV1": "pair"}) == ("CRV1", ("pair",))
    assert parse_vcov({"CRV1": "a + b"}) == ("CRV1", ("a", "b"))
    assert parse_vcov({"CRV3": "a"}) == ("CRV3", ("a",))
    assert vcov_label("CRV3", ("a",)) == "CRV3: a"
    for bad in ("HC3", {"CRV3": "a+b"}, {"CRV1": ""}, {"CRV1": "a+b+c"}, 3):
        with pytest.raises(SpecificationError):
            parse_vcov(bad)
    assert vcov_label("hetero", ()) == "hetero"


def test_fe_dof_counts_connected_components_and_nesting() -> None:
    a = np.array([0, 0, 1, 1, 2, 2])
    b = np.array([0, 1, 0, 1, 2, 2])  # two components: {a0,a1,b0,b1} and {a2,b2}
    assert fe_dof([a, b]) == 3 + 3 - 2
    assert fe_dof([a]) == 3
    assert fe_dof([a, b], nested=[True, False]) == 3 - 1
    assert fe_dof([]) == 0
    assert is_nested(a, np.array([7, 7, 8, 8, 8, 8]))
    assert not is_nested(b, a)


def test_two_way_cluster_is_positive_semidefinite() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(50, 3))
    v = sandwich_vcov(
        np.eye(3),
        scores,
        kind="CRV1",
        model="ppml",
        ssc="stata",
        n=50,
        k=3,
        k_fe=0,
        clusters=[rng.integers(0, 3, 50), rng.integers(0, 3, 50)],
    )
    assert np.linalg.eigvalsh(v).min() >= -1e-12
    with pytest.raises(SpecificationError, match="degrees of freedom"):
        sandwich_vcov(
            np.eye(1), scores[:, :1], kind="hetero", model="ols", ssc="stata", n=2, k=1, k_fe=1
        )


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame(
        {
            "a": rng.integers(0, 10, n),
            "b": rng.integers(0, 12, n),
            "x1": rng.normal(size=n),
            "cl": rng.integers(0, 30, n),
            "cl2": rng.integers(0, 20, n),
        }
    )
    df["y"] = rng.poisson(np.exp(0.3 * df["x1"] + 0.1 * df["a"])).astype(float)
    return df


VCOVS = ["iid", "hetero", {"CRV1": "cl"}, {"CRV1": "cl+cl2"}]


@pytest.mark.parametrize("vcov", VCOVS, ids=str)
def test_fixest_convention_matches_pyfixest_ols(data: pd.DataFrame, vcov: object) -> None:
    pf = pytest.importorskip("pyfixest")
    ref = pf.feols("y ~ x1 | a + b", data, vcov=vcov)
    res = ct.ols("y ~ x1 | a + b", data, vcov=vcov, ssc="fixest", fixef_tol=1e-13)  # type: ignore[arg-type]
    np.testing.assert_allclose(res.params.to_numpy(), ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.bse.to_numpy(), ref.se().to_numpy(), rtol=1e-6)


@pytest.mark.parametrize("vcov", VCOVS, ids=str)
def test_fixest_convention_matches_pyfixest_ppml(data: pd.DataFrame, vcov: object) -> None:
    pf = pytest.importorskip("pyfixest")
    ref = pf.fepois("y ~ x1 | a + b", data, vcov=vcov, iwls_tol=1e-12)
    res = ct.ppml("y ~ x1 | a + b", data, vcov=vcov, ssc="fixest", tol=1e-12)  # type: ignore[arg-type]
    np.testing.assert_allclose(res.params.to_numpy(), ref.coef().to_numpy(), rtol=1e-7)
    np.testing.assert_allclose(res.bse.to_numpy(), ref.se().to_numpy(), rtol=1e-5)


def test_with_vcov_switches_convention(data: pd.DataFrame) -> None:
    res = ct.ppml("y ~ x1 | a + b", data)
    n = res.nobs
    fx = res.with_vcov("hetero", ssc="fixest")
    assert fx.ssc == "fixest"
    k_all = 1 + fe_dof([res._state.fe_codes[0], res._state.fe_codes[1]])
    ratio = (fx.bse / res.bse).iloc[0] ** 2
    assert ratio == pytest.approx((n / (n - k_all)) / (n / (n - 1)), rel=1e-12)
    np.testing.assert_array_equal(fx.params.to_numpy(), res.params.to_numpy())


@pytest.fixture(scope="module")
def nested_data() -> pd.DataFrame:
    """Fixed effects nested in the cluster variables (fixest's ``vcov = "twoway"`` case)."""
    rng = np.random.default_rng(5)
    n = 900
    df = pd.DataFrame(
        {
            "dest": rng.integers(0, 12, n),
            "orig": rng.integers(0, 15, n),
            "prod": rng.integers(0, 6, n),
            "x1": rng.normal(size=n),
        }
    )
    df["y"] = rng.poisson(np.exp(0.4 * df["x1"] + 0.1 * df["dest"] - 0.05 * df["orig"]))
    df["ly"] = 0.4 * df["x1"] + 0.1 * df["dest"] + rng.normal(size=n)
    return df


def test_fixest_dof_counts_nested_fixed_effects_as_fixest() -> None:
    a = np.array([0, 0, 1, 1, 2, 2])
    b = np.array([0, 1, 0, 1, 0, 1])
    # fixest: levels minus one per extra FE; a FE nested in any cluster counts 1
    assert fe_dof_fixest([a, b]) == 3 + 2 - 1
    assert fe_dof_fixest([a, b], [b, a]) == (3 + 2 - 1) - (3 + 2) + 2
    assert fe_dof_fixest([a], [a]) == 1
    assert fe_dof_fixest([]) == 0


@pytest.mark.parametrize("model", ["ols", "ppml"])
def test_fixest_two_way_clustering_matches_pyfixest_exactly(
    nested_data: pd.DataFrame, model: str
) -> None:
    """fixest's ``cluster.df = "min"`` and ``fixef.K = "nested"`` with two cluster variables.

    Before the fix the nested check looked at the first cluster variable only and dropped one
    level too many: the standard error was off in the fifth significant digit.
    """
    pf = pytest.importorskip("pyfixest")
    fml = ("ly" if model == "ols" else "y") + " ~ x1 | dest + orig + prod"
    vcov = {"CRV1": "dest+orig"}
    demeaner = pf.MapDemeaner(fixef_tol=1e-13)
    if model == "ols":
        ref = pf.feols(fml, nested_data, vcov=vcov, demeaner=demeaner)
        res = ct.ols(fml, nested_data, vcov=vcov, ssc="fixest", fixef_tol=1e-14)
    else:
        ref = pf.fepois(fml, nested_data, vcov=vcov, demeaner=demeaner, iwls_tol=1e-14)
        res = ct.ppml(fml, nested_data, vcov=vcov, ssc="fixest", tol=1e-14, fixef_tol=1e-14)
    np.testing.assert_allclose(res.params.to_numpy(), ref.coef().to_numpy(), rtol=1e-10)
    # PPML: pyfixest's sandwich uses the weights of its last IRLS iterate, ca_trade those of
    # the converged estimate; that alone moves the fourth-to-last digit
    rtol = 1e-10 if model == "ols" else 1e-8
    np.testing.assert_allclose(res.bse.to_numpy(), ref.se().to_numpy(), rtol=rtol)


def test_fixed_effect_components_match_scipy_graph_search() -> None:
    # fe_dof counts the connected components of the first two fixed effects with a compiled
    # union-find; scipy's graph search is the reference
    rng = np.random.default_rng(21)
    for _ in range(200):
        n = int(rng.integers(1, 80))
        a = rng.integers(0, int(rng.integers(1, 25)), n)
        b = rng.integers(0, int(rng.integers(1, 25)), n)
        a = np.unique(a, return_inverse=True)[1].ravel()
        b = np.unique(b, return_inverse=True)[1].ravel()
        na, nb = int(a.max()) + 1, int(b.max()) + 1
        g = sp.coo_matrix((np.ones(n), (a, b + na)), shape=(na + nb, na + nb))
        n_comp = int(connected_components(g, directed=False)[0])
        assert fe_dof([a, b]) == na + nb - n_comp
