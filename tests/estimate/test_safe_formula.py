"""The safe formula grammar: formulas from configs, the command line and ``safe_formula=True``
are parsed, never evaluated.

The hostile strings are the issue's bypass (``log((exec)((chr)(105)+...))``, which passed the
old pattern check and ran under formulaic) and its relatives; each must be refused with a
SpecificationError (a ConfigError from a configuration file) naming the offending token, and
nothing in it may run: each payload would create a sentinel file, and Python's ``eval``,
``exec``, ``compile`` and ``__import__`` are watched while the formula is handled.
"""

from __future__ import annotations

import ast
import builtins
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ca_trade as ct
from ca_trade.estimate.formula import parse_formula
from ca_trade.estimate.safe_formula import (
    MAX_DEPTH,
    MAX_LENGTH,
    BinOp,
    Column,
    Function,
    Negative,
    Number,
    parse_safe,
    unparse,
)
from ca_trade.exceptions import ConfigError, SpecificationError
from ca_trade.pipeline import check_formula, load_config

CLI = [sys.executable, "-m", "ca_trade.cli"]


def _chars(code: str) -> str:
    """``code`` as a sum of ``(chr)(n)`` calls: no quotes, dots or brackets needed."""
    return "+".join(f"(chr)({ord(c)})" for c in code)


def hostile(sentinel: Path) -> list[str]:
    """Formulas that would create ``sentinel`` if any part of them were evaluated."""
    p = str(sentinel)
    code = f"open({p!r}, 'w').close()"
    return [
        # the bypass: no `name(` pattern, only characters the old check allowed
        f"value_usd ~ ln_dist + log((exec)({_chars(code)})) | exporter^year",
        f"value_usd ~ ln_dist + I((exec)({_chars(code)})) | exporter^year",
        f"value_usd ~ log((eval)({_chars(code)}))",
        f"y ~ x + __import__('builtins').open({p!r}, 'w')",
        f"y ~ __import__('os').system('touch {p}')",
        f"y ~ x + open({p!r}, 'w').close()",
        "y ~ x + np.log(x)",
        "y ~ x.__class__.__bases__[0].__subclasses__()",
        "y ~ (lambda: 1)() + x",
        "y ~ x + lambda",
        "y ~ x[0]",
        "y ~ x + 'string'",
        'y ~ x + "string"',
        f"y ~ x + f'{{open({p!r}, \"w\")}}'",
        "y ~ (z := x) + z",
        "y ~ x + [open(p) for p in x]",
        "y ~ x + {1: 2}",
        "y ~ x; import os",
        "y ~ x @ z",
        "y ~ x if x else z",
        "y ~ x, z",
        "y ~ x | exporter; import os",
        "y ~ x | log(exporter)",
        "y ~ x | exporter.year",
        # identifiers that Python normalises (NFKC) to builtins
        f"y ~ log((\uff45\uff58\uff45\uff43)({_chars(code)}))",
        f"y ~ \U0001d41e\U0001d42f\U0001d41a\U0001d425({_chars(code)})",
        "y ~ x + ＿＿import＿＿",
        f"y ~ log(exec({_chars(code)}))",
        f"y ~ log((log)((exec))({_chars(code)}))",
        "y ~ C(x, Treatment)",
        "y ~ C(log(x))",
        "y ~ I(x) ** 2",
        "y ~ x + 2.5",
        "y ~ x - z",
        "y ~ (x + z):w",
        "y ~ `x`",
        "y ~ x + \\x",
        "y ~ 0x10 * x",
        "y ~ I(2x)",
        "y ~ I(1e999 * x)",
        "y ~ I(2)",
        "y ~ x # comment",
        "y ~ x ~ z",
        "y ~ x | a | b",
        "y ~ " + "log(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
        "y ~ I(" + "-" * 200 + "x)",
        "y ~ I(" + "(" * 5000 + "x" + ")" * 5000 + ")",
        "y ~ " + " + ".join(f"x{i}" for i in range(MAX_LENGTH // 4)),
        "y ~ " + "*".join(f"x{i}" for i in range(40)),
    ]


class Watch:
    """Records calls of Python's code-running builtins while active."""

    NAMES = ("eval", "exec", "compile", "__import__", "open")

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> Watch:
        for name in self.NAMES:
            orig = getattr(builtins, name)
            self._saved[name] = orig

            def spy(*args: Any, _n: str = name, _f: Any = orig, **kw: Any) -> Any:
                self.calls.append(_n)
                return _f(*args, **kw)

            setattr(builtins, name, spy)
        return self

    def __exit__(self, *exc: object) -> None:
        for name, orig in self._saved.items():
            setattr(builtins, name, orig)


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "a formula ran code"


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame(
        {
            "value_usd": rng.poisson(5, n).astype(float),
            "ln_dist": rng.normal(size=n),
            "exporter": rng.choice(list("ABC"), n),
            "year": rng.integers(2000, 2003, n),
            "x": rng.uniform(1, 2, n),
            "y": rng.uniform(1, 2, n),
            "z": rng.uniform(1, 2, n),
        }
    )
    return df


# -- the grammar --------------------------------------------------------------------------


def test_the_grammar_accepts_what_gravity_models_use() -> None:
    f = parse_safe(
        "log(trade) ~ rta + log(dist) + log1p(tariff) + sqrt(area) + exp(-x) + I(x ** 2) "
        "+ C(region) + rta:C(year) + a*b - 1 | exporter^year + importer^year + pair"
    )
    assert [t.name for t in f.terms] == [
        "rta",
        "log(dist)",
        "log1p(tariff)",
        "sqrt(area)",
        "exp(-x)",
        "I(x ** 2)",
        "C(region)",
        "a",
        "b",
        "rta:C(year)",
        "a:b",
    ]
    assert f.intercept is False
    assert f.fixef == (("exporter", "year"), ("importer", "year"), ("pair",))
    assert unparse(f.outcome) == "log(trade)"


def test_intercept_items_and_duplicates() -> None:
    assert parse_safe("y ~ x").intercept is None
    assert parse_safe("y ~ 0 + x").intercept is False
    assert parse_safe("y ~ -1 + x").intercept is False
    assert parse_safe("y ~ 0 + 1 + x").intercept is True
    assert [t.name for t in parse_safe("y ~ a:b + b:a + a + a").terms] == ["a", "a:b"]


def test_printing_matches_python() -> None:
    for code in [
        "a ** -b",
        "(-a) ** 2",
        "-a ** 2",
        "a - (b - c)",
        "a / (b * c)",
        "--a",
        "a ** b ** c",
        "(a ** b) ** c",
        "2.5 * a",
        "1e+16 * a",
        "log(a + 1) / 2",
    ]:
        tree = parse_safe(f"y ~ I({code})").terms[0].factors[0]
        assert isinstance(tree, Function)
        assert unparse(tree.arg) == ast.unparse(ast.parse(code)), code


def test_errors_name_the_token_and_its_position() -> None:
    with pytest.raises(SpecificationError, match=r"'\.' at character 6 .*attribute access"):
        parse_safe("y ~ x.real")
    with pytest.raises(SpecificationError, match=r"'eval' at character 5 is not a function"):
        parse_safe("y ~ eval(x)")
    with pytest.raises(SpecificationError, match=r"'\(' at character 15"):
        parse_safe("y ~ log((exec)(x))")
    with pytest.raises(SpecificationError, match=r"'lambda' at character 5 is a Python keyword"):
        parse_safe("y ~ lambda")
    with pytest.raises(SpecificationError, match=r"U\+FF45"):
        parse_safe("y ~ \uff45xec")
    with pytest.raises(SpecificationError, match=r"'2.5' at character 9"):
        parse_safe("y ~ x + 2.5")
    with pytest.raises(SpecificationError, match="nested more than"):
        parse_safe("y ~ " + "log(" * 100 + "x" + ")" * 100)
    with pytest.raises(SpecificationError, match="limit is"):
        parse_safe("y ~ x" + " " * MAX_LENGTH)


@pytest.mark.parametrize("text", ["y ~ x |", "y ~ x | ", "y ~ x | a^", "y ~ x | a +"])
def test_a_formula_ending_inside_the_fixed_effects_is_refused(text: str) -> None:
    # found by hypothesis: the parser looked one token past the end and raised IndexError
    with pytest.raises(SpecificationError, match="the end at character"):
        parse_safe(text)


def test_tree_nodes() -> None:
    f = parse_safe("y ~ I(-a * 2 + b ** c / d)")
    arg = f.terms[0].factors[0]
    assert isinstance(arg, Function)
    assert arg.arg == BinOp(
        "+",
        BinOp("*", Negative(Column("a")), Number(2)),
        BinOp("/", BinOp("**", Column("b"), Column("c")), Column("d")),
    )
    assert f.columns == {"y", "a", "b", "c", "d"}


# -- nothing runs -------------------------------------------------------------------------


def test_hostile_formulas_are_refused_and_nothing_runs(sentinel: Path) -> None:
    df = _data()
    for formula in hostile(sentinel):
        with Watch() as watch, pytest.raises(SpecificationError):
            parse_safe(formula)
        assert watch.calls == [], formula
        with Watch() as watch, pytest.raises(SpecificationError):
            ct.ppml(formula, df, safe_formula=True)
        assert "eval" not in watch.calls and "exec" not in watch.calls, formula
        with pytest.raises(ConfigError, match="formula"):
            check_formula(formula, where="c.toml specifications[0].formula")


def test_formulaic_mode_runs_python_as_documented(sentinel: Path) -> None:
    """Why safe mode exists: the default (formulaic) mode evaluates Python, bypass included.

    This is the documented behaviour of ``ct.ppml`` for formulas written in your own code; the
    payload only creates the sentinel file under the test's temporary directory.
    """
    formula = hostile(sentinel)[0]
    with pytest.raises(SpecificationError):
        ct.ppml(formula, _data())
    assert sentinel.exists()
    sentinel.unlink()


_PIECES = st.sampled_from(
    [
        "x",
        "y",
        "z",
        "log",
        "exp",
        "I",
        "C",
        "exec",
        "eval",
        "open",
        "__import__",
        "chr",
        "lambda",
        "np",
        "os",
        "(",
        ")",
        "((",
        "))",
        "[",
        "]",
        "{",
        "}",
        ".",
        ",",
        ":",
        "::",
        ":=",
        "'",
        '"',
        "f'",
        "*",
        "**",
        "/",
        "+",
        "-",
        "~",
        "|",
        "^",
        "@",
        ";",
        "=",
        "#",
        "\\",
        "`",
        "0",
        "1",
        "2.5",
        "1e9",
        "0x1",
        "\uff45",
        "\u0131",
        " ",
        "\n",
        "\t",
        "\x00",
        "__class__",
        "getattr",
    ]
)


@settings(max_examples=300)
@given(st.lists(_PIECES, max_size=25), st.text(max_size=30))
def test_any_string_is_either_in_the_grammar_or_refused(pieces: list[str], noise: str) -> None:
    for text in ("y ~ " + "".join(pieces), "".join(pieces) + noise, "y ~ x + " + noise):
        with Watch() as watch:
            try:
                f = parse_safe(text)
            except SpecificationError:
                continue
            finally:
                assert watch.calls == [], text
        # accepted: only the grammar's functions, ASCII names and numbers remain
        assert f.text == text
        for name in f.columns:
            assert name.isidentifier() and name.isascii()


# -- every entry point that takes a formula from outside uses safe mode -----------------


def test_config_formulas_are_parsed_by_the_safe_grammar(tmp_path: Path, sentinel: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    for formula in hostile(sentinel)[:6]:
        esc = formula.replace("\\", "\\\\").replace('"', '\\"')
        cfg = tmp_path / "c.toml"
        cfg.write_text(f'[run]\nroot = "out"\n[[specifications]]\nname = "a"\nformula = "{esc}"\n')
        with pytest.raises(ConfigError, match=r"c\.toml.*formula"):
            load_config(cfg)
    ok = "value_usd ~ ln_dist + I(x ** 2) + C(exporter) | exporter^year"
    assert check_formula(ok, where="t") == ok


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [*CLI, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300
    )


def test_cli_estimate_refuses_the_bypass(tmp_path: Path, sentinel: Path) -> None:
    _data().to_parquet(tmp_path / "panel.parquet")
    out = _cli("estimate", "panel.parquet", "--formula", hostile(sentinel)[0], cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "--formula" in out.stderr and "'(' at character" in out.stderr


def test_cli_run_refuses_the_bypass(tmp_path: Path, sentinel: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    formula = hostile(sentinel)[0]
    (tmp_path / "c.toml").write_text(
        f'[run]\nroot = "out"\n[[specifications]]\nname = "a"\nformula = "{formula}"\n'
    )
    out = _cli("run", "c.toml", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "formula" in out.stderr and "'(' at character" in out.stderr
    assert not (tmp_path / "out").exists()


def test_cli_estimate_materialises_in_safe_mode(tmp_path: Path) -> None:
    """A formula in the grammar is estimated on the command line without formulaic."""
    _data().to_parquet(tmp_path / "panel.parquet")
    code = (
        "import sys, formulaic\n"
        "def refuse(*a, **k):\n"
        "    raise SystemExit('formulaic was called')\n"
        "formulaic.model_matrix = refuse\n"
        "from ca_trade.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    formula = "value_usd ~ ln_dist + log(x) + I(y * z) | exporter^year"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "estimate",
            "panel.parquet",
            "--formula",
            formula,
            "--json",
            "e.json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "I(y * z)" in out.stdout
    lib = ct.ppml(formula, _data())
    assert f"{lib.params['I(y * z)']:.6g}" in out.stdout


def test_safe_formula_option_is_validated() -> None:
    with pytest.raises(SpecificationError, match="safe_formula"):
        ct.ppml("value_usd ~ ln_dist", _data(), safe_formula="yes")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="safe_formula"):
        parse_formula("y ~ x", safe=1)  # type: ignore[arg-type]


@pytest.mark.slow
def test_pipeline_run_materialises_in_safe_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ca-trade run` estimates a config's formula without handing it to formulaic."""
    import formulaic

    from ca_trade.pipeline import run

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("formulaic evaluated a formula from a configuration")

    monkeypatch.setattr(formulaic, "model_matrix", refuse)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "c.toml").write_text(
        '[run]\nroot = "out"\n[source]\nkind = "sample"\nseed = 7\nyears = [2019, 2019]\n'
        '[[specifications]]\nname = "a"\n'
        'formula = "value_usd ~ ln_dist + I(contig * 1) + rta | exporter^year + importer^year"\n'
        "international_only = true\n"
        '[outputs]\ntables = ["md"]\nfigures = []\n'
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample's quarantined rows, by design
        out = run(load_config(tmp_path / "c.toml"))
    res = out.results["a"]
    assert list(res.params.index) == ["ln_dist", "I(contig * 1)", "rta"]
    assert res.provenance["options"]["safe_formula"] is True
