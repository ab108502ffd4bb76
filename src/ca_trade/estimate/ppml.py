"""Poisson pseudo-maximum likelihood with high-dimensional fixed effects: :func:`ppml`.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from ca_trade.estimate.ppml import ppml
>>> rng = np.random.default_rng(1)
>>> df = pd.DataFrame({"x": rng.normal(size=300), "g": rng.integers(0, 6, 300)})
>>> df["y"] = rng.poisson(np.exp(1 + 0.3 * df["x"]))
>>> res = ppml("y ~ x | g", df)
>>> res.converged
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, overload

from ca_trade.estimate.model import fit
from ca_trade.estimate.results import GravityResults
from ca_trade.estimate.split import SplitProgress, SplitResults, fit_split
from ca_trade.executors import ExecutorLike

__all__ = ["ppml"]


@overload
def ppml(
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
    tol: float = 1e-8,
    maxiter: int = 1000,
    separation: Sequence[str] | None = ("fe", "ir"),
    drop_singletons: bool = True,
    fixef_tol: float = 1e-10,
    fixef_maxiter: int = 10_000,
    on_maxiter: Literal["warn", "raise"] = "warn",
    safe_formula: bool = False,
) -> GravityResults: ...


@overload
def ppml(
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
    tol: float = 1e-8,
    maxiter: int = 1000,
    separation: Sequence[str] | None = ("fe", "ir"),
    drop_singletons: bool = True,
    fixef_tol: float = 1e-10,
    fixef_maxiter: int = 10_000,
    on_maxiter: Literal["warn", "raise"] = "warn",
    safe_formula: bool = False,
) -> SplitResults: ...


def ppml(
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
    tol: float = 1e-8,
    maxiter: int = 1000,
    separation: Sequence[str] | None = ("fe", "ir"),
    drop_singletons: bool = True,
    fixef_tol: float = 1e-10,
    fixef_maxiter: int = 10_000,
    on_maxiter: Literal["warn", "raise"] = "warn",
    safe_formula: bool = False,
) -> GravityResults | SplitResults:
    """Estimate a gravity equation by PPML with high-dimensional fixed effects.

    Solves the Poisson score equations ``sum_i (y_i - exp(x_i'b + a_fe(i) + o_i)) x_i = 0``
    by IRLS, partialling the fixed effects out with the project's HDFE kernel (see
    ``docs/methods-estimation.md``). Rows with missing values (NaN, None, ``pd.NA``, polars
    nulls, in any column the model reads, of any dtype), with infinite or non-finite values
    (``log(0)``), zero weights, singletons and separated observations are dropped first and
    reported in ``res.dropped``; missing and non-finite ones with one
    ``MissingValuesWarning``. The fit runs on the outcome divided by a power of two near its
    mean (PPML is scale-equivariant), so an outcome in any units gives the same coefficients
    and standard errors.

    Parameters
    ----------
    formula : str
        fixest syntax: ``"trade ~ rta + log(dist) | exporter^year + importer^year + pair"``.
        By default the terms are materialised by formulaic, which evaluates them as Python
        code (as in statsmodels and pyfixest): a formula written in your own code may call
        Python. For a formula from a file, a user or any other untrusted source, pass
        ``safe_formula=True``.
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
        Prior weights (column name or array).
    offset : str or array_like, optional
        Offset in the linear predictor, coefficient fixed at 1 (column name or array).
    vcov : {"hetero", "iid"} or dict, default "hetero"
        ``{"CRV1": "pair"}`` clusters by a column or fixed effect; ``{"CRV1": "a+b"}`` is
        two-way clustering. The default matches ppmlhdfe's robust errors.
    ssc : {"stata", "fixest"}, default "stata"
        Small-sample convention (see :mod:`ca_trade.estimate.vcov`).
    tol : float, default 1e-8
        Convergence tolerance on the relative change of the deviance (as ppmlhdfe).
    maxiter : int, default 1000
        IRLS iteration cap.
    separation : sequence of {"fe", "ir"} or None, default ("fe", "ir")
        Separation checks: fixed-effect levels with an all-zero outcome, iterated rectifier.
    drop_singletons : bool, default True
        Drop observations alone in a fixed-effect level.
    fixef_tol : float, default 1e-10
        Tolerance of the final demeaning (looser in early IRLS iterations).
    fixef_maxiter : int, default 10_000
        Cap on demeaning iterations per call.
    on_maxiter : {"warn", "raise"}, default "warn"
        At the iteration cap, emit ``ConvergenceWarning`` or raise ``ConvergenceError``.
    safe_formula : bool, default False
        Parse the formula with the safe grammar (column names, numbers, ``+ - * / **``
        arithmetic, ``log``, ``exp``, ``sqrt``, ``log1p``, ``I(...)``, ``C(column)``, ``:``,
        ``*``, ``|``, ``^``) and materialise it with numpy: nothing is evaluated, anything
        else is a ``SpecificationError``. The same columns and numbers as the default mode.
        Formulas from configuration files and the command line always use it.

    Returns
    -------
    GravityResults or SplitResults
        A ``SplitResults`` with ``split``.

    Raises
    ------
    SpecificationError
        Bad formula or option (``tol``, ``fixef_tol`` must be finite numbers in (0, 1),
        ``maxiter``, ``fixef_maxiter`` integers >= 1).
    DataValidationError
        Negative outcome, or no usable observations.
    ConvergenceError
        The estimates, their covariance or the deviance are not finite numbers (nothing is
        returned as a result then), or the iteration cap is hit with ``on_maxiter="raise"``.

    Warns
    -----
    MissingValuesWarning
        Rows with missing or non-finite values were dropped (one warning, counts by column).
    SeparationWarning
        Separated observations were dropped; or, with the separation checks switched off or
        partial, observations with a zero outcome diverge (their fitted values go to 0):
        the warning names the diverging regressors, and ``res.converged`` is then False.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"y": [0.0, 1, 3, 2, 5, 7, 4, 9], "x": [0.0, 1, 2, 1, 2, 3, 2, 3],
    ...                    "g": list("aabbaabb")})
    >>> ppml("y ~ x | g", df).nobs
    8
    """
    options: dict[str, Any] = {
        "weights": weights,
        "offset": offset,
        "vcov": vcov,
        "ssc": ssc,
        "tol": tol,
        "maxiter": maxiter,
        "separation": separation,
        "drop_singletons": drop_singletons,
        "fixef_tol": fixef_tol,
        "fixef_maxiter": fixef_maxiter,
        "on_maxiter": on_maxiter,
        "safe_formula": safe_formula,
    }
    if split is not None:
        return fit_split(
            "ppml", formula, data, by=split, executor=executor, progress=progress, options=options
        )
    return fit("ppml", formula, data, **options)
