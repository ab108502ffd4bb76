"""The processed Parquet store: deterministic partitions, manifest, atomic replacement.

Layout of ``processed_dir``::

    flows/classification=HS/year=2019/part-0.parquet   canonical flow records (zstd; the
                                                       partition keys in the folder names only)
    controls/classification=HS/year=2019/part-0.parquet partner World rows (control totals)
    quarantine/quarantine.parquet                      refused rows and files, with reasons
    manifest.json                                      sha256 and counts per source file,
                                                       size and rows of every dataset file,
                                                       whether the data are SYNTHETIC
    _staging/<sha256>-<name>-<codes>-v<N>-pl<ver>/     per-file cache (reused on re-run)

A run builds the new ``flows``, ``controls``, ``quarantine`` and ``manifest.json`` in
``.ingest-tmp/``, marks it complete, then moves the old entries to ``.ingest-old/`` and the
new ones into place (renames only). :func:`recover` finishes or rolls back an interrupted
swap, so a crash at any point leaves either the old or the new dataset, never a mixture.
Files are written without timestamps and rows are sorted, so re-runs are byte-identical.
The manifest lists every file of the dataset with its size and row count;
:func:`verify_dataset` checks them against the disk before a run trusts the manifest.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
>>> _ = p.write_text("abc")
>>> sha256_file(p)[:12]
'ba7816bf8f01'
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from ca_trade._io import replace_atomically
from ca_trade._synthetic import file_is_synthetic
from ca_trade.etl.rawtext import LineCounter, file_blocks

__all__ = [
    "ENTRIES",
    "OLD_NAME",
    "ROW_GROUP_SIZE",
    "SINK_OPTIONS",
    "TMP_NAME",
    "dataset_files",
    "dataset_is_synthetic",
    "read_manifest",
    "recover",
    "sha256_file",
    "sink_parquet",
    "swap_in",
    "verify_dataset",
    "write_parquet",
]

#: Entries of processed_dir replaced together by one ingest run.
ENTRIES: tuple[str, ...] = ("flows", "controls", "quarantine", "manifest.json")
TMP_NAME = ".ingest-tmp"
OLD_NAME = ".ingest-old"
_COMPLETE = ".complete"


def sha256_file(path: Path, counter: LineCounter | None = None) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks (counting its lines on the way).

    Parameters
    ----------
    path : Path
        The file.
    counter : LineCounter, optional
        Fed the same blocks: the file's independent line count costs no second read.

    Returns
    -------
    str
        64 hex digits.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "e"
    >>> _ = p.write_bytes(b"")
    >>> sha256_file(p)[:8]
    'e3b0c442'
    """
    h = hashlib.sha256()
    for block in file_blocks(path):
        h.update(block)
        if counter is not None:
            counter.update(block)
    return h.hexdigest()


def write_parquet(
    frame: pl.DataFrame, path: Path, *, metadata: dict[str, str] | None = None
) -> None:
    """Write a frame to Parquet deterministically (zstd, no timestamps), via a temp file.

    Parameters
    ----------
    frame : polars.DataFrame
        Rows already in their final order.
    path : Path
        Destination; parent folders are created.
    metadata : dict of str to str, optional
        File-level key-value metadata (the SYNTHETIC flag).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a" / "b.parquet"
    >>> write_parquet(pl.DataFrame({"x": [1]}), p)
    >>> pl.read_parquet(p)["x"].to_list()
    [1]
    """
    replace_atomically(
        path,
        lambda tmp: frame.write_parquet(
            tmp, compression="zstd", compression_level=3, statistics=True, metadata=metadata or None
        ),
    )


#: Rows per Parquet row group: fixed so streamed files are byte-identical across runs, and
#: small enough that a partitioned sink holding one open row group per partition stays
#: within bounded memory.
ROW_GROUP_SIZE = 65_536

#: Settings of every streamed Parquet file of the dataset (staged partitions and rewritten
#: ones alike, so a staged partition can be linked into place as it is).
SINK_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 1,
    "statistics": True,
    "row_group_size": ROW_GROUP_SIZE,
    "maintain_order": True,
}


def sink_parquet(
    frame: pl.LazyFrame, path: Path, *, metadata: dict[str, str] | None = None
) -> None:
    """Stream a lazy frame to Parquet deterministically (zstd, fixed row groups, in order).

    Parameters
    ----------
    frame : polars.LazyFrame
        Rows in their final order.
    path : Path
        Destination; parent folders are created; written via a temporary name.
    metadata : dict of str to str, optional
        File-level key-value metadata (the SYNTHETIC flag).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a" / "b.parquet"
    >>> sink_parquet(pl.LazyFrame({"x": [1, 2]}), p)
    >>> pl.read_parquet(p)["x"].to_list()
    [1, 2]
    """
    replace_atomically(
        path,
        lambda tmp: frame.sink_parquet(tmp, metadata=metadata or None, **SINK_OPTIONS),
    )


def read_manifest(processed_dir: Path) -> dict[str, Any]:
    """Return the manifest of a processed dataset, or an empty dict where there is none.

    Parameters
    ----------
    processed_dir : Path
        The processed directory.

    Returns
    -------
    dict
        The parsed ``manifest.json`` (empty when absent or unreadable).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> read_manifest(pathlib.Path(tempfile.mkdtemp()))
    {}
    """
    path = processed_dir / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def dataset_is_synthetic(processed_dir: Path) -> bool:
    """Return whether a processed dataset was ingested from the SYNTHETIC sample.

    Parameters
    ----------
    processed_dir : Path
        The processed directory.

    Returns
    -------
    bool
        The manifest's ``synthetic`` flag; without a manifest, whether any Parquet file of
        the dataset says so in its key-value metadata.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> dataset_is_synthetic(pathlib.Path(tempfile.mkdtemp()))
    False
    """
    manifest = read_manifest(processed_dir)
    if manifest:
        return manifest.get("synthetic") is True
    return any(
        file_is_synthetic(path)
        for name in ("flows", "controls")
        for path in sorted((processed_dir / name).rglob("*.parquet"))
    )


def recover(processed_dir: Path) -> None:
    """Finish or roll back an interrupted swap; remove an incomplete build.

    Parameters
    ----------
    processed_dir : Path
        The processed directory.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / TMP_NAME).mkdir()
    >>> recover(d)
    >>> (d / TMP_NAME).exists()
    False
    """
    tmp = processed_dir / TMP_NAME
    old = processed_dir / OLD_NAME
    if tmp.is_dir() and (tmp / _COMPLETE).exists():
        _swap(processed_dir, tmp, old)
    else:
        if tmp.exists():
            shutil.rmtree(tmp)
        if old.is_dir():
            for name in ENTRIES:
                if (old / name).exists() and not (processed_dir / name).exists():
                    os.replace(old / name, processed_dir / name)
    if old.exists():
        shutil.rmtree(old)


def swap_in(processed_dir: Path, tmp: Path) -> None:
    """Replace the dataset entries of ``processed_dir`` by those built in ``tmp``.

    Parameters
    ----------
    processed_dir : Path
        The processed directory.
    tmp : Path
        The complete new build (``processed_dir / TMP_NAME``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / TMP_NAME).mkdir()
    >>> _ = (d / TMP_NAME / "manifest.json").write_text("{}")
    >>> swap_in(d, d / TMP_NAME)
    >>> (d / "manifest.json").read_text()
    '{}'
    """
    (tmp / _COMPLETE).write_text("")
    old = processed_dir / OLD_NAME
    if old.exists():
        shutil.rmtree(old)
    _swap(processed_dir, tmp, old)
    shutil.rmtree(old, ignore_errors=True)


def _swap(processed_dir: Path, tmp: Path, old: Path) -> None:
    old.mkdir(exist_ok=True)
    for name in ENTRIES:
        new_entry = tmp / name
        if not new_entry.exists():
            continue
        current = processed_dir / name
        if current.exists() and not (old / name).exists():
            os.replace(current, old / name)
        elif current.exists():
            # Already moved aside in an interrupted swap and the new one partly placed.
            if current.is_dir():
                shutil.rmtree(current)
            else:
                current.unlink()
        os.replace(new_entry, current)
    shutil.rmtree(tmp)


def dataset_files(root: Path) -> dict[str, dict[str, int]]:
    """List the files of a dataset (``flows``, ``controls``, ``quarantine``) with size and rows.

    Parameters
    ----------
    root : Path
        A processed directory, or a build of one.

    Returns
    -------
    dict
        Path relative to ``root`` (POSIX, sorted) to ``{"bytes": size, "rows": rows}``; rows
        come from the Parquet footer (-1 where it cannot be read).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_parquet(pl.DataFrame({"x": [1, 2]}), d / "flows" / "a" / "part-0.parquet")
    >>> list(dataset_files(d).items())[0][0], list(dataset_files(d).values())[0]["rows"]
    ('flows/a/part-0.parquet', 2)
    """
    out: dict[str, dict[str, int]] = {}
    for name in ENTRIES:
        top = root / name
        if not top.is_dir():
            continue
        for path in sorted(top.rglob("*")):
            if not path.is_file():
                continue
            try:
                rows = pq.read_metadata(path).num_rows
            except (OSError, ValueError):  # pyarrow raises these for a damaged footer
                rows = -1
            out[path.relative_to(root).as_posix()] = {"bytes": path.stat().st_size, "rows": rows}
    return out


def verify_dataset(processed_dir: Path, manifest: dict[str, Any]) -> str | None:
    """Check the dataset on disk against the file list of its manifest.

    Parameters
    ----------
    processed_dir : Path
        The processed directory.
    manifest : dict
        Its manifest (:func:`read_manifest`).

    Returns
    -------
    str or None
        None where every listed file is there with its size and row count and nothing else
        is; otherwise what differs (the first few differences).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> verify_dataset(d, {"dataset": {"flows/x.parquet": {"bytes": 1, "rows": 1}}})
    'flows/x.parquet: missing'
    """
    expected = manifest.get("dataset")
    if not isinstance(expected, dict):
        return "the manifest lists no dataset files (written by an older version?)"
    found = dataset_files(processed_dir)
    problems = [f"{name}: missing" for name in sorted(set(expected) - set(found))]
    problems += [f"{name}: not in the manifest" for name in sorted(set(found) - set(expected))]
    for name in sorted(set(found) & set(expected)):
        if found[name] != expected[name]:
            problems.append(f"{name}: {found[name]} on disk, {expected[name]} in the manifest")
    if not problems:
        return None
    more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more
