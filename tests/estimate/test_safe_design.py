"""The safe evaluator gives exactly what formulaic gives, for every formula of the grammar.

Formulas are generated from the grammar (hypothesis): arithmetic with every operator, the
transforms, ``I()``, ``C()``, categorical columns of several dtypes, ``:`` and ``*``
interactions, intercept items and fixed effects. Each is materialised in both modes over the
same data (numeric, integer, boolean, string, categorical with an unused level, columns with
missing and infinite values); outcome, regressor names, values and the rows set aside must be
identical, or both modes must refuse the formula. The documented demo and tutorial formulas
are then estimated in both modes.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ca_trade as ct
from ca_trade import facts
from ca_trade.estimate.formula import build_design, materialise_regressors, parse_formula
from ca_trade.estimate.safe_design import SafeSpec
from ca_trade.exceptions import SpecificationError


def _data(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 3, n)
    a[3] = 0.0  # log(a) = -inf, 1 / a = inf
    m = rng.normal(size=n)
    m[[5, 9]] = np.nan
    m[7] = np.inf
    o = pd.Series(rng.choice(["u", "v", "w"], n), dtype=object)
    o[11] = None
    return pd.DataFrame(
        {
            "y": rng.poisson(3, n).astype(float),
            "a": a,
            "b": rng.normal(size=n),
            "c": rng.uniform(1, 2, n),
            "k": rng.integers(1, 5, n),
            "t": rng.random(n) < 0.5,
            "g": rng.choice(["x", "y", "z"], n),
            "h": pd.Categorical(rng.choice(["p", "q"], n), categories=["q", "p", "r"]),
            "m": m,
            "o": o,
            "fe1": rng.integers(0, 4, n),
            "fe2": rng.choice(["A", "B"], n),
        }
    )


DATA = _data()
NUMERIC = ["a", "b", "c", "k", "m", "t"]
CATEGORICAL = ["g", "h", "o", "k", "t"]

_numbers = st.sampled_from(["2", "0.5", "3", "1e-3", "10", "1"])
_arith = st.recursive(
    st.one_of(st.sampled_from(NUMERIC), _numbers),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(inner, st.sampled_from(["2", "0.5", "-1", "3"])).map(
            lambda t: f"{t[0]} ** {t[1]}"
        ),
        inner.map(lambda e: f"-{e}"),
        st.tuples(st.sampled_from(["log", "exp", "sqrt", "log1p", "I"]), inner).map(
            lambda t: f"{t[0]}({t[1]})"
        ),
    ),
    max_leaves=5,
)
_factor = st.one_of(
    st.sampled_from([*NUMERIC, "g", "h", "o"]),
    st.sampled_from(CATEGORICAL).map(lambda c: f"C({c})"),
    st.tuples(st.sampled_from(["log", "exp", "sqrt", "log1p", "I"]), _arith)
    .filter(lambda t: re.search(r"\b[abckmt]\b", t[1]) is not None)
    .map(lambda t: f"{t[0]}({t[1]})"),
)
_term = st.lists(_factor, min_size=1, max_size=3).map(":".join)
_item = st.one_of(_term, st.tuples(_term, _term).map(lambda t: f"{t[0]}*{t[1]}"))


@st.composite
def formulas(draw: st.DrawFn) -> str:
    items = draw(st.lists(_item, min_size=1, max_size=4))
    lead = draw(st.sampled_from(["", "0 + ", "1 + ", "-1 + "]))
    tail = draw(st.sampled_from(["", " - 1", " + 0", " + 1"]))
    lhs = draw(st.sampled_from(["y", "log1p(y)", "I(y / 2)", "c"]))
    fe = draw(st.sampled_from(["", " | fe1", " | fe1 + fe2", " | fe1^fe2"]))
    return f"{lhs} ~ {lead}{' + '.join(items)}{tail}{fe}"


def _design(formula: str, safe: bool) -> object:
    try:
        with np.errstate(all="ignore"):
            return build_design(parse_formula(formula, safe=safe), DATA)
    except SpecificationError as exc:
        return exc


def _same(formula: str) -> None:
    plain, safe = _design(formula, False), _design(formula, True)
    if isinstance(safe, SpecificationError) or isinstance(plain, SpecificationError):
        assert type(plain) is type(safe), (formula, plain, safe)
        return
    assert safe.xnames == plain.xnames, formula  # type: ignore[attr-defined]
    np.testing.assert_array_equal(safe.y, plain.y)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(safe.X, plain.X)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(safe.missing, plain.missing)  # type: ignore[attr-defined]
    assert safe.scan.by_column == plain.scan.by_column  # type: ignore[attr-defined]


@settings(max_examples=150)  # 4000 examples passed when the test was written
@given(formulas())
def test_safe_mode_equals_formulaic_on_generated_formulas(formula: str) -> None:
    # the generator only writes formulas of the grammar
    parse_formula(formula, safe=True)
    _same(formula)


@pytest.mark.parametrize(
    "formula",
    [
        "y ~ g:h",
        "y ~ 0 + g:h + a",
        "y ~ a*g + h",
        "y ~ a:b:g + g",
        "y ~ g:h:a",
        "y ~ a + g:a + C(g)",
        "y ~ C(k) + C(t) + t + k",
        "y ~ I(a ** -b) + I((-a) ** 2) + I(-a ** 2) + log(a / (b + c))",
        "y ~ I(k ** -1)",
        "y ~ I(t + t) + I(k * t)",
        "y ~ o + m | fe1",
        "y ~ 1 + a | fe1",
        "y ~ 1 | fe1",
        "log(y) ~ a",
        "g ~ a",
        "y ~ a + nothere",
    ],
)
def test_safe_mode_equals_formulaic_on_edge_cases(formula: str) -> None:
    _same(formula)


def test_missing_rows_are_set_aside_before_materialising() -> None:
    d = build_design(parse_formula("y ~ o + log(a) + m", safe=True), DATA)
    # no hidden category for the missing level: one dummy per other level
    assert [x for x in d.xnames if x.startswith("o[")] == ["o[T.v]", "o[T.w]"]
    assert d.scan.by_column == {"o": (1, 0), "m": (2, 1), "log(a)": (0, 1)}
    assert d.missing.sum() == 5
    assert np.isnan(d.X[d.scan.missing]).all()  # never materialised


def test_predict_in_safe_mode_uses_the_training_levels() -> None:
    df = DATA.dropna(subset=["m", "o"]).query("a > 0 and m < 10").reset_index(drop=True)
    f = "y ~ a + C(g):b | fe1"
    res = ct.ppml(f, df, safe_formula=True)
    plain = ct.ppml(f, df)
    assert isinstance(res._state.model_spec, SafeSpec)
    np.testing.assert_allclose(res.predict(df), plain.predict(df), rtol=1e-12)
    new = df.head(3).assign(g=["x", "nope", "z"])
    pred = res.predict(new)
    assert np.isnan(pred.iloc[1]) and np.isfinite(pred.iloc[[0, 2]]).all()
    xm = materialise_regressors(res._state.model_spec, new)
    assert set(res.params.index) <= set(xm.columns)


def _panel() -> pd.DataFrame:
    iso = ["KAZ", "KGZ", "TJK", "UZB", "TKM", "RUS", "CHN", "TUR", "IRN", "AFG"]
    df = facts.pair_covariates(iso, range(2012, 2020))
    rng = np.random.default_rng(7)
    df["tariff"] = rng.uniform(0, 0.2, len(df)) * (df["exporter"] != df["importer"])
    df["ln_tariff"] = np.log1p(df["tariff"])
    df["domestic"] = df["exporter"] == df["importer"]
    df["pair"] = df["exporter"] + "_" + df["importer"]
    eta = 20 - 1.0 * df["ln_dist"] + 0.4 * df["rta"] - 4 * df["ln_tariff"] + 2 * df["domestic"]
    df["value_usd"] = rng.poisson(np.exp(eta - 14)).astype(float) * 1e6
    df["log_value"] = np.log(df["value_usd"].where(df["value_usd"] > 0))
    return df


DOC_FORMULAS = [
    # src/ca_trade/data/demo.toml and docs/quickstart.md, docs/tutorial-customs-union.md
    ("ppml", "value_usd ~ ln_dist + contig + comlang + rta | exporter^year + importer^year"),
    ("ppml", "value_usd ~ rta + eaeu + ln_tariff | exporter^year + importer^year + pair"),
    # docs/replication-agtpa.md's shapes, the README and the API examples
    ("ppml", "value_usd ~ log(dist_km) + contig + comlang + rta | exporter^year + importer^year"),
    ("ppml", "value_usd ~ ln_dist + contig + rta + ln_tariff + intl"),
    ("ols", "log_value ~ ln_dist + rta | exporter^year"),
    ("ols", "log(value_usd) ~ rta | exporter^year + importer^year + pair"),
]


@pytest.mark.parametrize(("model", "formula"), DOC_FORMULAS)
def test_documented_formulas_give_identical_estimates(model: str, formula: str) -> None:
    df = _panel()
    fn = ct.ppml if model == "ppml" else ct.ols
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = fn(formula, df, vcov={"CRV1": "pair"})
        b = fn(formula, df, vcov={"CRV1": "pair"}, safe_formula=True)
    assert list(a.params.index) == list(b.params.index)
    np.testing.assert_array_equal(a.params.to_numpy(), b.params.to_numpy())
    np.testing.assert_array_equal(a.bse.to_numpy(), b.bse.to_numpy())
    assert a.nobs == b.nobs and a.dropped.counts == b.dropped.counts
