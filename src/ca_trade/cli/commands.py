"""The commands of ``ca-trade``: one function per command, each calling the library.

Each function takes the parsed arguments and a progress reporter and returns the exit code;
:data:`COMMANDS` maps the command's name to it. Each imports the library modules it calls when
it runs, so ``--help`` and ``--version`` start at once (``tests/test_architecture.py`` checks
that these imports, like all others, run one way: cli -> pipeline -> library).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ca_trade._io import output_root, write_parquet
from ca_trade.cli.messages import EXIT_CHECK_FAILED, EXIT_ERROR, EXIT_OK, error, plain
from ca_trade.exceptions import ConfigError, SpecificationError

if TYPE_CHECKING:
    import pandas as pd

    from ca_trade.pipeline import Progress, ScenarioSpec
    from ca_trade.pipeline.config import Cet

__all__ = ["COMMANDS", "Command"]

#: A command: (parsed arguments, progress reporter) -> exit code.
Command = Callable[[argparse.Namespace, "Progress"], int]


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
    print(rep)
    if rep.problem:
        return error(f"{processed_dir}: {rep.problem}", EXIT_ERROR)
    return EXIT_OK


def _reconcile(args: argparse.Namespace, progress: Progress) -> int:
    from ca_trade.etl import reconcile

    processed_dir = args.processed_dir.resolve()
    with progress.stage("reconcile"):
        df = reconcile(processed_dir, method=args.method)
    if df.empty:
        return error(
            f"{processed_dir}: no flow between two distinct countries to reconcile (the flows "
            "hold only reports with themselves, 'nes' areas or other frequencies); nothing "
            f"written to {args.out}",
            EXIT_ERROR,
        )
    write_parquet(args.out, df, root=args.out.parent)
    print(f"wrote {len(df)} reconciled flows to {args.out}")
    return EXIT_OK


def _panel(args: argparse.Namespace, progress: Progress) -> int:
    from ca_trade.etl import build_panel

    rec = _read_parquet(args.reconciled.resolve())
    if rec.empty:
        return error(f"{args.reconciled}: no reconciled flow to build a panel from", EXIT_ERROR)
    raw_dir = args.raw_dir.resolve() if args.raw_dir is not None else None
    with progress.stage("panel"):
        panel = build_panel(rec, raw_dir=raw_dir, sector=args.sector)
    if panel.empty:
        return error(
            f"{args.reconciled}: the panel of sector {args.sector!r} is empty (the reconciled "
            f"flows have sectors {sorted(map(str, rec['sector'].unique()))}); nothing written",
            EXIT_ERROR,
        )
    write_parquet(args.out, panel, root=args.out.parent)
    print(f"wrote a panel of {len(panel)} rows to {args.out}")
    return EXIT_OK


def _estimate(args: argparse.Namespace, progress: Progress) -> int:
    from ca_trade.pipeline import Specification, check_formula
    from ca_trade.pipeline.reporting import sample_rows
    from ca_trade.pipeline.stages import estimate_specification
    from ca_trade.report import etable
    from ca_trade.report.stored import save_results

    check_formula(args.formula, where="--formula")
    if args.split is not None:
        return _estimate_split(args, progress)
    if args.executor is not None:
        raise SpecificationError("--executor says where the groups of --split run; add --split")
    spec = Specification(
        name=args.panel.stem,
        model=args.model,
        formula=args.formula,
        vcov=args.vcov,
        ssc=args.ssc,
        international_only=args.international_only,
    )
    data = _read_parquet(args.panel)
    with progress.stage(f"estimate ({args.model})"):
        res = estimate_specification(spec, data)
    print(res.summary())
    if args.international_only:
        print("Sample: international pairs only (domestic pairs dropped).")
    if args.json is not None:
        with output_root(args.json.parent):
            save_results(res, args.json, international_only=args.international_only)
    if args.table is not None:
        with output_root(args.table.parent):
            etable(
                [res],
                _table_format(args.table),
                extra_rows=sample_rows([args.international_only]),
                file=args.table,
            )
    return EXIT_OK


def _estimate_split(args: argparse.Namespace, progress: Progress) -> int:
    """``estimate --split COLUMN``: one fit per group, a line of progress per finished group."""
    from ca_trade.pipeline import Specification, parse_executor
    from ca_trade.pipeline.stages import estimate_split
    from ca_trade.report import etable
    from ca_trade.report.stored import save_split

    if args.international_only:
        raise SpecificationError(
            "--international-only is not available with --split; drop the domestic pairs "
            "(exporter = importer) from the panel first"
        )
    where = args.executor if args.executor is not None else "processes"
    executor = parse_executor(where, "--executor")
    spec = Specification(
        name=args.panel.stem,
        model=args.model,
        formula=args.formula,
        vcov=args.vcov,
        ssc=args.ssc,
        split=args.split,
    )
    data = args.panel if args.panel.is_dir() else _read_parquet(args.panel)
    with progress.stage(f"estimate ({args.model}) by {args.split} on {where}"):
        coll = estimate_split(spec, data, executor=executor, progress=progress)
    print(coll.summary())
    if args.json is not None:
        with output_root(args.json):
            save_split(coll, args.json)
    if args.table is not None:
        with output_root(args.table.parent):
            etable(coll, _table_format(args.table), file=args.table)
    return EXIT_OK


def _report(args: argparse.Namespace, progress: Progress) -> int:
    from ca_trade.pipeline.reporting import sample_rows
    from ca_trade.report import etable
    from ca_trade.report.stored import load_results

    results = {p.stem: load_results(p) for p in args.estimates}
    rows = sample_rows([r.international_only for r in results.values()])
    with output_root(args.out.parent):
        etable(
            results,
            _table_format(args.out),
            se=args.se,
            title=args.title,
            extra_rows=rows,
            file=args.out,
        )
    print(f"wrote {args.out}")
    return EXIT_OK


def _simulate(args: argparse.Namespace, progress: Progress) -> int:
    from ca_trade._io import confine
    from ca_trade.pipeline import Artefacts, GESettings
    from ca_trade.pipeline.reporting import report_scenario, welfare_summary
    from ca_trade.pipeline.scenarios import simulate
    from ca_trade.report.provenance import file_fingerprint
    from ca_trade.report.stored import load_results

    spec = _scenario_spec(args)
    ge = GESettings(year=args.year, theta=args.theta, n_draws=args.n_draws, seed=args.seed)
    out = Artefacts(root=args.out.resolve(), synthetic=args.synthetic)
    for folder in out.output_dirs:
        confine(folder, out.root)
    panel = _read_parquet(args.panel)
    results = {spec.specification: load_results(args.estimates)}
    with progress.stage(f"simulate: {spec.name} ({args.n_draws} draws)"):
        outcome = simulate(spec, ge, panel, results)
    inputs = {
        "panel": file_fingerprint(args.panel),
        "estimates": file_fingerprint(args.estimates),
    }
    with output_root(out.root):
        written = report_scenario(out, spec, ge, outcome, inputs, outcome.record)
    own = [*spec.members, *(code for link in spec.links for code in link)]
    print(welfare_summary(spec.name, outcome.countries, outcome.record, first=own))
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
            specification=args.estimates.stem,
            links=tuple((a, b) for a, b in pairs),
            days_saved=args.days_saved,
            cost_reduction=args.cost_reduction,
        )
    members = CENTRAL_ASIA if args.members is None else iso3_list(_items(args.members), "--members")
    return ScenarioSpec(
        name=args.scenario,
        kind=args.scenario,
        specification=args.estimates.stem,
        members=tuple(members),
        cet=_cet(args.cet),
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
    print(plain(rep.describe()), file=sys.stderr)
    return error(
        f"outputs of {args.config} differ from a fresh run (listed above); regenerate with "
        "`ca-trade run`",
        EXIT_CHECK_FAILED,
    )


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


COMMANDS: dict[str, Command] = {
    "sample": _sample,
    "download": _download,
    "ingest": _ingest,
    "reconcile": _reconcile,
    "panel": _panel,
    "estimate": _estimate,
    "report": _report,
    "simulate": _simulate,
    "run": _run,
    "demo": _demo,
}
