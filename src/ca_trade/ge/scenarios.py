"""Scenario builders: tariff harmonization, infrastructure corridors and trade agreements.

Each builder returns a :class:`~ca_trade.ge.Scenario` (changes in regressors, their
coefficients and a description); scenarios add up with ``+``. Coefficients are given as a
number or taken from an estimation result (:class:`ca_trade._typing.EstimationResult`: a
:func:`ca_trade.ppml` result or a saved one), so that :mod:`ca_trade.ge.uncertainty` can
redraw them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ca_trade._typing import EstimationResult
from ca_trade.exceptions import SpecificationError
from ca_trade.ge._inputs import checked_values
from ca_trade.ge.customs_union import (
    MAX_TARIFF,
    cet_label,
    common_external_tariff,
    revenue_pool,
)
from ca_trade.ge.routes import RouteGraph, load_routes
from ca_trade.ge.scenario import Scenario

__all__ = ["agreement", "check_members", "coefficient_of", "corridor", "tariff_harmonization"]

_KEYS = ["exporter", "importer"]


def coefficient_of(source: float | EstimationResult, name: str) -> float:
    """Return a coefficient given as a number or read from a result's ``params``.

    Parameters
    ----------
    source : float or EstimationResult
        The coefficient itself, or an estimation result.
    name : str
        Regressor name to read from ``params``.

    Returns
    -------
    float
        The coefficient.

    Examples
    --------
    >>> coefficient_of(-6.0, "ln_tariff")
    -6.0
    >>> import pandas as pd
    >>> from ca_trade.report.stored import StoredResults
    >>> res = StoredResults(pd.Series({"rta": 0.4}), pd.DataFrame([[0.01]], ["rta"], ["rta"]), 9)
    >>> coefficient_of(res, "rta")
    0.4
    """
    value: Any = source
    if isinstance(source, EstimationResult):
        params = source.params
        if name not in params:
            raise SpecificationError(
                f"the estimation result has no coefficient {name!r}; it has {list(params.keys())}."
            )
        value = params[name]
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SpecificationError(
            f"coefficient for {name!r} must be a number or an estimation result, got {value!r}."
        ) from None
    if not np.isfinite(number):
        raise SpecificationError(f"coefficient for {name!r} is not finite: {number}.")
    return number


def check_members(members: Sequence[str], countries: set[str], where: str) -> None:
    """Refuse members that are not countries of the data (they would change nothing).

    Parameters
    ----------
    members : sequence of str
        The scenario's members.
    countries : set of str
        The countries of the data.
    where : str
        What the data are, for the message (``"tariffs"``, ``"the panel"``).

    Raises
    ------
    SpecificationError
        Naming each unknown code (the upper-case one where only the case differs) and the
        valid codes.

    Examples
    --------
    >>> check_members(["KAZ", "kgz"], {"KAZ", "KGZ", "UZB"}, "tariffs")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ca_trade.exceptions.SpecificationError: member 'kgz' (did you mean 'KGZ'? ...) is not a ...
    """
    unknown = [str(m) for m in members if str(m) not in countries]
    if not unknown:
        return
    parts = []
    for code in unknown:
        upper = code.strip().upper()
        hint = (
            f" (did you mean {upper!r}? codes are ISO3, upper case)" if upper in countries else ""
        )
        parts.append(f"{code!r}{hint}")
    noun = "member" if len(unknown) == 1 else "members"
    verb = "is not a country" if len(unknown) == 1 else "are not countries"
    raise SpecificationError(
        f"{noun} {', '.join(parts)} {verb} of the {where}; the {len(countries)} countries "
        f"are: {', '.join(sorted(countries))}"
    )


def _one_pair_per_row(frame: pd.DataFrame, what: str) -> None:
    dup = frame.duplicated(_KEYS)
    if dup.any():
        row = frame[dup].iloc[0]
        raise SpecificationError(
            f"{what} has pair {row['exporter']} -> {row['importer']} more than once; select one "
            "year and sector first (e.g. panel[panel.year == 2019])."
        )


def _tariff_frame(
    tariffs: pd.DataFrame, keys: list[str], tariff: str, extra: list[str]
) -> pd.DataFrame:
    need = [*keys, tariff, *extra]
    lack = [c for c in need if c not in tariffs.columns]
    if lack:
        raise SpecificationError(f"tariffs lacks column(s) {lack}; it has {list(tariffs.columns)}.")
    frame = tariffs[need].copy()
    for key in keys:
        if frame[key].isna().any():
            k = int(np.flatnonzero(frame[key].isna().to_numpy())[0])
            raise SpecificationError(f"tariffs: column {key!r} is missing in row {k}.")
        frame[key] = frame[key].astype(str)
    rule = f"a finite tariff in [0, {MAX_TARIFF:g}) (an ad valorem fraction: 0.05 = 5 %)"
    frame[tariff] = checked_values(
        frame, tariff, "tariffs", rule=rule, ok=lambda v: (v >= 0) & (v < MAX_TARIFF)
    )
    for col in extra:  # import weights of the weighted mean
        frame[col] = checked_values(
            frame,
            col,
            "tariffs",
            rule="a finite import value >= 0 (missing counts as 0)",
            ok=lambda v: v >= 0,
            missing_ok=True,
        )
    frame = frame[frame["exporter"] != frame["importer"]]
    dup = frame.duplicated(keys)
    if dup.any():
        row = frame[dup].iloc[0]
        raise SpecificationError(
            f"tariffs has {' / '.join(str(row[k]) for k in keys)} more than once; select one "
            "year first (e.g. panel[panel.year == 2019])."
        )
    base = frame[tariff].astype(float)
    frame["baseline"] = base
    frame["counterfactual"] = base
    return frame


def _one_sector(tariffs: pd.DataFrame) -> pd.DataFrame:
    """Drop the `sector` column of a one-sector frame (a panel's ``TOTAL``); refuse several."""
    if "sector" not in tariffs.columns:
        return tariffs
    sectors = tariffs["sector"].dropna().unique()
    if len(sectors) > 1:
        raise SpecificationError(
            f"the tariffs hold {len(sectors)} sectors ({sorted(map(str, sectors))[:5]} ...) but "
            "a coefficient builds the one-sector scenario: select one sector, or leave out the "
            "coefficient for the multi-sector model (trade effects through each sector's theta)."
        )
    return tariffs.drop(columns="sector")


def tariff_harmonization(
    tariffs: pd.DataFrame,
    members: Sequence[str],
    coefficient: float | EstimationResult | None = None,
    *,
    cet: str | tuple[str, str] | pd.DataFrame = "simple",
    internal: Literal["remove", "keep"] = "remove",
    revenue_shares: Mapping[str, float] | None = None,
    regressor: str = "ln_tariff",
    tariff: str = "tariff",
    weight: str = "value_usd",
    name: str | None = None,
) -> Scenario:
    r"""Build a customs union / tariff harmonization scenario among `members`.

    Tariffs :math:`t_{ij}` are those importer *j* applies to exporter *i*, by sector when the
    frame has a ``sector`` column. Between members they are removed (``internal="remove"``);
    on members' imports from outsiders a common external tariff replaces each member's own
    (:mod:`ca_trade.ge.customs_union`): the ``"simple"`` mean of members' tariffs on that
    exporter (and sector), the import-``"weighted"`` mean (weights: members' imports from it),
    the ``"max"``, one member's schedule (``("adopt", "RUS")``), a given schedule (a frame
    with ``tariff`` by ``sector`` and/or ``exporter``), or ``"keep"`` (members keep theirs).

    - *One-sector tariffs* (no ``sector`` column): the partial effect is
      :math:`eta \, \Delta \ln(1 + t_{ij})` with :math:`eta` the estimated ``ln(1+t)``
      coefficient (:math:`-\sigma` with duty-exclusive flows), required.
    - *Tariffs by sector*: for the multi-sector model, where the trade effect of a tariff
      change runs through each sector's trade elasticity; no `coefficient`. Members may pool
      their tariff revenue (`revenue_shares`).

    Parameters
    ----------
    tariffs : pandas.DataFrame
        One row per pair (and sector): ``exporter, importer[, sector]``, the tariff column
        (fraction, finite, in [0, 10)) and, for the weighted mean, the weight column (finite
        and >= 0; a missing weight counts as no imports). Panel frames of one year
        qualify.
    members : sequence of str
        Members (ISO3), each among the exporters or importers of `tariffs`.
    coefficient : float or estimation result, optional
        One-sector scenario: coefficient of ``ln(1+t)``, or a result whose
        ``params[regressor]`` holds it. None: tariffs by sector for the multi-sector model.
    cet : {"simple", "weighted", "max", "keep"}, ("adopt", ISO3) or DataFrame, default "simple"
        Common external tariff rule.
    internal : {"remove", "keep"}, default "remove"
        Whether tariffs between members are removed.
    revenue_shares : Mapping[str, float], optional
        Tariffs by sector: each member's quota of the pooled import duties (every member,
        non-negative, summing to one), e.g. ``{"RUS": 0.8521, "KAZ": 0.0711, ...}``.
    regressor : str, default "ln_tariff"
        Name of the coefficient (one-sector tariffs; for uncertainty draws).
    tariff, weight : str
        Column names.
    name : str, optional
        Short name for the description.

    Returns
    -------
    Scenario
        Baseline and counterfactual tariffs of every pair (and sector) in `tariffs` (revenue
        on unchanged tariffs is income too), the changes in ``ln(1+t)`` (one-sector) and the
        revenue pool.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"exporter": ["KAZ", "CHN", "CHN", "UZB"],
    ...                   "importer": ["UZB", "KAZ", "UZB", "KAZ"],
    ...                   "tariff": [0.10, 0.05, 0.15, 0.02]})
    >>> s = tariff_harmonization(t, ["KAZ", "UZB"], -7.0, cet="max")
    >>> s.tariffs[["exporter", "importer", "counterfactual"]].values.tolist()
    [['CHN', 'KAZ', 0.15], ['CHN', 'UZB', 0.15], ['KAZ', 'UZB', 0.0], ['UZB', 'KAZ', 0.0]]
    >>> ts = t.assign(sector="S01")
    >>> u = tariff_harmonization(ts, ["KAZ", "UZB"], cet=("adopt", "KAZ"),
    ...                          revenue_shares={"KAZ": 0.7, "UZB": 0.3})
    >>> row = u.tariffs.iloc[1]
    >>> row["importer"], float(row["counterfactual"]), u.revenue_pools[0].quotas
    ('UZB', 0.05, (0.7, 0.3))
    """
    members = sorted({str(m) for m in members})
    if len(members) < 2:
        raise SpecificationError(f"a tariff union needs at least two members, got {members}.")
    if internal not in ("remove", "keep"):
        raise SpecificationError(f"internal must be 'remove' or 'keep', got {internal!r}.")
    by_sector = coefficient is None
    if by_sector and "sector" not in tariffs.columns:
        raise SpecificationError(
            "one-sector tariffs need the ln(1+t) coefficient (a number or an estimation "
            "result); for the multi-sector model give the tariffs a sector column and no "
            "coefficient."
        )
    if not by_sector:
        if revenue_shares is not None:
            raise SpecificationError(
                "revenue pooling is solved by the multi-sector model: give the tariffs a "
                "sector column (a single sector such as 'TOTAL' works) and leave out the "
                "coefficient."
            )
        tariffs = _one_sector(tariffs)
    keys = [*_KEYS, "sector"] if by_sector else list(_KEYS)
    pools = () if revenue_shares is None else (revenue_pool(revenue_shares, members),)
    weighted = isinstance(cet, str) and cet == "weighted"
    frame = _tariff_frame(tariffs, keys, tariff, [weight] if weighted else [])
    check_members(members, set(frame["exporter"]) | set(frame["importer"]), "tariffs")
    in_exp = frame["exporter"].isin(members)
    in_imp = frame["importer"].isin(members)
    if internal == "remove":
        frame.loc[in_exp & in_imp, "counterfactual"] = 0.0
    outside = ~in_exp & in_imp
    new = common_external_tariff(frame[outside], members, cet, keys=keys, weight=weight)
    if new is not None:
        frame.loc[outside, "counterfactual"] = new.fillna(frame.loc[outside, "baseline"])
    tariff_frame = frame[[*keys, "baseline", "counterfactual"]].sort_values(keys)
    label = name or "-".join(members)
    inner = "internal tariffs removed" if internal == "remove" else "internal tariffs kept"
    pooled = ""
    if pools:
        quotas = ", ".join(f"{m} {q:.2%}" for m, q in zip(pools[0].members, pools[0].quotas))
        pooled = f"; tariff revenue pooled ({quotas})"
    if by_sector:
        desc = (
            f"{label} customs union by sector: {inner}; {cet_label(cet)}{pooled} (trade "
            "effects through each sector's theta)"
        )
        empty = pd.DataFrame({k: pd.Series(dtype=str) for k in keys})
        return Scenario(empty, {}, desc, tariff_frame.reset_index(drop=True), pools)
    if coefficient is None:
        raise SpecificationError(
            f"coefficient for {regressor!r} must be a number or an estimation result, got None."
        )
    beta = coefficient_of(coefficient, regressor)
    delta = np.log1p(frame["counterfactual"]) - np.log1p(frame["baseline"])
    changed = delta != 0
    changes = frame.loc[changed, _KEYS].assign(**{regressor: delta[changed]})
    desc = f"{label} customs union: {inner}; {cet_label(cet)} (ln(1+t) coefficient {beta:.4g})"
    return Scenario(
        changes.sort_values(_KEYS).reset_index(drop=True),
        {regressor: beta},
        desc,
        tariff_frame.reset_index(drop=True),
    )


def agreement(
    members: Sequence[str],
    coefficient: float | EstimationResult,
    *,
    regressor: str = "rta",
    baseline: pd.DataFrame | None = None,
    leave: bool = False,
    name: str | None = None,
) -> Scenario:
    """Join (or leave) a free-trade agreement or customs union.

    Every ordered pair of distinct `members` gets the agreement dummy switched on (or off when
    `leave`); the partial effect is the dummy change times its estimated coefficient. With a
    `baseline` of current dummies only pairs whose status changes are affected, so a country
    joining an existing agreement is ``agreement(old_members + [new], ..., baseline=panel)``.

    Parameters
    ----------
    members : sequence of str
        Countries of the agreement after joining (or those leaving it together).
    coefficient : float or estimation result
        Effect of the dummy on log trade, or a result whose ``params[regressor]`` holds it.
    regressor : str, default "rta"
        Dummy name (``rta``, ``fta``, ``cu``, ``eaeu`` ... in the panel).
    baseline : pandas.DataFrame, optional
        ``exporter, importer, <regressor>`` current values in [0, 1] (one row per pair;
        pairs not listed are outside the agreement).
    leave : bool, default False
        Switch the dummy off instead of on.
    name : str, optional
        Agreement name for the description.

    Returns
    -------
    Scenario
        The agreement scenario.

    Examples
    --------
    >>> s = agreement(["KAZ", "KGZ", "UZB"], 0.3)
    >>> len(s.changes), s.coefficients
    (6, {'rta': 0.3})
    """
    members = sorted({str(m) for m in members})
    if len(members) < 2:
        raise SpecificationError(f"an agreement needs at least two members, got {members}.")
    beta = coefficient_of(coefficient, regressor)
    pairs = pd.DataFrame([(i, j) for i in members for j in members if i != j], columns=_KEYS)
    target = 0.0 if leave else 1.0
    if baseline is not None:
        lack = [c for c in [*_KEYS, regressor] if c not in baseline.columns]
        if lack:
            raise SpecificationError(f"baseline lacks column(s) {lack}.")
        cur = baseline[[*_KEYS, regressor]].copy()
        cur[regressor] = checked_values(
            cur, regressor, "baseline", rule="in [0, 1]", ok=lambda v: (v >= 0) & (v <= 1)
        )
        cur["exporter"] = cur["exporter"].astype(str)
        cur["importer"] = cur["importer"].astype(str)
        _one_pair_per_row(cur, "baseline")
        pairs = pairs.merge(cur, on=_KEYS, how="left")
        current = pairs[regressor].fillna(0.0 if not leave else 1.0).astype(float)
    else:
        current = pd.Series(1.0 - target, index=pairs.index)
    delta = target - current
    changes = pairs[_KEYS].assign(**{regressor: delta.to_numpy()})
    changes = changes[changes[regressor] != 0]
    label = name or "agreement among " + ", ".join(members)
    verb = "leave" if leave else "join"
    desc = f"{label}: {', '.join(members)} {verb} ({regressor} coefficient {beta:.4g})"
    return Scenario(changes.reset_index(drop=True), {regressor: beta}, desc)


def _sector_aves(ave_per_day: Any) -> dict[str, float] | None:
    """Validate the ad valorem equivalent per day: one number, or one per sector."""
    by_sector = isinstance(ave_per_day, (Mapping, pd.Series))
    items = dict(ave_per_day).items() if by_sector else [("", ave_per_day)]
    out = {}
    for sector, value in items:
        try:
            a = float(value)
        except (TypeError, ValueError):
            a = float("nan")
        if not (0 < a < 1):
            where = f" for sector {sector!r}" if by_sector else ""
            raise SpecificationError(f"ave_per_day{where} must be in (0, 1), got {value!r}.")
        out[str(sector)] = a
    if by_sector and not out:
        raise SpecificationError("ave_per_day by sector is empty.")
    return dict(sorted(out.items())) if by_sector else None


def _corridor_changes(
    nodes: list[str],
    delta: dict[str, np.ndarray],
    reg: str,
    beta: float | dict[str, float],
) -> pd.DataFrame:
    """Long changes: one row per pair (and sector), one column per regressor."""
    parts = []
    for sector, mat in delta.items():
        rows, cols = np.nonzero(mat)
        part = pd.DataFrame(
            {"exporter": [nodes[i] for i in rows], "importer": [nodes[j] for j in cols]}
        )
        if sector:
            part["sector"] = sector
        name = f"{reg}_{sector}" if isinstance(beta, dict) else reg
        part[name] = mat[rows, cols]
        parts.append(part)
    changes = pd.concat(parts, ignore_index=True)
    regs = [c for c in changes.columns if c not in ("exporter", "importer", "sector")]
    changes[regs] = changes[regs].fillna(0.0)
    keys = [c for c in ("exporter", "importer", "sector") if c in changes.columns]
    return changes.sort_values(keys).reset_index(drop=True)


def corridor(
    links: pd.DataFrame,
    countries: Sequence[str],
    coefficient: float | EstimationResult | Mapping[str, float | EstimationResult] | pd.Series,
    *,
    mapping: Literal["days", "distance"] = "days",
    ave_per_day: float | Mapping[str, float] | pd.Series = 0.01,
    regressor: str | None = None,
    routes: pd.DataFrame | None = None,
    name: str | None = None,
) -> Scenario:
    r"""Build a corridor scenario: links that get faster, and every route that uses them.

    Least-cost routes (in transit days) between every pair of `countries` on the route graph
    (default: the packaged ``routes.csv``) are computed before and after the project with
    Dijkstra's algorithm, so pairs that transit the improved links through third countries
    gain too. Days map to trade costs in one of two documented ways:

    - ``mapping="days"``: an ad valorem equivalent per day in transit (Hummels & Schaur 2013:
      0.6-2.1 % per day; default 1 %), :math:`\tau_{ij} = 1 + a\,d_{ij}`, and the change
      :math:`\Delta \ln \tau_{ij}` times `coefficient` (the trade-cost elasticity,
      :math:`-\theta`; or the estimated ``ln(1+t)`` coefficient), regressor ``ln_tau``. Time
      costs differ by good (Hummels & Schaur find them highest for parts and components): give
      ``ave_per_day`` per sector (``{sector: a_s}``) for the multi-sector model; the changes
      then have a ``sector`` column, and a `coefficient` per sector (``{sector: -theta_s}``)
      gives each sector its own regressor ``ln_tau_<sector>``;
    - ``mapping="distance"``: days as effective distance, the change :math:`\Delta\ln d_{ij}`
      times the estimated distance elasticity (regressor ``ln_dist``).

    Parameters
    ----------
    links : pandas.DataFrame
        ``from, to`` and ``days_saved``, ``cost_reduction`` (fraction of transit time) or
        ``transit_days`` (new or rebuilt link).
    countries : sequence of str
        Countries of the GE problem; pairs outside the route graph are unaffected.
    coefficient : float, estimation result or Mapping[str, float]
        Elasticity of trade to the mapped cost (see above); per sector with `ave_per_day` by
        sector.
    mapping : {"days", "distance"}, default "days"
        How days become trade costs.
    ave_per_day : float or Mapping[str, float], default 0.01
        Ad valorem equivalent of one day (``mapping="days"``), or one per sector.
    regressor : str, optional
        Coefficient name (default ``ln_tau`` or ``ln_dist``).
    routes : pandas.DataFrame, optional
        Own route table (columns as :func:`~ca_trade.ge.routes.load_routes`).
    name : str, optional
        Corridor name for the description.

    Returns
    -------
    Scenario
        The corridor scenario.

    Examples
    --------
    >>> import pandas as pd
    >>> link = pd.DataFrame({"from": ["KGZ"], "to": ["CHN"], "days_saved": [4.0]})
    >>> s = corridor(link, ["CHN", "KAZ", "KGZ", "UZB"], -5.0)
    >>> sorted(set(s.changes["exporter"]))
    ['CHN', 'KGZ', 'UZB']
    >>> by = corridor(link, ["CHN", "KGZ"], {"S16": -4.0, "S02": -9.0},
    ...               ave_per_day={"S16": 0.021, "S02": 0.006})
    >>> by.regressors, sorted(set(by.changes["sector"]))
    (['ln_tau_S02', 'ln_tau_S16'], ['S02', 'S16'])
    """
    if mapping not in ("days", "distance"):
        raise SpecificationError(f"mapping must be 'days' or 'distance', got {mapping!r}.")
    aves = _sector_aves(ave_per_day)
    if aves is not None and mapping != "days":
        raise SpecificationError("ave_per_day by sector needs mapping='days'.")
    reg = regressor or ("ln_tau" if mapping == "days" else "ln_dist")
    beta: float | dict[str, float]
    if isinstance(coefficient, (Mapping, pd.Series)):
        if aves is None or sorted(map(str, dict(coefficient))) != sorted(aves):
            raise SpecificationError(
                "a coefficient per sector needs ave_per_day for the same sectors; got "
                f"{sorted(map(str, dict(coefficient)))} and {sorted(aves or {})}."
            )
        given = {str(k): v for k, v in dict(coefficient).items()}
        beta = {k: coefficient_of(given[k], f"{reg}_{k}") for k in sorted(given)}
    else:
        beta = coefficient_of(coefficient, reg)
    graph = RouteGraph(load_routes() if routes is None else routes)
    before = graph.days()
    after = graph.with_changes(links).days().reindex(index=before.index, columns=before.columns)
    nodes = [c for c in sorted({str(c) for c in countries}) if c in before.index]
    d0 = before.loc[nodes, nodes].to_numpy()
    d1 = after.loc[nodes, nodes].to_numpy()
    off = ~np.eye(len(nodes), dtype=bool)
    ok = off & np.isfinite(d0) & np.isfinite(d1)
    delta: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        if mapping == "distance":
            delta[""] = np.log(d1) - np.log(d0)
        else:
            for sector, a in (aves or {"": float(ave_per_day)}).items():  # type: ignore[arg-type]
                delta[sector] = np.log1p(a * d1) - np.log1p(a * d0)
    delta = {k: np.where(ok, v, 0.0) for k, v in delta.items()}
    changes = _corridor_changes(nodes, delta, reg, beta)
    if changes.empty:
        raise SpecificationError(
            f"the corridor shortens no route between the {len(set(countries))} countries "
            f"given (of them on the route graph: {', '.join(nodes) or 'none'}); check the links "
            f"{[f'{a}-{b}' for a, b in zip(links['from'], links['to'])]} and the countries."
        )
    parts = []
    for row in links.to_dict("records"):
        what = next(
            (
                f"{k.replace('_', ' ')} {row[k]}"
                for k in ("days_saved", "cost_reduction", "transit_days")
                if k in row
            ),
            "",
        )
        parts.append(f"{row['from']}-{row['to']} ({what})")
    if mapping == "distance":
        how = "days as effective distance"
    elif aves is not None:
        how = (
            "ad valorem per day by sector ("
            + ", ".join(f"{k} {v:.2%}" for k, v in sorted(aves.items()))
            + ")"
        )
    else:
        how = f"{float(ave_per_day):.2%} ad valorem per day (Hummels & Schaur 2013)"  # type: ignore[arg-type]
    coefs = {f"{reg}_{k}": v for k, v in beta.items()} if isinstance(beta, dict) else {reg: beta}
    shown = ", ".join(f"{k} {v:.4g}" for k, v in coefs.items())
    pairs = len(changes.drop_duplicates(["exporter", "importer"]))
    desc = (
        f"{name or 'corridor'}: {', '.join(parts)}; {pairs} pairs on faster routes; "
        f"{how}; coefficient {shown}"
    )
    return Scenario(changes, coefs, desc)
