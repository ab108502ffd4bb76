"""Covariance estimators of a fitted model, chosen from one registry.

Each ``vcov=`` option names a small frozen object that carries its settings (the cluster
variables, the small-sample convention ``ssc``) and its label (``"CRV1: pair"``), and computes
its matrix from a :class:`~ca_trade.estimate.state.FitState`:

=============  ===================  ==========================================================
``vcov=``      estimator            matrix
=============  ===================  ==========================================================
``"iid"``      :class:`IID`         model-based (Poisson variance; ``sigma^2`` for OLS)
``"hetero"``   :class:`Hetero`      heteroskedasticity-robust sandwich (aliases ``"HC1"``,
                                    ``"robust"``)
``{"CRV1":}``  :class:`CRV1`        one- or two-way (``"a+b"``) cluster-robust sandwich
``{"CRV3":}``  :class:`CRV3`        leave-one-cluster-out (:mod:`ca_trade.estimate.crv3`)
=============  ===================  ==========================================================

The sandwiches and small-sample factors are in :mod:`ca_trade.estimate.vcov`. The fit runs on
``y / y_scale`` and ``X / x_scale``; :func:`covariance` computes every matrix in the fit's
units and converts it to the data's units once, here.

Examples
--------
>>> est = covariance_estimator({"CRV1": "exporter+importer"}, "stata")
>>> type(est).__name__, est.label, est.cluster
('CRV1', 'CRV1: exporter+importer', ('exporter', 'importer'))
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from ca_trade._typing import FloatArray, IntArray
from ca_trade.estimate.crv3 import crv3_factor, crv3_vcov
from ca_trade.estimate.state import FitState
from ca_trade.estimate.vcov import (
    VcovKind,
    cluster_codes,
    fe_dof,
    fe_dof_fixest,
    is_nested,
    parse_vcov,
    sandwich_vcov,
    vcov_label,
)
from ca_trade.exceptions import ConvergenceError, SpecificationError

__all__ = [
    "CRV1",
    "CRV3",
    "ESTIMATORS",
    "IID",
    "CovarianceEstimator",
    "Hetero",
    "Ssc",
    "check_ssc",
    "clusters_of",
    "covariance",
    "covariance_estimator",
]

Ssc = Literal["stata", "fixest"]


def check_ssc(ssc: Any) -> Ssc:
    """Validate a small-sample convention.

    Parameters
    ----------
    ssc : str

    Returns
    -------
    {"stata", "fixest"}

    Examples
    --------
    >>> check_ssc("fixest")
    'fixest'
    """
    if ssc == "stata":
        return "stata"
    if ssc == "fixest":
        return "fixest"
    raise SpecificationError(f"ssc={ssc!r}; use 'stata' or 'fixest'")


@dataclass(frozen=True)
class CovarianceEstimator(ABC):
    """A covariance type with its settings; :meth:`matrix` computes it in the fit's units.

    Attributes
    ----------
    ssc : {"stata", "fixest"}
        Small-sample convention.
    cluster : tuple of str
        Cluster variables (empty unless clustered).
    """

    kind: ClassVar[VcovKind]
    ssc: Ssc = "stata"
    cluster: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """Human-readable type, e.g. ``"CRV1: pair"``."""
        return vcov_label(self.kind, self.cluster)

    def absorbed(self, fe_codes: Sequence[IntArray], clusters: Sequence[IntArray]) -> int:
        """Degrees of freedom absorbed by the fixed effects under this type's convention."""
        if self.ssc == "fixest":
            return fe_dof_fixest(fe_codes, clusters if self.cluster else ())
        nested = [
            bool(self.cluster) and any(is_nested(f, c) for c in clusters[:1]) for f in fe_codes
        ]
        return fe_dof(fe_codes, nested)

    @abstractmethod
    def matrix(self, state: FitState, clusters: Sequence[IntArray]) -> FloatArray:
        """Return the covariance in the fit's units (outcome / ``y_scale``, X / ``x_scale``)."""

    def _sandwich(self, state: FitState, clusters: Sequence[IntArray]) -> FloatArray:
        n, k = state.X_tilde.shape
        return sandwich_vcov(
            state.bread,
            state.scores,
            kind=self.kind,
            model=state.model,
            ssc=self.ssc,
            n=n,
            k=k,
            k_fe=self.absorbed(state.fe_codes, clusters),
            clusters=clusters,
            sigma2_rss=state.rss,
        )


@dataclass(frozen=True)
class IID(CovarianceEstimator):
    """Model-based covariance: Poisson variance (PPML), ``sigma^2 (X~'WX~)^-1`` (OLS)."""

    kind: ClassVar[VcovKind] = "iid"

    def matrix(self, state: FitState, clusters: Sequence[IntArray]) -> FloatArray:
        """Return the covariance in the fit's units."""
        return self._sandwich(state, clusters)


@dataclass(frozen=True)
class Hetero(CovarianceEstimator):
    """Heteroskedasticity-robust sandwich."""

    kind: ClassVar[VcovKind] = "hetero"

    def matrix(self, state: FitState, clusters: Sequence[IntArray]) -> FloatArray:
        """Return the covariance in the fit's units."""
        return self._sandwich(state, clusters)


@dataclass(frozen=True)
class CRV1(CovarianceEstimator):
    """Cluster-robust sandwich, one-way or two-way (Cameron, Gelbach & Miller)."""

    kind: ClassVar[VcovKind] = "CRV1"

    def matrix(self, state: FitState, clusters: Sequence[IntArray]) -> FloatArray:
        """Return the covariance in the fit's units."""
        return self._sandwich(state, clusters)


@dataclass(frozen=True)
class CRV3(CovarianceEstimator):
    """Leave-one-cluster-out: exact for OLS, a one-step leave-out update for PPML."""

    kind: ClassVar[VcovKind] = "CRV3"

    def matrix(self, state: FitState, clusters: Sequence[IntArray]) -> FloatArray:
        """Return the covariance in the fit's units (scaled back by :func:`covariance`)."""
        k = state.X_tilde.shape[1]
        s = state.y_scale
        y, mu, p = state.y / s, state.mu / s, state.prior_weights
        if state.model == "ppml":
            w, u = p * mu, (y - mu) / mu
        else:
            w, u = p, y - mu
        cluster = clusters[0]
        g = int(np.unique(cluster).shape[0])
        factor = crv3_factor(
            self.ssc, g, int(y.shape[0]), k + self.absorbed(state.fe_codes, clusters)
        )
        return crv3_vcov(state.X_tilde, w, u, state.bread, state.fe_codes, cluster, factor=factor)


#: The registry: ``vcov=`` kinds to their estimators.
ESTIMATORS: Mapping[VcovKind, type[CovarianceEstimator]] = {
    "iid": IID,
    "hetero": Hetero,
    "CRV1": CRV1,
    "CRV3": CRV3,
}


def covariance_estimator(vcov: Any, ssc: Any = "stata") -> CovarianceEstimator:
    """Return the estimator a ``vcov=`` option selects, with its settings.

    Parameters
    ----------
    vcov : str or dict
        ``"iid"``, ``"hetero"`` (``"HC1"``, ``"robust"``), ``{"CRV1": "a"}``,
        ``{"CRV1": "a+b"}`` or ``{"CRV3": "a"}``.
    ssc : {"stata", "fixest"}, default "stata"

    Returns
    -------
    CovarianceEstimator

    Raises
    ------
    SpecificationError
        An unsupported option.

    Examples
    --------
    >>> covariance_estimator("robust").label
    'hetero'
    """
    kind, names = parse_vcov(vcov)
    return ESTIMATORS[kind](ssc=check_ssc(ssc), cluster=names)


def clusters_of(
    state: FitState,
    names: Sequence[str],
    data: pd.DataFrame | None = None,
    vcov: Any = None,
) -> list[IntArray]:
    """Codes of cluster variables on the estimation sample.

    A fixed effect of the formula takes its codes; a column named at fit time its stored
    codes; any other column is read from ``data`` (the data the model was fitted on).

    Parameters
    ----------
    state : FitState
    names : sequence of str
    data : pandas.DataFrame, optional
    vcov : str or dict, optional
        Quoted in the errors.

    Returns
    -------
    list of ndarray

    Raises
    ------
    SpecificationError
        A column that was not named at fit time, without ``data``.
    """
    out: list[IntArray] = []
    for c in names:
        if c in state.fixef_vars:
            out.append(np.asarray(state.fe_codes[state.fixef_vars.index(c)], dtype=np.int64))
        elif c in state.clusters:
            out.append(state.clusters[c])
        elif data is not None:
            out.extend(cluster_codes([c], data, state.sample.rows, (), (), vcov))
        else:
            raise SpecificationError(
                f"cluster variable {c!r} was not named when the model was fitted, and a fit "
                "keeps no copy of the data; pass the data it was fitted on, "
                f"res.with_vcov({vcov!r}, data=df), or estimate again with vcov={vcov!r}"
            )
    return out


def covariance(
    state: FitState, estimator: CovarianceEstimator, clusters: Sequence[IntArray]
) -> FloatArray:
    """Return the covariance of a fitted model in the data's units.

    Parameters
    ----------
    state : FitState
    estimator : CovarianceEstimator
    clusters : sequence of ndarray
        Codes of ``estimator.cluster`` (:func:`clusters_of`).

    Returns
    -------
    ndarray, shape (k, k)

    Raises
    ------
    ConvergenceError
        When the matrix cannot be represented in float64.
    """
    scaled = estimator.matrix(state, clusters)
    # the fit ran on y / s and X / x_scale: OLS variances scale with s**2; PPML's sandwich is
    # invariant, but its model-based (iid) variance is the inverse information (scales with
    # 1 / s); and the covariance of b = b_s / x_scale is divided by x_scale x_scale'
    s, xs = state.y_scale, state.x_scale
    with np.errstate(over="ignore", under="ignore"):
        v = scaled * (
            s * s if state.model == "ols" else 1.0 / s if estimator.kind == "iid" else 1.0
        )
        if len(xs):
            v = v / np.outer(xs, xs)
    lost = (np.diag(scaled) > 0) & ~(np.diag(v) > 0)
    if not np.all(np.isfinite(v)) or lost.any():
        names = list(state.xnames)
        bad = [names[j] for j in np.flatnonzero(lost | ~np.isfinite(np.diag(v)))] if names else []
        raise ConvergenceError(
            f"{state.model} covariance ({estimator.label}) cannot be represented in "
            f"float64 (variances of {bad or 'some regressors'} overflow or underflow). "
            "Rescale the outcome or the regressors (e.g. divide by a power of ten) and check "
            "them for extreme values."
        )
    return v
