"""Executors: serial, local processes and a real Dask cluster give the same results.

The Dask tests share one ``LocalCluster`` (two worker processes; the session fixture
``dask_client`` in ``tests/conftest.py``) and compare each consumer with its serial run: split
estimation and GE draws to the last digit, the ingest byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
import ca_trade.ge as ge
from ca_trade._io import atomic_write, output_root
from ca_trade.exceptions import SpecificationError, UnsafePathError
from ca_trade.executors import (
    Dask,
    Executor,
    Processes,
    Serial,
    available_cores,
    describe,
    executor_for,
)
from tests.estimate.test_split import (
    ESTIMATED,
    FORMULA,
    assert_identical,
    fit_quietly,
    sector_panel,
    write_partitioned,
)


def _pid_of(item: int) -> tuple[int, int]:
    return item, os.getpid()


def _scaled(factor: float, item: float) -> float:
    return factor * item


def _write(path: str) -> str:
    return str(atomic_write(Path(path), "x"))


def _boom(item: int) -> int:
    if item == 3:
        raise ValueError(f"task {item} failed")
    return item


@pytest.mark.parametrize("executor", [Serial(), Processes(max_workers=2)])
def test_results_come_back_in_the_order_of_the_tasks(executor: Executor) -> None:
    finished: list[int] = []
    out = executor.map(
        _pid_of, list(range(12)), on_done=lambda i, r: finished.append(i), fork_safe=True
    )
    assert [i for i, _ in out] == list(range(12))
    assert sorted(finished) == list(range(12))
    assert executor.map(_scaled, [1.0, 2.0], shared=3.0, fork_safe=True) == [3.0, 6.0]
    assert executor.map(_pid_of, []) == []


def test_processes_run_in_other_processes() -> None:
    pids = {pid for _, pid in Processes(2).map(_pid_of, list(range(8)), fork_safe=True)}
    assert os.getpid() not in pids
    for method in ("fork", "forkserver"):  # either start method gives the same results
        assert Processes(2, start_method=method).map(_scaled, [2.0], shared=0.5) == [1.0]


def test_an_error_in_a_task_reaches_the_caller() -> None:
    with pytest.raises(ValueError, match="task 3 failed"):
        Processes(max_workers=2).map(_boom, list(range(6)), fork_safe=True)
    with pytest.raises(ValueError, match="task 3 failed"):
        Serial().map(_boom, list(range(6)))


def test_the_output_root_travels_with_the_tasks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with output_root(root):
        inside = [str(root / "a.txt")]
        assert Processes(2).map(_write, inside, fork_safe=True) == inside
        with pytest.raises(UnsafePathError):
            Processes(2).map(_write, [str(tmp_path / "outside.txt")], fork_safe=True)
    assert not (tmp_path / "outside.txt").exists()


def test_executor_arguments_resolve_or_are_refused() -> None:
    with executor_for(None, n_tasks=5) as ex:
        assert isinstance(ex, Serial)
    with executor_for("processes", n_tasks=5) as ex:
        assert isinstance(ex, Processes) and ex.workers == available_cores()
    with executor_for("auto", n_tasks=1) as ex:
        assert isinstance(ex, Serial)
    mine = Processes(max_workers=1)
    with executor_for(mine, n_tasks=5) as ex:
        assert ex is mine
    for bad in ("threads", 4, object()):
        with pytest.raises(SpecificationError, match="executor="), executor_for(bad, n_tasks=2):
            pass
    for workers in (0, -1, 1.5, True):
        with pytest.raises(SpecificationError, match="max_workers"):
            Processes(max_workers=workers)  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="start_method"):
        Processes(start_method="teleport")
    assert describe(None) == "serial" and describe("processes") == "processes"
    assert describe(Processes(3)) == "processes (3 workers)"


def test_no_scheduler_at_an_address_is_a_clear_error() -> None:
    pytest.importorskip("distributed", reason="Dask is not installed")
    with pytest.raises(SpecificationError, match="no Dask scheduler answers"):
        Dask("tcp://127.0.0.1:9", timeout=1)  # the discard port: nothing listens


# -- a real Dask cluster ----------------------------------------------------------------------


def test_dask_map_keeps_order_and_sends_shared_data_once(dask_client: Any) -> None:
    ex = Dask(dask_client)
    out = ex.map(_pid_of, list(range(10)))
    assert [i for i, _ in out] == list(range(10))
    assert os.getpid() not in {pid for _, pid in out}
    assert ex.map(_scaled, [1.0, 2.0], shared=np.float64(2.5)) == [2.5, 5.0]
    with pytest.raises(ValueError, match="task 3 failed"):
        ex.map(_boom, list(range(6)))
    assert ex.workers == 2 and "dask tcp://" in ex.description
    ex.close()  # a client passed in stays open
    assert dask_client.status == "running"


def test_a_scheduler_address_opens_and_closes_its_own_client(dask_client: Any) -> None:
    address = dask_client.scheduler.address
    with executor_for(address, n_tasks=3) as ex:
        assert isinstance(ex, Dask) and ex.client is not dask_client
        assert ex.map(_scaled, [1.0], shared=4.0) == [4.0]
    assert ex.client.status == "closed"


def test_split_estimation_on_dask_equals_serial(dask_client: Any, tmp_path: Path) -> None:
    panel = sector_panel()
    root = write_partitioned(panel, tmp_path)
    vcov = {"CRV1": "g"}
    for data in (panel, root):  # a frame sent to the workers, or partitions read there
        serial = fit_quietly(FORMULA, data, split="sector", executor=None, vcov=vcov)
        for executor in (dask_client, dask_client.scheduler.address):
            coll = fit_quietly(FORMULA, data, split="sector", executor=executor, vcov=vcov)
            assert list(coll) == ESTIMATED and dict(coll.failures) == dict(serial.failures)
            for sector in ESTIMATED:
                assert_identical(coll[sector], serial[sector])
            assert coll.executor.startswith("dask")


def test_ge_draws_on_dask_equal_serial(dask_client: Any) -> None:
    flows = pd.DataFrame(
        {
            "exporter": list("AAABBBCCC"),
            "importer": list("ABCABCABC"),
            "value": [50.0, 5, 3, 4, 60, 6, 2, 7, 40],
        }
    )
    scenario = ge.agreement(["A", "B"], 0.3)
    serial = ge.parametric_draws(flows, scenario, 4.0, vcov=[[0.01]], n_draws=24, seed=7)
    dask = ge.parametric_draws(
        flows, scenario, 4.0, vcov=[[0.01]], n_draws=24, seed=7, executor=dask_client
    )
    pd.testing.assert_frame_equal(serial.countries, dask.countries, check_exact=True)
    pd.testing.assert_frame_equal(serial.draws, dask.draws, check_exact=True)
    pd.testing.assert_frame_equal(serial.flows, dask.flows, check_exact=True)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "_staging" not in p.parts
    }


def test_ingest_on_dask_is_byte_identical_to_serial(dask_client: Any, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    ct.sample.generate(raw, seed=5, years=range(2016, 2019))
    (raw / "broken.csv").write_text("reporterCode,partnerCode\n398,156\n")  # quarantined
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        serial = ct.etl.ingest(raw, tmp_path / "serial")
        dask = ct.etl.ingest(raw, tmp_path / "dask", executor=dask_client)
        again = ct.etl.ingest(raw, tmp_path / "dask", executor=dask_client)  # cached
    assert _digest(tmp_path / "serial") == _digest(tmp_path / "dask")
    assert (serial.rows_read, serial.rows_written, serial.rows_quarantined) == (
        dask.rows_read,
        dask.rows_written,
        dask.rows_quarantined,
    )
    assert serial.rows_quarantined >= 1
    assert again.skipped and {r.status for r in again.files} <= {"cached", "source", "ignored"}
