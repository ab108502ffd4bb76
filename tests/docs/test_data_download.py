"""docs/data.md: the real-data run, pasted into bash as written, against a local stand-in API.

The block marked ``download-run`` is run by bash as written, with the changes a test needs:
``CA_TRADE_COMTRADE_URL`` points at the loopback stand-in (serving the SYNTHETIC sample's
2018-2019 records) and ``ca-trade download`` gets ``--rate 60000 --backoff 0.01`` (the
documented politeness would make the test last minutes). The commented-out
``export COMTRADE_API_KEY=your-key`` line is switched on with the stand-in's key, so the run
takes the data-API path a user with a key takes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ca_trade as ct
from tests.etl.comtrade_server import FakeComtrade, records_from_bulk_files

DOCS = Path(__file__).resolve().parents[2] / "docs" / "data.md"
KEY = "TESTKEY-0123456789abcdef"


def _block() -> str:
    text = DOCS.read_text(encoding="utf-8")
    m = re.search(r"<!-- download-run:[^>]*-->\n```bash\n(.*?)```", text, re.S)
    assert m is not None, "docs/data.md lost its download-run block"
    return m.group(1)


@pytest.mark.slow
def test_the_documented_real_data_run_works(tmp_path: Path) -> None:
    script = _block()
    assert "# export COMTRADE_API_KEY=your-key" in script and "ca-trade download " in script
    script = script.replace("# export COMTRADE_API_KEY=your-key", f"export COMTRADE_API_KEY={KEY}")
    script = script.replace("ca-trade download ", "ca-trade download --rate 60000 --backoff 0.01 ")
    info = ct.sample.generate(tmp_path / "sample", years=[2018, 2019])
    work = tmp_path / "project"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "COMTRADE_API_KEY"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    with FakeComtrade(records=records_from_bulk_files(info.comtrade_files), key=KEY) as srv:
        env["CA_TRADE_COMTRADE_URL"] = srv.url
        res = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=work, env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr[-3000:]
        assert srv.data_requests() and all(e.key_ok for e in srv.data_requests())
    assert KEY not in res.stdout + res.stderr
    assert "api: 256 pieces downloaded" in res.stdout  # 16 reporters x 8 years x 2 flows
    manifest = json.loads((work / "data" / "processed" / "manifest.json").read_text())
    assert all("download" in entry for entry in manifest["files"].values())
    est = json.loads((work / "reports" / "estimates.json").read_text())
    assert est["names"] == ["ln_dist", "contig", "comlang", "rta"] and est["converged"]
    assert np.isfinite(est["params"]).all()
    # The SYNTHETIC sample's ln_dist is -0.8; its 2018-2019 reports give -0.89 here.
    assert abs(est["params"][0] + 0.8) < 0.2
