"""One writer at a time: concurrent ingests, the lock, and a manifest checked against the disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import polars as pl
import pytest

from ca_trade.etl import IngestReport, ingest
from ca_trade.etl.lock import dataset_lock
from ca_trade.etl.store import verify_dataset
from ca_trade.exceptions import DatasetBusyError, DataValidationWarning
from tests.conftest import REPO_ROOT
from tests.etl.helpers import plus_row, write_plus


def _run(raw: Path, out: Path, **kw: object) -> IngestReport:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataValidationWarning)
        return ingest(raw, out, **kw)  # type: ignore[arg-type]


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("ca-trade")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ca_trade.cli"]


def _raw_dirs(root: Path, n: int) -> list[Path]:
    """``n`` raw folders with different files and rows (file names tell them apart)."""
    dirs = []
    for k in range(n):
        raw = root / f"raw{k}"
        for j in range(3):
            rows = [
                plus_row(398, 156, "X", 1000 * k + i, cmd=f"{i:04d}", year=2010 + j + k)
                for i in range(1, 40 + 25 * k)
            ]
            rows.append(plus_row(398, 0, "M", 5, year=2010 + j))
            write_plus(raw / f"r{k}_{j}.csv", rows)
        dirs.append(raw)
    return dirs


def _flow_keys(frame: pl.DataFrame) -> list[tuple[object, ...]]:
    return sorted(frame.select("source_file", "source_line", "value_usd").rows())


_WORKER = textwrap.dedent(
    """
    import json, sys, warnings
    from ca_trade.etl import ingest
    warnings.simplefilter("ignore")
    rep = ingest(sys.argv[1], sys.argv[2])
    print(json.dumps({"written": rep.rows_written, "balanced": rep.balanced(),
                      "files": sorted(f.file for f in rep.files)}))
    """
)


@pytest.mark.slow
def test_concurrent_ingests_never_corrupt_the_dataset(tmp_path: Path) -> None:
    """The hostile tester's race: several ingests of different inputs into one folder."""
    raws = _raw_dirs(tmp_path, 3)
    expected = {}
    for raw in raws:  # what each input gives when ingested alone
        rep = _run(raw, tmp_path / f"alone_{raw.name}")
        flows = pl.read_parquet(tmp_path / f"alone_{raw.name}" / "flows" / "**" / "*.parquet")
        expected[raw.name] = (rep.rows_written, _flow_keys(flows))
    out = tmp_path / "processed"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    for _round in range(4):
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _WORKER, str(raw), str(out)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for raw in (raws if _round % 2 == 0 else raws[::-1])
        ]
        results = []
        for p in procs:
            stdout, stderr = p.communicate(timeout=300)
            assert p.returncode == 0, stderr
            results.append(json.loads(stdout.strip().splitlines()[-1]))
        assert all(r["balanced"] for r in results)
        manifest = json.loads((out / "manifest.json").read_text())
        assert verify_dataset(out, manifest) is None  # the disk matches the manifest
        winner = Path(sorted(manifest["files"])[0]).name.split("_")[0].replace("r", "raw")
        flows = pl.read_parquet(out / "flows" / "**" / "*.parquet")
        assert manifest["totals"]["rows_written"] == flows.height == expected[winner][0]
        assert _flow_keys(flows) == expected[winner][1]  # exactly the rows of that input
        again = _run(tmp_path / winner, out)
        assert again.skipped and again.rows_written == expected[winner][0]


def test_a_second_ingest_fails_clearly_without_waiting(tmp_path: Path) -> None:
    raw = _raw_dirs(tmp_path, 1)[0]
    out = tmp_path / "processed"
    with dataset_lock(out):
        with pytest.raises(DatasetBusyError, match=rf"pid {os.getpid()}.*started"):
            _run(raw, out, wait=False)
        proc = subprocess.run(
            [*_cli(), "ingest", str(raw), str(out), "--no-wait"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 1
        assert f"pid {os.getpid()}" in proc.stderr and "--no-wait" not in proc.stdout
    assert not (out / "manifest.json").exists()
    assert _run(raw, out).rows_written > 0


def test_a_second_ingest_waits_with_a_message_then_runs(tmp_path: Path) -> None:
    raw = _raw_dirs(tmp_path, 1)[0]
    out = tmp_path / "processed"
    with dataset_lock(out):
        proc = subprocess.Popen(
            [*_cli(), "ingest", str(raw), str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        line = proc.stderr.readline()  # blocks until the waiting message
        assert "waiting" in line and f"pid {os.getpid()}" in line
        time.sleep(0.5)
        assert proc.poll() is None and not (out / "manifest.json").exists()
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "rows read" in stdout and (out / "manifest.json").exists()


@pytest.mark.parametrize("damage", ["delete", "truncate", "extra"])
def test_a_manifest_that_does_not_match_the_disk_is_not_trusted(
    tmp_path: Path, damage: str
) -> None:
    raw = _raw_dirs(tmp_path, 1)[0]
    out = tmp_path / "processed"
    first = _run(raw, out)
    flows_before = _flow_keys(pl.read_parquet(out / "flows" / "**" / "*.parquet"))
    parts = sorted((out / "flows").rglob("*.parquet"))
    if damage == "delete":
        parts[0].unlink()
    elif damage == "truncate":  # also damages the staged file it is linked to
        parts[1].write_bytes(parts[1].read_bytes()[:100])
    else:
        folder = out / "flows" / "classification=HS" / "year=1999"
        folder.mkdir()
        (folder / "part-0.parquet").write_bytes(parts[0].read_bytes())
    manifest = json.loads((out / "manifest.json").read_text())
    assert verify_dataset(out, manifest) is not None
    with pytest.warns(DataValidationWarning) as caught:
        again = ingest(raw, out)
    assert any("does not match its manifest" in str(w.message) for w in caught)
    assert not again.skipped
    assert again.rows_written == first.rows_written
    assert _flow_keys(pl.read_parquet(out / "flows" / "**" / "*.parquet")) == flows_before
    assert verify_dataset(out, json.loads((out / "manifest.json").read_text())) is None


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_a_damaged_cached_stage_is_staged_again(tmp_path: Path, damage: str) -> None:
    raw = _raw_dirs(tmp_path, 1)[0]
    out = tmp_path / "processed"
    first = _run(raw, out)
    staged = sorted((out / "_staging").rglob("flows/**/part-*.parquet"))[0]
    if damage == "delete":
        staged.unlink()
    else:
        staged.write_bytes(b"PAR1")
    write_plus(raw / "new.csv", [plus_row(417, 156, "X", 1)])
    with pytest.warns(DataValidationWarning, match="staged again"):
        again = ingest(raw, out)
    assert again.rows_written == first.rows_written + 1
    assert sorted(f.status for f in again.files).count("ingested") == 2
