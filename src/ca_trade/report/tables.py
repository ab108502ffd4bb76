"""Publication tables: estimation results side by side and GE scenario outcomes.

:func:`etable` puts several estimation results side by side, as fixest's ``etable`` and
Stata's ``esttab`` do: coefficients with standard errors (or confidence intervals) and
significance stars, fixed-effect indicator rows, the number of observations, the (pseudo-)R²
and the standard-error type, in LaTeX (booktabs), Markdown or HTML. :func:`scenario_table`
renders the per-country outcomes of general-equilibrium scenarios with their confidence
intervals. Both carry their provenance as comment lines (and, when written to a file, as a
JSON sidecar); see :mod:`ca_trade.report.provenance`.

A result is anything that implements the results interface of ``docs/design.md``:
``params``, ``bse``, ``pvalues`` (pandas Series by regressor), ``conf_int(alpha)``,
``nobs``, ``model`` (``"ppml"``/``"ols"``), ``depvar``, ``fixef_vars``, ``vcov_type``,
``pseudo_r2`` (PPML) or ``r2`` (OLS), and optionally ``provenance``, ``with_vcov`` and
``correction`` (a bias-corrected result's description, printed as a note under the table).

Examples
--------
>>> import numpy as np, pandas as pd
>>> import ca_trade as ct
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"x": rng.normal(size=300), "g": np.repeat(np.arange(30), 10)})
>>> df["y"] = rng.poisson(np.exp(1 + 0.5 * df["x"]))
>>> res = ct.ppml("y ~ x | g", data=df)
>>> print(ct.etable([res], format="md", provenance=False).splitlines()[0])
|  | (1) |
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ca_trade.exceptions import SpecificationError
from ca_trade.report._render import Cell, Format, Table, render
from ca_trade.report.provenance import (
    build_provenance,
    comment_block,
    write_with_sidecar,
)

__all__ = ["etable", "scenario_table"]

_FORMATS = ("tex", "md", "html")
_ETABLE_OPTIONS = (
    "format",
    "stars",
    "digits",
    "fit_digits",
    "labels",
    "se",
    "alpha",
    "keep",
    "drop",
    "order",
    "title",
    "notes",
    "label",
    "model_names",
    "vcov",
    "fe_rows",
    "provenance",
    "synthetic",
    "git",
    "timestamp",
    "extra_provenance",
    "file",
)
_SCENARIO_OPTIONS = (
    "format",
    "outcomes",
    "digits",
    "labels",
    "countries",
    "title",
    "notes",
    "label",
    "provenance",
    "synthetic",
    "git",
    "timestamp",
    "extra_provenance",
    "file",
)

OUTCOME_LABELS = {
    "welfare": "Welfare",
    "real_gdp": "Real GDP",
    "exports": "Exports",
    "imports": "Imports",
    "domestic": "Domestic trade",
    "price": "Factory-gate price",
    "omr": "Outward MR",
    "imr": "Inward MR",
}


def _reject_unknown(func: str, unknown: Mapping[str, Any], valid: Sequence[str]) -> None:
    if not unknown:
        return
    parts = []
    for name in sorted(unknown):
        close = difflib.get_close_matches(name, valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        parts.append(f"{name!r}{hint}")
    raise SpecificationError(
        f"{func}() got unknown option(s) {', '.join(parts)}; valid options are: " + ", ".join(valid)
    )


def _check_format(format: str) -> Format:
    if format not in _FORMATS:
        raise SpecificationError(f"format must be one of 'tex', 'md', 'html'; got {format!r}")
    return format  # type: ignore[return-value]


def _normalise_stars(stars: Any) -> list[tuple[float, str]]:
    """Return (level, symbol) pairs from the loosest to the strictest level."""
    if stars is None or stars is False:
        return []
    if isinstance(stars, Mapping):
        pairs = [(float(level), str(sym)) for sym, level in stars.items()]
    elif isinstance(stars, Iterable) and not isinstance(stars, str | bytes):
        levels = sorted((float(x) for x in stars), reverse=True)
        pairs = [(level, "*" * (i + 1)) for i, level in enumerate(levels)]
    else:
        raise SpecificationError(
            "stars must be a sequence of p-value levels such as (0.1, 0.05, 0.01), a "
            f"mapping {{symbol: level}}, or None; got {stars!r}"
        )
    for level, sym in pairs:
        if not (0.0 < level < 1.0) or not math.isfinite(level):
            raise SpecificationError(f"star levels must lie in (0, 1); got {level!r}")
        if not sym:
            raise SpecificationError("star symbols must be non-empty strings")
    pairs.sort(key=lambda p: -p[0])
    if len({lv for lv, _ in pairs}) != len(pairs):
        raise SpecificationError(f"star levels must be distinct; got {stars!r}")
    return pairs


def _stars_for(p: float, pairs: list[tuple[float, str]]) -> str:
    sym = ""
    if p is None or not math.isfinite(p):
        return sym
    for level, s in pairs:
        if p < level:
            sym = s
    return sym


def _fmt(x: float, digits: int) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    text = f"{x:.{digits}f}"
    if text.startswith("-") and float(text) == 0.0:
        text = text[1:]
    return text


def _check_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise SpecificationError(f"{name} must be an integer; got {value!r}")
    if not low <= int(value) <= high:
        raise SpecificationError(f"{name} must be between {low} and {high}; got {value!r}")
    return int(value)


def _as_models(results: Any, model_names: Sequence[str] | None) -> tuple[list[Any], list[str]]:
    if isinstance(results, Mapping):
        models = list(results.values())
        names = [str(k) for k in results]
    elif isinstance(results, Sequence) and not isinstance(results, str):
        models = list(results)
        names = [f"({i + 1})" for i in range(len(models))]
    else:
        models = [results]
        names = ["(1)"]
    if not models:
        raise SpecificationError("etable() needs at least one result")
    if model_names is not None:
        if len(model_names) != len(models):
            raise SpecificationError(
                f"model_names has {len(model_names)} names for {len(models)} results"
            )
        names = [str(n) for n in model_names]
    for i, m in enumerate(models):
        missing = [a for a in ("params", "bse", "nobs") if not hasattr(m, a)]
        if missing:
            raise SpecificationError(
                f"result {i + 1} ({type(m).__name__}) lacks {', '.join(missing)}; etable() "
                "takes results of ct.ppml / ct.ols"
            )
    return models, names


def _match(name: str, patterns: Sequence[str]) -> bool:
    for pat in patterns:
        if name == pat:
            return True
        try:
            if re.search(pat, name):
                return True
        except re.error as exc:
            raise SpecificationError(f"invalid regular expression {pat!r}: {exc}") from exc
    return False


def _select(
    names: list[str],
    keep: Sequence[str] | None,
    drop: Sequence[str] | None,
    order: Sequence[str] | None,
) -> list[str]:
    for opt, val in (("keep", keep), ("drop", drop), ("order", order)):
        if isinstance(val, str):
            raise SpecificationError(f"{opt} must be a list of names or patterns, not a string")
    out = list(names)
    if keep is not None:
        out = [n for n in out if _match(n, keep)]
    if drop is not None:
        out = [n for n in out if not _match(n, drop)]
    if order is not None:
        ranked: list[str] = []
        for pat in order:
            exact = [n for n in out if n == pat and n not in ranked]
            hits = exact or [n for n in out if n not in ranked and _match(n, [pat])]
            ranked.extend(hits)
        out = ranked + [n for n in out if n not in ranked]
    return out


def _floats(obj: Any, name: str) -> dict[str, float]:
    """Return ``obj.<name>`` (a Series, mapping or method returning one) as str → float."""
    val = getattr(obj, name)
    if callable(val):
        val = val()
    series = pd.Series(val, dtype=float)
    values = series.to_numpy(dtype=float)
    return {str(k): float(v) for k, v in zip(series.index, values)}


def _conf_int(model: Any, alpha: float) -> dict[str, tuple[float, float]]:
    """Return ``model.conf_int(alpha)`` as regressor → (lower, upper)."""
    ci = model.conf_int(alpha=alpha) if callable(getattr(model, "conf_int", None)) else None
    if ci is None:
        raise SpecificationError(
            f"{type(model).__name__} has no conf_int(); use se='se' for this result"
        )
    frame = pd.DataFrame(ci)
    bounds = frame.iloc[:, :2].to_numpy(dtype=float)
    return {str(k): (float(lo), float(hi)) for k, (lo, hi) in zip(frame.index, bounds)}


def _model_label(model: Any) -> str:
    kind = str(getattr(model, "model", "") or "").lower()
    return {"ppml": "PPML", "ols": "OLS"}.get(kind, kind.upper())


def _fit_stat(model: Any, name: str) -> float | None:
    val = getattr(model, name, None)
    if val is None or callable(val):
        return None
    try:
        x = float(val)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _is_synthetic(models: Iterable[Any]) -> bool:
    for m in models:
        prov = getattr(m, "provenance", None)
        if isinstance(prov, Mapping) and prov.get("synthetic"):
            return True
    return False


def etable(
    results: Any,
    format: str = "md",
    *,
    stars: Sequence[float] | Mapping[str, float] | None = (0.1, 0.05, 0.01),
    digits: int = 3,
    fit_digits: int = 3,
    labels: Mapping[str, str] | None = None,
    se: Literal["se", "ci"] = "se",
    alpha: float = 0.05,
    keep: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    order: Sequence[str] | None = None,
    title: str | None = None,
    notes: str | Sequence[str] | None = None,
    label: str | None = None,
    model_names: Sequence[str] | None = None,
    vcov: Any = None,
    fe_rows: bool = True,
    provenance: bool = True,
    synthetic: bool | None = None,
    git: bool = True,
    timestamp: bool = False,
    extra_provenance: Mapping[str, Any] | None = None,
    file: str | os.PathLike[str] | None = None,
    **unknown: Any,
) -> str:
    r"""Render estimation results side by side as a publication table.

    Parameters
    ----------
    results : result, sequence of results, or mapping of name to result
        Results of :func:`ca_trade.ppml` / :func:`ca_trade.ols` (anything implementing
        the results interface). Mapping keys become column names.
    format : {"md", "tex", "html"}, default "md"
        Output format. LaTeX uses booktabs rules (the needed packages are listed in a
        comment at the top); every special character is escaped.
    stars : sequence of float, mapping of str to float, or None, default (0.1, 0.05, 0.01)
        Significance levels: a sequence gives ``*``, ``**``, ``***`` from the loosest to
        the strictest level; a mapping ``{"+": 0.1, "*": 0.05}`` sets the symbols; None
        turns stars off. A coefficient gets the symbol of the strictest level with
        ``p < level``.
    digits : int, default 3
        Decimal places of coefficients and standard errors / interval bounds.
    fit_digits : int, default 3
        Decimal places of (pseudo-)R².
    labels : mapping, optional
        Display names for regressors, fixed effects and dependent variables.
    se : {"se", "ci"}, default "se"
        Under each coefficient: its standard error in parentheses, or its ``1 - alpha``
        confidence interval in brackets.
    alpha : float, default 0.05
        Level of the confidence intervals when ``se="ci"``.
    keep, drop, order : sequence of str, optional
        Regressors to keep, drop, and put first. Each entry matches a regressor by exact
        name, else as a regular expression (:func:`re.search`).
    title : str, optional
        Caption.
    notes : str or sequence of str, optional
        Notes added under the default notes (standard-error and star legend).
    label : str, optional
        LaTeX label of the table.
    model_names : sequence of str, optional
        Column names; by default ``(1)``, ``(2)``, ... or the mapping's keys.
    vcov : str or dict, optional
        Recompute every result's covariance with ``result.with_vcov(vcov)`` first
        (e.g. ``{"CRV1": "pair"}``).
    fe_rows : bool, default True
        Add one indicator row per fixed effect (``Yes`` / ``No``).
    provenance : bool, default True
        Prefix the table with provenance comment lines.
    synthetic : bool, optional
        Whether the data are SYNTHETIC; by default read from the results' provenance.
        When true a visible note says so.
    git : bool, default True
        Record the git commit (when known) in the provenance.
    timestamp : bool, default False
        Record the creation time in the provenance (breaks byte-identical output).
    extra_provenance : mapping, optional
        Further provenance entries (e.g. input file fingerprints, seeds).
    file : path-like, optional
        Also write the table to this file, with a JSON provenance sidecar
        (``file + ".json"``), atomically.
    **unknown
        Rejected with :class:`~ca_trade.exceptions.SpecificationError`.

    Returns
    -------
    str
        The rendered table (with its provenance comments when ``provenance=True``).

    Raises
    ------
    SpecificationError
        On an unknown option, an invalid value, or a result that lacks the interface.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import ca_trade as ct
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"ln_dist": rng.normal(7, 1, 400), "exp": np.repeat(range(20), 20)})
    >>> df["trade"] = rng.poisson(np.exp(8 - 0.8 * df["ln_dist"]))
    >>> res = ct.ppml("trade ~ ln_dist | exp", data=df)
    >>> tex = ct.etable([res], format="tex", labels={"ln_dist": "ln distance"}, git=False)
    >>> "ln distance" in tex and "\\toprule" in tex
    True
    """
    _reject_unknown("etable", unknown, _ETABLE_OPTIONS)
    fmt = _check_format(format)
    if se not in ("se", "ci"):
        raise SpecificationError(f"se must be 'se' or 'ci'; got {se!r}")
    if not (isinstance(alpha, float | int) and 0.0 < float(alpha) < 1.0):
        raise SpecificationError(f"alpha must lie in (0, 1); got {alpha!r}")
    digits = _check_int("digits", digits, 0, 12)
    fit_digits = _check_int("fit_digits", fit_digits, 0, 12)
    star_pairs = _normalise_stars(stars)
    labels = dict(labels or {})
    models, names = _as_models(results, model_names)
    if vcov is not None:
        rebuilt = []
        for m in models:
            if not callable(getattr(m, "with_vcov", None)):
                raise SpecificationError(
                    f"{type(m).__name__} has no with_vcov(); cannot recompute vcov={vcov!r}"
                )
            rebuilt.append(m.with_vcov(vcov))
        models = rebuilt

    params = [_floats(m, "params") for m in models]
    bses = [_floats(m, "bse") for m in models]
    pvals = [_floats(m, "pvalues") if hasattr(m, "pvalues") else {} for m in models]
    cis = [_conf_int(m, float(alpha)) for m in models] if se == "ci" else []

    all_vars: list[str] = []
    for p in params:
        all_vars.extend(v for v in p if v not in all_vars)
    variables = _select(all_vars, keep, drop, order)

    k = len(models)
    header = [[Cell("")] + [Cell(n) for n in names]]
    deps = [str(getattr(m, "depvar", "") or "") for m in models]
    if any(deps):
        header.append([Cell("Dependent variable")] + [Cell(labels.get(d, d)) for d in deps])
    kinds = [_model_label(m) for m in models]
    if any(kinds):
        header.append([Cell("Estimator")] + [Cell(x) for x in kinds])

    coef_rows: list[list[Cell]] = []
    for var in variables:
        top = [Cell(labels.get(var, var))]
        bottom = [Cell("")]
        for j in range(k):
            if var not in params[j]:
                top.append(Cell(""))
                bottom.append(Cell(""))
                continue
            b = params[j][var]
            pval = pvals[j].get(var, float("nan"))
            top.append(Cell(_fmt(b, digits), _stars_for(pval, star_pairs), numeric=True))
            if se == "se":
                s = bses[j].get(var, float("nan"))
                txt = f"({_fmt(s, digits)})" if math.isfinite(s) else ""
            else:
                lo, hi = cis[j].get(var, (float("nan"), float("nan")))
                txt = f"[{_fmt(lo, digits)}, {_fmt(hi, digits)}]"
            bottom.append(Cell(txt, numeric=True))
        coef_rows.extend([top, bottom])
    sections = [coef_rows]

    if fe_rows:
        fe_lists = [list(getattr(m, "fixef_vars", None) or []) for m in models]
        fes: list[str] = []
        for fl in fe_lists:
            fes.extend(str(f) for f in fl if str(f) not in fes)
        if fes:
            sections.append(
                [
                    [Cell(f"FE: {labels.get(fe, fe)}")]
                    + [Cell("Yes" if fe in [str(f) for f in fl] else "No") for fl in fe_lists]
                    for fe in fes
                ]
            )

    stats: list[list[Cell]] = []
    nobs = [getattr(m, "nobs", None) for m in models]
    stats.append(
        [Cell("Observations")] + [Cell(f"{int(n):,}" if n is not None else "") for n in nobs]
    )
    pr2 = [_fit_stat(m, "pseudo_r2") if _model_label(m) != "OLS" else None for m in models]
    if any(x is not None for x in pr2):
        stats.append(
            [Cell("Pseudo R²", tex="Pseudo $R^2$")]
            + [Cell(_fmt(x, fit_digits), numeric=True) if x is not None else Cell("") for x in pr2]
        )
    r2 = [_fit_stat(m, "r2") if _model_label(m) == "OLS" else None for m in models]
    if any(x is not None for x in r2):
        stats.append(
            [Cell("R²", tex="$R^2$")]
            + [Cell(_fmt(x, fit_digits), numeric=True) if x is not None else Cell("") for x in r2]
        )
    vtypes = [str(getattr(m, "vcov_type", "") or "") for m in models]
    if any(vtypes):
        stats.append([Cell("Std. errors")] + [Cell(v) for v in vtypes])
    sections.append(stats)

    if synthetic is None:
        synthetic = _is_synthetic(models)
    note_lines: list[str] = []
    if se == "se":
        note_lines.append("Standard errors in parentheses.")
    else:
        note_lines.append(f"{_fmt(100 * (1 - float(alpha)), 0)}% confidence intervals in brackets.")
    if star_pairs:
        legend = ", ".join(f"{sym} p<{level:g}" for level, sym in star_pairs)
        note_lines.append(f"Significance: {legend}.")
    for name, m in zip(names, models):
        correction = str(getattr(m, "correction", "") or "")
        if correction:
            note_lines.append(f"{name}: {correction}.")
    if isinstance(notes, str):
        note_lines.append(notes)
    elif notes is not None:
        note_lines.extend(str(n) for n in notes)
    if synthetic:
        note_lines.append("SYNTHETIC DATA: not real trade flows.")

    table = Table(header=header, sections=sections, title=title, notes=note_lines, label=label)
    body = render(table, fmt)
    record = build_provenance(
        results=models,
        synthetic=bool(synthetic),
        extra={
            "artefact": "etable",
            "table_options": {
                "se": se,
                "alpha": float(alpha),
                "digits": digits,
                "stars": [[lv, sym] for lv, sym in star_pairs],
            },
            **dict(extra_provenance or {}),
        },
        git=git,
        timestamp=timestamp,
    )
    return _finish(body, fmt, record, provenance, file)


def _finish(
    body: str,
    fmt: Format,
    record: Mapping[str, Any],
    on: bool,
    file: str | os.PathLike[str] | None,
) -> str:
    """Prefix the provenance comments and, when `file` is given, write it with its sidecar."""
    parts = []
    if fmt == "tex":
        parts.append("% Requires: \\usepackage{booktabs}\n")
    if on:
        parts.append(comment_block(record, fmt))
    elif record.get("synthetic"):
        parts.append(comment_block({"synthetic": True}, fmt))
    parts.append(body)
    text = "".join(parts)
    if file is not None:
        write_with_sidecar(file, text, record)
    return text


# --------------------------------------------------------------------------------------
# Scenario tables
# --------------------------------------------------------------------------------------

_LOWER = ("_lo", "_lower", "_ci_lo", "_ci_lower", "_low")
_UPPER = ("_hi", "_upper", "_ci_hi", "_ci_upper", "_high")


def scenario_frame(result: Any, outcomes: Sequence[str]) -> pd.DataFrame:
    """Extract per-country point estimates and interval bounds of GE outcomes.

    Parameters
    ----------
    result : DataFrame or GE result
        A DataFrame indexed by country, or an object whose ``countries`` (or ``summary``)
        attribute is one. For each outcome ``o`` the point estimate is column ``o_pct``
        (percent change) and the interval bounds are ``o_pct_lo`` and ``o_pct_hi`` (also
        accepted: ``_lower``/``_upper``, ``_ci_lo``/``_ci_hi``).
    outcomes : sequence of str
        Outcome names, e.g. ``("welfare", "real_gdp")``.

    Returns
    -------
    pandas.DataFrame
        Indexed by country, with columns ``(outcome, "est" | "lo" | "hi")``; bounds are NaN
        where the result has none.

    Raises
    ------
    SpecificationError
        When an outcome is not in the result.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"welfare_pct": [1.0]}, index=["KAZ"])
    >>> scenario_frame(df, ["welfare"]).loc["KAZ", ("welfare", "est")]
    np.float64(1.0)
    """
    frame: Any = result
    for attr in ("summary", "countries"):
        if not isinstance(frame, pd.DataFrame) and isinstance(
            getattr(result, attr, None), pd.DataFrame
        ):
            frame = getattr(result, attr)
    if not isinstance(frame, pd.DataFrame):
        raise SpecificationError(
            f"scenario_table() takes a DataFrame indexed by country or a GE result with a "
            f"'countries' DataFrame; got {type(result).__name__}"
        )
    cols: dict[tuple[str, str], pd.Series] = {}
    for o in outcomes:
        point = f"{o}_pct"
        if point not in frame.columns:
            raise SpecificationError(
                f"outcome {o!r} not in the scenario result (no column {point!r}); available: "
                + ", ".join(sorted(str(c) for c in frame.columns if str(c).endswith("_pct")))
            )
        cols[(o, "est")] = frame[point].astype(float)
        nan = pd.Series(np.nan, index=frame.index)
        lo = next((frame[point + s] for s in _LOWER if point + s in frame.columns), nan)
        hi = next((frame[point + s] for s in _UPPER if point + s in frame.columns), nan)
        cols[(o, "lo")] = lo.astype(float)
        cols[(o, "hi")] = hi.astype(float)
    out = pd.DataFrame(cols)
    out.index = out.index.astype(str)
    return out


def scenario_table(
    result: Any,
    format: str = "md",
    *,
    outcomes: Sequence[str] = ("welfare", "real_gdp", "exports"),
    digits: int = 2,
    labels: Mapping[str, str] | None = None,
    countries: Sequence[str] | None = None,
    title: str | None = None,
    notes: str | Sequence[str] | None = None,
    label: str | None = None,
    provenance: bool = True,
    synthetic: bool = False,
    git: bool = True,
    timestamp: bool = False,
    extra_provenance: Mapping[str, Any] | None = None,
    file: str | os.PathLike[str] | None = None,
    **unknown: Any,
) -> str:
    r"""Render GE scenario outcomes by country, with confidence intervals.

    Parameters
    ----------
    result : DataFrame or GE result
        Per-country percent changes and, optionally, interval bounds; see
        :func:`scenario_frame` for the accepted columns.
    format : {"md", "tex", "html"}, default "md"
        Output format.
    outcomes : sequence of str, default ("welfare", "real_gdp", "exports")
        Outcomes (columns of the table).
    digits : int, default 2
        Decimal places of the percent changes.
    labels : mapping, optional
        Display names of outcomes and countries.
    countries : sequence of str, optional
        Countries (rows) in this order; by default all, sorted.
    title, notes, label
        Caption, extra notes and LaTeX label.
    provenance : bool, default True
        Prefix the table with provenance comment lines.
    synthetic : bool, default False
        Whether the data are SYNTHETIC (a visible note and the provenance say so).
    git, timestamp : bool
        Record the git commit (when known) / the creation time in the provenance.
    extra_provenance : mapping, optional
        Further provenance entries (scenario description, draws, seeds, GE tolerances).
    file : path-like, optional
        Also write the table and its JSON sidecar there, atomically.
    **unknown
        Rejected with :class:`~ca_trade.exceptions.SpecificationError`.

    Returns
    -------
    str
        The table; each cell reads ``estimate [lower, upper]`` (percent change,
        counterfactual vs baseline).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"welfare_pct": [0.5], "welfare_pct_lo": [0.2],
    ...                    "welfare_pct_hi": [0.9]}, index=["KGZ"])
    >>> print(scenario_table(df, outcomes=["welfare"], provenance=False).splitlines()[2])
    | KGZ | 0.50 \[0.20, 0.90\] |
    """
    _reject_unknown("scenario_table", unknown, _SCENARIO_OPTIONS)
    fmt = _check_format(format)
    digits = _check_int("digits", digits, 0, 12)
    if isinstance(outcomes, str):
        raise SpecificationError("outcomes must be a list of outcome names, not a string")
    labels = dict(labels or {})
    frame = scenario_frame(result, list(outcomes))
    rows_index = sorted(frame.index) if countries is None else [str(c) for c in countries]
    missing = [c for c in rows_index if c not in frame.index]
    if missing:
        raise SpecificationError(f"countries not in the scenario result: {', '.join(missing)}")
    header = [
        [Cell("Country")]
        + [Cell(labels.get(o, f"{OUTCOME_LABELS.get(o, o)} (%)")) for o in outcomes]
    ]
    body: list[list[Cell]] = []
    any_ci = False
    for c in rows_index:
        row = [Cell(labels.get(c, c))]
        for o in outcomes:
            est, lo, hi = (float(frame.loc[c, (o, s)]) for s in ("est", "lo", "hi"))
            text = _fmt(est, digits)
            if math.isfinite(lo) and math.isfinite(hi):
                any_ci = True
                text += f" [{_fmt(lo, digits)}, {_fmt(hi, digits)}]"
            row.append(Cell(text, numeric=True))
        body.append(row)
    note_lines = ["Percent change, counterfactual vs baseline."]
    if any_ci:
        note_lines.append("Confidence intervals in brackets.")
    if isinstance(notes, str):
        note_lines.append(notes)
    elif notes is not None:
        note_lines.extend(str(n) for n in notes)
    if synthetic:
        note_lines.append("SYNTHETIC DATA: not real trade flows.")
    table = Table(header=header, sections=[body], title=title, notes=note_lines, label=label)
    rendered = render(table, fmt)
    record = build_provenance(
        synthetic=synthetic,
        extra={
            "artefact": "scenario_table",
            "outcomes": list(outcomes),
            **dict(extra_provenance or {}),
        },
        git=git,
        timestamp=timestamp,
    )
    return _finish(rendered, fmt, record, provenance, file)
