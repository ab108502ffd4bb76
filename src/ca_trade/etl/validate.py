"""Validation and normalisation of raw Comtrade fields into canonical flow records.

:func:`transform` is the per-file transform: a pure function of (raw fields, code table,
file name) built from vectorised polars expressions. It types every field, maps codes to
ISO3 and gives each row a status (``_ci``, the index of the first failing check, named by
:data:`STATUS_OF`): ``ok``, ``f:<rule>`` (a named filter rule of
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
>>> row = transform(raw, code_table(), "f.csv").collect().row(0, named=True)
>>> STATUS_OF[row["_ci"]], COLUMN_OF[row["_ci"]], row["_qval"]
('q:negative_value', 'value_usd', '-5')
"""

from __future__ import annotations

import polars as pl

from ca_trade.etl.countries import CodeTable
from ca_trade.etl.layouts import CANONICAL_FIELDS, EXTRA_FIELD, REQUIRED_FIELDS
from ca_trade.etl.schema import FLOW_SCHEMA

__all__ = [
    "CHECK_ORDER",
    "CHECK_STATUS_WORLD",
    "COLUMN_OF",
    "DUP_KEY",
    "FLOW_CODES",
    "STATUS_OF",
    "dup_key_hash",
    "transform",
]

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
    "ragged_row",
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

#: Classification codes of each family (upper case); EBOPS is ``EB`` followed by digits.
_CLS_FAMILIES: dict[str, list[str]] = {
    "HS": [*(f"H{d}" for d in range(10)), "HS"],
    "SITC": ["S1", "S2", "S3", "S4", "SITC", "SITC1", "SITC2", "SITC3", "SITC4"],
    "BEC": ["BE", "BEC", *(f"B{d}" for d in range(10))],
}
_KNOWN_CLS: list[str] = [c for codes in _CLS_FAMILIES.values() for c in codes]
_CMD_RE = r"^[0-9A-Z]{1,12}$"
_FLOATS = ("value_usd", "cif_usd", "fob_usd", "net_weight_kg", "qty")


def _trimmed(raw: pl.Expr, as_written: pl.Expr, *, upper: bool = False) -> pl.Expr:
    """``raw`` where it is valid as written, else ``raw`` trimmed (and upper-cased).

    Files almost never need the normalisation, so it runs on a column that is null except
    where the value failed as written: the common case pays only for the cheap check.
    """
    slow = pl.when(~as_written).then(raw).str.strip_chars()
    if upper:
        slow = slow.str.to_uppercase()
    return pl.when(as_written).then(raw).otherwise(slow)


def _num(col: str) -> pl.Expr:
    """Parse ``col`` as a float, trimming surrounding whitespace only where needed."""
    raw = pl.col(col)
    fast = raw.cast(pl.Float64, strict=False)
    slow = pl.when(fast.is_null() & raw.is_not_null()).then(raw).str.strip_chars()
    return pl.coalesce(fast, slow.cast(pl.Float64, strict=False))


def _is_int(col: str) -> pl.Expr:
    """Return whether the parsed float in ``col`` is a finite integer that fits an Int32."""
    c = pl.col(col)
    return c.is_finite() & (c == c.round(0)) & (c.abs() < 2**31)


def _checks() -> list[tuple[pl.Expr, str, str | None]]:
    """(condition, status, offending column or None), in :data:`CHECK_ORDER`.

    The conditions refer to the intermediate columns built by :func:`transform`; they do
    not depend on the code table, so the status of each check index is a constant
    (:data:`STATUS_OF`, :data:`COLUMN_OF`).
    """
    year_ok = pl.col("_yi").is_not_null()
    out: list[tuple[pl.Expr, str, str | None]] = []
    out.append((pl.all_horizontal(pl.col(f).is_null() for f in _FIELDS), "f:blank_line", None))
    # More fields than the header (the first surplus one is the quarantined value): the
    # fields may be shifted, so none of them is trusted, wherever the row is.
    out.append((pl.col(EXTRA_FIELD).is_not_null(), "q:ragged_row", None))
    for c in REQUIRED_FIELDS:
        out.append((pl.col(c).is_null(), "q:missing_value", c))
    out.append((~year_ok, "q:bad_year", "year"))
    for c, short in (("reporter_code", "_rep"), ("partner_code", "_par"), ("qty_unit_code", "_qu")):
        bad = pl.col(c).is_not_null() & ~_is_int(short).fill_null(False)
        out.append((bad, "q:non_numeric", c))
    for c in _FLOATS:
        bad = pl.col(c).is_not_null() & ~pl.col(f"_{c}").is_finite().fill_null(False)
        out.append((bad, "q:non_numeric", c))
    for c in _FLOATS:
        out.append((pl.col(f"_{c}") < 0, "q:negative_value", c))
    out.append((pl.col("_flow").is_null(), "q:bad_flow_code", "flow"))
    out.append((pl.col("_cls").is_null(), "q:bad_classification", "classification"))
    out.append((~pl.col("_cmd_ok"), "q:bad_commodity_code", "cmd_code"))
    out.append((pl.col("_rep_iso").is_null(), "q:unknown_reporter_code", "reporter_code"))
    out.append((pl.col("_par_iso").is_null(), "q:unknown_partner_code", "partner_code"))
    out.append((pl.col("_par_i") == 0, "f:partner_world", None))
    group = pl.col("_rep_grp") | (pl.col("_par_grp") & (pl.col("_par_i") != 0))
    out.append((group, "f:group_area", None))
    for c, total, rule in (
        ("customs_code", "C00", "f:customs_breakdown"),
        ("mot_code", "0", "f:mot_breakdown"),
        ("mos_code", "0", "f:mos_breakdown"),
        ("partner2_code", "0", "f:partner2_breakdown"),
    ):
        raw = pl.col(c)
        out.append((_trimmed(raw, raw == total, upper=True) != total, rule, None))
    return out


_FIELDS: tuple[str, ...] = CANONICAL_FIELDS
#: Status of each value of the check index ``_ci`` (0: ``ok``; i: the i-th check failed).
STATUS_OF: dict[int, str] = {0: "ok", **{i + 1: c[1] for i, c in enumerate(_checks())}}
#: Offending column of each quarantining check index (None for a ragged row: the surplus
#: field belongs to no column).
COLUMN_OF: dict[int, str | None] = {
    i + 1: c[2] for i, c in enumerate(_checks()) if c[1].startswith("q:")
}


#: Check index of ``f:partner_world`` (World rows, kept as control totals).
CHECK_STATUS_WORLD: int = next(i for i, s in STATUS_OF.items() if s == "f:partner_world")


def _lookups(codes: CodeTable) -> pl.LazyFrame:
    """Code table as a join table: ``_k`` (code * 10000 + year), ISO3 and its flags."""
    f = codes.frame
    return f.lazy().select(
        (pl.col("code").cast(pl.Int64) * 10000 + pl.col("year").cast(pl.Int64)).alias("_k"),
        pl.col("iso3").alias("_iso"),
        pl.col("is_nes").alias("_nes"),
        pl.col("is_group").alias("_grp"),
    )


def transform(raw: pl.LazyFrame, codes: CodeTable, file_name: str) -> pl.LazyFrame:
    """Validate and normalise raw Comtrade fields (the per-file transform).

    Every step is a streaming expression or an order-keeping join on a small table, so the
    transform runs in bounded memory on files of any size.

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
        The canonical flow columns (:data:`ca_trade.etl.schema.FLOW_SCHEMA`) plus ``_ci``
        (index of the first failing check: 0 for ``ok``, see :data:`STATUS_OF` and
        :data:`COLUMN_OF`) and ``_qval`` (the offending raw text, for quarantined rows).
        Typed columns are null where the raw text did not parse.

    Examples
    --------
    >>> import polars as pl
    >>> from ca_trade.etl.countries import code_table
    >>> from ca_trade.etl.layouts import CANONICAL_FIELDS
    >>> raw = pl.LazyFrame({f: [None] for f in CANONICAL_FIELDS},
    ...                    schema={f: pl.String for f in CANONICAL_FIELDS})
    >>> raw = raw.with_columns(_line=pl.lit(7, pl.Int64))
    >>> ci = transform(raw, code_table(), "f.csv").collect()["_ci"].item()
    >>> STATUS_OF[ci]
    'f:blank_line'
    """
    names = raw.collect_schema().names()
    if sorted(c for c in names if c not in ("_line", EXTRA_FIELD)) != sorted(_FIELDS):
        raise ValueError(f"transform expects _line and {_FIELDS}, got {names}")
    if EXTRA_FIELD not in names:
        raw = raw.with_columns(pl.lit(None, pl.String).alias(EXTRA_FIELD))
    raw_cls = pl.col("classification")
    cls = _trimmed(raw_cls, raw_cls.is_in(_KNOWN_CLS), upper=True)
    family = (
        pl.when(cls.is_in(_CLS_FAMILIES["HS"]))
        .then(pl.lit("HS"))
        .when(cls.is_in(_CLS_FAMILIES["SITC"]))
        .then(pl.lit("SITC"))
        .when(cls.is_in(_CLS_FAMILIES["BEC"]))
        .then(pl.lit("BEC"))
        .when(pl.when(~cls.is_in(_KNOWN_CLS)).then(cls).str.contains(r"^EB[0-9]*$"))
        .then(pl.lit("EBOPS"))
        .otherwise(pl.lit(None, pl.String))
    )
    raw_cmd = pl.col("cmd_code")
    cmd_as_written = raw_cmd.str.contains(_CMD_RE)
    cmd = _trimmed(raw_cmd, cmd_as_written, upper=True)
    raw_period = pl.col("period")
    raw_year = pl.col("year")
    period = pl.coalesce(
        _trimmed(raw_period, raw_period.cast(pl.Int64, strict=False).is_not_null()),
        _trimmed(raw_year, raw_year.cast(pl.Int64, strict=False).is_not_null()),
    )
    raw_freq = pl.col("freq")
    freq = pl.coalesce(
        _trimmed(raw_freq, raw_freq.is_in(["A", "M"]), upper=True),
        pl.when(period.str.len_chars() == 6).then(pl.lit("M")).otherwise(pl.lit("A")),
    )
    raw_flow = pl.col("flow")
    lf = raw.with_columns(
        _cls=family,
        _year=_num("year"),
        _flowu=_trimmed(raw_flow, raw_flow.is_in(list(FLOW_CODES)), upper=True),
        _rep=_num("reporter_code"),
        _par=_num("partner_code"),
        **{f"_{c}": _num(c) for c in _FLOATS},
        _qu=_num("qty_unit_code"),
        _cmd_ok=cmd_as_written | pl.when(~cmd_as_written).then(cmd).str.contains(_CMD_RE),
    )
    year = pl.col("_year")
    year_ok = (year == year.round(0)) & year.is_between(1900, 2100)
    lf = lf.with_columns(
        _yi=pl.when(year_ok).then(year).cast(pl.Int32),
        _rep_i=pl.when(_is_int("_rep")).then(pl.col("_rep")).cast(pl.Int32),
        _par_i=pl.when(_is_int("_par")).then(pl.col("_par")).cast(pl.Int32),
    )
    # Time-valid code lookup: a left join on code * 10000 + year that keeps the row order
    # (replace_strict with a large mapping is not streamed and would hold the whole file).
    table = _lookups(codes)
    flows = pl.LazyFrame(
        {"_flowu": list(FLOW_CODES), "_flow": list(FLOW_CODES.values())},
        schema={"_flowu": pl.String, "_flow": pl.String},
    )
    lf = lf.join(flows, on="_flowu", how="left", maintain_order="left")
    for side in ("rep", "par"):
        key = pl.col(f"_{side}_i").cast(pl.Int64) * 10000 + pl.col("_yi").cast(pl.Int64)
        lf = lf.with_columns(key.alias(f"_{side}_k")).join(
            table.rename({c: f"_{side}{c}" for c in ("_iso", "_nes", "_grp")}),
            left_on=f"_{side}_k",
            right_on="_k",
            how="left",
            maintain_order="left",
        )

    # The index of the first failing check (0 = all passed) in one when/then chain.
    checks = _checks()
    first: pl.Expr = pl.lit(0, pl.Int16)
    for i in range(len(checks), 0, -1):
        first = (
            pl.when(checks[i - 1][0].fill_null(False)).then(pl.lit(i, pl.Int16)).otherwise(first)
        )
    lf = lf.with_columns(_ci=first)
    qval: pl.Expr = pl.lit(None, pl.String)
    for c in (*_FIELDS, None):
        idx = [i for i, name in COLUMN_OF.items() if name == c]
        if idx:
            value = pl.col(EXTRA_FIELD if c is None else c)
            qval = pl.when(pl.col("_ci").is_in(idx)).then(value).otherwise(qval)

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
            pl.when(_is_int("_qu")).then(pl.col("_qu")).cast(pl.Int32).alias("qty_unit_code"),
            pl.col("flag"),
            pl.lit(file_name).alias("source_file"),
            pl.col("_line").alias("source_line"),
            "_ci",
            qval.alias("_qval"),
        ).cast(FLOW_SCHEMA)  # type: ignore[arg-type]
    )


def dup_key_hash() -> pl.Expr:
    """Return a 64-bit hash of the duplicate key :data:`DUP_KEY` (candidates for duplicates).

    Returns
    -------
    polars.Expr
        UInt64; equal keys give equal hashes (the converse is checked on the key columns).

    Examples
    --------
    >>> df = pl.DataFrame({c: ["a", "a"] for c in DUP_KEY})
    >>> df.select(dup_key_hash().n_unique()).item()
    1
    """
    return pl.struct(DUP_KEY).hash(seed=0)
