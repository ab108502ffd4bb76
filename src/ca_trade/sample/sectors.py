r"""The sector dimension of the SYNTHETIC sample: sector elasticities and the sector split.

Internal module of :mod:`ca_trade.sample`. The one-sector model of
:mod:`ca_trade.sample.model` draws each pair's TOTAL flow :math:`T_{ij}` around its
structural-gravity mean :math:`\mu_{ij}`; this module splits it over the 21 HS sections so
that **both** truths hold exactly in expectation:

- the TOTAL flow keeps its one-sector mean: :math:`\sum_s \mu_{ijs} = \mu_{ij}`, so the
  one-sector coefficients (``ln_tariff`` = -5 on the simple-average tariff included) are
  still recovered exactly;
- every section is a gravity equation of its own with the sector trade elasticity
  :math:`\theta_s` on its own applied tariff :math:`t_{ijs}` (duty-exclusive flows, so the
  PPML coefficient of :math:`\ln(1+t_{ijs})` is :math:`-(\theta_s + 1)`, as in the
  multi-sector GE of :mod:`ca_trade.ge.sectoral`), and the same distance, border, language,
  contiguity and agreement effects as the TOTAL:

.. math::

    \mu_{ijs} = \mu_{ij}\, a_{i,g(s)}\, q_{js}\, \frac{(1 + t_{ijs})^{-(\theta_s + 1)}}
    {(1 + \bar t_{ij})^{-5}}

with :math:`\bar t_{ij}` the simple mean of the pair's section tariffs (the one-sector
regressor). Sections form two groups :math:`g` (primary goods, manufactures);
:math:`a_{i,g}` is the exporter's mix of the two (``PRIMARY_SHARE``, e.g. 75 % primary goods
for Kazakhstan) and :math:`q_{js}` the importer's demand weights: the group has the world
weight :math:`c_g` (``GROUP_DEMAND``), and within the group the base weights
:math:`P_s` (``BASE_WEIGHT``) are tilted, :math:`q_{js} \propto P_s v_{js}^{\lambda}` with
:math:`v_{js} = (1 + \mathrm{MFN}_{js})^{-(\theta_s + 1)}`, so that the group's mean tariff
factor under MFN equals the one-sector factor :math:`(1 + \overline{\mathrm{MFN}}_j)^{-5}`.
That tilt (one :math:`\lambda` per importer, year and group) is what makes the sections add
up to the TOTAL for every exporter; it varies by importer and year only, so each section's
importer-year fixed effects absorb it. Then :math:`\sum_s \mu_{ijs} = \mu_{ij}` for
preferential, domestic and MFN pairs alike (the tests check it to rounding).

Realised sections: :math:`X_{ijs} = T_{ij} n_{ijs} / M_{ij}` with
:math:`n \sim \mathrm{Multinomial}(M_{ij}, \pi)` and :math:`\pi \sim
\mathrm{Dirichlet}(\kappa\, \omega_{ij})`, :math:`\omega_{ijs} = \mu_{ijs}/\mu_{ij}`: the
conditional mean is exactly :math:`T_{ij}\omega_{ijs}`; :math:`M_{ij} = \lceil T_{ij} /
\text{shipment}\rceil` shipments of ``SHIPMENT_USD``, so small pairs trade in few sections
(zeros) and large ones in all of them.

Examples
--------
>>> sorted(THETA)[:2], THETA["S05"]
(['S01', 'S02'], 8.0)
>>> round(sum(BASE_WEIGHT[s] for s in GROUPS["primary"]), 12)
1.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "BASE_WEIGHT",
    "DIRICHLET_CONCENTRATION",
    "GROUPS",
    "GROUP_DEMAND",
    "PRIMARY_SHARE",
    "SECTIONS",
    "SHIPMENT_USD",
    "THETA",
    "demand_weights",
    "exporter_mix",
    "sector_description",
    "sector_weights",
    "split_flows",
]

SECTIONS = tuple(f"S{k:02d}" for k in range(1, 22))

#: Sector trade elasticities theta_s (the PPML coefficient of ln(1 + t) is -(theta_s + 1)).
THETA: dict[str, float] = {
    "S01": 6.0, "S02": 7.0, "S03": 5.0, "S04": 4.0, "S05": 8.0, "S06": 4.0, "S07": 3.0,
    "S08": 5.0, "S09": 6.0, "S10": 5.0, "S11": 4.0, "S12": 3.0, "S13": 3.0, "S14": 7.0,
    "S15": 5.0, "S16": 2.5, "S17": 2.0, "S18": 2.0, "S19": 3.0, "S20": 4.0, "S21": 3.0,
}  # fmt: skip
#: Two groups of sections; exporters differ in their mix of the two.
GROUPS: dict[str, tuple[str, ...]] = {
    "primary": ("S01", "S02", "S03", "S04", "S05", "S14", "S15"),
    "manufactures": (
        "S06", "S07", "S08", "S09", "S10", "S11", "S12", "S13", "S16", "S17", "S18", "S19",
        "S20", "S21",
    ),
}  # fmt: skip
#: World demand weight of each group (every importer spends this share on it, before tariffs).
GROUP_DEMAND: dict[str, float] = {"primary": 0.35, "manufactures": 0.65}
#: Base weight of each section within its group (sums to one per group).
BASE_WEIGHT: dict[str, float] = {
    "S01": 0.08, "S02": 0.12, "S03": 0.04, "S04": 0.14, "S05": 0.40, "S14": 0.10, "S15": 0.12,
    "S06": 0.14, "S07": 0.07, "S08": 0.02, "S09": 0.03, "S10": 0.03, "S11": 0.08, "S12": 0.02,
    "S13": 0.03, "S16": 0.30, "S17": 0.14, "S18": 0.05, "S19": 0.01, "S20": 0.06, "S21": 0.02,
}  # fmt: skip
#: Share of primary goods in an exporter's sales (to a duty-free partner); others 0.35.
PRIMARY_SHARE: dict[str, float] = {
    "AFG": 0.60, "ARE": 0.60, "AZE": 0.85, "CHN": 0.15, "DEU": 0.15, "IRN": 0.65, "JPN": 0.10,
    "KAZ": 0.75, "KGZ": 0.60, "KOR": 0.12, "MNG": 0.80, "RUS": 0.65, "TJK": 0.60, "TKM": 0.85,
    "USA": 0.25, "UZB": 0.55,
}  # fmt: skip
_DEFAULT_PRIMARY = 0.35
#: Dirichlet concentration of the realised section shares (larger: less noise).
DIRICHLET_CONCENTRATION = 40.0
#: Size of one shipment: a pair trades in at most ceil(T / SHIPMENT_USD) sections.
SHIPMENT_USD = 2.0e6


def _group_index() -> np.ndarray:
    """Group (0 primary, 1 manufactures) of each section, in SECTIONS order."""
    return np.array([0 if s in GROUPS["primary"] else 1 for s in SECTIONS])


def exporter_mix(countries: list[str]) -> np.ndarray:
    """Return exporter weights ``a[i, s] = share_g(i) / GROUP_DEMAND[g]`` (g: s's group).

    With them ``sum_g a[i, g] * GROUP_DEMAND[g] = 1`` for every exporter.

    Examples
    --------
    >>> a = exporter_mix(["KAZ"])
    >>> round(float(a[0, 4]), 4), round(float(a[0, 15]), 4)
    (2.1429, 0.3846)
    """
    primary = np.array([PRIMARY_SHARE.get(c, _DEFAULT_PRIMARY) for c in countries])
    by_group = np.stack(
        [primary / GROUP_DEMAND["primary"], (1.0 - primary) / GROUP_DEMAND["manufactures"]],
        axis=1,
    )
    return np.asarray(by_group[:, _group_index()])


def _tilt(log_v: np.ndarray, base: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Exponential tilt: ``lambda`` with ``sum(w v) = target``, ``w ~ base * v**lambda``.

    ``log_v``: ``[..., k]`` log tariff factors of one group's sections; ``target``: ``[...]``.
    Bisection on lambda (the tilted mean of v increases with lambda), to machine precision.
    """
    lo = np.full(target.shape, -400.0)
    hi = np.full(target.shape, 400.0)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        z = np.log(base) + mid[..., None] * log_v
        z -= z.max(axis=-1, keepdims=True)
        w = np.exp(z)
        mean = (w * np.exp(log_v)).sum(axis=-1) / w.sum(axis=-1)
        below = mean < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def demand_weights(mfn: np.ndarray) -> np.ndarray:
    """Return importer demand weights ``q[j, t, s]``, tilted so that the sections add up.

    Parameters
    ----------
    mfn : numpy.ndarray
        MFN tariffs in percent, ``[importer, year, section]``.

    Returns
    -------
    numpy.ndarray
        ``q[j, t, s]``: ``sum over group g of q = GROUP_DEMAND[g]`` and
        ``sum over g of q * v = GROUP_DEMAND[g] * (1 + mean MFN)**-5``, with
        ``v = (1 + MFN_s)**-(theta_s + 1)``.

    Raises
    ------
    ValueError
        If a group's tariff factors do not bracket the one-sector factor (no tilt exists).

    Examples
    --------
    >>> q = demand_weights(np.full((1, 1, 21), 10.0))
    >>> round(float(q.sum()), 12)
    1.0
    """
    tau = mfn / 100.0
    theta = np.array([THETA[s] for s in SECTIONS])
    log_v = -(theta + 1.0) * np.log1p(tau)
    target = (1.0 + tau.mean(axis=-1)) ** -5.0
    groups = _group_index()
    q = np.zeros_like(tau)
    for g, name in enumerate(("primary", "manufactures")):
        cols = np.flatnonzero(groups == g)
        lv = log_v[..., cols]
        flat = np.ptp(lv, axis=-1) < 1e-12  # uniform tariff factors: nothing to tilt
        lo, hi = np.exp(lv.min(axis=-1)), np.exp(lv.max(axis=-1))
        bad = ~flat & ~((lo < target) & (target < hi))
        if bad.any():
            raise ValueError(f"the {name} sections' tariff factors do not bracket the TOTAL's")
        base = np.array([BASE_WEIGHT[SECTIONS[c]] for c in cols])
        lam = np.where(flat, 0.0, _tilt(lv, base, np.where(flat, 1.0, target)))
        z = np.log(base) + lam[..., None] * lv
        w = np.exp(z - z.max(axis=-1, keepdims=True))
        q[..., cols] = GROUP_DEMAND[name] * w / w.sum(axis=-1, keepdims=True)
    return q


def sector_weights(
    countries: list[str], mfn: np.ndarray, ahs: np.ndarray, tariff_total: np.ndarray
) -> np.ndarray:
    """Return the expected section shares ``omega[i, j, t, s]`` of every pair's TOTAL.

    Parameters
    ----------
    countries : list of str
        Exporters and importers, sorted.
    mfn : numpy.ndarray
        MFN tariffs in percent, ``[importer, year, section]``.
    ahs : numpy.ndarray
        Applied tariffs in percent, ``[exporter, importer, year, section]``.
    tariff_total : numpy.ndarray
        The one-sector tariff (simple mean of `ahs`, fraction), ``[exporter, importer, year]``.

    Returns
    -------
    numpy.ndarray
        ``omega = a[i, s] * q[j, t, s] * (1 + t_ijs)**-(theta_s + 1) / (1 + tbar_ij)**-5``.

    Examples
    --------
    >>> m = np.full((2, 1, 21), 8.0)
    >>> ahs = np.broadcast_to(m[None], (2, 2, 1, 21)).copy()
    >>> ahs[0, 0] = ahs[1, 1] = 0.0
    >>> w = sector_weights(["A", "B"], m, ahs, ahs.mean(axis=-1) / 100)
    >>> np.allclose(w.sum(axis=-1), 1.0)
    True
    """
    theta = np.array([THETA[s] for s in SECTIONS])
    a = exporter_mix(countries)
    q = demand_weights(mfn)
    tariff_factor = (1.0 + ahs / 100.0) ** -(theta + 1.0)
    total_factor = (1.0 + tariff_total) ** -5.0
    return np.asarray(
        a[:, None, None, :] * q[None, :, :, :] * tariff_factor / total_factor[..., None]
    )


def split_flows(rng: np.random.Generator, total: np.ndarray, omega: np.ndarray) -> np.ndarray:
    """Split realised TOTAL flows over sections (Dirichlet-multinomial around `omega`).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    total : numpy.ndarray
        Realised TOTAL flows (USD), any shape ``[...]``.
    omega : numpy.ndarray
        Expected section shares ``[..., s]`` (sum to one).

    Returns
    -------
    numpy.ndarray
        Section flows ``[..., s]`` (USD, rounded to dollars): conditional mean
        ``total * omega``, zeros where a pair's few shipments miss a section.

    Examples
    --------
    >>> x = split_flows(np.random.default_rng(0), np.array([1e9]), np.full((1, 21), 1 / 21))
    >>> bool(abs(x.sum() - 1e9) <= 21)
    True
    """
    flat_total = total.reshape(-1)
    flat_omega = omega.reshape(-1, omega.shape[-1])
    draw = rng.gamma(DIRICHLET_CONCENTRATION * flat_omega, 1.0)
    norm = draw.sum(axis=-1, keepdims=True)
    pi = np.where(norm > 0, draw / np.where(norm > 0, norm, 1.0), flat_omega)
    shipments = np.maximum(np.ceil(flat_total / SHIPMENT_USD), 1.0).astype(np.int64)
    counts = rng.multinomial(shipments, pi)
    share = counts / shipments[:, None]
    return np.asarray(np.round(flat_total[:, None] * share, 0)).reshape(omega.shape)


def sector_description() -> dict[str, Any]:
    """Describe the sector model (for ``truth.json``).

    Examples
    --------
    >>> sector_description()["theta"]["S16"]
    2.5
    """
    return {
        "theta": dict(THETA),
        "tariff_coefficient": "PPML coefficient of ln(1 + t_ijs) in section s = -(theta_s + 1) "
        "(duty-exclusive flows, as the multi-sector GE of ca_trade.ge.sectoral)",
        "recovery": "per section, the one-sector recovery formula with ln_tariff = ln(1 + "
        "t_ijs) (the section's applied tariff): the ln_tariff coefficient is -(theta_s + 1) "
        "and the other coefficients are those of the TOTAL, exactly on the means",
        "mean": "mu_ijs = mu_ij * a[i, g(s)] * q[j, t, s] * (1 + t_ijs)^-(theta_s + 1) / "
        "(1 + tbar_ij)^-5; sum over s of mu_ijs = mu_ij",
        "groups": {k: list(v) for k, v in GROUPS.items()},
        "group_demand": dict(GROUP_DEMAND),
        "base_weight": dict(BASE_WEIGHT),
        "primary_share": dict(PRIMARY_SHARE),
        "primary_share_default": _DEFAULT_PRIMARY,
        "exporter_weight": "a[i, g] = share of group g in exporter i's sales / group_demand[g]",
        "importer_weight": "q[j, t, s] = group_demand[g] * base_weight[s] * v^lambda / sum "
        "over the group, v = (1 + MFN_jts)^-(theta_s + 1); lambda per importer, year and group "
        "such that the group's mean of v equals (1 + mean MFN_jt)^-5",
        "noise": {
            "rule": "X_ijs = T_ij * n_s / M_ij, n ~ Multinomial(M_ij, pi), pi ~ Dirichlet("
            "concentration * omega_ij), M_ij = ceil(T_ij / shipment_usd); E[X_ijs | T] = T "
            "omega_ijs; rounded to dollars, TOTAL = sum of the rounded sections",
            "concentration": DIRICHLET_CONCENTRATION,
            "shipment_usd": SHIPMENT_USD,
        },
    }
