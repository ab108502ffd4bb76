"""Tests of the HDFE kernel against dense least squares."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ca_trade.estimate.demean import (
    FixedEffects,
    demean,
    demean_inplace,
    demean_stacked,
    level_weights,
)


def _dense(x: np.ndarray, codes: list[np.ndarray], w: np.ndarray) -> np.ndarray:
    D = np.hstack([np.eye(int(c.max()) + 1)[c] for c in codes])
    sw = np.sqrt(w)[:, None]
    x2 = x.reshape(len(w), -1)
    coef = np.linalg.lstsq(D * sw, x2 * sw, rcond=None)[0]
    return (x2 - D @ coef).reshape(x.shape)


@pytest.mark.parametrize("n_fe", [1, 2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_dense_least_squares(n_fe: int, weighted: bool) -> None:
    rng = np.random.default_rng(n_fe)
    n = 500
    codes = [rng.integers(0, g, n) for g in (7, 11, 40)[:n_fe]]
    x = rng.normal(size=(n, 3))
    w = rng.uniform(0.2, 5.0, n) if weighted else np.ones(n)
    fe = FixedEffects.from_codes(codes)
    xt, ok, it = demean(x, fe, w if weighted else None, tol=1e-13)
    assert ok
    assert it >= 1
    np.testing.assert_allclose(xt, _dense(x, [fe.codes[d] for d in range(n_fe)], w), atol=1e-10)


def test_one_dimensional_input_and_shape() -> None:
    fe = FixedEffects.from_codes([np.array([0, 0, 1, 1])])
    xt, ok, _ = demean(np.array([1.0, 3.0, 2.0, 6.0]), fe)
    assert ok
    assert xt.shape == (4,)
    np.testing.assert_allclose(xt, [-1.0, 1.0, -2.0, 2.0])


def test_warm_start_reaches_the_same_solution_faster() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    codes = [rng.integers(0, 50, n), rng.integers(0, 60, n), rng.integers(0, 300, n)]
    fe = FixedEffects.from_codes(codes)
    x = rng.normal(size=n)
    w1 = rng.uniform(0.5, 2.0, n)
    w2 = w1 * rng.uniform(0.999, 1.001, n)
    xt1, _, _ = demean(x, fe, w1, tol=1e-12)
    cold, ok_c, it_cold = demean(x, fe, w2, tol=1e-12)
    warm, ok_w, it_warm = demean(x, fe, w2, tol=1e-12, init=xt1)
    assert ok_c and ok_w
    assert it_warm < it_cold
    np.testing.assert_allclose(warm, cold, atol=1e-9)


def test_iteration_cap_reports_non_convergence() -> None:
    rng = np.random.default_rng(4)
    n = 2000
    codes = [rng.integers(0, 40, n), rng.integers(0, 40, n), rng.integers(0, 200, n)]
    _, ok, it = demean(rng.normal(size=n), FixedEffects.from_codes(codes), maxiter=1, tol=1e-14)
    assert not ok
    assert it == 1


def test_zero_column_and_fixed_effect_column_vanish() -> None:
    fe = FixedEffects.from_codes([np.array([0, 1, 1, 2]), np.array([0, 0, 1, 1])])
    x = np.column_stack([np.zeros(4), np.array([5.0, 2.0, 2.0, 7.0])])
    xt, ok, _ = demean(x, fe)
    assert ok
    np.testing.assert_allclose(xt, 0.0, atol=1e-12)


def test_from_codes_factorises_labels() -> None:
    fe = FixedEffects.from_codes([np.array(["b", "a", "b", "c"]), np.array([10, 10, 20, 20])])
    assert fe.codes.tolist() == [[1, 0, 1, 2], [0, 0, 1, 1]]
    assert fe.n_levels.tolist() == [3, 2]
    assert [c.tolist() for c in fe.counts] == [[1, 2, 1], [2, 2]]
    assert fe.offsets.tolist() == [0, 3, 5]
    sub = fe.subset(np.array([True, False, True, True]))
    assert sub.nobs == 3


def test_bad_inputs_are_rejected() -> None:
    fe = FixedEffects.from_codes([np.array([0, 1, 1])])
    with pytest.raises(ValueError, match="shape"):
        demean(np.ones(4), fe)
    with pytest.raises(ValueError, match="weights"):
        demean(np.ones(3), fe, np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="init"):
        demean(np.ones(3), fe, init=np.ones(2))
    with pytest.raises(ValueError, match="at least one"):
        FixedEffects.from_codes([])
    with pytest.raises(ValueError, match="shape"):
        FixedEffects.from_codes([np.array([0, 1]), np.array([0, 1, 2])])


def test_block_columns_converge_independently() -> None:
    # columns of very different difficulty share sweeps but keep their own CG recursions:
    # the block result equals demeaning each column alone
    rng = np.random.default_rng(7)
    n = 4000
    codes = [rng.integers(0, 60, n), rng.integers(0, 70, n), rng.integers(0, 400, n)]
    fe = FixedEffects.from_codes(codes)
    w = rng.uniform(0.1, 10.0, n)
    x = np.column_stack(
        [
            rng.normal(size=n),
            np.zeros(n),  # vanishes at once
            fe.codes[2].astype(float),  # absorbed by the third fixed effect
            1e6 * rng.normal(size=n),  # large scale
        ]
    )
    block, ok, _ = demean(x, fe, w, tol=1e-12)
    assert ok
    for j in range(x.shape[1]):
        alone, ok_j, _ = demean(x[:, j], fe, w, tol=1e-12)
        assert ok_j
        scale = max(float(np.abs(x[:, j]).max()), 1.0)
        np.testing.assert_allclose(block[:, j], alone, atol=1e-9 * scale)
    np.testing.assert_allclose(block[:, 1:3], 0.0, atol=1e-8)


def test_demean_inplace_matches_demean_and_checks_layout() -> None:
    rng = np.random.default_rng(8)
    n = 1500
    fe = FixedEffects.from_codes([rng.integers(0, 30, n), rng.integers(0, 45, n)])
    x = rng.normal(size=(n, 2))
    w = rng.uniform(0.5, 2.0, n)
    ref, _, _ = demean(x, fe, w, tol=1e-12)
    u = x.copy()
    scale = np.sqrt((w[:, None] * x**2).sum(axis=0))
    ok, it = demean_inplace(u, fe, w, scale, tol=1e-12, inv_w=level_weights(fe, w))
    assert ok and it > 0
    np.testing.assert_allclose(u, ref, atol=1e-10)
    with pytest.raises(ValueError, match="C-contiguous"):
        demean_inplace(np.asfortranarray(x), fe, w, scale)


def test_level_weights_are_inverse_level_totals() -> None:
    fe = FixedEffects.from_codes([np.array([0, 0, 1, 2]), np.array([5, 6, 6, 6])])
    inv = level_weights(fe, np.array([1.0, 3.0, 2.0, 0.0]))
    # dimension 0: levels {0: 4, 1: 2, 2: 0 -> 0}; dimension 1: {5: 1, 6: 5}
    np.testing.assert_allclose(inv, [0.25, 0.5, 0.0, 1.0, 0.2])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_fe=st.integers(1, 3),
    k=st.integers(1, 4),
)
def test_demeaned_columns_are_orthogonal_to_every_level_and_idempotent(
    seed: int, n_fe: int, k: int
) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 300))
    codes = [rng.integers(0, int(rng.integers(1, 15)), n) for _ in range(n_fe)]
    fe = FixedEffects.from_codes(codes)
    w = rng.uniform(0.1, 3.0, n)
    x = rng.normal(size=(n, k)) * rng.uniform(0.1, 100.0, k)
    xt, ok, _ = demean(x, fe, w, tol=1e-13)
    assert ok
    scale = float(np.abs(x).max())
    for d in range(n_fe):
        for j in range(k):
            sums = np.bincount(fe.codes[d], weights=w * xt[:, j])
            np.testing.assert_allclose(sums, 0.0, atol=1e-8 * scale * n)
    again, _, _ = demean(xt, fe, w, tol=1e-13)
    np.testing.assert_allclose(again, xt, atol=1e-8 * scale)


def _sweep(x: np.ndarray, codes: list[np.ndarray], w: np.ndarray) -> np.ndarray:
    """Symmetric Kaczmarz sweep T: project out dimensions 0, 1, ..., D-1, ..., 1, 0."""
    v = x.copy()
    order = [*range(len(codes)), *range(len(codes) - 2, -1, -1)]
    for d in order:
        c = codes[d]
        tot = np.bincount(c, weights=w)
        for j in range(v.shape[1]):
            mean = np.bincount(c, weights=w * v[:, j]) / np.where(tot > 0, tot, 1.0)
            v[:, j] -= mean[c]
    return v


@pytest.mark.parametrize("tol", [1e-3, 1e-6, 1e-9])
def test_stopping_rule_bounds_the_sweep_residual(tol: float) -> None:
    # the coefficient-space CG stops on sqrt(r' M^-1 r), which bounds the weighted norm of
    # (I - T) x~ (the observation-space solver's criterion) from above: never looser
    rng = np.random.default_rng(11)
    n = 3000
    codes = [rng.integers(0, 40, n), rng.integers(0, 50, n), rng.integers(0, 300, n)]
    fe = FixedEffects.from_codes(codes)
    w = rng.uniform(0.05, 20.0, n)
    x = rng.normal(size=(n, 3)) * [1.0, 50.0, 1e-3]
    xt, ok, it = demean(x, fe, w, tol=tol)
    assert ok and it >= 1
    r = xt - _sweep(xt, [fe.codes[d] for d in range(3)], w)
    norm_r = np.sqrt((w[:, None] * r**2).sum(axis=0))
    norm_x = np.sqrt((w[:, None] * x**2).sum(axis=0))
    assert np.all(norm_r <= tol * norm_x)


def test_more_than_four_columns_and_coefficients_out() -> None:
    # columns are solved four at a time: six columns take two blocks; coef gives D a
    rng = np.random.default_rng(12)
    n = 800
    codes = [rng.integers(0, 12, n), rng.integers(0, 30, n), rng.integers(0, 9, n)]
    fe = FixedEffects.from_codes(codes)
    w = rng.uniform(0.5, 2.0, n)
    x = rng.normal(size=(n, 6))
    u = x.copy()
    coef = np.empty((int(fe.offsets[-1]), 6))
    scale = np.sqrt((w[:, None] * x**2).sum(axis=0))
    ok, _ = demean_inplace(u, fe, w, scale, tol=1e-13, coef=coef)
    assert ok
    np.testing.assert_allclose(u, _dense(x, [fe.codes[d] for d in range(3)], w), atol=1e-10)
    fitted = sum(coef[fe.offsets[d] + fe.codes[d]] for d in range(3))
    np.testing.assert_allclose(x - fitted, u, atol=1e-12)
    with pytest.raises(ValueError, match="coef"):
        demean_inplace(x.copy(), fe, w, scale, coef=np.empty((3, 6)))


def test_stacked_levels_give_the_same_bytes_and_runs_repeat_exactly() -> None:
    rng = np.random.default_rng(13)
    n = 2000
    fe = FixedEffects.from_codes([rng.integers(0, 30, n), rng.integers(0, 200, n)])
    w = rng.uniform(0.5, 2.0, n)
    x = rng.normal(size=(n, 3))
    scale = np.sqrt((w[:, None] * x**2).sum(axis=0))
    a, b, c = x.copy(), x.copy(), x.copy()
    demean_inplace(a, fe, w, scale, tol=1e-11)
    demean_inplace(b, fe, w, scale, tol=1e-11)
    demean_stacked(c, fe.kernel_codes, fe.offsets, w, scale, tol=1e-11)
    assert a.tobytes() == b.tobytes() == c.tobytes()
    with pytest.raises(ValueError, match="int32"):
        demean_stacked(c, fe.codes, fe.offsets, w, scale)


def test_factorising_dense_integer_codes_matches_unique() -> None:
    # non-negative integer labels take the bincount path; others np.unique: same result
    rng = np.random.default_rng(14)
    labels = rng.integers(0, 50, 500) * 3
    fast = FixedEffects.from_codes([labels])
    slow = FixedEffects.from_codes([labels.astype(str).astype(object)])
    by_unique = np.unique(labels, return_inverse=True)[1]
    np.testing.assert_array_equal(fast.codes[0], by_unique)
    np.testing.assert_array_equal(fast.labels[0], np.unique(labels))
    np.testing.assert_array_equal(fast.counts[0], np.bincount(by_unique))
    assert slow.n_levels.tolist() == fast.n_levels.tolist()
    neg = FixedEffects.from_codes([labels - 100])
    np.testing.assert_array_equal(neg.codes[0], by_unique)
    np.testing.assert_array_equal(neg.labels[0], np.unique(labels) - 100)
