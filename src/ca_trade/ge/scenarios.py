"""Scenario builders: tariff harmonization, infrastructure corridors and trade agreements.

Each builder returns a :class:`~ca_trade.ge.Scenario` (changes in regressors, their
coefficients and a description); scenarios add up with ``+``. Coefficients are given as a
number or taken from an estimation result (anything with a ``params`` mapping, such as
:func:`ca_trade.ppml` results), so that :mod:`ca_trade.ge.uncertainty` can redraw them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ca_trade.exceptions import SpecificationError
from ca_trade.ge._inputs import checked_values
from ca_trade.ge.routes import RouteGraph, load_routes
from ca_trade.ge.scenario import Scenario

__all__ = ["agreement", "coefficient_of", "corridor", "tariff_harmonization"]

_KEYS = ["exporter", "importer"]

#: Hummels & Schaur (2013, AER 103(7)): each day in transit is worth 0.6-2.1 % ad valorem.
HUMMELS_SCHAUR_RANGE = (0.006, 0.021)


def coefficient_of(source: float | Any, name: str) -> float:
    """Return a coefficient given as a number or read from a result's ``params``.

    Parameters
    ----------
    source : float or result with ``params``
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
    >>> class R:
    ...     params = pd.Series({"rta": 0.4})
    >>> coefficient_of(R(), "rta")
    0.4
    """
    params = getattr(source, "params", None)
    if params is not None:
        if name not in params:
            raise SpecificationError(
                f"the estimation result has no coefficient {name!r}; it has {list(params.keys())}."
            )
        source = params[name]
    try:
        value = float(source)
    except (TypeError, ValueError):
        raise SpecificationError(
            f"coefficient for {name!r} must be a number or a result with params, got {source!r}."
        ) from None
    if not np.isfinite(value):
        raise SpecificationError(f"coefficient for {name!r} is not finite: {value}.")
    return value


def _one_pair_per_row(frame: pd.DataFrame, what: str) -> None:
    dup = frame.duplicated(_KEYS)
    if dup.any():
        row = frame[dup].iloc[0]
        raise SpecificationError(
            f"{what} has pair {row['exporter']} -> {row['importer']} more than once; select one "
            "year and sector first (e.g. panel[panel.year == 2019])."
        )


def tariff_harmonization(
    tariffs: pd.DataFrame,
    group: Sequence[str],
    coefficient: float | Any,
    *,
    external: Literal["keep", "simple", "weighted", "max"] | str = "simple",
    internal: Literal["remove", "keep"] = "remove",
    regressor: str = "ln_tariff",
    tariff: str = "tariff",
    weight: str = "value_usd",
    name: str | None = None,
) -> Scenario:
    r"""Build a customs union / tariff harmonization scenario among `group`.

    Tariffs :math:`t_{ij}` are those importer *j* applies to exporter *i*. Inside the group
    they are removed (``internal="remove"``); on imports of members from outsiders a common
    external tariff replaces each member's own: the ``"simple"`` average of members' tariffs on
    that exporter, the import-``"weighted"`` average (weights: members' imports from it), the
    ``"max"``, or one member's schedule (pass its ISO3, e.g. ``"KAZ"`` for the EAEU common
    external tariff that Kazakhstan applies). The partial effect is
    :math:`\beta \, \Delta \ln(1 + t_{ij})` with :math:`\beta` the estimated ``ln(1+t)``
    coefficient (:math:`-\sigma` with duty-exclusive flows).

    Parameters
    ----------
    tariffs : pandas.DataFrame
        One row per pair: ``exporter, importer``, the tariff column (fraction, finite and
        >= 0) and, for the weighted average, the weight column (finite and >= 0; a missing
        weight counts as no imports). Panel frames of one year qualify.
    group : sequence of str
        Members (ISO3).
    coefficient : float or estimation result
        Coefficient of ``ln(1+t)``, or a result whose ``params[regressor]`` holds it.
    external : {"keep", "simple", "weighted", "max"} or ISO3, default "simple"
        Common external tariff rule.
    internal : {"remove", "keep"}, default "remove"
        Whether tariffs inside the group are removed.
    regressor : str, default "ln_tariff"
        Name of the coefficient (for uncertainty draws).
    tariff, weight : str
        Column names.
    name : str, optional
        Short name for the description.

    Returns
    -------
    Scenario
        Changes in ``ln(1+t)`` and the baseline/counterfactual tariffs of every pair in
        `tariffs` (for revenue).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"exporter": ["KAZ", "CHN", "CHN", "UZB"],
    ...                   "importer": ["UZB", "KAZ", "UZB", "KAZ"],
    ...                   "tariff": [0.10, 0.05, 0.15, 0.02]})
    >>> s = tariff_harmonization(t, ["KAZ", "UZB"], -7.0, external="max")
    >>> s.tariffs[["exporter", "importer", "counterfactual"]].values.tolist()
    [['CHN', 'KAZ', 0.15], ['CHN', 'UZB', 0.15], ['KAZ', 'UZB', 0.0], ['UZB', 'KAZ', 0.0]]
    """
    group = sorted({str(g) for g in group})
    if len(group) < 2:
        raise SpecificationError(f"a tariff union needs at least two members, got {group}.")
    need = [*_KEYS, tariff] + ([weight] if external == "weighted" else [])
    lack = [c for c in need if c not in tariffs.columns]
    if lack:
        raise SpecificationError(f"tariffs lacks column(s) {lack}; it has {list(tariffs.columns)}.")
    frame = tariffs[need].copy()
    frame["exporter"] = frame["exporter"].astype(str)
    frame["importer"] = frame["importer"].astype(str)
    rule = "a finite tariff >= 0 (a fraction: 0.05 = 5 %)"
    base = checked_values(frame, tariff, "tariffs", rule=rule, ok=lambda v: v >= 0)
    if external == "weighted":
        frame[weight] = checked_values(
            frame,
            weight,
            "tariffs",
            rule="a finite import value >= 0 (missing counts as 0)",
            ok=lambda v: v >= 0,
            missing_ok=True,
        )
    frame["baseline"] = base
    frame = frame[frame["exporter"] != frame["importer"]]
    _one_pair_per_row(frame, "tariffs")
    frame["counterfactual"] = base
    in_exp = frame["exporter"].isin(group)
    in_imp = frame["importer"].isin(group)
    beta = coefficient_of(coefficient, regressor)
    if internal == "remove":
        frame.loc[in_exp & in_imp, "counterfactual"] = 0.0
    elif internal != "keep":
        raise SpecificationError(f"internal must be 'remove' or 'keep', got {internal!r}.")
    outside = ~in_exp & in_imp
    ext = frame[outside]
    if external == "keep":
        cet = None
    elif external in ("simple", "weighted", "max"):
        if external == "simple":
            cet = ext.groupby("exporter")["baseline"].mean()
        elif external == "max":
            cet = ext.groupby("exporter")["baseline"].max()
        else:
            w = ext[weight].fillna(0.0)
            num = (w * ext["baseline"]).groupby(ext["exporter"]).sum()
            den = w.groupby(ext["exporter"]).sum()
            cet = (num / den).where(den > 0, ext.groupby("exporter")["baseline"].mean())
    elif external in group:
        cet = ext[ext["importer"] == external].set_index("exporter")["baseline"]
    else:
        raise SpecificationError(
            f"external must be 'keep', 'simple', 'weighted', 'max' or a member of {group}, "
            f"got {external!r}."
        )
    if cet is not None:
        mapped = frame.loc[outside, "exporter"].map(cet)
        frame.loc[outside, "counterfactual"] = mapped.fillna(frame.loc[outside, "baseline"])
    delta = np.log1p(frame["counterfactual"]) - np.log1p(frame["baseline"])
    changed = delta != 0
    changes = frame.loc[changed, _KEYS].assign(**{regressor: delta[changed]})
    # all pairs travel with the scenario: revenue on unchanged tariffs is income too
    tariff_frame = frame[[*_KEYS, "baseline", "counterfactual"]]
    label = name or "-".join(group)
    rule = {
        "keep": "members keep their external tariffs",
        "simple": "common external tariff = simple average of members' tariffs",
        "weighted": "common external tariff = import-weighted average of members' tariffs",
        "max": "common external tariff = highest member tariff",
    }.get(str(external), f"common external tariff = {external}'s schedule")
    inner = "internal tariffs removed" if internal == "remove" else "internal tariffs kept"
    desc = f"{label} customs union: {inner}; {rule} (ln(1+t) coefficient {beta:.4g})"
    return Scenario(
        changes.sort_values(_KEYS).reset_index(drop=True),
        {regressor: beta},
        desc,
        tariff_frame.sort_values(_KEYS).reset_index(drop=True),
    )


def agreement(
    members: Sequence[str],
    coefficient: float | Any,
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


def corridor(
    links: pd.DataFrame,
    countries: Sequence[str],
    coefficient: float | Any,
    *,
    mapping: Literal["days", "distance"] = "days",
    ave_per_day: float = 0.01,
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
      :math:`-\theta`; or the estimated ``ln(1+t)`` coefficient), regressor ``ln_tau``;
    - ``mapping="distance"``: days as effective distance, the change :math:`\Delta\ln d_{ij}`
      times the estimated distance elasticity (regressor ``ln_dist``).

    Parameters
    ----------
    links : pandas.DataFrame
        ``from, to`` and ``days_saved``, ``cost_reduction`` (fraction of transit time) or
        ``transit_days`` (new or rebuilt link).
    countries : sequence of str
        Countries of the GE problem; pairs outside the route graph are unaffected.
    coefficient : float or estimation result
        Elasticity of trade to the mapped cost (see above).
    mapping : {"days", "distance"}, default "days"
        How days become trade costs.
    ave_per_day : float, default 0.01
        Ad valorem equivalent of one day (``mapping="days"``).
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
    """
    if mapping not in ("days", "distance"):
        raise SpecificationError(f"mapping must be 'days' or 'distance', got {mapping!r}.")
    if not (0 < ave_per_day < 1):
        raise SpecificationError(f"ave_per_day must be in (0, 1), got {ave_per_day}.")
    reg = regressor or ("ln_tau" if mapping == "days" else "ln_dist")
    beta = coefficient_of(coefficient, reg)
    graph = RouteGraph(load_routes() if routes is None else routes)
    before = graph.days()
    after = graph.with_changes(links).days().reindex(index=before.index, columns=before.columns)
    nodes = [c for c in sorted({str(c) for c in countries}) if c in before.index]
    d0 = before.loc[nodes, nodes].to_numpy()
    d1 = after.loc[nodes, nodes].to_numpy()
    off = ~np.eye(len(nodes), dtype=bool)
    ok = off & np.isfinite(d0) & np.isfinite(d1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if mapping == "days":
            delta = np.log1p(ave_per_day * d1) - np.log1p(ave_per_day * d0)
        else:
            delta = np.log(d1) - np.log(d0)
    delta = np.where(ok, delta, 0.0)
    rows, cols = np.nonzero(delta)
    changes = pd.DataFrame(
        {
            "exporter": [nodes[i] for i in rows],
            "importer": [nodes[j] for j in cols],
            reg: delta[rows, cols],
        }
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
    how = (
        f"{ave_per_day:.2%} ad valorem per day (Hummels & Schaur 2013)"
        if mapping == "days"
        else "days as effective distance"
    )
    desc = (
        f"{name or 'corridor'}: {', '.join(parts)}; {len(changes)} pairs on faster routes; "
        f"{how}; {reg} coefficient {beta:.4g}"
    )
    return Scenario(changes.sort_values(_KEYS).reset_index(drop=True), {reg: beta}, desc)
