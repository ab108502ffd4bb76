"""The `ca-trade` command line: exit codes, one-line errors, --check, configs that misbehave."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import ca_trade
from ca_trade.cli import EXIT_CHECK_FAILED, EXIT_ERROR, EXIT_OK, EXIT_USAGE, main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--version")
    assert code == EXIT_OK
    assert out.strip() == f"ca-trade {ca_trade.__version__}"
    code, out, _ = _run(capsys, "--help")
    assert code == EXIT_OK
    for cmd in ("sample", "ingest", "reconcile", "panel", "estimate", "simulate", "report"):
        assert cmd in out
    assert "Exit codes" in out


def test_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "frobnicate")
    assert code == EXIT_USAGE
    assert "invalid choice" in err
    code, _, err = _run(capsys)
    assert code == EXIT_USAGE
    code, _, err = _run(capsys, "estimate", "p.parquet")
    assert code == EXIT_USAGE
    assert "--formula" in err
    code, _, err = _run(capsys, "estimate", "p.parquet", "--formula", "y ~ x", "--vcov", "nope")
    assert code == EXIT_USAGE
    assert "vcov must be" in err


def test_config_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = _run(capsys, "run", str(tmp_path / "missing.toml"))
    assert code == EXIT_USAGE
    assert err.startswith("ca-trade: error: ")
    assert "config file not found" in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_config_escaping_the_project_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[run]\nroot = "../../../tmp/evil"\n')
    code, _, err = _run(capsys, "run", str(cfg))
    assert code == EXIT_USAGE
    assert "climbs out with '..'" in err
    cfg.write_text('[run]\nroot = "/etc/evil"\n')
    code, _, err = _run(capsys, "run", str(cfg))
    assert code == EXIT_USAGE
    assert "absolute path" in err
    assert not Path("/etc/evil").exists()


def test_config_cannot_run_code(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    marker = tmp_path / "PWNED"
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[run]\nroot = "out"\n[[specifications]]\nname = "a"\n'
        f"formula = \"y ~ __import__('pathlib').Path('{marker}').touch()\"\n"
    )
    code, _, err = _run(capsys, "run", str(cfg))
    assert code == EXIT_USAGE
    assert "formula" in err
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_data_errors_exit_1_and_debug_shows_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    code, _, err = _run(capsys, "report", str(bad), "--out", str(tmp_path / "t.md"))
    assert code == EXIT_ERROR
    assert (
        err.strip() == f"ca-trade: error: {bad}: not a ca_trade results file (write one with "
        "`ca-trade estimate --json`)"
    )
    code, _, err = _run(capsys, "--debug", "report", str(bad), "--out", str(tmp_path / "t.md"))
    assert code == EXIT_ERROR
    assert "Traceback" in err
    code, _, err = _run(capsys, "estimate", str(tmp_path / "none.parquet"), "--formula", "y ~ x")
    assert code == EXIT_ERROR
    assert "no such file" in err


def test_unsafe_formula_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "estimate", "x.parquet", "--formula", "y ~ os.system(1)")
    assert code == EXIT_USAGE
    assert "attribute access" in err


def test_report_from_saved_estimates(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from ca_trade.report.stored import save_results
    from tests.report.fakes import two_models

    paths = []
    for i, m in enumerate(two_models()):
        paths.append(save_results(m, tmp_path / f"m{i}.json"))
    out = tmp_path / "t.tex"
    code, _, _ = _run(capsys, "report", *map(str, paths), "--out", str(out))
    assert code == EXIT_OK
    text = out.read_text()
    assert "$-0.841^{***}$" in text
    assert (tmp_path / "t.tex.json").is_file()
    code, _, err = _run(capsys, "report", str(paths[0]), "--out", str(tmp_path / "t.pdf"))
    assert code == EXIT_USAGE
    assert ".tex, .md or .html" in err


def test_sample_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the one command line of the sample (it had a second one, `python -m ca_trade.sample`)
    code, out, _ = _run(capsys, "sample", "--out", str(tmp_path), "--years", "2018", "--seed", "3")
    assert code == EXIT_OK
    assert "SYNTHETIC sample" in out
    assert (tmp_path / "truth.json").exists()


@pytest.mark.parametrize(
    ("cet", "code", "message"),
    [
        ("simple_mean", EXIT_USAGE, "'simple_mean' is the old spelling; write --cet simple"),
        ("weighted_mean", EXIT_USAGE, "write --cet weighted"),
        ("KAZ", EXIT_USAGE, "'KAZ' is the old spelling; write --cet adopt:KAZ"),
        ("median", EXIT_USAGE, "--cet must be simple, weighted, max, keep or adopt:ISO3"),
        ("adopt:KAZ", EXIT_ERROR, "no such file"),  # accepted: the panel is read next
        ("weighted", EXIT_ERROR, "no such file"),
    ],
)
def test_simulate_cet_takes_the_values_of_tariff_harmonization(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, cet: str, code: int, message: str
) -> None:
    args = ["simulate", str(tmp_path / "p.parquet"), "--estimates", str(tmp_path / "e.json")]
    got, _, err = _run(
        capsys,
        *args,
        "--scenario",
        "tariff_harmonization",
        "--cet",
        cet,
        "--out",
        str(tmp_path / "o"),
    )
    assert got == code, err
    assert message in err


def test_entry_point_runs_as_a_process() -> None:
    exe = Path(sys.executable).with_name("ca-trade")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "ca_trade.cli"]
    proc = subprocess.run([*cmd, "run", "nope.toml"], capture_output=True, text=True, check=False)
    assert proc.returncode == EXIT_USAGE
    assert proc.stderr.startswith("ca-trade: error: ")
    assert proc.stdout == ""


SMALL = """
[run]
name = "small"
root = "reports/small"
[source]
kind = "sample"
seed = 7
years = [2019, 2019]
[[specifications]]
name = "twoway"
formula = "value_usd ~ ln_dist + contig + rta + ln_tariff | exporter^year + importer^year"
international_only = true
[outputs]
tables = ["md", "tex"]
figures = ["png"]
"""


@pytest.mark.slow
def test_run_then_check_passes_then_fails_after_a_modification(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL)
    code, out, err = _run(capsys, "--quiet", "run", str(cfg))
    assert code == EXIT_OK, err
    root = tmp_path / "reports" / "small"
    table = root / "tables" / "estimates.md"
    assert table.is_file()
    assert "SYNTHETIC" in table.read_text()
    assert (root / "figures" / "coefficients.png").is_file()
    assert (root / "estimates" / "twoway.json").is_file()
    code, out, err = _run(capsys, "run", str(cfg), "--check")
    assert code == EXIT_OK, err
    assert "up to date" in out
    table.write_text(table.read_text().replace("Observations", "Obs."))
    (root / "tables" / "stale.md").write_text("old")
    code, out, err = _run(capsys, "run", str(cfg), "--check")
    assert code == EXIT_CHECK_FAILED
    assert "changed: tables/estimates.md" in err
    assert "not produced by the config: tables/stale.md" in err
    assert "ca-trade: error: outputs of" in err

    # the simulate stage on the run's panel and saved estimates
    sim = tmp_path / "sim"
    code, out, err = _run(
        capsys,
        "--quiet",
        "simulate",
        str(root / "data" / "panel.parquet"),
        "--estimates",
        str(root / "estimates" / "twoway.json"),
        "--scenario",
        "tariff_harmonization",
        "--n-draws",
        "20",
        "--synthetic",
        "--out",
        str(sim),
    )
    assert code == EXIT_OK, err
    table = (sim / "tables" / "scenario_tariff_harmonization.md").read_text()
    assert "| KAZ |" in table and "\\[" in table and "SYNTHETIC" in table
    side = json.loads((sim / "tables" / "scenario_tariff_harmonization.md.json").read_text())
    assert side["uncertainty"]["n_draws"] == 20
    assert side["inputs"]["estimates"]["path"] == "twoway.json"
    code, _, err = _run(
        capsys,
        "simulate",
        str(root / "data" / "panel.parquet"),
        "--estimates",
        str(root / "estimates" / "twoway.json"),
        "--scenario",
        "corridor",
        "--out",
        str(sim),
    )
    assert code == EXIT_USAGE
    assert "needs --links" in err


@pytest.mark.slow
def test_stage_commands_chain(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    raw, proc = tmp_path / "raw", tmp_path / "processed"
    rec, panel = tmp_path / "rec.parquet", tmp_path / "panel.parquet"
    steps = [
        ["sample", "--out", str(raw), "--years", "2019", "--seed", "5"],
        ["ingest", str(raw), str(proc)],
        ["reconcile", str(proc), "--out", str(rec)],
        ["panel", str(rec), "--raw-dir", str(raw), "--out", str(panel)],
        [
            "estimate",
            str(panel),
            "--formula",
            "value_usd ~ ln_dist + contig | exporter + importer",
            "--vcov",
            "CRV1:pair",
            "--json",
            str(tmp_path / "est.json"),
            "--table",
            str(tmp_path / "est.tex"),
        ],
        ["report", str(tmp_path / "est.json"), "--out", str(tmp_path / "t.html"), "--se", "ci"],
    ]
    outs = []
    for step in steps:
        code, out, err = _run(capsys, "--quiet", *step)
        assert code == EXIT_OK, (step[0], err)
        outs.append(out)
    assert "SYNTHETIC sample" in outs[0]
    assert outs[1].startswith("ingested ") and "quarantined" in outs[1]
    assert "reconciled flows" in outs[2]
    assert "ln_dist" in outs[4]
    assert "CRV1: pair" in (tmp_path / "est.tex").read_text()
    html = (tmp_path / "t.html").read_text()
    assert "95% confidence intervals in brackets." in html
    assert json.loads((tmp_path / "t.html.json").read_text())["models"][0]["nobs"] > 100


# --------------------------------------------------------------------------------------
# The command line as a shell calls it: relative paths, '..', links, state left behind
# --------------------------------------------------------------------------------------


def _shell(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("ca-trade")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "ca_trade.cli"]
    return subprocess.run(
        [*cmd, "--quiet", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


TINY_RUN = """
[run]
name = "tiny"
root = "reports/tiny"
[source]
seed = 3
years = [2019, 2019]
[[specifications]]
name = "s"
formula = "value_usd ~ ln_dist + contig | exporter + importer"
international_only = true
[outputs]
tables = ["md"]
figures = []
"""


def test_run_refuses_to_write_through_a_link_that_leads_out(tmp_path: Path) -> None:
    proj, outside = tmp_path / "proj", tmp_path / "outside"
    (proj / "configs").mkdir(parents=True)
    outside.mkdir()
    (proj / "pyproject.toml").write_text("")
    (proj / "configs" / "tiny.toml").write_text(TINY_RUN)
    (proj / "reports" / "tiny").mkdir(parents=True)
    (proj / "reports" / "tiny" / "tables").symlink_to(outside)
    proc = _shell(proj, "run", "configs/tiny.toml")
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert proc.stderr.startswith("ca-trade: error: refusing to write")
    assert "reports/tiny/tables is a symbolic link to" in proc.stderr
    assert str(outside) in proc.stderr
    assert list(outside.iterdir()) == []
    assert proc.stdout == ""


def test_an_output_file_that_is_a_link_leading_out_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ca_trade.report.stored import save_results
    from tests.report.fakes import two_models

    est = save_results(two_models()[0], tmp_path / "m.json")
    victim = tmp_path / "outside" / "victim.md"
    victim.parent.mkdir()
    victim.write_text("keep me")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "t.md").symlink_to(victim)
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, "report", "m.json", "--out", "reports/t.md")
    assert code == EXIT_USAGE, err
    assert "reports/t.md is a symbolic link to" in err
    assert victim.read_text() == "keep me"
    assert not (tmp_path / "outside" / "victim.md.json").exists()
    assert est.is_file()


@pytest.mark.slow
def test_every_stage_command_with_relative_paths_from_the_shell(tmp_path: Path) -> None:
    """The quick start's commands, typed relative to the working directory, as a shell would:
    with '..', through a link that stays inside, and `run` from below the project."""
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    (work / "pyproject.toml").write_text("")
    (work / "d").symlink_to(work / "data")  # a link that stays inside is followed
    formula = "value_usd ~ ln_dist + contig + rta + ln_tariff | exporter + importer"
    steps = [
        ["sample", "--out", "data/raw/sample", "--seed", "5", "--years", "2019"],
        ["ingest", "data/raw/sample", "data/processed"],
        ["reconcile", "data/processed", "--out", "data/processed/../rec.parquet"],
        ["panel", "d/rec.parquet", "--raw-dir", "data/raw/sample", "--out", "d/panel.parquet"],
        ["estimate", "data/panel.parquet", "--formula", formula, "--vcov", "CRV1:pair",
         "--json", "reports/est.json", "--table", "reports/./est.md"],
        ["report", "reports/est.json", "--out", "reports/t.tex"],
        ["simulate", "data/panel.parquet", "--estimates", "reports/est.json", "--scenario",
         "tariff_harmonization", "--n-draws", "5", "--synthetic", "--out", "reports/cu"],
    ]  # fmt: skip
    for step in steps:
        proc = _shell(work, *step)
        assert proc.returncode == EXIT_OK, (step[0], proc.stderr)
    rows = json.loads((work / "reports" / "t.tex.json").read_text())["models"][0]["nobs"]
    assert rows > 100
    assert (work / "data" / "rec.parquet").is_file()
    assert (work / "data" / "panel.parquet").is_file()
    assert (work / "reports" / "cu" / "tables" / "scenario_tariff_harmonization.md").is_file()
    assert not (work / "d" / "d").exists() and not (tmp_path / "reports").exists()

    # the same estimate with absolute paths gives the same bytes
    absolute = tmp_path / "abs"
    code = main(
        ["--quiet", "estimate", str(work / "data" / "panel.parquet"), "--formula", formula,
         "--vcov", "CRV1:pair", "--json", str(absolute / "est.json")]
    )  # fmt: skip
    assert code == EXIT_OK
    assert (absolute / "est.json").read_bytes() == (work / "reports" / "est.json").read_bytes()

    # `run` with a relative config path, from the project and from a folder below it
    (work / "configs").mkdir()
    (work / "configs" / "tiny.toml").write_text(TINY_RUN)
    (work / "deep" / "er").mkdir(parents=True)
    proc = _shell(work / "deep" / "er", "run", "../../configs/tiny.toml")
    assert proc.returncode == EXIT_OK, proc.stderr
    table = work / "reports" / "tiny" / "tables" / "estimates.md"
    assert f"wrote {table}" in proc.stdout
    assert not (work / "deep" / "er" / "reports").exists()


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["sample", "--out", "x", "--seed", "-1"], "--seed"),
        (["simulate", "p", "--estimates", "e", "--scenario", "tariff_harmonization", "--out", "o",
          "--n-draws", "1"], "--n-draws"),
        (["simulate", "p", "--estimates", "e", "--scenario", "tariff_harmonization", "--out", "o",
          "--theta", "inf"], "--theta"),
        (["simulate", "p", "--estimates", "e", "--scenario", "tariff_harmonization", "--out", "o",
          "--theta", "nan"], "--theta"),
        (["simulate", "p", "--estimates", "e", "--scenario", "tariff_harmonization", "--out", "o",
          "--seed", "-4"], "--seed"),
        (["simulate", "p", "--estimates", "e", "--scenario", "corridor", "--links", "CHN-KGZ",
          "--out", "o", "--days-saved", "nan"], "--days-saved"),
        (["simulate", "p", "--estimates", "e", "--scenario", "corridor", "--links", "CHN-KGZ",
          "--out", "o", "--cost-reduction", "1.5"], "--cost-reduction"),
    ],
)  # fmt: skip
def test_non_finite_and_out_of_range_numbers_are_usage_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], option: str
) -> None:
    code, _, err = _run(capsys, *args)
    assert code == EXIT_USAGE, err
    assert option in err and args[-1] in err
    assert not (tmp_path / "x").exists()


def test_main_restores_the_process_warning_display(capsys: pytest.CaptureFixture[str]) -> None:
    import warnings

    before = warnings.showwarning
    code, _, _ = _run(capsys, "run", "missing.toml")
    assert code == EXIT_USAGE
    assert warnings.showwarning is before
    code, _, _ = _run(capsys, "--version")
    assert warnings.showwarning is before


def test_errors_and_warnings_carry_no_escape_codes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    name = tmp_path / "\x1b[31mred\x1b[0m\x07.toml"
    code, _, err = _run(capsys, "run", str(name))
    assert code == EXIT_USAGE
    assert "\x1b" not in err and "\x07" not in err
    assert "red" in err and "config file not found" in err


def test_warnings_are_one_clean_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import warnings

    import ca_trade.pipeline.demo
    from ca_trade.exceptions import DataValidationWarning

    def noisy(out: Path, *, progress: object = None) -> int:
        warnings.warn("\x1b[1;31mbold red\x1b[0m\rover", DataValidationWarning, stacklevel=1)
        return 0

    before = warnings.showwarning
    monkeypatch.setattr(ca_trade.pipeline.demo, "run_demo", noisy)
    code, _, err = _run(capsys, "demo", "--out", str(tmp_path))
    assert code == EXIT_OK
    assert err == "ca-trade: warning: bold red over\n"
    assert warnings.showwarning is before
