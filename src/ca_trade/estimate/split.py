"""Split estimation: one model per sector (or per value of any column), each fitted as if alone.

``ct.ppml(formula, data, split="sector")`` (and :func:`ca_trade.ols`) estimates the formula
once per value of the ``sector`` column and returns a :class:`SplitResults`: a read-only
mapping from each value to its :class:`~ca_trade.estimate.results.GravityResults`. Each
result is the one ``ct.ppml(formula, data[data.sector == value])`` returns (the same rows in
the same order, the same options): estimates, standard errors and covariance equal bit for
bit, whatever the executor.

The data are a pandas or polars DataFrame, or the path of a hive-partitioned Parquet panel::

    panel/sector=S01/part-0.parquet
    panel/sector=S02/part-0.parquet
    ...

(one folder per value, named ``<split>=<value>``; the value is carried by the folder name, and
added to each partition's rows as a string column). With a path, each task reads its own
partition, and only the columns the model reads: the data never pass through the client, and
memory per worker is bounded by the largest partition.

The sectors run on an executor (:mod:`ca_trade.executors`; by default local processes, one
per core, when there is more than one sector), the largest first. A sector that cannot be
estimated -- every observation separated or a singleton, too few rows, no variation in any
regressor, no convergence with ``on_maxiter="raise"`` -- is recorded in
:attr:`SplitResults.failures` with its reason and never stops the others; one
:class:`~ca_trade.exceptions.SplitWarning` counts them. Warnings of the sectors' fits are
kept by sector in :attr:`SplitResults.warnings` and announced once per kind. When no sector
can be estimated there is no result: the error of the first sector is raised with the count.

Examples
--------
>>> import numpy as np, pandas as pd, ca_trade as ct
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"sector": np.repeat(["A", "B"], 200), "x": rng.normal(size=400),
...                    "g": np.tile(np.arange(10), 40)})
>>> df["y"] = rng.poisson(np.exp(1 + np.where(df.sector == "A", 0.2, 0.6) * df.x))
>>> coll = ct.ppml("y ~ x | g", df, split="sector", executor=None)
>>> sorted(coll), dict(coll.failures)
(['A', 'B'], {})
>>> list(coll.to_frame().columns[:5])
['sector', 'term', 'estimate', 'std_error', 'statistic']
"""

from __future__ import annotations

import os
import re
import time
import urllib.parse
import warnings
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ca_trade.estimate.covariance import covariance_estimator
from ca_trade.estimate.fingerprint import hashed_columns
from ca_trade.estimate.formula import parse_formula, to_pandas
from ca_trade.estimate.model import fit, fit_options
from ca_trade.estimate.results import GravityResults
from ca_trade.estimate.state import Model
from ca_trade.exceptions import (
    CaTradeError,
    DataValidationError,
    SpecificationError,
    SplitWarning,
)
from ca_trade.executors import ExecutorLike, executor_for

__all__ = ["FRAME_COLUMNS", "SplitProgress", "SplitResults", "fit_split", "partitions"]

#: Columns of :meth:`SplitResults.to_frame` after the split column.
FRAME_COLUMNS: tuple[str, ...] = (
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "nobs",
    "converged",
    "n_iter",
    "dropped",
)
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


@dataclass(frozen=True)
class SplitProgress:
    """One finished sector, as the ``progress`` callback of a split estimation receives it.

    Attributes
    ----------
    key : object
        The sector (value of the split column).
    done, total : int
        Sectors finished so far (this one included), and in all.
    failure : str or None
        Why the sector could not be estimated; None when it was.
    seconds : float
        Time the sector's task took where it ran (reading its data and the fit).
    """

    key: Hashable
    done: int
    total: int
    failure: str | None
    seconds: float

    def line(self) -> str:
        """Return a progress line, e.g. ``"S05 estimated (3/21, 1.2 s)"``.

        Returns
        -------
        str

        Examples
        --------
        >>> SplitProgress("S05", 3, 21, None, 1.23).line()
        'S05 estimated (3/21, 1.2 s)'
        """
        what = "estimated" if self.failure is None else f"failed: {self.failure}"
        return f"{self.key} {what} ({self.done}/{self.total}, {self.seconds:.1f} s)"


@dataclass(frozen=True)
class _Spec:
    """What every sector's task fits: the model, formula, options and the columns it reads."""

    model: Model
    formula: str
    by: str
    options: Mapping[str, Any]
    columns: frozenset[str]

    def reads(self, name: object) -> bool:
        """Whether a fit may read column `name` (so a task keeps it).

        The names of the data fingerprint (every identifier of the formula, the weights,
        offset and cluster columns), and any column name written in the formula (quoted
        names of formulaic mode).
        """
        return str(name) in self.columns or str(name) in self.formula


@dataclass(frozen=True)
class _Sector:
    """One sector's task: its rows (a frame) or its partition's files."""

    key: Hashable
    size: int  # rows or bytes: the largest sectors start first
    frame: pd.DataFrame | None = None
    files: tuple[str, ...] = ()
    value: str = ""


@dataclass(frozen=True)
class _Outcome:
    key: Hashable
    result: GravityResults | None
    failure: str | None
    error: type[BaseException] | None
    warned: tuple[tuple[type[Warning], str], ...]
    seconds: float


def _read_partition(sector: _Sector, spec: _Spec) -> pd.DataFrame:
    """Read one partition's files (only the columns the fit may read) as pandas."""
    tables = []
    for f in sector.files:
        pf = pq.ParquetFile(f)
        names = [n for n in pf.schema_arrow.names if spec.reads(n) or n == spec.by]
        tables.append(pf.read(columns=names, use_pandas_metadata=True))
    table = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
    frame = table.to_pandas()
    if spec.by in frame.columns:
        values = frame[spec.by].astype(str)
        if len(values) and not (values == sector.value).all():
            other = values[values != sector.value].iloc[0]
            raise DataValidationError(
                f"{sector.files[0]}: the partition {spec.by}={sector.value} holds rows with "
                f"{spec.by}={other!r}; rewrite the panel so each folder holds its own rows"
            )
    else:
        frame[spec.by] = sector.value
    return frame


def _fit_sector(spec: _Spec, sector: _Sector) -> _Outcome:
    """Fit one sector (a task: it runs where the executor puts it); never raises on its data."""
    start = time.perf_counter()
    result: GravityResults | None = None
    failure: str | None = None
    error: type[BaseException] | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame = sector.frame if sector.frame is not None else _read_partition(sector, spec)
            result = fit(spec.model, spec.formula, frame, **spec.options)
            if result.collinear and not len(result.params):
                failure = (
                    "no variation: every regressor is collinear with the fixed effects in "
                    f"this sector ({', '.join(result.collinear)})"
                )
                error, result = DataValidationError, None
        except Exception as exc:  # any failure of one sector is recorded, never fatal
            first = str(exc).splitlines()[0] if str(exc) else ""
            failure, error = f"{type(exc).__name__}: {first}", type(exc)
    warned = tuple((w.category, str(w.message)) for w in caught)
    return _Outcome(sector.key, result, failure, error, warned, time.perf_counter() - start)


def _sort_keys(keys: Sequence[Hashable]) -> list[Hashable]:
    try:
        return sorted(keys)  # type: ignore[type-var]
    except TypeError:
        return sorted(keys, key=lambda k: (type(k).__name__, str(k)))


def _python(value: Any) -> Hashable:
    out: Hashable = value.item() if isinstance(value, np.generic) else value
    return out


def _frame_sectors(data: Any, spec: _Spec) -> list[_Sector]:
    """One task per value of the split column of a DataFrame (only the columns read)."""
    df = to_pandas(data)
    if spec.by not in df.columns:
        raise SpecificationError(
            f"split={spec.by!r} is not a column of the data (columns: {list(df.columns)[:20]})"
        )
    missing = df[spec.by].isna().to_numpy()
    if missing.any():
        first = df.index[np.flatnonzero(missing)[0]]
        raise DataValidationError(
            f"{int(missing.sum())} rows have no {spec.by} (first: row {first!r}); drop or fill "
            f"them before splitting by {spec.by!r}"
        )
    cols = [c for c in df.columns if spec.reads(c) or c == spec.by]
    groups = df.groupby(spec.by, sort=False, observed=True).indices
    out = []
    for value, positions in groups.items():
        frame = df.iloc[np.sort(positions)][cols]
        out.append(_Sector(_python(value), len(frame), frame=frame))
    return out


def partitions(path: str | os.PathLike[str], by: str) -> dict[str, tuple[Path, ...]]:
    """Return the partitions of a hive-partitioned Parquet folder: value -> its files.

    Parameters
    ----------
    path : path-like
        A folder of ``<by>=<value>/`` folders, each holding ``*.parquet`` files (read in name
        order). Names starting with ``.`` or ``_`` are ignored.
    by : str
        The partition key.

    Returns
    -------
    dict of str to tuple of pathlib.Path
        Sorted by value (values are URL-decoded folder names).

    Raises
    ------
    DataValidationError
        No such folder, no partition by `by`, other partition keys or nested folders, or a
        partition without Parquet files.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "sector=S01").mkdir()
    >>> pd.DataFrame({"y": [1.0]}).to_parquet(d / "sector=S01" / "part-0.parquet")
    >>> list(partitions(d, "sector"))
    ['S01']
    """
    root = Path(path).resolve()
    if not root.is_dir():
        raise DataValidationError(f"{path}: no such folder (a partitioned panel is a folder)")
    found: dict[str, tuple[Path, ...]] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        key, sep, value = entry.name.partition("=")
        if not entry.is_dir() or not sep:
            if entry.is_file():
                continue
            raise DataValidationError(f"{entry}: not a partition folder <key>=<value>")
        if key != by:
            raise DataValidationError(
                f"{entry}: the panel is partitioned by {key!r}, not {by!r}; pass split={key!r}"
            )
        nested = [p for p in entry.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
        if nested:
            raise DataValidationError(
                f"{nested[0]}: nested partitions are not read; one level, {by}=<value>, is"
            )
        files = tuple(sorted(p for p in entry.glob("*.parquet") if not p.name.startswith(".")))
        if not files:
            raise DataValidationError(f"{entry}: no .parquet file in this partition")
        found[urllib.parse.unquote(value)] = files
    if not found:
        raise DataValidationError(f"{root}: no partition folder {by}=<value> in it")
    return dict(sorted(found.items()))


def _path_sectors(path: str | os.PathLike[str], spec: _Spec) -> list[_Sector]:
    out = []
    for value, files in partitions(path, spec.by).items():
        size = sum(f.stat().st_size for f in files)
        out.append(_Sector(value, size, files=tuple(str(f) for f in files), value=value))
    return out


def _spec(model: Model, formula: str, by: Any, options: Mapping[str, Any]) -> _Spec:
    """Check the options once, here, so a wrong one is an error and not a failed sector."""
    if not isinstance(by, str) or not by:
        raise SpecificationError(f"split={by!r}; name the column to split by, e.g. 'sector'")
    given = dict(options)
    for name in ("weights", "offset"):
        if given.get(name) is not None and not isinstance(given[name], str):
            raise SpecificationError(
                f"with split=, {name} must name a column (an array cannot follow the sectors)"
            )
    fit_options(**given)
    covariance_estimator(given.get("vcov", "hetero"), given.get("ssc", "stata"))
    parsed = parse_formula(formula, safe=bool(given.get("safe_formula", False)))
    extra = hashed_columns(given.get("weights"), given.get("offset"), given.get("vcov", "hetero"))
    names = set(_TOKEN.findall(formula)) | set(extra) | {c for fe in parsed.fixef for c in fe}
    return _Spec(model, formula, by, given, frozenset(names))


def fit_split(
    model: Model,
    formula: str,
    data: Any,
    *,
    by: str,
    executor: ExecutorLike = "auto",
    progress: Callable[[SplitProgress], None] | None = None,
    options: Mapping[str, Any],
) -> SplitResults:
    """Fit `formula` once per value of column `by`; see :func:`ca_trade.ppml` (``split=``).

    Parameters
    ----------
    model : {"ppml", "ols"}
    formula : str
    data : pandas.DataFrame, polars.DataFrame or path-like
        A frame with a `by` column, or a hive-partitioned Parquet folder (``<by>=<value>/``).
    by : str
        The split column.
    executor : None, str, distributed.Client or Executor, default "auto"
        Where the sectors run (:mod:`ca_trade.executors`).
    progress : callable, optional
        Called with a :class:`SplitProgress` as each sector finishes.
    options : mapping
        The other keywords of :func:`ca_trade.ppml` / :func:`ca_trade.ols`.

    Returns
    -------
    SplitResults
    """
    spec = _spec(model, formula, by, options)
    if isinstance(data, str | os.PathLike):
        sectors, source = _path_sectors(data, spec), str(Path(data).resolve())
    else:
        sectors, source = _frame_sectors(data, spec), "data frame"
    order = sorted(sectors, key=lambda s: -s.size)  # the largest first, the rest fill in
    done = 0

    def finished(i: int, outcome: _Outcome) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(SplitProgress(outcome.key, done, len(order), outcome.failure, outcome.seconds))

    with executor_for(executor, n_tasks=len(order)) as ex:
        outcomes = ex.map(_fit_sector, order, shared=spec, on_done=finished, fork_safe=True)
        where = ex.description
    return _collect(spec, outcomes, source, where)


def _collect(spec: _Spec, outcomes: list[_Outcome], source: str, where: str) -> SplitResults:
    by_key = {o.key: o for o in outcomes}
    keys = _sort_keys(list(by_key))
    failures = {k: str(by_key[k].failure) for k in keys if by_key[k].failure is not None}
    if len(failures) == len(keys):
        first = keys[0]
        error = by_key[first].error
        cls = (
            error if error is not None and issubclass(error, CaTradeError) else DataValidationError
        )
        raise cls(
            f"no {spec.by} could be estimated ({len(keys)} tried); first, {spec.by}={first}: "
            f"{failures[first]}"
        )
    results: dict[Hashable, GravityResults] = {}
    for k in keys:
        res = by_key[k].result
        if res is not None:
            prov = {**res.provenance, "split": {"by": spec.by, "group": k}}
            results[k] = replace(res, provenance=prov)
    warned = {k: tuple(m for _, m in by_key[k].warned) for k in keys if by_key[k].warned}
    _announce(spec.by, keys, by_key, failures)
    provenance = {
        "model": spec.model,
        "formula": spec.formula,
        "split": {
            "by": spec.by,
            "source": source,
            "groups": [str(k) for k in keys],
            "estimated": len(results),
            "failed": {str(k): v for k, v in failures.items()},
        },
    }
    return SplitResults(
        spec.by, spec.model, spec.formula, results, failures, warned, provenance, where
    )


def _announce(
    by: str, keys: list[Hashable], outcomes: Mapping[Hashable, _Outcome], failures: dict[Any, str]
) -> None:
    """One warning per kind of warning the sectors raised, one for the failed sectors."""
    kinds: dict[type[Warning], list[tuple[Hashable, str]]] = {}
    for k in keys:
        for category, message in outcomes[k].warned:
            kinds.setdefault(category, []).append((k, message))
    for category, hits in kinds.items():
        sectors = list(dict.fromkeys(k for k, _ in hits))
        k, message = hits[0]
        warnings.warn(
            f"{len(sectors)} of {len(keys)} {by} groups warned (first, {by}={k}: {message}); "
            "see .warnings",
            category,
            stacklevel=5,
        )
    if failures:
        k = next(iter(failures))
        warnings.warn(
            f"{len(failures)} of {len(keys)} {by} groups could not be estimated (first, "
            f"{by}={k}: {failures[k]}); see .failures",
            SplitWarning,
            stacklevel=5,
        )


class SplitResults(Mapping[Hashable, GravityResults]):
    """Results of a split estimation: a read-only mapping group -> ``GravityResults``.

    Keys are the values of the split column (sorted), for the groups that were estimated;
    :attr:`failures` holds the others with their reasons. ``ct.etable(coll)`` shows the groups
    as columns (and the failed ones in a note).

    Attributes
    ----------
    by : str
        The split column (``"sector"``).
    model : {"ppml", "ols"}
    formula : str
    failures : mapping
        Group -> why it could not be estimated (``"DataValidationError: ..."``).
    warnings : mapping
        Group -> the warnings its fit raised (messages), for the groups that warned.
    provenance : mapping
        The model, formula and split: the column, the source (``"data frame"`` or the
        panel's folder), every group, how many were estimated, the failures. The executor is
        not part of it (results do not depend on it); :attr:`executor` says which ran.
    executor : str
        Where the groups ran, e.g. ``"processes (2 workers)"``.
    """

    def __init__(
        self,
        by: str,
        model: Model,
        formula: str,
        results: Mapping[Hashable, GravityResults],
        failures: Mapping[Hashable, str],
        warned: Mapping[Hashable, tuple[str, ...]],
        provenance: Mapping[str, Any],
        executor: str,
    ) -> None:
        self.by = by
        self.model = model
        self.formula = formula
        self._results = dict(results)
        self.failures: Mapping[Hashable, str] = MappingProxyType(dict(failures))
        self.warnings: Mapping[Hashable, tuple[str, ...]] = MappingProxyType(dict(warned))
        self.provenance: Mapping[str, Any] = MappingProxyType(dict(provenance))
        self.executor = executor

    def __getitem__(self, key: Hashable) -> GravityResults:
        try:
            return self._results[key]
        except KeyError:
            if key in self.failures:
                raise KeyError(
                    f"{self.by}={key!r} was not estimated: {self.failures[key]}"
                ) from None
            raise

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._results)

    def __len__(self) -> int:
        return len(self._results)

    @property
    def groups(self) -> list[Hashable]:
        """Every group, estimated or failed, in sorted order."""
        return _sort_keys([*self._results, *self.failures])

    def to_frame(self) -> pd.DataFrame:
        """Return the estimates as a tidy frame: one row per group and term.

        Columns: the split column (named after it, e.g. ``sector``), ``term``, ``estimate``,
        ``std_error``, ``statistic`` (z), ``p_value`` (two-sided, normal), ``nobs``,
        ``converged``, ``n_iter``, ``dropped`` (rows set aside before estimation, all
        reasons). Groups in sorted order, terms in the formula's order; failed groups have no
        row (see :attr:`failures`).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import numpy as np, pandas as pd, ca_trade as ct
        >>> df = pd.DataFrame({"s": list("aaaabbbb"), "x": [0.0, 1, 2, 3, 0, 1, 2, 4],
        ...                    "y": [1.0, 2, 2, 4, 0, 1, 3, 4]})
        >>> ct.ols("y ~ x", df, split="s", executor=None).to_frame()[["s", "term", "nobs"]]
           s       term  nobs
        0  a  Intercept     4
        1  a          x     4
        2  b  Intercept     4
        3  b          x     4
        """
        frames = []
        for key, res in self._results.items():
            frames.append(
                pd.DataFrame(
                    {
                        self.by: [key] * len(res.params),
                        "term": [str(t) for t in res.params.index],
                        "estimate": res.params.to_numpy(dtype=float),
                        "std_error": res.bse.to_numpy(dtype=float),
                        "statistic": res.tvalues.to_numpy(dtype=float),
                        "p_value": res.pvalues.to_numpy(dtype=float),
                        "nobs": res.nobs,
                        "converged": bool(res.converged),
                        "n_iter": res.n_iter,
                        "dropped": res.dropped.total,
                    }
                )
            )
        if not frames:
            return pd.DataFrame(columns=[self.by, *FRAME_COLUMNS])
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> str:
        """Text summary: the model, one line per group and term, the failures.

        Returns
        -------
        str
        """
        head = [
            f"{'Model':<15}{'PPML (Poisson PML)' if self.model == 'ppml' else 'OLS'}",
            f"{'Formula':<15}{self.formula}",
            f"{'Split by':<15}{self.by}: {len(self)} estimated, {len(self.failures)} failed",
            "",
        ]
        frame = self.to_frame()
        body = frame.to_string(index=False, float_format=lambda v: f"{v:.6g}") if len(frame) else ""
        lines = [*head, body]
        if self.failures:
            lines += ["", "Not estimated:"]
            lines += [f"  {self.by}={k}: {v}" for k, v in self.failures.items()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"<SplitResults {self.model} by {self.by}: {len(self)} estimated, "
            f"{len(self.failures)} failed>"
        )
