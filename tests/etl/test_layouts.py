"""Layout detection from headers and reading every field as text."""

from __future__ import annotations

import gzip
import tempfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ca_trade.etl.layouts import (
    gunzip_to,
    normalise_name,
    read_head,
    scan_layout,
    sniff_header,
)
from tests.etl.helpers import BULK_HEADER, LEGACY_BULK_HEADER, PLUS_HEADER, plus_row, write_plus

LEGACY_API = (
    "Classification,Year,Period,Period Desc.,Aggregate Level,Is Leaf Code,Trade Flow Code,"
    "Trade Flow,Reporter Code,Reporter,Reporter ISO,Partner Code,Partner,Partner ISO,"
    "2nd Partner Code,2nd Partner,2nd Partner ISO,Customs Proc. Code,Customs,"
    "Mode of Transport Code,Mode of Transport,Commodity Code,Commodity,Qty Unit Code,Qty Unit,"
    "Qty,Alt Qty Unit Code,Alt Qty Unit,Alt Qty,Netweight (kg),Gross weight (kg),"
    "Trade Value (US$),CIF Trade Value (US$),FOB Trade Value (US$),Flag"
)


@pytest.mark.parametrize(
    ("header", "layout", "sep"),
    [
        (LEGACY_API, "legacy_api", ","),
        (",".join(LEGACY_BULK_HEADER), "legacy_bulk", ","),
        (",".join(PLUS_HEADER), "plus_api", ","),
        ("\t".join(BULK_HEADER), "plus_bulk", "\t"),
    ],
)
def test_four_layouts_are_detected(header: str, layout: str, sep: str) -> None:
    info = sniff_header((header + "\n").encode())
    assert info.layout == layout
    assert info.separator == sep
    assert info.missing == ()


def test_header_matching_ignores_case_whitespace_and_punctuation() -> None:
    header = LEGACY_API.upper().replace("TRADE VALUE (US$)", " trade   value us ")
    info = sniff_header(("\ufeff" + header + "\r\n").encode())
    assert info.layout == "legacy_api"
    assert info.columns[0] == "CLASSIFICATION"  # BOM removed
    assert info.positions["value_usd"] == 31
    assert normalise_name("CIFValue") == normalise_name("cifvalue")


def test_missing_and_duplicated_columns_are_reported() -> None:
    cols = [c for c in PLUS_HEADER if c != "primaryValue"] + ["reporterCode"]
    info = sniff_header(",".join(cols).encode())
    assert info.layout == "plus_api"
    assert info.missing == ("value_usd",)
    assert info.duplicated == ("reporterCode",)


def test_not_comtrade() -> None:
    assert sniff_header(b"a,b,c\n1,2,3\n").layout is None
    assert sniff_header(b"").layout is None


def test_codes_are_read_as_text_with_leading_zeros(tmp_path: Path) -> None:
    path = write_plus(tmp_path / "b.tsv.gz", [plus_row(398, 156, "X", 5, cmd="0101")], bulk=True)
    head, gz = read_head(path)
    assert gz
    info = sniff_header(head, gzip_file=gz)
    frame = scan_layout(path, info).collect()
    assert frame["cmd_code"].to_list() == ["0101"]
    assert frame["_line"].to_list() == [2]
    assert frame["reporter_code"].to_list() == ["398"]


def test_truncated_gzip_head_is_readable(tmp_path: Path) -> None:
    data = gzip.compress(("\t".join(BULK_HEADER) + "\n" + "x\t" * 5000).encode(), mtime=0)
    path = tmp_path / "t.gz"
    path.write_bytes(data[: len(data) // 2])
    head, gz = read_head(path)
    assert gz
    assert sniff_header(head, gzip_file=True).layout == "plus_bulk"


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=20).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    chunk=st.integers(1, 64),
    kind=st.sampled_from(["gzip", "two_members"]),
    trailing_newline=st.booleans(),
)
def test_gunzip_to_restores_the_content(
    lines: list[bytes], chunk: int, kind: str, trailing_newline: bool
) -> None:
    data = b"\n".join(lines) + (b"\n" if trailing_newline and lines else b"")
    if kind == "gzip":
        blob = gzip.compress(data, mtime=0)
    else:
        half = len(data) // 2
        blob = gzip.compress(data[:half], mtime=0) + gzip.compress(data[half:], mtime=0)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f"
        path.write_bytes(blob)
        n = gunzip_to(path, Path(d) / "out", block_bytes=chunk)
        assert (Path(d) / "out").read_bytes() == data
    assert n == len(data)


def test_truncated_gzip_raises_in_gunzip_to(tmp_path: Path) -> None:
    blob = gzip.compress(b"a\nb\n" * 1000, mtime=0)
    path = tmp_path / "t.gz"
    path.write_bytes(blob[:-10])
    with pytest.raises((EOFError, zlib.error)):
        gunzip_to(path, tmp_path / "t.csv", block_bytes=64)
