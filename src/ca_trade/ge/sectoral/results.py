"""Result of the multi-sector GE: :class:`SectoralGEResult`.

A :class:`~ca_trade.ge.GEResult` with a country × sector table and the welfare decomposition.

Sign convention as in the one-sector model: ratios are counterfactual / baseline and every
``*_pct`` column is ``100 * (ratio - 1)``. With ``deficits="zero"`` the baseline is the
re-solved equilibrium without trade deficits, not the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from ca_trade.exceptions import SpecificationError
from ca_trade.ge.results import GEResult

__all__ = ["SECTORAL_RATIO_COLUMNS", "SECTOR_RATIO_COLUMNS", "SectoralGEResult"]

#: Per-country ratios of the multi-sector model (new/old).
SECTORAL_RATIO_COLUMNS: tuple[str, ...] = (
    "welfare",
    "real_wage",
    "real_gdp",
    "wage",
    "price_index",
    "income",
    "output",
    "expenditure",
    "exports",
    "imports",
    "domestic",
    "tariff_revenue",
)

#: Per-country-and-sector ratios of the multi-sector model (new/old).
SECTOR_RATIO_COLUMNS: tuple[str, ...] = (
    "output",
    "unit_cost",
    "price_index",
    "expenditure",
    "exports",
    "imports",
    "domestic",
)


@dataclass(frozen=True, repr=False)
class SectoralGEResult(GEResult):
    """Solution of one multi-sector general-equilibrium counterfactual.

    Attributes
    ----------
    countries : pandas.DataFrame
        Indexed by country: :data:`SECTORAL_RATIO_COLUMNS` (new/old) and their ``*_pct``.
        ``welfare`` is real income (income incl. tariff revenue and deficit over the consumer
        price index), ``real_wage`` the wage over the consumer price index (``real_gdp``, real
        value added, equals it: one factor in fixed supply), ``price_index`` the Cobb-Douglas
        consumer price index, ``tariff_revenue`` the revenue a country receives (after
        pooling; NaN where the baseline has none).
    flows : pandas.DataFrame
        ``exporter, importer, sector, value, baseline_value, change_pct, tariff, new_tariff``
        (duty-exclusive values; tariffs as fractions).
    sectors : pandas.DataFrame
        Indexed by ``country, sector``: :data:`SECTOR_RATIO_COLUMNS` and their ``*_pct``
        (``output`` gross output, ``unit_cost`` the cost of the input bundle,
        ``price_index`` the sector's price index, ``expenditure`` spending on the sector's
        goods, ``exports``/``imports`` international sales and purchases, ``domestic`` home
        sales), plus ``baseline_output`` and ``new_output`` in the units of the flows.
    decomposition, sector_decomposition : pandas.DataFrame
        The first-order welfare decomposition by country and by country and sector (see
        :meth:`welfare_decomposition`).
    converged, n_iter, residuals, settings, description
        As in :class:`~ca_trade.ge.GEResult`; ``settings["baseline"]`` says which baseline
        the ratios are relative to.

    Examples
    --------
    >>> import pandas as pd
    >>> import ca_trade.ge as ge
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "sector": ["S1"] * 4, "value": [8.0, 2.0, 2.0, 8.0]})
    >>> r = ge.solve(f, None, theta=4)
    >>> r.countries["welfare"].tolist(), list(r.sectors.index.names)
    ([1.0, 1.0], ['country', 'sector'])
    """

    sectors: pd.DataFrame = field(default_factory=pd.DataFrame)
    decomposition: pd.DataFrame = field(default_factory=pd.DataFrame)
    sector_decomposition: pd.DataFrame = field(default_factory=pd.DataFrame)

    def welfare_decomposition(self, by: Literal["country", "sector"] = "country") -> pd.DataFrame:
        """Terms-of-trade and volume-of-trade decomposition of welfare (Caliendo & Parro 2015).

        First-order contributions in percent of baseline income: ``terms_of_trade_pct``,
        ``volume_of_trade_pct``, ``trade_costs_pct`` (non-tariff trade-cost changes) and, by
        country, ``revenue_pooling_pct`` (transfers of a revenue pool), their sum
        ``first_order_pct`` and the exact change of real income ``exact_pct`` (the
        ``welfare_pct`` column). The first-order formula applies the differential to the whole
        change at once, so it differs from the exact change, the more the larger the shock
        (``docs/methods-ge.md``, section 10).

        Parameters
        ----------
        by : {"country", "sector"}, default "country"
            Totals per country, or contributions per country and sector.

        Returns
        -------
        pandas.DataFrame
            The decomposition.

        Examples
        --------
        >>> import pandas as pd
        >>> import ca_trade.ge as ge
        >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
        ...                   "sector": ["S1"] * 4, "value": [8.0, 2.0, 2.0, 8.0]})
        >>> t = f.assign(tariff=[0.0, 0.1, 0.1, 0.0]).drop(columns="value")
        >>> cut = t.assign(new_tariff=0.0).drop(columns="tariff")
        >>> d = ge.solve(f, cut, theta=4, tariffs=t).welfare_decomposition()
        >>> bool(d.loc["A", "volume_of_trade_pct"] > 0)
        True
        """
        if by == "country":
            return self.decomposition.copy()
        if by == "sector":
            return self.sector_decomposition.copy()
        raise SpecificationError(f"by must be 'country' or 'sector', got {by!r}.")

    def policy_effect(self) -> pd.DataFrame:
        """Percent changes in the book's 'effect of the policy' direction (baseline vs new).

        Returns
        -------
        pandas.DataFrame
            Indexed by country, one column per ratio in :data:`SECTORAL_RATIO_COLUMNS`.

        Examples
        --------
        >>> import pandas as pd
        >>> import ca_trade.ge as ge
        >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
        ...                   "sector": ["S1"] * 4, "value": [8.0, 2.0, 2.0, 8.0]})
        >>> float(ge.solve(f, None, theta=4).policy_effect().loc["A", "welfare"])
        0.0
        """
        cols = [c for c in SECTORAL_RATIO_COLUMNS if c in self.countries.columns]
        return 100.0 * (1.0 / self.countries[cols] - 1.0)

    def summary(self) -> str:
        """Return a short text table of the main percent changes.

        Returns
        -------
        str
            One line per country.

        Examples
        --------
        >>> import pandas as pd
        >>> import ca_trade.ge as ge
        >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
        ...                   "sector": ["S1"] * 4, "value": [8.0, 2.0, 2.0, 8.0]})
        >>> head = ge.solve(f, None, theta=4).summary().splitlines()[0]
        >>> head.startswith("Multi-sector GE counterfactual (2 countries, 1 sectors")
        True
        """
        s = self.settings
        head = (
            f"Multi-sector GE counterfactual ({len(self.countries)} countries, "
            f"{s.get('n_sectors')} sectors, deficits {s.get('deficits')}, baseline: "
            f"{s.get('baseline')}): "
            f"{'converged' if self.converged else 'NOT converged'} in {self.n_iter} iterations"
        )
        cols = ["welfare_pct", "real_wage_pct", "exports_pct", "imports_pct"]
        return head + "\n" + self.countries[cols].round(4).to_string()
