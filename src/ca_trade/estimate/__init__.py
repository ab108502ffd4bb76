"""Gravity estimation with high-dimensional fixed effects: PPML and OLS.

:func:`ppml` and :func:`ols` (also ``ca_trade.ppml`` / ``ca_trade.ols``) take a fixest-style
formula and a pandas or polars DataFrame and return an immutable :class:`GravityResults`.
The fixed effects are partialled out by the project's own HDFE kernel
(:mod:`ca_trade.estimate.demean`); methods are documented in ``docs/methods-estimation.md``.
:class:`EstimationResult` is the interface every result implements (tables, figures, saved
results and GE scenarios read results through it).

Examples
--------
>>> import pandas as pd
>>> from ca_trade.estimate import ols
>>> df = pd.DataFrame({"y": [1.0, 2, 3, 5, 4, 6], "x": [0.0, 1, 2, 3, 2, 4]})
>>> list(ols("y ~ x", df).params.index)
['Intercept', 'x']
"""

from __future__ import annotations

from ca_trade._typing import EstimationResult
from ca_trade.estimate.ols import ols
from ca_trade.estimate.ppml import ppml
from ca_trade.estimate.results import BiasCorrectedResults, GravityResults
from ca_trade.estimate.split import SplitProgress, SplitResults

__all__ = [
    "BiasCorrectedResults",
    "EstimationResult",
    "GravityResults",
    "SplitProgress",
    "SplitResults",
    "ols",
    "ppml",
]
