"""The command line as a shell calls it: ``estimate --split`` and ``--executor`` (ingest too)."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from ca_trade.cli import EXIT_OK, EXIT_USAGE, main
from ca_trade.report.stored import load_results
from tests.estimate.test_split import ESTIMATED, FORMULA, sector_panel, write_partitioned


def _command() -> list[str]:
    exe = Path(sys.executable).with_name("ca-trade")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ca_trade.cli"]


def _shell(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_command(), "--quiet", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the sector panel as one file and as partitions (``sector=<code>/``)."""
    root = tmp_path_factory.mktemp("cli_split")
    panel = sector_panel()
    panel.to_parquet(root / "panel.parquet", index=False)
    write_partitioned(panel, root)  # root/panel/sector=S01/part-0.parquet ...
    return root


def _alone(panel: pd.DataFrame, sector: str) -> ct.estimate.GravityResults:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = panel[panel["sector"] == sector].reset_index(drop=True)
        return ct.ppml(FORMULA, rows)


def test_estimate_by_sector_saves_each_sector_and_a_table(project: Path) -> None:
    out, executor = "est", "processes"  # the partitioned test below runs serially
    proc = _shell(
        project,
        "estimate",
        "panel.parquet",
        "--formula",
        FORMULA,
        "--split",
        "sector",
        "--executor",
        executor,
        "--json",
        out,
        "--table",
        f"{out}/table.md",
    )
    assert proc.returncode == EXIT_OK, proc.stderr
    assert "Split by       sector: 3 estimated, 3 failed" in proc.stdout
    assert "sector=S04:" in proc.stdout
    record = json.loads((project / out / "split.json").read_text())
    assert record["groups"] == ESTIMATED and sorted(record["failures"]) == ["S04", "S05", "S06"]
    panel = pd.read_parquet(project / "panel.parquet")
    for sector in ESTIMATED:
        saved = load_results(project / out / f"{sector}.json")
        alone = _alone(panel, sector)
        np.testing.assert_array_equal(saved.params.to_numpy(), alone.params.to_numpy())
        np.testing.assert_array_equal(saved.bse.to_numpy(), alone.bse.to_numpy())
    table = (project / out / "table.md").read_text()
    assert all(s in table for s in ESTIMATED) and "Not estimated (sector): S04" in table


def test_a_partitioned_folder_through_dot_dot_and_a_link(project: Path) -> None:
    (project / "sub").mkdir(exist_ok=True)
    (project / "hive_link").symlink_to(project / "panel")
    proc = _shell(
        project / "sub",
        "estimate",
        "../hive_link",  # '..' and a link to the folder at once
        "--formula",
        FORMULA,
        "--split",
        "sector",
        "--executor",
        "serial",
        "--json",
        "../from_hive",
    )
    assert proc.returncode == EXIT_OK, proc.stderr
    record = json.loads((project / "from_hive" / "split.json").read_text())
    assert record["groups"] == ESTIMATED
    assert record["provenance"]["split"]["source"] == str((project / "panel").resolve())


def test_progress_shows_a_line_per_finished_sector(project: Path) -> None:
    """On a terminal (a pseudo-terminal here), one progress line per sector."""
    parent, child = pty.openpty()
    try:
        proc = subprocess.run(
            [*_command(), "estimate", "panel.parquet", "--formula", FORMULA, "--split", "sector"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=child,
            text=True,
            check=False,
        )
        os.close(child)
        chunks = []
        while True:
            try:
                chunk = os.read(parent, 4096)
            except OSError:  # the terminal closed: everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(parent)
    err = b"".join(chunks).decode()
    assert proc.returncode == EXIT_OK, err
    assert "by sector on processes" in err
    lines = [ln for ln in err.splitlines() if ln.strip().startswith("sector ")]
    assert len(lines) == 6, err  # every sector, estimated or not
    for sector in ["S01", "S02", "S03", "S04", "S05", "S06"]:
        assert sum(sector in ln for ln in lines) == 1, err


def test_executor_mistakes_are_usage_errors(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    estimate = ["estimate", "panel.parquet", "--formula", FORMULA]
    assert main([*estimate, "--executor", "processes"]) == EXIT_USAGE
    assert "add --split" in capsys.readouterr().err
    assert main([*estimate, "--split", "sector", "--executor", "threads"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "'threads'" in err and "tcp://" in err and len(err.strip().splitlines()) == 1
    assert main(["ingest", "raw", "processed", "--executor", "1"]) == EXIT_USAGE
    assert "--executor" in capsys.readouterr().err


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "_staging" not in p.parts
    }


def test_ingest_on_processes_writes_the_bytes_of_a_serial_ingest(tmp_path: Path) -> None:
    ct.sample.generate(tmp_path / "raw", seed=4, years=range(2018, 2020))
    (tmp_path / "raw" / "broken.csv").write_text("reporterCode,partnerCode\r\n398,156\r\n")
    (tmp_path / "sub").mkdir()
    serial = _shell(tmp_path, "ingest", "raw", "serial")
    procs = _shell(tmp_path, "ingest", "raw", "./sub/../procs", "--executor", "processes")
    assert serial.returncode == EXIT_OK, serial.stderr
    assert procs.returncode == EXIT_OK, procs.stderr
    assert _digest(tmp_path / "serial") == _digest(tmp_path / "procs")
    assert "quarantined" in procs.stdout
