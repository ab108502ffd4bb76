"""fixest-style model formulas: ``y ~ x1 + log(x2) | fe1 + fe2^fe3``.

The part left of ``~`` is the outcome (a column or an expression), the part between ``~`` and
``|`` the regressors (``log(x)``, ``C(g)``, ``x1:x2`` work), and the part after ``|`` the fixed
effects: column names joined by ``+``, with ``^`` interacting columns (``exporter^year`` is one
fixed effect per exporter-year). A formula without fixed effects gets an intercept; with fixed
effects it has none (they absorb it).

Two modes materialise the outcome and the regressors:

- ``safe=False`` (the default of :func:`ca_trade.ppml` and :func:`ca_trade.ols`): formulaic
  evaluates each term as Python code, as in statsmodels and pyfixest, so a formula written in
  your own code may call Python (``np.log(x)``, ``I(x**2)``, formulaic's transforms);
- ``safe=True`` (formulas from configuration files and the command line): the formula is parsed
  by :mod:`ca_trade.estimate.safe_formula` and materialised by
  :mod:`ca_trade.estimate.safe_design` with numpy; nothing is evaluated, and anything outside
  the grammar is a :class:`~ca_trade.exceptions.SpecificationError`. For every formula the safe
  grammar accepts, both modes give the same columns, names and values.

Before either materialises anything, every column the model reads is scanned for missing and
non-finite values (:mod:`ca_trade.estimate.missing`), and those rows are set aside.

Examples
--------
>>> from ca_trade.estimate.formula import parse_formula
>>> f = parse_formula("trade ~ rta + log(dist) | exporter^year + importer^year")
>>> f.depvar, f.rhs, f.fixef
('trade', 'rta + log(dist)', (('exporter', 'year'), ('importer', 'year')))
>>> f.fixef_names
['exporter^year', 'importer^year']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import formulaic
import numpy as np
import pandas as pd
from numba import njit

from ca_trade._typing import BoolArray, FloatArray, IntArray
from ca_trade.estimate.missing import RowScan, normalise, scan_columns
from ca_trade.estimate.safe_design import SafeSpec, outcome, regressors
from ca_trade.estimate.safe_formula import SafeFormula, columns_of, parse_safe
from ca_trade.exceptions import DataValidationError, SpecificationError

__all__ = [
    "Design",
    "ParsedFormula",
    "build_design",
    "fe_codes",
    "materialise_regressors",
    "parse_formula",
    "rhs_matrix",
    "to_pandas",
]

#: Names a formula in formulaic mode may use besides formulaic's own transforms (log, exp,
#: I, C, ...): numpy as ``np`` and the grammar's ``sqrt`` and ``log1p``.
_CONTEXT: dict[str, Any] = {"np": np, "sqrt": np.sqrt, "log1p": np.log1p}

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class ParsedFormula:
    """A parsed fixest-style formula.

    Attributes
    ----------
    formula : str
        The formula as written.
    depvar : str
        Left-hand side expression.
    rhs : str
        Regressors (formulaic syntax); ``"1"`` or ``"0"`` when there are none.
    fixef : tuple of tuple of str
        One tuple of column names per fixed effect (several for ``a^b``).
    tree : SafeFormula or None
        The parsed syntax tree in safe mode (the outcome and regressors are then materialised
        from it); None in formulaic mode.

    Examples
    --------
    >>> parse_formula("y ~ x").fixef
    ()
    """

    formula: str
    depvar: str
    rhs: str
    fixef: tuple[tuple[str, ...], ...]
    tree: SafeFormula | None = None

    @property
    def fixef_names(self) -> list[str]:
        """Fixed-effect names as written in the formula (``a^b`` for interactions)."""
        return ["^".join(parts) for parts in self.fixef]

    @property
    def has_intercept(self) -> bool:
        """Whether the regressors include a constant (only without fixed effects)."""
        return not self.fixef


def parse_formula(formula: str, *, safe: bool = False) -> ParsedFormula:
    """Split a fixest-style formula into outcome, regressors and fixed effects.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + x2 | fe1 + fe2^fe3"``; the ``| ...`` part is optional.
    safe : bool, default False
        Parse with the safe grammar (:mod:`ca_trade.estimate.safe_formula`) and keep the
        syntax tree, so that nothing in the formula is ever evaluated.

    Returns
    -------
    ParsedFormula

    Raises
    ------
    SpecificationError
        If the formula lacks ``~``, has an empty side, more than one ``|``, or a fixed
        effect that is not a plain column name; in safe mode, at the first token outside the
        grammar.

    Examples
    --------
    >>> parse_formula("y ~ 1 | g").rhs
    '0'
    >>> parse_formula("y ~ log(x) | g", safe=True).tree.terms[0].name
    'log(x)'
    """
    if not isinstance(safe, bool):
        raise SpecificationError(f"safe_formula must be True or False, got {safe!r}")
    tree = parse_safe(formula) if safe else None
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise SpecificationError(
            f"formula {formula!r} must contain exactly one '~', e.g. 'trade ~ rta | exp_year'"
        )
    lhs, rest = (s.strip() for s in formula.split("~"))
    if not lhs:
        raise SpecificationError(f"formula {formula!r} has no outcome left of '~'")
    parts = rest.split("|")
    if len(parts) > 2:
        raise SpecificationError(
            f"formula {formula!r} has more than one '|'; write 'y ~ x | fe1 + fe2'"
        )
    rhs = parts[0].strip()
    fixef: list[tuple[str, ...]] = []
    if len(parts) == 2:
        fe_txt = parts[1].strip()
        if not fe_txt:
            raise SpecificationError(f"formula {formula!r} has an empty fixed-effect part")
        for term in fe_txt.split("+"):
            cols = tuple(c.strip() for c in term.split("^"))
            for c in cols:
                if not _NAME.match(c):
                    raise SpecificationError(
                        f"fixed effect {term.strip()!r} in {formula!r} must be column names "
                        "joined by '^' (e.g. 'exporter^year')"
                    )
            if cols in fixef:
                raise SpecificationError(f"fixed effect {term.strip()!r} appears twice")
            fixef.append(cols)
    if not rhs:
        raise SpecificationError(f"formula {formula!r} has no regressors; write 'y ~ 1 | fe'")
    if fixef:
        rhs = "0" if rhs in ("1", "0") else rhs
    return ParsedFormula(formula=formula, depvar=lhs, rhs=rhs, fixef=tuple(fixef), tree=tree)


def to_pandas(data: Any) -> pd.DataFrame:
    """Return ``data`` as a pandas DataFrame (accepts pandas and polars frames).

    Parameters
    ----------
    data : pandas.DataFrame or polars.DataFrame

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> to_pandas(pd.DataFrame({"a": [1]})).shape
    (1, 1)
    """
    if isinstance(data, pd.DataFrame):
        return data
    mod = type(data).__module__
    if mod.startswith("polars"):
        if hasattr(data, "collect") and not hasattr(data, "to_pandas"):
            data = data.collect()
        out = data.to_pandas()
        if isinstance(out, pd.DataFrame):
            return out
    raise SpecificationError(
        f"data must be a pandas or polars DataFrame, got {type(data).__name__}"
    )


@dataclass(frozen=True)
class Design:
    """Materialised model arrays over all rows of the input data.

    Attributes
    ----------
    y : ndarray, shape (n,)
        NaN in rows that cannot be used.
    X : ndarray, shape (n, k)
        NaN in rows that cannot be used.
    xnames : list of str
    fe_codes : list of ndarray of int64
        Integer codes per fixed effect (``-1`` where missing).
    fe_levels : list of list of str
        Level labels per fixed effect.
    missing : ndarray of bool
        Rows that cannot be used: a missing or non-finite outcome, regressor or fixed effect
        (``scan`` gives them by reason).
    scan : RowScan
        The same rows by reason (``missing``, ``non_finite``), with counts by column.
    model_spec : object
        What rebuilds the regressors on new rows (``predict``): formulaic's model spec, or a
        :class:`~ca_trade.estimate.safe_design.SafeSpec` in safe mode.
    """

    y: FloatArray
    X: FloatArray
    xnames: list[str]
    fe_codes: list[IntArray]
    fe_levels: list[list[str]]
    missing: BoolArray
    scan: RowScan
    model_spec: Any


@njit(cache=True, nogil=True)
def _first_seen(a: IntArray, lo: int, span: int) -> tuple[IntArray, IntArray]:
    """Codes of ``a`` in order of first appearance, and the values in that order."""
    slot = np.full(span, -1, dtype=np.int64)
    codes = np.empty(a.shape[0], dtype=np.int64)
    seen = np.empty(min(span, a.shape[0]), dtype=np.int64)
    m = 0
    for i in range(a.shape[0]):
        v = a[i] - lo
        c = slot[v]
        if c < 0:
            c = m
            slot[v] = m
            seen[m] = a[i]
            m += 1
        codes[i] = c
    return codes, seen[:m].copy()


def _factorize(s: pd.Series) -> tuple[IntArray, Any]:
    """Return ``pandas.factorize(s, sort=False)`` with int64 codes.

    Integers of a compact range (fixed effects numbered like ``exporter`` or ``year``) are
    coded by one compiled pass instead of a hash table.
    """
    if isinstance(s.dtype, np.dtype) and np.issubdtype(s.dtype, np.integer) and len(s):
        a = s.to_numpy()
        lo, hi = int(a.min()), int(a.max())
        if hi - lo < 4 * len(a) + 1024 and hi < 2**63:
            return _first_seen(a.astype(np.int64, copy=False), lo, hi - lo + 1)
    codes, uniq = pd.factorize(s, sort=False)
    return codes.astype(np.int64), uniq


def fe_codes(df: pd.DataFrame, cols: tuple[str, ...]) -> tuple[IntArray, list[str]]:
    """Integer codes and level labels of one (possibly interacted) fixed effect.

    Parameters
    ----------
    df : pandas.DataFrame
    cols : tuple of str
        One column, or several for an interaction (labels joined by ``"_"``).

    Returns
    -------
    codes : ndarray of int64
        ``0..G-1`` in order of first appearance, ``-1`` where any column is missing.
    labels : list of str
        Label of each level.

    Examples
    --------
    >>> import pandas as pd
    >>> fe_codes(pd.DataFrame({"a": ["x", "y", "x"], "b": [1, 1, 1]}), ("a", "b"))
    (array([0, 1, 0]), ['x_1', 'y_1'])
    """
    for c in cols:
        if c not in df.columns:
            raise SpecificationError(
                f"fixed-effect column {c!r} is not in the data (columns: {list(df.columns)[:20]})"
            )
    codes, uniq0 = _factorize(df[cols[0]])
    labels = [str(u) for u in uniq0]
    for c in cols[1:]:
        ci, ui = _factorize(df[c])
        na = (codes < 0) | (ci < 0)
        combo = codes * len(ui) + ci
        combo[na] = -1
        new, first = pd.factorize(combo, sort=False)
        new = new.astype(np.int64)
        lab_ui = [str(u) for u in ui]
        labels = [
            f"{labels[int(v) // len(ui)]}_{lab_ui[int(v) % len(ui)]}" for v in np.asarray(first)
        ]
        if na.any():
            keep = np.asarray(first) >= 0
            labels = [lab for lab, k in zip(labels, keep) if k]
            valid = np.flatnonzero(keep)
            remap = np.full(len(first), -1, dtype=np.int64)
            remap[valid] = np.arange(len(valid))
            new = np.where(new >= 0, remap[np.maximum(new, 0)], -1)
        codes = new
    return codes, labels


def rhs_matrix(rhs: str, df: pd.DataFrame, spec: Any = None) -> tuple[pd.DataFrame, Any]:
    """Materialise the regressors with formulaic (NaN kept in place).

    formulaic evaluates each term as Python code (with numpy as ``np``, ``sqrt`` and
    ``log1p`` besides its own transforms); formulas from files never come here (safe mode).

    Parameters
    ----------
    rhs : str
        Right-hand side, formulaic syntax.
    df : pandas.DataFrame
    spec : formulaic ModelSpec, optional
        A spec from an earlier call, to materialise new data the same way.

    Returns
    -------
    matrix : pandas.DataFrame
    spec : formulaic ModelSpec

    Examples
    --------
    >>> import pandas as pd
    >>> m, _ = rhs_matrix("0 + x", pd.DataFrame({"x": [1.0, 2.0]}))
    >>> list(m.columns)
    ['x']
    """
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            if spec is None:
                mm = formulaic.model_matrix(rhs, df, na_action="ignore", context=_CONTEXT)
            else:
                mm = spec.get_model_matrix(df, na_action="ignore")
    except Exception as exc:  # formulaic raises many types for a bad formula or column
        raise SpecificationError(f"cannot build regressors {rhs!r} from the data: {exc}") from exc
    return pd.DataFrame(mm), mm.model_spec


def materialise_regressors(spec: Any, df: pd.DataFrame) -> pd.DataFrame:
    """Regressors of new rows, built the way the estimation built them (``predict``).

    Parameters
    ----------
    spec : formulaic ModelSpec or SafeSpec
        ``Design.model_spec`` of the estimation.
    df : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        One column per regressor, indexed like ``df``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = build_design(parse_formula("y ~ x", safe=True), pd.DataFrame({"y": [1.0], "x": [2.0]}))
    >>> materialise_regressors(d.model_spec, pd.DataFrame({"x": [5.0]}))["x"].tolist()
    [5.0]
    """
    if isinstance(spec, SafeSpec):
        with np.errstate(all="ignore"):
            X = spec.materialise(df)
        return pd.DataFrame(X, index=df.index, columns=list(spec.names))
    xm, _ = rhs_matrix("", df, spec=spec)
    return xm


def _formula_columns(parsed: ParsedFormula, df: pd.DataFrame) -> list[str]:
    """Columns the outcome and the regressors read (without the fixed effects)."""
    if parsed.tree is not None:
        tree = parsed.tree
        used = columns_of(tree.outcome)
        for t in tree.terms:
            for f in t.factors:
                used |= columns_of(f)
        missing = sorted(c for c in used if c not in df.columns)
        if missing:
            raise SpecificationError(
                f"column {missing[0]!r} of formula {parsed.formula!r} is not in the data "
                f"(columns: {[str(c) for c in df.columns][:20]})"
            )
        return sorted(used)
    try:
        names = formulaic.Formula(f"{parsed.depvar} ~ {parsed.rhs}").required_variables
    except Exception as exc:  # formulaic's parser raises several types
        raise SpecificationError(f"cannot parse formula {parsed.formula!r}: {exc}") from exc
    return sorted(str(c) for c in df.columns if str(c) in {str(v) for v in names})


def build_design(parsed: ParsedFormula, data: Any) -> Design:
    """Build outcome, regressors and fixed-effect labels from a DataFrame.

    Rows with a missing or infinite value in any column the formula reads are set aside
    first (the outcome and regressors are materialised on the other rows only, so a missing
    value can never become a category); rows whose outcome or a regressor is non-finite after
    its transform follow.

    Parameters
    ----------
    parsed : ParsedFormula
    data : pandas.DataFrame or polars.DataFrame

    Returns
    -------
    Design

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 2.0, 3.0], "x": [0.0, 1.0, None], "g": [1, 1, 2]})
    >>> d = build_design(parse_formula("y ~ x | g"), df)
    >>> d.xnames, d.missing.tolist()
    (['x'], [False, False, True])
    """
    df = to_pandas(data)
    if not parsed.fixef and parsed.rhs in ("0", "-1"):
        raise SpecificationError("a model without fixed effects needs at least a constant")
    for cols in parsed.fixef:
        for c in cols:
            if c not in df.columns:
                raise SpecificationError(
                    f"fixed-effect column {c!r} is not in the data "
                    f"(columns: {list(df.columns)[:20]})"
                )
    used = _formula_columns(parsed, df)
    fe_cols = [c for cols in parsed.fixef for c in cols]
    dup = sorted({str(c) for c in df.columns[df.columns.duplicated()]} & {*used, *fe_cols})
    if dup:
        raise SpecificationError(
            f"the data has more than one column named {dup[0]!r}; rename them apart"
        )
    scan = scan_columns(df, [*used, *fe_cols])
    bad = scan.dropped
    keep = np.flatnonzero(~bad)
    if keep.shape[0] == 0:
        raise DataValidationError(
            f"every row has a missing or infinite value: {scan.describe()}; nothing to estimate"
        )
    sub = df[used].iloc[keep] if bad.any() else df[used]
    sub = pd.DataFrame({c: normalise(sub[c]) for c in used}, index=sub.index)
    y_k, X_k, xnames, spec = _materialise(parsed, sub)
    n = len(df)
    if bad.any():
        y = np.full(n, np.nan)
        y[keep] = y_k
        X = np.full((n, X_k.shape[1]), np.nan)
        X[keep] = X_k
    else:
        y, X = _detached(y_k, df, used), _detached(X_k, df, used)
    scan = scan.merge(_non_finite(parsed.depvar, y, xnames, X, bad))
    coded = [fe_codes(df, cols) for cols in parsed.fixef]
    missing = scan.dropped.copy()
    for codes, _ in coded:
        missing |= codes < 0
    return Design(
        y=y,
        X=X,
        xnames=xnames,
        fe_codes=[c for c, _ in coded],
        fe_levels=[lev for _, lev in coded],
        missing=missing,
        scan=scan,
        model_spec=spec,
    )


def _detached(a: FloatArray, df: pd.DataFrame, cols: Sequence[str]) -> FloatArray:
    """Return ``a``, or a copy of it if it may share memory with a column in ``cols``.

    A fit keeps its outcome and regressors (for refits, predictions and corrections); they
    must not change when the caller later edits the DataFrame.
    """
    for c in cols:
        arr = df[c].array
        data = getattr(arr, "_data", None)  # masked extension arrays keep numpy data there
        raw = arr.to_numpy() if isinstance(df[c].dtype, np.dtype) else data
        if isinstance(raw, np.ndarray) and np.may_share_memory(a, raw):
            return a.copy()
    return a


def _materialise(
    parsed: ParsedFormula, df: pd.DataFrame
) -> tuple[FloatArray, FloatArray, list[str], Any]:
    """Outcome and regressors of rows without missing values, in either mode."""
    no_x = parsed.fixef and parsed.rhs == "0"
    tree = parsed.tree
    if tree is not None:
        y = outcome(tree, df)
        if no_x or (not tree.terms and parsed.fixef):
            return y, np.zeros((len(df), 0)), [], None
        intercept = tree.intercept if tree.intercept is not None else not parsed.fixef
        X, spec = regressors(tree, df, intercept=intercept)
        return y, X, list(spec.names), spec
    ymat, _ = rhs_matrix("0 + " + parsed.depvar, df)
    if ymat.shape[1] != 1:
        raise SpecificationError(
            f"outcome {parsed.depvar!r} must be one numeric column; it expands to "
            f"{list(ymat.columns)}"
        )
    y = ymat.iloc[:, 0].to_numpy(dtype=np.float64)
    if no_x:
        return y, np.zeros((len(df), 0)), [], None
    rhs = f"0 + {parsed.rhs}" if parsed.fixef else parsed.rhs
    xm, fspec = rhs_matrix(rhs, df)
    return y, xm.to_numpy(dtype=np.float64), [str(c) for c in xm.columns], fspec


def _non_finite(
    depvar: str,
    y: FloatArray,
    xnames: list[str],
    X: FloatArray,
    skip: BoolArray,
) -> RowScan:
    """Rows (outside ``skip``) whose outcome or a regressor is non-finite after a transform."""
    counts: dict[str, tuple[int, int]] = {}
    bad_y = ~np.isfinite(y) & ~skip
    rows = bad_y.copy()
    if bad_y.any():
        counts[depvar] = (0, int(bad_y.sum()))
    if X.shape[1]:
        bad_x = ~np.isfinite(X) & ~skip[:, None]
        for j in np.flatnonzero(bad_x.any(axis=0)):
            counts[xnames[j]] = (0, int(bad_x[:, j].sum()))
        rows |= bad_x.any(axis=1)
    return RowScan(np.zeros_like(rows), rows, counts)
