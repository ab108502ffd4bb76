r"""HTTP access to the UN Comtrade API (internal to :mod:`ca_trade.etl.download`).

What the UN's API expects, from its documentation and the two clients that call it
(UN's ``comtradeapicall``, rOpenSci's ``comtradr``; read, not copied):

- Root ``https://comtradeapi.un.org``; the data endpoint ``data/v1/get/{type}/{freq}/{cl}``
  needs a subscription key, the public preview ``public/v1/preview/{type}/{freq}/{cl}``
  does not (at most 500 records per call), bulk files are listed by
  ``bulk/v1/get/{type}/{freq}/{cl}`` and fetched from the ``fileUrl`` of each listed file
  (premium subscription).
- The key travels in the ``Ocp-Apim-Subscription-Key`` header (never in the address, so it
  cannot end up in a recorded URL or a log); a redirect to another host drops it.
- The gateway answers ``429`` (or ``403`` with ``Retry-After`` when a quota is used up) with a
  ``Retry-After`` header; error bodies are ``{"statusCode": 401, "message": "..."}``,
  ``{"error": "..."}`` or ``{"errorObject": {"errorMessage": "..."}}``.

:class:`Client` adds the politeness: a client-side rate limit (``comtradr`` throttles to 10
requests a minute by default; so do we), retries with exponential backoff and jitter from a
seeded generator on 429/5xx, time-outs, dropped connections and bodies that arrive damaged,
``Retry-After`` honoured up to a cap, and a budget of requests per run.

Examples
--------
>>> key = ApiKey("0123456789abcdef")
>>> key, key.redact("sent 0123456789abcdef")
(ApiKey('<hidden>'), 'sent <hidden>')
>>> resolve_base_url("http://127.0.0.1:8080/mirror/")
'http://127.0.0.1:8080/mirror'
"""

from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import os
import random
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, Protocol, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

from ca_trade.exceptions import DownloadError, SpecificationError

__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "KEY_ENV",
    "KEY_HEADER",
    "ApiError",
    "ApiKey",
    "Body",
    "Client",
    "Politeness",
    "Transient",
    "error_message",
    "resolve_base_url",
    "resolve_key",
]

DEFAULT_BASE_URL = "https://comtradeapi.un.org"
BASE_URL_ENV = "CA_TRADE_COMTRADE_URL"
KEY_ENV = "COMTRADE_API_KEY"
KEY_HEADER = "Ocp-Apim-Subscription-Key"
_ERROR_BODY_BYTES = 65536

T = TypeVar("T")


class Body(Protocol):
    """A readable response body (the HTTP response, or its gzip-decoded view)."""

    def read(self, size: int = ..., /) -> bytes:
        """Return up to ``size`` bytes (all that is left without it)."""
        ...


class ApiKey:
    """A subscription key that never shows itself (repr, str and pickling hide it).

    Parameters
    ----------
    value : str
        The key.

    Examples
    --------
    >>> str(ApiKey("secret")), ApiKey("secret").reveal()
    ("ApiKey('<hidden>')", 'secret')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "ApiKey('<hidden>')"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("an ApiKey cannot be pickled (the key must not reach any file)")

    def reveal(self) -> str:
        """Return the key, for the request header only.

        Returns
        -------
        str
            The key.
        """
        return self._value

    def redact(self, text: str) -> str:
        """Return ``text`` with every occurrence of the key replaced by ``<hidden>``.

        Parameters
        ----------
        text : str
            Any text that may echo the key (an error body, an exception message).

        Returns
        -------
        str
            The text without the key.
        """
        return text.replace(self._value, "<hidden>") if self._value else text


def resolve_key(key: str | None) -> ApiKey | None:
    """Return the subscription key from the argument or ``COMTRADE_API_KEY``, or None.

    Parameters
    ----------
    key : str, optional
        The key; when None the environment variable is read. Empty means no key.

    Returns
    -------
    ApiKey or None
        The key, hidden from repr and str.

    Raises
    ------
    SpecificationError
        If the key holds whitespace or control characters (the message never shows it).

    Examples
    --------
    >>> resolve_key("  ") is None
    True
    """
    value = (key if key is not None else os.environ.get(KEY_ENV, "")).strip()
    if not value:
        return None
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise SpecificationError(
            f"the Comtrade subscription key contains whitespace or control characters; "
            f"check the key argument or {KEY_ENV} (copy the primary key from "
            "https://comtradedeveloper.un.org/profile)"
        )
    return ApiKey(value)


def resolve_base_url(base_url: str | None) -> str:
    """Return the API root from the argument, ``CA_TRADE_COMTRADE_URL`` or the UN's default.

    Parameters
    ----------
    base_url : str, optional
        ``http(s)://host[:port][/prefix]``; a mirror or proxy may stand in for the UN's API.

    Returns
    -------
    str
        The root without a trailing slash.

    Raises
    ------
    SpecificationError
        If it is not an http(s) address, or carries credentials, a query or a fragment.

    Examples
    --------
    >>> resolve_base_url("https://comtradeapi.un.org/")
    'https://comtradeapi.un.org'
    """
    raw = base_url if base_url is not None else os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    parts = urlsplit(raw.strip())
    source = "base_url" if base_url is not None else f"{BASE_URL_ENV} (or the default)"
    if parts.username is not None or parts.password is not None:
        raise SpecificationError(
            f"{source} must not carry credentials (user:password@); the address is recorded "
            f"in every download sidecar. Give the subscription key in {KEY_ENV} instead"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SpecificationError(
            f"{source} must be an http(s) address like {DEFAULT_BASE_URL}; got {raw!r}"
        )
    if parts.query or parts.fragment:
        raise SpecificationError(f"{source} must not have a query or fragment; got {raw!r}")
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class Politeness:
    """How hard the client may press the API.

    Attributes
    ----------
    requests_per_minute : float
        Client-side rate limit (requests start at least ``60 / rate`` seconds apart).
    max_retries : int
        Retries of one request after a 429, a 5xx, a time-out, a dropped connection or a
        damaged body (so at most ``max_retries + 1`` attempts).
    backoff : float
        Wait before the first retry in seconds; doubled each retry, capped at
        ``max_backoff``, plus up to 25 % jitter from a generator seeded with 0.
    max_backoff : float
        Cap of one backoff wait, seconds.
    max_retry_after : float
        Longest ``Retry-After`` honoured; a longer one (a used-up daily quota) stops the run.
    timeout : float
        Seconds a connection may stay silent before the attempt counts as failed.
    max_requests : int or None
        Requests allowed in one run (the free API allows 500 calls a day); None: no cap.
    """

    requests_per_minute: float = 10.0
    max_retries: int = 5
    backoff: float = 2.0
    max_backoff: float = 120.0
    max_retry_after: float = 900.0
    timeout: float = 120.0
    max_requests: int | None = None

    def __post_init__(self) -> None:
        checks = {
            "requests_per_minute": self.requests_per_minute > 0,
            "max_retries": isinstance(self.max_retries, int) and self.max_retries >= 0,
            "backoff": self.backoff >= 0,
            "max_backoff": self.max_backoff >= 0,
            "max_retry_after": self.max_retry_after >= 0,
            "timeout": self.timeout > 0,
            "max_requests": self.max_requests is None or self.max_requests >= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise SpecificationError(
                    f"{name} must be a positive number (max_retries, backoff: >= 0); "
                    f"got {getattr(self, name)!r}"
                )


class Transient(Exception):
    """A response that may succeed when asked again: it is retried, never saved."""


class ApiError(DownloadError):
    """The API refused a request.

    Parameters
    ----------
    message : str
        What happened and what to do (never the key).
    status : int or None
        HTTP status, if any.
    fatal : bool
        True when every further request would fail too (bad key, quota, request budget):
        the run stops; otherwise only this piece failed.
    """

    def __init__(self, message: str, *, status: int | None = None, fatal: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.fatal = fatal


def error_message(body: bytes) -> str:
    """Return the message of a Comtrade error body (JSON or text), on one line.

    Parameters
    ----------
    body : bytes
        The response body.

    Returns
    -------
    str
        ``message``, ``error`` or ``errorObject.errorMessage`` of a JSON body, else the
        first 300 characters of the text.

    Examples
    --------
    >>> error_message(b'{ "statusCode": 401, "message": "Access denied." }')
    'Access denied.'
    >>> error_message(b'{"errorObject": {"errorMessage": "bad period"}}')
    'bad period'
    """
    text = body.decode("utf-8", errors="replace").strip().lstrip("\ufeff")
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        inner = obj.get("errorObject")
        for candidate in (
            obj.get("message"),
            obj.get("error"),
            inner.get("errorMessage") if isinstance(inner, dict) else None,
        ):
            if isinstance(candidate, str) and candidate.strip():
                return " ".join(candidate.split())[:300]
    return " ".join(text.split())[:300] or "(empty body)"


def _retry_after(value: str | None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _KeyDroppingRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but never carry the key to another host."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urlsplit(newurl).netloc != urlsplit(req.full_url).netloc:
            new.remove_header(KEY_HEADER.capitalize())
        return new


#: Errors of the network or of a damaged body: the request is retried.
_RETRYABLE: tuple[type[BaseException], ...] = (
    Transient,
    http.client.HTTPException,
    urllib.error.URLError,
    TimeoutError,
    ConnectionError,
    EOFError,
    zlib.error,
    gzip.BadGzipFile,
)


class Client:
    """Polite HTTP GETs against one API root.

    Parameters
    ----------
    base_url : str
        The API root (from :func:`resolve_base_url`).
    key : ApiKey or None
        Sent in the ``Ocp-Apim-Subscription-Key`` header to the root's host only.
    politeness : Politeness
        Rate limit, retries, time-out and request budget.
    sleep : callable, default time.sleep
        How to wait (tests may record waits).

    Attributes
    ----------
    requests : int
        Requests sent so far (retries included).
    """

    def __init__(
        self,
        base_url: str,
        key: ApiKey | None,
        politeness: Politeness,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url
        self._host = urlsplit(base_url).netloc
        self._key = key
        self.politeness = politeness
        self._sleep = sleep
        self._rng = random.Random(0)
        self._last_start: float | None = None
        self.requests = 0
        self._opener = urllib.request.build_opener(_KeyDroppingRedirects())

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """Return the address of ``path`` under the root, with ``params`` as its query.

        Parameters
        ----------
        path : str
            Endpoint path without a leading slash (``data/v1/get/C/A/HS``).
        params : mapping, optional
            Query parameters, in the order given (commas are kept readable).

        Returns
        -------
        str
            The address (it never contains the key).
        """
        query = urlencode(list((params or {}).items()), safe=",")
        return f"{self.base_url}/{path}" + (f"?{query}" if query else "")

    def redact(self, text: str) -> str:
        """Return ``text`` without the key (unchanged when there is no key).

        Parameters
        ----------
        text : str
            Any text.

        Returns
        -------
        str
            The text with the key replaced by ``<hidden>``.
        """
        return self._key.redact(text) if self._key is not None else text

    def fetch(
        self,
        url: str,
        consume: Callable[[Body, Mapping[str, str]], T],
        *,
        what: str,
        compressed: bool = True,
    ) -> T:
        """GET ``url`` and hand the open response to ``consume``, retrying what may pass.

        Parameters
        ----------
        url : str
            An address under the root (the key is only ever sent to the root's host).
        consume : callable
            Called with the body stream (gzip transfer encoding already undone) and the
            headers (lower-case names); it may raise :class:`Transient` for a damaged body.
        what : str
            The piece, for messages.
        compressed : bool, default True
            Ask for a gzip-compressed transfer (``False`` for files that are gzip already).

        Returns
        -------
        object
            What ``consume`` returned.

        Raises
        ------
        ApiError
            The API refused the request (4xx other than 429, an error body); ``fatal`` when
            no further request can succeed (bad key, used-up quota, request budget).
        DownloadError
            Every attempt failed (network, 5xx, damaged bodies).
        """
        pol = self.politeness
        last = ""
        wait = 0.0
        for attempt in range(pol.max_retries + 1):
            if attempt:
                self._sleep(wait)
            self._throttle(what)
            try:
                with self._open(url, compressed) as resp:
                    headers = {k.lower(): v for k, v in resp.headers.items()}
                    if headers.get("content-encoding", "").lower() == "gzip":
                        with gzip.GzipFile(fileobj=resp, mode="rb") as unzipped:
                            return consume(unzipped, headers)
                    return consume(resp, headers)
            except urllib.error.HTTPError as exc:
                status = exc.code
                message = self.redact(error_message(_read_error_body(exc)))
                asked = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
                last = f"HTTP {status}: {message}"
                if status == 429 or (status in (403, 503) and asked is not None):
                    if asked is not None and asked > pol.max_retry_after:
                        raise ApiError(
                            f"{what}: the API asks to wait {asked:.0f} s ({last}): the "
                            "call quota is probably used up. Completed pieces are kept; run "
                            "the same download again later to resume",
                            status=status,
                            fatal=True,
                        ) from None
                    wait = asked if asked is not None else self._backoff(attempt)
                    continue
                if status >= 500 or status == 408:
                    wait = self._backoff(attempt)
                    continue
                raise ApiError(
                    f"{what}: {last} from {url}" + _advice(status),
                    status=status,
                    fatal=status in (401, 403),
                ) from None
            except _RETRYABLE as exc:
                last = self.redact(f"{type(exc).__name__}: {exc}".strip())
                wait = self._backoff(attempt)
                continue
        raise DownloadError(
            f"{what}: gave up after {pol.max_retries + 1} attempts; last error: {last} "
            f"({url}). Completed pieces are kept; run the same download again to resume"
        )

    def _open(self, url: str, compressed: bool) -> Any:
        headers = {
            "Accept-Encoding": "gzip" if compressed else "identity",
            "User-Agent": "ca_trade-download",
        }
        if self._key is not None and urlsplit(url).netloc == self._host:
            headers[KEY_HEADER] = self._key.reveal()
        req = urllib.request.Request(url, headers=headers, method="GET")
        return self._opener.open(req, timeout=self.politeness.timeout)

    def _throttle(self, what: str) -> None:
        pol = self.politeness
        if pol.max_requests is not None and self.requests >= pol.max_requests:
            raise ApiError(
                f"{what}: the budget of {pol.max_requests} requests for this run is used up; "
                "completed pieces are kept; run the same download again to go on",
                fatal=True,
            )
        interval = 60.0 / pol.requests_per_minute
        if self._last_start is not None:
            left = interval - (time.monotonic() - self._last_start)
            if left > 0:
                self._sleep(left)
        self._last_start = time.monotonic()
        self.requests += 1

    def _backoff(self, attempt: int) -> float:
        pol = self.politeness
        base = min(pol.max_backoff, pol.backoff * 2.0**attempt)
        return base * (1.0 + 0.25 * self._rng.random())


def _read_error_body(exc: urllib.error.HTTPError) -> bytes:
    try:
        body = exc.read(_ERROR_BODY_BYTES)
    except (OSError, http.client.HTTPException):
        return b""
    if (exc.headers.get("Content-Encoding") or "").lower() == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error):
            return b""
    return body


def _advice(status: int) -> str:
    if status == 401:
        return (
            f". Check the subscription key ({KEY_ENV}): it must be the primary or secondary "
            "key of a comtrade subscription at https://comtradedeveloper.un.org"
        )
    if status == 403:
        return ". The key is not allowed this endpoint (bulk files need a premium subscription)"
    if status == 404:
        return ". Check the classification, frequency and base_url"
    return ". Check the query parameters"
