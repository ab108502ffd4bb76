"""Parametric confidence intervals of the multi-sector model: draws of theta_s and coefficients."""

from __future__ import annotations

import pandas as pd
import pytest

import ca_trade.ge as ge
from ca_trade.exceptions import SpecificationError
from ca_trade.executors import Processes
from tests.ge.sectoral._problems import random_problem


def _case() -> tuple[object, ge.Scenario]:
    f = random_problem(4, 3, 1)
    cu = ge.tariff_harmonization(f.tariffs, ["C00", "C01"], cet="simple")
    return f, cu + ge.agreement(["C00", "C01"], 0.2)


def test_draws_are_reproducible_and_independent_of_processes() -> None:
    f, s = _case()
    kw = {"tariffs": f.tariffs, "production": f.production, "inputs": f.inputs}  # type: ignore[attr-defined]
    theta = f.theta  # type: ignore[attr-defined]
    se = {k: 0.1 * v for k, v in theta.items()}
    one = ge.parametric_draws(
        f.flows, s, theta, vcov=[[0.01]], theta_se=se, n_draws=12, seed=3, **kw
    )  # type: ignore[attr-defined]
    two = ge.parametric_draws(
        f.flows,
        s,
        theta,
        vcov=[[0.01]],
        theta_se=se,
        n_draws=12,
        seed=3,
        executor=Processes(max_workers=2),
        **kw,
    )  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(one.countries, two.countries)
    pd.testing.assert_frame_equal(one.coefficients, two.coefficients)
    assert one.n_failed == 0 and one.method == "parametric"
    assert {"rta", "theta[S00]", "theta[S02]"} <= set(one.coefficients.columns)
    assert one.coefficients["theta[S01]"].std() > 0
    c = one.countries
    assert (c["welfare_pct_lo"] <= c["welfare_pct"] + 1e-12).all()
    assert (c["welfare_pct"] <= c["welfare_pct_hi"] + 1e-12).all()
    assert {"sector", "change_pct_lo"} <= set(one.flows.columns)
    assert isinstance(one.point, ge.sectoral.SectoralGEResult)


def test_theta_draws_only_and_failures_counted() -> None:
    f, s = _case()
    theta = f.theta  # type: ignore[attr-defined]
    u = ge.parametric_draws(f.flows, s, theta, theta_se=2.5, n_draws=30, seed=1)  # type: ignore[attr-defined]
    assert u.n_draws == 30
    drawn = u.coefficients[[c for c in u.coefficients if c.startswith("theta[")]]
    nonpositive = int((drawn <= 0).any(axis=1).sum())
    assert u.n_failed >= nonpositive
    assert all("not positive" in msg for msg in u.failures[:nonpositive])
    assert (u.coefficients["rta"] == 0.2).all()  # not drawn without a covariance


def test_bad_requests() -> None:
    f, s = _case()
    theta = f.theta  # type: ignore[attr-defined]
    with pytest.raises(SpecificationError, match="nothing to draw"):
        ge.parametric_draws(f.flows, s, theta, n_draws=5)  # type: ignore[attr-defined]
    with pytest.raises(SpecificationError, match="theta_se"):
        ge.parametric_draws(f.flows, s, theta, theta_se={"S99": 1.0}, n_draws=5)  # type: ignore[attr-defined]
    with pytest.raises(SpecificationError, match="theta_from"):
        ge.parametric_draws(f.flows, s, theta, vcov=[[0.01]], theta_from="rta", n_draws=5)  # type: ignore[attr-defined]
    with pytest.raises(SpecificationError, match="unknown keyword"):
        ge.parametric_draws(f.flows, s, theta, vcov=[[0.01]], closure="additive", n_draws=5)  # type: ignore[attr-defined]
    with pytest.raises(SpecificationError, match=r"n_jobs.* executor='processes'"):
        ge.parametric_draws(f.flows, s, theta, vcov=[[0.01]], n_jobs=2, n_draws=5)  # type: ignore[attr-defined]
    with pytest.raises(SpecificationError, match="parametric_draws"):
        ge.pairs_bootstrap(
            pd.DataFrame({"pair": [1]}), f.flows, s, theta, estimator=lambda d: {}, n_draws=5
        )  # type: ignore[attr-defined]
    one = (
        f.flows.drop(columns="sector")
        .groupby(["exporter", "importer"], as_index=False)["value"]
        .sum()
    )  # type: ignore[attr-defined]
    with pytest.raises(SpecificationError, match="multi-sector"):
        ge.parametric_draws(
            one, ge.agreement(["C00", "C01"], 0.2), 4.0, vcov=[[0.01]], theta_se=1.0, n_draws=5
        )
