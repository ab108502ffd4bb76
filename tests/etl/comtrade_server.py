"""A stand-in for the UN Comtrade API on 127.0.0.1, replaying its real formats.

Started by the tests on a free port in a thread. It answers the three endpoints the download
uses, in the shapes of the UN's API (``docs/data.md``; the shared reference folder's recorded
answers; UN's ``comtradeapicall`` and rOpenSci's ``comtradr``):

- ``public/v1/preview/C/{freq}/{cl}`` (no key; at most ``preview_cap`` records) and
  ``data/v1/get/C/{freq}/{cl}`` (key in ``Ocp-Apim-Subscription-Key``; at most ``data_cap``):
  ``{"elapsedTime", "count", "data", "error"}`` with records filtered by reporterCode, period,
  flowCode, cmdCode (TOTAL, AG2, AG4, AG6 or codes), partnerCode, partner2Code, customsCode,
  motCode; optionally gzip-encoded, or as CSV;
- ``bulk/v1/get/C/{freq}/{cl}`` (the file list, ``fileUrl`` on comtradeapi.un.org as the UN
  writes it) and ``bulk/v1/file/{reporter}/{rowKey}`` (the gzip file).

Faults are queued per endpoint and consumed in order: HTTP 429 with ``Retry-After``, 500,
403 with a long ``Retry-After`` (used-up quota), 401/400 error bodies, an ``error`` field, a
connection cut mid-body, JSON that does not parse, a count that disagrees, a gzip file cut
short, a redirect to another host name, a body echoing the key. Every request is logged.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ca_trade import facts

FIXTURES = Path(__file__).parent / "fixtures" / "comtrade_api"
KEY_HEADER = "Ocp-Apim-Subscription-Key"

PLUS_API_COLUMNS = (
    "typeCode", "freqCode", "refPeriodId", "refYear", "refMonth", "period", "reporterCode",
    "reporterISO", "reporterDesc", "flowCode", "flowDesc", "partnerCode", "partnerISO",
    "partnerDesc", "partner2Code", "partner2ISO", "partner2Desc", "classificationCode",
    "classificationSearchCode", "isOriginalClassification", "cmdCode", "cmdDesc", "aggrLevel",
    "isLeaf", "customsCode", "customsDesc", "mosCode", "motCode", "motDesc", "qtyUnitCode",
    "qtyUnitAbbr", "qty", "isQtyEstimated", "altQtyUnitCode", "altQtyUnitAbbr", "altQty",
    "isAltQtyEstimated", "netWgt", "isNetWgtEstimated", "grossWgt", "isGrossWgtEstimated",
    "cifvalue", "fobvalue", "primaryValue", "legacyEstimationFlag", "isReported", "isAggregate",
)  # fmt: skip

_INT = {
    "refPeriodId", "refYear", "refMonth", "reporterCode", "partnerCode", "partner2Code",
    "aggrLevel", "motCode", "qtyUnitCode", "altQtyUnitCode", "legacyEstimationFlag",
}  # fmt: skip
_FLOAT = {"qty", "altQty", "netWgt", "grossWgt", "cifvalue", "fobvalue", "primaryValue"}
_BOOL = {
    "isOriginalClassification", "isLeaf", "isQtyEstimated", "isAltQtyEstimated",
    "isNetWgtEstimated", "isGrossWgtEstimated", "isReported", "isAggregate",
}  # fmt: skip
_FLOW_DESC = {"M": "Import", "X": "Export", "RM": "Re-import", "RX": "Re-export"}


def fixture(name: str) -> bytes:
    """Bytes of a committed fixture of ``tests/etl/fixtures/comtrade_api``."""
    return (FIXTURES / name).read_bytes()


def _typed(name: str, text: str) -> Any:
    if text == "":
        return None
    try:
        if name in _INT:
            return int(text)
        if name in _FLOAT:
            return float(text)
    except ValueError:
        return text  # as the file says (a malformed value stays malformed)
    if name in _BOOL and text in ("True", "False"):
        return text == "True"
    return text


def _area_names() -> dict[int, tuple[str, str]]:
    areas = facts.comtrade_areas().drop_duplicates("code")
    return {int(c): (str(i), str(n)) for c, i, n in zip(areas.code, areas.iso3, areas.name)}


def api_record(row: dict[str, str], areas: dict[int, tuple[str, str]]) -> dict[str, Any]:
    """A bulk-file row (text by column) as a data-API JSON record with descriptions."""
    rename = {"CIFValue": "cifvalue", "FOBValue": "fobvalue"}
    raw = {rename.get(k, k): v for k, v in row.items()}
    rec: dict[str, Any] = {}
    for col in PLUS_API_COLUMNS:
        rec[col] = _typed(col, raw.get(col, ""))
    for side in ("reporter", "partner"):
        code = rec[f"{side}Code"]
        if isinstance(code, int) and code in areas:
            rec[f"{side}ISO"], rec[f"{side}Desc"] = areas[code]
    rec["partner2ISO"], rec["partner2Desc"] = "W00", "World"
    rec["flowDesc"] = _FLOW_DESC.get(str(rec["flowCode"]))
    rec["cmdDesc"] = "All Commodities" if rec["cmdCode"] == "TOTAL" else None
    rec["customsDesc"], rec["motDesc"], rec["qtyUnitAbbr"] = "TOTAL CPC", "TOTAL MOT", "N/A"
    return rec


def records_from_bulk_files(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """All rows of Comtrade+ bulk files (gzip tsv) as API records, in file order."""
    out: list[dict[str, Any]] = []
    areas = _area_names()
    for path in paths:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
        out += [api_record(r, areas) for r in csv.DictReader(io.StringIO(text), delimiter="\t")]
    return out


@dataclass
class Fault:
    """One queued misbehaviour: applied to the next request whose path contains ``where``."""

    kind: str
    where: str = ""
    retry_after: str | None = None
    times: int = 1


@dataclass
class Logged:
    """One request as the server saw it (the key's presence and correctness, never its value)."""

    path: str
    params: dict[str, str]
    host: str
    key_sent: bool
    key_ok: bool
    gzip_ok: bool = False


@dataclass
class BulkFile:
    """One bulk file the server lists and serves."""

    reporter_code: int
    period: str
    classification: str
    content: bytes
    row_key: str
    publication_date: str = "2024-03-10T04:54:11Z"


@dataclass
class FakeComtrade:
    """The server's data, behaviour and log (see the module docstring)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    key: str = "TESTKEY-0123456789abcdef"
    preview_cap: int = 500
    data_cap: int = 100_000
    bulk: list[BulkFile] = field(default_factory=list)
    gzip_json: bool = False
    csv: bool = False
    count_total: bool = False  # "count" says how many records match, not how many are sent
    listing_body: bytes | None = None  # a recorded bulk file list, served as it is
    data_body: bytes | None = None  # a recorded data answer, served as it is
    prefix: str = ""
    block_after: int | None = None
    faults: list[Fault] = field(default_factory=list)
    log: list[Logged] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _gate: threading.Event = field(default_factory=threading.Event)
    _httpd: ThreadingHTTPServer | None = None
    _indexed: tuple[int, int] | None = None
    _by_key: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)

    # -- life cycle --------------------------------------------------------------------

    def __enter__(self) -> FakeComtrade:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._gate.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def release(self) -> None:
        """Let blocked requests go on."""
        self._gate.set()

    def fault(self, kind: str, where: str = "", *, retry_after: str | None = None, times: int = 1):
        self.faults.append(Fault(kind, where, retry_after, times))

    def data_requests(self) -> list[Logged]:
        return [e for e in self.log if "/v1/get/" in e.path or "/preview/" in e.path]

    # -- answers -----------------------------------------------------------------------

    def select(self, params: dict[str, str]) -> list[dict[str, Any]]:
        def member(rec: dict[str, Any], field_: str, param: str) -> bool:
            want = params.get(param)
            return want is None or str(rec.get(field_)) in want.split(",")

        def cmd_ok(rec: dict[str, Any]) -> bool:
            code = str(rec.get("cmdCode"))
            for token in params.get("cmdCode", "TOTAL").split(","):
                if token == code:
                    return True
                if token in ("AG2", "AG4", "AG6") and code.isdigit() and len(code) == int(token[2]):
                    return True
            return False

        checks = (
            ("flowCode", "flowCode"), ("partnerCode", "partnerCode"),
            ("partner2Code", "partner2Code"), ("customsCode", "customsCode"),
            ("motCode", "motCode"),
        )  # fmt: skip
        index = self._index()
        reporters = params.get("reporterCode")
        periods = params.get("period")
        rows = [
            r
            for (rep, per), group in index.items()
            if (reporters is None or rep in reporters.split(","))
            and (periods is None or per in periods.split(","))
            for r in group
        ]
        return [r for r in rows if cmd_ok(r) and all(member(r, f, p) for f, p in checks)]

    def _index(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """Records by (reporter, period), in their order (rebuilt when the records change)."""
        stamp = (id(self.records), len(self.records))
        if self._indexed != stamp:
            index: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for r in self.records:
                key = (str(r.get("reporterCode")), str(r.get("period")))
                index.setdefault(key, []).append(r)
            self._by_key, self._indexed = index, stamp
        return self._by_key

    def envelope(self, rows: list[dict[str, Any]], *, count: int | None = None) -> bytes:
        body = {"elapsedTime": "0.01 secs", "count": len(rows) if count is None else count,
                "data": rows, "error": ""}  # fmt: skip
        return json.dumps(body).encode()

    def listing(self, params: dict[str, str]) -> bytes:
        reps = params.get("reporterCode", "").split(",")
        periods = params.get("period", "").split(",")
        rows = [
            {
                "fileUrl": f"https://comtradeapi.un.org/bulk/v1/file/{f.reporter_code}/{f.row_key}",
                "fileSize": f"{len(f.content) / 1024:.2f} KB",
                "isOriginalClassification": True,
                "reporterCode": f.reporter_code,
                "freqCode": "A",
                "typeCode": "C",
                "classificationCode": f.classification,
                "refPeriodId": int(f"{f.period}01"),
                "period": int(f.period),
                "publicationDate": f.publication_date,
                "partitionKey": str(f.reporter_code),
                "rowKey": f.row_key,
            }
            for f in self.bulk
            if str(f.reporter_code) in reps and f.period in periods
        ]
        return self.envelope(rows)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeComtrade
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet

    def do_GET(self) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        path = parts.path
        if fake.prefix and path.startswith(fake.prefix):
            path = path[len(fake.prefix) :]
        params = dict(parse_qsl(parts.query))
        sent = self.headers.get(KEY_HEADER)
        with fake._lock:
            fake.log.append(
                Logged(path, params, self.headers.get("Host", ""), sent is not None,
                       sent == fake.key, "gzip" in self.headers.get("Accept-Encoding", ""))
            )  # fmt: skip
            n = len(fake.log)
            fault = None
            for f in fake.faults:
                if f.where in path and f.times > 0:
                    f.times -= 1
                    fault = f
                    break
        if fake.block_after is not None and n > fake.block_after:
            fake._gate.wait(timeout=60)
        if fault is not None and self._fault(fault, path, params):
            return
        self._route(path, params, sent)

    def _route(self, path: str, params: dict[str, str], sent: str | None) -> None:
        fake = self.fake
        keyed = path.startswith(("/data/", "/bulk/"))
        if keyed and sent != fake.key:
            missing = "missing" if sent is None else "invalid"
            body = (f'{{ "statusCode": 401, "message": "Access denied due to {missing} '
                    'subscription key. Make sure to provide a valid key for an active '
                    'subscription." }')  # fmt: skip
            self._send(401, body.encode(), "application/json")
            return
        if path.startswith(("/public/v1/preview/C/", "/data/v1/get/C/")):
            cap = fake.preview_cap if path.startswith("/public/") else fake.data_cap
            cap = min(cap, int(params.get("maxRecords", cap)))
            matches = fake.select(params)
            rows = matches[:cap]
            if fake.data_body is not None:
                self._json(fake.data_body)
            elif fake.csv:
                self._send(200, _csv(rows), "text/csv")
            else:
                self._json(fake.envelope(rows, count=len(matches) if fake.count_total else None))
            return
        if path.startswith("/bulk/v1/get/C/"):
            self._json(fake.listing_body or fake.listing(params))
            return
        if path.startswith("/bulk/v1/file/"):
            row_key = path.rsplit("/", 1)[-1]
            for f in fake.bulk:
                if f.row_key == row_key:
                    self._send(200, f.content, "application/TSV")
                    return
        self._send(404, b"Resource not found", "text/plain")

    def _fault(self, fault: Fault, path: str, params: dict[str, str]) -> bool:
        """Apply a fault; return False when the normal answer should follow."""
        kind = fault.kind
        if kind == "429":
            body = (b'{ "statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 '
                    b'seconds." }')  # fmt: skip
            self._send(429, body, "application/json", {"Retry-After": fault.retry_after or "1"})
        elif kind == "quota":
            body = fixture("error_403_quota.json")
            self._send(403, body, "application/json", {"Retry-After": fault.retry_after or "43200"})
        elif kind == "500":
            self._send(500, b"Internal Server Error", "text/plain")
        elif kind == "400":
            self._send(400, fixture("error_400_errorobject.json"), "application/json")
        elif kind == "error_field":
            self._json(fixture("error_field.json"))
        elif kind == "echo_key":
            body = json.dumps({"message": f"key {self.headers.get(KEY_HEADER)} not allowed"})
            self._send(400, body.encode(), "application/json")
        elif kind == "badjson":
            full = self.fake.envelope(self.fake.select(params)[:3])
            self._json(full[: len(full) // 2])
        elif kind == "count":
            rows = self.fake.select(params)[:5]
            self._json(self.fake.envelope(rows, count=max(0, len(rows) - 1)))
        elif kind == "cut":
            self._cut(self.fake.envelope(self.fake.select(params)[:5]), "application/json")
        elif kind == "gzcut":
            content = next(f.content for f in self.fake.bulk if path.endswith(f.row_key))
            self._send(200, content[: len(content) // 2], "application/TSV")
        elif kind == "slow":  # answer after the client's time-out
            time.sleep(float(fault.retry_after or "1"))
            return False
        elif kind == "redirect":
            port = self.server.server_address[1]
            target = (
                f"http://localhost:{port}{self.fake.prefix}{self.path[len(self.fake.prefix) :]}"
            )
            self._send(302, b"", "text/plain", {"Location": target})
        else:
            raise AssertionError(f"unknown fault {kind}")
        return True

    def _json(self, body: bytes) -> None:
        if self.fake.gzip_json and "gzip" in self.headers.get("Accept-Encoding", ""):
            self._send(200, gzip.compress(body, mtime=0), "application/json; charset=utf-8",
                       {"Content-Encoding": "gzip"})  # fmt: skip
        else:
            self._send(200, body, "application/json; charset=utf-8")

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _cut(self, body: bytes, ctype: str) -> None:
        """Promise the whole body, send half of it, close the connection."""
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True


def _csv(rows: Sequence[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(PLUS_API_COLUMNS)
    for r in rows:
        w.writerow(["" if r.get(c) is None else r.get(c) for c in PLUS_API_COLUMNS])
    return buf.getvalue().encode()
