r"""Pass 1 of ingest: one source file to staged, partitioned Parquet (the per-file cache).

A file is read once: :func:`ca_trade.etl.layouts.scan_layout` and
:func:`ca_trade.etl.validate.transform` stream it through Polars, and a single partitioned
sink splits the rows by status into a stage directory::

    flows/classification=HS/year=2019/part-00000.parquet     status ok, final schema
    controls/classification=HS/year=2019/part-00000.parquet  partner World (f:partner_world)
    rest/part-00000.parquet                                  every other row

All files have the canonical flow schema less the partition keys, which only the folder
names carry (:data:`ca_trade.etl.schema.FILE_SCHEMA`), zstd,
rows in source-line order, fixed row groups, so a partition that comes from one file only
can be placed in the dataset as it is (pass 2 links it instead of rewriting it). In
``rest/``, two columns carry the validation outcome instead of their usual content:
``qty_unit_code`` holds the index of the failing check (:data:`REST_CHECK`, see
:data:`ca_trade.etl.validate.STATUS_OF`) and ``flag`` the offending raw text
(:data:`REST_VALUE`).

The source is a plain UTF-8 file with ``\n`` or ``\r\n`` line ends, streamed straight
from disk; ingest first turns any other file (gzip, UTF-16, ``\r`` line ends) into one with
:func:`ca_trade.etl.rawtext.to_plain` (Polars would inflate a gzip file whole in memory).
Memory is bounded by the number of partitions times one row group
(:data:`ca_trade.etl.store.ROW_GROUP_SIZE`), whatever the file size.

Examples
--------
>>> import tempfile, pathlib
>>> from ca_trade.etl.countries import code_table
>>> from ca_trade.etl.layouts import read_head, sniff_header
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> src = d / "kaz.csv"
>>> _ = src.write_text(
...     "refYear,reporterCode,flowCode,partnerCode,cmdCode,primaryValue,classificationCode\n"
...     "2019,398,X,156,TOTAL,100,H5\n2019,398,X,0,TOTAL,900,H5\n2019,398,X,156,TOTAL,-1,H5\n")
>>> info = sniff_header(read_head(src)[0])
>>> stage_file(src, "kaz.csv", info, code_table(), d / "stage")
>>> sorted(staged_partitions(d / "stage"))
[('controls', 'HS', 2019), ('flows', 'HS', 2019)]
>>> [p.name for p in rest_files(d / "stage")]
['part-00000.parquet']
>>> staged_rows(d / "stage")
3
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from ca_trade.etl.countries import CodeTable
from ca_trade.etl.layouts import HeaderInfo, scan_layout
from ca_trade.etl.schema import FILE_SCHEMA
from ca_trade.etl.store import SINK_OPTIONS
from ca_trade.etl.validate import CHECK_STATUS_WORLD, transform

__all__ = [
    "GROUPS",
    "REST_CHECK",
    "REST_VALUE",
    "rest_files",
    "stage_file",
    "staged_partitions",
    "staged_rows",
]

#: Stage sub-directories of partitioned rows: ok rows and World control rows.
GROUPS: tuple[str, ...] = ("flows", "controls")
#: Column of ``rest/`` files that holds the index of the failing check.
REST_CHECK = "qty_unit_code"
#: Column of ``rest/`` files that holds the offending raw text (quarantined rows).
REST_VALUE = "flag"


def _staged(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add the partition keys and put the outcome of ``rest`` rows in their two columns."""
    ci = pl.col("_ci")
    rest = (ci != 0) & (ci != CHECK_STATUS_WORLD)
    cols: list[pl.Expr] = []
    for c in FILE_SCHEMA:
        if c == REST_CHECK:
            cols.append(pl.when(rest).then(ci.cast(pl.Int32)).otherwise(pl.col(c)).alias(c))
        elif c == REST_VALUE:
            cols.append(pl.when(rest).then(pl.col("_qval")).otherwise(pl.col(c)).alias(c))
        else:
            cols.append(pl.col(c))
    group = (
        pl.when(ci == 0)
        .then(pl.lit("flows"))
        .when(ci == CHECK_STATUS_WORLD)
        .then(pl.lit("controls"))
        .otherwise(pl.lit("rest"))
    )
    return frame.select(
        group.alias("_g"),
        pl.when(rest).then(None).otherwise(pl.col("classification")).alias("_c"),
        pl.when(rest).then(None).otherwise(pl.col("year")).alias("_y"),
        *cols,
    )


def _sink(frame: pl.LazyFrame, out: Path) -> None:
    """Write a file's rows with a single partitioned sink (the keys go to the folder names)."""

    def path_of(args: Any) -> Path:  # relative to the sink's base folder ``out``
        group, cls, year = args.partition_keys.row(0)
        name = f"part-{args.index_in_partition:05d}.parquet"
        if group == "rest":
            return Path("rest") / name
        return Path(group) / f"classification={cls}" / f"year={year}" / name

    _staged(frame).sink_parquet(
        pl.PartitionBy(
            out,
            key=["_g", "_c", "_y"],
            include_key=False,
            file_path_provider=path_of,
            approximate_bytes_per_file=None,
        ),
        mkdir=True,
        **SINK_OPTIONS,
    )


def stage_file(path: Path, rel: str, info: HeaderInfo, codes: CodeTable, out: Path) -> None:
    r"""Validate one Comtrade file into the stage directory ``out`` (created; must not exist).

    Parameters
    ----------
    path : Path
        The source as plain UTF-8 text with ``\n`` or ``\r\n`` line ends (an absolute
        path).
    rel : str
        Its name relative to raw_dir (recorded in ``source_file``).
    info : HeaderInfo
        Its header (:func:`ca_trade.etl.layouts.sniff_header`), with a layout.
    codes : CodeTable
        Time-valid area codes.
    out : Path
        Stage directory to create (an absolute path).

    Raises
    ------
    polars.exceptions.PolarsError, OSError
        When the file cannot be parsed (ingest quarantines it whole).
    """
    out.mkdir(parents=True)
    _sink(transform(scan_layout(path, info), codes, rel), out)


def staged_rows(stage: Path) -> int:
    """Count the rows of a stage directory (every group), from the Parquet footers.

    Parameters
    ----------
    stage : Path
        Directory written by :func:`stage_file`.

    Returns
    -------
    int
        Rows staged: one per data line of the source file when nothing went wrong.

    Raises
    ------
    OSError, ValueError
        A staged file is damaged (its footer cannot be read).
    """
    files = [f for fs in staged_partitions(stage).values() for f in fs] + rest_files(stage)
    return sum(pq.read_metadata(f).num_rows for f in files)


def staged_partitions(stage: Path) -> dict[tuple[str, str, int], list[Path]]:
    """Return the staged partition files of a stage directory.

    Parameters
    ----------
    stage : Path
        Directory written by :func:`stage_file`.

    Returns
    -------
    dict
        ``(group, classification, year)`` to its files in row order (group is one of
        :data:`GROUPS`).
    """
    out: dict[tuple[str, str, int], list[Path]] = {}
    for group in GROUPS:
        for folder in sorted((stage / group).glob("classification=*/year=*")):
            cls = folder.parent.name.split("=", 1)[1]
            year = int(folder.name.split("=", 1)[1])
            out[(group, cls, year)] = sorted(folder.glob("part-*.parquet"))
    return out


def rest_files(stage: Path) -> list[Path]:
    """Return the ``rest/`` files of a stage directory (filtered and quarantined rows).

    Parameters
    ----------
    stage : Path
        Directory written by :func:`stage_file`.

    Returns
    -------
    list of Path
        In row order.
    """
    return sorted((stage / "rest").glob("part-*.parquet"))
