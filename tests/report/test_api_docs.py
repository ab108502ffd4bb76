"""docs/api.md is generated from the docstrings and must be up to date."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_committed_api_reference_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("gen_api", DOCS / "gen_api.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    fresh = mod.render()
    committed = (DOCS / "api.md").read_text(encoding="utf-8")
    assert committed == fresh, "docs/api.md is out of date: run `python docs/gen_api.py`"
    assert "### `ca_trade.etable`" in fresh
    assert " at 0x" not in fresh
