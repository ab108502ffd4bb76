"""Singletons and separation on data built to have (or not have) them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from ca_trade.estimate._separation_kernels import dense_levels
from ca_trade.estimate._separation_lsq import no_separation_certificate
from ca_trade.estimate.separation import (
    SeparationResult,
    drop_singletons,
    fe_separation,
    find_separated,
    rectifier_separation,
)
from ca_trade.exceptions import (
    ConvergenceError,
    ConvergenceWarning,
    DataValidationError,
    SpecificationError,
)

# ---------------------------------------------------------------------------------- singletons


def test_drop_singletons_cascades_until_none_left() -> None:
    # rows 0-3 are a complete 2 x 2 block; row 5 is alone in exporter 2, and once it is gone
    # row 4 is alone in importer 2
    exporter = np.array([0, 0, 1, 1, 1, 2])
    importer = np.array([0, 1, 0, 1, 2, 2])
    keep = drop_singletons([exporter, importer])
    assert keep.tolist() == [True, True, True, True, False, False]
    # a chain collapses completely
    chain_e = np.array([0, 0, 1, 1, 2])
    chain_m = np.array([0, 1, 0, 2, 2])
    assert not drop_singletons([chain_e, chain_m]).any()


def test_drop_singletons_no_fixed_effects_keeps_all() -> None:
    assert drop_singletons([], keep=np.ones(3, dtype=bool)).tolist() == [True, True, True]


def test_drop_singletons_respects_keep_and_sparse_codes() -> None:
    codes = np.array([10, 10, 10**9, 10**9, 7])
    keep = np.array([True, True, True, False, True])
    out = drop_singletons([codes], keep=keep)
    assert out.tolist() == [True, True, False, False, False]
    assert keep.tolist() == [True, True, True, False, True]  # input untouched


def test_drop_singletons_result_has_no_singletons_large() -> None:
    rng = np.random.default_rng(3)
    n = 50_000
    fes = [rng.integers(0, 20_000, n), rng.integers(0, 500, n), rng.integers(0, 30_000, n)]
    keep = drop_singletons(fes)
    assert 0 < keep.sum() < n
    for c in fes:
        counts = np.bincount(c[keep])
        assert counts[counts > 0].min() >= 2
    # maximality: every dropped row is a singleton once the kept rows are fixed
    assert drop_singletons(fes, keep=keep).tolist() == keep.tolist()


def _bincount_singleton_pass(codes: list[np.ndarray], keep: np.ndarray) -> bool:
    """The numpy reference: one bincount pass per fixed effect, in turn."""
    changed = False
    for c in codes:
        counts = np.bincount(c[keep], minlength=int(c.max()) + 1)
        single = keep & (counts[c] == 1)
        if single.any():
            keep &= ~single
            changed = True
    return changed


def _bincount_fe_separation(y: np.ndarray, codes: list[np.ndarray]) -> np.ndarray:
    """The numpy reference of fe_separation(singletons=True): fe passes and singleton passes."""
    keep = np.ones(y.shape[0], dtype=bool)
    sep = np.zeros(y.shape[0], dtype=bool)
    while True:
        new = np.zeros(y.shape[0], dtype=bool)
        for c in codes:
            pos = np.bincount(c[keep & (y > 0)], minlength=int(c.max()) + 1)
            new |= keep & (pos[c] == 0)
        sep |= new
        keep &= ~new
        if not _bincount_singleton_pass(codes, keep) and not new.any():
            return sep


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), n_fe=st.integers(1, 3))
def test_compiled_passes_match_bincount_passes(seed: int, n_fe: int) -> None:
    # the singleton, zero-level and relabelling kernels against the plain numpy algorithms
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    codes = [rng.integers(0, int(rng.integers(1, 40)), n) for _ in range(n_fe)]
    y = np.where(rng.random(n) < 0.4, 0.0, rng.exponential(size=n))
    keep = np.ones(n, dtype=bool)
    while _bincount_singleton_pass(codes, keep):
        pass
    np.testing.assert_array_equal(drop_singletons(codes), keep)
    np.testing.assert_array_equal(fe_separation(y, codes), _bincount_fe_separation(y, codes))
    rows = np.flatnonzero(rng.random(n) < 0.7).astype(np.int64)
    lev, offsets = dense_levels(tuple(np.asarray(c, dtype=np.int64) for c in codes), rows)
    for d, c in enumerate(codes):
        expect = np.unique(c[rows], return_inverse=True)[1].ravel() + offsets[d]
        np.testing.assert_array_equal(lev[d], expect)
        assert offsets[d + 1] - offsets[d] == np.unique(c[rows]).shape[0]


# ------------------------------------------------------------------------ fixed-effect separation


def test_fe_separation_flags_all_zero_levels() -> None:
    y = np.array([0.0, 0.0, 1.0, 0.0, 2.0, 3.0])
    pair = np.array([0, 0, 1, 1, 2, 2])
    year = np.array([0, 1, 0, 1, 0, 1])
    assert fe_separation(y, [pair, year]).tolist() == [True, True, False, False, False, False]


def test_fe_separation_iterates_with_singletons() -> None:
    # level 1 of fe2 holds two zeros and a positive (row 2) that is a singleton in fe1; once
    # the singleton goes, level 1 is all zero and rows 0 and 1 are separated
    y = np.array([0.0, 0.0, 1.0, 5.0, 2.0])
    fe1 = np.array([0, 0, 1, 0, 0])
    fe2 = np.array([1, 1, 1, 0, 0])
    assert fe_separation(y, [fe1, fe2], singletons=False).tolist() == [False] * 5
    assert fe_separation(y, [fe1, fe2]).tolist() == [True, True, False, False, False]


def test_fe_separation_without_fixed_effects_flags_nothing() -> None:
    assert not fe_separation(np.zeros(4), []).any()


# ----------------------------------------------------------------------------- iterated rectifier


def test_regressor_positive_only_when_y_is_zero() -> None:
    # the classic example: x > 0 only where y == 0, x == 0 where y > 0
    y = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 3.0, 4.0])
    x = np.array([1.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    sep = rectifier_separation(y, x[:, None], [])
    assert np.flatnonzero(sep).tolist() == [0, 1]


def test_regressor_negative_only_when_y_is_zero() -> None:
    # z = -x separates: the sign of the separating direction does not matter
    y = np.array([0.0, 1.0, 2.0, 0.0, 3.0, 0.0])
    x = np.array([-2.0, 0.0, 0.0, 0.0, 0.0, -0.5])
    assert np.flatnonzero(rectifier_separation(y, x[:, None], [])).tolist() == [0, 5]


def test_no_separation_in_generic_data() -> None:
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=(n, 2))
    fe = [rng.integers(0, 10, n), rng.integers(0, 8, n)]
    y = rng.poisson(np.exp(0.3 * x[:, 0]))
    assert (y == 0).any()
    assert not rectifier_separation(y, x, fe).any()


def test_separation_by_a_combination_of_regressors() -> None:
    # neither x1 nor x2 separates alone; z = x1 - x2 is zero where y > 0 and positive on rows
    # 0 and 1 (y == 0)
    y = np.array([0.0, 0.0, 1.0, 2.0, 3.0, 0.0, 4.0])
    x1 = np.array([3.0, 2.0, 1.0, 5.0, -1.0, 2.0, 0.0])
    x2 = np.array([1.0, 1.0, 1.0, 5.0, -1.0, 2.0, 0.0])
    sep = rectifier_separation(y, np.column_stack([x1, x2]), [])
    assert np.flatnonzero(sep).tolist() == [0, 1]


def test_separation_by_regressor_within_fixed_effects() -> None:
    # nested case: x separates rows 0 and 4 only after the group effects are accounted for
    # (x is constant within group 1 except on the zero rows)
    y = np.array([0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 0.0])
    g = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    x = np.array([5.0, 1.0, 1.0, 2.0, 6.0, 2.0, 0.0, 0.0])
    sep = rectifier_separation(y, x[:, None], [g])
    assert np.flatnonzero(sep).tolist() == [0, 4]


def test_separation_by_combination_of_fixed_effects() -> None:
    # two-way: exporter 0 x importer 1 is zero; z = a_0 + b_1 with a_0 = 1, b_1 = -1 ... is not
    # separating (row 3 has y > 0), but the zero row of the isolated cell (2, 2) is, since its
    # exporter and importer levels are otherwise positive only through each other
    y = np.array([1.0, 0.0, 2.0, 3.0, 0.0, 1.0, 1.0])
    e = np.array([0, 0, 1, 1, 2, 2, 2])
    m = np.array([0, 1, 0, 1, 2, 3, 3])
    sep = rectifier_separation(y, None, [e, m])
    fe_only = fe_separation(y, [e, m], singletons=False)
    assert sep[fe_only].all()
    assert not sep[y > 0].any()


def test_rectifier_is_invariant_to_row_order_and_scaling() -> None:
    rng = np.random.default_rng(5)
    y = np.array([0.0, 0.0, 1.0, 2.0, 3.0, 0.0, 4.0, 0.0, 2.0])
    x = np.array([3.0, 2.0, 0.0, 0.0, 0.0, 1.0, 0.0, -1.0, 0.0])
    g = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    base = rectifier_separation(y, x[:, None], [g])
    perm = rng.permutation(y.shape[0])
    permuted = rectifier_separation(y[perm], 1e6 * x[perm, None], [g[perm]])
    assert permuted.tolist() == base[perm].tolist()


def test_zero_weight_rows_are_ignored() -> None:
    y = np.array([0.0, 0.0, 1.0, 2.0, 3.0])
    x = np.array([1.0, 1.0, 0.0, 0.0, 0.0])
    w = np.array([0.0, 1.0, 1.0, 2.0, 1.0])
    assert rectifier_separation(y, x[:, None], [], weights=w).tolist() == [
        False,
        True,
        False,
        False,
        False,
    ]


def test_all_positive_outcome_flags_nothing() -> None:
    y = np.array([1.0, 2.0, 3.0])
    assert not rectifier_separation(y, np.ones((3, 1)), []).any()


def test_regressor_that_does_not_separate_alone() -> None:
    # y > 0 only where x == 0 (so the constant is 0), but x takes both signs on the zeros:
    # no z = b x is non-negative on all of them, so nothing is separated
    y = np.array([0.0, 0.0, 1.0, 2.0, 0.0, 3.0])
    x = np.array([1.0, -1.0, 0.0, 0.0, 2.0, 0.0])
    assert not rectifier_separation(y, x[:, None], []).any()


def test_iteration_cap_is_loud() -> None:
    # needs several rectifier iterations; the certificate z = 1 - x1 - x2 is zero where y > 0
    # and (1, 0, 2, 2, 0, 0, 0) on the zeros: rows 0, 2 and 3 are separated
    y = np.array([0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0])
    x = np.array([[1.0, -1.0], [-1.0, 2.0], [0.0, -1.0], [-1.0, 0.0], [1.0, 0.0], [2.0, -1.0]])
    x = np.vstack([x, [0.0, 1.0]])
    with pytest.warns(ConvergenceWarning, match="cap of 1 iterations"):
        out = rectifier_separation(y, x, [], maxiter=1)
    assert not out.any()  # nothing dropped on an unfinished check
    with pytest.raises(ConvergenceError, match="cap of 1"):
        rectifier_separation(y, x, [], maxiter=1, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.flatnonzero(rectifier_separation(y, x, [])).tolist() == [0, 2, 3]


# ------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("y", "error"),
    [(np.array([1.0, -1.0]), DataValidationError), (np.array([1.0, np.nan]), DataValidationError)],
)
def test_invalid_outcome_is_rejected(y: np.ndarray, error: type[Exception]) -> None:
    with pytest.raises(error, match="observation 1"):
        find_separated(y, None, [np.array([0, 0])])


def test_invalid_inputs_are_rejected() -> None:
    y = np.array([0.0, 1.0, 2.0])
    with pytest.raises(SpecificationError, match="2 codes for 3 observations"):
        find_separated(y, None, [np.array([0, 1])])
    with pytest.raises(SpecificationError, match="integers"):
        find_separated(y, None, [np.array([0.5, 1.0, 1.0])])
    with pytest.raises(DataValidationError, match="negative code -1"):
        find_separated(y, None, [np.array([0, -1, 1])])
    with pytest.raises(SpecificationError, match="unknown separation method"):
        find_separated(y, None, [], methods=("simplex",))
    with pytest.raises(SpecificationError, match="shape"):
        find_separated(y, np.ones((2, 1)), [])
    with pytest.raises(DataValidationError, match="weights"):
        find_separated(y, None, [], weights=np.array([1.0, -1.0, 1.0]))
    with pytest.raises(SpecificationError, match="tol"):
        rectifier_separation(y, None, [], tol=2.0)


# ----------------------------------------------------------------------------- find_separated


def test_find_separated_reasons_are_disjoint_and_complete() -> None:
    # rows 0-1: all-zero pair; row 6: singleton; rows 7-8: regressor separation
    y = np.array([0.0, 0.0, 1.0, 2.0, 0.0, 3.0, 5.0, 0.0, 0.0, 2.0, 1.0])
    x = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0])
    g = np.array([0, 0, 1, 1, 2, 2, 3, 4, 4, 4, 4])
    res = find_separated(y, x[:, None], [g])
    assert isinstance(res, SeparationResult)
    assert res.counts == {"singleton": 1, "separated_fe": 2, "separated_ir": 2}
    assert np.flatnonzero(res.separated_ir).tolist() == [7, 8]
    masks = np.vstack([res.singleton, res.separated_fe, res.separated_ir, res.keep])
    assert (masks.sum(axis=0) == 1).all()
    assert res.n_dropped == 5


def test_find_separated_reaches_a_fixed_point_after_rectifier() -> None:
    # the rectifier drops row 0; that leaves row 1 alone in level 5 of fe2 (a singleton), whose
    # removal leaves level 1 of fe1 all zero (row 2 separated by the fixed effect)
    y = np.array([0.0, 4.0, 0.0, 1.0, 2.0, 3.0, 1.0])
    x = np.array([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    fe1 = np.array([0, 1, 1, 2, 2, 0, 0])
    fe2 = np.array([5, 5, 6, 6, 7, 7, 6])
    res = find_separated(y, x[:, None], [fe1, fe2])
    assert res.separated_ir[0]
    assert res.n_rounds >= 2
    # the fixed point: nothing more to drop on the rows kept
    again = find_separated(y[res.keep], x[res.keep, None], [fe1[res.keep], fe2[res.keep]])
    assert again.keep.all()


def test_methods_can_be_switched_off() -> None:
    y = np.array([0.0, 0.0, 1.0, 2.0, 3.0, 1.0])
    g = np.array([0, 0, 1, 1, 2, 2])
    x = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
    assert find_separated(y, x[:, None], [g], methods=()).n_dropped == 0
    assert find_separated(y, x[:, None], [g], methods=("ir",)).counts["separated_ir"] == 2


@st.composite
def _panels(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    n = draw(st.integers(8, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    zero_share = draw(st.floats(0.1, 0.7))
    y = np.where(rng.random(n) < zero_share, 0.0, rng.exponential(2.0, n))
    x = rng.integers(-2, 3, (n, draw(st.integers(0, 2)))).astype(float)
    fes = [rng.integers(0, max(2, n // k), n) for k in range(2, 2 + draw(st.integers(0, 2)))]
    return y, x, fes


@settings(max_examples=25, deadline=None, derandomize=True)
@given(_panels())
def test_kept_sample_is_identified(panel: tuple[np.ndarray, np.ndarray, list[np.ndarray]]) -> None:
    y, x, fes = panel
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = find_separated(y, x, fes)
    keep = res.keep
    # only zero outcomes are ever separated
    assert not (res.separated & (y > 0)).any()
    # no singleton and no all-zero level survives
    for c in fes:
        counts = np.bincount(c[keep])
        positive = np.bincount(c[keep & (y > 0)], minlength=counts.shape[0])
        assert not ((counts == 1).any())
        assert not ((counts > 0) & (positive == 0)).any()
    # idempotent: the kept sample has nothing left to drop
    if keep.any():
        again = find_separated(y[keep], x[keep], [c[keep] for c in fes])
        assert again.keep.all()


def _lp_separated(y: np.ndarray, x: np.ndarray, codes: list[np.ndarray]) -> np.ndarray:
    """Exact separated set by linear programming (an independent oracle for small data).

    Maximise ``sum(s)`` over ``z = A theta`` with ``z = 0`` where ``y > 0``, ``z >= 0`` and
    ``0 <= s <= min(z, 1)`` where ``y == 0``: because certificates can be added and scaled, the
    optimum has ``s = 1`` exactly on the separated observations.
    """
    n = y.shape[0]
    blocks = [x] if x.shape[1] else []
    for c in codes:
        blocks.append(np.eye(int(c.max()) + 1)[c])
    if not codes:
        blocks.append(np.ones((n, 1)))
    a = np.hstack(blocks)
    b_idx, i_idx = np.flatnonzero(y == 0), np.flatnonzero(y > 0)
    p, nb = a.shape[1], b_idx.shape[0]
    cost = np.concatenate([np.zeros(p), -np.ones(nb)])
    a_ub = np.vstack(
        [np.hstack([-a[b_idx], np.eye(nb)]), np.hstack([-a[b_idx], np.zeros((nb, nb))])]
    )
    a_eq = np.hstack([a[i_idx], np.zeros((i_idx.shape[0], nb))]) if i_idx.size else None
    res = linprog(
        cost,
        A_ub=a_ub,
        b_ub=np.zeros(2 * nb),
        A_eq=a_eq,
        b_eq=np.zeros(i_idx.shape[0]) if i_idx.size else None,
        bounds=[(None, None)] * p + [(0.0, 1.0)] * nb,
        method="highs",
    )
    assert res.status == 0
    out = np.zeros(n, dtype=bool)
    out[b_idx[res.x[p:] > 0.5]] = True
    return out


@settings(max_examples=25, deadline=None, derandomize=True)
@given(_panels())
def test_rectifier_matches_linear_programming_oracle(
    panel: tuple[np.ndarray, np.ndarray, list[np.ndarray]],
) -> None:
    y, x, fes = panel
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        got = rectifier_separation(y, x, fes)
    assert got.tolist() == _lp_separated(y, x, fes).tolist()


# ------------------------------------------------------------ cheap no-separation certificate


def _scaled(x: np.ndarray) -> np.ndarray:
    """Regressors as the rectifier sees them (all-zero columns dropped, unit max)."""
    xmax = np.abs(x).max(axis=0) if x.shape[1] else np.zeros(0)
    return x[:, xmax > 0] / xmax[xmax > 0]


def _gravity_like(seed: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Small exporter-year, importer-year, pair panel with many zeros and no separation."""
    rng = np.random.default_rng(seed)
    n_c, n_t = 12, 6
    exp, imp = np.nonzero(~np.eye(n_c, dtype=bool))
    pairs = exp.shape[0]
    e, i, t = np.repeat(exp, n_t), np.repeat(imp, n_t), np.tile(np.arange(n_t), pairs)
    pair = np.repeat(np.arange(pairs), n_t)
    x = np.column_stack([rng.normal(size=e.shape[0]), rng.integers(0, 2, e.shape[0])])
    eta = 0.5 * x[:, 0] + 0.3 * x[:, 1] + rng.normal(size=n_c)[e] + rng.normal(size=pairs)[pair]
    y = rng.poisson(np.exp(eta)).astype(float)
    fes = [e * n_t + t, i * n_t + t, pair]
    keep = ~find_separated(y, x, fes, methods=("fe",)).separated_fe
    keep &= drop_singletons(fes, keep)
    return y[keep], x[keep], [c[keep] for c in fes]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_certificate_proves_generic_panels_unseparated(seed: int) -> None:
    y, x, fes = _gravity_like(seed)
    assert 0.2 < (y == 0).mean() < 0.6
    codes = [np.asarray(c, dtype=np.intp) for c in fes]
    assert no_separation_certificate(y, _scaled(x), codes, 1e-4)
    assert not rectifier_separation(y, x, fes).any()
    assert not _lp_separated(y, x, fes).any()


def test_certificate_declines_separated_data() -> None:
    y, x, fes = _gravity_like(0)
    # a regressor positive on two zero rows of different pairs and zero elsewhere separates them
    zeros = np.flatnonzero(y == 0)
    extra = np.zeros(y.shape[0])
    extra[zeros[[0, -1]]] = [1.0, 2.0]
    x2 = np.column_stack([x, extra])
    codes = [np.asarray(c, dtype=np.intp) for c in fes]
    assert not no_separation_certificate(y, _scaled(x2), codes, 1e-4)
    got = rectifier_separation(y, x2, fes)
    assert np.flatnonzero(got).tolist() == zeros[[0, -1]].tolist()


@settings(max_examples=60, deadline=None, derandomize=True)
@given(_panels())
def test_certificate_is_never_wrong(panel: tuple[np.ndarray, np.ndarray, list[np.ndarray]]) -> None:
    y, x, fes = panel
    if not fes or not (y == 0).any():
        return
    codes = [np.asarray(c, dtype=np.intp) for c in fes]
    if no_separation_certificate(y, _scaled(x), codes, 1e-4):
        assert not _lp_separated(y, x, fes).any()
