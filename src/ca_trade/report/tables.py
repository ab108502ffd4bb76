"""Publication tables: estimation results side by side and GE scenario outcomes.

:func:`etable` puts several estimation results side by side, as fixest's ``etable`` and
Stata's ``esttab`` do: coefficients with standard errors (or confidence intervals) and
significance stars, fixed-effect indicator rows, the number of observations, the (pseudo-)R²
and the standard-error type, in LaTeX (booktabs), Markdown or HTML. :func:`scenario_table`
renders the per-country outcomes of general-equilibrium scenarios with their confidence
intervals. Both carry their provenance as comment lines (and, when written to a file, as a
JSON sidecar); see :mod:`ca_trade.report.provenance`.

A result is anything that implements :class:`ca_trade._typing.EstimationResult` (the results
of :func:`ca_trade.ppml` / :func:`ca_trade.ols`, bias-corrected ones, saved ones read back by
:func:`ca_trade.report.stored.load_results`); a bias correction's description is printed as a
note under the table.

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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ca_trade._typing import EstimationResult, ScenarioOutcomes, SplitEstimates
from ca_trade.exceptions import SpecificationError
from ca_trade.report._render import Cell, Format, Table, render
from ca_trade.report.labels import fixef_label, vcov_label
from ca_trade.report.provenance import (
    build_provenance,
    comment_block,
    write_with_sidecar,
)
from ca_trade.report.results import (
    as_results,
    coefficients,
    countries_frame,
    intervals,
    is_synthetic,
    model_label,
    select_terms,
)

__all__ = ["bounds_at_estimate", "etable", "scenario_frame", "scenario_table"]

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
    "extra_rows",
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
    "interval_note",
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


def _finite(x: float | None) -> float | None:
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def etable(
    results: EstimationResult | Sequence[EstimationResult] | Mapping[Any, EstimationResult],
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
    extra_rows: Mapping[str, Sequence[str]] | None = None,
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
        the results interface). Mapping keys become column names: the results of a split
        estimation (``ct.ppml(..., split="sector")``) show one column per sector, and the
        sectors that could not be estimated in a note.
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
        Display names for regressors, fixed effects (keyed as in the formula, e.g.
        ``{"exporter^year": "Origin × time"}``), standard-error types (keyed by the
        result's ``vcov_type``, e.g. ``{"CRV1: pair": "Clustered by country pair"}``) and
        dependent variables. Fixed effects and standard errors not listed read as in a
        paper, "Exporter × year" and "Clustered by pair"
        (:mod:`ca_trade.report.labels`).
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
        Add one indicator row per fixed effect (``Yes`` / ``No``), under a "Fixed effects"
        heading.
    extra_rows : mapping of str to sequence of str, optional
        Further rows after the fixed effects, one value per result, e.g.
        ``{"Sample": ["International pairs", "All pairs"]}`` (fixest's ``extralines``).
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
    models, names = as_results(results, model_names)
    if vcov is not None:
        models = [m.with_vcov(vcov) for m in models]
    cells = _Cells(digits, star_pairs, se, float(alpha), labels)
    all_vars: list[str] = []
    for m in models:
        all_vars.extend(v for v in map(str, m.params.index) if v not in all_vars)
    sections = [cells.coefficient_rows(models, select_terms(all_vars, keep, drop, order))]
    fe_section = _fixed_effect_rows(models, labels) if fe_rows else []
    fe_section += _extra_rows(extra_rows, len(models))
    if fe_section:
        sections.append(fe_section)
    sections.append(_statistic_rows(models, fit_digits, labels))
    if synthetic is None:
        synthetic = is_synthetic(models)
    note_lines = cells.notes(
        names, models, [*_failed_groups(results), *_as_list(notes)], bool(synthetic)
    )
    header = _header_rows(models, names, labels)
    table = Table(header=header, sections=sections, title=title, notes=note_lines, label=label)
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
    return _finish(render(table, fmt), fmt, record, provenance, file)


def _as_list(notes: str | Sequence[str] | None) -> list[str]:
    if notes is None:
        return []
    return [notes] if isinstance(notes, str) else [str(n) for n in notes]


def _failed_groups(results: Any) -> list[str]:
    """Return a note naming the groups of a split estimation that could not be estimated."""
    if not isinstance(results, SplitEstimates) or not results.failures:
        return []
    parts = [f"{k} ({reason})" for k, reason in results.failures.items()]
    return [f"Not estimated ({results.by}): " + "; ".join(parts) + "."]


def _header_rows(
    models: Sequence[EstimationResult], names: Sequence[str], labels: Mapping[str, str]
) -> list[list[Cell]]:
    """Column names, dependent variables and estimators."""
    header = [[Cell("")] + [Cell(n) for n in names]]
    deps = [str(m.depvar or "") for m in models]
    if any(deps):
        header.append([Cell("Dependent variable")] + [Cell(labels.get(d, d)) for d in deps])
    kinds = [model_label(m) for m in models]
    if any(kinds):
        header.append([Cell("Estimator")] + [Cell(x) for x in kinds])
    return header


class _Cells:
    """How coefficients, their uncertainty and the notes under the table are written."""

    def __init__(
        self,
        digits: int,
        stars: list[tuple[float, str]],
        se: str,
        alpha: float,
        labels: Mapping[str, str],
    ) -> None:
        self.digits, self.stars, self.se, self.alpha, self.labels = digits, stars, se, alpha, labels

    def _below(self, var: str, bses: Mapping[str, float], cis: Mapping[str, Any]) -> str:
        if self.se == "se":
            s = bses.get(var, float("nan"))
            return f"({_fmt(s, self.digits)})" if math.isfinite(s) else ""
        lo, hi = cis.get(var, (float("nan"), float("nan")))
        return f"[{_fmt(lo, self.digits)}, {_fmt(hi, self.digits)}]"

    def coefficient_rows(
        self, models: Sequence[EstimationResult], variables: Sequence[str]
    ) -> list[list[Cell]]:
        """Two rows per regressor: estimate with stars, then its SE or interval."""
        params = [coefficients(m.params) for m in models]
        bses = [coefficients(m.bse) for m in models]
        pvals = [coefficients(m.pvalues) for m in models]
        cis = [intervals(m, self.alpha) if self.se == "ci" else {} for m in models]
        rows: list[list[Cell]] = []
        for var in variables:
            top = [Cell(self.labels.get(var, var))]
            bottom = [Cell("")]
            for j in range(len(models)):
                if var not in params[j]:
                    top.append(Cell(""))
                    bottom.append(Cell(""))
                    continue
                mark = _stars_for(pvals[j].get(var, float("nan")), self.stars)
                top.append(Cell(_fmt(params[j][var], self.digits), mark, numeric=True))
                bottom.append(Cell(self._below(var, bses[j], cis[j]), numeric=True))
            rows.extend([top, bottom])
        return rows

    def notes(
        self,
        names: Sequence[str],
        models: Sequence[EstimationResult],
        notes: str | Sequence[str] | None,
        synthetic: bool,
    ) -> list[str]:
        """Return the notes: uncertainty and star legends, corrections, the user's, SYNTHETIC."""
        if self.se == "se":
            lines = ["Standard errors in parentheses."]
        else:
            lines = [f"{_fmt(100 * (1 - self.alpha), 0)}% confidence intervals in brackets."]
        if self.stars:
            legend = ", ".join(f"{sym} p<{level:g}" for level, sym in self.stars)
            lines.append(f"Significance: {legend}.")
        lines.extend(f"{name}: {m.correction}." for name, m in zip(names, models) if m.correction)
        if isinstance(notes, str):
            lines.append(notes)
        elif notes is not None:
            lines.extend(str(n) for n in notes)
        if synthetic:
            lines.append("SYNTHETIC DATA: not real trade flows.")
        return lines


def _fixed_effect_rows(
    models: Sequence[EstimationResult], labels: Mapping[str, str]
) -> list[list[Cell]]:
    """Return a "Fixed effects" heading, then a ``Yes``/``No`` row per fixed effect of any model."""
    fe_lists = [[str(f) for f in m.fixef_vars or []] for m in models]
    fes: list[str] = []
    for fl in fe_lists:
        fes.extend(f for f in fl if f not in fes)
    if not fes:
        return []
    return [[Cell("Fixed effects", tex=r"\textit{Fixed effects}")]] + [
        [Cell(fixef_label(fe, labels))] + [Cell("Yes" if fe in fl else "No") for fl in fe_lists]
        for fe in fes
    ]


def _extra_rows(rows: Mapping[str, Sequence[str]] | None, n: int) -> list[list[Cell]]:
    """Return the user's further rows, one value per result."""
    if rows is None:
        return []
    if not isinstance(rows, Mapping):
        raise SpecificationError(
            f"extra_rows must map a row label to one value per result; got {rows!r}"
        )
    out = []
    for label, values in rows.items():
        if isinstance(values, str) or len(values) != n:
            raise SpecificationError(
                f"extra_rows[{label!r}] must have one value per result ({n}); got {values!r}"
            )
        out.append([Cell(str(label))] + [Cell(str(v)) for v in values])
    return out


def _statistic_rows(
    models: Sequence[EstimationResult], fit_digits: int, labels: Mapping[str, str]
) -> list[list[Cell]]:
    """Observations, (pseudo-)R² and the standard-error type."""
    stats = [[Cell("Observations")] + [Cell(f"{int(m.nobs):,}") for m in models]]
    ols = [model_label(m) == "OLS" for m in models]
    pr2 = [None if o else _finite(m.pseudo_r2) for m, o in zip(models, ols)]
    r2 = [_finite(m.r2) if o else None for m, o in zip(models, ols)]
    for values, cell in (
        (pr2, Cell("Pseudo R²", tex="Pseudo $R^2$")),
        (r2, Cell("R²", tex="$R^2$")),
    ):
        if any(x is not None for x in values):
            stats.append(
                [cell]
                + [
                    Cell(_fmt(x, fit_digits), numeric=True) if x is not None else Cell("")
                    for x in values
                ]
            )
    vtypes = [str(m.vcov_type or "") for m in models]
    if any(vtypes):
        stats.append(
            [Cell("Standard errors")] + [Cell(vcov_label(v, labels) if v else "") for v in vtypes]
        )
    return stats


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


def scenario_frame(
    result: pd.DataFrame | ScenarioOutcomes, outcomes: Sequence[str]
) -> pd.DataFrame:
    """Extract per-country point estimates and interval bounds of GE outcomes.

    Parameters
    ----------
    result : DataFrame or GE result
        A DataFrame indexed by country, or a GE result (its ``countries``). For each
        outcome ``o`` the point estimate is column ``o_pct`` (percent change) and the
        interval bounds are ``o_pct_lo`` and ``o_pct_hi`` (also accepted:
        ``_lower``/``_upper``, ``_ci_lo``/``_ci_hi``).
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
    frame = countries_frame(result, "scenario_table")
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


def bounds_at_estimate(
    frame: pd.DataFrame, outcomes: Sequence[str], digits: int
) -> tuple[int, int]:
    """Count the cells whose interval bounds read as the estimate at the precision shown.

    Parameters
    ----------
    frame : pandas.DataFrame
        :func:`scenario_frame`'s columns ``(outcome, "est" | "lo" | "hi")``.
    outcomes : sequence of str
        The outcomes shown.
    digits : int
        Decimal places shown.

    Returns
    -------
    one_side : int
        Cells with one bound that reads as the estimate and one that does not: the
        outcome moves on one side of the estimate only (a turning point in the drawn
        coefficients, or a bound on the outcome).
    both : int
        Cells whose whole interval reads as the estimate: the outcome moves less across
        the draws than the precision shown.

    Examples
    --------
    >>> df = pd.DataFrame({"welfare_pct": [1.601, 0.5, 0.001], "welfare_pct_lo": [1.598, 0.2, 0.0],
    ...                    "welfare_pct_hi": [1.79, 0.9, 0.002]}, index=["UZB", "KGZ", "DEU"])
    >>> bounds_at_estimate(scenario_frame(df, ["welfare"]), ["welfare"], 2)
    (1, 1)
    """
    one_side = both = 0
    for o in outcomes:
        est, lo, hi = (frame[(o, s)].to_numpy(dtype=float) for s in ("est", "lo", "hi"))
        for e, a, b in zip(est, lo, hi):
            if not (math.isfinite(a) and math.isfinite(b)):
                continue
            shown = _fmt(e, digits)
            same = (_fmt(a, digits) == shown, _fmt(b, digits) == shown)
            both += all(same)
            one_side += any(same) and not all(same)
    return one_side, both


def scenario_table(
    result: pd.DataFrame | ScenarioOutcomes,
    format: str = "md",
    *,
    outcomes: Sequence[str] = ("welfare", "real_gdp", "exports"),
    digits: int = 2,
    labels: Mapping[str, str] | None = None,
    countries: Sequence[str] | None = None,
    title: str | None = None,
    interval_note: str | None = None,
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
    title : str, optional
        Caption: the scenario in words.
    interval_note : str, optional
        What the brackets are, e.g. "95% intervals in brackets: percentiles of 200
        parametric draws" (default "Confidence intervals in brackets.").
    notes, label
        Further notes (theta, the baseline, the scenario's details) and the LaTeX label.
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
        counterfactual vs baseline). Where a bound equals its estimate at the precision
        shown, a note says how many cells and why that happens
        (:func:`bounds_at_estimate`).

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
    at_estimate = bounds_at_estimate(frame.loc[rows_index], outcomes, digits)
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
        note_lines.append(interval_note or "Confidence intervals in brackets.")
    one_side, both = at_estimate
    if one_side:
        note_lines.append(
            f"In {one_side} cell{'s' if one_side > 1 else ''} one bound equals the estimate "
            "at the precision shown: across the draws the outcome moves to one side of it "
            "only, at a turning point in the drawn coefficients (percentile intervals need "
            "not be centred on the estimate)."
        )
    if both:
        note_lines.append(
            f"In {both} cell{'s' if both > 1 else ''} the whole interval equals the estimate "
            "at the precision shown: the outcome varies less than that across the draws."
        )
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
