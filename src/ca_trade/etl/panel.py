r"""The gravity panel: square exporter x importer x year (x sector), zeros, domestic flows.

One sector (``sector="TOTAL"``, the default, or any sector code), or every sector of a
level (``level="section"`` or ``"chapter"``: one row per exporter, importer, year and
sector), in memory or written to disk as one Parquet partition per sector (``out=``,
:mod:`ca_trade.etl.panel_store`), built one sector at a time. Rules (``docs/etl.md`` has the
full text; :mod:`ca_trade.etl.panel_rules` the code):

- **International rows.** For each year, every ordered pair of panel countries where the
  reconciled data has a flow, or where a zero is *known*: the exporter reported exports that
  year (so it would have reported this one) or the importer reported imports that year.
  Such a pair without any report gets ``value_usd = 0`` and ``source = "zero"``. Pairs where
  neither side reported anything that year are left out: a zero there would be invented.
- **Domestic rows** (``exporter == importer``) for every country, year (and sector):
  :math:`X_{ii} = \text{production}_i - \sum_j X_{ij}` where production of that sector is
  known (a user file, a ``production`` frame, or, for the TOTAL, ITPD-E domestic flows in
  ``raw_dir``) and, for a sector, the country's exports by sector are complete (no partner
  known in TOTAL only); otherwise ``value_usd`` is NaN (with a warning saying why, never
  invented) and GE refuses to run on it.
- **Covariates** from :func:`ca_trade.facts.pair_covariates` (packaged facts; CEPII files in
  ``raw_dir`` override them: :func:`ca_trade.etl.covariates.cepii_overrides`), **tariffs**
  from WITS-style input aggregated by :func:`ca_trade.etl.tariffs.aggregate_tariffs` (the
  TOTAL) or :func:`ca_trade.etl.tariffs.sector_tariffs` (a sector: its products' applied
  rates, simple and import-weighted means; domestic pairs: 0).
- **Inputs** (production, tariffs) are given as a frame or a path, or found in ``raw_dir``:
  one rule for each.

Examples
--------
>>> rec = pd.DataFrame({"exporter": ["KAZ"], "importer": ["UZB"], "year": [2019],
...     "sector": "TOTAL", "value_usd": [10.0], "source": ["both"],
...     "value_exporter": [10.0], "value_importer_fob": [10.0]})
>>> p = build_panel(rec)
>>> p[["exporter", "importer", "value_usd", "source"]].values.tolist()
[['KAZ', 'KAZ', nan, 'domestic'], ['KAZ', 'UZB', 10.0, 'both'], ['UZB', 'UZB', nan, 'domestic']]
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, overload

import numpy as np
import pandas as pd
import polars as pl

from ca_trade import facts
from ca_trade._synthetic import file_is_synthetic, frame_is_synthetic, mark, raw_is_synthetic
from ca_trade.etl.covariates import cepii_overrides
from ca_trade.etl.panel_rules import (
    DomesticIssues,
    domestic_values,
    flows_grid,
    incomplete_exporters,
    level_expr,
    reporting_facts,
    sector_level,
    with_identifiers,
    zero_mask,
)
from ca_trade.etl.panel_store import PanelDataset, write_panel
from ca_trade.etl.paths import resolve
from ca_trade.etl.sectors import LEVELS
from ca_trade.etl.sources import (
    find_sources,
    read_itpde,
    read_production,
    read_wits_schedules,
    read_wits_tariffs,
)
from ca_trade.etl.tariffs import aggregate_tariffs, applied_rates, product_sector
from ca_trade.exceptions import DataValidationError, DataValidationWarning, SpecificationError

__all__ = ["PANEL_COLUMNS", "build_panel"]

PANEL_COLUMNS: list[str] = [
    "exporter",
    "importer",
    "year",
    "sector",
    "value_usd",
    "source",
    "domestic",
    "pair",
    "pair_sym",
    *facts.PAIR_COVARIATES,
    "tariff",
    "ln_tariff",
    "ln_tariff_w",
]
_KEY = ["exporter", "importer", "year"]
_NEED = ["exporter", "importer", "year", "sector", "value_usd", "source"]
#: Sector tariffs for one sector: ``exporter, importer, year, tariff, ln_tariff, ln_tariff_w``.
_Tariffs = Callable[[str], "pd.DataFrame | None"]


@overload
def build_panel(
    reconciled: pd.DataFrame | pl.DataFrame | str | os.PathLike[str],
    *,
    raw_dir: str | Path | None = ...,
    production: pd.DataFrame | str | Path | None = ...,
    sector: str = ...,
    level: Literal["total", "section", "chapter"] | None = ...,
    years: Sequence[int] | None = ...,
    countries: Sequence[str] | None = ...,
    tariffs: pd.DataFrame | str | Path | None = ...,
    out: None = ...,
) -> pd.DataFrame: ...


@overload
def build_panel(
    reconciled: pd.DataFrame | pl.DataFrame | str | os.PathLike[str],
    *,
    raw_dir: str | Path | None = ...,
    production: pd.DataFrame | str | Path | None = ...,
    sector: str = ...,
    level: Literal["total", "section", "chapter"] | None = ...,
    years: Sequence[int] | None = ...,
    countries: Sequence[str] | None = ...,
    tariffs: pd.DataFrame | str | Path | None = ...,
    out: str | os.PathLike[str],
) -> PanelDataset: ...


def build_panel(
    reconciled: pd.DataFrame | pl.DataFrame | str | os.PathLike[str],
    *,
    raw_dir: str | Path | None = None,
    production: pd.DataFrame | str | Path | None = None,
    sector: str = "TOTAL",
    level: Literal["total", "section", "chapter"] | None = None,
    years: Sequence[int] | None = None,
    countries: Sequence[str] | None = None,
    tariffs: pd.DataFrame | str | Path | None = None,
    out: str | os.PathLike[str] | None = None,
) -> pd.DataFrame | PanelDataset:
    """Build the square gravity panel with explicit zeros, domestic flows and covariates.

    Parameters
    ----------
    reconciled : pandas.DataFrame, polars.DataFrame or path
        Output of :func:`ca_trade.etl.reconcile`, or a Parquet file or folder holding it
        (read one sector at a time: for sector panels at scale, sorted or partitioned by
        sector reads fastest).
    raw_dir : str or Path, optional
        Searched for CEPII GeoDist/Gravity (covariate overrides), ITPD-E (domestic flows),
        WITS tariffs and production files.
    production : DataFrame or path, optional
        ``country, year, [sector,] production_usd`` (US dollars) for domestic flows; a
        sector's rows are those whose ``sector`` is its code (``TOTAL`` where the column is
        absent).
    sector : str, default "TOTAL"
        The one sector of ``reconciled`` to use (with ``level`` left out).
    level : {"total", "section", "chapter"}, optional
        Build every sector of this level found in ``reconciled`` (HS sections ``S01``..
        ``S21`` or chapters ``01``..``97``): one row per exporter, importer, year and
        sector. Reconcile with the total too (``sectors=["total", "section"]``): pairs known
        in total only then stay out, never zeros.
    years : sequence of int, optional
        Years to keep (default: all in ``reconciled``).
    countries : sequence of str, optional
        ISO3 codes of the panel (default: every country in ``reconciled`` known to
        :func:`ca_trade.facts.countries`; others are dropped with a warning).
    tariffs : DataFrame or path, optional
        WITS-style product tariffs (see :func:`ca_trade.etl.sources.read_wits_schedules`);
        default: a WITS file found in ``raw_dir``. Without any, tariff columns are NaN.
    out : path-like, optional
        Write the panel to this folder, one Parquet partition per sector
        (``out/sector=<code>/part-0.parquet``, :mod:`ca_trade.etl.panel_store`), built one
        sector at a time and published atomically, instead of returning it.

    Returns
    -------
    pandas.DataFrame or PanelDataset
        Columns :data:`PANEL_COLUMNS` (docs/design.md, "Panel"), sorted by sector,
        exporter, importer, year; with ``out``, the :class:`~ca_trade.etl.panel_store.
        PanelDataset` written (read it with :func:`ca_trade.etl.read_panel`).
        ``attrs["synthetic"]`` (and, with ``out``, each partition's metadata) is True when
        `reconciled` says its flows are SYNTHETIC or `raw_dir` holds the sample's marker.

    Raises
    ------
    DataValidationError
        If ``reconciled`` lacks required columns or no rows remain.
    SpecificationError
        If ``level`` is unknown or given with a ``sector`` other than TOTAL.

    Warns
    -----
    DataValidationWarning
        When domestic flows are left missing where production data exist (production below
        exports; no production for a sector; exports by sector incomplete) or entities
        without country facts are dropped.

    Examples
    --------
    >>> rec = pd.DataFrame({"exporter": ["KAZ"], "importer": ["UZB"], "year": [2019],
    ...     "sector": "TOTAL", "value_usd": [10.0], "source": ["both"],
    ...     "value_exporter": [10.0], "value_importer_fob": [10.0]})
    >>> prod = pd.DataFrame({"country": ["KAZ", "UZB"], "year": 2019,
    ...                      "production_usd": [50.0, 20.0]})
    >>> p = build_panel(rec, production=prod)
    >>> float(p.query("exporter == 'KAZ' and importer == 'KAZ'")["value_usd"].item())
    40.0
    >>> rec2 = pd.concat([rec, rec.assign(sector="S05"), rec.assign(sector="S11", value_usd=0)])
    >>> build_panel(rec2, level="section").groupby("sector").size().to_dict()
    {'S05': 3, 'S11': 3}
    """
    source = _source(reconciled)
    lvl, sectors = _sectors(source, sector, level)
    cset = _panel_countries(source, countries)
    yrs = _years(source, years)
    if not cset or not yrs:
        raise DataValidationError("no countries or years left to build a panel from")
    raw = resolve(raw_dir) if raw_dir is not None else None  # once, here
    found = find_sources(raw) if raw is not None else {}
    grid = pd.MultiIndex.from_product([cset, cset, yrs], names=_KEY).to_frame(index=False)
    reporting = reporting_facts(source, lvl)
    cov = facts.pair_covariates(cset, yrs)
    if raw is not None:
        cov = cepii_overrides(cov, raw)
    build = _SectorBuild(
        source=source,
        years=None if years is None else [int(y) for y in years],
        countries=cset,
        grid=grid,
        known_zero=zero_mask(grid, reporting),
        incomplete=incomplete_exporters(reporting),
        production=_production(production, found, yrs),
        itpde=_itpde(found),
        covariates=cov,
        tariffs=_tariff_source(tariffs, found, lvl, cset),
        issues=DomesticIssues(),
    )
    synthetic = _reconciled_is_synthetic(reconciled) or (raw is not None and raw_is_synthetic(raw))
    frames = ((s, mark(build.frame(s), synthetic)) for s in sectors)
    if out is not None:
        written = write_panel(out, lvl, frames)
        _warn_domestic(build.issues)
        return written
    panel = mark(pd.concat([f for _, f in frames], ignore_index=True), synthetic)
    _warn_domestic(build.issues)
    return panel


def _reconciled_is_synthetic(
    reconciled: pd.DataFrame | pl.DataFrame | str | os.PathLike[str],
) -> bool:
    """Whether the reconciled flows say they are SYNTHETIC (frame flag or file metadata)."""
    if isinstance(reconciled, (pd.DataFrame, pl.DataFrame)):
        return frame_is_synthetic(reconciled)
    path = Path(reconciled)
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    return any(file_is_synthetic(f) for f in files if f.is_file())


def _source(reconciled: pd.DataFrame | pl.DataFrame | str | os.PathLike[str]) -> pl.LazyFrame:
    """Return the reconciled flows as a lazy frame of the columns the panel reads."""
    if isinstance(reconciled, (pd.DataFrame, pl.DataFrame)):
        lacking = sorted(set(_NEED) - set(reconciled.columns))
        if isinstance(reconciled, pl.DataFrame):
            lf = None if lacking else reconciled.lazy()
        else:
            lf = None if lacking else pl.from_pandas(reconciled[_NEED]).lazy()
        where = "reconciled flows"
    else:
        path = resolve(reconciled)
        files = path / "**" / "*.parquet" if path.is_dir() else path
        lf = pl.scan_parquet(files, hive_partitioning=False)
        lacking = sorted(set(_NEED) - set(lf.collect_schema().names()))
        where = f"{path}"
    if lacking or lf is None:
        raise DataValidationError(
            f"{where} lack columns {lacking}; pass the output of ca_trade.etl.reconcile"
        )
    return lf.select(
        pl.col("exporter").cast(pl.String),
        pl.col("importer").cast(pl.String),
        pl.col("year").cast(pl.Int64),
        pl.col("sector").cast(pl.String),
        pl.col("value_usd").cast(pl.Float64),
        pl.col("source").cast(pl.String),
    )


def _sectors(source: pl.LazyFrame, sector: str, level: str | None) -> tuple[str, list[str]]:
    """Return the panel's level and its sectors (one, or every one of `level` in the data)."""
    if level is None:
        lvl, sectors = sector_level(sector), [sector]
    elif level not in LEVELS:
        raise SpecificationError(f"level {level!r} is not one of {LEVELS}")
    elif sector != "TOTAL":
        raise SpecificationError(
            f"give either sector={sector!r} (one sector) or level={level!r} (every sector of "
            "the level), not both"
        )
    else:
        lvl = level
        codes = source.filter(level_expr() == lvl).select("sector").unique()
        sectors = sorted(codes.collect(engine="streaming")["sector"].to_list())
        if not sectors:
            raise DataValidationError(
                f"the reconciled flows have no {lvl}-level rows; reconcile with "
                f'sectors=["total", "{lvl}"]'
            )
    if lvl != "total":
        has_total = source.filter(level_expr() == "total").select(pl.len())
        if not has_total.collect(engine="streaming").item():
            warnings.warn(
                f"reconciled flows have no TOTAL rows: pairs reported only in total cannot be "
                f"told from zeros in {lvl} {sectors[0]}..., and exports by sector cannot be "
                f'checked for completeness; reconcile with sectors=["total", "{lvl}"]',
                DataValidationWarning,
                stacklevel=3,
            )
    return lvl, sectors


def _years(source: pl.LazyFrame, years: Sequence[int] | None) -> list[int]:
    if years is not None:
        return sorted({int(y) for y in years})
    found = source.select("year").unique().collect(engine="streaming")["year"].to_list()
    return sorted(int(y) for y in found)


def _panel_countries(source: pl.LazyFrame, countries: Sequence[str] | None) -> list[str]:
    """Return the panel's countries: those given, or every known one in the flows."""
    known = set(facts.countries()["iso3"])
    if countries is None:
        who = pl.concat(
            [
                source.select(pl.col("exporter").alias("c")),
                source.select(pl.col("importer").alias("c")),
            ],
            how="vertical_relaxed",
        )
        present = set(who.unique().collect(engine="streaming")["c"].to_list())
        dropped = sorted(present - known)
        if dropped:
            warnings.warn(
                f"{len(dropped)} entities without packaged country facts are left out of the "
                f"panel: {dropped[:10]}; pass countries= to choose explicitly",
                DataValidationWarning,
                stacklevel=3,
            )
        return sorted(present & known)
    cset = sorted(set(countries))
    unknown = sorted(set(cset) - known)
    if unknown:
        raise DataValidationError(
            f"countries {unknown} have no packaged facts (ca_trade.facts.countries)"
        )
    return cset


@dataclass
class _SectorBuild:
    """Everything shared by the sectors of one panel; :meth:`frame` builds one sector."""

    source: pl.LazyFrame
    years: list[int] | None
    countries: list[str]
    grid: pd.DataFrame
    known_zero: np.ndarray
    incomplete: pd.DataFrame
    production: pd.DataFrame | None
    itpde: pd.DataFrame | None
    covariates: pd.DataFrame
    tariffs: _Tariffs
    issues: DomesticIssues

    def rows(self, sector: str) -> pd.DataFrame:
        """Return the reconciled rows of one sector (of the panel's years)."""
        lf = self.source.filter(pl.col("sector") == sector)
        if self.years is not None:
            lf = lf.filter(pl.col("year").is_in(self.years))
        return lf.collect(engine="streaming").to_pandas()

    def frame(self, sector: str) -> pd.DataFrame:
        """Return one sector's panel rows, sorted by exporter, importer, year."""
        rows = self.rows(sector)
        p = flows_grid(rows, self.grid, self.known_zero, self.countries)
        dom = domestic_values(
            self.production, self.itpde, rows, sector, self.incomplete, self.issues
        )
        p = with_identifiers(p, dom, sector)
        self._note_missing_production(p, sector)
        p = p.merge(self.covariates, on=_KEY, how="left")
        p = _with_tariffs(p, self.tariffs(sector))
        return p[PANEL_COLUMNS].sort_values(_KEY).reset_index(drop=True)

    def _note_missing_production(self, p: pd.DataFrame, sector: str) -> None:
        """Record domestic rows left missing because production lacks their sector."""
        if self.production is None or not len(self.production):
            return
        have = self.production[self.production["sector"].astype(str) == sector]
        known = set(zip(have["country"].astype(str), have["year"].astype(int), strict=True))
        dom = p[p["domestic"] & p["value_usd"].isna()]
        for c, y in zip(dom["exporter"], dom["year"], strict=True):
            if (str(c), int(y)) not in known:
                self.issues.no_production.append((str(c), int(y), sector))


def _frame_or_files(
    given: pd.DataFrame | str | Path | None,
    files: Sequence[Path],
    read: Callable[[Path], pd.DataFrame],
) -> pd.DataFrame | None:
    """Resolve an input given as a frame or a path, else found in the raw folder, else None.

    The one rule for every optional input of the panel: a path is resolved once and read
    with `read`; a frame is used as it is; without either, the files of its kind found in
    ``raw_dir`` are read and stacked.
    """
    if isinstance(given, (str, Path)):
        return read(resolve(given))
    if given is not None:
        return given
    if files:
        return pd.concat([read(f) for f in files])
    return None


def _production(
    given: pd.DataFrame | str | Path | None, found: dict[str, list[Path]], years: list[int]
) -> pd.DataFrame | None:
    """Return production by country, year and sector (``TOTAL`` where a frame has none).

    Only the panel's `years`: others would be checked (and warned about) for nothing.
    """
    frame = _frame_or_files(given, found.get("production", []), read_production)
    if frame is None:
        return None
    if "sector" not in frame.columns:
        frame = frame.assign(sector="TOTAL")
    return frame[frame["year"].astype("int64").isin(years)]


def _itpde(found: dict[str, list[Path]]) -> pd.DataFrame | None:
    return _frame_or_files(None, found.get("itpde", []), read_itpde)


def _tariff_source(
    given: pd.DataFrame | str | Path | None,
    found: dict[str, list[Path]],
    level: str,
    countries: list[str],
) -> _Tariffs:
    """Return the function giving one sector's pair tariffs (None without tariff data).

    The TOTAL: :func:`~ca_trade.etl.tariffs.aggregate_tariffs` over the applied rows (as
    :func:`~ca_trade.etl.sources.read_wits_tariffs` keeps them). A sector: the applied rates
    of its products (:func:`~ca_trade.etl.tariffs.applied_rates`: applied, else
    preferential, else MFN) aggregated over them, import weights of the first year.
    """
    files = found.get("wits_tariffs", [])
    if level == "total":
        frame = _frame_or_files(given, files, read_wits_tariffs)
        total = aggregate_tariffs(frame) if frame is not None and len(frame) else None
        return lambda sector: total
    schedules = _frame_or_files(given, files, read_wits_schedules)
    if schedules is None or not len(schedules):
        return lambda sector: None
    t0 = int(schedules["year"].min())
    by_sector = dict(tuple(schedules.groupby(product_sector(schedules["product"], level))))

    def sector_rates(sector: str) -> pd.DataFrame | None:
        rows = by_sector.get(sector)
        if rows is None:
            return None
        return aggregate_tariffs(applied_rates(rows, countries), weight_year=t0)

    return sector_rates


def _with_tariffs(p: pd.DataFrame, tariffs: pd.DataFrame | None) -> pd.DataFrame:
    """Add ``tariff``, ``ln_tariff``, ``ln_tariff_w`` (0 on domestic pairs; NaN without data)."""
    dmask = p["domestic"].to_numpy()
    if tariffs is not None and len(tariffs):
        t = tariffs[[*_KEY, "tariff", "ln_tariff", "ln_tariff_w"]]
        p = p.merge(t, on=_KEY, how="left")
        for c in ("tariff", "ln_tariff", "ln_tariff_w"):
            p.loc[dmask, c] = 0.0
    else:
        for c in ("tariff", "ln_tariff", "ln_tariff_w"):
            p[c] = np.where(dmask, 0.0, np.nan)
    return p


def _warn_domestic(issues: DomesticIssues) -> None:
    """One warning per reason a domestic flow was left missing (the caller's line)."""
    if issues.below_exports:
        c, y, s, prod, exp = issues.below_exports[0]
        warnings.warn(
            f"{len(issues.below_exports)} country-years have production below exports (first: "
            f"{c} {y} sector {s}: production {prod:.6g} < exports {exp:.6g}); their domestic "
            "flows are left missing. Check the production file's units and coverage.",
            DataValidationWarning,
            stacklevel=3,
        )
    if issues.no_production:
        c, y, s = issues.no_production[0]
        warnings.warn(
            f"{len(issues.no_production)} country-year-sectors have no production data (first: "
            f"{c} {y} sector {s}); their domestic flows are left missing (GE needs them: add "
            "production rows with those sector codes).",
            DataValidationWarning,
            stacklevel=3,
        )
    if issues.incomplete_exports:
        first = sorted(set(issues.incomplete_exports))
        c, y = first[0]
        warnings.warn(
            f"{len(first)} country-years trade with partners known in TOTAL only (first: {c} "
            f"{y}), so their exports by sector are incomplete; their domestic flows by sector "
            "are left missing rather than overstated.",
            DataValidationWarning,
            stacklevel=3,
        )
