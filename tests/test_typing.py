"""The shared types (_typing): the results protocol is what every result implements."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

import ca_trade as ct
from ca_trade._typing import RESULT_MEMBERS, EstimationResult, ScenarioOutcomes
from ca_trade.report.stored import StoredResults


def _members() -> set[str]:
    return {
        name
        for name, value in vars(EstimationResult).items()
        if not name.startswith("_") and (isinstance(value, property) or inspect.isfunction(value))
    }


def test_every_result_implements_the_protocol() -> None:
    assert set(RESULT_MEMBERS) == _members()
    rng = np.random.default_rng(0)
    i, j, t = (a.ravel() for a in np.meshgrid(np.arange(6), np.arange(6), np.arange(3)))
    df = pd.DataFrame({"i": i, "j": j, "t": t})[i != j]
    df["x"] = rng.normal(size=len(df))
    df["y"] = rng.poisson(np.exp(1 + 0.5 * df["x"])).astype(float)
    res = ct.ppml("y ~ x | i^t + j^t + i^j", df, vcov={"CRV1": "i^j"})
    corrected = res.bias_corrected()
    saved = StoredResults(res.params, res.vcov, res.nobs)
    for r in (res, corrected, saved, res.with_vcov("iid")):
        assert isinstance(r, EstimationResult), type(r)
    assert res.correction == "" and corrected.correction.startswith("Weidner & Zylkin")
    assert dict(res.dropped.counts) == {k: len(v) for k, v in res.dropped.items()}
    assert not isinstance(object(), EstimationResult)


def test_ge_results_offer_their_outcomes() -> None:
    flows = pd.DataFrame(
        {"exporter": list("AABB"), "importer": list("ABAB"), "value": [8.0, 2.0, 2.0, 8.0]}
    )
    solved = ct.ge.solve(flows, ct.ge.agreement(["A", "B"], 0.3), 4)
    assert isinstance(solved, ScenarioOutcomes)
    assert not isinstance(flows, ScenarioOutcomes)
