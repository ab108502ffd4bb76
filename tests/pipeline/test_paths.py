"""The project root of a configuration."""

from __future__ import annotations

from pathlib import Path

from ca_trade.pipeline import find_project_root


def test_find_project_root(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert find_project_root(tmp_path / "a" / "b") == tmp_path.resolve()
