"""Files from other tools: line endings, UTF-16 and BOMs, broken gzip, binary files, odd names,
ragged rows, very wide and duplicated headers. Each is read like its clean twin or quarantined
with a reason that names the problem; nothing is lost and nothing aborts the other files."""

from __future__ import annotations

import gzip
import os
import warnings
from pathlib import Path

import polars as pl
import pytest

from ca_trade.etl import IngestReport, ingest
from ca_trade.exceptions import DataValidationWarning
from tests.etl.helpers import BULK_HEADER, PLUS_HEADER, plus_row, write_plus

ROWS = [plus_row(398, 156, "X", i, cmd=f"{i:04d}") for i in range(1, 60)] + [
    plus_row(398, 0, "X", 900),
    plus_row(398, 156, "X", -1, cmd="9999"),
]


def _run(raw: Path, out: Path, **kw: object) -> IngestReport:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataValidationWarning)
        return ingest(raw, out, **kw)  # type: ignore[arg-type]


def _dataset(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and "_staging" not in p.parts
        and not p.name.startswith(".")
        and p.name != "manifest.json"  # it records each file's sha256, which differs
    }


def _quarantine(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / "quarantine" / "quarantine.parquet")


def _twin(tmp_path: Path, name: str, transform: object, *, tsv: bool = False) -> None:
    """Ingest the clean file and its transformed twin; their datasets must be identical."""
    clean = tmp_path / "clean"
    write_plus(clean / name, ROWS)
    data = (clean / name).read_bytes()
    if tsv:
        data = data.replace(b",", b"\t")
        (clean / name).write_bytes(data)
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / name).write_bytes(transform(data))  # type: ignore[operator]
    rep_clean = _run(clean, tmp_path / "out_clean")
    rep_twin = _run(twin, tmp_path / "out_twin")
    assert rep_clean.rows_written == 59
    assert [
        (f.rows_read, f.rows_written, f.rows_quarantined, f.rows_filtered) for f in rep_twin.files
    ] == [(61, 59, 1, {"partner_world": 1})]
    assert _dataset(tmp_path / "out_twin") == _dataset(tmp_path / "out_clean")


def test_cr_only_line_endings_read_like_lf(tmp_path: Path) -> None:
    _twin(tmp_path, "a.csv", lambda b: b.replace(b"\n", b"\r"))


def test_crlf_line_endings_read_like_lf(tmp_path: Path) -> None:
    _twin(tmp_path, "a.csv", lambda b: b.replace(b"\n", b"\r\n"))


def test_cr_only_gzip_reads_like_lf(tmp_path: Path) -> None:
    _twin(tmp_path, "a.gz", lambda b: gzip.compress(b.replace(b"\n", b"\r"), mtime=0))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_utf16_and_bom_files_read_like_utf8(tmp_path: Path, encoding: str) -> None:
    def encode(b: bytes) -> bytes:
        text = b.decode()
        if encoding == "utf-16-le":
            return b"\xff\xfe" + text.encode("utf-16-le")
        if encoding == "utf-16-be":
            return b"\xfe\xff" + text.encode("utf-16-be")
        return text.encode(encoding)

    _twin(tmp_path, "a.txt", encode, tsv=True)  # Excel's "Unicode text": UTF-16, tabs


def test_utf16_with_crlf_and_gzip_reads_like_utf8(tmp_path: Path) -> None:
    _twin(
        tmp_path,
        "a.gz",
        lambda b: gzip.compress(b.replace(b"\n", b"\r\n").decode().encode("utf-16"), mtime=0),
    )


def test_mixed_line_endings_are_read_line_by_line(tmp_path: Path) -> None:
    def mixed(b: bytes) -> bytes:
        lines = b.split(b"\n")
        ends = [b"\n", b"\r\n", b"\r"]
        return b"".join(line + ends[i % 3] for i, line in enumerate(lines[:-1]))

    _twin(tmp_path, "a.csv", mixed)


def test_truncated_gzip_says_so(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    good = write_plus(raw / "g.tsv.gz", ROWS, bulk=True).read_bytes()
    (raw / "head.tsv.gz").write_bytes(good[:150])  # cut inside the header
    (raw / "tail.tsv.gz").write_bytes(good[:-30])  # cut near the end
    rep = _run(raw, tmp_path / "out")
    by = {f.file: f for f in rep.files}
    assert by["g.tsv.gz"].rows_written == 59
    q = _quarantine(tmp_path / "out").filter(pl.col("file") != "g.tsv.gz")
    assert q.select("file", "reason").rows() == [
        ("head.tsv.gz", "unparseable_file"),
        ("tail.tsv.gz", "unparseable_file"),
    ]
    for value in q["value"]:
        assert "truncated or corrupt gzip" in value and "download" in value
    assert by["tail.tsv.gz"].rows_quarantined > 0 and rep.balanced()


def test_binary_file_named_csv_is_quarantined(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_plus(raw / "good.csv", ROWS)
    rnd = bytes((i * 7919 + 13) % 256 for i in range(5000))
    (raw / "garbage.csv").write_bytes(rnd)
    (raw / "zipped.csv").write_bytes(b"PK\x03\x04" + rnd)
    rep = _run(raw, tmp_path / "out")
    assert {f.file: f.status for f in rep.files} == {
        "garbage.csv": "quarantined",
        "good.csv": "ingested",
        "zipped.csv": "quarantined",
    }
    q = _quarantine(tmp_path / "out")
    assert set(q.filter(pl.col("line").is_null())["reason"]) == {"not_text"}


def test_non_utf8_file_name_is_ingested_under_a_safe_name(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_plus(raw / "b.csv", [plus_row(417, 156, "X", 1)])
    write_plus(raw / "x.csv", ROWS)
    os.rename(raw / "x.csv", os.path.join(os.fsencode(raw), b"caf\xe9 \xff.csv"))
    out = tmp_path / "out"
    rep = _run(raw, out)
    by = {f.file: f for f in rep.files}
    assert set(by) == {"b.csv", "caf\\xe9 \\xff.csv"}
    assert by["caf\\xe9 \\xff.csv"].rows_written == 59 and by["b.csv"].rows_written == 1
    flows = pl.read_parquet(out / "flows" / "**" / "*.parquet")
    assert set(flows["source_file"]) == {"b.csv", "caf\\xe9 \\xff.csv"}
    assert (out / "manifest.json").read_text(encoding="utf-8")
    assert _run(raw, out).skipped  # and a re-run recognises it


def test_odd_but_valid_file_names(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    names = ["with space.csv", "ünï cödé.csv", "semi;colon,comma.csv", "quote'\"d.csv", "-dash.csv"]
    for i, name in enumerate(names):
        write_plus(raw / name, [plus_row(398, 156, "X", 1, cmd=f"{i:02d}")])
    rep = _run(raw, tmp_path / "out")
    assert sorted(f.file for f in rep.files) == sorted(names)
    assert rep.rows_written == len(names)


@pytest.mark.parametrize("line", [2, 3, 30, 62])
def test_a_ragged_row_is_quarantined_wherever_it_is(tmp_path: Path, line: int) -> None:
    raw = tmp_path / "raw"
    lines = write_plus(raw / "a.csv", ROWS).read_text().split("\n")
    lines[line - 1] += ",surplus"
    (raw / "a.csv").write_text("\n".join(lines))
    rep = _run(raw, tmp_path / "out")
    f = rep.files[0]
    assert f.status == "ingested" and f.rows_read == 61 and f.balanced()
    q = _quarantine(tmp_path / "out").filter(pl.col("reason") == "ragged_row")
    assert q.select("line", "value").rows() == [(line, "surplus")]
    expected_written = 59 - (1 if line <= 60 else 0)
    assert f.rows_written == expected_written


def test_a_short_first_row_does_not_condemn_the_file(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    lines = write_plus(raw / "a.csv", ROWS).read_text().split("\n")
    lines[1] = ",".join(lines[1].split(",")[:5])  # a short row: required fields missing
    (raw / "a.csv").write_text("\n".join(lines))
    rep = _run(raw, tmp_path / "out")
    assert rep.files[0].status == "ingested"
    assert rep.rows_written == 58
    q = _quarantine(tmp_path / "out")
    assert q.filter(pl.col("line") == 2)["reason"].item() == "missing_value"


def test_a_10000_column_file_is_read(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    header = [f"extra_column_number_{i}" for i in range(10_000)] + PLUS_HEADER
    write_plus(raw / "wide.csv", ROWS[:5], header=header)
    rep = _run(raw, tmp_path / "out")
    assert rep.files[0].layout == "plus_api"
    assert rep.rows_written == 5


def test_a_header_beyond_the_limit_is_quarantined_with_a_reason(tmp_path: Path) -> None:
    from ca_trade.etl import rawtext

    raw = tmp_path / "raw"
    header = PLUS_HEADER + [f"c{i}" for i in range(200)]
    write_plus(raw / "wide.csv", ROWS[:5], header=header)
    limit = rawtext.MAX_HEADER_BYTES
    try:
        rawtext.MAX_HEADER_BYTES = 1000
        rep = _run(raw, tmp_path / "out")
    finally:
        rawtext.MAX_HEADER_BYTES = limit
    assert rep.files[0].status == "quarantined" and rep.rows_quarantined == 5
    q = _quarantine(tmp_path / "out")
    assert "header line is longer than 1000 bytes" in q["value"].item()


def test_duplicate_column_names_quarantine_the_file_naming_the_column(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_plus(raw / "dup.csv", ROWS[:4], header=[*PLUS_HEADER, "primaryValue"])
    write_plus(raw / "dup_unused.tsv.gz", ROWS[:4], bulk=True, header=[*BULK_HEADER, "isReported"])
    rep = _run(raw, tmp_path / "out")
    by = {f.file: f for f in rep.files}
    assert by["dup.csv"].status == "quarantined" and by["dup.csv"].rows_quarantined == 4
    q = _quarantine(tmp_path / "out")
    rec = q.filter(pl.col("file") == "dup.csv").row(0, named=True)
    assert rec["reason"] == "duplicate_columns" and "primaryValue" in rec["value"]
    # A repeated column that ingest does not read is harmless: the file is ingested.
    assert by["dup_unused.tsv.gz"].rows_written == 4


@pytest.mark.parametrize("cell", ['"two\nline description"', '"unclosed description'])
def test_quoted_field_spanning_lines_is_caught_by_the_independent_count(
    tmp_path: Path, cell: str
) -> None:
    raw = tmp_path / "raw"
    lines = write_plus(raw / "a.csv", ROWS[:10]).read_text().split("\n")
    cells = lines[3].split(",")
    cells[21] = cell  # cmdDesc
    lines[3] = ",".join(cells)
    (raw / "a.csv").write_text("\n".join(lines))
    rep = _run(raw, tmp_path / "out")
    f = rep.files[0]
    n = 10 + cell.count("\n")
    assert f.status == "quarantined" and f.rows_read == n and f.rows_quarantined == n
    q = _quarantine(tmp_path / "out")
    if cell.endswith('"'):  # Polars reads one record fewer than there are lines
        assert q["reason"].to_list() == ["record_count_mismatch"]
        assert "10 records from 11 data lines" in q["value"].item()
    else:  # Polars fails, or reads to the end of the file as one field
        assert q["reason"].item() in ("unparseable_file", "record_count_mismatch")
