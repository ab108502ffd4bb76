"""Readers for the non-Comtrade sources users download into ``data/raw/``.

- CEPII GeoDist (``dist_cepii``: ``iso_o, iso_d, contig, comlang_off, distcap, dist, ...``);
- CEPII Gravity (``iso3_o, iso3_d, year, distcap/dist, contig, comlang_off, ...``);
- ITPD-E (``exporter_iso3, importer_iso3, year, industry_id, trade``; trade in **millions**
  of current US dollars, domestic flows included);
- WITS/TRAINS-style tariffs (importer, exporter, year, product, tariff, import value);
- production files (``country, year, sector, production_usd``).

Each reader returns a pandas DataFrame with documented column names and units (US dollars,
kilometres, tariffs as fractions). :func:`detect_source` tells them apart from the header.

Examples
--------
>>> detect_source(["iso_o", "iso_d", "contig", "comlang_off", "distcap"])
'cepii_geodist'
>>> detect_source(["country", "year", "sector", "production_usd"])
'production'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ca_trade.etl.layouts import normalise_name, sniff_header
from ca_trade.etl.paths import resolve
from ca_trade.etl.rawtext import sniff_file
from ca_trade.exceptions import DataValidationError

__all__ = [
    "SOURCE_KINDS",
    "detect_source",
    "find_sources",
    "read_cepii",
    "read_itpde",
    "read_production",
    "read_wits_schedules",
    "read_wits_tariffs",
]

SOURCE_KINDS: tuple[str, ...] = (
    "cepii_geodist",
    "cepii_gravity",
    "itpde",
    "wits_tariffs",
    "production",
    "gdp",
)

_WITS_ALIASES: dict[str, tuple[str, ...]] = {
    "importer": ("importeriso3", "reporteriso3", "importer", "reporteriso", "reporter"),
    "exporter": ("exporteriso3", "partneriso3", "exporter", "partneriso", "partner"),
    "year": ("year", "tariffyear"),
    "product": ("product", "productcode", "hs", "hscode", "cmdcode", "sector"),
    "tariff_pct": (
        "simpleaveragepct",
        "simpleaverage",
        "ahvsimpleaverage",
        "tariffpct",
        "appliedtariffpct",
    ),
    "tariff_w_pct": ("weightedaveragepct", "weightedaverage"),
    "tariff_type": ("tarifftype", "dutytype"),
    "tariff": ("tariff", "appliedtariff", "tariffrate"),
    "imports_usd": ("importvalueusd", "importsusd", "importvalue", "tradevalueusd"),
    "imports_kusd": ("importsvaluein1000usd", "importvalue1000usd"),
}


def _norm_cols(cols: Sequence[str]) -> dict[str, str]:
    return {normalise_name(c): c for c in cols}


def detect_source(columns: Sequence[str]) -> str | None:
    """Tell which supported non-Comtrade source a header belongs to.

    Parameters
    ----------
    columns : sequence of str
        Header names.

    Returns
    -------
    str or None
        One of :data:`SOURCE_KINDS`, or None.

    Examples
    --------
    >>> detect_source(["exporter_iso3", "importer_iso3", "year", "industry_id", "trade"])
    'itpde'
    """
    n = set(_norm_cols(columns))
    if {"isoo", "isod"} <= n and ("distcap" in n or "dist" in n):
        return "cepii_geodist"
    if {"iso3o", "iso3d", "year"} <= n:
        return "cepii_gravity"
    if {"exporteriso3", "importeriso3", "year", "trade"} <= n:
        return "itpde"
    if {"country", "year", "productionusd"} <= n:
        return "production"
    if {"country", "year", "gdpusd"} <= n:
        return "gdp"
    wits = {k for k, names in _WITS_ALIASES.items() if any(a in n for a in names)}
    if {"importer", "exporter", "year"} <= wits and ({"tariff", "tariff_pct"} & wits):
        return "wits_tariffs"
    return None


def find_sources(raw_dir: Path) -> dict[str, list[Path]]:
    r"""List the supported non-Comtrade source files under ``raw_dir``, by kind.

    Parameters
    ----------
    raw_dir : Path
        Directory searched recursively (hidden entries skipped).

    Returns
    -------
    dict
        Kind -> sorted list of files (kinds without files are absent).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "p.csv").write_text("country,year,sector,production_usd\nKAZ,2019,TOTAL,1\n")
    >>> {k: [p.name for p in v] for k, v in find_sources(d).items()}
    {'production': ['p.csv']}
    """
    out: dict[str, list[Path]] = {}
    for path in sorted(resolve(raw_dir).rglob("*")):
        if not path.is_file() or any(p.startswith(".") for p in path.parts[-1:]):
            continue
        if path.suffix.lower() == ".parquet":
            try:
                import pyarrow.parquet as pq

                cols = pq.read_schema(path).names
            except (OSError, ValueError):
                continue
        elif path.suffix.lower() in {".csv", ".tsv", ".txt", ".gz"}:
            head = sniff_file(path)  # any encoding, line end or compression, as ingest
            cols = list(sniff_header(head.header).columns) if head.problem is None else []
        else:
            continue
        kind = detect_source(cols)
        if kind is not None:
            out.setdefault(kind, []).append(path)
    return out


def _read_any(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    head = sniff_file(path)
    fmt = head.format
    return pd.read_csv(
        path,
        sep=sniff_header(head.header).separator,
        dtype=str,
        keep_default_na=False,
        encoding=fmt.encoding if fmt.width == 2 else "utf-8",
        encoding_errors="replace",
        compression="gzip" if fmt.gzip else None,
    )


def _col(df: pd.DataFrame, path: Path, *names: str) -> pd.Series:
    lookup = _norm_cols(list(df.columns))
    for n in names:
        if n in lookup:
            return df[lookup[n]]
    raise DataValidationError(
        f"{path}: no column named any of {list(names)}; found {list(df.columns)}"
    )


def _numeric(s: pd.Series, path: Path, what: str) -> pd.Series:
    out = pd.to_numeric(s.replace({"": None, "NA": None, ".": None}), errors="coerce")
    bad = s[(out.isna()) & s.astype(str).str.strip().ne("") & s.notna()]
    if len(bad):
        raise DataValidationError(
            f"{path}: column {what} has non-numeric value {bad.iloc[0]!r} at data row "
            f"{int(bad.index[0]) + 1}; fix or remove that row"
        )
    return out.astype("float64")


def read_cepii(path: Path) -> pd.DataFrame:
    r"""Read a CEPII GeoDist or Gravity file into pair covariates.

    Parameters
    ----------
    path : Path
        csv or Parquet with ``iso_o/iso_d`` (GeoDist) or ``iso3_o/iso3_d/year`` (Gravity).

    Returns
    -------
    pandas.DataFrame
        ``exporter, importer`` (ISO3), ``year`` (Int64, missing for GeoDist),
        ``dist_km`` (capital-to-capital great-circle ``distcap``, else ``dist``),
        ``contig`` and ``comlang`` (``comlang_off``) as Int64.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.csv"
    >>> _ = p.write_text("iso_o,iso_d,contig,comlang_off,distcap\nKAZ,UZB,1,0,1110\n")
    >>> print(read_cepii(p).to_string(index=False))
    exporter importer  year  dist_km  contig  comlang
         KAZ      UZB  <NA>   1110.0       1        0
    """
    path = resolve(path)  # relative, `..` and symlinks: once, here
    df = _read_any(path)
    kind = detect_source(list(df.columns))
    if kind not in ("cepii_geodist", "cepii_gravity"):
        raise DataValidationError(f"{path} is not a CEPII GeoDist or Gravity file")
    if kind == "cepii_geodist":
        exp, imp = _col(df, path, "isoo"), _col(df, path, "isod")
        year = pd.Series(pd.NA, index=df.index, dtype="Int64")
    else:
        exp, imp = _col(df, path, "iso3o"), _col(df, path, "iso3d")
        year = _numeric(_col(df, path, "year"), path, "year").astype("Int64")
    dist = _numeric(_col(df, path, "distcap", "dist"), path, "distcap")
    out = pd.DataFrame(
        {
            "exporter": exp.astype(str).str.upper().to_numpy(),
            "importer": imp.astype(str).str.upper().to_numpy(),
            "year": year.to_numpy(),
            "dist_km": dist.to_numpy(),
            "contig": _numeric(_col(df, path, "contig"), path, "contig").astype("Int64"),
            "comlang": _numeric(_col(df, path, "comlangoff"), path, "comlang_off").astype("Int64"),
        }
    )
    out["year"] = out["year"].astype("Int64")
    return out


def read_itpde(path: Path) -> pd.DataFrame:
    r"""Read ITPD-E flows (domestic flows included).

    Parameters
    ----------
    path : Path
        csv or Parquet with ``exporter_iso3, importer_iso3, year, industry_id, trade``
        (trade in millions of current US dollars, as distributed).

    Returns
    -------
    pandas.DataFrame
        ``exporter, importer, year, sector`` (``TOTAL`` after summing industries),
        ``value_usd`` (US dollars).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "i.csv"
    >>> _ = p.write_text("exporter_iso3,importer_iso3,year,industry_id,trade\n"
    ...                  "KAZ,KAZ,2016,1,2.5\nKAZ,KAZ,2016,2,0.5\n")
    >>> read_itpde(p)["value_usd"].tolist()
    [3000000.0]
    """
    path = resolve(path)  # relative, `..` and symlinks: once, here
    df = _read_any(path)
    out = pd.DataFrame(
        {
            "exporter": _col(df, path, "exporteriso3").astype(str).str.upper(),
            "importer": _col(df, path, "importeriso3").astype(str).str.upper(),
            "year": _numeric(_col(df, path, "year"), path, "year").astype("int64"),
            "value_usd": _numeric(_col(df, path, "trade"), path, "trade") * 1e6,
        }
    )
    out = out.groupby(["exporter", "importer", "year"], as_index=False).agg(
        value_usd=("value_usd", "sum")
    )
    out.insert(3, "sector", "TOTAL")
    return out.sort_values(["exporter", "importer", "year"]).reset_index(drop=True)


def read_production(path: Path) -> pd.DataFrame:
    r"""Read a production file (gross output, for domestic flows).

    Parameters
    ----------
    path : Path
        csv or Parquet with ``country, year, production_usd`` and optionally ``sector``.

    Returns
    -------
    pandas.DataFrame
        ``country, year, sector`` (``TOTAL`` where absent), ``production_usd`` (US dollars).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "p.csv"
    >>> _ = p.write_text("country,year,sector,production_usd\nKAZ,2019,TOTAL,5e9\n")
    >>> print(read_production(p).to_string(index=False))
    country  year sector  production_usd
        KAZ  2019  TOTAL    5000000000.0
    """
    path = resolve(path)  # relative, `..` and symlinks: once, here
    df = _read_any(path)
    lookup = _norm_cols(list(df.columns))
    sector = df[lookup["sector"]].astype(str) if "sector" in lookup else "TOTAL"
    out = pd.DataFrame(
        {
            "country": _col(df, path, "country").astype(str).str.upper(),
            "year": _numeric(_col(df, path, "year"), path, "year").astype("int64"),
            "sector": sector,
            "production_usd": _numeric(_col(df, path, "productionusd"), path, "production_usd"),
        }
    )
    return out.sort_values(["country", "year", "sector"]).reset_index(drop=True)


def read_wits_tariffs(path: Path) -> pd.DataFrame:
    r"""Read WITS/TRAINS-style bilateral applied tariffs by product.

    Parameters
    ----------
    path : Path
        csv or Parquet. Importer (``importer``/``reporter_iso3``), exporter
        (``exporter``/``partner_iso3``), ``year``, ``product``/``sector`` (optional), the
        tariff as a fraction (``tariff``) or in percent (``tariff_pct``, WITS
        ``Simple Average``, ``simple_average_pct``), optionally a WITS import-weighted
        average in percent (``weighted_average_pct``) and imports (``import_value_usd`` or
        WITS ``Imports Value in 1000 USD``). Where a ``tariff_type``/``DutyType`` column
        exists, only applied rates (``AHS``) are kept; partner ``WLD`` rows (MFN for all) are
        dropped. (:func:`read_wits_schedules` keeps every type, for sector panels.)

    Returns
    -------
    pandas.DataFrame
        ``importer, exporter, year, product, tariff`` (fraction), ``tariff_w`` (WITS
        weighted average as a fraction, NaN where absent), ``imports_usd`` (US dollars,
        NaN where absent).

    Raises
    ------
    DataValidationError
        On negative or non-numeric tariffs, naming the file and row.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "w.csv"
    >>> _ = p.write_text("importer,exporter,year,product,tariff_pct\nKAZ,CHN,2019,01,5\n")
    >>> read_wits_tariffs(p)["tariff"].tolist()
    [0.05]
    """
    t = read_wits_schedules(path)
    if (t["tariff_type"] == "AHS").any():
        t = t[t["tariff_type"] == "AHS"]
    t = t[t["exporter"] != "WLD"].drop(columns="tariff_type")
    return t.reset_index(drop=True)


def read_wits_schedules(path: Path) -> pd.DataFrame:
    r"""Read a WITS/TRAINS-style tariff file with every tariff type (MFN, preferential, applied).

    Parameters
    ----------
    path : Path
        As for :func:`read_wits_tariffs`.

    Returns
    -------
    pandas.DataFrame
        ``importer, exporter`` (``WLD`` for MFN rows, as WITS writes them), ``year,
        product, tariff_type`` (upper case: ``AHS``, ``MFN``, ``PREF``, ...; ``AHS`` where
        the file has no type column: its rates are taken as applied), ``tariff``
        (fraction), ``tariff_w``, ``imports_usd`` (NaN where absent); sorted.

    Raises
    ------
    DataValidationError
        On negative or non-numeric tariffs, naming the file and row.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "w.csv"
    >>> _ = p.write_text("reporter_iso3,partner_iso3,year,tariff_type,product,"
    ...                  "simple_average_pct\nKAZ,WLD,2019,MFN,27,5\nKAZ,KGZ,2019,PREF,27,0\n")
    >>> read_wits_schedules(p)[["exporter", "tariff_type", "tariff"]].values.tolist()
    [['KGZ', 'PREF', 0.0], ['WLD', 'MFN', 0.05]]
    """
    path = resolve(path)  # relative, `..` and symlinks: once, here
    df = _read_any(path)
    lookup = _norm_cols(list(df.columns))

    def pick(key: str) -> str | None:
        return next((lookup[a] for a in _WITS_ALIASES[key] if a in lookup), None)

    importer, exporter, ttype = pick("importer"), pick("exporter"), pick("tariff_type")
    if importer is None or exporter is None:
        raise DataValidationError(f"{path}: needs importer and exporter ISO3 columns")
    types = (
        df[ttype].astype(str).str.strip().str.upper()
        if ttype is not None
        else pd.Series("AHS", index=df.index)
    )
    pct, frac, wpct = pick("tariff_pct"), pick("tariff"), pick("tariff_w_pct")
    if pct is not None:
        tariff = _numeric(df[pct], path, pct) / 100.0
    elif frac is not None:
        tariff = _numeric(df[frac], path, frac)
    else:
        raise DataValidationError(f"{path}: no tariff column (tariff, tariff_pct, Simple Average)")
    neg = tariff[tariff < 0]
    if len(neg):
        raise DataValidationError(
            f"{path}: negative tariff {neg.iloc[0]} at data row {int(neg.index[0]) + 1}; "
            "applied tariffs must be >= 0"
        )
    tariff_w = (
        _numeric(df[wpct], path, wpct) / 100.0
        if wpct is not None
        else pd.Series(float("nan"), index=df.index)
    )
    imp_col, kimp_col, prod_col = pick("imports_usd"), pick("imports_kusd"), pick("product")
    if imp_col is not None:
        imports = _numeric(df[imp_col], path, imp_col)
    elif kimp_col is not None:
        imports = _numeric(df[kimp_col], path, kimp_col) * 1000.0
    else:
        imports = pd.Series(float("nan"), index=df.index)
    product = df[prod_col].astype(str) if prod_col else pd.Series("TOTAL", index=df.index)
    out = pd.DataFrame(
        {
            "importer": df[importer].astype(str).str.upper().to_numpy(),
            "exporter": df[exporter].astype(str).str.upper().to_numpy(),
            "year": _numeric(_col(df, path, *_WITS_ALIASES["year"]), path, "year")
            .astype("int64")
            .to_numpy(),
            "product": product.to_numpy(),
            "tariff_type": types.to_numpy(),
            "tariff": tariff.to_numpy(),
            "tariff_w": tariff_w.to_numpy(),
            "imports_usd": imports.to_numpy(),
        }
    )
    keys = ["importer", "exporter", "year", "product", "tariff_type"]
    return out.sort_values(keys).reset_index(drop=True)
