"""Property: on arbitrary malformed input ingest never raises and never loses a row.

Files come in any of the shapes other tools write: LF, CRLF or CR-only line ends; UTF-8 (with
or without BOM), Latin-1, CP1251 or UTF-16 with a BOM; plain, gzip or truncated gzip; ragged
rows, the first data row included; odd file names, not valid UTF-8 ones included. Each file's
rows read must equal its data lines as written, and every row must be accounted for.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ca_trade.etl import ingest
from ca_trade.exceptions import DataValidationWarning
from tests.etl.helpers import BULK_HEADER, LEGACY_BULK_HEADER, PLUS_HEADER

VALUES = st.one_of(
    st.sampled_from(
        [
            "398",
            "156",
            "0",
            "899",
            "987",
            "842",
            "X",
            "M",
            "1",
            "2",
            "H5",
            "S3",
            "TOTAL",
            "01",
            "2019",
            "1992",
            "-5",
            "1e9",
            "12abc",
            "",
            " ",
            "nan",
            "inf",
            "C00",
            "C01",
            "0101",
            "\u00e9t\u00e9",
            "\ufeff",
            "99999999999999",
        ]
    ),
    st.text(
        alphabet=st.characters(blacklist_characters='"\r\n\t,', blacklist_categories=("Cs",)),
        max_size=6,
    ),
)

HEADERS = st.sampled_from([PLUS_HEADER, BULK_HEADER, LEGACY_BULK_HEADER, ["a", "b"]])

# File names as other tools and old archives write them (bytes: not all are valid UTF-8).
NAMES = st.sampled_from(
    [
        b"plain",
        b"with space",
        "\u00fcn\u00efc\u00f6d\u00e9".encode(),
        b"caf\xe9",
        b"\xff\xfe",
        b"-dash",
    ]
)


@st.composite
def comtrade_file(draw: st.DrawFn) -> tuple[str, bytes, int]:
    """A file name suffix, its bytes and its number of data lines (-1: unknown)."""
    header = list(draw(HEADERS))
    if draw(st.booleans()):
        header.pop(draw(st.integers(0, len(header) - 1)))  # a missing column
    if draw(st.booleans()):
        header.append(header[draw(st.integers(0, len(header) - 1))])  # a duplicated column
    sep = "\t" if header is BULK_HEADER or draw(st.booleans()) else ","
    n = draw(st.integers(0, 12))
    lines = []
    for _ in range(n):
        width = len(header) + draw(st.integers(-3, 2))
        lines.append(sep.join(draw(VALUES) for _ in range(max(width, 1))))
    if lines and draw(st.booleans()):
        lines[0] += sep + draw(VALUES) + "x"  # the first data row is ragged (one field more)
    if lines and draw(st.booleans()):
        lines.append(lines[0])  # a duplicate record
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = sep.join(header) + eol + "".join(line + eol for line in lines)
    if draw(st.booleans()):
        text = "\ufeff" + text
    enc = draw(st.sampled_from(["utf-8", "latin-1", "cp1251", "utf-16", "utf-16-be"]))
    data = text.encode(enc, errors="replace")
    if enc == "utf-16-be":
        data = b"\xfe\xff" + data
    kind = draw(st.sampled_from(["plain", "gzip", "truncated_gzip", "empty"]))
    if kind == "gzip":
        return "f.tsv.gz", gzip.compress(data, mtime=0), n + (len(lines) > n)
    if kind == "truncated_gzip":
        z = gzip.compress(data, mtime=0)
        return "t.gz", z[: max(len(z) * 2 // 3, 2)], -1
    if kind == "empty":
        return "e.csv", b"", 0
    return "p.csv", data, len(lines)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(files=st.lists(st.tuples(NAMES, comtrade_file()), min_size=1, max_size=3))
def test_malformed_input_never_raises_and_never_loses_rows(
    files: list[tuple[bytes, tuple[str, bytes, int]]],
) -> None:
    tmp = Path(tempfile.mkdtemp())
    try:
        raw = tmp / "raw"
        raw.mkdir()
        expected: dict[str, int] = {}
        for i, (stem, (name, data, n)) in enumerate(files):
            fname = f"{i}_".encode() + stem + b"_" + name.encode()
            with open(os.path.join(os.fsencode(raw), fname), "wb") as fh:
                fh.write(data)
            expected[fname.decode("utf-8", errors="backslashreplace")] = n
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataValidationWarning)
            rep = ingest(raw, tmp / "out")
        assert rep.balanced()
        for f in rep.files:
            if f.status == "ignored":
                assert f.rows_read == 0
            elif expected[f.file] >= 0:
                assert f.rows_read == expected[f.file], f
        out = tmp / "out"
        q = pl.read_parquet(out / "quarantine" / "quarantine.parquet")
        assert int(q["rows"].sum() or 0) == rep.rows_quarantined
        flows = list((out / "flows").rglob("*.parquet"))
        n_flows = sum(pl.read_parquet(p).height for p in flows)
        assert n_flows == rep.rows_written
        controls = list((out / "controls").rglob("*.parquet"))
        n_ctrl = sum(pl.read_parquet(p).height for p in controls)
        assert n_ctrl == rep.rows_filtered.get("partner_world", 0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
