"""Canonical schemas of the ETL: flow records, quarantine records and filter rules.

The canonical flow record is what :func:`ca_trade.etl.ingest` writes to
``processed_dir/flows/`` (hive-partitioned ``classification=/year=``, zstd Parquet). Every
column, its type and its unit is listed in :data:`FLOW_COLUMNS`; ``docs/etl.md`` renders the
same table for users.

Examples
--------
>>> from ca_trade.etl.schema import FLOW_SCHEMA, QUARANTINE_SCHEMA
>>> FLOW_SCHEMA["value_usd"]
Float64
>>> list(QUARANTINE_SCHEMA)[:5]
['file', 'line', 'column', 'value', 'reason']
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "FILE_SCHEMA",
    "FILTER_RULES",
    "FLOW_COLUMNS",
    "FLOW_SCHEMA",
    "PARTITION_KEYS",
    "QUARANTINE_REASONS",
    "QUARANTINE_SCHEMA",
    "ROW_ORDER",
    "flow_schema_markdown",
]

#: Column name -> (polars dtype, unit / description). Order is the on-disk column order.
FLOW_COLUMNS: dict[str, tuple[pl.DataType, str]] = {
    "classification": (
        pl.String(),
        "classification family: HS, SITC, BEC, EBOPS (partition key: in the folder name)",
    ),
    "year": (pl.Int32(), "calendar year of the flow (partition key: in the folder name)"),
    "classification_version": (
        pl.String(),
        "revision as published: H0..H6, S1..S4, EB02, ... ('HS' where Comtrade+ gives none)",
    ),
    "period": (pl.String(), "reporting period, YYYY (annual) or YYYYMM (monthly)"),
    "freq": (pl.String(), "A (annual) or M (monthly)"),
    "reporter_code": (pl.Int32(), "Comtrade reporter area code (M49-based)"),
    "reporter": (pl.String(), "reporter ISO3 (time-valid mapping; X.. codes for 'nes' areas)"),
    "partner_code": (pl.Int32(), "Comtrade partner area code"),
    "partner": (pl.String(), "partner ISO3 (WLD for World, X.. for 'nes' areas)"),
    "partner_is_nes": (pl.Boolean(), "partner is a 'not elsewhere specified' area, not a country"),
    "reporter_is_nes": (pl.Boolean(), "reporter is a 'nes' area (e.g. 490 Other Asia, nes)"),
    "flow": (pl.String(), "M import, X export, RM re-import, RX re-export (Comtrade+ codes)"),
    "cmd_code": (pl.String(), "commodity code as text (leading zeros kept; TOTAL for all goods)"),
    "value_usd": (
        pl.Float64(),
        "primary trade value, current US dollars (imports CIF, exports FOB as reported)",
    ),
    "cif_usd": (pl.Float64(), "CIF value, US dollars, where reported (else null)"),
    "fob_usd": (pl.Float64(), "FOB value, US dollars, where reported (else null)"),
    "net_weight_kg": (pl.Float64(), "net weight, kilograms (null where not reported)"),
    "qty": (pl.Float64(), "quantity in qty_unit_code units (null where not reported)"),
    "qty_unit_code": (pl.Int32(), "Comtrade quantity unit code"),
    "flag": (pl.String(), "Comtrade estimation flag as published (null where absent)"),
    "source_file": (pl.String(), "source file name, relative to raw_dir"),
    "source_line": (pl.Int64(), "1-based line of the record in the (decompressed) source file"),
}

FLOW_SCHEMA: dict[str, pl.DataType] = {k: v[0] for k, v in FLOW_COLUMNS.items()}

#: Partition keys of ``flows/`` and ``controls/``: stored in the hive folder names
#: (``classification=HS/year=2019``) only, never inside the files, so every reader
#: (pandas, pyarrow, polars, DuckDB, dask) reconstructs them with one type.
PARTITION_KEYS: tuple[str, ...] = ("classification", "year")

#: Columns stored inside each partition file: the flow schema less the partition keys.
FILE_SCHEMA: dict[str, pl.DataType] = {
    k: v for k, v in FLOW_SCHEMA.items() if k not in PARTITION_KEYS
}

#: Order of rows inside one partition: source file name, then line (deterministic, and
#: it lets ingest stream partitions without a global sort).
ROW_ORDER: list[str] = ["source_file", "source_line"]

#: Quarantine record columns: one row per quarantined input row (``rows`` = 1) or one
#: whole-file record (``line`` null, ``rows`` = the number of data lines in the file).
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "file": pl.String(),
    "line": pl.Int64(),
    "column": pl.String(),
    "value": pl.String(),
    "reason": pl.String(),
    "rows": pl.Int64(),
}

#: Reasons a row (or a whole file) is quarantined, with the advice given to users.
QUARANTINE_REASONS: dict[str, str] = {
    "ragged_row": "the row has more fields than the header (value: the first surplus field); "
    "fields may be shifted, so fix the separators or quoting of that line",
    "missing_value": "a required field is empty; re-download the file or fill the field",
    "non_numeric": "a numeric field holds text; check the file's encoding and delimiter",
    "negative_value": "trade values and quantities must be >= 0; check the source record",
    "bad_year": "year outside 1900-2100 or not an integer",
    "bad_flow_code": "flow code not one of 1/2/3/4 (legacy) or M/X/RM/RX/... (Comtrade+)",
    "bad_classification": "classification code is not a known Comtrade nomenclature code",
    "bad_commodity_code": "commodity code must be digits (or TOTAL / AG2-style codes)",
    "unknown_reporter_code": "reporter code not in the time-valid Comtrade area table",
    "unknown_partner_code": "partner code not in the time-valid Comtrade area table",
    "duplicate_conflict": "two records share a key but disagree on the value; fix the source",
    "unparseable_file": "the file could not be parsed at all (see value for the parser error)",
    "unknown_layout": "header matches none of the four Comtrade layouts nor a covariate source",
    "missing_columns": "header lacks columns required by its layout (listed in value)",
    "duplicate_columns": "header names a column ingest reads more than once (named in value); "
    "remove or rename the repeated column",
    "not_text": "binary content, not CSV text (a zip, Excel or damaged file); export it as CSV",
    "record_count_mismatch": "the CSV reader's record count differs from the file's own line "
    "count (value: both); usually a quoted field that spans lines, so lines were merged",
}

#: Named filter rules: rows set aside on purpose, counted per rule in the report.
FILTER_RULES: dict[str, str] = {
    "partner_world": "partner 0 (World): kept aside as control totals in controls/",
    "group_area": "reporter or partner is a country group (EU, ASEAN, ...): would double count",
    "customs_breakdown": "Comtrade+ customs procedure other than C00 (total) would double count",
    "mot_breakdown": "mode of transport other than 0 (total) would double count",
    "mos_breakdown": "mode of supply other than 0 (total) would double count",
    "partner2_breakdown": "second partner other than 0 (World) would double count",
    "duplicate_record": "repeat of an earlier record (same key, same value_usd): first kept",
    "blank_line": "empty line in the source file",
}


def flow_schema_markdown() -> str:
    """Render the canonical flow schema as a Markdown table.

    Returns
    -------
    str
        A table with one row per column: name, type, unit and meaning.

    Examples
    --------
    >>> print(flow_schema_markdown().splitlines()[0])
    | column | type | unit / meaning |
    """
    lines = ["| column | type | unit / meaning |", "|---|---|---|"]
    for name, (dtype, doc) in FLOW_COLUMNS.items():
        lines.append(f"| `{name}` | {dtype} | {doc} |")
    return "\n".join(lines)
