"""The results a table or figure shows: which ones, which regressors, and their numbers.

Estimation results are read through one interface, :class:`ca_trade._typing.EstimationResult`
(implemented by :func:`ca_trade.ppml` / :func:`ca_trade.ols` results and by saved results
read back with :func:`ca_trade.report.stored.load_results`); GE results through
:class:`ca_trade._typing.ScenarioOutcomes` (``countries`` and ``flows`` frames). Anything else
is refused here, once, with a message that names what it lacks.

Examples
--------
>>> select_terms(["ln_dist", "rta", "contig"], keep=None, drop=["contig"], order=["rta"])
['rta', 'ln_dist']
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ca_trade._typing import RESULT_MEMBERS, EstimationResult, ScenarioOutcomes
from ca_trade.exceptions import SpecificationError

__all__ = [
    "as_results",
    "coefficients",
    "countries_frame",
    "flows_frame",
    "intervals",
    "is_synthetic",
    "model_label",
    "select_terms",
]


def _lacks(obj: object) -> list[str]:
    return [a for a in RESULT_MEMBERS if not hasattr(obj, a)]


def as_results(
    results: Any, model_names: Sequence[str] | None, who: str = "etable"
) -> tuple[list[EstimationResult], list[str]]:
    """Return one result, a sequence or a mapping of results as a list, with column names.

    Parameters
    ----------
    results : result, sequence of results, or mapping of name to result
    model_names : sequence of str, optional
        Names replacing ``(1)``, ``(2)``, ... or the mapping's keys.
    who : str, default "etable"
        The function named in errors.

    Returns
    -------
    results : list of EstimationResult
    names : list of str

    Raises
    ------
    SpecificationError
        No result, a count of names that does not match, or an object that is not a result
        (the message names the members it lacks).
    """
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
        raise SpecificationError(f"{who}() needs at least one result")
    if model_names is not None:
        if len(model_names) != len(models):
            raise SpecificationError(
                f"model_names has {len(model_names)} names for {len(models)} results"
            )
        names = [str(n) for n in model_names]
    checked: list[EstimationResult] = []
    for i, m in enumerate(models):
        if not isinstance(m, EstimationResult):
            raise SpecificationError(
                f"result {i + 1} ({type(m).__name__}) lacks {', '.join(_lacks(m))}; {who}() "
                "takes results of ct.ppml / ct.ols (or saved ones, ca_trade.report.stored)"
            )
        checked.append(m)
    return checked, names


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


def select_terms(
    names: Sequence[str],
    keep: Sequence[str] | None,
    drop: Sequence[str] | None,
    order: Sequence[str] | None,
) -> list[str]:
    """Return the regressors to show: ``keep``, minus ``drop``, with ``order`` first.

    Each entry matches a regressor by exact name, else as a regular expression.

    Parameters
    ----------
    names : sequence of str
    keep, drop, order : sequence of str, optional

    Returns
    -------
    list of str
    """
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


def coefficients(series: pd.Series) -> dict[str, float]:
    """Return a Series of numbers by regressor as ``{name: float}``.

    Parameters
    ----------
    series : pandas.Series

    Returns
    -------
    dict of str to float
    """
    values = pd.Series(series, dtype=float)
    return {str(k): float(v) for k, v in zip(values.index, values.to_numpy(dtype=float))}


def intervals(result: EstimationResult, alpha: float) -> dict[str, tuple[float, float]]:
    """Return ``result.conf_int(alpha)`` as ``{regressor: (lower, upper)}``.

    Parameters
    ----------
    result : EstimationResult
    alpha : float

    Returns
    -------
    dict of str to (float, float)
    """
    frame = pd.DataFrame(result.conf_int(alpha=alpha))
    bounds = frame.iloc[:, :2].to_numpy(dtype=float)
    return {str(k): (float(lo), float(hi)) for k, (lo, hi) in zip(frame.index, bounds)}


def model_label(result: EstimationResult) -> str:
    """Return ``"PPML"``, ``"OLS"``, or the model's name in capitals.

    Parameters
    ----------
    result : EstimationResult

    Returns
    -------
    str
    """
    kind = str(result.model or "").lower()
    return {"ppml": "PPML", "ols": "OLS"}.get(kind, kind.upper())


def is_synthetic(results: Sequence[EstimationResult]) -> bool:
    """Return whether any result's provenance says its data are SYNTHETIC.

    Parameters
    ----------
    results : sequence of EstimationResult

    Returns
    -------
    bool
    """
    return any(bool(r.provenance.get("synthetic")) for r in results)


def countries_frame(result: pd.DataFrame | ScenarioOutcomes, who: str) -> pd.DataFrame:
    """Return per-country outcomes: the frame itself, or a GE result's ``countries``.

    Parameters
    ----------
    result : DataFrame or GE result
    who : str
        The function named in the error.

    Returns
    -------
    pandas.DataFrame
    """
    if isinstance(result, pd.DataFrame):
        return result
    if isinstance(result, ScenarioOutcomes):
        return result.countries
    raise SpecificationError(
        f"{who}() takes a DataFrame indexed by country or a GE result with a "
        f"'countries' DataFrame; got {type(result).__name__}"
    )


def flows_frame(result: pd.DataFrame | ScenarioOutcomes, who: str) -> pd.DataFrame:
    """Return per-pair flows: the frame itself, or a GE result's ``flows``.

    Parameters
    ----------
    result : DataFrame or GE result
    who : str
        The function named in the error.

    Returns
    -------
    pandas.DataFrame
    """
    if isinstance(result, pd.DataFrame):
        return result
    if isinstance(result, ScenarioOutcomes):
        return result.flows
    raise SpecificationError(
        f"{who}() takes a flows DataFrame (exporter, importer, change_pct or "
        f"value and baseline_value) or a GE result with .flows; got {type(result).__name__}"
    )
