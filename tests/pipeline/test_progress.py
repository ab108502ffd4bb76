"""Progress lines: on a terminal only, never with --quiet."""

from __future__ import annotations

import pytest

from ca_trade.pipeline import Progress


def test_progress_is_silent_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    import io

    stream = io.StringIO()
    p = Progress(stream=stream)
    with p.stage("x"):
        pass
    assert stream.getvalue() == ""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    with Progress(stream=tty).stage("ingest"):
        pass
    assert "[ca-trade] ingest" in tty.getvalue()
    quiet = Tty()
    with Progress(stream=quiet, quiet=True).stage("ingest"):
        pass
    assert quiet.getvalue() == ""
