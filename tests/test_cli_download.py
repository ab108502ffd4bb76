"""`ca-trade download` as a shell calls it: progress lines, exit codes, the key, kill and resume."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ca_trade.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from ca_trade.etl import download
from ca_trade.etl.sidecar import read_sidecar
from tests.etl.comtrade_server import BulkFile, FakeComtrade, fixture

KEY = "TESTKEY-0123456789abcdef"
CLI = str(Path(sys.executable).parent / "ca-trade")


@pytest.fixture
def server() -> Iterator[FakeComtrade]:
    records = json.loads(fixture("data_synthetic_kaz_kgz_2019.json"))["data"]
    with FakeComtrade(records=records, key=KEY) as srv:
        yield srv


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COMTRADE_API_KEY",)}
    env.pop("CA_TRADE_COMTRADE_URL", None)
    env.update(extra)
    return env


def _cli(
    *args: str, env: dict[str, str] | None = None, pre: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *pre, "download", *args],
        capture_output=True,
        text=True,
        env=env or _env(),
        timeout=120,
    )


def _fast(srv: FakeComtrade) -> list[str]:
    return ["--base-url", srv.url, "--rate", "60000", "--backoff", "0.01"]


def test_one_line_per_piece_and_a_summary(server: FakeComtrade, tmp_path: Path) -> None:
    out = tmp_path / "raw"
    res = _cli(str(out), "--reporters", "KAZ,KGZ", "--years", "2018-2019", *_fast(server))
    assert res.returncode == EXIT_OK, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 8 + 1  # 2 reporters x 2 years x 2 flows, then the summary
    assert lines[-1].startswith("preview: 8 pieces downloaded")
    assert lines[-1].endswith("24 records in " + str(out) + " (8 requests)")
    assert "KAZ 2018 M TOTAL, all partners: 0 records" in res.stdout  # empty, but known
    assert "-> api/KAZ/KAZ398_A2019_M_TOTAL_all.csv" in res.stdout
    again = _cli(str(out), "--reporters", "KAZ,KGZ", "--years", "2018-2019", *_fast(server))
    assert sum(line.startswith("complete") for line in again.stdout.splitlines()) == 8
    quiet = _cli(str(out), "--reporters", "KAZ", "--years", "2019", *_fast(server),
                 pre=("--quiet",))  # fmt: skip
    assert quiet.returncode == EXIT_OK and len(quiet.stdout.splitlines()) == 1


def test_usage_and_data_errors_exit_2_and_1(server: FakeComtrade, tmp_path: Path) -> None:
    res = _cli(str(tmp_path), "--reporters", "KAZ,QQQ", "--years", "2019", *_fast(server))
    assert res.returncode == EXIT_USAGE
    assert res.stderr.startswith("ca-trade: error: ") and "QQQ" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    res = _cli(str(tmp_path), "--reporters", "KAZ", "--years", "2019", "--access", "api")
    assert res.returncode == EXIT_USAGE and "COMTRADE_API_KEY" in res.stderr
    server.fault("error_field", "/preview/")
    res = _cli(str(tmp_path), "--reporters", "KAZ", "--years", "2019", *_fast(server))
    assert res.returncode == EXIT_ERROR
    assert "1 of 2 pieces failed" in res.stderr and "Invalid reporterCode" in res.stderr
    assert res.stdout.splitlines()[0].startswith("failed")


def test_the_key_reaches_no_file_and_no_output(server: FakeComtrade, tmp_path: Path) -> None:
    records = [r for r in server.records if r["reporterCode"] == 417]
    header = "\t".join(
        ["reporterCode", "flowCode", "partnerCode", "cmdCode", "primaryValue", "refYear",
         "classificationCode"]
    )  # fmt: skip
    lines = [header] + [
        f"417\t{r['flowCode']}\t{r['partnerCode']}\t{r['cmdCode']}\t{r['primaryValue']}\t2019\tH5"
        for r in records
    ]
    server.bulk = [BulkFile(417, "2019", "H5", gzip.compress("\n".join(lines).encode()), "k1")]
    env = _env(COMTRADE_API_KEY=KEY)
    out = tmp_path / "raw"
    runs = [
        _cli(str(out), "--reporters", "KAZ,KGZ", "--years", "2019", *_fast(server), env=env),
        _cli(str(out), "--reporters", "KGZ", "--years", "2019", "--access", "bulk",
             *_fast(server), env=env),
    ]  # fmt: skip
    assert [r.returncode for r in runs] == [EXIT_OK, EXIT_OK], runs[-1].stderr
    server.fault("echo_key", "/data/")
    runs.append(
        _cli(str(tmp_path / "b"), "--reporters", "KAZ", "--years", "2019", *_fast(server),
             env=env, pre=("--debug",))
    )  # fmt: skip
    assert runs[-1].returncode == EXIT_ERROR and "<hidden>" in runs[-1].stderr
    ingest = subprocess.run(
        [CLI, "ingest", str(tmp_path / "raw"), str(tmp_path / "processed")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert ingest.returncode == EXIT_OK, ingest.stderr
    assert all(e.key_ok for e in server.log if e.path.startswith(("/data/", "/bulk/")))
    for res in [*runs, ingest]:
        assert KEY not in res.stdout and KEY not in res.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 10
    for path in written:
        data = path.read_bytes()
        assert KEY.encode() not in (gzip.decompress(data) if path.suffix == ".gz" else data)


def _download_args(srv: FakeComtrade) -> list[str]:
    # max 10 records a call: every piece is split into small partner groups (about 250 calls)
    return ["--reporters", "KAZ,KGZ", "--years", "2019", "--max-records", "10", *_fast(srv)]


def _outputs(out: Path) -> dict[str, Any]:
    files: dict[str, Any] = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = path.relative_to(out).as_posix()
        if rel.endswith(".meta.json"):
            side = json.loads(path.read_text())
            side.pop("retrieved")
            side["url"] = side["url"].split("?", 1)[1]  # the port differs between servers
            files[rel] = side
        else:
            files[rel] = path.read_bytes()
    return files


def test_killed_midway_then_resumed_equals_an_uninterrupted_run(
    server: FakeComtrade, tmp_path: Path
) -> None:
    whole = tmp_path / "whole"
    download(whole, reporters=["KAZ", "KGZ"], years=[2019], max_records=10, key="",
             base_url=server.url, requests_per_minute=60_000.0)  # fmt: skip
    n_total = len(server.log)
    assert n_total > 100
    server.log.clear()
    server.block_after = 40  # the 41st request hangs until the test lets it go
    out = tmp_path / "killed"
    child = subprocess.Popen(
        [CLI, "download", str(out), *_download_args(server)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(server.log) < 41 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(server.log) == 41, "the download did not reach its 41st request"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()  # type: ignore[union-attr]
    child.stderr.close()  # type: ignore[union-attr]
    server.release()
    server.block_after = None
    done = [read_sidecar(p.with_suffix("")) for p in out.rglob("*.csv.meta.json")]
    assert len(done) == 40  # every answered request is a complete piece, nothing more
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # no half-written file
    finished = [d["query"] for d in done if d is not None]
    server.log.clear()
    res = _cli(str(out), *_download_args(server))
    assert res.returncode == EXIT_OK, res.stderr
    asked = [e.params for e in server.log]
    assert len(asked) == n_total - 40
    assert not [q for q in asked if q in finished]  # no finished piece was asked again
    assert _outputs(out) == _outputs(whole)
