r"""Production and demand of the multi-sector GE, validated from long frames.

Value-added shares, input-output shares and Cobb-Douglas final-demand shares:

- ``production``: ``country, sector, value_added_share`` (:math:`\beta_{ns}`, share of value
  added in gross output) and optionally ``final_demand_share`` (:math:`\alpha_{ns}`);
- ``inputs``: ``country, input_sector, sector, share`` (:math:`\gamma_{nks}`, share of input
  sector *k* in sector *s*'s intermediate spending; they sum to one over *k* wherever
  :math:`\beta_{ns} < 1`).

Without ``final_demand_share`` the shares are derived from the data: final demand for sector
*s* in country *n* is its spending on *s* (gross of tariffs) minus the intermediate use the
input-output table implies, :math:`F_{ns} = E_{ns} - \sum_k \gamma_{nsk}(1 - \beta_{nk}) Y_{nk}`;
:math:`\alpha_{ns} = \max(F_{ns}, 0) / \sum_s \max(F_{ns}, 0)` (Caliendo & Parro's
replication code does the same; a negative :math:`F` means the input-output table and the
trade data disagree).
Internal module: :func:`ca_trade.ge.solve` is the public entry point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ca_trade.exceptions import DataValidationError, SpecificationError
from ca_trade.ge.sectoral.inputs import FlowCube, as_pandas, grid_codes, require_columns, show

__all__ = ["SHARE_TOL", "Technology", "equilibrium_gap", "final_shares", "technology"]

#: Shares that must sum to one may miss by this much (then they are rescaled exactly).
SHARE_TOL = 1e-4


@dataclass(frozen=True)
class Technology:
    """Validated production arrays (``va_share`` and ``final_share`` are ``(N, S)``)."""

    va_share: np.ndarray
    io: np.ndarray
    final_share: np.ndarray | None


def _index(frame: pd.DataFrame, column: str, labels: tuple[str, ...], what: str) -> np.ndarray:
    codes = grid_codes(frame[column], labels)
    bad = codes < 0
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        more = " ..." if len(labels) > 10 else ""
        raise SpecificationError(
            f"{what}: row {k} names {column} {show(frame[column].iloc[k])}, which is not in the "
            f"flows (they have {list(labels)[:10]}{more}); drop the row or add the flows."
        )
    return codes


def _share_column(frame: pd.DataFrame, column: str, what: str, upper: float = 1.0) -> np.ndarray:
    vals = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(vals) & (vals >= 0) & (vals <= upper))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        row = ", ".join(f"{c} {show(frame[c].iloc[k])}" for c in frame.columns if c != column)
        raise DataValidationError(
            f"{what}: row {k} ({row}) has {column} {show(frame[column].iloc[k])}; shares must be "
            f"numbers in [0, {upper:g}]."
        )
    return vals


def _no_duplicates(flat: np.ndarray, frame: pd.DataFrame, what: str) -> None:
    uniq, counts = np.unique(flat, return_counts=True)
    if (counts > 1).any():
        k = int(np.flatnonzero(flat == uniq[counts > 1][0])[0])
        raise DataValidationError(
            f"{what}: row {k} ({frame.iloc[k].to_dict()}) is listed more than once; give "
            "each cell once."
        )


def _production(frame: pd.DataFrame, grid: FlowCube) -> tuple[np.ndarray, np.ndarray | None]:
    require_columns(frame, ["country", "sector", "value_added_share"], "production")
    n, s = len(grid.countries), len(grid.sectors)
    c = _index(frame, "country", grid.countries, "production")
    q = _index(frame, "sector", grid.sectors, "production")
    _no_duplicates(c * s + q, frame, "production")
    listed = np.zeros((n, s), dtype=bool)
    listed[c, q] = True
    if not listed.all():
        miss = np.argwhere(~listed)
        cells = [f"{grid.countries[a]}/{grid.sectors[b]}" for a, b in miss[:10]]
        raise DataValidationError(
            f"production lacks {len(miss)} country/sector row(s): {cells}"
            f"{' ...' if len(miss) > 10 else ''}; give value_added_share for every country and "
            "sector of the flows (1 where a sector uses no intermediate inputs)."
        )
    va = np.ones((n, s))
    va[c, q] = _share_column(frame, "value_added_share", "production")
    final = None
    if "final_demand_share" in frame.columns:
        final = np.zeros((n, s))
        final[c, q] = _share_column(frame, "final_demand_share", "production")
        total = final.sum(axis=1)
        off = np.abs(total - 1.0) > SHARE_TOL
        if off.any():
            k = int(np.flatnonzero(off)[0])
            raise DataValidationError(
                f"production: the final_demand_share of {grid.countries[k]} sums to "
                f"{total[k]:.6g} over sectors; it must sum to one in every country."
            )
        final = final / total[:, None]
    return va, final


def _inputs(frame: pd.DataFrame, grid: FlowCube, va: np.ndarray) -> np.ndarray:
    require_columns(frame, ["country", "input_sector", "sector", "share"], "inputs")
    n, s = len(grid.countries), len(grid.sectors)
    c = _index(frame, "country", grid.countries, "inputs")
    k = _index(frame, "input_sector", grid.sectors, "inputs")
    q = _index(frame, "sector", grid.sectors, "inputs")
    _no_duplicates((c * s + k) * s + q, frame, "inputs")
    io = np.zeros((n, s, s))
    io[c, k, q] = _share_column(frame, "share", "inputs")
    total = io.sum(axis=1)  # (N, S): over input sectors
    uses = va < 1.0
    off = uses & (np.abs(total - 1.0) > SHARE_TOL)
    if off.any():
        a, b = (int(v) for v in np.argwhere(off)[0])
        raise DataValidationError(
            f"inputs: the input shares of sector {grid.sectors[b]!r} in {grid.countries[a]} sum "
            f"to {total[a, b]:.6g}; wherever value_added_share < 1 the shares of the input "
            f"sectors must sum to one ({int(off.sum())} country/sector cell(s) do not)."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(uses[:, None, :], io / total[:, None, :], 0.0)


def technology(production: Any, inputs: Any, grid: FlowCube) -> Technology:
    """Validate the production and input-output frames on the grid of the flows.

    Parameters
    ----------
    production : DataFrame-like or None
        ``country, sector, value_added_share[, final_demand_share]``; None: value-added
        shares of one (no intermediate inputs) and final-demand shares from the data.
    inputs : DataFrame-like or None
        ``country, input_sector, sector, share``; required wherever a value-added share is
        below one; missing rows are zero shares.
    grid : FlowCube
        Countries and sectors of the flows.

    Returns
    -------
    Technology
        Value-added shares, input-output shares (rescaled to sum exactly to one) and the
        given final-demand shares (None when they are to be derived).

    Examples
    --------
    >>> from ca_trade.ge.sectoral.inputs import flow_cube
    >>> f = pd.DataFrame({"exporter": ["A", "A"], "importer": ["A", "A"],
    ...                   "sector": ["S1", "S2"], "value": [5.0, 5.0]})
    >>> technology(None, None, flow_cube(f)).va_share.tolist()
    [[1.0, 1.0]]
    """
    n, s = len(grid.countries), len(grid.sectors)
    if production is None:
        if inputs is not None:
            raise SpecificationError(
                "inputs (input-output shares) need `production` with value_added_share per "
                "country and sector."
            )
        return Technology(np.ones((n, s)), np.zeros((n, s, s)), None)
    va, final = _production(as_pandas(production, "production"), grid)
    if inputs is None:
        if (va < 1.0).any():
            a, b = (int(v) for v in np.argwhere(va < 1.0)[0])
            raise SpecificationError(
                f"value_added_share is below one (first: {grid.countries[a]}/"
                f"{grid.sectors[b]}) but no `inputs` were given: pass input-output shares "
                "(country, input_sector, sector, share) or value-added shares of one."
            )
        return Technology(va, np.zeros((n, s, s)), final)
    return Technology(va, _inputs(as_pandas(inputs, "inputs"), grid, va), final)


def _accounts(flows: np.ndarray, tariff: np.ndarray, tech: Technology) -> tuple[np.ndarray, ...]:
    spending = ((1.0 + tariff) * flows).sum(axis=1)  # (S, N)
    output = flows.sum(axis=2)
    value_added = np.einsum("ns,sn->n", tech.va_share, output)
    deficit = flows.sum(axis=(0, 1)) - flows.sum(axis=(0, 2))
    income = value_added + deficit + (tariff * flows).sum(axis=(0, 1))
    gm = tech.io * (1.0 - tech.va_share)[:, None, :]
    intermediate = np.einsum("nsk,kn->sn", gm, output)
    return spending, intermediate, income


def final_shares(
    flows: np.ndarray, tariff: np.ndarray, tech: Technology, grid: FlowCube
) -> tuple[np.ndarray, list[str]]:
    """Final-demand shares from the data: spending minus intermediate use, clipped at zero.

    Parameters
    ----------
    flows, tariff : numpy.ndarray
        ``(S, N, N)`` baseline flows and tariffs.
    tech : Technology
        Value-added and input-output shares.
    grid : FlowCube
        Labels, for messages.

    Returns
    -------
    shares : numpy.ndarray
        ``(N, S)`` shares summing to one per country.
    clipped : list of str
        ``"country/sector"`` cells whose implied final demand was negative (set to zero).

    Examples
    --------
    >>> from ca_trade.ge.sectoral.inputs import flow_cube
    >>> f = pd.DataFrame({"exporter": ["A", "A"], "importer": ["A", "A"],
    ...                   "sector": ["S1", "S2"], "value": [6.0, 2.0]})
    >>> g = flow_cube(f)
    >>> t = technology(None, None, g)
    >>> final_shares(g.values, np.zeros_like(g.values), t, g)[0].tolist()
    [[0.75, 0.25]]
    """
    spending, intermediate, _ = _accounts(flows, tariff, tech)
    final = spending - intermediate
    scale = np.maximum(spending.sum(axis=0), 1e-300)
    negative = final < -1e-12 * scale[None, :]
    clipped = [f"{grid.countries[c]}/{grid.sectors[q]}" for q, c in np.argwhere(negative)]
    final = np.maximum(final, 0.0)
    total = final.sum(axis=0)
    if not (total > 0).all():
        k = int(np.flatnonzero(~(total > 0))[0])
        raise DataValidationError(
            f"{grid.countries[k]} has no final demand: its intermediate use (from the "
            "input-output table) absorbs all its spending in every sector. Check its inputs "
            "and value-added shares."
        )
    return (final / total[None, :]).T, clipped


def equilibrium_gap(
    flows: np.ndarray, tariff: np.ndarray, tech: Technology, final: np.ndarray, grid: FlowCube
) -> float:
    """Largest relative gap of the expenditure equation at the data (0: an equilibrium).

    Also checks that no country × sector with zero spending has final or intermediate
    demand in the model (it would have no supplier).

    Parameters
    ----------
    flows, tariff : numpy.ndarray
        ``(S, N, N)`` baseline flows and tariffs.
    tech : Technology
        Production arrays.
    final : numpy.ndarray
        ``(N, S)`` final-demand shares.
    grid : FlowCube
        Labels, for messages.

    Returns
    -------
    float
        ``max_n sum_s |E_ns - intermediate_ns - alpha_ns I_n| / sum_s E_ns``.

    Examples
    --------
    >>> from ca_trade.ge.sectoral.inputs import flow_cube
    >>> f = pd.DataFrame({"exporter": ["A", "A"], "importer": ["A", "A"],
    ...                   "sector": ["S1", "S2"], "value": [6.0, 2.0]})
    >>> g = flow_cube(f)
    >>> t = technology(None, None, g)
    >>> equilibrium_gap(g.values, np.zeros_like(g.values), t, np.array([[0.75, 0.25]]), g)
    0.0
    """
    spending, intermediate, income = _accounts(flows, tariff, tech)
    demand = intermediate + final.T * income[None, :]
    idle = (spending <= 0) & (demand > 0)
    if idle.any():
        q, c = (int(v) for v in np.argwhere(idle)[0])
        raise DataValidationError(
            f"{grid.countries[c]} spends nothing on sector {grid.sectors[q]!r} (no domestic "
            "sales, no imports), but its final-demand or input-output shares ask for it; give "
            "that sector a final_demand_share of 0 and no input use, or add its flows."
        )
    gap = np.abs(spending - demand).sum(axis=0) / spending.sum(axis=0)
    return float(np.max(gap))
