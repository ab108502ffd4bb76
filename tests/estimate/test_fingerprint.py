"""The data's fingerprint and the fit's provenance record (estimate/fingerprint.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ca_trade.estimate import fingerprint as fingerprint_module
from ca_trade.estimate.fingerprint import data_sha256, hashed_columns


def _panel(seed: int = 0, n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {"x": rng.normal(size=n), "g": rng.integers(0, 12, n), "w": rng.uniform(0.5, 2.0, n)}
    )
    df["y"] = rng.poisson(np.exp(1.0 + 0.4 * df["x"])).astype(float) * 1000.0
    return df


def test_fingerprint_reads_only_the_columns_a_fit_reads() -> None:
    df = _panel()
    assert hashed_columns("w", np.ones(3), {"CRV1": "g + h"}) == ["w", "g", "h"]
    base = data_sha256(df, "y ~ x | g", ["w"])
    assert data_sha256(df.assign(z=1.0), "y ~ x | g", ["w"]) == base
    assert data_sha256(df.assign(w=1.0), "y ~ x | g", ["w"]) != base


def test_the_fingerprint_of_large_data_on_a_second_thread_is_the_same() -> None:
    rng = np.random.default_rng(0)
    n = fingerprint_module._HASH_THREAD_ROWS + 10
    df = pd.DataFrame(
        {"y": rng.normal(size=n), "x": rng.normal(size=n), "g": rng.integers(0, 9, n)}
    )
    later = fingerprint_module.fingerprint_later(df, "y ~ x | g", [])
    assert later() == fingerprint_module.fingerprint(df, "y ~ x | g", [])
    bad = df.assign(x=[[1]] * n)  # unhashable values: the error reaches the caller
    with pytest.raises(TypeError):
        fingerprint_module.fingerprint_later(bad, "y ~ x | g", [])()
