"""The data-generating process of the SYNTHETIC sample: GDPs, tariffs, structural gravity.

Internal module of :mod:`ca_trade.sample`; see its docstring for the documented model.

Examples
--------
>>> import numpy as np
>>> truth = simulate_truth(np.random.default_rng(0), [2010, 2011])
>>> sorted(truth.flows.columns)
['exporter', 'importer', 'sector', 'value_usd', 'year']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ca_trade import facts
from ca_trade.sample.sectors import SECTIONS, sector_description, sector_weights, split_flows

#: True coefficients and the covariate each one multiplies (names as in the panel schema).
COEFFICIENTS: dict[str, float] = {
    "ln_dist": -0.8,
    "rta": 0.5,
    "contig": 0.4,
    "comlang": 0.25,
    "landlocked_exp": -0.3,
    "landlocked_imp": -0.3,
    "intl": -2.5,
    "ln_tariff": -5.0,
}
#: PPML specification that matches the data-generating process (fixest syntax, panel columns).
RECOVERY_FORMULA = (
    "value_usd ~ ln_dist + rta + contig + comlang + intl + ln_tariff"
    " | exporter^year + importer^year"
)
#: Shape of the Gamma(k, 1/k) multiplicative noise of every true flow (mean 1, sd 1/sqrt(k)).
GAMMA_SHAPE = 4.0

# Nominal GDP in 2000 (USD billion, World Bank WDI, rounded) and mean nominal growth per year.
_GDP_2000: dict[str, tuple[float, float]] = {
    "AFG": (3.5, 0.09),
    "ARE": (104.0, 0.06),
    "ARM": (1.9, 0.09),
    "AZE": (5.3, 0.11),
    "BLR": (12.7, 0.08),
    "CHE": (272.0, 0.045),
    "CHN": (1211.0, 0.12),
    "DEU": (1950.0, 0.03),
    "FRA": (1362.0, 0.03),
    "GBR": (1660.0, 0.025),
    "GEO": (3.1, 0.09),
    "IND": (468.0, 0.09),
    "IRN": (110.0, 0.06),
    "ITA": (1143.0, 0.025),
    "JPN": (4968.0, 0.0),
    "KAZ": (18.3, 0.12),
    "KGZ": (1.4, 0.09),
    "KOR": (576.0, 0.04),
    "LTU": (11.5, 0.08),
    "LVA": (7.9, 0.08),
    "MNG": (1.1, 0.11),
    "NLD": (416.0, 0.035),
    "PAK": (74.0, 0.07),
    "POL": (172.0, 0.07),
    "RUS": (260.0, 0.09),
    "TJK": (0.9, 0.10),
    "TKM": (2.9, 0.13),
    "TUR": (274.0, 0.06),
    "UKR": (32.4, 0.06),
    "USA": (10251.0, 0.04),
    "UZB": (13.8, 0.07),
}
# MFN simple-average tariff, percent, in 2000 and 2023 (linear in between); WITS-like levels.
_MFN: dict[str, tuple[float, float]] = {
    "AFG": (5.5, 6.0),
    "ARE": (4.0, 4.8),
    "ARM": (3.0, 3.0),
    "AZE": (8.5, 9.0),
    "BLR": (11.0, 11.0),
    "CHE": (6.0, 6.0),
    "CHN": (16.4, 7.5),
    "GBR": (4.5, 3.8),
    "GEO": (9.0, 1.5),
    "IND": (32.0, 15.0),
    "IRN": (25.0, 20.0),
    "JPN": (4.5, 4.0),
    "KAZ": (9.0, 9.0),
    "KGZ": (5.0, 5.0),
    "KOR": (9.0, 8.5),
    "MNG": (5.0, 5.5),
    "PAK": (20.0, 10.0),
    "POL": (13.0, 13.0),
    "LTU": (4.0, 4.0),
    "LVA": (5.0, 5.0),
    "RUS": (11.0, 11.0),
    "TJK": (8.0, 7.5),
    "TKM": (5.0, 5.0),
    "TUR": (10.0, 9.5),
    "UKR": (7.5, 4.5),
    "USA": (3.8, 3.3),
    "UZB": (15.0, 7.0),
    "DEU": (4.5, 5.0),
    "FRA": (4.5, 5.0),
    "ITA": (4.5, 5.0),
    "NLD": (4.5, 5.0),
}
_EU_MFN = (4.5, 5.0)
# Common external tariff of the BLR-KAZ-RUS customs union / EAEU: 10.6 % in 2010-2011, cut
# after Russia's WTO accession to 6.0 % by 2023.
_CET_POINTS = ((2010, 10.6), (2012, 10.0), (2016, 7.0), (2023, 6.0))
# Section tariff profile (agriculture, food, textiles, footwear protected; fuels, metals low).
_SECTION_PROFILE = np.array(
    [
        1.8,
        1.6,
        1.4,
        2.0,
        0.3,
        0.8,
        1.0,
        1.2,
        0.8,
        0.8,
        1.6,
        1.7,
        1.0,
        0.6,
        0.8,
        0.6,
        1.3,
        0.6,
        1.0,
        1.2,
        0.4,
    ]
)
_SECTION_PROFILE = _SECTION_PROFILE / _SECTION_PROFILE.mean()


@dataclass(frozen=True)
class Truth:
    """The true (noise-included) world of the sample.

    Attributes
    ----------
    countries : list of str
        Sorted ISO3 codes.
    years : list of int
        Sorted years.
    flows : pandas.DataFrame
        ``exporter, importer, year, sector, value_usd`` (FOB; sectors ``S01``..``S21`` and
        ``TOTAL`` = their sum; domestic pairs included; zeros kept).
    covariates : pandas.DataFrame
        :func:`ca_trade.facts.pair_covariates` plus ``tariff`` and ``ln_tariff``.
    tariffs : pandas.DataFrame
        ``importer, exporter, year, sector, mfn_pct, ahs_pct, pref`` for every pair.
    gdp : pandas.DataFrame
        ``country, year, gdp_usd``.
    expected_total : pandas.DataFrame
        ``exporter, importer, year, mu_usd``: the structural-gravity mean of the TOTAL flow.
    expected_sectors : pandas.DataFrame
        ``exporter, importer, year, sector, mu_usd``: the mean of each section's flow
        (:mod:`ca_trade.sample.sectors`; they sum to the TOTAL's mean).
    """

    countries: list[str]
    years: list[int]
    flows: pd.DataFrame
    covariates: pd.DataFrame
    tariffs: pd.DataFrame
    gdp: pd.DataFrame
    expected_total: pd.DataFrame
    expected_sectors: pd.DataFrame


def _interp(points: tuple[tuple[int, float], ...], year: int) -> float:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return float(np.interp(year, xs, ys))


def mfn_schedule(countries: list[str], years: list[int]) -> np.ndarray:
    """MFN tariffs in percent, array ``[importer, year, section]``.

    EU members apply the EU tariff while members, customs-union/EAEU members the common
    external tariff while members (mid-year rule of :func:`ca_trade.facts.in_force`).

    Examples
    --------
    >>> mfn_schedule(["KAZ"], [2005, 2020]).shape
    (1, 2, 21)
    """
    agr = facts.agreements()
    out = np.zeros((len(countries), len(years), len(SECTIONS)))
    for k, year in enumerate(years):
        live = agr.loc[facts.in_force(agr["entry"], agr["exit"], year)]
        eu = set(live.loc[live.agreement == "EU", "iso3"])
        cet = set(live.loc[live.agreement.isin(["CU_BLR_KAZ_RUS", "EAEU"]), "iso3"])
        frac = (year - 2000) / 23.0
        for i, c in enumerate(countries):
            if c in cet:
                level = _interp(_CET_POINTS, year)
            else:
                lo, hi = _EU_MFN if c in eu else _MFN[c]
                level = lo + (hi - lo) * frac
            out[i, k, :] = max(level, 0.0) * _SECTION_PROFILE
    return np.round(out, 2)


def _gdp(rng: np.random.Generator, countries: list[str], years: list[int]) -> np.ndarray:
    """Nominal GDP in USD, ``[country, year]``: 2000 level times a noisy growth path."""
    base = np.array([_GDP_2000[c][0] for c in countries]) * 1e9
    growth = np.array([_GDP_2000[c][1] for c in countries])
    span = np.arange(2000, max(max(years), 2000) + 1)
    shocks = rng.normal(0.0, 0.03, size=(len(countries), len(span)))
    path = np.cumsum(growth[:, None] + shocks, axis=1) - (growth[:, None] + shocks[:, :1])
    first = min(years)
    if first < 2000:  # extrapolate backwards at the mean growth rate
        back = np.arange(first, 2000)
        back_path = -growth[:, None] * (2000 - back)[None, :]
        path = np.concatenate([back_path, path], axis=1)
        span = np.arange(first, span[-1] + 1)
    cols = [int(np.where(span == y)[0][0]) for y in years]
    return base[:, None] * np.exp(path[:, cols])


def _solve_gravity(phi: np.ndarray, y: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Structural gravity flows ``Y_i E_j phi_ij / (Y_w Pi_i P_j)`` (fixed point)."""
    yw = y.sum()
    pi = np.ones_like(y)
    p = np.ones_like(e)
    for _ in range(2000):
        pi_new = phi @ (e / (yw * p))
        p_new = phi.T @ (y / (yw * pi_new))
        scale = np.sqrt(p_new[0])  # normalisation P_0 = 1 (the split is not identified)
        pi_new, p_new = pi_new * scale, p_new / scale
        done = np.max(np.abs(pi_new / pi - 1)) < 1e-13 and np.max(np.abs(p_new / p - 1)) < 1e-13
        pi, p = pi_new, p_new
        if done:
            break
    return np.asarray(np.outer(y / pi, e / p) * phi / yw)


def simulate_truth(rng: np.random.Generator, years: list[int]) -> Truth:
    """Draw the true flows, tariffs and GDPs of the sample.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (the only one).
    years : list of int
        Sorted years.

    Returns
    -------
    Truth
        The true world; see :class:`Truth`.

    Examples
    --------
    >>> t = simulate_truth(np.random.default_rng(1), [2015])
    >>> bool((t.flows.value_usd >= 0).all())
    True
    """
    countries = sorted(facts.countries()["iso3"])
    n, t, s = len(countries), len(years), len(SECTIONS)
    cov = facts.pair_covariates(countries, years)
    mfn = mfn_schedule(countries, years)
    rta = cov["rta"].to_numpy().reshape(n, n, t)
    intl = cov["intl"].to_numpy().reshape(n, n, t).astype(bool)
    # applied rate imposed by importer j on exporter i: MFN unless preferential, 0 at home
    mfn_ij = np.broadcast_to(mfn[None, :, :, :], (n, n, t, s))
    pref = (rta == 1)[..., None]
    ahs = np.where(pref | ~intl[..., None], 0.0, mfn_ij)
    tariff_total = ahs.mean(axis=-1) / 100.0  # simple average over sections
    cov["tariff"] = tariff_total.reshape(-1)
    cov["ln_tariff"] = np.log1p(cov["tariff"])

    lin = np.zeros(len(cov))
    for name, beta in COEFFICIENTS.items():
        lin += beta * cov[name].to_numpy(dtype=float)
    phi = np.exp(lin).reshape(n, n, t)

    gdp = _gdp(rng, countries, years)
    deficit = rng.normal(0.0, 0.05, size=(n, t))
    mu = np.zeros((n, n, t))
    for k in range(t):
        y = gdp[:, k]
        e = y * np.exp(deficit[:, k])
        e *= y.sum() / e.sum()
        mu[:, :, k] = _solve_gravity(phi[:, :, k], y, e)

    total = mu * rng.gamma(GAMMA_SHAPE, 1.0 / GAMMA_SHAPE, size=mu.shape)
    omega = sector_weights(countries, mfn, ahs, tariff_total)
    sector = split_flows(rng, total, omega)
    total_r = sector.sum(axis=-1)

    values = np.concatenate([total_r[..., None], sector], axis=-1)  # [i, j, t, 1 + s]
    labels = np.array(["TOTAL", *SECTIONS], dtype=object)
    codes = np.array(countries, dtype=object)
    flows = pd.DataFrame(
        {
            "exporter": np.repeat(codes, n * t * (s + 1)),
            "importer": np.tile(np.repeat(codes, t * (s + 1)), n),
            "year": np.tile(np.repeat(np.array(years, dtype=np.int64), s + 1), n * n),
            "sector": np.tile(labels, n * n * t),
            "value_usd": values.reshape(-1),
        }
    )
    tariffs = pd.DataFrame(
        {
            "exporter": np.repeat(codes, n * t * s),
            "importer": np.tile(np.repeat(codes, t * s), n),
            "year": np.tile(np.repeat(np.array(years, dtype=np.int64), s), n * n),
            "sector": np.tile(np.array(SECTIONS, dtype=object), n * n * t),
            "mfn_pct": mfn_ij.reshape(-1),
            "ahs_pct": ahs.reshape(-1),
            "pref": np.broadcast_to(pref, ahs.shape).reshape(-1),
        }
    )
    gdp_frame = pd.DataFrame(
        {
            "country": np.repeat(codes, t),
            "year": np.tile(np.array(years, dtype=np.int64), n),
            "gdp_usd": np.round(gdp.reshape(-1), 0).astype(np.int64),
        }
    )
    expected_total = cov[["exporter", "importer", "year"]].assign(mu_usd=mu.reshape(-1))
    expected_sectors = tariffs[["exporter", "importer", "year", "sector"]].assign(
        mu_usd=(mu[..., None] * omega).reshape(-1)
    )
    return Truth(
        countries=countries,
        years=list(years),
        flows=flows,
        covariates=cov,
        tariffs=tariffs,
        gdp=gdp_frame,
        expected_total=expected_total,
        expected_sectors=expected_sectors,
    )


def model_description() -> dict[str, Any]:
    """Describe the parameters of the data-generating process (for ``truth.json``).

    Examples
    --------
    >>> model_description()["coefficients"]["ln_dist"]
    -0.8
    """
    return {
        "coefficients": dict(COEFFICIENTS),
        "coefficient_covariates": {
            "ln_dist": "log capital-to-capital distance (internal distance for domestic pairs)",
            "rta": "any trade agreement in force at mid-year (ca_trade.facts.pair_covariates)",
            "contig": "land border",
            "comlang": "common official language",
            "landlocked_exp": "exporter landlocked",
            "landlocked_imp": "importer landlocked",
            "intl": "international pair (1) vs domestic (0): the border effect",
            "ln_tariff": "ln(1 + t), t = simple average over sections of the applied (AHS) "
            "tariff of the importer on the exporter, as a fraction",
        },
        "structural_gravity": "mu_ijt = Y_it E_jt phi_ijt / (Y_wt Pi_it P_jt), "
        "phi = exp(sum_k beta_k x_k); Y = GDP, E = Y * exp(N(0, 0.05)) rescaled to world Y; "
        "exporter-year and importer-year terms ln Y - ln Pi and ln E - ln P",
        "flow_noise": {
            "distribution": "Gamma(shape, scale=1/shape), multiplicative on mu (mean 1)",
            "shape": GAMMA_SHAPE,
        },
        "sectors": {
            "coding": "HS sections S01..S21; each written in the Comtrade files as ONE "
            "representative HS chapter (see chapter_of_section); TOTAL = sum of sections",
            **sector_description(),
        },
        "tariffs": "MFN by importer-year (linear 2000->2023 per country; EU tariff for EU "
        "members, common external tariff for CU/EAEU members) times a fixed section profile; "
        "applied (AHS) = 0 where rta = 1 (preferential) else MFN; 0 for domestic pairs. The "
        "panel's ln_tariff (AHS rows of SYNTHETIC_wits_tariffs.csv, simple_average_pct, "
        "rounded to 0.001 percentage points) is the generating variable; ln_tariff_w "
        "(import-weighted) is not",
        "recovery": {
            "formula": RECOVERY_FORMULA,
            "rows": "TOTAL flows of every pair, domestic pairs included (intl identifies the "
            "border effect); international pairs only identify all but intl",
            "absorbed": ["landlocked_exp", "landlocked_imp"],
            "note": "landlocked_exp / landlocked_imp vary by exporter / importer only and are "
            "absorbed by the exporter-year / importer-year effects; on the noise-free means "
            "mu_usd this PPML returns the coefficients exactly. Cluster-robust (pair) standard "
            "errors understate the sampling spread of the estimates under the Gamma flow noise "
            "(variance proportional to mu^2, a few huge flows carry most PPML weight): "
            "Monte Carlo sd / mean CRV1 se = 1.0-2.3 (ca_trade tests/test_recovery.py)",
        },
    }
