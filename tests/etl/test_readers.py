"""The processed dataset opens anywhere: pandas, pyarrow, polars, DuckDB and dask.

``flows/`` and ``controls/`` are hive-partitioned (``classification=HS/year=2019``); the keys
live in the folder names only, so every reader reconstructs them with one type. Each test
reads ``flows/``, ``controls/`` and the quarantine as the reader's own documentation says,
and checks the row counts against the manifest and the types (year an integer,
classification a string, value_usd a float). Readers that are not installed are skipped.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from ca_trade import sample
from ca_trade.etl import ingest
from ca_trade.exceptions import DataValidationWarning
from tests.etl.helpers import plus_row, write_plus

PARTS = ("flows", "controls")


def _ingest(raw: Path, out: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataValidationWarning)
        ingest(raw, out)
    return out


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real-layout dataset: two classifications, three years, World rows, a bad row."""
    root = tmp_path_factory.mktemp("real")
    rows = [
        plus_row(398, 156, "X", 100.5, year=2018),
        plus_row(398, 643, "M", 70, year=2019),
        plus_row(398, 0, "X", 900, year=2019),  # World: controls/
        plus_row(417, 398, "M", 12.25, year=2020, cls="S4"),  # SITC
        plus_row(417, 0, "M", 40, year=2020, cls="S4"),
        plus_row(398, 156, "X", -1, year=2019, cmd="01"),  # quarantined
    ]
    write_plus(root / "raw" / "comtrade.csv", rows)
    return _ingest(root / "raw", root / "processed")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    sample.generate(root / "raw", seed=7, years=[2018, 2019])
    return _ingest(root / "raw", root / "processed")


@pytest.fixture(params=["real", "synthetic"])
def processed(request: pytest.FixtureRequest) -> Path:
    return Path(request.getfixturevalue(request.param))


def _manifest_rows(processed: Path, part: str) -> int:
    files = json.loads((processed / "manifest.json").read_text())["dataset"]
    return sum(v["rows"] for k, v in files.items() if k.startswith(f"{part}/"))


def _years(processed: Path, part: str) -> set[int]:
    return {int(p.name.split("=")[1]) for p in (processed / part).glob("*/year=*")}


def _check_pandas(frame: pd.DataFrame, processed: Path, part: str) -> None:
    assert len(frame) == _manifest_rows(processed, part)
    assert frame["value_usd"].dtype == "float64"
    assert pd.api.types.is_integer_dtype(frame["year"])
    assert pd.api.types.is_string_dtype(frame["classification"])
    assert set(frame["year"]) == _years(processed, part)
    assert all(isinstance(v, str) for v in frame["reporter"])


def test_pandas_reads_the_folder(processed: Path) -> None:
    """``pd.read_parquet(folder)``: pandas gives hive keys as categoricals of the right type."""
    for part in PARTS:
        frame = pd.read_parquet(processed / part)
        assert isinstance(frame["year"].dtype, pd.CategoricalDtype)
        assert pd.api.types.is_integer_dtype(frame["year"].cat.categories)
        assert pd.api.types.is_string_dtype(frame["classification"].cat.categories)
        plain = frame.astype({"year": "int32", "classification": "str"})
        _check_pandas(plain, processed, part)


def test_pandas_with_the_partition_schema_gives_plain_columns(processed: Path) -> None:
    """The documented way to get ``year`` as int32 and ``classification`` as str directly."""
    keys = ds.partitioning(
        pa.schema([("classification", pa.string()), ("year", pa.int32())]), flavor="hive"
    )
    for part in PARTS:
        frame = pd.read_parquet(processed / part, partitioning=keys)
        assert frame["year"].dtype == "int32"
        _check_pandas(frame, processed, part)


def test_pyarrow_dataset(processed: Path) -> None:
    for part in PARTS:
        table = ds.dataset(processed / part, partitioning="hive").to_table()
        assert table.num_rows == _manifest_rows(processed, part)
        assert table.schema.field("year").type == pa.int32()
        assert table.schema.field("classification").type == pa.string()
        assert table.schema.field("value_usd").type == pa.float64()
        # Partition pruning works from the folder names.
        first = min(_years(processed, part))
        pruned = ds.dataset(processed / part, partitioning="hive").to_table(
            filter=ds.field("year") == first
        )
        assert 0 < pruned.num_rows <= table.num_rows


def test_polars(processed: Path) -> None:
    pl = pytest.importorskip("polars")
    for part in PARTS:
        frame = pl.scan_parquet(processed / part, hive_partitioning=True).collect()
        assert frame.height == _manifest_rows(processed, part)
        assert frame.schema["year"].is_integer()
        assert frame.schema["classification"] == pl.String
        assert frame.schema["value_usd"] == pl.Float64
        assert set(frame["year"].to_list()) == _years(processed, part)
        assert pl.read_parquet(processed / part).height == frame.height  # folder: hive on


def test_duckdb(processed: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    for part in PARTS:
        glob = (processed / part / "**" / "*.parquet").as_posix()
        rows = duckdb.sql(
            "SELECT typeof(year), typeof(classification), typeof(value_usd), count(*) "
            f"FROM read_parquet('{glob}', hive_partitioning = true) GROUP BY ALL"
        ).fetchall()
        assert {r[:3] for r in rows} == {("BIGINT", "VARCHAR", "DOUBLE")}
        assert sum(r[3] for r in rows) == _manifest_rows(processed, part)


def test_dask(processed: Path) -> None:
    dd = pytest.importorskip("dask.dataframe")
    for part in PARTS:
        frame = dd.read_parquet(processed / part).compute()
        plain = frame.astype({"year": "int32", "classification": "str"})
        _check_pandas(plain.reset_index(drop=True), processed, part)


@pytest.mark.parametrize(
    "read",
    [
        lambda p: pd.read_parquet(p),
        lambda p: pq.read_table(p).to_pandas(),
        lambda p: pytest.importorskip("polars").read_parquet(p).to_pandas(),
    ],
    ids=["pandas", "pyarrow", "polars"],
)
def test_the_quarantine_reads_anywhere(
    processed: Path, read: Callable[[Path], pd.DataFrame]
) -> None:
    frame = read(processed / "quarantine" / "quarantine.parquet")
    assert len(frame) == _manifest_rows(processed, "quarantine")
    assert list(frame.columns) == ["file", "line", "column", "value", "reason", "rows"]
    assert pd.api.types.is_integer_dtype(frame["rows"])


def test_files_hold_no_partition_keys(processed: Path) -> None:
    """The root of the old failure: keys stored in the folder names *and* in the files."""
    for part in PARTS:
        for path in (processed / part).rglob("*.parquet"):
            names = pq.read_schema(path).names
            assert "classification" not in names and "year" not in names, path


def test_the_synthetic_flag_is_in_the_manifest_and_every_file(real: Path, synthetic: Path) -> None:
    for processed, flag in ((real, False), (synthetic, True)):
        manifest: dict[str, Any] = json.loads((processed / "manifest.json").read_text())
        assert manifest["synthetic"] is flag
        for rel in manifest["dataset"]:
            meta = pq.read_metadata(processed / rel).metadata or {}
            assert (meta.get(b"ca_trade.synthetic") == b"true") is flag, rel


def _shell(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``ca-trade ARGS`` in ``cwd`` as a shell would."""
    exe = Path(sys.executable).with_name("ca-trade")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "ca_trade.cli"]
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.mark.slow
def test_the_documented_commands_give_a_folder_pandas_reads(tmp_path: Path) -> None:
    """``ca-trade sample``, ``ca-trade ingest`` and ``pd.read_parquet`` with relative paths."""
    for args in (
        ("sample", "--out", "raw", "--years", "2018-2019"),
        ("ingest", "raw", "processed"),
    ):
        proc = _shell(tmp_path, *args)
        assert proc.returncode == 0, proc.stderr
    script = (
        "import pandas as pd, pyarrow.dataset as ds\n"
        "for part in ('flows', 'controls'):\n"
        "    frame = pd.read_parquet(f'processed/{part}')\n"
        "    table = ds.dataset(f'processed/{part}', partitioning='hive').to_table()\n"
        "    assert len(frame) == table.num_rows > 0, part\n"
        "    print(part, len(frame), sorted(frame['year'].astype(int).unique().tolist()))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["flows", "controls"]
    assert all(line.endswith("[2018, 2019]") for line in lines)
    assert int(lines[0].split()[1]) == _manifest_rows(tmp_path / "processed", "flows")
