"""ingest: validation, quarantine, filters, partitions, manifest, cache, atomicity."""

from __future__ import annotations

import gzip
import importlib
import json
import warnings
from pathlib import Path

import polars as pl
import pytest

from ca_trade.etl import IngestReport, ingest
from ca_trade.exceptions import DataValidationError, DataValidationWarning
from tests.etl.helpers import plus_row, write_plus

# The package exports the function ``ingest``; the module is reached through importlib.
ingest_mod = importlib.import_module("ca_trade.etl.ingest")


def _run(raw: Path, out: Path, **kw: object) -> IngestReport:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataValidationWarning)
        return ingest(raw, out, **kw)  # type: ignore[arg-type]


def _quarantine(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / "quarantine" / "quarantine.parquet")


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "_staging" not in p.parts
    }


def test_every_rule_is_counted_and_rows_balance(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    rows = [
        plus_row(398, 156, "X", 100),  # ok (line 2)
        plus_row(398, 0, "X", 900),  # partner_world
        plus_row(398, 156, "X", -1, cmd="01"),  # negative_value
        plus_row(398, 156, "X", "12abc", cmd="02"),  # non_numeric
        plus_row(398, 987, "X", 5),  # unknown_partner_code
        plus_row(398, 156, "Z", 5),  # bad_flow_code
        plus_row(398, 156, "M", 5, customs="C01"),  # customs_breakdown
        plus_row(398, 156, "M", 5, mot="2100"),  # mot_breakdown
        plus_row(398, 156, "M", 5, partner2="643"),  # partner2_breakdown
        plus_row(398, 156, "M", None),  # missing_value
        plus_row(398, 156, "M", 5, year=1800),  # bad_year
        plus_row(398, 899, "M", 7),  # ok, nes partner kept and flagged
        plus_row(398, 156, "X", 100),  # exact duplicate of line 2
        plus_row(398, 156, "M", 50, cmd="03"),  # conflicting duplicates
        plus_row(398, 156, "M", 60, cmd="03"),
    ]
    write_plus(raw / "kaz.csv", rows)
    with pytest.warns(DataValidationWarning, match="quarantined"):
        rep = ingest(raw, tmp_path / "out")
    assert rep.balanced()
    f = rep.files[0]
    assert f.layout == "plus_api"
    assert f.rows_read == 15
    assert f.rows_written == 2
    assert f.rows_filtered == {
        "customs_breakdown": 1,
        "duplicate_record": 1,
        "mot_breakdown": 1,
        "partner2_breakdown": 1,
        "partner_world": 1,
    }
    assert f.rows_quarantined == 8
    q = _quarantine(tmp_path / "out")
    reasons = dict(zip(q["line"].to_list(), q["reason"].to_list()))
    assert reasons == {
        4: "negative_value",
        5: "non_numeric",
        6: "unknown_partner_code",
        7: "bad_flow_code",
        11: "missing_value",
        12: "bad_year",
        15: "duplicate_conflict",
        16: "duplicate_conflict",
    }
    bad = q.filter(pl.col("line") == 5).row(0, named=True)
    assert (bad["column"], bad["value"], bad["file"]) == ("value_usd", "12abc", "kaz.csv")
    flows = pl.read_parquet(tmp_path / "out" / "flows" / "**" / "*.parquet")
    assert sorted(flows["partner"].to_list()) == ["CHN", "XNS"]
    assert flows.filter(pl.col("partner") == "XNS")["partner_is_nes"].item() is True
    controls = pl.read_parquet(tmp_path / "out" / "controls" / "**" / "*.parquet")
    assert controls["value_usd"].to_list() == [900.0]


def test_partitions_manifest_and_zstd(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_plus(raw / "a.csv", [plus_row(398, 156, "X", 1, year=2018)])
    write_plus(raw / "b.tsv.gz", [plus_row(156, 398, "M", 2, year=2019)], bulk=True)
    out = tmp_path / "out"
    rep = _run(raw, out)
    assert rep.rows_written == 2
    part = out / "flows" / "classification=HS" / "year=2019" / "part-0.parquet"
    assert part.exists()
    import pyarrow.parquet as pq

    assert pq.ParquetFile(part).metadata.row_group(0).column(0).compression == "ZSTD"
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {"a.csv", "b.tsv.gz"}
    assert len(manifest["files"]["a.csv"]["sha256"]) == 64
    assert manifest["totals"]["rows_written"] == 2
    assert "time" not in json.dumps(manifest).lower()


def test_rerun_is_skipped_and_forced_rerun_is_byte_identical(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_plus(raw / "a.csv", [plus_row(398, 156, "X", i, cmd=f"{i:02d}") for i in range(1, 30)])
    write_plus(raw / "b.csv", [plus_row(156, 398, "M", 3)])
    out = tmp_path / "out"
    _run(raw, out)
    first = _tree_bytes(out)
    again = _run(raw, out)
    assert again.skipped
    assert again.rows_written == 30
    assert _tree_bytes(out) == first
    forced = _run(raw, out, force=True)
    assert not forced.skipped
    assert _tree_bytes(out) == first


def test_unchanged_files_are_not_reparsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw"
    write_plus(raw / "a.csv", [plus_row(398, 156, "X", 1)])
    out = tmp_path / "out"
    _run(raw, out)
    write_plus(raw / "b.csv", [plus_row(156, 398, "M", 2)])
    parsed: list[str] = []
    real = ingest_mod._stage_file

    def spy(path: Path, rel: str, *a: object) -> object:
        parsed.append(rel)
        return real(path, rel, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_mod, "_stage_file", spy)
    rep = _run(raw, out)
    assert parsed == ["b.csv"]
    assert {f.file: f.status for f in rep.files} == {"a.csv": "cached", "b.csv": "ingested"}
    assert rep.rows_written == 2


def test_crash_mid_run_leaves_previous_dataset_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = tmp_path / "raw"
    write_plus(raw / "a.csv", [plus_row(398, 156, "X", 1)])
    out = tmp_path / "out"
    _run(raw, out)
    before = _tree_bytes(out)
    write_plus(raw / "b.csv", [plus_row(156, 398, "M", 2, year=2017)])

    def boom(*args: object) -> None:
        raise RuntimeError("disk full (injected)")

    monkeypatch.setattr(ingest_mod, "_write_partition", boom)
    with pytest.raises(RuntimeError, match="injected"):
        _run(raw, out)
    assert _tree_bytes(out) == before
    monkeypatch.undo()
    rep = _run(raw, out)
    assert rep.rows_written == 2
    assert not (out / ".ingest-tmp").exists()


def test_interrupted_swap_is_rolled_forward(tmp_path: Path) -> None:
    from ca_trade.etl.store import OLD_NAME, TMP_NAME, recover

    out = tmp_path / "out"
    (out / TMP_NAME / "flows").mkdir(parents=True)
    (out / TMP_NAME / "manifest.json").write_text('{"new": 1}')
    (out / TMP_NAME / ".complete").write_text("")
    (out / OLD_NAME / "flows").mkdir(parents=True)  # old flows already moved aside
    (out / "manifest.json").write_text('{"old": 1}')
    recover(out)
    assert json.loads((out / "manifest.json").read_text()) == {"new": 1}
    assert (out / "flows").is_dir()
    assert not (out / TMP_NAME).exists() and not (out / OLD_NAME).exists()


def test_whole_file_quarantine_for_unreadable_files(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    good = write_plus(
        raw / "g.tsv.gz",
        [plus_row(398, 156, "X", i, cmd=f"{i:06d}") for i in range(200)],
        bulk=True,
    )
    data = good.read_bytes()
    (raw / "trunc.tsv.gz").write_bytes(data[: len(data) - 20])
    (raw / "empty.csv").write_bytes(b"")
    (raw / "damaged.csv").write_text("reporter,partner\n1,2\n3,4\n")
    (raw / "README.txt").write_text("notes\n")
    rep = _run(raw, tmp_path / "out")
    assert rep.balanced()
    by = {f.file: f for f in rep.files}
    assert by["damaged.csv"].status == "quarantined"
    assert by["damaged.csv"].rows_quarantined == 2
    assert by["empty.csv"].rows_read == 0
    assert by["README.txt"].status == "ignored"
    t = by["trunc.tsv.gz"]
    assert t.balanced() and t.rows_read > 0
    q = _quarantine(tmp_path / "out")
    assert set(q["reason"]) <= {"unknown_layout", "unparseable_file"}


def test_missing_required_column_quarantines_the_file(tmp_path: Path) -> None:
    from tests.etl.helpers import PLUS_HEADER

    raw = tmp_path / "raw"
    header = [c for c in PLUS_HEADER if c != "cmdCode"]
    write_plus(raw / "a.csv", [plus_row(398, 156, "X", 1)] * 3, header=header)
    rep = _run(raw, tmp_path / "out")
    q = _quarantine(tmp_path / "out")
    assert q["reason"].to_list() == ["missing_columns"]
    assert q["value"].to_list() == ["cmd_code"]
    assert rep.rows_quarantined == 3


def test_raw_dir_must_exist(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="not a directory"):
        ingest(tmp_path / "nope", tmp_path / "out")


def test_gzip_layout_detected_from_magic_not_name(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    p = write_plus(raw / "x.gz", [plus_row(398, 156, "X", 1)], bulk=True)
    p.rename(raw / "x.txt")
    rep = _run(raw, tmp_path / "out")
    assert rep.files[0].layout == "plus_bulk"
    assert rep.rows_written == 1
    assert gzip.decompress((raw / "x.txt").read_bytes()).startswith(b"typeCode")


def test_gzip_members_keep_line_numbers_and_leave_no_temporary_file(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    rows = [plus_row(398, 156, "X", i + 1, cmd=f"{i:04d}") for i in range(40)]
    rows[25] = plus_row(398, 156, "X", "bad", cmd="9999")
    write_plus(raw / "a.tsv.gz", rows, bulk=True)
    text = gzip.decompress((raw / "a.tsv.gz").read_bytes())
    cut = text.index(b"\n", len(text) // 2) + 1  # two gzip members, as `cat a.gz b.gz`
    (raw / "a.tsv.gz").write_bytes(
        gzip.compress(text[:cut], mtime=0) + gzip.compress(text[cut:], mtime=0)
    )
    rep = _run(raw, tmp_path / "out")
    assert rep.rows_read == 40 and rep.rows_written == 39
    q = _quarantine(tmp_path / "out")
    assert q.select("line", "value").rows() == [(27, "bad")]
    flows = pl.read_parquet(tmp_path / "out" / "flows" / "**" / "*.parquet")
    assert flows["source_line"].to_list() == [n for n in range(2, 42) if n != 27]
    assert flows["value_usd"].to_list() == [float(i + 1) for i in range(40) if i != 25]
    staging = tmp_path / "out" / "_staging"
    assert [p.name for p in staging.iterdir() if p.is_file()] == []  # temporary csv removed
    before = _tree_bytes(tmp_path / "out")
    _run(raw, tmp_path / "out", force=True)
    assert _tree_bytes(tmp_path / "out") == before


def test_a_partition_from_one_file_is_linked_and_one_from_several_is_merged(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "raw"
    write_plus(raw / "a.csv", [plus_row(398, 156, "X", 1), plus_row(398, 156, "X", 2, cmd="01")])
    write_plus(raw / "b.csv", [plus_row(156, 398, "M", 3, cmd="02"), plus_row(156, 398, "M", 4)])
    write_plus(raw / "c.csv", [plus_row(417, 398, "X", 5, year=2018)])
    out = tmp_path / "out"
    rep = _run(raw, out)
    assert rep.rows_written == 5
    merged = out / "flows" / "classification=HS" / "year=2019" / "part-0.parquet"
    alone = out / "flows" / "classification=HS" / "year=2018" / "part-0.parquet"
    staged = list((out / "_staging").rglob("year=2018/part-*.parquet"))
    assert len(staged) == 1 and alone.samefile(staged[0])  # placed as staged, not rewritten
    assert not any(merged.samefile(p) for p in (out / "_staging").rglob("part-*.parquet"))
    frame = pl.read_parquet(merged)
    assert frame.select("source_file", "source_line").rows() == [
        ("a.csv", 2),
        ("a.csv", 3),
        ("b.csv", 2),
        ("b.csv", 3),
    ]
    assert pl.read_parquet(alone).columns == pl.read_parquet(merged).columns


def test_group_reporters_and_partners_are_filtered(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_plus(
        raw / "eu.csv",
        [plus_row(97, 398, "M", 5), plus_row(398, 97, "X", 6), plus_row(398, 156, "X", 7)],
    )
    rep = _run(raw, tmp_path / "out")
    assert rep.rows_filtered == {"group_area": 2}
    assert rep.rows_written == 1


def test_historical_codes_follow_their_validity(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_plus(
        raw / "h.csv",
        [plus_row(156, 810, "M", 5, year=1991), plus_row(156, 810, "M", 5, year=1995)],
    )
    rep = _run(raw, tmp_path / "out")
    q = _quarantine(tmp_path / "out")
    assert rep.rows_written == 1
    assert q.select("line", "reason").rows() == [(3, "unknown_partner_code")]
    flows = pl.read_parquet(tmp_path / "out" / "flows" / "**" / "*.parquet")
    assert flows["partner"].to_list() == ["SUN"]


def test_padded_and_lower_case_fields_read_as_their_clean_values(tmp_path: Path) -> None:
    rows = [
        plus_row(398, 156, "X", 100, cmd="0101"),
        plus_row(398, 0, "X", 900),  # World: control total
        plus_row(398, 156, "M", 5, customs="C01"),  # customs breakdown
        plus_row(398, 156, "M", 6, mot="2100"),  # transport breakdown
        plus_row(398, 156, "M", 7, cls="S4", cmd="TOTAL"),
        plus_row(417, 398, "RX", 8, cls="EB02", cmd="200"),
        plus_row(398, 156, "X", -1, cmd="02"),  # negative value: quarantined either way
    ]

    def padded(r: dict[str, object]) -> dict[str, object]:
        out = {k: (f" {v} " if v is not None else None) for k, v in r.items()}
        for k in ("flowCode", "classificationCode", "cmdCode", "customsCode", "freqCode"):
            out[k] = f"\t{str(r[k]).lower()} "
        return out

    write_plus(tmp_path / "clean" / "a.csv", rows)
    write_plus(tmp_path / "padded" / "a.csv", [padded(r) for r in rows])
    rep_clean = _run(tmp_path / "clean", tmp_path / "out_clean")
    rep_padded = _run(tmp_path / "padded", tmp_path / "out_padded")
    assert rep_padded.rows_filtered == rep_clean.rows_filtered
    assert rep_padded.rows_written == rep_clean.rows_written == 3
    assert rep_padded.rows_quarantined == rep_clean.rows_quarantined == 1
    for name in ("flows", "controls"):
        clean = pl.read_parquet(tmp_path / "out_clean" / name / "**" / "*.parquet")
        pad = pl.read_parquet(tmp_path / "out_padded" / name / "**" / "*.parquet")
        assert pad.drop("flag").equals(clean.drop("flag")), name
    q = _quarantine(tmp_path / "out_padded")
    assert q.select("line", "column", "value", "reason").rows() == [
        (8, "value_usd", " -1 ", "negative_value")  # the raw text, as written
    ]


def test_a_new_etl_version_restages_instead_of_reusing_old_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = tmp_path / "raw"
    write_plus(raw / "a.csv", [plus_row(398, 156, "X", 1), plus_row(398, 0, "X", 9)])
    out = tmp_path / "out"
    first = _run(raw, out)
    before = _tree_bytes(out)
    monkeypatch.setattr(ingest_mod, "ETL_VERSION", ingest_mod.ETL_VERSION + 1)
    again = _run(raw, out)
    assert [f.status for f in again.files] == ["ingested"]
    assert again.rows_written == first.rows_written == 1
    after = _tree_bytes(out)
    assert {k: v for k, v in after.items() if k != "manifest.json"} == {
        k: v for k, v in before.items() if k != "manifest.json"
    }
    assert len(list((out / "_staging").iterdir())) == 1  # the old stage was removed


def test_a_full_disk_is_raised_not_blamed_on_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    raw = tmp_path / "raw"
    write_plus(raw / "a.csv", [plus_row(398, 156, "X", 1)])

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device (injected)")

    monkeypatch.setattr(ingest_mod, "stage_file", full)
    with pytest.raises(OSError, match="injected"):
        _run(raw, tmp_path / "out")
    monkeypatch.undo()
    rep = _run(raw, tmp_path / "out")  # nothing was cached as quarantined
    assert rep.rows_written == 1 and rep.rows_quarantined == 0


def test_a_comtrade_area_reference_table_is_ignored_not_quarantined(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "partnerAreas.csv").write_text(
        ",id,text,PartnerCode,PartnerDesc,partnerNote,PartnerCodeIsoAlpha2,"
        "PartnerCodeIsoAlpha3,entryEffectiveDate,isGroup,entryExpiredDate\n"
        '12,899,"Areas, nes",899,"Areas, nes","Areas, nes",,_X ,1900-01-01T00:00:00,False,\n'
    )
    write_plus(raw / "kaz.csv", [plus_row(398, 156, "X", 1)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataValidationWarning)  # nothing quarantined
        rep = ingest(raw, tmp_path / "out")
    assert [(f.file, f.status) for f in rep.files] == [
        ("kaz.csv", "ingested"),
        ("partnerAreas.csv", "ignored"),
    ]
    assert rep.rows_written == 1 and rep.balanced()
