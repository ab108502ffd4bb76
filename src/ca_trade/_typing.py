"""Shared types of ca_trade (internal): array aliases and the results protocol, in one place.

Every module that annotates numpy arrays takes its aliases from here, so an "integer array"
means one thing across the package: ``int64`` codes and positions (numpy's default integer
on the platforms ca_trade supports).

:class:`EstimationResult` is the interface of an estimation result that tables, figures,
provenance records, saved estimates and the GE scenario builders read. It is implemented by
:class:`ca_trade.estimate.GravityResults` (and ``BiasCorrectedResults``) and by
:class:`ca_trade.report.stored.StoredResults`; it lives here, below ``estimate``, ``report``
and ``ge``, so that reading a result never imports the estimation engine.
:class:`ScenarioOutcomes` is what the report reads from a GE result (``countries`` and
``flows``); :class:`Predictor` what the GEPPML baseline needs from a fit (``predict``);
:class:`SplitEstimates` what tables read from a split estimation besides its results (the
split column and the groups that failed).

Examples
--------
>>> import numpy as np
>>> from ca_trade._typing import FloatArray
>>> x: FloatArray = np.zeros(3)
>>> x.dtype
dtype('float64')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "RESULT_MEMBERS",
    "AnyArray",
    "BoolArray",
    "DroppedCounts",
    "EstimationResult",
    "FloatArray",
    "Int32Array",
    "IntArray",
    "Predictor",
    "ScenarioOutcomes",
    "SplitEstimates",
]

#: Floating-point data: outcomes, regressors, weights, estimates.
FloatArray = npt.NDArray[np.float64]
#: Integer codes (fixed-effect levels, clusters) and row positions.
IntArray = npt.NDArray[np.int64]
#: Fixed-effect codes as the demeaning kernels read them (half the memory traffic).
Int32Array = npt.NDArray[np.int32]
#: Masks (rows to drop, separated observations).
BoolArray = npt.NDArray[np.bool_]
#: Arrays of any dtype (row labels of the caller's index).
AnyArray = npt.NDArray[Any]


class DroppedCounts(Protocol):
    """Rows an estimation set aside, counted by reason (``missing``, ``singleton``, ...)."""

    @property
    def counts(self) -> Mapping[str, int]:
        """Number of rows by reason."""
        ...


@runtime_checkable
class EstimationResult(Protocol):
    """What an estimation result offers to tables, figures, provenance and scenarios.

    Coefficients and inference (``params``, ``bse``, ``tvalues``, ``pvalues`` as Series by
    regressor, ``vcov``, ``conf_int(alpha)``), the specification (``model``, ``formula``,
    ``depvar``, ``fixef_vars``, ``vcov_type``, ``ssc``, ``tol``), the fit (``nobs``,
    ``converged``, ``n_iter``, ``pseudo_r2`` or ``r2``, ``dropped``), ``provenance``,
    ``correction`` (a bias correction's description, empty when none) and
    ``with_vcov(vcov)`` (the same result with another covariance).
    """

    @property
    def params(self) -> pd.Series:
        """Coefficients by regressor."""
        ...

    @property
    def bse(self) -> pd.Series:
        """Standard errors."""
        ...

    @property
    def tvalues(self) -> pd.Series:
        """Return the z statistics."""
        ...

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values."""
        ...

    @property
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the coefficients."""
        ...

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Return confidence intervals, columns ``lower`` and ``upper``."""
        ...

    @property
    def model(self) -> str:
        """``"ppml"`` or ``"ols"``."""
        ...

    @property
    def formula(self) -> str:
        """The formula estimated."""
        ...

    @property
    def depvar(self) -> str:
        """The dependent variable."""
        ...

    @property
    def fixef_vars(self) -> Sequence[str]:
        """Fixed effects as written in the formula."""
        ...

    @property
    def vcov_type(self) -> str:
        """Covariance type, e.g. ``"CRV1: pair"``."""
        ...

    @property
    def ssc(self) -> str:
        """Small-sample convention."""
        ...

    @property
    def tol(self) -> float | None:
        """Convergence tolerance."""
        ...

    @property
    def nobs(self) -> int:
        """Observations used."""
        ...

    @property
    def converged(self) -> bool:
        """Whether the estimation converged."""
        ...

    @property
    def n_iter(self) -> int:
        """Iterations."""
        ...

    @property
    def pseudo_r2(self) -> float | None:
        """Deviance pseudo-R² (PPML)."""
        ...

    @property
    def r2(self) -> float | None:
        """R² (OLS)."""
        ...

    @property
    def dropped(self) -> DroppedCounts:
        """Rows set aside before estimation, by reason."""
        ...

    @property
    def provenance(self) -> Mapping[str, Any]:
        """What produced the result: data fingerprint, options, package version."""
        ...

    @property
    def correction(self) -> str:
        """The bias correction applied, or an empty string."""
        ...

    def with_vcov(self, vcov: Any, ssc: Any = None, *, data: Any = None) -> EstimationResult:
        """Return the same result with another covariance matrix."""
        ...


#: The members of :class:`EstimationResult`, in the order errors list what a result lacks.
RESULT_MEMBERS: tuple[str, ...] = (
    "params",
    "bse",
    "nobs",
    "tvalues",
    "pvalues",
    "vcov",
    "conf_int",
    "model",
    "formula",
    "depvar",
    "fixef_vars",
    "vcov_type",
    "ssc",
    "tol",
    "converged",
    "n_iter",
    "pseudo_r2",
    "r2",
    "dropped",
    "provenance",
    "correction",
    "with_vcov",
)


@runtime_checkable
class SplitEstimates(Protocol):
    """A split estimation's results: a mapping group -> result, and the groups that failed.

    Implemented by :class:`ca_trade.estimate.SplitResults`; tables show its groups as
    columns and its failures in a note.
    """

    @property
    def by(self) -> str:
        """The column the data were split by (``"sector"``)."""
        ...

    @property
    def failures(self) -> Mapping[Any, str]:
        """Groups that could not be estimated, with the reason."""
        ...


@runtime_checkable
class ScenarioOutcomes(Protocol):
    """What tables and figures read from a GE result (any model, with or without intervals)."""

    @property
    def countries(self) -> pd.DataFrame:
        """Per-country outcomes: ``<outcome>_pct`` (and ``_lo``/``_hi`` bounds)."""
        ...

    @property
    def flows(self) -> pd.DataFrame:
        """Per-pair flows: ``exporter``, ``importer``, ``change_pct``, ..."""
        ...


@runtime_checkable
class Predictor(Protocol):
    """A fitted model that predicts (fitted values on new data): what GEPPML baselines need."""

    def predict(self, newdata: Any = None) -> pd.Series:
        """Return fitted values (the mean) for the rows of ``newdata``."""
        ...
