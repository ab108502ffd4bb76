"""paths: every ETL entry point resolves relative, ``..`` and symlinked paths once."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd
import pytest

from ca_trade.etl import build_panel, ingest, reconcile
from ca_trade.etl.paths import recorded_name, resolve, separate_folders
from ca_trade.etl.sources import find_sources, read_production
from ca_trade.exceptions import DataValidationError
from tests.etl.helpers import plus_row, write_plus


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """raw files, an ingested dataset, a production file, and a symlink to the project."""
    root = tmp_path / "real"
    raw = root / "data" / "raw"
    rows = []
    for rep, par in (("398", "417"), ("417", "398"), ("398", "860"), ("860", "398")):
        rows.append(plus_row(rep, par, "X", 100 + int(rep) % 7))
        rows.append(plus_row(par, rep, "M", 110 + int(par) % 5))
    write_plus(raw / "flows.csv", rows)
    (raw / "production.csv").write_text(
        "country,year,sector,production_usd\nKAZ,2019,TOTAL,5000\nKGZ,2019,TOTAL,900\n"
        "UZB,2019,TOTAL,2000\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest(raw, root / "data" / "processed")
    (tmp_path / "link").symlink_to(root, target_is_directory=True)
    (tmp_path / "elsewhere").mkdir()
    return tmp_path


SPELLINGS = {
    "absolute": lambda t: (t / "real", "{}"),
    "relative": lambda t: (t / "real", "{}"),
    "dotdot": lambda t: (t / "elsewhere", "../real/data/../{}"),
    "symlink": lambda t: (t, "link/{}"),
}


def _spelt(project: Path, spelling: str, rel: str, monkeypatch: pytest.MonkeyPatch) -> str:
    cwd, pattern = SPELLINGS[spelling](project)
    monkeypatch.chdir(cwd)
    if spelling == "absolute":
        return str(project / "real" / rel)
    return pattern.format(rel)


@pytest.mark.parametrize("spelling", ["relative", "dotdot", "symlink"])
def test_reconcile_and_build_panel_accept_any_spelling(
    project: Path, spelling: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    absolute = reconcile(project / "real" / "data" / "processed")
    panel_abs = build_panel(absolute, raw_dir=project / "real" / "data" / "raw")
    processed = _spelt(project, spelling, "data/processed", monkeypatch)
    raw = _spelt(project, spelling, "data/raw", monkeypatch)
    rec = reconcile(processed)
    pd.testing.assert_frame_equal(rec, absolute)
    assert len(rec) > 0
    panel = build_panel(rec, raw_dir=raw, production=raw + "/production.csv")
    pd.testing.assert_frame_equal(panel, panel_abs)
    assert panel.loc[panel["domestic"], "value_usd"].notna().any()


@pytest.mark.parametrize("spelling", ["relative", "dotdot", "symlink"])
def test_source_readers_accept_any_spelling(
    project: Path, spelling: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = read_production(project / "real" / "data" / "raw" / "production.csv")
    raw = _spelt(project, spelling, "data/raw", monkeypatch)
    pd.testing.assert_frame_equal(read_production(Path(raw) / "production.csv"), expected)
    found = find_sources(Path(raw))
    assert [p.name for p in found["production"]] == ["production.csv"]
    assert found["production"][0].is_absolute()


def test_source_files_from_other_tools_are_read(project: Path) -> None:
    raw = project / "real" / "data" / "raw"
    text = (raw / "production.csv").read_text()
    (raw / "production.csv").write_bytes(
        text.replace(",", "\t").replace("\n", "\r\n").encode("utf-16")
    )
    found = find_sources(raw)
    assert list(found) == ["production"]
    assert read_production(found["production"][0])["production_usd"].tolist() == [
        5000.0,
        900.0,
        2000.0,
    ]


def test_separate_folders(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    assert separate_folders(raw, tmp_path / "out") == (raw.resolve(), (tmp_path / "out").resolve())
    assert separate_folders(raw, raw / "_cache" / "out")[1] == (raw / "_cache" / "out").resolve()
    for out in (raw, raw / "x" / "..", raw / "sub", tmp_path):
        with pytest.raises(DataValidationError, match="must not"):
            separate_folders(raw, out)
    with pytest.raises(DataValidationError, match="not a directory"):
        separate_folders(tmp_path / "nope", tmp_path / "out")


def test_recorded_name_of_odd_names(tmp_path: Path) -> None:
    assert recorded_name(tmp_path / "a b" / "ü.csv", tmp_path) == ("a b/ü.csv", True)
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.csv"))
    assert recorded_name(odd, tmp_path) == ("caf\\xe9.csv", False)
    assert resolve(tmp_path / "x" / "..") == tmp_path.resolve()
