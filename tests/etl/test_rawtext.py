"""rawtext: the independent line count, the plain-text copy and the format sniffing."""

from __future__ import annotations

import gzip
import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ca_trade.etl import rawtext
from ca_trade.etl.rawtext import LineCounter, TextFormat, count_lines, sniff_file, to_plain

# Text without the characters str.splitlines() also treats as line ends (\v, \f, \x1c-\x1e,
# \x85, \u2028, \u2029): splitlines() is the independent reference for \n, \r\n and \r.
LINE = st.text(
    alphabet=st.characters(
        blacklist_characters="\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029",
        blacklist_categories=("Cs",),
    ),
    max_size=12,
)
ENDS = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def texts(draw: st.DrawFn) -> str:
    lines = draw(st.lists(st.tuples(LINE, ENDS), max_size=25))
    text = "".join(line + end for line, end in lines)
    if draw(st.booleans()):
        text += draw(LINE)  # a last line without a line end
    return text


def _blocks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@settings(max_examples=200, deadline=None)
@given(text=texts(), cuts=st.lists(st.integers(0, 400), max_size=8))
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be"])
def test_line_counter_matches_splitlines_on_any_block_split(
    encoding: str, text: str, cuts: list[int]
) -> None:
    data = text.encode(encoding)
    counter = LineCounter(1 if encoding == "utf-8" else 2, big_endian=encoding == "utf-16-be")
    for block in _blocks(data, cuts):
        counter.update(block)
    assert counter.lines == len(text.splitlines())
    assert counter.data_lines == max(len(text.splitlines()) - 1, 0)
    assert counter.lone_cr == text.count("\r") - text.count("\r\n")


@settings(max_examples=150, deadline=None)
@given(text=texts(), block=st.integers(1, 64), kind=st.sampled_from(["utf-8", "utf-16", "gzip"]))
def test_to_plain_keeps_every_line_and_only_changes_line_ends(
    text: str, block: int, kind: str
) -> None:
    header = "h1,h2\r" if text[:1] != "\n" else "h1,h2\r\n"  # CR-only first line end
    full = header + text
    data = full.encode("utf-16" if kind == "utf-16" else "utf-8")
    if kind == "gzip":
        data = gzip.compress(data, mtime=0)
    with tempfile.TemporaryDirectory() as d:
        src, dest = Path(d) / "src", Path(d) / "dest"
        src.write_bytes(data)
        head = sniff_file(src)
        assert head.format.gzip == (kind == "gzip")
        assert head.format.width == (2 if kind == "utf-16" else 1)
        counter = LineCounter.for_format(head.format)
        to_plain(src, dest, head.format, counter, block_bytes=block)
        out = dest.read_bytes().decode("utf-8").lstrip("\ufeff")
        assert count_lines(src, head.format).lines == counter.lines
    expected = "".join(line + "\n" for line in full.splitlines())
    if full and full[-1] not in "\r\n":
        expected = expected[:-1]
    assert out == expected
    assert counter.lines == len(full.splitlines())


def _write(tmp_path: Path, data: bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "encoding", "bom", "cr_only"),
    [
        (b"a,b\n1,2\n", "utf-8", False, False),
        (b"\xef\xbb\xbfa,b\r\n1,2\r\n", "utf-8", True, False),
        (b"a,b\r1,2\r", "utf-8", False, True),
        ("a\tb\r\n1\t2\r\n".encode("utf-16"), "utf-16-le", True, False),
        (b"\xfe\xff" + "a\tb\r1\t2\r".encode("utf-16-be"), "utf-16-be", True, True),
        ("reporterCode\tflowCode\n1\tX\n".encode("utf-16-le"), "utf-16-le", False, False),
        ("reporterCode\tflowCode\n1\tX\n".encode("utf-16-be"), "utf-16-be", False, False),
    ],
)
def test_sniff_recognises_encodings_boms_and_line_ends(
    tmp_path: Path, data: bytes, encoding: str, bom: bool, cr_only: bool
) -> None:
    head = sniff_file(_write(tmp_path, data))
    assert head.problem is None
    assert (head.format.encoding, head.format.bom, head.format.cr_only) == (encoding, bom, cr_only)
    assert head.header in (b"a,b", b"a\tb", b"reporterCode\tflowCode")


def test_sniff_names_what_cannot_be_read(tmp_path: Path) -> None:
    good = gzip.compress(b"reporterCode,flowCode,partnerCode\n" + b"1,X,2\n" * 100, mtime=0)
    cut = sniff_file(_write(tmp_path, good[:20], "cut.gz"))
    assert cut.reason == "unparseable_file"
    assert cut.problem is not None and "truncated or corrupt gzip" in cut.problem
    binary = sniff_file(_write(tmp_path, bytes(range(256)) * 20, "bin.csv"))
    assert binary.reason == "not_text" and binary.problem is not None
    nul = sniff_file(_write(tmp_path, b"a,b\n1,\x002\n", "nul.csv"))
    assert nul.reason == "not_text"
    empty = sniff_file(_write(tmp_path, b"", "e.csv"))
    assert empty.empty and empty.problem is None and empty.header == b""
    spaces = sniff_file(_write(tmp_path, b" \n\t\n", "s.csv"))
    assert spaces.empty


def test_sniff_reads_a_header_longer_than_the_sample(tmp_path: Path) -> None:
    header = ",".join(f"column_{i}" for i in range(20_000)).encode()
    assert len(header) > rawtext.SAMPLE_BYTES
    head = sniff_file(_write(tmp_path, header + b"\r\n1,2\r\n"))
    assert head.problem is None and head.header == header and not head.format.cr_only


def test_a_truncated_gzip_is_counted_as_far_as_it_goes(tmp_path: Path) -> None:
    body = "".join(f"{i * 7919 % 100_003},{i}\n" for i in range(10_000)).encode()
    data = gzip.compress(b"h\n" + body, mtime=0)
    path = _write(tmp_path, data[: len(data) // 2], "t.gz")
    assert 0 < count_lines(path, TextFormat(gzip=True)).data_lines < 10_000
    with pytest.raises(EOFError):
        to_plain(path, tmp_path / "t.csv", TextFormat(gzip=True), LineCounter())
