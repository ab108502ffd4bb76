"""Least squares with high-dimensional fixed effects: :func:`ols`.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from ca_trade.estimate.ols import ols
>>> df = pd.DataFrame({"y": [1.0, 2.0, 3.5, 4.0], "x": [0.0, 1.0, 2.0, 3.0]})
>>> round(float(ols("y ~ x", df).params["x"]), 6)
1.05
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, overload

from ca_trade.estimate.model import fit
from ca_trade.estimate.results import GravityResults
from ca_trade.estimate.split import SplitProgress, SplitResults, fit_split
from ca_trade.executors import ExecutorLike

__all__ = ["ols"]


@overload
def ols(
    formula: str,
    data: Any,
    *,
    split: None = None,
    executor: ExecutorLike = "auto",
    progress: Callable[[SplitProgress], None] | None = None,
    weights: Any = None,
    offset: Any = None,
    vcov: str | dict[str, str] = "hetero",
    ssc: Literal["stata", "fixest"] = "stata",
    drop_singletons: bool = True,
    fixef_tol: float = 1e-10,
    fixef_maxiter: int = 10_000,
    on_maxiter: Literal["warn", "raise"] = "warn",
    safe_formula: bool = False,
) -> GravityResults: ...


@overload
def ols(
    formula: str,
    data: Any,
    *,
    split: str,
    executor: ExecutorLike = "auto",
    progress: Callable[[SplitProgress], None] | None = None,
    weights: Any = None,
    offset: Any = None,
    vcov: str | dict[str, str] = "hetero",
    ssc: Literal["stata", "fixest"] = "stata",
    drop_singletons: bool = True,
    fixef_tol: float = 1e-10,
    fixef_maxiter: int = 10_000,
    on_maxiter: Literal["warn", "raise"] = "warn",
    safe_formula: bool = False,
) -> SplitResults: ...


def ols(
    formula: str,
    data: Any,
    *,
    split: str | None = None,
    executor: ExecutorLike = "auto",
    progress: Callable[[SplitProgress], None] | None = None,
    weights: Any = None,
    offset: Any = None,
    vcov: str | dict[str, str] = "hetero",
    ssc: Literal["stata", "fixest"] = "stata",
    drop_singletons: bool = True,
    fixef_tol: float = 1e-10,
    fixef_maxiter: int = 10_000,
    on_maxiter: Literal["warn", "raise"] = "warn",
    safe_formula: bool = False,
) -> GravityResults | SplitResults:
    """Estimate a (log-linear) gravity equation by OLS with high-dimensional fixed effects.

    Parameters
    ----------
    formula : str
        fixest syntax: ``"log(trade) ~ rta | exporter^year + importer^year + pair"``.
        By default the terms are materialised by formulaic, which evaluates them as Python
        code (as in statsmodels and pyfixest): a formula written in your own code may call
        Python. For a formula from an untrusted source, pass ``safe_formula=True``.
    data : pandas.DataFrame, polars.DataFrame or path-like
        The rows to fit. With ``split``, also the path of a hive-partitioned Parquet panel
        (``panel/<split>=<value>/*.parquet``), read partition by partition where each group
        runs.
    split : str, optional
        Fit the formula once per value of this column (e.g. ``"sector"``) and return a
        :class:`~ca_trade.estimate.split.SplitResults` (a mapping value -> result; groups
        that cannot be estimated are in its ``failures``). Each group's result is the one
        this function returns on that group's rows alone.
    executor : None, str, distributed.Client or Executor, default "auto"
        With ``split``: where the groups run -- ``None`` (here, one after another),
        ``"processes"`` (one local process per core), a Dask ``distributed.Client`` or
        scheduler address ``"tcp://host:port"``; ``"auto"`` is processes when there is more
        than one group (:mod:`ca_trade.executors`). Results do not depend on it.
    progress : callable, optional
        With ``split``: called with a :class:`~ca_trade.estimate.split.SplitProgress` as each
        group finishes.
    weights : str or array_like, optional
        Analytic weights (column name or array).
    offset : str or array_like, optional
        Subtracted from the outcome (coefficient fixed at 1).
    vcov : {"hetero", "iid"} or dict, default "hetero"
        ``{"CRV1": "pair"}`` or two-way ``{"CRV1": "a+b"}``.
    ssc : {"stata", "fixest"}, default "stata"
        Small-sample convention: "stata" as reghdfe, "fixest" as fixest/pyfixest.
    drop_singletons : bool, default True
        Drop observations alone in a fixed-effect level (as reghdfe).
    fixef_tol : float, default 1e-10
        Demeaning tolerance.
    fixef_maxiter : int, default 10_000
        Cap on demeaning iterations.
    on_maxiter : {"warn", "raise"}, default "warn"
        What to do if demeaning hits its cap.
    safe_formula : bool, default False
        Parse and materialise the formula with the safe grammar (see :func:`ca_trade.ppml`):
        nothing in it is evaluated.

    Returns
    -------
    GravityResults or SplitResults
        A ``SplitResults`` with ``split``.

    Raises
    ------
    SpecificationError
        Bad formula or option.
    DataValidationError
        No usable observations, or an outcome so large that its squares overflow float64.
    ConvergenceError
        The estimates, their covariance or the residual sum of squares are not finite.

    Warns
    -----
    MissingValuesWarning
        Rows with missing or non-finite values were dropped (one warning, counts by column).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 2, 3, 5, 4, 6], "x": [0.0, 1, 2, 3, 2, 4],
    ...                    "g": list("aabbab")})
    >>> ols("y ~ x | g", df).fixef_vars
    ['g']
    """
    options: dict[str, Any] = {
        "weights": weights,
        "offset": offset,
        "vcov": vcov,
        "ssc": ssc,
        "separation": None,
        "drop_singletons": drop_singletons,
        "fixef_tol": fixef_tol,
        "fixef_maxiter": fixef_maxiter,
        "on_maxiter": on_maxiter,
        "safe_formula": safe_formula,
    }
    if split is not None:
        return fit_split(
            "ols", formula, data, by=split, executor=executor, progress=progress, options=options
        )
    return fit("ols", formula, data, **options)
