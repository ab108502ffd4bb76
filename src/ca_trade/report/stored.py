"""Estimation results saved to JSON and read back, for tables and scenarios built later.

``ca-trade estimate --json FILE`` saves a result with :func:`save_results`; ``ca-trade report``
and ``ca-trade simulate`` read it back with :func:`load_results` as a :class:`StoredResults`,
which implements the results interface (:class:`ca_trade._typing.EstimationResult`).
Inference is normal-based, as in :class:`ca_trade.estimate.GravityResults`. Fixed effects,
the estimation sample and the dropped rows' labels are not stored: what needs them
(prediction, another covariance, re-estimation) must rerun the estimation.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> r = StoredResults(params=pd.Series({"x": 1.0}), vcov=pd.DataFrame([[0.25]], ["x"], ["x"]),
...                   nobs=10, model="ppml", depvar="y")
>>> p = save_results(r, pathlib.Path(tempfile.mkdtemp()) / "r.json")
>>> float(load_results(p).bse["x"])
0.5
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ca_trade._io import write_json
from ca_trade._typing import EstimationResult, SplitEstimates
from ca_trade.estimate.results import NormalInference
from ca_trade.exceptions import DataValidationError, SpecificationError
from ca_trade.report.provenance import dropped_counts

__all__ = ["StoredDropped", "StoredResults", "load_results", "save_results", "save_split"]

FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class StoredDropped(Mapping[str, int]):
    """Rows a saved result's estimation set aside, counted by reason (labels are not saved).

    A mapping from reason to count, equal to a dict with the same items.

    Parameters
    ----------
    counts : dict of str to int

    Examples
    --------
    >>> StoredDropped({"missing": 2})["missing"], StoredDropped({"missing": 2}) == {"missing": 2}
    (2, True)
    """

    counts: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, key: str) -> int:
        return self.counts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.counts)

    def __len__(self) -> int:
        return len(self.counts)


@dataclass(frozen=True)
class StoredResults(NormalInference):
    """An estimation result read back from JSON (coefficients, covariance and diagnostics).

    Parameters
    ----------
    params : pandas.Series
        Coefficients by regressor.
    vcov : pandas.DataFrame
        Covariance matrix.
    nobs : int
        Observations used.
    model : str
        ``"ppml"`` or ``"ols"``.
    depvar : str
        Dependent variable.
    formula : str
        The formula estimated.
    fixef_vars : list of str
        Fixed effects as written in the formula.
    vcov_type, ssc : str
        Covariance type and small-sample convention.
    pseudo_r2, r2 : float or None
        Fit statistics.
    converged : bool
        Whether the estimation converged.
    n_iter : int
        Iterations.
    tol : float or None
        Convergence tolerance.
    dropped : StoredDropped
        Dropped rows by reason.
    provenance : dict
        The original result's provenance.
    correction : str
        The bias correction applied (empty for a plain fit).
    international_only : bool or None
        Whether the estimation sample was international pairs only (None: not recorded).
    """

    params: pd.Series
    vcov: pd.DataFrame
    nobs: int
    model: str = "ppml"
    depvar: str = ""
    formula: str = ""
    fixef_vars: list[str] = field(default_factory=list)
    vcov_type: str = ""
    ssc: str = ""
    pseudo_r2: float | None = None
    r2: float | None = None
    converged: bool = True
    n_iter: int = 0
    tol: float | None = None
    dropped: StoredDropped = field(default_factory=StoredDropped)
    provenance: dict[str, Any] = field(default_factory=dict)
    correction: str = ""
    international_only: bool | None = None

    def with_vcov(self, vcov: Any, ssc: Any = None, *, data: Any = None) -> StoredResults:
        """Not available: a saved result keeps its covariance, not the fit's arrays.

        Parameters
        ----------
        vcov : str or dict
        ssc : {"stata", "fixest"}, optional
        data : DataFrame, optional

        Returns
        -------
        StoredResults

        Raises
        ------
        SpecificationError
            Always; estimate again with the covariance wanted.
        """
        raise SpecificationError(
            f"a saved result keeps its covariance ({self.vcov_type or 'as estimated'}), not "
            f"the fit's arrays, so it cannot recompute vcov={vcov!r}; estimate again with it"
        )


def _opt_float(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def save_results(
    result: EstimationResult,
    path: str | os.PathLike[str],
    *,
    international_only: bool | None = None,
) -> Path:
    """Save an estimation result's coefficients, covariance and diagnostics as JSON.

    Parameters
    ----------
    result : EstimationResult
        The result.
    path : path-like
        Destination (written atomically).
    international_only : bool, optional
        Record whether the estimation sample was international pairs only (tables built
        from the file then say so).

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> save_results(res, "estimates/twoway.json")  # doctest: +SKIP
    """
    params = pd.Series(result.params, dtype=float)
    names = [str(n) for n in params.index]
    vcov = np.asarray(pd.DataFrame(result.vcov).to_numpy(dtype=float))
    model = str(result.model)
    record = {
        "format": "ca_trade.results",
        "format_version": FORMAT_VERSION,
        "model": model,
        "depvar": str(result.depvar),
        "formula": str(result.formula),
        "fixef_vars": [str(f) for f in (result.fixef_vars or [])],
        "names": names,
        "params": [float(x) for x in params.to_numpy(dtype=float)],
        "vcov": vcov.tolist(),
        "nobs": int(result.nobs),
        "vcov_type": str(result.vcov_type),
        "ssc": str(result.ssc),
        "pseudo_r2": _opt_float(result.pseudo_r2) if model != "ols" else None,
        "r2": _opt_float(result.r2) if model == "ols" else None,
        "converged": bool(result.converged),
        "n_iter": int(result.n_iter or 0),
        "tol": _opt_float(result.tol),
        "dropped": dropped_counts(result.dropped),
        "provenance": dict(result.provenance or {}),
    }
    if result.correction:
        record["correction"] = str(result.correction)
    if international_only is not None:
        record["international_only"] = bool(international_only)
    return write_json(path, record)


def save_split(
    results: Mapping[Any, EstimationResult], folder: str | os.PathLike[str]
) -> list[Path]:
    """Save a split estimation: one :func:`save_results` file per group, and ``split.json``.

    Files are ``<folder>/<group>.json`` (characters of a group's value outside
    ``[A-Za-z0-9_.-]`` become ``_``) and ``<folder>/split.json``, the split's provenance (the
    column, every group, the failures with their reasons). Read a group back with
    :func:`load_results`.

    Parameters
    ----------
    results : SplitResults
        What ``ct.ppml(..., split=...)`` returned (a mapping group -> result).
    folder : path-like
        Destination folder (created; files written atomically).

    Returns
    -------
    list of pathlib.Path
        The files written, ``split.json`` last.

    Raises
    ------
    SpecificationError
        Two groups whose values give the same file name.

    Examples
    --------
    >>> import numpy as np, pandas as pd, tempfile, pathlib, ca_trade as ct
    >>> df = pd.DataFrame({"s": list("aaaabbbb"), "x": [0.0, 1, 2, 3, 0, 1, 2, 4],
    ...                    "y": [1.0, 2, 2, 4, 0, 1, 3, 4]})
    >>> coll = ct.ols("y ~ x", df, split="s", executor=None)
    >>> [p.name for p in save_split(coll, pathlib.Path(tempfile.mkdtemp()) / "by_s")]
    ['a.json', 'b.json', 'split.json']
    """
    out = Path(folder)
    stems = {key: _file_stem(key) for key in results}
    if len(set(stems.values())) != len(stems):
        raise SpecificationError(
            f"the groups {sorted(map(str, stems))} do not all give distinct file names"
        )
    written = [save_results(res, out / f"{stems[key]}.json") for key, res in results.items()]
    record: dict[str, Any] = {"format": "ca_trade.split", "groups": [str(k) for k in stems]}
    if isinstance(results, SplitEstimates):
        record = {
            **record,
            "by": results.by,
            "failures": {str(k): v for k, v in results.failures.items()},
        }
    record["provenance"] = dict(getattr(results, "provenance", {}) or {})
    written.append(write_json(out / "split.json", record))
    return written


def _file_stem(key: object) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.\-]", "_", str(key))
    return stem if stem.strip(".") and stem != "split" else f"_{stem}"


def load_results(path: str | os.PathLike[str]) -> StoredResults:
    """Read a result saved by :func:`save_results`.

    Parameters
    ----------
    path : path-like
        The JSON file.

    Returns
    -------
    StoredResults
        The result.

    Raises
    ------
    DataValidationError
        When the file is not a saved ca_trade result.

    Examples
    --------
    >>> res = load_results("estimates/twoway.json")  # doctest: +SKIP
    """
    p = Path(path)
    try:
        rec = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataValidationError(f"{p}: cannot read saved results: {exc}") from exc
    if not isinstance(rec, dict) or rec.get("format") != "ca_trade.results":
        raise DataValidationError(
            f"{p}: not a ca_trade results file (write one with `ca-trade estimate --json`)"
        )
    try:
        names = [str(n) for n in rec["names"]]
        params = pd.Series([float(x) for x in rec["params"]], index=names, dtype=float)
        vcov = pd.DataFrame(np.asarray(rec["vcov"], dtype=float), index=names, columns=names)
        return StoredResults(
            params=params,
            vcov=vcov,
            nobs=int(rec["nobs"]),
            model=str(rec.get("model", "")),
            depvar=str(rec.get("depvar", "")),
            formula=str(rec.get("formula", "")),
            fixef_vars=[str(f) for f in rec.get("fixef_vars", [])],
            vcov_type=str(rec.get("vcov_type", "")),
            ssc=str(rec.get("ssc", "")),
            pseudo_r2=_opt_float(rec.get("pseudo_r2")),
            r2=_opt_float(rec.get("r2")),
            converged=bool(rec.get("converged", True)),
            n_iter=int(rec.get("n_iter", 0)),
            tol=_opt_float(rec.get("tol")),
            dropped=StoredDropped(
                {str(k): int(v) for k, v in dict(rec.get("dropped", {})).items()}
            ),
            provenance=dict(rec.get("provenance", {})),
            correction=str(rec.get("correction", "")),
            international_only=(
                None if rec.get("international_only") is None else bool(rec["international_only"])
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataValidationError(f"{p}: malformed saved results ({exc!r})") from exc
