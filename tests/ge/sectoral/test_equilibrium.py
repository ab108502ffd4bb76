"""The multi-sector solver against an independent brute-force solution of the full system.

The brute force writes every equilibrium condition of Caliendo & Parro (2015) in changes with
explicit loops (unit costs, price indices, trade shares, expenditure with tariff revenue and
pooled revenue, labour markets, a numeraire) and hands the whole system, wages, prices and
spending together, to ``scipy.optimize.root`` (Powell's hybrid method): no code is shared with
``ca_trade.ge.sectoral``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import root

import ca_trade.ge as ge
from ca_trade.ge.scenario import RevenuePool, Scenario
from ca_trade.ge.sectoral import prepare, solve_problem
from tests.ge.sectoral._problems import random_changes, random_problem


def _brute_force(
    p: ge.sectoral.SectoralProblem, pooled: bool, deficit: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    s_n, n_n = p.n_sectors, p.n
    x = p.flows
    t0, t1 = p.tariff0, p.tariff1
    beta, gam, alpha, theta = p.va_share, p.io, p.final_share, p.theta
    spend0 = np.zeros((s_n, n_n))
    for s in range(s_n):
        for n in range(n_n):
            spend0[s, n] = sum((1 + t0[s, i, n]) * x[s, i, n] for i in range(n_n))
    pi = np.zeros((s_n, n_n, n_n))
    for s in range(s_n):
        for i in range(n_n):
            for n in range(n_n):
                pi[s, i, n] = (1 + t0[s, i, n]) * x[s, i, n] / spend0[s, n]
    va = np.array([sum(beta[n, s] * x[s, n, :].sum() for s in range(s_n)) for n in range(n_n)])
    if deficit is None:
        deficit = np.array([x[:, :, n].sum() - x[:, n, :].sum() for n in range(n_n)])
    q = p.transfer_matrix() if pooled else np.eye(n_n)
    scale = spend0.sum()

    def unpack(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lw = z[:n_n]
        lp = z[n_n : n_n + s_n * n_n].reshape(s_n, n_n)
        spend = z[n_n + s_n * n_n :].reshape(s_n, n_n) * scale
        return lw, lp, spend

    def outcomes(z: np.ndarray) -> dict[str, np.ndarray]:
        lw, lp, spend = unpack(z)
        lc = np.zeros((s_n, n_n))
        for s in range(s_n):
            for i in range(n_n):
                inputs = sum(gam[i, k, s] * lp[k, i] for k in range(s_n))
                lc[s, i] = beta[i, s] * lw[i] + (1 - beta[i, s]) * inputs
        share = np.zeros((s_n, n_n, n_n))
        for s in range(s_n):
            for n in range(n_n):
                terms = [
                    pi[s, i, n]
                    * np.exp(p.log_effect[s, i, n])
                    * ((1 + t1[s, i, n]) / (1 + t0[s, i, n])) ** (-theta[s])
                    * np.exp(-theta[s] * lc[s, i])
                    for i in range(n_n)
                ]
                total = sum(terms)
                for i in range(n_n):
                    share[s, i, n] = terms[i] / total
        output = np.zeros((s_n, n_n))
        for s in range(s_n):
            for i in range(n_n):
                output[s, i] = sum(
                    share[s, i, n] / (1 + t1[s, i, n]) * spend[s, n] for n in range(n_n)
                )
        own = np.array(
            [
                sum(
                    share[s, i, n] * t1[s, i, n] / (1 + t1[s, i, n]) * spend[s, n]
                    for s in range(s_n)
                    for i in range(n_n)
                )
                for n in range(n_n)
            ]
        )
        income = np.exp(lw) * va + deficit + q @ own
        return {"lc": lc, "share": share, "output": output, "income": income}

    def equations(z: np.ndarray) -> np.ndarray:
        lw, lp, spend = unpack(z)
        o = outcomes(z)
        eq_p = np.zeros((s_n, n_n))
        eq_x = np.zeros((s_n, n_n))
        for s in range(s_n):
            for n in range(n_n):
                phi = sum(
                    pi[s, i, n]
                    * np.exp(p.log_effect[s, i, n])
                    * ((1 + t1[s, i, n]) / (1 + t0[s, i, n])) ** (-theta[s])
                    * np.exp(-theta[s] * o["lc"][s, i])
                    for i in range(n_n)
                )
                eq_p[s, n] = lp[s, n] + np.log(phi) / theta[s]
                inter = sum(gam[n, s, k] * (1 - beta[n, k]) * o["output"][k, n] for k in range(s_n))
                eq_x[s, n] = (spend[s, n] - inter - alpha[n, s] * o["income"][n]) / scale
        labour = [
            (sum(beta[n, s] * o["output"][s, n] for s in range(s_n)) - np.exp(lw[n]) * va[n])
            / va.sum()
            for n in range(n_n - 1)
        ]
        numeraire = (np.exp(lw) * va).sum() / va.sum() - 1.0
        return np.concatenate([eq_p.ravel(), eq_x.ravel(), labour, [numeraire]])

    z0 = np.concatenate([np.zeros(n_n + s_n * n_n), (spend0 / scale).ravel()])
    sol = root(equations, z0, method="hybr", options={"xtol": 1e-13})
    # hybr may stop at "no further improvement possible": the residual is the test
    assert np.max(np.abs(equations(sol.x))) < 1e-11, sol.message
    lw, lp, spend = unpack(sol.x)
    return {"wage": np.exp(lw), "price": np.exp(lp), "spending": spend, **outcomes(sol.x)}


@pytest.mark.parametrize(("n", "s", "seed"), [(2, 2, 0), (3, 2, 1), (3, 3, 2), (4, 2, 3)])
@pytest.mark.parametrize("io", [True, False])
def test_solver_matches_brute_force(n: int, s: int, seed: int, io: bool) -> None:
    f = random_problem(n, s, seed, io=io)
    p = prepare(
        f.flows,
        random_changes(f, seed),
        f.theta,
        tariffs=f.tariffs,
        production=f.production if io else None,
        inputs=f.inputs if io else None,
    )
    sol = solve_problem(p)
    assert sol.converged and sol.label == "data"
    ref = _brute_force(p, pooled=False)
    eq = sol.equilibrium
    np.testing.assert_allclose(np.exp(eq.log_wage), ref["wage"], rtol=1e-9)
    np.testing.assert_allclose(np.exp(eq.log_price), ref["price"], rtol=1e-9)
    np.testing.assert_allclose(eq.spending, ref["spending"], rtol=1e-9)
    np.testing.assert_allclose(eq.income, ref["income"], rtol=1e-9)
    np.testing.assert_allclose(eq.shares, ref["share"], rtol=1e-8, atol=1e-13)


def test_revenue_pooling_matches_brute_force_and_keeps_world_revenue() -> None:
    f = random_problem(4, 2, 5)
    pool = RevenuePool(("C00", "C02", "C03"), (0.5, 0.2, 0.3))
    scenario = Scenario(
        tariffs=f.tariffs.rename(columns={"tariff": "baseline"}).assign(
            counterfactual=lambda d: d["baseline"] * 0.5
        ),
        revenue_pools=(pool,),
    )
    p = prepare(f.flows, scenario, f.theta, production=f.production, inputs=f.inputs)
    sol = solve_problem(p)
    assert sol.converged
    eq = sol.equilibrium
    ref = _brute_force(p, pooled=True)
    np.testing.assert_allclose(np.exp(eq.log_wage), ref["wage"], rtol=1e-9)
    np.testing.assert_allclose(eq.income, ref["income"], rtol=1e-9)
    assert eq.revenue.sum() == pytest.approx(eq.own_revenue.sum(), rel=1e-12)
    members = [0, 2, 3]
    pooled = eq.own_revenue[members].sum()
    np.testing.assert_allclose(eq.revenue[members], pooled * np.array([0.5, 0.2, 0.3]))
    assert eq.revenue[1] == eq.own_revenue[1]  # C01 is outside the union


def test_zero_deficit_baseline_matches_brute_force() -> None:
    f = random_problem(3, 2, 6)
    p = prepare(
        f.flows,
        None,
        f.theta,
        tariffs=f.tariffs,
        production=f.production,
        inputs=f.inputs,
        deficits="zero",
    )
    sol = solve_problem(p)
    assert sol.label == "zero deficits (re-solved)" and sol.converged
    ref = _brute_force(p, pooled=False, deficit=np.zeros(p.n))
    new = ref["share"] / (1 + p.tariff1) * ref["spending"][:, None, :]
    np.testing.assert_allclose(sol.baseline.flows, new, rtol=1e-9)
    old = sol.baseline.flows
    np.testing.assert_allclose(old.sum(axis=(0, 1)), old.sum(axis=(0, 2)), rtol=1e-10)
    # without a change the counterfactual is the re-solved baseline
    np.testing.assert_allclose(sol.equilibrium.flows, old, rtol=1e-10)
