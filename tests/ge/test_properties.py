"""Hypothesis properties of the GE solver on bounded random problems."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import ca_trade.ge as ge
from ca_trade.exceptions import GEError
from tests.ge._problems import names, random_effects, random_flows, to_frame

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
sizes = st.integers(min_value=2, max_value=9)
seeds = st.integers(min_value=0, max_value=10_000)
closures = st.sampled_from(["additive", "multiplicative"])
thetas = st.floats(min_value=1.5, max_value=10.0)


@SETTINGS
@given(n=sizes, seed=seeds, closure=closures, theta=thetas, cond=st.booleans())
def test_no_shock_no_change(n: int, seed: int, closure: str, theta: float, cond: bool) -> None:
    flows = to_frame(random_flows(n, seed, zeros=True))
    res = ge.solve(flows, None, theta, closure=closure, conditional=cond)  # type: ignore[arg-type]
    ratios = res.countries[list(ge.RATIO_COLUMNS)].to_numpy()
    np.testing.assert_allclose(ratios[np.isfinite(ratios)], 1.0, atol=1e-10)
    np.testing.assert_allclose(res.flows["value"], res.flows["baseline_value"], rtol=1e-10)


@SETTINGS
@given(n=sizes, seed=seeds, theta=thetas, k=st.integers(min_value=0, max_value=8))
def test_real_outcomes_do_not_depend_on_the_numeraire(
    n: int, seed: int, theta: float, k: int
) -> None:
    flows = to_frame(random_flows(n, seed))
    pe = random_effects(n, seed)
    ref = names(n)[k % n]
    a = ge.solve(flows, pe, theta, closure="multiplicative")
    b = ge.solve(flows, pe, theta, closure="multiplicative", numeraire=ref)
    assert abs(b.countries.loc[ref, "price"] - 1.0) < 1e-12
    for col in ("welfare", "real_gdp"):
        np.testing.assert_allclose(a.countries[col], b.countries[col], rtol=1e-9)
    # nominal values move one for one with the numeraire
    scale = b.countries["price"] / a.countries["price"]
    np.testing.assert_allclose(scale, scale.iloc[0], rtol=1e-9)
    # with balanced trade the additive closure is homogeneous too
    bal = to_frame(random_flows(n, seed, balanced=True))
    c = ge.solve(bal, pe, theta, closure="additive")
    d = ge.solve(bal, pe, theta, closure="additive", numeraire=ref)
    np.testing.assert_allclose(c.countries["welfare"], d.countries["welfare"], rtol=1e-9)


@SETTINGS
@given(n=sizes, seed=seeds, theta=thetas, closure=closures)
def test_balanced_welfare_equals_acr(n: int, seed: int, theta: float, closure: str) -> None:
    flows = to_frame(random_flows(n, seed, balanced=True))
    res = ge.solve(flows, random_effects(n, seed), theta, closure=closure)  # type: ignore[arg-type]
    f = res.flows
    dom = f[f.exporter == f.importer].set_index("exporter")
    spend_new = f.groupby("importer")["value"].sum()
    spend_old = f.groupby("importer")["baseline_value"].sum()
    pi_hat = (dom["value"] / spend_new) / (dom["baseline_value"] / spend_old)
    np.testing.assert_allclose(res.countries["welfare"], pi_hat ** (-1.0 / theta), rtol=1e-9)


@SETTINGS
@given(
    n=st.integers(min_value=3, max_value=8),
    seed=seeds,
    shock=st.floats(min_value=-1.0, max_value=1.0),
    closure=closures,
)
def test_symmetric_shock_gives_identical_results(
    n: int, seed: int, shock: float, closure: str
) -> None:
    mat = random_flows(n, seed)
    # make countries 0 and 1 identical: same flows to and from everyone, symmetric between them
    mat[1, :] = mat[0, :]
    mat[:, 1] = mat[:, 0]
    mat[0, 1] = mat[1, 0] = min(mat[0, 1], mat[1, 0])
    mat[1, 1] = mat[0, 0]
    flows = to_frame(mat)
    cs = names(n)
    pe = pd.DataFrame(
        {"exporter": [cs[0], cs[1]], "importer": [cs[1], cs[0]], "effect": [shock, shock]}
    )
    res = ge.solve(flows, pe, 4.0, closure=closure)  # type: ignore[arg-type]
    a, b = res.countries.loc[cs[0]], res.countries.loc[cs[1]]
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-9, atol=1e-12)


@SETTINGS
@given(
    n=sizes,
    seed=seeds,
    theta=thetas,
    closure=closures,
    psi=st.sampled_from([0.0, 0.5, 2.0]),
    tariff=st.floats(min_value=0.0, max_value=0.3),
    cond=st.booleans(),
)
def test_residuals_below_tolerance(
    n: int, seed: int, theta: float, closure: str, psi: float, tariff: float, cond: bool
) -> None:
    flows = to_frame(random_flows(n, seed, zeros=True))
    pe = random_effects(n, seed, scale=1.0)
    t = flows[flows.exporter != flows.importer][["exporter", "importer"]].copy()
    t["baseline"] = tariff
    t["counterfactual"] = tariff / 2
    res = ge.solve(
        flows,
        pe,
        theta,
        closure=closure,  # type: ignore[arg-type]
        psi=psi,
        tariffs=t,
        conditional=cond,
    )
    assert res.converged
    assert res.residuals["market_clearing"] < 1e-10
    assert res.residuals["budget"] < 1e-10
    assert res.residuals["world_balance"] < 1e-10
    assert (res.flows["value"] >= 0).all()
    assert (res.countries["price"] > 0).all()


@given(
    n=st.integers(min_value=2, max_value=6),
    seed=seeds,
    log_theta=st.floats(min_value=-8.0, max_value=2.0),
    scale=st.sampled_from([0.1, 1.0, 10.0, 100.0, 1000.0]),
    closure=closures,
)
@settings(max_examples=60, deadline=None, derandomize=True)
def test_a_result_is_finite_or_an_error(
    n: int, seed: int, log_theta: float, scale: float, closure: str
) -> None:
    """Whatever theta and shock size: a GEError, or a converged result with finite outcomes."""
    flows = to_frame(random_flows(n, seed))
    try:
        res = ge.solve(
            flows, random_effects(n, seed, scale=scale), 10.0**log_theta, closure=closure
        )
    except GEError as exc:
        assert str(exc)
        return
    assert res.converged
    ratios = res.countries[list(ge.RATIO_COLUMNS)].drop(columns=["exports", "imports"])
    assert np.isfinite(ratios.to_numpy()).all() and (ratios.to_numpy() > 0).all()
    assert np.isfinite(res.countries[["exports", "imports"]].to_numpy()).all()
    assert np.isfinite(res.flows["value"].to_numpy()).all()
