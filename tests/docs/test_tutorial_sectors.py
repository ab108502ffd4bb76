"""docs/tutorial-sectors.md: its Python blocks run, in order, as a user pastes them.

The blocks share one namespace and run in a fresh folder (the tutorial's relative paths,
``work/raw`` and so on, land there); the checks after them are on what the reader sees: a
panel of the 21 sections on disk, an elasticity per section, a finite equilibrium.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "tutorial-sectors.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::ca_trade.exceptions.CaTradeWarning")
def test_the_tutorials_code_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = _blocks()
    assert len(blocks) == 7, "the tutorial's blocks changed: update this test's checks"
    monkeypatch.chdir(tmp_path)
    ns: dict[str, Any] = {"__name__": "tutorial"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for i, code in enumerate(blocks):
            exec(compile(code, f"{DOC.name} block {i + 1}", "exec"), ns)
    printed = out.getvalue()
    assert printed.startswith("section 21 ")
    parts = sorted(p.name for p in (tmp_path / "work" / "panel_sections").iterdir())
    assert parts == [f"sector=S{k:02d}" for k in range(1, 22)]
    est = ns["est"]
    assert len(est) == 21 and est["converged"].all()
    assert (est["theta_used"] > 0).all() and set(est["theta_source"]) <= {"estimate", "pooled"}
    assert "KAZ's schedule" in ns["cu"].description and ns["leader"] == "KAZ"
    assert sum(ns["quotas"].values()) == pytest.approx(1.0)
    countries = ns["res_ge"].countries.loc[ns["ca5"]]
    assert np.isfinite(countries.to_numpy(dtype=float)).all()
    assert np.isfinite(ns["compare"].to_numpy(dtype=float)).all()
