"""Pair covariates for the panel: packaged facts, overridden by CEPII files when present.

By default :func:`ca_trade.facts.pair_covariates` supplies every covariate (capital-to-capital
great-circle distance, internal distance for domestic pairs, contiguity, common official
language, landlocked, former-USSR pair, agreements by type and year, WTO membership). Where
``raw_dir`` holds a CEPII GeoDist or Gravity file, its ``distcap`` (km), ``contig`` and
``comlang_off`` replace the packaged values for the pairs it covers (Gravity by year,
GeoDist for all years); ``ln_dist`` is recomputed.

Examples
--------
>>> cov = pair_covariates(["KAZ", "UZB"], [2019])
>>> cov.loc[(cov.exporter == "KAZ") & (cov.importer == "UZB"), "contig"].item()
1
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ca_trade.etl.sources import find_sources, read_cepii

__all__ = ["pair_covariates"]


def pair_covariates(
    iso3s: Iterable[str], years: Iterable[int], *, raw_dir: str | Path | None = None
) -> pd.DataFrame:
    """Covariates for every exporter x importer x year among ``iso3s`` (domestic included).

    Parameters
    ----------
    iso3s : iterable of str
        Countries (must be known to :func:`ca_trade.facts.countries`).
    years : iterable of int
        Years.
    raw_dir : str or Path, optional
        Directory searched for CEPII GeoDist/Gravity files that override distance,
        contiguity and common language.

    Returns
    -------
    pandas.DataFrame
        ``exporter, importer, year`` and the covariate columns of the panel schema
        (``dist_km, ln_dist, contig, comlang, landlocked_exp, landlocked_imp, former_ussr,
        intl, fta, cu, eaeu, cis_fta, rta, wto_exp, wto_imp, wto_both``).

    Examples
    --------
    >>> pair_covariates(["KAZ"], [2019])[["exporter", "importer", "intl"]].values.tolist()
    [['KAZ', 'KAZ', 0]]
    """
    from ca_trade import facts

    cov = facts.pair_covariates(sorted(set(iso3s)), sorted(set(years)))
    if raw_dir is None:
        return cov
    files = find_sources(Path(raw_dir))
    for kind in ("cepii_geodist", "cepii_gravity"):
        for path in files.get(kind, []):
            cov = _override(cov, read_cepii(path), by_year=kind == "cepii_gravity")
    return cov


def _override(cov: pd.DataFrame, cepii: pd.DataFrame, *, by_year: bool) -> pd.DataFrame:
    keys = ["exporter", "importer", "year"] if by_year else ["exporter", "importer"]
    src = cepii.dropna(subset=["dist_km"]).drop_duplicates(keys)
    if not by_year:
        src = src.drop(columns="year")
    else:
        src = src.assign(year=src["year"].astype("int64"))
    merged = cov.merge(src, on=keys, how="left", suffixes=("", "_cepii"))
    hit = merged["dist_km_cepii"].notna()
    merged.loc[hit, "dist_km"] = merged.loc[hit, "dist_km_cepii"].astype(float)
    intl = merged["exporter"] != merged["importer"]
    for col in ("contig", "comlang"):
        c = merged[f"{col}_cepii"]
        use = hit & c.notna() & intl
        merged.loc[use, col] = c[use].astype("int64")
    merged["ln_dist"] = np.log(merged["dist_km"].astype(float))
    return merged[cov.columns].reset_index(drop=True)
