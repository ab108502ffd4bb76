"""Comtrade API bodies -> the raw files ingest reads: envelopes, CSV, bulk gzip."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ca_trade.etl._comtrade_api import ApiError, Transient
from ca_trade.etl._comtrade_formats import (
    PLUS_API_COLUMNS,
    check_csv,
    check_gzip_file,
    parse_envelope,
    records_csv,
)
from ca_trade.etl.layouts import sniff_header
from tests.etl.comtrade_server import fixture
from tests.etl.helpers import BULK_HEADER, PLUS_HEADER


def test_the_47_columns_are_the_documented_header() -> None:
    # helpers.PLUS_HEADER is the ingest tests' own copy of the reference README's header.
    assert list(PLUS_API_COLUMNS) == PLUS_HEADER
    assert len(PLUS_API_COLUMNS) == 47


def test_envelope_of_the_fixture_keeps_numbers_as_sent() -> None:
    env = parse_envelope(fixture("data_synthetic_kaz_kgz_2019.json"))
    assert env.count == len(env.rows) == 68
    first = env.rows[0]
    assert first["reporterCode"] == "398"  # JSON numbers are kept as their text
    assert first["primaryValue"] == "383168116.0"
    assert first["isLeaf"] is False and first["qty"] is None


def test_records_csv_is_the_plus_api_layout_and_deterministic() -> None:
    rows = parse_envelope(fixture("data_synthetic_kaz_kgz_2019.json")).rows
    data = records_csv(rows)
    info = sniff_header(data)
    assert info.layout == "plus_api" and not info.missing
    parsed = list(csv.DictReader(io.StringIO(data.decode())))
    assert len(parsed) == 68
    nes = next(r for r in parsed if r["partnerCode"] == "899")
    assert nes["partnerDesc"] == "Areas, nes"  # quoted, not split at the comma
    assert data.count(b'"Areas, nes"') > 0
    assert nes["isOriginalClassification"] == "True" and nes["grossWgt"] == ""
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    assert records_csv(shuffled) == data
    assert b"\r" not in data


def test_records_csv_keeps_fields_the_api_adds_later() -> None:
    rows = [{"reporterCode": "398", "primaryValue": "5", "newField": "x"}]
    header, line = records_csv(rows).decode().splitlines()
    assert header.split(",")[-1] == "newField" and line.endswith(",x")
    assert records_csv([]).decode() == ",".join(PLUS_API_COLUMNS) + "\n"


@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["reporterCode", "partnerDesc", "cmdDesc", "primaryValue"]),
            st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)
            | st.none()
            | st.booleans(),
        ),
        max_size=6,
    )
)
def test_records_csv_round_trips_every_text(rows: list[dict[str, object]]) -> None:
    data = records_csv(rows).decode()
    assert data.count("\n") == len(rows) + 1  # one record, one line
    back = list(csv.DictReader(io.StringIO(data, newline="")))
    assert len(back) == len(rows)

    def text(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, bool):
            return str(v)
        return str(v).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")

    expect = sorted(tuple(text(r.get(c)) for c in PLUS_API_COLUMNS) for r in rows)
    assert sorted(tuple(b[c] for c in PLUS_API_COLUMNS) for b in back) == expect


@pytest.mark.parametrize(
    "body",
    [
        b'{"count": 2, "data": [{"a": 1}',  # cut mid-body
        b"<html>Service Unavailable</html>",
        b'{"count": 1}',  # no data list
        b'{"count": 1, "data": [1]}',  # not records
        b'{"count": "x", "data": []}',
        b'{"count": 1, "data": [{"a": 1}, {"a": 2}]}',  # fewer counted than carried
        b"\xff\xfe{",
    ],
)
def test_damaged_envelopes_are_transient(body: bytes) -> None:
    with pytest.raises(Transient):
        parse_envelope(body)


def test_error_field_is_an_api_error() -> None:
    with pytest.raises(ApiError, match="Invalid reporterCode: 9999"):
        parse_envelope(fixture("error_field.json"))


def test_check_csv_counts_records_and_refuses_other_bodies() -> None:
    assert check_csv(records_csv([{"reporterCode": "1"}, {"reporterCode": "2"}])) == 2
    with pytest.raises(ApiError, match="not a Comtrade"):
        check_csv(b"<html><body>Request URL Too Long</body></html>")


def _bulk(tmp_path: Path, body: bytes, name: str = "b.gz") -> Path:
    path = tmp_path / name
    path.write_bytes(body)
    return path


def test_check_gzip_file(tmp_path: Path) -> None:
    text = "\t".join(BULK_HEADER) + "\n" + ("\t".join(["x"] * len(BULK_HEADER)) + "\n") * 3
    good = gzip.compress(text.encode(), mtime=0)
    assert check_gzip_file(_bulk(tmp_path, good)) == 3
    no_eol = gzip.compress(text.rstrip("\n").encode(), mtime=0)
    assert check_gzip_file(_bulk(tmp_path, no_eol, "c.gz")) == 3
    two_members = good + gzip.compress(b"x\tx\n", mtime=0)
    assert check_gzip_file(_bulk(tmp_path, two_members, "d.gz")) == 4
    with pytest.raises(Transient):
        check_gzip_file(_bulk(tmp_path, good[: len(good) // 2], "e.gz"))
    with pytest.raises(ApiError, match="not gzip"):
        check_gzip_file(_bulk(tmp_path, text.encode(), "f.gz"))
    with pytest.raises(ApiError, match="no Comtrade"):
        check_gzip_file(_bulk(tmp_path, gzip.compress(b"a\tb\n1\t2\n"), "g.gz"))


def test_fixtures_are_valid_json() -> None:
    for name in ("error_401_missing_key.json", "error_403_quota.json", "error_field.json"):
        assert isinstance(json.loads(fixture(name)), dict)
