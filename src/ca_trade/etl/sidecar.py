r"""Download sidecars: the record of how a raw file was fetched, kept beside the file.

:func:`ca_trade.etl.download` writes every raw file it fetches together with
``<file>.meta.json``: the query (never the API key), the source address, the retrieval
date, the number of records, the file's size and sha256. :func:`ca_trade.etl.ingest` copies
a sidecar's content into the manifest entry of its file, so the provenance of a processed
table reaches back to the query that fetched its rows. Sidecars end in ``.json``, which ingest
never reads as data.

Examples
--------
>>> import tempfile, pathlib
>>> data = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
>>> _ = data.write_text("x\n")
>>> _ = write_sidecar(data, {"records": 0})
>>> sidecar_path(data).name, read_sidecar(data)
('a.csv.meta.json', {'records': 0})
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ca_trade._io import write_json

__all__ = ["SUFFIX", "read_sidecar", "sidecar_path", "write_sidecar"]

#: Appended to a data file's name to name its sidecar.
SUFFIX = ".meta.json"


def sidecar_path(path: Path) -> Path:
    """Return the sidecar path of a data file.

    Parameters
    ----------
    path : Path
        The data file.

    Returns
    -------
    Path
        ``<path>.meta.json`` beside it.

    Examples
    --------
    >>> sidecar_path(Path("raw/KAZ.csv")).as_posix()
    'raw/KAZ.csv.meta.json'
    """
    return path.with_name(path.name + SUFFIX)


def write_sidecar(path: Path, meta: Mapping[str, Any]) -> Path:
    r"""Write the sidecar of ``path`` atomically (sorted keys, two-space indent).

    Parameters
    ----------
    path : Path
        The data file the sidecar describes (it need not exist: a query that was split
        has a sidecar but no data file).
    meta : mapping
        JSON-serialisable content.

    Returns
    -------
    Path
        The sidecar written.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.csv"
    >>> write_sidecar(p, {"b": 1}).read_text()
    '{\n  "b": 1\n}\n'
    """
    return write_json(sidecar_path(path), dict(meta))


def read_sidecar(path: Path) -> dict[str, Any] | None:
    """Return the sidecar content of a data file, or None where it has none.

    Parameters
    ----------
    path : Path
        The data file.

    Returns
    -------
    dict or None
        The parsed sidecar; ``{"unreadable": "<reason>"}`` when the sidecar exists but is
        not a JSON object (so the problem shows where the provenance is read).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.csv"
    >>> read_sidecar(p) is None
    True
    >>> _ = sidecar_path(p).write_text("[1")
    >>> sorted(read_sidecar(p))
    ['unreadable']
    """
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        obj = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"unreadable": f"{side.name}: {type(exc).__name__}: {exc}"}
    if not isinstance(obj, dict):
        return {"unreadable": f"{side.name}: not a JSON object"}
    return obj
