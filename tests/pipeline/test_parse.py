"""Config-driven runs: schema validation, path confinement, configs cannot run code, --check."""

from __future__ import annotations

from pathlib import Path

import pytest

from ca_trade.exceptions import ConfigError, NotBuiltYetError
from ca_trade.pipeline import (
    CheckReport,
    Progress,
    check_formula,
    compare_outputs,
    find_project_root,
    load_config,
    parse_config,
)

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp: Path, text: str) -> Path:
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


def test_minimal_config_resolves_inside_project(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, MINIMAL))
    assert cfg.project_root == tmp_path.resolve()
    assert cfg.root == (tmp_path / "reports" / "t").resolve()
    assert cfg.raw_dir == cfg.root / "data" / "raw"
    assert cfg.synthetic  # the default source is the SYNTHETIC sample
    assert cfg.specifications[0].model == "ppml"
    assert cfg.specifications[0].vcov == "hetero"


def test_demo_config_is_valid_and_matches_the_module() -> None:
    from ca_trade.pipeline.demo import DEMO_CONFIG

    path = ROOT / "src" / "ca_trade" / "data" / "demo.toml"
    assert path.read_text() == DEMO_CONFIG
    cfg = load_config(path)
    assert [s.name for s in cfg.specifications] == ["twoway", "threeway"]
    assert [s.kind for s in cfg.scenarios] == [
        "customs_union",
        "remove_internal_tariffs",
        "corridor",
    ]
    assert cfg.root == (ROOT / "reports" / "demo").resolve()


@pytest.mark.parametrize(
    "root",
    ["../outside", "/tmp/absolute", "reports/../../escape", "a/../../b"],
)
def test_paths_outside_the_project_are_refused(tmp_path: Path, root: str) -> None:
    text = MINIMAL.replace('root = "reports/t"', f'root = "{root}"')
    with pytest.raises(ConfigError, match=r"inside the project|outside the project"):
        load_config(_write(tmp_path, text))


def test_raw_dir_outside_the_project_is_refused(tmp_path: Path) -> None:
    text = MINIMAL + '\n[source]\nkind = "raw"\nraw_dir = "../../etc"\n'
    with pytest.raises(ConfigError, match=r"raw_dir = '../../etc' climbs out"):
        load_config(_write(tmp_path, text))


def test_symlink_escape_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "link").symlink_to(outside)
    cfg = _write(proj, MINIMAL.replace('root = "reports/t"', 'root = "link/x"'))
    with pytest.raises(ConfigError, match="outside the project"):
        load_config(cfg)


def test_outside_paths_allowed_only_when_asked(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        'root = "reports/t"', 'root = "../elsewhere"\nallow_outside_project = true'
    )
    cfg = load_config(_write(tmp_path / "p", text))
    assert cfg.root == (tmp_path / "elsewhere").resolve()


@pytest.mark.parametrize(
    "formula",
    [
        "y ~ __import__('os').system('touch PWNED')",
        "y ~ x + os.system(1)",
        "y ~ eval(x)",
        "y ~ log((exec)((chr)(120)))",
        "y ~ x[0]",
        "y ~ x; import os",
        "y ~ x + {1}",
        'y ~ x + "s"',
        "y ~ np.log(x)",
        "y ~ x @ z",
        "no tilde here",
    ],
)
def test_a_config_cannot_run_code(tmp_path: Path, formula: str) -> None:
    esc = formula.replace("\\", "\\\\").replace('"', '\\"')
    text = MINIMAL.replace('"value_usd ~ ln_dist | exporter^year"', f'"{esc}"')
    with pytest.raises(ConfigError, match="formula"):
        load_config(_write(tmp_path, text))
    assert not (tmp_path / "PWNED").exists()
    assert not Path("PWNED").exists()


def test_safe_formulas_pass() -> None:
    for f in [
        "value_usd ~ ln_dist + contig | exporter^year + importer^year",
        "y ~ log(dist) + log1p(tariff) + x:z + x*z - 1 | pair",
        "y ~ sqrt(a) + exp(b) + I(2.5 * c) + I(x)",
    ]:
        assert check_formula(f, where="t") == f


@pytest.mark.parametrize(
    ("snippet", "match"),
    [
        ("[run]\nroot = 'r'\nbogus = 1\n", r"unknown key\(s\) bogus"),
        ("[run]\nroot = 'r'\n[sources]\nx = 1\n", r"unknown key\(s\) sources"),
        ("[run]\nroot = 5\n", "root must be str"),
        ("[run]\nroot = 'r'\n[source]\nkind = 'ftp'\n", "kind must be one of"),
        ("[run]\nroot = 'r'\n[source]\nyears = [2020, 2000]\n", "increasing years"),
        ("[run]\nroot = 'r'\n[ge]\ntheta = -1.0\n", "theta must be > 0"),
        ("[run]\nroot = 'r'\n[ge]\ndraws = true\n", "draws must be a number"),
        ("[run]\nroot = 'r'\n[outputs]\ntables = ['pdf']\n", "tables must be among"),
        ("[source]\nkind = 'sample'\n", r"missing \[run\]"),
        ("[run\nroot = 'r'\n", "invalid TOML"),
    ],
)
def test_schema_errors_name_the_file_and_key(tmp_path: Path, snippet: str, match: str) -> None:
    path = _write(tmp_path, snippet)
    with pytest.raises(ConfigError, match=match) as info:
        load_config(path)
    assert "c.toml" in str(info.value)


def test_specification_and_scenario_errors(tmp_path: Path) -> None:
    bad_vcov = MINIMAL + "vcov = { CRV1 = 'pair; rm -rf' }\n"
    with pytest.raises(ConfigError, match="CRV1 must name"):
        load_config(_write(tmp_path, bad_vcov))
    dup = MINIMAL + "[[specifications]]\nname = 'a'\nformula = 'y ~ x'\n"
    with pytest.raises(ConfigError, match="names must be unique"):
        load_config(_write(tmp_path, dup))
    scen = MINIMAL + (
        "[[scenarios]]\nname = 's'\nkind = 'customs_union'\nspecification = 'zzz'\n"
        "members = ['KAZ']\n"
    )
    with pytest.raises(ConfigError, match="must name one of the specifications"):
        load_config(_write(tmp_path, scen))
    scen = MINIMAL + (
        "[[scenarios]]\nname = 's'\nkind = 'customs_union'\nspecification = 'a'\n"
        "members = ['kaz']\n"
    )
    with pytest.raises(ConfigError, match="not ISO3"):
        load_config(_write(tmp_path, scen))
    scen = MINIMAL + "[[scenarios]]\nname = 's'\nkind = 'corridor'\nspecification = 'a'\n"
    with pytest.raises(ConfigError, match="needs key"):
        load_config(_write(tmp_path, scen))


def test_missing_config_file() -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config("/nonexistent/c.toml")


def test_root_override_may_lie_anywhere(tmp_path: Path) -> None:
    import tomllib

    data = tomllib.loads(MINIMAL)
    cfg = parse_config(
        data, Path("c.toml"), project_root=tmp_path / "proj", root_override=tmp_path / "out"
    )
    assert cfg.root == (tmp_path / "out").resolve()
    assert cfg.raw_dir == cfg.root / "data" / "raw"


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


def test_progress_is_silent_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    import io

    stream = io.StringIO()
    p = Progress(stream=stream)
    with p.stage("x"):
        pass
    assert stream.getvalue() == ""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    with Progress(stream=tty).stage("ingest"):
        pass
    assert "[ca-trade] ingest" in tty.getvalue()
    quiet = Tty()
    with Progress(stream=quiet, quiet=True).stage("ingest"):
        pass
    assert quiet.getvalue() == ""


def test_require_names_the_missing_stage() -> None:
    from ca_trade.pipeline.stages import require

    with pytest.raises(
        NotBuiltYetError, match=r"stage .simulate. needs ca_trade\.ge\.nothing_here"
    ):
        require("ge", "nothing_here", "simulate")
    with pytest.raises(NotBuiltYetError, match=r"ca_trade\.no_such_module"):
        require("no_such_module", "f", "x")


def test_find_project_root(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert find_project_root(tmp_path / "a" / "b") == tmp_path.resolve()


def test_demo_stops_cleanly_when_a_stage_is_not_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import ca_trade.sample
    from ca_trade.pipeline.demo import run_demo

    monkeypatch.delattr(ca_trade.sample, "generate")
    code = run_demo(tmp_path / "demo", progress=Progress(quiet=True))
    out, err = capsys.readouterr()
    assert code == 1
    assert "stopped: stage 'sample' needs ca_trade.sample.generate, which is not built yet" in err
    assert "Nothing was faked" in err
    assert out == ""
    assert not (tmp_path / "demo" / "tables").exists()


SMALL_GE = """
[run]
root = "out"
[source]
seed = 3
years = [2019, 2019]
[[specifications]]
name = "s"
formula = "value_usd ~ ln_dist + contig + ln_tariff | exporter + importer"
international_only = true
[ge]
draws = 5
[[scenarios]]
name = "cu"
kind = "remove_internal_tariffs"
members = ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
specification = "s"
[outputs]
tables = ["md"]
figures = []
"""


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::ca_trade.exceptions.DataValidationWarning")
def test_run_writes_earlier_stages_then_stops_at_a_missing_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ca_trade.ge
    from ca_trade.pipeline import run

    cfg = load_config(_write(tmp_path, SMALL_GE))
    monkeypatch.delattr(ca_trade.ge, "parametric_draws")
    with pytest.raises(NotBuiltYetError, match=r"ca_trade\.ge\.parametric_draws"):
        run(cfg, progress=Progress(quiet=True))
    assert (cfg.root / "tables" / "estimates.md").is_file()
    assert (cfg.root / "estimates" / "s.json").is_file()
    assert not (cfg.root / "tables" / "scenario_cu.md").exists()
    monkeypatch.undo()
    outcome = run(cfg, progress=Progress(quiet=True))
    frame = outcome.scenarios["cu"]
    assert {"welfare_pct", "welfare_pct_lo", "welfare_pct_hi"} <= set(frame.columns)
    assert (frame["welfare_pct_lo"] <= frame["welfare_pct_hi"]).all()
    assert (cfg.root / "tables" / "scenario_cu.md").is_file()


# --------------------------------------------------------------------------------------
# Outputs stay inside the output root; numbers in configs are finite and in range
# --------------------------------------------------------------------------------------

TINY = """
[run]
name = "tiny"
root = "out"
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


@pytest.mark.parametrize("link", ["tables", "estimates", "data", "data/raw"])
def test_a_symlinked_folder_inside_the_root_stops_the_run_before_it_writes(
    tmp_path: Path, link: str
) -> None:
    from ca_trade.exceptions import UnsafePathError
    from ca_trade.pipeline import run

    outside = tmp_path / "outside"
    outside.mkdir()
    cfg = load_config(_write(tmp_path / "proj", TINY))
    (cfg.root / link).parent.mkdir(parents=True, exist_ok=True)
    (cfg.root / link).symlink_to(outside)
    with pytest.raises(UnsafePathError, match=rf"{link} is a symbolic link to .*outside"):
        run(cfg, progress=Progress(quiet=True))
    assert list(outside.iterdir()) == []


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::ca_trade.exceptions.DataValidationWarning")
def test_a_symlinked_output_file_is_refused_and_its_target_kept(tmp_path: Path) -> None:
    from ca_trade.exceptions import UnsafePathError
    from ca_trade.pipeline import run

    victim = tmp_path / "victim.md"
    victim.write_text("keep me")
    cfg = load_config(_write(tmp_path / "proj", TINY))
    (cfg.root / "tables").mkdir(parents=True)
    (cfg.root / "tables" / "estimates.md").symlink_to(victim)
    with pytest.raises(UnsafePathError, match=r"estimates\.md is a symbolic link"):
        run(cfg, progress=Progress(quiet=True))
    assert victim.read_text() == "keep me"
    assert not (tmp_path / "victim.md.json").exists()


def test_dotdot_and_absolute_paths_behave_like_their_resolved_form(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    plain = load_config(_write(proj, MINIMAL))
    for root in ("reports/x/../t", "./reports//t", str(proj / "reports" / "t")):
        text = MINIMAL.replace('root = "reports/t"', f'root = "{root}"')
        cfg = load_config(_write(proj, text))
        assert cfg.root == plain.root, root
        assert cfg.raw_dir == plain.raw_dir
    text = MINIMAL + '[source]\nkind = "sample"\nraw_dir = "data/../../../escape"\n'
    with pytest.raises(ConfigError, match=r"raw_dir = .* climbs out"):
        load_config(_write(proj, text))


def test_a_relative_config_path_means_the_same_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, MINIMAL)
    absolute = load_config(path)
    monkeypatch.chdir(tmp_path)
    from_project = load_config("configs/c.toml")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deep" / "er")
    from_below = load_config("../../configs/c.toml")
    for cfg in (from_project, from_below):
        assert cfg.root == absolute.root
        assert cfg.raw_dir == absolute.raw_dir
        assert cfg.path == absolute.path == path.resolve()


@pytest.mark.parametrize(
    ("snippet", "key", "value"),
    [
        ("[ge]\ntheta = inf\n", "[ge].theta", "inf"),
        ("[ge]\ntheta = nan\n", "[ge].theta", "nan"),
        ("[ge]\ntheta = -inf\n", "[ge].theta", "-inf"),
        ("[ge]\nseed = -1\n", "[ge].seed", "-1"),
        ("[ge]\ndraws = 1\n", "[ge].draws", "1"),
        ("[ge]\ndraws = 100001\n", "[ge].draws", "100001"),
        ("[ge]\nalpha = nan\n", "[ge].alpha", "nan"),
        ("[ge]\nalpha = 1.0\n", "[ge].alpha", "1.0"),
        ("[ge]\nyear = -5\n", "[ge].year", "-5"),
        ("[ge]\nyear = 3000\n", "[ge].year", "3000"),
        ("[source]\nseed = -1\n", "[source].seed", "-1"),
        ("[source]\nyears = [-5, 2000]\n", "[source].years", "[-5, 2000]"),
        (
            "[[specifications]]\nname = 'a'\nformula = 'y ~ x'\ntol = nan\n",
            "[[specifications]] #1.tol",
            "nan",
        ),
        (
            "[[specifications]]\nname = 'a'\nformula = 'y ~ x'\ntol = inf\n",
            "[[specifications]] #1.tol",
            "inf",
        ),
        (
            "[[specifications]]\nname = 'a'\nformula = 'y ~ x'\nyears = [2000, 9999]\n",
            "[[specifications]] #1.years",
            "[2000, 9999]",
        ),
    ],
)
def test_non_finite_and_out_of_range_numbers_name_file_key_and_value(
    tmp_path: Path, snippet: str, key: str, value: str
) -> None:
    path = _write(tmp_path, "[run]\nroot = 'r'\n" + snippet)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert "c.toml" in msg and key in msg and value in msg, msg


@pytest.mark.parametrize(
    ("extra", "key", "value"),
    [
        ("days_saved = nan", "days_saved", "nan"),
        ("days_saved = -2.0", "days_saved", "-2.0"),
        ("cost_reduction = inf", "cost_reduction", "inf"),
        ("cost_reduction = 1.5", "cost_reduction", "1.5"),
        ("cost_reduction = 0.4\nave_per_day = nan", "ave_per_day", "nan"),
        ("cost_reduction = 0.4\nelasticity = -inf", "elasticity", "-inf"),
    ],
)
def test_scenario_numbers_are_checked(tmp_path: Path, extra: str, key: str, value: str) -> None:
    text = MINIMAL + (
        "[[scenarios]]\nname = 's'\nkind = 'corridor'\nspecification = 'a'\n"
        f"links = [['CHN', 'KGZ']]\n{extra}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    msg = str(info.value)
    assert "c.toml" in msg and key in msg and value in msg, msg


@pytest.mark.parametrize(
    ("source", "root", "match"),
    [
        # the output root inside, or equal to, the folder of raw input files
        ('kind = "raw"\nraw_dir = "data/raw"', "data/raw", "overlaps"),
        ('kind = "raw"\nraw_dir = "data/raw"', "data/raw/out", "overlaps"),
        # raw input inside a folder the run writes
        ('kind = "raw"\nraw_dir = "out/data/processed"', "out", "overlaps"),
        ('kind = "raw"\nraw_dir = "out/tables"', "out", "overlaps"),
        # the sample generator writes its raw files: they belong under the root, apart
        ('kind = "sample"\nraw_dir = "data/processed"', "out", "overlaps"),
        ('kind = "sample"\nraw_dir = "tables"', "out", "overlaps"),
        ('kind = "sample"\nraw_dir = "."', "out", "overlaps"),
    ],
)
def test_outputs_may_not_overlap_the_inputs(
    tmp_path: Path, source: str, root: str, match: str
) -> None:
    text = MINIMAL.replace('root = "reports/t"', f'root = "{root}"') + f"[source]\n{source}\n"
    with pytest.raises(ConfigError, match=match) as info:
        load_config(_write(tmp_path, text))
    assert "raw_dir" in str(info.value)


def test_raw_input_beside_the_outputs_is_fine(tmp_path: Path) -> None:
    text = MINIMAL.replace('root = "reports/t"', 'root = "."') + (
        '[source]\nkind = "raw"\nraw_dir = "data/raw"\n'
    )
    cfg = load_config(_write(tmp_path, text))
    assert cfg.raw_dir == (tmp_path / "data" / "raw").resolve()
