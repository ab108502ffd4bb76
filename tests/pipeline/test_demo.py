"""The demo end to end (`make demo` = `ca-trade demo`) on the SYNTHETIC sample, in a tmp dir."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ca_trade.cli import EXIT_ERROR, EXIT_USAGE, main


def _shell(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("ca-trade")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "ca_trade.cli"]
    return subprocess.run(
        [*cmd, "--quiet", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.mark.slow
@pytest.mark.timeout(480)
def test_demo_end_to_end(tmp_path: Path) -> None:
    # as a shell calls it, with a relative output folder
    out = tmp_path / "demo"
    proc = _shell(tmp_path, "demo", "--out", "demo")
    code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
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
            assert side["uncertainty"]["n_draws"] == 200
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
    # the generator's parameters (truth.json) are recovered within their 95% intervals:
    # distance in the two-way model, agreements and tariffs in the three-way model
    truth = json.loads((out / "data/raw/truth.json").read_text())["model"]["coefficients"]
    for spec, names in (
        ("twoway", ["ln_dist", "contig", "comlang"]),
        ("threeway", ["rta", "ln_tariff"]),
    ):
        res = json.loads((out / f"estimates/{spec}.json").read_text())
        for name in names:
            i = res["names"].index(name)
            b, se = res["params"][i], res["vcov"][i][i] ** 0.5
            assert abs(b - truth[name]) < 1.96 * se, (spec, name, b, se, truth[name])
    assert "ln_tariff" in stdout and "yes" in stdout
    _check_bias_corrected_column(out, stdout, truth)
    _check_scenario_outputs_say_what_they_are(out)
    # the sectoral customs union: section panel on disk, a table by country (welfare with the
    # estimated and the true elasticities), a figure by sector, all SYNTHETIC
    assert "Sectoral customs union (SYNTHETIC)" in stdout and "KAZ's schedule" in stdout
    sect = out / "sectoral"
    parts = sorted(p.name for p in (sect / "panel_sections").iterdir())
    assert parts == [f"sector=S{k:02d}" for k in range(1, 22)]
    for rel in ("tables/sectoral_customs_union.md", "figures/sectoral_customs_union.png"):
        side = json.loads((sect / f"{rel}.json").read_text())
        assert side["synthetic"] is True and "revenue pooled" in side["scenario"]
    table = (sect / "tables/sectoral_customs_union.md").read_text()
    assert "SYNTHETIC DATA" in table and "Welfare, true theta" in table
    assert all(f"| {c}" in table for c in ("KAZ", "KGZ", "TJK", "TKM", "UZB"))


def _check_bias_corrected_column(out: Path, stdout: str, truth: dict[str, float]) -> None:
    """Issue 13 item 7: the three-way table reports Weidner & Zylkin's corrected estimates."""
    assert "threeway_bias_corrected: Weidner & Zylkin (2021) analytical" in stdout
    plain = json.loads((out / "estimates/threeway.json").read_text())
    fixed = json.loads((out / "estimates/threeway_bias_corrected.json").read_text())
    assert fixed["names"] == plain["names"]
    for i, name in enumerate(plain["names"]):
        # corrected = estimate - bias, with a different (de-biased) variance beside it
        assert fixed["params"][i] != plain["params"][i], name
        assert fixed["vcov"][i][i] != plain["vcov"][i][i], name
    rta = fixed["names"].index("rta")
    assert abs(fixed["params"][rta] - truth["rta"]) < 1.96 * fixed["vcov"][rta][rta] ** 0.5
    md = (out / "tables/estimates.md").read_text()
    assert "| threeway | threeway, bias-corrected |" in md
    assert "| Standard errors | Clustered by pair | Clustered by pair | " in md
    assert "Clustered by pair (de-biased) |" in md
    assert "| Sample | International pairs | International pairs | International pairs |" in md
    assert "| Exporter × year | Yes | Yes | Yes |" in md and "FE:" not in md
    assert "Weidner & Zylkin (2021) analytical bias correction" in md
    # the scenarios are still built from the uncorrected estimates
    side = json.loads((out / "tables/scenario_customs_union.md.json").read_text())
    assert side["scenario"]["specification"] == "threeway"


def _check_scenario_outputs_say_what_they_are(out: Path) -> None:
    """Issue 12 item 6: level, draws, theta and the scenario in words, in table and sidecar."""
    md = (out / "tables/scenario_customs_union.md").read_text()
    assert "**Central Asian customs union: no internal tariffs, a common external tariff**" in md
    assert "95% intervals in brackets: the 2.5th and 97.5th percentiles" in md
    assert "over 200 parametric draws" in md
    side = json.loads((out / "tables/scenario_customs_union.md.json").read_text())
    theta = side["ge_solution"]["theta"]
    b = json.loads((out / "estimates/threeway.json").read_text())
    assert theta == pytest.approx(-b["params"][b["names"].index("ln_tariff")] - 1, rel=1e-12)
    assert f"θ = {theta:.2f} = −b − 1" in md
    assert side["ge_solution"]["theta_from"] == "ln_tariff"
    assert side["scenario"]["members"] == ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
    assert len(side["inputs"]["panel"]["sha256"]) == 64
    rail = json.loads((out / "tables/scenario_rail_corridor.md.json").read_text())
    assert rail["scenario"]["kind"] == "corridor"


@pytest.mark.parametrize("link", ["tables", "data", "data/raw"])
def test_demo_refuses_links_that_lead_out_of_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], link: str
) -> None:
    out, outside = tmp_path / "demo", tmp_path / "outside"
    outside.mkdir()
    (out / link).parent.mkdir(parents=True, exist_ok=True)
    (out / link).symlink_to(outside / "x")
    code = main(["--quiet", "demo", "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == EXIT_USAGE, err
    assert f"{link} is a symbolic link" in err
    assert list(outside.iterdir()) == []


def test_demo_stops_cleanly_when_a_stage_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import ca_trade.pipeline.stages
    from ca_trade.exceptions import DataValidationError

    def fail(*args: object, **kwargs: object) -> None:
        raise DataValidationError("the generator failed")

    monkeypatch.setattr(ca_trade.pipeline.stages, "generate", fail)
    code = main(["--quiet", "demo", "--out", str(tmp_path / "demo")])
    out, err = capsys.readouterr()
    assert code == EXIT_ERROR
    assert err == "ca-trade: error: the generator failed\n"
    assert out == ""
    assert not (tmp_path / "demo" / "tables").exists()
