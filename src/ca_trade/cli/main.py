"""``ca-trade``'s entry point: parse the arguments, run the command, map errors to exit codes.

Examples
--------
>>> main(["--version"])  # doctest: +SKIP
ca-trade 0.1.0
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from ca_trade.cli.commands import COMMANDS
from ca_trade.cli.messages import (
    EXIT_ERROR,
    EXIT_USAGE,
    clean,
    error,
    one_line,
    one_line_warnings,
)
from ca_trade.cli.parser import UsageError, build_parser
from ca_trade.exceptions import CaTradeError, ConfigError, SpecificationError

__all__ = ["main"]


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
    with one_line_warnings(enabled=not debug):
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
    except UsageError as exc:
        print(f"{clean(str(exc))}\n(see `ca-trade --help`)", file=sys.stderr)
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
            f"ca-trade: error: internal error {type(exc).__name__}: {one_line(exc)} "
            "(rerun with --debug for the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_ERROR


def _command(args: argparse.Namespace) -> int:
    """Run the command `args` name, with progress on stderr unless ``--quiet``."""
    from ca_trade.pipeline import Progress

    return COMMANDS[args.command](args, Progress(quiet=args.quiet))


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


def _fail(exc: BaseException, debug: bool, code: int) -> int:
    if debug:
        traceback.print_exc()
    return error(one_line(exc), code)
