"""Replication of Weidner & Zylkin's ``ppml_fe_bias`` example (MANUF rows of its data).

Weidner & Zylkin (2021), "Bias and consistency in three-way gravity models", JIE 132, 103513;
published output of the Stata command's example (``ppml_fe_bias/README`` of the reference
directory):

- ``ppmlhdfe trade fta, a(imp#year exp#year imp#exp) cluster(imp#exp)``: fta 0.1780290
  (pair-clustered SE 0.0350079), N = 20,600 after 40 all-zero pairs are dropped;
- ``ppml_fe_bias``: bias 0.0076568 (subtracted), corrected fta 0.1703722, adjusted (locally
  de-biased) SE 0.0419559.

The command's two-way mode has no published number: it is checked against an independent
dense computation (explicit dummy matrices, per-pair loops; ``tests/estimate/test_bias.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from tests.conftest import require_reference
from tests.estimate.test_bias import dense_wz

pytestmark = [
    pytest.mark.reference,
    pytest.mark.filterwarnings("ignore::ca_trade.exceptions.SeparationWarning"),
]


@pytest.fixture(scope="module")
def manuf() -> pd.DataFrame:
    d = pd.read_parquet(require_reference("ppml_fe_bias", "example_data.parquet"))
    d = d[d["category"] == "MANUF"].reset_index(drop=True)
    assert len(d) == 20_800
    return d.rename(columns={"isoexp": "orig", "isoimp": "dest", "year": "yr"})


def test_three_way_published_numbers(manuf: pd.DataFrame) -> None:
    res = ct.ppml("trade ~ fta | dest^yr + orig^yr + dest^orig", manuf, vcov={"CRV1": "dest^orig"})
    assert res.nobs == 20_600
    assert res.dropped.counts["separation_fe"] == 200  # 40 all-zero pairs x 5 years
    assert round(float(res.params["fta"]), 7) == 0.1780290
    assert round(float(res.bse["fta"]), 7) == 0.0350079
    bc = res.bias_corrected()
    assert round(float(bc.bias["fta"]), 7) == 0.0076568
    assert round(float(bc.params["fta"]), 7) == 0.1703722
    assert round(float(bc.bse["fta"]), 7) == 0.0419559
    rec = bc.provenance["bias_correction"]
    assert rec["structure"] == "three-way" and rec["fixed_effects"]["pair"] == "dest^orig"
    assert (rec["n_exporters"], rec["n_importers"], rec["n_periods"]) == (65, 65, 5)


def test_two_way_mode_against_dense_computation(manuf: pd.DataFrame) -> None:
    manuf = manuf.assign(pair=manuf["orig"] + "_" + manuf["dest"])
    fml = "trade ~ fta + ln_distw + contig + colony + comlang_off + comleg | orig^yr + dest^yr"
    res = ct.ppml(fml, manuf, vcov={"CRV1": "pair"})
    assert res.nobs == 20_800
    bc = res.bias_corrected()
    _, v = dense_wz(res, manuf, three_way=False)
    np.testing.assert_allclose(bc.vcov.to_numpy(), v, rtol=1e-7)
    np.testing.assert_array_equal(bc.params.to_numpy(), res.params.to_numpy())
    # the local de-biasing widens every pair-clustered standard error here
    assert (bc.bse > res.bse).all()
    assert round(float(bc.bse["fta"]), 4) == 0.0909
