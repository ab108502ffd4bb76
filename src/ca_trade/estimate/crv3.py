"""Leave-one-cluster-out (CRV3, cluster jackknife) covariance with fixed effects.

``V = c * sum_g (b_(-g) - b)(b_(-g) - b)'`` where ``b_(-g)`` is the estimate without the
observations of cluster ``g``. Leaving a cluster out re-estimates every fixed effect too; the
change is computed from the per-cluster blocks of the full hat matrix (regressors *and*
fixed-effect dummies, :mod:`ca_trade.estimate.leverage`):

``b_(-g) - b = -A^-1 x_g' (I - h_gg)^+ e_g``, ``A = X~'WX~``, ``x = W^1/2 X~``,
``e = W^1/2 u``.

- **OLS** (weights ``w`` = prior weights, ``u`` = residual): this is the exact leave-out
  least-squares estimate, identical to refitting without the cluster (fixed effects that only
  the cluster identifies drop out, as in a refit).
- **PPML** (``w = p mu``, ``u = (y - mu) / mu`` the working residual at the estimate): one
  Newton (IRLS) step of the leave-out problem from the full-sample estimate, in the
  coefficients and all fixed effects jointly. It differs from the exact leave-out estimate
  by a term of second order in the cluster's influence (measured against brute-force refits
  in ``tests/estimate/test_crv3.py``).

Small-sample factor ``c``: ``ssc="stata"`` ``(G-1)/G`` (the jackknife variance of
MacKinnon, Nielsen & Webb's CV3, as Stata's ``vce(jackknife, cluster())``); ``ssc="fixest"``
the CRV1 factor ``G/(G-1) (N-1)/(N-K)``, as pyfixest applies to its CRV3.

Examples
--------
>>> import numpy as np
>>> from ca_trade.estimate.crv3 import crv3_vcov
>>> x = np.array([[-1.0], [1.0], [-1.0], [1.0], [0.5], [-0.5]])
>>> u = np.array([0.1, -0.1, 0.2, -0.2, 0.3, 0.1])
>>> v = crv3_vcov(x, np.ones(6), u, np.linalg.inv(x.T @ x), [], np.array([0, 0, 1, 1, 2, 2]),
...               factor=1.0)
>>> v.shape
(1, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from ca_trade._typing import FloatArray, IntArray
from ca_trade.estimate.leverage import leave_cluster_out
from ca_trade.exceptions import SpecificationError

__all__ = ["crv3_factor", "crv3_vcov"]


def crv3_factor(ssc: Literal["stata", "fixest"], g: int, n: int, df_k: int) -> float:
    """Small-sample factor of the CRV3 covariance.

    Parameters
    ----------
    ssc : {"stata", "fixest"}
    g : int
        Number of clusters.
    n : int
        Observations.
    df_k : int
        Coefficients plus absorbed degrees of freedom (fixest's ``K``; unused under "stata").

    Returns
    -------
    float

    Examples
    --------
    >>> crv3_factor("stata", 10, 100, 3)
    0.9
    """
    if g < 2:
        raise SpecificationError("CRV3 needs at least two clusters")
    if ssc == "stata":
        return (g - 1) / g
    if n - df_k <= 0:
        raise SpecificationError(f"no residual degrees of freedom: N={n}, K={df_k}")
    return g / (g - 1) * (n - 1) / (n - df_k)


def crv3_vcov(
    x_tilde: FloatArray,
    weights: FloatArray,
    resid: FloatArray,
    bread: FloatArray,
    fe_codes: Sequence[IntArray],
    cluster: npt.ArrayLike,
    *,
    factor: float,
) -> FloatArray:
    """Leave-one-cluster-out covariance ``factor * sum_g d_g d_g'``.

    Parameters
    ----------
    x_tilde : ndarray, shape (n, K)
        Regressors partialled out on the fixed effects with ``weights``.
    weights : ndarray, shape (n,)
        Regression weights (OLS: prior weights; PPML: ``p * mu``).
    resid : ndarray, shape (n,)
        Residuals (OLS) or working residuals ``(y - mu) / mu`` (PPML).
    bread : ndarray, shape (K, K)
        ``(X~' W X~)^-1``.
    fe_codes : sequence of ndarray
        Fixed-effect codes of the estimation sample.
    cluster : array_like, shape (n,)
        Cluster labels.
    factor : float
        Small-sample factor (:func:`crv3_factor`).

    Returns
    -------
    ndarray, shape (K, K)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0], [2.0], [3.0], [4.0]])
    >>> v = crv3_vcov(x, np.ones(4), np.array([0.1, -0.2, 0.1, 0.0]),
    ...               np.linalg.inv(x.T @ x), [], np.array([0, 1, 2, 3]), factor=0.75)
    >>> bool(v[0, 0] > 0)
    True
    """
    w = np.asarray(weights, dtype=np.float64)
    sw = np.sqrt(w)
    lo = leave_cluster_out(
        list(fe_codes),
        w,
        cluster,
        np.asarray(x_tilde, dtype=np.float64) * sw[:, None],
        np.asarray(resid, dtype=np.float64) * sw,
        bread,
    )
    delta = lo.t @ bread  # rows: -(b_(-g) - b)'
    v = factor * (delta.T @ delta)
    return np.asarray(0.5 * (v + v.T), dtype=np.float64)
