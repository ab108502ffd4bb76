"""The first-order welfare decomposition: its formula, and that it is first order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ca_trade.ge as ge
from tests.ge.sectoral._problems import random_problem


def _solve(f: object, changes: pd.DataFrame, deficits: str) -> ge.sectoral.SectoralGEResult:
    return ge.solve(
        f.flows,  # type: ignore[attr-defined]
        changes,
        f.theta,  # type: ignore[attr-defined]
        tariffs=f.tariffs,  # type: ignore[attr-defined]
        production=f.production,  # type: ignore[attr-defined]
        inputs=f.inputs,  # type: ignore[attr-defined]
        deficits=deficits,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("deficits", ["zero", "fixed"])
@pytest.mark.parametrize("kind", ["tariff cut", "trade-cost fall"])
def test_first_order_error_shrinks_with_the_square_of_the_shock(deficits: str, kind: str) -> None:
    f = random_problem(4, 3, 3)
    gaps = []
    for eps in (1e-2, 1e-3):
        if kind == "tariff cut":
            ch = f.tariffs.rename(columns={"tariff": "new_tariff"})
            ch["new_tariff"] *= 1.0 - eps
        else:
            intl = f.tariffs["exporter"] != f.tariffs["importer"]
            ch = f.tariffs[["exporter", "importer", "sector"]].assign(effect=np.where(intl, eps, 0))
        d = _solve(f, ch, deficits).welfare_decomposition()
        assert d["exact_pct"].abs().max() > eps  # a first-order effect exists (percent)
        gaps.append((d["first_order_pct"] - d["exact_pct"]).abs().max())
    # exact = first order + O(eps^2): ten times smaller shock, about 100 times smaller gap
    assert gaps[1] < gaps[0] / 50


def test_terms_and_volume_of_trade_by_the_formula() -> None:
    f = random_problem(3, 2, 4)
    ch = f.tariffs.rename(columns={"tariff": "new_tariff"})
    ch["new_tariff"] *= 0.3
    res = _solve(f, ch, "zero")
    fl = res.flows
    cost = res.sectors["unit_cost"]  # (country, sector)
    # baseline income of the (re-solved, balanced) baseline: value added + tariff revenue
    prod = f.production.set_index(["country", "sector"])["value_added_share"]
    out = res.sectors["baseline_output"]
    revenue = (fl["tariff"] * fl["baseline_value"]).groupby(fl["importer"]).sum()
    income = (out * prod.loc[out.index]).groupby(level="country").sum() + revenue
    for c in res.countries.index:
        tot = vot = 0.0
        for row in fl.itertuples():
            dc_exp = cost[(row.exporter, row.sector)] - 1.0
            if row.exporter == c:
                tot += row.baseline_value * dc_exp
            if row.importer == c:
                tot -= row.baseline_value * dc_exp
                if row.baseline_value > 0:
                    dx = row.value / row.baseline_value - 1.0
                    vot += row.tariff * row.baseline_value * (dx - dc_exp)
        d = res.welfare_decomposition().loc[c]
        assert d["terms_of_trade_pct"] == pytest.approx(100 * tot / income[c], abs=1e-10)
        assert d["volume_of_trade_pct"] == pytest.approx(100 * vot / income[c], abs=1e-10)
    by_sector = res.welfare_decomposition(by="sector").groupby(level="country").sum()
    np.testing.assert_allclose(
        by_sector["volume_of_trade_pct"], res.decomposition["volume_of_trade_pct"]
    )
    with pytest.raises(ValueError, match="by must be"):
        res.welfare_decomposition(by="pair")  # type: ignore[arg-type]


def test_revenue_pooling_term_is_the_transfer() -> None:
    f = random_problem(3, 2, 5)
    cu = ge.tariff_harmonization(
        f.tariffs, ["C00", "C01"], cet="max", revenue_shares={"C00": 0.9, "C01": 0.1}
    )
    res = ge.solve(f.flows, cu, f.theta, production=f.production, inputs=f.inputs)
    d = res.welfare_decomposition()
    assert d.loc["C02", "revenue_pooling_pct"] == 0.0
    assert d.loc["C00", "revenue_pooling_pct"] != 0.0
    assert "revenue pooled (C00 90.00%, C01 10.00%)" in res.description
