"""Weidner & Zylkin corrections of a fitted PPML gravity model, from its arrays.

:func:`correct` decides what applies to a fit (three-way: bias-corrected coefficients and the
de-biased variance; two-way: the variance only; anything else: an error naming the supported
structures), runs the analytical correction (:mod:`ca_trade.estimate.bias`) or the split-panel
jackknife (:mod:`ca_trade.estimate.jackknife`) and returns plain arrays with a provenance
record. :meth:`ca_trade.estimate.results.GravityResults.bias_corrected` wraps it.

Examples
--------
>>> from ca_trade.estimate.correction import METHODS
>>> METHODS
('analytical', 'jackknife')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ca_trade._typing import FloatArray, IntArray
from ca_trade.estimate.bias import analytical_bias, debiased_vcov
from ca_trade.estimate.jackknife import RefitFn, split_panel_jackknife
from ca_trade.estimate.structure import SUPPORTED, detect_gravity_panel
from ca_trade.exceptions import SpecificationError

__all__ = ["METHODS", "Correction", "CorrectionInputs", "correct"]


METHODS = ("analytical", "jackknife")
REFERENCE = "Weidner & Zylkin (2021), Journal of International Economics 132, 103513"


@dataclass(frozen=True)
class CorrectionInputs:
    """What the corrections read from a fit (the estimation sample's arrays).

    Attributes
    ----------
    model : {"ppml", "ols"}
    params : pandas.Series
    y, mu, prior_weights : ndarray, shape (n,)
    x_tilde : ndarray, shape (n, K)
        Regressors partialled out on the fixed effects with weights ``prior_weights * mu``.
    bread : ndarray, shape (K, K)
    fe_codes : sequence of ndarray
    fe_names : sequence of str
        The fixed effects as written in the formula.
    cluster : ndarray or None
        The fit's one-way cluster variable, if any.
    cluster_name : str or None
    refit : callable or None
        Re-estimation on a subset of the sample (needed by the jackknife).
    """

    model: Literal["ppml", "ols"]
    params: pd.Series
    y: FloatArray
    mu: FloatArray
    prior_weights: FloatArray
    x_tilde: FloatArray
    bread: FloatArray
    fe_codes: Sequence[IntArray]
    fe_names: Sequence[str]
    cluster: IntArray | None
    cluster_name: str | None
    refit: RefitFn | None


@dataclass(frozen=True)
class Correction:
    """Corrected coefficients, their covariance, the subtracted bias and a provenance record."""

    params: pd.Series
    vcov: FloatArray
    bias: pd.Series
    vcov_type: str
    description: str
    record: dict[str, Any]


def _check(inputs: CorrectionInputs, method: str) -> None:
    if method not in METHODS:
        raise SpecificationError(f"method={method!r}; use 'analytical' or 'jackknife'")
    if inputs.model != "ppml":
        raise SpecificationError(f"bias corrections apply to PPML, not {inputs.model}; {SUPPORTED}")
    if not np.all(inputs.prior_weights == 1.0):
        raise SpecificationError(
            "Weidner & Zylkin's corrections are derived for unweighted PPML; refit without weights"
        )
    if inputs.params.shape[0] == 0:
        raise SpecificationError("the model has no regressors to correct")


def correct(
    inputs: CorrectionInputs,
    method: Literal["analytical", "jackknife"] = "analytical",
    *,
    splits: int = 1,
    seed: int = 0,
) -> Correction:
    """Apply Weidner & Zylkin's correction that fits the model's fixed-effect structure.

    Parameters
    ----------
    inputs : CorrectionInputs
    method : {"analytical", "jackknife"}, default "analytical"
    splits, seed : int
        Jackknife only: number of random splits averaged and their seed.

    Returns
    -------
    Correction

    Raises
    ------
    SpecificationError
        OLS, weighted fits, unsupported fixed-effect structures, or the jackknife on a
        two-way model (which has no incidental-parameter bias to remove).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> i, j, t = np.meshgrid(np.arange(5), np.arange(5), np.arange(3), indexing="ij")
    >>> keep = (i != j).ravel()
    >>> i, j, t = i.ravel()[keep], j.ravel()[keep], t.ravel()[keep]
    >>> rng = np.random.default_rng(0)
    >>> xt = rng.normal(size=(i.size, 1))
    >>> mu = np.ones(i.size)
    >>> inp = CorrectionInputs("ppml", pd.Series({"x": 0.1}), mu + 0.1 * xt[:, 0], mu, mu, xt,
    ...     np.linalg.inv(xt.T @ xt), [i * 9 + t, j * 9 + t], ["it", "jt"], i * 9 + j, "p", None)
    >>> c = correct(inp)
    >>> float(c.bias["x"]), c.vcov_type
    (0.0, 'WZ de-biased: p')
    """
    _check(inputs, method)
    panel = detect_gravity_panel(inputs.fe_codes, inputs.cluster)
    names = list(inputs.fe_names)
    roles = {role: names[k] for role, k in panel.roles.items()}
    pair_name = roles.get("pair", inputs.cluster_name or "pair")
    params = inputs.params
    record: dict[str, Any] = {
        "method": method,
        "structure": panel.kind,
        "fixed_effects": roles,
        "cluster": pair_name,
        "n_exporters": panel.n_exporters,
        "n_importers": panel.n_importers,
        "n_periods": panel.n_periods,
        "n_pairs": panel.n_pairs,
        "reference": REFERENCE,
    }
    vcov = debiased_vcov(inputs.y, inputs.mu, inputs.x_tilde, inputs.bread, panel)
    if panel.kind == "two-way":
        if method == "jackknife":
            raise SpecificationError(
                "two-way PPML has no incidental-parameter bias to remove; "
                "use method='analytical' for the de-biased variance"
            )
        bias = pd.Series(0.0, index=params.index, name="bias")
        corrected = params.copy()
        text = "Weidner & Zylkin (2021) de-biased pair-clustered SE (two-way: estimates unchanged)"
    elif method == "analytical":
        b = analytical_bias(inputs.y, inputs.mu, inputs.x_tilde, inputs.bread, panel)
        bias = pd.Series(b, index=params.index, name="bias")
        corrected = params - bias
        text = "Weidner & Zylkin (2021) analytical bias correction, de-biased pair-clustered SE"
    else:
        if inputs.refit is None:
            raise SpecificationError("the jackknife needs the fit's data to re-estimate subpanels")
        jk = split_panel_jackknife(
            params, panel.exporter, panel.importer, inputs.refit, splits=splits, seed=seed
        )
        bias, corrected = jk.bias, jk.params
        record.update(
            splits=splits,
            seed=seed,
            subsample_nobs=[int(n) for n in jk.subsample_params["nobs"]],
        )
        text = (
            f"Weidner & Zylkin (2021) split-panel jackknife bias correction ({splits} split(s), "
            f"seed {seed}), de-biased pair-clustered SE"
        )
    record["bias"] = {str(k): float(v) for k, v in bias.items()}
    if not (np.all(np.isfinite(corrected.to_numpy())) and np.all(np.isfinite(vcov))):
        raise SpecificationError("the correction produced non-finite numbers; check the fit")
    return Correction(
        params=pd.Series(corrected.to_numpy(), index=params.index, name=params.name),
        vcov=vcov,
        bias=bias,
        vcov_type=f"WZ de-biased: {pair_name}",
        description=text,
        record=record,
    )
