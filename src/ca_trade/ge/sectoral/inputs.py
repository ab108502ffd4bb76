"""Validation of the trade inputs of the multi-sector GE: flows, tariffs, changes, elasticities.

Long frames (pandas, or anything with ``to_pandas()`` such as polars) become arrays on the
country × sector grid, ``[sector, exporter, importer]``. Errors name the offending row (its
position in the frame and its exporter, importer and sector) and say what to do.
Internal module: :func:`ca_trade.ge.solve` is the public entry point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ca_trade.exceptions import (
    DataValidationError,
    MissingDomesticFlowsError,
    SpecificationError,
)

__all__ = [
    "MAX_TARIFF",
    "FlowCube",
    "as_pandas",
    "cell_values",
    "flow_cube",
    "grid_codes",
    "require_columns",
    "show",
    "theta_vector",
]

#: Tariffs are ad valorem fractions in [0, MAX_TARIFF): 0.05 is 5 %, 10 would be 1,000 %.
MAX_TARIFF = 10.0


def as_pandas(frame: Any, what: str) -> pd.DataFrame:
    """Return `frame` as a pandas DataFrame (polars and other ``to_pandas()`` frames accepted).

    Parameters
    ----------
    frame : DataFrame-like
        pandas, polars (eager or lazy) or another frame with ``to_pandas()``.
    what : str
        Name of the argument, for messages.

    Returns
    -------
    pandas.DataFrame
        The frame.

    Examples
    --------
    >>> as_pandas(pd.DataFrame({"a": [1]}), "flows").shape
    (1, 1)
    """
    if isinstance(frame, pd.DataFrame):
        return frame
    if hasattr(frame, "collect") and not hasattr(frame, "to_pandas"):
        frame = frame.collect()
    if hasattr(frame, "to_pandas"):
        out = frame.to_pandas()
        if isinstance(out, pd.DataFrame):
            return out
    raise SpecificationError(
        f"{what} must be a pandas or polars DataFrame, got {type(frame).__name__}."
    )


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...] | list[str], what: str) -> None:
    """Raise a SpecificationError naming the columns `frame` lacks.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a"], "x")
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SpecificationError(
            f"{what} lacks column(s) {missing}; it has {list(frame.columns)}. Pass a DataFrame "
            f"with columns {list(columns)}."
        )


def show(value: Any) -> str:
    """Repr of a cell value without numpy's type wrapper (``1.2``, not ``np.float64(1.2)``).

    Examples
    --------
    >>> show(np.float64(1.5)), show("KAZ")
    ('1.5', "'KAZ'")
    """
    return repr(value.item() if isinstance(value, np.generic) else value)


def _describe(frame: pd.DataFrame, k: int, keys: list[str]) -> str:
    return f"row {k} (" + ", ".join(f"{c} {show(frame[c].iloc[k])}" for c in keys) + ")"


def _numbers(frame: pd.DataFrame, column: str, keys: list[str], what: str) -> np.ndarray:
    vals = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(vals)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise DataValidationError(
            f"{what}: {int(bad.sum())} value(s) in column {column!r} are missing or not finite "
            f"(first: {_describe(frame, k, keys)}, value {show(frame[column].iloc[k])}); fill or "
            "drop them first."
        )
    return vals


@dataclass(frozen=True)
class FlowCube:
    """Flows on the country × sector grid: ``values[sector, exporter, importer]``."""

    countries: tuple[str, ...]
    sectors: tuple[str, ...]
    values: np.ndarray


def grid_codes(column: pd.Series, labels: tuple[str, ...]) -> np.ndarray:
    """Position of each value of `column` among `labels` (-1 where it is not one of them).

    Fast on Arrow-backed strings: the values are factorized once and only the distinct values
    are looked up.

    Examples
    --------
    >>> grid_codes(pd.Series(["B", "A", "Z", "B"]), ("A", "B")).tolist()
    [1, 0, -1, 1]
    """
    codes, uniques = pd.factorize(column)
    index = {c: k for k, c in enumerate(labels)}
    lookup = np.array([index.get(str(u), -1) for u in uniques] + [-1], dtype=np.int64)
    return lookup[codes]  # code -1 (missing) picks the trailing -1


def _codes(
    column: pd.Series, labels: tuple[str, ...], what: str, frame: pd.DataFrame
) -> np.ndarray:
    codes = grid_codes(column, labels)
    unknown = codes < 0
    if unknown.any():
        k = int(np.flatnonzero(unknown)[0])
        names = sorted({str(v) for v in column[unknown]})[:10]
        more = " ..." if len(labels) > 10 else ""
        raise SpecificationError(
            f"{what} names {column.name}(s) that are not in the flows: {names} (first: row {k}); "
            f"the flows have {len(labels)}: {list(labels)[:10]}{more}. Drop those rows or add "
            "their flows."
        )
    return codes


def _labels(*columns: pd.Series) -> tuple[str, ...]:
    values: set[str] = set()
    for col in columns:
        values |= {str(u) for u in pd.unique(col)}
    return tuple(sorted(values))


def flow_cube(flows: Any, value: str = "value") -> FlowCube:
    """Validate long sectoral flows and place them on the country × sector grid.

    Parameters
    ----------
    flows : DataFrame-like
        ``exporter, importer, sector`` and the `value` column: duty-exclusive flows with
        domestic sales (``exporter == importer``) for every country and sector.
    value : str, default "value"
        Name of the flow column.

    Returns
    -------
    FlowCube
        Sorted countries and sectors and the ``(S, N, N)`` flows (missing pairs are zero).

    Raises
    ------
    DataValidationError
        Missing, non-finite or negative values, a country or sector code missing, or a cell
        listed twice (the message names the row).
    MissingDomesticFlowsError
        If some country × sector has no domestic-sales row, or a country sells nothing at home.

    Examples
    --------
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "sector": ["S1"] * 4, "value": [8.0, 2.0, 3.0, 7.0]})
    >>> flow_cube(f).values.shape
    (1, 2, 2)
    """
    frame = as_pandas(flows, "flows")
    keys = ["exporter", "importer", "sector"]
    require_columns(frame, [*keys, value], "flows")
    for key in keys:
        missing = frame[key].isna().to_numpy()
        if missing.any():
            k = int(np.flatnonzero(missing)[0])
            raise DataValidationError(
                f"flows: column {key!r} is missing in {int(missing.sum())} row(s) (first: "
                f"{_describe(frame, k, keys)}); every flow needs an exporter, importer and sector."
            )
    vals = _numbers(frame, value, keys, "flows")
    neg = vals < 0
    if neg.any():
        k = int(np.flatnonzero(neg)[0])
        raise DataValidationError(
            f"flows: {int(neg.sum())} value(s) are negative (first: {_describe(frame, k, keys)}, "
            f"value {vals[k]}); trade flows must be >= 0."
        )
    countries = _labels(frame["exporter"], frame["importer"])
    sectors = _labels(frame["sector"])
    n, s = len(countries), len(sectors)
    exp = _codes(frame["exporter"], countries, "flows", frame)
    imp = _codes(frame["importer"], countries, "flows", frame)
    sec = _codes(frame["sector"], sectors, "flows", frame)
    flat = (sec * n + exp) * n + imp
    uniq, counts = np.unique(flat, return_counts=True)
    if (counts > 1).any():
        dup = np.flatnonzero(flat == uniq[counts > 1][0])
        raise DataValidationError(
            f"flows: {int((counts > 1).sum())} exporter-importer-sector cell(s) appear more than "
            f"once (first: rows {dup[:2].tolist()}, {_describe(frame, int(dup[0]), keys)}); "
            "aggregate them or select one year."
        )
    cube = np.zeros((s, n, n))
    cube[sec, exp, imp] = vals
    has_domestic = np.zeros((s, n), dtype=bool)
    dom = exp == imp
    has_domestic[sec[dom], exp[dom]] = True
    if not has_domestic.all():
        miss = np.argwhere(~has_domestic)
        cells = [f"{countries[c]}/{sectors[q]}" for q, c in miss[:10]]
        raise MissingDomesticFlowsError(
            f"the sectoral GE needs domestic sales (exporter == importer) for every country and "
            f"sector; {len(miss)} country/sector cell(s) lack a row: {cells}"
            f"{' ...' if len(miss) > 10 else ''}. Add domestic sales (gross output minus "
            "exports; a zero row where a country does not produce the sector) or drop the "
            "countries or sectors; ca_trade will not invent them."
        )
    home = np.einsum("snn->n", cube)
    if not (home > 0).all():
        lack = [countries[k] for k in np.flatnonzero(~(home > 0))]
        raise MissingDomesticFlowsError(
            f"countries {lack} sell nothing at home in any sector; structural gravity needs "
            "positive domestic sales. Check the domestic rows."
        )
    return FlowCube(countries=countries, sectors=sectors, values=cube)


def cell_values(
    frame: pd.DataFrame,
    column: str,
    grid: FlowCube,
    what: str,
    *,
    fill: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Place a long ``exporter, importer[, sector], column`` frame on the grid.

    A frame without a ``sector`` column applies each row to every sector. Rows naming
    countries or sectors outside the grid, duplicates and non-finite values raise errors.

    Parameters
    ----------
    frame : pandas.DataFrame
        The long frame.
    column : str
        Value column.
    grid : FlowCube
        The grid (countries and sectors of the flows).
    what : str
        Name of the argument, for messages.
    fill : float or numpy.ndarray, default 0.0
        Value of the cells the frame does not list.

    Returns
    -------
    values, listed : numpy.ndarray
        ``(S, N, N)`` values and a mask of the cells the frame lists.

    Examples
    --------
    >>> f = pd.DataFrame({"exporter": list("AB"), "importer": list("AB"), "sector": ["S"] * 2,
    ...                   "value": [1.0, 1.0]})
    >>> g = flow_cube(f)
    >>> t = pd.DataFrame({"exporter": ["A"], "importer": ["B"], "tariff": [0.1]})
    >>> cell_values(t, "tariff", g, "tariffs")[0].tolist()
    [[[0.0, 0.1], [0.0, 0.0]]]
    """
    s, n = len(grid.sectors), len(grid.countries)
    values = np.broadcast_to(np.asarray(fill, dtype=float), (s, n, n)).copy()
    listed = np.zeros((s, n, n), dtype=bool)
    if frame is None or len(frame) == 0:
        return values, listed
    by_sector = "sector" in frame.columns
    keys = ["exporter", "importer", *(["sector"] if by_sector else [])]
    require_columns(frame, [*keys, column], what)
    vals = _numbers(frame, column, keys, what)
    exp = _codes(frame["exporter"], grid.countries, what, frame)
    imp = _codes(frame["importer"], grid.countries, what, frame)
    if by_sector:
        sec = _codes(frame["sector"], grid.sectors, what, frame)
        flat = (sec * n + exp) * n + imp
    else:
        flat = exp * n + imp
    uniq, counts = np.unique(flat, return_counts=True)
    if (counts > 1).any():
        k = int(np.flatnonzero(flat == uniq[counts > 1][0])[0])
        raise SpecificationError(
            f"{what}: {_describe(frame, k, keys)} appears more than once; give each cell once "
            "(Scenario objects add up with +)."
        )
    if by_sector:
        values[sec, exp, imp] = vals
        listed[sec, exp, imp] = True
    else:
        values[:, exp, imp] = vals[None, :]
        listed[:, exp, imp] = True
    return values, listed


def theta_vector(theta: Any, sectors: tuple[str, ...]) -> np.ndarray:
    """Sector trade elasticities from a number, a mapping or a Series indexed by sector.

    Parameters
    ----------
    theta : float, Mapping or pandas.Series
        One elasticity for all sectors, or one per sector (every sector of the flows, no other).
    sectors : tuple of str
        Sectors of the flows.

    Returns
    -------
    numpy.ndarray
        ``(S,)`` positive elasticities.

    Examples
    --------
    >>> theta_vector({"S2": 4.0, "S1": 8.0}, ("S1", "S2")).tolist()
    [8.0, 4.0]
    """
    if isinstance(theta, (Mapping, pd.Series)):
        given = {str(k): v for k, v in dict(theta).items()}
        missing = [s for s in sectors if s not in given]
        extra = sorted(set(given) - set(sectors))
        if missing or extra:
            raise SpecificationError(
                f"theta must give one elasticity per sector of the flows; missing: {missing[:10]}, "
                f"not in the flows: {extra[:10]}."
            )
        raw = [given[s] for s in sectors]
    else:
        raw = [theta] * len(sectors)
    try:
        out = np.array([float(v) for v in raw])
    except (TypeError, ValueError):
        raise SpecificationError(f"theta must be numbers, got {theta!r}.") from None
    bad = ~(np.isfinite(out) & (out > 0))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise SpecificationError(
            f"theta (the trade elasticity) must be positive and finite; sector {sectors[k]!r} "
            f"has {show(raw[k])}."
        )
    return out
