r"""First-order welfare decomposition of Caliendo & Parro (2015, eq. 13 and their code).

For country *n*, with baseline duty-exclusive flows :math:`X_{sin}` (exporter *i*, importer
*n*), baseline tariffs :math:`t_{sin}`, baseline income :math:`I_n`, unit-cost changes
:math:`\hat c_{si}` and flow changes :math:`\hat X_{sin}`, the change in welfare is
approximated, applying the differential formula to the whole change in one step, by

.. math::

    \frac{1}{I_n} \sum_{s,i} \underbrace{\left[X_{sni} (\hat c_{sn} - 1)
        - X_{sin} (\hat c_{si} - 1)\right]}_{\text{terms of trade}}
    + \frac{1}{I_n} \sum_{s,i} \underbrace{t_{sin} X_{sin} \left[(\hat X_{sin} - 1)
        - (\hat c_{si} - 1)\right]}_{\text{volume of trade}}
    - \frac{1}{I_n} \sum_{s,i} \underbrace{(1 + t_{sin}) X_{sin} (\hat d_{sin} - 1)}_{
        \text{trade costs}}
    + \underbrace{\frac{R^{\text{received}}_n - R^{\text{own}}_n}{I_n}}_{\text{revenue pooling}},

where :math:`\hat d_{sin} = e^{-\delta_{sin} / \theta_s}` is the iceberg-cost change implied
by a partial effect :math:`\delta` (zero without one) and the last term is the transfer a
revenue pool makes in the counterfactual. It is a *first-order* formula; the exact change of
real income :math:`\hat I_n / \hat P_n - 1` is reported beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["decompose"]


def decompose(
    *,
    countries: tuple[str, ...],
    sectors: tuple[str, ...],
    flows: np.ndarray,
    new_flows: np.ndarray,
    tariff: np.ndarray,
    log_effect: np.ndarray,
    theta: np.ndarray,
    log_cost: np.ndarray,
    income: np.ndarray,
    pooling: np.ndarray,
    exact: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Terms-of-trade, volume-of-trade and trade-cost contributions (percent of income).

    Parameters
    ----------
    countries, sectors : tuple of str
        Labels.
    flows, new_flows : numpy.ndarray
        ``(S, N, N)`` baseline and counterfactual duty-exclusive flows.
    tariff : numpy.ndarray
        ``(S, N, N)`` baseline tariffs.
    log_effect : numpy.ndarray
        ``(S, N, N)`` partial effects of non-tariff changes.
    theta : numpy.ndarray
        ``(S,)`` elasticities.
    log_cost : numpy.ndarray
        ``(S, N)`` log unit-cost changes.
    income : numpy.ndarray
        ``(N,)`` baseline income.
    pooling : numpy.ndarray
        ``(N,)`` counterfactual revenue received minus own revenue.
    exact : numpy.ndarray
        ``(N,)`` exact welfare change, percent.

    Returns
    -------
    by_country, by_sector : pandas.DataFrame
        Percent of baseline income: ``terms_of_trade_pct``, ``volume_of_trade_pct``,
        ``trade_costs_pct`` (+ ``revenue_pooling_pct``, ``first_order_pct`` and
        ``exact_pct`` by country).

    Examples
    --------
    >>> z = np.zeros((1, 2, 2))
    >>> x = np.array([[[8.0, 2.0], [3.0, 7.0]]])
    >>> by_c, by_s = decompose(countries=("A", "B"), sectors=("S",), flows=x, new_flows=x,
    ...     tariff=z, log_effect=z, theta=np.array([4.0]), log_cost=np.zeros((1, 2)),
    ...     income=np.array([10.0, 10.0]), pooling=np.zeros(2), exact=np.zeros(2))
    >>> by_c["first_order_pct"].tolist()
    [0.0, 0.0]
    """
    dc = np.exp(log_cost) - 1.0  # (S, N)
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = np.where(flows > 0, new_flows / flows, 1.0) - 1.0
    exports = np.einsum("sni,sn->sn", flows, dc)
    imports = np.einsum("sin,si->sn", flows, dc)
    tot = exports - imports
    vot = np.einsum("sin,sin->sn", tariff * flows, dx - dc[:, :, None])
    dd = np.expm1(-log_effect / theta[:, None, None])
    costs = -np.einsum("sin,sin->sn", (1.0 + tariff) * flows, dd)
    scale = 100.0 / income[None, :]
    parts = {
        "terms_of_trade_pct": tot * scale,
        "volume_of_trade_pct": vot * scale,
        "trade_costs_pct": costs * scale,
    }
    index = pd.MultiIndex.from_product([countries, sectors], names=["country", "sector"])
    by_sector = pd.DataFrame({k: v.T.ravel() for k, v in parts.items()}, index=index)
    by_country = pd.DataFrame(
        {k: v.sum(axis=0) for k, v in parts.items()},
        index=pd.Index(list(countries), name="country"),
    )
    by_country["revenue_pooling_pct"] = 100.0 * pooling / income
    by_country["first_order_pct"] = by_country.sum(axis=1)
    by_country["exact_pct"] = exact
    return by_country, by_sector
