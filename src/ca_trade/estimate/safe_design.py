"""Materialise a safe formula: the outcome and the regressors, with no Python code evaluated.

The columns, their names and their order are formulaic's, so a table does not change with the
mode: a numeric factor is one column named as Python's ``ast.unparse`` writes it; a
categorical factor (``C(col)``, or a column of dtype object, str or category) becomes dummy
variables named ``col[T.level]`` (reduced rank: the first level of the sorted levels, or of
the categories of a categorical column, is the reference) or ``col[level]`` (full rank); a
term is the row-wise product of its factors, the first factor varying fastest. Whether a
categorical factor enters with reduced or full rank follows formulaic's rule (each term adds
only what the intercept and the earlier terms do not already span), ported to
:func:`_simplify`. Arithmetic walks the syntax tree and applies the operators and numpy's
functions to the columns (pandas Series of their own dtype), exactly the operations formulaic's
evaluation of the same code performs, so the values are identical.

Examples
--------
>>> import pandas as pd
>>> from ca_trade.estimate.safe_formula import parse_safe
>>> from ca_trade.estimate.safe_design import regressors
>>> df = pd.DataFrame({"x": [1.0, 2.0, 4.0], "g": ["b", "a", "b"]})
>>> X, spec = regressors(parse_safe("y ~ log(x) + g"), df, intercept=True)
>>> spec.names
('Intercept', 'log(x)', 'g[T.b]')
>>> X[:, 2].tolist()
[1.0, 0.0, 1.0]
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ca_trade._typing import AnyArray, FloatArray
from ca_trade.estimate.safe_formula import (
    Categorical,
    Column,
    Expr,
    Factor,
    Function,
    Negative,
    Number,
    SafeFormula,
    factor_name,
    unparse,
)
from ca_trade.exceptions import SpecificationError

__all__ = ["SafeSpec", "evaluate", "is_categorical", "outcome", "regressors"]

#: A factor of a scoped term: its name and whether it enters with reduced rank.
_Scoped = tuple[tuple[str, bool], ...]

_FUNCS: dict[str, Callable[[Any], Any]] = {
    "log": np.log,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "log1p": np.log1p,
    "I": lambda v: v,
}
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}
#: Largest integer power of two numbers computed exactly (bits of the result).
_MAX_INT_BITS = 4096


@dataclass(frozen=True)
class SafeSpec:
    """What :func:`regressors` learnt from the estimation data, to rebuild ``X`` on new rows.

    Attributes
    ----------
    formula : SafeFormula
    intercept : bool
    levels : dict of str to tuple
        Levels of every categorical factor (by factor name).
    scoped : tuple of tuple of (str, bool)
        The scoped terms (factor name, reduced rank) in column order.
    names : tuple of str
        Column names.
    """

    formula: SafeFormula
    intercept: bool
    levels: dict[str, tuple[Any, ...]]
    scoped: tuple[_Scoped, ...]
    names: tuple[str, ...]

    def materialise(self, df: pd.DataFrame) -> FloatArray:
        """Regressors of new rows (an unknown categorical level gives NaN in its row).

        Parameters
        ----------
        df : pandas.DataFrame

        Returns
        -------
        ndarray, shape (len(df), len(names))
        """
        factors = _factors(self.formula)
        values = _values(factors, df, self.levels)
        return _columns(self.scoped, values, len(df), self.levels)[0]


def is_categorical(s: pd.Series) -> bool:
    """Whether a bare column is categorical (formulaic's rule: object, str or category dtype).

    Parameters
    ----------
    s : pandas.Series

    Returns
    -------
    bool

    Examples
    --------
    >>> import pandas as pd
    >>> is_categorical(pd.Series(["a"])), is_categorical(pd.Series([True]))
    (True, False)
    """
    return isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or s.dtype == "str"


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        cols = [str(c) for c in df.columns][:20]
        raise SpecificationError(f"column {name!r} is not in the data (columns: {cols})")
    s = df[name]
    if isinstance(s, pd.DataFrame):
        raise SpecificationError(f"the data has more than one column named {name!r}")
    return s


def _scalar_op(op: str, a: int | float, b: int | float) -> int | float:
    if op == "**" and isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        if b * math.log2(abs(a)) > _MAX_INT_BITS:
            raise SpecificationError(f"the constant {a} ** {b} is too large")
    try:
        out: int | float = _OPS[op](a, b)
    except (ZeroDivisionError, OverflowError) as exc:
        raise SpecificationError(f"the constant {a} {op} {b} cannot be computed: {exc}") from exc
    if isinstance(out, complex):
        raise SpecificationError(f"the constant {a} {op} {b} is not a real number")
    return out


def evaluate(node: Expr, df: pd.DataFrame) -> Any:
    """Value of an arithmetic expression over the columns of ``df``.

    Columns are pandas Series of their own dtype and the operators and numpy functions are
    applied to them as Python applies them to the same code under formulaic, so the values
    are identical (integer and boolean columns follow pandas' and numpy's rules).

    Parameters
    ----------
    node : Column, Number, Function, Negative or BinOp
    df : pandas.DataFrame

    Returns
    -------
    pandas.Series or int or float
        A Series when the expression reads a column.

    Examples
    --------
    >>> import pandas as pd
    >>> from ca_trade.estimate.safe_formula import parse_safe
    >>> f = parse_safe("y ~ I(2 * x - 1)")
    >>> evaluate(f.terms[0].factors[0], pd.DataFrame({"x": [1.0, 3.0]})).tolist()
    [1.0, 5.0]
    """
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Column):
        s = _column(df, node.name)
        if is_categorical(s) or not pd.api.types.is_numeric_dtype(s.dtype):
            raise SpecificationError(
                f"column {node.name!r} is not numeric (dtype {s.dtype}); it cannot be used "
                "in arithmetic or a transform (use it as a term or in C(...))"
            )
        return s
    if isinstance(node, Function):
        arg = evaluate(node.arg, df)
        return _FUNCS[node.name](arg)
    if isinstance(node, Negative):
        v = evaluate(node.operand, df)
        return -v
    left, right = evaluate(node.left, df), evaluate(node.right, df)
    if not isinstance(left, pd.Series) and not isinstance(right, pd.Series):
        return _scalar_op(node.op, left, right)
    return _OPS[node.op](left, right)


def _numeric(node: Expr, df: pd.DataFrame) -> AnyArray:
    """Compute a numeric factor, in the dtype its operations produce.

    (float16 for ``exp`` of a boolean column, as under formulaic, which forms the products of
    factors in it.)
    """
    try:
        with np.errstate(all="ignore"):
            v = evaluate(node, df)
        return np.asarray(v).reshape(-1)
    except SpecificationError:
        raise
    except (TypeError, ValueError, ArithmeticError, NotImplementedError) as exc:
        raise SpecificationError(f"cannot compute {unparse(node)!r} from the data: {exc}") from exc


def outcome(formula: SafeFormula, df: pd.DataFrame) -> FloatArray:
    """Compute the outcome column (float64).

    Parameters
    ----------
    formula : SafeFormula
    df : pandas.DataFrame

    Returns
    -------
    ndarray, shape (len(df),)

    Examples
    --------
    >>> import pandas as pd
    >>> from ca_trade.estimate.safe_formula import parse_safe
    >>> outcome(parse_safe("log(y) ~ x"), pd.DataFrame({"y": [1.0]})).tolist()
    [0.0]
    """
    node = formula.outcome
    if isinstance(node, Column) and is_categorical(_column(df, node.name)):
        raise SpecificationError(
            f"outcome {node.name!r} must be one numeric column; it is categorical "
            f"(dtype {df[node.name].dtype})"
        )
    return _numeric(node, df).astype(np.float64)


def _factors(formula: SafeFormula) -> dict[str, Factor]:
    return {factor_name(f): f for t in formula.terms for f in t.factors}


def _kind(factor: Factor, df: pd.DataFrame) -> bool:
    """Whether a factor is categorical."""
    if isinstance(factor, Categorical):
        return True
    return isinstance(factor, Column) and is_categorical(_column(df, factor.name))


def _values(
    factors: dict[str, Factor], df: pd.DataFrame, levels: dict[str, tuple[Any, ...]] | None
) -> dict[str, Any]:
    """Evaluate each factor once: a float array, or integer codes for a categorical one."""
    out: dict[str, Any] = {}
    for name, f in factors.items():
        if (name in levels) if levels is not None else _kind(f, df):
            col = f.column if isinstance(f, Categorical) else f.name
            s = _column(df, col)
            if levels is None:
                cat = s.astype("category").cat
                out[name] = (tuple(cat.categories), np.asarray(cat.codes))
            else:  # new rows: a level not seen in the estimation data gets code -1
                codes = pd.Index(list(levels[name])).get_indexer(pd.Index(s.to_numpy()))
                out[name] = (levels[name], np.asarray(codes))
        else:
            out[name] = _numeric(f, df)  # type: ignore[arg-type]
    return out


def _span(term: tuple[tuple[str, bool], ...]) -> list[_Scoped]:
    """Scoped terms spanned by a term: each categorical factor reduced, or left out."""
    options = [((name, True), None) if cat else ((name, False),) for name, cat in term]
    return [tuple(p for p in prod if p is not None) for prod in itertools.product(*options)]


def _same(a: _Scoped, b: _Scoped) -> bool:
    return frozenset(a) == frozenset(b)


def _simplify(scoped: list[_Scoped]) -> list[_Scoped]:
    """Minimal scoped terms spanning the same space (formulaic's ``_simplify_scoped_terms``).

    Rule: ``(anything):(reduced) + (anything)`` -> ``(anything):(full rank)``, applied
    greedily in order of degree, starting over after each application.
    """
    terms: list[_Scoped] = []
    for st in sorted(scoped, key=len):
        factors = set(st)
        combined = False
        for existing in terms:
            co = set(existing)
            diff = factors - co
            if len(factors) - 1 != len(co) or len(diff) != 1:
                continue
            new = next(iter(diff))
            if new[1]:
                full = tuple((n, False) if (n, r) == new else (n, r) for n, r in st)
                rest = [t for t in terms if not _same(t, existing)]
                if not any(_same(t, full) for t in rest):
                    rest.append(full)
                terms = _simplify(rest)
                combined = True
                break
        if not combined and not any(_same(t, st) for t in terms):
            terms.append(st)
    return terms


def _scope(formula: SafeFormula, df: pd.DataFrame, intercept: bool) -> list[_Scoped]:
    """Scoped terms of the right-hand side in column order (formulaic's full-rank rule)."""
    spanned: list[_Scoped] = [()] if intercept else []
    out: list[_Scoped] = [()] if intercept else []
    for term in formula.terms:
        named = tuple((factor_name(f), _kind(f, df)) for f in term.factors)
        span = [s for s in _span(named) if not any(_same(s, t) for t in spanned)]
        out.extend(_simplify(span))
        spanned.extend(span)
    return out


def _dummies(
    name: str, reduced: bool, lv: tuple[Any, ...], codes: AnyArray
) -> list[tuple[str, AnyArray]]:
    """Build the dummy columns of a categorical factor (boolean; float, NaN if unknown)."""
    unknown = codes < 0
    fmt = "{}[T.{}]" if reduced else "{}[{}]"
    out = []
    for j, level in enumerate(lv):
        if reduced and j == 0:
            continue
        d: AnyArray = codes == j
        if unknown.any():
            d = d.astype(np.float64)
            d[unknown] = np.nan
        out.append((fmt.format(name, level), d))
    return out


def _term_columns(
    parts: list[list[tuple[str, AnyArray]]],
) -> list[tuple[str, FloatArray]]:
    """Row-wise products of the factors' columns, computed in formulaic's pandas order.

    Names enumerate the columns with the first factor varying fastest. Values: the factors
    with a single column are multiplied first (in order) and that product comes last; every
    product is formed in the factors' own dtypes (boolean dummies, float16 from ``exp`` of a
    boolean, ...) and converted to float64 at the end, so rounding matches formulaic's.
    """
    names = [":".join(p[0] for p in rev[::-1]) for rev in itertools.product(*reversed(parts))]
    solo = [p[0][1] for p in parts if len(p) == 1]
    multi = [p for p in parts if len(p) != 1]
    with np.errstate(all="ignore"):
        if solo:
            prod = solo[0]
            for v in solo[1:]:
                prod = np.multiply(prod, v)
            multi.append([("", prod)])
        out = []
        for name, rev in zip(names, itertools.product(*reversed(multi))):
            vals = [np.asarray(p[1]) for p in rev[::-1]]
            col = vals[0]
            for v in vals[1:]:
                col = np.multiply(col, v)
            out.append((name, np.asarray(1 * col, dtype=np.float64)))
    return out


def _columns(
    scoped: tuple[_Scoped, ...] | list[_Scoped],
    values: dict[str, Any],
    n: int,
    levels: dict[str, tuple[Any, ...]],
) -> tuple[FloatArray, list[str]]:
    names: list[str] = []
    cols: list[FloatArray] = []
    for st in scoped:
        if not st:
            names.append("Intercept")
            cols.append(np.ones(n))
            continue
        parts: list[list[tuple[str, AnyArray]]] = []
        for name, reduced in st:
            v = values[name]
            parts.append(_dummies(name, reduced, *v) if isinstance(v, tuple) else [(name, v)])
        for name, col in _term_columns(parts):
            names.append(name)
            cols.append(col)
    X = np.column_stack(cols) if cols else np.zeros((n, 0))
    return X, names


def regressors(
    formula: SafeFormula, df: pd.DataFrame, *, intercept: bool
) -> tuple[FloatArray, SafeSpec]:
    """Build the regressor matrix of a safe formula, columns named and ordered as formulaic's.

    Parameters
    ----------
    formula : SafeFormula
    df : pandas.DataFrame
    intercept : bool
        Whether the matrix starts with an ``Intercept`` column.

    Returns
    -------
    X : ndarray, shape (len(df), k)
    spec : SafeSpec
        Names, levels and structure, to rebuild the matrix on new rows.

    Examples
    --------
    >>> import pandas as pd
    >>> from ca_trade.estimate.safe_formula import parse_safe
    >>> df = pd.DataFrame({"x": [1.0, 2.0], "g": ["u", "v"]})
    >>> regressors(parse_safe("y ~ x:C(g)"), df, intercept=False)[1].names
    ('x:C(g)[u]', 'x:C(g)[v]')
    """
    factors = _factors(formula)
    values = _values(factors, df, None)
    levels = {k: v[0] for k, v in values.items() if isinstance(v, tuple)}
    scoped = _scope(formula, df, intercept)
    X, names = _columns(scoped, values, len(df), levels)
    spec = SafeSpec(
        formula=formula,
        intercept=intercept,
        levels=levels,
        scoped=tuple(scoped),
        names=tuple(names),
    )
    return X, spec
