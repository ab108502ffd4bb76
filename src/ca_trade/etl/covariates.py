"""CEPII files override the packaged pair covariates (distance, contiguity, language).

:func:`ca_trade.facts.pair_covariates` supplies every covariate of the panel from the packaged
facts (capital-to-capital great-circle distance, internal distance for domestic pairs,
contiguity, common official language, landlocked, former-USSR pair, agreements by type and
year, WTO membership). Where a raw folder holds a CEPII GeoDist or Gravity file, its
``distcap`` (km), ``contig`` and ``comlang_off`` replace the packaged values for the pairs it
covers (Gravity by year, GeoDist for all years); ``ln_dist`` is recomputed.

Examples
--------
>>> import tempfile
>>> from ca_trade import facts
>>> cov = cepii_overrides(facts.pair_covariates(["KAZ", "UZB"], [2019]), tempfile.mkdtemp())
>>> cov.loc[(cov.exporter == "KAZ") & (cov.importer == "UZB"), "contig"].item()
1
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ca_trade.etl.sources import find_sources, read_cepii

__all__ = ["cepii_overrides"]


def cepii_overrides(covariates: pd.DataFrame, raw_dir: str | Path) -> pd.DataFrame:
    """Replace distance, contiguity and common language by those of CEPII files in `raw_dir`.

    Parameters
    ----------
    covariates : pandas.DataFrame
        Pair covariates, as :func:`ca_trade.facts.pair_covariates` returns them.
    raw_dir : str or Path
        Directory searched for CEPII GeoDist/Gravity files.

    Returns
    -------
    pandas.DataFrame
        The covariates, with ``dist_km``, ``ln_dist``, ``contig`` and ``comlang`` from the
        files for the pairs they cover (GeoDist first, then Gravity by year); unchanged where
        there is no such file.

    Examples
    --------
    >>> import tempfile
    >>> from ca_trade import facts
    >>> cov = facts.pair_covariates(["KAZ"], [2019])
    >>> cepii_overrides(cov, tempfile.mkdtemp()).equals(cov)
    True
    """
    cov = covariates
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
