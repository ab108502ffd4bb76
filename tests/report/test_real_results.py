"""etable, figures and scenario tables on real ct.ppml / ct.ols / ct.ge results."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from ca_trade.report import coefplot, outcome_plot, scenario_table, trade_heatmap
from ca_trade.report.stored import load_results, save_results


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    c = [f"C{i:02d}" for i in range(12)]
    rows = [(e, i, y) for e in c for i in c for y in (2000, 2001, 2002)]
    df = pd.DataFrame(rows, columns=["exporter", "importer", "year"])
    df["ln_dist"] = rng.uniform(5, 9, len(df))
    df["rta"] = rng.integers(0, 2, len(df))
    mu = np.exp(8 - 0.8 * df["ln_dist"] + 0.5 * df["rta"] + rng.normal(0, 0.3, len(df)))
    df["value_usd"] = rng.poisson(mu).astype(float)
    df["log_value"] = np.log(df["value_usd"].where(df["value_usd"] > 0))
    return df.dropna().reset_index(drop=True)


def test_etable_on_real_results(panel: pd.DataFrame, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ct.exceptions.CaTradeWarning)
        p = ct.ppml(
            "value_usd ~ ln_dist + rta | exporter^year + importer^year",
            data=panel,
            vcov={"CRV1": "exporter"},
        )
        o = ct.ols("log_value ~ ln_dist + rta | exporter^year", data=panel, vcov="hetero")
    md = ct.etable({"PPML": p, "OLS": o}, "md", git=False)
    assert "| Fixed effects |  |  |" in md
    assert "| Exporter × year | Yes | Yes |" in md
    assert "| Importer × year | Yes | No |" in md
    assert f"| Observations | {p.nobs:,} | {o.nobs:,} |" in md
    assert "| Standard errors | Clustered by exporter | Robust |" in md
    assert f"{p.params['ln_dist']:.3f}" in md
    assert "Pseudo R²" in md and "| R² |" in md
    tex = ct.etable([p, o], "tex", se="ci", git=False)
    lo = p.conf_int().loc["rta"].iloc[0]
    assert f"[{lo:.3f}," in tex
    # rendering is deterministic, and saved estimates render the same table
    assert md == ct.etable({"PPML": p, "OLS": o}, "md", git=False)
    back = load_results(save_results(p, tmp_path / "r.json"))
    assert ct.etable([back], "md", provenance=False) == ct.etable([p], "md", provenance=False)
    fig = coefplot([p, o], keep=["ln_dist", "rta"], truth={"ln_dist": -0.8, "rta": 0.5})
    assert len(fig.axes) == 1


def test_scenario_outputs_on_a_real_ge_result() -> None:
    f = pd.DataFrame(
        {
            "exporter": ["KAZ", "KAZ", "KGZ", "KGZ"],
            "importer": ["KAZ", "KGZ", "KAZ", "KGZ"],
            "value": [80.0, 20.0, 10.0, 40.0],
        }
    )
    pe = pd.DataFrame(
        {"exporter": ["KAZ", "KGZ"], "importer": ["KGZ", "KAZ"], "effect": [0.2, 0.2]}
    )
    res = ct.ge.solve(f, pe, theta=5.0)
    md = scenario_table(res, "md", outcomes=["welfare", "exports"], provenance=False)
    w = res.countries.loc["KGZ", "welfare_pct"]
    assert f"| KGZ | {w:.2f} |" in md
    fig = trade_heatmap(res, countries=["KAZ", "KGZ"])
    assert len(fig.axes) == 2  # heatmap and colour bar
    assert len(outcome_plot(res).axes) == 2
