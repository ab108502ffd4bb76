"""The arguments of ``ca-trade``: one parser per command, each explaining itself.

Every command's ``--help`` has a description, an example and the default of each option;
the global options (``--quiet``, ``--debug``, ``--version``) are accepted before or after the
command's name. Numbers are checked when they are read (finite, in range), so a bad value is
a usage error naming the option.

Examples
--------
>>> build_parser().parse_args(["ingest", "raw", "out", "--quiet"]).command
'ingest'
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from ca_trade._version import __version__

if TYPE_CHECKING:
    #: The sub-command parsers of ``ca-trade`` (one per command).
    _Commands = argparse._SubParsersAction["Parser"]

__all__ = ["RENAMED", "Parser", "UsageError", "build_parser"]


class UsageError(Exception):
    """Raised by the argument parser instead of exiting, so main() controls the exit."""


#: Options and values of earlier versions and what they are now (the library's vocabulary:
#: ``n_draws`` of :func:`ca_trade.ge.parametric_draws`, the builders of :mod:`ca_trade.ge`
#: as scenario kinds, as in the config's keys).
RENAMED: dict[str, str] = {
    "--draws": "--n-draws",
    "customs_union": "--scenario tariff_harmonization",
    "remove_internal_tariffs": "--scenario tariff_harmonization --cet keep",
}


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors raise :class:`UsageError` (exit code 2, one line).

    An option or value of an earlier version (:data:`RENAMED`) is named with what it is now.
    """

    def error(self, message: str) -> NoReturn:
        """Raise :class:`UsageError` with the message, prefixed by the command."""
        hints = [
            f"{old} is now {new}"
            for old, new in RENAMED.items()
            if re.search(rf"(?<![\w-]){re.escape(old)}(?![\w-])", message)
        ]
        hint = f" ({'; '.join(hints)})" if hints else ""
        raise UsageError(f"{self.prog}: {message}{hint}")


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


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written; every option's help ends with its default.

    Options without a default (None, a flag that is off) say nothing more; a default that
    the code fills in later (the five Central Asian states, θ from the estimates) is written
    into the option's help by hand.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "(default" in text
            or not action.option_strings
            or default is None
            or default is False
            or default == argparse.SUPPRESS
        ):
            return text
        return f"{text} (default: {_shown(default)})".replace("%", "%%").strip()


def _shown(value: object) -> str:
    """Write a default as a user would type it (a year range as 2000-2023, a path as written)."""
    if isinstance(value, range):
        return f"{value.start}-{value.stop - 1}" if len(value) > 1 else str(value.start)
    return str(value)


def _global_options() -> Parser:
    """Return the options every command takes, before or after its name (``--quiet``, ...).

    Given after the command they default to SUPPRESS, so they never undo the same option
    given before it.
    """
    common = Parser(add_help=False)
    common.add_argument(
        "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress output"
    )
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback of an error",
    )
    common.add_argument("--version", action="version", version=f"ca-trade {__version__}")
    return common


def _add_command(
    sub: _Commands, name: str, summary: str, description: str, example: str
) -> argparse.ArgumentParser:
    """Add a command: one line in ``ca-trade --help``, a description and an example in its own."""
    return sub.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}.\n\n{description}",
        epilog=f"example:\n  {example}",
        formatter_class=_HelpFormatter,
        parents=[_global_options()],
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``ca-trade``.

    Every command has a description, an example and the defaults of its options in its
    ``--help``; the global options (``--quiet``, ``--debug``, ``--version``) are accepted
    before or after the command's name.

    Returns
    -------
    argparse.ArgumentParser
        The parser (its ``error`` raises :class:`UsageError` instead of exiting); the
        command's name is ``args.command``.

    Examples
    --------
    >>> build_parser().parse_args(["demo", "--out", "x"]).out
    PosixPath('x')
    >>> build_parser().parse_args(["demo", "--quiet"]).quiet
    True
    """
    p = Parser(
        prog="ca-trade",
        description="Regional trade gravity econometrics on Central Asia: UN Comtrade files "
        "-> validated Parquet -> panel -> PPML/OLS with fixed effects -> general-equilibrium "
        "scenarios -> publication tables and figures. `ca-trade COMMAND --help` describes a "
        "command.",
        epilog="Exit codes: 0 ok, 1 data/computation error, 2 usage error, "
        "3 `run --check` found differences.",
        formatter_class=_HelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"ca-trade {__version__}")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
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
    s = _add_command(
        sub,
        "sample",
        "write the SYNTHETIC Central Asia sample",
        "Raw Comtrade files in the four layouts, covariates, tariffs, production and the\n"
        "generator's truth (truth.json), from one seeded generator: the same seed gives the\n"
        "same bytes. Not real trade flows: everything built from it says SYNTHETIC.",
        "ca-trade sample --out data/raw/sample --seed 2024",
    )
    s.add_argument("--out", type=Path, required=True, help="output directory")
    s.add_argument("--seed", type=_seed, default=2024, help="seed of the generator")
    s.add_argument("--years", type=_years, default=range(2000, 2024), help="years, e.g. 2015-2019")


def _etl_parsers(sub: _Commands) -> None:
    s = _add_command(
        sub,
        "ingest",
        "validate Comtrade files and write the flow dataset",
        "Reads every Comtrade file under RAW_DIR (CSV, TSV, .gz; legacy and Comtrade+ layouts)\n"
        "and writes PROCESSED_DIR/flows (bilateral flows, Parquet), controls/ (World totals),\n"
        "quarantine/ (refused rows, with file, line and reason) and manifest.json. Unchanged\n"
        "files are not read again. Exits 1 when no bilateral flow could be written, saying why.",
        "ca-trade ingest data/raw/sample data/processed",
    )
    s.add_argument("raw_dir", type=Path, help="folder of raw Comtrade files")
    s.add_argument("processed_dir", type=Path, help="folder of the Parquet dataset")
    s.add_argument("--force", action="store_true", help="re-parse unchanged files")
    s.add_argument(
        "--no-wait",
        action="store_true",
        help="fail instead of waiting when another ingest is writing PROCESSED_DIR",
    )
    s.add_argument(
        "--executor",
        default="serial",
        help="where files are staged: serial (default), processes or tcp://HOST:PORT (Dask); "
        "the dataset written does not depend on it",
    )

    s = _add_command(
        sub,
        "reconcile",
        "mirror flows -> one value per pair, year and sector",
        "Reads PROCESSED_DIR/flows (written by `ingest`) and keeps one value per exporter,\n"
        "importer, year and sector from the exporter's and the importer's reports.",
        "ca-trade reconcile data/processed --out data/processed/reconciled.parquet",
    )
    s.add_argument("processed_dir", type=Path, help="folder written by `ingest`")
    s.add_argument("--out", type=Path, required=True, help="Parquet file to write")
    s.add_argument(
        "--method",
        choices=["baci", "importer_first", "exporter_first"],
        default="baci",
        help="how the two reports of a flow are combined",
    )

    s = _add_command(
        sub,
        "panel",
        "reconciled flows -> square panel with covariates",
        "One row per exporter, importer and year over the countries present, with explicit\n"
        "zeros, domestic flows where production is known, and the gravity covariates\n"
        "(distance, contiguity, language, agreements, WTO, tariffs).",
        "ca-trade panel data/processed/reconciled.parquet --raw-dir data/raw/sample "
        "--out data/processed/panel.parquet",
    )
    s.add_argument("reconciled", type=Path, help="Parquet file from `reconcile`")
    s.add_argument("--out", type=Path, required=True, help="Parquet file to write")
    s.add_argument("--raw-dir", type=Path, default=None, help="tariffs, production, CEPII files")
    s.add_argument("--sector", default="TOTAL", help="sector of the panel")


def _estimate_parser(sub: _Commands) -> None:
    s = _add_command(
        sub,
        "estimate",
        "PPML or OLS with high-dimensional fixed effects on a panel",
        "Prints the summary; --json saves the estimates for `report` and `simulate`, --table\n"
        "writes a publication table. The formula is read as data (parsed, never evaluated).",
        "ca-trade estimate data/processed/panel.parquet --formula "
        "'value_usd ~ rta + ln_tariff | exporter^year + importer^year + pair' "
        "--vcov CRV1:pair --international-only --json reports/threeway.json",
    )
    s.add_argument(
        "panel",
        type=Path,
        help="Parquet panel (from `panel`; with --split, also a folder COLUMN=VALUE/*.parquet)",
    )
    s.add_argument(
        "--formula", required=True, help="fixest syntax, e.g. 'value_usd ~ ln_dist | exporter^year'"
    )
    s.add_argument("--model", choices=["ppml", "ols"], default="ppml", help="estimator")
    s.add_argument("--vcov", type=_vcov, default="hetero", help="iid, hetero or CRV1:pair")
    s.add_argument(
        "--ssc", choices=["stata", "fixest"], default="stata", help="small-sample convention"
    )
    s.add_argument(
        "--international-only",
        action="store_true",
        help="drop domestic pairs (exporter = importer), as the config key of that name",
    )
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

    s = _add_command(
        sub,
        "report",
        "publication table of saved estimates",
        "One column per file written by `estimate --json`, named after the file.",
        "ca-trade report reports/twoway.json reports/threeway.json --out reports/gravity.tex",
    )
    s.add_argument("estimates", type=Path, nargs="+", help="files from `estimate --json`")
    s.add_argument("--out", type=Path, required=True, help="FILE.tex, FILE.md or FILE.html")
    s.add_argument(
        "--se",
        choices=["se", "ci"],
        default="se",
        help="under each coefficient: standard error or confidence interval",
    )
    s.add_argument("--title", default=None, help="caption of the table")


def _simulate_parser(sub: _Commands) -> None:
    s = _add_command(
        sub,
        "simulate",
        "a GE scenario with confidence intervals on a panel",
        "Solves the scenario on the panel's flows of the baseline year with the coefficients\n"
        "of ESTIMATES, draws the coefficients for percentile intervals, prints the welfare\n"
        "change by country and writes a table and figures (with provenance) under --out.\n"
        "The trade elasticity is θ = -b - 1 from the estimates' ln_tariff coefficient b\n"
        "(duty-exclusive flows), tied to b in every draw, unless --theta gives it.",
        "ca-trade simulate data/processed/panel.parquet --estimates reports/threeway.json "
        "--scenario tariff_harmonization --members KAZ,KGZ,TJK,TKM,UZB --out reports/cu",
    )
    s.add_argument("panel", type=Path, help="Parquet panel (with domestic flows)")
    s.add_argument("--estimates", type=Path, required=True, help="file from `estimate --json`")
    s.add_argument(
        "--scenario",
        required=True,
        choices=["tariff_harmonization", "corridor"],
        help="the builder of ca_trade.ge: a customs union (tariff_harmonization) or a corridor",
    )
    s.add_argument(
        "--members",
        default=None,
        help="ISO3 codes of the union's members, as in the panel "
        "(default: the five Central Asian states, KAZ,KGZ,TJK,TKM,UZB)",
    )
    s.add_argument(
        "--cet",
        default="simple",
        help="common external tariff: simple, weighted, max, adopt:ISO3, or keep (members "
        "keep their external tariffs: only internal ones are removed)",
    )
    s.add_argument("--links", default=None, help="corridor links, e.g. CHN-KGZ,KGZ-UZB")
    s.add_argument("--days-saved", type=_positive, default=None, help="corridor: days saved")
    s.add_argument(
        "--cost-reduction", type=_share, default=None, help="corridor: share of transit time cut"
    )
    s.add_argument("--year", type=_year, default=None, help="baseline year (default: the last)")
    s.add_argument(
        "--theta",
        type=_positive,
        default=None,
        help="trade elasticity (default: -b - 1 from the estimates' ln_tariff coefficient b; "
        "required when they have none)",
    )
    s.add_argument(
        "--n-draws", type=_draws, default=200, help="parametric draws for the intervals (0: none)"
    )
    s.add_argument("--seed", type=_seed, default=2024, help="seed of the draws")
    s.add_argument(
        "--synthetic",
        action="store_true",
        help="label outputs SYNTHETIC even where the data do not say so (data built from the "
        "sample are labelled automatically)",
    )
    s.add_argument("--out", type=Path, required=True, help="output directory")


def _run_parsers(sub: _Commands) -> None:
    s = _add_command(
        sub,
        "run",
        "run a TOML config end to end",
        "Every stage the config describes (sample or raw files, ingest, reconcile, panel,\n"
        "estimations, scenarios, tables and figures), writing under its [run].root. The\n"
        "config is data, never code; see src/ca_trade/data/demo.toml for a full example.",
        "ca-trade run src/ca_trade/data/demo.toml --check",
    )
    s.add_argument("config", type=Path, help="the TOML file")
    s.add_argument(
        "--check",
        action="store_true",
        help="regenerate in a temporary folder and compare with the outputs on disk (exit 3 "
        "when they differ)",
    )

    s = _add_command(
        sub,
        "demo",
        "the end-to-end demo on the SYNTHETIC sample",
        "The run of the packaged demo config (src/ca_trade/data/demo.toml): two PPML\n"
        "specifications and three scenarios; prints the recovered against the true\n"
        "parameters and the headline welfare changes.",
        "ca-trade demo --out reports/demo",
    )
    s.add_argument("--out", type=Path, default=Path("reports/demo"), help="output directory")


def _download_parser(sub: _Commands) -> None:
    s = _add_command(
        sub,
        "download",
        "UN Comtrade data from the UN's API -> raw files (resumable, recorded)",
        "Splits the query into pieces the API can answer, retries politely and records each\n"
        "piece, so a second run resumes. The subscription key is read from COMTRADE_API_KEY\n"
        "(never from the command line, where shell histories and process lists would keep\n"
        "it). Without a key the public preview is used (at most 500 records a call).",
        "ca-trade download data/raw/comtrade --reporters KAZ,KGZ --years 2015-2022",
    )
    s.add_argument("out", type=Path, help="output folder, e.g. data/raw/comtrade")
    s.add_argument("--reporters", required=True, help="ISO3 codes, e.g. KAZ,KGZ,TJK,TKM,UZB")
    s.add_argument("--years", type=_years, required=True, help="e.g. 2015-2022")
    s.add_argument("--partners", default=None, help="ISO3 codes (default: all partners)")
    s.add_argument("--flows", default="M,X", help="among M,X,RM,RX")
    s.add_argument("--classification", default="HS", help="HS (bulk: also H0..H6)")
    s.add_argument(
        "--level", default="total", help="total, section, chapter, hs6, or HS codes (27,2709)"
    )
    s.add_argument("--frequency", choices=["A", "M"], default="A", help="annual or monthly")
    s.add_argument(
        "--access",
        choices=["preview", "api", "bulk"],
        default=None,
        help="(default: api with COMTRADE_API_KEY set, else preview)",
    )
    s.add_argument(
        "--base-url",
        default=None,
        help="API root (default: $CA_TRADE_COMTRADE_URL or https://comtradeapi.un.org)",
    )
    s.add_argument(
        "--max-records",
        type=int,
        default=None,
        help="records a call may return (default: the access level's limit)",
    )
    s.add_argument("--rate", type=float, default=10.0, help="requests per minute")
    s.add_argument("--max-retries", type=int, default=5, help="retries of a failed request")
    s.add_argument("--backoff", type=float, default=2.0, help="first retry wait, seconds")
    s.add_argument("--timeout", type=float, default=120.0, help="seconds of silence allowed")
    s.add_argument(
        "--max-requests",
        type=int,
        default=None,
        help="requests allowed this run (default: no limit)",
    )
    s.add_argument("--force", action="store_true", help="fetch complete pieces again")
