"""Missing and non-finite inputs: one rule for every dtype.

Before anything is materialised, every column an estimation reads (outcome, regressors, fixed
effects, weights, offset, cluster variables) is scanned the same way, whatever its dtype
(float, int, bool, nullable ``Int64``/``Float64``/``boolean``, object, str, category, or a
polars column converted to pandas):

- a row with an NA-type value -- NaN, None, ``pd.NA``, ``NaT``, a polars null -- in any of
  them is **missing**;
- a row with none of those but ``+inf`` or ``-inf`` in one of them, or whose outcome or a
  regressor is non-finite after its transform (``log(0)``, ``1 / 0``), is **non-finite**.

Both are dropped before estimation, recorded in ``res.dropped`` under ``"missing"`` and
``"non_finite"``, and announced by one :class:`~ca_trade.exceptions.MissingValuesWarning`
with the counts by column. :func:`normalise` then gives the remaining values of a column the
plain numpy dtype formulaic and the safe evaluator expect (a nullable or object column of
booleans becomes ``bool``, of numbers a number, ``Int64`` becomes ``int64``), so a column
with nulls is never a hidden category.

Examples
--------
>>> import pandas as pd
>>> from ca_trade.estimate.missing import scan_columns
>>> df = pd.DataFrame({"x": [1.0, float("inf"), None], "g": ["a", "b", None]})
>>> s = scan_columns(df, ["x", "g"])
>>> s.missing.tolist(), s.non_finite.tolist()
([False, False, True], [False, True, False])
>>> s.describe()
'1 with missing values (x: 1, g: 1), 1 with non-finite values (x: 1)'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ca_trade._typing import BoolArray

__all__ = ["RowScan", "inf_mask", "na_mask", "normalise", "scan_columns", "scan_values"]


def na_mask(values: Any) -> BoolArray:
    """Rows holding an NA-type value (NaN, None, ``pd.NA``, ``NaT``), for any dtype.

    Parameters
    ----------
    values : pandas.Series or array_like

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> import pandas as pd
    >>> na_mask(pd.array([True, None], dtype="boolean")).tolist()
    [False, True]
    """
    return np.asarray(pd.isna(pd.Series(values) if not isinstance(values, pd.Series) else values))


def _is_inf(v: Any) -> bool:
    return isinstance(v, float) and math.isinf(v)


def inf_mask(values: Any) -> BoolArray:
    """Rows holding ``+inf`` or ``-inf``, for any dtype (object and category included).

    Parameters
    ----------
    values : pandas.Series or array_like

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> import numpy as np
    >>> inf_mask(np.array([1.0, -np.inf, np.nan])).tolist()
    [False, True, False]
    """
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        cats = np.array([_is_inf(c) for c in dt.categories], dtype=bool)
        codes = np.asarray(s.cat.codes)
        return (codes >= 0) & cats[np.maximum(codes, 0)] if cats.any() else np.zeros(len(s), bool)
    if pd.api.types.is_float_dtype(dt):
        return np.asarray(np.isinf(s.to_numpy(dtype=np.float64, na_value=np.nan)))
    if pd.api.types.is_object_dtype(dt) and pd.api.types.infer_dtype(s, skipna=True) not in (
        "string",
        "empty",
    ):
        return np.fromiter((_is_inf(v) for v in s.to_numpy()), dtype=bool, count=len(s))
    return np.zeros(len(s), dtype=bool)


@dataclass(frozen=True)
class RowScan:
    """Rows to drop, by reason, with the number of rows each column flags.

    Attributes
    ----------
    missing : ndarray of bool
        Rows with an NA-type value.
    non_finite : ndarray of bool
        Rows with no NA-type value but an infinite or non-finite (after its transform) one;
        disjoint from ``missing``.
    by_column : dict of str to tuple of (int, int)
        For each column or term that flags rows: how many are missing, how many non-finite.
    """

    missing: BoolArray
    non_finite: BoolArray
    by_column: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def dropped(self) -> BoolArray:
        """Rows dropped for either reason."""
        return self.missing | self.non_finite

    def merge(self, other: RowScan) -> RowScan:
        """Combine two scans of the same rows (missing wins over non-finite).

        Parameters
        ----------
        other : RowScan

        Returns
        -------
        RowScan
        """
        missing = self.missing | other.missing
        counts = dict(self.by_column)
        for k, (a, b) in other.by_column.items():
            a0, b0 = counts.get(k, (0, 0))
            counts[k] = (a0 + a, b0 + b)
        return RowScan(missing, (self.non_finite | other.non_finite) & ~missing, counts)

    def describe(self) -> str:
        """One line: rows by reason, and the columns that flag them."""
        parts = []
        for label, mask, i in (
            ("missing values", self.missing, 0),
            ("non-finite values", self.non_finite, 1),
        ):
            n = int(mask.sum())
            if n:
                cols = ", ".join(f"{k}: {v[i]}" for k, v in self.by_column.items() if v[i])
                parts.append(f"{n} with {label} ({cols})")
        return ", ".join(parts)


def scan_values(name: str, values: Any) -> RowScan:
    """Scan one column or array.

    Parameters
    ----------
    name : str
        Name used in the description (a column, ``"weights"``, a term).
    values : pandas.Series or array_like

    Returns
    -------
    RowScan

    Examples
    --------
    >>> scan_values("w", [1.0, None, float("inf")]).by_column
    {'w': (1, 1)}
    """
    na = na_mask(values)
    inf = inf_mask(values) & ~na
    counts = {name: (int(na.sum()), int(inf.sum()))} if na.any() or inf.any() else {}
    return RowScan(na, inf, counts)


def scan_columns(df: pd.DataFrame, columns: Iterable[str]) -> RowScan:
    """Scan columns of a DataFrame (each once) and combine the results.

    Parameters
    ----------
    df : pandas.DataFrame
    columns : iterable of str

    Returns
    -------
    RowScan

    Examples
    --------
    >>> import pandas as pd
    >>> scan_columns(pd.DataFrame({"a": [1, 2]}), ["a"]).dropped.tolist()
    [False, False]
    """
    n = len(df)
    out = RowScan(np.zeros(n, dtype=bool), np.zeros(n, dtype=bool))
    for c in dict.fromkeys(columns):
        out = out.merge(scan_values(c, df[c]))
    return out


def normalise(s: pd.Series) -> pd.Series:
    """Give a column that holds no missing value any more its plain numpy dtype.

    ``boolean`` and object columns of booleans become ``bool``, nullable numbers their numpy
    dtype, object columns of numbers numeric, pandas ``string`` columns ``object``; other
    columns are returned as they are.

    Parameters
    ----------
    s : pandas.Series
        A column without NA-type values.

    Returns
    -------
    pandas.Series

    Examples
    --------
    >>> import pandas as pd
    >>> normalise(pd.Series([True, False], dtype=object)).dtype
    dtype('bool')
    """
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype) or dt == "str":
        return s
    if pd.api.types.is_bool_dtype(dt):
        return s if dt == np.bool_ else s.astype(bool)
    if isinstance(dt, pd.api.extensions.ExtensionDtype):
        if pd.api.types.is_numeric_dtype(dt) and hasattr(dt, "numpy_dtype"):
            return s.astype(dt.numpy_dtype)
        if pd.api.types.is_string_dtype(dt):
            return s.astype(object)
        return s
    if pd.api.types.is_object_dtype(dt) and len(s):
        kind = pd.api.types.infer_dtype(s, skipna=False)
        if kind == "boolean":
            return s.astype(bool)
        if kind in ("integer", "floating", "mixed-integer-float"):
            return pd.to_numeric(s)
    return s
