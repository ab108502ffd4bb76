"""Time-valid mapping of UN Comtrade area codes to ISO3.

Built on the packaged table :func:`ca_trade.facts.comtrade_areas` (``code, iso3, valid_from,
valid_to, is_nes, is_group``). A code maps to an ISO3 only in the years its row is valid
(inclusive; empty bounds are open), so 810 is ``SUN`` (USSR) up to 1991 and unknown after;
historical entities stay their own ISO3-like ids (``SUN``, ``YUG``, ``CSK``), never their
successors. 'Not elsewhere specified' areas (899 ``XNS``, 490 ``XOA``, 492 ``XEU``, ...) map to
their ``X..`` pseudo-codes with ``is_nes`` set, never to a country (492's published ISO field
``MCO`` is ignored). Codes absent in a year are reported as unknown and quarantined by
:func:`ca_trade.etl.ingest`.

Examples
--------
>>> table = code_table()
>>> map_codes(table, [842, 810, 810, 899], [2019, 1990, 1995, 2019])
[('USA', False, False), ('SUN', False, False), None, ('XNS', True, False)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import polars as pl

from ca_trade import facts
from ca_trade.exceptions import DataValidationError

__all__ = ["YEAR_RANGE", "CodeTable", "code_table", "map_codes"]

#: Years the expanded (code, year) table covers.
YEAR_RANGE: tuple[int, int] = (1900, 2100)


@dataclass(frozen=True)
class CodeTable:
    """Expanded, time-valid Comtrade code table: one row per valid (code, year).

    Attributes
    ----------
    frame : polars.DataFrame
        Columns ``code`` (Int32), ``year`` (Int32), ``iso3`` (String), ``is_nes``,
        ``is_group`` (Boolean); unique on (code, year).
    digest : str
        A short fingerprint of the source table (part of the ingest cache key).
    """

    frame: pl.DataFrame
    digest: str


def code_table(areas: pd.DataFrame | None = None) -> CodeTable:
    """Expand a Comtrade area table into one row per valid (code, year).

    Parameters
    ----------
    areas : pandas.DataFrame, optional
        Columns ``code, iso3, valid_from, valid_to, is_nes, is_group``; by default the
        packaged :func:`ca_trade.facts.comtrade_areas`.

    Returns
    -------
    CodeTable
        The expanded table.

    Raises
    ------
    DataValidationError
        If two rows claim the same code in the same year, or a column is missing.

    Examples
    --------
    >>> t = code_table()
    >>> t.frame.filter((pl.col("code") == 398) & (pl.col("year") == 2019))["iso3"].to_list()
    ['KAZ']
    """
    if areas is None:
        areas = facts.comtrade_areas()
    need = ["code", "iso3", "valid_from", "valid_to", "is_nes", "is_group"]
    lacking = [c for c in need if c not in areas.columns]
    if lacking:
        raise DataValidationError(
            f"Comtrade area table lacks columns {lacking}; it needs {need} "
            "(see docs/design.md, comtrade_areas.csv)"
        )
    lo, hi = YEAR_RANGE
    base = pl.DataFrame(
        {
            "code": pd.to_numeric(areas["code"]).astype("int64").to_numpy(),
            "iso3": areas["iso3"].astype(str).to_numpy(),
            "valid_from": pd.to_numeric(areas["valid_from"]).fillna(lo).astype("int64").to_numpy(),
            "valid_to": pd.to_numeric(areas["valid_to"]).fillna(hi).astype("int64").to_numpy(),
            "is_nes": areas["is_nes"].astype(bool).to_numpy(),
            "is_group": areas["is_group"].astype(bool).to_numpy(),
        }
    )
    years = pl.DataFrame({"year": list(range(lo, hi + 1))}, schema={"year": pl.Int64})
    frame = (
        base.join(years, how="cross")
        .filter(
            (pl.col("year") >= pl.col("valid_from").clip(lo, hi))
            & (pl.col("year") <= pl.col("valid_to").clip(lo, hi))
        )
        .select(
            pl.col("code").cast(pl.Int32),
            pl.col("year").cast(pl.Int32),
            "iso3",
            "is_nes",
            "is_group",
        )
        .sort("code", "year")
    )
    dup = frame.group_by("code", "year").len().filter(pl.col("len") > 1)
    if dup.height:
        row = dup.sort("code", "year").row(0, named=True)
        raise DataValidationError(
            f"Comtrade area table maps code {row['code']} to {row['len']} rows in year "
            f"{row['year']}; make the valid_from/valid_to ranges of that code disjoint"
        )
    return CodeTable(frame=frame, digest=_stable_digest(base))


def _stable_digest(base: pl.DataFrame) -> str:
    """Fingerprint a code table independent of the Python hash seed."""
    import hashlib

    text = base.sort("code", "valid_from").write_csv()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def map_codes(
    table: CodeTable, codes: Sequence[int], years: Sequence[int]
) -> list[tuple[str, bool, bool] | None]:
    """Map (code, year) pairs to ``(iso3, is_nes, is_group)``, or None where unknown.

    Parameters
    ----------
    table : CodeTable
        From :func:`code_table`.
    codes, years : sequence of int
        Comtrade codes and the years they are used in, of equal length.

    Returns
    -------
    list
        One entry per input pair.

    Examples
    --------
    >>> map_codes(code_table(), [860], [2019])
    [('UZB', False, False)]
    """
    if len(codes) != len(years):
        raise DataValidationError(
            f"map_codes needs as many years as codes (got {len(codes)} and {len(years)})"
        )
    q = pl.DataFrame(
        {"code": list(codes), "year": list(years)},
        schema={"code": pl.Int32, "year": pl.Int32},
    ).with_row_index("_i")
    out = q.join(table.frame, on=["code", "year"], how="left").sort("_i")
    return [
        None if r["iso3"] is None else (r["iso3"], bool(r["is_nes"]), bool(r["is_group"]))
        for r in out.iter_rows(named=True)
    ]
