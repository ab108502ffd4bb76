"""Policy inputs of the multi-sector GE: baseline tariffs, new tariffs, partial effects, pools.

``tariffs`` is ``exporter, importer, sector, tariff`` (the tariff importer applies to
exporter, ad valorem fraction). ``changes`` is a :class:`~ca_trade.ge.Scenario` or a frame
``exporter, importer[, sector]`` with ``new_tariff`` and/or ``effect`` (the partial effect of
a non-tariff change on log trade at constant resistances). A row without a sector applies to
every sector. Internal module: :func:`ca_trade.ge.solve` is the public entry point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ca_trade.exceptions import DataValidationError, SpecificationError
from ca_trade.ge.scenario import RevenuePool, Scenario
from ca_trade.ge.sectoral.inputs import MAX_TARIFF, FlowCube, as_pandas, cell_values, show

__all__ = ["Policy", "policy_arrays", "regressor_arrays"]


@dataclass(frozen=True)
class Policy:
    """Tariffs before and after, partial effects and revenue pools on the grid."""

    tariff0: np.ndarray
    tariff1: np.ndarray
    log_effect: np.ndarray
    pools: tuple[RevenuePool, ...]


def _check_tariffs(values: np.ndarray, grid: FlowCube, what: str) -> None:
    bad = ~(np.isfinite(values) & (values >= 0) & (values < MAX_TARIFF))
    if bad.any():
        s, i, n = (int(v) for v in np.argwhere(bad)[0])
        raise DataValidationError(
            f"{what}: the tariff of {grid.countries[n]} on {grid.countries[i]} in sector "
            f"{grid.sectors[s]!r} is {show(values[s, i, n])}; tariffs are ad valorem fractions in "
            f"[0, {MAX_TARIFF:g}) (0.05 = 5 %; divide percentages by 100)."
        )
    home = np.einsum("snn->sn", values)
    if (home != 0).any():
        s, n = (int(v) for v in np.argwhere(home != 0)[0])
        raise DataValidationError(
            f"{what}: a tariff on domestic sales ({grid.countries[n]}, sector "
            f"{grid.sectors[s]!r}) is {show(home[s, n])}; tariffs apply to imports only."
        )


def _effects(frame: pd.DataFrame, grid: FlowCube, what: str) -> np.ndarray:
    """Partial effects; rows without a sector (missing or no column) apply to every sector."""
    if "sector" not in frame.columns:
        return cell_values(frame, "effect", grid, what)[0]
    every = frame["sector"].isna()
    general = cell_values(frame[every].drop(columns="sector"), "effect", grid, what)[0]
    specific = cell_values(frame[~every], "effect", grid, what)[0]
    return general + specific


def _from_scenario(
    scenario: Scenario, tariffs: pd.DataFrame | None, grid: FlowCube
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    effect = _effects(scenario.effects, grid, "the scenario's partial effects")
    s = len(grid.sectors)
    n = len(grid.countries)
    if tariffs is not None:
        t0 = cell_values(tariffs, "tariff", grid, "tariffs")[0]
    else:
        t0 = np.zeros((s, n, n))
    t1 = t0.copy()
    if scenario.tariffs is not None:
        st = scenario.tariffs
        if "sector" not in st.columns:
            raise SpecificationError(
                "the scenario's tariffs have no sector column: they belong to the one-sector "
                "model, whose tariff effects are in the scenario's coefficients, but the flows "
                "have a sector column, which selects the multi-sector model. For the one-sector "
                "model pass flows[['exporter', 'importer', 'value']]; for the multi-sector "
                "model build the scenario from tariffs by sector without a coefficient."
            )
        base, listed = cell_values(st, "baseline", grid, "the scenario's tariffs")
        if tariffs is None:
            t0 = np.where(listed, base, t0)
        else:
            clash = listed & ~np.isclose(base, t0, rtol=0.0, atol=1e-12)
            if clash.any():
                q, i, j = (int(v) for v in np.argwhere(clash)[0])
                raise SpecificationError(
                    f"the scenario's baseline tariff of {grid.countries[j]} on "
                    f"{grid.countries[i]} in sector {grid.sectors[q]!r} is {show(base[q, i, j])} "
                    f"but `tariffs` says {show(t0[q, i, j])}; build the scenario from the same "
                    "tariffs."
                )
        new = cell_values(st, "counterfactual", grid, "the scenario's tariffs")[0]
        t1 = np.where(listed, new, t0)
    return t0, t1, effect


def policy_arrays(changes: Any, tariffs: Any, grid: FlowCube) -> Policy:
    """Validate tariffs and changes and place them on the grid.

    Parameters
    ----------
    changes : Scenario, DataFrame-like or None
        The policy (see the module docstring).
    tariffs : DataFrame-like or None
        Baseline tariffs ``exporter, importer[, sector], tariff``; missing cells are zero.
    grid : FlowCube
        Countries and sectors of the flows.

    Returns
    -------
    Policy
        Baseline and counterfactual tariffs, partial effects and revenue pools.

    Examples
    --------
    >>> from ca_trade.ge.sectoral.inputs import flow_cube
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "sector": ["S"] * 4, "value": [8.0, 2.0, 2.0, 8.0]})
    >>> t = pd.DataFrame({"exporter": ["A"], "importer": ["B"], "sector": ["S"],
    ...                   "tariff": [0.1]})
    >>> c = t.rename(columns={"tariff": "new_tariff"}).assign(new_tariff=0.0)
    >>> p = policy_arrays(c, t, flow_cube(f))
    >>> float(p.tariff0[0, 0, 1]), float(p.tariff1[0, 0, 1])
    (0.1, 0.0)
    """
    base = None if tariffs is None else as_pandas(tariffs, "tariffs")
    s, n = len(grid.sectors), len(grid.countries)
    pools: tuple[RevenuePool, ...] = ()
    if isinstance(changes, Scenario):
        t0, t1, effect = _from_scenario(changes, base, grid)
        pools = tuple(changes.revenue_pools)
    else:
        t0 = (
            cell_values(base, "tariff", grid, "tariffs")[0]
            if base is not None
            else np.zeros((s, n, n))
        )
        t1, effect = t0.copy(), np.zeros((s, n, n))
        if changes is not None:
            frame = as_pandas(changes, "changes")
            if "new_tariff" not in frame.columns and "effect" not in frame.columns:
                raise SpecificationError(
                    "changes need a `new_tariff` and/or an `effect` column (by exporter, "
                    f"importer and sector); they have {list(frame.columns)}."
                )
            if "new_tariff" in frame.columns:
                cols = [c for c in ("exporter", "importer", "sector", "new_tariff") if c in frame]
                t1 = cell_values(frame[cols], "new_tariff", grid, "changes", fill=t0)[0]
            if "effect" in frame.columns:
                cols = [c for c in ("exporter", "importer", "sector", "effect") if c in frame]
                effect = _effects(frame[cols], grid, "changes")
    _check_tariffs(t0, grid, "tariffs")
    _check_tariffs(t1, grid, "new tariffs")
    if not np.isfinite(effect).all():
        raise SpecificationError("partial effects must be finite.")
    return Policy(tariff0=t0, tariff1=t1, log_effect=effect, pools=pools)


def regressor_arrays(scenario: Scenario, grid: FlowCube) -> dict[str, np.ndarray]:
    """Return the scenario's change in each regressor on the grid (for re-drawn coefficients).

    Parameters
    ----------
    scenario : Scenario
        The scenario.
    grid : FlowCube
        Countries and sectors of the flows.

    Returns
    -------
    dict of str to numpy.ndarray
        ``(S, N, N)`` changes per regressor; the partial effects are
        ``sum_r coefficient_r * change_r``.

    Examples
    --------
    >>> from ca_trade.ge.sectoral.inputs import flow_cube
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "sector": ["S"] * 4, "value": [8.0, 2.0, 2.0, 8.0]})
    >>> s = Scenario(pd.DataFrame({"exporter": ["A"], "importer": ["B"], "rta": [1.0]}),
    ...              {"rta": 0.3})
    >>> regressor_arrays(s, flow_cube(f))["rta"].tolist()
    [[[0.0, 1.0], [0.0, 0.0]]]
    """
    out = {}
    for reg in scenario.regressors:
        frame = scenario.changes[[*scenario.keys, reg]].rename(columns={reg: "effect"})
        out[reg] = _effects(frame, grid, f"scenario change {reg!r}")
    return out
