"""lock: one writer per dataset folder, readers share, a waiting writer says whom it waits for."""

from __future__ import annotations

import os
import threading
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

from ca_trade.etl import ingest, reconcile
from ca_trade.etl.lock import LOCK_NAME, dataset_lock, holder
from ca_trade.exceptions import DatasetBusyError, DatasetBusyWarning
from tests.etl.helpers import plus_row, write_plus


def test_the_holder_is_named_while_held_and_cleared_after(tmp_path: Path) -> None:
    with dataset_lock(tmp_path / "p"):
        who = holder(tmp_path / "p")
        assert who is not None and who.startswith(f"pid {os.getpid()} on ")
        assert "started " in who and "(ca_trade ingest)" in who
    assert holder(tmp_path / "p") is None
    assert (tmp_path / "p" / LOCK_NAME).read_bytes() == b""  # stays, empty


def test_a_second_writer_raises_without_waiting(tmp_path: Path) -> None:
    with dataset_lock(tmp_path):
        with pytest.raises(DatasetBusyError, match=f"pid {os.getpid()}"):
            with dataset_lock(tmp_path, wait=False):
                pass
        assert holder(tmp_path) is not None  # the refused writer did not erase the holder


def test_a_second_writer_waits_then_runs(tmp_path: Path) -> None:
    order: list[str] = []
    held = threading.Event()

    def first() -> None:
        with dataset_lock(tmp_path):
            held.set()
            time.sleep(0.5)
            order.append("first done")

    t = threading.Thread(target=first)
    t.start()
    held.wait(10)
    with pytest.warns(DatasetBusyWarning, match="waiting for it to finish"):
        with dataset_lock(tmp_path):
            order.append("second runs")
    t.join()
    assert order == ["first done", "second runs"]


def test_readers_share_and_exclude_writers(tmp_path: Path) -> None:
    with dataset_lock(tmp_path, shared=True), dataset_lock(tmp_path, shared=True, wait=False):
        with pytest.raises(DatasetBusyError):
            with dataset_lock(tmp_path, wait=False):
                pass
    with dataset_lock(tmp_path):
        with pytest.raises(DatasetBusyError):
            with dataset_lock(tmp_path, shared=True, wait=False):
                pass


def test_a_reader_of_a_read_only_folder_needs_no_lock_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(path: object, flags: int, mode: int = 0o777) -> int:
        raise PermissionError(13, "Permission denied (injected)", str(path))

    monkeypatch.setattr(os, "open", read_only)  # as in a folder the user cannot write to
    with dataset_lock(tmp_path, shared=True):
        pass
    with pytest.raises(PermissionError):  # a writer needs the lock
        with dataset_lock(tmp_path):
            pass


def test_reconcile_waits_for_a_writer(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "processed"
    write_plus(raw / "a.csv", [plus_row(398, 156, "X", 5), plus_row(156, 398, "M", 6)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest(raw, out)
    result: list[pd.DataFrame] = []
    with dataset_lock(out):
        t = threading.Thread(target=lambda: result.append(reconcile(out)))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t.start()
            time.sleep(1.0)
            assert not result  # blocked while the writer holds the folder
    t.join(30)
    assert any(issubclass(w.category, DatasetBusyWarning) for w in caught)
    assert len(result) == 1 and result[0]["value_usd"].notna().all()
