"""Estimation results: :class:`GravityResults`, immutable, with lazily computed statistics.

Examples
--------
>>> import numpy as np, pandas as pd
>>> import ca_trade as ct
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"x": rng.normal(size=200), "g": rng.integers(0, 5, 200)})
>>> df["y"] = rng.poisson(np.exp(0.5 * df["x"]))
>>> res = ct.ppml("y ~ x | g", df)
>>> res.model, res.fixef_vars, res.vcov_type
('ppml', ['g'], 'hetero')
>>> bool(abs(res.params["x"] - 0.5) < 0.2)
True
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from ca_trade._typing import AnyArray, FloatArray, IntArray
from ca_trade.estimate.correction import CorrectionInputs, correct
from ca_trade.estimate.covariance import clusters_of, covariance, covariance_estimator
from ca_trade.estimate.fingerprint import data_sha256
from ca_trade.estimate.fit import Refit
from ca_trade.estimate.formula import fe_codes, materialise_regressors, to_pandas
from ca_trade.estimate.state import FitState
from ca_trade.estimate.vcov import parse_vcov
from ca_trade.exceptions import SpecificationError

__all__ = ["BiasCorrectedResults", "Dropped", "GravityResults"]


REASONS = ("missing", "non_finite", "zero_weight", "singleton", "separation_fe", "separation_ir")


class Dropped(Mapping[str, AnyArray]):
    """Rows removed before estimation, by reason: ``dropped["singleton"]`` are row labels.

    Reasons, in the order they are applied: ``missing`` (an NA-type value -- NaN, None,
    ``pd.NA``, ``NaT``, a polars null -- in the outcome, a regressor, a fixed effect, the
    weights, the offset or a cluster variable), ``non_finite`` (no missing value, but ``±inf``
    in one of them, or an outcome or regressor that is non-finite after its transform, e.g.
    ``log(0)``), ``zero_weight`` (a weight of 0), ``singleton`` (alone in a fixed-effect
    level), ``separation_fe`` (in a fixed-effect level whose outcome is all zero),
    ``separation_ir`` (separated by the iterated rectifier).

    Parameters
    ----------
    rows : dict of str to ndarray
        Row labels (the input DataFrame's index) per reason.

    Examples
    --------
    >>> import numpy as np
    >>> d = Dropped({"missing": np.array([3])})
    >>> d.counts["missing"], d.counts["singleton"], d.total
    (1, 0, 1)
    """

    def __init__(self, rows: Mapping[str, AnyArray]) -> None:
        unknown = set(rows) - set(REASONS)
        if unknown:
            raise ValueError(f"unknown drop reasons {sorted(unknown)}")
        self._rows = {r: np.asarray(rows.get(r, np.array([], dtype=np.int64))) for r in REASONS}

    def __getitem__(self, key: str) -> AnyArray:
        return self._rows[key]

    def __iter__(self) -> Iterator[str]:
        return iter(REASONS)

    def __len__(self) -> int:
        return len(REASONS)

    @property
    def counts(self) -> dict[str, int]:
        """Number of rows removed per reason."""
        return {r: int(self._rows[r].shape[0]) for r in REASONS}

    @property
    def total(self) -> int:
        """Total number of rows removed."""
        return sum(self.counts.values())

    def __repr__(self) -> str:
        return f"Dropped({self.counts})"


class NormalInference:
    """Normal-based inference from ``params`` and ``vcov``, shared by every results class.

    Subclasses provide ``params`` (pandas Series) and ``vcov`` (pandas DataFrame); z statistics,
    two-sided p-values and confidence intervals use the normal distribution, as ppmlhdfe.
    """

    params: pd.Series
    vcov: pd.DataFrame

    @property
    def bse(self) -> pd.Series:
        """Standard errors."""
        return pd.Series(np.sqrt(np.diag(self.vcov.to_numpy(dtype=float))), index=self.params.index)

    @property
    def tvalues(self) -> pd.Series:
        """Return z statistics ``params / bse``."""
        return self.params / self.bse

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values from the normal distribution (as ppmlhdfe)."""
        p = 2 * stats.norm.sf(np.abs(self.tvalues.to_numpy(dtype=float)))
        return pd.Series(p, index=self.params.index)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Return normal confidence intervals.

        Parameters
        ----------
        alpha : float, default 0.05
            One minus the confidence level.

        Returns
        -------
        pandas.DataFrame
            Columns ``lower`` and ``upper``.

        Examples
        --------
        >>> import numpy as np, pandas as pd, ca_trade as ct
        >>> df = pd.DataFrame({"y": [1.0, 2, 3, 5, 4, 6], "x": [0.0, 1, 2, 3, 2, 4]})
        >>> list(ct.ols("y ~ x", df).conf_int().columns)
        ['lower', 'upper']
        """
        if not 0 < alpha < 1:
            raise SpecificationError(f"alpha={alpha} must be between 0 and 1")
        q = stats.norm.ppf(1 - alpha / 2)
        return pd.DataFrame(
            {"lower": self.params - q * self.bse, "upper": self.params + q * self.bse}
        )


@dataclass(frozen=True, eq=False)
class GravityResults(NormalInference):
    """Result of :func:`ca_trade.ppml` or :func:`ca_trade.ols`; immutable.

    Attributes
    ----------
    model : {"ppml", "ols"}
    formula, depvar : str
    fixef_vars : list of str
        Fixed effects as written in the formula.
    params : pandas.Series
        Coefficients, indexed by regressor (collinear regressors are left out and listed
        in ``collinear``).
    vcov : pandas.DataFrame
    vcov_type : str
        ``"iid"``, ``"hetero"``, ``"CRV1: pair"``, ...
    ssc : {"stata", "fixest"}
    nobs : int
        Observations used.
    deviance, null_deviance : float
        Poisson deviance (PPML) or weighted residual / total sum of squares (OLS).
    converged : bool
        False at the iteration cap, or when separated observations (separation checks off or
        partial) make some estimates diverge; see ``SeparationWarning``.
    n_iter : int
    dropped : Dropped
    collinear : list of str
    tol : float
    provenance : dict
    correction : str
        The bias correction applied (empty for a plain fit; see :meth:`bias_corrected`).
    """

    model: Literal["ppml", "ols"]
    formula: str
    depvar: str
    fixef_vars: list[str]
    params: pd.Series
    vcov: pd.DataFrame
    vcov_type: str
    ssc: Literal["stata", "fixest"]
    nobs: int
    deviance: float
    null_deviance: float
    converged: bool
    n_iter: int
    dropped: Dropped
    collinear: list[str]
    tol: float
    provenance: dict[str, Any]
    # what inference, fixef(), predict(), with_vcov() and the corrections read
    _state: FitState = field(repr=False)
    correction: str = ""

    # -- inference -------------------------------------------------------------------------
    # -- fit statistics --------------------------------------------------------------------
    @cached_property
    def pseudo_r2(self) -> float:
        """McFadden-type deviance pseudo-R² ``1 - deviance / null_deviance`` (PPML)."""
        return float(1.0 - self.deviance / self.null_deviance) if self.null_deviance else np.nan

    @cached_property
    def r2(self) -> float:
        """R² ``1 - RSS / TSS`` (OLS; for PPML equal to :attr:`pseudo_r2`)."""
        return self.pseudo_r2

    @cached_property
    def r2_corr(self) -> float:
        """Squared correlation between outcome and fitted values (fixest's PPML R²)."""
        return float(np.corrcoef(self._state.y, self._state.mu)[0, 1] ** 2)

    # -- fixed effects and prediction ------------------------------------------------------
    def fixef(self) -> dict[str, pd.Series]:
        """Recovered fixed effects, one Series per fixed effect indexed by level label.

        Normalisation: every fixed effect but the first has its first level (sorted label
        order) at 0; the first absorbs the constant. Fitted values do not depend on it.

        Returns
        -------
        dict of str to pandas.Series

        Examples
        --------
        >>> import pandas as pd, ca_trade as ct
        >>> df = pd.DataFrame({"y": [1.0, 2, 3, 4], "x": [0.0, 1, 0, 2], "g": list("aabb")})
        >>> sorted(ct.ols("y ~ x | g", df).fixef()["g"].index)
        ['a', 'b']
        """
        return dict(self._fixed_effects)

    @cached_property
    def _fixed_effects(self) -> dict[str, pd.Series]:
        st = self._state
        out = _recover_fixef(st.fe_sum, st.fe_codes, st.fe_levels)
        return dict(zip(self.fixef_vars, out))

    def predict(
        self,
        newdata: Any = None,
        type: Literal["response", "link"] = "response",
        offset: npt.ArrayLike | None = None,
    ) -> pd.Series:
        """Predictions including fixed effects.

        Parameters
        ----------
        newdata : DataFrame, optional
            Rows to predict; rows with an unknown fixed-effect level get NaN. ``None``
            returns the fitted values of the estimation sample.
        type : {"response", "link"}, default "response"
            ``exp(eta)`` or ``eta`` for PPML (identical for OLS).
        offset : array_like, optional
            Offset for ``newdata`` (added to the linear predictor).

        Returns
        -------
        pandas.Series

        Examples
        --------
        >>> import pandas as pd, ca_trade as ct
        >>> df = pd.DataFrame({"y": [1.0, 2, 3, 4], "x": [0.0, 1, 0, 2], "g": list("aabb")})
        >>> res = ct.ols("y ~ x | g", df)
        >>> bool(abs(res.predict(df).iloc[0] - res.predict().iloc[0]) < 1e-9)
        True
        """
        if type not in ("response", "link"):
            raise SpecificationError(f"type={type!r}; use 'response' or 'link'")
        st = self._state
        if newdata is None:
            eta = pd.Series(st.eta, index=st.sample.index)
        else:
            eta = _link(self, newdata, offset)
        if self.model == "ppml" and type == "response":
            return pd.Series(np.exp(eta.to_numpy()), index=eta.index)
        return eta

    # -- alternative covariances -----------------------------------------------------------
    def with_vcov(
        self,
        vcov: Any,
        ssc: Literal["stata", "fixest"] | None = None,
        *,
        data: Any = None,
    ) -> GravityResults:
        """Return the same fit with another covariance matrix (fixest's ``summary(vcov=)``).

        A fit keeps the codes of the cluster variables named in its own ``vcov`` and of its
        fixed effects, not the data: clustering by another column needs the data the model
        was fitted on (checked against the fingerprint in ``provenance``).

        Parameters
        ----------
        vcov : str or dict
            As in :func:`ca_trade.ppml`.
        ssc : {"stata", "fixest"}, optional
            Small-sample convention; defaults to this result's.
        data : pandas.DataFrame or polars.DataFrame, optional
            The data of the fit, for a cluster variable that was not named at fit time.

        Returns
        -------
        GravityResults

        Raises
        ------
        SpecificationError
            An unsupported option; a cluster column not named at fit time without ``data``;
            ``data`` that is not the data of the fit.

        Examples
        --------
        >>> import pandas as pd, ca_trade as ct
        >>> df = pd.DataFrame({"y": [1.0, 2, 3, 5, 4, 6], "x": [0.0, 1, 2, 3, 2, 4],
        ...                    "g": list("aabbcc")})
        >>> res = ct.ols("y ~ x", df)
        >>> res.with_vcov("iid").vcov_type
        'iid'
        >>> res.with_vcov({"CRV1": "g"}, data=df).vcov_type
        'CRV1: g'
        """
        estimator = covariance_estimator(vcov, self.ssc if ssc is None else ssc)
        frame = None if data is None else self._fitted_data(data)
        st = self._state
        codes = clusters_of(st, estimator.cluster, frame, vcov)
        named = dict(zip(estimator.cluster, codes))
        fresh = {c: k for c, k in named.items() if c not in st.fixef_vars}
        state = replace(st, clusters={**st.clusters, **fresh}) if fresh else st
        v = covariance(state, estimator, codes)
        vdf = pd.DataFrame(v, index=self.params.index, columns=self.params.index)
        prov = dict(self.provenance)
        prov["options"] = {**prov.get("options", {}), "vcov": vcov, "ssc": estimator.ssc}
        return replace(
            self,
            vcov=vdf,
            vcov_type=estimator.label,
            ssc=estimator.ssc,
            provenance=prov,
            _state=state,
        )

    def _fitted_data(self, data: Any) -> pd.DataFrame:
        """Return ``data`` as pandas after checking that it is the data of this fit."""
        df = to_pandas(data)
        key = self._state.data
        if len(df) != key.n_rows or data_sha256(df, self.formula, key.columns) != key.sha256:
            raise SpecificationError(
                f"the data given ({len(df)} rows) is not the data this model was fitted on "
                f"({key.n_rows} rows, sha256 {key.sha256[:12]}... of the columns of the "
                "formula, weights, offset and cluster variables); pass the same DataFrame"
            )
        return df

    # -- Weidner & Zylkin corrections ------------------------------------------------------
    def bias_corrected(
        self,
        method: Literal["analytical", "jackknife"] = "analytical",
        *,
        splits: int = 1,
        seed: int = 0,
    ) -> BiasCorrectedResults:
        """Weidner & Zylkin (2021) bias-corrected estimates and de-biased standard errors.

        Three-way PPML (exporter-time, importer-time and pair fixed effects, recognised from
        the fixed-effect codes whatever the columns are called): ``params`` = estimate minus
        the incidental-parameter bias, ``vcov`` = the locally de-biased pair-clustered
        covariance, ``bias`` = what was subtracted. Two-way PPML (exporter-time and
        importer-time effects on a panel, fitted with pair clusters): estimates unchanged,
        de-biased covariance. This result is left as it is. Methods: see
        ``docs/methods-estimation.md`` and :mod:`ca_trade.estimate.bias`.

        Parameters
        ----------
        method : {"analytical", "jackknife"}, default "analytical"
            The analytical correction of ``ppml_fe_bias``, or the split-panel jackknife
            (re-estimates the four exporter-half x importer-half subpanels).
        splits : int, default 1
            Jackknife only: random splits averaged.
        seed : int, default 0
            Jackknife only: seed of the splits.

        Returns
        -------
        BiasCorrectedResults

        Raises
        ------
        SpecificationError
            OLS, weighted fits and other fixed-effect structures (the message names the
            supported ones).

        Examples
        --------
        >>> import numpy as np, pandas as pd, ca_trade as ct
        >>> rng = np.random.default_rng(0)
        >>> i, j, t = (a.ravel() for a in np.meshgrid(*[np.arange(8)] * 2, np.arange(4),
        ...                                              indexing="ij"))
        >>> df = pd.DataFrame({"i": i, "j": j, "t": t})[i != j]
        >>> df["x"] = rng.normal(size=len(df))
        >>> df["y"] = rng.poisson(np.exp(1 + 0.5 * df["x"]))
        >>> res = ct.ppml("y ~ x | i^t + j^t + i^j", df, vcov={"CRV1": "i^j"})
        >>> bc = res.bias_corrected()
        >>> bc.correction.startswith("Weidner & Zylkin"), bool(bc.bse["x"] > res.bse["x"])
        (True, True)
        """
        if splits < 1:
            raise SpecificationError(f"splits={splits}; use at least 1")
        corr = correct(_correction_inputs(self), method, splits=splits, seed=seed)
        prov = dict(self.provenance)
        prov["bias_correction"] = corr.record
        vdf = pd.DataFrame(corr.vcov, index=self.params.index, columns=self.params.index)
        return BiasCorrectedResults(
            **{f.name: getattr(self, f.name) for f in fields(GravityResults)}
            | {
                "params": corr.params,
                "vcov": vdf,
                "vcov_type": corr.vcov_type,
                "provenance": prov,
                "correction": corr.description,
            },
            bias=corr.bias,
            uncorrected=self,
        )

    # -- display ---------------------------------------------------------------------------
    def _table(self) -> pd.DataFrame:
        ci = self.conf_int()
        return pd.DataFrame(
            {
                "coef": self.params,
                "std err": self.bse,
                "z": self.tvalues,
                "P>|z|": self.pvalues,
                "[0.025": ci["lower"],
                "0.975]": ci["upper"],
            }
        )

    def _header(self) -> list[tuple[str, str]]:
        fit = (
            [("Deviance", f"{self.deviance:.6g}"), ("Pseudo R2", f"{self.pseudo_r2:.4f}")]
            if self.model == "ppml"
            else [("RSS", f"{self.deviance:.6g}"), ("R2", f"{self.r2:.4f}")]
        )
        return [
            ("Model", "PPML (Poisson PML)" if self.model == "ppml" else "OLS"),
            ("Dep. variable", self.depvar),
            ("Observations", f"{self.nobs:,}"),
            ("Fixed effects", ", ".join(self.fixef_vars) or "none"),
            ("Covariance", f"{self.vcov_type} (ssc={self.ssc})"),
            *fit,
            ("Converged", f"{self.converged} ({self.n_iter} iterations)"),
            ("Dropped", ", ".join(f"{k} {v}" for k, v in self.dropped.counts.items() if v) or "0"),
        ]

    def summary(self) -> str:
        """Text summary: header, coefficient table, dropped rows and collinear regressors.

        Returns
        -------
        str

        Examples
        --------
        >>> import pandas as pd, ca_trade as ct
        >>> df = pd.DataFrame({"y": [1.0, 2, 3, 5, 4, 6], "x": [0.0, 1, 2, 3, 2, 4]})
        >>> "Observations" in ct.ols("y ~ x", df).summary()
        True
        """
        lines = [f"{k:<15}{v}" for k, v in self._header()]
        tab = self._table().to_string(float_format=lambda v: f"{v:.6g}")
        lines += ["", tab]
        if self.collinear:
            lines.append(f"Dropped as collinear: {', '.join(self.collinear)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        head = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in self._header()
        )
        tab = self._table().to_html(float_format=lambda v: f"{v:.6g}")
        return f"<table>{head}</table>{tab}"


@dataclass(frozen=True, eq=False)
class BiasCorrectedResults(GravityResults):
    """A :class:`GravityResults` with Weidner & Zylkin's corrections applied; immutable.

    ``params`` are the corrected estimates, ``vcov``/``bse`` the de-biased pair-clustered
    covariance; fixed effects and predictions are those of the uncorrected fit.

    Attributes
    ----------
    bias : pandas.Series
        The subtracted bias (zero for two-way models).
    uncorrected : GravityResults
        The original fit.
    """

    bias: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    uncorrected: GravityResults | None = field(default=None, repr=False)

    def with_vcov(
        self,
        vcov: Any,
        ssc: Literal["stata", "fixest"] | None = None,
        *,
        data: Any = None,
    ) -> GravityResults:
        """Not available: the covariance is part of the correction (use ``uncorrected``).

        Parameters
        ----------
        vcov : str or dict
        ssc : {"stata", "fixest"}, optional
        data : DataFrame, optional

        Returns
        -------
        GravityResults
        """
        raise SpecificationError(
            "a bias-corrected result carries the de-biased covariance; call with_vcov on "
            "res.uncorrected instead"
        )

    def bias_corrected(
        self,
        method: Literal["analytical", "jackknife"] = "analytical",
        *,
        splits: int = 1,
        seed: int = 0,
    ) -> BiasCorrectedResults:
        """Not available: the result is already corrected.

        Parameters
        ----------
        method : {"analytical", "jackknife"}
        splits, seed : int

        Returns
        -------
        BiasCorrectedResults
        """
        raise SpecificationError("this result is already bias-corrected")

    def _table(self) -> pd.DataFrame:
        tab = super()._table()
        tab.insert(1, "bias", self.bias.reindex(tab.index))
        return tab

    def _header(self) -> list[tuple[str, str]]:
        return [*super()._header(), ("Correction", self.correction)]


def _correction_inputs(res: GravityResults) -> CorrectionInputs:
    """Read what the corrections need from a fit's stored state (the one place that does)."""
    st = res._state
    kind, names = parse_vcov(res.provenance.get("options", {}).get("vcov", "hetero"))
    cluster = None
    if kind in ("CRV1", "CRV3") and len(names) == 1:
        (cluster,) = clusters_of(st, names)
    # the fit ran on y / y_scale and X / x_scale; the corrections work in the data's units:
    # x~ = x~_fit * x_scale and (X~'WX~)^-1 = bread_fit / (x_scale x_scale'), / y_scale for
    # PPML (its weights are the fitted means)
    xs = st.x_scale
    s = st.y_scale
    bread = st.bread / np.outer(xs, xs) / (s if res.model == "ppml" else 1.0)
    return CorrectionInputs(
        model=res.model,
        params=res.params,
        y=st.y,
        mu=st.mu,
        prior_weights=st.prior_weights,
        x_tilde=st.X_tilde * xs,
        bread=bread,
        fe_codes=st.fe_codes,
        fe_names=res.fixef_vars,
        cluster=cluster,
        cluster_name=names[0] if cluster is not None else None,
        refit=Refit(res.model, res.depvar, st.sample, st.options),
    )


def _recover_fixef(
    fe_sum: FloatArray, codes: Sequence[IntArray], levels: Sequence[Sequence[str]]
) -> list[pd.Series]:
    """Solve ``D a = fe_sum`` by alternating projections, then normalise."""
    n_fe = len(codes)
    alphas = [np.zeros(len(lv)) for lv in levels]
    counts = [np.bincount(c, minlength=len(lv)).astype(float) for c, lv in zip(codes, levels)]
    resid = fe_sum.astype(np.float64).copy()
    scale = max(float(np.abs(fe_sum).max()) if fe_sum.size else 0.0, 1.0)
    for _ in range(100_000 if n_fe > 1 else 1):
        change = 0.0
        for d in range(n_fe):
            m = np.bincount(codes[d], weights=resid, minlength=len(levels[d])) / counts[d]
            alphas[d] += m
            resid -= m[codes[d]]
            change = max(change, float(np.abs(m).max()))
        if change <= 1e-13 * scale:
            break
    out = []
    for d in range(n_fe):
        order = np.argsort(np.asarray(levels[d], dtype=object), kind="stable")
        if d > 0:
            ref = alphas[d][order[0]]
            alphas[d] = alphas[d] - ref
            alphas[0] = alphas[0] + ref
    for d in range(n_fe):
        s = pd.Series(alphas[d], index=pd.Index(levels[d], name=None), dtype=np.float64)
        out.append(s.sort_index())
    return out


def _link(res: GravityResults, newdata: Any, offset: npt.ArrayLike | None) -> pd.Series:
    df = to_pandas(newdata)
    st = res._state
    eta = np.zeros(len(df))
    if len(res.params):
        xm = materialise_regressors(st.model_spec, df)
        eta += xm[list(res.params.index)].to_numpy(dtype=np.float64) @ res.params.to_numpy()
    fx = res.fixef()
    for name, cols in zip(res.fixef_vars, st.fe_columns):
        codes, labels = fe_codes(df, cols)
        vals = fx[name].reindex(pd.Index(labels)).to_numpy()
        eta += np.where(codes >= 0, vals[np.maximum(codes, 0)], np.nan)
    if offset is not None:
        eta += np.asarray(offset, dtype=np.float64)
    return pd.Series(eta, index=df.index)
