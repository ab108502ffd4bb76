r"""Pieces of a Comtrade download (internal to :mod:`ca_trade.etl.download`).

A :class:`Query` is one request of the data API or the preview: a reporter, a year (or its
months), flows, commodity codes and partners. It knows its file name, its query parameters,
the largest number of records its answer can hold, and how to split itself in two. The
ISO3 codes of a study are mapped to Comtrade codes, year by year, with :class:`Areas` (the
packaged, time-valid area table), and the arguments of a download are checked here.

Examples
--------
>>> q = Query("KAZ", 398, 2019, "A", "HS", ("2019",), ("M",), ("TOTAL",), None)
>>> q.stem, q.bound(250)
('KAZ398_A2019_M_TOTAL_all', 250)
>>> [k.stem for k in q.split((0, 156, 643))]
['KAZ398_A2019_M_TOTAL_p0', 'KAZ398_A2019_M_TOTAL_p156-643']
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ca_trade import facts
from ca_trade.etl._comtrade_api import ApiError
from ca_trade.exceptions import SpecificationError

__all__ = [
    "FLOWS",
    "LEVELS",
    "Areas",
    "Query",
    "check_flows",
    "check_iso3",
    "check_levels",
    "check_scope",
    "check_years",
]

#: Commodity levels (or give a list of HS codes).
LEVELS: tuple[str, ...] = ("total", "section", "chapter", "hs6")
#: Trade flows a download may ask for.
FLOWS: tuple[str, ...] = ("M", "X", "RM", "RX")
# Largest number of codes a commodity wildcard returns per partner (None: not known in
# advance; such pieces are split only when an answer reaches the cap).
_WILDCARDS: dict[str, int | None] = {"TOTAL": 1, "AG2": 99, "AG4": None, "AG6": None}
_LEVEL_CMD = {"total": ("TOTAL",), "section": ("AG2",), "chapter": ("AG2",), "hs6": ("AG6",)}
_HS_CODE = re.compile(r"^(\d{2}|\d{4}|\d{6})$")
_ISO3 = re.compile(r"^[A-Z]{3}$")


def _tag(items: Sequence[str], noun: str) -> str:
    if len(items) <= 3:
        return "-".join(items)
    digest = hashlib.sha256(",".join(items).encode()).hexdigest()[:8]
    return f"{len(items)}{noun}-{digest}"


@dataclass(frozen=True)
class Query:
    """One request of the data API or the preview (one piece)."""

    reporter: str
    reporter_code: int
    year: int
    freq: str
    classification: str
    periods: tuple[str, ...]
    flows: tuple[str, ...]
    cmd: tuple[str, ...]
    partners: tuple[int, ...] | None

    @property
    def stem(self) -> str:
        """File stem: ``<ISO3><code>_<freq><periods>_<flows>_<codes>_<partners>``."""
        partners = "all"
        if self.partners is not None:
            partners = "p" + _tag([str(p) for p in self.partners], "p")
        return "_".join(
            (
                f"{self.reporter}{self.reporter_code}",
                f"{self.freq}{self._periods()}",
                "".join(self.flows),
                _tag(self.cmd, "codes"),
                partners,
            )
        )

    def _periods(self) -> str:
        """One period, or ``first-last`` (halves of a sorted list are contiguous)."""
        first, last = self.periods[0], self.periods[-1]
        return first if len(self.periods) == 1 else f"{first}-{last}"

    @property
    def label(self) -> str:
        """The piece in words, for progress lines and messages."""
        periods = self._periods()
        partners = "all partners" if self.partners is None else f"{len(self.partners)} partners"
        cmd = ",".join(self.cmd) if len(self.cmd) <= 3 else f"{len(self.cmd)} codes"
        return f"{self.reporter} {periods} {'+'.join(self.flows)} {cmd}, {partners}"

    def describe(self) -> dict[str, Any]:
        """Return the piece as JSON (compared with a sidecar's ``piece``: completeness)."""
        return {
            "reporter": self.reporter,
            "reporter_code": self.reporter_code,
            "frequency": self.freq,
            "classification": self.classification,
            "periods": list(self.periods),
            "flows": list(self.flows),
            "cmd": list(self.cmd),
            "partners": "all" if self.partners is None else list(self.partners),
        }

    def params(self, cap: int) -> dict[str, str]:
        """Query parameters: totals only (customs C00, mode of transport 0, partner2 World)."""
        params = {
            "reporterCode": str(self.reporter_code),
            "period": ",".join(self.periods),
            "flowCode": ",".join(self.flows),
            "cmdCode": ",".join(self.cmd),
        }
        if self.partners is not None:
            params["partnerCode"] = ",".join(str(p) for p in self.partners)
        params.update(
            partner2Code="0",
            customsCode="C00",
            motCode="0",
            maxRecords=str(cap),
            format="JSON",
            breakdownMode="classic",
            includeDesc="true",
        )
        return params

    def bound(self, n_partners_all: int) -> int | None:
        """Largest possible number of records, or None where a wildcard's size is unknown."""
        n_cmd = 0
        for code in self.cmd:
            size = _WILDCARDS.get(code, 1)
            if size is None:
                return None
            n_cmd += size
        n_partners = n_partners_all if self.partners is None else len(self.partners)
        return len(self.periods) * len(self.flows) * n_cmd * n_partners

    def split(self, all_partners: tuple[int, ...]) -> tuple[Query, ...] | None:
        """Two halves along the first dimension that has several values, or None."""
        dims: list[tuple[str, tuple[Any, ...]]] = [
            ("flows", self.flows),
            ("periods", self.periods),
            ("cmd", self.cmd),
            ("partners", all_partners if self.partners is None else self.partners),
        ]
        for name, items in dims:
            if len(items) > 1:
                half = len(items) // 2
                return (_with_dim(self, name, items[:half]), _with_dim(self, name, items[half:]))
        return None


def _with_dim(q: Query, name: str, items: tuple[Any, ...]) -> Query:
    """Return ``q`` with one dimension (flows, periods, cmd or partners) replaced."""
    if name == "flows":
        return replace(q, flows=items)
    if name == "periods":
        return replace(q, periods=items)
    if name == "cmd":
        return replace(q, cmd=items)
    return replace(q, partners=items)


class Areas:
    """ISO3 <-> Comtrade area codes, year by year, from the packaged table.

    Examples
    --------
    >>> a = Areas()
    >>> a.code("SUN", 1990), a.code("SUN", 1992), a.code("DEU", 1989), a.code("DEU", 1991)
    (810, None, 280, 276)
    """

    def __init__(self) -> None:
        a = facts.comtrade_areas()
        lo = a["valid_from"].fillna(1900).astype(int)
        hi = a["valid_to"].fillna(2100).astype(int)
        self._rows = [
            (int(c), str(i), int(f), int(t))
            for c, i, f, t in zip(a["code"], a["iso3"], lo, hi, strict=True)
        ]
        self.known = {r[1] for r in self._rows}

    def code(self, iso3: str, year: int) -> int | None:
        """Return the Comtrade code of ``iso3`` valid in ``year``, or None."""
        for code, iso, lo, hi in self._rows:
            if iso == iso3 and lo <= year <= hi:
                return code
        return None

    def iso3(self, code: int, year: int) -> str | None:
        """Return the ISO3 id of ``code`` valid in ``year``, or None."""
        for c, iso, lo, hi in self._rows:
            if c == code and lo <= year <= hi:
                return iso
        return None

    def codes(self, year: int) -> tuple[int, ...]:
        """Return every code valid in ``year`` (World, groups and 'nes' areas included)."""
        return tuple(sorted(c for c, _, lo, hi in self._rows if lo <= year <= hi))

    def span(self, iso3: str) -> str:
        """Return the codes of ``iso3`` and their years, for messages."""
        spans = [
            f"{c} in {lo if lo > 1900 else '...'}-{hi if hi < 2100 else '...'}"
            for c, iso, lo, hi in self._rows
            if iso == iso3
        ]
        return ", ".join(spans)


def check_scope(rows: list[dict[str, Any]], q: Query) -> None:
    """Refuse an answer holding records the query did not ask for (a wrong mirror)."""
    reporters = {str(r.get("reporterCode")) for r in rows}
    flows = {str(r.get("flowCode")) for r in rows}
    partners = {str(r.get("partnerCode")) for r in rows}
    asked = None if q.partners is None else {str(p) for p in q.partners}
    if (
        not reporters <= {str(q.reporter_code)}
        or not flows <= set(q.flows)
        or (asked is not None and not partners <= asked)
    ):
        raise ApiError(
            f"the answer holds records the query did not ask for (reporters {sorted(reporters)}"
            f", flows {sorted(flows)}); it is not saved: check base_url"
        )


def check_iso3(values: Iterable[str] | str, what: str, areas: Areas) -> tuple[str, ...]:
    """Return the ISO3 codes, upper-cased, unique and sorted; refuse unknown ones."""
    items = [values] if isinstance(values, str) else list(values)
    if not items:
        raise SpecificationError(f"{what} must name at least one ISO3 code, e.g. ['KAZ']")
    bad = [v for v in items if not isinstance(v, str) or not _ISO3.match(v.strip().upper())]
    if bad:
        raise SpecificationError(f"{what} must be ISO3 codes like 'KAZ'; got {bad}")
    codes = sorted({v.strip().upper() for v in items})
    unknown = [c for c in codes if c not in areas.known]
    if unknown:
        raise SpecificationError(
            f"{what}: {unknown} are not in the packaged Comtrade area table "
            "(ca_trade.facts.comtrade_areas()); use its ISO3 codes (historical areas: SUN, "
            "YUG, CSK; 'nes' areas: X..)"
        )
    return tuple(codes)


def check_levels(level: str | Sequence[str]) -> tuple[str, ...]:
    """Return the API commodity codes of a level (``section`` asks the chapters)."""
    if isinstance(level, str):
        if level in _LEVEL_CMD:
            return _LEVEL_CMD[level]
        raise SpecificationError(
            f"level must be one of {LEVELS} or a list of HS codes (2, 4 or 6 digits); got {level!r}"
        )
    codes = sorted({str(c).strip().upper() for c in level})
    bad = [c for c in codes if c != "TOTAL" and not _HS_CODE.match(c)]
    if not codes or bad:
        raise SpecificationError(
            f"level codes must be HS codes of 2, 4 or 6 digits (or TOTAL); got {bad or codes}"
        )
    return tuple(codes)


def check_years(years: Iterable[int]) -> list[int]:
    """Return the years, unique and sorted, within 1962-2100."""
    try:
        out = sorted({int(y) for y in years if not isinstance(y, bool)})
    except (TypeError, ValueError):
        raise SpecificationError(
            f"years must be integers, e.g. range(2015, 2023); got {years!r}"
        ) from None
    if not out or out[0] < 1962 or out[-1] > 2100:
        raise SpecificationError(
            f"years must be a non-empty set within 1962-2100 (Comtrade starts in 1962); got {out}"
        )
    return out


def check_flows(flows: Sequence[str] | str) -> tuple[str, ...]:
    """Return the flows, upper-cased, unique, in the order given."""
    items = [flows] if isinstance(flows, str) else list(flows)
    out = tuple(dict.fromkeys(str(f).strip().upper() for f in items))
    bad = [f for f in out if f not in FLOWS]
    if not out or bad:
        raise SpecificationError(f"flows must be among {FLOWS}; got {list(items)}")
    return out
