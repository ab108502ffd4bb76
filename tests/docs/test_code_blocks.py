"""The documentation's code blocks run as written, in order, as a reader pastes them.

Each page in :data:`RUN` is run in a temporary copy of the project, from its root, with
relative paths: its ``python`` blocks in one interpreter session (one namespace, as pasted
into ``python``), its ``bash``/``sh`` blocks in bash with ``set -euo pipefail`` and the
test's environment on ``PATH`` (so ``ca-trade`` is the installed command). A block whose
fence is directly preceded by an ``<!-- illustrative ... -->`` comment is not run: it is
marked as illustrative on the page (Stata, R, a workflow file, commands that would run this
test suite or reinstall the environment). ``docs/api.md`` is generated from the docstrings,
whose examples run as doctests.

Every other page with runnable blocks is either in :data:`RUN` or in :data:`NOT_YET` with
the reason it is not run yet, so a new page is run by default and a page leaves
``NOT_YET`` once its blocks run (issue 12, item 1).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNNABLE = {"python", "bash", "sh", "shell"}
#: Pages whose blocks run in this test.
RUN = (
    "README.md",
    "docs/etl.md",
    "docs/crosswalk.md",
    "docs/faq.md",
    "docs/ge-outputs.md",
    "docs/quickstart.md",
    "docs/tutorial-customs-union.md",
)
#: Pages with runnable blocks not run here yet, and why.
NOT_YET = {
    "docs/replication-agtpa.md": "needs CA_TRADE_REFERENCE; its numbers are checked in "
    "tests/reference/",
    "docs/tutorial-sectors.md": "its blocks run in order, as written, in "
    "tests/docs/test_tutorial_sectors.py (with checks of the numbers they print)",
    "docs/data.md": "its download block runs against a local stand-in API in "
    "tests/docs/test_data_download.py (a real download needs the network)",
}
#: Not copied into the temporary project: environments, caches, outputs of earlier runs.
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "*_cache", ".hypothesis", "__pycache__", "reports", ".check"
)

FENCE = re.compile(r"^```([A-Za-z]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
ILLUSTRATIVE = re.compile(r"<!--\s*illustrative\b[^>]*-->\s*\Z")

# Runs in the temporary project: the blocks come as JSON on stdin; stops at the first
# failure, naming the page and line of the block on stderr.
DRIVER = r"""
import json, subprocess, sys, traceback
namespace = {"__name__": "__main__"}
for block in json.load(sys.stdin):
    where = f"{block['page']}:{block['line']}"
    print(f"running {where} ({block['lang']})", flush=True)
    if block["lang"] == "python":
        try:
            exec(compile(block["code"], where, "exec"), namespace)
        except BaseException:
            traceback.print_exc()
            sys.exit(f"the block at {where} failed")
    else:
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", block["code"]])
        if proc.returncode != 0:
            sys.exit(f"the block at {where} failed with exit status {proc.returncode}")
"""


@dataclass(frozen=True)
class Block:
    """A fenced code block of a Markdown page."""

    page: str
    line: int
    lang: str
    code: str
    illustrative: bool

    @property
    def runs(self) -> bool:
        return self.lang in RUNNABLE and not self.illustrative


def blocks(page: str, text: str) -> list[Block]:
    """The fenced blocks of ``text`` (the page ``page``), in order, with their first line."""
    out = []
    for m in FENCE.finditer(text):
        lang = m.group(1).lower()
        out.append(
            Block(
                page=page,
                line=text.count("\n", 0, m.start()) + 1,
                lang="bash" if lang in {"sh", "shell"} else lang,
                code=m.group(2),
                illustrative=ILLUSTRATIVE.search(text[: m.start()]) is not None,
            )
        )
    return out


def _pages() -> list[str]:
    docs = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))
    return ["README.md", *(p for p in docs if p != "docs/api.md")]


def _runnable(page: str) -> list[Block]:
    text = (ROOT / page).read_text(encoding="utf-8")
    return [b for b in blocks(page, text) if b.runs]


def test_blocks_are_found_with_their_line_and_marker() -> None:
    text = (
        "# Title\n\n```python\nx = 1\n```\n\n<!-- illustrative: Stata -->\n```stata\nreg y x\n"
        "```\n\n<!-- illustrative -->\n```bash\nmake test\n```\n\n```sh\necho hi\n```\n"
        "\n```\ntree\n```\n"
    )
    found = blocks("page.md", text)
    assert [(b.line, b.lang, b.illustrative, b.runs) for b in found] == [
        (3, "python", False, True),
        (8, "stata", True, False),
        (13, "bash", True, False),
        (17, "bash", False, True),
        (21, "", False, False),
    ]
    assert found[0].code == "x = 1\n"


def test_every_page_with_runnable_blocks_is_run_or_says_why_not() -> None:
    with_blocks = {page for page in _pages() if _runnable(page)}
    assert set(RUN) <= with_blocks, "a page in RUN has no runnable block"
    listed = set(RUN) | set(NOT_YET)
    assert with_blocks <= listed, f"run these pages' blocks: {sorted(with_blocks - listed)}"
    assert set(NOT_YET) <= with_blocks, "these pages run nothing: remove them from NOT_YET"


@pytest.mark.slow
@pytest.mark.parametrize("page", RUN)
def test_the_page_runs_as_written(page: str, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=IGNORED)
    for stale in project.glob("results/*/data"):
        shutil.rmtree(stale)  # a regenerated run's data, ignored by git
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    script = [
        {"page": b.page, "line": b.line, "lang": b.lang, "code": b.code} for b in _runnable(page)
    ]
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER],
        cwd=project,
        env=env,
        input=json.dumps(script),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    assert proc.stdout.count("running ") == len(script)
