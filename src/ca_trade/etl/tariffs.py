r"""Bilateral applied tariffs aggregated from WITS/TRAINS-style product-level input.

For importer *j*, exporter *i* and year *t* (and sector *s* for sector panels), with product
tariffs :math:`t_{ijkt}` (fractions) over the products *k* of the pair (of the sector):

- ``tariff`` :math:`= \bar t_{ijt} = \frac{1}{K}\sum_k t_{ijkt}` (simple average);
- ``ln_tariff`` :math:`= \ln(1 + \bar t_{ijt})`;
- ``ln_tariff_w`` :math:`= \ln(1 + \sum_k w_{ijk} t_{ijkt})` with import weights from the
  **pre-period** (the first year of the data, or ``weight_year``):
  :math:`w_{ijk} = m_{ijk,t_0} / \sum_k m_{ijk,t_0}`, so that weights do not respond to the
  tariffs they weight. Where the input has no imports but a published weighted average
  (``tariff_w``, e.g. WITS ``Weighted Average``), that average is used (its weights are the
  publisher's, not pre-period ones); otherwise pairs without pre-period imports fall back to
  the simple average.

Examples
--------
>>> t = pd.DataFrame({"importer": "KAZ", "exporter": "CHN", "year": [2015, 2015, 2016, 2016],
...     "product": ["01", "02"] * 2, "tariff": [0.1, 0.0, 0.2, 0.0],
...     "imports_usd": [3.0, 1.0, 5.0, 5.0]})
>>> aggregate_tariffs(t).round(4).values.tolist()[1]
['CHN', 'KAZ', 2016, 0.1, 0.0953, 0.1398]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ca_trade.etl.sectors import SECTION_OF_CHAPTER

__all__ = ["aggregate_tariffs", "applied_rates", "product_sector", "sector_tariffs"]


def aggregate_tariffs(
    tariffs: pd.DataFrame, *, weight_year: int | None = None, by: Sequence[str] = ()
) -> pd.DataFrame:
    """Aggregate product tariffs to exporter x importer x year.

    Parameters
    ----------
    tariffs : pandas.DataFrame
        From :func:`ca_trade.etl.sources.read_wits_tariffs`: ``importer, exporter, year,
        product, tariff`` (fraction), ``imports_usd`` (may be NaN).
    weight_year : int, optional
        Year whose imports weight products; default the first year in the data.
    by : sequence of str, default ()
        Further grouping columns of `tariffs` (``("sector",)`` for sector panels).

    Returns
    -------
    pandas.DataFrame
        ``exporter, importer, year``, the `by` columns, ``tariff, ln_tariff, ln_tariff_w``.

    Examples
    --------
    >>> t = pd.DataFrame({"importer": ["KAZ"], "exporter": ["CHN"], "year": [2019],
    ...     "product": ["01"], "tariff": [0.05], "imports_usd": [float("nan")]})
    >>> aggregate_tariffs(t)[["tariff", "ln_tariff_w"]].round(4).values.tolist()
    [[0.05, 0.0488]]
    """
    t = tariffs.copy()
    t0 = int(t["year"].min()) if weight_year is None else int(weight_year)
    keys = ["exporter", "importer", "year", *by]
    w = (
        t[t["year"] == t0]
        .groupby(["importer", "exporter", "product"], as_index=False)
        .agg(_w=("imports_usd", "sum"))
    )
    t = t.merge(w, on=["importer", "exporter", "product"], how="left")
    t["_w"] = t["_w"].fillna(0.0).clip(lower=0.0)
    t["_wt"] = t["_w"] * t["tariff"]
    g = t.groupby(keys, as_index=False).agg(
        tariff=("tariff", "mean"), _ws=("_w", "sum"), _wts=("_wt", "sum")
    )
    if "tariff_w" in t.columns:
        pub = t.groupby(keys, as_index=False).agg(_pub=("tariff_w", "mean"))
        g = g.merge(pub, on=keys, how="left")
        fallback = g["_pub"].where(g["_pub"].notna(), g["tariff"])
    else:
        fallback = g["tariff"]
    weighted = np.where(g["_ws"] > 0, g["_wts"] / g["_ws"].where(g["_ws"] > 0, 1.0), fallback)
    g["ln_tariff"] = np.log1p(g["tariff"])
    g["ln_tariff_w"] = np.log1p(weighted)
    out = g[[*keys, "tariff", "ln_tariff", "ln_tariff_w"]]
    return out.sort_values(keys).reset_index(drop=True)


def product_sector(products: pd.Series, level: str) -> pd.Series:
    """Map product codes to their sector at `level` (None where a code has none).

    Parameters
    ----------
    products : pandas.Series
        Product codes as text: HS codes of two or more digits, section codes (``S05``) or
        ``TOTAL``.
    level : {"section", "chapter"}
        Sector level.

    Returns
    -------
    pandas.Series
        The section (``S01``..``S21``) or chapter (``01``..``97``) of each product; None for
        ``TOTAL``, chapters 98-99 at section level and section codes at chapter level.

    Examples
    --------
    >>> product_sector(pd.Series(["2709", "27", "S05", "TOTAL"]), "section").tolist()
    ['S05', 'S05', 'S05', None]
    >>> product_sector(pd.Series(["270900", "S05"]), "chapter").tolist()
    ['27', None]
    """
    code = products.astype(str).str.strip()
    digits = code.str.fullmatch(r"[0-9]{2,}")
    chapter = code.str.slice(0, 2).where(digits)
    if level == "chapter":
        return chapter.astype(object).where(chapter.notna(), None)
    section = chapter.map(SECTION_OF_CHAPTER)
    as_section = code.where(
        code.str.fullmatch(r"S[0-9]{2}") & code.isin(SECTION_OF_CHAPTER.values())
    )
    out = section.where(section.notna(), as_section)
    return out.astype(object).where(out.notna(), None)


def applied_rates(schedules: pd.DataFrame, exporters: Sequence[str]) -> pd.DataFrame:
    """Return each pair's applied tariff by product from applied, preferential and MFN rows.

    Parameters
    ----------
    schedules : pandas.DataFrame
        From :func:`ca_trade.etl.sources.read_wits_schedules` (or the same columns; without
        ``tariff_type`` every row is an applied rate): ``importer, exporter`` (``WLD`` on MFN
        rows), ``year, product, tariff`` and optionally ``tariff_type, tariff_w,
        imports_usd``.
    exporters : sequence of str
        Exporters the importer's MFN rates apply to (the panel's countries; never the
        importer itself).

    Returns
    -------
    pandas.DataFrame
        ``importer, exporter, year, product, tariff, tariff_w, imports_usd``: the applied
        (``AHS``) rate where the pair has one, else ``min(PREF, MFN)`` where it has a
        preferential rate, else MFN; pairs with neither are absent.

    Examples
    --------
    >>> s = pd.DataFrame({"importer": "KAZ", "exporter": ["WLD", "KGZ"], "year": 2019,
    ...                   "product": "27", "tariff_type": ["MFN", "PREF"],
    ...                   "tariff": [0.05, 0.0]})
    >>> applied_rates(s, ["CHN", "KGZ"])[["exporter", "tariff"]].values.tolist()
    [['CHN', 0.05], ['KGZ', 0.0]]
    """
    t = schedules.copy()
    if "tariff_type" not in t.columns:
        t["tariff_type"] = "AHS"
    for col in ("tariff_w", "imports_usd"):
        if col not in t.columns:
            t[col] = np.nan
    keys = ["importer", "exporter", "year", "product"]
    cols = [*keys, "tariff", "tariff_w", "imports_usd"]
    ahs = t.loc[(t["tariff_type"] == "AHS") & (t["exporter"] != "WLD"), cols]
    pref = t.loc[(t["tariff_type"] == "PREF") & (t["exporter"] != "WLD"), cols]
    mfn = t.loc[t["tariff_type"] == "MFN", ["importer", "year", "product", "tariff", "tariff_w"]]
    mfn = mfn.drop_duplicates(["importer", "year", "product"])
    partners = pd.DataFrame({"exporter": sorted({str(e) for e in exporters})})
    expanded = mfn.merge(partners, how="cross")
    expanded = expanded[expanded["exporter"] != expanded["importer"]].assign(imports_usd=np.nan)
    pref = pref.merge(
        mfn[["importer", "year", "product", "tariff"]].rename(columns={"tariff": "_mfn"}),
        on=["importer", "year", "product"],
        how="left",
    )
    pref["tariff"] = np.fmin(pref["tariff"], pref["_mfn"])
    stacked = pd.concat(
        [ahs.assign(_rank=0), pref[cols].assign(_rank=1), expanded[cols].assign(_rank=2)],
        ignore_index=True,
    )
    stacked = stacked.sort_values([*keys, "_rank"], kind="stable")
    out = stacked.drop_duplicates(keys, keep="first").drop(columns="_rank")
    return out.reset_index(drop=True)


def sector_tariffs(
    schedules: pd.DataFrame,
    exporters: Sequence[str],
    level: str,
    *,
    sectors: Sequence[str] | None = None,
    weight_year: int | None = None,
) -> pd.DataFrame:
    """Aggregate product tariffs to exporter x importer x year x sector.

    Parameters
    ----------
    schedules : pandas.DataFrame
        Tariff rows as :func:`applied_rates` takes them.
    exporters : sequence of str
        The panel's countries.
    level : {"section", "chapter"}
        Sector level.
    sectors : sequence of str, optional
        Only these sectors (default: every sector with products in `schedules`).
    weight_year : int, optional
        Year of the import weights; default the first year in `schedules`.

    Returns
    -------
    pandas.DataFrame
        ``exporter, importer, year, sector, tariff, ln_tariff, ln_tariff_w`` (module
        docstring: simple mean and pre-period import-weighted mean over the sector's
        products).

    Examples
    --------
    >>> s = pd.DataFrame({"importer": "KAZ", "exporter": "WLD", "year": 2019,
    ...                   "product": ["2709", "2710"], "tariff_type": "MFN",
    ...                   "tariff": [0.0, 0.1]})
    >>> sector_tariffs(s, ["RUS"], "section")[["sector", "tariff"]].values.tolist()
    [['S05', 0.05]]
    """
    t0 = int(schedules["year"].min()) if weight_year is None else int(weight_year)
    sec = product_sector(schedules["product"], level)
    keep = sec.notna() if sectors is None else sec.isin(list(sectors))
    rows = schedules[keep.to_numpy()]
    rates = applied_rates(rows, exporters)
    rates["sector"] = product_sector(rates["product"], level)
    return aggregate_tariffs(rates, weight_year=t0, by=("sector",))
