"""Replication of the PPML estimates of Yotov, Piermartini, Monteiro & Larch (2016).

"An Advanced Guide to Trade Policy Analysis" (WTO/UNCTAD); data and Stata logs as described in
the reference README (``agtpa/``). Coefficients must match to the published digits; standard
errors under ``ssc="stata"`` (Stata's ``ppml``: N/(N-1) robust, G/(G-1) cluster).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from tests.conftest import require_reference

pytestmark = pytest.mark.reference

YEARS = [1986, 1990, 1994, 1998, 2002, 2006]


def _quiet_ppml(*args: object, **kw: object) -> ct.estimate.GravityResults:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ct.exceptions.SeparationWarning)
        return ct.ppml(*args, **kw)  # type: ignore[arg-type]


def test_chapter1_table1_ppml_column() -> None:
    d = pd.read_parquet(require_reference("agtpa", "chapter1_panel.parquet"))
    d = d[d["year"].isin(YEARS) & (d["exporter"] != d["importer"])]
    res = _quiet_ppml(
        "trade ~ log(dist) + cntg + lang + clny | exporter^year + importer^year",
        d,
        vcov={"CRV1": "pair_id"},
    )
    # AGTPA ch.1 Table 1, PPML column (3 decimals published): N = 28,152
    assert res.nobs == 28_152
    published = {
        "log(dist)": (-0.841, 0.032),
        "cntg": (0.437, 0.083),
        "lang": (0.247, 0.077),
        "clny": (-0.222, 0.116),
    }
    for name, (coef, se) in published.items():
        assert round(res.params[name], 3) == pytest.approx(coef, abs=1e-12), name
        assert round(res.bse[name], 3) == pytest.approx(se, abs=1e-12), name


def _rta_panel() -> pd.DataFrame:
    d = pd.read_parquet(require_reference("agtpa", "chapter2_rta_panel.parquet"))
    d = d[d["year"].isin(YEARS)].copy()
    domestic = d["exporter"] == d["importer"]
    # RTAsEffects.log: pair_id is symmetric and all domestic pairs share one pair effect
    d["pair_sym"] = np.where(domestic, "DOMESTIC", d["pair_id"].astype(int).astype(str))
    d["pair_dir"] = np.where(domestic, "DOMESTIC", d["exporter"] + "_" + d["importer"])
    return d


def test_chapter2_rta_effect_symmetric_pairs() -> None:
    res = _quiet_ppml("trade ~ RTA | exporter^year + importer^year + pair_sym", _rta_panel())
    # RTAsEffects.log line 3347: RTA .5571853 (.055771), N = 28482 (84 rows of zero pairs out)
    assert res.nobs == 28_482
    assert res.dropped.counts["separation_fe"] == 84
    assert res.params["RTA"] == pytest.approx(0.5571853, abs=5e-8)
    assert res.bse["RTA"] == pytest.approx(0.055771, abs=5e-7)
    assert res.vcov_type == "hetero"


def test_chapter2_rta_effect_directional_pairs() -> None:
    res = _quiet_ppml("trade ~ RTA | exporter^year + importer^year + pair_dir", _rta_panel())
    # reference README: directional pair fixed effects give 0.567
    assert round(res.params["RTA"], 3) == pytest.approx(0.567, abs=1e-12)


def test_trade_without_borders_2006() -> None:
    d = pd.read_parquet(require_reference("agtpa", "trade_without_border_2006.parquet"))
    res = _quiet_ppml("trade ~ ln_DIST + CNTG + INTL_BRDR | exporter + importer", d)
    # TradeWithoutBorder.log lines 346-348 (Stata ppml, robust), N = 4761
    assert res.nobs == 4761
    # (coefficient, SE, half a unit of the last printed digit): Stata prints 7 significant
    # digits, so -2.47445 is -2.474450 (6 decimals) and the others have 7 decimals
    published = {
        "ln_DIST": (-0.7912879, 0.0501494, 5e-8),
        "CNTG": (0.6736456, 0.1073719, 5e-8),
        "INTL_BRDR": (-2.47445, 0.1193816, 5e-7),
    }
    for name, (coef, se, half_unit) in published.items():
        assert res.params[name] == pytest.approx(coef, abs=half_unit), name
        # the sandwich is evaluated at the estimate (final mu), which Stata's SEs reflect
        assert res.bse[name] == pytest.approx(se, abs=5e-8), name
