"""Synthetic three-way gravity panels for the estimation benchmarks.

Exporter × importer × year panels (international pairs only) with a time-varying regional
trade agreement dummy ``rta``, a time-varying log tariff ``ln_tariff``, time-invariant pair
covariates (``ln_dist``, ``contig``) and a continuous outcome ``trade`` with realistic zeros:
the probability of a zero falls with the expected flow, so small pairs are often zero and
some pairs are zero in every year (they are separated by the pair fixed effect).

Examples
--------
>>> from benchmarks._gen import gravity_panel
>>> df = gravity_panel(20, 5, seed=1)
>>> len(df), sorted(df.columns)[:3]
(1900, ['contig', 'exp_year', 'exporter'])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Countries and years of the three benchmark sizes (rows = n * (n - 1) * years).
SIZES: dict[str, tuple[int, int]] = {
    "small": (50, 10),  # 24,500 rows
    "medium": (150, 20),  # 447,000 rows
    "large": (224, 20),  # 999,040 rows
}

#: True coefficients used to generate the outcome.
TRUE_PARAMS: dict[str, float] = {"rta": 0.5, "ln_tariff": -4.0}


def gravity_panel(
    n_countries: int, n_years: int, *, seed: int = 0, zero_shift: float = 1.0
) -> pd.DataFrame:
    """Generate a square international gravity panel with realistic zeros.

    Parameters
    ----------
    n_countries : int
        Number of countries (rows: ``n * (n - 1) * n_years``).
    n_years : int
        Number of consecutive years starting in 2000.
    seed : int, default 0
        Seed of the random generator; the output is a pure function of the arguments.
    zero_shift : float, default 1.0
        Shift of the logit of a flow being positive: 1.0 gives about 35-40 % zeros, 3.3 about
        15 % (the share of zeros in the panels of issue 14).

    Returns
    -------
    pandas.DataFrame
        Columns ``exporter, importer, year`` (int), ``pair``, ``exp_year``, ``imp_year``
        (int codes), ``ln_dist, contig, rta, ln_tariff, trade``; sorted by exporter, importer,
        year. About 20-40 % of ``trade`` is zero.

    Examples
    --------
    >>> df = gravity_panel(10, 3)
    >>> bool((df["trade"] == 0).mean() > 0.1)
    True
    """
    rng = np.random.default_rng(seed)
    n, t = n_countries, n_years
    exp_idx, imp_idx = np.nonzero(~np.eye(n, dtype=bool))
    n_pairs = exp_idx.shape[0]
    lon, lat = rng.uniform(0, 100, n), rng.uniform(0, 50, n)
    dist = np.hypot(lon[exp_idx] - lon[imp_idx], lat[exp_idx] - lat[imp_idx]) + 1.0
    ln_dist = np.log(dist * 50.0)
    contig = (dist < 8.0).astype(np.float64)
    size = rng.normal(0.0, 1.5, n)

    years = np.arange(t)
    e = np.repeat(exp_idx, t)
    m = np.repeat(imp_idx, t)
    yr = np.tile(years, n_pairs)
    pair = np.repeat(np.arange(n_pairs), t)
    # agreements switch on at a random year for a quarter of the pairs (symmetric by pair id)
    sym = np.minimum(exp_idx, imp_idx) * n + np.maximum(exp_idx, imp_idx)
    start = rng.integers(0, 2 * t, n * n)[sym]
    has_rta = rng.random(n * n)[sym] < 0.25
    rta = (has_rta[pair] & (yr >= start[pair])).astype(np.float64)
    ln_tariff = np.log1p(np.clip(rng.gamma(2.0, 0.03, e.shape[0]) * (1 - 0.8 * rta), 0, 1))

    exp_year_fe = size[e] + 0.05 * yr + rng.normal(0, 0.1, (n, t))[e, yr]
    imp_year_fe = size[m] + 0.03 * yr + rng.normal(0, 0.1, (n, t))[m, yr]
    pair_fe = -1.0 * ln_dist[pair] + 0.5 * contig[pair] + rng.normal(0, 0.5, n_pairs)[pair]
    xb = TRUE_PARAMS["rta"] * rta + TRUE_PARAMS["ln_tariff"] * ln_tariff
    log_mu = 8.0 + exp_year_fe + imp_year_fe + pair_fe + xb
    mu = np.exp(log_mu)
    # zeros: more likely for small expected flows (logit in log mu, centred to give ~30 %)
    p_zero = 1.0 / (1.0 + np.exp(1.2 * (log_mu - np.median(log_mu)) + zero_shift))
    positive = rng.random(mu.shape[0]) >= p_zero
    trade = np.where(positive, mu * rng.lognormal(-0.125, 0.5, mu.shape[0]), 0.0)

    return pd.DataFrame(
        {
            "exporter": e,
            "importer": m,
            "year": 2000 + yr,
            "pair": pair,
            "exp_year": e * t + yr,
            "imp_year": m * t + yr,
            "ln_dist": ln_dist[pair],
            "contig": contig[pair],
            "rta": rta,
            "ln_tariff": ln_tariff,
            "trade": trade,
        }
    )
