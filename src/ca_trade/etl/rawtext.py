r"""The raw bytes of a source file: compression, encoding, line ends, and an independent count.

Files come from many tools. This module finds out, from the first bytes, how a file is stored,
and turns any of it into the one form the CSV reader streams (UTF-8, ``\n`` line ends, plain):

- **compression**: gzip (from the magic bytes; several members allowed);
- **encoding**: UTF-8 or any single-byte text (read as UTF-8, invalid bytes replaced), UTF-8
  with a BOM, UTF-16 LE/BE with a BOM (Excel's "Unicode text") or without one (recognised
  from an ASCII header: every other byte is zero);
- **line ends**: ``\n``, ``\r\n`` or ``\r`` alone (old Mac, some Excel exports), even mixed.

:class:`LineCounter` counts the lines of a file at the byte level (code units of the file's
encoding: every ``\n``, every ``\r\n`` and every ``\r`` alone ends a line) without any CSV
parsing. Ingest compares it with the number of records the reader produced, so a reader that
silently reads nothing, merges lines (an unclosed quote) or splits them cannot pass the balance
check.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "mac.csv"
>>> _ = p.write_bytes(b"a,b\r1,2\r3,4\r")
>>> head = sniff_file(p)
>>> head.format.cr_only, head.header, head.problem
(True, b'a,b', None)
>>> c = LineCounter()
>>> to_plain(p, p.with_suffix(".lf"), head.format, c)
>>> p.with_suffix(".lf").read_bytes(), c.data_lines
(b'a,b\n1,2\n3,4\n', 2)
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "GZIP_PROBLEM",
    "MAX_HEADER_BYTES",
    "SAMPLE_BYTES",
    "LineCounter",
    "RawHead",
    "TextFormat",
    "count_lines",
    "file_blocks",
    "gunzip_blocks",
    "sniff_file",
    "to_plain",
]

#: The longest header line read (bytes, decompressed); a longer one is refused with a reason.
MAX_HEADER_BYTES = 16 << 20
#: Bytes of the start of a file examined to recognise it (at least the whole header line).
SAMPLE_BYTES = 1 << 16
#: Advice recorded for a gzip stream that is cut short or damaged (``{}``: the zlib message).
GZIP_PROBLEM = "truncated or corrupt gzip stream ({}); download the file again"
_GZIP_MAGIC = b"\x1f\x8b"
_BLOCK = 1 << 20
# Share of control characters (other than tab and line ends) above which a file is not text.
_CONTROL_SHARE = 0.05
_CONTROL = frozenset(chr(c) for c in range(32)) - {"\t", "\n", "\r"}


@dataclass(frozen=True)
class TextFormat:
    r"""How a file's text is stored.

    Attributes
    ----------
    gzip : bool
        gzip-compressed.
    encoding : str
        ``utf-8`` (also any single-byte encoding, read as UTF-8), ``utf-16-le`` or
        ``utf-16-be``.
    bom : bool
        The text starts with a byte order mark.
    cr_only : bool
        The first line ends with ``\r`` alone (old Mac line ends).
    """

    gzip: bool = False
    encoding: str = "utf-8"
    bom: bool = False
    cr_only: bool = False

    @property
    def width(self) -> int:
        """Bytes per code unit (1 for UTF-8, 2 for UTF-16)."""
        return 2 if self.encoding.startswith("utf-16") else 1

    @property
    def plain(self) -> bool:
        r"""Whether the CSV reader can stream the file as it is (UTF-8 text, ``\n`` ends)."""
        return not self.gzip and self.width == 1 and not self.cr_only


@dataclass(frozen=True)
class RawHead:
    """What the first bytes of a file say.

    Attributes
    ----------
    format : TextFormat
        How its text is stored.
    header : bytes
        Its first line as UTF-8, without line end or BOM.
    empty : bool
        The file holds nothing but whitespace.
    problem : str or None
        Why the file cannot be read as text (a truncated gzip header, binary content, a
        header line over :data:`MAX_HEADER_BYTES`), else None.
    reason : str or None
        The quarantine reason for ``problem`` (``unparseable_file``, ``not_text`` or
        ``unknown_layout``).
    """

    format: TextFormat
    header: bytes
    empty: bool
    problem: str | None = None
    reason: str | None = None


class LineCounter:
    r"""Count lines at the byte level: every ``\n``, ``\r\n`` and lone ``\r`` ends one.

    Fed block by block (any split, ``\r\n`` across blocks included), in code units of one
    byte (UTF-8 and single-byte encodings: no multi-byte character contains these bytes) or
    two (UTF-16, by byte order). A last line without a line end counts.

    Parameters
    ----------
    width : {1, 2}, default 1
        Bytes per code unit.
    big_endian : bool, default False
        Byte order of two-byte units.

    Examples
    --------
    >>> c = LineCounter()
    >>> for block in (b"h\r", b"\n1\r2\n", b"3"):
    ...     _ = c.update(block)
    >>> c.lines, c.data_lines, c.lone_cr
    (4, 3, 1)
    >>> c = LineCounter(2)
    >>> _ = c.update("h\r\n1\n".encode("utf-16-le"))
    >>> c.data_lines
    1
    """

    def __init__(self, width: int = 1, *, big_endian: bool = False) -> None:
        self._dtype = np.dtype(np.uint8) if width == 1 else np.dtype(">u2" if big_endian else "<u2")
        self._width = width
        self._odd = b""
        self._last = -1  # last code unit seen (-1: none yet)
        self.terminators = 0
        self.lone_cr = 0

    @classmethod
    def for_format(cls, fmt: TextFormat) -> LineCounter:
        """Return a counter for the code units of ``fmt``.

        Parameters
        ----------
        fmt : TextFormat
            The file's format.

        Returns
        -------
        LineCounter
            A fresh counter.

        Examples
        --------
        >>> LineCounter.for_format(TextFormat(encoding="utf-16-be"))._width
        2
        """
        return cls(fmt.width, big_endian=fmt.encoding == "utf-16-be")

    def update(self, block: bytes) -> int:
        r"""Count the line ends of the next block of bytes.

        Parameters
        ----------
        block : bytes
            The next bytes of the (decompressed) file.

        Returns
        -------
        int
            The number of ``\r`` units in the block (zero for nearly every block of a file
            with ``\n`` line ends, so callers can skip work).

        Examples
        --------
        >>> LineCounter().update(b"a\r\nb\n")
        1
        """
        if self._odd:
            block, self._odd = self._odd + block, b""
        if self._width == 2 and len(block) % 2:
            block, self._odd = block[:-1], block[-1:]
        if not block:
            return 0
        units = np.frombuffer(block, dtype=self._dtype)
        n_lf = int(np.count_nonzero(units == 10))
        # Nearly every block of a file with \n line ends has no \r byte at all: memchr finds
        # that faster than counting.
        n_cr = int(np.count_nonzero(units == 13)) if b"\r" in block else 0
        pairs = int(np.count_nonzero((units[:-1] == 13) & (units[1:] == 10))) if n_cr else 0
        if self._last == 13 and units[0] == 10:
            pairs += 1
        self.terminators += n_lf + n_cr - pairs
        self.lone_cr += n_cr - pairs
        self._last = int(units[-1])
        return n_cr

    @property
    def lines(self) -> int:
        """Lines seen so far (a last line without a line end included)."""
        open_line = bool(self._odd) or self._last not in (-1, 10, 13)
        return self.terminators + int(open_line)

    @property
    def data_lines(self) -> int:
        """Lines after the header line (0 for an empty file)."""
        return max(self.lines - 1, 0)


def file_blocks(path: Path, block_bytes: int = _BLOCK) -> Iterator[bytes]:
    """Yield the bytes of a file, block by block.

    Parameters
    ----------
    path : Path
        The file.
    block_bytes : int, default 1 MiB
        Block size.

    Yields
    ------
    bytes
        The next block.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a"
    >>> _ = p.write_bytes(b"abc")
    >>> list(file_blocks(p, 2))
    [b'ab', b'c']
    """
    with open(path, "rb") as fh:
        while block := fh.read(block_bytes):
            yield block


def gunzip_blocks(path: Path, block_bytes: int = _BLOCK) -> Iterator[bytes]:
    r"""Yield the decompressed bytes of a gzip file (one or several members), streaming.

    Parameters
    ----------
    path : Path
        The gzip file.
    block_bytes : int, default 1 MiB
        Compressed bytes read at a time.

    Yields
    ------
    bytes
        Decompressed data.

    Raises
    ------
    EOFError
        The stream ends before its end-of-stream marker (a truncated download).
    zlib.error
        The stream is corrupt.

    Examples
    --------
    >>> import gzip, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.gz"
    >>> _ = p.write_bytes(gzip.compress(b"h\n1\n", mtime=0) + gzip.compress(b"2\n"))
    >>> b"".join(gunzip_blocks(p))
    b'h\n1\n2\n'
    """
    dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for block in file_blocks(path, block_bytes):
        while block:
            data = dec.decompress(block)
            if data:
                yield data
            block = b""
            if dec.eof:
                rest = dec.unused_data
                if rest[:2] == _GZIP_MAGIC:  # a concatenated gzip member follows
                    dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    block = rest
    tail = dec.flush()
    if tail:
        yield tail
    if not dec.eof:
        raise EOFError("the gzip stream ends before its end-of-stream marker")


def _blocks(path: Path, gz: bool, block_bytes: int = _BLOCK) -> Iterator[bytes]:
    return gunzip_blocks(path, block_bytes) if gz else file_blocks(path, block_bytes)


def _encoding(start: bytes) -> tuple[str, bool]:
    """Guess the encoding and BOM from the first bytes (UTF-16 without BOM: ASCII header)."""
    if start[:3] == b"\xef\xbb\xbf":
        return "utf-8", True
    if start[:2] == b"\xff\xfe":
        return "utf-16-le", True
    if start[:2] == b"\xfe\xff":
        return "utf-16-be", True
    probe = start[:64]
    if len(probe) >= 8 and len(probe) % 2 == 0:
        even, odd = probe[0::2], probe[1::2]
        if not odd.strip(b"\x00") and b"\x00" not in even:
            return "utf-16-le", False
        if not even.strip(b"\x00") and b"\x00" not in odd:
            return "utf-16-be", False
    return "utf-8", False


def _decode(data: bytes, encoding: str) -> str:
    if encoding != "utf-8" and len(data) % 2:
        data = data[:-1]
    return data.decode(encoding, errors="replace")


def _line_end(buf: bytes | bytearray, encoding: str, start: int = 0) -> int:
    """Byte offset of the first line-end unit at or after ``start`` (-1: none)."""
    if encoding == "utf-8":
        found = [i for i in (buf.find(b"\n", start), buf.find(b"\r", start)) if i >= 0]
        return min(found, default=-1)
    low = 0 if encoding == "utf-16-le" else 1  # offset of the significant byte in a unit
    start -= start % 2
    best = -1
    for char in (b"\n", b"\r"):
        i = buf.find(char, start + low)
        while i >= 0:
            unit = i - low
            if unit % 2 == 0 and buf[unit + 1 - low] == 0:
                best = unit if best < 0 else min(best, unit)
                break
            i = buf.find(char, i + 1)
    return best


def sniff_file(path: Path) -> RawHead:
    r"""Find out how a file is stored and read its header line.

    Reads (and decompresses) the first :data:`SAMPLE_BYTES`, more where the header line is
    longer, up to :data:`MAX_HEADER_BYTES`.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    RawHead
        Its format and header; ``problem`` says why it cannot be read as text.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "u.txt"
    >>> _ = p.write_bytes("a\tb\r\n1\t2\r\n".encode("utf-16"))
    >>> h = sniff_file(p)
    >>> h.format.encoding, h.format.bom, h.header
    ('utf-16-le', True, b'a\tb')
    """
    with open(path, "rb") as fh:
        gz = fh.read(2) == _GZIP_MAGIC
    buf = bytearray()
    eof, end, encoding, bom = True, -1, "utf-8", False
    failure: str | None = None
    stream = _blocks(path, gz, SAMPLE_BYTES)
    try:
        for block in stream:
            if not buf:
                encoding, bom = _encoding(block)
            buf += block
            if end < 0:
                end = _line_end(buf, encoding, max(len(buf) - len(block) - 2, 0))
            width = 2 if encoding != "utf-8" else 1
            complete = 0 <= end < len(buf) - width  # the unit after the line end is known
            if (complete and len(buf) >= SAMPLE_BYTES) or len(buf) > MAX_HEADER_BYTES:
                eof = False
                break
    except (EOFError, zlib.error) as exc:
        failure = GZIP_PROBLEM.format(exc)
    finally:
        stream.close()  # type: ignore[attr-defined]
    fmt_width = 2 if encoding != "utf-8" else 1
    after = _decode(bytes(buf[end : end + 2 * fmt_width]), encoding) if end >= 0 else ""
    fmt = TextFormat(gz, encoding, bom, after[:1] == "\r" and after[1:2] != "\n")
    header = _decode(bytes(buf if end < 0 else buf[:end]), encoding).lstrip("\ufeff")
    sample = _decode(bytes(buf[:SAMPLE_BYTES]), encoding)
    empty = not sample.lstrip("\ufeff").strip()
    if failure is not None and end < 0:
        return RawHead(fmt, header.encode("utf-8", "replace"), empty, failure, "unparseable_file")
    if (end < 0 and not eof) or end > MAX_HEADER_BYTES:
        problem = f"the header line is longer than {MAX_HEADER_BYTES} bytes; is this a CSV file?"
        return RawHead(fmt, b"", empty, problem, "unknown_layout")
    controls = sum(1 for ch in sample if ch in _CONTROL)
    if "\x00" in sample or controls > _CONTROL_SHARE * len(sample):
        problem = (
            f"binary content ({controls} control characters or NUL bytes in the first "
            f"{len(sample)}): is this a zip, Excel or damaged file? Export it as CSV text"
        )
        return RawHead(fmt, b"", empty, problem, "not_text")
    return RawHead(fmt, header.encode("utf-8", "replace"), empty)


def to_plain(
    path: Path, dest: Path, fmt: TextFormat, counter: LineCounter, *, block_bytes: int = _BLOCK
) -> None:
    r"""Write a file as plain UTF-8 with ``\n`` line ends, counting its lines as they are read.

    Decompresses gzip, decodes UTF-16 (invalid units replaced), turns ``\r\n`` and a lone
    ``\r`` into ``\n``; nothing else changes, so lines keep their numbers. ``counter`` is fed
    the (decompressed) bytes before any change, so it counts the file's own lines.

    Parameters
    ----------
    path : Path
        The source file.
    dest : Path
        The plain file to write (replaced).
    fmt : TextFormat
        The source's format (:func:`sniff_file`).
    counter : LineCounter
        Fed every (decompressed) byte of the source.
    block_bytes : int, default 1 MiB
        Bytes read at a time.

    Raises
    ------
    EOFError, zlib.error
        A truncated or corrupt gzip stream.

    Examples
    --------
    >>> import gzip, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.gz").write_bytes(gzip.compress("h\r\n1\r\n".encode("utf-16"), mtime=0))
    >>> c = LineCounter(2)
    >>> to_plain(d / "a.gz", d / "a.csv", sniff_file(d / "a.gz").format, c)
    >>> (d / "a.csv").read_bytes(), c.lines
    (b'\xef\xbb\xbfh\n1\n', 2)
    """
    decoder = (
        codecs.getincrementaldecoder(fmt.encoding)(errors="replace") if fmt.width == 2 else None
    )
    held = False  # a trailing \r held back until the next block shows whether \n follows
    with open(dest, "wb") as out:
        for block in _blocks(path, fmt.gzip, block_bytes):
            n_cr = counter.update(block)
            if decoder is not None:
                text = decoder.decode(block)
                if held:
                    text = "\r" + text
                held = text.endswith("\r")
                if held:
                    text = text[:-1]
                if "\r" in text:
                    text = text.replace("\r\n", "\n").replace("\r", "\n")
                out.write(text.encode("utf-8"))
                continue
            if held:
                block = b"\r" + block
                n_cr += 1
            held = block.endswith(b"\r")
            if held:
                block = block[:-1]
            if n_cr:
                block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            out.write(block)
        if decoder is not None:
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
        if held:
            out.write(b"\n")


def count_lines(path: Path, fmt: TextFormat) -> LineCounter:
    r"""Count the lines of a file; a truncated or corrupt gzip stream counts what it yields.

    Parameters
    ----------
    path : Path
        The file.
    fmt : TextFormat
        Its format (:func:`sniff_file`).

    Returns
    -------
    LineCounter
        The finished count.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_bytes(b"h\r\n1\r\n2")
    >>> count_lines(p, TextFormat()).data_lines
    2
    """
    counter = LineCounter.for_format(fmt)
    try:
        for block in _blocks(path, fmt.gzip):
            counter.update(block)
    except (EOFError, zlib.error):
        pass  # whatever decompressed before the damage is counted
    return counter
