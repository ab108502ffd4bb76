r"""The only writers: atomic file replacement, confined to an output root (internal).

Every artefact is written to a temporary file beside its destination and moved into place
with :func:`os.replace`, so a crash never leaves a half-written file behind. Text and bytes go
through :func:`atomic_write`; JSON through :func:`write_json` (one serialisation,
:func:`to_json`: sorted keys, two-space indent, UTF-8, strict JSON); single Parquet files
through :func:`write_parquet` (zstd, no index, deterministic bytes). The partitioned flow
dataset of :mod:`ca_trade.etl.store` streams its partitions with its own sink settings, each
partition file still replaced atomically here.

A writer may be *confined* to an output root: before anything is created, the destination is
resolved (symbolic links and ``..``) and must lie inside the resolved root, or
:class:`~ca_trade.exceptions.UnsafePathError` names the link (or the ``..``) that leads out
and nothing is written. The root is given per call (``root=``) or, for a whole run, by
:func:`output_root`, which resolves it once and confines every atomic write in its block
(the pipeline, the demo and the command line use it). This module is the one place where the
check lives.

Examples
--------
>>> import tempfile, pathlib
>>> p = replace_atomically(pathlib.Path(tempfile.mkdtemp()) / "x.txt", lambda t: t.write_text("a"))
>>> p.read_text()
'a'
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ca_trade._synthetic import frame_is_synthetic, parquet_metadata
from ca_trade.exceptions import UnsafePathError

__all__ = [
    "atomic_write",
    "atomic_write_all",
    "confine",
    "current_root",
    "escape_route",
    "output_root",
    "replace_atomically",
    "to_json",
    "write_json",
    "write_parquet",
]

_ROOT: ContextVar[Path | None] = ContextVar("ca_trade_output_root", default=None)


def escape_route(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> str:
    """Say which component of `path` leads out of `root`: a symbolic link or a ``..``.

    Parameters
    ----------
    path : path-like
        A path that resolves outside `root` (relative to the working directory when
        relative; not resolved).
    root : path-like
        The folder it should stay in.

    Returns
    -------
    str
        E.g. ``"/p/out/tables is a symbolic link to /tmp/x (/tmp/x)"``; when the path never
        enters the root, ``"it resolves to ..."``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> escape_route(d / "a" / ".." / ".." / "x", d).startswith("'..' after")
    True
    """
    base = Path(root).resolve()
    dest = Path(path).absolute()
    current = Path(dest.anchor)
    inside = current.resolve().is_relative_to(base)
    for part in dest.parts[1:]:
        step = current / part
        resolved = step.resolve()
        now_inside = resolved.is_relative_to(base)
        if inside and not now_inside:
            if part == "..":
                return f"'..' after {current} climbs out to {resolved}"
            if step.is_symlink():
                return f"{step} is a symbolic link to {os.readlink(step)} ({resolved})"
            return f"{step} resolves to {resolved}"
        inside = now_inside
        current = step
    return f"it resolves to {dest.resolve()}"


def confine(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> Path:
    """Return `path` resolved, after checking that it lies inside `root` (also resolved).

    Symbolic links (of folders and of the file itself) and ``..`` are resolved as the
    operating system would follow them; relative paths are taken from the working directory.

    Parameters
    ----------
    path : path-like
        A destination (it need not exist yet).
    root : path-like
        The output root.

    Returns
    -------
    pathlib.Path
        The resolved destination.

    Raises
    ------
    UnsafePathError
        When the destination resolves outside the root; the message names the symbolic link
        or the ``..`` that leads out.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> confine(d / "a" / ".." / "b.txt", d) == (d / "b.txt").resolve()
    True
    >>> confine(d / ".." / "b.txt", d)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ca_trade.exceptions.UnsafePathError: refusing to write ...: '..' after ... climbs out ...
    """
    base = Path(root).resolve()
    dest = Path(path).absolute()
    target = dest.resolve()
    if target.is_relative_to(base):
        return target
    raise UnsafePathError(
        f"refusing to write {dest}: {escape_route(dest, base)}, outside the output root {base}. "
        "Remove the link or choose an output folder without links that lead out of it."
    )


@contextmanager
def output_root(root: str | os.PathLike[str]) -> Iterator[Path]:
    """Confine every atomic write in the block to `root`, resolved once, here.

    Parameters
    ----------
    root : path-like
        The output root (relative to the working directory when relative).

    Yields
    ------
    pathlib.Path
        The resolved root.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with output_root(d):
    ...     atomic_write(d / "t.txt", "ok").read_text()
    'ok'
    """
    resolved = Path(root).resolve()
    token = _ROOT.set(resolved)
    try:
        yield resolved
    finally:
        _ROOT.reset(token)


def current_root() -> Path | None:
    """Return the output root the atomic writes of this context are confined to, if any.

    The executors (:mod:`ca_trade.executors`) carry it to the processes and cluster workers
    that run a task, which confine their writes to the same root.

    Returns
    -------
    pathlib.Path or None

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with output_root(d):
    ...     current_root() == d.resolve()
    True
    >>> current_root() is None
    True
    """
    return _ROOT.get()


def replace_atomically(
    path: str | os.PathLike[str],
    write: Callable[[Path], object],
    *,
    root: str | os.PathLike[str] | None = None,
) -> Path:
    """Let `write` fill a temporary file beside `path`, then move it into place.

    Parameters
    ----------
    path : path-like
        Destination; its parent directories are created.
    write : callable
        Called with the temporary file's path; must write the whole content there.
    root : path-like, optional
        Output root the destination must resolve into (default: the root of the enclosing
        :func:`output_root` block, if any). Checked before anything is created.

    Returns
    -------
    pathlib.Path
        The destination (mode 0644). On any error the temporary file is removed and the
        destination is left untouched.

    Raises
    ------
    UnsafePathError
        When the destination resolves outside the output root.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> replace_atomically(d / "a" / "b.bin", lambda t: t.write_bytes(b"1")).read_bytes()
    b'1'
    """
    dest = Path(path)
    limit = Path(root).resolve() if root is not None else _ROOT.get()
    if limit is not None:
        confine(dest, limit)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | str,
    *,
    root: str | os.PathLike[str] | None = None,
) -> Path:
    r"""Write a file atomically: to a temporary file beside it, then :func:`os.replace`.

    Parameters
    ----------
    path : path-like
        Destination; its parent directories are created.
    data : bytes or str
        Content; text is encoded as UTF-8 with ``\n`` line ends.
    root : path-like, optional
        Output root the destination must resolve into (see :func:`replace_atomically`).

    Returns
    -------
    pathlib.Path
        The destination.

    Raises
    ------
    UnsafePathError
        When the destination resolves outside the output root.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = atomic_write(pathlib.Path(tempfile.mkdtemp()) / "a" / "b.txt", "hi\n")
    >>> p.read_text()
    'hi\n'
    """
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)

    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())

    return replace_atomically(path, _write, root=root)


def atomic_write_all(
    files: Mapping[Path, bytes | str],
    *,
    root: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Write several files that belong together (an artefact and its sidecar), each atomically.

    Every destination is checked against the output root before the first one is written,
    so a link that leads out stops the whole set, not just the file behind it.

    Parameters
    ----------
    files : mapping of pathlib.Path to bytes or str
        Destinations and contents, written in this order.
    root : path-like, optional
        Output root (default: the root of the enclosing :func:`output_root` block, if any).

    Returns
    -------
    list of pathlib.Path
        The destinations.

    Raises
    ------
    UnsafePathError
        When any destination resolves outside the output root; nothing is written then.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> [p.name for p in atomic_write_all({d / "t.md": "x", d / "t.md.json": "{}"}, root=d)]
    ['t.md', 't.md.json']
    """
    limit = Path(root).resolve() if root is not None else _ROOT.get()
    if limit is not None:
        for path in files:
            confine(path, limit)
    return [atomic_write(path, data, root=limit) for path, data in files.items()]


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return _clean_float(float(obj))
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, pd.Series):
        return {str(k): v for k, v in obj.items()}
    if isinstance(obj, set | frozenset):
        return sorted(str(x) for x in obj)
    if isinstance(obj, tuple):
        return list(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, dt.date | dt.datetime):
        return obj.isoformat()
    return repr(obj)


def _clean_float(x: float) -> float | str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def _sanitise(obj: Any) -> Any:
    if isinstance(obj, float):
        return _clean_float(obj)
    if isinstance(obj, Mapping):
        return {str(k): _sanitise(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_sanitise(v) for v in obj]
    return obj


def to_json(record: Any) -> str:
    r"""Serialise to JSON deterministically: sorted keys, two-space indent, UTF-8 text.

    NaN and infinities are written as the strings ``"NaN"``, ``"Infinity"`` and
    ``"-Infinity"`` so the output is strict JSON; numpy scalars and arrays, pandas Series,
    paths, dates and sets are converted.

    Parameters
    ----------
    record : object
        A mapping (or list) of JSON-like values.

    Returns
    -------
    str
        JSON text ending with a newline.

    Examples
    --------
    >>> to_json({"b": 1, "a": float("nan")})
    '{\n  "a": "NaN",\n  "b": 1\n}\n'
    """
    text = json.dumps(
        _sanitise(json.loads(json.dumps(record, default=_json_default, allow_nan=True))),
        sort_keys=True,
        indent=2,
        ensure_ascii=False,
        allow_nan=False,
    )
    return text + "\n"


def write_json(
    path: str | os.PathLike[str], record: Any, *, root: str | os.PathLike[str] | None = None
) -> Path:
    """Write `record` as JSON (:func:`to_json`), atomically.

    Parameters
    ----------
    path : path-like
        Destination; its parent directories are created.
    record : object
        A mapping (or list) of JSON-like values.
    root : path-like, optional
        Output root the destination must resolve into (see :func:`replace_atomically`).

    Returns
    -------
    pathlib.Path
        The destination.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_json(pathlib.Path(tempfile.mkdtemp()) / "m.json", {"b": 1, "a": [1, 2]})
    >>> p.read_text().splitlines()[1]
    '  "a": ['
    """
    return atomic_write(path, to_json(record), root=root)


def write_parquet(
    path: str | os.PathLike[str],
    data: pd.DataFrame | pa.Table,
    *,
    root: str | os.PathLike[str] | None = None,
) -> Path:
    """Write one Parquet file atomically: same data, same bytes.

    Parameters
    ----------
    path : path-like
        Destination; its parent directories are created.
    data : pandas.DataFrame or pyarrow.Table
        A DataFrame is written without its index and without pandas' schema metadata, except
        its SYNTHETIC flag (``attrs["synthetic"]``, see :mod:`ca_trade._synthetic`), which
        ``pandas.read_parquet`` restores; a pyarrow Table is written as it is (with the
        schema metadata it carries).
    root : path-like, optional
        Output root the destination must resolve into (see :func:`replace_atomically`).

    Returns
    -------
    pathlib.Path
        The destination.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> p = write_parquet(pathlib.Path(tempfile.mkdtemp()) / "t.parquet", pd.DataFrame({"x": [1]}))
    >>> pd.read_parquet(p)["x"].tolist()
    [1]
    """
    if isinstance(data, pd.DataFrame):
        table = pa.Table.from_pandas(data, preserve_index=False).replace_schema_metadata(
            parquet_metadata(frame_is_synthetic(data)) or None
        )
    else:
        table = data
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return atomic_write(path, sink.getvalue(), root=root)
