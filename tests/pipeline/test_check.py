"""``--check``: the outputs of two runs compared byte for byte."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ca_trade.pipeline import CheckReport, compare_outputs, parse_config


def _fake_outputs(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def test_compare_outputs_reports_changed_missing_extra(tmp_path: Path) -> None:
    from dataclasses import replace

    base = parse_config({"run": {"root": "a"}}, Path("c.toml"), project_root=tmp_path)
    fresh = replace(base, root=tmp_path / "fresh")
    _fake_outputs(base.root, {"tables/t.md": b"1", "figures/f.png": b"x", "tables/old.md": b"o"})
    _fake_outputs(
        fresh.root, {"tables/t.md": b"2", "figures/f.png": b"x", "estimates/e.json": b"{}"}
    )
    _fake_outputs(base.root, {"data/ignored.parquet": b"zz"})
    rep = compare_outputs(fresh, base)
    assert rep.changed == ["tables/t.md"]
    assert rep.missing == ["estimates/e.json"]
    assert rep.extra == ["tables/old.md"]
    assert not rep.ok
    assert "changed: tables/t.md" in rep.describe()
    assert CheckReport().ok


CONFIG = "configs/central_asia_sample.toml"
COMMITTED = "results/central_asia_sample"
REPO = Path(__file__).resolve().parents[2]


def _clone_like(tmp: Path) -> Path:
    """Copy what a fresh checkout has of the committed run: the config, its artefacts."""
    dest = tmp / "checkout"
    (dest / "configs").mkdir(parents=True)
    shutil.copyfile(REPO / "pyproject.toml", dest / "pyproject.toml")
    shutil.copyfile(REPO / CONFIG, dest / CONFIG)
    for folder in ("tables", "estimates"):
        shutil.copytree(REPO / COMMITTED / folder, dest / COMMITTED / folder)
    return dest


EXIT_CHECK_FAILED = 3  # the documented status of a failed check (docs/quickstart.md, docs/ci.md)


def _check(cwd: Path) -> subprocess.CompletedProcess[str]:
    """``ca-trade --quiet run CONFIG --check`` in ``cwd``, as a CI job calls it."""
    exe = Path(sys.executable).with_name("ca-trade")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "ca_trade.cli"]
    return subprocess.run(
        [*cmd, "--quiet", "run", CONFIG, "--check"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_committed_artefacts_are_the_tracked_ones() -> None:
    """Everything the check compares is committed; the regenerated data are not."""
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        [git, "ls-files", COMMITTED], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    on_disk = sorted(
        p.relative_to(REPO).as_posix()
        for folder in ("tables", "estimates")
        for p in (REPO / COMMITTED / folder).rglob("*")
        if p.is_file()
    )
    assert tracked == on_disk, "commit the artefacts: `ca-trade run " + CONFIG + "`"
    assert all(name.split("/")[2] in ("tables", "estimates") for name in tracked)


@pytest.mark.slow
def test_check_on_a_fresh_checkout_keeps_what_it_regenerated_when_it_fails(
    tmp_path: Path,
) -> None:
    """A stale artefact fails the check and its regenerated copy is kept; then it passes."""
    checkout = _clone_like(tmp_path)
    table = checkout / COMMITTED / "tables" / "estimates.md"
    original = table.read_bytes()
    table.write_bytes(original.replace(b"Observations", b"Obs."))
    proc = _check(checkout)
    assert proc.returncode == EXIT_CHECK_FAILED, proc.stderr
    kept = checkout / COMMITTED / ".check"
    regenerated = kept / "tables" / "estimates.md"
    assert f"changed: tables/estimates.md (regenerated: {regenerated})" in proc.stderr
    assert f"the regenerated artefacts are kept in {kept}" in proc.stderr
    assert proc.stderr.count("changed: ") == 1  # everything else regenerated identically
    assert regenerated.read_bytes() == original  # what the check compared, kept
    assert (kept / "estimates" / "threeway.json").is_file()
    assert table.read_bytes() != original  # the committed file is left as it was

    table.write_bytes(original)  # the committed artefacts as in the repository
    proc = _check(checkout)
    assert proc.returncode == 0, (
        f"{proc.stderr}\nthe committed artefacts are stale: regenerate them with "
        f"`ca-trade run {CONFIG}` and commit {COMMITTED}/tables and /estimates"
    )
    assert "up to date" in proc.stdout
    assert not kept.exists()  # a passing check clears what a failing one kept
