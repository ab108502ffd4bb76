"""Split-panel jackknife bias correction of three-way gravity estimates (Weidner & Zylkin 2021).

The incidental-parameter bias of three-way PPML is of order ``1/N_i + 1/N_j``: the exporter-
time effects are estimated from ``N_j`` importers each, the importer-time effects from ``N_i``
exporters. Halving both the exporters and the importers doubles it. Split the exporters at
random into two halves ``a, b`` and, independently, the importers into ``c, d``; estimate on the
four subpanels ``(a, c), (a, d), (b, c), (b, d)`` and let ``b_half`` be the mean of the four
estimates. Then ``b_J = 2 b - b_half`` removes the leading bias term; the bias estimate is
``b_half - b``. Several random splits can be averaged (``splits``), which lowers the noise of
the correction; one split is Weidner & Zylkin's and Czarnowske & Stammann's choice in their
simulations. The estimator needs no derivatives: each subpanel is simply re-estimated (through
the same estimator and options as the full fit).

Examples
--------
>>> import numpy as np
>>> from ca_trade.estimate.jackknife import halves
>>> halves(5, np.random.default_rng(0)).tolist()
[1, 1, 0, 1, 0]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ca_trade._typing import IntArray
from ca_trade.exceptions import DataValidationError, SpecificationError

__all__ = ["Jackknife", "RefitFn", "halves", "split_panel_jackknife"]


#: Re-estimates on a subset of the estimation sample (positions); returns (params, nobs).
RefitFn = Callable[[IntArray], tuple[pd.Series, int]]


@dataclass(frozen=True)
class Jackknife:
    """Result of :func:`split_panel_jackknife`.

    Attributes
    ----------
    params : pandas.Series
        Corrected coefficients ``2 b - b_half``.
    bias : pandas.Series
        Estimated bias ``b_half - b`` (subtracted).
    subsample_params : pandas.DataFrame
        One row per subpanel estimate: columns ``split``, ``exporters``, ``importers``
        (``"a"``/``"b"``), ``nobs`` and the coefficients.
    """

    params: pd.Series
    bias: pd.Series
    subsample_params: pd.DataFrame


def halves(n: int, rng: np.random.Generator) -> IntArray:
    """Assign ``n`` units at random to half 0 (``floor(n/2)`` units) or half 1.

    Parameters
    ----------
    n : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int, shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> int(halves(7, np.random.default_rng(1)).sum())
    4
    """
    out = np.ones(n, dtype=np.int64)
    out[rng.permutation(n)[: n // 2]] = 0
    return out


def split_panel_jackknife(
    params: pd.Series,
    exporter: IntArray,
    importer: IntArray,
    refit: RefitFn,
    *,
    splits: int = 1,
    seed: int = 0,
) -> Jackknife:
    """Split-panel jackknife: ``2 b - mean of the exporter-half x importer-half estimates``.

    Parameters
    ----------
    params : pandas.Series
        Full-sample estimate ``b``.
    exporter, importer : ndarray of int
        Dense exporter and importer codes of the estimation sample's observations.
    refit : callable
        ``refit(positions) -> (params, nobs)`` re-estimates the model on those observations
        of the estimation sample.
    splits : int, default 1
        Number of independent random splits averaged.
    seed : int, default 0
        Seed of the random splits (the result is a pure function of it).

    Returns
    -------
    Jackknife

    Raises
    ------
    SpecificationError
        If a coefficient is not identified in some subpanel, or ``splits < 1``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> i = np.repeat(np.arange(4), 4)
    >>> j = np.tile(np.arange(4), 4)
    >>> b = pd.Series({"x": 1.0})
    >>> jk = split_panel_jackknife(b, i, j, lambda rows: (pd.Series({"x": 1.5}), rows.size))
    >>> float(jk.params["x"]), float(jk.bias["x"])
    (0.5, 0.5)
    """
    if splits < 1:
        raise SpecificationError(f"splits={splits}; use at least 1")
    n_i, n_j = int(exporter.max()) + 1, int(importer.max()) + 1
    if n_i < 2 or n_j < 2:
        raise SpecificationError("the jackknife needs at least two exporters and two importers")
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    estimates = []
    for r in range(splits):
        hi, hj = halves(n_i, rng), halves(n_j, rng)
        for a in (0, 1):
            for b in (0, 1):
                pos = np.flatnonzero((hi[exporter] == a) & (hj[importer] == b)).astype(np.int64)
                try:
                    est, nobs = refit(pos)
                except DataValidationError as err:
                    raise SpecificationError(
                        f"subpanel (exporters {'ab'[a]}, importers {'ab'[b]}) of split {r} "
                        f"cannot be estimated ({err}); the panel is too small for the "
                        "split-panel jackknife"
                    ) from err
                missing = [k for k in params.index if k not in est.index]
                if missing:
                    raise SpecificationError(
                        f"{missing} not identified in subpanel (exporters {'ab'[a]}, importers "
                        f"{'ab'[b]}) of split {r}; the split-panel jackknife needs every "
                        "coefficient in every quarter of the panel"
                    )
                est = est.reindex(params.index)
                estimates.append(est.to_numpy(dtype=np.float64))
                rows.append(
                    {"split": r, "exporters": "ab"[a], "importers": "ab"[b], "nobs": nobs, **est}
                )
    half = np.mean(estimates, axis=0)
    full = params.to_numpy(dtype=np.float64)
    return Jackknife(
        params=pd.Series(2.0 * full - half, index=params.index, name=params.name),
        bias=pd.Series(half - full, index=params.index, name="bias"),
        subsample_params=pd.DataFrame(rows),
    )
