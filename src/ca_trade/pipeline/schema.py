"""Schema of run configurations: dataclasses, validation and safe path resolution (internal).

The public names are re-exported by :mod:`ca_trade.pipeline`, whose docstring documents the
TOML schema.

Examples
--------
>>> from ca_trade.pipeline.schema import check_formula
>>> check_formula("y ~ x | fe", where="cfg")
'y ~ x | fe'
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ca_trade._io import escape_route
from ca_trade.estimate.formula import parse_formula
from ca_trade.exceptions import ConfigError, SpecificationError

__all__ = [
    "Config",
    "DownloadSettings",
    "GESettings",
    "ScenarioSpec",
    "Specification",
    "check_formula",
    "find_project_root",
    "load_config",
    "parse_config",
    "parse_scenario",
]

_MODELS = ("ppml", "ols")
_RECONCILE = ("baci", "importer_first", "exporter_first")
_TABLE_FORMATS = ("tex", "md", "html")
_FIGURE_FORMATS = ("png", "pdf")
_SCENARIO_KINDS: dict[str, tuple[set[str], set[str]]] = {
    # kind: (required keys, optional keys) besides name/kind/description/specification
    "customs_union": ({"members"}, {"cet", "elasticity"}),
    "remove_internal_tariffs": ({"members"}, {"elasticity"}),
    "corridor": ({"links"}, {"days_saved", "cost_reduction", "ave_per_day", "elasticity"}),
}
_ISO3 = re.compile(r"^[A-Z]{3}$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")


# --------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Specification:
    """One estimation of a run.

    Parameters
    ----------
    name : str
        Identifier (column name in tables, file name of saved estimates).
    model : {"ppml", "ols"}
        Estimator.
    formula : str
        fixest-style formula, checked by :func:`check_formula`.
    vcov : str or dict
        Covariance.
    ssc : str
        Small-sample convention.
    years : tuple of int, optional
        Inclusive year window.
    international_only : bool
        Drop domestic pairs.
    tol : float, optional
        Estimator tolerance.
    """

    name: str
    model: str
    formula: str
    vcov: str | dict[str, str] = "hetero"
    ssc: str = "stata"
    years: tuple[int, int] | None = None
    international_only: bool = False
    tol: float | None = None


@dataclass(frozen=True)
class ScenarioSpec:
    """One counterfactual of a run.

    Parameters
    ----------
    name : str
        Identifier.
    kind : str
        ``customs_union``, ``remove_internal_tariffs`` or ``corridor``.
    specification : str
        Name of the specification whose coefficients build the partial effects.
    params : dict
        The kind's parameters (members, cet, links, days_saved, ...).
    description : str
        Human description (default generated).
    """

    name: str
    kind: str
    specification: str
    params: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class GESettings:
    """General-equilibrium settings shared by the scenarios of a run.

    Parameters
    ----------
    year : int, optional
        Baseline year (default: the panel's last year with domestic flows).
    theta : float
        Trade elasticity (used when ``theta_from`` is not set).
    theta_from : str, optional
        Tie the trade elasticity to the scenario's estimated ``ln(1+t)`` coefficient:
        ``theta = -beta - 1`` (the coefficient is ``-sigma`` with duty-exclusive flows), in
        the point solution and in every draw.
    closure : str
        ``additive`` or ``multiplicative`` trade imbalances.
    draws : int
        Parametric draws for confidence intervals (0: none).
    seed : int
        Seed of the draws.
    alpha : float
        Intervals are ``1 - alpha``.
    """

    year: int | None = None
    theta: float = 5.0
    theta_from: str | None = None
    closure: str = "additive"
    draws: int = 200
    seed: int = 2024
    alpha: float = 0.05


@dataclass(frozen=True)
class DownloadSettings:
    """The ``[download]`` table: the arguments of :func:`ca_trade.etl.download` (no key).

    ``years`` is ``(first, last)``; the subscription key never appears in a config, it comes
    from ``COMTRADE_API_KEY``.
    """

    reporters: tuple[str, ...]
    years: tuple[int, int]
    partners: tuple[str, ...] | None = None
    flows: tuple[str, ...] = ("M", "X")
    classification: str = "HS"
    level: str | tuple[str, ...] = "total"
    frequency: str = "A"
    access: str | None = None
    base_url: str | None = None
    max_records: int | None = None
    requests_per_minute: float = 10.0
    max_retries: int = 5
    backoff: float = 2.0
    timeout: float = 120.0
    max_requests: int | None = None

    def kwargs(self) -> dict[str, Any]:
        """Return the keyword arguments of :func:`ca_trade.etl.download` (without ``out``)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["years"] = range(self.years[0], self.years[1] + 1)
        return out


@dataclass(frozen=True)
class Config:
    """A validated run configuration (see the module docstring for the TOML schema).

    Parameters
    ----------
    path : pathlib.Path
        The TOML file.
    project_root : pathlib.Path
        Paths must resolve inside it unless ``allow_outside_project``.
    root : pathlib.Path
        Resolved output root of the run.
    name : str
        Run name.
    synthetic : bool
        Label outputs SYNTHETIC.
    record_git_commit : bool
        Record the git commit in artefacts.
    allow_outside_project : bool
        Whether paths may leave the project.
    source_kind : str
        ``sample`` or ``raw``.
    raw_dir : pathlib.Path
        Raw files (read, or written by the sample generator).
    seed : int
        Sample seed.
    years : tuple of int
        Sample years.
    reconcile_method : str
        Mirror reconciliation method.
    sector : str
        Panel sector.
    specifications : tuple of Specification
        Estimations.
    ge : GESettings
        GE settings.
    scenarios : tuple of ScenarioSpec
        Counterfactuals.
    table_formats, figure_formats : tuple of str
        Output formats.
    download : DownloadSettings, optional
        The ``[download]`` table: fetch UN Comtrade data into ``raw_dir/comtrade`` first.
    """

    path: Path
    project_root: Path
    root: Path
    name: str = "run"
    synthetic: bool = False
    record_git_commit: bool = False
    allow_outside_project: bool = False
    source_kind: str = "sample"
    raw_dir: Path = Path("data/raw")
    seed: int = 2024
    years: tuple[int, int] = (2000, 2023)
    reconcile_method: str = "baci"
    sector: str = "TOTAL"
    specifications: tuple[Specification, ...] = ()
    ge: GESettings = field(default_factory=GESettings)
    scenarios: tuple[ScenarioSpec, ...] = ()
    table_formats: tuple[str, ...] = _TABLE_FORMATS
    figure_formats: tuple[str, ...] = _FIGURE_FORMATS
    download: DownloadSettings | None = None

    @property
    def data_dir(self) -> Path:
        """Directory of intermediate data (sample, processed flows, panel)."""
        return self.root / "data"

    @property
    def output_dirs(self) -> tuple[Path, ...]:
        """Directories whose files ``--check`` compares."""
        return (self.root / "tables", self.root / "figures", self.root / "estimates")


def find_project_root(start: str | os.PathLike[str]) -> Path:
    """Return the nearest ancestor of ``start`` holding ``pyproject.toml`` or ``.git``.

    Parameters
    ----------
    start : path-like
        A file or directory.

    Returns
    -------
    pathlib.Path
        That ancestor, or the directory of ``start`` when there is none.

    Examples
    --------
    >>> find_project_root("/").is_dir()
    True
    """
    p = Path(start).resolve()
    base = p if p.is_dir() else p.parent
    for cand in (base, *base.parents):
        if (cand / "pyproject.toml").is_file() or (cand / ".git").exists():
            return cand
    return base


def check_formula(formula: Any, *, where: str) -> str:
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


class _Reader:
    """Typed access to one TOML table with unknown-key detection."""

    def __init__(self, table: Any, where: str, allowed: set[str]) -> None:
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table; got {type(table).__name__}")
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(unknown)}; allowed: "
                + ", ".join(sorted(allowed))
            )
        self.table = table
        self.where = where

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        if key not in self.table:
            return default
        val = self.table[key]
        if isinstance(val, bool) and kind in (int, float, (int, float)):
            raise ConfigError(f"{self.where}.{key} must be a number; got {val!r}")
        if not isinstance(val, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise ConfigError(f"{self.where}.{key} must be {names}; got {val!r}")
        return val

    def number(
        self,
        key: str,
        default: Any,
        rule: str,
        ok: Any,
        *,
        integer: bool = False,
    ) -> Any:
        """Read a finite number (an integer when asked) for which ``ok(value)`` holds."""
        val = self.get(key, int if integer else (int, float), default)
        if val is None:
            return None
        if not (math.isfinite(val) and ok(val)):
            raise ConfigError(f"{self.where}.{key} must be {rule}; got {val!r}")
        return int(val) if integer else float(val)

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        val = self.get(key, str, default)
        if val not in options:
            raise ConfigError(f"{self.where}.{key} must be one of {options}; got {val!r}")
        return str(val)

    def years(self, key: str, default: tuple[int, int] | None) -> tuple[int, int] | None:
        val = self.get(key, list, None)
        if val is None:
            return default
        if len(val) != 2 or not all(isinstance(y, int) and not isinstance(y, bool) for y in val):
            raise ConfigError(f"{self.where}.{key} must be [first, last] years; got {val!r}")
        if not 1900 <= val[0] <= val[1] <= 2100:
            raise ConfigError(f"{self.where}.{key} must be increasing years; got {val!r}")
        return (int(val[0]), int(val[1]))


def _resolve(
    raw: Any,
    base: Path,
    limit: Path | None,
    where: str,
    *,
    scope: str = "the project",
    hint: str = "unless [run] allow_outside_project = true",
) -> Path:
    """Resolve a configured path once (symbolic links and ``..``) and keep it inside `limit`.

    Relative, ``..``, absolute and symlinked spellings of one place give the same result;
    only where the path leads counts. ``limit=None`` allows any place.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{where} must be a non-empty path string; got {raw!r}")
    p = Path(raw)
    resolved = (base / p).resolve()
    if limit is None or resolved.is_relative_to(limit):
        return resolved
    if p.is_absolute():
        how = f"is an absolute path to {resolved}"
    elif ".." in p.parts:
        how = f"climbs out with '..' to {resolved}"
    else:
        how = f"leads out: {escape_route(base / p, limit)}"
    raise ConfigError(
        f"{where} = {raw!r} {how}, outside {scope} ({limit}); paths must stay inside {scope} {hint}"
    )


def _is_year(value: float) -> bool:
    return 1900 <= value <= 2100


def _overlap(a: Path, b: Path) -> bool:
    return a.is_relative_to(b) or b.is_relative_to(a)


def _check_layout(raw_dir: Path, root: Path, where: str) -> None:
    """Refuse raw input that overlaps what the run writes."""
    written = {
        "the processed data": root / "data" / "processed",
        "the panel": root / "data" / "panel.parquet",
        "the tables": root / "tables",
        "the figures": root / "figures",
        "the saved estimates": root / "estimates",
    }
    for name, path in written.items():
        if _overlap(raw_dir, path):
            raise ConfigError(
                f"{where} [source].raw_dir ({raw_dir}) overlaps {name} ({path}), which the run "
                "writes: the run would read its own outputs or overwrite its inputs. Keep the "
                "raw files and [run].root apart (e.g. raw_dir = 'data/raw', root = 'reports/x')"
            )


def _iso_list(val: Any, where: str) -> list[str]:
    if not isinstance(val, list) or not val or not all(isinstance(x, str) for x in val):
        raise ConfigError(f"{where} must be a non-empty list of ISO3 codes; got {val!r}")
    bad = [x for x in val if not _ISO3.match(x)]
    if bad:
        raise ConfigError(f"{where}: not ISO3 codes: {bad}")
    return sorted(set(val))


def parse_scenario(table: Any, where: str, spec_names: set[str]) -> ScenarioSpec:
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
        The validated scenario.

    Raises
    ------
    ConfigError
        On an unknown kind or key, a missing key or an invalid value.

    Examples
    --------
    >>> t = {"name": "cu", "kind": "remove_internal_tariffs", "specification": "s",
    ...      "members": ["UZB", "KAZ"]}
    >>> parse_scenario(t, "cli", {"s"}).params["members"]
    ['KAZ', 'UZB']
    """
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    kind = table.get("kind")
    if kind not in _SCENARIO_KINDS:
        raise ConfigError(f"{where}.kind must be one of {sorted(_SCENARIO_KINDS)}; got {kind!r}")
    required, optional = _SCENARIO_KINDS[kind]
    r = _Reader(
        table, where, {"name", "kind", "description", "specification"} | required | optional
    )
    missing = sorted(required - set(table))
    if missing:
        raise ConfigError(f"{where}: kind {kind!r} needs key(s) {', '.join(missing)}")
    name = r.get("name", str)
    if name is None or not _NAME.match(name):
        raise ConfigError(f"{where}.name must be a simple identifier; got {name!r}")
    spec = r.get("specification", str)
    if spec is None or spec not in spec_names:
        raise ConfigError(
            f"{where}.specification must name one of the specifications {sorted(spec_names)}; "
            f"got {spec!r}"
        )
    params: dict[str, Any] = {}
    if "members" in table:
        params["members"] = _iso_list(table["members"], f"{where}.members")
    if "cet" in table:
        cet = r.get("cet", str)
        if cet not in ("simple_mean", "weighted_mean", "max") and not _ISO3.match(cet):
            raise ConfigError(
                f"{where}.cet must be simple_mean, weighted_mean, max or a member's ISO3; "
                f"got {cet!r}"
            )
        params["cet"] = cet
    if "links" in table:
        links = table["links"]
        if not isinstance(links, list) or not links:
            raise ConfigError(f"{where}.links must be a list of [ISO3, ISO3] pairs")
        params["links"] = [tuple(_iso_list(link, f"{where}.links")) for link in links]
        if any(len(x) != 2 for x in params["links"]):
            raise ConfigError(f"{where}.links must be pairs of two distinct ISO3 codes")
    rules = {
        "days_saved": ("a finite number of days > 0", lambda v: v > 0),
        "cost_reduction": ("a share of transit time in (0, 1)", lambda v: 0 < v < 1),
        "ave_per_day": ("an ad valorem equivalent per day in (0, 1)", lambda v: 0 < v < 1),
        "elasticity": ("a finite number", lambda v: True),
    }
    for key, (rule, ok) in rules.items():
        if key in table:
            params[key] = r.number(key, None, rule, ok)
    return ScenarioSpec(
        name=name,
        kind=kind,
        specification=spec,
        params=params,
        description=str(r.get("description", str, "")),
    )


_DOWNLOAD_KEYS = {
    "reporters", "years", "partners", "flows", "classification", "level", "frequency",
    "access", "base_url", "max_records", "requests_per_minute", "max_retries", "backoff",
    "timeout", "max_requests",
}  # fmt: skip


def _download_settings(table: Any, where: str) -> DownloadSettings:
    if isinstance(table, dict) and {"key", "api_key", "subscription_key"} & set(table):
        raise ConfigError(
            f"{where}: a subscription key must never be written in a config; set the "
            "COMTRADE_API_KEY environment variable (in CI: a secret)"
        )
    r = _Reader(table, where, _DOWNLOAD_KEYS)
    if "reporters" not in table or "years" not in table:
        raise ConfigError(f"{where} needs reporters = [ISO3, ...] and years = [first, last]")
    level: str | tuple[str, ...] = r.get("level", (str, list), "total")
    if isinstance(level, list):
        if not level or not all(isinstance(c, str) and re.match(r"^\d{2,6}$", c) for c in level):
            raise ConfigError(f"{where}.level must list HS codes like ['27', '2709']; got {level}")
        level = tuple(level)
    elif level not in ("total", "section", "chapter", "hs6"):
        raise ConfigError(f"{where}.level must be total, section, chapter, hs6 or a code list")
    flows = r.get("flows", list, ["M", "X"])
    if not flows or not set(flows) <= {"M", "X", "RM", "RX"}:
        raise ConfigError(f"{where}.flows must be among M, X, RM, RX; got {flows!r}")
    access = r.get("access", str)
    if access is not None and access not in ("preview", "api", "bulk"):
        raise ConfigError(f"{where}.access must be preview, api or bulk; got {access!r}")
    partners = r.get("partners", list)
    return DownloadSettings(
        reporters=tuple(_iso_list(table["reporters"], f"{where}.reporters")),
        years=r.years("years", None) or (0, 0),
        partners=None if partners is None else tuple(_iso_list(partners, f"{where}.partners")),
        flows=tuple(flows),
        classification=r.get("classification", str, "HS"),
        level=level,
        frequency=r.choice("frequency", ("A", "M"), "A"),
        access=access,
        base_url=r.get("base_url", str),
        max_records=r.get("max_records", int),
        requests_per_minute=float(r.get("requests_per_minute", (int, float), 10.0)),
        max_retries=int(r.get("max_retries", int, 5)),
        backoff=float(r.get("backoff", (int, float), 2.0)),
        timeout=float(r.get("timeout", (int, float), 120.0)),
        max_requests=r.get("max_requests", int),
    )


def _specification(table: Any, where: str) -> Specification:
    r = _Reader(
        table,
        where,
        {"name", "model", "formula", "vcov", "ssc", "years", "international_only", "tol"},
    )
    name = r.get("name", str)
    if name is None or not _NAME.match(name):
        raise ConfigError(f"{where}.name must be a simple identifier; got {name!r}")
    vcov = r.get("vcov", (str, dict), "hetero")
    if isinstance(vcov, str):
        if vcov not in ("iid", "hetero"):
            raise ConfigError(f"{where}.vcov must be 'iid', 'hetero' or {{CRV1 = '...'}}")
    else:
        if set(vcov) != {"CRV1"} or not isinstance(vcov["CRV1"], str):
            raise ConfigError(f"{where}.vcov table must be {{CRV1 = 'var'}}; got {vcov!r}")
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_^]*(\+[A-Za-z_][A-Za-z0-9_^]*)?$", vcov["CRV1"]):
            raise ConfigError(f"{where}.vcov.CRV1 must name one or two columns; got {vcov!r}")
        vcov = {"CRV1": vcov["CRV1"]}
    tol = r.get("tol", (int, float))
    if tol is not None and not 0 < float(tol) < 1:
        raise ConfigError(f"{where}.tol must lie in (0, 1); got {tol!r}")
    return Specification(
        name=name,
        model=r.choice("model", _MODELS, "ppml"),
        formula=check_formula(r.get("formula", str), where=f"{where}.formula"),
        vcov=vcov,
        ssc=r.choice("ssc", ("stata", "fixest"), "stata"),
        years=r.years("years", None),
        international_only=bool(r.get("international_only", bool, False)),
        tol=float(tol) if tol is not None else None,
    )


def _ge_settings(table: Any, where: str) -> GESettings:
    """Validate the ``[ge]`` table: every number finite and in range."""
    ge_t = _Reader(
        table, where, {"year", "theta", "theta_from", "closure", "draws", "seed", "alpha"}
    )
    theta_from = ge_t.get("theta_from", str)
    if theta_from is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", theta_from):
        raise ConfigError(f"{where}.theta_from must name a coefficient; got {theta_from!r}")
    return GESettings(
        year=ge_t.number("year", None, "a year in 1900-2100", _is_year, integer=True),
        theta=ge_t.number(
            "theta", 5.0, "> 0 and finite (the trade elasticity, sigma - 1)", lambda v: v > 0
        ),
        theta_from=theta_from,
        closure=ge_t.choice("closure", ("additive", "multiplicative"), "additive"),
        draws=ge_t.number(
            "draws",
            200,
            "0 (no intervals) or an integer in 2-100000",
            lambda v: v == 0 or 2 <= v <= 100_000,
            integer=True,
        ),
        seed=ge_t.number("seed", 2024, "an integer >= 0", lambda v: v >= 0, integer=True),
        alpha=ge_t.number("alpha", 0.05, "in (0, 1)", lambda v: 0 < v < 1),
    )


def parse_config(
    data: Mapping[str, Any],
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
    top = _Reader(
        dict(data),
        where,
        {
            "run", "source", "download", "reconcile", "panel", "specifications", "ge",
            "scenarios", "outputs",
        },
    )  # fmt: skip
    if "run" not in data:
        raise ConfigError(f"{where}: missing [run] table")
    run_t = _Reader(
        data["run"],
        f"{where} [run]",
        {"name", "root", "allow_outside_project", "synthetic", "record_git_commit"},
    )
    allow = bool(run_t.get("allow_outside_project", bool, False))
    project_root = project_root.resolve()
    limit = None if allow else project_root
    if root_override is not None:
        root = root_override.resolve()
    else:
        root = _resolve(
            run_t.get("root", str, "reports/run"), project_root, limit, f"{where} [run].root"
        )
    source_t = _Reader(
        top.get("source", dict, {}),
        f"{where} [source]",
        {"kind", "raw_dir", "seed", "years"},
    )
    kind = source_t.choice("kind", ("sample", "raw"), "sample")
    raw = source_t.get("raw_dir", str, "data/raw")
    if kind == "sample":  # the generator writes it: under the run root, wherever that is
        raw_dir = _resolve(
            raw,
            root,
            root,
            f"{where} [source].raw_dir",
            scope="the run root",
            hint="(the sample generator writes it)",
        )
    else:
        raw_dir = _resolve(raw, project_root, limit, f"{where} [source].raw_dir")
    _check_layout(raw_dir, root, where)
    seed = source_t.number("seed", 2024, "an integer >= 0", lambda v: v >= 0, integer=True)
    years = source_t.years("years", (2000, 2023))
    download = None
    if "download" in data:
        if kind != "raw":
            raise ConfigError(
                f"{where} [download] fills [source].raw_dir with UN Comtrade data; it needs "
                '[source] kind = "raw"'
            )
        download = _download_settings(data["download"], f"{where} [download]")
    recon_t = _Reader(top.get("reconcile", dict, {}), f"{where} [reconcile]", {"method"})
    panel_t = _Reader(top.get("panel", dict, {}), f"{where} [panel]", {"sector"})
    sector = panel_t.get("sector", str, "TOTAL")
    if not re.match(r"^[A-Za-z0-9_]{1,10}$", sector):
        raise ConfigError(f"{where} [panel].sector must be a sector code; got {sector!r}")
    specs_raw = top.get("specifications", list, [])
    specs = tuple(
        _specification(s, f"{where} [[specifications]] #{i + 1}") for i, s in enumerate(specs_raw)
    )
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: specification names must be unique; got {names}")
    ge = _ge_settings(top.get("ge", dict, {}), f"{where} [ge]")
    scen_raw = top.get("scenarios", list, [])
    scenarios = tuple(
        parse_scenario(s, f"{where} [[scenarios]] #{i + 1}", set(names))
        for i, s in enumerate(scen_raw)
    )
    snames = [s.name for s in scenarios]
    if len(set(snames)) != len(snames):
        raise ConfigError(f"{where}: scenario names must be unique; got {snames}")
    out_t = _Reader(top.get("outputs", dict, {}), f"{where} [outputs]", {"tables", "figures"})
    tables = tuple(out_t.get("tables", list, list(_TABLE_FORMATS)))
    figures = tuple(out_t.get("figures", list, list(_FIGURE_FORMATS)))
    if not set(tables) <= set(_TABLE_FORMATS) or not set(figures) <= set(_FIGURE_FORMATS):
        raise ConfigError(
            f"{where} [outputs]: tables must be among {_TABLE_FORMATS}, figures among "
            f"{_FIGURE_FORMATS}"
        )
    name = run_t.get("name", str, path.stem)
    return Config(
        path=path,
        project_root=project_root,
        root=root,
        name=name,
        synthetic=bool(run_t.get("synthetic", bool, False)) or kind == "sample",
        record_git_commit=bool(run_t.get("record_git_commit", bool, False)),
        allow_outside_project=allow,
        source_kind=kind,
        raw_dir=raw_dir,
        seed=int(seed),
        years=years or (2000, 2023),
        reconcile_method=recon_t.choice("method", _RECONCILE, "baci"),
        sector=sector,
        specifications=specs,
        ge=ge,
        scenarios=scenarios,
        table_formats=tables,
        figure_formats=figures,
        download=download,
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
