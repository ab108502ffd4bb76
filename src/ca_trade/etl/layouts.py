r"""Detect and read the four UN Comtrade file layouts.

Layouts (``../shared/reference/README.md``):

- ``legacy_api``: legacy API csv, 35 columns (``Trade Flow Code``, ``2nd Partner Code``, ...);
- ``legacy_bulk``: legacy bulk csv, 22 columns (goods) or 18 (services, no quantities);
- ``plus_api``: Comtrade+ API csv, 47 columns (``reporterCode``, ``primaryValue``, ...);
- ``plus_bulk``: Comtrade+ bulk, tab separated, usually gzip, ``CIFValue``/``FOBValue``.

The layout is detected from the header alone, case- and whitespace-insensitively (header
names are reduced to lower-case letters and digits, so ``Trade Value (US$)``,
``TradeValueUS`` and ``trade value us`` are the same column). Every field is read as text,
as written; trimming, typing and validation happen in :mod:`ca_trade.etl.validate`.

Examples
--------
>>> sniff_header(b"Classification,Year,Period,Trade Flow Code,Reporter Code,Partner Code,"
...              b"Commodity Code,Trade Value (US$)\n1,2").layout
'legacy_bulk'
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ca_trade.etl.rawtext import gunzip_blocks

__all__ = [
    "CANONICAL_FIELDS",
    "EXTRA_FIELD",
    "REQUIRED_FIELDS",
    "HeaderInfo",
    "gunzip_to",
    "normalise_name",
    "read_head",
    "scan_layout",
    "sniff_header",
]

#: Canonical raw fields every reader produces (as text); absent ones are null.
CANONICAL_FIELDS: tuple[str, ...] = (
    "classification",
    "year",
    "period",
    "freq",
    "flow",
    "reporter_code",
    "partner_code",
    "partner2_code",
    "customs_code",
    "mot_code",
    "mos_code",
    "cmd_code",
    "qty_unit_code",
    "qty",
    "net_weight_kg",
    "value_usd",
    "cif_usd",
    "fob_usd",
    "flag",
)

#: Column of :func:`scan_layout` holding the first field beyond the header's last column
#: (null unless a row has more non-empty fields than its header: a ragged row).
EXTRA_FIELD = "_extra"

# Normalised header name(s) of each canonical field, per layout family.
_LEGACY: dict[str, tuple[str, ...]] = {
    "classification": ("classification",),
    "year": ("year",),
    "period": ("period",),
    "flow": ("tradeflowcode",),
    "reporter_code": ("reportercode",),
    "partner_code": ("partnercode",),
    "partner2_code": ("2ndpartnercode",),
    "customs_code": ("customsproccode",),
    "mot_code": ("modeoftransportcode",),
    "cmd_code": ("commoditycode",),
    "qty_unit_code": ("qtyunitcode",),
    "qty": ("qty",),
    "net_weight_kg": ("netweightkg", "netweight"),
    "value_usd": ("tradevalueus", "tradevalue"),
    "cif_usd": ("ciftradevalueus", "ciftradevalue"),
    "fob_usd": ("fobtradevalueus", "fobtradevalue"),
    "flag": ("flag",),
}
_PLUS: dict[str, tuple[str, ...]] = {
    "classification": ("classificationcode",),
    "year": ("refyear",),
    "period": ("period",),
    "freq": ("freqcode",),
    "flow": ("flowcode",),
    "reporter_code": ("reportercode",),
    "partner_code": ("partnercode",),
    "partner2_code": ("partner2code",),
    "customs_code": ("customscode",),
    "mot_code": ("motcode",),
    "mos_code": ("moscode",),
    "cmd_code": ("cmdcode",),
    "qty_unit_code": ("qtyunitcode",),
    "qty": ("qty",),
    "net_weight_kg": ("netwgt",),
    "value_usd": ("primaryvalue",),
    "cif_usd": ("cifvalue",),
    "fob_usd": ("fobvalue",),
    "flag": ("legacyestimationflag",),
}
#: Fields without which a file is not a usable Comtrade file (a header lacking one is named).
REQUIRED_FIELDS: tuple[str, ...] = (
    "classification",
    "year",
    "flow",
    "reporter_code",
    "partner_code",
    "cmd_code",
    "value_usd",
)

_NON_ALNUM = re.compile(r"[^a-z0-9]")


def normalise_name(name: str) -> str:
    """Reduce a header name to lower-case letters and digits.

    Parameters
    ----------
    name : str
        A column name as written in a file header.

    Returns
    -------
    str
        The name without case, whitespace or punctuation.

    Examples
    --------
    >>> normalise_name(" Trade Value (US$) ")
    'tradevalueus'
    """
    return _NON_ALNUM.sub("", name.strip().lower())


@dataclass(frozen=True)
class HeaderInfo:
    """What the header of a file says about its layout.

    Attributes
    ----------
    layout : str or None
        ``legacy_api``, ``legacy_bulk``, ``plus_api``, ``plus_bulk`` or None (not Comtrade).
    separator : str
        Field separator (``,`` or tab).
    gzip : bool
        The file is gzip-compressed (detected from its magic bytes).
    columns : tuple of str
        Header names as written (BOM removed).
    positions : dict
        Canonical field -> 0-based column index (first occurrence where a name repeats).
    missing : tuple of str
        Required canonical fields the header lacks (empty when the layout is complete).
    duplicated : tuple of str
        Header names that occur more than once.
    ambiguous : tuple of str
        Header names of canonical fields that more than one column could supply (a name
        repeated, or two spellings of one field): ingest refuses such a file, since it
        cannot know which column holds the value.
    """

    layout: str | None
    separator: str
    gzip: bool
    columns: tuple[str, ...]
    positions: dict[str, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    duplicated: tuple[str, ...] = ()
    ambiguous: tuple[str, ...] = ()


def read_head(path: Path, n_bytes: int = 65536) -> tuple[bytes, bool]:
    r"""Return the first bytes of a file (decompressed when gzip) and whether it is gzip.

    Parameters
    ----------
    path : Path
        The file.
    n_bytes : int, default 65536
        How many (decompressed) bytes to return at most.

    Returns
    -------
    tuple of (bytes, bool)
        The leading bytes and the gzip flag. A truncated or corrupt gzip stream returns
        what could be decompressed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_bytes(b"x,y\n1,2\n")
    >>> read_head(p)
    (b'x,y\n1,2\n', False)
    """
    with open(path, "rb") as fh:
        raw = fh.read(n_bytes)
    if raw[:2] != b"\x1f\x8b":
        return raw, False
    try:
        with gzip.open(path, "rb") as gz:
            return gz.read(n_bytes), True
    except (OSError, EOFError, zlib.error):
        dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            return dec.decompress(raw, n_bytes), True
        except zlib.error:
            return b"", True


def sniff_header(head: bytes, *, gzip_file: bool = False) -> HeaderInfo:
    r"""Detect the Comtrade layout from the first bytes of a file.

    Parameters
    ----------
    head : bytes
        The leading (decompressed) bytes of the file, at least its first line.
    gzip_file : bool, default False
        Whether the file was gzip-compressed (recorded on the result).

    Returns
    -------
    HeaderInfo
        ``layout`` is None where the header is not a Comtrade header; ``missing`` lists
        required fields absent from an otherwise recognised header.

    Examples
    --------
    >>> info = sniff_header(b"reporterCode\tflowCode\tpartnerCode\tcmdCode\n")
    >>> info.layout, info.separator, info.missing[:2]
    ('plus_bulk', '\t', ('classification', 'year'))
    """
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    text = first.decode("utf-8", errors="replace").lstrip("\ufeff")
    separator = "\t" if text.count("\t") > text.count(",") else ","
    columns = tuple(_split_header(text, separator))
    norm = [normalise_name(c) for c in columns]
    seen: dict[str, int] = {}
    duplicated: list[str] = []
    for i, n in enumerate(norm):
        if n in seen:
            duplicated.append(columns[i])
        else:
            seen[n] = i
    if "reportercode" in seen and ("flowcode" in seen or "primaryvalue" in seen):
        aliases, layout = _PLUS, ("plus_bulk" if separator == "\t" else "plus_api")
    elif "reportercode" in seen and "tradeflowcode" in seen:
        aliases = _LEGACY
        legacy_api = "2ndpartnercode" in seen or "customsproccode" in seen
        layout = "legacy_api" if legacy_api else "legacy_bulk"
    else:
        return HeaderInfo(None, separator, gzip_file, columns, duplicated=tuple(duplicated))
    positions: dict[str, int] = {}
    ambiguous: list[str] = []
    for canon, names in aliases.items():
        for n in names:
            if n in seen:
                positions[canon] = seen[n]
                break
        matches = [columns[i] for i, n in enumerate(norm) if n in names]
        if len(matches) > 1:
            ambiguous.append(" / ".join(matches))
    missing = tuple(f for f in REQUIRED_FIELDS if f not in positions)
    return HeaderInfo(
        layout,
        separator,
        gzip_file,
        columns,
        positions,
        missing,
        tuple(duplicated),
        tuple(ambiguous),
    )


def _split_header(text: str, separator: str) -> list[str]:
    """Split a header line, honouring double quotes."""
    out: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch == separator and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def gunzip_to(path: Path, dest: Path, *, block_bytes: int = 1 << 20) -> int:
    r"""Decompress a gzip file (one or several members) into ``dest``, streaming.

    Ingest decompresses a gzip file to a temporary plain file beside its stage and lets
    Polars stream that: Polars would otherwise inflate the whole file in memory.

    Parameters
    ----------
    path : Path
        The gzip file.
    dest : Path
        The plain file to write (replaced if it exists).
    block_bytes : int, default 1 MiB
        Compressed bytes read at a time (memory stays bounded by a small multiple of it
        times the compression ratio).

    Returns
    -------
    int
        Decompressed bytes written.

    Raises
    ------
    EOFError
        The stream ends before its end-of-stream marker (a truncated download).
    zlib.error
        The stream is corrupt.

    Examples
    --------
    >>> import gzip, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.gz").write_bytes(gzip.compress(b"h\n1\n", mtime=0) + gzip.compress(b"2\n"))
    >>> gunzip_to(d / "a.gz", d / "a.csv"), (d / "a.csv").read_bytes()
    (6, b'h\n1\n2\n')
    """
    written = 0
    with open(dest, "wb") as out:
        for data in gunzip_blocks(path, block_bytes):
            out.write(data)
            written += len(data)
    return written


def scan_layout(source: Path | bytes, info: HeaderInfo) -> pl.LazyFrame:
    r"""Lazily read a Comtrade file (or its content) into the canonical raw fields, as text.

    Parameters
    ----------
    source : Path or bytes
        The file (plain UTF-8 with ``\n`` or ``\r\n`` line ends: ingest first turns other
        files into that with :func:`ca_trade.etl.rawtext.to_plain`), or its content, header
        line first.
    info : HeaderInfo
        Its header, from :func:`sniff_header`; ``info.layout`` must not be None.

    Returns
    -------
    polars.LazyFrame
        Columns ``_line`` (1-based line in the decompressed file; header is line 1) and
        :data:`CANONICAL_FIELDS` (String as written, surrounding whitespace included; null
        where the field is empty or missing, or the layout has no such column), then
        :data:`EXTRA_FIELD` (the first surplus field of a row longer than its header).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.tsv"
    >>> _ = p.write_bytes(b"refYear\treporterCode\tflowCode\tpartnerCode\tcmdCode\t"
    ...                   b"primaryValue\tclassificationCode\n"
    ...                   b"2019\t398\tX\t156\tTOTAL\t5\tH5\n")
    >>> info = sniff_header(p.read_bytes())
    >>> scan_layout(p, info).select("_line", "reporter_code", "cmd_code").collect().row(0)
    (2, '398', 'TOTAL')
    """
    n = len(info.columns)
    # One column more than the header: a row with surplus fields fills it (then quarantined
    # as ragged), wherever the row is; a short row leaves the missing fields empty.
    schema = {f"c{i}": pl.String() for i in range(n + 1)}
    lf = pl.scan_csv(
        source,
        has_header=False,
        skip_rows=1,
        separator=info.separator,
        schema=schema,
        truncate_ragged_lines=True,
        missing_columns="insert",
        extra_columns="ignore",
        encoding="utf8-lossy",
        row_index_name="_line",
        row_index_offset=2,
        raise_if_empty=False,
    )
    exprs: list[pl.Expr] = [pl.col("_line").cast(pl.Int64)]
    for canon in CANONICAL_FIELDS:
        pos = info.positions.get(canon)
        if pos is None:
            exprs.append(pl.lit(None, dtype=pl.String).alias(canon))
        else:
            exprs.append(pl.col(f"c{pos}").alias(canon))
    exprs.append(pl.col(f"c{n}").alias(EXTRA_FIELD))
    return lf.select(exprs)
