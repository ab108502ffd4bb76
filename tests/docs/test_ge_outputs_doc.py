"""docs/ge-outputs.md stays true: every column of a real solve is documented, nothing else is.

Real scenarios are solved on the SYNTHETIC sample (one year, the generator's flows by section
and WITS-like tariffs): a one-sector customs union plus an agreement (``GEResult``), its
conditional/full comparison (``GEComparison``), parametric intervals (``UncertaintyResult``),
and a multi-sector customs union with revenue pooling and its intervals
(``SectoralGEResult``). Each table's columns (and the keys of ``residuals``/``settings``) must
appear in the first cell of a table row of the guide's section for that table; a template
such as ```<ratio>_pct_lo``` stands for every ratio documented in the guide. Conversely, a
column the guide names must exist, so a renamed column fails too. The identities the guide
states are checked on the same results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from ca_trade.etl.tariffs import product_sector

DOC = Path(__file__).resolve().parents[2] / "docs" / "ge-outputs.md"
CA5 = ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
SECTORS = ["S01", "S05", "S16"]
THETA = 4.0

# templates of the guide and what each stands for besides <ratio>
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
TEMPLATES = {"<coefficient>": NAME, "<sector>": r"[^\]]+"}


def sections(text: str) -> dict[str, list[str]]:
    """Map each '### ' heading to the code spans in the first cell of its table rows."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("### "):
            current = line[4:].strip()
            out[current] = []
        elif line.startswith("## "):
            current = None
        elif current is not None and line.startswith("|") and not line.startswith("|---"):
            first = line.split("|")[1]
            out[current] += re.findall(r"`([^`]+)`", first)
    return out


@pytest.fixture(scope="module")
def doc() -> dict[str, list[str]]:
    return sections(DOC.read_text(encoding="utf-8"))


def ratio_vocabulary(doc: dict[str, list[str]]) -> list[str]:
    literal = [
        t
        for key in ("GEResult.countries", "SectoralGEResult.countries", "SectoralGEResult.sectors")
        for t in doc[key]
        if "<" not in t
    ]
    return sorted(set(literal), key=len, reverse=True)


def documented(column: str, tokens: list[str], ratios: list[str]) -> bool:
    for token in tokens:
        if token == column:
            return True
        if "<" in token:
            pattern = re.escape(token)
            pattern = pattern.replace(
                re.escape("<ratio>"), "(?:" + "|".join(map(re.escape, ratios)) + ")"
            )
            for name, rx in TEMPLATES.items():
                pattern = pattern.replace(re.escape(name), rx)
            if re.fullmatch(pattern, column):
                return True
    return False


@dataclass(frozen=True)
class Solved:
    one: ct.ge.GEResult
    both: ct.ge.GEComparison
    unc: ct.ge.UncertaintyResult
    multi: ct.ge.sectoral.SectoralGEResult
    multi_unc: ct.ge.UncertaintyResult
    one_flows: pd.DataFrame


def _wits(raw: Path) -> pd.DataFrame:
    """The sample's WITS file with each product's section (products are HS chapters)."""
    wits = pd.read_csv(raw / "SYNTHETIC_wits_tariffs.csv", dtype={"product": str})
    section = product_sector(wits["product"], "section")
    return wits.assign(sector=section.where(section.notna(), wits["product"]))


def _sector_tariffs(raw: Path, flows: pd.DataFrame) -> pd.DataFrame:
    wits = _wits(raw)
    wits = wits[wits["sector"].isin(SECTORS)]
    mfn = wits[wits["tariff_type"] == "MFN"].rename(
        columns={"reporter_iso3": "importer", "simple_average_pct": "mfn"}
    )
    pref = wits[wits["tariff_type"] == "PREF"].rename(
        columns={
            "reporter_iso3": "importer",
            "partner_iso3": "exporter",
            "simple_average_pct": "pref",
        }
    )
    intl = flows.loc[flows["exporter"] != flows["importer"], ["exporter", "importer", "sector"]]
    t = intl.merge(mfn[["importer", "sector", "mfn"]], on=["importer", "sector"], how="left")
    t = t.merge(pref[["exporter", "importer", "sector", "pref"]], how="left",
                on=["exporter", "importer", "sector"])  # fmt: skip
    t["tariff"] = t["pref"].fillna(t["mfn"]).fillna(0.0) / 100
    return t[["exporter", "importer", "sector", "tariff"]]


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> Solved:
    raw = tmp_path_factory.mktemp("ge_outputs") / "raw"
    ct.sample.generate(raw, seed=2024, years=[2019])
    truth = pd.read_parquet(raw / "truth_flows.parquet")
    total = truth[truth["sector"] == "TOTAL"][["exporter", "importer", "value_usd"]]
    wits = _wits(raw)
    ahs = wits[(wits["tariff_type"] == "AHS") & (wits["sector"] == "TOTAL")]
    tariffs = pd.DataFrame(
        {
            "exporter": ahs["partner_iso3"],
            "importer": ahs["reporter_iso3"],
            "tariff": ahs["simple_average_pct"] / 100,
        }
    )
    vcov = pd.DataFrame([[0.01]], index=["rta"], columns=["rta"])
    scenario = ct.ge.tariff_harmonization(tariffs, CA5, -(THETA + 1), cet="simple") + (
        ct.ge.agreement(CA5, 0.5)
    )
    one = ct.ge.solve(total, scenario, theta=THETA, value="value_usd")
    both = ct.ge.solve_both(total, scenario, THETA, value="value_usd")
    unc = ct.ge.parametric_draws(
        total, scenario, THETA, vcov=vcov, n_draws=20, seed=1, value="value_usd"
    )

    flows = truth[truth["sector"].isin(SECTORS)][["exporter", "importer", "sector", "value_usd"]]
    sector_tariffs = _sector_tariffs(raw, flows)
    shares = {"KAZ": 0.5, "UZB": 0.3, "KGZ": 0.1, "TJK": 0.05, "TKM": 0.05}
    union = ct.ge.tariff_harmonization(sector_tariffs, CA5, cet="simple", revenue_shares=shares)
    union = union + ct.ge.agreement(CA5, 0.5)  # a partial effect: the trade-cost term is live
    theta = {"S01": 8.0, "S05": 12.0, "S16": 4.0}
    multi = ct.ge.solve(flows, union, theta=theta, tariffs=sector_tariffs, value="value_usd")
    multi_unc = ct.ge.parametric_draws(
        flows, union, theta, vcov=vcov, theta_se={"S01": 1.0}, n_draws=10, seed=1,
        tariffs=sector_tariffs, value="value_usd",
    )  # fmt: skip
    assert isinstance(multi, ct.ge.sectoral.SectoralGEResult)
    return Solved(one, both, unc, multi, multi_unc, total)


def tables(s: Solved) -> dict[str, list[list[str]]]:
    """Guide section -> the column (or key) lists of the results it documents."""
    m = s.multi
    return {
        "GEResult.countries": [list(s.one.countries.columns)],
        "GEResult.flows": [list(s.one.flows.columns)],
        "GEResult.residuals and .settings": [list(s.one.residuals), list(s.one.settings)],
        "GEComparison.table()": [list(s.both.table().columns)],
        "UncertaintyResult.countries": [
            list(s.unc.countries.columns),
            list(s.multi_unc.countries.columns),
        ],
        "UncertaintyResult.flows": [list(s.unc.flows.columns), list(s.multi_unc.flows.columns)],
        "UncertaintyResult.draws": [list(s.unc.draws.columns), list(s.multi_unc.draws.columns)],
        "UncertaintyResult.coefficients": [
            list(s.unc.coefficients.columns),
            list(s.multi_unc.coefficients.columns),
        ],
        "SectoralGEResult.countries": [list(m.countries.columns)],
        "SectoralGEResult.flows": [list(m.flows.columns)],
        "SectoralGEResult.sectors": [list(m.sectors.columns)],
        "SectoralGEResult.welfare_decomposition()": [
            list(m.welfare_decomposition().columns),
            list(m.welfare_decomposition(by="sector").columns),
        ],
        "SectoralGEResult.residuals and .settings": [list(m.residuals), list(m.settings)],
    }  # fmt: skip


def test_every_output_column_is_documented(doc: dict[str, list[str]], solved: Solved) -> None:
    ratios = ratio_vocabulary(doc)
    missing = []
    for section, lists in tables(solved).items():
        assert section in doc, f"docs/ge-outputs.md lost its section '### {section}'"
        for columns in lists:
            missing += [
                f"{section}: {c}" for c in columns if not documented(c, doc[section], ratios)
            ]
    assert not missing, f"undocumented GE outputs in docs/ge-outputs.md: {missing}"


def test_every_documented_column_exists(doc: dict[str, list[str]], solved: Solved) -> None:
    stale = []
    for section, lists in tables(solved).items():
        present = {c for columns in lists for c in columns}
        stale += [f"{section}: {t}" for t in doc[section] if "<" not in t and t not in present]
    assert not stale, f"docs/ge-outputs.md documents columns no result has: {stale}"


def test_the_documented_identities_hold(solved: Solved) -> None:
    c = solved.one.countries
    np.testing.assert_allclose(c["welfare"], c["expenditure"] / c["imr"], rtol=1e-12)
    np.testing.assert_allclose(c["real_gdp"], c["output"] / c["imr"], rtol=1e-12)
    np.testing.assert_allclose(c["output"], c["price"], rtol=1e-12)  # psi = 0
    np.testing.assert_allclose(c["welfare_pct"], 100 * (c["welfare"] - 1), atol=1e-10)
    y = solved.one_flows.groupby("exporter")["value_usd"].sum().loc[c.index]
    assert np.average(c["output"], weights=y) == pytest.approx(1.0, rel=1e-10)
    f = solved.one.flows
    new_output = f.groupby("exporter")["value"].sum().loc[c.index]
    np.testing.assert_allclose(new_output, c["output"] * y, rtol=1e-9)
    cond = solved.both.conditional.countries
    np.testing.assert_allclose(cond[["price", "output"]], 1.0)
    table = solved.both.table()
    np.testing.assert_array_equal(
        table["welfare_pct_full"], solved.both.full.countries["welfare_pct"]
    )
    np.testing.assert_array_equal(table["price_pct_conditional"], 0.0)
    np.testing.assert_allclose(solved.one.policy_effect()["welfare"], 100 * (1 / c["welfare"] - 1))

    u = solved.unc
    assert (u.countries["welfare_pct_lo"] <= u.countries["welfare_pct_hi"]).all()
    assert set(u.coefficients.columns) == {"draw", "rta", "ln_tariff", "failed"}
    assert u.coefficients["ln_tariff"].nunique() == 1  # not in the covariance: held fixed

    m = solved.multi
    mc, d = m.countries, m.welfare_decomposition()
    np.testing.assert_allclose(mc["welfare"], mc["income"] / mc["price_index"], rtol=1e-12)
    np.testing.assert_allclose(mc["real_wage"], mc["wage"] / mc["price_index"], rtol=1e-12)
    np.testing.assert_array_equal(mc["real_gdp"], mc["real_wage"])
    parts = ["terms_of_trade_pct", "volume_of_trade_pct", "trade_costs_pct", "revenue_pooling_pct"]
    np.testing.assert_allclose(d["first_order_pct"], d[parts].sum(axis=1), atol=1e-12)
    np.testing.assert_array_equal(d["exact_pct"], mc["welfare_pct"])
    assert (d.loc[CA5, "revenue_pooling_pct"] != 0).any() and (d["trade_costs_pct"] != 0).any()
    by_sector = m.welfare_decomposition(by="sector").groupby(level="country").sum()
    np.testing.assert_allclose(by_sector[parts[:3]], d[parts[:3]], atol=1e-12)
    s = m.sectors
    np.testing.assert_allclose(s["new_output"], s["baseline_output"] * s["output"], rtol=1e-12)
    out = s.groupby(level="country")[["new_output", "baseline_output"]].sum()
    np.testing.assert_allclose(out["new_output"] / out["baseline_output"], mc["output"], rtol=1e-12)
    mf = m.flows
    np.testing.assert_array_equal(mf["tariff"].between(0, 10), True)
    assert {"theta[S01]", "theta[S05]", "theta[S16]"} <= set(solved.multi_unc.coefficients.columns)


def test_the_checker_catches_an_undocumented_column(doc: dict[str, list[str]]) -> None:
    ratios = ratio_vocabulary(doc)
    tokens = doc["UncertaintyResult.countries"]
    assert documented("welfare_pct_lo", tokens, ratios)
    assert documented("tariff_revenue_pct_se", tokens, ratios)
    assert not documented("welfare_pct_median", tokens, ratios)
    assert not documented("happiness_pct_lo", tokens, ratios)
    assert documented("theta[S01]", doc["UncertaintyResult.coefficients"], ratios)
