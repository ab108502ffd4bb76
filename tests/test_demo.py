"""The demo end to end (`make demo` = `ca-trade demo`) on the SYNTHETIC sample, in a tmp dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ca_trade.cli import main


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_demo_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    code = main(["--quiet", "demo", "--out", str(out)])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    # summary: recovered vs true parameters with confidence intervals, and GE results
    assert stdout.startswith("SYNTHETIC DATA: ca_trade demo summary")
    assert "twoway: PPML" in stdout
    assert "threeway: PPML" in stdout
    assert "ln_dist" in stdout and "-0.80" in stdout
    for name in ("customs_union", "internal_tariffs", "rail_corridor"):
        assert f"{name}: welfare change" in stdout
    # tables and figures, each with a sidecar, all labelled SYNTHETIC
    for rel in [
        "tables/estimates.tex",
        "tables/estimates.md",
        "tables/estimates.html",
        "figures/coefficients.png",
        "figures/coefficients.pdf",
        "estimates/twoway.json",
        "estimates/threeway.json",
    ]:
        assert (out / rel).is_file(), rel
    for name in ("customs_union", "internal_tariffs", "rail_corridor"):
        for rel in (
            f"tables/scenario_{name}.md",
            f"tables/scenario_{name}.tex",
            f"figures/outcomes_{name}.png",
            f"figures/trade_heatmap_{name}.pdf",
        ):
            path = out / rel
            assert path.is_file(), rel
            side = json.loads(path.with_name(path.name + ".json").read_text())
            assert side["synthetic"] is True
            assert side["uncertainty"]["draws"] == 200
            assert side["ge_solution"]["converged"] is True
        table = (out / f"tables/scenario_{name}.md").read_text()
        assert "SYNTHETIC DATA" in table
        assert "\\[" in table  # confidence intervals in brackets
    est = (out / "tables/estimates.tex").read_text()
    assert "SYNTHETIC" in est
    side = json.loads((out / "tables/estimates.tex.json").read_text())
    assert side["inputs"]["panel"]["rows"] > 10_000
    assert side["seeds"]["sample"] == 2024
    assert [s["name"] for s in side["specifications"]] == ["twoway", "threeway"]
    # the distance elasticity of the generator (-0.8) is recovered within its CI
    res = json.loads((out / "estimates/twoway.json").read_text())
    b = dict(zip(res["names"], res["params"]))["ln_dist"]
    se = res["vcov"][res["names"].index("ln_dist")][res["names"].index("ln_dist")] ** 0.5
    assert abs(b - (-0.8)) < 1.96 * se + 0.02
