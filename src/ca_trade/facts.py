"""Packaged facts: Comtrade area codes, countries, borders, agreements, WTO membership.

The facts live in ``ca_trade/data/*.csv``; every row cites its source in a ``source`` column.
Loaders read them once through :mod:`importlib.resources`, type the columns and return a fresh
copy on every call (so callers may modify what they get).

Conventions used by :func:`pair_covariates`
-------------------------------------------
- **Distance**: great-circle (haversine) distance between capitals, Earth radius 6371 km.
  Domestic pairs get the internal distance ``0.67 * sqrt(area_km2 / pi)`` (Head & Mayer 2002,
  as used by CEPII GeoDist ``distcap`` for ``iso_o == iso_d``).
- **In force in a year**: an agreement membership or a WTO accession counts in year ``t`` when
  it is in force on **1 July of t** (mid-year rule): ``entry <= t-07-01`` and (``exit`` empty or
  ``exit >= t-07-01``). Kyrgyzstan (EAEU from 2015-08-12) is thus an EAEU member from 2016;
  Kazakhstan (WTO from 2015-11-30) a WTO member from 2016.
- **Agreement dummies** (international pairs only; 0 for domestic pairs, as in Yotov et al.
  2016): ``cu`` = both in force in a common customs union (type ``CU``); ``fta`` = both in a
  common ``FTA``/``EIA`` and ``cu == 0`` (the deepest level counts, so ``fta`` and ``cu`` are
  mutually exclusive); ``rta = max(fta, cu)``; ``eaeu`` = both EAEU members; ``cis_fta`` = both
  parties to the 1994 CIS FTA agreement or to the 2011 CIS FTA treaty. A bilateral suspension
  (:func:`suspensions`, e.g. Russia's suspension of the CIS FTA with Ukraine from 2016) removes
  that agreement from that pair only, in the years when the suspension is in force at mid-year.
- ``contig``, ``comlang`` (a common official language) and ``former_ussr`` (both former USSR
  republics) are 0 for domestic pairs; ``intl`` is 1 for international pairs.
- ``wto_exp``/``wto_imp``: membership of the exporter/importer (domestic pairs included);
  ``wto_both = intl * wto_exp * wto_imp``.

Known gaps of the agreement facts
---------------------------------
The facts were audited against public sources; the ``source`` text of each row of
``agreements.csv`` and ``wto.csv`` says what was confirmed and what is ``unverified``.

- Turkmenistan is in no agreement: its 1990s bilateral FTAs with CIS states could not be dated
  from a citable source, and sources disagree on whether it applies the 1994 CIS agreement.
- 1990s bilateral FTAs between parties of the 1994 CIS agreement (e.g. Kyrgyzstan-Uzbekistan,
  Kazakhstan-Uzbekistan, Ukraine with the Central Asian states) are not listed separately: the
  1994 agreement (in force 1994-12-30) already codes those pairs ``cis_fta`` = ``rta`` = 1 in every
  year from 1995, so they would change no covariate.
- Partial-scope preferential agreements (e.g. Türkiye-Uzbekistan, signed 2022-03-29, in force
  July 2023, 12 tariff lines a side) are left out: coding them ``FTA`` would overstate them.
- ``EURASEC`` is typed ``CU`` although it had no common external tariff before 2010.

Examples
--------
>>> from ca_trade import facts
>>> int(facts.comtrade_areas().query("code == 842").iloc[0]["code"])
842
>>> facts.countries().set_index("iso3").loc["KAZ", "capital"]
'Astana'
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib import resources

import numpy as np
import pandas as pd

from ca_trade.exceptions import DataValidationError

__all__ = [
    "AGREEMENT_TYPES",
    "CENTRAL_ASIA",
    "EARTH_RADIUS_KM",
    "PAIR_COVARIATES",
    "agreements",
    "comtrade_areas",
    "contiguity",
    "countries",
    "haversine_km",
    "in_force",
    "internal_distance_km",
    "pair_covariates",
    "suspensions",
    "wto",
]

#: The five Central Asian states (ISO3), the region the package is about.
CENTRAL_ASIA = ("KAZ", "KGZ", "TJK", "TKM", "UZB")
EARTH_RADIUS_KM = 6371.0
AGREEMENT_TYPES = ("FTA", "CU", "EIA")
CIS_FTA_AGREEMENTS = ("CIS_FTA_1994", "CIS_FTA")
PAIR_COVARIATES = (
    "dist_km",
    "ln_dist",
    "contig",
    "comlang",
    "landlocked_exp",
    "landlocked_imp",
    "former_ussr",
    "intl",
    "fta",
    "cu",
    "eaeu",
    "cis_fta",
    "rta",
    "wto_exp",
    "wto_imp",
    "wto_both",
)


@functools.cache
def _read(name: str) -> pd.DataFrame:
    """Read one packaged CSV (cached; callers must copy)."""
    path = resources.files("ca_trade").joinpath("data", name)
    with path.open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False, comment=None)
    if "source" not in frame.columns or (frame["source"].str.strip() == "").any():
        raise DataValidationError(
            f"packaged facts file ca_trade/data/{name} must cite a source on every row; "
            "fill the 'source' column"
        )
    return frame


def _nullable_int(col: pd.Series) -> pd.Series:
    return pd.to_numeric(col.replace("", None), errors="raise").astype("Int64")


def _dates(col: pd.Series) -> pd.Series:
    return pd.to_datetime(col.replace("", None), format="%Y-%m-%d")


@functools.cache
def _comtrade_areas() -> pd.DataFrame:
    raw = _read("comtrade_areas.csv")
    return pd.DataFrame(
        {
            "code": raw["code"].astype("int64"),
            "iso3": raw["iso3"],
            "name": raw["name"],
            "valid_from": _nullable_int(raw["valid_from"]),
            "valid_to": _nullable_int(raw["valid_to"]),
            "is_nes": raw["is_nes"].astype("int64").astype(bool),
            "is_group": raw["is_group"].astype("int64").astype(bool),
            "source": raw["source"],
        }
    )


def comtrade_areas() -> pd.DataFrame:
    """UN Comtrade reporter/partner area codes with their validity windows.

    Returns
    -------
    pandas.DataFrame
        Columns ``code`` (int), ``iso3`` (str; ``X..`` pseudo codes for 'nes' areas, ``WLD``
        World, ``EUU`` European Union), ``name``, ``valid_from``/``valid_to`` (nullable int
        years, inclusive; missing = open), ``is_nes``, ``is_group`` (bool), ``source``.

    Examples
    --------
    >>> areas = comtrade_areas()
    >>> areas.set_index("code").loc[492, "iso3"]  # 'Europe EU, nes' is not Monaco
    'XEU'
    """
    return _comtrade_areas().copy()


@functools.cache
def _countries() -> pd.DataFrame:
    raw = _read("countries.csv")
    return pd.DataFrame(
        {
            "iso3": raw["iso3"],
            "name": raw["name"],
            "capital": raw["capital"],
            "lat": raw["lat"].astype("float64"),
            "lon": raw["lon"].astype("float64"),
            "landlocked": raw["landlocked"].astype("int64").astype(bool),
            "former_ussr": raw["former_ussr"].astype("int64").astype(bool),
            "languages": raw["languages"],
            "area_km2": raw["area_km2"].astype("float64"),
            "source": raw["source"],
        }
    )


def countries() -> pd.DataFrame:
    """Sample countries with capital coordinates, geography and official languages.

    Returns
    -------
    pandas.DataFrame
        Columns ``iso3, name, capital, lat, lon`` (decimal degrees), ``landlocked``,
        ``former_ussr`` (bool), ``languages`` (``;``-separated ISO 639-1), ``area_km2`` (total
        area, for internal distances), ``source``; sorted by ``iso3``.

    Examples
    --------
    >>> c = countries().set_index("iso3")
    >>> bool(c.loc["UZB", "landlocked"]), c.loc["KAZ", "languages"]
    (True, 'kk;ru')
    """
    return _countries().copy()


def contiguity() -> pd.DataFrame:
    """Land borders among the packaged countries, each unordered pair once (``iso3_a < iso3_b``).

    Returns
    -------
    pandas.DataFrame
        Columns ``iso3_a, iso3_b, source``.

    Examples
    --------
    >>> c = contiguity()
    >>> bool(((c.iso3_a == "KAZ") & (c.iso3_b == "KGZ")).any())
    True
    """
    return _read("contiguity.csv").copy()


@functools.cache
def _agreements() -> pd.DataFrame:
    raw = _read("agreements.csv")
    bad = raw.loc[~raw["type"].isin(AGREEMENT_TYPES), "type"]
    if len(bad):
        raise DataValidationError(
            f"ca_trade/data/agreements.csv: unknown agreement type {bad.iloc[0]!r} "
            f"(row {bad.index[0] + 2}); use one of {AGREEMENT_TYPES}"
        )
    return pd.DataFrame(
        {
            "agreement": raw["agreement"],
            "type": raw["type"],
            "iso3": raw["iso3"],
            "entry": _dates(raw["entry"]),
            "exit": _dates(raw["exit"]),
            "source": raw["source"],
        }
    )


def agreements() -> pd.DataFrame:
    """Trade-agreement memberships: one row per agreement × member × membership spell.

    Returns
    -------
    pandas.DataFrame
        Columns ``agreement`` (e.g. ``EAEU``, ``CIS_FTA``, ``CIS_FTA_1994``), ``type`` (``FTA``,
        ``CU``, ``EIA``), ``iso3``, ``entry``, ``exit`` (datetime64; ``NaT`` = still in force),
        ``source``.

    Examples
    --------
    >>> a = agreements()
    >>> str(a.query("agreement == 'EAEU' and iso3 == 'KGZ'").entry.iloc[0].date())
    '2015-08-12'
    """
    return _agreements().copy()


@functools.cache
def _suspensions() -> pd.DataFrame:
    raw = _read("agreement_suspensions.csv")
    known = set(_agreements()["agreement"])
    rows = zip(raw["agreement"], raw["iso3_a"], raw["iso3_b"], strict=True)
    for i, (name, iso3_a, iso3_b) in enumerate(rows, start=2):
        if name not in known:
            raise DataValidationError(
                f"ca_trade/data/agreement_suspensions.csv line {i}: unknown agreement "
                f"{name!r}; it must be named in agreements.csv"
            )
        if not str(iso3_a) < str(iso3_b):
            raise DataValidationError(
                f"ca_trade/data/agreement_suspensions.csv line {i}: write each pair once with "
                f"iso3_a < iso3_b (got {iso3_a!r}, {iso3_b!r})"
            )
    frame = pd.DataFrame(
        {
            "agreement": raw["agreement"],
            "iso3_a": raw["iso3_a"],
            "iso3_b": raw["iso3_b"],
            "start": _dates(raw["start"]),
            "end": _dates(raw["end"]),
            "source": raw["source"],
        }
    )
    if (frame["end"].notna() & (frame["end"] < frame["start"])).any():
        raise DataValidationError(
            "ca_trade/data/agreement_suspensions.csv: a suspension ends before it starts; "
            "fix its 'start'/'end' dates"
        )
    return frame


def suspensions() -> pd.DataFrame:
    """Bilateral suspensions of an agreement between two of its members.

    Membership spells (:func:`agreements`) cannot express that one member stops applying an
    agreement to one partner only; these spells do. :func:`pair_covariates` drops the agreement
    for the pair in the years when the suspension is in force on 1 July.

    Returns
    -------
    pandas.DataFrame
        Columns ``agreement``, ``iso3_a``, ``iso3_b`` (unordered pair, ``iso3_a < iso3_b``),
        ``start``, ``end`` (datetime64; ``NaT`` end = still suspended), ``source``.

    Examples
    --------
    >>> s = suspensions().set_index(["agreement", "iso3_a", "iso3_b"])
    >>> str(s.loc[("CIS_FTA", "RUS", "UKR"), "start"].date())
    '2016-01-01'
    """
    return _suspensions().copy()


@functools.cache
def _wto() -> pd.DataFrame:
    raw = _read("wto.csv")
    return pd.DataFrame(
        {"iso3": raw["iso3"], "accession": _dates(raw["accession"]), "source": raw["source"]}
    )


def wto() -> pd.DataFrame:
    """WTO accession dates (``NaT`` for the listed non-members: observers/acceding states).

    Returns
    -------
    pandas.DataFrame
        Columns ``iso3, accession`` (datetime64), ``source``.

    Examples
    --------
    >>> w = wto().set_index("iso3")
    >>> str(w.loc["KAZ", "accession"].date()), bool(pd.isna(w.loc["UZB", "accession"]))
    ('2015-11-30', True)
    """
    return _wto().copy()


def in_force(
    entry: pd.Series | pd.Timestamp, exit: pd.Series | pd.Timestamp, year: int
) -> np.ndarray:
    """Whether a spell ``[entry, exit]`` is in force in ``year`` under the mid-year rule.

    A spell counts in year ``t`` when it covers 1 July of ``t``; a missing ``exit`` is open.

    Parameters
    ----------
    entry, exit : pandas.Series or pandas.Timestamp
        Start and end dates (``NaT`` entry = never; ``NaT`` exit = open-ended).
    year : int
        Calendar year.

    Returns
    -------
    numpy.ndarray
        Boolean array.

    Examples
    --------
    >>> in_force(pd.Series(pd.to_datetime(["2015-08-12"])), pd.Series([pd.NaT]), 2015)
    array([False])
    """
    mid = pd.Timestamp(year=year, month=7, day=1)
    entry_s = pd.Series(entry) if not isinstance(entry, pd.Series) else entry
    exit_s = pd.Series(exit) if not isinstance(exit, pd.Series) else exit
    started = (entry_s <= mid).to_numpy(dtype=bool)
    not_ended = (exit_s.isna() | (exit_s >= mid)).to_numpy(dtype=bool)
    return started & not_ended


def haversine_km(
    lat1: np.ndarray | float,
    lon1: np.ndarray | float,
    lat2: np.ndarray | float,
    lon2: np.ndarray | float,
) -> np.ndarray:
    """Great-circle distance in km (haversine formula, Earth radius 6371 km).

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : array_like
        Coordinates in decimal degrees; broadcast against each other.

    Returns
    -------
    numpy.ndarray
        Distances in km.

    Examples
    --------
    >>> round(float(haversine_km(0.0, 0.0, 0.0, 1.0)), 2)
    111.19
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def internal_distance_km(area_km2: np.ndarray | float) -> np.ndarray:
    """Return the internal distance ``0.67 * sqrt(area / pi)`` in km (Head & Mayer 2002).

    Parameters
    ----------
    area_km2 : array_like
        Surface area in km².

    Returns
    -------
    numpy.ndarray
        Internal distance in km.

    Examples
    --------
    >>> round(float(internal_distance_km(np.pi * 100.0**2)), 1)
    67.0
    """
    return np.asarray(0.67 * np.sqrt(np.asarray(area_km2, dtype=float) / np.pi))


def _checked_iso3s(iso3s: Iterable[str]) -> list[str]:
    wanted = sorted(set(iso3s))
    known = set(_countries()["iso3"])
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise DataValidationError(
            f"pair_covariates: no packaged facts for {unknown}; known countries are "
            f"{sorted(known)}. Add rows to ca_trade/data/countries.csv (with sources) or "
            "supply your own covariates."
        )
    if not wanted:
        raise DataValidationError("pair_covariates: iso3s is empty; pass at least one country")
    return wanted


def _membership(frame: pd.DataFrame, codes: list[str], year: int) -> dict[str, np.ndarray]:
    """Boolean member vector over ``codes`` for each agreement in force in ``year``."""
    index = {c: k for k, c in enumerate(codes)}
    live = frame.loc[in_force(frame["entry"], frame["exit"], year) & frame["iso3"].isin(index)]
    out: dict[str, np.ndarray] = {}
    for name, grp in live.groupby("agreement", sort=True):
        vec = np.zeros(len(codes), dtype=bool)
        vec[[index[c] for c in grp["iso3"]]] = True
        out[str(name)] = vec
    return out


def pair_covariates(iso3s: Iterable[str], years: Iterable[int]) -> pd.DataFrame:
    """Gravity covariates for every exporter × importer × year, domestic pairs included.

    Parameters
    ----------
    iso3s : iterable of str
        ISO3 codes present in :func:`countries`.
    years : iterable of int
        Calendar years.

    Returns
    -------
    pandas.DataFrame
        ``exporter, importer, year`` and the columns in :data:`PAIR_COVARIATES` (``dist_km``,
        ``ln_dist`` float; the dummies int64), sorted by exporter, importer, year. See the
        module docstring for the definitions and the mid-year rule.

    Raises
    ------
    DataValidationError
        If a code has no packaged facts or the list is empty.

    Examples
    --------
    >>> cov = pair_covariates(["KAZ", "KGZ", "RUS"], [2015, 2016])
    >>> cov.query("exporter == 'KAZ' and importer == 'KGZ'")[["year", "eaeu", "contig"]]
    ... # doctest: +NORMALIZE_WHITESPACE
       year  eaeu  contig
    2  2015     0       1
    3  2016     1       1
    """
    codes = _checked_iso3s(iso3s)
    yrs = sorted({int(y) for y in years})
    n, t = len(codes), len(yrs)
    info = _countries().set_index("iso3").loc[codes]
    lat, lon = info["lat"].to_numpy(), info["lon"].to_numpy()
    dist = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    np.fill_diagonal(dist, internal_distance_km(info["area_km2"].to_numpy()))
    intl = ~np.eye(n, dtype=bool)

    pos = {c: k for k, c in enumerate(codes)}
    contig = np.zeros((n, n), dtype=bool)
    for a, b in contiguity()[["iso3_a", "iso3_b"]].itertuples(index=False):
        if a in pos and b in pos:
            contig[pos[a], pos[b]] = contig[pos[b], pos[a]] = True
    langs = [set(s.split(";")) for s in info["languages"]]
    comlang = np.array([[bool(la & lb) for lb in langs] for la in langs]) & intl
    landlocked = info["landlocked"].to_numpy()
    ussr = info["former_ussr"].to_numpy()

    agr = _agreements()
    types = agr.drop_duplicates("agreement").set_index("agreement")["type"]
    acc = _wto().set_index("iso3")["accession"].reindex(codes)

    static = {
        "dist_km": dist,
        "ln_dist": np.log(dist),
        "contig": contig,
        "comlang": comlang,
        "landlocked_exp": np.repeat(landlocked[:, None], n, axis=1),
        "landlocked_imp": np.repeat(landlocked[None, :], n, axis=0),
        "former_ussr": np.outer(ussr, ussr) & intl,
        "intl": intl,
    }
    dynamic: dict[str, list[np.ndarray]] = {
        k: [] for k in ("fta", "cu", "eaeu", "cis_fta", "rta", "wto_exp", "wto_imp", "wto_both")
    }
    susp = _suspensions()
    susp = susp.loc[susp["iso3_a"].isin(pos) & susp["iso3_b"].isin(pos)]
    for year in yrs:
        cu = np.zeros((n, n), dtype=bool)
        fta = np.zeros((n, n), dtype=bool)
        eaeu = np.zeros((n, n), dtype=bool)
        cis = np.zeros((n, n), dtype=bool)
        live_susp = susp.loc[in_force(susp["start"], susp["end"], year)]
        for name, vec in _membership(agr, codes, year).items():
            both = np.outer(vec, vec) & intl
            cut = live_susp.loc[live_susp["agreement"] == name, ["iso3_a", "iso3_b"]]
            for a, b in cut.itertuples(index=False):
                both[pos[a], pos[b]] = both[pos[b], pos[a]] = False
            if types[name] == "CU":
                cu |= both
            else:
                fta |= both
            if name == "EAEU":
                eaeu |= both
            if name in CIS_FTA_AGREEMENTS:
                cis |= both
        member = in_force(acc, pd.Series(pd.NaT, index=acc.index), year)
        dynamic["cu"].append(cu)
        dynamic["fta"].append(fta & ~cu)
        dynamic["rta"].append(fta | cu)
        dynamic["eaeu"].append(eaeu)
        dynamic["cis_fta"].append(cis)
        dynamic["wto_exp"].append(np.repeat(member[:, None], n, axis=1))
        dynamic["wto_imp"].append(np.repeat(member[None, :], n, axis=0))
        dynamic["wto_both"].append(np.outer(member, member) & intl)

    # layout: exporter-major, importer, then year
    out: dict[str, np.ndarray] = {
        "exporter": np.repeat(np.array(codes, dtype=object), n * t),
        "importer": np.tile(np.repeat(np.array(codes, dtype=object), t), n),
        "year": np.tile(np.array(yrs, dtype=np.int64), n * n),
    }
    for name, mat in static.items():
        flat = np.repeat(mat.reshape(-1), t)
        out[name] = flat.astype(np.float64) if name in ("dist_km", "ln_dist") else flat
    for name, mats in dynamic.items():
        out[name] = np.stack(mats, axis=-1).reshape(-1)
    frame = pd.DataFrame(out)
    for name in PAIR_COVARIATES:
        if name not in ("dist_km", "ln_dist"):
            frame[name] = frame[name].astype(np.int64)
    return frame
