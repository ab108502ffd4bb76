"""What an ingest report prints: one line of totals, whatever the number of files."""

from __future__ import annotations

from pathlib import Path

from ca_trade.etl.counts import FileReport, IngestReport


def _report(n: int, *, skipped: bool = False) -> IngestReport:
    files = [
        FileReport(
            f"raw/{i:05d}.csv", "plus_api", "0" * 64, "ingested", 10, 9, 0, {"partner_world": 1}
        )
        for i in range(n)
    ]
    return IngestReport(files, Path("/data/processed"), skipped=skipped)


def test_print_and_repr_stay_short_with_many_files() -> None:
    # before issue 12, repr listed every file (52 KB for the demo's sample)
    rep = _report(2000)
    assert str(rep) == (
        "ingested 2000 files into /data/processed: rows read 20000, written 18000, "
        "quarantined 0, filtered: partner_world 2000"
    )
    assert len(repr(rep)) < 300 and "files=2000" in repr(rep)
    assert "00001.csv" not in repr(rep)


def test_an_unchanged_ingest_says_so() -> None:
    text = str(_report(3, skipped=True))
    assert text.startswith("unchanged since the last ingest: 3 files in /data/processed")
    assert "ingested" not in text
