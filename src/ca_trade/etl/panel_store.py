"""The partitioned panel on disk: one Parquet partition per sector, published atomically.

Layout written by ``build_panel(..., out=path)`` and read by :func:`read_panel`, by
``pandas.read_parquet(path)``, ``pyarrow.dataset.dataset(path, partitioning="hive")`` and
``polars.scan_parquet(path, hive_partitioning=True)`` (the folder holds the partitions and
nothing else), one partition per task if you like::

    path/
      sector=<code>/part-0.parquet  one sector's rows (every panel column but ``sector``)

As in the flow store (:mod:`ca_trade.etl.store`), the partition key lives in the folder name
only (``sector=S05``, ``sector=27``). Chapter codes are text: :func:`read_panel` keeps them
so; a hive reader infers ``01`` as the integer 1 unless told that ``sector`` is a string
(pyarrow: ``partitioning=ds.partitioning(pa.schema([("sector", pa.string())]),
flavor="hive")``, which ``pandas.read_parquet`` passes on; polars:
``hive_schema={"sector": pl.String}``). The level (section, chapter) follows from the codes
(:func:`ca_trade.etl.panel_rules.sector_level`). Rows are sorted by exporter, importer and
year, and the same inputs give the same bytes. The panel is built in a temporary folder beside
``path`` and swapped in by two renames when complete, under an exclusive lock on the parent
folder (one writer at a time): a reader finds the old panel or the new one, never a partial
one (for the instant between the renames, no folder), and a crashed build leaves the old
panel in place (the next build restores it if the crash fell between the renames, and
removes the debris).

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()) / "panel"
>>> frame = pd.DataFrame({"exporter": ["KAZ"], "importer": ["UZB"], "year": [2019],
...                       "sector": ["S05"], "value_usd": [1.0]})
>>> ds = write_panel(d, "section", [("S05", frame)])
>>> ds.sectors, sorted(p.name for p in d.iterdir())
(('S05',), ['sector=S05'])
>>> read_panel(d).columns.tolist()
['exporter', 'importer', 'year', 'sector', 'value_usd']
>>> pd.read_parquet(d)["sector"].astype(str).tolist()
['S05']
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ca_trade._io import write_parquet
from ca_trade.etl.lock import dataset_lock
from ca_trade.etl.panel_rules import sector_level
from ca_trade.etl.paths import resolve
from ca_trade.exceptions import DataValidationError

__all__ = ["PanelDataset", "panel_level", "partition_path", "read_panel", "write_panel"]

_PREFIX = "sector="
_CODE = re.compile(r"^[A-Za-z0-9_]{1,16}$")


@dataclass(frozen=True)
class PanelDataset:
    """A panel written as one Parquet partition per sector.

    Attributes
    ----------
    path : pathlib.Path
        The panel folder.
    level : str
        ``total``, ``section`` or ``chapter``.
    sectors : tuple of str
        The sectors, sorted (one partition each).
    rows : Mapping[str, int]
        Rows per sector.

    Examples
    --------
    >>> PanelDataset(Path("p"), "section", ("S01",), {"S01": 3}).n_rows
    3
    """

    path: Path
    level: str
    sectors: tuple[str, ...]
    rows: Mapping[str, int]

    @property
    def n_rows(self) -> int:
        """Rows over all sectors."""
        return sum(self.rows.values())

    def partition(self, sector: str) -> Path:
        """Return the Parquet file of one sector."""
        return partition_path(self.path, sector)


def partition_path(path: str | os.PathLike[str], sector: str) -> Path:
    """Return the Parquet file of one sector of the panel at `path`.

    Examples
    --------
    >>> partition_path("panel", "27").as_posix()
    'panel/sector=27/part-0.parquet'
    """
    return Path(path) / f"sector={sector}" / "part-0.parquet"


def _debris(parent: Path, name: str) -> list[Path]:
    return sorted(parent.glob(f".{name}.tmp-*")) + sorted(parent.glob(f".{name}.old-*"))


def _recover(out: Path) -> None:
    """Restore a panel moved aside by a build that crashed mid-swap; remove other debris."""
    olds = sorted(out.parent.glob(f".{out.name}.old-*"))
    if not out.exists() and olds:
        os.replace(olds[-1], out)
    for stale in _debris(out.parent, out.name):
        shutil.rmtree(stale, ignore_errors=True)


def write_panel(
    out: str | os.PathLike[str],
    level: str,
    frames: Iterable[tuple[str, pd.DataFrame]],
) -> PanelDataset:
    """Write sector frames as one partition each, then publish the folder atomically.

    Parameters
    ----------
    out : path-like
        The panel folder (replaced as a whole; its parent is created).
    level : str
        The sectors' level (returned in the :class:`PanelDataset`).
    frames : iterable of (str, pandas.DataFrame)
        ``(sector, rows)`` pairs, consumed one at a time (a generator keeps one sector in
        memory); each frame's ``sector`` column is dropped (the folder name carries it).

    Returns
    -------
    PanelDataset
        What was written.

    Raises
    ------
    DataValidationError
        If a sector code is not a plain code or repeats (nothing is published then).
    UnsafePathError
        If a file would resolve outside the active output root.
    """
    target = resolve(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    with dataset_lock(target.parent, purpose="ca_trade build_panel"):
        _recover(target)
        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
        tmp.mkdir()
        try:
            for sector, frame in frames:
                if not _CODE.match(sector) or sector in rows:
                    raise DataValidationError(
                        f"sector code {sector!r} cannot name a partition (plain letters, digits "
                        "and underscores, each once)"
                    )
                body = frame.drop(columns="sector")
                write_parquet(partition_path(tmp, sector), body.reset_index(drop=True))
                rows[sector] = len(body)
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            if target.exists():
                os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return PanelDataset(target, level, tuple(sorted(rows)), dict(sorted(rows.items())))


def _sectors_in(root: Path) -> list[str]:
    """Return the sectors of the panel folder `root` (its ``sector=<code>`` folders)."""
    found = (
        sorted(p.name[len(_PREFIX) :] for p in root.iterdir() if p.name.startswith(_PREFIX))
        if root.is_dir()
        else []
    )
    if not found:
        raise DataValidationError(
            f"{root} is not a partitioned panel (no sector=<code> folders); write one with "
            "ca_trade.etl.build_panel(..., out=...)"
        )
    return found


def panel_level(path: str | os.PathLike[str]) -> str:
    """Return the level of the panel at `path` (``section``, ``chapter`` or ``total``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "p"
    >>> _ = write_panel(d, "chapter", [("27", pd.DataFrame({"sector": ["27"], "x": [1]}))])
    >>> panel_level(d)
    'chapter'
    """
    levels = sorted({sector_level(s) for s in _sectors_in(resolve(path))})
    if len(levels) != 1:
        raise DataValidationError(f"{path}: sectors of several levels {levels}")
    return levels[0]


def read_panel(
    path: str | os.PathLike[str],
    *,
    sectors: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read a panel written by ``build_panel(..., out=path)`` (or some of its sectors).

    Parameters
    ----------
    path : path-like
        The panel folder.
    sectors : sequence of str, optional
        Sectors to read (default: all); only their partitions are opened.
    columns : sequence of str, optional
        Columns to read (``sector`` is always added).

    Returns
    -------
    pandas.DataFrame
        The rows, ``sector`` as text after ``exporter, importer, year`` (those read), sorted
        by sector, exporter, importer and year.

    Raises
    ------
    DataValidationError
        If the folder is not such a panel, a sector folder lacks its partition, or a
        requested sector is not in it.
    """
    root = resolve(path)
    listed = _sectors_in(root)
    wanted = listed if sectors is None else [str(s) for s in sectors]
    unknown = sorted(set(wanted) - set(listed))
    if unknown:
        raise DataValidationError(f"{root}: no sectors {unknown}; it has {listed}")
    cols = None if columns is None else [c for c in columns if c != "sector"]
    frames = []
    for sector in sorted(wanted):
        part = partition_path(root, sector)
        if not part.is_file():
            raise DataValidationError(f"{root}: partition {part.name} of {sector} is missing")
        frame = pd.read_parquet(part, columns=cols)
        keys = [k for k in ("exporter", "importer", "year") if k in frame.columns]
        frame.insert(list(frame.columns).index(keys[-1]) + 1 if keys else 0, "sector", sector)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["sector"])
    return pd.concat(frames, ignore_index=True)
