"""One writer at a time: an exclusive lock on a processed dataset folder.

:func:`ingest <ca_trade.etl.ingest>` holds an exclusive :func:`fcntl.flock` on
``processed_dir/.ingest.lock`` for its whole run (recovery, staging, build and swap);
:func:`reconcile <ca_trade.etl.reconcile>` holds a shared one while it reads the dataset. A
second writer either waits, after a :class:`~ca_trade.exceptions.DatasetBusyWarning` naming
the holder (its pid, host and start time, which the holder writes into the lock file), or,
with ``wait=False``, raises :class:`~ca_trade.exceptions.DatasetBusyError`.

The kernel releases the lock when its holder exits, crashed or not, so a stale lock file never
blocks anyone; the file itself stays (deleting a lock file races with its next user) and is
emptied when its holder finishes. Assumptions: a local filesystem where ``flock`` works
between processes (Linux, macOS; on network filesystems it may not), and no other program
writing into the folder. Where ``fcntl`` does not exist (Windows) no lock is taken.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> with dataset_lock(d):
...     holder(d).startswith("pid ")
True
>>> holder(d) is None
True
"""

from __future__ import annotations

import json
import os
import socket
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from ca_trade.exceptions import DatasetBusyError, DatasetBusyWarning

_fcntl: ModuleType | None
try:
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - not POSIX
    _fcntl = None

__all__ = ["LOCK_NAME", "dataset_lock", "holder"]

#: Name of the lock file inside the dataset folder (hidden: ingest never reads it as input).
LOCK_NAME = ".ingest.lock"


def holder(folder: Path) -> str | None:
    """Describe the process that holds (or last held) the lock of ``folder``.

    Parameters
    ----------
    folder : Path
        The dataset folder.

    Returns
    -------
    str or None
        ``"pid N on HOST, started YYYY-MM-DDTHH:MM:SSZ (what)"``, or None where the lock
        file is absent, empty (not held, or held by readers) or unreadable.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> holder(pathlib.Path(tempfile.mkdtemp())) is None
    True
    """
    try:
        info = json.loads((folder / LOCK_NAME).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict):
        return None
    return (
        f"pid {info.get('pid')} on {info.get('host')}, started {info.get('started')} "
        f"({info.get('purpose')})"
    )


@contextmanager
def dataset_lock(
    folder: Path, *, wait: bool = True, shared: bool = False, purpose: str = "ca_trade ingest"
) -> Iterator[None]:
    """Hold the lock of a dataset folder for the duration of a ``with`` block.

    Parameters
    ----------
    folder : Path
        The dataset folder (created for an exclusive lock).
    wait : bool, default True
        Where another process holds the lock: wait for it (after a
        :class:`~ca_trade.exceptions.DatasetBusyWarning`), or raise.
    shared : bool, default False
        Take a shared (reader) lock: readers exclude writers, not each other. A folder that
        cannot hold a lock file (read-only) is read without one.
    purpose : str, default "ca_trade ingest"
        Recorded for others to see while an exclusive lock is held.

    Raises
    ------
    DatasetBusyError
        ``wait=False`` and another process holds the lock.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with dataset_lock(d), dataset_lock(d, shared=True, wait=False):  # doctest: +ELLIPSIS
    ...     pass
    Traceback (most recent call last):
    ca_trade.exceptions.DatasetBusyError: ... is being written or read by pid ...
    """
    if _fcntl is None:  # pragma: no cover - not POSIX
        yield
        return
    path = folder / LOCK_NAME
    if shared:
        try:
            fd = os.open(path, os.O_RDONLY if path.exists() else os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # a read-only dataset nobody can write to
            yield
            return
    else:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    mode = _fcntl.LOCK_SH if shared else _fcntl.LOCK_EX
    acquired = False
    try:
        try:
            _fcntl.flock(fd, mode | _fcntl.LOCK_NB)
        except BlockingIOError:
            who = holder(folder) or "another process (it did not say which)"
            if not wait:
                raise DatasetBusyError(
                    f"{folder} is being written or read by {who}; try again when it has "
                    "finished, or let this run wait for it (leave out --no-wait / wait=False)"
                ) from None
            warnings.warn(
                f"{folder} is being written or read by {who}; waiting for it to finish",
                DatasetBusyWarning,
                stacklevel=3,
            )
            _fcntl.flock(fd, mode)
        acquired = True
        if not shared:
            _record(fd, purpose)
        yield
    finally:
        if acquired and not shared:
            os.ftruncate(fd, 0)
        os.close(fd)  # releases the lock


def _record(fd: int, purpose: str) -> None:
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    info = {"pid": os.getpid(), "host": socket.gethostname(), "started": started}
    info["purpose"] = purpose
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info, sort_keys=True).encode("utf-8"), 0)
