r"""Rules of a customs union: the common external tariff and the pooling of tariff revenue.

Used by :func:`ca_trade.ge.tariff_harmonization`. Tariffs :math:`t_{ij}` (by sector where the
frame has a ``sector`` column) are those importer *j* applies to exporter *i*. On members'
imports from an outsider *i* the common external tariff (CET) replaces each member's own
tariff, for every sector:

- ``cet="simple"``: the simple mean over members of their tariffs on *i*;
- ``cet="weighted"``: the mean weighted by members' imports from *i* (simple mean where the
  weights are all zero);
- ``cet="max"``: the highest member tariff on *i*;
- ``cet=("adopt", "RUS")``: the schedule of one member (the Eurasian Economic Union adopted
  Russia's);
- ``cet=<frame>``: a given schedule, ``tariff`` by ``sector`` and/or ``exporter``;
- ``cet="keep"``: members keep their external tariffs (a free-trade area).

Revenue pooling: ``revenue_shares={"KAZ": 0.0711, ...}`` names every member and its quota
(non-negative, summing to one); members pay import duties into one pool shared by the quotas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ca_trade.exceptions import SpecificationError
from ca_trade.ge.scenario import RevenuePool

__all__ = ["MAX_TARIFF", "cet_label", "common_external_tariff", "revenue_pool"]

#: Tariffs are ad valorem fractions in [0, MAX_TARIFF) (as in the multi-sector solver).
MAX_TARIFF = 10.0

_RULES = ("simple", "weighted", "max", "keep")


def cet_label(cet: Any) -> str:
    """Describe a CET rule in words.

    Parameters
    ----------
    cet : str, tuple or pandas.DataFrame
        The rule.

    Returns
    -------
    str
        A phrase for scenario descriptions.

    Examples
    --------
    >>> cet_label(("adopt", "RUS"))
    "common external tariff = RUS's schedule"
    """
    if isinstance(cet, pd.DataFrame):
        return "common external tariff = the given schedule"
    if isinstance(cet, tuple):
        return f"common external tariff = {cet[1]}'s schedule"
    return {
        "keep": "members keep their external tariffs",
        "simple": "common external tariff = simple average of members' tariffs",
        "weighted": "common external tariff = import-weighted average of members' tariffs",
        "max": "common external tariff = highest member tariff",
    }[str(cet)]


def _check_rule(cet: Any, members: Sequence[str]) -> None:
    if isinstance(cet, pd.DataFrame):
        return
    if isinstance(cet, tuple):
        if len(cet) == 2 and cet[0] == "adopt" and cet[1] in members:
            return
        raise SpecificationError(
            f"cet={cet!r}: to adopt one member's schedule pass ('adopt', ISO3) with a member "
            f"of {list(members)}."
        )
    if cet in members:
        raise SpecificationError(
            f"cet={cet!r}: to adopt {cet}'s schedule pass cet=('adopt', {cet!r})."
        )
    if cet not in _RULES:
        raise SpecificationError(
            f"cet must be 'simple', 'weighted', 'max', 'keep', ('adopt', ISO3) or a schedule "
            f"frame, got {cet!r}."
        )


def _schedule(cet: pd.DataFrame, ext: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Look up a given CET schedule for every row of `ext` (rows it does not cover: NaN)."""
    on = [k for k in ("exporter", "sector") if k in cet.columns]
    if "tariff" not in cet.columns or not on:
        raise SpecificationError(
            "a CET schedule needs a `tariff` column and `sector` and/or `exporter` columns; "
            f"it has {list(cet.columns)}."
        )
    if "sector" in on and "sector" not in keys:
        raise SpecificationError(
            "the CET schedule is by sector but the tariffs have no sector column."
        )
    sched = cet[[*on, "tariff"]].copy()
    for col in on:
        sched[col] = sched[col].astype(str)
    vals = pd.to_numeric(sched["tariff"], errors="coerce")
    bad = ~(vals.notna() & (vals >= 0) & (vals < MAX_TARIFF))
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raise SpecificationError(
            f"CET schedule row {k} has tariff {cet['tariff'].iloc[k]!r}; tariffs are fractions "
            f"in [0, {MAX_TARIFF:g})."
        )
    if sched.duplicated(on).any():
        k = int(np.flatnonzero(sched.duplicated(on).to_numpy())[0])
        raise SpecificationError(f"CET schedule row {k} repeats {on} {sched.iloc[k][on].tolist()}.")
    sched["tariff"] = vals.astype(float)
    return ext[on].merge(sched, on=on, how="left")["tariff"].set_axis(ext.index)


def common_external_tariff(
    ext: pd.DataFrame,
    members: Sequence[str],
    cet: Any,
    *,
    keys: list[str],
    weight: str,
) -> pd.Series | None:
    """Return the CET on each row of members' imports from outsiders.

    Parameters
    ----------
    ext : pandas.DataFrame
        Members' imports from outsiders: ``exporter, importer[, sector], baseline`` and, for
        the weighted mean, the `weight` column.
    members : sequence of str
        Members (ISO3).
    cet : str, tuple or pandas.DataFrame
        The rule (module docstring).
    keys : list of str
        ``["exporter", "importer"]`` plus ``"sector"`` for tariffs by sector.
    weight : str
        Weight column of the weighted mean.

    Returns
    -------
    pandas.Series or None
        The new tariff of every row of `ext` (NaN where the rule gives none: the row keeps
        its tariff); None for ``"keep"``.

    Examples
    --------
    >>> ext = pd.DataFrame({"exporter": ["CHN", "CHN"], "importer": ["KAZ", "KGZ"],
    ...                     "baseline": [0.1, 0.3]})
    >>> common_external_tariff(ext, ["KAZ", "KGZ"], "max", keys=["exporter", "importer"],
    ...                        weight="w").tolist()
    [0.3, 0.3]
    """
    _check_rule(cet, members)
    if isinstance(cet, pd.DataFrame):
        return _schedule(cet, ext, keys)
    if cet == "keep":
        return None
    by = [k for k in keys if k != "importer"]
    grouped = ext.groupby(by, sort=False)["baseline"]
    if cet == "simple":
        return grouped.transform("mean")
    if cet == "max":
        return grouped.transform("max")
    if cet == "weighted":
        w = pd.to_numeric(ext[weight], errors="coerce").fillna(0.0).clip(lower=0.0)
        num = (w * ext["baseline"]).groupby([ext[k] for k in by], sort=False).transform("sum")
        den = w.groupby([ext[k] for k in by], sort=False).transform("sum")
        return (num / den).where(den > 0, grouped.transform("mean"))
    member = cet[1]
    own = ext[ext["importer"] == member].set_index(by)["baseline"]
    looked = ext[by].merge(own.rename("cet").reset_index(), on=by, how="left")["cet"]
    return looked.set_axis(ext.index)


def revenue_pool(shares: Mapping[str, float], members: Sequence[str]) -> RevenuePool:
    """Validate the quotas of a revenue pool against the members of the union.

    Parameters
    ----------
    shares : Mapping[str, float]
        Each member's share of the pooled revenue.
    members : sequence of str
        Members of the union.

    Returns
    -------
    RevenuePool
        Members (sorted) and quotas.

    Raises
    ------
    SpecificationError
        If a share names a non-member, a member lacks a share, or the shares are negative or
        do not sum to one.

    Examples
    --------
    >>> revenue_pool({"KGZ": 0.2, "KAZ": 0.8}, ["KAZ", "KGZ"]).quotas
    (0.8, 0.2)
    """
    if not isinstance(shares, Mapping):
        raise SpecificationError(
            f"revenue_shares must be a mapping {{member: share}}, got {type(shares).__name__}."
        )
    given = {str(k): v for k, v in shares.items()}
    outsiders = sorted(set(given) - set(members))
    if outsiders:
        raise SpecificationError(
            f"revenue_shares names countries outside the union {list(members)}: {outsiders}."
        )
    lacking = sorted(set(members) - set(given))
    if lacking:
        raise SpecificationError(
            f"revenue_shares lacks member(s) {lacking}; give every member its quota (0 if it "
            "receives nothing)."
        )
    try:
        quotas = tuple(float(given[m]) for m in sorted(members))
    except (TypeError, ValueError):
        raise SpecificationError(f"revenue shares must be numbers, got {given}.") from None
    return RevenuePool(tuple(sorted(members)), quotas)
