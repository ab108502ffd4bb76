"""The ``ca-trade`` command line: a thin layer over the library's functions.

Commands::

    ca-trade sample --out DIR [--seed N] [--years 2000-2023]
    ca-trade download OUT --reporters KAZ,KGZ --years 2015-2022 [--partners ISO3,...]
                      [--level total|section|chapter|hs6|CODES] [--access preview|api|bulk] ...
    ca-trade ingest RAW_DIR PROCESSED_DIR [--force] [--no-wait] [--executor E]
    ca-trade reconcile PROCESSED_DIR --out FILE.parquet [--method baci]
    ca-trade panel RECONCILED.parquet --out PANEL.parquet [--raw-dir DIR] [--sector TOTAL]
    ca-trade estimate PANEL.parquet --formula F [--model ppml|ols] [--vcov V] [--json FILE]
                      [--table FILE.{tex,md,html}] [--split COLUMN [--executor E]]
    ca-trade simulate PANEL.parquet --estimates EST.json --scenario customs_union
                      [--members KAZ,...] [--cet simple] [--links A-B,...] --out DIR
    ca-trade report ESTIMATES.json... --out FILE.{tex,md,html}
    ca-trade run CONFIG.toml [--check]
    ca-trade demo [--out DIR]

Exit codes: 0 success; 1 error in the data or a computation (also an ``ingest`` that wrote no
flow row, and one that finds the dataset busy with ``--no-wait``); 2 usage error (bad
arguments, invalid configuration or specification); 3 ``run --check`` found outputs that
differ from those on disk. Errors are one line on stderr (``ca-trade: error: ...``);
``--debug`` adds the traceback. Progress goes to stderr only when it is a terminal and
``--quiet`` is not given.

``--executor`` is ``serial``, ``processes`` (one local process per core) or a Dask scheduler
address (``tcp://host:8786``): where the files of an ingest or the groups of a split
estimation run (:mod:`ca_trade.executors`); outputs do not depend on it.

Each command is one function calling the library's public functions; it imports the library
modules it calls when it runs, so ``--help`` and ``--version`` start at once.

Examples
--------
>>> from ca_trade.cli import main
>>> main(["--version"])  # doctest: +SKIP
ca-trade 0.1.0
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from ca_trade._io import output_root, write_parquet
from ca_trade._version import __version__
from ca_trade.exceptions import (
    CaTradeError,
    ConfigError,
    SpecificationError,
)

if TYPE_CHECKING:
    import pandas as pd

    from ca_trade.pipeline import Progress, ScenarioSpec
    from ca_trade.pipeline.config import Cet

    #: The sub-command parsers of ``ca-trade`` (one per command).
    _Commands = argparse._SubParsersAction["_Parser"]

__all__ = ["EXIT_CHECK_FAILED", "EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CHECK_FAILED = 3


class _UsageError(Exception):
    """Raised by the argument parser instead of exiting, so main() controls the exit."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message}")


def _years(text: str) -> range:
    try:
        if "-" in text:
            a, b = text.split("-", 1)
            return range(int(a), int(b) + 1)
        return range(int(text), int(text) + 1)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"years must look like 2000-2023; got {text!r}") from exc


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {text!r}")
    return value


def _year(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1900 <= value <= 2100:
        raise argparse.ArgumentTypeError(f"must be a year in 1900-2100; got {text!r}")
    return value


def _draws(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not (value == 0 or 2 <= value <= 100_000):
        raise argparse.ArgumentTypeError(
            f"must be 0 (no intervals) or an integer in 2-100000; got {text!r}"
        )
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0; got {text!r}")
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a share in (0, 1); got {text!r}")
    return value


def _vcov(text: str) -> str | dict[str, str]:
    if text in ("iid", "hetero"):
        return text
    if text.upper().startswith("CRV1:") and len(text) > 5:
        return {"CRV1": text[5:].strip()}
    raise argparse.ArgumentTypeError(
        f"vcov must be iid, hetero or CRV1:<cluster>[+<cluster>]; got {text!r}"
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``ca-trade``.

    Returns
    -------
    argparse.ArgumentParser
        The parser (its ``error`` raises instead of exiting); each command's parser names
        the function that runs it (``command_fn``).

    Examples
    --------
    >>> build_parser().parse_args(["demo", "--out", "x"]).out
    PosixPath('x')
    """
    p = _Parser(
        prog="ca-trade",
        description="Regional trade gravity econometrics on Central Asia.",
        epilog="Exit codes: 0 ok, 1 data/computation error, 2 usage error, "
        "3 `run --check` found differences.",
    )
    p.add_argument("--version", action="version", version=f"ca-trade {__version__}")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in (
        _sample_parser,
        _download_parser,
        _etl_parsers,
        _estimate_parser,
        _simulate_parser,
        _run_parsers,
    ):
        add(sub)
    return p


def _sample_parser(sub: _Commands) -> None:
    s = sub.add_parser("sample", help="write the SYNTHETIC Central Asia sample")
    s.add_argument("--out", type=Path, required=True, help="output directory")
    s.add_argument("--seed", type=_seed, default=2024)
    s.add_argument("--years", type=_years, default=range(2000, 2024), help="e.g. 2000-2023")
    s.set_defaults(command_fn=_sample)


def _etl_parsers(sub: _Commands) -> None:
    s = sub.add_parser("ingest", help="Comtrade files -> validated Parquet dataset")
    s.add_argument("raw_dir", type=Path)
    s.add_argument("processed_dir", type=Path)
    s.add_argument("--force", action="store_true", help="re-parse unchanged files")
    s.add_argument(
        "--no-wait",
        action="store_true",
        help="fail instead of waiting when another ingest is writing PROCESSED_DIR",
    )
    s.add_argument(
        "--executor",
        default="serial",
        help="where files are staged: serial (default), processes or tcp://HOST:PORT (Dask)",
    )
    s.set_defaults(command_fn=_ingest)

    s = sub.add_parser("reconcile", help="mirror flows -> one value per pair/year/sector")
    s.add_argument("processed_dir", type=Path)
    s.add_argument("--out", type=Path, required=True, help="Parquet file to write")
    s.add_argument("--method", choices=["baci", "importer_first", "exporter_first"], default="baci")
    s.set_defaults(command_fn=_reconcile)

    s = sub.add_parser("panel", help="reconciled flows -> square panel with covariates")
    s.add_argument("reconciled", type=Path, help="Parquet file from `reconcile`")
    s.add_argument("--out", type=Path, required=True, help="Parquet file to write")
    s.add_argument("--raw-dir", type=Path, default=None, help="tariffs, production, CEPII files")
    s.add_argument("--sector", default="TOTAL")
    s.set_defaults(command_fn=_panel)


def _estimate_parser(sub: _Commands) -> None:
    s = sub.add_parser("estimate", help="PPML / OLS with fixed effects on a panel")
    s.add_argument(
        "panel",
        type=Path,
        help="Parquet panel (with --split, also a folder COLUMN=VALUE/*.parquet)",
    )
    s.add_argument("--formula", required=True, help="e.g. 'value_usd ~ ln_dist | exporter^year'")
    s.add_argument("--model", choices=["ppml", "ols"], default="ppml")
    s.add_argument("--vcov", type=_vcov, default="hetero", help="iid, hetero or CRV1:pair")
    s.add_argument("--ssc", choices=["stata", "fixest"], default="stata")
    s.add_argument("--json", type=Path, default=None, help="save the estimates (for `report`)")
    s.add_argument("--table", type=Path, default=None, help="write a .tex/.md/.html table")
    s.add_argument(
        "--split",
        default=None,
        metavar="COLUMN",
        help="estimate once per value of COLUMN, e.g. sector (--json then names a folder)",
    )
    s.add_argument(
        "--executor",
        default=None,
        help="with --split: serial, processes (default: one per core) or tcp://HOST:PORT (Dask)",
    )
    s.set_defaults(command_fn=_estimate)

    s = sub.add_parser("report", help="table of saved estimates")
    s.add_argument("estimates", type=Path, nargs="+", help="files from `estimate --json`")
    s.add_argument("--out", type=Path, required=True, help="FILE.tex, FILE.md or FILE.html")
    s.add_argument("--se", choices=["se", "ci"], default="se")
    s.add_argument("--title", default=None)
    s.set_defaults(command_fn=_report)


def _simulate_parser(sub: _Commands) -> None:
    s = sub.add_parser("simulate", help="a GE scenario with confidence intervals on a panel")
    s.add_argument("panel", type=Path, help="Parquet panel (with domestic flows)")
    s.add_argument("--estimates", type=Path, required=True, help="file from `estimate --json`")
    s.add_argument(
        "--scenario",
        required=True,
        choices=["customs_union", "remove_internal_tariffs", "corridor"],
    )
    s.add_argument(
        "--members", default=None, help="ISO3 list (tariff kinds; default: the five CA states)"
    )
    s.add_argument(
        "--cet", default="simple", help="simple, weighted, max, keep or adopt:ISO3 (customs_union)"
    )
    s.add_argument("--links", default=None, help="corridor links, e.g. CHN-KGZ,KGZ-UZB")
    s.add_argument("--days-saved", type=_positive, default=None)
    s.add_argument("--cost-reduction", type=_share, default=None, help="fraction of transit time")
    s.add_argument("--year", type=_year, default=None, help="baseline year (default: last)")
    s.add_argument("--theta", type=_positive, default=5.0, help="trade elasticity")
    s.add_argument("--draws", type=_draws, default=200, help="parametric draws for the CIs")
    s.add_argument("--seed", type=_seed, default=2024)
    s.add_argument("--synthetic", action="store_true", help="label outputs SYNTHETIC")
    s.add_argument("--out", type=Path, required=True, help="output directory")
    s.set_defaults(command_fn=_simulate)


def _run_parsers(sub: _Commands) -> None:
    s = sub.add_parser("run", help="run a TOML config end to end")
    s.add_argument("config", type=Path)
    s.add_argument("--check", action="store_true", help="compare regenerated outputs (exit 3)")
    s.set_defaults(command_fn=_run)

    s = sub.add_parser("demo", help="the end-to-end demo on the SYNTHETIC sample")
    s.add_argument("--out", type=Path, default=Path("reports/demo"))
    s.set_defaults(command_fn=_demo)


def _download_parser(sub: _Commands) -> None:
    s = sub.add_parser(
        "download",
        help="UN Comtrade data from the UN's API -> raw files (resumable, recorded)",
        epilog="The subscription key is read from COMTRADE_API_KEY (never from the command "
        "line, where shell histories and process lists would keep it). Without a key the "
        "public preview is used (at most 500 records a call).",
    )
    s.add_argument("out", type=Path, help="output folder, e.g. data/raw/comtrade")
    s.add_argument("--reporters", required=True, help="ISO3 codes, e.g. KAZ,KGZ,TJK,TKM,UZB")
    s.add_argument("--years", type=_years, required=True, help="e.g. 2015-2022")
    s.add_argument("--partners", default=None, help="ISO3 codes (default: all partners)")
    s.add_argument("--flows", default="M,X", help="among M,X,RM,RX (default M,X)")
    s.add_argument("--classification", default="HS", help="HS (bulk: also H0..H6)")
    s.add_argument(
        "--level", default="total", help="total, section, chapter, hs6, or HS codes (27,2709)"
    )
    s.add_argument("--frequency", choices=["A", "M"], default="A")
    s.add_argument(
        "--access",
        choices=["preview", "api", "bulk"],
        default=None,
        help="default: api with COMTRADE_API_KEY set, else preview",
    )
    s.add_argument(
        "--base-url",
        default=None,
        help="API root (default: $CA_TRADE_COMTRADE_URL or https://comtradeapi.un.org)",
    )
    s.add_argument("--max-records", type=int, default=None, help="records a call may return")
    s.add_argument("--rate", type=float, default=10.0, help="requests per minute (default 10)")
    s.add_argument("--max-retries", type=int, default=5)
    s.add_argument("--backoff", type=float, default=2.0, help="first retry wait, seconds")
    s.add_argument("--timeout", type=float, default=120.0, help="seconds of silence allowed")
    s.add_argument("--max-requests", type=int, default=None, help="requests allowed this run")
    s.add_argument("--force", action="store_true", help="fetch complete pieces again")
    s.set_defaults(command_fn=_download)


# --------------------------------------------------------------------------------------
# One function per command. Each imports the library modules it calls when it runs, so
# `ca-trade --help` and `--version` start at once (tests/test_architecture.py checks that
# these imports, like all others, run one way: cli -> pipeline -> library).
# --------------------------------------------------------------------------------------


def _items(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _sample(args: argparse.Namespace, progress: Progress) -> int:
    from ca_trade.sample import generate

    info = generate(args.out, seed=args.seed, years=args.years)
    print(f"wrote the SYNTHETIC sample to {args.out} ({len(info.comtrade_files)} Comtrade files)")
    return EXIT_OK


def _download(args: argparse.Namespace, progress: Progress) -> int:
    from ca_trade.etl import download

    levels = ("total", "section", "chapter", "hs6")
    rep = download(
        args.out,
        reporters=_items(args.reporters),
        years=args.years,
        partners=None if args.partners is None else _items(args.partners),
        flows=_items(args.flows),
        classification=args.classification,
        level=args.level if args.level in levels else _items(args.level),
        frequency=args.frequency,
        base_url=args.base_url,
        access=args.access,
        max_records=args.max_records,
        requests_per_minute=args.rate,
        max_retries=args.max_retries,
        backoff=args.backoff,
        timeout=args.timeout,
        max_requests=args.max_requests,
        force=args.force,
        progress=None if args.quiet else lambda piece: print(piece.line(), flush=True),
    )
    print(
        f"{rep.access}: {rep.count('downloaded')} pieces downloaded, {rep.count('complete')} "
        f"already complete, {rep.count('split')} split, {rep.count('unavailable')} "
        f"unavailable; {rep.records} records in {args.out} ({rep.requests} requests)"
    )
    return EXIT_OK


def _ingest(args: argparse.Namespace, progress: Progress) -> int:
    from ca_trade.etl import ingest
    from ca_trade.pipeline import parse_executor

    # Paths are resolved once, here: relative, `..` and symlinked spellings are one folder.
    raw_dir, processed_dir = args.raw_dir.resolve(), args.processed_dir.resolve()
    executor = parse_executor(args.executor, "--executor")
    with progress.stage(f"ingest ({args.executor})"):
        rep = ingest(
            raw_dir, processed_dir, force=args.force, wait=not args.no_wait, executor=executor
        )
    filtered = ", ".join(f"{k} {v}" for k, v in sorted(rep.rows_filtered.items()))
    print(
        f"ingested {len(rep.files)} files into {processed_dir}: rows read "
        f"{rep.rows_read}, written {rep.rows_written}, "
        f"quarantined {rep.rows_quarantined}, filtered: {filtered or 'none'}"
    )
    if rep.problem:
        print(f"ca-trade: error: {processed_dir}: {rep.problem}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _reconcile(args: argparse.Namespace, progress: Progress) -> int:
    from ca_trade.etl import reconcile

    with progress.stage("reconcile"):
        df = reconcile(args.processed_dir.resolve(), method=args.method)
    write_parquet(args.out, df, root=args.out.parent)
    print(f"wrote {len(df)} reconciled flows to {args.out}")
    return EXIT_OK


def _panel(args: argparse.Namespace, progress: Progress) -> int:
    from ca_trade.etl import build_panel

    rec = _read_parquet(args.reconciled.resolve())
    raw_dir = args.raw_dir.resolve() if args.raw_dir is not None else None
    with progress.stage("panel"):
        panel = build_panel(rec, raw_dir=raw_dir, sector=args.sector)
    write_parquet(args.out, panel, root=args.out.parent)
    print(f"wrote a panel of {len(panel)} rows to {args.out}")
    return EXIT_OK


def _estimate(args: argparse.Namespace, progress: Progress) -> int:
    from ca_trade.estimate import ols, ppml
    from ca_trade.pipeline import check_formula
    from ca_trade.report import etable
    from ca_trade.report.stored import save_results

    check_formula(args.formula, where="--formula")
    if args.split is not None:
        return _estimate_split(args, progress)
    if args.executor is not None:
        raise SpecificationError("--executor says where the groups of --split run; add --split")
    data = _read_parquet(args.panel)
    fit = ppml if args.model == "ppml" else ols
    with progress.stage(f"estimate ({args.model})"):
        res = fit(args.formula, data, vcov=args.vcov, ssc=args.ssc, safe_formula=True)
    print(res.summary())
    if args.json is not None:
        with output_root(args.json.parent):
            save_results(res, args.json)
    if args.table is not None:
        with output_root(args.table.parent):
            etable([res], _table_format(args.table), file=args.table)
    return EXIT_OK


def _estimate_split(args: argparse.Namespace, progress: Progress) -> int:
    """``estimate --split COLUMN``: one fit per group, a line of progress per finished group."""
    from ca_trade.estimate import SplitProgress, ols, ppml
    from ca_trade.pipeline import parse_executor
    from ca_trade.report import etable
    from ca_trade.report.stored import save_split

    where = args.executor if args.executor is not None else "processes"
    executor = parse_executor(where, "--executor")
    data = args.panel if args.panel.is_dir() else _read_parquet(args.panel)
    fit = ppml if args.model == "ppml" else ols

    def note(p: SplitProgress) -> None:
        progress.note(f"  {args.split} {p.line()}")

    with progress.stage(f"estimate ({args.model}) by {args.split} on {where}"):
        coll = fit(
            args.formula,
            data,
            split=args.split,
            executor=executor,
            progress=note,
            vcov=args.vcov,
            ssc=args.ssc,
            safe_formula=True,
        )
    print(coll.summary())
    if args.json is not None:
        with output_root(args.json):
            save_split(coll, args.json)
    if args.table is not None:
        with output_root(args.table.parent):
            etable(coll, _table_format(args.table), file=args.table)
    return EXIT_OK


def _report(args: argparse.Namespace, progress: Progress) -> int:
    from ca_trade.report import etable
    from ca_trade.report.stored import load_results

    results = {p.stem: load_results(p) for p in args.estimates}
    with output_root(args.out.parent):
        etable(results, _table_format(args.out), se=args.se, title=args.title, file=args.out)
    print(f"wrote {args.out}")
    return EXIT_OK


def _simulate(args: argparse.Namespace, progress: Progress) -> int:
    from ca_trade._io import confine
    from ca_trade.pipeline import Artefacts, GESettings
    from ca_trade.pipeline.reporting import report_scenario
    from ca_trade.pipeline.scenarios import simulate
    from ca_trade.report.provenance import file_fingerprint
    from ca_trade.report.stored import load_results

    spec = _scenario_spec(args)
    ge = GESettings(year=args.year, theta=args.theta, draws=args.draws, seed=args.seed)
    out = Artefacts(root=args.out.resolve(), synthetic=args.synthetic)
    for folder in out.output_dirs:
        confine(folder, out.root)
    panel = _read_parquet(args.panel)
    results = {spec.specification: load_results(args.estimates)}
    with progress.stage(f"simulate: {spec.name} ({args.draws} draws)"):
        outcome = simulate(spec, ge, panel, results)
    inputs = {
        "panel": file_fingerprint(args.panel),
        "estimates": file_fingerprint(args.estimates),
    }
    with output_root(out.root):
        written = report_scenario(out, spec, ge, outcome, inputs, outcome.record)
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def _scenario_spec(args: argparse.Namespace) -> ScenarioSpec:
    """Build the scenario the `simulate` options describe, checked as a config entry is."""
    from ca_trade.facts import CENTRAL_ASIA
    from ca_trade.pipeline import ScenarioSpec
    from ca_trade.pipeline.reader import iso3_list

    if args.scenario == "corridor":
        if not args.links:
            raise SpecificationError("--scenario corridor needs --links, e.g. CHN-KGZ,KGZ-UZB")
        pairs = [iso3_list(link.split("-"), "--links") for link in args.links.split(",")]
        if any(len(pair) != 2 for pair in pairs):
            raise ConfigError("--links must be pairs of two distinct ISO3 codes, e.g. CHN-KGZ")
        return ScenarioSpec(
            name=args.scenario,
            kind=args.scenario,
            specification="estimates",
            links=tuple((a, b) for a, b in pairs),
            days_saved=args.days_saved,
            cost_reduction=args.cost_reduction,
        )
    return ScenarioSpec(
        name=args.scenario,
        kind=args.scenario,
        specification="estimates",
        members=tuple(
            CENTRAL_ASIA if args.members is None else iso3_list(_items(args.members), "--members")
        ),
        cet=_cet(args.cet) if args.scenario == "customs_union" else None,
    )


def _cet(text: str) -> Cet:
    """Read ``--cet``: a rule of :func:`ca_trade.ge.tariff_harmonization` (``adopt:ISO3``)."""
    from ca_trade.pipeline.parse import parse_cet

    rule, _, code = text.partition(":")
    return parse_cet([rule, code] if rule == "adopt" else text, "--cet", option=True)


def _run(args: argparse.Namespace, progress: Progress) -> int:
    from ca_trade.pipeline import load_config, run

    cfg = load_config(args.config)
    if not args.check:
        outcome = run(cfg, progress=progress)
        for path in outcome.written:
            print(f"wrote {path}")
        return EXIT_OK
    rep = run(cfg, check=True, progress=progress)
    if rep.ok:
        print(f"ca-trade: outputs of {args.config} are up to date")
        return EXIT_OK
    print(rep.describe(), file=sys.stderr)
    print(
        f"ca-trade: error: outputs of {args.config} differ from a fresh run "
        "(listed above); regenerate with `ca-trade run`",
        file=sys.stderr,
    )
    return EXIT_CHECK_FAILED


def _demo(args: argparse.Namespace, progress: Progress) -> int:
    from ca_trade.pipeline.demo import run_demo

    return run_demo(args.out, progress=progress)


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return pd.read_parquet(path)


def _table_format(path: Path) -> str:
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in ("tex", "md", "html"):
        raise SpecificationError(f"{path}: table files must end in .tex, .md or .html")
    return fmt


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ca-trade`` with the given arguments and return its exit code.

    Paths on the command line are resolved once, when the arguments are parsed (relative to
    the working directory, symbolic links and ``..`` followed), so every command behaves as
    with absolute paths. Warnings are printed as one ``ca-trade: warning:`` line each while
    the command runs; the process's own warning display is restored when it returns.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success; 1 data/computation error; 2 usage error; 3 ``run --check`` found
        differences.

    Examples
    --------
    >>> main(["run", "missing.toml"])  # doctest: +SKIP
    2
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    with _one_line_warnings(enabled=not debug):
        return _main(args_list, debug)


def _main(args_list: list[str], debug: bool) -> int:
    try:
        args = build_parser().parse_args(args_list)
        if args.command is None:
            build_parser().print_help(sys.stderr)
            return EXIT_USAGE
        return _command(_resolve_paths(args))
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0) if isinstance(exc.code, int | None) else EXIT_USAGE
    except _UsageError as exc:
        print(f"{_clean(str(exc))}\n(see `ca-trade --help`)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ca-trade: interrupted", file=sys.stderr)
        return 130
    except (ConfigError, SpecificationError) as exc:
        return _fail(exc, debug, EXIT_USAGE)
    except (CaTradeError, OSError, ValueError) as exc:
        return _fail(exc, debug, EXIT_ERROR)
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print(
            f"ca-trade: error: internal error {type(exc).__name__}: {_one_line(exc)} "
            "(rerun with --debug for the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_ERROR


def _command(args: argparse.Namespace) -> int:
    """Run the command `args` name, with progress on stderr unless ``--quiet``."""
    from ca_trade.pipeline import Progress

    command: Callable[[argparse.Namespace, Progress], int] = args.command_fn
    return command(args, Progress(quiet=args.quiet))


def _resolve(path: Path) -> Path:
    """Resolve a path's folder (working directory, ``..``, symbolic links); keep its name.

    A link at an output file is then checked when the file is written, not followed here.
    """
    if path.name in ("", ".", ".."):
        return path.resolve()
    return path.parent.resolve() / path.name


def _resolve_paths(args: argparse.Namespace) -> argparse.Namespace:
    """Resolve every path argument once, before any command runs."""
    for key, value in vars(args).items():
        if isinstance(value, Path):
            setattr(args, key, _resolve(value))
        elif isinstance(value, list) and value and all(isinstance(v, Path) for v in value):
            setattr(args, key, [_resolve(v) for v in value])
    return args


@contextmanager
def _one_line_warnings(*, enabled: bool) -> Iterator[None]:
    """Show warnings as one clean line each while the command runs; restore the display."""
    if not enabled:
        yield
        return
    previous = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        yield
    finally:
        warnings.showwarning = previous


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    print(f"ca-trade: warning: {_clean(str(message))}", file=sys.stderr)


# ANSI/VT100 escape sequences (colours, cursor moves) and other control characters, which
# some libraries put in their messages and which a file name can carry
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _clean(text: str) -> str:
    """One line of plain text: escape sequences removed, control characters shown as ``?``."""
    text = _CONTROL.sub("?", _ANSI.sub("", text))
    return " ".join(text.split())


def _one_line(exc: BaseException) -> str:
    return _clean(str(exc)) or type(exc).__name__


def _fail(exc: BaseException, debug: bool, code: int) -> int:
    if debug:
        traceback.print_exc()
    print(f"ca-trade: error: {_one_line(exc)}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
