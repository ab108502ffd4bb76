"""The algorithm of Caliendo & Parro's replication code, re-implemented in numpy as a peer.

Written from the description of their Matlab programs (``equilibrium_LC``, ``PH``,
``expenditure``, ``LMC``; Data_and_Codes_CP): for given wages, iterate the price indices to a
fixed point by plain substitution; compute trade shares; solve the expenditure system by
inverting the dense ``(J N) x (J N)`` matrix ``I - Omega``; move wages by a fixed fraction
(``vfactor = 0.2``) of the trade-balance residual relative to value added. Nothing of ca_trade
is used, so the benchmark compares two implementations of the same equations. The stopping
rule is relative (the authors' absolute rule on dollar values cannot be met in double
precision at the paper's scale): the largest trade-balance residual over value added and the
largest price change below `tol`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Outcome:
    wage: np.ndarray
    price: np.ndarray
    iterations: int
    price_iterations: int


def solve(
    shares: np.ndarray,
    tariff0: np.ndarray,
    tariff1: np.ndarray,
    theta: np.ndarray,
    va_share: np.ndarray,
    io: np.ndarray,
    final: np.ndarray,
    value_added: np.ndarray,
    deficit: np.ndarray,
    *,
    tol: float = 1e-10,
    vfactor: float = 0.2,
    maxit: int = 100_000,
) -> Outcome:
    """Solve for wage and price changes; arrays as in ``ca_trade.ge.sectoral`` (``[s, i, n]``)."""
    s_n, n_n, _ = shares.shape
    kappa = ((1.0 + tariff1) / (1.0 + tariff0)) ** (-theta[:, None, None])
    base = shares * kappa
    beta = va_share.T  # (S, N)
    net = 1.0 / (1.0 + tariff1)
    gm = io * (1.0 - va_share)[:, None, :]  # [n, input, using]
    wage = np.ones(n_n)
    price = np.ones((s_n, n_n))
    total_price_iter = 0
    for it in range(1, maxit + 1):
        lw = np.log(wage)
        for _ in range(maxit):  # PH: plain iteration on price indices
            lc = beta * lw[None, :] + (1.0 - beta) * np.einsum("iks,ki->si", io, np.log(price))
            cost = np.exp(lc)
            phi = np.einsum("sin,si->sn", base, cost ** (-theta[:, None]))
            new = np.where(phi > 0, phi ** (-1.0 / theta[:, None]), 1.0)
            step = np.max(np.abs(new - price))
            price = new
            total_price_iter += 1
            if step < tol:
                break
        dinp = (
            base
            * (cost ** (-theta[:, None]))[:, :, None]
            / (price ** (-theta[:, None]))[:, None, :]
        )
        sales = dinp * net
        rev = np.einsum("sin,sin->sn", dinp, 1.0 - net)
        # Omega: X[s,n] = sum_k gm[n,s,k] sum_m sales[k,n,m] X[k,m]
        #                 + alpha[n,s] sum_k rev[k,n] X[k,n]
        omega = np.einsum("nsk,knm->snkm", gm, sales)
        omega += np.einsum("ns,kn,nm->snkm", final, rev, np.eye(n_n))
        mat = np.eye(s_n * n_n) - omega.reshape(s_n * n_n, s_n * n_n)
        rhs = (final.T * (wage * value_added + deficit)[None, :]).ravel()
        spend = np.linalg.solve(mat, rhs).reshape(s_n, n_n)
        flows = sales * spend[:, None, :]
        exports = flows.sum(axis=(0, 2))
        imports = flows.sum(axis=(0, 1))
        excess = (imports - exports - deficit) / value_added  # zero in equilibrium
        wage = wage - vfactor * excess  # too many imports: the wage falls
        if np.max(np.abs(excess)) < tol:
            return Outcome(wage, price, it, total_price_iter)
    return Outcome(wage, price, maxit, total_price_iter)


REGIONS = (
    "ARG AUS AUT BRA CAN CHL CHN DNK FIN FRA DEU GRC HUN IND IDN IRL ITA JPN KOR MEX NLD NZL "
    "NOR PRT ZAF ESP SWE TUR GBR USA ROW"
).split()


def _long(cube: np.ndarray, column: str, labels: list[str], sectors: list[str]) -> pd.DataFrame:
    s, i, n = np.nonzero(cube)
    return pd.DataFrame(
        {
            "exporter": np.array(labels)[i],
            "importer": np.array(labels)[n],
            "sector": np.array(sectors)[s],
            column: cube[s, i, n],
        }
    )


def nafta_inputs(folder: Path) -> dict[str, Any]:
    """The NAFTA experiment's frames from the reference folder (layout: reference README)."""
    n, j, tradable = 31, 40, 20
    sectors = [f"S{k + 1:02d}" for k in range(j)]
    xbilat = np.loadtxt(folder / "xbilat1993.txt") * 1000.0
    t93 = np.loadtxt(folder / "tariffs1993.txt") / 100.0
    t05 = np.loadtxt(folder / "tariffs2005.txt") / 100.0
    gross_output = np.loadtxt(folder / "GO.txt")
    va_share = np.loadtxt(folder / "B.txt")
    io = np.maximum(np.loadtxt(folder / "IO.txt").reshape(n, j, j), 0.0)
    total = io.sum(axis=1, keepdims=True)
    io = np.divide(io, total, out=np.zeros_like(io), where=total > 0)
    theta_goods = np.loadtxt(folder / "T.txt")
    trade = np.zeros((j, n, n))
    trade[:tradable] = xbilat.reshape(tradable, n, n).transpose(0, 2, 1)
    domestic = np.maximum(gross_output - trade.sum(axis=2), 0.0)  # a row even where zero
    home = pd.DataFrame(
        {
            "exporter": np.tile(REGIONS, j),
            "importer": np.tile(REGIONS, j),
            "sector": np.repeat(sectors, n),
            "value": domestic.ravel(),
        }
    )
    flows = pd.concat([_long(trade, "value", REGIONS, sectors), home], ignore_index=True)
    tariff = np.zeros((j, n, n))
    tariff[:tradable] = t93.reshape(tradable, n, n).transpose(0, 2, 1)
    new = np.zeros((j, n, n))
    new[:tradable] = t05.reshape(tradable, n, n).transpose(0, 2, 1)
    nafta = [REGIONS.index(c) for c in ("CAN", "MEX", "USA")]
    mask = np.zeros((j, n, n), dtype=bool)
    for a in nafta:
        for b in nafta:
            mask[:tradable, a, b] = a != b
    q, i, m = np.nonzero(mask)
    changes = pd.DataFrame(
        {
            "exporter": np.array(REGIONS)[i],
            "importer": np.array(REGIONS)[m],
            "sector": np.array(sectors)[q],
            "new_tariff": new[q, i, m],
        }
    )
    production = pd.DataFrame(
        {
            "country": np.repeat(REGIONS, j),
            "sector": np.tile(sectors, n),
            "value_added_share": va_share.T.ravel(),
        }
    )
    c, k, s = np.nonzero(io)
    inputs = pd.DataFrame(
        {
            "country": np.array(REGIONS)[c],
            "input_sector": np.array(sectors)[k],
            "sector": np.array(sectors)[s],
            "share": io[c, k, s],
        }
    )
    theta = {sectors[k]: float(theta_goods[k]) for k in range(tradable)}
    theta |= {sectors[k]: 8.22 for k in range(tradable, j)}
    return {
        "flows": flows,
        "changes": changes,
        "theta": theta,
        "tariffs": _long(tariff, "tariff", REGIONS, sectors),
        "production": production,
        "inputs": inputs,
    }


def generated(n: int, s: int, seed: int = 0, *, io: bool = True) -> dict[str, Any]:
    """A gravity-like economy by sector with tariffs, input-output links and a tariff cut."""
    rng = np.random.default_rng(seed)
    countries = [f"C{k:03d}" for k in range(n)]
    sectors = [f"S{k:02d}" for k in range(s)]
    size = np.exp(rng.normal(0.0, 0.8, (s, n)))
    dist = np.exp(rng.uniform(0.5, 2.5, (n, n)))
    dist = (dist + dist.T) / 2
    cube = size[:, :, None] * size[:, None, :] / dist[None] * np.exp(rng.normal(0, 0.4, (s, n, n)))
    for q in range(s):
        cube[q][np.diag_indices(n)] = size[q] ** 2 * rng.uniform(5.0, 20.0, n)
    tariff = rng.uniform(0.0, 0.2, (s, n, n))
    for q in range(s):
        np.fill_diagonal(tariff[q], 0.0)
    va = rng.uniform(0.35, 0.7, (n, s)) if io else np.ones((n, s))
    shares = rng.dirichlet(np.ones(s) * 0.5, size=(n, s)).transpose(0, 2, 1)
    spending = ((1 + tariff) * cube).sum(axis=1)
    inter = np.einsum("nks,sn->kn", shares * (1 - va)[:, None, :], cube.sum(axis=2))
    scale = np.minimum(1.0, 0.6 * spending / np.maximum(inter, 1e-300)).min(axis=0)
    va = 1.0 - (1.0 - va) * scale[:, None]
    members = countries[: max(2, n // 5)]
    flows = _long(cube, "value", countries, sectors)
    tariffs = _long(tariff, "tariff", countries, sectors)
    inside = tariffs["exporter"].isin(members) & tariffs["importer"].isin(members)
    changes = tariffs[inside].rename(columns={"tariff": "new_tariff"}).assign(new_tariff=0.0)
    c, k, q = np.nonzero(shares)
    return {
        "flows": flows,
        "changes": changes,
        "theta": {sec: float(t) for sec, t in zip(sectors, rng.uniform(2.0, 10.0, s))},
        "tariffs": tariffs,
        "production": pd.DataFrame(
            {
                "country": np.repeat(countries, s),
                "sector": np.tile(sectors, n),
                "value_added_share": va.ravel(),
            }
        )
        if io
        else None,
        "inputs": pd.DataFrame(
            {
                "country": np.array(countries)[c],
                "input_sector": np.array(sectors)[k],
                "sector": np.array(sectors)[q],
                "share": shares[c, k, q],
            }
        )
        if io
        else None,
    }
