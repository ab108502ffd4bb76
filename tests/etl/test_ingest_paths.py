"""ingest with the paths users type: relative, ``..``, symlinks, from the library and the CLI.

Also: an ingest that writes no flow rows says why (``report.problem``, a warning, exit status
1 in the CLI); nothing empty is ever cached; raw and processed folders may not be the same or
nest.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import polars as pl
import pytest

from ca_trade.etl import IngestReport, ingest
from ca_trade.exceptions import DataValidationError, DataValidationWarning
from tests.etl.helpers import plus_row, write_plus

ingest_mod = importlib.import_module("ca_trade.etl.ingest")

ROWS = [plus_row(398, 156, "X", i, cmd=f"{i:04d}") for i in range(1, 8)] + [
    plus_row(398, 0, "X", 900),  # World: controls
    plus_row(398, 156, "X", -1, cmd="9999"),  # quarantined
    plus_row(417, 398, "M", 3, year=2018),
]


def _run(raw: str | Path, out: str | Path, **kw: object) -> IngestReport:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataValidationWarning)
        return ingest(raw, out, **kw)  # type: ignore[arg-type]


def _dataset(root: Path) -> dict[str, bytes]:
    """Every file of the dataset (not the per-file cache), by relative name."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "_staging" not in p.parts and not p.name.startswith(".")
    }


def _raw(root: Path) -> Path:
    raw = root / "data" / "raw"
    write_plus(raw / "kaz.csv", ROWS)
    write_plus(raw / "sub" / "kgz.tsv.gz", [plus_row(417, 156, "X", 5)], bulk=True)
    return raw


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("ca-trade")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ca_trade.cli"]


@pytest.fixture
def absolute(tmp_path: Path) -> dict[str, bytes]:
    """The dataset ingested with absolute paths: what every other spelling must give."""
    raw = _raw(tmp_path / "abs")
    rep = _run(raw, tmp_path / "abs" / "processed")
    assert rep.rows_written == 9 and rep.balanced()
    return _dataset(tmp_path / "abs" / "processed")


def test_relative_paths_give_the_absolute_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, absolute: dict[str, bytes]
) -> None:
    _raw(tmp_path / "rel")
    monkeypatch.chdir(tmp_path / "rel")
    rep = _run("data/raw", "data/processed")
    assert rep.rows_written == 9
    assert rep.processed_dir == (tmp_path / "rel" / "data" / "processed").resolve()
    assert _dataset(tmp_path / "rel" / "data" / "processed") == absolute
    flows = pl.read_parquet("data/processed/flows/**/*.parquet")
    assert flows.height == 9
    assert not list((tmp_path / "rel" / "data" / "processed" / "_staging").rglob("data"))
    # A second run with the absolute spelling trusts nothing empty: same rows, unchanged.
    again = _run(tmp_path / "rel" / "data" / "raw", tmp_path / "rel" / "data" / "processed")
    assert again.skipped and again.rows_written == 9


def test_dotdot_paths_give_the_absolute_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, absolute: dict[str, bytes]
) -> None:
    _raw(tmp_path / "dd")
    (tmp_path / "dd" / "etl").mkdir()
    monkeypatch.chdir(tmp_path / "dd" / "etl")
    rep = _run("../data/x/../raw", "../etl/../etl/p")
    assert rep.rows_written == 9 and rep.rows_quarantined == 1
    assert _dataset(tmp_path / "dd" / "etl" / "p") == absolute


def test_symlinked_folders_give_the_absolute_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, absolute: dict[str, bytes]
) -> None:
    raw = _raw(tmp_path / "real")
    (tmp_path / "real" / "out").mkdir()
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "raw").symlink_to(raw, target_is_directory=True)
    (tmp_path / "links" / "out").symlink_to(tmp_path / "real" / "out", target_is_directory=True)
    monkeypatch.chdir(tmp_path / "links")
    rep = _run("raw", "out/processed")
    assert rep.rows_written == 9
    assert _dataset(tmp_path / "real" / "out" / "processed") == absolute


@pytest.mark.parametrize("spelling", ["relative", "dotdot", "symlink"])
def test_cli_ingest_with_user_paths(
    tmp_path: Path, spelling: str, absolute: dict[str, bytes]
) -> None:
    _raw(tmp_path / "w")
    cwd = tmp_path / "w"
    raw, out = "data/raw", "data/processed"
    if spelling == "dotdot":
        (cwd / "etl").mkdir()
        cwd, raw, out = cwd / "etl", "../data/raw/../raw", "../etl/../etl/p"
    elif spelling == "symlink":
        (tmp_path / "link").symlink_to(cwd / "data", target_is_directory=True)
        cwd, raw, out = tmp_path, "link/raw", "link/processed"
    proc = subprocess.run(
        [*_cli(), "--quiet", "ingest", raw, out],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "rows read 11, written 9" in proc.stdout
    assert _dataset((cwd / out).resolve()) == absolute


def test_cli_quick_start_with_the_sample(tmp_path: Path) -> None:
    """The issue's reproduction: sample, then ingest into a relative folder."""
    for args in (
        ["sample", "--out", "raw", "--years", "2018-2019"],
        ["ingest", "raw", "processed"],
    ):
        proc = subprocess.run(
            [*_cli(), "--quiet", *args], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stderr
    flows = pl.read_parquet(tmp_path / "processed" / "flows" / "**" / "*.parquet")
    assert flows.height > 1000
    assert "written 0" not in proc.stdout


def test_a_reader_that_reads_nothing_cannot_pass_and_is_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _raw(tmp_path)
    out = tmp_path / "processed"
    real = ingest_mod.stage_file

    def reads_nothing(path: Path, rel: str, info: object, codes: object, stage: Path) -> None:
        stage.mkdir(parents=True)  # a stage without a single row, as the relative-path bug made

    monkeypatch.setattr(ingest_mod, "stage_file", reads_nothing)
    with pytest.warns(DataValidationWarning) as caught:
        rep = ingest(raw, out)
    assert any("no rows were written" in str(w.message) for w in caught)
    assert rep.balanced() and rep.rows_written == 0
    assert rep.problem is not None and "record_count_mismatch 11" in rep.problem
    assert {f.file: (f.status, f.rows_read, f.rows_quarantined) for f in rep.files} == {
        "kaz.csv": ("quarantined", 10, 10),
        "sub/kgz.tsv.gz": ("quarantined", 1, 1),
    }
    q = pl.read_parquet(out / "quarantine" / "quarantine.parquet")
    assert set(q["reason"]) == {"record_count_mismatch"}
    assert "0 records from 10 data lines" in q.filter(pl.col("file") == "kaz.csv")["value"].item()
    assert [p.name for p in (out / "_staging").iterdir()] == []  # no stage kept
    monkeypatch.setattr(ingest_mod, "stage_file", real)
    again = _run(raw, out)  # nothing of the failed run was cached
    assert not again.skipped and again.problem is None
    assert [f.status for f in again.files] == ["ingested", "ingested"]
    assert again.rows_written == 9 and again.rows_quarantined == 1


def test_only_world_rows_say_why_nothing_was_written(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_plus(raw / "w.csv", [plus_row(398, 0, "X", i, cmd=f"{i:02d}") for i in range(1, 4)])
    with pytest.warns(DataValidationWarning, match=r"no rows were written.*partner_world 3"):
        rep = ingest(raw, tmp_path / "out")
    assert rep.problem is not None
    assert re.search(r"partner_world 3.*controls/", rep.problem)
    assert rep.rows_filtered == {"partner_world": 3}
    controls = pl.read_parquet(tmp_path / "out" / "controls" / "**" / "*.parquet")
    assert controls.height == 3  # the dataset was written, so the reason can be inspected
    again = _run(raw, tmp_path / "out")  # an unchanged re-run says it again
    assert again.skipped and again.problem == rep.problem


def test_all_quarantined_names_the_reasons(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_plus(raw / "bad.csv", [plus_row(398, 987, "X", 1), plus_row(398, 156, "X", -3)])
    rep = _run(raw, tmp_path / "out")
    assert rep.problem is not None
    assert re.search(r"negative_value 1, unknown_partner_code 1", rep.problem)


def test_cli_exits_non_zero_when_nothing_is_written(tmp_path: Path) -> None:
    write_plus(tmp_path / "raw" / "w.csv", [plus_row(398, 0, "X", 7)])
    proc = subprocess.run(
        [*_cli(), "ingest", "raw", "out"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("ca-trade: error: ")
    assert "partner_world 1" in proc.stderr.strip().splitlines()[-1]
    assert "rows read 1, written 0" in proc.stdout


def test_no_comtrade_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "README.txt").write_text("notes\n")
    rep = _run(tmp_path / "raw", tmp_path / "out")
    assert rep.problem is not None and "found no Comtrade file" in rep.problem
    proc = subprocess.run(
        [*_cli(), "ingest", "raw", "out2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and "found no Comtrade file" in proc.stderr


@pytest.mark.parametrize("where", ["same", "processed_inside_raw", "raw_inside_processed"])
def test_nested_raw_and_processed_folders_are_refused(tmp_path: Path, where: str) -> None:
    raw = tmp_path / "data"
    write_plus(raw / "a.csv", [plus_row(398, 156, "X", 1)])
    out = {
        "same": raw,
        "processed_inside_raw": raw / "processed",
        "raw_inside_processed": tmp_path,
    }[where]
    with pytest.raises(DataValidationError, match="must not"):
        _run(raw, out)
    assert not (out / "manifest.json").exists()
    # Same folder spelt differently is the same folder.
    os.symlink(raw, tmp_path / "alias")
    with pytest.raises(DataValidationError, match="must not"):
        _run(tmp_path / "alias", raw / ".." / "data")


def test_processed_in_a_hidden_folder_of_raw_is_allowed(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_plus(raw / "a.csv", [plus_row(398, 156, "X", 1)])
    assert _run(raw, raw / "_out").rows_written == 1
