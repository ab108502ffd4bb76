r"""The sectoral demo: sector panel -> trade elasticities by sector -> a sectoral customs union.

The chain (``make demo`` runs it after the one-sector scenarios; ``docs/tutorial-sectors.md``
walks through it):

1. :func:`ca_trade.etl.reconcile` with ``sectors=["total", "section"]`` and
   ``build_panel(..., level="section", out=...)``: the partitioned panel
   ``sector=<code>/part-0.parquet``, one HS section per partition.
2. :func:`sector_elasticities`: PPML by section (:data:`SECTOR_FORMULA`, all pairs, domestic
   included, as the sample's generating model; the coefficient of :math:`\ln(1 + t_{ijs})`
   is :math:`-(\theta_s + 1)` with duty-exclusive flows), each partition read on its own.
3. :func:`ge_inputs` and :func:`sectoral_customs_union`: the base year's flows by sector and
   applied tariffs; the five Central Asian states remove internal tariffs, adopt the common
   external tariff of the largest member (the largest total sales in the data:
   :func:`largest_member`), and pool their tariff revenue with quotas equal to their
   baseline revenue shares (:func:`baseline_revenue_shares`); solved by
   :func:`ca_trade.ge.solve` with the sectors' :math:`\theta_s`.

Two rules of the demo, stated where they act and counted in its summary:

- **Domestic sales** that the panel leaves missing because reported exports exceed
  production (reporting noise) are set to zero for the GE baseline, the nearest feasible
  value; the count is reported (:attr:`SectoralDemo.filled`).
- **Elasticities** used in the GE are the estimates where their 95 % interval lies above
  zero; other sectors get the inverse-variance-weighted mean of those estimates
  (``theta_source`` in :attr:`SectoralDemo.elasticities` says which). On the SYNTHETIC sample
  the true :math:`\theta_s` are known, and the same scenario is also solved with them.

Examples
--------
>>> SECTOR_FORMULA.split("|")[1].strip()
'exporter^year + importer^year'
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ca_trade import ge
from ca_trade.estimate import ppml
from ca_trade.etl import PanelDataset, build_panel, read_panel, reconcile
from ca_trade.exceptions import DataValidationError
from ca_trade.facts import CENTRAL_ASIA
from ca_trade.ge.sectoral import SectoralGEResult
from ca_trade.report import build_provenance, save_figure, scenario_table

__all__ = [
    "SECTOR_FORMULA",
    "SectoralDemo",
    "baseline_revenue_shares",
    "ge_inputs",
    "largest_member",
    "run_sectoral",
    "sector_elasticities",
    "sectoral_customs_union",
    "sectoral_summary",
]

#: PPML specification estimated in every sector (the SYNTHETIC sample's generating model).
SECTOR_FORMULA = (
    "value_usd ~ ln_dist + contig + comlang + intl + rta + ln_tariff"
    " | exporter^year + importer^year"
)
_Z95 = 1.959963984540054
_MARK = "SYNTHETIC DATA — not real trade flows"


def sector_elasticities(
    panel: str | os.PathLike[str],
    *,
    formula: str = SECTOR_FORMULA,
    regressor: str = "ln_tariff",
    truth: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    r"""Estimate the trade elasticity of every sector of a partitioned panel.

    Parameters
    ----------
    panel : path-like
        A panel written by ``build_panel(..., out=panel)``; each sector's partition is read
        and fitted on its own.
    formula : str, default :data:`SECTOR_FORMULA`
        PPML formula with `regressor`, the :math:`\ln(1+t)` term.
    regressor : str, default "ln_tariff"
        The tariff term; :math:`\theta_s = -\beta_s - 1`.
    truth : mapping, optional
        Known :math:`\theta_s` (the SYNTHETIC sample's), added as ``theta_true``.

    Returns
    -------
    pandas.DataFrame
        Indexed by sector: ``beta, std_error, theta, theta_lo, theta_hi`` (95 %),
        ``nobs, converged``, ``theta_used`` and ``theta_source`` (``estimate`` where the
        interval lies above zero, else ``pooled``: the inverse-variance-weighted mean of
        those estimates), and ``theta_true`` with `truth`.

    Raises
    ------
    DataValidationError
        If no sector's interval lies above zero (nothing to pool).
    """
    rows = []
    for sector in _panel_sectors(panel):
        data = read_panel(panel, sectors=[sector])
        with warnings.catch_warnings():
            # rows without a domestic flow are dropped as missing, by design of the panel
            warnings.filterwarnings("ignore", message=".*rows dropped.*missing values")
            res = ppml(formula, data=data)
        beta, se = float(res.params[regressor]), float(res.bse[regressor])
        rows.append(
            {
                "sector": sector,
                "beta": beta,
                "std_error": se,
                "theta": -beta - 1.0,
                "theta_lo": -beta - 1.0 - _Z95 * se,
                "theta_hi": -beta - 1.0 + _Z95 * se,
                "nobs": int(res.nobs),
                "converged": bool(res.converged),
            }
        )
    out = pd.DataFrame(rows).set_index("sector")
    good = out["converged"] & (out["theta_lo"] > 0) & np.isfinite(out["theta"])
    if not good.any():
        raise DataValidationError(
            f"{panel}: no sector's trade elasticity has a 95% interval above zero; give the "
            "elasticities (theta) yourself"
        )
    w = 1.0 / out.loc[good, "std_error"] ** 2
    pooled = float((w * out.loc[good, "theta"]).sum() / w.sum())
    out["theta_used"] = out["theta"].where(good, pooled)
    out["theta_source"] = np.where(good, "estimate", "pooled")
    if truth is not None:
        out["theta_true"] = [float(truth[s]) for s in out.index]
    return out


def _panel_sectors(panel: str | os.PathLike[str]) -> list[str]:
    return sorted(read_panel(panel, columns=["year"])["sector"].unique().tolist())


def ge_inputs(
    panel: str | os.PathLike[str], year: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return the GE baseline of one year: flows by sector, applied tariffs, filled rows.

    Parameters
    ----------
    panel : path-like
        A partitioned sector panel.
    year : int
        The base year.

    Returns
    -------
    flows : pandas.DataFrame
        ``exporter, importer, sector, value`` (duty-exclusive, domestic sales included).
    tariffs : pandas.DataFrame
        ``exporter, importer, sector, tariff, value_usd`` of international pairs.
    filled : pandas.DataFrame
        ``country, sector`` whose missing domestic sales were set to zero (module
        docstring).

    Raises
    ------
    DataValidationError
        If the year is not in the panel, or a tariff or international flow is missing.
    """
    base = read_panel(panel)
    base = base[base["year"] == int(year)]
    if base.empty:
        raise DataValidationError(f"{panel}: no rows in year {year}")
    dom = base["domestic"].to_numpy()
    gaps = base[dom & base["value_usd"].isna().to_numpy()]
    filled = gaps[["exporter", "sector"]].rename(columns={"exporter": "country"})
    intl = base[~dom]
    bad = intl[intl["value_usd"].isna() | intl["tariff"].isna()]
    if len(bad):
        r = bad.iloc[0]
        raise DataValidationError(
            f"{panel}: {len(bad)} international rows of {year} lack a flow or a tariff (first: "
            f"{r['exporter']}->{r['importer']} {r['sector']}); add tariff data for them"
        )
    flows = base[["exporter", "importer", "sector", "value_usd"]].rename(
        columns={"value_usd": "value"}
    )
    flows = flows.fillna({"value": 0.0}).reset_index(drop=True)
    tariffs = intl[["exporter", "importer", "sector", "tariff", "value_usd"]]
    return flows, tariffs.reset_index(drop=True), filled.reset_index(drop=True)


def largest_member(flows: pd.DataFrame, members: Sequence[str]) -> str:
    """Return the member with the largest total sales (all sectors, domestic included).

    Examples
    --------
    >>> f = pd.DataFrame({"exporter": ["A", "B", "B"], "value": [5.0, 3.0, 4.0]})
    >>> largest_member(f, ["A", "B"])
    'B'
    """
    sales = flows[flows["exporter"].isin(list(members))].groupby("exporter")["value"].sum()
    return str(sales.sort_index().idxmax())


def baseline_revenue_shares(tariffs: pd.DataFrame, members: Sequence[str]) -> dict[str, float]:
    """Return each member's share of the members' baseline tariff revenue (pooling quotas).

    Revenue is ``tariff * value_usd`` (duty-exclusive imports) summed over what a member
    imports; with these quotas, pooling leaves every member's revenue as it was at the
    baseline, so the scenario's revenue effects come from the union's tariffs alone.

    Examples
    --------
    >>> t = pd.DataFrame({"importer": ["A", "B"], "tariff": [0.1, 0.1],
    ...                   "value_usd": [30.0, 10.0]})
    >>> baseline_revenue_shares(t, ["A", "B"])
    {'A': 0.75, 'B': 0.25}
    """
    t = tariffs[tariffs["importer"].isin(list(members))]
    revenue = (t["tariff"] * t["value_usd"]).groupby(t["importer"]).sum()
    revenue = revenue.reindex(sorted(members), fill_value=0.0)
    if not revenue.sum() > 0:
        raise DataValidationError(f"members {sorted(members)} collect no tariff revenue")
    return {str(k): float(v) for k, v in (revenue / revenue.sum()).items()}


def sectoral_customs_union(
    flows: pd.DataFrame,
    tariffs: pd.DataFrame,
    theta: Mapping[str, float] | pd.Series,
    members: Sequence[str] = CENTRAL_ASIA,
) -> SectoralGEResult:
    """Solve the demo's customs union: no internal tariffs, the largest member's CET, pooling.

    Parameters
    ----------
    flows, tariffs : pandas.DataFrame
        From :func:`ge_inputs`.
    theta : mapping or Series
        Trade elasticity by sector.
    members : sequence of str, default the five Central Asian states
        The union.

    Returns
    -------
    ca_trade.ge.sectoral.SectoralGEResult
        ``.countries``, ``.sectors``, ``.flows``; ``.description`` states the scenario.
    """
    leader = largest_member(flows, members)
    scenario = ge.tariff_harmonization(
        tariffs,
        list(members),
        cet=("adopt", leader),
        revenue_shares=baseline_revenue_shares(tariffs, members),
    )
    base = tariffs[["exporter", "importer", "sector", "tariff"]]
    result = ge.solve(flows, scenario, theta=dict(theta), tariffs=base)
    if not isinstance(result, SectoralGEResult):  # flows carry a sector column
        raise DataValidationError("flows without a sector column give no sectoral result")
    return result


@dataclass(frozen=True)
class SectoralDemo:
    """What the sectoral demo produced.

    Attributes
    ----------
    panel : PanelDataset
        The partitioned section panel.
    elasticities : pandas.DataFrame
        From :func:`sector_elasticities`.
    result : SectoralGEResult
        The customs union with the elasticities used.
    result_true : SectoralGEResult or None
        The same with the true elasticities (SYNTHETIC sample only).
    filled : pandas.DataFrame
        Domestic sales set to zero for the GE baseline (``country, sector``).
    written : list of pathlib.Path
        Tables and figures.
    """

    panel: PanelDataset
    elasticities: pd.DataFrame
    result: SectoralGEResult
    result_true: SectoralGEResult | None
    filled: pd.DataFrame
    written: list[Path]


def run_sectoral(
    processed_dir: str | os.PathLike[str],
    raw_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    years: Sequence[int],
    base_year: int,
    truth: Mapping[str, float] | None = None,
    synthetic: bool = True,
    members: Sequence[str] = CENTRAL_ASIA,
) -> SectoralDemo:
    r"""Run the sectoral chain and write its table (by country) and figure (by sector).

    Parameters
    ----------
    processed_dir, raw_dir : path-like
        The ingested dataset and the raw folder (WITS tariffs, production by sector).
    out : path-like
        Output folder: ``panel_sections/``, ``tables/sectoral_customs_union.{md,tex}``,
        ``figures/sectoral_customs_union.{png,pdf}``.
    years : sequence of int
        Panel years (estimation sample).
    base_year : int
        GE base year (one of `years`).
    truth : mapping, optional
        True :math:`\theta_s` (SYNTHETIC sample's ``truth.json``).
    synthetic : bool, default True
        Label every artefact SYNTHETIC.
    members : sequence of str
        The union.

    Returns
    -------
    SectoralDemo
        Everything produced.
    """
    root = Path(out)
    reconciled = reconcile(Path(processed_dir), method="baci", sectors=["total", "section"])
    with warnings.catch_warnings():
        # the panel's own warnings (missing domestic sales) are counted in the summary
        warnings.simplefilter("ignore")
        panel = build_panel(
            reconciled,
            raw_dir=Path(raw_dir),
            level="section",
            years=years,
            out=root / "panel_sections",
        )
    est = sector_elasticities(panel.path, truth=truth)
    flows, tariffs, filled = ge_inputs(panel.path, base_year)
    result = sectoral_customs_union(flows, tariffs, est["theta_used"], members)
    result_true = (
        None if truth is None else sectoral_customs_union(flows, tariffs, dict(truth), members)
    )
    demo = SectoralDemo(panel, est, result, result_true, filled, [])
    written = _write_outputs(root, demo, members, synthetic)
    return SectoralDemo(panel, est, result, result_true, filled, written)


def _country_frame(demo: SectoralDemo, members: Sequence[str]) -> pd.DataFrame:
    cols = ["welfare_pct", "real_wage_pct", "imports_pct", "tariff_revenue_pct"]
    frame = demo.result.countries.loc[list(members), cols].copy()
    if demo.result_true is not None:
        true = demo.result_true.countries.loc[list(members), "welfare_pct"]
        frame["welfare_true_theta_pct"] = true
    return frame


def _write_outputs(
    root: Path, demo: SectoralDemo, members: Sequence[str], synthetic: bool
) -> list[Path]:
    extra: dict[str, Any] = {
        "scenario": demo.result.description,
        "formula": SECTOR_FORMULA,
        "theta_used": {str(k): float(v) for k, v in demo.elasticities["theta_used"].items()},
        "domestic_sales_set_to_zero": len(demo.filled),
    }
    record = build_provenance(synthetic=synthetic, extra=extra, git=False)
    frame = _country_frame(demo, members)
    outcomes = ["welfare", "real_wage", "imports", "tariff_revenue"]
    labels = {"real_wage": "Real wage (%)", "tariff_revenue": "Tariff revenue (%)"}
    if "welfare_true_theta_pct" in frame.columns:
        outcomes.append("welfare_true_theta")
        labels["welfare_true_theta"] = "Welfare, true theta (%)"
    written = []
    for fmt in ("md", "tex"):
        path = root / "tables" / f"sectoral_customs_union.{fmt}"
        scenario_table(
            frame,
            fmt,
            outcomes=outcomes,
            labels=labels,
            countries=list(members),
            title="Sectoral customs union (% change)",
            notes=[demo.result.description],
            synthetic=synthetic,
            git=False,
            extra_provenance=extra,
            file=path,
        )
        written.append(path)
    fig = _sector_figure(demo, members, synthetic)
    written += save_figure(fig, root / "figures" / "sectoral_customs_union", record)
    return written


def _sector_figure(demo: SectoralDemo, members: Sequence[str], synthetic: bool) -> Any:
    """Elasticities by sector (estimate, 95 % interval, truth) and members' imports by sector."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # heavy: only when drawing
    from matplotlib.figure import Figure

    est = demo.elasticities
    x = np.arange(len(est))
    fig = Figure(figsize=(7.0, 5.2), layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True)
    err = np.vstack([est["theta"] - est["theta_lo"], est["theta_hi"] - est["theta"]])
    top.errorbar(x, est["theta"], yerr=err, fmt="o", ms=3, lw=0.8, label="estimate, 95% CI")
    top.plot(x, est["theta_used"], "s", ms=3, mfc="none", label="used in GE")
    if "theta_true" in est.columns:
        top.plot(x, est["theta_true"], "x", ms=4, color="#c00", label="true")
    top.set_ylabel("trade elasticity θ")
    top.legend(fontsize=7, ncols=3)
    flows = demo.result.flows
    into = flows[flows["importer"].isin(list(members)) & (flows["exporter"] != flows["importer"])]
    by = into.groupby("sector")[["baseline_value", "value"]].sum().reindex(est.index)
    bottom.bar(x, 100.0 * (by["value"] / by["baseline_value"] - 1.0), color="#1f4e79")
    bottom.axhline(0.0, color="black", lw=0.5)
    bottom.set_ylabel("members' imports, % change")
    bottom.set_xticks(x, list(est.index), rotation=90, fontsize=7)
    if synthetic:
        fig.supxlabel(_MARK, fontsize=7, color="#a00")
    return fig


def sectoral_summary(demo: SectoralDemo, members: Sequence[str] = CENTRAL_ASIA) -> str:
    """Return the sectoral demo's lines for the closing summary.

    Parameters
    ----------
    demo : SectoralDemo
        From :func:`run_sectoral`.
    members : sequence of str
        Countries shown.

    Returns
    -------
    str
        Elasticities by sector against the truth and welfare by member.
    """
    est = demo.elasticities
    lines = [
        "",
        f"Sectoral customs union (SYNTHETIC): {demo.result.description}",
        f"  trade elasticity by section, PPML per partition of {demo.panel.path.name}/",
        f"  {'':<5} {'theta':>7} {'95% CI':>18} {'true':>6}  used",
    ]
    for s, r in est.iterrows():
        true = f"{r['theta_true']:6.1f}" if "theta_true" in est.columns else ""
        lines.append(
            f"  {s:<5} {r['theta']:7.2f} [{r['theta_lo']:7.2f}, {r['theta_hi']:7.2f}] {true}"
            f"  {r['theta_used']:.2f} ({r['theta_source']})"
        )
    lines.append(
        f"  {len(demo.filled)} domestic sales left missing by the panel (production below "
        "reported exports) set to zero for the GE baseline"
    )
    frame = _country_frame(demo, members)
    lines.append("  welfare change, %: estimated theta | true theta")
    for c, r in frame.iterrows():
        true = f"{r['welfare_true_theta_pct']:+.2f}" if "welfare_true_theta_pct" in r else "n/a"
        lines.append(f"  {c}: {r['welfare_pct']:+.2f} | {true}")
    return "\n".join(lines)
