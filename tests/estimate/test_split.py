"""Split estimation: one fit per sector, each equal to fitting the sector alone."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ca_trade as ct
from ca_trade.estimate import SplitProgress, SplitResults
from ca_trade.estimate.split import FRAME_COLUMNS, partitions
from ca_trade.exceptions import (
    DataValidationError,
    SeparationWarning,
    SpecificationError,
    SplitWarning,
)

FORMULA = "y ~ x + z | g + h"
ESTIMATED = ["S01", "S02", "S03"]


def sector_panel(seed: int = 0) -> pd.DataFrame:
    """Three estimable sectors of different sizes and slopes, and three that cannot be.

    ``S04`` has an all-zero outcome (every row separated), ``S05`` two rows (singletons),
    ``S06`` regressors without variation (collinear with the fixed effects).
    """
    rng = np.random.default_rng(seed)
    parts = []
    for k, (sector, n) in enumerate([("S01", 900), ("S02", 600), ("S03", 1200)]):
        x, z = rng.normal(size=n), rng.normal(size=n)
        g, h = rng.integers(0, 25, n), rng.integers(0, 15, n)
        y = rng.poisson(np.exp(0.5 + (0.2 + 0.2 * k) * x - 0.3 * z))
        parts.append(pd.DataFrame({"sector": sector, "x": x, "z": z, "g": g, "h": h, "y": y}))
    n = 200
    base = {"x": rng.normal(size=n), "z": rng.normal(size=n)}
    fe = {"g": rng.integers(0, 10, n), "h": rng.integers(0, 5, n)}
    parts.append(pd.DataFrame({"sector": "S04", **base, **fe, "y": np.zeros(n)}))
    parts.append(
        pd.DataFrame(
            {"sector": "S05", "x": [0.1, 0.2], "z": [1.0, 2.0], "g": [1, 2], "h": [1, 2]}
            | {"y": [1.0, 3.0]}
        )
    )
    g = rng.integers(0, 10, n)
    parts.append(
        pd.DataFrame(
            {"sector": "S06", "x": g * 1.0, "z": g * 2.0, "g": g, "h": rng.integers(0, 5, n)}
            | {"y": rng.poisson(3, n).astype(float)}
        )
    )
    df = pd.concat(parts, ignore_index=True)
    order = rng.permutation(len(df))  # sectors interleaved, as in a real panel
    return df.iloc[order].reset_index(drop=True).assign(y=lambda d: d["y"].astype(float))


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return sector_panel()


def fit_quietly(*args: object, **kwargs: object) -> SplitResults:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ct.ppml(*args, **kwargs)  # type: ignore[arg-type,call-overload,no-any-return]


def assert_identical(a: ct.estimate.GravityResults, b: ct.estimate.GravityResults) -> None:
    """Params, standard errors and covariance equal bit for bit; the same rows."""
    assert list(a.params.index) == list(b.params.index)
    assert np.array_equal(a.params.to_numpy(), b.params.to_numpy())
    assert np.array_equal(a.bse.to_numpy(), b.bse.to_numpy())
    assert np.array_equal(a.vcov.to_numpy(), b.vcov.to_numpy())
    assert (a.nobs, a.n_iter, a.converged) == (b.nobs, b.n_iter, b.converged)
    assert a.dropped.counts == b.dropped.counts
    assert a.provenance["data_sha256"] == b.provenance["data_sha256"]


@pytest.mark.parametrize("executor", [None, "processes"])
def test_each_sector_equals_its_fit_alone(panel: pd.DataFrame, executor: str | None) -> None:
    vcov = {"CRV1": "g"}
    coll = fit_quietly(FORMULA, panel, split="sector", executor=executor, vcov=vcov)
    assert list(coll) == ESTIMATED
    for sector in ESTIMATED:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alone = ct.ppml(FORMULA, panel[panel["sector"] == sector], vcov=vcov)
        assert_identical(coll[sector], alone)
        # the dropped rows are labelled as in the caller's frame
        for reason in alone.dropped:
            assert np.array_equal(coll[sector].dropped[reason], alone.dropped[reason])


def test_ols_by_sector_equals_ols_alone(panel: pd.DataFrame) -> None:
    data = panel[panel["y"] > 0].assign(ly=lambda d: np.log(d["y"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coll = ct.ols("ly ~ x + z | g", data, split="sector", executor=None)
        for sector in coll:
            assert_identical(coll[sector], ct.ols("ly ~ x + z | g", data[data.sector == sector]))
    assert coll.model == "ols"


@pytest.mark.filterwarnings("ignore::ca_trade.exceptions.SeparationWarning")
@pytest.mark.filterwarnings("ignore::ca_trade.exceptions.SingletonWarning")
@pytest.mark.filterwarnings("ignore::ca_trade.exceptions.CollinearityWarning")
def test_sectors_that_cannot_be_estimated_are_failures_with_reasons(panel: pd.DataFrame) -> None:
    with pytest.warns(SplitWarning, match=r"3 of 6 sector groups could not be estimated"):
        coll = ct.ppml(FORMULA, panel, split="sector", executor=None)
    assert list(coll) == ESTIMATED
    assert list(coll.failures) == ["S04", "S05", "S06"]
    assert "no observations left" in coll.failures["S04"]  # all separated
    assert "no observations left" in coll.failures["S05"]  # singletons: too few rows
    assert coll.failures["S06"].startswith("no variation")  # collinear with the effects
    assert "x, z" in coll.failures["S06"]
    assert coll.groups == [*ESTIMATED, "S04", "S05", "S06"]
    with pytest.raises(KeyError, match=r"S04.*not estimated"):
        coll["S04"]
    # the sectors' own warnings are kept by sector
    assert any("separation" in m for m in coll.warnings["S04"])
    assert coll.provenance["split"]["failed"] == {k: coll.failures[k] for k in coll.failures}


def test_warnings_of_the_sectors_are_announced_once_per_kind(panel: pd.DataFrame) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ct.ppml(FORMULA, panel, split="sector", executor=None)
    separation = [w for w in caught if issubclass(w.category, SeparationWarning)]
    assert len(separation) == 1
    assert "sector=S04" in str(separation[0].message)


def test_when_no_sector_can_be_estimated_the_first_error_is_raised(panel: pd.DataFrame) -> None:
    bad = panel[panel["sector"].isin(["S04", "S05"])]
    with pytest.raises(DataValidationError, match=r"no sector could be estimated \(2 tried\)"):
        fit_quietly(FORMULA, bad, split="sector", executor=None)


def test_a_failure_in_a_fit_never_aborts_the_other_sectors(panel: pd.DataFrame) -> None:
    # S07 needs more IRLS iterations than the cap: with on_maxiter="raise" its fit raises in
    # its worker process; the other sectors are estimated all the same
    rng = np.random.default_rng(1)
    n = 500
    x = rng.normal(size=n)
    steep = pd.DataFrame(
        {"sector": "S07", "x": x, "z": rng.normal(size=n), "g": rng.integers(0, 10, n)}
        | {"h": rng.integers(0, 5, n), "y": rng.poisson(np.exp(1 + 2.5 * x)).astype(float)}
    )
    data = pd.concat([panel[panel["sector"].isin(ESTIMATED)], steep], ignore_index=True)
    coll = fit_quietly(
        FORMULA, data, split="sector", executor="processes", maxiter=5, on_maxiter="raise"
    )
    assert list(coll) == ESTIMATED
    assert coll.failures["S07"].startswith("ConvergenceError: ppml did not converge in 5")


def test_to_frame_is_tidy_and_matches_the_results(panel: pd.DataFrame) -> None:
    coll = fit_quietly(FORMULA, panel, split="sector", executor=None)
    frame = coll.to_frame()
    assert list(frame.columns) == ["sector", *FRAME_COLUMNS]
    assert list(frame["sector"].unique()) == ESTIMATED
    for sector, res in coll.items():
        rows = frame[frame["sector"] == sector].set_index("term")
        assert list(rows.index) == list(res.params.index)
        assert np.array_equal(rows["estimate"].to_numpy(), res.params.to_numpy())
        assert np.array_equal(rows["std_error"].to_numpy(), res.bse.to_numpy())
        assert np.array_equal(rows["p_value"].to_numpy(), res.pvalues.to_numpy())
        assert (rows["nobs"] == res.nobs).all() and (rows["dropped"] == res.dropped.total).all()
    assert "Not estimated" in coll.summary() and "S06" in coll.summary()
    assert "3 estimated, 3 failed" in repr(coll)


def test_the_collection_is_read_only(panel: pd.DataFrame) -> None:
    coll = fit_quietly(FORMULA, panel, split="sector", executor=None)
    with pytest.raises(TypeError):
        coll["S01"] = coll["S02"]  # type: ignore[index]
    with pytest.raises(TypeError):
        coll.failures["S01"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        coll.provenance["split"] = {}  # type: ignore[index]


def test_progress_is_reported_once_per_finished_sector(panel: pd.DataFrame) -> None:
    seen: list[SplitProgress] = []
    fit_quietly(FORMULA, panel, split="sector", executor="processes", progress=seen.append)
    assert sorted(p.done for p in seen) == [1, 2, 3, 4, 5, 6]
    assert sorted(str(p.key) for p in seen) == [*ESTIMATED, "S04", "S05", "S06"]
    assert {p.total for p in seen} == {6}
    failed = {p.key for p in seen if p.failure is not None}
    assert failed == {"S04", "S05", "S06"}
    assert "failed: " in next(p.line() for p in seen if p.key == "S04")


def test_provenance_records_the_split(panel: pd.DataFrame) -> None:
    coll = fit_quietly(FORMULA, panel, split="sector", executor=None)
    assert coll["S02"].provenance["split"] == {"by": "sector", "group": "S02"}
    split = coll.provenance["split"]
    assert split["by"] == "sector" and split["source"] == "data frame"
    assert split["groups"] == [*ESTIMATED, "S04", "S05", "S06"] and split["estimated"] == 3
    assert "executor" not in str(dict(coll.provenance))  # results do not depend on it
    assert coll.executor == "serial"


def test_polars_data_give_the_same_estimates(panel: pd.DataFrame) -> None:
    small = panel[panel["sector"].isin(ESTIMATED)].reset_index(drop=True)
    a = fit_quietly(FORMULA, small, split="sector", executor=None)
    b = fit_quietly(FORMULA, pl.from_pandas(small), split="sector", executor=None)
    for sector in ESTIMATED:
        assert_identical(a[sector], b[sector])


def test_integer_split_values_are_kept_as_keys() -> None:
    df = pd.DataFrame({"year": [2001] * 4 + [2002] * 4, "x": [0.0, 1, 2, 3, 0, 1, 2, 4]})
    df["y"] = [1.0, 2, 2, 4, 0, 1, 3, 4]
    coll = ct.ols("y ~ x", df, split="year", executor=None)
    assert list(coll) == [2001, 2002]
    assert isinstance(next(iter(coll)), int)


def test_options_are_checked_before_any_sector_runs(panel: pd.DataFrame) -> None:
    with pytest.raises(SpecificationError, match="not a column"):
        ct.ppml(FORMULA, panel, split="industry")
    with pytest.raises(SpecificationError, match="tol"):
        ct.ppml(FORMULA, panel, split="sector", tol=2.0)
    with pytest.raises(SpecificationError, match="weights must name a column"):
        ct.ppml(FORMULA, panel, split="sector", weights=np.ones(len(panel)))
    with pytest.raises(SpecificationError, match="executor='threads'"):
        ct.ppml(FORMULA, panel, split="sector", executor="threads")
    with pytest.raises(SpecificationError, match="split="):
        ct.ppml(FORMULA, panel, split="")
    with pytest.raises(SpecificationError):
        ct.ppml("y ~ x | ", panel, split="sector")


def test_rows_without_a_sector_are_refused(panel: pd.DataFrame) -> None:
    df = panel.copy()
    df.loc[5, "sector"] = None
    with pytest.raises(DataValidationError, match=r"1 rows have no sector \(first: row 5"):
        ct.ppml(FORMULA, df, split="sector")


def test_etable_shows_sectors_as_columns_and_failures_in_a_note(panel: pd.DataFrame) -> None:
    coll = fit_quietly(FORMULA, panel, split="sector", executor=None)
    md = ct.etable(coll, format="md", provenance=False)
    header = md.splitlines()[0]
    assert all(s in header for s in ESTIMATED) and "S04" not in header
    assert "Not estimated (sector): S04 (" in md and "S06 (no variation" in md


# -- a hive-partitioned panel --------------------------------------------------------------


def write_partitioned(panel: pd.DataFrame, root: Path) -> Path:
    """``root/panel/sector=<code>/part-0.parquet``, the sector carried by the folder name."""
    out = root / "panel"
    for sector, rows in panel.groupby("sector"):
        folder = out / f"sector={sector}"
        folder.mkdir(parents=True)
        table = pa.Table.from_pandas(
            rows.drop(columns="sector").reset_index(drop=True), preserve_index=False
        )
        pq.write_table(table, folder / "part-0.parquet")
    return out


@pytest.fixture(scope="module")
def partitioned(panel: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_partitioned(panel, tmp_path_factory.mktemp("hive"))


def alone_from_partition(path: Path, sector: str) -> ct.estimate.GravityResults:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ct.ppml(FORMULA, pd.read_parquet(path / f"sector={sector}" / "part-0.parquet"))


@pytest.mark.parametrize("executor", [None, "processes"])
def test_a_partitioned_panel_gives_each_partition_its_fit_alone(
    partitioned: Path, executor: str | None
) -> None:
    coll = fit_quietly(FORMULA, partitioned, split="sector", executor=executor)
    assert list(coll) == ESTIMATED and list(coll.failures) == ["S04", "S05", "S06"]
    for sector in ESTIMATED:
        assert_identical(coll[sector], alone_from_partition(partitioned, sector))
    assert coll.provenance["split"]["source"] == str(partitioned.resolve())


def test_a_partitioned_panel_equals_the_frame(panel: pd.DataFrame, partitioned: Path) -> None:
    a = fit_quietly(FORMULA, panel, split="sector", executor=None)
    b = fit_quietly(FORMULA, str(partitioned), split="sector", executor=None)
    for sector in ESTIMATED:  # same rows in another order: the same model, to rounding
        assert np.allclose(a[sector].params, b[sector].params, rtol=1e-9, atol=0)
        assert a[sector].nobs == b[sector].nobs


def test_each_task_reads_only_its_own_partition(panel: pd.DataFrame, tmp_path: Path) -> None:
    root = write_partitioned(panel[panel["sector"].isin(ESTIMATED)], tmp_path)
    (root / "sector=S02" / "part-0.parquet").write_bytes(b"not parquet")  # a damaged partition
    coll = fit_quietly(FORMULA, root, split="sector", executor="processes")
    assert list(coll) == ["S01", "S03"]
    assert list(coll.failures) == ["S02"]
    assert "Parquet" in coll.failures["S02"] or "parquet" in coll.failures["S02"]
    assert_identical(coll["S03"], alone_from_partition(root, "S03"))


def test_relative_and_symlinked_paths_to_the_panel(
    partitioned: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = tmp_path / "link"
    link.symlink_to(partitioned, target_is_directory=True)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    rel = fit_quietly(FORMULA, Path("..") / "link", split="sector", executor=None)
    assert_identical(rel["S01"], alone_from_partition(partitioned, "S01"))
    assert rel.provenance["split"]["source"] == str(partitioned.resolve())


def test_the_partition_column_in_a_file_must_match_its_folder(
    panel: pd.DataFrame, tmp_path: Path
) -> None:
    folder = tmp_path / "p" / "sector=S01"
    folder.mkdir(parents=True)
    rows = panel[panel["sector"] == "S01"].reset_index(drop=True)
    rows.to_parquet(folder / "part-0.parquet")  # carries its own sector column: fine
    (tmp_path / "p" / "sector=S02").mkdir()
    rows.to_parquet(tmp_path / "p" / "sector=S02" / "part-0.parquet")  # S01 rows under S02
    coll = fit_quietly(FORMULA, tmp_path / "p", split="sector", executor=None)
    assert list(coll) == ["S01"]
    assert "holds rows with sector='S01'" in coll.failures["S02"]


def test_partitions_lists_values_and_refuses_other_layouts(tmp_path: Path) -> None:
    root = tmp_path / "p"
    for name in ("sector=S%2F1", "sector=S02", "_tmp", ".hidden"):
        (root / name).mkdir(parents=True)
        pd.DataFrame({"y": [1.0]}).to_parquet(root / name / "part-1.parquet")
    pd.DataFrame({"y": [2.0]}).to_parquet(root / "sector=S02" / "part-0.parquet")
    (root / "_SUCCESS").write_text("")
    found = partitions(root, "sector")
    assert list(found) == ["S/1", "S02"]  # URL-decoded, sorted
    assert [p.name for p in found["S02"]] == ["part-0.parquet", "part-1.parquet"]
    with pytest.raises(DataValidationError, match="partitioned by 'sector', not 'chapter'"):
        partitions(root, "chapter")
    with pytest.raises(DataValidationError, match="no such folder"):
        partitions(tmp_path / "missing", "sector")
    (root / "sector=S03").mkdir()
    with pytest.raises(DataValidationError, match=r"no \.parquet file"):
        partitions(root, "sector")
    (root / "sector=S03" / "year=2019").mkdir()
    with pytest.raises(DataValidationError, match="nested partitions"):
        partitions(root, "sector")
    with pytest.raises(DataValidationError, match="no partition folder"):
        partitions(tmp_path / "p" / "_tmp", "sector")
