"""Stage-by-stage progress of a run on stderr (only on a terminal, never with ``--quiet``).

Examples
--------
>>> p = Progress(quiet=True)
>>> with p.stage("ingest"):
...     pass
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["Progress"]


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
        self.enabled = not quiet and self.stream.isatty()

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
