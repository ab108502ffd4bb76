"""Covariance matrices of the coefficients: iid, heteroskedasticity-robust, clustered.

All are sandwiches ``c * B M B`` with bread ``B = (X~' W X~)^-1`` (``X~`` the regressors with
fixed effects partialled out, ``W`` the final working weights) and meat ``M`` built from the
scores ``s_i = x~_i p_i u_i`` (``u_i = y_i - mu_i``, ``p_i`` the prior weights):

- ``"iid"``: ``V = B`` for PPML (Poisson variance), ``V = sigma^2 B`` for OLS with
  ``sigma^2 = sum p_i u_i^2 / (N - K - K_fe)``;
- ``"hetero"``: ``M = sum s_i s_i'``;
- ``{"CRV1": "a"}``: ``M = sum_g S_g S_g'`` with ``S_g`` the sum of scores in cluster ``g``;
- ``{"CRV1": "a+b"}``: Cameron–Gelbach–Miller two-way ``V_a + V_b - V_{a∩b}``; negative
  eigenvalues are set to zero if the result is not positive semi-definite;
- ``{"CRV3": "a"}``: leave-one-cluster-out (jackknife) variance, computed exactly for OLS
  and by a one-step update for PPML in :mod:`ca_trade.estimate.crv3`.

Small-sample factors ``c`` (``N`` observations, ``K`` estimated coefficients, ``K_fe`` the
degrees of freedom absorbed by fixed effects not nested in a cluster variable, ``G`` clusters):

===========  ===================  ======================================  ==================
ssc          iid                  hetero                                  CRV1
===========  ===================  ======================================  ==================
"stata"      PPML 1; OLS via s²   PPML N/(N-1); OLS N/(N-K-K_fe)          PPML G/(G-1);
                                                                          OLS G/(G-1)(N-1)/
                                                                          (N-K-K_fe)
"fixest"     (N-1)/(N-K-K_fe)     N/(N-K-K_fe)                            G/(G-1)(N-1)/
                                                                          (N-K-K_fe)
===========  ===================  ======================================  ==================

"stata" reproduces Stata's ``ppml``/``ppmlhdfe`` (Stata's maximum-likelihood convention:
``N/(N-1)`` for robust and ``G/(G-1)`` for clustered errors, no ``(N-1)/(N-K)`` factor over
regressors or absorbed effects; it reproduces the AGTPA logs, e.g. RTA 0.5571853 (0.055771))
and ``reghdfe`` for OLS; there ``K_fe`` counts levels minus redundant ones (connected
components) and leaves out fixed effects nested in the first cluster variable.

"fixest" reproduces fixest/pyfixest defaults exactly (``ssc(adj = TRUE, fixef.K = "nested",
cluster.adj = TRUE, cluster.df = "min")``): ``K_fe`` is the number of levels minus one per
fixed effect after the first (:func:`fe_dof_fixest`); under clustering, fixed effects nested
in *any* cluster variable are not counted, but one is added back per nested fixed effect;
two-way clustering applies ``G/(G-1)`` of the *smallest* ``G`` to all three terms
(``cluster.df = "min"``; each term's own ``G`` under "stata").

CRV3 factors: "stata" ``(G-1)/G`` (the jackknife variance, as Stata's
``vce(jackknife, cluster())``); "fixest" the CRV1 factor, as pyfixest applies to its CRV3.

Examples
--------
>>> from ca_trade.estimate.vcov import parse_vcov
>>> parse_vcov({"CRV1": "exporter+importer"})
('CRV1', ('exporter', 'importer'))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ca_trade._typing import FloatArray, IntArray
from ca_trade.estimate._hdfe_kernels import bipartite_components
from ca_trade.exceptions import DataValidationError, SpecificationError

__all__ = [
    "VcovKind",
    "cluster_codes",
    "fe_dof",
    "fe_dof_fixest",
    "parse_vcov",
    "sandwich_vcov",
    "vcov_label",
]

VcovKind = Literal["iid", "hetero", "CRV1", "CRV3"]


def parse_vcov(vcov: Any) -> tuple[VcovKind, tuple[str, ...]]:
    """Validate a ``vcov=`` option.

    Parameters
    ----------
    vcov : str or dict
        ``"iid"``, ``"hetero"`` (aliases ``"HC1"``, ``"robust"``), ``{"CRV1": "a"}``,
        ``{"CRV1": "a+b"}`` or ``{"CRV3": "a"}``.

    Returns
    -------
    kind : {"iid", "hetero", "CRV1", "CRV3"}
    cluster : tuple of str
        Cluster variables (empty unless clustered).

    Examples
    --------
    >>> parse_vcov("hetero")
    ('hetero', ())
    """
    if isinstance(vcov, str):
        v = vcov.strip()
        if v in ("iid",):
            return "iid", ()
        if v in ("hetero", "HC1", "robust"):
            return "hetero", ()
    elif isinstance(vcov, dict) and len(vcov) == 1:
        ((key, val),) = vcov.items()
        if key in ("CRV1", "CRV3") and isinstance(val, str) and val.strip():
            names = tuple(s.strip() for s in val.split("+"))
            if key == "CRV1" and 1 <= len(names) <= 2 and all(names):
                return "CRV1", names
            if key == "CRV3" and len(names) == 1 and names[0]:
                return "CRV3", names
    raise SpecificationError(
        f"vcov={vcov!r} is not supported; use 'iid', 'hetero', {{'CRV1': 'pair'}}, "
        "{'CRV1': 'exporter+importer'} or {'CRV3': 'pair'} (CRV3 takes one cluster variable)"
    )


def vcov_label(kind: VcovKind, cluster: Sequence[str]) -> str:
    """Human-readable covariance type, e.g. ``"CRV1: pair"``.

    Parameters
    ----------
    kind : {"iid", "hetero", "CRV1", "CRV3"}
    cluster : sequence of str

    Returns
    -------
    str

    Examples
    --------
    >>> vcov_label("CRV1", ("a", "b"))
    'CRV1: a+b'
    """
    return f"{kind}: {'+'.join(cluster)}" if kind in ("CRV1", "CRV3") else kind


def cluster_codes(
    names: Sequence[str],
    data: pd.DataFrame,
    rows: IntArray,
    fixef_vars: Sequence[str],
    fe_codes: Sequence[IntArray],
    vcov: Any = None,
) -> list[IntArray]:
    """Codes of the cluster variables on the estimation sample.

    A name that is one of the formula's fixed effects (``"exporter^importer"``) takes its
    codes; any other must be a column of the data.

    Parameters
    ----------
    names : sequence of str
    data : pandas.DataFrame
        The full input data.
    rows : ndarray of int
        Positions of the estimation sample in ``data``.
    fixef_vars : sequence of str
        The fixed effects as written in the formula.
    fe_codes : sequence of ndarray
        Their codes on the estimation sample.
    vcov : str or dict, optional
        The covariance asked for, quoted in the error about missing cluster values.

    Returns
    -------
    list of ndarray

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"c": ["a", "b", "a"]})
    >>> cluster_codes(["c"], df, np.array([0, 2]), [], [])[0].tolist()
    [0, 0]
    """
    out: list[IntArray] = []
    for c in names:
        if c in fixef_vars:
            out.append(np.asarray(fe_codes[list(fixef_vars).index(c)], dtype=np.int64))
            continue
        if c not in data.columns:
            raise SpecificationError(
                f"cluster variable {c!r} is neither a column of the data nor a fixed effect"
            )
        codes, _ = pd.factorize(data[c].iloc[rows])
        if (codes < 0).any():
            raise DataValidationError(
                f"cluster variable {c!r} has {int((codes < 0).sum())} missing values in the "
                f"estimation sample; estimate again with vcov={vcov!r} so that those rows "
                "are dropped (and counted in res.dropped['missing']) before the fit"
            )
        out.append(codes.astype(np.int64))
    return out


def _components(a: IntArray, b: IntArray) -> int:
    """Count connected components of the bipartite graph of two fixed effects."""
    na, nb = int(a.max()) + 1, int(b.max()) + 1
    a64, b64 = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    return int(bipartite_components(a64, b64, na, nb))


def fe_dof(fe_codes: Sequence[IntArray], nested: Sequence[bool] | None = None) -> int:
    """Degrees of freedom absorbed by fixed effects.

    Sum of the number of levels minus the redundant ones: the connected components of the
    first two fixed effects, plus one per further fixed effect (as reghdfe, exact for two).
    Fixed effects flagged ``nested`` (in a cluster variable) count zero, and each other one
    then loses one level to the constant they share.

    Parameters
    ----------
    fe_codes : sequence of ndarray
        Dense codes ``0..G-1`` per fixed effect.
    nested : sequence of bool, optional

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> fe_dof([np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])])
    3
    """
    if not fe_codes:
        return 0
    nest = list(nested) if nested is not None else [False] * len(fe_codes)
    sizes = [int(c.max()) + 1 for c in fe_codes]
    total = sum(s for s, ns in zip(sizes, nest) if not ns)
    free = [c for c, ns in zip(fe_codes, nest) if not ns]
    if not free:
        return 0
    if len(free) < len(fe_codes):
        # a nested fixed effect already spans the constant: each free one loses a level
        redundant = len(free)
    elif len(free) >= 2:
        redundant = _components(free[0], free[1]) + (len(free) - 2)
    else:
        redundant = 0
    return total - redundant


def fe_dof_fixest(fe_codes: Sequence[IntArray], clusters: Sequence[IntArray] = ()) -> int:
    """Degrees of freedom absorbed by fixed effects under fixest's ``fixef.K = "nested"``.

    fixest (and pyfixest) count ``sum of levels - (number of fixed effects - 1)``; with
    cluster variables, a fixed effect nested in any of them counts ``1`` instead of its
    levels (pyfixest ``get_ssc``: ``k_fe - (n_fe - 1) - k_nested + n_nested``).

    Parameters
    ----------
    fe_codes : sequence of ndarray
        Dense codes per fixed effect.
    clusters : sequence of ndarray
        Cluster codes (empty for iid and heteroskedasticity-robust errors).

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    >>> fe_dof_fixest([a, b]), fe_dof_fixest([a, b], [a])
    (3, 2)
    """
    if not fe_codes:
        return 0
    sizes = [int(c.max()) + 1 for c in fe_codes]
    total = sum(sizes) - (len(fe_codes) - 1)
    nested = [any(is_nested(f, cl) for cl in clusters) for f in fe_codes]
    return total - sum(s for s, ns in zip(sizes, nested) if ns) + sum(nested)


def is_nested(fe: IntArray, cluster: IntArray) -> bool:
    """Whether every level of ``fe`` lies within one cluster.

    Parameters
    ----------
    fe, cluster : ndarray of int

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> is_nested(np.array([0, 0, 1]), np.array([5, 5, 6]))
    True
    """
    df = pd.DataFrame({"f": fe, "c": cluster})
    return bool((df.groupby("f")["c"].nunique() <= 1).all())


def _meat(scores: FloatArray, cluster: IntArray | None) -> tuple[FloatArray, int]:
    if cluster is None:
        return scores.T @ scores, scores.shape[0]
    _, inv = np.unique(cluster, return_inverse=True)
    g = int(inv.max()) + 1
    sums = np.zeros((g, scores.shape[1]))
    np.add.at(sums, inv.ravel(), scores)
    return sums.T @ sums, g


def sandwich_vcov(
    bread: FloatArray,
    scores: FloatArray,
    *,
    kind: VcovKind,
    model: Literal["ppml", "ols"],
    ssc: Literal["stata", "fixest"],
    n: int,
    k: int,
    k_fe: int,
    clusters: Sequence[IntArray] = (),
    sigma2_rss: float | None = None,
) -> FloatArray:
    """Covariance matrix under the chosen type and small-sample convention.

    Parameters
    ----------
    bread : ndarray, shape (k, k)
        ``(X~' W X~)^-1``.
    scores : ndarray, shape (n, k)
        Per-observation scores.
    kind : {"iid", "hetero", "CRV1"}
        ``"CRV3"`` is computed by :func:`ca_trade.estimate.crv3.crv3_vcov`.
    model : {"ppml", "ols"}
    ssc : {"stata", "fixest"}
    n, k, k_fe : int
        Observations, coefficients, absorbed degrees of freedom (not nested in clusters).
    clusters : sequence of ndarray
        One or two cluster code arrays for CRV1.
    sigma2_rss : float, optional
        Weighted residual sum of squares (OLS iid).

    Returns
    -------
    ndarray, shape (k, k)

    Examples
    --------
    >>> import numpy as np
    >>> b = np.eye(1)
    >>> s = np.array([[1.0], [-1.0]])
    >>> sandwich_vcov(b, s, kind="hetero", model="ppml", ssc="stata", n=2, k=1, k_fe=0)
    array([[4.]])
    """
    dof = n - k - k_fe
    # Stata's PPML convention never divides by N - K - K_fe: a saturated PPML fit still has
    # its ML covariance (the split-panel jackknife refits small subpanels)
    if dof <= 0 and (model == "ols" or ssc == "fixest"):
        raise SpecificationError(
            f"no residual degrees of freedom: N={n}, K={k}, absorbed={k_fe}; simplify the model"
        )
    adj = (n - 1) / dof if dof > 0 else np.nan
    if kind == "iid":
        if model == "ols":
            if sigma2_rss is None:
                raise ValueError("OLS iid covariance needs the residual sum of squares")
            return np.asarray(bread * (sigma2_rss / dof), dtype=np.float64)
        return np.asarray(bread * (adj if ssc == "fixest" else 1.0), dtype=np.float64)
    if kind == "hetero":
        meat, _ = _meat(scores, None)
        v = bread @ meat @ bread
        if ssc == "fixest":
            c = n / dof  # fixest: (N-1)/(N-K) times the one-obs-per-cluster n/(n-1)
        else:
            c = n / (n - 1) if model == "ppml" else n / dof
        return np.asarray(v * c, dtype=np.float64)
    if kind == "CRV3":
        raise SpecificationError("CRV3 is computed by ca_trade.estimate.crv3.crv3_vcov")
    if not clusters:
        raise SpecificationError("CRV1 covariance needs at least one cluster variable")
    base = (n - 1) / dof if (model == "ols" or ssc == "fixest") else 1.0
    if len(clusters) == 1:
        meat, g = _meat(scores, clusters[0])
        if g < 2:
            raise SpecificationError("clustered covariance needs at least two clusters")
        return np.asarray(bread @ meat @ bread * (g / (g - 1) * base), dtype=np.float64)
    a, b = clusters[0], clusters[1]
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    ab = ia.astype(np.int64) * (int(ib.max()) + 1) + ib
    parts = []
    gs = []
    for codes in (ia, ib, ab):
        meat, g = _meat(scores, codes.astype(np.int64))
        parts.append(bread @ meat @ bread)
        gs.append(g)
    if min(gs) < 2:
        raise SpecificationError("clustered covariance needs at least two clusters")
    if ssc == "fixest":
        gmin = min(gs[0], gs[1])
        fac = [gmin / (gmin - 1)] * 3
    else:
        fac = [g / (g - 1) for g in gs]
    v = (parts[0] * fac[0] + parts[1] * fac[1] - parts[2] * fac[2]) * base
    v = 0.5 * (v + v.T)
    evals, evecs = np.linalg.eigh(v)
    if evals.min() < 0:
        v = (evecs * np.clip(evals, 0.0, None)) @ evecs.T
    return np.asarray(v, dtype=np.float64)
