r"""Exact hat algebra of the multi-sector model with input-output links (Caliendo & Parro 2015).

Arrays in, arrays out (``docs/methods-ge.md``, section 10, derives every line). Unknown: log
wage changes :math:`x_n = \ln \hat w_n`. For given wages an inner fixed point gives sector
price indices (unit costs depend on input prices), a linear system gives spending by sector
(intermediate demand + final demand out of income incl. tariff revenue), and the outer
iteration moves wages towards labour-market clearing :math:`\sum_s \beta_{ns} Y'_{ns} =
\hat w_n w_n L_n`:

.. math::

    \ln \hat c_{is} = \beta_{is} x_i + (1 - \beta_{is}) \sum_k \gamma_{iks} \ln \hat P_{ik},
    \qquad
    \hat P_{ns}^{-\theta_s} = \sum_i \pi_{sin} e^{\ell_{sin}} \hat c_{is}^{-\theta_s},

    \pi'_{sin} = \pi_{sin} e^{\ell_{sin}} \hat c_{is}^{-\theta_s} / \hat P_{ns}^{-\theta_s},
    \qquad
    X'_{sn} = \sum_k \gamma_{nsk} (1 - \beta_{nk}) Y'_{kn} + \alpha_{ns} I'_n,

    Y'_{si} = \sum_n \frac{\pi'_{sin}}{1 + t'_{sin}} X'_{sn},\qquad
    I'_n = \hat w_n w_n L_n + D_n + \sum_m Q_{nm} \sum_{s,i}
    \frac{t'_{sim}}{1 + t'_{sim}} \pi'_{sim} X'_{sm},

with :math:`\ell_{sin} = \delta_{sin} - \theta_s \ln\frac{1+t'_{sin}}{1+t_{sin}}` (tariffs and
partial effects on gross shares) and :math:`Q` the revenue-pooling matrix (identity without a
pool).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import LinearOperator, gmres

from ca_trade.ge._fixed_point import fixed_point
from ca_trade.ge.sectoral.problem import BaselineAccounts, SectoralProblem

__all__ = ["RESIDUAL_TOL", "Equilibrium", "Shock", "solve_equilibrium"]

#: Largest relative residual accepted at a solution (as the one-sector solver).
RESIDUAL_TOL = 1e-10

_INNER_TOL = 1e-14


@dataclass(frozen=True)
class Shock:
    """What changes between the baseline and the counterfactual (arrays).

    Attributes
    ----------
    log_shift : numpy.ndarray
        ``(S, N, N)`` change in log gross shares at constant costs and price indices:
        partial effects minus ``theta_s`` times the change in ``ln(1 + t)``.
    tariff1 : numpy.ndarray
        ``(S, N, N)`` counterfactual tariffs.
    transfer : numpy.ndarray
        ``(N, N)`` revenue-pooling matrix.
    deficit : numpy.ndarray
        ``(N,)`` counterfactual trade deficits (levels, numeraire units).
    """

    log_shift: np.ndarray
    tariff1: np.ndarray
    transfer: np.ndarray
    deficit: np.ndarray


@dataclass(frozen=True)
class Equilibrium:
    """Arrays of one counterfactual equilibrium (levels unless named ``log_``)."""

    log_wage: np.ndarray
    log_price: np.ndarray
    log_cost: np.ndarray
    shares: np.ndarray
    spending: np.ndarray
    flows: np.ndarray
    output: np.ndarray
    value_added: np.ndarray
    own_revenue: np.ndarray
    revenue: np.ndarray
    income: np.ndarray
    converged: bool
    n_iter: int
    residuals: dict[str, float]
    method: str

    def failure(self) -> str:
        """Explain why the solution was rejected (empty when it was accepted)."""
        if self.converged:
            return ""
        bad = [k for k, v in self.residuals.items() if not v < RESIDUAL_TOL and k != "step"]
        return (
            f"the multi-sector GE fixed point failed its check after {self.n_iter} iterations "
            f"(residuals {self.residuals}; {bad or 'the iteration'} not below {RESIDUAL_TOL} "
            "relative, or some outcome is not finite). Check the shock for extreme values or "
            "raise maxiter; with fixed deficits a large shock can leave a country with "
            "non-positive income: try deficits='zero'."
        )


class _Kernel:
    """Vectorised pieces of the equilibrium for one problem and shock (internal)."""

    def __init__(self, problem: SectoralProblem, base: BaselineAccounts, shock: Shock) -> None:
        self.theta = problem.theta[:, None]
        self.beta = problem.va_share.T  # (S, N)
        self.has_io = bool(np.any(problem.va_share < 1.0))
        self.io = problem.io
        # gm[n, s, k]: input s bought per unit of sector k's output in country n
        self.gm = problem.io * (1.0 - problem.va_share)[:, None, :]
        self.alpha = problem.final_share.T  # (S, N)
        self.m = base.shares * np.exp(shock.log_shift)
        net = 1.0 / (1.0 + shock.tariff1)
        self.net = net
        self.rev = shock.tariff1 * net
        self.transfer = shock.transfer
        self.pooled = not np.array_equal(shock.transfer, np.eye(problem.n))
        self.va = base.value_added
        self.deficit = shock.deficit
        self.spend_warm = base.spending.copy()
        self.lp_warm = np.zeros_like(base.spending)
        self.inner_iter = 0

    def costs(self, x: np.ndarray, lp: np.ndarray) -> np.ndarray:
        lc = self.beta * x[None, :]
        if self.has_io:
            lc = lc + (1.0 - self.beta) * np.einsum("iks,ki->si", self.io, lp)
        return lc

    def price_index(self, lc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Log price indices, scaled cost terms ``a`` and ``phi = sum_i m a`` (per sector)."""
        z = -self.theta * lc
        zmax = z.max(axis=1, keepdims=True)
        a = np.exp(z - zmax)
        phi = np.einsum("sin,si->sn", self.m, a)
        with np.errstate(divide="ignore", invalid="ignore"):
            lp = np.where(phi > 0, -(np.log(phi) + zmax) / self.theta, 0.0)
        return lp, a, phi

    def prices(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log price indices and log unit costs at log wages `x` (inner fixed point)."""
        if not self.has_io:
            lc = self.costs(x, self.lp_warm)
            return self.price_index(lc)[0], lc
        shape = self.lp_warm.shape

        def step(v: np.ndarray) -> np.ndarray:
            return self.price_index(self.costs(x, v.reshape(shape)))[0].ravel()

        out = fixed_point(
            step,
            self.lp_warm.ravel(),
            tol=_INNER_TOL,
            maxiter=2000,
            memory=8,
            least_squares="normal",
        )
        self.inner_iter += out.n_iter
        lp = out.x.reshape(shape)
        if np.all(np.isfinite(lp)):
            self.lp_warm = lp
        return lp, self.costs(x, lp)

    def shares(self, lc: np.ndarray) -> np.ndarray:
        _, a, phi = self.price_index(lc)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(phi[:, None, :] > 0, self.m * a[:, :, None] / phi[:, None, :], 0.0)

    def spending(self, shares: np.ndarray, fixed_income: np.ndarray) -> np.ndarray:
        """Spending by sector ``(S, N)`` solving the expenditure equations."""
        sales = shares * self.net
        rev = np.einsum("sin,sin->sn", shares, self.rev)
        if not self.has_io:
            # X = alpha I, I = fixed + Q (rho * I), rho = sum_s r_s alpha_s: N equations
            rho = np.einsum("sn,sn->n", rev, self.alpha)
            mat = np.eye(len(rho)) - self.transfer * rho[None, :]
            income = np.linalg.solve(mat, fixed_income)
            return self.alpha * income[None, :]
        return self._spending_io(sales, rev, fixed_income)

    def _spending_io(
        self, sales: np.ndarray, rev: np.ndarray, fixed_income: np.ndarray
    ) -> np.ndarray:
        s, n = self.alpha.shape
        gm, alpha, q = self.gm, self.alpha, self.transfer

        def apply(v: np.ndarray) -> np.ndarray:
            xs = v.reshape(s, n)
            y = np.einsum("sin,sn->si", sales, xs)
            own = np.einsum("sn,sn->n", rev, xs)
            out = xs - np.einsum("nsk,kn->sn", gm, y) - alpha * (q @ own)[None, :]
            return out.ravel()

        # block-Jacobi preconditioner: each country's own input-output and revenue loop
        dom = np.einsum("snn->ns", sales)
        own_block = gm * dom[:, None, :] + (
            alpha.T[:, :, None] * np.diag(q)[:, None, None] * rev.T[:, None, :]
        )
        inv = np.linalg.inv(np.eye(s)[None, :, :] - own_block)

        def precondition(v: np.ndarray) -> np.ndarray:
            return np.einsum("nsk,kn->sn", inv, v.reshape(s, n)).ravel()

        size = s * n
        b = (alpha * fixed_income[None, :]).ravel()
        op = LinearOperator((size, size), matvec=apply, dtype=float)
        pre = LinearOperator((size, size), matvec=precondition, dtype=float)
        sol, info = gmres(
            op, b, x0=self.spend_warm.ravel(), rtol=1e-14, atol=0.0, restart=60, maxiter=20, M=pre
        )
        resid = np.max(np.abs(apply(sol) - b)) / max(np.max(np.abs(b)), 1e-300)
        if info != 0 and not resid < 1e-12:
            sol = np.linalg.solve(self._dense(sales, rev), b)
        xs = sol.reshape(s, n)
        if np.all(np.isfinite(xs)):
            self.spend_warm = xs
        return xs

    def _dense(self, sales: np.ndarray, rev: np.ndarray) -> np.ndarray:
        s, n = self.alpha.shape
        # A[(s,n),(k,m)] = gm[n,s,k] sales[k,n,m] + alpha[s,n] Q[n,m] rev[k,m]
        a = np.einsum("nsk,knm->snkm", self.gm, sales)
        a += np.einsum("sn,nm,km->snkm", self.alpha, self.transfer, rev)
        return np.eye(s * n) - a.reshape(s * n, s * n)

    def state(self, x: np.ndarray) -> dict[str, np.ndarray]:
        lp, lc = self.prices(x)
        shares = self.shares(lc)
        spend = self.spending(shares, np.exp(x) * self.va + self.deficit)
        flows = shares * self.net * spend[:, None, :]
        output = flows.sum(axis=2)
        value_added = np.einsum("sn,sn->n", self.beta, output)
        return {
            "lp": lp,
            "lc": lc,
            "shares": shares,
            "spending": spend,
            "flows": flows,
            "output": output,
            "value_added": value_added,
        }


def _normalizer(problem: SectoralProblem, va: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    if problem.numeraire is not None:
        k = problem.numeraire
        return lambda x: x - x[k]
    total = float(np.log(np.sum(va)))
    return lambda x: x + (total - np.log(np.sum(va * np.exp(x))))


def solve_equilibrium(
    problem: SectoralProblem,
    base: BaselineAccounts,
    shock: Shock,
    *,
    tol: float = 1e-12,
    maxiter: int = 2000,
    x0: np.ndarray | None = None,
) -> Equilibrium:
    """Solve the counterfactual equilibrium of `problem` under `shock`.

    Parameters
    ----------
    problem : SectoralProblem
        The problem (its technology and elasticities).
    base : BaselineAccounts
        Its baseline accounts (:func:`~ca_trade.ge.sectoral.problem.accounts`).
    shock : Shock
        Changes in shares, tariffs, revenue pooling and target deficits.
    tol : float, default 1e-12
        Stop when the largest change in log wages is below `tol`.
    maxiter : int, default 2000
        Outer iteration cap.
    x0 : numpy.ndarray, optional
        Starting log wages.

    Returns
    -------
    Equilibrium
        New wages, prices, shares, spending, flows and national accounts, diagnostics.
    """
    kernel = _Kernel(problem, base, shock)
    normalize = _normalizer(problem, kernel.va)
    log_va = np.log(kernel.va)
    theta_max = float(np.max(problem.theta))

    def residual(x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        st = kernel.state(x)
        return np.log(st["value_added"]) - x - log_va, st

    def newton(x: np.ndarray) -> np.ndarray:
        # diagonal Newton step: each country's own slope of log excess labour supply,
        # 1 + sum_s (VA share) theta_s (1 - own share in its markets) - (home income loop)
        f, st = residual(x)
        flows, output = st["flows"], st["output"]
        with np.errstate(divide="ignore", invalid="ignore"):
            sales_w = np.where(output[:, :, None] > 0, flows / output[:, :, None], 0.0)
            own = np.einsum("sin,sin->si", sales_w, st["shares"])
            nu = kernel.beta * output / st["value_added"][None, :]
            home = np.einsum("sii->si", sales_w)
            loop = np.einsum("si,si->i", nu, home * kernel.alpha) * (
                np.exp(x) * kernel.va / (np.exp(x) * kernel.va + kernel.deficit)
            )
        slope = 1.0 + np.einsum("si,si->i", nu * kernel.theta, 1.0 - own) - loop
        slope = np.where(np.isfinite(slope), np.maximum(slope, 0.5), 1.0 + theta_max)
        return normalize(x + f / slope)

    def damped(x: np.ndarray) -> np.ndarray:
        f, _ = residual(x)
        return normalize(x + f / (1.0 + theta_max))

    start = np.zeros(problem.n) if x0 is None else np.asarray(x0, dtype=float)
    with np.errstate(all="ignore"):
        out = fixed_point(newton, normalize(start), tol=tol, maxiter=maxiter, fallback=damped)
        return _finish(kernel, shock, out.x, out.converged, out.n_iter, out.step, out.method)


def _finish(
    kernel: _Kernel,
    shock: Shock,
    x: np.ndarray,
    iterated: bool,
    n_iter: int,
    step: float,
    method: str,
) -> Equilibrium:
    st = kernel.state(x)
    shares, spend, flows = st["shares"], st["spending"], st["flows"]
    own_rev = np.einsum("sin,sin->n", flows, shock.tariff1)
    revenue = kernel.transfer @ own_rev
    income = np.exp(x) * kernel.va + shock.deficit + revenue
    # residuals of every equilibrium condition, relative
    lp_check = kernel.price_index(kernel.costs(x, st["lp"]))[0]
    inter = np.einsum("nsk,kn->sn", kernel.gm, st["output"])
    budget = spend - inter - kernel.alpha * income[None, :]
    imports = flows.sum(axis=(0, 1))
    exports = flows.sum(axis=(0, 2))
    balance = imports - exports - (shock.deficit + revenue - own_rev)
    with np.errstate(divide="ignore", invalid="ignore"):
        residuals = {
            "labour_market": float(np.max(np.abs(st["value_added"] / (np.exp(x) * kernel.va) - 1))),
            "prices": float(np.max(np.abs(lp_check - st["lp"]))),
            "budget": float(np.max(np.abs(budget).sum(axis=0) / np.abs(spend).sum(axis=0))),
            "trade_balance": float(np.max(np.abs(balance) / np.abs(income))),
            "step": float(step),
        }
    arrays = (x, st["lp"], st["lc"], shares, spend, flows, income)
    finite = all(np.all(np.isfinite(a)) for a in arrays)
    checks = [v for k, v in residuals.items() if k != "step"]
    converged = bool(
        iterated
        and finite
        and all(v < RESIDUAL_TOL for v in checks)
        and np.all(income > 0)
        and np.all(spend >= -RESIDUAL_TOL * np.abs(spend).max())
    )
    return Equilibrium(
        log_wage=x,
        log_price=st["lp"],
        log_cost=st["lc"],
        shares=shares,
        spending=spend,
        flows=flows,
        output=st["output"],
        value_added=st["value_added"],
        own_revenue=own_rev,
        revenue=revenue,
        income=income,
        converged=converged,
        n_iter=n_iter,
        residuals=residuals,
        method=method,
    )
