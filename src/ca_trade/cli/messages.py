r"""What ``ca-trade`` prints when something goes wrong: exit codes, errors and warnings.

Errors are one line on stderr, ``ca-trade: error: ...``; warnings one line each,
``ca-trade: warning: ...``; both in plain text: ANSI escape sequences (colours, cursor moves)
are removed and other control characters shown as ``?``, whatever a library or a file name
put in the message.

Examples
--------
>>> clean("\x1b[31mred\x1b[0m\tand\x07 plain")
'red and? plain'
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = [
    "EXIT_CHECK_FAILED",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_USAGE",
    "clean",
    "error",
    "one_line",
    "one_line_warnings",
    "plain",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CHECK_FAILED = 3

# ANSI/VT100 escape sequences (colours, cursor moves) and other control characters, which
# some libraries put in their messages and which a file name can carry
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def plain(text: str) -> str:
    r"""Return `text` with escape sequences removed and control characters shown as ``?``.

    Line breaks and tabs are kept (see :func:`clean` for one line).

    Parameters
    ----------
    text : str

    Returns
    -------
    str

    Examples
    --------
    >>> plain("a\x1b[1mb\x1b[0m\nc")
    'ab\nc'
    """
    return _CONTROL.sub("?", _ANSI.sub("", text))


def clean(text: str) -> str:
    """Return one line of plain text: escape sequences removed, control characters as ``?``.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    return " ".join(plain(text).split())


def one_line(exc: BaseException) -> str:
    """Return an exception's message as one clean line (its class name when it has none).

    Parameters
    ----------
    exc : BaseException

    Returns
    -------
    str
    """
    return clean(str(exc)) or type(exc).__name__


def error(message: str, code: int) -> int:
    """Print ``ca-trade: error: <message>`` (one clean line) on stderr; return `code`.

    Parameters
    ----------
    message : str
    code : int
        The exit code to return.

    Returns
    -------
    int
        `code`.
    """
    print(f"ca-trade: error: {clean(message)}", file=sys.stderr)
    return code


@contextmanager
def one_line_warnings(*, enabled: bool) -> Iterator[None]:
    """Show warnings as one clean line each while the command runs; restore the display.

    Parameters
    ----------
    enabled : bool
        False leaves Python's display as it is (``--debug``).

    Yields
    ------
    None
    """
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
    print(f"ca-trade: warning: {clean(str(message))}", file=sys.stderr)
