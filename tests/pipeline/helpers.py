"""Shared by the pipeline tests: a run configuration written inside a fresh project."""

from __future__ import annotations

from pathlib import Path


def write_config(tmp: Path, text: str) -> Path:
    """Write `text` to ``tmp/configs/c.toml`` in a project marked by ``tmp/pyproject.toml``."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "pyproject.toml").write_text("[project]\nname='x'\n")
    cfg = tmp / "configs" / "c.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)
    return cfg


MINIMAL = """
[run]
name = "t"
root = "reports/t"
[[specifications]]
name = "a"
formula = "value_usd ~ ln_dist | exporter^year"
"""
