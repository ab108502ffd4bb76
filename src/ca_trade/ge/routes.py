"""The packaged route graph of Central Asia and least-cost routes on it.

``src/ca_trade/data/routes.csv`` lists undirected links between the five Central Asian states
and their neighbours (``from, to, mode, distance_km, transit_days, source``). Distances and
transit days are modelling assumptions stated in the ``source`` column (capital-to-capital
great-circle distance with a circuity factor, a commercial speed per mode and a fixed delay at
borders or ports); replace them with measured values where known by passing your own frame.

Least-cost routes between every pair of nodes use Dijkstra's algorithm
(:func:`scipy.sparse.csgraph.shortest_path`) on transit days, so trade between two countries may
transit third countries.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from ca_trade.exceptions import DataValidationError, SpecificationError
from ca_trade.ge._inputs import checked_values

__all__ = ["RouteGraph", "load_routes", "transit_days"]

_COLUMNS = ["from", "to", "mode", "distance_km", "transit_days", "source"]


def load_routes() -> pd.DataFrame:
    """Read the packaged route graph.

    Returns
    -------
    pandas.DataFrame
        ``from, to, mode, distance_km, transit_days, source``; one row per undirected link.

    Examples
    --------
    >>> r = load_routes()
    >>> {"KAZ", "UZB", "KGZ", "TJK", "TKM"} <= set(r["from"]) | set(r["to"])
    True
    """
    with resources.files("ca_trade.data").joinpath("routes.csv").open("r") as fh:
        frame = pd.read_csv(fh)
    return _validate(frame, "src/ca_trade/data/routes.csv")


def _validate(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    lack = [c for c in _COLUMNS[:5] if c not in frame.columns]
    if lack:
        raise DataValidationError(f"{where}: route table lacks column(s) {lack}.")
    days = pd.to_numeric(frame["transit_days"], errors="coerce")
    bad = ~(days > 0)
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataValidationError(
            f"{where}: row {k} ({frame['from'].iloc[k]}-{frame['to'].iloc[k]}) has transit_days "
            f"{frame['transit_days'].iloc[k]!r}; every link needs a positive number of days."
        )
    out = frame.copy()
    out["transit_days"] = days.astype(float)
    return out


@dataclass(frozen=True)
class RouteGraph:
    """An undirected graph of transport links weighted by transit days.

    Parameters
    ----------
    links : pandas.DataFrame
        ``from, to, transit_days`` (other columns are kept but not used).

    Examples
    --------
    >>> g = RouteGraph(load_routes())
    >>> days = g.days()
    >>> bool(days.loc["KGZ", "TKM"] > 0)
    True
    """

    links: pd.DataFrame

    @property
    def nodes(self) -> list[str]:
        """Sorted node labels (ISO3)."""
        return sorted(set(self.links["from"].astype(str)) | set(self.links["to"].astype(str)))

    def days(self) -> pd.DataFrame:
        """Least transit days between every pair of nodes (Dijkstra).

        Returns
        -------
        pandas.DataFrame
            Square, indexed by node; ``inf`` where no route exists, 0 on the diagonal.

        Examples
        --------
        >>> g = RouteGraph(load_routes())
        >>> float(g.days().loc["UZB", "UZB"])
        0.0
        """
        nodes = self.nodes
        index = {c: k for k, c in enumerate(nodes)}
        a = self.links["from"].astype(str).map(index).to_numpy()
        b = self.links["to"].astype(str).map(index).to_numpy()
        w = self.links["transit_days"].to_numpy(dtype=float)
        n = len(nodes)
        # keep the cheapest of parallel links, in both directions
        dense = np.full((n, n), np.inf)
        np.minimum.at(dense, (a, b), w)
        np.minimum.at(dense, (b, a), w)
        dense[~np.isfinite(dense)] = 0.0
        dist = shortest_path(csr_matrix(dense), method="D", directed=False)
        dist = np.minimum(dist, dist.T)  # equal up to summation order; make it exact
        return pd.DataFrame(dist, index=nodes, columns=nodes)

    def with_changes(self, changes: pd.DataFrame) -> RouteGraph:
        """Return the graph after a corridor project.

        Parameters
        ----------
        changes : pandas.DataFrame
            ``from, to`` and one of ``days_saved`` (days cut from the link), ``cost_reduction``
            (fraction cut from the link's transit time) or ``transit_days`` (new link time;
            adds the link when it does not exist).

        Returns
        -------
        RouteGraph
            The new graph.

        Raises
        ------
        SpecificationError
            If a link is unknown (for days saved or cost reductions) or would get a
            non-positive transit time.

        Examples
        --------
        >>> import pandas as pd
        >>> g = RouteGraph(load_routes())
        >>> link = pd.DataFrame({"from": ["KGZ"], "to": ["CHN"], "days_saved": [3.0]})
        >>> new = g.with_changes(link)
        >>> float(g.days().loc["KGZ", "CHN"] - new.days().loc["KGZ", "CHN"])
        3.0
        """
        for column, rule, ok in (
            ("days_saved", "finite and >= 0", lambda v: v >= 0),
            ("cost_reduction", "a share in [0, 1)", lambda v: (v >= 0) & (v < 1)),
            ("transit_days", "finite and > 0", lambda v: v > 0),
        ):
            if column in changes.columns:
                checked_values(
                    changes, column, "links", rule=rule, ok=ok, keys=("from", "to"), sep="-",
                    missing_ok=True,
                )  # fmt: skip
        links = self.links.copy()
        key_fwd = links["from"].astype(str) + "|" + links["to"].astype(str)
        key_bwd = links["to"].astype(str) + "|" + links["from"].astype(str)
        new_rows = []
        for row, values in enumerate(changes.to_dict("records")):
            a, b = str(values["from"]), str(values["to"])
            hit = ((key_fwd == f"{a}|{b}") | (key_bwd == f"{a}|{b}")).to_numpy()
            if "transit_days" in values and pd.notna(values["transit_days"]):
                days = float(values["transit_days"])
                if not days > 0:
                    raise SpecificationError(f"link {a}-{b}: transit_days must be > 0.")
                if hit.any():
                    links.loc[hit, "transit_days"] = days
                else:
                    new_rows.append({"from": a, "to": b, "mode": "new", "transit_days": days})
                continue
            if not hit.any():
                raise SpecificationError(
                    f"link {a}-{b} is not in the route graph; give its `transit_days` to add it."
                )
            old = links.loc[hit, "transit_days"].to_numpy(dtype=float)
            if "days_saved" in values and pd.notna(values["days_saved"]):
                new = old - float(values["days_saved"])
            elif "cost_reduction" in values and pd.notna(values["cost_reduction"]):
                new = old * (1.0 - float(values["cost_reduction"]))
            else:
                given = {k: values[k] for k in ("days_saved", "cost_reduction") if k in values}
                raise SpecificationError(
                    f"links: row {row} ({a}-{b}) needs a days_saved, cost_reduction or "
                    f"transit_days value; it has {given or 'none of them'}."
                )
            if not (new > 0).all():
                raise SpecificationError(
                    f"link {a}-{b}: the change leaves {new.min():.3g} transit days; it must stay "
                    f"> 0 (the link now takes {old.min():.3g} days)."
                )
            links.loc[hit, "transit_days"] = new
        if new_rows:
            links = pd.concat([links, pd.DataFrame(new_rows)], ignore_index=True)
        return RouteGraph(links)


def transit_days(links: pd.DataFrame | None = None) -> pd.DataFrame:
    """Least transit days between every pair of nodes of a route table.

    Parameters
    ----------
    links : pandas.DataFrame, optional
        A route table like :func:`load_routes` (default: the packaged one).

    Returns
    -------
    pandas.DataFrame
        Square matrix of days, indexed by node.

    Examples
    --------
    >>> d = transit_days()
    >>> bool((d.to_numpy() == d.to_numpy().T).all())
    True
    """
    frame = load_routes() if links is None else _validate(links, "links")
    return RouteGraph(frame).days()
