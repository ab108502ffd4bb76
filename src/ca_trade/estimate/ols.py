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

from typing import Any, Literal

from ca_trade.estimate.model import fit
from ca_trade.estimate.results import GravityResults

__all__ = ["ols"]


def ols(
    formula: str,
    data: Any,
    *,
    weights: Any = None,
    offset: Any = None,
    vcov: str | dict[str, str] = "hetero",
    ssc: Literal["stata", "fixest"] = "stata",
    drop_singletons: bool = True,
    fixef_tol: float = 1e-10,
    fixef_maxiter: int = 10_000,
    on_maxiter: Literal["warn", "raise"] = "warn",
    safe_formula: bool = False,
) -> GravityResults:
    """Estimate a (log-linear) gravity equation by OLS with high-dimensional fixed effects.

    Parameters
    ----------
    formula : str
        fixest syntax: ``"log(trade) ~ rta | exporter^year + importer^year + pair"``.
        By default the terms are materialised by formulaic, which evaluates them as Python
        code (as in statsmodels and pyfixest): a formula written in your own code may call
        Python. For a formula from an untrusted source, pass ``safe_formula=True``.
    data : pandas.DataFrame or polars.DataFrame
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
    GravityResults

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
    return fit(
        "ols",
        formula,
        data,
        weights=weights,
        offset=offset,
        vcov=vcov,
        ssc=ssc,
        separation=None,
        drop_singletons=drop_singletons,
        fixef_tol=fixef_tol,
        fixef_maxiter=fixef_maxiter,
        on_maxiter=on_maxiter,
        safe_formula=safe_formula,
    )
