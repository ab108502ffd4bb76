"""What a fit keeps: its options, its estimation sample and its fitted arrays (all frozen).

:class:`FitOptions` are the numerical options a refit on part of the sample reuses;
:class:`EstimationSample` is the estimation sample as arrays in the data's units (outcome, all
regressors of the formula, fixed-effect codes, weights, offset, and where each row came from);
:class:`FitState` is what inference, ``fixef()``, ``predict()``, ``with_vcov()`` and the bias
corrections read from a fitted model. None of them holds the caller's DataFrame: a pickled
result carries the estimation sample's arrays, not the panel.

Units: the fit runs on ``y / y_scale`` and ``X / x_scale`` (powers of two, see
:mod:`ca_trade.estimate.fit`). ``sample``, ``mu``, ``eta`` and ``fe_sum`` are in the data's
units; ``X_tilde``, ``bread``, ``weighted_residuals`` and ``rss`` in the fit's units, converted
by whoever reads them (:mod:`ca_trade.estimate.covariance`, the corrections' adapter in
:mod:`ca_trade.estimate.results`).

Examples
--------
>>> import numpy as np
>>> s = EstimationSample(y=np.array([1.0, 2.0, 3.0]), X=np.ones((3, 1)), xnames=("x",),
...                      fe_codes=(), weights=None, offset=None, rows=np.arange(3),
...                      index=np.array([10, 11, 12]))
>>> s.take(np.array([True, False, True])).index.tolist()
[10, 12]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ca_trade._typing import AnyArray, BoolArray, FloatArray, IntArray

__all__ = ["DataFingerprint", "EstimationSample", "FitOptions", "FitState", "Model"]

Model = Literal["ppml", "ols"]


@dataclass(frozen=True)
class FitOptions:
    """Numerical options of a fit (validated by :func:`ca_trade.estimate.model.check_options`).

    Attributes
    ----------
    tol : float
        Tolerance on the relative change of the deviance.
    maxiter : int
        IRLS iteration cap.
    separation : tuple of {"fe", "ir"}
        Separation checks (PPML).
    drop_singletons : bool
    fixef_tol : float
    fixef_maxiter : int
    on_maxiter : {"warn", "raise"}
    """

    tol: float = 1e-8
    maxiter: int = 1000
    separation: tuple[str, ...] = ("fe", "ir")
    drop_singletons: bool = True
    fixef_tol: float = 1e-10
    fixef_maxiter: int = 10_000
    on_maxiter: Literal["warn", "raise"] = "warn"


@dataclass(frozen=True)
class EstimationSample:
    """Rows of a model as arrays in the data's units.

    Attributes
    ----------
    y : ndarray, shape (n,)
        Outcome.
    X : ndarray, shape (n, K)
        Every regressor of the formula (collinear ones included: a refit decides again).
    xnames : tuple of str
        Names of the columns of ``X``.
    fe_codes : tuple of ndarray
        Codes per fixed effect (order-preserving: code ``a < b`` for level ``a < b``).
    weights, offset : ndarray or None
        Prior weights and offset, as given.
    rows : ndarray of int
        Positions of the rows in the caller's data.
    index : ndarray
        Their labels (the caller's index).
    """

    y: FloatArray
    X: FloatArray
    xnames: tuple[str, ...]
    fe_codes: tuple[IntArray, ...]
    weights: FloatArray | None
    offset: FloatArray | None
    rows: IntArray
    index: AnyArray

    @property
    def nobs(self) -> int:
        """Number of rows."""
        return int(self.y.shape[0])

    def take(self, keep: BoolArray | IntArray) -> EstimationSample:
        """Return the rows selected by a mask or by positions.

        Parameters
        ----------
        keep : ndarray of bool or int

        Returns
        -------
        EstimationSample
        """
        at = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep)
        rows = self.rows[at]
        return EstimationSample(
            y=self.y[at],
            X=self.X[at],
            xnames=self.xnames,
            fe_codes=tuple(c[at] for c in self.fe_codes),
            weights=None if self.weights is None else self.weights[at],
            offset=None if self.offset is None else self.offset[at],
            rows=rows,
            index=rows if self.index is self.rows else self.index[at],
        )


@dataclass(frozen=True)
class DataFingerprint:
    """Which data a model was fitted on: a hash of the columns it read, and the row count.

    ``with_vcov(vcov, data=df)`` checks ``df`` against it before reading a new cluster
    variable from it (see :func:`ca_trade.estimate.fingerprint.data_sha256`).

    Attributes
    ----------
    sha256 : str
    n_rows : int
    columns : tuple of str
        Columns hashed besides the formula's names (weights, offset, cluster variables).
    """

    sha256: str
    n_rows: int
    columns: tuple[str, ...]


@dataclass(frozen=True)
class FitState:
    """What a fitted model keeps for inference, fixed effects, prediction and corrections.

    Attributes
    ----------
    model : {"ppml", "ols"}
    sample : EstimationSample
        The estimation sample (fixed-effect codes dense, ``0..G-1``).
    options : FitOptions
    xnames : tuple of str
        The regressors estimated (collinear ones left out).
    fixef_vars : tuple of str
        Fixed effects as written in the formula.
    fe_columns : tuple of tuple of str
        The data columns of each fixed effect (to code new data in ``predict``).
    fe_levels : tuple of tuple of str
        Level labels of each fixed effect, by dense code.
    model_spec : object
        How the regressors are materialised from new data.
    clusters : mapping of str to ndarray
        Codes, on the estimation sample, of the cluster columns named at fit time (and by
        ``with_vcov(..., data=)``).
    data : DataFingerprint
        The data the model was fitted on.
    mu, eta, fe_sum : ndarray, shape (n,)
        Fitted mean, linear predictor, and the fixed effects' part of it (data's units).
    X_tilde : ndarray, shape (n, k)
        Regressors partialled out at the final working weights (fit's units).
    bread : ndarray, shape (k, k)
        ``(X~' W X~)^-1`` (fit's units).
    weighted_residuals : ndarray, shape (n,)
        ``p_i (y_i - mu_i)``, prior weight times residual (fit's units); the scores are
        ``X_tilde`` times these (:attr:`scores`), formed when the covariance needs them.
    rss : float or None
        Weighted residual sum of squares of OLS (fit's units).
    y_scale : float
        Power of two the outcome was divided by.
    x_scale : ndarray, shape (k,)
        Powers of two the regressors were divided by.
    """

    model: Model
    sample: EstimationSample
    options: FitOptions
    xnames: tuple[str, ...]
    fixef_vars: tuple[str, ...]
    fe_columns: tuple[tuple[str, ...], ...]
    fe_levels: tuple[tuple[str, ...], ...]
    model_spec: Any
    clusters: Mapping[str, IntArray]
    data: DataFingerprint
    mu: FloatArray
    eta: FloatArray
    fe_sum: FloatArray
    X_tilde: FloatArray
    bread: FloatArray
    weighted_residuals: FloatArray
    rss: float | None
    y_scale: float
    x_scale: FloatArray

    @property
    def scores(self) -> FloatArray:
        """Per-observation scores ``x~_i p_i (y_i - mu_i)``, shape ``(n, k)`` (fit's units)."""
        out = np.empty_like(self.X_tilde)
        for j in range(out.shape[1]):  # column by column: long inner loops, no broadcast
            np.multiply(self.X_tilde[:, j], self.weighted_residuals, out=out[:, j])
        return out

    @property
    def y(self) -> FloatArray:
        """Outcome of the estimation sample (data's units)."""
        return self.sample.y

    @property
    def fe_codes(self) -> tuple[IntArray, ...]:
        """Dense fixed-effect codes of the estimation sample."""
        return self.sample.fe_codes

    @property
    def prior_weights(self) -> FloatArray:
        """Prior weights (ones when the fit had none)."""
        w = self.sample.weights
        return np.ones(self.sample.nobs) if w is None else w

    @property
    def nobs(self) -> int:
        """Observations used."""
        return self.sample.nobs
