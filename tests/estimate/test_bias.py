"""Weidner–Zylkin corrections against a dense implementation with explicit dummy matrices."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from ca_trade.estimate.bias import analytical_bias, debiased_vcov
from ca_trade.estimate.jackknife import halves
from ca_trade.estimate.results import BiasCorrectedResults
from ca_trade.estimate.structure import detect_gravity_panel
from ca_trade.exceptions import SpecificationError

pytestmark = pytest.mark.filterwarnings("ignore::ca_trade.exceptions.SeparationWarning")


def gravity_panel(n: int = 7, t: int = 4, seed: int = 0, missing: float = 0.1) -> pd.DataFrame:
    """Small three-way panel with zeros, an all-zero pair and missing cells."""
    rng = np.random.default_rng(seed)
    i, j, s = (
        a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n), np.arange(t), indexing="ij")
    )
    df = pd.DataFrame({"orig": i, "dest": j, "yr": 1990 + 5 * s})
    df = df[(df["orig"] != df["dest"]) & (rng.random(len(df)) >= missing)].reset_index(drop=True)
    size = rng.normal(0, 1, n)
    pair_fe = rng.normal(0, 0.5, (n, n))
    df["x1"] = rng.normal(size=len(df)) + 0.5 * pair_fe[df["orig"], df["dest"]]
    df["x2"] = (rng.random(len(df)) < 0.4).astype(float)
    eta = (
        0.4 * df["x1"]
        - 0.3 * df["x2"]
        + size[df["orig"]]
        + size[df["dest"]]
        + pair_fe[df["orig"], df["dest"]]
        + 0.1 * (df["yr"] - 1990) / 5
    )
    df["trade"] = rng.poisson(np.exp(eta) * rng.lognormal(-0.5, 1.0, len(df))).astype(float)
    zero_pair = (df["orig"] == 0) & (df["dest"] == 1)
    df.loc[zero_pair, "trade"] = 0.0
    return df


def _dummies(codes: np.ndarray) -> np.ndarray:
    _, inv = np.unique(codes, return_inverse=True)
    d = np.zeros((codes.shape[0], int(inv.max()) + 1))
    d[np.arange(codes.shape[0]), inv] = 1.0
    return d


def dense_wz(res: ct.estimate.GravityResults, df: pd.DataFrame, three_way: bool) -> tuple:
    """ALGORITHM.md literally: explicit dummies, per-pair loops, dense pseudo-inverses."""
    rows = res._state.sample.rows
    d = df.iloc[rows]
    lam = res.predict().to_numpy()
    y = d["trade"].to_numpy()
    x = d[list(res.params.index)].to_numpy()
    et, it, pr = (
        d.groupby(list(c), sort=True).ngroup().to_numpy()
        for c in (("orig", "yr"), ("dest", "yr"), ("orig", "dest"))
    )
    dm = np.hstack([_dummies(et), _dummies(it)] + ([_dummies(pr)] if three_way else []))
    coef = np.linalg.pinv((dm * lam[:, None]).T @ dm, hermitian=True) @ (dm.T @ (x * lam[:, None]))
    xt = x - dm @ coef  # residualised on the fixed effects with weights lam
    w_mat = (xt * lam[:, None]).T @ xt
    yr, orig, dest = (d[c].to_numpy() for c in ("yr", "orig", "dest"))
    years = np.unique(yr)
    t_n = years.shape[0]
    pairs = np.unique(pr)
    n_a = int(et.max()) + 1
    n_ab = n_a + int(it.max()) + 1
    blocks = {}
    for p in pairs:
        r = np.flatnonzero(pr == p)
        tpos = np.searchsorted(years, yr[r])
        lv = np.zeros(t_n)
        lv[tpos] = lam[r]
        ev = np.zeros(t_n)
        ev[tpos] = y[r] - lam[r]
        xv = np.zeros((t_n, x.shape[1]))
        xv[tpos] = xt[r]
        # the T x (levels) selector D_ij, kept as the level index of each slot
        lev = np.full((t_n, 2), -1)
        lev[tpos, 0] = et[r]
        lev[tpos, 1] = n_a + it[r]
        h = np.diag(lv) - (np.outer(lv, lv) / lv.sum() if three_way else 0.0)
        blocks[p] = (lv, ev, xv, lev, h, orig[r[0]], dest[r[0]])

    def expand(lev: np.ndarray) -> np.ndarray:
        sel = np.zeros((t_n, n_ab))
        for t in range(t_n):
            sel[t, lev[t][lev[t] >= 0]] = 1.0
        return sel

    gram = np.zeros((n_ab, n_ab))
    for _, _, _, lev, h, _, _ in blocks.values():
        sel = expand(lev)
        used = np.flatnonzero(sel.any(axis=0))
        gram[np.ix_(used, used)] += sel[:, used].T @ h @ sel[:, used]
    v_fe = np.linalg.pinv(gram, hermitian=True)
    w_inv = np.linalg.inv(w_mat)
    omega = np.zeros_like(w_mat)
    for _, ev, xv, lev, h, _, _ in blocks.values():
        sel = expand(lev)
        used = np.flatnonzero(sel.any(axis=0))
        m = xv @ w_inv @ xv.T + sel[:, used] @ v_fe[np.ix_(used, used)] @ sel[:, used].T
        z = np.linalg.solve(np.eye(t_n) - h @ m, ev)
        omega += np.outer(xv.T @ z, xv.T @ ev)
    g = len(pairs)
    v = g / (g - 1) * w_inv @ omega @ w_inv
    v = 0.5 * (v + v.T)
    if not three_way:
        return np.zeros(x.shape[1]), v
    total = np.zeros(x.shape[1])
    for side in (5, 6):
        groups = sorted({b[side] for b in blocks.values()})
        acc = np.zeros(x.shape[1])
        for c in groups:
            members = [b for b in blocks.values() if b[side] == c]
            hbar = sum(b[4] for b in members)
            s = sum(np.outer(b[1], b[1]) for b in members)
            hp = np.linalg.pinv(hbar, hermitian=True, rtol=1e-12)
            for k in range(x.shape[1]):
                a = sum(np.outer(b[4] @ b[2][:, k], b[1]) for b in members)
                gk = -sum(b[4] @ np.diag(b[2][:, k]) + np.diag(b[2][:, k]) @ b[4] for b in members)
                acc[k] += -np.trace(hp @ a) + 0.5 * np.trace(hp @ gk @ hp @ s)
        nc = len(groups)
        total += nc / (nc - 1) * acc
    return w_inv @ total, v


THREE_WAY = "trade ~ x1 + x2 | orig^yr + dest^yr + orig^dest"


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return gravity_panel()


@pytest.fixture(scope="module")
def fit3(panel: pd.DataFrame) -> ct.estimate.GravityResults:
    return ct.ppml(THREE_WAY, panel, vcov={"CRV1": "orig^dest"}, tol=1e-12)


def test_three_way_matches_dense_computation(panel: pd.DataFrame, fit3) -> None:
    bias, v = dense_wz(fit3, panel, three_way=True)
    bc = fit3.bias_corrected()
    np.testing.assert_allclose(bc.bias.to_numpy(), bias, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(bc.vcov.to_numpy(), v, rtol=1e-7)
    np.testing.assert_allclose(bc.params.to_numpy(), fit3.params.to_numpy() - bias, rtol=1e-9)


def test_two_way_matches_dense_computation(panel: pd.DataFrame) -> None:
    hetero = ct.ppml("trade ~ x1 + x2 | orig^yr + dest^yr", panel, tol=1e-12)
    with pytest.raises(SpecificationError, match="clustered by pair"):
        hetero.bias_corrected()  # a two-way fit knows its pairs only from its clusters
    panel = panel.assign(pair=panel["orig"].astype(str) + "-" + panel["dest"].astype(str))
    res = ct.ppml("trade ~ x1 + x2 | orig^yr + dest^yr", panel, vcov={"CRV1": "pair"}, tol=1e-12)
    _, v = dense_wz(res, panel, three_way=False)
    bc = res.bias_corrected()
    np.testing.assert_allclose(bc.vcov.to_numpy(), v, rtol=1e-7)
    np.testing.assert_array_equal(bc.params.to_numpy(), res.params.to_numpy())
    assert (bc.bias == 0).all() and bc.provenance["bias_correction"]["structure"] == "two-way"
    with pytest.raises(SpecificationError, match="no incidental-parameter bias"):
        res.bias_corrected("jackknife")


def test_structure_is_found_from_codes_not_names(panel: pd.DataFrame, fit3) -> None:
    renamed = panel.rename(columns={"orig": "a", "dest": "b", "yr": "c"})
    fml = "trade ~ x1 + x2 | a^b + b^c + a^c"  # pair first, other names, other order
    res = ct.ppml(fml, renamed, tol=1e-12)  # hetero vcov: the time index is the shortest
    bc = res.bias_corrected()
    np.testing.assert_allclose(
        bc.params.to_numpy(), fit3.bias_corrected().params.to_numpy(), rtol=1e-7
    )
    roles = bc.provenance["bias_correction"]["fixed_effects"]
    assert roles["pair"] == "a^b" and {roles["exporter-time"], roles["importer-time"]} == {
        "b^c",
        "a^c",
    }


def test_unsupported_models_say_what_is_supported(panel: pd.DataFrame, fit3) -> None:
    with pytest.raises(SpecificationError, match="supported: three-way PPML"):
        ct.ols("x1 ~ x2 | orig^yr + dest^yr + orig^dest", panel).bias_corrected()
    with pytest.raises(SpecificationError, match="supported: three-way PPML"):
        ct.ppml("trade ~ x1 | orig + dest + yr", panel).bias_corrected()
    sym = panel.assign(
        upair=np.minimum(panel["orig"], panel["dest"]) * 100
        + np.maximum(panel["orig"], panel["dest"])
    )
    with pytest.raises(SpecificationError, match="supported: three-way PPML"):
        ct.ppml("trade ~ x1 | orig^yr + dest^yr + upair", sym).bias_corrected()
    with pytest.raises(SpecificationError, match="unweighted"):
        ct.ppml(THREE_WAY, panel.assign(w=2.0), weights="w").bias_corrected()
    with pytest.raises(SpecificationError, match="method"):
        fit3.bias_corrected("bootstrap")  # type: ignore[arg-type]


def test_result_is_new_and_original_unchanged(fit3) -> None:
    before = (fit3.params.copy(), fit3.vcov.copy(), dict(fit3.provenance))
    bc = fit3.bias_corrected()
    assert isinstance(bc, BiasCorrectedResults) and bc.uncorrected is fit3
    pd.testing.assert_series_equal(fit3.params, before[0])
    pd.testing.assert_frame_equal(fit3.vcov, before[1])
    assert fit3.provenance == before[2] and "bias_correction" in bc.provenance
    assert bc.vcov_type == "WZ de-biased: orig^dest"
    assert "Correction" in bc.summary() and "bias" in bc.summary()
    with pytest.raises(SpecificationError, match="uncorrected"):
        bc.with_vcov("hetero")
    with pytest.raises(SpecificationError, match="already"):
        bc.bias_corrected()
    table = ct.etable([fit3, bc], format="md", provenance=False)
    assert "Weidner & Zylkin (2021) analytical bias correction" in table
    with pytest.raises(AttributeError):
        bc.bias = bc.bias  # type: ignore[misc]


def test_jackknife_is_twice_the_estimate_minus_the_subpanel_mean() -> None:
    panel = gravity_panel(n=12, t=3, seed=4, missing=0.0)
    fit3 = ct.ppml(THREE_WAY, panel, vcov={"CRV1": "orig^dest"}, tol=1e-12)
    jk = fit3.bias_corrected("jackknife", splits=2, seed=3)
    rec = jk.provenance["bias_correction"]
    assert rec["method"] == "jackknife" and len(rec["subsample_nobs"]) == 8
    # redo the subpanel fits by hand with the same random halves
    rng = np.random.default_rng(3)
    sample = panel.iloc[fit3._state.sample.rows]
    exp = pd.factorize(sample["orig"], sort=False)[0]  # numbered as they first appear
    imp = pd.factorize(sample["dest"], sort=False)[0]
    est = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):
            hi, hj = halves(exp.max() + 1, rng), halves(imp.max() + 1, rng)
            for a in (0, 1):
                for b in (0, 1):
                    sub = sample[(hi[exp] == a) & (hj[imp] == b)]
                    est.append(ct.ppml(THREE_WAY, sub, tol=1e-12).params.to_numpy())
    expected = 2 * fit3.params.to_numpy() - np.mean(est, axis=0)
    np.testing.assert_allclose(jk.params.to_numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(jk.bse.to_numpy(), fit3.bias_corrected().bse.to_numpy())
    tiny = gravity_panel(n=4, t=4, seed=0)
    with pytest.warns(ct.exceptions.SingletonWarning):
        small = ct.ppml(THREE_WAY, tiny, vcov={"CRV1": "orig^dest"})
    with pytest.raises(SpecificationError, match="too small for the split-panel jackknife"):
        small.bias_corrected("jackknife")


def test_array_functions_need_matching_structure(fit3) -> None:
    st = fit3._state
    panel2 = detect_gravity_panel(st.fe_codes[:2], cluster=st.fe_codes[2])
    with pytest.raises(ValueError, match="three-way"):
        analytical_bias(st.y, st.mu, st.X_tilde, st.bread, panel2)
    v = debiased_vcov(st.y, st.mu, st.X_tilde, st.bread, panel2)
    assert v.shape == (2, 2) and np.all(np.isfinite(v))


@pytest.mark.parametrize("method", ["analytical", "jackknife"])
def test_corrections_follow_the_units_of_the_data(method: str) -> None:
    # The fit runs on y and X divided by powers of two; the corrections must report in the
    # data's units: x1 * 3 divides its coefficient, bias and SE by 3, y * 1e6 changes nothing.
    df = gravity_panel(n=12, t=4, seed=3)
    fml = "trade ~ x1 + x2 | orig^yr + dest^yr + orig^dest"
    vc = {"CRV1": "orig^dest"}
    base = ct.ppml(fml, df, vcov=vc).bias_corrected(method=method)
    scaled = df.assign(x1=3.0 * df["x1"], trade=1e6 * df["trade"])
    alt = ct.ppml(fml, scaled, vcov=vc).bias_corrected(method=method)
    unit = pd.Series({"x1": 3.0, "x2": 1.0})
    np.testing.assert_allclose((alt.params * unit).to_numpy(), base.params.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose((alt.bias * unit).to_numpy(), base.bias.to_numpy(), rtol=1e-5)
    np.testing.assert_allclose((alt.bse * unit).to_numpy(), base.bse.to_numpy(), rtol=1e-6)


def test_crv3_follows_the_units_of_the_data() -> None:
    df = gravity_panel(n=8, t=4, seed=4)
    fml = "trade ~ x1 + x2 | orig^yr + dest^yr + orig^dest"
    base = ct.ppml(fml, df, vcov={"CRV3": "orig^dest"})
    scaled = df.assign(x1=3.0 * df["x1"], trade=1e6 * df["trade"])
    alt = ct.ppml(fml, scaled, vcov={"CRV3": "orig^dest"})
    unit = pd.Series({"x1": 3.0, "x2": 1.0})
    np.testing.assert_allclose((alt.bse * unit).to_numpy(), base.bse.to_numpy(), rtol=1e-6)
    ols_fml = "y ~ x1 + x2 | orig^yr + dest^yr"
    d = df.assign(y=np.log1p(df["trade"]), pair=df["orig"] * 100 + df["dest"])
    b = ct.ols(ols_fml, d, vcov={"CRV3": "pair"})
    a = ct.ols(ols_fml, d.assign(x1=3.0 * d["x1"], y=1e6 * d["y"]), vcov={"CRV3": "pair"})
    np.testing.assert_allclose((a.bse * unit / 1e6).to_numpy(), b.bse.to_numpy(), rtol=1e-6)
