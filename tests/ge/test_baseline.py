from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ca_trade.ge as ge
from ca_trade.exceptions import SpecificationError
from tests.ge._problems import names, random_flows, to_frame


def test_fitted_flows_match_margins_and_cost_index() -> None:
    flows = to_frame(random_flows(6, 0, zeros=True))
    rng = np.random.default_rng(0)
    costs = flows[["exporter", "importer"]].assign(log_cost=rng.normal(0, 1, len(flows)))
    fit = ge.fitted_flows(flows, costs)
    np.testing.assert_allclose(
        fit.groupby("exporter")["value"].sum(), flows.groupby("exporter")["value"].sum(), rtol=1e-12
    )
    np.testing.assert_allclose(
        fit.groupby("importer")["value"].sum(), flows.groupby("importer")["value"].sum(), rtol=1e-12
    )
    # log fitted = a_i + b_j + log_cost: double differences recover the cost index
    lf = np.log(fit["value"].to_numpy()).reshape(6, 6)
    lc = costs["log_cost"].to_numpy().reshape(6, 6)
    dd = lf - lf[:, [0]] - lf[[0], :] + lf[0, 0]
    ddc = lc - lc[:, [0]] - lc[[0], :] + lc[0, 0]
    np.testing.assert_allclose(dd, ddc, atol=1e-10)


def test_recover_pair_effects_two_stage() -> None:
    cs = names(7)
    cov = pd.DataFrame([(i, j) for i in cs for j in cs], columns=["exporter", "importer"])
    rng = np.random.default_rng(1)
    cov["ln_dist"] = np.where(cov.exporter == cov.importer, 0.0, rng.uniform(5, 9, len(cov)))
    cov["contig"] = (rng.random(len(cov)) < 0.3).astype(float)
    fe_exp = dict(zip(cs, rng.normal(0, 0.5, 7)))
    fe_imp = dict(zip(cs, rng.normal(0, 0.5, 7)))
    truth = (
        -0.9 * cov["ln_dist"]
        + 0.5 * cov["contig"]
        + cov["exporter"].map(fe_exp)
        + cov["importer"].map(fe_imp)
    )
    known = cov[["exporter", "importer"]].assign(pair_effect=truth)
    hidden = [3, 10, 25]
    out = ge.recover_pair_effects(known.drop(index=hidden), cov, ["ln_dist", "contig"])
    assert out["recovered"].sum() == 3
    merged = out.merge(known, on=["exporter", "importer"], suffixes=("", "_true"))
    np.testing.assert_allclose(merged["pair_effect"], merged["pair_effect_true"], atol=1e-8)


def test_geppml_baseline_from_a_fitted_result() -> None:
    flows = to_frame(random_flows(4, 3))

    class Fit:
        def predict(self, data: pd.DataFrame) -> pd.Series:
            return data["value"] * 2.0

    base = ge.geppml_baseline(Fit(), flows)
    np.testing.assert_allclose(base["value"], flows["value"] * 2.0)

    class Broken:
        def predict(self, data: pd.DataFrame) -> np.ndarray:
            return np.full(len(data), np.nan)

    from ca_trade.exceptions import SpecificationError

    with pytest.raises(SpecificationError, match="recover_pair_effects"):
        ge.geppml_baseline(Broken(), flows)
    with pytest.raises(SpecificationError, match="predict"):
        ge.geppml_baseline(object(), flows)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        ("covariates", r"covariates: column 'ln_dist' must be finite; row 1 \(A -> B\)"),
        ("pair_effects", r"pair_effects: column 'pair_effect' .*row 0 \(A -> B\) has inf"),
    ],
)
def test_second_stage_inputs_must_be_finite(frame: str, match: str) -> None:
    cs = ["A", "B", "C"]
    cov = pd.DataFrame([(i, j) for i in cs for j in cs], columns=["exporter", "importer"])
    cov["ln_dist"] = np.where(cov.exporter == cov.importer, 0.0, 1.0 + cov.index / 10)
    pe = cov.assign(pair_effect=-0.8 * cov["ln_dist"]).drop(columns="ln_dist").iloc[1:]
    pe = pe.reset_index(drop=True)
    if frame == "covariates":
        cov.loc[1, "ln_dist"] = np.nan
    else:
        pe.loc[0, "pair_effect"] = np.inf
    with pytest.raises(SpecificationError, match=match):
        ge.recover_pair_effects(pe, cov, ["ln_dist"])
