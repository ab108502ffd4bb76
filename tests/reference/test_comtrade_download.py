"""The download path on genuine UN Comtrade answers (recorded by rOpenSci comtradr's tests).

Reads ``comtrade_samples/api/`` of the shared reference folder (UN Comtrade data, not
committed here) and serves it from the loopback stand-in API: the data answer for China's
2010 trade with Argentina and Germany, the bulk file list for Argentina 1962 and an empty
list. Skips where ``CA_TRADE_REFERENCE`` is absent.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import polars as pl

from ca_trade.etl import download, ingest
from ca_trade.etl._comtrade_formats import parse_envelope, records_csv
from ca_trade.etl.sidecar import read_sidecar
from tests.conftest import require_reference
from tests.etl.comtrade_server import BulkFile, FakeComtrade
from tests.etl.helpers import BULK_HEADER

KEY = "TESTKEY-0123456789abcdef"
FAST = {"requests_per_minute": 60_000.0, "backoff": 0.01, "key": KEY}


def test_recorded_data_answer_becomes_a_plus_api_file_ingest_reads(tmp_path: Path) -> None:
    body = require_reference("comtrade_samples", "api", "data_v1_get_C_A_HS.json").read_bytes()
    env = parse_envelope(body)
    assert env.count == len(env.rows) == 4
    rows = list(csv.DictReader(io.StringIO(records_csv(env.rows).decode())))
    # numbers exactly as the API wrote them: no float round trip
    assert sorted(r["primaryValue"] for r in rows) == sorted(
        ["6804128143.0", "74251272075.0", "6115764185.0", "68047133397.0"]
    )
    with FakeComtrade(records=json.loads(body)["data"], key=KEY) as srv:
        rep = download(tmp_path / "raw", reporters=["CHN"], partners=["ARG", "DEU"],
                       years=[2010], base_url=srv.url, **FAST)  # fmt: skip
        asked = {e.params["partnerCode"] for e in srv.data_requests()}
    assert rep.count("downloaded") == 2 and rep.records == 4 and asked == {"32,276"}
    ing = ingest(tmp_path / "raw", tmp_path / "processed")
    assert ing.rows_read == 4 and ing.rows_written == 4 and ing.rows_quarantined == 0
    flows = pl.read_parquet(tmp_path / "processed" / "flows" / "**" / "*.parquet")
    got = sorted(zip(flows["partner"], flows["flow"], flows["value_usd"], strict=True))
    assert got == [
        ("ARG", "M", 6804128143.0), ("ARG", "X", 6115764185.0),
        ("DEU", "M", 74251272075.0), ("DEU", "X", 68047133397.0),
    ]  # fmt: skip


def test_recorded_bulk_lists(tmp_path: Path) -> None:
    listing = require_reference("comtrade_samples", "api", "bulk_v1_get_C_A_HS.json").read_bytes()
    empty = require_reference("comtrade_samples", "api", "bulk_v1_get_empty.json").read_bytes()
    row = json.loads(listing)["data"][0]
    text = "\t".join(BULK_HEADER) + "\n" + "\t".join(["1"] * len(BULK_HEADER)) + "\n"
    content = gzip.compress(text.encode(), mtime=0)
    bulk = [BulkFile(32, "1962", "S1", content, row["rowKey"])]
    with FakeComtrade(key=KEY, bulk=bulk, listing_body=listing) as srv:
        rep = download(tmp_path, reporters=["ARG"], years=[1962], access="bulk",
                       base_url=srv.url, **FAST)  # fmt: skip
        (piece,) = rep.pieces
        assert piece.status == "downloaded" and piece.file == "bulk/ARG/ARG32_A1962_S1_O.tsv.gz"
        side = read_sidecar(tmp_path / piece.file)
        assert side is not None
        # the UN's fileUrl, rebased on the stand-in's address
        assert side["url"] == srv.url + row["fileUrl"].removeprefix("https://comtradeapi.un.org")
        assert side["listing"]["publicationDate"] == "2003-04-29T11:24:10Z"
        srv.listing_body = empty
        rep = download(tmp_path / "none", reporters=["ARG"], years=[1962], access="bulk",
                       base_url=srv.url, **FAST)  # fmt: skip
    assert [p.status for p in rep.pieces] == ["unavailable"]
