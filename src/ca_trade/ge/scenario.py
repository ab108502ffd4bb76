r"""The :class:`Scenario`: partial effects of a policy, tied to the coefficients that make them.

A scenario stores, per pair, the *change in each regressor* the policy causes (for example
``rta`` 0 → 1 gives a change of 1, a tariff cut gives a change in ``ln_tariff``) and the
coefficient of each regressor. The partial effect on log trade at constant resistances is

.. math:: \delta_{ij} = \sum_k \beta_k \, \Delta x_{ij,k}.

Keeping the two apart lets :mod:`ca_trade.ge.uncertainty` redraw the coefficients and rebuild the
effects. Scenarios compose with ``+`` (changes add up pair by pair).

For the multi-sector model a scenario may carry a ``sector`` column in its changes (a missing
sector applies the row to every sector), tariffs by sector (their trade effect runs through each
sector's trade elasticity) and customs unions that pool tariff revenue (:class:`RevenuePool`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ca_trade.exceptions import SpecificationError
from ca_trade.ge._inputs import checked_values

__all__ = ["RevenuePool", "Scenario"]

_KEYS = ["exporter", "importer"]
_SECTOR = "sector"


@dataclass(frozen=True)
class RevenuePool:
    """Members of a customs union that pool their tariff revenue, and their quotas.

    The union's members pay every import duty into one pool, which is shared by fixed
    quotas (the Eurasian Economic Union does so: Russia 85.21 %, Kazakhstan 7.11 %, Belarus
    4.56 %, Kyrgyzstan 1.90 %, Armenia 1.22 %; Treaty on the EAEU, Annex 5).

    Parameters
    ----------
    members : tuple of str
        Member countries (ISO3).
    quotas : tuple of float
        Each member's share of the pool, in the order of `members`: non-negative, summing to
        one.

    Examples
    --------
    >>> RevenuePool(("KAZ", "KGZ"), (0.8, 0.2)).members
    ('KAZ', 'KGZ')
    """

    members: tuple[str, ...]
    quotas: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.members) != len(self.quotas) or len(self.members) < 2:
            raise SpecificationError(
                f"a revenue pool needs two or more members and one quota each, got "
                f"{self.members} and {self.quotas}."
            )
        if len(set(self.members)) != len(self.members):
            raise SpecificationError(f"revenue pool lists a member twice: {self.members}.")
        q = np.asarray(self.quotas, dtype=float)
        if not (np.isfinite(q).all() and (q >= 0).all()):
            raise SpecificationError(
                "revenue shares must be non-negative numbers, got "
                f"{dict(zip(self.members, self.quotas))}."
            )
        if abs(q.sum() - 1.0) > 1e-9:
            raise SpecificationError(
                f"revenue shares must sum to one, they sum to {q.sum():.10g}: "
                f"{dict(zip(self.members, self.quotas))}."
            )


def _empty_changes() -> pd.DataFrame:
    return pd.DataFrame({"exporter": pd.Series(dtype=str), "importer": pd.Series(dtype=str)})


@dataclass(frozen=True)
class Scenario:
    r"""Partial effects of a policy with a human description.

    Parameters
    ----------
    changes : pandas.DataFrame
        ``exporter``, ``importer`` (optionally ``sector``: a missing sector applies the row to
        every sector) and one column per regressor holding the change
        :math:`\Delta x_{ij,k}` the policy causes (missing pairs: no change).
    coefficients : Mapping[str, float]
        Coefficient :math:`\beta_k` of each change column.
    description : str
        What the scenario does, in words (shown in reports).
    tariffs : pandas.DataFrame or None
        Optional ``exporter, importer[, sector], baseline, counterfactual`` ad valorem tariffs
        (fractions) for tariff revenue in the GE income (see :func:`ca_trade.ge.solve`); with a
        ``sector`` column they are the tariffs of the multi-sector model.
    revenue_pools : tuple of RevenuePool
        Customs unions that pool their tariff revenue in the counterfactual (multi-sector
        model).

    Examples
    --------
    >>> import pandas as pd
    >>> s = Scenario(pd.DataFrame({"exporter": ["KAZ"], "importer": ["UZB"], "rta": [1.0]}),
    ...              {"rta": 0.5}, "KAZ-UZB FTA")
    >>> s.effects
      exporter importer  effect
    0      KAZ      UZB     0.5
    >>> (s + s).effects["effect"].tolist()
    [1.0]
    """

    changes: pd.DataFrame = field(default_factory=_empty_changes)
    coefficients: Mapping[str, float] = field(default_factory=dict)
    description: str = ""
    tariffs: pd.DataFrame | None = None
    revenue_pools: tuple[RevenuePool, ...] = ()

    def __post_init__(self) -> None:
        for key in _KEYS:
            if key not in self.changes.columns:
                raise SpecificationError(
                    f"Scenario.changes lacks column {key!r}; it has {list(self.changes.columns)}."
                )
        cols = self.regressors
        missing = [c for c in cols if c not in self.coefficients]
        if missing:
            raise SpecificationError(
                f"Scenario has change column(s) {missing} without a coefficient; pass them in "
                "`coefficients`."
            )
        for name, value in self.coefficients.items():
            if not np.isfinite(float(value)):
                raise SpecificationError(f"Scenario coefficient {name!r} is not finite: {value}.")
        for col in cols:
            checked_values(self.changes, col, "Scenario.changes")
        if self.tariffs is not None:
            need = ["exporter", "importer", "baseline", "counterfactual"]
            lack = [c for c in need if c not in self.tariffs.columns]
            if lack:
                raise SpecificationError(
                    f"Scenario.tariffs lacks column(s) {lack}; expected {need} (fractions)."
                )
            for col in ("baseline", "counterfactual"):
                checked_values(
                    self.tariffs,
                    col,
                    "Scenario.tariffs",
                    rule="a finite tariff > -1 (a fraction: 0.05 = 5 %)",
                    ok=lambda v: v > -1,
                )
        seen: set[str] = set()
        for pool in self.revenue_pools:
            both = seen & set(pool.members)
            if both:
                raise SpecificationError(
                    f"countries {sorted(both)} belong to two revenue pools; a country can pool "
                    "its revenue in one customs union only."
                )
            seen |= set(pool.members)

    @property
    def keys(self) -> list[str]:
        """Key columns of the changes: ``exporter, importer`` and ``sector`` if present."""
        return [*_KEYS, _SECTOR] if _SECTOR in self.changes.columns else list(_KEYS)

    @property
    def by_sector(self) -> bool:
        """Whether the scenario has sector-specific changes or tariffs."""
        sector_changes = _SECTOR in self.changes.columns and self.changes[_SECTOR].notna().any()
        sector_tariffs = self.tariffs is not None and _SECTOR in self.tariffs.columns
        return bool(sector_changes or sector_tariffs)

    @property
    def regressors(self) -> list[str]:
        """Names of the regressors the scenario changes."""
        return [c for c in self.changes.columns if c not in (*_KEYS, _SECTOR)]

    @property
    def effects(self) -> pd.DataFrame:
        """Partial effects ``exporter, importer[, sector], effect`` (sorted, zeros dropped)."""
        return self.effects_with(self.coefficients)

    def effects_with(self, coefficients: Mapping[str, float]) -> pd.DataFrame:
        """Partial effects with other coefficient values (e.g. a parametric draw).

        Parameters
        ----------
        coefficients : Mapping[str, float]
            Values overriding those of the scenario; regressors not named keep theirs.

        Returns
        -------
        pandas.DataFrame
            ``exporter, importer[, sector], effect`` (a missing sector: every sector).

        Examples
        --------
        >>> import pandas as pd
        >>> s = Scenario(pd.DataFrame({"exporter": ["A"], "importer": ["B"], "rta": [1.0]}),
        ...              {"rta": 0.5})
        >>> float(s.effects_with({"rta": 0.2})["effect"].iloc[0])
        0.2
        """
        coef = {**dict(self.coefficients), **{k: float(v) for k, v in coefficients.items()}}
        regs = self.regressors
        keys = self.keys
        out = self.changes[keys].copy()
        if regs:
            mat = self.changes[regs].to_numpy(dtype=float)
            beta = np.array([coef[r] for r in regs], dtype=float)
            out["effect"] = mat @ beta
        else:
            out["effect"] = np.zeros(len(out))
        out = out[out["effect"] != 0.0]
        return out.sort_values(keys).reset_index(drop=True)

    def __add__(self, other: object) -> Scenario:
        if not isinstance(other, Scenario):
            return NotImplemented
        for name in set(self.coefficients) & set(other.coefficients):
            if float(self.coefficients[name]) != float(other.coefficients[name]):
                raise SpecificationError(
                    f"cannot add scenarios that use different coefficients for {name!r} "
                    f"({self.coefficients[name]} and {other.coefficients[name]}); build both "
                    "from the same estimate."
                )
        both = pd.concat([self.changes, other.changes], ignore_index=True, sort=False)
        keys = [*_KEYS, _SECTOR] if _SECTOR in both.columns else list(_KEYS)
        regs = [c for c in both.columns if c not in keys]
        both[regs] = both[regs].fillna(0.0)
        # a missing sector (a change that applies to every sector) is a group of its own
        changes = both.groupby(keys, as_index=False, sort=True, dropna=False)[regs].sum()
        tariffs = _merge_tariffs(self.tariffs, other.tariffs)
        desc = "; ".join(d for d in (self.description, other.description) if d)
        return Scenario(
            changes,
            {**self.coefficients, **other.coefficients},
            desc,
            tariffs,
            self.revenue_pools + other.revenue_pools,
        )

    def __repr__(self) -> str:
        return (
            f"Scenario({self.description!r}, {len(self.changes)} pairs, "
            f"coefficients={dict(self.coefficients)})"
        )


def _merge_tariffs(a: pd.DataFrame | None, b: pd.DataFrame | None) -> pd.DataFrame | None:
    if a is None:
        return b
    if b is None:
        return a
    if (_SECTOR in a.columns) != (_SECTOR in b.columns):
        raise SpecificationError(
            "cannot add a scenario with tariffs by sector to one with tariffs without sectors; "
            "build both for the same model (one-sector or multi-sector)."
        )
    keys = [*_KEYS, _SECTOR] if _SECTOR in a.columns else list(_KEYS)
    merged = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"))
    both = merged["baseline_a"].notna() & merged["baseline_b"].notna()
    clash = both & (
        ~np.isclose(merged["baseline_a"], merged["baseline_b"])
        | ~np.isclose(merged["counterfactual_a"], merged["counterfactual_b"])
    )
    if clash.any():
        row = merged[clash].iloc[0]
        raise SpecificationError(
            "cannot add two tariff scenarios that set different tariffs on the same pair "
            f"({row['exporter']} -> {row['importer']}); build one tariff scenario instead."
        )
    out = merged[keys].copy()
    out["baseline"] = merged["baseline_a"].fillna(merged["baseline_b"])
    out["counterfactual"] = merged["counterfactual_a"].fillna(merged["counterfactual_b"])
    return out.sort_values(keys).reset_index(drop=True)
