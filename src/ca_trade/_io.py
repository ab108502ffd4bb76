r"""Atomic file replacement shared by the ETL store and the report writers (internal).

Every artefact is written to a temporary file beside its destination and moved into place
with :func:`os.replace`, so a crash never leaves a half-written file behind.

Examples
--------
>>> import tempfile, pathlib
>>> p = replace_atomically(pathlib.Path(tempfile.mkdtemp()) / "x.txt", lambda t: t.write_text("a"))
>>> p.read_text()
'a'
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "replace_atomically"]


def replace_atomically(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Let `write` fill a temporary file beside `path`, then move it into place.

    Parameters
    ----------
    path : path-like
        Destination; its parent directories are created.
    write : callable
        Called with the temporary file's path; must write the whole content there.

    Returns
    -------
    pathlib.Path
        The destination (mode 0644). On any error the temporary file is removed and the
        destination is left untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> replace_atomically(d / "a" / "b.bin", lambda t: t.write_bytes(b"1")).read_bytes()
    b'1'
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> Path:
    r"""Write a file atomically: to a temporary file beside it, then :func:`os.replace`.

    Parameters
    ----------
    path : path-like
        Destination; its parent directories are created.
    data : bytes or str
        Content; text is encoded as UTF-8 with ``\n`` line ends.

    Returns
    -------
    pathlib.Path
        The destination.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = atomic_write(pathlib.Path(tempfile.mkdtemp()) / "a" / "b.txt", "hi\n")
    >>> p.read_text()
    'hi\n'
    """
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)

    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())

    return replace_atomically(path, _write)
