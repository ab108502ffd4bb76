"""Reading run configurations: schema validation, path confinement, configs cannot run code."""

from __future__ import annotations

from pathlib import Path

import pytest

from ca_trade.exceptions import ConfigError
from ca_trade.pipeline import check_formula, load_config, parse_config
from tests.pipeline.helpers import MINIMAL, write_config

ROOT = Path(__file__).resolve().parents[2]


def test_minimal_config_resolves_inside_project(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, MINIMAL))
    assert cfg.project_root == tmp_path.resolve()
    assert cfg.root == (tmp_path / "reports" / "t").resolve()
    assert cfg.raw_dir == cfg.root / "data" / "raw"
    assert cfg.synthetic  # the default source is the SYNTHETIC sample
    assert cfg.specifications[0].model == "ppml"
    assert cfg.specifications[0].vcov == "hetero"


def test_demo_config_is_valid_and_is_the_one_the_demo_runs(tmp_path: Path) -> None:
    from ca_trade.pipeline.demo import demo_config, demo_config_path

    path = ROOT / "src" / "ca_trade" / "data" / "demo.toml"
    assert demo_config_path().resolve() == path.resolve()  # one copy: the packaged file
    cfg = load_config(path)
    demo = demo_config(tmp_path / "demo")
    assert (demo.specifications, demo.scenarios, demo.ge) == (
        cfg.specifications,
        cfg.scenarios,
        cfg.ge,
    )
    assert [s.name for s in cfg.specifications] == ["twoway", "threeway"]
    assert [s.kind for s in cfg.scenarios] == [
        "tariff_harmonization",
        "tariff_harmonization",
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
        load_config(write_config(tmp_path, text))


def test_raw_dir_outside_the_project_is_refused(tmp_path: Path) -> None:
    text = MINIMAL + '\n[source]\nkind = "raw"\nraw_dir = "../../etc"\n'
    with pytest.raises(ConfigError, match=r"raw_dir = '../../etc' climbs out"):
        load_config(write_config(tmp_path, text))


def test_symlink_escape_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "link").symlink_to(outside)
    cfg = write_config(proj, MINIMAL.replace('root = "reports/t"', 'root = "link/x"'))
    with pytest.raises(ConfigError, match="outside the project"):
        load_config(cfg)


def test_outside_paths_allowed_only_when_asked(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        'root = "reports/t"', 'root = "../elsewhere"\nallow_outside_project = true'
    )
    cfg = load_config(write_config(tmp_path / "p", text))
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
        load_config(write_config(tmp_path, text))
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
        ("[run]\nroot = 'r'\n[ge]\nn_draws = true\n", "n_draws must be a number"),
        ("[run]\nroot = 'r'\n[outputs]\ntables = ['pdf']\n", "tables must be among"),
        ("[source]\nkind = 'sample'\n", r"missing \[run\]"),
        ("[run\nroot = 'r'\n", "invalid TOML"),
    ],
)
def test_schema_errors_name_the_file_and_key(tmp_path: Path, snippet: str, match: str) -> None:
    path = write_config(tmp_path, snippet)
    with pytest.raises(ConfigError, match=match) as info:
        load_config(path)
    assert "c.toml" in str(info.value)


def test_specification_and_scenario_errors(tmp_path: Path) -> None:
    bad_vcov = MINIMAL + "vcov = { CRV1 = 'pair; rm -rf' }\n"
    with pytest.raises(ConfigError, match="CRV1 must name"):
        load_config(write_config(tmp_path, bad_vcov))
    dup = MINIMAL + "[[specifications]]\nname = 'a'\nformula = 'y ~ x'\n"
    with pytest.raises(ConfigError, match="names must be unique"):
        load_config(write_config(tmp_path, dup))
    scen = MINIMAL + (
        "[[scenarios]]\nname = 's'\nkind = 'tariff_harmonization'\nspecification = 'zzz'\n"
        "members = ['KAZ']\n"
    )
    with pytest.raises(ConfigError, match="must name one of the specifications"):
        load_config(write_config(tmp_path, scen))
    scen = MINIMAL + (
        "[[scenarios]]\nname = 's'\nkind = 'tariff_harmonization'\nspecification = 'a'\n"
        "members = ['kaz']\n"
    )
    with pytest.raises(ConfigError, match="not ISO3"):
        load_config(write_config(tmp_path, scen))
    scen = MINIMAL + "[[scenarios]]\nname = 's'\nkind = 'corridor'\nspecification = 'a'\n"
    with pytest.raises(ConfigError, match="needs key"):
        load_config(write_config(tmp_path, scen))


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


def test_dotdot_and_absolute_paths_behave_like_their_resolved_form(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    plain = load_config(write_config(proj, MINIMAL))
    for root in ("reports/x/../t", "./reports//t", str(proj / "reports" / "t")):
        text = MINIMAL.replace('root = "reports/t"', f'root = "{root}"')
        cfg = load_config(write_config(proj, text))
        assert cfg.root == plain.root, root
        assert cfg.raw_dir == plain.raw_dir
    text = MINIMAL + '[source]\nkind = "sample"\nraw_dir = "data/../../../escape"\n'
    with pytest.raises(ConfigError, match=r"raw_dir = .* climbs out"):
        load_config(write_config(proj, text))


def test_a_relative_config_path_means_the_same_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, MINIMAL)
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
        ("[ge]\nn_draws = 1\n", "[ge].n_draws", "1"),
        ("[ge]\nn_draws = 100001\n", "[ge].n_draws", "100001"),
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
    path = write_config(tmp_path, "[run]\nroot = 'r'\n" + snippet)
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
        ("cost_reduction = 0.4\ncoefficient = -inf", "coefficient", "-inf"),
    ],
)
def test_scenario_numbers_are_checked(tmp_path: Path, extra: str, key: str, value: str) -> None:
    text = MINIMAL + (
        "[[scenarios]]\nname = 's'\nkind = 'corridor'\nspecification = 'a'\n"
        f"links = [['CHN', 'KGZ']]\n{extra}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, text))
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
        load_config(write_config(tmp_path, text))
    assert "raw_dir" in str(info.value)


def test_raw_input_beside_the_outputs_is_fine(tmp_path: Path) -> None:
    text = MINIMAL.replace('root = "reports/t"', 'root = "."') + (
        '[source]\nkind = "raw"\nraw_dir = "data/raw"\n'
    )
    cfg = load_config(write_config(tmp_path, text))
    assert cfg.raw_dir == (tmp_path / "data" / "raw").resolve()


CU = MINIMAL + (
    "[[scenarios]]\nname = 's'\nkind = 'tariff_harmonization'\nspecification = 'a'\n"
    "members = ['KAZ', 'UZB']\n"
)


@pytest.mark.parametrize(
    ("cet", "rule"),
    [
        ('"simple"', "simple"),
        ('"weighted"', "weighted"),
        ('"max"', "max"),
        ('"keep"', "keep"),
        ('["adopt", "KAZ"]', ("adopt", "KAZ")),
    ],
)
def test_cet_takes_the_values_of_tariff_harmonization(
    tmp_path: Path, cet: str, rule: object
) -> None:
    cfg = load_config(write_config(tmp_path, CU + f"cet = {cet}\n"))
    assert cfg.scenarios[0].cet == rule


@pytest.mark.parametrize(
    ("cet", "advice"),
    [
        ('"simple_mean"', 'write cet = "simple"'),
        ('"weighted_mean"', 'write cet = "weighted"'),
        ('"KAZ"', 'write cet = ["adopt", "KAZ"]'),
    ],
)
def test_old_cet_spellings_are_refused_naming_the_new_one(
    tmp_path: Path, cet: str, advice: str
) -> None:
    with pytest.raises(ConfigError, match="old spelling") as info:
        load_config(write_config(tmp_path, CU + f"cet = {cet}\n"))
    assert advice in str(info.value) and "c.toml" in str(info.value)


@pytest.mark.parametrize("cet", ['"mean"', '["adopt", "kaz"]', '["copy", "KAZ"]', "1"])
def test_unknown_cet_rules_are_refused(tmp_path: Path, cet: str) -> None:
    with pytest.raises(ConfigError, match=r"cet must be .simple., .weighted."):
        load_config(write_config(tmp_path, CU + f"cet = {cet}\n"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        # issue 11: one vocabulary across config, command line and library; a key of an
        # earlier config names its new spelling instead of "unknown key"
        ("[ge]\ndraws = 50\n", "[ge]: key 'draws' is now 'n_draws': rename it"),
        (
            "[[scenarios]]\nname = 's'\nkind = 'tariff_harmonization'\nspecification = 'a'\n"
            "members = ['KAZ', 'UZB']\nelasticity = -5.0\n",
            "key 'elasticity' is now 'coefficient': rename it",
        ),
        (
            "[[scenarios]]\nname = 's'\nkind = 'tariff_harmonization'\nspecification = 'a'\n"
            "group = ['KAZ', 'UZB']\n",
            "key 'group' is now 'members': rename it",
        ),
        (
            "[[scenarios]]\nname = 's'\nkind = 'customs_union'\nspecification = 'a'\n"
            "members = ['KAZ', 'UZB']\n",
            "kind 'customs_union' is now 'tariff_harmonization': rename it",
        ),
        (
            "[[scenarios]]\nname = 's'\nkind = 'remove_internal_tariffs'\nspecification = 'a'\n"
            "members = ['KAZ', 'UZB']\n",
            "kind 'remove_internal_tariffs' is now 'tariff_harmonization' with cet = \"keep\"",
        ),
    ],
)
def test_keys_of_earlier_configs_name_their_new_spelling(
    tmp_path: Path, extra: str, message: str
) -> None:
    path = write_config(tmp_path, MINIMAL + extra)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_a_renamed_key_is_not_mistaken_for_one_another_table_lacks(tmp_path: Path) -> None:
    # 'group' is a renamed scenario key, but in [ge] it is simply unknown
    with pytest.raises(ConfigError, match=r"\[ge\]: unknown key\(s\) group; allowed"):
        load_config(write_config(tmp_path, MINIMAL + "[ge]\ngroup = 1\n"))


def test_executor_and_split_keys(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        'root = "reports/t"', 'root = "reports/t"\nexecutor = "tcp://10.0.0.5:8786"'
    )
    cfg = load_config(write_config(tmp_path, text + 'split = "sector"\n'))
    assert cfg.executor == "tcp://10.0.0.5:8786" and cfg.specifications[0].split == "sector"
    serial = MINIMAL.replace('root = "reports/t"', 'root = "reports/t"\nexecutor = "serial"')
    cfg = load_config(write_config(tmp_path, serial))
    assert cfg.executor is None and cfg.specifications[0].split is None
    for bad in ("threads", "tcp://host; rm -rf /", "processes "):
        text = MINIMAL.replace('root = "reports/t"', f'root = "reports/t"\nexecutor = "{bad}"')
        with pytest.raises(ConfigError, match=r"\[run\]\.executor must be .* got") as info:
            load_config(write_config(tmp_path, text))
        assert "c.toml" in str(info.value)
    for bad in ("sector; x", "1sector", "sec tor"):
        with pytest.raises(ConfigError, match=r"\.split must name a panel column"):
            load_config(write_config(tmp_path, MINIMAL + f'split = "{bad}"\n'))


def test_a_scenario_cannot_use_a_split_specification(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + 'split = "sector"\n'
        + (
            "[[scenarios]]\nname = 's'\nkind = 'tariff_harmonization'\nspecification = 'a'\n"
            "members = ['KAZ', 'KGZ']\n"
        )
    )
    with pytest.raises(ConfigError, match="is split by 'sector': a scenario needs one set"):
        load_config(write_config(tmp_path, text))
