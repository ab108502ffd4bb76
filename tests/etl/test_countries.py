"""Time-valid Comtrade code -> ISO3 mapping."""

from __future__ import annotations

import pandas as pd
import pytest

from ca_trade.etl.countries import code_table, map_codes
from ca_trade.exceptions import DataValidationError


def test_comtrade_own_codes_and_central_asia() -> None:
    t = code_table()
    got = map_codes(t, [842, 251, 381, 699, 757, 398, 417, 762, 795, 860], [2019] * 10)
    isos = [g[0] if g else None for g in got]
    assert isos == ["USA", "FRA", "ITA", "IND", "CHE", "KAZ", "KGZ", "TJK", "TKM", "UZB"]


def test_historical_entities_are_their_own_and_time_bounded() -> None:
    t = code_table()
    assert map_codes(t, [810], [1990]) == [("SUN", False, False)]
    assert map_codes(t, [810], [1995]) == [None]
    assert map_codes(t, [398], [1990]) == [None]  # Kazakhstan reports from 1992


def test_nes_areas_are_flagged_never_countries() -> None:
    t = code_table()
    got = map_codes(t, [899, 490, 492], [2019] * 3)
    assert [g[0] for g in got if g] == ["XNS", "XOA", "XEU"]
    assert all(g is not None and g[1] for g in got)
    assert map_codes(t, [0], [2019]) == [("WLD", False, True)]


def test_unknown_code_maps_to_none() -> None:
    assert map_codes(code_table(), [987], [2019]) == [None]


def test_overlapping_validity_is_an_error() -> None:
    areas = pd.DataFrame(
        {
            "code": [1, 1],
            "iso3": ["AAA", "BBB"],
            "valid_from": [2000, 2005],
            "valid_to": [2010, None],
            "is_nes": [False, False],
            "is_group": [False, False],
        }
    )
    with pytest.raises(DataValidationError, match="code 1"):
        code_table(areas)


def test_missing_columns_is_an_error() -> None:
    with pytest.raises(DataValidationError, match="lacks columns"):
        code_table(pd.DataFrame({"code": [1]}))
