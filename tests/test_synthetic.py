"""SYNTHETIC travels with the data: every artefact built from the sample says so, none else.

The chain runs through the command line's entry point (``ca_trade.cli.main``, relative
paths, no ``--synthetic`` flag), as the quick start's commands do:
sample -> ingest -> reconcile -> panel -> estimate -> report -> simulate, and the same chain
on real-layout files (the sample's Comtrade, production and tariff files copied under
neutral names, without the marker), where nothing may say SYNTHETIC.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import ca_trade as ct
from ca_trade._synthetic import (
    MARKER,
    file_is_synthetic,
    frame_is_synthetic,
    is_marker,
    marker_record,
    raw_is_synthetic,
)
from ca_trade.cli import main
from ca_trade.etl import ingest
from ca_trade.exceptions import DataValidationWarning
from tests.pipeline.helpers import write_config

_EXE = Path(sys.executable).with_name("ca-trade")
CLI = [str(_EXE)] if _EXE.exists() else [sys.executable, "-m", "ca_trade.cli"]
TEXT = {".md", ".tex", ".html", ".json"}


def _cli(cwd: Path, *args: str) -> None:
    """``ca-trade ARGS`` as a shell runs it, in `cwd`."""
    proc = subprocess.run(
        [*CLI, "--quiet", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def _main(cwd: Path, *args: str) -> None:
    """``ca-trade ARGS`` in this process (the same entry point, without a new interpreter)."""
    with contextlib.chdir(cwd), warnings.catch_warnings():
        warnings.simplefilter("ignore", DataValidationWarning)
        assert main(["--quiet", *args]) == 0


def _chain(cwd: Path, cli: Callable[..., None]) -> None:
    """The quick start's command-line chain on ``cwd/raw``, relative paths, 10 draws."""
    _cli = cli
    _cli(cwd, "ingest", "raw", "processed")
    _cli(cwd, "reconcile", "processed", "--out", "processed/reconciled.parquet")
    _cli(
        cwd,
        "panel",
        "processed/reconciled.parquet",
        "--raw-dir",
        "raw",
        "--out",
        "processed/panel.parquet",
    )
    _cli(
        cwd,
        "estimate",
        "processed/panel.parquet",
        "--formula",
        "value_usd ~ rta + ln_tariff | exporter^year + importer^year + pair",
        "--vcov",
        "CRV1:pair",
        "--json",
        "reports/threeway.json",
        "--table",
        "reports/threeway_fit.md",
    )
    _cli(cwd, "report", "reports/threeway.json", "--out", "reports/threeway.tex")
    _cli(
        cwd,
        "simulate",
        "processed/panel.parquet",
        "--estimates",
        "reports/threeway.json",
        "--scenario",
        "tariff_harmonization",
        "--members",
        "KAZ,KGZ,TJK,TKM,UZB",
        "--cet",
        "simple",
        "--theta",
        "5",
        "--n-draws",
        "10",
        "--out",
        "reports/customs_union",
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("generated") / "raw"
    ct.sample.generate(raw, seed=3, years=range(2018, 2020))
    return raw


@pytest.fixture(scope="module")
def synthetic_run(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("synthetic_run")
    shutil.copytree(generated, cwd / "raw")
    _chain(cwd, _main)
    return cwd


@pytest.fixture(scope="module")
def real_run(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real-layout files with neutral names and no marker: data from another source."""
    cwd = tmp_path_factory.mktemp("real_run")
    raw = cwd / "raw"
    (raw / "comtrade").mkdir(parents=True)
    for path in sorted((generated / "comtrade").iterdir()):
        shutil.copyfile(path, raw / "comtrade" / path.name.replace("SYNTHETIC_", ""))
    for name in ("production.csv", "wits_tariffs.csv"):
        shutil.copyfile(generated / f"SYNTHETIC_{name}", raw / name)
    _chain(cwd, _main)
    return cwd


def _artefacts(cwd: Path) -> list[Path]:
    return sorted(p for p in (cwd / "reports").rglob("*") if p.is_file())


def _parquet(cwd: Path) -> list[Path]:
    """The dataset's and the commands' Parquet files (not ingest's private per-file cache)."""
    files = sorted((cwd / "processed").glob("**/*.parquet"))
    return [p for p in files if "_staging" not in p.parts]


@pytest.mark.slow
def test_every_artefact_built_from_the_sample_says_synthetic(synthetic_run: Path) -> None:
    manifest = json.loads((synthetic_run / "processed" / "manifest.json").read_text())
    assert manifest["synthetic"] is True
    files = _parquet(synthetic_run)
    assert len(files) > 5
    for path in files:  # flows, controls, quarantine, reconciled flows, panel
        assert file_is_synthetic(path), path
    panel = pd.read_parquet(synthetic_run / "processed" / "panel.parquet")
    assert frame_is_synthetic(panel)  # pandas restores the flag from the file
    estimates = json.loads((synthetic_run / "reports" / "threeway.json").read_text())
    assert estimates["provenance"]["synthetic"] is True
    artefacts = _artefacts(synthetic_run)
    tables = [p for p in artefacts if p.suffix in {".md", ".tex", ".html"}]
    assert {p.name for p in tables} >= {
        "threeway_fit.md",
        "threeway.tex",
        "scenario_tariff_harmonization.md",
        "scenario_tariff_harmonization.tex",
        "scenario_tariff_harmonization.html",
    }
    for path in tables:
        assert "SYNTHETIC" in path.read_text(), path
    sidecars = [p for p in artefacts if p.name.endswith((".md.json", ".png.json", ".tex.json"))]
    assert sidecars
    for path in sidecars:
        assert json.loads(path.read_text())["synthetic"] is True, path


@pytest.mark.slow
def test_nothing_built_from_real_data_says_synthetic(real_run: Path) -> None:
    manifest = json.loads((real_run / "processed" / "manifest.json").read_text())
    assert manifest["synthetic"] is False
    for path in _parquet(real_run):
        meta = pq.read_metadata(path).metadata or {}
        assert not any(b"synthetic" in k.lower() or b"SYNTHETIC" in v for k, v in meta.items())
    assert not frame_is_synthetic(pd.read_parquet(real_run / "processed" / "panel.parquet"))
    estimates = json.loads((real_run / "reports" / "threeway.json").read_text())
    assert estimates["provenance"]["synthetic"] is False
    artefacts = _artefacts(real_run)
    assert len(artefacts) > 10
    for path in artefacts:
        if path.suffix in TEXT:
            assert "SYNTHETIC" not in path.read_text(), path
        if path.suffix == ".json" and path.name != "threeway.json":
            assert json.loads(path.read_text())["synthetic"] is False, path


def test_the_flag_follows_the_frames_through_python(generated: Path, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataValidationWarning)
        report = ingest(generated, tmp_path / "processed")
        assert report.synthetic
        flows = ct.etl.reconcile(tmp_path / "processed")
        assert frame_is_synthetic(flows)
        panel = ct.etl.build_panel(flows, raw_dir=generated)
    assert frame_is_synthetic(panel)
    intl = panel[~panel["domestic"]]  # what users do keeps the flag
    res = ct.ppml("value_usd ~ rta | exporter^year + importer^year", data=intl)
    assert res.provenance["synthetic"] is True
    assert "SYNTHETIC" in ct.etable([res], format="md")
    base = panel[panel["year"] == 2019].rename(columns={"value_usd": "value"})
    flows_2019 = base[["exporter", "importer", "value"]]
    out = ct.ge.solve(flows_2019, ct.ge.agreement(["KAZ", "KGZ"], 0.3), theta=5)
    assert out.synthetic
    assert not ct.ge.solve(flows_2019.copy().pipe(_unmarked), None, theta=5).synthetic


def _unmarked(frame: pd.DataFrame) -> pd.DataFrame:
    frame.attrs.clear()
    return frame


def test_the_marker_is_read_not_guessed_from_its_name(tmp_path: Path) -> None:
    (tmp_path / MARKER).write_text('{"synthetic": true, "generator": "someone else"}')
    assert not is_marker(tmp_path / MARKER)
    assert not raw_is_synthetic(tmp_path)
    (tmp_path / "SYNTHETIC_README.txt").write_text("a name alone says nothing")
    assert not raw_is_synthetic(tmp_path)
    sub = tmp_path / "downloads" / "sample"
    sub.mkdir(parents=True)
    (sub / MARKER).write_text(json.dumps(marker_record(seed=1, years=[2019])))
    assert raw_is_synthetic(tmp_path)  # a sample anywhere inside makes the whole set SYNTHETIC
    assert not raw_is_synthetic(tmp_path, skip=[tmp_path / "downloads"])
    hidden = tmp_path / "_old"
    shutil.move(sub, hidden)
    assert not raw_is_synthetic(tmp_path)  # ingest skips `_` folders, so does the flag


def test_adding_or_removing_the_marker_rebuilds_the_dataset(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    ct.sample.generate(raw, seed=5, years=[2019])
    marker = (raw / MARKER).read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataValidationWarning)
        assert ingest(raw, tmp_path / "out").synthetic
        (raw / MARKER).unlink()
        again = ingest(raw, tmp_path / "out")
        assert not again.synthetic and not again.skipped
        (raw / MARKER).write_bytes(marker)
        third = ingest(raw, tmp_path / "out")
    assert third.synthetic and not third.skipped
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["synthetic"] is True


@pytest.mark.slow
def test_a_raw_config_on_the_sample_folder_is_labelled_without_being_told(
    generated: Path, tmp_path: Path
) -> None:
    shutil.copytree(generated, tmp_path / "data" / "sample")
    cfg = write_config(
        tmp_path,
        """
[run]
name = "raw-kind"
root = "reports/raw"
[source]
kind = "raw"
raw_dir = "data/sample"
[[specifications]]
name = "twoway"
formula = "value_usd ~ ln_dist + rta | exporter^year + importer^year"
international_only = true
[outputs]
tables = ["md"]
figures = []
""",
    )
    _cli(tmp_path, "run", str(cfg.relative_to(tmp_path)))
    table = tmp_path / "reports" / "raw" / "tables" / "estimates.md"
    assert "SYNTHETIC" in table.read_text()
    assert json.loads(Path(f"{table}.json").read_text())["synthetic"] is True
