"""etable and scenario_table: snapshots of the three formats, escaping, options, errors."""

from __future__ import annotations

import re
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

import ca_trade as ct
from ca_trade._typing import RESULT_MEMBERS, EstimationResult
from ca_trade.exceptions import SpecificationError
from ca_trade.report import scenario_table
from ca_trade.report._render import escape_tex
from ca_trade.report.stored import load_results, save_results
from tests.report.fakes import FakeResult, ols_model, two_models

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = False  # set True locally to rewrite the snapshots, then review the diff


def _normalise(text: str) -> str:
    """Replace the package version so snapshots survive version bumps."""
    return re.sub(r'version: "[^"]*"', 'version: "<version>"', text)


def _check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    text = _normalise(text)
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"snapshot {path} missing"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["tex", "md", "html"])
def test_etable_snapshot(fmt: str) -> None:
    text = ct.etable(
        [*two_models(synthetic=True), ols_model()],
        fmt,
        git=False,
        labels={"ln_dist": "ln distance", "exporter^year": "exporter × year"},
        title="Gravity & friends: 50% of $ #1 {x} ~y^ \\z",
        notes="Clustered by pair_id.",
        label="tab:gravity",
    )
    _check_snapshot(f"etable.{fmt}", text)


@pytest.mark.parametrize("fmt", ["tex", "md", "html"])
def test_scenario_table_snapshot(fmt: str) -> None:
    df = pd.DataFrame(
        {
            "welfare_pct": [0.512, -0.031, 1.25],
            "welfare_pct_lo": [0.2, -0.09, 0.9],
            "welfare_pct_hi": [0.81, 0.02, 1.6],
            "real_gdp_pct": [0.4, 0.0, 2.0],
            "real_gdp_pct_lo": [0.1, -0.1, 1.5],
            "real_gdp_pct_hi": [0.7, 0.1, 2.5],
        },
        index=["UZB", "KAZ", "KGZ"],
    )
    text = scenario_table(
        df,
        fmt,
        outcomes=["welfare", "real_gdp"],
        git=False,
        synthetic=True,
        title="Customs union & CET",
        extra_provenance={"scenario": "ca_customs_union", "draws": 200, "seed": 7},
    )
    _check_snapshot(f"scenario.{fmt}", text)


def test_tex_requires_comment_and_booktabs() -> None:
    tex = ct.etable(two_models(), "tex", git=False)
    assert tex.splitlines()[0] == "% Requires: \\usepackage{booktabs}"
    for rule in ("\\toprule", "\\midrule", "\\bottomrule"):
        assert rule in tex


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("&", r"\&"),
        ("%", r"\%"),
        ("$", r"\$"),
        ("#", r"\#"),
        ("_", r"\_"),
        ("{", r"\{"),
        ("}", r"\}"),
        ("~", r"\textasciitilde{}"),
        ("^", r"\textasciicircum{}"),
        ("\\", r"\textbackslash{}"),
    ],
)
def test_every_tex_special_character_is_escaped(raw: str, escaped: str) -> None:
    assert escape_tex(f"a{raw}b") == f"a{escaped}b"
    tex = ct.etable(two_models(), "tex", labels={"ln_dist": f"x{raw}y"}, provenance=False)
    assert f"x{escaped}y" in tex


_SPECIALS = set("&%$#_{}~^\\")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30))
def test_escaped_tex_has_no_unescaped_specials(text: str) -> None:
    out = escape_tex(text)
    # Remove every escape sequence the escaper produces; nothing special may remain.
    stripped = re.sub(
        r"\\textasciitilde\{\}|\\textasciicircum\{\}|\\textbackslash\{\}|\\textless\{\}"
        r"|\\textgreater\{\}|\\[&%$#_{}]"
        # the math-mode commands of the non-ASCII characters tables use (× θ σ β − ± ²)
        r"|\$\\(?:times|theta|sigma|beta|pm)\$|\$-\$|\$\^2\$",
        "",
        out,
    )
    assert not (_SPECIALS & set(stripped))


def test_md_and_html_escape_their_specials() -> None:
    md = ct.etable(two_models(), "md", labels={"ln_dist": "a|b*c"}, provenance=False)
    assert "a\\|b\\*c" in md
    html = ct.etable(two_models(), "html", labels={"ln_dist": "<b>&"}, provenance=False)
    assert "&lt;b&gt;&amp;" in html
    assert "<b>" not in html


def test_stars_are_configurable() -> None:
    # p(ln_dist) ~ 0, p(clny) ~ 0.056
    md = ct.etable(two_models()[:1], "md", stars=(0.1, 0.05), provenance=False)
    assert "-0.841\\*\\* |" in md
    assert "-0.222\\* |" in md
    md = ct.etable(two_models()[:1], "md", stars={"+": 0.1, "\u2020": 0.001}, provenance=False)
    assert "-0.841\u2020 |" in md
    assert "-0.222+ |" in md
    md = ct.etable(two_models()[:1], "md", stars=None, provenance=False)
    assert "\\*" not in md
    assert "Significance" not in md


def test_digits_keep_drop_order_labels() -> None:
    md = ct.etable(
        two_models()[:1],
        "md",
        digits=2,
        keep=["ln_dist", "^co"],
        drop=["comlang"],
        order=["contig"],
        provenance=False,
    )
    lines = [ln.split("|")[1].strip() for ln in md.splitlines() if ln.startswith("| ")]
    coef_rows = [x for x in lines if x in {"ln\\_dist", "contig", "comlang", "clny"}]
    assert coef_rows == ["contig", "ln\\_dist"]
    assert "-0.84\\*\\*\\*" in md


def test_ci_instead_of_se() -> None:
    md = ct.etable(two_models()[:1], "md", se="ci", alpha=0.1, provenance=False)
    lo = -0.841 - 1.6448536269514722 * 0.032
    assert f"\\[{lo:.3f}, " in md
    assert "90% confidence intervals" in md


def test_fe_rows_nobs_fit_and_se_type() -> None:
    md = ct.etable([*two_models(), ols_model()], "md", provenance=False)
    assert "| Pair | No | Yes | No |" in md
    assert "| Observations | 28,152 | 28,482 | 1,000 |" in md
    assert "| Pseudo R² | 0.912 | 0.999 |  |" in md
    assert "| R² |  |  | 0.710 |" in md
    assert "| Standard errors | Clustered by pair | Robust | IID |" in md
    assert "Fixed effects" not in ct.etable(two_models(), "md", fe_rows=False, provenance=False)


def test_mapping_gives_model_names_and_vcov_recomputes() -> None:
    m1, m2 = two_models()
    md = ct.etable({"Two-way": m1, "Three-way": m2}, "md", provenance=False)
    assert md.splitlines()[0] == "|  | Two-way | Three-way |"
    md = ct.etable([m1], "md", vcov={"CRV1": "pair"}, provenance=False)
    assert "(0.064)" in md  # the test double doubles its SEs under a new vcov


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"format": "pdf"}, "format must be one of"),
        ({"se": "t"}, "se must be"),
        ({"digits": -1}, "digits must be between"),
        ({"digits": 2.5}, "digits must be an integer"),
        ({"stars": (0.1, 1.5)}, "star levels must lie in"),
        ({"stars": "yes"}, "stars must be"),
        ({"alpha": 2}, "alpha must lie"),
        ({"keep": "rta"}, "keep must be a list"),
        ({"keep": ["("]}, "invalid regular expression"),
        ({"model_names": ["a"]}, "model_names has 1 names for 2 results"),
        ({"digts": 2}, "did you mean 'digits'"),
        ({"colour": "red"}, "unknown option"),
    ],
)
def test_invalid_options_raise_specification_error(kwargs: dict[str, object], match: str) -> None:
    fmt = kwargs.pop("format", "md")
    with pytest.raises(SpecificationError, match=match):
        ct.etable(two_models(), fmt, **kwargs)  # type: ignore[arg-type]


def test_non_results_are_rejected() -> None:
    with pytest.raises(SpecificationError, match="lacks params"):
        ct.etable([object()], "md")
    with pytest.raises(SpecificationError, match="at least one"):
        ct.etable([], "md")


def test_a_result_must_implement_the_protocol_and_saved_results_keep_their_vcov(
    tmp_path: Path,
) -> None:
    class NoVcov:
        params = pd.Series({"x": 1.0})
        bse = pd.Series({"x": 0.5})
        nobs = 10

    with pytest.raises(SpecificationError, match=r"lacks tvalues, pvalues, vcov.*with_vcov"):
        ct.etable([NoVcov()], "md")
    saved = load_results(save_results(two_models()[0], tmp_path / "r.json"))
    assert isinstance(saved, EstimationResult)
    with pytest.raises(SpecificationError, match=r"cannot recompute vcov='hetero'"):
        ct.etable([saved], "md", vcov="hetero")
    md = ct.etable([saved], "md", provenance=False)
    assert r"| ln\_dist | -0.841\*\*\* |" in md


def test_fake_is_a_result() -> None:
    assert all(isinstance(m, EstimationResult) for m in [*two_models(), ols_model()])
    assert set(RESULT_MEMBERS) <= set(dir(two_models()[0]))


def test_nan_and_negative_zero_are_rendered_cleanly() -> None:
    res = FakeResult(
        params=pd.Series({"a": -0.0001, "b": 1.0}),
        bse=pd.Series({"a": 0.1, "b": np.nan}),
        nobs=5,
    )
    md = ct.etable([res], "md", provenance=False)
    assert "| a | 0.000 |" in md
    assert "| b | 1.000 |" in md


def test_scenario_table_errors() -> None:
    df = pd.DataFrame({"welfare_pct": [1.0]}, index=["KAZ"])
    with pytest.raises(SpecificationError, match="outcome 'exports' not in"):
        scenario_table(df, outcomes=["exports"])
    with pytest.raises(SpecificationError, match="countries not in"):
        scenario_table(df, outcomes=["welfare"], countries=["UZB"])
    with pytest.raises(SpecificationError, match="unknown option"):
        scenario_table(df, outcomes=["welfare"], stars=True)
    with pytest.raises(SpecificationError, match="GE result"):
        scenario_table([1, 2], outcomes=["welfare"])


def test_scenario_table_accepts_result_objects_and_no_ci() -> None:
    class GE:
        countries = pd.DataFrame({"welfare_pct": [0.1234]}, index=["TJK"])
        flows = pd.DataFrame(columns=["exporter", "importer", "change_pct"])

    md = scenario_table(GE(), outcomes=["welfare"], provenance=False)
    assert "| TJK | 0.12 |" in md
    assert "Confidence intervals" not in md
    flows = pd.DataFrame(
        {"exporter": list("AABB"), "importer": list("ABAB"), "value": [8.0, 2.0, 2.0, 8.0]}
    )
    solved = ct.ge.solve(flows, ct.ge.agreement(["A", "B"], 0.3), 4)
    md = scenario_table(solved, outcomes=["welfare"], provenance=False)
    assert f"| A | {solved.countries.loc['A', 'welfare_pct']:.2f} |" in md

    class NotGE:
        countries = pd.DataFrame({"welfare_pct": [0.1]}, index=["TJK"])

    with pytest.raises(SpecificationError, match="GE result with a 'countries' DataFrame"):
        scenario_table(NotGE(), outcomes=["welfare"])


def test_extra_rows_say_what_sample_each_column_used() -> None:
    md = ct.etable(
        two_models(), "md", extra_rows={"Sample": ["International pairs", "All pairs"]},
        provenance=False,
    )  # fmt: skip
    lines = md.splitlines()
    sample = lines.index("| Sample | International pairs | All pairs |")
    # after the fixed effects, before the statistics
    assert (
        lines.index("| Pair | No | Yes |")
        < sample
        < lines.index("| Observations | 28,152 | 28,482 |")
    )
    with pytest.raises(SpecificationError, match=r"extra_rows\['Sample'\] must have one value"):
        ct.etable(two_models(), "md", extra_rows={"Sample": ["International pairs"]})
    with pytest.raises(SpecificationError, match="extra_rows must map"):
        ct.etable(two_models(), "md", extra_rows=["x"])  # type: ignore[arg-type]


def test_bounds_on_their_estimate_are_explained() -> None:
    df = pd.DataFrame(
        {
            "welfare_pct": [1.601, 0.5, 0.001],
            "welfare_pct_lo": [1.598, 0.2, 0.0],
            "welfare_pct_hi": [1.79, 0.9, 0.002],
        },
        index=["UZB", "KGZ", "DEU"],
    )
    md = scenario_table(
        df, outcomes=["welfare"], interval_note="90% intervals of 50 draws.", provenance=False
    )
    assert "| UZB | 1.60 \\[1.60, 1.79\\] |" in md
    assert "90% intervals of 50 draws." in md and "Confidence intervals" not in md
    assert "In 1 cell one bound equals the estimate at the precision shown" in md
    assert "In 1 cell the whole interval equals the estimate at the precision shown" in md
    # with no bound on its estimate there is nothing to explain
    md = scenario_table(df.loc[["KGZ"]], outcomes=["welfare"], provenance=False)
    assert "precision shown" not in md and "Confidence intervals in brackets." in md
