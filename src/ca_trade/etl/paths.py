r"""Paths as users type them: resolved once, at every entry point of the ETL.

Every public ETL function that takes a folder or file (:func:`ca_trade.etl.ingest`,
:func:`ca_trade.etl.reconcile`, :func:`ca_trade.etl.build_panel`, the source readers) and the
``ca-trade`` commands resolve it with :func:`resolve` first: relative to the current
directory, ``..`` removed, symbolic links followed. Everything after works on absolute, real
paths, so ``data/processed``, ``etl/../data/processed`` and a symlink to it give the same
result, byte for byte, as the absolute path.

Examples
--------
>>> import os, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()).resolve()
>>> (d / "real").mkdir()
>>> (d / "link").symlink_to(d / "real")
>>> resolve(d / "link" / ".." / "link") == d / "real"
True
"""

from __future__ import annotations

import os
from pathlib import Path

from ca_trade.exceptions import DataValidationError

__all__ = ["recorded_name", "resolve", "separate_folders"]


def resolve(path: str | os.PathLike[str]) -> Path:
    """Return the absolute, real form of a path (symbolic links followed, ``..`` removed).

    Parameters
    ----------
    path : str or path-like
        As the user gave it; it need not exist.

    Returns
    -------
    Path
        Absolute, without ``..`` and without symbolic links in its existing part.

    Examples
    --------
    >>> resolve("a/../b") == resolve("b")
    True
    """
    return Path(path).resolve()


def _hidden(rel: Path) -> bool:
    return any(part.startswith((".", "_")) for part in rel.parts)


def separate_folders(
    raw_dir: str | os.PathLike[str], processed_dir: str | os.PathLike[str]
) -> tuple[Path, Path]:
    """Resolve the input and output folders of an ingest and check that they do not nest.

    Parameters
    ----------
    raw_dir : str or path-like
        The folder of source files (must exist).
    processed_dir : str or path-like
        The dataset folder (need not exist).

    Returns
    -------
    tuple of Path
        Both, resolved.

    Raises
    ------
    DataValidationError
        ``raw_dir`` is not a directory; the two are the same folder; ``raw_dir`` is inside
        ``processed_dir`` (which ingest replaces); or ``processed_dir`` is inside
        ``raw_dir`` other than in a folder whose name starts with ``_`` or ``.`` (which
        ingest skips).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> separate_folders(d, d / "x" / "..")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ca_trade.exceptions.DataValidationError: processed_dir must not be raw_dir itself ...
    """
    raw, out = resolve(raw_dir), resolve(processed_dir)
    if not raw.is_dir():
        raise DataValidationError(f"raw_dir {raw} is not a directory; create it and add files")
    if out == raw:
        raise DataValidationError(
            f"processed_dir must not be raw_dir itself ({raw}); write the dataset to a "
            "folder of its own, e.g. data/processed beside data/raw"
        )
    if out in raw.parents:
        raise DataValidationError(
            f"raw_dir {raw} must not be inside processed_dir {out}, which ingest replaces; "
            "move the raw files out of it"
        )
    if raw in out.parents and not _hidden(out.relative_to(raw)):
        raise DataValidationError(
            f"processed_dir {out} must not be inside raw_dir {raw} (ingest would read its own "
            "output); put it beside raw_dir, or in a folder of raw_dir whose name starts "
            "with '_' or '.', which ingest skips"
        )
    return raw, out


def recorded_name(path: Path, root: Path) -> tuple[str, bool]:
    r"""Return the name recorded for a file under ``root``, and whether it is valid UTF-8.

    The name is the POSIX path relative to ``root``. A name that is not valid UTF-8 (say, a
    Latin-1 name from an old archive) is recorded with each undecodable byte written as
    ``\xNN``, so it can be stored in Parquet and JSON; the file is still read.

    Parameters
    ----------
    path : Path
        A file under ``root``.
    root : Path
        The folder names are relative to.

    Returns
    -------
    tuple of (str, bool)
        The name, and False where it had to be escaped.

    Examples
    --------
    >>> import os
    >>> recorded_name(Path(os.fsdecode(b"/r/caf\xe9.csv")), Path("/r"))
    ('caf\\xe9.csv', False)
    """
    rel = path.relative_to(root).as_posix()
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(rel).decode("utf-8", errors="backslashreplace"), False
    return rel, True
