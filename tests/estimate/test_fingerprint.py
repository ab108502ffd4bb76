"""The data's fingerprint and the fit's provenance record (estimate/fingerprint.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ca_trade.estimate import fingerprint as fingerprint_module
from ca_trade.estimate.fingerprint import data_sha256, hashed_columns


def test_fingerprint_reads_only_the_columns_a_fit_reads() -> None:
    df = pd.DataFrame({"y": [1.0, 2.0, 4.0], "x": [0.5, 0.0, 1.0], "g": [1, 2, 1], "w": 1.0})
    assert hashed_columns("w", np.ones(3), {"CRV1": "g + h"}) == ["w", "g", "h"]
    base = data_sha256(df, "y ~ x | g", ["w"])
    assert data_sha256(df.assign(z=1.0), "y ~ x | g", ["w"]) == base
    assert data_sha256(df.assign(w=2.0), "y ~ x | g", ["w"]) != base


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
