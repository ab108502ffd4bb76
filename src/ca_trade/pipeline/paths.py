"""Paths of a run configuration: the project root, resolution once, inputs apart from outputs.

Every configured path is resolved once, relative to the project (never the working
directory), and judged by where it leads after ``..`` and symbolic links; the raw files may
not overlap what the run writes.

Examples
--------
>>> from pathlib import Path
>>> resolve_path("out/../out", Path("/p"), Path("/p"), "cfg [run].root")
PosixPath('/p/out')
"""

from __future__ import annotations

import os
from pathlib import Path

from ca_trade._io import escape_route
from ca_trade.exceptions import ConfigError

__all__ = ["check_layout", "find_project_root", "resolve_path"]


def find_project_root(start: str | os.PathLike[str]) -> Path:
    """Return the nearest ancestor of ``start`` holding ``pyproject.toml`` or ``.git``.

    Parameters
    ----------
    start : path-like
        A file or directory.

    Returns
    -------
    pathlib.Path
        That ancestor, or the directory of ``start`` when there is none.

    Examples
    --------
    >>> find_project_root("/").is_dir()
    True
    """
    p = Path(start).resolve()
    base = p if p.is_dir() else p.parent
    for cand in (base, *base.parents):
        if (cand / "pyproject.toml").is_file() or (cand / ".git").exists():
            return cand
    return base


def resolve_path(
    raw: object,
    base: Path,
    limit: Path | None,
    where: str,
    *,
    scope: str = "the project",
    hint: str = "unless [run] allow_outside_project = true",
) -> Path:
    """Resolve a configured path once (symbolic links and ``..``) and keep it inside `limit`.

    Relative, ``..``, absolute and symlinked spellings of one place give the same result;
    only where the path leads counts.

    Parameters
    ----------
    raw : str
        The path as configured.
    base : pathlib.Path
        What a relative path is relative to.
    limit : pathlib.Path or None
        The folder it must stay in (None: anywhere).
    where : str
        File and key, for the error message.
    scope, hint : str
        How the message names `limit` and what to do.

    Returns
    -------
    pathlib.Path
        The resolved path.

    Raises
    ------
    ConfigError
        When `raw` is not a path or leads out of `limit` (saying how: absolute, ``..`` or
        which symbolic link).
    """
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{where} must be a non-empty path string; got {raw!r}")
    p = Path(raw)
    resolved = (base / p).resolve()
    if limit is None or resolved.is_relative_to(limit):
        return resolved
    if p.is_absolute():
        how = f"is an absolute path to {resolved}"
    elif ".." in p.parts:
        how = f"climbs out with '..' to {resolved}"
    else:
        how = f"leads out: {escape_route(base / p, limit)}"
    raise ConfigError(
        f"{where} = {raw!r} {how}, outside {scope} ({limit}); paths must stay inside {scope} {hint}"
    )


def _overlap(a: Path, b: Path) -> bool:
    return a.is_relative_to(b) or b.is_relative_to(a)


def check_layout(raw_dir: Path, root: Path, where: str) -> None:
    """Refuse raw input that overlaps what the run writes.

    Parameters
    ----------
    raw_dir : pathlib.Path
        The raw files (resolved).
    root : pathlib.Path
        The run's output root (resolved).
    where : str
        The config file, for the message.

    Raises
    ------
    ConfigError
        Naming the output `raw_dir` overlaps.

    Examples
    --------
    >>> from pathlib import Path
    >>> check_layout(Path("/p/data/raw"), Path("/p/reports/x"), "cfg")
    """
    written = {
        "the processed data": root / "data" / "processed",
        "the panel": root / "data" / "panel.parquet",
        "the tables": root / "tables",
        "the figures": root / "figures",
        "the saved estimates": root / "estimates",
    }
    for name, path in written.items():
        if _overlap(raw_dir, path):
            raise ConfigError(
                f"{where} [source].raw_dir ({raw_dir}) overlaps {name} ({path}), which the run "
                "writes: the run would read its own outputs or overwrite its inputs. Keep the "
                "raw files and [run].root apart (e.g. raw_dir = 'data/raw', root = 'reports/x')"
            )
