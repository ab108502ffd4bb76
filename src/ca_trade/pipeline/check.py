"""``ca-trade run --check``: regenerate a run's outputs and compare them byte for byte.

The run is regenerated in a temporary folder. When the outputs differ, the regenerated
artefacts are kept under ``<root>/.check/`` (:data:`KEPT_NAME`, replaced by each failing
check, removed by a passing one) and every difference names its regenerated copy, so a
scheduled job can show or upload what changed. ``docs/ci.md`` shows such a job.

Examples
--------
>>> CheckReport().describe()
'all outputs are identical'
"""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from ca_trade._io import confine, output_root
from ca_trade.pipeline.config import Config
from ca_trade.pipeline.progress import Progress
from ca_trade.pipeline.stages import execute

__all__ = ["KEPT_NAME", "CheckReport", "check_outputs", "compare_outputs"]

#: Folder under the run's root where a failing check keeps the regenerated artefacts.
KEPT_NAME = ".check"


@dataclass
class CheckReport:
    """Differences found by ``--check`` between regenerated and committed outputs.

    Parameters
    ----------
    changed, missing, extra : list of str
        Paths (relative to the run root) that differ, exist only in the regenerated
        outputs, or exist only on disk.
    kept : pathlib.Path or None
        Where the regenerated artefacts were kept (``<root>/.check``) when the check
        failed; ``kept / path`` is the regenerated copy of each changed or missing path.
    """

    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    kept: Path | None = None

    def __repr__(self) -> str:
        """Return the counts and the first paths of each kind of difference."""

        def first(paths: list[str]) -> str:
            more = f", ... {len(paths) - 3} more" if len(paths) > 3 else ""
            return f"{len(paths)} {paths[:3]!r}{more}"

        return (
            f"CheckReport(ok={self.ok}, changed={first(self.changed)}, "
            f"missing={first(self.missing)}, extra={first(self.extra)})"
        )

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
        lines = [f"changed: {p}{self._copy(p)}" for p in self.changed]
        lines += [f"missing on disk: {p}{self._copy(p)}" for p in self.missing]
        lines += [f"not produced by the config: {p}" for p in self.extra]
        if self.kept is not None and lines:
            lines.append(f"the regenerated artefacts are kept in {self.kept}")
        return "\n".join(lines) if lines else "all outputs are identical"

    def _copy(self, rel: str) -> str:
        return "" if self.kept is None else f" (regenerated: {self.kept / rel})"


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


def check_outputs(cfg: Config, progress: Progress) -> CheckReport:
    """Regenerate a run in a temporary directory and compare it with the outputs on disk.

    Parameters
    ----------
    cfg : Config
        The configuration whose outputs are on disk.
    progress : Progress
        Progress reporter.

    Returns
    -------
    CheckReport
        The differences; when there are some, ``kept`` is the folder
        (``<root>/.check``) holding the regenerated artefacts.
    """
    with tempfile.TemporaryDirectory(prefix="ca_trade_check_") as tmp:
        fresh_root = Path(tmp) / "run"
        raw = cfg.raw_dir
        if cfg.source_kind == "sample" and raw.is_relative_to(cfg.root):
            raw = fresh_root / raw.relative_to(cfg.root)
        fresh = replace(cfg, root=fresh_root, raw_dir=raw)
        execute(fresh, progress)
        report = compare_outputs(fresh, cfg)
        report.kept = _keep(fresh, cfg, report.ok)
        return report


def _keep(fresh: Config, disk: Config, ok: bool) -> Path | None:
    """Copy the regenerated artefacts to ``<root>/.check`` after a failed check."""
    kept = disk.root / KEPT_NAME
    with output_root(disk.root):
        confine(kept, disk.root)
        if kept.exists():
            shutil.rmtree(kept)
        if ok:
            return None
        for folder in fresh.output_dirs:
            if folder.is_dir():
                shutil.copytree(folder, kept / folder.relative_to(fresh.root))
    return kept
