"""Generators of small, well-posed multi-sector GE problems for tests of ca_trade.ge.sectoral."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tests.ge._problems import names


def sector_names(s: int) -> list[str]:
    return [f"S{k:02d}" for k in range(s)]


@dataclass(frozen=True)
class Frames:
    """Long frames of one generated problem, and its arrays ``[sector, exporter, importer]``."""

    flows: pd.DataFrame
    tariffs: pd.DataFrame
    production: pd.DataFrame
    inputs: pd.DataFrame
    theta: dict[str, float]
    cube: np.ndarray
    tariff: np.ndarray


def cube_frame(
    cube: np.ndarray, column: str, countries: list[str], sectors: list[str]
) -> pd.DataFrame:
    s, n, _ = cube.shape
    return pd.DataFrame(
        {
            "exporter": np.tile(np.repeat(countries, n), s),
            "importer": np.tile(countries, s * n),
            "sector": np.repeat(sectors, n * n),
            column: cube.ravel(),
        }
    )


def random_problem(
    n: int,
    s: int,
    seed: int,
    *,
    io: bool = True,
    tariffs: bool = True,
    balanced: bool = False,
) -> Frames:
    """Gravity-like flows by sector with home bias, tariffs and a consistent input-output table.

    Final-demand shares are left to be derived from the data (positive by construction:
    intermediate use is a fraction of spending).
    """
    rng = np.random.default_rng(seed)
    countries, sectors = names(n), sector_names(s)
    size = np.exp(rng.normal(0.0, 0.7, (s, n)))
    dist = np.exp(rng.uniform(0.5, 2.0, (n, n)))
    dist = (dist + dist.T) / 2
    cube = size[:, :, None] * size[:, None, :] / dist[None] * np.exp(rng.normal(0, 0.3, (s, n, n)))
    for q in range(s):
        cube[q][np.diag_indices(n)] = size[q] ** 2 * rng.uniform(2.0, 6.0, n)
    if balanced:
        cube = cube + cube.transpose(0, 2, 1)
    tariff = rng.uniform(0.0, 0.25, (s, n, n)) if tariffs else np.zeros((s, n, n))
    for q in range(s):
        np.fill_diagonal(tariff[q], 0.0)
    theta = {sec: float(t) for sec, t in zip(sectors, rng.uniform(2.0, 9.0, s))}
    va = rng.uniform(0.35, 0.8, (n, s)) if io else np.ones((n, s))
    shares = rng.dirichlet(np.ones(s), size=(n, s)).transpose(0, 2, 1)  # [country, input, sector]
    # scale intermediate use below spending: shrink value-added gaps where needed
    spending = ((1 + tariff) * cube).sum(axis=1)  # (S, N)
    output = cube.sum(axis=2)
    inter = np.einsum("nks,sn->kn", shares * (1 - va)[:, None, :], output)
    scale = np.minimum(1.0, 0.6 * spending / np.maximum(inter, 1e-300)).min(axis=0)  # (N,)
    va = 1.0 - (1.0 - va) * scale[:, None]
    production = pd.DataFrame(
        {
            "country": np.repeat(countries, s),
            "sector": np.tile(sectors, n),
            "value_added_share": va.ravel(),
        }
    )
    c, k, q = np.nonzero(shares)
    inputs = pd.DataFrame(
        {
            "country": np.array(countries)[c],
            "input_sector": np.array(sectors)[k],
            "sector": np.array(sectors)[q],
            "share": shares[c, k, q],
        }
    )
    return Frames(
        flows=cube_frame(cube, "value", countries, sectors),
        tariffs=cube_frame(tariff, "tariff", countries, sectors),
        production=production,
        inputs=inputs,
        theta=theta,
        cube=cube,
        tariff=tariff,
    )


def random_changes(frames: Frames, seed: int, *, effects: bool = True) -> pd.DataFrame:
    """New tariffs (cut or raised) on every pair and sector, and partial effects."""
    rng = np.random.default_rng(seed + 100)
    ch = frames.tariffs.rename(columns={"tariff": "new_tariff"})
    home = ch["exporter"] == ch["importer"]
    ch["new_tariff"] = np.where(home, 0.0, ch["new_tariff"] * rng.uniform(0.0, 1.6, len(ch)))
    if effects:
        ch["effect"] = np.where(home, 0.0, rng.normal(0.0, 0.3, len(ch)))
    return ch
