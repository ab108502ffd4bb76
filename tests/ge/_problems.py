"""Generators of small, well-posed GE problems for the tests of ca_trade.ge."""

from __future__ import annotations

import numpy as np
import pandas as pd


def names(n: int) -> list[str]:
    return [f"C{i:02d}" for i in range(n)]


def to_frame(mat: np.ndarray, countries: list[str] | None = None) -> pd.DataFrame:
    n = mat.shape[0]
    cs = countries or names(n)
    return pd.DataFrame(
        {"exporter": np.repeat(cs, n), "importer": np.tile(cs, n), "value": mat.ravel()}
    )


def random_flows(n: int, seed: int, *, balanced: bool = False, zeros: bool = False) -> np.ndarray:
    """Gravity-like flows with positive domestic trade; `balanced`: row sums = column sums."""
    rng = np.random.default_rng(seed)
    size = np.exp(rng.normal(0.0, 1.0, n))
    dist = np.exp(rng.uniform(0.5, 2.5, (n, n)))
    dist = (dist + dist.T) / 2
    mat = np.outer(size, size) / dist * np.exp(rng.normal(0.0, 0.3, (n, n)))
    np.fill_diagonal(mat, size**2 * 3.0)
    if zeros and n > 2:
        mask = rng.random((n, n)) < 0.15
        np.fill_diagonal(mask, False)
        mat[mask] = 0.0
    if balanced:
        mat = mat + mat.T  # symmetric: every country's sales equal its spending
    return mat


def random_effects(n: int, seed: int, scale: float = 0.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1)
    eff = rng.normal(0.0, scale, (n, n))
    np.fill_diagonal(eff, 0.0)
    frame = to_frame(eff)
    return frame.rename(columns={"value": "effect"})
