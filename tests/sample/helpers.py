"""Shared by the sample tests: an independent PPML (statsmodels) on small frames."""

from __future__ import annotations

import pandas as pd
import statsmodels.api as sm


def ppml_fe(d: pd.DataFrame, y: str, cols: list[str]) -> pd.Series:
    """Poisson GLM with exporter-year and importer-year dummies (statsmodels, small data)."""
    ey = d.exporter + d.year.astype(str)
    iy = d.importer + d.year.astype(str)
    x = pd.concat(
        [
            d[cols].astype(float),
            pd.get_dummies(ey, prefix="e", dtype=float),
            pd.get_dummies(iy, prefix="i", dtype=float),
        ],
        axis=1,
    )
    # one importer-year dummy per year is collinear with the exporter-year dummies
    first = sorted(d.importer.unique())[0]
    x = x.drop(columns=[f"i_{first}{y}" for y in sorted(d.year.unique())])
    return sm.GLM(d[y] / 1e6, x, family=sm.families.Poisson()).fit().params
