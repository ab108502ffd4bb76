"""What a fit keeps (estimate/state.py): frozen, the sample's arrays, no DataFrame."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from ca_trade.estimate.state import EstimationSample, FitState


def test_a_sample_takes_rows_by_mask_or_position() -> None:
    s = EstimationSample(
        y=np.arange(4.0),
        X=np.arange(8.0).reshape(4, 2),
        xnames=("a", "b"),
        fe_codes=(np.array([0, 0, 1, 1]),),
        weights=np.ones(4),
        offset=None,
        rows=np.array([1, 3, 5, 7]),
        index=np.array(["r1", "r3", "r5", "r7"]),
    )
    by_mask = s.take(np.array([True, False, True, False]))
    by_pos = s.take(np.array([0, 2]))
    for t in (by_mask, by_pos):
        assert t.nobs == 2 and t.rows.tolist() == [1, 5] and t.index.tolist() == ["r1", "r5"]
        assert t.fe_codes[0].tolist() == [0, 1] and t.X[:, 1].tolist() == [1.0, 5.0]
        assert t.offset is None and t.weights is not None


def test_the_state_is_frozen_and_holds_arrays_only() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=100), "g": rng.integers(0, 5, 100)})
    df["y"] = rng.poisson(np.exp(0.2 * df["x"])).astype(float)
    st = ct.ppml("y ~ x | g", df, vcov={"CRV1": "g"})._state
    assert isinstance(st, FitState)
    with pytest.raises(dataclasses.FrozenInstanceError):
        st.y_scale = 1.0  # type: ignore[misc]
    frames = [
        f.name
        for f in dataclasses.fields(st)
        if isinstance(getattr(st, f.name), pd.DataFrame | pd.Series)
    ]
    assert frames == []
    assert st.nobs == 100 and st.prior_weights.tolist() == [1.0] * 100
    assert st.data.n_rows == 100 and len(st.data.sha256) == 64
