"""Whether data are SYNTHETIC: the marker the sample writes, and how the flag travels.

The generator (:func:`ca_trade.sample.generate`) writes a small marker file,
:data:`MARKER` (``SYNTHETIC.json``: ``{"synthetic": true, "generator":
"ca_trade.sample.generate", ...}``), at the top of the sample. Everything built from such a
folder carries the flag on, with nothing to remember:

- :func:`ca_trade.etl.ingest` finds the marker in ``raw_dir`` (:func:`raw_is_synthetic`) and
  records ``"synthetic": true`` in ``manifest.json`` and in the key-value metadata
  (:data:`PARQUET_KEY`) of every Parquet file it writes;
- :func:`ca_trade.etl.reconcile` and :func:`ca_trade.etl.build_panel` return frames whose
  ``DataFrame.attrs["synthetic"]`` is True (pandas keeps ``attrs`` through selection,
  filtering, ``merge``, ``concat``, ``groupby`` and ``copy``); Parquet files written from them
  by ca_trade carry it in their metadata, where ``pandas.read_parquet`` restores ``attrs``;
- estimation results record it in ``provenance["synthetic"]``, GE results in their
  ``synthetic`` attribute, and tables, figures and reports built from them say SYNTHETIC.

The content of the marker decides, not its name: a file called ``SYNTHETIC.json`` that is not
the generator's marker does not make data synthetic.

Examples
--------
>>> import tempfile, pathlib
>>> import json
>>> import pandas as pd
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> raw_is_synthetic(d)
False
>>> _ = (d / MARKER).write_text(json.dumps(marker_record(seed=1, years=[2019])))
>>> raw_is_synthetic(d)
True
>>> frame_is_synthetic(mark(pd.DataFrame({"x": [1]}), True))
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

__all__ = [
    "ATTR",
    "GENERATOR",
    "MARKER",
    "PARQUET_KEY",
    "any_synthetic",
    "file_is_synthetic",
    "frame_is_synthetic",
    "is_marker",
    "mark",
    "marker_record",
    "parquet_metadata",
    "raw_is_synthetic",
]

#: Name of the marker file the sample generator writes at the top of the sample.
MARKER = "SYNTHETIC.json"
#: The generator the marker names (its content, not its name, makes data synthetic).
GENERATOR = "ca_trade.sample.generate"
#: Key of the flag in Parquet key-value metadata (value ``"true"``).
PARQUET_KEY = "ca_trade.synthetic"
#: Key of the flag in ``pandas.DataFrame.attrs``.
ATTR = "synthetic"
#: pandas stores ``DataFrame.attrs`` under this Parquet key and restores them on reading.
_PANDAS_ATTRS = "PANDAS_ATTRS"


def marker_record(*, seed: int, years: Sequence[int]) -> dict[str, Any]:
    """Return the content of the SYNTHETIC marker of a generated sample.

    The generator writes it to ``<sample>/`` :data:`MARKER` (through :mod:`ca_trade._io`).

    Parameters
    ----------
    seed : int
        The generator's seed.
    years : sequence of int
        The years generated.

    Returns
    -------
    dict
        ``synthetic``, ``generator``, ``seed``, ``years`` and a notice.

    Examples
    --------
    >>> marker_record(seed=1, years=[2019])["generator"]
    'ca_trade.sample.generate'
    """
    return {
        "synthetic": True,
        "generator": GENERATOR,
        "seed": int(seed),
        "years": [int(y) for y in years],
        "notice": "SYNTHETIC DATA: not real trade flows. Everything built from this folder "
        "is labelled SYNTHETIC by ca_trade.",
    }


def is_marker(path: str | os.PathLike[str]) -> bool:
    """Return whether a file is the generator's SYNTHETIC marker (read, not guessed by name).

    Parameters
    ----------
    path : path-like
        A file.

    Returns
    -------
    bool
        True for a JSON object with ``"synthetic": true`` and the generator's name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / MARKER
    >>> _ = p.write_text('{"synthetic": true}')
    >>> is_marker(p)
    False
    """
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(record, dict)
        and record.get("synthetic") is True
        and record.get("generator") == GENERATOR
    )


def raw_is_synthetic(raw_dir: str | os.PathLike[str], *, skip: Iterable[Path] = ()) -> bool:
    """Return whether a raw folder holds the SYNTHETIC sample (a marker anywhere inside it).

    Parameters
    ----------
    raw_dir : path-like
        The folder ingest reads.
    skip : iterable of Path
        Folders not searched (ingest's own output inside ``raw_dir``).

    Returns
    -------
    bool
        True when a generator's marker lies in ``raw_dir`` or a folder below it (outside
        folders whose names start with ``.`` or ``_``, which ingest skips too): data mixing
        the sample with other files are SYNTHETIC.

    Examples
    --------
    >>> import tempfile
    >>> raw_is_synthetic(tempfile.mkdtemp())
    False
    """
    root = Path(raw_dir)
    skipped = [Path(s) for s in skip]
    for path in sorted(root.rglob(MARKER)):
        rel = path.relative_to(root)
        if any(part.startswith((".", "_")) for part in rel.parts[:-1]):
            continue
        if any(s == path or s in path.parents for s in skipped):
            continue
        if is_marker(path):
            return True
    return False


def parquet_metadata(synthetic: bool) -> dict[str, str]:
    """Return the Parquet key-value metadata that records the flag (empty for real data).

    Parameters
    ----------
    synthetic : bool
        Whether the data are SYNTHETIC.

    Returns
    -------
    dict of str to str
        ``{PARQUET_KEY: "true", "PANDAS_ATTRS": '{"synthetic": true}'}`` or ``{}``; pandas
        restores ``DataFrame.attrs`` from the second key when it reads the file.

    Examples
    --------
    >>> parquet_metadata(False)
    {}
    >>> parquet_metadata(True)[PARQUET_KEY]
    'true'
    """
    if not synthetic:
        return {}
    return {PARQUET_KEY: "true", _PANDAS_ATTRS: json.dumps({ATTR: True})}


def file_is_synthetic(path: str | os.PathLike[str]) -> bool:
    """Return whether a Parquet file's key-value metadata says its data are SYNTHETIC.

    The file-level key-value metadata is read (Polars writes it there, pyarrow there and in
    the Arrow schema).

    Parameters
    ----------
    path : path-like
        A Parquet file.

    Returns
    -------
    bool
        True where :data:`PARQUET_KEY` is ``"true"``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pyarrow as pa
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> table = pa.table({"x": [1]}).replace_schema_metadata(parquet_metadata(True))
    >>> pq.write_table(table, p)
    >>> file_is_synthetic(p)
    True
    """
    meta = pq.read_metadata(path).metadata or {}
    return meta.get(PARQUET_KEY.encode()) == b"true"


def frame_is_synthetic(frame: Any) -> bool:
    """Return whether a frame says its data are SYNTHETIC (``attrs["synthetic"]``).

    Parameters
    ----------
    frame : object
        A pandas DataFrame (anything without ``attrs`` is not marked).

    Returns
    -------
    bool
        The flag.

    Examples
    --------
    >>> frame_is_synthetic(pd.DataFrame())
    False
    """
    attrs = getattr(frame, "attrs", None)
    return isinstance(attrs, Mapping) and attrs.get(ATTR) is True


def any_synthetic(frames: Iterable[Any]) -> bool:
    """Return whether any of several frames says its data are SYNTHETIC.

    Parameters
    ----------
    frames : iterable
        pandas DataFrames (or None).

    Returns
    -------
    bool
        True when one of them is marked.

    Examples
    --------
    >>> any_synthetic([None, pd.DataFrame()])
    False
    """
    return any(frame_is_synthetic(f) for f in frames)


def mark(frame: pd.DataFrame, synthetic: bool) -> pd.DataFrame:
    """Set (or clear) a frame's SYNTHETIC flag in place and return the frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame.
    synthetic : bool
        Whether its data are SYNTHETIC.

    Returns
    -------
    pandas.DataFrame
        The same frame.

    Examples
    --------
    >>> mark(pd.DataFrame(), True).attrs
    {'synthetic': True}
    """
    if synthetic:
        frame.attrs[ATTR] = True
    else:
        frame.attrs.pop(ATTR, None)
    return frame
