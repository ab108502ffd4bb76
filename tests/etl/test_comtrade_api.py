"""The Comtrade HTTP client: key handling, addresses, rate limit, retries, error bodies."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator, Mapping

import pytest

from ca_trade.etl._comtrade_api import (
    ApiError,
    ApiKey,
    Body,
    Client,
    Politeness,
    error_message,
    resolve_base_url,
    resolve_key,
)
from ca_trade.exceptions import DownloadError, SpecificationError
from tests.etl.comtrade_server import FakeComtrade, fixture

KEY = "TESTKEY-0123456789abcdef"


@pytest.fixture
def server() -> Iterator[FakeComtrade]:
    records = json.loads(fixture("data_synthetic_kaz_kgz_2019.json"))["data"]
    with FakeComtrade(records=records, key=KEY) as srv:
        yield srv


class Waits:
    """Records the waits a client asks for instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _client(
    srv: FakeComtrade, key: str | None = KEY, waits: Waits | None = None, **kw: object
) -> Client:
    pol = Politeness(**{"requests_per_minute": 60_000.0, "backoff": 0.5, **kw})  # type: ignore[arg-type]
    return Client(srv.url, ApiKey(key) if key else None, pol, sleep=waits or Waits())


def _json(stream: Body, headers: Mapping[str, str]) -> dict[str, object]:
    body = stream.read()
    from ca_trade.etl._comtrade_formats import parse_envelope

    return {"rows": parse_envelope(body).rows, "ctype": headers.get("content-type")}


def _data_url(client: Client, **params: str) -> str:
    return client.url("data/v1/get/C/A/HS", {"reporterCode": "398", "period": "2019", **params})


def test_key_is_hidden_everywhere() -> None:
    key = ApiKey(KEY)
    assert KEY not in repr(key) and KEY not in str(key) and KEY not in f"{key}"
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert key.redact(f"echo {KEY}!") == "echo <hidden>!"


def test_key_from_argument_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMTRADE_API_KEY", " envkey ")
    k = resolve_key(None)
    assert k is not None and k.reveal() == "envkey"
    assert resolve_key("") is None  # an explicit empty key means: no key
    monkeypatch.delenv("COMTRADE_API_KEY")
    assert resolve_key(None) is None
    with pytest.raises(SpecificationError) as err:
        resolve_key("abc def-secret")
    assert "def-secret" not in str(err.value)


def test_base_url_from_argument_environment_or_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CA_TRADE_COMTRADE_URL", raising=False)
    assert resolve_base_url(None) == "https://comtradeapi.un.org"
    monkeypatch.setenv("CA_TRADE_COMTRADE_URL", "http://mirror.example:8080/comtrade/")
    assert resolve_base_url(None) == "http://mirror.example:8080/comtrade"
    assert resolve_base_url("http://127.0.0.1:1") == "http://127.0.0.1:1"
    with pytest.raises(SpecificationError) as err:
        resolve_base_url("https://user:hunter2@proxy.example")
    assert "hunter2" not in str(err.value)
    for bad in ("ftp://x", "comtradeapi.un.org", "http://x/?a=1"):
        with pytest.raises(SpecificationError):
            resolve_base_url(bad)


def test_politeness_is_validated() -> None:
    for bad in ({"requests_per_minute": 0}, {"max_retries": -1}, {"timeout": 0}):
        with pytest.raises(SpecificationError):
            Politeness(**bad)  # type: ignore[arg-type]


def test_the_key_travels_in_a_header_never_in_the_address(server: FakeComtrade) -> None:
    client = _client(server)
    url = _data_url(client, flowCode="M", cmdCode="TOTAL")
    assert KEY not in url
    got = client.fetch(url, _json, what="t")
    assert len(got["rows"]) == 6  # type: ignore[arg-type]
    assert server.log[-1].key_sent and server.log[-1].key_ok


def test_gzip_transfer_encoding_is_undone(server: FakeComtrade) -> None:
    client = _client(server)
    plain = client.fetch(_data_url(client, flowCode="X"), _json, what="t")
    server.gzip_json = True
    zipped = client.fetch(_data_url(client, flowCode="X"), _json, what="t")
    assert server.log[-1].gzip_ok  # the server sent Content-Encoding: gzip
    assert zipped == plain and len(plain["rows"]) == 6  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["500", "cut", "badjson", "count"])
def test_transient_failures_are_retried_with_backoff(server: FakeComtrade, kind: str) -> None:
    server.fault(kind, "/data/", times=2)
    waits = Waits()
    client = _client(server, waits=waits)
    got = client.fetch(_data_url(client, flowCode="M", cmdCode="TOTAL"), _json, what="t")
    assert len(got["rows"]) == 6  # type: ignore[arg-type]
    assert client.requests == 3
    backoffs = [w for w in waits.waits if w >= 0.5]
    assert len(backoffs) == 2 and 1.0 <= backoffs[1] <= 1.25 * 1.0  # 0.5 * 2**1, +25 % jitter


def test_a_silent_server_times_out_and_is_asked_again(server: FakeComtrade) -> None:
    server.fault("slow", "/data/", retry_after="1.0")
    client = _client(server, timeout=0.3)
    got = client.fetch(_data_url(client, flowCode="M"), _json, what="t")
    assert len(got["rows"]) == 6 and client.requests == 2  # type: ignore[arg-type]


def test_a_refused_connection_is_retried_then_given_up() -> None:
    with FakeComtrade() as srv:
        url = srv.url
    client = Client(url, None, Politeness(requests_per_minute=60_000.0, max_retries=2,
                                          backoff=0.01), sleep=Waits())  # fmt: skip
    with pytest.raises(DownloadError, match=r"gave up after 3 attempts.*(URLError|refused)"):
        client.fetch(client.url("public/v1/preview/C/A/HS"), _json, what="t")
    assert client.requests == 3


def test_backoff_jitter_is_reproducible(server: FakeComtrade) -> None:
    seqs = []
    for _ in range(2):
        server.fault("500", "/data/", times=3)
        waits = Waits()
        client = _client(server, waits=waits)
        client.fetch(_data_url(client), _json, what="t")
        seqs.append([w for w in waits.waits if w >= 0.5])
    assert seqs[0] == seqs[1] and len(seqs[0]) == 3


def test_429_honours_retry_after(server: FakeComtrade) -> None:
    server.fault("429", "/data/", retry_after="7")
    waits = Waits()
    client = _client(server, waits=waits)
    client.fetch(_data_url(client), _json, what="t")
    assert 7.0 in waits.waits and client.requests == 2


def test_a_used_up_quota_stops_at_once(server: FakeComtrade) -> None:
    server.fault("quota", "/data/", retry_after="43200")
    waits = Waits()
    client = _client(server, waits=waits)
    with pytest.raises(ApiError) as err:
        client.fetch(_data_url(client), _json, what="KAZ 2019")
    assert err.value.fatal and err.value.status == 403
    assert "43200" in str(err.value) and "quota" in str(err.value)
    assert client.requests == 1 and not [w for w in waits.waits if w > 1]


def test_giving_up_after_the_retries(server: FakeComtrade) -> None:
    server.fault("500", "/data/", times=10)
    client = _client(server, max_retries=2)
    with pytest.raises(DownloadError, match="gave up after 3 attempts") as err:
        client.fetch(_data_url(client), _json, what="KAZ 2019")
    assert not isinstance(err.value, ApiError)
    assert client.requests == 3 and len(server.log) == 3


def test_errors_are_not_retried_and_say_what_the_api_said(server: FakeComtrade) -> None:
    client = _client(server)
    server.fault("400", "/data/")
    with pytest.raises(ApiError, match="Invalid value for parameter period") as err:
        client.fetch(_data_url(client), _json, what="t")
    assert not err.value.fatal and client.requests == 1
    bad = _client(server, key="wrong-key")
    with pytest.raises(ApiError, match="invalid subscription key") as err:
        bad.fetch(_data_url(bad), _json, what="t")
    assert err.value.fatal and err.value.status == 401 and "COMTRADE_API_KEY" in str(err.value)
    assert "wrong-key" not in str(err.value)


def test_an_echoed_key_is_redacted(server: FakeComtrade) -> None:
    server.fault("echo_key", "/data/")
    client = _client(server)
    with pytest.raises(ApiError) as err:
        client.fetch(_data_url(client), _json, what="t")
    assert KEY not in str(err.value) and "<hidden>" in str(err.value)


def test_a_redirect_to_another_host_does_not_carry_the_key(server: FakeComtrade) -> None:
    server.fault("redirect", "/data/")
    client = _client(server)
    with pytest.raises(ApiError):  # the other host gets no key and answers 401
        client.fetch(_data_url(client), _json, what="t")
    first, second = server.log[-2:]
    assert first.key_sent and first.host.startswith("127.0.0.1")
    assert second.host.startswith("localhost") and not second.key_sent


def test_the_key_goes_only_to_the_root_host(server: FakeComtrade) -> None:
    client = _client(server)
    other = f"http://localhost:{server.port}/data/v1/get/C/A/HS?reporterCode=398"
    with pytest.raises(ApiError):
        client.fetch(other, _json, what="t")
    assert not server.log[-1].key_sent


def test_rate_limit_spaces_requests(server: FakeComtrade) -> None:
    waits = Waits()
    client = _client(server, waits=waits, requests_per_minute=60.0)
    for _ in range(3):
        client.fetch(_data_url(client), _json, what="t")
    spacing = [w for w in waits.waits if w > 0]
    assert len(spacing) == 2 and all(0.9 < w <= 1.0 for w in spacing)


def test_request_budget(server: FakeComtrade) -> None:
    client = _client(server, max_requests=2)
    client.fetch(_data_url(client), _json, what="t")
    client.fetch(_data_url(client), _json, what="t")
    with pytest.raises(ApiError, match="budget of 2 requests") as err:
        client.fetch(_data_url(client), _json, what="t")
    assert err.value.fatal and len(server.log) == 2


def test_error_message_shapes() -> None:
    assert error_message(fixture("error_401_missing_key.json")).startswith("Access denied")
    assert error_message(fixture("error_field.json")) == "Invalid reporterCode: 9999"
    assert error_message(b"") == "(empty body)"
    assert error_message(b"<html>\n Bad\n Gateway</html>") == "<html> Bad Gateway</html>"
