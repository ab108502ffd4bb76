from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest

import ca_trade.ge as ge
from ca_trade.exceptions import ConvergenceWarning, GEError, SpecificationError
from ca_trade.executors import Processes
from ca_trade.report.stored import StoredResults
from tests.ge._problems import names, random_flows, to_frame


def _case(n: int = 8, seed: int = 0) -> tuple[pd.DataFrame, ge.Scenario]:
    flows = to_frame(random_flows(n, seed))
    cs = names(n)
    s = ge.agreement(cs[:3], 0.4) + ge.Scenario(
        pd.DataFrame({"exporter": [cs[3]], "importer": [cs[4]], "ln_tau": [-0.1]}),
        {"ln_tau": -5.0},
        "faster road",
    )
    return flows, s


VCOV = pd.DataFrame([[0.01]], index=["rta"], columns=["rta"])


def test_parametric_intervals_cover_point_and_are_seeded() -> None:
    flows, s = _case()
    u = ge.parametric_draws(flows, s, 4, vcov=VCOV, n_draws=200, seed=7)
    c = u.countries
    assert u.n_draws == 200 and u.n_failed == 0 and u.failures == []
    for col in ("welfare_pct", "exports_pct", "real_gdp_pct"):
        assert (c[f"{col}_lo"] <= c[col] + 1e-9).all()
        assert (c[f"{col}_hi"] >= c[col] - 1e-9).all()
        assert (c[f"{col}_se"] >= 0).all()
    assert set(u.coefficients.columns) >= {"draw", "rta", "ln_tau", "failed"}
    assert (u.coefficients["ln_tau"] == -5.0).all()  # not in vcov: held fixed
    assert abs(u.coefficients["rta"].mean() - 0.4) < 0.03
    assert len(u.draws) == 200 * 8
    assert {"change_pct_lo", "change_pct_hi"} <= set(u.flows.columns)
    again = ge.parametric_draws(flows, s, 4, vcov=VCOV, n_draws=200, seed=7)
    pd.testing.assert_frame_equal(u.countries, again.countries)
    other = ge.parametric_draws(flows, s, 4, vcov=VCOV, n_draws=200, seed=8)
    assert not u.countries.equals(other.countries)
    assert "parametric" in u.summary()


def test_results_do_not_depend_on_the_number_of_workers() -> None:
    flows, s = _case(6, 1)
    one = ge.parametric_draws(flows, s, 4, vcov=VCOV, n_draws=40, seed=3, executor=None)
    two = ge.parametric_draws(
        flows, s, 4, vcov=VCOV, n_draws=40, seed=3, executor=Processes(max_workers=2)
    )
    pd.testing.assert_frame_equal(one.countries, two.countries)
    pd.testing.assert_frame_equal(one.draws, two.draws)


def test_failed_draws_are_counted_and_reported() -> None:
    flows = to_frame(random_flows(5, 2))
    t = flows[flows.exporter != flows.importer][["exporter", "importer"]].assign(
        tariff=0.1, value_usd=1.0
    )
    s = ge.tariff_harmonization(t, names(5)[:2], -1.3)
    # theta = -beta - 1 is negative for draws above -1: those draws fail and are reported
    with pytest.warns(ConvergenceWarning, match=r"of 60 draws failed"):
        u = ge.parametric_draws(
            flows, s, 0.3, vcov=[[0.04]], n_draws=60, seed=0, theta_from="ln_tariff"
        )
    assert 0 < u.n_failed < 60
    assert len(u.failures) == u.n_failed
    assert "theta" in u.failures[0]
    assert u.coefficients["failed"].sum() == u.n_failed
    assert u.draws["draw"].nunique() == 60 - u.n_failed


def test_parametric_errors() -> None:
    flows, s = _case()
    with pytest.raises(SpecificationError, match="covariance"):
        ge.parametric_draws(flows, s, 4, n_draws=10)
    with pytest.raises(SpecificationError, match="nothing to draw"):
        ge.parametric_draws(flows, s, 4, vcov=pd.DataFrame([[1.0]], ["x"], ["x"]), n_draws=10)
    with pytest.raises(SpecificationError, match="semi-definite"):
        ge.parametric_draws(flows, s, 4, vcov=pd.DataFrame([[-1.0]], ["rta"], ["rta"]))
    with pytest.raises(SpecificationError, match="unknown keyword"):
        ge.parametric_draws(flows, s, 4, vcov=VCOV, n_draws=10, sigma=3)
    with pytest.raises(SpecificationError, match="n_draws"):
        ge.parametric_draws(flows, s, 4, vcov=VCOV, n_draws=1)
    with pytest.raises(SpecificationError, match=r"n_jobs.* executor='processes'"):
        ge.parametric_draws(flows, s, 4, vcov=VCOV, n_draws=10, n_jobs=2)


def _with_vcov() -> StoredResults:
    return StoredResults(
        pd.Series({"rta": 0.4}), pd.DataFrame([[0.0004]], index=["rta"], columns=["rta"]), 99
    )


def test_parametric_from_a_result() -> None:
    flows, s = _case()
    u = ge.parametric_draws(flows, s, 4, result=_with_vcov(), n_draws=50)
    width = u.countries["welfare_pct_hi"] - u.countries["welfare_pct_lo"]
    wide = ge.parametric_draws(flows, s, 4, vcov=VCOV, n_draws=50)
    wide_width = wide.countries["welfare_pct_hi"] - wide.countries["welfare_pct_lo"]
    assert (width <= wide_width + 1e-12).all()


def mean_rta(sample: pd.DataFrame) -> Mapping[str, float]:
    """A cheap 'estimator' for bootstrap tests: the mean of y is the rta coefficient."""
    if sample["y"].max() > 10:
        raise ValueError("outlier drawn")
    return {"rta": float(sample["y"].mean())}


def test_pairs_bootstrap_resamples_pairs_and_reports_failures() -> None:
    flows, s = _case()
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"pair": np.repeat(np.arange(40), 3), "y": rng.normal(0.4, 0.1, 120)})
    u = ge.pairs_bootstrap(data, flows, s, 4, estimator=mean_rta, n_draws=30, seed=1)
    assert u.method == "pairs bootstrap" and u.n_failed == 0
    assert u.coefficients["rta"].std() > 0
    two = ge.pairs_bootstrap(
        data, flows, s, 4, estimator=mean_rta, n_draws=30, seed=1, executor=Processes(max_workers=2)
    )
    pd.testing.assert_frame_equal(u.countries, two.countries)
    data.loc[0, "y"] = 100.0  # pair 0 makes the estimator fail whenever it is drawn
    with pytest.warns(ConvergenceWarning, match=r"of 30 draws failed"):
        bad = ge.pairs_bootstrap(data, flows, s, 4, estimator=mean_rta, n_draws=30, seed=1)
    assert 0 < bad.n_failed < 30
    assert all("estimation failed" in f for f in bad.failures)
    with pytest.raises(SpecificationError, match="exactly one"):
        ge.pairs_bootstrap(data, flows, s, 4, n_draws=5)
    with pytest.raises(SpecificationError, match="cluster"):
        ge.pairs_bootstrap(data, flows, s, 4, estimator=mean_rta, cluster="nope", n_draws=5)


def _two() -> pd.DataFrame:
    return pd.DataFrame(
        {"exporter": list("AABB"), "importer": list("ABAB"), "value": [8.0, 2.0, 2.0, 8.0]}
    )


def test_draws_with_non_finite_outcomes_are_failures_never_averaged() -> None:
    # theta far below its range and a wide coefficient: the larger draws overflow
    s = ge.agreement(["A", "B"], 60.0)
    with pytest.warns(ConvergenceWarning, match=r"\d+ of 40 draws failed") as rec:
        u = ge.parametric_draws(_two(), s, 0.1, vcov=[[900.0]], n_draws=40, seed=1)
    assert "left out of the intervals" in str(rec[0].message)
    assert 0 < u.n_failed < 40
    assert all("not finite" in f or "overflows" in f for f in u.failures)
    assert u.draws["draw"].nunique() == 40 - u.n_failed
    values = u.draws.drop(columns=["draw", "country"]).to_numpy()
    assert np.isfinite(values).all()
    bounds = u.countries.filter(regex=r"_pct(_lo|_hi|_se)?$").to_numpy()
    assert np.isfinite(bounds).all()


def test_when_every_draw_fails_there_are_no_intervals_but_an_error() -> None:
    def always_fails(sample: pd.DataFrame) -> Mapping[str, float]:
        raise ValueError("no estimate")

    data = pd.DataFrame({"pair": np.arange(10), "y": np.ones(10)})
    with pytest.raises(GEError, match=r"all 6 draws failed.*no estimate"):
        ge.pairs_bootstrap(data, _two(), ge.agreement(["A", "B"], 0.3), 4,
                           estimator=always_fails, n_draws=6)  # fmt: skip
