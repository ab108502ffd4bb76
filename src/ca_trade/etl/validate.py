"""Validation and normalisation of raw Comtrade fields into canonical flow records.

:func:`transform` is the per-file transform: a pure function of (raw fields, code table,
file name) built from vectorised polars expressions. It types every field, maps codes to
ISO3 and gives each row a status: ``ok``, ``f:<rule>`` (a named filter rule of
:data:`ca_trade.etl.schema.FILTER_RULES`) or ``q:<reason>`` (quarantined, with the offending
column and value). The first failing check decides a row's status; checks run in the order
of :data:`CHECK_ORDER`.

Examples
--------
>>> import polars as pl
>>> from ca_trade.etl.countries import code_table
>>> from ca_trade.etl.layouts import CANONICAL_FIELDS
>>> raw = pl.LazyFrame({f: [None] for f in CANONICAL_FIELDS},
...                    schema={f: pl.String for f in CANONICAL_FIELDS}).with_columns(
...     _line=pl.lit(2, pl.Int64), classification=pl.lit("H5"), year=pl.lit("2019"),
...     flow=pl.lit("X"), reporter_code=pl.lit("398"), partner_code=pl.lit("156"),
...     cmd_code=pl.lit("TOTAL"), value_usd=pl.lit("-5"))
>>> out = transform(raw, code_table(), "f.csv").collect()
>>> out.select("_status", "_qcol", "_qval").row(0)
('q:negative_value', 'value_usd', '-5')
"""

from __future__ import annotations

import polars as pl

from ca_trade.etl.countries import CodeTable
from ca_trade.etl.layouts import _REQUIRED
from ca_trade.etl.schema import FLOW_SCHEMA

__all__ = ["CHECK_ORDER", "DUP_KEY", "FLOW_CODES", "transform"]

#: Two records with equal values in these columns describe the same flow.
DUP_KEY: list[str] = [
    "classification",
    "year",
    "classification_version",
    "period",
    "reporter_code",
    "partner_code",
    "flow",
    "cmd_code",
]

#: Accepted flow codes: legacy 1/2/3/4 and the Comtrade+ codes, to Comtrade+ codes.
FLOW_CODES: dict[str, str] = {
    "1": "M",
    "2": "X",
    "3": "RX",
    "4": "RM",
    **{c: c for c in ("M", "X", "RX", "RM", "DX", "FM", "MIP", "XIP", "MOP", "XOP")},
    "IMPORT": "M",
    "EXPORT": "X",
    "RE-EXPORT": "RX",
    "RE-IMPORT": "RM",
}

#: Order in which checks decide a row's status (first failure wins).
CHECK_ORDER: tuple[str, ...] = (
    "blank_line",
    "missing_value",
    "bad_year",
    "non_numeric",
    "negative_value",
    "bad_flow_code",
    "bad_classification",
    "bad_commodity_code",
    "unknown_reporter_code",
    "unknown_partner_code",
    "partner_world",
    "group_area",
    "customs_breakdown",
    "mot_breakdown",
    "mos_breakdown",
    "partner2_breakdown",
)

_FLOATS = ("value_usd", "cif_usd", "fob_usd", "net_weight_kg", "qty")
_INTS = ("reporter_code", "partner_code", "qty_unit_code")


def _num(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Float64, strict=False)

    return pl.col(col).cast(pl.Float64, strict=False)


def _lookups(codes: CodeTable) -> tuple[dict[int, str], dict[str, int]]:
    """(code * 10000 + year) -> ISO3, and ISO3 -> flags (1: nes, 2: group)."""
    f = codes.frame
    keys = (f["code"].cast(pl.Int64) * 10000 + f["year"].cast(pl.Int64)).to_list()
    iso_of = dict(zip(keys, f["iso3"].to_list()))
    flags = f.select(
        "iso3", (pl.col("is_nes").cast(pl.Int8) + 2 * pl.col("is_group").cast(pl.Int8)).alias("fl")
    ).unique("iso3")
    return iso_of, dict(zip(flags["iso3"].to_list(), flags["fl"].to_list()))


def transform(raw: pl.LazyFrame, codes: CodeTable, file_name: str) -> pl.LazyFrame:
    """Validate and normalise raw Comtrade fields (the per-file transform).

    Parameters
    ----------
    raw : polars.LazyFrame
        From :func:`ca_trade.etl.layouts.scan_layout`: ``_line`` and the canonical raw
        fields as text.
    codes : CodeTable
        Time-valid area codes (:func:`ca_trade.etl.countries.code_table`).
    file_name : str
        Recorded in ``source_file``.

    Returns
    -------
    polars.LazyFrame
        The canonical flow columns (:data:`ca_trade.etl.schema.FLOW_SCHEMA`) plus
        ``_status`` (``ok``, ``f:<rule>`` or ``q:<reason>``), ``_qcol`` and ``_qval`` (the
        offending column and its raw text, for quarantined rows) and ``_key`` (a hash of
        :data:`DUP_KEY`). Typed columns are null
        where the raw text did not parse.

    Examples
    --------
    >>> import polars as pl
    >>> from ca_trade.etl.countries import code_table
    >>> from ca_trade.etl.layouts import CANONICAL_FIELDS
    >>> raw = pl.LazyFrame({f: [None] for f in CANONICAL_FIELDS},
    ...                    schema={f: pl.String for f in CANONICAL_FIELDS})
    >>> raw = raw.with_columns(_line=pl.lit(7, pl.Int64))
    >>> transform(raw, code_table(), "f.csv").collect()["_status"].to_list()
    ['f:blank_line']
    """
    fields = [c for c in raw.collect_schema().names() if c != "_line"]
    cls = pl.col("classification").str.to_uppercase()
    family = (
        pl.when(cls.str.contains(r"^(H[0-9S]|HS)$"))
        .then(pl.lit("HS"))
        .when(cls.str.contains(r"^(S[1-4]|SITC[1-4]?)$"))
        .then(pl.lit("SITC"))
        .when(cls.str.contains(r"^(BE|BEC|B[0-9])$"))
        .then(pl.lit("BEC"))
        .when(cls.str.contains(r"^EB[0-9]*$"))
        .then(pl.lit("EBOPS"))
        .otherwise(pl.lit(None, pl.String))
    )
    cmd = pl.col("cmd_code").str.to_uppercase()
    year_f = _num("year")
    period = pl.coalesce(pl.col("period"), pl.col("year"))
    freq = pl.coalesce(
        pl.col("freq").str.to_uppercase(),
        pl.when(period.str.len_chars() == 6).then(pl.lit("M")).otherwise(pl.lit("A")),
    )
    lf = raw.with_columns(
        _cls=family,
        _year=year_f,
        _flow=pl.col("flow").str.to_uppercase().replace_strict(FLOW_CODES, default=None),
        _rep=_num("reporter_code"),
        _par=_num("partner_code"),
        **{f"_{c}": _num(c) for c in _FLOATS},
        _qu=_num("qty_unit_code"),
    )
    year_ok = (
        pl.col("_year").is_not_null()
        & (pl.col("_year") == pl.col("_year").round(0))
        & pl.col("_year").is_between(1900, 2100)
    )
    lf = lf.with_columns(_yi=pl.when(year_ok).then(pl.col("_year")).cast(pl.Int32))
    # Time-valid code lookup as a vectorised dictionary replace on code * 10000 + year
    # (faster than a join in the streaming engine and keeps row order).
    iso_of, flags_of = _lookups(codes)
    for side, col in (("rep", "_rep"), ("par", "_par")):
        code_ok = pl.col(col).is_finite() & (pl.col(col) == pl.col(col).round(0))
        ci = pl.when(code_ok & pl.col(col).abs().lt(2**31)).then(pl.col(col)).cast(pl.Int32)
        lf = lf.with_columns(ci.alias(f"_{side}_i"))
        key = pl.col(f"_{side}_i").cast(pl.Int64) * 10000 + pl.col("_yi").cast(pl.Int64)
        lf = lf.with_columns(key.replace_strict(iso_of, default=None).alias(f"_{side}_iso"))
        flag = pl.col(f"_{side}_iso").replace_strict(flags_of, default=0, return_dtype=pl.Int8)
        lf = lf.with_columns(
            pl.when(pl.col(f"_{side}_iso").is_not_null())
            .then((flag & 1) == 1)
            .alias(f"_{side}_nes"),
            pl.when(pl.col(f"_{side}_iso").is_not_null())
            .then((flag & 2) == 2)
            .alias(f"_{side}_grp"),
        )

    # (condition, status, offending column or None) in CHECK_ORDER.
    checks: list[tuple[pl.Expr, str, str | None]] = []
    checks.append((pl.all_horizontal(pl.col(f).is_null() for f in fields), "f:blank_line", None))
    for c in _REQUIRED:
        checks.append((pl.col(c).is_null(), "q:missing_value", c))
    checks.append((~year_ok, "q:bad_year", "year"))
    for c in ("reporter_code", "partner_code", "qty_unit_code"):
        short = {"reporter_code": "_rep", "partner_code": "_par", "qty_unit_code": "_qu"}[c]
        bad = pl.col(c).is_not_null() & (
            pl.col(short).is_null()
            | ~pl.col(short).is_finite()
            | (pl.col(short) != pl.col(short).round(0))
            | (pl.col(short).abs() >= 2**31)
        )
        checks.append((bad, "q:non_numeric", c))
    for c in _FLOATS:
        bad = pl.col(c).is_not_null() & (pl.col(f"_{c}").is_null() | ~pl.col(f"_{c}").is_finite())
        checks.append((bad, "q:non_numeric", c))
    for c in _FLOATS:
        checks.append((pl.col(f"_{c}") < 0, "q:negative_value", c))
    checks.append((pl.col("_flow").is_null(), "q:bad_flow_code", "flow"))
    checks.append((pl.col("_cls").is_null(), "q:bad_classification", "classification"))
    checks.append(
        (~cmd.str.contains(r"^[0-9A-Z]{1,12}$"), "q:bad_commodity_code", "cmd_code"),
    )
    checks.append((pl.col("_rep_iso").is_null(), "q:unknown_reporter_code", "reporter_code"))
    checks.append((pl.col("_par_iso").is_null(), "q:unknown_partner_code", "partner_code"))
    checks.append((pl.col("_par_i") == 0, "f:partner_world", None))
    checks.append(
        (
            (pl.col("_rep_grp") | (pl.col("_par_grp") & (pl.col("_par_i") != 0))),
            "f:group_area",
            None,
        )
    )
    checks.append(
        (
            pl.col("customs_code").str.to_uppercase().is_in(["C00"]).not_(),
            "f:customs_breakdown",
            None,
        )
    )
    checks.append((pl.col("mot_code").is_in(["0"]).not_(), "f:mot_breakdown", None))
    checks.append((pl.col("mos_code").is_in(["0"]).not_(), "f:mos_breakdown", None))
    checks.append((pl.col("partner2_code").is_in(["0"]).not_(), "f:partner2_breakdown", None))

    # One pass over the checks gives the index of the first failing one (0 = all passed);
    # status, column and raw value are then cheap lookups on that small integer.
    first: pl.Expr = pl.lit(0, pl.Int16)
    for i in range(len(checks), 0, -1):
        first = (
            pl.when(checks[i - 1][0].fill_null(False)).then(pl.lit(i, pl.Int16)).otherwise(first)
        )
    status_of = {0: "ok", **{i + 1: c[1] for i, c in enumerate(checks)}}
    col_of = {i + 1: c[2] for i, c in enumerate(checks) if c[2] is not None}
    lf = lf.with_columns(_ci=first)
    lf = lf.with_columns(
        _status=pl.col("_ci").replace_strict(status_of, return_dtype=pl.String),
        _qcol=pl.col("_ci").replace_strict(col_of, default=None, return_dtype=pl.String),
    )
    qval: pl.Expr = pl.lit(None, pl.String)
    for c in fields:
        idx = [i for i, name in col_of.items() if name == c]
        if idx:
            qval = pl.when(pl.col("_ci").is_in(idx)).then(pl.col(c)).otherwise(qval)
    lf = lf.with_columns(_qval=qval)

    return (
        lf.select(
            pl.col("_cls").alias("classification"),
            pl.col("_yi").alias("year"),
            pl.coalesce(cls, pl.lit("HS")).alias("classification_version"),
            period.alias("period"),
            freq.alias("freq"),
            pl.col("_rep_i").alias("reporter_code"),
            pl.col("_rep_iso").alias("reporter"),
            pl.col("_par_i").alias("partner_code"),
            pl.col("_par_iso").alias("partner"),
            pl.col("_par_nes").alias("partner_is_nes"),
            pl.col("_rep_nes").alias("reporter_is_nes"),
            pl.col("_flow").alias("flow"),
            cmd.alias("cmd_code"),
            pl.col("_value_usd").alias("value_usd"),
            pl.col("_cif_usd").alias("cif_usd"),
            pl.col("_fob_usd").alias("fob_usd"),
            pl.col("_net_weight_kg").alias("net_weight_kg"),
            pl.col("_qty").alias("qty"),
            pl.when(pl.col("_qu").is_finite() & (pl.col("_qu").abs() < 2**31))
            .then(pl.col("_qu"))
            .cast(pl.Int32)
            .alias("qty_unit_code"),
            pl.col("flag"),
            pl.lit(file_name).alias("source_file"),
            pl.col("_line").alias("source_line"),
            "_status",
            "_qcol",
            "_qval",
        )
        .cast(FLOW_SCHEMA)  # type: ignore[arg-type]
        .with_columns(
            # Hash of the duplicate key (DUP_KEY): pass 2 finds duplicate candidates on it.
            pl.struct(DUP_KEY).hash(seed=0).alias("_key")
        )
    )
