"""What tables and figures accept as results (report/results.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from ca_trade.exceptions import SpecificationError
from ca_trade.report.results import (
    as_results,
    countries_frame,
    flows_frame,
    intervals,
    is_synthetic,
    model_label,
    select_terms,
)
from tests.report.fakes import ols_model, two_models


def test_one_result_a_sequence_or_a_mapping() -> None:
    a, b = two_models()
    assert as_results(a, None) == ([a], ["(1)"])
    assert as_results([a, b], None)[1] == ["(1)", "(2)"]
    assert as_results({"two-way": a, "three-way": b}, None)[1] == ["two-way", "three-way"]
    assert as_results([a, b], ["A", "B"])[1] == ["A", "B"]
    with pytest.raises(SpecificationError, match="2 names for 1 results"):
        as_results([a], ["A", "B"])
    with pytest.raises(SpecificationError, match=r"coefplot\(\) needs at least one result"):
        as_results([], None, "coefplot")
    with pytest.raises(SpecificationError, match=r"result 2 \(dict\) lacks params"):
        as_results([a, {"params": 1}], None)


def test_terms_labels_intervals_and_the_synthetic_flag() -> None:
    names = ["ln_dist", "contig", "comlang", "clny"]
    assert select_terms(names, ["^c"], ["clny"], None) == ["contig", "comlang"]
    assert select_terms(names, None, None, ["clny", "co"]) == [
        "clny",
        "contig",
        "comlang",
        "ln_dist",
    ]
    with pytest.raises(SpecificationError, match="not a string"):
        select_terms(names, "ln_dist", None, None)  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="invalid regular expression"):
        select_terms(names, ["("], None, None)
    m = two_models(synthetic=True)
    assert [model_label(x) for x in [*m, ols_model()]] == ["PPML", "PPML", "OLS"]
    assert is_synthetic(m) and not is_synthetic([ols_model()])
    lo, hi = intervals(m[0], 0.05)["ln_dist"]
    assert lo < -0.841 < hi


def test_ge_frames_come_from_frames_or_results() -> None:
    df = pd.DataFrame({"welfare_pct": [0.1]}, index=["KAZ"])

    class Outcome:
        countries = df
        flows = pd.DataFrame({"exporter": ["KAZ"], "importer": ["KGZ"], "change_pct": [1.0]})

    assert countries_frame(df, "t") is df
    assert countries_frame(Outcome(), "t") is df
    assert flows_frame(Outcome(), "t") is Outcome.flows
    with pytest.raises(SpecificationError, match=r"t\(\) takes a flows DataFrame"):
        flows_frame(object(), "t")  # type: ignore[arg-type]
