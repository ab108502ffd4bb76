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

from pathlib import Path

import polars as pl

from ca_trade.etl.rawtext import count_lines, sniff_file
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
    r"""Count the data lines of a text file, whatever its compression, encoding and line ends.

    Lines end at ``\n``, ``\r\n`` or a lone ``\r`` (:class:`ca_trade.etl.rawtext.LineCounter`,
    in UTF-16 code units for a UTF-16 file); a last line without a line end counts; the
    header does not. Whatever a corrupt gzip stream yields before its error counts.

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
    >>> _ = p.write_bytes(b"h\n1\r2")
    >>> count_data_lines(p)
    2
    """
    return count_lines(path, sniff_file(path).format).data_lines


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
