r"""The rules of the gravity panel, one sector at a time: known zeros and domestic flows.

Internal module of :func:`ca_trade.etl.build_panel` (``docs/etl.md``, section 6). The rules
need a few facts about the whole reconciled dataset (who reported at which sector level, which
pairs are known at which level); :func:`reporting_facts` gathers them once, as small sets of
country-years and pair-years, so each sector is then built from its own rows only, and
memory does not grow with the number of sectors.

- **Known zeros** (:func:`zero_mask`): a missing flow of the grid is a zero when a side
  reported at the sector's level that year and either reported this pair at that level or
  nobody reported the pair at all.
- **Domestic flows** (:func:`domestic_values`): production minus exports, where production is
  known for the country, year and sector, and where the country's exports by sector are
  complete: every partner it traded with that year (a positive TOTAL flow) is known at the
  sector's level. Otherwise the domestic flow is left missing, never invented.

Examples
--------
>>> sector_level("S05"), sector_level("27"), sector_level("TOTAL")
('section', 'chapter', 'total')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl

__all__ = [
    "DomesticIssues",
    "ReportingFacts",
    "domestic_values",
    "flows_grid",
    "incomplete_exporters",
    "level_expr",
    "reporting_facts",
    "sector_level",
    "with_identifiers",
    "zero_mask",
]

_KEY = ["exporter", "importer", "year"]
_SIDES = (("exporter", ("both", "exporter_only")), ("importer", ("both", "importer_only")))


def sector_level(sector: str) -> str:
    """Return the level of a sector code: ``total``, ``section`` (``S01``) or ``chapter``.

    Examples
    --------
    >>> sector_level("S21")
    'section'
    """
    if sector == "TOTAL":
        return "total"
    if len(sector) == 3 and sector.startswith("S") and sector[1:].isdigit():
        return "section"
    return "chapter"


def level_expr() -> pl.Expr:
    """Return a polars expression giving the level of the ``sector`` column."""
    s = pl.col("sector").cast(pl.String)
    return (
        pl.when(s == "TOTAL")
        .then(pl.lit("total"))
        .when(s.str.contains(r"^S[0-9]{2}$"))
        .then(pl.lit("section"))
        .otherwise(pl.lit("chapter"))
    )


@dataclass(frozen=True)
class ReportingFacts:
    """What the whole reconciled dataset says about reporting, at one sector level.

    Attributes
    ----------
    reporters : dict
        Side (``exporter``/``importer``) -> frame of ``country, year`` that reported flows
        at the level on that side.
    pairs_at_level : dict
        Side -> frame of ``exporter, importer, year`` reported at the level by that side.
    pairs_any : pandas.DataFrame
        ``exporter, importer, year`` reported at any level.
    covered : pandas.DataFrame
        ``exporter, importer, year`` known at the level (either side).
    traded : pandas.DataFrame or None
        ``exporter, importer, year`` with a positive TOTAL flow (None without TOTAL rows).
    """

    reporters: dict[str, pd.DataFrame]
    pairs_at_level: dict[str, pd.DataFrame]
    pairs_any: pd.DataFrame
    covered: pd.DataFrame
    traded: pd.DataFrame | None


def reporting_facts(source: pl.LazyFrame, level: str) -> ReportingFacts:
    """Gather the reporting facts of `source` (reconciled flows) at `level`, once.

    Parameters
    ----------
    source : polars.LazyFrame
        Reconciled flows (``exporter, importer, year, sector, value_usd, source``).
    level : {"total", "section", "chapter"}
        The panel's sector level.

    Returns
    -------
    ReportingFacts
        Small frames of country-years and pair-years (their size does not grow with the
        number of sectors).

    Examples
    --------
    >>> lf = pl.LazyFrame({"exporter": ["KAZ"], "importer": ["UZB"], "year": [2019],
    ...     "sector": ["TOTAL"], "value_usd": [1.0], "source": ["both"]})
    >>> reporting_facts(lf, "total").reporters["exporter"].values.tolist()
    [['KAZ', 2019]]
    """
    keyed = source.select(*_KEY, "sector", "value_usd", "source").with_columns(_level=level_expr())
    at_level = keyed.filter(pl.col("_level") == level)
    reporters: dict[str, pd.DataFrame] = {}
    pairs: dict[str, pd.DataFrame] = {}
    for side, sources in _SIDES:
        rep = at_level.filter(pl.col("source").is_in(list(sources)))
        reporters[side] = (
            rep.select(pl.col(side).alias("country"), "year").unique().collect().to_pandas()
        )
        pairs[side] = rep.select(*_KEY).unique().collect().to_pandas()
    traded = None
    if level != "total":
        tot = keyed.filter((pl.col("_level") == "total") & (pl.col("value_usd") > 0))
        tot = tot.filter(pl.col("exporter") != pl.col("importer"))
        traded = tot.select(*_KEY).unique().collect().to_pandas()
    return ReportingFacts(
        reporters=reporters,
        pairs_at_level=pairs,
        pairs_any=keyed.select(*_KEY).unique().collect().to_pandas(),
        covered=at_level.select(*_KEY).unique().collect().to_pandas(),
        traded=traded,
    )


def _member(frame: pd.DataFrame, keys: pd.DataFrame) -> np.ndarray:
    """Whether each row of `frame` (its `keys` columns) is among the rows of `keys`."""
    cols = list(keys.columns)
    if keys.empty:
        return np.zeros(len(frame), dtype=bool)
    index = pd.MultiIndex.from_frame(keys[cols].astype({"year": "int64"}))
    rows = pd.MultiIndex.from_frame(frame[cols].astype({"year": "int64"}))
    return np.asarray(rows.isin(index))


def zero_mask(grid: pd.DataFrame, facts: ReportingFacts) -> np.ndarray:
    """Whether a missing flow of each grid row would be a known zero (any sector of the level).

    Parameters
    ----------
    grid : pandas.DataFrame
        ``exporter, importer, year`` rows.
    facts : ReportingFacts
        From :func:`reporting_facts`.

    Returns
    -------
    numpy.ndarray
        Boolean, one per grid row.
    """
    unreported = ~_member(grid, facts.pairs_any)
    out = np.zeros(len(grid), dtype=bool)
    for side, _ in _SIDES:
        who = grid[[side, "year"]].rename(columns={side: "country"})
        reported = _member(who, facts.reporters[side])
        out |= reported & (_member(grid, facts.pairs_at_level[side]) | unreported)
    return out


def flows_grid(
    rows: pd.DataFrame, grid: pd.DataFrame, known_zero: np.ndarray, countries: Sequence[str]
) -> pd.DataFrame:
    """Return the grid rows of one sector: its flows, known zeros and every domestic pair.

    Parameters
    ----------
    rows : pandas.DataFrame
        The sector's reconciled rows.
    grid : pandas.DataFrame
        Every ``exporter, importer, year`` of the panel.
    known_zero : numpy.ndarray
        :func:`zero_mask` of `grid`.
    countries : sequence of str
        The panel's countries.

    Returns
    -------
    pandas.DataFrame
        ``exporter, importer, year, value_usd, source`` (domestic rows without a value yet).
    """
    cset = list(countries)
    r = rows[rows["exporter"].isin(cset) & rows["importer"].isin(cset)]
    p = grid.merge(r[[*_KEY, "value_usd", "source"]], on=_KEY, how="left")
    dom = (p["exporter"] == p["importer"]).to_numpy()
    zero = p["value_usd"].isna().to_numpy() & ~dom & known_zero
    p.loc[zero, "value_usd"] = 0.0
    p.loc[zero, "source"] = "zero"
    return p[dom | p["source"].notna().to_numpy()].reset_index(drop=True)


@dataclass
class DomesticIssues:
    """Why domestic flows were left missing, gathered over sectors for one warning each."""

    below_exports: list[tuple[str, int, str, float, float]] = field(default_factory=list)
    no_production: list[tuple[str, int, str]] = field(default_factory=list)
    incomplete_exports: list[tuple[str, int]] = field(default_factory=list)


def incomplete_exporters(facts: ReportingFacts) -> pd.DataFrame:
    """Return ``exporter, year`` whose exports by sector are incomplete (a pair only in TOTAL).

    Parameters
    ----------
    facts : ReportingFacts
        From :func:`reporting_facts` at a sector level (``traded`` set).

    Returns
    -------
    pandas.DataFrame
        ``exporter, year`` (empty at the TOTAL level or without TOTAL rows).
    """
    if facts.traded is None or facts.traded.empty:
        return pd.DataFrame({"exporter": pd.Series(dtype=str), "year": pd.Series(dtype="int64")})
    missing = facts.traded[~_member(facts.traded, facts.covered)]
    return missing[["exporter", "year"]].drop_duplicates().reset_index(drop=True)


def domestic_values(
    production: pd.DataFrame | None,
    itpde: pd.DataFrame | None,
    rows: pd.DataFrame,
    sector: str,
    incomplete: pd.DataFrame,
    issues: DomesticIssues,
) -> pd.DataFrame:
    """Return ``exporter, year, dom``: production minus exports, where both are known.

    Parameters
    ----------
    production : pandas.DataFrame or None
        ``country, year, sector, production_usd`` (rows of other sectors are ignored).
    itpde : pandas.DataFrame or None
        ITPD-E flows (domestic flows of the TOTAL only).
    rows : pandas.DataFrame
        The sector's reconciled rows (exports to every partner).
    sector : str
        The sector.
    incomplete : pandas.DataFrame
        ``exporter, year`` whose exports by sector are incomplete
        (:func:`incomplete_exporters`).
    issues : DomesticIssues
        Collects the country-years left missing, for the caller's warnings.

    Returns
    -------
    pandas.DataFrame
        ``exporter, year, dom`` (float; NaN where left missing).
    """
    exports = (
        rows[rows["exporter"] != rows["importer"]]
        .groupby(["exporter", "year"], as_index=False)
        .agg(exports=("value_usd", "sum"))
    )
    out = pd.DataFrame({"exporter": pd.Series(dtype=str), "year": pd.Series(dtype="int64")})
    out["dom"] = pd.Series(dtype="float64")
    if production is not None and len(production):
        p = production[production["sector"].astype(str) == sector]
        p = p.rename(columns={"country": "exporter"})[["exporter", "year", "production_usd"]]
        p = p.merge(exports, on=["exporter", "year"], how="left")
        p["dom"] = p["production_usd"] - p["exports"].fillna(0.0)
        neg = p[p["dom"] < 0]
        issues.below_exports.extend(
            (str(c), int(y), sector, float(prod), float(exp))
            for c, y, prod, exp in zip(
                neg["exporter"], neg["year"], neg["production_usd"], neg["exports"], strict=True
            )
        )
        p.loc[p["dom"] < 0, "dom"] = np.nan
        gaps = _member(p, incomplete)
        gap = p[gaps]
        issues.incomplete_exports.extend(
            (str(c), int(y)) for c, y in zip(gap["exporter"], gap["year"], strict=True)
        )
        p.loc[gaps, "dom"] = np.nan
        out = p[["exporter", "year", "dom"]]
    if itpde is not None and len(itpde) and sector == "TOTAL":
        d = itpde[itpde["exporter"] == itpde["importer"]][["exporter", "year", "value_usd"]]
        d = d.rename(columns={"value_usd": "dom"})
        out = pd.concat([out, d]).drop_duplicates(["exporter", "year"], keep="first")
    return out.astype({"year": "int64", "dom": "float64"})


def with_identifiers(p: pd.DataFrame, dom: pd.DataFrame, sector: str) -> pd.DataFrame:
    """Fill domestic rows from `dom`; add ``domestic``, ``sector``, ``pair``, ``pair_sym``.

    Parameters
    ----------
    p : pandas.DataFrame
        From :func:`flows_grid`.
    dom : pandas.DataFrame
        From :func:`domestic_values`.
    sector : str
        The sector code.

    Returns
    -------
    pandas.DataFrame
        `p` with domestic values, ``source = "domestic"`` on domestic rows and the identifiers.
    """
    d = dom.rename(columns={"exporter": "_c"})
    p = p.merge(d, left_on=["exporter", "year"], right_on=["_c", "year"], how="left")
    p = p.drop(columns="_c")
    dmask = p["exporter"] == p["importer"]
    p.loc[dmask, "value_usd"] = p.loc[dmask, "dom"]
    p.loc[dmask, "source"] = "domestic"
    p = p.drop(columns="dom")
    p["domestic"] = dmask
    p["sector"] = sector
    p["pair"] = p["exporter"] + "_" + p["importer"]
    lo = np.minimum(p["exporter"].to_numpy(), p["importer"].to_numpy())
    hi = np.maximum(p["exporter"].to_numpy(), p["importer"].to_numpy())
    p["pair_sym"] = np.where(dmask, "DOMESTIC", pd.Series(lo) + "_" + pd.Series(hi))
    return p
