"""IRLS diagnostics: diverging (separated) observations and overflowing cross-products."""

from __future__ import annotations

import numpy as np
import pytest

from ca_trade.estimate.demean import FixedEffects
from ca_trade.estimate.irls import poisson_irls, wls
from ca_trade.exceptions import ConvergenceError


def _problem(separated: bool, seed: int = 4, n: int = 400) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 8, n)
    z = rng.normal(size=n)
    d = (rng.random(n) < 0.25).astype(float)
    y = rng.poisson(np.exp(0.5 + 0.4 * z - 0.5 * d)).astype(float)
    if separated:
        y[d == 1] = 0.0
    return y, np.column_stack([d, z]), g


def test_separated_rows_are_flagged_as_diverging() -> None:
    y, X, g = _problem(separated=True)
    fit = poisson_irls(y, X, FixedEffects.from_codes([g]))
    assert fit.converged  # on the deviance: that is why the flag is needed
    np.testing.assert_array_equal(fit.diverging, X[:, 0] == 1)
    assert fit.beta_step[0] < -0.5 and abs(fit.beta_step[1]) < 1e-6


def test_nothing_diverges_without_separation() -> None:
    y, X, g = _problem(separated=False)
    fit = poisson_irls(y, X, FixedEffects.from_codes([g]))
    assert fit.converged and not fit.diverging.any()
    assert np.all(np.abs(fit.beta_step) < 1e-4)
    ols = wls(y, X, FixedEffects.from_codes([g]))
    assert not ols.diverging.any() and ols.beta_step.shape == (2,)


def test_overflowing_cross_products_raise() -> None:
    y, X, g = _problem(separated=False)
    offset = np.where(np.arange(y.shape[0]) == 0, 800.0, 0.0)  # exp(800) overflows
    with pytest.raises(ConvergenceError, match="overflow float64"):
        poisson_irls(y, X, FixedEffects.from_codes([g]), offset=offset)
    with pytest.raises(ConvergenceError, match="overflow float64"):
        wls(y, X * 1e200, None)
