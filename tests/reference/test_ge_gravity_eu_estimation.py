"""Replication of the partial EU-enlargement effect of Stata ``ge_gravity``'s example.

Baier, Yotov & Zylkin (2019); input panel and Stata results in
``ge_gravity_eu/trade_0014_with_stata_results.parquet``: ``eu_effect`` = 0.22424901 from
``ppmlhdfe trade eu_enlargement other_fta if exporter!=importer, a(expcode#year impcode#year
expcode#impcode) cluster(expcode#impcode)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from tests.conftest import require_reference

pytestmark = pytest.mark.reference


def test_eu_enlargement_partial_effect() -> None:
    d = pd.read_parquet(require_reference("ge_gravity_eu", "trade_0014_with_stata_results.parquet"))
    published = float(d.loc[d["new_eu_pair"] == 1, "eu_effect"].iloc[0])
    assert published == pytest.approx(0.22424901, abs=5e-9)
    d = d[d["exporter"] != d["importer"]]
    res = ct.ppml(
        "trade ~ eu_enlargement + other_fta | expcode^year + impcode^year + expcode^impcode",
        d,
        vcov={"CRV1": "expcode^impcode"},
    )
    # eu_effect is stored in single precision (0.224249005...): agree to 8 decimals
    assert res.params["eu_enlargement"] == pytest.approx(0.22424901, abs=5e-8)
    assert res.vcov_type == "CRV1: expcode^impcode"
    assert res.converged
    assert np.isfinite(res.bse).all()
