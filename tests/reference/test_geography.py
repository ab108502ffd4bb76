"""Packaged geography against CEPII GeoDist (Mayer & Zignago 2011).

Source: CEPII GeoDist ``dist_cepii`` (Etalab Open Licence 2.0), read from
``CA_TRADE_REFERENCE/geography/geodist_dist_cepii.parquet``. The library builds its covariates
from its own packaged facts (CIA World Factbook, Natural Earth); this test only checks them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ca_trade import facts
from tests.conftest import require_reference

pytestmark = pytest.mark.reference


@pytest.fixture(scope="module")
def cepii() -> pd.DataFrame:
    path = require_reference("geography", "geodist_dist_cepii.parquet")
    return pd.read_parquet(path)


def _sample_pairs(cepii: pd.DataFrame) -> pd.DataFrame:
    codes = sorted(facts.countries()["iso3"])
    cov = facts.pair_covariates(codes, [2010])
    ref = cepii.rename(columns={"iso_o": "exporter", "iso_d": "importer", "contig": "contig_cepii"})
    merged = cov.merge(ref, on=["exporter", "importer"])
    assert len(merged) == len(codes) ** 2, "every sample country is in GeoDist"
    return merged


def test_capital_distances_match_cepii_distcap(cepii: pd.DataFrame) -> None:
    # CEPII `distcap`: great-circle distance between capitals; tolerance 5 % (coordinates of
    # capitals differ by a few km between sources). Domestic pairs: CEPII uses the same
    # 0.67*sqrt(area/pi) formula; tolerance 5 % (areas differ slightly between editions).
    m = _sample_pairs(cepii)
    rel = np.abs(m["dist_km"] / m["distcap"] - 1.0)
    worst = m.loc[rel.idxmax(), ["exporter", "importer", "dist_km", "distcap"]]
    assert rel.max() < 0.05, f"worst pair {worst.to_dict()}"


def test_capital_distances_close_to_cepii_dist_for_international_pairs(
    cepii: pd.DataFrame,
) -> None:
    # CEPII `dist` uses the most populous city, not the capital (Almaty, Istanbul, Shanghai,
    # Karachi, Dubai, New York, ...). Cited quantity: median relative gap < 5 %.
    m = _sample_pairs(cepii)
    m = m[m["intl"] == 1]
    assert float(np.median(np.abs(m["dist_km"] / m["dist"] - 1.0))) < 0.05


def test_contiguity_matches_cepii_exactly(cepii: pd.DataFrame) -> None:
    # CEPII `contig` (land border), compared exactly for every international sample pair.
    m = _sample_pairs(cepii)
    m = m[m["intl"] == 1]
    diff = m[m["contig"] != m["contig_cepii"]]
    assert diff.empty, diff[["exporter", "importer"]].to_string()
