"""IRLS diagnostics: diverging (separated) observations and overflowing cross-products."""

from __future__ import annotations

import numpy as np
import pytest

from ca_trade.estimate.demean import FixedEffects, demean_inplace
from ca_trade.estimate.irls import initial_working, poisson_irls, wls
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


def _panel_problem(k: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray, FixedEffects]:
    rng = np.random.default_rng(seed)
    n = 1500
    codes = [rng.integers(0, 15, n), rng.integers(0, 20, n), rng.integers(0, 60, n)]
    X = rng.normal(size=(n, k)) * 0.3
    eta = 0.5 + X @ np.linspace(0.2, -0.2, k) + 0.3 * rng.normal(size=60)[codes[2]]
    y = rng.poisson(np.exp(eta)).astype(float)
    return y, X, FixedEffects.from_codes(codes)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_irls_matches_poisson_glm_with_dummies(k: int) -> None:
    # k + 1 = 2, 4 and 6 columns: the compiled passes handle up to four columns at once and
    # fall back to general loops beyond
    y, X, fe = _panel_problem(k)
    fit = poisson_irls(y, X, fe, tol=1e-12, fixef_tol=1e-12)
    dummies = [np.eye(int(fe.n_levels[d]))[fe.codes[d]][:, 1:] for d in range(3)]
    design = np.column_stack([X, np.ones(y.shape[0]), *dummies])
    b = np.zeros(design.shape[1])
    for _ in range(50):  # Newton on the Poisson log-likelihood
        mu = np.exp(design @ b)
        step = np.linalg.lstsq(design * np.sqrt(mu)[:, None], (y - mu) / np.sqrt(mu), rcond=None)
        b += step[0]
    assert fit.converged
    np.testing.assert_allclose(fit.beta, b[:k], rtol=1e-8, atol=1e-10)


def test_first_block_coefficients_warm_start_the_second_iteration() -> None:
    y, X, fe = _panel_problem(2)
    cold = poisson_irls(y, X, fe, tol=1e-12, fixef_tol=1e-12)
    w0, z0 = initial_working(y, None, None)
    block = np.column_stack([z0, X])
    coef = np.empty((int(fe.offsets[-1]), 3))
    scale = np.sqrt((w0[:, None] * block**2).sum(axis=0))
    ok, _ = demean_inplace(block, fe, w0, scale, tol=1e-12, coef=coef)
    warm = poisson_irls(
        y, X, fe, tol=1e-12, fixef_tol=1e-12, init_block=block.copy(), init_coef=coef
    )
    assert ok and warm.converged
    np.testing.assert_allclose(warm.beta, cold.beta, rtol=1e-9)
    np.testing.assert_allclose(warm.X_tilde, cold.X_tilde, atol=1e-9)
    with pytest.raises(ValueError, match="init_coef"):
        poisson_irls(y, X, fe, init_block=block, init_coef=coef[:, :2])
    with pytest.raises(ValueError, match="init_block"):
        poisson_irls(y, X, fe, init_coef=coef)


def test_fits_repeat_byte_for_byte() -> None:
    y, X, fe = _panel_problem(2)
    a = poisson_irls(y, X, fe)
    b = poisson_irls(y, X, fe)
    assert a.beta.tobytes() == b.beta.tobytes()
    assert a.X_tilde.tobytes() == b.X_tilde.tobytes()
    assert a.n_iter == b.n_iter


def test_collinearity_over_several_row_chunks_matches_one_decomposition() -> None:
    from ca_trade.estimate.irls import find_collinear

    rng = np.random.default_rng(0)
    n = 150_000  # three chunks of the tall-skinny QR
    a, b = rng.normal(size=n), rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, n)
    X = np.column_stack([a, b, a - 2.0 * b, np.zeros(n), rng.normal(size=n)])
    assert find_collinear(X, X, w) == [2, 3]
    assert find_collinear(X[:, [0, 1, 4]], X[:, [0, 1, 4]], w) == []
    # a column that depends on later ones is kept; the later one goes (order matters)
    Y = np.column_stack([a + b, a, b])
    assert find_collinear(Y, Y, w) == [2]
