r"""The validated multi-sector GE problem (:class:`SectoralProblem`) and its baseline accounts.

A problem holds arrays on a country × sector grid; :func:`ca_trade.ge.sectoral.prepare` builds
it from long frames. Orientation: trade arrays are ``[sector, exporter, importer]``; production
arrays are ``[country, sector]``; the input-output array is ``[country, input, using sector]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ca_trade.ge.scenario import RevenuePool

__all__ = ["BaselineAccounts", "SectoralProblem", "accounts"]


@dataclass(frozen=True)
class SectoralProblem:
    """A validated multi-sector GE problem (arrays; built by :func:`~ca_trade.ge.sectoral.prepare`).

    Attributes
    ----------
    countries, sectors : tuple of str
        Labels, sorted.
    flows : numpy.ndarray
        ``(S, N, N)`` baseline duty-exclusive flows ``[sector, exporter, importer]``, domestic
        sales on the diagonal.
    tariff0, tariff1 : numpy.ndarray
        ``(S, N, N)`` baseline and counterfactual ad valorem tariffs (fractions).
    log_effect : numpy.ndarray
        ``(S, N, N)`` partial effects of non-tariff changes on log trade at constant
        resistances (zero: none).
    theta : numpy.ndarray
        ``(S,)`` trade elasticities.
    va_share : numpy.ndarray
        ``(N, S)`` value-added share of gross output (one: no intermediate inputs).
    io : numpy.ndarray
        ``(N, S, S)`` share of input sector ``k`` in the intermediate spending of sector ``s``
        (``io[n, k, s]``), summing to one over ``k`` wherever ``va_share < 1``.
    final_share : numpy.ndarray
        ``(N, S)`` Cobb-Douglas shares of final demand, summing to one per country.
    pools : tuple of RevenuePool
        Customs unions that pool tariff revenue in the counterfactual.
    deficits : str
        ``"fixed"`` (levels of the baseline) or ``"zero"`` (the two-step comparison).
    numeraire : int or None
        Index of the country whose wage is fixed; None keeps world value added constant.
    """

    countries: tuple[str, ...]
    sectors: tuple[str, ...]
    flows: np.ndarray
    tariff0: np.ndarray
    tariff1: np.ndarray
    log_effect: np.ndarray
    theta: np.ndarray
    va_share: np.ndarray
    io: np.ndarray
    final_share: np.ndarray
    pools: tuple[RevenuePool, ...] = ()
    deficits: str = "fixed"
    numeraire: int | None = None

    @property
    def n(self) -> int:
        """Number of countries."""
        return len(self.countries)

    @property
    def n_sectors(self) -> int:
        """Number of sectors."""
        return len(self.sectors)

    def transfer_matrix(self) -> np.ndarray:
        """``(N, N)`` matrix ``Q`` turning own tariff revenue into received revenue (``Q R``).

        Identity for countries outside any pool; a member ``m`` of a pool receives its quota
        of the revenue of every member.
        """
        q = np.eye(self.n)
        index = {c: k for k, c in enumerate(self.countries)}
        for pool in self.pools:
            rows = [index[c] for c in pool.members]
            for r, quota in zip(rows, pool.quotas):
                q[r, :] = 0.0
                q[r, rows] = quota
        return q


@dataclass(frozen=True)
class BaselineAccounts:
    """National accounts of a problem's baseline (arrays derived once from the flows).

    Attributes
    ----------
    spending : numpy.ndarray
        ``(S, N)`` spending on each sector's goods, gross of tariffs.
    shares : numpy.ndarray
        ``(S, N, N)`` gross import shares ``pi[s, i, n]`` of importer ``n`` (zero where the
        importer spends nothing on the sector).
    output : numpy.ndarray
        ``(S, N)`` gross output (sales at factory-gate prices).
    value_added : numpy.ndarray
        ``(N,)`` value added (the wage bill).
    deficit : numpy.ndarray
        ``(N,)`` trade deficit (duty-exclusive imports minus exports).
    revenue : numpy.ndarray
        ``(N,)`` tariff revenue.
    income : numpy.ndarray
        ``(N,)`` income ``value_added + deficit + revenue``.
    """

    spending: np.ndarray
    shares: np.ndarray
    output: np.ndarray
    value_added: np.ndarray
    deficit: np.ndarray
    revenue: np.ndarray
    income: np.ndarray


def accounts(problem: SectoralProblem) -> BaselineAccounts:
    """Derive the baseline national accounts of a problem.

    Parameters
    ----------
    problem : SectoralProblem
        The problem.

    Returns
    -------
    BaselineAccounts
        Spending, shares, output, value added, deficits, revenue and income.

    Examples
    --------
    >>> import numpy as np
    >>> flows = np.array([[[8.0, 2.0], [3.0, 7.0]]])
    >>> zero = np.zeros_like(flows)
    >>> p = SectoralProblem(("A", "B"), ("S1",), flows, zero, zero, zero, np.array([4.0]),
    ...                     np.ones((2, 1)), np.zeros((2, 1, 1)), np.ones((2, 1)))
    >>> accounts(p).deficit.tolist()
    [1.0, -1.0]
    """
    x = problem.flows
    gross = (1.0 + problem.tariff0) * x
    spending = gross.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(spending[:, None, :] > 0, gross / spending[:, None, :], 0.0)
    output = x.sum(axis=2)
    value_added = np.einsum("ns,sn->n", problem.va_share, output)
    deficit = x.sum(axis=(0, 1)) - x.sum(axis=(0, 2))
    revenue = (problem.tariff0 * x).sum(axis=(0, 1))
    return BaselineAccounts(
        spending=spending,
        shares=shares,
        output=output,
        value_added=value_added,
        deficit=deficit,
        revenue=revenue,
        income=value_added + deficit + revenue,
    )
