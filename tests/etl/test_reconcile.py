"""Mirror reconciliation: CIF margins, reliability weights, single reports, sectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ca_trade import facts
from ca_trade.etl import RECONCILED_COLUMNS, ingest, reconcile
from ca_trade.etl.reconcile import cif_margins, reliability
from ca_trade.exceptions import DataValidationError, DataValidationWarning, SpecificationError
from tests.etl.helpers import plus_row, write_plus

ISOS = ["CHN", "DEU", "KAZ", "KGZ", "RUS", "TJK", "TUR", "USA", "UZB", "IND", "IRN", "AFG"]


def _flows(
    records: list[tuple[str, str, str, int, str, float]], version: str = "H5"
) -> pd.DataFrame:
    rep, par, flow, year, cmd, val = zip(*records)
    return pd.DataFrame(
        {
            "classification": "HS",
            "classification_version": version,
            "freq": "A",
            "year": list(year),
            "reporter": list(rep),
            "partner": list(par),
            "flow": list(flow),
            "cmd_code": list(cmd),
            "value_usd": list(val),
            "reporter_is_nes": False,
            "partner_is_nes": False,
        }
    )


def _world(
    noise_x: dict[str, float], noise_m: dict[str, float], seed: int = 1, cif: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """True flows and both sides' reports; CIF = FOB * exp(0.01 + 0.006 ln d + 0.02 ll)."""
    rng = np.random.default_rng(seed)
    cov = facts.pair_covariates(ISOS, [2018])
    cov = cov[cov.exporter != cov.importer].reset_index(drop=True)
    recs, truth = [], []
    for year in (2018, 2019):
        for row in cov.itertuples():
            v = float(np.exp(rng.normal(18, 1)))
            truth.append((row.exporter, row.importer, year, v))
            lm = 0.01 + 0.006 * np.log(row.dist_km) + 0.02 * row.landlocked_exp if cif else 0.0
            ex = v * np.exp(rng.normal(0, noise_x.get(row.exporter, 0.0)))
            im = v * np.exp(lm) * np.exp(rng.normal(0, noise_m.get(row.importer, 0.0)))
            recs.append((row.exporter, row.importer, "X", year, "TOTAL", ex))
            recs.append((row.importer, row.exporter, "M", year, "TOTAL", im))
    t = pd.DataFrame(truth, columns=["exporter", "importer", "year", "true"])
    return _flows(recs), t


def test_columns_and_sorting() -> None:
    flows, _ = _world({}, {})
    out = reconcile(flows)
    assert list(out.columns) == RECONCILED_COLUMNS
    assert out.equals(
        out.sort_values(["exporter", "importer", "year", "sector"]).reset_index(drop=True)
    )
    assert set(out["source"]) == {"both"}


def test_cif_margins_are_removed_exactly_when_the_model_holds() -> None:
    flows, truth = _world({}, {})
    out = reconcile(flows, "importer_first").merge(truth)
    np.testing.assert_allclose(out["value_importer_fob"], out["true"], rtol=1e-8)
    np.testing.assert_allclose(out["value_usd"], out["true"], rtol=1e-8)


def test_cif_margins_are_clipped_to_0_and_0_2() -> None:
    pairs = pd.DataFrame(
        {"exporter": list("AB"), "importer": list("BA"), "dist_km": [100.0, 20000.0],
         "contig": [0, 0], "landlocked_exp": [0, 0], "landlocked_imp": [0, 0]}
    )  # fmt: skip
    rng = np.random.default_rng(0)
    d = np.exp(rng.uniform(np.log(100), np.log(20000), 200))
    big = pd.DataFrame({"exporter": [f"E{i}" for i in range(200)], "importer": "I"})
    big = big.assign(dist_km=d, contig=0, landlocked_exp=0, landlocked_imp=0)
    ratios = big[["exporter", "importer"]].assign(ratio=np.exp(-0.5 + 0.1 * np.log(d)))
    m = cif_margins(pd.concat([pairs, big], ignore_index=True), ratios)
    assert m.min() >= 0.0 and m.max() <= 0.2
    assert m.iloc[0] == 0.0 and m.iloc[1] == 0.2


def test_reliability_identifies_the_noisy_reporter() -> None:
    flows, _ = _world({"DEU": 0.6}, {}, cif=False)
    x = flows[flows.flow == "X"].rename(
        columns={"reporter": "exporter", "partner": "importer", "value_usd": "value_exporter"}
    )
    m = flows[flows.flow == "M"].rename(
        columns={"reporter": "importer", "partner": "exporter", "value_usd": "value_importer_fob"}
    )
    both = x.merge(m, on=["exporter", "importer", "year"])
    a, _ = reliability(both)
    assert a.idxmax() == "DEU"
    assert a["DEU"] > 5 * a.drop("DEU").median()


def test_baci_weights_beat_either_side_when_one_reporter_is_noisy() -> None:
    noise_x = {c: 0.05 for c in ISOS} | {"DEU": 0.5, "CHN": 0.5}
    noise_m = {c: 0.05 for c in ISOS} | {"USA": 0.5, "IND": 0.5}
    flows, truth = _world(noise_x, noise_m, seed=3)
    err = {}
    for method in ("baci", "importer_first", "exporter_first"):
        j = reconcile(flows, method).merge(truth)
        err[method] = float(np.mean(np.abs(np.log(j["value_usd"] / j["true"]))))
    assert err["baci"] < 0.8 * min(err["importer_first"], err["exporter_first"])


def test_single_reports_are_used_where_one_side_is_silent() -> None:
    flows = _flows(
        [
            ("KAZ", "TKM", "X", 2019, "TOTAL", 100.0),  # TKM never reports
            ("KAZ", "TKM", "M", 2019, "TOTAL", 55.0),
        ]
    )
    out = reconcile(flows, covariates=facts.pair_covariates(["KAZ", "TKM"], [2019]))
    assert out["source"].tolist() == ["exporter_only", "importer_only"]
    assert out["exporter"].tolist() == ["KAZ", "TKM"]
    assert out.loc[0, "value_usd"] == 100.0
    assert 55.0 / 1.2 <= out.loc[1, "value_usd"] <= 55.0


def test_sectors_total_from_chapters_and_sections() -> None:
    flows = _flows(
        [
            ("KAZ", "CHN", "X", 2019, "27", 70.0),
            ("KAZ", "CHN", "X", 2019, "26", 20.0),
            ("KAZ", "CHN", "X", 2019, "2709", 65.0),  # deeper detail is not double counted
            ("KAZ", "CHN", "X", 2019, "52", 10.0),
            ("CHN", "KAZ", "M", 2019, "TOTAL", 1.0),  # only TOTAL from the other side
        ]
    )
    out = reconcile(flows, "exporter_first", sectors=["total", "section", "chapter"])
    kz = out[out.exporter == "KAZ"].set_index("sector")["value_usd"]
    assert kz["TOTAL"] == 100.0
    assert kz["S05"] == 90.0 and kz["S11"] == 10.0
    assert kz["27"] == 70.0 and kz["26"] == 20.0


def test_latest_hs_revision_wins_and_filters() -> None:
    old = _flows([("KAZ", "CHN", "X", 2019, "TOTAL", 1.0)], version="H4")
    new = _flows([("KAZ", "CHN", "X", 2019, "TOTAL", 2.0)], version="H5")
    nes = _flows([("KAZ", "XNS", "X", 2019, "TOTAL", 3.0)]).assign(partner_is_nes=True)
    rx = _flows([("KAZ", "CHN", "RX", 2019, "TOTAL", 4.0)])
    out = reconcile(pd.concat([old, new, nes, rx]), "exporter_first")
    assert out["value_usd"].tolist() == [2.0]


def test_bad_method_and_level() -> None:
    flows = _flows([("KAZ", "CHN", "X", 2019, "TOTAL", 1.0)])
    with pytest.raises(SpecificationError, match="method"):
        reconcile(flows, "mean")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="sector levels"):
        reconcile(flows, sectors="hs6")


def test_empty_input_gives_empty_frame_with_columns() -> None:
    flows = _flows([("KAZ", "CHN", "RX", 2019, "TOTAL", 1.0)])
    out = reconcile(flows)
    assert list(out.columns) == RECONCILED_COLUMNS and out.empty


def test_bad_inputs_are_named() -> None:
    from ca_trade.exceptions import DataValidationError

    flows = _flows([("KAZ", "CHN", "X", 2019, "TOTAL", 1.0)])
    with pytest.raises(DataValidationError, match="freq"):
        reconcile(flows.drop(columns="freq"))
    with pytest.raises(DataValidationError, match="dist_km"):
        reconcile(flows, covariates=pd.DataFrame({"exporter": ["KAZ"], "importer": ["CHN"]}))
    with pytest.raises(DataValidationError, match=r"run ca_trade\.etl\.ingest"):
        reconcile("/nonexistent/processed")


def test_no_flows_says_whether_ingest_ran(tmp_path: Path) -> None:
    # never ingested: the hint to run ingest first
    with pytest.raises(DataValidationError, match=r"no ingest has written .* run ca_trade\.etl"):
        reconcile(tmp_path / "empty")
    # ingested, but every row had partner World: say what the ingest did, not "run ingest"
    write_plus(tmp_path / "raw" / "w.csv", [plus_row(398, 0, "X", 7)])
    with pytest.warns(DataValidationWarning):
        ingest(tmp_path / "raw", tmp_path / "out")
    with pytest.raises(DataValidationError) as info:
        reconcile(tmp_path / "out")
    message = str(info.value)
    assert "the last ingest into" in message and "partner_world 1" in message
    assert "run ca_trade.etl.ingest" not in message
    # ingested HS flows, asked for another classification: name the ones there are
    write_plus(tmp_path / "raw2" / "f.csv", [plus_row(398, 156, "X", 7)])
    ingest(tmp_path / "raw2", tmp_path / "out2")
    with pytest.raises(DataValidationError, match="the last ingest wrote HS flows"):
        reconcile(tmp_path / "out2", classification="SITC")
