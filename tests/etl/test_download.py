"""ca_trade.etl.download against the loopback stand-in API: pieces, resume, splits, faults."""

from __future__ import annotations

import csv
import fcntl
import gzip
import hashlib
import io
import json
import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ca_trade.etl import PieceResult, download, ingest
from ca_trade.etl.layouts import sniff_header
from ca_trade.etl.sidecar import read_sidecar, sidecar_path
from ca_trade.exceptions import DownloadError, SpecificationError
from tests.etl.comtrade_server import BulkFile, FakeComtrade, fixture
from tests.etl.helpers import BULK_HEADER

KEY = "TESTKEY-0123456789abcdef"
FAST: dict[str, Any] = {"requests_per_minute": 60_000.0, "backoff": 0.01}


def _records() -> list[dict[str, Any]]:
    return json.loads(fixture("data_synthetic_kaz_kgz_2019.json"))["data"]


@pytest.fixture
def server() -> Iterator[FakeComtrade]:
    with FakeComtrade(records=_records(), key=KEY) as srv:
        yield srv


def _dl(out: Path, srv: FakeComtrade, **kw: Any) -> Any:
    args: dict[str, Any] = {"reporters": ["KAZ", "KGZ"], "years": [2019], "key": "", **FAST}
    args.update(kw)
    return download(out, base_url=srv.url, **args)


def _csvs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.csv"))}


def _rows(out: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for data in _csvs(out).values():
        rows += list(csv.DictReader(io.StringIO(data.decode())))
    return rows


def _key_of(rec: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(rec[k]) for k in ("reporterCode", "flowCode", "partnerCode", "cmdCode"))


# -- the preview path, files and sidecars --------------------------------------------------


def test_preview_writes_plus_api_files_with_sidecars(server: FakeComtrade, tmp_path: Path) -> None:
    seen: list[PieceResult] = []
    rep = _dl(tmp_path, server, progress=seen.append)
    assert rep.access == "preview" and rep.requests == 4 and rep.count("downloaded") == 4
    assert seen == list(rep.pieces)
    assert rep.records == 12 + 12  # TOTAL rows: 6 partners x 2 flows, for each reporter
    path = tmp_path / "api" / "KAZ" / "KAZ398_A2019_M_TOTAL_all.csv"
    data = path.read_bytes()
    assert sniff_header(data).layout == "plus_api"
    side = read_sidecar(path)
    assert side is not None
    assert side["status"] == "complete" and side["records"] == 6 and side["bytes"] == len(data)
    assert side["sha256"] == hashlib.sha256(data).hexdigest()
    assert side["url"].startswith(server.url + "/public/v1/preview/C/A/HS?")
    assert side["query"] == {
        "reporterCode": "398", "period": "2019", "flowCode": "M", "cmdCode": "TOTAL",
        "partner2Code": "0", "customsCode": "C00", "motCode": "0", "maxRecords": "500",
        "format": "JSON", "breakdownMode": "classic", "includeDesc": "true",
    }  # fmt: skip
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", side["retrieved"])
    assert side["schema"] == "ca_trade.download/1" and "terms of use" in side["source"]
    assert not any(e.key_sent for e in server.log)  # the preview gets no key
    assert [p.line().split()[0] for p in rep.pieces] == ["downloaded"] * 4


def test_ingest_reads_the_downloads_and_records_their_sidecars(
    server: FakeComtrade, tmp_path: Path
) -> None:
    raw = tmp_path / "raw" / "comtrade"
    _dl(raw, server)
    _dl(raw, server, level="chapter", partners=["CHN", "RUS", "UZB", "USA"])
    rows = _rows(raw)
    assert len(rows) == 24 + 4 * 4 * 2 - 4  # KGZ-USA has no chapter detail
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may be quarantined
        rep = ingest(tmp_path / "raw", tmp_path / "processed")
    assert rep.rows_read == len(rows) and rep.balanced() and rep.rows_quarantined == 0
    assert {f.file.rsplit(".", 1)[-1] for f in rep.files} == {"csv"}  # sidecars are not data
    manifest = json.loads((tmp_path / "processed" / "manifest.json").read_text())
    for rel, entry in manifest["files"].items():
        assert entry["download"] == read_sidecar(tmp_path / "raw" / rel)
        assert entry["download"]["sha256"] == entry["sha256"]
    flows = pl.read_parquet(tmp_path / "processed" / "flows" / "**" / "*.parquet")
    got = sorted(zip(flows["reporter_code"], flows["partner_code"], flows["flow"],
                     flows["cmd_code"], flows["value_usd"], strict=True))  # fmt: skip
    want = sorted(
        (int(r["reporterCode"]), int(r["partnerCode"]), r["flowCode"], r["cmdCode"],
         float(r["primaryValue"]))
        for r in rows if r["partnerCode"] != "0"
    )  # fmt: skip
    assert got == want
    again = ingest(tmp_path / "raw", tmp_path / "processed")
    assert again.skipped
    path = raw / "api" / "KAZ" / "KAZ398_A2019_M_TOTAL_all.csv"
    side = read_sidecar(path)
    assert side is not None
    sidecar_path(path).write_text(json.dumps({**side, "retrieved": "2030-01-01T00:00:00Z"}))
    assert not ingest(tmp_path / "raw", tmp_path / "processed").skipped
    manifest = json.loads((tmp_path / "processed" / "manifest.json").read_text())
    entry = manifest["files"]["comtrade/api/KAZ/KAZ398_A2019_M_TOTAL_all.csv"]
    assert entry["download"]["retrieved"] == "2030-01-01T00:00:00Z"


def test_a_rerun_skips_complete_pieces_and_repairs_damaged_ones(
    server: FakeComtrade, tmp_path: Path
) -> None:
    first = _dl(tmp_path, server)
    files = _csvs(tmp_path)
    second = _dl(tmp_path, server)
    assert second.requests == 0 and second.count("complete") == 4
    assert second.records == first.records
    damaged = tmp_path / "api" / "KGZ" / "KGZ417_A2019_X_TOTAL_all.csv"
    damaged.write_bytes(damaged.read_bytes()[:-20])
    sidecar_path(tmp_path / "api" / "KAZ" / "KAZ398_A2019_M_TOTAL_all.csv").unlink()
    third = _dl(tmp_path, server)
    assert third.requests == 2 and third.count("downloaded") == 2
    assert _csvs(tmp_path) == files
    forced = _dl(tmp_path, server, force=True)
    assert forced.requests == 4 and _csvs(tmp_path) == files


def test_the_root_address_comes_from_the_environment(
    server: FakeComtrade, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CA_TRADE_COMTRADE_URL", server.url)
    rep = download(tmp_path, reporters=["KAZ"], years=[2019], key="", **FAST)
    assert rep.base_url == server.url and rep.count("downloaded") == 2
    assert read_sidecar(tmp_path / rep.pieces[0].file)["url"].startswith(server.url)  # type: ignore[index]


def test_relative_paths_dotdot_and_symlinks(
    server: FakeComtrade, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "data", target_is_directory=True)
    monkeypatch.chdir(tmp_path / "work")
    _dl(Path("../link/raw"), server)
    assert len(_csvs(tmp_path / "data" / "raw")) == 4
    assert _dl("../data/raw", server).count("complete") == 4


# -- codes, levels, access -------------------------------------------------------------


def test_iso3_codes_are_mapped_with_the_time_valid_area_table(
    server: FakeComtrade, tmp_path: Path
) -> None:
    rep = _dl(tmp_path, server, reporters=["sun", "DEU"], years=[1989, 1992], flows=["M"],
              partners=["SUN", "RUS"])  # fmt: skip
    asked = {(e.params["reporterCode"], e.params["period"], e.params["partnerCode"])
             for e in server.data_requests()}  # fmt: skip
    assert asked == {("280", "1989", "810"), ("276", "1992", "643"), ("810", "1989", "810")}
    gone = [p for p in rep.pieces if p.status == "unavailable"]
    assert [p.label for p in gone] == ["SUN 1992"]
    assert "no Comtrade code in 1992" in gone[0].message and "810" in gone[0].message


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"reporters": ["XYZ"]}, "XYZ"),
        ({"reporters": ["398"]}, "ISO3"),
        ({"reporters": []}, "at least one"),
        ({"partners": ["KAZ", "QQQ"]}, "QQQ"),
        ({"years": []}, "1962"),
        ({"years": [1950]}, "1962"),
        ({"flows": ["I"]}, "flows"),
        ({"level": "sectors"}, "level"),
        ({"level": ["27", "2A"]}, "HS codes"),
        ({"frequency": "Q"}, "frequency"),
        ({"access": "api"}, "COMTRADE_API_KEY"),
        ({"access": "bulk"}, "subscription key"),
        ({"classification": "H5"}, "classification"),
        ({"max_records": 501}, "500"),
        ({"access": "bulk", "key": KEY, "partners": ["CHN"]}, "bulk files hold every partner"),
        ({"requests_per_minute": 0}, "requests_per_minute"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    server: FakeComtrade, tmp_path: Path, kw: dict[str, Any], match: str
) -> None:
    with pytest.raises(SpecificationError, match=match):
        _dl(tmp_path, server, **kw)
    assert server.log == []


@pytest.mark.parametrize(
    ("level", "cmd"),
    [("total", "TOTAL"), ("section", "AG2"), ("chapter", "AG2"), ("hs6", "AG6"),
     (["2709", "27", "27"], "27,2709")],
)  # fmt: skip
def test_levels_become_api_commodity_codes(
    server: FakeComtrade, tmp_path: Path, level: Any, cmd: str
) -> None:
    _dl(tmp_path, server, reporters=["KAZ"], flows=["X"], partners=["CHN"], level=level)
    assert {e.params["cmdCode"] for e in server.data_requests()} == {cmd}


def test_monthly_pieces_hold_a_year_of_periods(server: FakeComtrade, tmp_path: Path) -> None:
    kw: dict[str, Any] = {"reporters": ["KAZ"], "flows": ["M"], "frequency": "M"}
    rep = _dl(tmp_path, server, partners=["CHN"], **kw)
    (entry,) = server.data_requests()
    assert entry.params["period"] == ",".join(f"2019{m:02d}" for m in range(1, 13))
    assert rep.pieces[0].file == "api/KAZ/KAZ398_M201901-201912_M_TOTAL_p156.csv"
    server.log.clear()
    rep = _dl(tmp_path, server, **kw)  # all partners: 12 months could exceed 500 records
    assert sorted(e.params["period"] for e in server.data_requests()) == [
        f"2019{m:02d}" for m in range(1, 13)
    ]
    assert rep.pieces[0].file == "api/KAZ/KAZ398_M201901_M_TOTAL_all.csv"


# -- the per-call cap ------------------------------------------------------------------


def test_pieces_are_split_before_they_could_reach_the_cap(
    server: FakeComtrade, tmp_path: Path
) -> None:
    rep = _dl(tmp_path, server, max_records=10)
    sizes = [len(e.params["partnerCode"].split(",")) for e in server.data_requests()]
    assert sizes and max(sizes) <= 9 and rep.count("split") == 0
    assert sorted(_key_of(r) for r in _rows(tmp_path)) == sorted(
        _key_of(r) for r in _records() if r["cmdCode"] == "TOTAL"
    )


def _hs6_records() -> list[dict[str, Any]]:
    base = next(r for r in _records() if r["reporterCode"] == 398 and r["flowCode"] == "M")
    out = []
    for partner in (156, 643, 860):
        for i, code in enumerate(("270900", "271019", "710812")):
            out.append({**base, "partnerCode": partner, "cmdCode": code, "aggrLevel": 6,
                        "primaryValue": 1000.0 * partner + i})  # fmt: skip
    return out


def test_an_answer_at_the_cap_is_never_saved_and_its_query_is_split(tmp_path: Path) -> None:
    records = _hs6_records()
    with FakeComtrade(records=records) as srv:
        rep = _dl(tmp_path, srv, reporters=["KAZ"], flows=["M"], level="hs6", max_records=4)
        assert rep.count("split") >= 1
        for piece in rep.pieces:
            path = tmp_path / piece.file
            side = read_sidecar(path)
            assert side is not None
            if piece.status == "split":
                assert not path.exists() and side["status"] == "split"
                assert side["records_returned"] == 4 and len(side["children"]) == 2
            else:
                assert len(list(csv.DictReader(io.StringIO(path.read_text())))) < 4
        assert sorted(_key_of(r) for r in _rows(tmp_path)) == sorted(map(_key_of, records))
        n = len(srv.log)
        again = _dl(tmp_path, srv, reporters=["KAZ"], flows=["M"], level="hs6", max_records=4)
        assert len(srv.log) == n and again.requests == 0  # split markers are followed
        assert again.count("complete") == rep.count("downloaded")


def test_a_count_above_the_records_carried_means_truncated(tmp_path: Path) -> None:
    records = _hs6_records()
    with FakeComtrade(records=records, preview_cap=4) as srv:
        srv.count_total = True  # the server cuts at 4 but says how many exist
        rep = _dl(tmp_path, srv, reporters=["KAZ"], flows=["M"], level="hs6")
        assert rep.count("split") >= 1
        assert sorted(_key_of(r) for r in _rows(tmp_path)) == sorted(map(_key_of, records))


def test_a_capped_query_that_cannot_be_split_fails_clearly(
    server: FakeComtrade, tmp_path: Path
) -> None:
    with pytest.raises(DownloadError, match="1 of 1 pieces failed") as err:
        _dl(tmp_path, server, reporters=["KAZ"], flows=["M"], partners=["CHN"], max_records=1)
    assert "cannot be split further" in str(err.value)
    assert _csvs(tmp_path) == {} and not list(tmp_path.rglob("*.meta.json"))


# -- faults ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["cut", "badjson", "count", "500"])
def test_damaged_answers_are_retried_and_never_saved(
    server: FakeComtrade, tmp_path: Path, kind: str
) -> None:
    clean = tmp_path / "clean"
    _dl(clean, server)
    server.log.clear()
    server.fault(kind, "/preview/", times=2)
    rep = _dl(tmp_path / "x", server)
    assert rep.requests == 6 and rep.count("downloaded") == 4
    assert _csvs(tmp_path / "x") == _csvs(clean)


def test_a_piece_that_keeps_failing_stops_the_run_and_saves_nothing(
    server: FakeComtrade, tmp_path: Path
) -> None:
    server.fault("cut", "/preview/", times=3)
    with pytest.raises(DownloadError, match="gave up after 3 attempts") as err:
        _dl(tmp_path, server, max_retries=2)
    assert "run the same download again" in str(err.value)
    assert _csvs(tmp_path) == {} and not list(tmp_path.rglob("*.meta.json"))
    rep = _dl(tmp_path, server, max_retries=2)
    assert rep.count("downloaded") == 4 and rep.requests == 4


@pytest.mark.parametrize(
    ("kind", "message"),
    [("error_field", "Invalid reporterCode"), ("400", "Invalid value for parameter period")],
)
def test_an_api_error_fails_its_piece_only(
    server: FakeComtrade, tmp_path: Path, kind: str, message: str
) -> None:
    server.fault(kind, "/preview/")
    seen: list[PieceResult] = []
    with pytest.raises(DownloadError, match=rf"1 of 4 pieces failed .*{message}"):
        _dl(tmp_path, server, progress=seen.append)
    assert [p.status for p in seen] == ["failed", "downloaded", "downloaded", "downloaded"]
    assert seen[0].requests == 1  # not retried
    assert not (tmp_path / seen[0].file).exists()
    rep = _dl(tmp_path, server)
    assert rep.requests == 1 and rep.count("downloaded") == 1 and rep.count("complete") == 3


def test_429_waits_as_long_as_retry_after_says(server: FakeComtrade, tmp_path: Path) -> None:
    server.fault("429", "/preview/", retry_after="1")
    start = time.monotonic()
    rep = _dl(tmp_path, server, reporters=["KAZ"], flows=["M"])
    assert time.monotonic() - start >= 1.0
    assert rep.requests == 2 and rep.count("downloaded") == 1


def test_a_used_up_quota_stops_and_a_later_run_resumes(
    server: FakeComtrade, tmp_path: Path
) -> None:
    _dl(tmp_path, server, reporters=["KAZ"])
    server.fault("quota", "/preview/")
    with pytest.raises(DownloadError, match="quota"):
        _dl(tmp_path, server)
    assert len(_csvs(tmp_path)) == 2
    assert _dl(tmp_path, server).count("downloaded") == 2


def test_request_budget_stops_cleanly(server: FakeComtrade, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="budget of 3 requests"):
        _dl(tmp_path, server, max_requests=3)
    assert len(_csvs(tmp_path)) == 3
    rep = _dl(tmp_path, server, max_requests=3)
    assert rep.requests == 1 and rep.count("complete") == 3


def test_csv_and_gzip_answers(server: FakeComtrade, tmp_path: Path) -> None:
    _dl(tmp_path / "json", server)
    server.gzip_json = True
    _dl(tmp_path / "gz", server)
    assert _csvs(tmp_path / "gz") == _csvs(tmp_path / "json")
    server.csv = True
    _dl(tmp_path / "csv", server)
    got = {k: sorted(map(_key_of, csv.DictReader(io.StringIO(v.decode()))))
           for k, v in _csvs(tmp_path / "csv").items()}  # fmt: skip
    want = {k: sorted(map(_key_of, csv.DictReader(io.StringIO(v.decode()))))
            for k, v in _csvs(tmp_path / "json").items()}  # fmt: skip
    assert got == want


def test_one_writer_at_a_time(server: FakeComtrade, tmp_path: Path) -> None:
    with open(tmp_path / ".ca_trade-download.lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(DownloadError, match="another download is writing"):
            _dl(tmp_path, server)
    assert server.log == []
    assert _dl(tmp_path, server).count("downloaded") == 4


# -- the key ---------------------------------------------------------------------------


def test_the_key_is_never_written_anywhere(
    server: FakeComtrade, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    server.bulk = [_bulk_file(398)]
    args = {**FAST, "reporters": ["KAZ", "KGZ"], "years": [2019], "base_url": server.url}
    rep = download(tmp_path, **args)
    assert rep.access == "api" and all(e.key_sent and e.key_ok for e in server.log)
    download(tmp_path, access="bulk", **args)
    server.fault("echo_key", "/data/")
    with pytest.raises(DownloadError) as err:
        download(tmp_path / "b", **args)
    texts = [str(err.value), repr(err.value), repr(rep), str(rep.to_frame())]
    ingest(tmp_path, tmp_path / "_processed")
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            assert KEY.encode() not in data, path
    assert not any(KEY in t for t in texts)


# -- bulk files ------------------------------------------------------------------------


def _bulk_file(code: int, row_key: str = "b07f98ee" * 8, date: str = "2024-03-10") -> BulkFile:
    lines = ["\t".join(BULK_HEADER)]
    rename = {"CIFValue": "cifvalue", "FOBValue": "fobvalue"}
    for r in _records():
        if r["reporterCode"] == code:
            vals = [r.get(rename.get(c, c)) for c in BULK_HEADER]
            lines.append("\t".join("" if v is None else str(v) for v in vals))
    content = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    return BulkFile(code, "2019", "H5", content, row_key, f"{date}T04:54:11Z")


def _bulk(out: Path, srv: FakeComtrade, **kw: Any) -> Any:
    return _dl(out, srv, access="bulk", key=KEY, **kw)


def test_bulk_files_are_kept_as_downloaded(server: FakeComtrade, tmp_path: Path) -> None:
    server.bulk = [_bulk_file(398)]
    rep = _bulk(tmp_path, server)
    assert [p.status for p in rep.pieces] == ["downloaded", "unavailable"]
    path = tmp_path / rep.pieces[0].file
    assert path.name == "KAZ398_A2019_H5_O.tsv.gz"
    assert path.read_bytes() == server.bulk[0].content
    side = read_sidecar(path)
    n_kaz = sum(r["reporterCode"] == 398 for r in _records())
    assert side is not None and side["records"] == n_kaz == 36 and side["layout"] == "plus_bulk"
    assert side["url"] == f"{server.url}/bulk/v1/file/398/{'b07f98ee' * 8}"  # rebased
    assert side["listing"]["rowKey"] == "b07f98ee" * 8
    assert [e.path for e in server.log] == ["/bulk/v1/get/C/A/HS", side["url"][len(server.url) :]]
    assert all(e.key_ok for e in server.log)
    assert rep.pieces[1].label == "KGZ 2019 bulk" and "no bulk file" in rep.pieces[1].message
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ing = ingest(tmp_path, tmp_path / "_p")
    assert ing.rows_read == n_kaz and ing.files[0].layout == "plus_bulk"


def test_bulk_resume_and_republished_files(server: FakeComtrade, tmp_path: Path) -> None:
    server.bulk = [_bulk_file(398)]
    _bulk(tmp_path, server)
    again = _bulk(tmp_path, server)
    assert again.requests == 1 and again.count("complete") == 1  # the list only
    server.bulk = [_bulk_file(398, date="2025-01-01")]
    assert _bulk(tmp_path, server).count("downloaded") == 1


def test_a_cut_bulk_file_is_asked_again(server: FakeComtrade, tmp_path: Path) -> None:
    server.bulk = [_bulk_file(398)]
    server.fault("gzcut", "/bulk/v1/file/")
    rep = _bulk(tmp_path, server)
    assert rep.count("downloaded") == 1 and rep.requests == 3
    assert (tmp_path / rep.pieces[0].file).read_bytes() == server.bulk[0].content
    server.fault("gzcut", "/bulk/v1/file/", times=10)
    with pytest.raises(DownloadError, match="gave up"):
        _bulk(tmp_path / "again", server, max_retries=1)
    assert not list((tmp_path / "again").rglob("*.gz"))


def test_a_mirror_under_a_path_prefix(tmp_path: Path) -> None:
    with FakeComtrade(records=_records(), key=KEY, prefix="/mirror/comtrade") as srv:
        srv.bulk = [_bulk_file(417)]
        assert _dl(tmp_path, srv).count("downloaded") == 4
        rep = _bulk(tmp_path, srv)
        assert rep.count("downloaded") == 1
        assert read_sidecar(tmp_path / rep.pieces[1].file)["url"].startswith(  # type: ignore[index]
            f"http://127.0.0.1:{srv.port}/mirror/comtrade/bulk/v1/file/417/"
        )


def test_an_answer_outside_the_query_is_refused(server: FakeComtrade, tmp_path: Path) -> None:
    # a mirror that answers every query with the same records (both reporters, both flows)
    server.data_body = fixture("data_synthetic_kaz_kgz_2019.json")
    with pytest.raises(DownloadError, match="did not ask for"):
        _dl(tmp_path, server)
    assert _csvs(tmp_path) == {}
