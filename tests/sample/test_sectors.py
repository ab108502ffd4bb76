"""The sector dimension of the SYNTHETIC sample: sections add up and are gravity equations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ca_trade.sample.model import COEFFICIENTS, Truth, simulate_truth
from ca_trade.sample.sectors import (
    BASE_WEIGHT,
    GROUP_DEMAND,
    GROUPS,
    SECTIONS,
    THETA,
    demand_weights,
    exporter_mix,
    split_flows,
)
from tests.sample.helpers import ppml_fe

KEY = ["exporter", "importer", "year"]


@pytest.fixture(scope="module")
def truth_2019() -> Truth:
    return simulate_truth(np.random.default_rng(7), [2019])


def test_section_means_add_up_to_the_total_mean_for_every_pair(truth_2019: Truth) -> None:
    t = truth_2019
    sums = t.expected_sectors.groupby(KEY)["mu_usd"].sum()
    total = t.expected_total.set_index(KEY)["mu_usd"]
    np.testing.assert_allclose(sums.reindex(total.index), total, rtol=1e-12)
    cov = t.covariates.set_index(KEY)
    # all three kinds of pair: domestic, duty free (agreement) and MFN
    kinds = (cov["intl"] == 0).sum(), ((cov["intl"] == 1) & (cov["rta"] == 1)).sum()
    assert kinds[0] == 31 and kinds[1] > 50 and (cov["tariff"] > 0).sum() > 300
    assert (t.expected_sectors["mu_usd"] > 0).all()


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.PerfectSeparationWarning")
def test_each_section_is_a_gravity_equation_with_its_own_elasticity(truth_2019: Truth) -> None:
    # PPML (statsmodels, independent of ca_trade) on five section means of one year, with
    # exporter and importer effects: the section tariff's coefficient is -(theta_s + 1) and
    # the other coefficients are the TOTAL's, exactly (1e-6).
    t = truth_2019
    cov = t.covariates.drop(columns=["tariff", "ln_tariff"])
    tariffs = t.tariffs.assign(ln_tariff=np.log1p(t.tariffs["ahs_pct"] / 100.0))
    d = t.expected_sectors.merge(cov, on=KEY).merge(
        tariffs[[*KEY, "sector", "ln_tariff"]], on=[*KEY, "sector"]
    )
    cols = ["ln_dist", "contig", "comlang", "intl", "rta", "ln_tariff"]
    for s in ("S01", "S05", "S11", "S16", "S21"):  # both groups, theta from 2.5 to 8
        params = ppml_fe(d[d["sector"] == s].reset_index(drop=True), "mu_usd", cols)
        assert params["ln_tariff"] == pytest.approx(-(THETA[s] + 1.0), abs=1e-6), s
        for name in cols[:-1]:
            assert params[name] == pytest.approx(COEFFICIENTS[name], abs=1e-6), (s, name)


def test_realised_sections_add_up_and_small_pairs_trade_in_few_sections(truth_2019: Truth) -> None:
    f = truth_2019.flows
    wide = f.pivot_table(index=KEY, columns="sector", values="value_usd")
    np.testing.assert_array_equal(wide[list(SECTIONS)].sum(axis=1), wide["TOTAL"])
    intl = wide[wide.index.get_level_values(0) != wide.index.get_level_values(1)]
    zeros = (intl[list(SECTIONS)] == 0).sum(axis=1)
    small = intl["TOTAL"] < intl["TOTAL"].quantile(0.25)
    large = intl["TOTAL"] > intl["TOTAL"].quantile(0.75)
    assert zeros[small].mean() > 10 > 2 > zeros[large].mean()


def test_split_has_the_expected_shares_as_its_mean() -> None:
    # E[X_s | T] = T * omega_s: 4000 splits of a 50-shipment pair, every share within 4 sd
    rng = np.random.default_rng(3)
    omega = np.array([BASE_WEIGHT[s] for s in SECTIONS])
    omega = omega / omega.sum()
    total = np.full(4000, 1.0e8)
    x = split_flows(rng, total, np.broadcast_to(omega, (4000, 21)))
    np.testing.assert_array_equal(x.sum(axis=1), total)
    share = x / total[:, None]
    se = share.std(axis=0) / np.sqrt(len(total))
    assert (np.abs(share.mean(axis=0) - omega) <= 4 * se).all()
    assert (share == 0).any()  # 50 shipments over 21 sections: some miss


def test_demand_weights_keep_group_totals_and_tilt_with_tariffs() -> None:
    flat = demand_weights(np.zeros((1, 1, 21)))
    for g, members in GROUPS.items():
        cols = [SECTIONS.index(s) for s in members]
        # no tariffs: nothing to tilt, the base weights
        expected = [GROUP_DEMAND[g] * BASE_WEIGHT[s] for s in members]
        np.testing.assert_allclose(flat[0, 0, cols], expected, rtol=1e-12)
    profile = np.linspace(2.0, 20.0, 21)[None, None, :]
    q = demand_weights(profile)
    theta = np.array([THETA[s] for s in SECTIONS])
    v = (1.0 + profile / 100.0) ** -(theta + 1.0)
    target = (1.0 + profile.mean() / 100.0) ** -5.0
    for g, members in GROUPS.items():
        cols = [SECTIONS.index(s) for s in members]
        assert q[0, 0, cols].sum() == pytest.approx(GROUP_DEMAND[g], rel=1e-12)
        assert (q[0, 0, cols] * v[0, 0, cols]).sum() == pytest.approx(
            GROUP_DEMAND[g] * target, rel=1e-10
        )


def test_exporter_mix_weights_average_to_one() -> None:
    a = exporter_mix(["KAZ", "CHN", "FRA"])
    c = np.array(
        [GROUP_DEMAND["primary" if s in GROUPS["primary"] else "manufactures"] for s in SECTIONS]
    )
    w = pd.Series(BASE_WEIGHT)[list(SECTIONS)].to_numpy() * c  # demand weights, no tariffs
    np.testing.assert_allclose((a * w).sum(axis=1), 1.0, rtol=1e-12)
    primary = [SECTIONS.index(s) for s in GROUPS["primary"]]
    shares = (a * w)[:, primary].sum(axis=1)
    np.testing.assert_allclose(shares, [0.75, 0.15, 0.35])
