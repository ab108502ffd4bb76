r"""Bilateral applied tariffs aggregated from WITS/TRAINS-style product-level input.

For importer *j*, exporter *i* and year *t*, with product tariffs :math:`t_{ijkt}` (fractions):

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

import numpy as np
import pandas as pd

__all__ = ["aggregate_tariffs"]


def aggregate_tariffs(tariffs: pd.DataFrame, *, weight_year: int | None = None) -> pd.DataFrame:
    """Aggregate product tariffs to exporter x importer x year.

    Parameters
    ----------
    tariffs : pandas.DataFrame
        From :func:`ca_trade.etl.sources.read_wits_tariffs`: ``importer, exporter, year,
        product, tariff`` (fraction), ``imports_usd`` (may be NaN).
    weight_year : int, optional
        Year whose imports weight products; default the first year in the data.

    Returns
    -------
    pandas.DataFrame
        ``exporter, importer, year, tariff, ln_tariff, ln_tariff_w``.

    Examples
    --------
    >>> t = pd.DataFrame({"importer": ["KAZ"], "exporter": ["CHN"], "year": [2019],
    ...     "product": ["01"], "tariff": [0.05], "imports_usd": [float("nan")]})
    >>> aggregate_tariffs(t)[["tariff", "ln_tariff_w"]].round(4).values.tolist()
    [[0.05, 0.0488]]
    """
    t = tariffs.copy()
    t0 = int(t["year"].min()) if weight_year is None else int(weight_year)
    w = (
        t[t["year"] == t0]
        .groupby(["importer", "exporter", "product"], as_index=False)
        .agg(_w=("imports_usd", "sum"))
    )
    t = t.merge(w, on=["importer", "exporter", "product"], how="left")
    t["_w"] = t["_w"].fillna(0.0).clip(lower=0.0)
    t["_wt"] = t["_w"] * t["tariff"]
    g = t.groupby(["exporter", "importer", "year"], as_index=False).agg(
        tariff=("tariff", "mean"), _ws=("_w", "sum"), _wts=("_wt", "sum")
    )
    if "tariff_w" in t.columns:
        pub = t.groupby(["exporter", "importer", "year"], as_index=False).agg(
            _pub=("tariff_w", "mean")
        )
        g = g.merge(pub, on=["exporter", "importer", "year"], how="left")
        fallback = g["_pub"].where(g["_pub"].notna(), g["tariff"])
    else:
        fallback = g["tariff"]
    weighted = np.where(g["_ws"] > 0, g["_wts"] / g["_ws"].where(g["_ws"] > 0, 1.0), fallback)
    g["ln_tariff"] = np.log1p(g["tariff"])
    g["ln_tariff_w"] = np.log1p(weighted)
    out = g[["exporter", "importer", "year", "tariff", "ln_tariff", "ln_tariff_w"]]
    return out.sort_values(["exporter", "importer", "year"]).reset_index(drop=True)
