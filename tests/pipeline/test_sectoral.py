"""The sectoral demo's steps: elasticities by partition, the GE baseline, the union's rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from ca_trade.etl.panel_store import write_panel
from ca_trade.exceptions import DataValidationError
from ca_trade.pipeline.sectoral import (
    baseline_revenue_shares,
    ge_inputs,
    largest_member,
    sector_elasticities,
    sectoral_customs_union,
)

COUNTRIES = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH"]
FORMULA = "value_usd ~ ln_dist + ln_tariff | exporter^year + importer^year"


def _sector(rng: np.random.Generator, sector: str, beta: float) -> pd.DataFrame:
    """A gravity sector with tariff coefficient `beta` (every pair, two years)."""
    idx = pd.MultiIndex.from_product(
        [COUNTRIES, COUNTRIES, [2018, 2019]], names=["exporter", "importer", "year"]
    ).to_frame(index=False)
    dom = (idx.exporter == idx.importer).to_numpy()
    d = idx.assign(
        sector=sector,
        domestic=dom,
        ln_dist=np.where(dom, 4.0, rng.uniform(6.0, 9.0, len(idx))),
        tariff=np.where(dom, 0.0, rng.uniform(0.0, 0.3, len(idx))),
    )
    d["ln_tariff"] = np.log1p(d["tariff"])
    mu = np.exp(20.0 - 1.0 * d["ln_dist"] + beta * d["ln_tariff"])
    d["value_usd"] = rng.poisson(mu / 1e3) * 1e3
    return d


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(11)
    frames = [
        ("S01", _sector(rng, "S01", -5.0)),  # theta 4, precise
        ("S02", _sector(rng, "S02", -7.0)),  # theta 6, precise
        ("S03", _sector(rng, "S03", -1.0).assign(value_usd=lambda d: d.value_usd * 0)),
    ]
    frames[2][1].loc[frames[2][1].index[::7], "value_usd"] = 1e6  # noise: no signal
    out = tmp_path_factory.mktemp("sectoral") / "panel"
    write_panel(out, "section", frames)
    return out


def test_each_sector_is_fitted_alone_and_unusable_ones_take_the_pooled_mean(
    panel: Path, tmp_path: Path
) -> None:
    est = sector_elasticities(panel, formula=FORMULA, truth={"S01": 4, "S02": 6, "S03": 0})
    assert list(est.index) == ["S01", "S02", "S03"]
    for s in ("S01", "S02"):
        alone = ct.ppml(FORMULA, data=ct.etl.read_panel(panel, sectors=[s]))
        assert est.loc[s, "beta"] == alone.params["ln_tariff"]
        assert est.loc[s, "theta"] == pytest.approx(-alone.params["ln_tariff"] - 1.0, abs=1e-12)
        assert est.loc[s, "theta"] == pytest.approx(est.loc[s, "theta_true"], abs=0.2)
        assert est.loc[s, "theta_source"] == "estimate"
    assert est.loc["S03", "theta_lo"] <= 0 and est.loc["S03", "theta_source"] == "pooled"
    w = 1.0 / est.loc[["S01", "S02"], "std_error"] ** 2
    pooled = (w * est.loc[["S01", "S02"], "theta"]).sum() / w.sum()
    assert est.loc["S03", "theta_used"] == pytest.approx(pooled, rel=1e-12)
    # a panel of unusable sectors only: nothing to pool, the user must give theta
    write_panel(tmp_path / "noise", "section", [("S03", ct.etl.read_panel(panel, sectors=["S03"]))])
    with pytest.raises(DataValidationError, match="no sector's trade elasticity"):
        sector_elasticities(tmp_path / "noise", formula=FORMULA)


def test_ge_inputs_fill_missing_domestic_sales_and_refuse_missing_tariffs(
    panel: Path, tmp_path: Path
) -> None:
    frames = [(s, ct.etl.read_panel(panel, sectors=[s])) for s in ("S01", "S02")]
    first = frames[0][1]
    first.loc[first.domestic & (first.exporter == "BBB"), "value_usd"] = np.nan
    write_panel(tmp_path / "p", "section", frames)
    flows, tariffs, filled = ge_inputs(tmp_path / "p", 2019)
    assert filled.to_dict("records") == [{"country": "BBB", "sector": "S01"}]
    assert len(flows) == 2 * 64 and flows["value"].notna().all()
    assert len(tariffs) == 2 * 56 and (tariffs["exporter"] != tariffs["importer"]).all()
    with pytest.raises(DataValidationError, match="no rows in year 2015"):
        ge_inputs(tmp_path / "p", 2015)
    first.loc[(~first.domestic) & (first.exporter == "CCC"), "tariff"] = np.nan
    write_panel(tmp_path / "p", "section", frames)
    with pytest.raises(DataValidationError, match=r"lack a flow or a tariff \(first: CCC->"):
        ge_inputs(tmp_path / "p", 2019)


def test_the_union_adopts_the_largest_members_schedule_and_pools_by_baseline_shares(
    panel: Path,
) -> None:
    flows, tariffs, _ = ge_inputs(panel, 2019)
    members = ["AAA", "BBB", "CCC"]
    sales = flows[flows.exporter.isin(members)].groupby("exporter")["value"].sum()
    assert largest_member(flows, members) == sales.idxmax()
    shares = baseline_revenue_shares(tariffs, members)
    t = tariffs[tariffs.importer.isin(members)]
    revenue = (t.tariff * t.value_usd).groupby(t.importer).sum()
    assert shares == pytest.approx((revenue / revenue.sum()).to_dict(), rel=1e-12)
    with pytest.raises(DataValidationError, match="collect no tariff revenue"):
        baseline_revenue_shares(tariffs.assign(tariff=0.0), members)
    res = sectoral_customs_union(flows, tariffs, {"S01": 4.0, "S02": 6.0, "S03": 5.0}, members)
    assert f"{sales.idxmax()}'s schedule" in res.description
    new = res.flows.set_index(["exporter", "importer", "sector"])["new_tariff"]
    assert new.loc[("BBB", "AAA", "S01")] == 0.0  # internal tariffs removed
    # every member's duties on an outsider are the leader's
    leader = sales.idxmax()
    for m in members:
        assert new.loc[("HHH", m, "S02")] == pytest.approx(new.loc[("HHH", leader, "S02")])
    # pooled with baseline quotas: every member's revenue changes by the same ratio
    rev = res.countries.loc[members, "tariff_revenue_pct"]
    assert np.allclose(rev, rev.iloc[0], atol=1e-9)
