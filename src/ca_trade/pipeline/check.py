"""``ca-trade run --check``: regenerate a run's outputs and compare them byte for byte.

Examples
--------
>>> CheckReport().describe()
'all outputs are identical'
"""

from __future__ import annotations

import filecmp
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from ca_trade.pipeline.config import Config
from ca_trade.pipeline.progress import Progress
from ca_trade.pipeline.stages import execute

__all__ = ["CheckReport", "check_outputs", "compare_outputs"]


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
        The differences.
    """
    with tempfile.TemporaryDirectory(prefix="ca_trade_check_") as tmp:
        fresh_root = Path(tmp) / "run"
        raw = cfg.raw_dir
        if cfg.source_kind == "sample" and raw.is_relative_to(cfg.root):
            raw = fresh_root / raw.relative_to(cfg.root)
        fresh = replace(cfg, root=fresh_root, raw_dir=raw)
        execute(fresh, progress)
        return compare_outputs(fresh, cfg)
