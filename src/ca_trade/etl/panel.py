r"""The gravity panel: square exporter x importer x year, explicit zeros, domestic flows.

Rules (``docs/etl.md`` has the full text):

- **International rows.** For each year, every ordered pair of panel countries where the
  reconciled data has a flow, or where a zero is *known*: the exporter reported exports that
  year (so it would have reported this one) or the importer reported imports that year.
  Such a pair without any report gets ``value_usd = 0`` and ``source = "zero"``. Pairs where
  neither side reported anything that year are left out: a zero there would be invented.
- **Domestic rows** (``exporter == importer``) for every country and year:
  :math:`X_{ii} = \text{production}_i - \sum_j X_{ij}` where production is known (a user
  file, a ``production`` frame, or ITPD-E domestic flows in ``raw_dir``); otherwise
  ``value_usd`` is NaN (flagged, never invented) and GE refuses to run on it.
- **Covariates** from :func:`ca_trade.facts.pair_covariates` (packaged facts; CEPII files in
  ``raw_dir`` override them: :func:`ca_trade.etl.covariates.cepii_overrides`), **tariffs**
  from WITS-style input aggregated by :func:`ca_trade.etl.tariffs.aggregate_tariffs`
  (domestic pairs: 0).
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

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ca_trade import facts
from ca_trade._synthetic import frame_is_synthetic, mark, raw_is_synthetic
from ca_trade.etl.covariates import cepii_overrides
from ca_trade.etl.paths import resolve
from ca_trade.etl.sources import find_sources, read_itpde, read_production, read_wits_tariffs
from ca_trade.etl.tariffs import aggregate_tariffs
from ca_trade.exceptions import DataValidationError, DataValidationWarning

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


def _domestic_values(
    production: pd.DataFrame | None,
    itpde: pd.DataFrame | None,
    exports: pd.DataFrame,
    sector: str,
) -> pd.DataFrame:
    out = pd.DataFrame(columns=["exporter", "year", "dom"])
    if production is not None and len(production):
        p = production[production["sector"].astype(str) == sector]
        p = p.rename(columns={"country": "exporter"})[["exporter", "year", "production_usd"]]
        p = p.merge(exports, on=["exporter", "year"], how="left")
        p["dom"] = p["production_usd"] - p["exports"].fillna(0.0)
        neg = p[p["dom"] < 0]
        if len(neg):
            r = neg.iloc[0]
            warnings.warn(
                f"{len(neg)} country-years have production below exports (first: "
                f"{r['exporter']} {int(r['year'])}: production {r['production_usd']:.6g} < "
                f"exports {r['exports']:.6g}); their domestic flows are left missing. "
                "Check the production file's units and coverage.",
                DataValidationWarning,
                stacklevel=4,
            )
            p.loc[p["dom"] < 0, "dom"] = np.nan
        out = p[["exporter", "year", "dom"]]
    if itpde is not None and len(itpde):
        d = itpde[itpde["exporter"] == itpde["importer"]][["exporter", "year", "value_usd"]]
        d = d.rename(columns={"value_usd": "dom"})
        out = pd.concat([out, d]).drop_duplicates(["exporter", "year"], keep="first")
    return out


def _sector_level(sector: str) -> str:
    if sector == "TOTAL":
        return "total"
    if len(sector) == 3 and sector.startswith("S") and sector[1:].isdigit():
        return "section"
    return "chapter"


def _known_zeros(reconciled: pd.DataFrame, grid: pd.DataFrame, sector: str) -> np.ndarray:
    """Whether a missing (exporter, importer, year) flow in ``sector`` is a known zero.

    From the exporter side: the exporter reported exports at this sector level that year,
    and either it reported this pair at this level, or nobody reported the pair at all (a
    pair reported only at a coarser level says nothing about this sector). Likewise from the
    importer side.
    """
    level = reconciled["sector"].astype(str).map(_sector_level)
    at_level = reconciled[level == _sector_level(sector)]
    pair_any = set(zip(reconciled["exporter"], reconciled["importer"], reconciled["year"]))
    masks = []
    for side, sources in (
        ("exporter", ["both", "exporter_only"]),
        ("importer", ["both", "importer_only"]),
    ):
        lvl_rep = at_level[at_level["source"].isin(sources)]
        reporter = set(zip(lvl_rep[side], lvl_rep["year"]))
        pair_lvl = set(zip(lvl_rep["exporter"], lvl_rep["importer"], lvl_rep["year"]))
        masks.append(
            np.fromiter(
                (
                    (r, y) in reporter and ((e, i, y) in pair_lvl or (e, i, y) not in pair_any)
                    for e, i, y, r in zip(
                        grid["exporter"], grid["importer"], grid["year"], grid[side]
                    )
                ),
                dtype=bool,
                count=len(grid),
            )
        )
    return masks[0] | masks[1]


def build_panel(
    reconciled: pd.DataFrame,
    *,
    raw_dir: str | Path | None = None,
    production: pd.DataFrame | str | Path | None = None,
    sector: str = "TOTAL",
    years: Sequence[int] | None = None,
    countries: Sequence[str] | None = None,
    tariffs: pd.DataFrame | str | Path | None = None,
) -> pd.DataFrame:
    """Build the square gravity panel with explicit zeros, domestic flows and covariates.

    Parameters
    ----------
    reconciled : pandas.DataFrame
        Output of :func:`ca_trade.etl.reconcile`.
    raw_dir : str or Path, optional
        Searched for CEPII GeoDist/Gravity (covariate overrides), ITPD-E (domestic flows),
        WITS tariffs and production files.
    production : DataFrame or path, optional
        ``country, year, [sector,] production_usd`` (US dollars) for domestic flows.
    sector : str, default "TOTAL"
        Sector of ``reconciled`` to use.
    years : sequence of int, optional
        Years to keep (default: all in ``reconciled``).
    countries : sequence of str, optional
        ISO3 codes of the panel (default: every country in ``reconciled`` known to
        :func:`ca_trade.facts.countries`; others are dropped with a warning).
    tariffs : DataFrame or path, optional
        WITS-style product tariffs (see :func:`ca_trade.etl.sources.read_wits_tariffs`);
        default: a WITS file found in ``raw_dir``. Without any, tariff columns are NaN.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PANEL_COLUMNS` (docs/design.md, "Panel"), sorted by exporter,
        importer, year. ``attrs["synthetic"]`` is True when `reconciled` says its flows are
        SYNTHETIC or `raw_dir` holds the sample's marker; ca_trade's Parquet writers keep it
        in the file, and ``pandas.read_parquet`` restores it.

    Raises
    ------
    DataValidationError
        If ``reconciled`` lacks required columns or no rows remain.

    Examples
    --------
    >>> rec = pd.DataFrame({"exporter": ["KAZ"], "importer": ["UZB"], "year": [2019],
    ...     "sector": "TOTAL", "value_usd": [10.0], "source": ["both"],
    ...     "value_exporter": [10.0], "value_importer_fob": [10.0]})
    >>> prod = pd.DataFrame({"country": ["KAZ"], "year": [2019], "production_usd": [50.0]})
    >>> p = build_panel(rec, production=prod)
    >>> float(p.query("exporter == 'KAZ' and importer == 'KAZ'")["value_usd"].item())
    40.0
    """
    _check_reconciled(reconciled, sector)
    r = reconciled[reconciled["sector"].astype(str) == sector]
    if years is not None:
        r = r[r["year"].isin(list(years))]
    cset = _panel_countries(reconciled, countries)
    yrs = sorted({int(y) for y in reconciled["year"]}) if years is None else sorted(set(years))
    if not cset or not yrs:
        raise DataValidationError("no countries or years left to build a panel from")
    raw = resolve(raw_dir) if raw_dir is not None else None  # once, here
    found = find_sources(raw) if raw is not None else {}
    p = _flows(reconciled, r, cset, yrs, sector)
    p = _with_domestic(p, _production(production, found), _itpde(found), r, sector)
    cov = facts.pair_covariates(cset, yrs)
    if raw is not None:
        cov = cepii_overrides(cov, raw)
    p = p.merge(cov, on=["exporter", "importer", "year"], how="left")
    tframe = _frame_or_files(tariffs, found.get("wits_tariffs", []), read_wits_tariffs)
    p = _with_tariffs(p, tframe)
    panel = p[PANEL_COLUMNS].sort_values(["exporter", "importer", "year"]).reset_index(drop=True)
    synthetic = frame_is_synthetic(reconciled) or (raw is not None and raw_is_synthetic(raw))
    return mark(panel, synthetic)


def _check_reconciled(reconciled: pd.DataFrame, sector: str) -> None:
    """Refuse frames that are not reconciled flows; warn when TOTAL rows are missing."""
    need = {"exporter", "importer", "year", "sector", "value_usd", "source"}
    if not need <= set(reconciled.columns):
        raise DataValidationError(
            f"reconciled flows lack columns {sorted(need - set(reconciled.columns))}; "
            "pass the output of ca_trade.etl.reconcile"
        )
    if sector != "TOTAL" and not (reconciled["sector"] == "TOTAL").any():
        warnings.warn(
            f"reconciled flows have no TOTAL rows: pairs reported only in total cannot be told "
            f"from zeros in sector {sector}; reconcile with sectors=['total', ...]",
            DataValidationWarning,
            stacklevel=3,
        )


def _panel_countries(reconciled: pd.DataFrame, countries: Sequence[str] | None) -> list[str]:
    """Return the panel's countries: those given, or every known one in the flows."""
    known = set(facts.countries()["iso3"])
    if countries is None:
        present = set(reconciled["exporter"]) | set(reconciled["importer"])
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


def _flows(
    reconciled: pd.DataFrame,
    r: pd.DataFrame,
    cset: list[str],
    yrs: list[int],
    sector: str,
) -> pd.DataFrame:
    """Return the square grid's rows: flows, known zeros and every domestic pair."""
    r = r[r["exporter"].isin(cset) & r["importer"].isin(cset)]
    grid = pd.MultiIndex.from_product(
        [cset, cset, yrs], names=["exporter", "importer", "year"]
    ).to_frame(index=False)
    p = grid.merge(r[["exporter", "importer", "year", "value_usd", "source"]], how="left")
    dom = p["exporter"] == p["importer"]
    known_zero = _known_zeros(reconciled, p, sector)
    zero = p["value_usd"].isna() & ~dom & known_zero
    p.loc[zero, "value_usd"] = 0.0
    p.loc[zero, "source"] = "zero"
    return p[dom | p["source"].notna()].copy()


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
    given: pd.DataFrame | str | Path | None, found: dict[str, list[Path]]
) -> pd.DataFrame | None:
    """Return production by country, year and sector (``TOTAL`` where a frame has none)."""
    frame = _frame_or_files(given, found.get("production", []), read_production)
    if frame is not None and "sector" not in frame.columns:
        frame = frame.assign(sector="TOTAL")
    return frame


def _itpde(found: dict[str, list[Path]]) -> pd.DataFrame | None:
    return _frame_or_files(None, found.get("itpde", []), read_itpde)


def _with_domestic(
    p: pd.DataFrame,
    production: pd.DataFrame | None,
    itpde: pd.DataFrame | None,
    r: pd.DataFrame,
    sector: str,
) -> pd.DataFrame:
    """Fill domestic rows (``production - exports``), add ``domestic``, ``sector``, pair ids."""
    exports = (
        r[r["exporter"] != r["importer"]]
        .groupby(["exporter", "year"], as_index=False)
        .agg(exports=("value_usd", "sum"))
    )
    d = _domestic_values(production, itpde, exports, sector)
    d = d.rename(columns={"exporter": "_c"}).astype({"year": "int64", "dom": "float64"})
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


def _with_tariffs(p: pd.DataFrame, tariffs: pd.DataFrame | None) -> pd.DataFrame:
    """Add ``tariff``, ``ln_tariff``, ``ln_tariff_w`` (0 on domestic pairs; NaN without data)."""
    dmask = p["domestic"].to_numpy()
    if tariffs is not None and len(tariffs):
        p = p.merge(aggregate_tariffs(tariffs), on=["exporter", "importer", "year"], how="left")
        for c in ("tariff", "ln_tariff", "ln_tariff_w"):
            p.loc[dmask, c] = 0.0
    else:
        for c in ("tariff", "ln_tariff", "ln_tariff_w"):
            p[c] = np.where(dmask, 0.0, np.nan)
    return p
