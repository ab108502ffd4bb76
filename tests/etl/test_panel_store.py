"""The partitioned panel: one Parquet file per sector, atomic, deterministic, bounded memory."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from ca_trade._io import output_root, write_parquet
from ca_trade.etl import PanelDataset, build_panel, read_panel
from ca_trade.etl.panel_store import panel_level, partition_path, write_panel
from ca_trade.exceptions import DataValidationError, UnsafePathError

COUNTRIES = ["CHN", "DEU", "KAZ", "KGZ", "RUS", "TJK", "TKM", "TUR", "USA", "UZB"]


def reconciled_chapters(chapters: int, years: range = range(2015, 2019)) -> pd.DataFrame:
    """Reconciled flows: every pair reported by both sides, by chapter and in total."""
    rng = np.random.default_rng(chapters)
    idx = pd.MultiIndex.from_product(
        [COUNTRIES, COUNTRIES, list(years), [f"{c:02d}" for c in range(1, chapters + 1)]],
        names=["exporter", "importer", "year", "sector"],
    ).to_frame(index=False)
    idx = idx[idx.exporter != idx.importer]
    idx["value_usd"] = np.where(rng.random(len(idx)) < 0.3, 0.0, rng.gamma(1.0, 1e6, len(idx)))
    idx = idx[idx.value_usd > 0]
    tot = idx.groupby(["exporter", "importer", "year"], as_index=False)["value_usd"].sum()
    rec = pd.concat([tot.assign(sector="TOTAL"), idx], ignore_index=True)
    rec["source"] = "both"
    rec["value_exporter"] = rec["value_importer_fob"] = rec["value_usd"]
    return rec.sort_values(["sector", "exporter", "importer", "year"], ignore_index=True)


def production(rec: pd.DataFrame) -> pd.DataFrame:
    exports = rec.groupby(["exporter", "year", "sector"], as_index=False)["value_usd"].sum()
    return exports.rename(columns={"exporter": "country", "value_usd": "production_usd"}).assign(
        production_usd=lambda d: 3.0 * d.production_usd
    )


def _visible(folder: Path) -> list[str]:
    """Names in `folder` but the lock file of its writers (kept by design, see etl.lock)."""
    return sorted(p.name for p in folder.iterdir() if p.name != ".ingest.lock")


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_out_writes_one_partition_per_sector_that_reads_back_as_the_frame(
    tmp_path: Path,
) -> None:
    rec = reconciled_chapters(4)
    prod = production(rec)
    frame = build_panel(rec, level="chapter", production=prod)
    written = build_panel(rec, level="chapter", production=prod, out=tmp_path / "panel")
    assert isinstance(written, PanelDataset)
    assert written.sectors == ("01", "02", "03", "04") and written.level == "chapter"
    assert written.n_rows == len(frame)
    assert sorted(p.name for p in (tmp_path / "panel").iterdir()) == [
        "sector=01",
        "sector=02",
        "sector=03",
        "sector=04",
    ]
    # the sector lives in the folder name only
    assert "sector" not in pd.read_parquet(written.partition("01")).columns
    pd.testing.assert_frame_equal(read_panel(tmp_path / "panel"), frame)
    pd.testing.assert_frame_equal(
        read_panel(tmp_path / "panel", sectors=["03"], columns=["exporter", "value_usd"]),
        frame.loc[frame.sector == "03", ["exporter", "sector", "value_usd"]].reset_index(drop=True),
    )
    assert frame.loc[frame.domestic, "value_usd"].notna().all()
    assert panel_level(tmp_path / "panel") == "chapter"


def test_pandas_pyarrow_and_polars_read_the_folder(tmp_path: Path) -> None:
    rec = reconciled_chapters(2)
    frame = build_panel(rec, level="chapter")
    build_panel(rec, level="chapter", out=tmp_path / "p")
    text_key = ds.partitioning(pa.schema([("sector", pa.string())]), flavor="hive")
    by_pandas = pd.read_parquet(tmp_path / "p", partitioning=text_key)
    by_polars = pl.read_parquet(
        tmp_path / "p", hive_partitioning=True, hive_schema={"sector": pl.String}
    ).to_pandas()
    by_pyarrow = ds.dataset(tmp_path / "p", format="parquet", partitioning=text_key).to_table()
    for got in (by_pandas, by_polars, by_pyarrow.to_pandas()):
        got = got.assign(sector=got["sector"].astype(str))[frame.columns]
        key = ["sector", "exporter", "importer", "year"]
        got = got.sort_values(key, ignore_index=True)
        pd.testing.assert_frame_equal(got, frame, check_categorical=False)
    # without a schema the readers infer the key (chapter 01 becomes 1); sections stay text
    assert sorted(pd.read_parquet(tmp_path / "p")["sector"].unique().tolist()) == [1, 2]


def test_same_inputs_same_bytes_and_a_rebuild_replaces_the_whole_panel(tmp_path: Path) -> None:
    rec = reconciled_chapters(3)
    build_panel(rec, level="chapter", out=tmp_path / "a")
    build_panel(rec, level="chapter", out=tmp_path / "b")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    # a rebuild with fewer sectors leaves no stale partition and no debris beside it
    build_panel(rec[rec.sector.isin(["TOTAL", "01"])], level="chapter", out=tmp_path / "a")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["sector=01"]
    assert _visible(tmp_path) == ["a", "b"]


def test_a_failed_build_leaves_the_old_panel(tmp_path: Path) -> None:
    rec = reconciled_chapters(2)
    build_panel(rec, level="chapter", out=tmp_path / "p")
    before = _digest(tmp_path / "p")

    def frames() -> Iterator[tuple[str, pd.DataFrame]]:
        yield "01", read_panel(tmp_path / "p", sectors=["01"])
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_panel(tmp_path / "p", "chapter", frames())
    assert _digest(tmp_path / "p") == before
    assert _visible(tmp_path) == ["p"]
    with pytest.raises(DataValidationError, match="cannot name a partition"):
        write_panel(tmp_path / "p", "chapter", [("../x", read_panel(tmp_path / "p"))])
    assert _digest(tmp_path / "p") == before


def test_a_crash_between_the_renames_is_recovered(tmp_path: Path) -> None:
    rec = reconciled_chapters(2)
    build_panel(rec, level="chapter", out=tmp_path / "p")
    before = _digest(tmp_path / "p")
    os.replace(tmp_path / "p", tmp_path / ".p.old-123")  # moved aside, new one never placed
    (tmp_path / ".p.tmp-123").mkdir()  # and the new one left half-written

    def failing() -> Iterator[tuple[str, pd.DataFrame]]:
        raise RuntimeError("killed")
        yield  # pragma: no cover

    with pytest.raises(RuntimeError, match="killed"):
        write_panel(tmp_path / "p", "chapter", failing())
    # the next build restored the old panel first; its own failure then left it in place
    assert _digest(tmp_path / "p") == before
    assert _visible(tmp_path) == ["p"]


def test_paths_as_users_type_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = reconciled_chapters(2)
    (tmp_path / "work" / "sub").mkdir(parents=True)
    (tmp_path / "data").mkdir()
    os.symlink(tmp_path / "data", tmp_path / "work" / "link")
    write_parquet(tmp_path / "data" / "rec.parquet", rec)
    monkeypatch.chdir(tmp_path / "work" / "sub")
    out = build_panel("../link/rec.parquet", level="chapter", out="../link/panel")
    assert out.path == (tmp_path / "data" / "panel").resolve()
    assert len(read_panel("../link/panel")) == out.n_rows


def test_read_panel_refuses_what_is_not_a_panel(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="not a partitioned panel"):
        read_panel(tmp_path)
    with pytest.raises(DataValidationError, match="not a partitioned panel"):
        read_panel(tmp_path / "absent")
    rec = reconciled_chapters(2)
    build_panel(rec, level="chapter", out=tmp_path / "p")
    with pytest.raises(DataValidationError, match=r"no sectors \['99'\]"):
        read_panel(tmp_path / "p", sectors=["99"])
    partition_path(tmp_path / "p", "02").unlink()
    with pytest.raises(DataValidationError, match=r"partition part-0\.parquet of 02 is missing"):
        read_panel(tmp_path / "p")


def test_writes_stay_inside_the_output_root(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", tmp_path / "root" / "escape")
    with output_root(tmp_path / "root"), pytest.raises(UnsafePathError):
        build_panel(reconciled_chapters(1), level="chapter", out=tmp_path / "root" / "escape" / "p")
    assert list((tmp_path / "outside").iterdir()) == [Path(tmp_path / "outside" / ".ingest.lock")]


_PEAK = textwrap.dedent(
    """
    import sys, tracemalloc
    from ca_trade.etl import build_panel
    tracemalloc.start()
    build_panel(sys.argv[1], level="chapter", out=sys.argv[2])
    print(tracemalloc.get_traced_memory()[1])
    """
)


@pytest.mark.slow
def test_memory_does_not_grow_with_the_number_of_sectors(tmp_path: Path) -> None:
    # One sector at a time from a Parquet file: 24 sectors peak at about what 6 do (Python
    # allocations, tracemalloc, in fresh processes; measured 1.27x), while the panel is 4x
    # (building it in memory instead: measured 2.8x).
    peaks = {}
    for n in (6, 24):
        rec = reconciled_chapters(n, years=range(2012, 2019))
        write_parquet(tmp_path / f"rec{n}.parquet", rec)
        run = subprocess.run(
            [
                sys.executable,
                "-c",
                _PEAK,
                str(tmp_path / f"rec{n}.parquet"),
                str(tmp_path / f"p{n}"),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        peaks[n] = int(run.stdout.split()[-1])
    assert read_panel(tmp_path / "p24").shape[0] == 4 * read_panel(tmp_path / "p6").shape[0]
    assert peaks[24] < 1.5 * peaks[6], peaks
