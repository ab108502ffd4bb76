"""Validation of GE inputs: long flow frames to a square matrix, pair effects to a matrix.

Internal module: :func:`ca_trade.ge.solve` is the public entry point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ca_trade.exceptions import (
    DataValidationError,
    GEError,
    MissingDomesticFlowsError,
    SpecificationError,
)

__all__ = ["FlowMatrix", "checked_values", "flow_matrix", "pair_matrix"]


@dataclass(frozen=True)
class FlowMatrix:
    """A square flow matrix (exporters in rows, importers in columns) and its country labels."""

    countries: tuple[str, ...]
    values: np.ndarray

    @property
    def n(self) -> int:
        """Number of countries."""
        return len(self.countries)


def _labels(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes and string labels of a country column (fast on Arrow-backed strings)."""
    codes, uniques = pd.factorize(column)
    if (codes < 0).any():
        k = int(np.flatnonzero(codes < 0)[0])
        raise DataValidationError(
            f"column {column.name!r} has {int((codes < 0).sum())} missing country code(s) "
            f"(first: row {k}); fill or drop them before solving."
        )
    return codes.astype(np.int64), [str(u) for u in uniques]


def _grid_cells(
    exp: tuple[np.ndarray, list[str]],
    imp: tuple[np.ndarray, list[str]],
    index: dict[str, int],
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column of each record on the ``n x n`` grid, and the duplicated cells.

    `exp` and `imp` are :func:`_labels` of the exporter and importer columns. The third array
    holds the flat index (``row * n + col``) of every cell listed more than once, ascending.
    """
    rows = np.array([index[c] for c in exp[1]], dtype=np.int64)[exp[0]]
    cols = np.array([index[c] for c in imp[1]], dtype=np.int64)[imp[0]]
    uniq, counts = np.unique(rows * n + cols, return_counts=True)
    return rows, cols, uniq[counts > 1]


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SpecificationError(
            f"{what} lacks column(s) {missing}; it has {list(frame.columns)}. Pass a DataFrame "
            f"with columns {list(columns)}."
        )


def flow_matrix(flows: pd.DataFrame, value: str = "value") -> FlowMatrix:
    """Turn a long flow frame into a square matrix over the union of countries.

    Pairs absent from the frame are zero flows. Domestic flows must be present and positive.

    Parameters
    ----------
    flows : pandas.DataFrame
        Columns ``exporter``, ``importer`` and ``value`` (or the column named by `value`).
    value : str, default "value"
        Name of the flow column.

    Returns
    -------
    FlowMatrix
        Countries sorted alphabetically and the matrix of flows.

    Raises
    ------
    SpecificationError
        If a column is missing.
    GEError
        If the frame has no rows.
    DataValidationError
        If values are negative, missing or infinite, or a pair appears twice.
    MissingDomesticFlowsError
        If some country has no positive domestic flow ``X_ii``.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["A", "A", "B", "B"], "importer": ["A", "B", "A", "B"],
    ...                   "value": [5.0, 1.0, 2.0, 4.0]})
    >>> flow_matrix(f).values
    array([[5., 1.],
           [2., 4.]])
    """
    _require_columns(flows, ("exporter", "importer", value), "flows")
    if len(flows) == 0:
        raise GEError(
            "flows has no rows: there are no flows to solve for. Pass the baseline year's "
            "exporter, importer, value rows, domestic flows included (e.g. "
            "panel[panel.year == 2019])."
        )
    exp_codes, exp_labels = _labels(flows["exporter"])
    imp_codes, imp_labels = _labels(flows["importer"])
    vals = pd.to_numeric(flows[value], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(vals)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise DataValidationError(
            f"{int(bad.sum())} flow value(s) in column {value!r} are missing or not finite "
            f"(first: row {k}, {exp_labels[exp_codes[k]]} -> {imp_labels[imp_codes[k]]}); fill "
            "or drop them before solving."
        )
    neg = vals < 0
    if neg.any():
        k = int(np.flatnonzero(neg)[0])
        raise DataValidationError(
            f"{int(neg.sum())} flow value(s) are negative (first: row {k}, "
            f"{exp_labels[exp_codes[k]]} -> {imp_labels[imp_codes[k]]}, "
            f"{vals[k]}); trade flows must be >= 0."
        )
    countries = tuple(sorted(set(exp_labels) | set(imp_labels)))
    position = {c: k for k, c in enumerate(countries)}
    n = len(countries)
    rows, cols, dups = _grid_cells((exp_codes, exp_labels), (imp_codes, imp_labels), position, n)
    if len(dups):
        d = int(dups[0])
        raise DataValidationError(
            f"{len(dups)} exporter-importer pair(s) appear more than once (first: "
            f"{countries[d // n]} -> {countries[d % n]}); aggregate or select one year/sector."
        )
    mat = np.zeros((n, n))
    mat[rows, cols] = vals
    missing = [c for c, x in zip(countries, np.diag(mat)) if not x > 0]
    if missing:
        raise MissingDomesticFlowsError(
            f"structural gravity GE needs positive domestic flows X_ii; {len(missing)} "
            f"countr{'y lacks' if len(missing) == 1 else 'ies lack'} them: {missing}. Add "
            "domestic sales (e.g. gross output minus exports) or drop these countries; ca_trade "
            "will not invent them."
        )
    return FlowMatrix(countries=countries, values=mat)


def pair_matrix(
    frame: pd.DataFrame | None,
    countries: tuple[str, ...],
    column: str,
    what: str,
    *,
    above: float | None = None,
) -> np.ndarray:
    """Place a long pair frame (``exporter, importer, column``) on the country grid.

    Missing pairs are zero. Pairs naming a country outside `countries` raise an error.

    Parameters
    ----------
    frame : pandas.DataFrame or None
        The pair frame; None gives a zero matrix.
    countries : tuple of str
        Country labels of the grid, in order.
    column : str
        Value column.
    what : str
        Name of the argument, for messages.
    above : float, optional
        Every value must be greater than this (e.g. -1 for tariffs).

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` matrix.

    Examples
    --------
    >>> import pandas as pd
    >>> pe = pd.DataFrame({"exporter": ["A"], "importer": ["B"], "effect": [0.5]})
    >>> pair_matrix(pe, ("A", "B"), "effect", "partial_effects")
    array([[0. , 0.5],
           [0. , 0. ]])
    """
    n = len(countries)
    mat = np.zeros((n, n))
    if frame is None or len(frame) == 0:
        return mat
    _require_columns(frame, ("exporter", "importer", column), what)
    index = {c: k for k, c in enumerate(countries)}
    exp_codes, exp_labels = _labels(frame["exporter"])
    imp_codes, imp_labels = _labels(frame["importer"])
    unknown = sorted({c for c in exp_labels + imp_labels if c not in index})
    if unknown:
        raise SpecificationError(
            f"{what} names countries that are not in the flow matrix: {unknown[:10]}; the flow "
            f"matrix has {n} countries. Drop those rows or add the countries' flows."
        )
    vals = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(vals).all():
        k = int(np.flatnonzero(~np.isfinite(vals))[0])
        raise SpecificationError(
            f"{what}: column {column!r} has a missing or infinite value (row {k}, "
            f"{exp_labels[exp_codes[k]]} -> {imp_labels[imp_codes[k]]}); give every listed pair "
            "a finite value."
        )
    if above is not None and not (vals > above).all():
        k = int(np.flatnonzero(~(vals > above))[0])
        raise SpecificationError(
            f"{what}: column {column!r} must be > {above:g} (row {k}, "
            f"{exp_labels[exp_codes[k]]} -> {imp_labels[imp_codes[k]]}: {vals[k]:g}); "
            "tariffs are fractions (0.05 = 5 %)."
        )
    rows, cols, dups = _grid_cells((exp_codes, exp_labels), (imp_codes, imp_labels), index, n)
    if len(dups):
        d = int(dups[0])
        raise SpecificationError(
            f"{what}: pair {countries[d // n]} -> {countries[d % n]} appears more than once; "
            "combine the effects first (Scenario objects add up with +)."
        )
    mat[rows, cols] = vals
    return mat


def checked_values(
    frame: pd.DataFrame,
    column: str,
    what: str,
    *,
    rule: str = "finite",
    ok: Callable[[np.ndarray], np.ndarray] | None = None,
    keys: tuple[str, str] = ("exporter", "importer"),
    sep: str = " -> ",
    missing_ok: bool = False,
) -> np.ndarray:
    """Return a numeric column as floats after checking every value, naming the first bad row.

    Parameters
    ----------
    frame : pandas.DataFrame
        The input frame.
    column : str
        The column to check.
    what : str
        Name of the argument, for messages.
    rule : str, default "finite"
        What a valid value is, in words (for the message).
    ok : callable, optional
        Elementwise test of the finite values (default: all finite values pass).
    keys : tuple of str, default ("exporter", "importer")
        Columns naming the row's pair or link in messages.
    sep : str, default " -> "
        Separator of the two keys in messages.
    missing_ok : bool, default False
        Let missing values (NaN, None) through as NaN; infinities are always refused.

    Returns
    -------
    numpy.ndarray
        The values.

    Raises
    ------
    SpecificationError
        Naming the row (position in `frame`), its pair and the value.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": ["A"], "importer": ["B"], "tariff": [-2.0]})
    >>> checked_values(f, "tariff", "t", rule=">= 0", ok=lambda v: v >= 0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ca_trade.exceptions.SpecificationError: t: column 'tariff' must be >= 0; row 0 (A -> B) has ...
    """
    raw = frame[column]
    vals = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    good = np.isfinite(vals)
    if ok is not None:
        good[good] = ok(vals[good])
    if missing_ok:
        good |= np.isnan(vals)
    if not good.all():
        k = int(np.flatnonzero(~good)[0])
        a, b = (frame[key].iloc[k] for key in keys)
        raise SpecificationError(
            f"{what}: column {column!r} must be {rule}; row {k} ({a}{sep}{b}) has {raw.iloc[k]}."
        )
    return vals
