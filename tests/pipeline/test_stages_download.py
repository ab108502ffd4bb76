"""The ``[download]`` table of run configs: validation, and a run that downloads before ingest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ca_trade.exceptions import ConfigError
from ca_trade.pipeline import Progress, load_config, run
from tests.etl.comtrade_server import FakeComtrade, fixture
from tests.pipeline.helpers import write_config

RAW = """
[run]
name = "t"
root = "reports/t"
[source]
kind = "raw"
raw_dir = "data/raw"
"""


@pytest.fixture
def server() -> Iterator[FakeComtrade]:
    records = json.loads(fixture("data_synthetic_kaz_kgz_2019.json"))["data"]
    with FakeComtrade(records=records) as srv:
        yield srv


def test_download_table_is_parsed(tmp_path: Path) -> None:
    cfg = load_config(
        write_config(
            tmp_path,
            RAW + '[download]\nreporters = ["KGZ", "KAZ"]\nyears = [2015, 2019]\n'
            'level = ["27", "2709"]\naccess = "preview"\nrequests_per_minute = 6\n'
            "max_requests = 400\n",
        )
    )
    assert cfg.download is not None
    kw = cfg.download.kwargs()
    assert kw["reporters"] == ("KAZ", "KGZ") and kw["years"] == range(2015, 2020)
    assert kw["level"] == ("27", "2709") and kw["access"] == "preview"
    assert kw["requests_per_minute"] == 6.0 and kw["max_requests"] == 400
    assert kw["partners"] is None and kw["flows"] == ("M", "X")
    assert load_config(write_config(tmp_path / "b", RAW)).download is None


@pytest.mark.parametrize(
    ("snippet", "match"),
    [
        ('reporters = ["KAZ"]\nyears = [2019, 2019]\nkey = "abc-secret-123"', "COMTRADE_API_KEY"),
        ('reporters = ["KAZ"]\nyears = [2019, 2019]\nretries = 3', "unknown key"),
        ('reporters = ["KAZ"]', "needs reporters"),
        ('reporters = ["kz"]\nyears = [2019, 2019]', "ISO3"),
        ('reporters = ["KAZ"]\nyears = [2019, 2019]\nlevel = "sections"', "level"),
        ('reporters = ["KAZ"]\nyears = [2019, 2019]\nlevel = ["2A"]', "HS codes"),
        ('reporters = ["KAZ"]\nyears = [2019, 2019]\nflows = ["I"]', "flows"),
        ('reporters = ["KAZ"]\nyears = [2019, 2019]\naccess = "ftp"', "access"),
    ],
)
def test_download_table_errors(tmp_path: Path, snippet: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as err:
        load_config(write_config(tmp_path, RAW + "[download]\n" + snippet + "\n"))
    assert "abc-secret-123" not in str(err.value)


def test_download_needs_raw_source(tmp_path: Path) -> None:
    text = '[run]\nname = "t"\n[download]\nreporters = ["KAZ"]\nyears = [2019, 2019]\n'
    with pytest.raises(ConfigError, match='kind = "raw"'):
        load_config(write_config(tmp_path, text))


def test_a_run_downloads_then_ingests(server: FakeComtrade, tmp_path: Path) -> None:
    text = RAW + (
        '[download]\nreporters = ["KAZ", "KGZ"]\nyears = [2019, 2019]\n'
        f'base_url = "{server.url}"\naccess = "preview"\nrequests_per_minute = 60000\n'
        '[outputs]\ntables = ["md"]\nfigures = []\n'
    )
    cfg = load_config(write_config(tmp_path, text))
    outcome = run(cfg, progress=Progress(quiet=True))
    raw = tmp_path / "data" / "raw" / "comtrade" / "api"
    assert sorted(p.name for p in raw.rglob("*.csv")) == [
        "KAZ398_A2019_M_TOTAL_all.csv", "KAZ398_A2019_X_TOTAL_all.csv",
        "KGZ417_A2019_M_TOTAL_all.csv", "KGZ417_A2019_X_TOTAL_all.csv",
    ]  # fmt: skip
    assert outcome.ingest_counts["rows_read"] == 24
    panel = pd.read_parquet(cfg.data_dir / "panel.parquet")
    assert {"KAZ", "KGZ"} <= set(panel["exporter"])
    n = len(server.log)
    run(cfg, progress=Progress(quiet=True))  # complete pieces are not fetched again
    assert len(server.log) == n
