"""Write SYNTHETIC reporter records in the four real UN Comtrade file layouts.

Internal module of :mod:`ca_trade.sample`. Headers follow ``shared/reference/README.md``:
legacy API csv (35 columns), legacy bulk csv (22 columns), Comtrade+ API csv (47 columns),
Comtrade+ bulk (gzip, tab separated, ``CIFValue``/``FOBValue``; the bulk files carry codes but
no descriptions).

Examples
--------
>>> layout_for_year(2003), layout_for_year(2020)
('legacy_bulk', 'plus_bulk')
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ca_trade import facts
from ca_trade._io import atomic_write
from ca_trade.sample.reporting import CHAPTER_NAMES

LEGACY_API_HEADER = (
    "Classification,Year,Period,Period Desc.,Aggregate Level,Is Leaf Code,Trade Flow Code,"
    "Trade Flow,Reporter Code,Reporter,Reporter ISO,Partner Code,Partner,Partner ISO,"
    "2nd Partner Code,2nd Partner,2nd Partner ISO,Customs Proc. Code,Customs,"
    "Mode of Transport Code,Mode of Transport,Commodity Code,Commodity,Qty Unit Code,Qty Unit,"
    "Qty,Alt Qty Unit Code,Alt Qty Unit,Alt Qty,Netweight (kg),Gross weight (kg),"
    "Trade Value (US$),CIF Trade Value (US$),FOB Trade Value (US$),Flag"
).split(",")
LEGACY_BULK_HEADER = (
    "Classification,Year,Period,Period Desc.,Aggregate Level,Is Leaf Code,Trade Flow Code,"
    "Trade Flow,Reporter Code,Reporter,Reporter ISO,Partner Code,Partner,Partner ISO,"
    "Commodity Code,Commodity,Qty Unit Code,Qty Unit,Qty,Netweight (kg),Trade Value (US$),Flag"
).split(",")
PLUS_API_HEADER = (
    "typeCode,freqCode,refPeriodId,refYear,refMonth,period,reporterCode,reporterISO,"
    "reporterDesc,flowCode,flowDesc,partnerCode,partnerISO,partnerDesc,partner2Code,"
    "partner2ISO,partner2Desc,classificationCode,classificationSearchCode,"
    "isOriginalClassification,cmdCode,cmdDesc,aggrLevel,isLeaf,customsCode,customsDesc,mosCode,"
    "motCode,motDesc,qtyUnitCode,qtyUnitAbbr,qty,isQtyEstimated,altQtyUnitCode,altQtyUnitAbbr,"
    "altQty,isAltQtyEstimated,netWgt,isNetWgtEstimated,grossWgt,isGrossWgtEstimated,cifvalue,"
    "fobvalue,primaryValue,legacyEstimationFlag,isReported,isAggregate"
).split(",")
# Comtrade+ bulk: the API column order with the ISO/description columns dropped and
# ``CIFValue``/``FOBValue`` spelling. Verified (tests/test_sample.py): 17 of these names are read
# from real bulk files by harvard-growth-lab/comtrade-downloader with pandas ``usecols``; the
# exact order and the five names refPeriodId, refYear, refMonth, classificationSearchCode and
# isOriginalClassification could not be checked against a real bulk file. Readers must match
# by name (case-insensitively), never by position.
PLUS_BULK_HEADER = (
    "typeCode,freqCode,refPeriodId,refYear,refMonth,period,reporterCode,flowCode,partnerCode,"
    "partner2Code,classificationCode,classificationSearchCode,isOriginalClassification,cmdCode,"
    "customsCode,mosCode,motCode,qtyUnitCode,qty,isQtyEstimated,altQtyUnitCode,altQty,"
    "isAltQtyEstimated,netWgt,isNetWgtEstimated,grossWgt,isGrossWgtEstimated,CIFValue,FOBValue,"
    "primaryValue,legacyEstimationFlag,isReported,isAggregate"
).split(",")
HEADERS = {
    "legacy_bulk": LEGACY_BULK_HEADER,
    "legacy_api": LEGACY_API_HEADER,
    "plus_api": PLUS_API_HEADER,
    "plus_bulk": PLUS_BULK_HEADER,
}
UNKNOWN_PARTNER_CODE = 987
_LEGACY_FLOW = {"M": (1, "Import"), "X": (2, "Export"), "RX": (3, "Re-Export")}
_PLUS_FLOW = {"M": "Import", "X": "Export", "RX": "Re-export"}


def layout_for_year(year: int) -> str:
    """Comtrade layout used for ``year``: the sample spans all four over 2000-2023.

    Examples
    --------
    >>> layout_for_year(2006)
    'legacy_api'
    """
    if year <= 2005:
        return "legacy_bulk"
    if year <= 2011:
        return "legacy_api"
    if year <= 2017:
        return "plus_api"
    return "plus_bulk"


def hs_classification(year: int) -> str:
    """HS edition in force in ``year`` (H1 = HS1996 ... H6 = HS2022).

    Examples
    --------
    >>> hs_classification(2016)
    'H4'
    """
    for first, code in ((2022, "H6"), (2017, "H5"), (2012, "H4"), (2007, "H3"), (2002, "H2")):
        if year >= first:
            return code
    return "H1"


def _area_lookup(year: int) -> pd.DataFrame:
    """ISO3 -> (code, name) valid in ``year``."""
    a = facts.comtrade_areas()
    lo = a["valid_from"].fillna(0).astype(int)
    hi = a["valid_to"].fillna(9999).astype(int)
    a = a[(lo <= year) & (hi >= year)]
    return a.drop_duplicates("iso3").set_index("iso3")[["code", "name"]]


def _coded(rec: pd.DataFrame, year: int) -> pd.DataFrame:
    areas = _area_lookup(year)
    out = rec.copy()
    out["reporter_code"] = areas.loc[out.reporter, "code"].to_numpy()
    out["reporter_name"] = areas.loc[out.reporter, "name"].to_numpy()
    out["partner_code"] = areas.loc[out.partner, "code"].to_numpy()
    out["partner_name"] = areas.loc[out.partner, "name"].to_numpy()
    # Comtrade's own ISO field: nes areas carry placeholders, not our X.. pseudo codes
    out["partner_iso"] = out.partner.where(~out.partner.str.match(r"^X[A-Z]{2}$"), "")
    out["cmd_name"] = out.cmd.map(CHAPTER_NAMES)
    out["aggr"] = np.where(out.cmd == "TOTAL", 0, 2)
    return out


def _frame(layout: str, rec: pd.DataFrame, year: int) -> pd.DataFrame:
    """Return one file's records in `layout`: its header's columns, blank where unknown."""
    c = _coded(rec, year)
    blank = [""] * len(c)
    columns = _legacy_columns if layout in ("legacy_api", "legacy_bulk") else _plus_columns
    cols = columns(c, year, hs_classification(year), c.value.astype(str).to_numpy())
    return pd.DataFrame({h: cols.get(h, blank) for h in HEADERS[layout]})


def _legacy_columns(c: pd.DataFrame, year: int, cls: str, value: np.ndarray) -> dict[str, object]:
    """Column values of the legacy layouts (API and bulk) for coded records `c`."""
    return {
        "Classification": cls,
        "Year": year,
        "Period": year,
        "Period Desc.": year,
        "Aggregate Level": c.aggr,
        "Is Leaf Code": 0,
        "Trade Flow Code": c.flow.map(lambda f: _LEGACY_FLOW[f][0]),
        "Trade Flow": c.flow.map(lambda f: _LEGACY_FLOW[f][1]),
        "Reporter Code": c.reporter_code,
        "Reporter": c.reporter_name,
        "Reporter ISO": c.reporter,
        "Partner Code": c.partner_code,
        "Partner": c.partner_name,
        "Partner ISO": c.partner_iso,
        "Commodity Code": c.cmd,
        "Commodity": c.cmd_name,
        "Qty Unit Code": 1,
        "Qty Unit": "No Quantity",
        "Trade Value (US$)": value,
        "Flag": 0,
    }


def _plus_columns(c: pd.DataFrame, year: int, cls: str, value: np.ndarray) -> dict[str, object]:
    """Column values of the Comtrade+ layouts (API and bulk) for coded records `c`."""
    is_m = (c.flow == "M").to_numpy()
    return {
        "typeCode": "C",
        "freqCode": "A",
        "refPeriodId": f"{year}0101",
        "refYear": year,
        "refMonth": 52,
        "period": year,
        "reporterCode": c.reporter_code,
        "reporterISO": c.reporter,
        "reporterDesc": c.reporter_name,
        "flowCode": c.flow,
        "flowDesc": c.flow.map(_PLUS_FLOW),
        "partnerCode": c.partner_code,
        "partnerISO": np.where(c.partner_iso == "", "_X", c.partner_iso),
        "partnerDesc": c.partner_name,
        "partner2Code": 0,
        "partner2ISO": "W00",
        "partner2Desc": "World",
        "classificationCode": cls,
        "classificationSearchCode": "HS",
        "isOriginalClassification": "True",
        "cmdCode": c.cmd,
        "cmdDesc": c.cmd_name,
        "aggrLevel": c.aggr,
        "isLeaf": "False",
        "customsCode": "C00",
        "customsDesc": "TOTAL CPC",
        "mosCode": 0,
        "motCode": 0,
        "motDesc": "TOTAL MOT",
        "qtyUnitCode": -1,
        "qtyUnitAbbr": "N/A",
        "isQtyEstimated": "False",
        "altQtyUnitCode": -1,
        "altQtyUnitAbbr": "N/A",
        "isAltQtyEstimated": "False",
        "isNetWgtEstimated": "False",
        "isGrossWgtEstimated": "False",
        "cifvalue": np.where(is_m, value, ""),
        "fobvalue": np.where(is_m, "", value),
        "CIFValue": np.where(is_m, value, ""),
        "FOBValue": np.where(is_m, "", value),
        "primaryValue": value,
        "legacyEstimationFlag": 0,
        "isReported": "True",
        "isAggregate": np.where(c.cmd == "TOTAL", "True", "False"),
    }


def inject_anomalies(
    rng: np.random.Generator, frame: pd.DataFrame, layout: str
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Inject the four kinds of malformed records into a copy of ``frame``.

    One non-numeric value and one negative value (genuine records corrupted in place), one
    record with the unknown partner code 987 and one exact duplicate (both appended).

    Parameters
    ----------
    rng : numpy.random.Generator
        Chooses the records.
    frame : pandas.DataFrame
        One file's records in its layout.
    layout : str
        The layout name.

    Returns
    -------
    tuple of (pandas.DataFrame, list of dict)
        The corrupted frame (as text) and one description per anomaly: ``type``,
        ``reporter_code``, ``partner_code``, ``flow``, ``cmd``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> f = pd.DataFrame({h: ["1"] * 6 for h in HEADERS["legacy_bulk"]})
    >>> g, log = inject_anomalies(np.random.default_rng(0), f, "legacy_bulk")
    >>> len(g), sorted(a["type"] for a in log)[0]
    (8, 'duplicate_record')
    """
    legacy = layout.startswith("legacy")
    value_col = "Trade Value (US$)" if legacy else "primaryValue"
    partner_col = "Partner Code" if legacy else "partnerCode"
    flow_col = "Trade Flow Code" if legacy else "flowCode"
    rep_col = "Reporter Code" if legacy else "reporterCode"
    cmd_col = "Commodity Code" if legacy else "cmdCode"
    out = frame.astype(str).reset_index(drop=True)
    rows = rng.choice(len(out), size=4, replace=False)
    log: list[dict[str, Any]] = []

    def describe(kind: str, row: pd.Series) -> dict[str, Any]:
        return {
            "type": kind,
            "reporter_code": int(row[rep_col]),
            "partner_code": int(row[partner_col]),
            "flow": str(row[flow_col]),
            "cmd": str(row[cmd_col]),
        }

    def set_value(idx: int, col: str, val: str) -> None:
        out.loc[idx, col] = val
        if not legacy:
            for extra in ("cifvalue", "fobvalue", "CIFValue", "FOBValue"):
                if extra in out.columns and out.loc[idx, extra] != "":
                    out.loc[idx, extra] = val

    text = out.iloc[int(rows[0])][value_col]
    set_value(int(rows[0]), value_col, text[:1] + "O" + text[1:])  # letter O: not a number
    log.append(describe("non_numeric_value", out.iloc[int(rows[0])]))
    set_value(int(rows[1]), value_col, "-" + out.iloc[int(rows[1])][value_col])
    log.append(describe("negative_value", out.iloc[int(rows[1])]))
    unknown = out.iloc[[int(rows[2])]].copy()
    unknown[partner_col] = str(UNKNOWN_PARTNER_CODE)
    for col in ("Partner", "Partner ISO", "partnerISO", "partnerDesc"):
        if col in unknown.columns:
            unknown[col] = ""
    log.append(describe("unknown_partner_code", unknown.iloc[0]))
    duplicate = out.iloc[[int(rows[3])]].copy()
    log.append(describe("duplicate_record", duplicate.iloc[0]))
    out = pd.concat([out, unknown, duplicate], ignore_index=True)
    return out, log


def write_frame(frame: pd.DataFrame, path: Path, layout: str) -> None:
    r"""Write one layout file deterministically (gzip with mtime 0 for the Comtrade+ bulk).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"
    >>> write_frame(pd.DataFrame({"a": [1]}), p, "legacy_api")
    >>> p.read_text()
    'a\n1\n'
    """
    if layout == "plus_bulk":
        text = frame.to_csv(index=False, sep="\t", lineterminator="\n")
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
            gz.write(text.encode("utf-8"))
        atomic_write(path, buf.getvalue())
    else:
        atomic_write(path, frame.to_csv(index=False, lineterminator="\n"))


def layout_frames(records: pd.DataFrame, year: int) -> list[tuple[str, pd.DataFrame]]:
    """Split one year's records into files: ``(file stem, frame)`` pairs.

    Legacy and Comtrade+ API files hold one year (all reporters); Comtrade+ bulk files one
    reporter-year, as Comtrade distributes them.

    Examples
    --------
    >>> rec = pd.DataFrame({"reporter": ["KAZ"], "partner": ["CHN"], "year": [2020],
    ...                     "flow": ["X"], "cmd": ["TOTAL"], "value": [5]})
    >>> [stem for stem, _ in layout_frames(rec, 2020)]
    ['SYNTHETIC_comtrade_plus_bulk_A_2020_r398']
    """
    layout = layout_for_year(year)
    rec = records[records.year == year]
    if layout != "plus_bulk":
        return [(f"SYNTHETIC_comtrade_{layout}_{year}", _frame(layout, rec, year))]
    out = []
    frame = _frame(layout, rec, year)
    for code in sorted(frame["reporterCode"].unique()):
        part = frame[frame["reporterCode"] == code].reset_index(drop=True)
        out.append((f"SYNTHETIC_comtrade_plus_bulk_A_{year}_r{int(code)}", part))
    return out


FILE_SUFFIX = {
    "legacy_bulk": ".csv",
    "legacy_api": ".csv",
    "plus_api": ".csv",
    "plus_bulk": ".tsv.gz",
}
