"""The commands of `ca-trade` on data: what they print, refuse and derive (issue 12 item 4).

One SYNTHETIC panel of two years is built once through the stage commands (sample, ingest,
reconcile, panel, estimate) and shared by the tests that simulate on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from ca_trade.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from tests.etl.helpers import plus_row, write_plus

TWOWAY = "value_usd ~ ln_dist + contig + rta + ln_tariff | exporter^year + importer^year"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@dataclass(frozen=True)
class Built:
    root: Path
    panel: Path
    estimates: Path  # with ln_tariff
    no_tariff: Path  # without ln_tariff


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("cli")
    steps = [
        ["sample", "--out", str(root / "raw"), "--years", "2018-2019", "--seed", "5"],
        ["ingest", str(root / "raw"), str(root / "proc")],
        ["reconcile", str(root / "proc"), "--out", str(root / "rec.parquet")],
        ["panel", str(root / "rec.parquet"), "--raw-dir", str(root / "raw"), "--out",
         str(root / "panel.parquet")],
        ["estimate", str(root / "panel.parquet"), "--formula", TWOWAY, "--vcov", "CRV1:pair",
         "--international-only", "--json", str(root / "est.json")],
        ["estimate", str(root / "panel.parquet"), "--formula",
         "value_usd ~ ln_dist + contig | exporter^year + importer^year", "--international-only",
         "--json", str(root / "plain.json")],
    ]  # fmt: skip
    for step in steps:
        code = main(["--quiet", *step])
        assert code == EXIT_OK, step
    return Built(root, root / "panel.parquet", root / "est.json", root / "plain.json")


def _simulate(
    capsys: pytest.CaptureFixture[str], built: Built, out: str, *extra: str
) -> tuple[int, str, str]:
    return _run(
        capsys,
        "--quiet",
        "simulate",
        str(built.panel),
        "--estimates",
        str(built.estimates),
        "--scenario",
        "tariff_harmonization",
        "--out",
        str(built.root / out),
        *extra,
    )


def _sidecar(built: Built, out: str) -> dict:  # type: ignore[type-arg]
    path = built.root / out / "tables" / "scenario_tariff_harmonization.md.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _ln_tariff(path: Path) -> tuple[float, float]:
    est = json.loads(path.read_text())
    i = est["names"].index("ln_tariff")
    return est["params"][i], est["vcov"][i][i] ** 0.5


@pytest.mark.slow
def test_simulate_takes_theta_from_the_estimates_and_prints_the_welfare_summary(
    capsys: pytest.CaptureFixture[str], built: Built
) -> None:
    code, out, err = _simulate(capsys, built, "tied", "--n-draws", "4")
    assert code == EXIT_OK, err
    b, _ = _ln_tariff(built.estimates)
    side = _sidecar(built, "tied")
    assert side["ge_solution"]["theta"] == pytest.approx(-b - 1, rel=1e-12)
    assert side["ge_solution"]["theta_from"] == "ln_tariff"
    lines = out.splitlines()
    assert lines[0].startswith("tariff_harmonization: change in welfare and real GDP, % (95%")
    assert f"theta = {-b - 1:.3g} = -b - 1 from the ln_tariff coefficient" in lines[0]
    # the members come first, in order, each with its interval
    assert [line.split()[0] for line in lines[2:7]] == ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
    assert "[" in lines[2]
    assert "other countries, each within" in out
    assert out.rstrip().splitlines()[-1].startswith("wrote ")


@pytest.mark.slow
def test_a_given_theta_is_used_and_warned_about_when_the_estimates_contradict_it(
    capsys: pytest.CaptureFixture[str], built: Built
) -> None:
    b, se = _ln_tariff(built.estimates)
    code, out, err = _simulate(capsys, built, "far", "--n-draws", "0", "--theta", "40")
    assert code == EXIT_OK, err
    assert err.startswith("ca-trade: warning: scenario tariff_harmonization: theta = 40")
    assert f"implies theta = -b - 1 = {-b - 1:.3g}" in err
    solution = _sidecar(built, "far")["ge_solution"]
    assert solution["theta"] == 40.0 and solution["theta_from"] is None
    assert "theta = 40 (given)" in out
    # a theta inside the estimate's interval is used without a word
    near = f"{-b - 1 + 0.5 * se:.6g}"
    code, _, err = _simulate(capsys, built, "near", "--n-draws", "0", "--theta", near)
    assert code == EXIT_OK, err
    assert "warning" not in err


@pytest.mark.slow
def test_a_tariff_scenario_needs_estimates_with_ln_tariff(
    capsys: pytest.CaptureFixture[str], built: Built
) -> None:
    args = ["--quiet", "simulate", str(built.panel), "--estimates", str(built.no_tariff),
            "--scenario", "tariff_harmonization", "--n-draws", "0"]  # fmt: skip
    code, _, err = _run(capsys, *args, "--out", str(built.root / "none"))
    assert code == EXIT_USAGE
    assert "needs the ln_tariff coefficient, which specification 'plain' lacks" in err
    assert "use estimates with ln_tariff in the formula" in err
    assert not (built.root / "none" / "tables").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("members", "message"),
    [
        ("KAZ,ZZZ", "member 'ZZZ' is not a country of the tariffs; the 31 countries are: AFG"),
        ("kaz,KGZ", "'kaz' (did you mean 'KAZ'?)"),
        ("KAZ", "at least two members"),
    ],
)
def test_members_are_checked(
    capsys: pytest.CaptureFixture[str], built: Built, members: str, message: str
) -> None:
    # before issue 12, --members KAZ,ZZZ gave all-zero results with status 0
    out = f"bad_{members.replace(',', '_')}"
    code, stdout, err = _simulate(capsys, built, out, "--members", members, "--n-draws", "0")
    assert code == EXIT_USAGE, stdout
    assert err.startswith("ca-trade: error: ") and message in err
    assert not (built.root / out / "tables").exists()


@pytest.mark.slow
def test_estimate_can_restrict_to_international_pairs(
    capsys: pytest.CaptureFixture[str], built: Built
) -> None:
    panel = pd.read_parquet(built.panel)
    international = panel[panel["exporter"] != panel["importer"]]
    assert len(international) < len(panel)
    est = json.loads(built.estimates.read_text())
    assert est["nobs"] <= len(international)
    code, out, err = _run(
        capsys, "--quiet", "estimate", str(built.panel), "--formula", TWOWAY,
        "--json", str(built.root / "all.json"),
    )  # fmt: skip
    assert code == EXIT_OK, err
    assert "international pairs only" not in out
    assert json.loads((built.root / "all.json").read_text())["nobs"] > est["nobs"]
    table = built.root / "both.md"
    code, _, err = _run(
        capsys, "report", str(built.estimates), str(built.root / "all.json"), "--out", str(table)
    )
    assert code == EXIT_OK, err
    assert "| Sample | International pairs | All pairs |" in table.read_text()


def test_a_cached_ingest_says_unchanged(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write_plus(tmp_path / "raw" / "f.csv", [plus_row(398, 156, "X", 7), plus_row(398, 0, "X", 9)])
    args = ["--quiet", "ingest", str(tmp_path / "raw"), str(tmp_path / "out")]
    code, first, err = _run(capsys, *args)
    assert code == EXIT_OK, err
    assert first.startswith("ingested 1 file into ")
    assert "rows read 2, written 1, quarantined 0, filtered: partner_world 1" in first
    code, again, err = _run(capsys, *args)
    assert code == EXIT_OK, err
    assert again.startswith("unchanged since the last ingest: 1 file in ")
    assert "ingested" not in again


def test_reconcile_of_an_empty_ingest_says_why_without_the_ingest_hint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_plus(tmp_path / "raw" / "w.csv", [plus_row(398, 0, "X", 7)])
    code, _, err = _run(capsys, "--quiet", "ingest", str(tmp_path / "raw"), str(tmp_path / "p"))
    assert code == EXIT_ERROR
    assert err.strip().splitlines()[-1].startswith("ca-trade: error: ")
    rec = tmp_path / "rec.parquet"
    code, _, err = _run(capsys, "--quiet", "reconcile", str(tmp_path / "p"), "--out", str(rec))
    assert code == EXIT_ERROR
    assert "the last ingest into" in err and "partner_world 1" in err
    assert "run ca_trade.etl.ingest" not in err
    assert not rec.exists()
    code, _, err = _run(capsys, "reconcile", str(tmp_path / "never"), "--out", str(rec))
    assert code == EXIT_ERROR
    assert "no ingest has written" in err and "run ca_trade.etl.ingest" in err
