"""Reading a run configuration: TOML -> validated :class:`~ca_trade.pipeline.config.Config`.

A configuration is data, never code: every table is read through a
:class:`~ca_trade.pipeline.reader.TableReader` (unknown keys are errors, every value is
checked by type and range), formulas are parsed by the safe formula grammar and never
evaluated, and every path is resolved once, relative to the project, and must stay inside it
(:mod:`ca_trade.pipeline.paths`). One function per table; :func:`parse_config` chains them.

Examples
--------
>>> check_formula("y ~ x | fe", where="cfg")
'y ~ x | fe'
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ca_trade.estimate.formula import parse_formula
from ca_trade.exceptions import ConfigError, SpecificationError
from ca_trade.pipeline.config import (
    BIAS_CORRECTIONS,
    FIGURE_FORMATS,
    MODELS,
    RECONCILE_METHODS,
    SCENARIO_KINDS,
    TABLE_FORMATS,
    BiasCorrection,
    Cet,
    Config,
    DownloadSettings,
    GESettings,
    ScenarioKind,
    ScenarioSpec,
    SourceKind,
    Specification,
    Vcov,
)
from ca_trade.pipeline.paths import check_layout, find_project_root, resolve_path
from ca_trade.pipeline.reader import ISO3, TableReader, identifier, iso3_list

__all__ = [
    "RENAMED_KINDS",
    "check_formula",
    "load_config",
    "parse_cet",
    "parse_config",
    "parse_download",
    "parse_executor",
    "parse_ge",
    "parse_scenario",
    "parse_specification",
]

_TOP_KEYS = {
    "run", "source", "download", "reconcile", "panel", "specifications", "ge", "scenarios",
    "outputs",
}  # fmt: skip
_SCENARIO_KEYS: dict[ScenarioKind, tuple[set[str], set[str]]] = {
    # kind: (required keys, optional keys) besides name/kind/description/specification
    "tariff_harmonization": ({"members"}, {"cet", "coefficient"}),
    "corridor": ({"links"}, {"days_saved", "cost_reduction", "ave_per_day", "coefficient"}),
}
#: Scenario kinds of earlier configs and what each is now.
RENAMED_KINDS: dict[str, str] = {
    "customs_union": "'tariff_harmonization'",
    "remove_internal_tariffs": "'tariff_harmonization' with cet = \"keep\"",
}
_SCENARIO_NUMBERS: dict[str, tuple[str, Callable[[float], bool]]] = {
    "days_saved": ("a finite number of days > 0", lambda v: v > 0),
    "cost_reduction": ("a share of transit time in (0, 1)", lambda v: 0 < v < 1),
    "ave_per_day": ("an ad valorem equivalent per day in (0, 1)", lambda v: 0 < v < 1),
    "coefficient": ("a finite number", lambda v: True),
}
_DOWNLOAD_KEYS = {
    "reporters", "years", "partners", "flows", "classification", "level", "frequency",
    "access", "base_url", "max_records", "requests_per_minute", "max_retries", "backoff",
    "timeout", "max_requests",
}  # fmt: skip
_SOURCE_KINDS: tuple[SourceKind, ...] = ("sample", "raw")
_DOWNLOAD_LEVELS = ("total", "section", "chapter", "hs6")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_ADDRESS = re.compile(r"^(tcp|tls|ucx|inproc)://[A-Za-z0-9_.\-\[\]:/]+$")
_CLUSTERS = re.compile(r"^[A-Za-z_][A-Za-z0-9_^]*(\+[A-Za-z_][A-Za-z0-9_^]*)?$")


def check_formula(formula: object, *, where: str) -> str:
    """Check that a formula is in the safe formula grammar; return it unchanged.

    The formula is parsed by :func:`ca_trade.estimate.safe_formula.parse_safe` (column
    names, numbers, ``+ - * / **`` arithmetic inside ``I(...)`` and the transforms ``log``,
    ``exp``, ``sqrt``, ``log1p``, ``C(column)``, ``:`` and ``*`` interactions, ``|`` and
    ``^`` for fixed effects) and checked on its syntax tree; nothing in it is evaluated, and
    the pipeline estimates it in safe mode, so a configuration can never make the formula
    machinery run code.

    Parameters
    ----------
    formula : str
        The formula.
    where : str
        Location for the error message (file and key).

    Returns
    -------
    str
        The formula.

    Raises
    ------
    ConfigError
        When the formula leaves the grammar (naming the token and its position).

    Examples
    --------
    >>> check_formula("y ~ x | fe", where="cfg")
    'y ~ x | fe'
    """
    if not isinstance(formula, str) or "~" not in formula:
        raise ConfigError(f"{where}: formula must be a string like 'y ~ x | fe'; got {formula!r}")
    try:
        parse_formula(formula, safe=True)
    except SpecificationError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    return formula


def parse_specification(table: object, where: str) -> Specification:
    """Validate one ``[[specifications]]`` table.

    Parameters
    ----------
    table : dict
        The table.
    where : str
        Location for error messages.

    Returns
    -------
    Specification
        The estimation it describes.

    Examples
    --------
    >>> parse_specification({"name": "s", "formula": "y ~ x | fe"}, "cfg").model
    'ppml'
    """
    r = TableReader(
        table,
        where,
        {
            "name", "model", "formula", "vcov", "ssc", "years", "international_only", "tol",
            "bias_corrected", "split",
        },
    )  # fmt: skip
    name = identifier(r.text("name"), f"{where}.name")
    tol = r.real("tol")
    if tol is not None and not 0 < tol < 1:
        raise ConfigError(f"{where}.tol must lie in (0, 1); got {r.table['tol']!r}")
    model = r.choice("model", MODELS, "ppml")
    return Specification(
        name=name,
        model=model,
        formula=check_formula(r.text("formula"), where=f"{where}.formula"),
        vcov=_vcov(r, where),
        ssc=r.choice("ssc", ("stata", "fixest"), "stata"),
        years=r.years("years", None),
        international_only=r.flag("international_only", False),
        tol=tol,
        bias_corrected=_bias_correction(r, where, model),
        split=_split_column(r.text("split"), f"{where}.split"),
    )


def _split_column(value: str | None, where: str) -> str | None:
    if value is not None and not _COLUMN.match(value):
        raise ConfigError(f"{where} must name a panel column, e.g. 'sector'; got {value!r}")
    return value


def parse_executor(value: object, where: str) -> str | None:
    """Validate an executor named in a configuration (or on the command line).

    Parameters
    ----------
    value : object
        ``"serial"``, ``"processes"``, ``"auto"`` or a Dask scheduler address
        (``"tcp://host:port"``; also ``tls://``, ``ucx://``, ``inproc://``), or None.
    where : str
        Location for error messages.

    Returns
    -------
    str or None
        None for ``"serial"`` (and None).

    Raises
    ------
    ConfigError
        Anything else, naming the value.

    Examples
    --------
    >>> parse_executor("tcp://10.0.0.5:8786", "cfg"), parse_executor("serial", "cfg")
    ('tcp://10.0.0.5:8786', None)
    """
    if value is None or value == "serial":
        return None
    if isinstance(value, str) and (value in ("processes", "auto") or _ADDRESS.match(value)):
        return value
    raise ConfigError(
        f"{where} must be 'serial', 'processes', 'auto' or a Dask scheduler address such as "
        f"'tcp://10.0.0.5:8786'; got {value!r}"
    )


def _bias_correction(r: TableReader, where: str, model: str) -> BiasCorrection | None:
    """Read ``bias_corrected``: the method of Weidner & Zylkin's correction (PPML only)."""
    method = r.text("bias_corrected")
    if method is None:
        return None
    if method not in BIAS_CORRECTIONS:
        raise ConfigError(
            f"{where}.bias_corrected must be {' or '.join(map(repr, BIAS_CORRECTIONS))} (the "
            f"method of GravityResults.bias_corrected); got {method!r}"
        )
    if model != "ppml":
        raise ConfigError(f"{where}.bias_corrected corrects PPML estimates; model is {model!r}")
    return next(m for m in BIAS_CORRECTIONS if m == method)


def _vcov(r: TableReader, where: str) -> Vcov:
    vcov = r.value("vcov", (str, dict), "hetero")
    if isinstance(vcov, str):
        if vcov not in ("iid", "hetero"):
            raise ConfigError(f"{where}.vcov must be 'iid', 'hetero' or {{CRV1 = '...'}}")
        return vcov
    if not isinstance(vcov, dict) or set(vcov) != {"CRV1"} or not isinstance(vcov["CRV1"], str):
        raise ConfigError(f"{where}.vcov table must be {{CRV1 = 'var'}}; got {vcov!r}")
    if not _CLUSTERS.match(vcov["CRV1"]):
        raise ConfigError(f"{where}.vcov.CRV1 must name one or two columns; got {vcov!r}")
    return {"CRV1": vcov["CRV1"]}


def parse_scenario(table: object, where: str, spec_names: set[str]) -> ScenarioSpec:
    """Validate one ``[[scenarios]]`` table.

    Parameters
    ----------
    table : dict
        The table (``name``, ``kind``, ``specification`` and the kind's keys).
    where : str
        Location for error messages.
    spec_names : set of str
        Specification names the scenario may refer to.

    Returns
    -------
    ScenarioSpec
        The scenario.

    Raises
    ------
    ConfigError
        On an unknown kind or key, a missing key or an invalid value.

    Examples
    --------
    >>> t = {"name": "cu", "kind": "tariff_harmonization", "specification": "s",
    ...      "members": ["UZB", "KAZ"]}
    >>> parse_scenario(t, "cli", {"s"}).members
    ('KAZ', 'UZB')
    """
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    kind = next((k for k in SCENARIO_KINDS if k == table.get("kind")), None)
    if table.get("kind") in RENAMED_KINDS:
        raise ConfigError(
            f"{where}.kind {table['kind']!r} is now {RENAMED_KINDS[str(table['kind'])]}: "
            "rename it (the scenario builders of ca_trade.ge name the kinds)"
        )
    if kind is None:
        raise ConfigError(
            f"{where}.kind must be one of {sorted(SCENARIO_KINDS)} (the scenario builders of "
            "ca_trade.ge: a customs union is tariff_harmonization, the removal of internal "
            f'tariffs tariff_harmonization with cet = "keep"); got {table.get("kind")!r}'
        )
    required, optional = _SCENARIO_KEYS[kind]
    r = TableReader(
        table, where, {"name", "kind", "description", "specification"} | required | optional
    )
    missing = sorted(required - set(table))
    if missing:
        raise ConfigError(f"{where}: kind {kind!r} needs key(s) {', '.join(missing)}")
    name = identifier(r.text("name"), f"{where}.name")
    spec = r.text("specification")
    if spec is None or spec not in spec_names:
        raise ConfigError(
            f"{where}.specification must name one of the specifications {sorted(spec_names)}; "
            f"got {spec!r}"
        )
    members = iso3_list(r.table["members"], f"{where}.members") if "members" in r else []
    return ScenarioSpec(
        name=name,
        kind=kind,
        specification=spec,
        members=tuple(members),
        cet=parse_cet(r.table["cet"], f"{where}.cet") if "cet" in r else None,
        links=_links(r, where),
        days_saved=r.number("days_saved", None, *_SCENARIO_NUMBERS["days_saved"]),
        cost_reduction=r.number("cost_reduction", None, *_SCENARIO_NUMBERS["cost_reduction"]),
        ave_per_day=r.number("ave_per_day", None, *_SCENARIO_NUMBERS["ave_per_day"]),
        coefficient=r.number("coefficient", None, *_SCENARIO_NUMBERS["coefficient"]),
        description=r.text("description", ""),
    )


_CET_RULES: tuple[Literal["simple", "weighted", "max", "keep"], ...] = (
    "simple",
    "weighted",
    "max",
    "keep",
)
#: Spellings the configuration used before it took the library's values.
_OLD_CET = {"simple_mean": "simple", "weighted_mean": "weighted"}


def parse_cet(value: object, where: str, *, option: bool = False) -> Cet:
    """Check a customs union's common external tariff rule; return it as the library takes it.

    The rules are those of :func:`ca_trade.ge.tariff_harmonization`: ``"simple"``,
    ``"weighted"``, ``"max"``, ``"keep"`` or ``["adopt", ISO3]`` (one member's schedule;
    ``adopt:ISO3`` on the command line). The configuration's old spellings
    (``simple_mean``, ``weighted_mean``, a bare ISO3) are refused with the new one.

    Parameters
    ----------
    value : str or list
        The rule as written.
    where : str
        Location (file and key, or option) for the error message.
    option : bool, default False
        Spell the advice as a command-line option (``--cet adopt:KAZ``) instead of TOML.

    Returns
    -------
    str or tuple
        The rule: one of the strings, or ``("adopt", ISO3)``.

    Raises
    ------
    ConfigError
        When it is none of these (an old spelling: naming the new one).

    Examples
    --------
    >>> parse_cet("max", "cfg.cet"), parse_cet(["adopt", "KAZ"], "cfg.cet")
    ('max', ('adopt', 'KAZ'))
    """
    for rule in _CET_RULES:
        if value == rule:
            return rule
    if (
        isinstance(value, list)
        and len(value) == 2
        and value[0] == "adopt"
        and isinstance(value[1], str)
        and ISO3.match(value[1])
    ):
        return ("adopt", value[1])
    new = None
    if isinstance(value, str) and value in _OLD_CET:
        new = _OLD_CET[value] if option else f'"{_OLD_CET[value]}"'
    elif isinstance(value, str) and ISO3.match(value):
        new = f"adopt:{value}" if option else f'["adopt", "{value}"]'
    if new is not None:
        key = "--cet " if option else "cet = "
        raise ConfigError(
            f"{where}: {value!r} is the old spelling; write {key}{new} (the rules of "
            "ca_trade.ge.tariff_harmonization)"
        )
    rules = (
        "simple, weighted, max, keep or adopt:ISO3"
        if option
        else ('"simple", "weighted", "max", "keep" or ["adopt", ISO3]')
    )
    raise ConfigError(f"{where} must be {rules}; got {value!r}")


def _links(r: TableReader, where: str) -> tuple[tuple[str, str], ...]:
    """Return a corridor's links: pairs of two distinct ISO3 codes."""
    if "links" not in r:
        return ()
    links = r.table["links"]
    if not isinstance(links, list) or not links:
        raise ConfigError(f"{where}.links must be a list of [ISO3, ISO3] pairs")
    pairs = [iso3_list(link, f"{where}.links") for link in links]
    if any(len(x) != 2 for x in pairs):
        raise ConfigError(f"{where}.links must be pairs of two distinct ISO3 codes")
    return tuple((a, b) for a, b in pairs)


def parse_ge(table: object, where: str) -> GESettings:
    """Validate the ``[ge]`` table: every number finite and in range.

    Parameters
    ----------
    table : dict
        The table.
    where : str
        Location for error messages.

    Returns
    -------
    GESettings
        The settings.

    Examples
    --------
    >>> parse_ge({"theta": 4}, "cfg [ge]").theta
    4.0
    """
    r = TableReader(
        table, where, {"year", "theta", "theta_from", "closure", "n_draws", "seed", "alpha"}
    )
    theta_from = r.text("theta_from")
    if theta_from is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", theta_from):
        raise ConfigError(f"{where}.theta_from must name a coefficient; got {theta_from!r}")
    theta = r.number(
        "theta", None, "> 0 and finite (the trade elasticity, sigma - 1)", lambda v: v > 0
    )
    if theta is not None and theta_from is not None:
        raise ConfigError(
            f"{where}: give theta (used as it is) or theta_from (theta = -b - 1 from that "
            "coefficient), not both"
        )
    return GESettings(
        year=r.integer("year", None, "a year in 1900-2100", lambda v: 1900 <= v <= 2100),
        theta=theta,
        theta_from=theta_from,
        closure=r.choice("closure", ("additive", "multiplicative"), "additive"),
        n_draws=r.integer(
            "n_draws",
            200,
            "0 (no intervals) or an integer in 2-100000",
            lambda v: v == 0 or 2 <= v <= 100_000,
        ),
        seed=r.integer("seed", 2024, "an integer >= 0", lambda v: v >= 0),
        alpha=r.number("alpha", 0.05, "in (0, 1)", lambda v: 0 < v < 1),
    )


def parse_download(table: object, where: str) -> DownloadSettings:
    """Validate the ``[download]`` table (the arguments of :func:`ca_trade.etl.download`).

    Parameters
    ----------
    table : dict
        The table.
    where : str
        Location for error messages.

    Returns
    -------
    DownloadSettings
        The settings.

    Raises
    ------
    ConfigError
        On a subscription key (it belongs in ``COMTRADE_API_KEY``), an unknown key or an
        invalid value.

    Examples
    --------
    >>> parse_download({"reporters": ["KGZ"], "years": [2019, 2020]}, "cfg").years
    (2019, 2020)
    """
    if isinstance(table, dict) and {"key", "api_key", "subscription_key"} & set(table):
        raise ConfigError(
            f"{where}: a subscription key must never be written in a config; set the "
            "COMTRADE_API_KEY environment variable (in CI: a secret)"
        )
    r = TableReader(table, where, _DOWNLOAD_KEYS)
    if "reporters" not in r or "years" not in r:
        raise ConfigError(f"{where} needs reporters = [ISO3, ...] and years = [first, last]")
    flows = r.array("flows")
    flows = ["M", "X"] if flows is None else flows
    if not flows or not all(f in ("M", "X", "RM", "RX") for f in flows):
        raise ConfigError(f"{where}.flows must be among M, X, RM, RX; got {flows!r}")
    access = r.text("access")
    if access is not None and access not in ("preview", "api", "bulk"):
        raise ConfigError(f"{where}.access must be preview, api or bulk; got {access!r}")
    partners = r.array("partners")
    return DownloadSettings(
        reporters=tuple(iso3_list(r.table["reporters"], f"{where}.reporters")),
        years=r.years("years", None) or (0, 0),
        partners=None if partners is None else tuple(iso3_list(partners, f"{where}.partners")),
        flows=tuple(str(f) for f in flows),
        classification=r.text("classification", "HS"),
        level=_download_level(r, where),
        frequency=r.choice("frequency", ("A", "M"), "A"),
        access=access,
        base_url=r.text("base_url"),
        max_records=r.count("max_records"),
        requests_per_minute=r.real("requests_per_minute", 10.0),
        max_retries=r.count("max_retries", 5),
        backoff=r.real("backoff", 2.0),
        timeout=r.real("timeout", 120.0),
        max_requests=r.count("max_requests"),
    )


def _download_level(r: TableReader, where: str) -> str | tuple[str, ...]:
    level = r.value("level", (str, list), "total")
    if isinstance(level, list):
        codes = tuple(c for c in level if isinstance(c, str) and re.match(r"^\d{2,6}$", c))
        if not level or len(codes) != len(level):
            raise ConfigError(f"{where}.level must list HS codes like ['27', '2709']; got {level}")
        return codes
    if level not in _DOWNLOAD_LEVELS:
        raise ConfigError(f"{where}.level must be total, section, chapter, hs6 or a code list")
    return str(level)


@dataclass(frozen=True)
class _RunTable:
    """The ``[run]`` table, its paths resolved."""

    name: str | None
    root: Path
    project_root: Path
    limit: Path | None
    allow_outside_project: bool
    synthetic: bool
    record_git_commit: bool
    executor: str | None


def _run_table(
    table: object, where: str, project_root: Path, root_override: Path | None
) -> _RunTable:
    r = TableReader(
        table,
        f"{where} [run]",
        {"name", "root", "allow_outside_project", "synthetic", "record_git_commit", "executor"},
    )
    allow = r.flag("allow_outside_project", False)
    project = project_root.resolve()
    limit = None if allow else project
    if root_override is not None:
        root = root_override.resolve()
    else:
        root = resolve_path(r.text("root", "reports/run"), project, limit, f"{where} [run].root")
    return _RunTable(
        name=r.text("name"),
        root=root,
        project_root=project,
        limit=limit,
        allow_outside_project=allow,
        synthetic=r.flag("synthetic", False),
        record_git_commit=r.flag("record_git_commit", False),
        executor=parse_executor(r.value("executor", (str,)), f"{where} [run].executor"),
    )


@dataclass(frozen=True)
class _Source:
    """The ``[source]`` table, its raw folder resolved."""

    kind: SourceKind
    raw_dir: Path
    seed: int
    years: tuple[int, int]


def _source_table(table: Mapping[str, object], where: str, run: _RunTable) -> _Source:
    r = TableReader(table, f"{where} [source]", {"kind", "raw_dir", "seed", "years"})
    kind = r.choice("kind", _SOURCE_KINDS, "sample")
    raw = r.text("raw_dir", "data/raw")
    if kind == "sample":  # the generator writes it: under the run root, wherever that is
        raw_dir = resolve_path(
            raw,
            run.root,
            run.root,
            f"{where} [source].raw_dir",
            scope="the run root",
            hint="(the sample generator writes it)",
        )
    else:
        raw_dir = resolve_path(raw, run.project_root, run.limit, f"{where} [source].raw_dir")
    check_layout(raw_dir, run.root, where)
    return _Source(
        kind=kind,
        raw_dir=raw_dir,
        seed=r.integer("seed", 2024, "an integer >= 0", lambda v: v >= 0),
        years=r.years("years", (2000, 2023)) or (2000, 2023),
    )


def _unique(names: list[str], what: str, where: str) -> None:
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: {what} names must be unique; got {names}")


def _outputs_table(table: Mapping[str, object], where: str) -> tuple[tuple[str, ...], ...]:
    r = TableReader(table, f"{where} [outputs]", {"tables", "figures"})
    tables = r.array("tables")
    figures = r.array("figures")
    tables = list(TABLE_FORMATS) if tables is None else tables
    figures = list(FIGURE_FORMATS) if figures is None else figures
    if not all(t in TABLE_FORMATS for t in tables) or not all(f in FIGURE_FORMATS for f in figures):
        raise ConfigError(
            f"{where} [outputs]: tables must be among {TABLE_FORMATS}, figures among "
            f"{FIGURE_FORMATS}"
        )
    return tuple(str(t) for t in tables), tuple(str(f) for f in figures)


def parse_config(
    data: Mapping[str, object],
    path: Path,
    *,
    project_root: Path,
    root_override: Path | None = None,
) -> Config:
    """Validate a parsed TOML mapping into a :class:`Config`.

    Parameters
    ----------
    data : mapping
        The parsed TOML.
    path : pathlib.Path
        The file it came from (for messages).
    project_root : pathlib.Path
        Paths must stay inside it unless allowed.
    root_override : pathlib.Path, optional
        Output root chosen on the command line (``ca-trade demo --out``); it may lie
        anywhere, since the user named it explicitly.

    Returns
    -------
    Config
        The validated configuration.

    Raises
    ------
    ConfigError
        On any unknown key, wrong type, unsafe formula or escaping path.

    Examples
    --------
    >>> from pathlib import Path
    >>> cfg = parse_config({"run": {"root": "out"}}, Path("x.toml"), project_root=Path("/p"))
    >>> cfg.root
    PosixPath('/p/out')
    """
    where = str(path)
    top = TableReader(dict(data), where, _TOP_KEYS)
    if "run" not in data:
        raise ConfigError(f"{where}: missing [run] table")
    run = _run_table(data["run"], where, project_root, root_override)
    source = _source_table(top.table_of("source"), where, run)
    download = None
    if "download" in data:
        if source.kind != "raw":
            raise ConfigError(
                f"{where} [download] fills [source].raw_dir with UN Comtrade data; it needs "
                '[source] kind = "raw"'
            )
        download = parse_download(data["download"], f"{where} [download]")
    reconcile = TableReader(top.table_of("reconcile"), f"{where} [reconcile]", {"method"})
    panel = TableReader(top.table_of("panel"), f"{where} [panel]", {"sector"})
    sector = panel.text("sector", "TOTAL")
    if not re.match(r"^[A-Za-z0-9_]{1,10}$", sector):
        raise ConfigError(f"{where} [panel].sector must be a sector code; got {sector!r}")
    specs = tuple(
        parse_specification(s, f"{where} [[specifications]] #{i + 1}")
        for i, s in enumerate(top.array("specifications") or [])
    )
    names = [s.name for s in specs]
    _unique(names, "specification", where)
    ge = parse_ge(top.table_of("ge"), f"{where} [ge]")
    scenarios = tuple(
        parse_scenario(s, f"{where} [[scenarios]] #{i + 1}", set(names))
        for i, s in enumerate(top.array("scenarios") or [])
    )
    _unique([s.name for s in scenarios], "scenario", where)
    split = {s.name: s.split for s in specs if s.split is not None}
    for i, sc in enumerate(scenarios):
        if sc.specification in split:
            raise ConfigError(
                f"{where} [[scenarios]] #{i + 1}.specification {sc.specification!r} is split by "
                f"{split[sc.specification]!r}: a scenario needs one set of coefficients; name "
                "a specification without split"
            )
    tables, figures = _outputs_table(top.table_of("outputs"), where)
    return Config(
        path=path,
        project_root=run.project_root,
        root=run.root,
        name=run.name if run.name is not None else path.stem,
        synthetic=run.synthetic or source.kind == "sample",
        record_git_commit=run.record_git_commit,
        allow_outside_project=run.allow_outside_project,
        source_kind=source.kind,
        raw_dir=source.raw_dir,
        seed=source.seed,
        years=source.years,
        reconcile_method=reconcile.choice("method", RECONCILE_METHODS, "baci"),
        sector=sector,
        specifications=specs,
        ge=ge,
        scenarios=scenarios,
        table_formats=tables,
        figure_formats=figures,
        download=download,
        executor=run.executor,
    )


def load_config(
    path: str | os.PathLike[str],
    *,
    project_root: str | os.PathLike[str] | None = None,
    root_override: str | os.PathLike[str] | None = None,
) -> Config:
    """Read and validate a TOML run configuration.

    Parameters
    ----------
    path : path-like
        The TOML file.
    project_root : path-like, optional
        Default: the nearest ancestor of the file holding ``pyproject.toml`` or ``.git``.
    root_override : path-like, optional
        Output root chosen on the command line.

    Returns
    -------
    Config
        The validated configuration.

    Raises
    ------
    ConfigError
        When the file cannot be read or is invalid.

    Examples
    --------
    >>> cfg = load_config("src/ca_trade/data/demo.toml")  # doctest: +SKIP
    """
    p = Path(path).resolve()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{p}: config file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from exc
    root = Path(project_root) if project_root is not None else find_project_root(p)
    override = Path(root_override) if root_override is not None else None
    return parse_config(data, p, project_root=root, root_override=override)
