r"""Baselines for GE counterfactuals: observed flows, or PPML-fitted flows (GEPPML).

Anderson, Larch & Yotov (2018, 'GEPPML') build the baseline from the fitted values of the
gravity regression. With exporter and importer fixed effects the PPML first-order conditions
make fitted sales and spending equal observed ones, so for a given trade-cost index
:math:`\ln t_{ij} = x_{ij}'\hat\beta` the fitted flows are the unique
:math:`\hat X_{ij} = a_i b_j t_{ij}` with row sums :math:`Y_i` and column sums :math:`E_j`
(:func:`fitted_flows`, solved by bi-proportional scaling in logs).

For a regression with pair fixed effects, pairs that never trade have no pair effect; the
two-stage procedure (Anderson & Yotov 2016; Yotov et al. 2016, ch. 3) regresses the estimated
pair effects on time-invariant gravity covariates and predicts the missing ones
(:func:`recover_pair_effects`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ca_trade._typing import Predictor
from ca_trade.exceptions import ConvergenceError, SpecificationError
from ca_trade.ge._inputs import checked_values, flow_matrix, pair_matrix

__all__ = ["fitted_flows", "geppml_baseline", "recover_pair_effects"]


def fitted_flows(
    flows: pd.DataFrame,
    log_costs: pd.DataFrame,
    *,
    value: str = "value",
    tol: float = 1e-13,
    maxiter: int = 100_000,
) -> pd.DataFrame:
    r"""PPML-fitted flows with exporter and importer effects for a given trade-cost index.

    Parameters
    ----------
    flows : pandas.DataFrame
        Observed ``exporter, importer, value`` including domestic flows.
    log_costs : pandas.DataFrame
        ``exporter, importer, log_cost`` with ``log_cost`` = :math:`x_{ij}'\hat\beta`
        (missing pairs: 0).
    value : str, default "value"
        Flow column.
    tol : float, default 1e-13
        Largest relative gap between fitted and observed sales/spending.
    maxiter : int, default 100000
        Iteration cap.

    Returns
    -------
    pandas.DataFrame
        ``exporter, importer, value`` over the full square grid (fitted values).

    Raises
    ------
    ConvergenceError
        If the scaling does not converge.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "value": [8.0, 2.0, 2.0, 8.0]})
    >>> c = pd.DataFrame({"exporter": ["A", "B"], "importer": ["B", "A"], "log_cost": [-1.0, -1.0]})
    >>> fit = fitted_flows(f, c)
    >>> round(float(fit["value"].sum()), 6)
    20.0
    """
    fm = flow_matrix(flows, value=value)
    lt = pair_matrix(log_costs, fm.countries, "log_cost", "log_costs")
    y = fm.values.sum(axis=1)
    e = fm.values.sum(axis=0)
    k = np.exp(lt - lt.max())
    log_a = np.zeros(fm.n)
    log_b = np.zeros(fm.n)
    for _ in range(maxiter):
        log_a = np.log(y) - np.log(k @ np.exp(log_b))
        log_b = np.log(e) - np.log(k.T @ np.exp(log_a))
        fit = np.exp(log_a)[:, None] * k * np.exp(log_b)[None, :]
        gap = float(np.max(np.abs(fit.sum(axis=1) / y - 1.0)))
        if gap < tol:
            break
    else:
        raise ConvergenceError(
            f"fitted_flows: sales and spending did not match within {tol} after {maxiter} "
            f"iterations (gap {gap:.3g}); check for countries without trade partners."
        )
    n = fm.n
    return pd.DataFrame(
        {
            "exporter": np.repeat(np.array(fm.countries, dtype=object), n),
            "importer": np.tile(np.array(fm.countries, dtype=object), n),
            "value": fit.ravel(),
        }
    )


def recover_pair_effects(
    pair_effects: pd.DataFrame,
    covariates: pd.DataFrame,
    regressors: Sequence[str],
) -> pd.DataFrame:
    """Second stage of the two-stage procedure: predict pair effects for pairs without one.

    The exponentiated estimated pair effects are regressed by PPML on `regressors` with
    exporter and importer effects (a Poisson pseudo-likelihood, so zeros and scale are
    handled as in the first stage); pairs lacking an estimate receive the prediction.

    Parameters
    ----------
    pair_effects : pandas.DataFrame
        ``exporter, importer, pair_effect`` (log scale), for the pairs where it is identified
        (a missing value means not identified; infinite values are refused).
    covariates : pandas.DataFrame
        ``exporter, importer`` and the `regressors` (finite), for every pair of the grid.
    regressors : sequence of str
        Time-invariant gravity covariates (e.g. ``ln_dist``, ``contig``, ``comlang``).

    Returns
    -------
    pandas.DataFrame
        ``exporter, importer, pair_effect, recovered`` for every pair in `covariates`
        (``recovered`` is True where the value is predicted).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> cs = ["A", "B", "C"]
    >>> cov = pd.DataFrame([(i, j) for i in cs for j in cs], columns=["exporter", "importer"])
    >>> cov["ln_dist"] = np.where(cov.exporter == cov.importer, 0.0, 1.0 + cov.index / 10)
    >>> pe = cov.assign(pair_effect=-0.8 * cov["ln_dist"]).drop(columns="ln_dist").iloc[1:]
    >>> out = recover_pair_effects(pe, cov, ["ln_dist"])
    >>> int(out["recovered"].sum())
    1
    """
    need = ["exporter", "importer", *regressors]
    lack = [c for c in need if c not in covariates.columns]
    if lack:
        raise SpecificationError(f"covariates lack column(s) {lack}.")
    for reg in regressors:
        checked_values(covariates, reg, "covariates")
    checked_values(
        pair_effects, "pair_effect", "pair_effects", rule="finite or missing", missing_ok=True
    )
    data = covariates[need].merge(
        pair_effects[["exporter", "importer", "pair_effect"]],
        on=["exporter", "importer"],
        how="left",
    )
    known = data["pair_effect"].notna().to_numpy()
    if known.sum() <= len(regressors):
        raise SpecificationError(
            f"only {int(known.sum())} pair effects are identified; the second stage needs more "
            f"than the {len(regressors)} regressors."
        )
    exp_codes, exp_levels = pd.factorize(data["exporter"])
    imp_codes, _ = pd.factorize(data["importer"])
    n_e = len(exp_levels)
    n_i = int(imp_codes.max()) + 1
    design = np.column_stack(
        [
            data[list(regressors)].to_numpy(dtype=float),
            np.eye(n_e)[exp_codes],
            np.eye(n_i)[imp_codes][:, 1:],
        ]
    )
    y = np.exp(data["pair_effect"].to_numpy(dtype=float)[known])
    pred = design @ _second_stage(design[known], y)
    out = data[["exporter", "importer"]].copy()
    out["pair_effect"] = np.where(known, data["pair_effect"].to_numpy(dtype=float), pred)
    out["recovered"] = ~known
    return out.sort_values(["exporter", "importer"]).reset_index(drop=True)


def _second_stage(x: np.ndarray, y: np.ndarray, maxiter: int = 200) -> np.ndarray:
    """PPML of the exponentiated pair effects on a small dense design (the estimation IRLS)."""
    # imported here, not at the top: the GE package does not load the estimation engine
    # (numba) unless the two-stage procedure is used; estimate never imports ge
    from ca_trade.estimate.irls import poisson_irls

    fit = poisson_irls(
        np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(x, dtype=np.float64),
        None,
        tol=1e-12,
        maxiter=maxiter,
    )
    if not fit.converged:
        raise ConvergenceError(
            f"second-stage PPML did not converge in {maxiter} iterations; check the covariates."
        )
    return fit.beta


def geppml_baseline(
    result: Predictor,
    data: pd.DataFrame,
    *,
    exporter: str = "exporter",
    importer: str = "importer",
) -> pd.DataFrame:
    """Baseline flows from a fitted PPML gravity result (GEPPML).

    Parameters
    ----------
    result : GravityResults
        A result of :func:`ca_trade.ppml` with exporter(-year) and importer(-year) effects;
        its ``predict(data)`` gives the fitted flows.
    data : pandas.DataFrame
        The cross-section to build the baseline on (one row per pair incl. domestic pairs).
    exporter, importer : str
        Country columns of `data`.

    Returns
    -------
    pandas.DataFrame
        ``exporter, importer, value`` with the fitted flows.

    Raises
    ------
    SpecificationError
        If `result` has no ``predict`` method or gives non-finite predictions (for example
        pairs whose pair effect is not identified: use :func:`recover_pair_effects`).

    Examples
    --------
    >>> import pandas as pd
    >>> class Fit:  # anything with predict(); ca_trade.ppml results qualify
    ...     def predict(self, data):
    ...         return data["value"] * 0 + 5.0
    >>> d = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"), "value": [1.0] * 4})
    >>> geppml_baseline(Fit(), d)["value"].tolist()
    [5.0, 5.0, 5.0, 5.0]
    """
    if not isinstance(result, Predictor):
        raise SpecificationError(
            f"geppml_baseline needs a fitted result with a predict() method, got {type(result)}."
        )
    fitted = np.asarray(result.predict(data), dtype=float)
    if fitted.shape[0] != len(data) or not np.all(np.isfinite(fitted)):
        bad = int((~np.isfinite(fitted)).sum()) if fitted.shape[0] == len(data) else -1
        raise SpecificationError(
            f"predict() returned {bad if bad >= 0 else 'a wrongly shaped'} non-finite fitted "
            "value(s); pairs without an identified pair effect need recover_pair_effects()."
        )
    out = pd.DataFrame(
        {
            "exporter": data[exporter].astype(str).to_numpy(),
            "importer": data[importer].astype(str).to_numpy(),
            "value": fitted,
        }
    )
    return out.sort_values(["exporter", "importer"]).reset_index(drop=True)
