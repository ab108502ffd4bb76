"""Typed reading of one TOML table: unknown keys refused, every value checked by type.

The parsers of :mod:`ca_trade.pipeline.parse` read each table of a run configuration through
a :class:`TableReader`, so every error names the file, the table and the key, and quotes the
value.

Examples
--------
>>> r = TableReader({"theta": 4.0}, "c.toml [ge]", {"theta", "n_draws"})
>>> r.number("theta", 5.0, "> 0", lambda v: v > 0), r.integer("n_draws", 200, "> 1", bool)
(4.0, 200)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from typing import TypeVar, overload

from ca_trade.exceptions import ConfigError

__all__ = ["ISO3", "NAME", "RENAMED_KEYS", "TableReader", "identifier", "iso3_list"]

#: Keys of earlier configs and the key each is now, the name the library uses for the same
#: thing (``n_draws`` of :func:`ca_trade.ge.parametric_draws`, ``members`` and
#: ``coefficient`` of the scenario builders of :mod:`ca_trade.ge`). A config that still uses
#: one gets an error naming the new key, never a silent default.
RENAMED_KEYS: dict[str, str] = {
    "draws": "n_draws",
    "group": "members",
    "elasticity": "coefficient",
}

#: An ISO 3166 alpha-3 code as configs write it.
ISO3 = re.compile(r"^[A-Z]{3}$")
#: A name of a specification or scenario (used in file names).
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")

S = TypeVar("S", bound=str)


def iso3_list(value: object, where: str) -> list[str]:
    """Return a non-empty list of ISO3 codes, sorted and without repeats.

    Parameters
    ----------
    value : object
        What the config holds.
    where : str
        Location for the error message.

    Returns
    -------
    list of str
        The codes.

    Raises
    ------
    ConfigError
        When `value` is not a non-empty list of ISO3 codes (a lower-case code is named with
        its upper-case spelling).

    Examples
    --------
    >>> iso3_list(["UZB", "KAZ", "UZB"], "x")
    ['KAZ', 'UZB']
    """
    if not isinstance(value, list) or not value or not all(isinstance(x, str) for x in value):
        raise ConfigError(f"{where} must be a non-empty list of ISO3 codes; got {value!r}")
    bad = [x for x in value if not ISO3.match(x)]
    if bad:
        hints = [
            f"{x!r} (did you mean {x.strip().upper()!r}?)"
            if ISO3.match(x.strip().upper())
            else repr(x)
            for x in bad
        ]
        raise ConfigError(
            f"{where}: not ISO3 codes: {', '.join(hints)}; countries are written as three "
            "upper-case letters, as in the panel's exporter and importer columns (KAZ, KGZ, ...)"
        )
    return sorted(set(value))


def identifier(value: str | None, where: str) -> str:
    """Return `value` when it is a simple identifier (a name used in file names).

    Parameters
    ----------
    value : str or None
        The name.
    where : str
        Location for the error message.

    Returns
    -------
    str
        The name.

    Raises
    ------
    ConfigError
        When it is missing or not a simple identifier.

    Examples
    --------
    >>> identifier("threeway", "x.name")
    'threeway'
    """
    if value is None or not NAME.match(value):
        raise ConfigError(f"{where} must be a simple identifier; got {value!r}")
    return value


class TableReader:
    """Typed access to one TOML table with unknown-key detection.

    Parameters
    ----------
    table : object
        The parsed table (must be a mapping).
    where : str
        Its location (file and table) for error messages.
    allowed : collection of str
        The keys it may have.

    Raises
    ------
    ConfigError
        When `table` is not a table or has a key outside `allowed` (a key of earlier configs,
        :data:`RENAMED_KEYS`, is named with its new spelling).

    Examples
    --------
    >>> TableReader({"draws": 50}, "c.toml [ge]", {"n_draws", "seed"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ca_trade.exceptions.ConfigError: c.toml [ge]: key 'draws' is now 'n_draws': rename it ...
    """

    def __init__(self, table: object, where: str, allowed: Collection[str]) -> None:
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table; got {type(table).__name__}")
        unknown = sorted(set(table) - set(allowed))
        renamed = [k for k in unknown if RENAMED_KEYS.get(k) in allowed]
        if renamed:
            raise ConfigError(
                f"{where}: "
                + "; ".join(f"key {k!r} is now {RENAMED_KEYS[k]!r}" for k in renamed)
                + ": rename it (one vocabulary with the library's functions)"
            )
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(unknown)}; allowed: "
                + ", ".join(sorted(allowed))
            )
        self.table: dict[str, object] = table
        self.where = where

    def __contains__(self, key: str) -> bool:
        return key in self.table

    def value(self, key: str, kinds: tuple[type, ...], default: object = None) -> object:
        """Return the value of `key` (or `default`), checked to be one of `kinds`.

        Parameters
        ----------
        key : str
            The key.
        kinds : tuple of type
            Accepted types (a bool is never taken for a number).
        default : object, optional
            Returned when the key is absent.

        Returns
        -------
        object
            The value.
        """
        if key not in self.table:
            return default
        val = self.table[key]
        if isinstance(val, bool) and bool not in kinds and {int, float} & set(kinds):
            raise ConfigError(f"{self.where}.{key} must be a number; got {val!r}")
        if not isinstance(val, kinds):
            names = "/".join(k.__name__ for k in kinds)
            raise ConfigError(f"{self.where}.{key} must be {names}; got {val!r}")
        return val

    @overload
    def text(self, key: str) -> str | None: ...
    @overload
    def text(self, key: str, default: str) -> str: ...
    def text(self, key: str, default: str | None = None) -> str | None:
        """Return a string value (or `default`)."""
        val = self.value(key, (str,), default)
        return val if isinstance(val, str) else None

    def flag(self, key: str, default: bool) -> bool:
        """Return a boolean value (or `default`)."""
        val = self.value(key, (bool,), default)
        return val if isinstance(val, bool) else default

    @overload
    def count(self, key: str) -> int | None: ...
    @overload
    def count(self, key: str, default: int) -> int: ...
    def count(self, key: str, default: int | None = None) -> int | None:
        """Return an integer (or `default`), such as ``max_records``; no range check."""
        val = self.value(key, (int,))
        return val if isinstance(val, int) else default

    @overload
    def real(self, key: str) -> float | None: ...
    @overload
    def real(self, key: str, default: float) -> float: ...
    def real(self, key: str, default: float | None = None) -> float | None:
        """Return a number as a float (or `default`); no range check."""
        val = self.value(key, (int, float), default)
        return float(val) if isinstance(val, int | float) else None

    @overload
    def number(self, key: str, default: float, rule: str, ok: Callable[[float], bool]) -> float: ...
    @overload
    def number(
        self, key: str, default: None, rule: str, ok: Callable[[float], bool]
    ) -> float | None: ...
    def number(
        self, key: str, default: float | None, rule: str, ok: Callable[[float], bool]
    ) -> float | None:
        """Read a finite number for which ``ok(value)`` holds (or `default`)."""
        val = self.real(key)
        if val is None:
            return default
        if not (math.isfinite(val) and ok(val)):
            raise ConfigError(f"{self.where}.{key} must be {rule}; got {self.table[key]!r}")
        return val

    @overload
    def integer(self, key: str, default: int, rule: str, ok: Callable[[int], bool]) -> int: ...
    @overload
    def integer(
        self, key: str, default: None, rule: str, ok: Callable[[int], bool]
    ) -> int | None: ...
    def integer(
        self, key: str, default: int | None, rule: str, ok: Callable[[int], bool]
    ) -> int | None:
        """Read an integer for which ``ok(value)`` holds (or `default`)."""
        val = self.count(key)
        if val is None:
            return default
        if not ok(val):
            raise ConfigError(f"{self.where}.{key} must be {rule}; got {val!r}")
        return val

    def choice(self, key: str, options: tuple[S, ...], default: S) -> S:
        """Return one of `options` (or `default`)."""
        val = self.text(key, default)
        for option in options:
            if val == option:
                return option
        raise ConfigError(f"{self.where}.{key} must be one of {options}; got {val!r}")

    def table_of(self, key: str) -> Mapping[str, object]:
        """Return a sub-table (empty when absent)."""
        val = self.value(key, (dict,))
        return val if isinstance(val, dict) else {}

    def array(self, key: str) -> list[object] | None:
        """Return an array, or None when absent."""
        val = self.value(key, (list,))
        return val if isinstance(val, list) else None

    def years(self, key: str, default: tuple[int, int] | None) -> tuple[int, int] | None:
        """Return ``[first, last]`` years in 1900-2100, increasing (or `default`)."""
        val = self.value(key, (list,))
        if not isinstance(val, list):
            return default
        if len(val) != 2 or not all(isinstance(y, int) and not isinstance(y, bool) for y in val):
            raise ConfigError(f"{self.where}.{key} must be [first, last] years; got {val!r}")
        if not 1900 <= val[0] <= val[1] <= 2100:
            raise ConfigError(f"{self.where}.{key} must be increasing years; got {val!r}")
        return (int(val[0]), int(val[1]))
