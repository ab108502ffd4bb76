"""What the countries of the SYNTHETIC sample report: CIF margins and who reports when."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ca_trade import facts
from ca_trade.sample.reporting import MARGIN, cif_margin, reports_in


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0.0, 25000.0), min_size=1, max_size=20),
    st.lists(st.booleans(), min_size=20, max_size=20),
)
def test_cif_margin_is_bounded_and_monotone(dists: list[float], landlocked: list[bool]) -> None:
    d = np.array(sorted(dists))
    ll = np.array(landlocked[: len(d)])
    m = cif_margin(d, ll)
    assert ((m >= MARGIN["lo"]) & (m <= MARGIN["hi"])).all()
    same = cif_margin(d, np.zeros(len(d), dtype=bool))
    assert (np.diff(same) >= 0).all()
    assert (m >= same).all()


@given(st.sampled_from(sorted(facts.countries().iso3)), st.integers(1992, 2030))
def test_reporting_rule(iso3: str, year: int) -> None:
    ok = bool(reports_in(pd.Series([iso3]), pd.Series([year]))[0])
    assert ok == (iso3 != "TKM" and not (iso3 == "UZB" and year < 2017))
