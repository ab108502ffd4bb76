"""Quarantine records: rows (or whole files) the ETL refused, with the reason.

A quarantine record has the columns of :data:`ca_trade.etl.schema.QUARANTINE_SCHEMA`:
``file`` (relative to raw_dir), ``line`` (1-based, null for a whole-file record),
``column`` (the offending field, canonical name), ``value`` (its raw text, or the parser
error for a whole file), ``reason`` (a key of :data:`~ca_trade.etl.schema.QUARANTINE_REASONS`)
and ``rows`` (1 for a row; the number of data lines for a whole-file record).

Examples
--------
>>> rec = whole_file_record("bad.csv.gz", "unparseable_file", "invalid gzip", 10)
>>> rec.row(0)
('bad.csv.gz', None, None, 'invalid gzip', 'unparseable_file', 10)
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import polars as pl

from ca_trade.etl.schema import QUARANTINE_REASONS, QUARANTINE_SCHEMA

__all__ = ["count_data_lines", "empty_quarantine", "explain", "whole_file_record"]


def empty_quarantine() -> pl.DataFrame:
    """Return an empty quarantine table with the canonical schema.

    Returns
    -------
    polars.DataFrame
        Zero rows, columns of :data:`~ca_trade.etl.schema.QUARANTINE_SCHEMA`.

    Examples
    --------
    >>> empty_quarantine().columns
    ['file', 'line', 'column', 'value', 'reason', 'rows']
    """
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def whole_file_record(file: str, reason: str, detail: str, rows: int) -> pl.DataFrame:
    """Build the quarantine record of a file that could not be read as a whole.

    Parameters
    ----------
    file : str
        File name relative to raw_dir.
    reason : str
        A key of :data:`~ca_trade.etl.schema.QUARANTINE_REASONS`.
    detail : str
        The parser error or the missing columns (stored in ``value``).
    rows : int
        Number of data lines in the file (all of them are quarantined).

    Returns
    -------
    polars.DataFrame
        One record.

    Examples
    --------
    >>> whole_file_record("x.csv", "unknown_layout", "header a,b", 3)["rows"].item()
    3
    """
    return pl.DataFrame(
        {
            "file": [file],
            "line": [None],
            "column": [None],
            "value": [detail[:2000]],
            "reason": [reason],
            "rows": [rows],
        },
        schema=QUARANTINE_SCHEMA,
    )


def count_data_lines(path: Path) -> int:
    r"""Count the data lines of a (possibly gzip, possibly truncated) text file.

    Lines are counted as newline characters, plus one for a last line without a newline,
    minus one for the header. Whatever a corrupt gzip stream yields before its error counts.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    int
        Number of lines after the header (0 for an empty file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_bytes(b"h\n1\n2")
    >>> count_data_lines(p)
    2
    """
    n = 0
    last = b"\n"
    with open(path, "rb") as fh:
        magic = fh.read(2)
    try:
        if magic == b"\x1f\x8b":
            dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    try:
                        out = dec.decompress(chunk)
                    except zlib.error:
                        break
                    if out:
                        n += out.count(b"\n")
                        last = out[-1:]
                    if dec.eof:
                        break
        else:
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 24):
                    n += chunk.count(b"\n")
                    last = chunk[-1:]
    except (OSError, EOFError, gzip.BadGzipFile):  # pragma: no cover - defensive
        pass
    if last != b"\n":
        n += 1
    return max(n - 1, 0)


def explain(reason: str) -> str:
    """Return the advice for a quarantine reason or filter rule.

    Parameters
    ----------
    reason : str
        A quarantine reason (``q:`` prefix optional).

    Returns
    -------
    str
        What the reason means and what to do.

    Examples
    --------
    >>> explain("negative_value")
    'trade values and quantities must be >= 0; check the source record'
    """
    return QUARANTINE_REASONS.get(reason.removeprefix("q:"), "see docs/etl.md")
