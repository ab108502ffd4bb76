"""fixest-style model formulas: ``y ~ x1 + log(x2) | fe1 + fe2^fe3``.

The part left of ``~`` is the outcome (a column or a formulaic expression), the part between
``~`` and ``|`` the regressors (materialised by formulaic, so ``log(x)``, ``C(g)``, ``x1:x2``
work), and the part after ``|`` the fixed effects: column names joined by ``+``, with ``^``
interacting columns (``exporter^year`` is one fixed effect per exporter-year). A formula
without fixed effects gets an intercept; with fixed effects it has none (they absorb it).

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
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ca_trade.exceptions import SpecificationError

__all__ = [
    "Design",
    "ParsedFormula",
    "build_design",
    "fe_codes",
    "parse_formula",
    "rhs_matrix",
    "to_pandas",
]

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

    Examples
    --------
    >>> parse_formula("y ~ x").fixef
    ()
    """

    formula: str
    depvar: str
    rhs: str
    fixef: tuple[tuple[str, ...], ...]

    @property
    def fixef_names(self) -> list[str]:
        """Fixed-effect names as written in the formula (``a^b`` for interactions)."""
        return ["^".join(parts) for parts in self.fixef]

    @property
    def has_intercept(self) -> bool:
        """Whether the regressors include a constant (only without fixed effects)."""
        return not self.fixef


def parse_formula(formula: str) -> ParsedFormula:
    """Split a fixest-style formula into outcome, regressors and fixed effects.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + x2 | fe1 + fe2^fe3"``; the ``| ...`` part is optional.

    Returns
    -------
    ParsedFormula

    Raises
    ------
    SpecificationError
        If the formula lacks ``~``, has an empty side, more than one ``|``, or a fixed
        effect that is not a plain column name.

    Examples
    --------
    >>> parse_formula("y ~ 1 | g").rhs
    '0'
    """
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
    return ParsedFormula(formula=formula, depvar=lhs, rhs=rhs, fixef=tuple(fixef))


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
    X : ndarray, shape (n, k)
    xnames : list of str
    fe_codes : list of ndarray of int64
        Integer codes per fixed effect (``-1`` where missing).
    fe_levels : list of list of str
        Level labels per fixed effect.
    missing : ndarray of bool
        Rows with a missing or non-finite outcome, regressor or fixed effect.
    model_spec : object
        formulaic model spec of the regressors (re-used by ``predict``).
    """

    y: npt.NDArray[np.float64]
    X: npt.NDArray[np.float64]
    xnames: list[str]
    fe_codes: list[npt.NDArray[np.int64]]
    fe_levels: list[list[str]]
    missing: npt.NDArray[np.bool_]
    model_spec: Any


def fe_codes(df: pd.DataFrame, cols: tuple[str, ...]) -> tuple[npt.NDArray[np.int64], list[str]]:
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
    codes0, uniq0 = pd.factorize(df[cols[0]], sort=False)
    codes = codes0.astype(np.int64)
    labels = [str(u) for u in uniq0]
    for c in cols[1:]:
        ci, ui = pd.factorize(df[c], sort=False)
        ci = ci.astype(np.int64)
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
    import formulaic

    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            if spec is None:
                mm = formulaic.model_matrix(rhs, df, na_action="ignore")
            else:
                mm = spec.get_model_matrix(df, na_action="ignore")
    except Exception as exc:  # formulaic raises many types for a bad formula or column
        raise SpecificationError(f"cannot build regressors {rhs!r} from the data: {exc}") from exc
    return pd.DataFrame(mm), mm.model_spec


def build_design(parsed: ParsedFormula, data: Any) -> Design:
    """Build outcome, regressors and fixed-effect labels from a DataFrame.

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
    ymat, _ = rhs_matrix("0 + " + parsed.depvar, df)
    if ymat.shape[1] != 1:
        raise SpecificationError(
            f"outcome {parsed.depvar!r} must be one numeric column; it expands to "
            f"{list(ymat.columns)}"
        )
    y = ymat.iloc[:, 0].to_numpy(dtype=np.float64)
    rhs = parsed.rhs if not parsed.fixef else f"0 + {parsed.rhs}" if parsed.rhs != "0" else "0"
    if not parsed.fixef and parsed.rhs in ("0", "-1"):
        raise SpecificationError("a model without fixed effects needs at least a constant")
    if rhs == "0":
        X = np.zeros((len(df), 0))
        xnames: list[str] = []
        spec = None
    else:
        xm, spec = rhs_matrix(rhs, df)
        X = xm.to_numpy(dtype=np.float64)
        xnames = [str(c) for c in xm.columns]
    coded = [fe_codes(df, cols) for cols in parsed.fixef]
    missing = ~np.isfinite(y)
    if X.shape[1]:
        missing |= ~np.all(np.isfinite(X), axis=1)
    for codes, _ in coded:
        missing |= codes < 0
    return Design(
        y=y,
        X=X,
        xnames=xnames,
        fe_codes=[c for c, _ in coded],
        fe_levels=[lev for _, lev in coded],
        missing=missing,
        model_spec=spec,
    )
