r"""``download``: UN Comtrade data from the UN's API into ``raw_dir``, resumable and recorded.

:func:`download` fetches the reporters, years, flows and commodity level of a study and
writes them where :func:`ca_trade.etl.ingest` reads them, each piece with a sidecar
(:mod:`ca_trade.etl.sidecar`) saying exactly what was asked, from where and when:

- **Without a key**: the public preview (``public/v1/preview``), at most 500 records a call.
- **With a key** (``key=`` or ``COMTRADE_API_KEY``): the data API (``data/v1/get``; 100,000
  records a call on the free tier) or, with ``access="bulk"``, the bulk files (premium).

One piece is one request: a reporter, a year (its twelve months for ``frequency="M"``), one
flow, the commodity codes and the partners. A piece whose largest possible answer reaches
the per-call cap is split before it is sent (halves of its periods, commodity codes, then
partners, where "all partners" are the packaged area codes valid that year); a piece whose
answer still reaches the cap (or says more records exist than it carries) may be incomplete,
so it is never saved: its sidecar records the split and its halves are fetched instead.

Files (``out/api/<ISO3>/<piece>.csv``: the 47-column Comtrade+ API CSV;
``out/bulk/<ISO3>/<file>.tsv.gz``: bulk files as downloaded) are written atomically, then
their sidecars; a re-run skips every piece whose sidecar matches its query and whose file
matches the recorded sha256, so an interrupted download resumes where it stopped.

Examples
--------
>>> rep = download("data/raw/comtrade", reporters=["KAZ", "UZB"],
...                years=range(2015, 2023))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from ca_trade._io import atomic_write, replace_atomically
from ca_trade.etl._comtrade_api import (
    KEY_ENV,
    ApiError,
    Body,
    Client,
    Politeness,
    resolve_base_url,
    resolve_key,
)
from ca_trade.etl._comtrade_formats import check_csv, check_gzip_file, parse_envelope, records_csv
from ca_trade.etl._comtrade_query import (
    LEVELS,
    Areas,
    Query,
    check_flows,
    check_iso3,
    check_levels,
    check_scope,
    check_years,
)
from ca_trade.etl.sidecar import read_sidecar, write_sidecar
from ca_trade.etl.store import sha256_file
from ca_trade.exceptions import DownloadError, SpecificationError

if sys.platform != "win32":
    import fcntl

__all__ = ["ACCESS", "LEVELS", "DownloadReport", "PieceResult", "download"]

#: Ways to reach UN Comtrade.
ACCESS: tuple[str, ...] = ("preview", "api", "bulk")
SCHEMA = "ca_trade.download/1"
_SOURCE = "UN Comtrade, https://comtradeplus.un.org (subject to the UN Comtrade terms of use)"
_ENDPOINT = {"preview": "public/v1/preview", "api": "data/v1/get", "bulk": "bulk/v1/get"}
_CAP = {"preview": 500, "api": 100_000}
_HS = ("HS", "H0", "H1", "H2", "H3", "H4", "H5", "H6")
_LOCK = ".ca_trade-download.lock"


@dataclass(frozen=True)
class PieceResult:
    """What happened to one piece of a download.

    Attributes
    ----------
    file : str
        The data file, relative to ``out`` (posix); empty where there is none.
    label : str
        The piece in words (reporter, period, flow, commodities, partners).
    status : str
        ``downloaded`` (fetched now), ``complete`` (already on disk and intact: skipped),
        ``split`` (the answer reached the per-call cap; its halves follow),
        ``unavailable`` (no Comtrade code for the reporter that year, or no bulk file
        listed) or ``failed``.
    records : int
        Records in the file (or in the capped answer of a split piece).
    requests : int
        Requests this piece used (retries included).
    message : str
        Why a piece was split, unavailable or failed.
    """

    file: str
    label: str
    status: str
    records: int = 0
    requests: int = 0
    message: str = ""

    def line(self) -> str:
        """Return the piece as one progress line.

        Returns
        -------
        str
            ``<status> <label>: <records> records -> <file>`` (or the message).

        Examples
        --------
        >>> PieceResult("api/KAZ/a.csv", "KAZ 2019 M", "downloaded", 3, 1).line()
        'downloaded  KAZ 2019 M: 3 records -> api/KAZ/a.csv'
        """
        text = f"{self.status:<11} {self.label}"
        if self.status in ("downloaded", "complete"):
            return f"{text}: {self.records} records -> {self.file}"
        return f"{text}: {self.message}"


@dataclass(frozen=True)
class DownloadReport:
    """What :func:`download` did.

    Attributes
    ----------
    out : Path
        The folder written.
    access : str
        ``preview``, ``api`` or ``bulk``.
    base_url : str
        The API root used.
    pieces : tuple of PieceResult
        Every piece, in the order processed.
    requests : int
        Requests sent in this run (retries included).
    """

    out: Path
    access: str
    base_url: str
    pieces: tuple[PieceResult, ...]
    requests: int

    def __repr__(self) -> str:
        """Return the counts by status, not every piece (those are in ``pieces``)."""
        statuses = sorted({p.status for p in self.pieces})
        counts = ", ".join(f"{s} {self.count(s)}" for s in statuses) or "none"
        return (
            f"DownloadReport(out={str(self.out)!r}, access={self.access!r}, "
            f"pieces={len(self.pieces)} ({counts}), records={self.records}, "
            f"requests={self.requests})"
        )

    def count(self, status: str) -> int:
        """Return the number of pieces with a status.

        Parameters
        ----------
        status : str
            One of the statuses of :class:`PieceResult`.

        Returns
        -------
        int
            How many pieces have it.

        Examples
        --------
        >>> DownloadReport(Path("."), "preview", "", (), 0).count("failed")
        0
        """
        return sum(p.status == status for p in self.pieces)

    @property
    def records(self) -> int:
        """Records in the files of this download (fetched now or already complete)."""
        return sum(p.records for p in self.pieces if p.status in ("downloaded", "complete"))

    def to_frame(self) -> pd.DataFrame:
        """Return one row per piece.

        Returns
        -------
        pandas.DataFrame
            Columns ``file, label, status, records, requests, message``.

        Examples
        --------
        >>> DownloadReport(Path("."), "api", "", (), 0).to_frame().shape
        (0, 6)
        """
        cols = ["file", "label", "status", "records", "requests", "message"]
        return pd.DataFrame([[getattr(p, c) for c in cols] for p in self.pieces], columns=cols)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def _lock(out: Path) -> Iterator[None]:
    """Hold ``out/.ca_trade-download.lock``: one download writes to a folder at a time."""
    with open(out / _LOCK, "a+b") as fh:
        if sys.platform != "win32":
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise DownloadError(
                    f"another download is writing to {out}; wait for it to finish (one writer "
                    "at a time), or download into another folder"
                ) from None
        yield


class _Run:
    """One download: the client, the output folder and the results so far."""

    def __init__(
        self,
        out: Path,
        access: str,
        client: Client,
        cap: int,
        force: bool,
        progress: Callable[[PieceResult], object] | None,
    ) -> None:
        self.out = out
        self.access = access
        self.client = client
        self.cap = cap
        self.force = force
        self.progress = progress
        self.areas = Areas()
        self.results: list[PieceResult] = []
        self.failed: list[PieceResult] = []

    def emit(self, result: PieceResult) -> None:
        self.results.append(result)
        if result.status == "failed":
            self.failed.append(result)
        if self.progress is not None:
            self.progress(result)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.out).as_posix()

    def meta(self, url: str, query: dict[str, str], **extra: Any) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "source": _SOURCE,
            "access": self.access,
            "url": url,
            "query": query,
            "retrieved": _now(),
            **extra,
        }

    # -- data API and preview ------------------------------------------------------------

    def api_piece(self, q: Query, endpoint: str) -> None:
        """Fetch one piece (or its halves) unless it is complete on disk."""
        path = self.out / "api" / q.reporter / f"{q.stem}.csv"
        desc = q.describe()
        side = None if self.force else read_sidecar(path)
        if side is not None and side.get("piece") == desc:
            if side.get("status") == "complete" and _intact(path, side):
                self.emit(PieceResult(self.rel(path), q.label, "complete", int(side["records"])))
                return
            if side.get("status") == "split":
                for kid in q.split(self.areas.codes(q.year)) or ():
                    self.api_piece(kid, endpoint)
                return
        all_partners = self.areas.codes(q.year)
        bound = q.bound(len(all_partners))
        kids = q.split(all_partners)
        if bound is not None and bound >= self.cap and kids is not None:
            for kid in kids:
                self.api_piece(kid, endpoint)
            return
        query = q.params(self.cap)
        url = self.client.url(endpoint, query)
        before = self.client.requests
        try:
            data, n, capped = self.client.fetch(
                url, lambda stream, headers: self._answer(stream, headers, q), what=q.label
            )
        except ApiError as exc:
            self._failed(path, q.label, before, exc)
            if exc.fatal:
                raise
            return
        except DownloadError as exc:
            self._failed(path, q.label, before, exc)
            raise
        used = self._used(before)
        if capped:
            self._split(q, path, url, query, n, used, endpoint, kids)
            return
        atomic_write(path, data)
        write_sidecar(
            path,
            self.meta(
                url,
                query,
                status="complete",
                endpoint=endpoint,
                piece=desc,
                file=path.name,
                layout="plus_api",
                records=n,
                bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            ),
        )
        self.emit(PieceResult(self.rel(path), q.label, "downloaded", n, used))

    def _split(
        self,
        q: Query,
        path: Path,
        url: str,
        query: dict[str, str],
        n: int,
        used: int,
        endpoint: str,
        kids: tuple[Query, ...] | None,
    ) -> None:
        if kids is None:
            self.emit(
                PieceResult(
                    self.rel(path),
                    q.label,
                    "failed",
                    n,
                    used,
                    f"the answer carried {n} records, the per-call cap of {self.cap}, and the "
                    "query cannot be split further; use a key (access='api') or bulk files",
                )
            )
            return
        path.unlink(missing_ok=True)  # an older, unsplit copy of this piece
        write_sidecar(
            path,
            self.meta(
                url,
                query,
                status="split",
                endpoint=endpoint,
                piece=q.describe(),
                records_returned=n,
                cap=self.cap,
                children=[k.stem for k in kids],
                reason="the answer reached the per-call cap, so it may be incomplete; it was "
                "not saved and the query was split in two",
            ),
        )
        self.emit(
            PieceResult(
                self.rel(path),
                q.label,
                "split",
                n,
                used,
                f"{n} records reached the cap of {self.cap} a call: split in two",
            )
        )
        for kid in kids:
            self.api_piece(kid, endpoint)

    def _answer(
        self, stream: Body, headers: Mapping[str, str], q: Query
    ) -> tuple[bytes, int, bool]:
        """Read one answer: (CSV bytes to save, records, whether it reached the cap)."""
        body = stream.read()
        ctype = headers.get("content-type", "").lower()
        if "json" in ctype or body.lstrip()[:1] == b"{":
            env = parse_envelope(body)
            check_scope(env.rows, q)
            n = len(env.rows)
            capped = n >= self.cap or (env.count is not None and env.count > n)
            return (b"" if capped else records_csv(env.rows)), n, capped
        n = check_csv(body)
        return body, n, n >= self.cap

    def _used(self, before: int) -> int:
        return self.client.requests - before

    def _failed(self, path: Path, label: str, before: int, exc: Exception) -> None:
        msg = self.client.redact(str(exc))
        self.emit(PieceResult(self.rel(path), label, "failed", 0, self._used(before), msg))

    # -- bulk files ----------------------------------------------------------------------

    def bulk(self, wanted: list[tuple[str, int, str]], freq: str, cl: str) -> None:
        """List the bulk files of ``wanted`` (iso3, code, period) and fetch each one."""
        endpoint = f"{_ENDPOINT['bulk']}/C/{freq}/{cl}"
        query = {
            "reporterCode": ",".join(str(c) for c in sorted({c for _, c, _ in wanted})),
            "period": ",".join(sorted({p for _, _, p in wanted})),
        }
        url = self.client.url(endpoint, query)
        before = self.client.requests
        try:
            env = self.client.fetch(url, lambda s, h: parse_envelope(s.read()), what="bulk list")
        except DownloadError as exc:
            self.emit(PieceResult("", "bulk file list", "failed", 0, self._used(before), str(exc)))
            raise
        names: set[str] = set()
        for iso3, code, period in wanted:
            rows = [
                r
                for r in env.rows
                if str(r.get("reporterCode")) == str(code) and str(r.get("period")) == period
            ]
            if not rows:
                msg = "no bulk file is listed for this reporter and period"
                self.emit(PieceResult("", f"{iso3} {period} bulk", "unavailable", message=msg))
            for row in sorted(rows, key=lambda r: (str(r.get("classificationCode")), str(r))):
                ocl = "O" if str(row.get("isOriginalClassification")).lower() == "true" else "C"
                name = f"{iso3}{code}_{freq}{period}_{row.get('classificationCode')}_{ocl}"
                if name in names:
                    name += "_" + hashlib.sha256(str(row.get("rowKey")).encode()).hexdigest()[:8]
                names.add(name)
                path = self.out / "bulk" / iso3 / f"{name}.tsv.gz"
                self.bulk_file(path, row, endpoint, url, query, iso3, code, period, freq)

    def bulk_file(
        self,
        path: Path,
        row: dict[str, Any],
        endpoint: str,
        list_url: str,
        query: dict[str, str],
        iso3: str,
        code: int,
        period: str,
        freq: str,
    ) -> None:
        label = f"{iso3} {period} bulk {row.get('classificationCode')}"
        side = None if self.force else read_sidecar(path)
        listing = {k: v for k, v in row.items() if isinstance(v, str | int | float | bool)}
        if (
            side is not None
            and side.get("status") == "complete"
            and side.get("listing", {}).get("rowKey") == listing.get("rowKey")
            and side.get("listing", {}).get("publicationDate") == listing.get("publicationDate")
            and _intact(path, side)
        ):
            self.emit(PieceResult(self.rel(path), label, "complete", int(side["records"])))
            return
        before = self.client.requests
        try:
            file_url = self._rebase(str(row.get("fileUrl", "")))
            sha, size, n = self.client.fetch(
                file_url, lambda s, h: _save_stream(s, path), what=label, compressed=False
            )
        except ApiError as exc:
            self._failed(path, label, before, exc)
            if exc.fatal:
                raise
            return
        except DownloadError as exc:
            self._failed(path, label, before, exc)
            raise
        write_sidecar(
            path,
            self.meta(
                file_url,
                query,
                status="complete",
                endpoint=endpoint,
                list_url=list_url,
                listing=listing,
                piece={"reporter": iso3, "reporter_code": code, "period": period,
                       "frequency": freq, "classification": row.get("classificationCode")},
                file=path.name,
                layout="plus_bulk",
                records=n,
                bytes=size,
                sha256=sha,
            ),
        )  # fmt: skip
        self.emit(PieceResult(self.rel(path), label, "downloaded", n, self._used(before)))

    def _rebase(self, file_url: str) -> str:
        """Return the file's address under ``base_url`` (the key goes to no other host)."""
        parts = urlsplit(file_url)
        base = urlsplit(self.client.base_url)
        if not parts.path:
            raise ApiError(f"the bulk file list gives no fileUrl ({file_url!r})")
        if parts.netloc == base.netloc and parts.scheme == base.scheme:
            return file_url
        if parts.netloc.lower() in ("", "comtradeapi.un.org"):
            return self.client.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        raise ApiError(
            f"the bulk file list points to another host ({parts.netloc}); the key is only "
            f"sent to {base.netloc}: download that file by hand or use a base_url serving it"
        )


def _intact(path: Path, side: dict[str, Any]) -> bool:
    return path.is_file() and side.get("sha256") == sha256_file(path)


def _save_stream(stream: Body, path: Path) -> tuple[str, int, int]:
    """Stream a bulk file to ``path`` (atomically, after checking it); return sha, size, rows."""
    digest = hashlib.sha256()
    size = 0
    records = 0

    def write(tmp: Path) -> None:
        nonlocal size, records
        with open(tmp, "wb") as fh:
            while block := stream.read(1 << 20):
                digest.update(block)
                fh.write(block)
                size += len(block)
            fh.flush()
            os.fsync(fh.fileno())
        records = check_gzip_file(tmp)

    replace_atomically(path, write)
    return digest.hexdigest(), size, records


def _access(access: str | None, has_key: bool, classification: str) -> str:
    chosen = access if access is not None else ("api" if has_key else "preview")
    if chosen not in ACCESS:
        raise SpecificationError(f"access must be one of {ACCESS}; got {access!r}")
    if chosen in ("api", "bulk") and not has_key:
        raise SpecificationError(
            f"access={chosen!r} needs a UN Comtrade subscription key: set {KEY_ENV} (or pass "
            "key=); without one, access='preview' fetches at most 500 records a call"
        )
    allowed = _HS if chosen == "bulk" else ("HS",)
    if classification not in allowed:
        raise SpecificationError(
            f"classification must be one of {allowed} for access={chosen!r}; got "
            f"{classification!r} (the data API and the preview serve HS as reported, 'HS')"
        )
    return chosen


def download(
    out: str | os.PathLike[str],
    *,
    reporters: Iterable[str] | str,
    years: Iterable[int],
    partners: Iterable[str] | str | None = None,
    flows: Sequence[str] | str = ("M", "X"),
    classification: str = "HS",
    level: str | Sequence[str] = "total",
    frequency: str = "A",
    key: str | None = None,
    base_url: str | None = None,
    access: str | None = None,
    max_records: int | None = None,
    requests_per_minute: float = 10.0,
    max_retries: int = 5,
    backoff: float = 2.0,
    timeout: float = 120.0,
    max_requests: int | None = None,
    force: bool = False,
    progress: Callable[[PieceResult], object] | None = None,
) -> DownloadReport:
    """Download UN Comtrade data into ``out`` in the layouts :func:`ingest` reads.

    Parameters
    ----------
    out : str or Path
        Output folder (e.g. ``data/raw/comtrade``); pieces go to ``out/api/<ISO3>/`` and
        bulk files to ``out/bulk/<ISO3>/``, each with a ``.meta.json`` sidecar.
    reporters : iterable of str
        Reporter ISO3 codes, mapped to Comtrade codes with the packaged time-valid table
        (``SUN`` for the USSR up to 1991, 842 for ``USA``, ...). A reporter without a code in
        a year is listed as ``unavailable`` for that year.
    years : iterable of int
        Years (1962-2100).
    partners : iterable of str, optional
        Partner ISO3 codes; default all partners (World included).
    flows : sequence of str, default ("M", "X")
        Among ``M``, ``X``, ``RM``, ``RX``; one piece per flow.
    classification : str, default "HS"
        ``HS`` (as reported; the revision is recorded in every record); bulk files also take
        ``H0``..``H6``.
    level : str or sequence of str, default "total"
        ``total`` (``TOTAL``), ``chapter`` (all 2-digit chapters, ``AG2``), ``section`` (the
        same chapters: HS sections are not an API level; reconcile rolls chapters up to
        sections), ``hs6`` (all 6-digit codes, ``AG6``) or a list of HS codes. Bulk files hold
        every level and flow whatever is asked.
    frequency : {"A", "M"}, default "A"
        Annual, or monthly (a piece holds a year's twelve months until split).
    key : str, optional
        Subscription key; default ``COMTRADE_API_KEY``. Sent in a request header only, never
        written to any file, message or sidecar.
    base_url : str, optional
        API root; default ``CA_TRADE_COMTRADE_URL`` or ``https://comtradeapi.un.org`` (a
        mirror, proxy or test server may stand in).
    access : {"preview", "api", "bulk"}, optional
        Default ``api`` with a key, ``preview`` without.
    max_records : int, optional
        Records a call may return; default 500 (preview) or 100,000 (the free data API).
        Never set it above your subscription's limit: a reached cap is how a truncated answer
        is recognised.
    requests_per_minute : float, default 10
        Client-side rate limit.
    max_retries : int, default 5
        Retries of a request after 429 (``Retry-After`` honoured), 5xx, a time-out, a dropped
        connection or a damaged body.
    backoff : float, default 2
        First retry wait in seconds, doubled each retry (at most 120 s) plus up to 25 %
        jitter (seeded, so reproducible).
    timeout : float, default 120
        Seconds a connection may stay silent.
    max_requests : int, optional
        Requests allowed in this run (the free API allows 500 calls a day); the run stops
        cleanly when they are used up and a later run resumes.
    force : bool, default False
        Fetch every piece again, even when it is complete on disk.
    progress : callable, optional
        Called with each :class:`PieceResult` as it is done.

    Returns
    -------
    DownloadReport
        Every piece with its status, records and requests.

    Raises
    ------
    SpecificationError
        Unknown ISO3 codes, levels, flows, access without a key, ...
    DownloadError
        Pieces failed (the message lists them) or the API refused to go on (bad key, used-up
        quota, request budget); completed pieces are kept, and the same call resumes.

    Examples
    --------
    >>> import tempfile
    >>> rep = download(tempfile.mkdtemp(), reporters=["KAZ"], years=[1990], key="",
    ...                base_url="http://127.0.0.1:9")  # KAZ has no Comtrade code in 1990
    >>> rep.pieces[0].status, rep.requests
    ('unavailable', 0)
    """
    areas = Areas()
    reps = check_iso3(reporters, "reporters", areas)
    parts = None if partners is None else check_iso3(partners, "partners", areas)
    yrs = check_years(years)
    flw = check_flows(flows)
    cmd = check_levels(level)
    if frequency not in ("A", "M"):
        raise SpecificationError(f"frequency must be 'A' or 'M'; got {frequency!r}")
    secret = resolve_key(key)
    mode = _access(access, secret is not None, classification)
    if mode == "bulk" and parts is not None:
        raise SpecificationError(
            "bulk files hold every partner of a reporter-year: drop partners= or use access='api'"
        )
    cap = max_records if max_records is not None else _CAP.get(mode, _CAP["api"])
    if not isinstance(cap, int) or cap < 1 or (mode == "preview" and cap > _CAP["preview"]):
        raise SpecificationError(
            f"max_records must be a positive integer (at most 500 for the preview); got {cap!r}"
        )
    politeness = Politeness(
        requests_per_minute=requests_per_minute,
        max_retries=max_retries,
        backoff=backoff,
        timeout=timeout,
        max_requests=max_requests,
    )
    root = resolve_base_url(base_url)
    client = Client(root, secret if mode != "preview" else None, politeness)
    dest = Path(out)
    dest.mkdir(parents=True, exist_ok=True)
    run = _Run(dest, mode, client, cap, force, progress)
    with _lock(dest):
        try:
            _plan(run, reps, parts, yrs, flw, cmd, frequency, classification)
        except DownloadError as exc:
            raise DownloadError(client.redact(str(exc))) from None
    report = DownloadReport(dest, mode, root, tuple(run.results), client.requests)
    if run.failed:
        first = run.failed[0]
        raise DownloadError(
            f"{len(run.failed)} of {len(run.results)} pieces failed (first: {first.label}: "
            f"{client.redact(first.message)}); the others are saved, and running the same "
            "download again fetches only what is missing"
        )
    return report


def _plan(
    run: _Run,
    reporters: tuple[str, ...],
    partners: tuple[str, ...] | None,
    years: list[int],
    flows: tuple[str, ...],
    cmd: tuple[str, ...],
    freq: str,
    cl: str,
) -> None:
    """Walk the pieces of a download in a fixed order (reporter, year, flow)."""
    areas = run.areas
    wanted: list[tuple[str, int, str]] = []
    for rep in reporters:
        for year in years:
            code = areas.code(rep, year)
            label = f"{rep} {year}"
            if code is None:
                msg = f"{rep} has no Comtrade code in {year} (codes: {areas.span(rep)})"
                run.emit(PieceResult("", label, "unavailable", message=msg))
                continue
            periods = (str(year),) if freq == "A" else tuple(f"{year}{m:02d}" for m in range(1, 13))
            if run.access == "bulk":
                wanted += [(rep, code, p) for p in periods]
                continue
            pcodes: tuple[int, ...] | None = None
            if partners is not None:
                found = [areas.code(p, year) for p in partners]
                pcodes = tuple(sorted({c for c in found if c is not None}))
                if not pcodes:
                    msg = f"none of the partners {list(partners)} has a Comtrade code in {year}"
                    run.emit(PieceResult("", label, "unavailable", message=msg))
                    continue
            endpoint = f"{_ENDPOINT[run.access]}/C/{freq}/{cl}"
            for flow in flows:
                q = Query(rep, code, year, freq, cl, periods, (flow,), cmd, pcodes)
                run.api_piece(q, endpoint)
    if wanted:
        run.bulk(wanted, freq, cl)
