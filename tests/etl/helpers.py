"""Tiny Comtrade-layout files written from test code."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

PLUS_HEADER = [
    "typeCode", "freqCode", "refPeriodId", "refYear", "refMonth", "period", "reporterCode",
    "reporterISO", "reporterDesc", "flowCode", "flowDesc", "partnerCode", "partnerISO",
    "partnerDesc", "partner2Code", "partner2ISO", "partner2Desc", "classificationCode",
    "classificationSearchCode", "isOriginalClassification", "cmdCode", "cmdDesc", "aggrLevel",
    "isLeaf", "customsCode", "customsDesc", "mosCode", "motCode", "motDesc", "qtyUnitCode",
    "qtyUnitAbbr", "qty", "isQtyEstimated", "altQtyUnitCode", "altQtyUnitAbbr", "altQty",
    "isAltQtyEstimated", "netWgt", "isNetWgtEstimated", "grossWgt", "isGrossWgtEstimated",
    "cifvalue", "fobvalue", "primaryValue", "legacyEstimationFlag", "isReported", "isAggregate",
]  # fmt: skip

BULK_HEADER = [
    "typeCode", "freqCode", "refPeriodId", "refYear", "refMonth", "period", "reporterCode",
    "flowCode", "partnerCode", "partner2Code", "classificationCode", "classificationSearchCode",
    "isOriginalClassification", "cmdCode", "customsCode", "mosCode", "motCode", "qtyUnitCode",
    "qty", "isQtyEstimated", "altQtyUnitCode", "altQty", "isAltQtyEstimated", "netWgt",
    "isNetWgtEstimated", "grossWgt", "isGrossWgtEstimated", "CIFValue", "FOBValue",
    "primaryValue", "legacyEstimationFlag", "isReported", "isAggregate",
]  # fmt: skip

LEGACY_BULK_HEADER = [
    "Classification", "Year", "Period", "Period Desc.", "Aggregate Level", "Is Leaf Code",
    "Trade Flow Code", "Trade Flow", "Reporter Code", "Reporter", "Reporter ISO",
    "Partner Code", "Partner", "Partner ISO", "Commodity Code", "Commodity", "Qty Unit Code",
    "Qty Unit", "Qty", "Netweight (kg)", "Trade Value (US$)", "Flag",
]  # fmt: skip


def plus_row(
    reporter: int | str,
    partner: int | str,
    flow: str,
    value: object,
    *,
    year: int | str = 2019,
    cmd: str = "TOTAL",
    customs: str = "C00",
    mot: str = "0",
    mos: str = "0",
    partner2: str = "0",
    cls: str = "H5",
) -> dict[str, object]:
    return {
        "typeCode": "C", "freqCode": "A", "refPeriodId": f"{year}0101", "refYear": year,
        "refMonth": 52, "period": year, "reporterCode": reporter, "flowCode": flow,
        "partnerCode": partner, "partner2Code": partner2, "classificationCode": cls,
        "cmdCode": cmd, "customsCode": customs, "mosCode": mos, "motCode": mot,
        "qtyUnitCode": -1, "primaryValue": value, "isReported": "True",
    }  # fmt: skip


def write_plus(
    path: Path,
    rows: Sequence[dict[str, object]],
    *,
    bulk: bool = False,
    header: Sequence[str] | None = None,
) -> Path:
    cols = list(header or (BULK_HEADER if bulk else PLUS_HEADER))
    sep = "\t" if bulk else ","
    lines = [sep.join(cols)]
    for r in rows:
        lines.append(sep.join("" if r.get(c) is None else str(r.get(c)) for c in cols))
    data = ("\n".join(lines) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    if bulk:
        path.write_bytes(gzip.compress(data, mtime=0))
    else:
        path.write_bytes(data)
    return path
