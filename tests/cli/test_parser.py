"""The arguments of `ca-trade`: help that explains itself, global options anywhere, renames."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ca_trade
from ca_trade.cli import EXIT_OK, EXIT_USAGE, build_parser, main
from ca_trade.cli.commands import COMMANDS
from ca_trade.cli.parser import RENAMED


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_is_parsed_and_has_a_function() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(COMMANDS)  # type: ignore[arg-type]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_help_has_a_description_an_example_and_defaults(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, out, _ = _run(capsys, command, "--help")
    assert code == EXIT_OK
    head = out.split("\n\n")
    assert head[0].startswith(f"usage: ca-trade {command}")
    assert len(head[1]) > 20 and head[1].rstrip().endswith(".")  # a one-sentence summary
    assert f"example:\n  ca-trade {command}" in out
    # every option with a default shows it; the global options are listed too
    parser = next(a for a in build_parser()._actions if a.dest == "command").choices[command]  # type: ignore[index]
    for action in parser._actions:
        if action.option_strings and action.default not in (None, False, "==SUPPRESS=="):
            assert "default" in (parser._get_formatter()._get_help_string(action)), action
    assert "--quiet" in out and "--debug" in out


def test_defaults_read_as_a_user_types_them(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "simulate", "--help")
    flat = " ".join(out.split())
    assert "(default: 200)" in flat  # --n-draws
    assert "(default: simple)" in flat  # --cet
    assert "-b - 1 from the estimates' ln_tariff coefficient b" in flat  # --theta
    assert "KAZ,KGZ,TJK,TKM,UZB" in flat  # --members
    _, out, _ = _run(capsys, "sample", "--help")
    assert "(default: 2000-2023)" in " ".join(out.split())


@pytest.mark.parametrize("option", ["--quiet", "--debug"])
def test_global_options_work_before_and_after_the_command(option: str) -> None:
    dest = option.lstrip("-")
    after = build_parser().parse_args(["demo", "--out", "x", option])
    before = build_parser().parse_args([option, "demo", "--out", "x"])
    neither = build_parser().parse_args(["demo", "--out", "x"])
    assert getattr(after, dest) is True and getattr(before, dest) is True
    assert getattr(neither, dest) is False
    # given before, it is not undone by the sub-parser's default
    both = build_parser().parse_args([option, "ingest", "a", "b"])
    assert getattr(both, dest) is True


def test_version_after_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "simulate", "--version")
    assert code == EXIT_OK
    assert out.strip() == f"ca-trade {ca_trade.__version__}"


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["--draws", "20"], "(--draws is now --n-draws)"),
        (["--scenario", "customs_union"], "(customs_union is now --scenario tariff_harmonization)"),
        (
            ["--scenario", "remove_internal_tariffs"],
            "(remove_internal_tariffs is now --scenario tariff_harmonization --cet keep)",
        ),
    ],
)
def test_options_of_earlier_versions_name_their_new_spelling(
    capsys: pytest.CaptureFixture[str], args: list[str], hint: str
) -> None:
    base = ["simulate", "p.parquet", "--estimates", "e.json", "--out", "o"]
    if "--scenario" not in args:
        base += ["--scenario", "corridor"]
    code, _, err = _run(capsys, *base, *args)
    assert code == EXIT_USAGE
    assert hint in err
    assert set(RENAMED) == {"--draws", "customs_union", "remove_internal_tariffs"}


def test_a_renamed_word_inside_another_is_not_flagged(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "simulate", "p", "--estimates", "e", "--out", "o", "--drawsx")
    assert code == EXIT_USAGE
    assert "is now" not in err


@pytest.mark.parametrize("module", ["ca_trade", "ca_trade.cli"])
def test_python_dash_m_runs_the_command(module: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", module, "--version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == EXIT_OK, proc.stderr
    assert proc.stdout.strip() == f"ca-trade {ca_trade.__version__}"
    proc = subprocess.run(
        [sys.executable, "-m", module, "run", "missing.toml"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == EXIT_USAGE
    assert proc.stderr.startswith("ca-trade: error: ")
