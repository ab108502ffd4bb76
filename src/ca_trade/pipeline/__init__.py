"""Config-driven runs of the whole chain (``ca-trade run CONFIG.toml [--check]``).

A run is described by a TOML file (read with :mod:`tomllib`) that is *data, never code*:
every key is checked against a fixed schema (unknown keys are errors), formulas are parsed by
the safe formula grammar (:mod:`ca_trade.estimate.safe_formula`: column names, numbers,
arithmetic, ``log``, ``exp``, ``sqrt``, ``log1p``, ``I(...)``, ``C(column)``, ``:``, ``*``,
``|``, ``^``) and estimated in safe mode, so nothing in them is ever evaluated,
every number must be finite and in range, and every path must resolve inside the project
root unless ``allow_outside_project = true``. Paths are resolved once, relative to the
project (never the working directory), and judged by where they lead after ``..`` and
symbolic links; the raw files may not overlap what the run writes. Every file a run writes
stays inside ``root`` after resolving symbolic links, or the run stops with
:class:`~ca_trade.exceptions.UnsafePathError` naming the link.

Schema (all tables optional except ``[run]``; see the demo's ``src/ca_trade/data/demo.toml``
for a full example)::

    [run]
    name = "demo"                 # used in titles
    root = "reports/demo"         # outputs and intermediate data go under here
    allow_outside_project = false
    synthetic = false             # label outputs SYNTHETIC (implied by source.kind = "sample")
    record_git_commit = false     # a commit in artefacts would make `--check` fail after commits

    [source]
    kind = "sample"               # "sample" (generate the SYNTHETIC data) or "raw" (your files)
    raw_dir = "data/raw"          # under run.root for "sample", relative to the project for "raw"
    seed = 2024                   # sample only
    years = [2000, 2023]          # sample only

    [download]                    # optional, with kind = "raw": UN Comtrade data into
    reporters = ["KAZ", "KGZ"]    # raw_dir/comtrade before ingest (ca_trade.etl.download;
    years = [2015, 2022]          # the key comes from COMTRADE_API_KEY, never a config)
    level = "total"               # "total" | "section" | "chapter" | "hs6" | ["27", ...]
    access = "api"                # "preview" | "api" | "bulk" (default: api with a key)

    [reconcile]
    method = "baci"               # "baci" | "importer_first" | "exporter_first"

    [panel]
    sector = "TOTAL"

    [[specifications]]
    name = "twoway"
    model = "ppml"                # "ppml" | "ols"
    formula = "value_usd ~ ln_dist + contig | exporter^year + importer^year"
    vcov = { CRV1 = "pair" }      # "iid" | "hetero" | { CRV1 = "a" } | { CRV1 = "a+b" }
    ssc = "stata"
    years = [2000, 2023]          # optional year window
    international_only = false    # drop domestic pairs
    tol = 1e-8                    # optional estimator tolerance

    [ge]
    year = 2019                   # baseline year of the flow matrix
    theta = 5.0                   # trade elasticity, or instead:
    theta_from = "ln_tariff"      # theta = -beta - 1 from the scenario's ln(1+t) coefficient
    closure = "additive"
    draws = 200                   # parametric draws for the confidence intervals
    seed = 2024
    alpha = 0.05

    [[scenarios]]
    name = "ca_customs_union"
    kind = "customs_union"        # "customs_union" | "remove_internal_tariffs" | "corridor"
    members = ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
    cet = "simple_mean"           # customs_union: "simple_mean" | "weighted_mean" | "max" | ISO3
    specification = "threeway"    # whose coefficients build the partial effects
    # corridor: links = [["CHN", "KGZ"], ["KGZ", "UZB"]] with days_saved = 2.0 or
    # cost_reduction = 0.4 (share of transit time), ave_per_day = 0.01 (Hummels & Schaur 2013);
    # any kind: elasticity = -5.0 overrides the estimated ln(1+t) coefficient

    [outputs]
    tables = ["tex", "md", "html"]
    figures = ["png", "pdf"]

Outputs land in ``<root>/tables``, ``<root>/figures`` and ``<root>/estimates``; intermediate
data in ``<root>/data``. ``--check`` regenerates everything in a temporary directory and
compares the outputs byte for byte with those on disk.

Examples
--------
>>> from ca_trade.pipeline import check_formula
>>> check_formula("value_usd ~ log(dist) + rta | exporter^year", where="x.toml")
'value_usd ~ log(dist) + rta | exporter^year'
"""

from __future__ import annotations

import filecmp
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from ca_trade.pipeline.schema import (
    Config,
    GESettings,
    ScenarioSpec,
    Specification,
    check_formula,
    find_project_root,
    load_config,
    parse_config,
)

__all__ = [
    "CheckReport",
    "Config",
    "GESettings",
    "Progress",
    "ScenarioSpec",
    "Specification",
    "check_formula",
    "compare_outputs",
    "find_project_root",
    "load_config",
    "parse_config",
    "run",
]

# --------------------------------------------------------------------------------------
# Progress on stderr (only on a terminal, never with --quiet)
# --------------------------------------------------------------------------------------


class Progress:
    """Stage-by-stage progress lines on stderr, shown only when stderr is a terminal.

    Parameters
    ----------
    quiet : bool, default False
        Never print.
    stream : file-like, optional
        Where to print; default :data:`sys.stderr`.

    Examples
    --------
    >>> p = Progress(quiet=True)
    >>> with p.stage("ingest"):
    ...     pass
    """

    def __init__(self, *, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = not quiet and bool(isatty and isatty())

    def note(self, message: str) -> None:
        """Print one progress line (when enabled).

        Parameters
        ----------
        message : str
            The line.
        """
        if self.enabled:
            print(message, file=self.stream, flush=True)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Announce a stage and report its duration when it ends.

        Parameters
        ----------
        name : str
            Stage name.

        Yields
        ------
        None
            Control to the stage's body.
        """
        start = time.perf_counter()
        self.note(f"[ca-trade] {name} ...")
        yield
        self.note(f"[ca-trade] {name} done in {time.perf_counter() - start:.1f} s")


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


@dataclass
class CheckReport:
    """Differences found by ``--check`` between regenerated and committed outputs.

    Parameters
    ----------
    changed, missing, extra : list of str
        Paths (relative to the run root) that differ, exist only in the regenerated
        outputs, or exist only on disk.
    """

    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the outputs on disk equal the regenerated ones."""
        return not (self.changed or self.missing or self.extra)

    def describe(self) -> str:
        """Return the differences, one per line.

        Returns
        -------
        str
            Human-readable report.
        """
        lines = [f"changed: {p}" for p in self.changed]
        lines += [f"missing on disk: {p}" for p in self.missing]
        lines += [f"not produced by the config: {p}" for p in self.extra]
        return "\n".join(lines) if lines else "all outputs are identical"


def _files_under(root: Path, dirs: tuple[Path, ...]) -> set[str]:
    out: set[str] = set()
    for d in dirs:
        if d.is_dir():
            for p in d.rglob("*"):
                if p.is_file() and not p.name.startswith("."):
                    out.add(p.relative_to(root).as_posix())
    return out


def compare_outputs(fresh: Config, disk: Config) -> CheckReport:
    """Compare the outputs of two runs of the same config byte for byte.

    Parameters
    ----------
    fresh : Config
        The regenerated run (in a temporary root).
    disk : Config
        The run whose outputs are on disk.

    Returns
    -------
    CheckReport
        The differences.
    """
    new = _files_under(fresh.root, fresh.output_dirs)
    old = _files_under(disk.root, disk.output_dirs)
    rep = CheckReport()
    for rel in sorted(new & old):
        if not filecmp.cmp(fresh.root / rel, disk.root / rel, shallow=False):
            rep.changed.append(rel)
    rep.missing = sorted(new - old)
    rep.extra = sorted(old - new)
    return rep


def run(
    config: Config | str | os.PathLike[str],
    *,
    check: bool = False,
    progress: Progress | None = None,
) -> Any:
    """Run every stage a configuration describes and write its outputs.

    Parameters
    ----------
    config : Config or path-like
        A validated configuration or the path of its TOML file.
    check : bool, default False
        Regenerate into a temporary directory and compare with the outputs on disk
        instead of overwriting them.
    progress : Progress, optional
        Where to report stages (default: quiet unless stderr is a terminal).

    Returns
    -------
    RunOutcome or CheckReport
        What the run produced (``check=False``), or the differences (``check=True``).

    Raises
    ------
    ConfigError, NotBuiltYetError, CaTradeError
        On an invalid config, a stage that does not exist yet, or a failure in a stage.

    Examples
    --------
    >>> outcome = run("src/ca_trade/data/demo.toml")  # doctest: +SKIP
    """
    from ca_trade.pipeline.stages import execute

    cfg = config if isinstance(config, Config) else load_config(config)
    prog = progress if progress is not None else Progress()
    if not check:
        return execute(cfg, prog)
    with tempfile.TemporaryDirectory(prefix="ca_trade_check_") as tmp:
        fresh_root = Path(tmp) / "run"
        raw = cfg.raw_dir
        if cfg.source_kind == "sample" and raw.is_relative_to(cfg.root):
            raw = fresh_root / raw.relative_to(cfg.root)
        fresh = replace(cfg, root=fresh_root, raw_dir=raw)
        execute(fresh, prog)
        return compare_outputs(fresh, cfg)
