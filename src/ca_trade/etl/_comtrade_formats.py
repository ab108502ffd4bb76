r"""Comtrade API bodies to the raw files ingest reads (internal to :mod:`ca_trade.etl.download`).

- JSON (``data/v1/get``, ``public/v1/preview``, the bulk listing): an object with
  ``elapsedTime``, ``count``, ``data`` (the records) and ``error``. A body that does not parse
  or whose ``count`` is below the number of records arrived damaged (:class:`Transient`: asked
  again); a non-empty ``error`` is the API refusing the query (:class:`ApiError`).
- Records become the 47-column Comtrade+ API CSV in the documented column order
  (``docs/etl.md``), numbers written exactly as the API sent them (the JSON text, no float
  round trip), ``null`` as an empty field, booleans as ``True``/``False``, a line break inside
  a text as a space (one record, one line), rows sorted by their key so the same answer
  always gives the same bytes. Fields the API adds later are kept, after the 47, in name
  order.
- A CSV body must have a Comtrade+ header; a bulk file must be gzip that decompresses to the
  end and holds a Comtrade+ header.

Examples
--------
>>> env = parse_envelope(b'{"elapsedTime": "0.1 secs", "count": 1, "error": "",'
...                      b' "data": [{"reporterCode": 398, "primaryValue": 1.50}]}')
>>> env.count, env.rows[0]["primaryValue"]
(1, '1.50')
>>> records_csv(env.rows).splitlines()[1].count(b",")
46
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ca_trade.etl._comtrade_api import ApiError, Transient
from ca_trade.etl.layouts import sniff_header

__all__ = [
    "PLUS_API_COLUMNS",
    "Envelope",
    "check_csv",
    "check_gzip_file",
    "parse_envelope",
    "records_csv",
]

#: The Comtrade+ API CSV header, in the documented order (``shared/reference/README.md``).
PLUS_API_COLUMNS: tuple[str, ...] = (
    "typeCode", "freqCode", "refPeriodId", "refYear", "refMonth", "period", "reporterCode",
    "reporterISO", "reporterDesc", "flowCode", "flowDesc", "partnerCode", "partnerISO",
    "partnerDesc", "partner2Code", "partner2ISO", "partner2Desc", "classificationCode",
    "classificationSearchCode", "isOriginalClassification", "cmdCode", "cmdDesc", "aggrLevel",
    "isLeaf", "customsCode", "customsDesc", "mosCode", "motCode", "motDesc", "qtyUnitCode",
    "qtyUnitAbbr", "qty", "isQtyEstimated", "altQtyUnitCode", "altQtyUnitAbbr", "altQty",
    "isAltQtyEstimated", "netWgt", "isNetWgtEstimated", "grossWgt", "isGrossWgtEstimated",
    "cifvalue", "fobvalue", "primaryValue", "legacyEstimationFlag", "isReported", "isAggregate",
)  # fmt: skip

# Rows are sorted by these fields (as text), then by the whole line.
_SORT_KEY = (
    "period", "reporterCode", "flowCode", "partnerCode", "partner2Code", "classificationCode",
    "cmdCode", "customsCode", "motCode", "mosCode",
)  # fmt: skip
_PLUS_LAYOUTS = ("plus_api", "plus_bulk")


@dataclass(frozen=True)
class Envelope:
    """A parsed JSON answer of the API.

    Attributes
    ----------
    rows : list of dict
        The ``data`` records; numbers are kept as the text the API sent.
    count : int or None
        The ``count`` the API reported (None when absent).
    """

    rows: list[dict[str, Any]]
    count: int | None


def parse_envelope(body: bytes) -> Envelope:
    """Parse and check a Comtrade JSON answer.

    Parameters
    ----------
    body : bytes
        The (decompressed) response body.

    Returns
    -------
    Envelope
        Its records and reported count.

    Raises
    ------
    Transient
        The body is not a complete JSON object with a ``data`` list of objects, or its
        ``count`` is below the number of records (damaged in transit: ask again).
    ApiError
        The ``error`` field is not empty (the API refused the query).

    Examples
    --------
    >>> parse_envelope(b'{"count": 0, "data": [], "error": ""}')
    Envelope(rows=[], count=0)
    """
    try:
        obj = json.loads(body.decode("utf-8").lstrip("\ufeff"), parse_float=str, parse_int=str)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Transient(f"the JSON answer does not parse ({len(body)} bytes): {exc}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise Transient("the answer is not a Comtrade JSON object with a 'data' list")
    error = obj.get("error")
    if error not in (None, "") and str(error).strip():
        raise ApiError(f"the API reported an error: {' '.join(str(error).split())[:300]}")
    rows = obj["data"]
    if not all(isinstance(r, dict) for r in rows):
        raise Transient("the 'data' list of the answer holds something other than records")
    raw_count = obj.get("count")
    count: int | None
    try:
        count = None if raw_count is None else int(raw_count)
    except (TypeError, ValueError):
        raise Transient(f"the answer's count is not a number: {raw_count!r}") from None
    if count is not None and count < len(rows):
        raise Transient(f"the answer says count {count} but carries {len(rows)} records")
    return Envelope(rows=rows, count=count)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    # One record, one line: ingest's line numbers are physical lines.
    return str(value).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def records_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    r"""Write API records as a Comtrade+ API CSV (47 columns, then any new fields).

    Parameters
    ----------
    rows : sequence of dict
        Records from :func:`parse_envelope`.

    Returns
    -------
    bytes
        UTF-8 CSV with ``\n`` line ends, rows sorted by their key (same records, same
        bytes); a header only when there are no records.

    Examples
    --------
    >>> records_csv([]).decode().startswith("typeCode,freqCode,refPeriodId")
    True
    """
    extra = sorted({k for r in rows for k in r} - set(PLUS_API_COLUMNS))
    columns = [*PLUS_API_COLUMNS, *extra]
    lines = []
    for r in rows:
        fields = [_text(r.get(c)) for c in columns]
        lines.append(([_text(r.get(c)) for c in _SORT_KEY], fields))
    lines.sort()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(fields for _, fields in lines)
    return buf.getvalue().encode("utf-8")


def check_csv(body: bytes) -> int:
    r"""Check that a CSV answer is a Comtrade+ file; return its number of records.

    Parameters
    ----------
    body : bytes
        The response body.

    Returns
    -------
    int
        Non-empty lines after the header.

    Raises
    ------
    ApiError
        The header is not a complete Comtrade+ header (an error page, a wrong endpoint).

    Examples
    --------
    >>> check_csv(b"reporterCode,flowCode,partnerCode,cmdCode,primaryValue,refYear,"
    ...           b"classificationCode\n398,X,156,TOTAL,5,2019,H5\n")
    1
    """
    info = sniff_header(body[:65536])
    if info.layout not in _PLUS_LAYOUTS or info.missing:
        first = body[:200].decode("utf-8", errors="replace").splitlines()[:1]
        raise ApiError(f"the answer is not a Comtrade+ CSV (it starts {first!r})")
    return sum(1 for line in body.splitlines()[1:] if line.strip())


def check_gzip_file(path: Path) -> int:
    r"""Check that a downloaded bulk file is complete gzip with a Comtrade+ header.

    Parameters
    ----------
    path : Path
        The file (one or several gzip members).

    Returns
    -------
    int
        Its number of records (non-empty lines after the header).

    Raises
    ------
    Transient
        The gzip stream is damaged or ends early (a cut download: ask again).
    ApiError
        It decompresses but holds no Comtrade+ header.

    Examples
    --------
    >>> import gzip, tempfile
    >>> p = Path(tempfile.mkdtemp()) / "b.gz"
    >>> _ = p.write_bytes(gzip.compress(b"reporterCode\tflowCode\tpartnerCode\tcmdCode\t"
    ...     b"primaryValue\trefYear\tclassificationCode\n398\tX\t0\tTOTAL\t5\t2019\tH5\n"))
    >>> check_gzip_file(p)
    1
    """
    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            raise ApiError("the bulk file is not gzip")
    head = b""
    records = 0
    try:
        with gzip.open(path, "rb") as gz:
            for i, line in enumerate(gz):
                if i == 0:
                    head = line
                elif line.strip():
                    records += 1
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise Transient(f"the bulk file is damaged or cut gzip: {exc}") from None
    info = sniff_header(head)
    if info.layout not in _PLUS_LAYOUTS or info.missing:
        raise ApiError(f"the bulk file holds no Comtrade+ header (it starts {head[:120]!r})")
    return records
