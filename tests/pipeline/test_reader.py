"""Typed reading of one TOML table: unknown keys, types, ranges, each error naming its key."""

from __future__ import annotations

import math

import pytest

from ca_trade.exceptions import ConfigError
from ca_trade.pipeline.reader import TableReader, identifier, iso3_list


def _reader(**table: object) -> TableReader:
    return TableReader(table, "c.toml [t]", {"a", "b", "years", "n"})


def test_unknown_keys_and_non_tables_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"c.toml \[t\]: unknown key\(s\) zz; allowed: a, b"):
        _reader(zz=1)
    with pytest.raises(ConfigError, match=r"c.toml \[t\] must be a table; got list"):
        TableReader([1], "c.toml [t]", set())


def test_types_are_checked_and_a_bool_is_never_a_number() -> None:
    r = _reader(a="x", b=True, n=2)
    assert r.text("a") == "x" and r.text("zz", "d") == "d"
    assert r.flag("b", False) is True
    assert r.count("n") == 2 and r.count("zz", 5) == 5
    with pytest.raises(ConfigError, match=r"c.toml \[t\].b must be a number; got True"):
        r.real("b")
    with pytest.raises(ConfigError, match=r"\[t\].n must be str; got 2"):
        r.text("n")


def test_numbers_are_finite_and_in_range() -> None:
    r = _reader(a=math.inf, b=-1, n=3)
    with pytest.raises(ConfigError, match=r"\[t\].a must be > 0; got inf"):
        r.number("a", 1.0, "> 0", lambda v: v > 0)
    with pytest.raises(ConfigError, match=r"\[t\].b must be >= 0; got -1"):
        r.integer("b", 0, ">= 0", lambda v: v >= 0)
    assert r.number("n", 1.0, "> 0", lambda v: v > 0) == 3.0
    assert r.number("zz", None, "> 0", lambda v: v > 0) is None


def test_choices_years_and_codes() -> None:
    r = _reader(a="ols", years=[2000, 2019], b=[2019, 2000])
    assert r.choice("a", ("ppml", "ols"), "ppml") == "ols"
    with pytest.raises(ConfigError, match=r"must be one of \('x',\); got 'ols'"):
        r.choice("a", ("x",), "x")
    assert r.years("years", None) == (2000, 2019)
    with pytest.raises(ConfigError, match="increasing years"):
        r.years("b", None)
    assert iso3_list(["UZB", "KAZ", "UZB"], "w") == ["KAZ", "UZB"]
    with pytest.raises(ConfigError, match=r"w: not ISO3 codes: 'kz'; countries are written"):
        iso3_list(["kz"], "w")
    with pytest.raises(ConfigError, match=r"'kaz' \(did you mean 'KAZ'\?\)"):
        iso3_list(["KGZ", "kaz"], "w")
    with pytest.raises(ConfigError, match="w must be a simple identifier"):
        identifier("1 bad", "w")
