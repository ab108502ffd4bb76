"""HS sectors: total, the 21 HS sections and the 2-digit chapters.

Commodity codes are mapped to the sector of the requested level; where a reporter publishes
several depths for the same flow (e.g. ``TOTAL`` and chapters), only the shallowest depth
available for that (reporter, partner, year, flow, sector) is summed, so nothing is counted
twice. Chapters 98 and 99 (special transactions) belong to no section; 77 is reserved.

Examples
--------
>>> chapter_section("27"), chapter_section("85"), chapter_section("99")
('S05', 'S16', None)
"""

from __future__ import annotations

import polars as pl

from ca_trade.exceptions import SpecificationError

__all__ = ["LEVELS", "SECTION_OF_CHAPTER", "chapter_section", "sector_frame"]

LEVELS: tuple[str, ...] = ("total", "section", "chapter")

_SECTION_BOUNDS: tuple[tuple[int, int], ...] = (
    (1, 5),
    (6, 14),
    (15, 15),
    (16, 24),
    (25, 27),
    (28, 38),
    (39, 40),
    (41, 43),
    (44, 46),
    (47, 49),
    (50, 63),
    (64, 67),
    (68, 70),
    (71, 71),
    (72, 83),
    (84, 85),
    (86, 89),
    (90, 92),
    (93, 93),
    (94, 96),
    (97, 97),
)

#: HS chapter ("01".."97") -> section ("S01".."S21").
SECTION_OF_CHAPTER: dict[str, str] = {
    f"{ch:02d}": f"S{i + 1:02d}"
    for i, (lo, hi) in enumerate(_SECTION_BOUNDS)
    for ch in range(lo, hi + 1)
}


def chapter_section(chapter: str) -> str | None:
    """Return the HS section of a 2-digit chapter, or None (98, 99, unknown).

    Parameters
    ----------
    chapter : str
        Two-digit HS chapter.

    Returns
    -------
    str or None
        ``S01``..``S21``.

    Examples
    --------
    >>> chapter_section("01")
    'S01'
    """
    return SECTION_OF_CHAPTER.get(chapter)


def sector_frame(flows: pl.LazyFrame, level: str, group: list[str]) -> pl.LazyFrame:
    """Aggregate HS flows to one value per ``group`` and sector at ``level``.

    Parameters
    ----------
    flows : polars.LazyFrame
        Has ``cmd_code`` (``TOTAL`` or digits) and ``value_usd``, plus the ``group`` columns.
    level : {"total", "section", "chapter"}
        Sector level.
    group : list of str
        Columns identifying one report (reporter, partner, year, flow).

    Returns
    -------
    polars.LazyFrame
        ``group`` + ``sector`` + ``value_usd`` (sum over the shallowest depth available).

    Examples
    --------
    >>> lf = pl.LazyFrame({"r": ["A", "A", "A"], "cmd_code": ["TOTAL", "01", "02"],
    ...                    "value_usd": [10.0, 4.0, 5.0]})
    >>> sector_frame(lf, "total", ["r"]).collect().rows()
    [('A', 'TOTAL', 10.0)]
    >>> sector_frame(lf, "section", ["r"]).collect().rows()
    [('A', 'S01', 9.0)]
    """
    code = pl.col("cmd_code")
    is_total = code == "TOTAL"
    digits = code.str.contains(r"^[0-9]{2,}$")
    depth = pl.when(is_total).then(0).otherwise(code.str.len_chars()).cast(pl.Int32)
    if level == "total":
        sector = pl.when(is_total | digits).then(pl.lit("TOTAL"))
    elif level == "chapter":
        sector = pl.when(digits).then(code.str.slice(0, 2))
    elif level == "section":
        sector = pl.when(digits).then(
            code.str.slice(0, 2).replace_strict(SECTION_OF_CHAPTER, default=None)
        )
    else:
        raise SpecificationError(f"sector level {level!r} is not one of {LEVELS}")
    keyed = flows.with_columns(sector=sector, _depth=depth).filter(pl.col("sector").is_not_null())
    keys = [*group, "sector"]
    return (
        keyed.filter(pl.col("_depth") == pl.col("_depth").min().over(keys))
        .group_by(keys)
        .agg(pl.col("value_usd").sum())
        .sort(keys)
    )
