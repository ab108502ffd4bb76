"""Coverage of 95 % intervals for three-way PPML: CRV1, CRV3 and Weidner–Zylkin corrections.

A seeded Monte Carlo of three-way gravity panels (exporter-time, importer-time and pair fixed
effects; ``N`` countries, ``T`` periods, international pairs only) in the design of Weidner &
Zylkin (2021, section 5) and Czarnowske & Stammann (2022): fixed effects
``a_it, g_jt, e_ij ~ N(0, 1/4)``, a regressor that follows the fixed effects,
``x_ij1 = e_ij + N(0, 1/4)``, ``x_ijt = x_ij,t-1 / 2 + (a + g + e)_ij,t-1 + N(0, 1/4)``,
and ``lambda = exp(c + b x + a + g + e)`` with ``b = 1``. Zeros are realistic in two ways:
the quarter of pairs with the smallest pair effect never trade (all-zero pairs, which the
pair effects separate: Czarnowske & Stammann's "latent unbalancedness"), and the Poisson
draws give sporadic zeros to small flows (``c = 2``). Outcomes:

- ``poisson``: ``y ~ Poisson(lambda)``;
- ``heavy``: ``y ~ Poisson(lambda w)``, ``w = exp(sigma z - sigma^2 / 2)`` with
  ``Var(w) = 1`` (multiplicative, as Weidner & Zylkin's ``sigma^2 = 1`` design) and ``z`` an
  AR(1) in time within each pair (``rho = 0.3``): overdispersed and serially correlated.

For every replication the three-way PPML is fitted once and reported with

- ``CRV1``: the estimate with pair-clustered standard errors (ppmlhdfe's);
- ``CRV3``: the estimate with leave-one-pair-out standard errors (``vcov={"CRV3": pair}``);
- ``analytical``: Weidner & Zylkin's bias-corrected estimate with their de-biased SE;
- ``jackknife``: the split-panel jackknife estimate (one split) with the de-biased SE;

and the table gives, per design, the mean bias of each point estimate and the coverage of
nominal 95 % normal intervals (with its Monte Carlo standard error in the header).

Usage::

    python benchmarks/coverage_mc.py                   # N = 20, 40, 60; T = 5, 10; 200 reps
    python benchmarks/coverage_mc.py --countries 20 --periods 5 --reps 50 --jobs 2
    python benchmarks/coverage_mc.py --json out.json

(Not ``coverage.py``: run as a script, a file of that name in ``benchmarks/`` shadows the
``coverage`` package that numba imports, and every benchmark script would fail.)

Examples
--------
>>> from benchmarks.coverage_mc import simulate
>>> df = simulate(6, 3, "poisson", seed=0)
>>> len(df), sorted(df.columns)[:3]
(90, ['exp', 'exp_time', 'imp'])
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import ca_trade as ct  # noqa: E402

BETA = 1.0
FE_SD = 0.5
#: Share of pairs that never trade (those with the smallest pair effect).
ZERO_PAIRS = 0.25
RHO = 0.3
#: Variance of the multiplicative error of the heavy-tailed design.
HEAVY_VAR = 1.0
#: Log mean shift: sporadic zeros among the trading pairs.
LEVEL = 2.0
FORMULA = "y ~ x | exp_time + imp_time + pair"
METHODS = ("CRV1", "CRV3", "analytical", "jackknife")
Z95 = 1.959963984540054


def simulate(n: int, t: int, errors: str, seed: int) -> pd.DataFrame:
    """One simulated three-way gravity panel.

    Parameters
    ----------
    n : int
        Countries (``n (n - 1)`` international pairs).
    t : int
        Periods.
    errors : {"poisson", "heavy"}
    seed : int

    Returns
    -------
    pandas.DataFrame
        Columns ``exp, imp, time, exp_time, imp_time, pair, x, y``.

    Examples
    --------
    >>> d = simulate(5, 2, "heavy", seed=1)
    >>> bool((d["y"] >= 0).all()), int(d["time"].max())
    (True, 1)
    """
    if errors not in ("poisson", "heavy"):
        raise ValueError(f"errors={errors!r}; use 'poisson' or 'heavy'")
    rng = np.random.default_rng(seed)
    i, j = np.nonzero(~np.eye(n, dtype=bool))
    p = i.shape[0]
    a = rng.normal(0, FE_SD, (n, t + 1))
    g = rng.normal(0, FE_SD, (n, t + 1))
    e = rng.normal(0, FE_SD, (n, n))[i, j]
    pi = a[i] + g[j] + e[:, None]  # (pairs, t + 1)
    x = np.empty((p, t + 1))
    x[:, 0] = e + rng.normal(0, 0.5, p)
    for s in range(1, t + 1):
        x[:, s] = x[:, s - 1] / 2 + pi[:, s - 1] + rng.normal(0, 0.5, p)
    x, pi = x[:, 1:], pi[:, 1:]
    lam = np.exp(LEVEL + BETA * x + pi)
    if errors == "heavy":
        sigma = math.sqrt(math.log(1 + HEAVY_VAR))
        z = np.empty((p, t))
        z[:, 0] = rng.normal(size=p)
        for s in range(1, t):
            z[:, s] = RHO * z[:, s - 1] + math.sqrt(1 - RHO**2) * rng.normal(size=p)
        lam = lam * np.exp(sigma * z - sigma**2 / 2)
    y = rng.poisson(lam).astype(np.float64)
    y[e <= np.quantile(e, ZERO_PAIRS)] = 0.0
    tt = np.tile(np.arange(t), p)
    ii, jj = np.repeat(i, t), np.repeat(j, t)
    return pd.DataFrame(
        {
            "exp": ii,
            "imp": jj,
            "time": tt,
            "exp_time": ii * t + tt,
            "imp_time": jj * t + tt,
            "pair": ii * n + jj,
            "x": x.ravel(),
            "y": y.ravel(),
        }
    )


def replicate(n: int, t: int, errors: str, seed: int, jackknife: bool = True) -> dict[str, Any]:
    """Fit one simulated panel; estimates and standard errors of every method.

    Parameters
    ----------
    n, t : int
    errors : {"poisson", "heavy"}
    seed : int
    jackknife : bool, default True
        Also run the split-panel jackknife (four more fits); its columns are NaN otherwise.

    Returns
    -------
    dict
        ``b_<method>``, ``se_<method>`` for each method, ``zeros`` (share of zero flows),
        ``nobs``, ``seconds_fit``, ``seconds_<method>``.

    Examples
    --------
    >>> r = replicate(8, 3, "poisson", seed=2)
    >>> sorted(k for k in r if k.startswith("b_"))
    ['b_CRV1', 'b_CRV3', 'b_analytical', 'b_jackknife']
    """
    df = simulate(n, t, errors, seed)
    out: dict[str, Any] = {"zeros": float((df["y"] == 0).mean())}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ct.exceptions.SeparationWarning)
        warnings.simplefilter("ignore", ct.exceptions.SingletonWarning)
        t0 = time.perf_counter()
        res = ct.ppml(FORMULA, df, vcov={"CRV1": "pair"})
        out["seconds_fit"] = time.perf_counter() - t0
        out["nobs"] = res.nobs
        fits: dict[str, Any] = {"CRV1": res}
        for name, make in (
            ("CRV3", lambda: res.with_vcov({"CRV3": "pair"})),
            ("analytical", lambda: res.bias_corrected()),
            ("jackknife", lambda: res.bias_corrected("jackknife", seed=seed)),
        ):
            if name == "jackknife" and not jackknife:
                out["b_jackknife"] = out["se_jackknife"] = math.nan
                continue
            t0 = time.perf_counter()
            fits[name] = make()
            out[f"seconds_{name}"] = time.perf_counter() - t0
    for name, r in fits.items():
        out[f"b_{name}"] = float(r.params["x"])
        out[f"se_{name}"] = float(r.bse["x"])
    return out


def _task(args: tuple[int, int, str, int, bool]) -> dict[str, Any]:
    n, t, errors, seed, jackknife = args
    return {
        "n": n,
        "t": t,
        "errors": errors,
        "seed": seed,
        **replicate(n, t, errors, seed, jackknife),
    }


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean bias and 95 % coverage per design and method.

    Parameters
    ----------
    runs : pandas.DataFrame
        Rows of :func:`replicate` with ``n``, ``t``, ``errors``.

    Returns
    -------
    pandas.DataFrame
        One row per design: ``reps``, ``zeros``, then ``bias_<method>`` and
        ``cover_<method>`` (percent).

    Examples
    --------
    >>> runs = pd.DataFrame([{"n": 5, "t": 2, "errors": "poisson", "zeros": 0.3,
    ...     **{f"b_{m}": 1.1 for m in METHODS}, **{f"se_{m}": 0.1 for m in METHODS}}])
    >>> float(summarise(runs)["cover_CRV1"].iloc[0])
    100.0
    """
    rows = []
    for (n, t, errors), grp in runs.groupby(["n", "t", "errors"], sort=True):
        row: dict[str, Any] = {"N": n, "T": t, "errors": errors, "reps": len(grp)}
        row["zeros"] = 100 * grp["zeros"].mean()
        for m in METHODS:
            b, se = grp[f"b_{m}"], grp[f"se_{m}"]
            row[f"bias_{m}"] = (b - BETA).mean()
            row[f"cover_{m}"] = 100 * ((b - Z95 * se <= BETA) & (BETA <= b + Z95 * se)).mean()
        row["sd_b"] = grp["b_CRV1"].std()
        row["mean_se_CRV1"] = grp["se_CRV1"].mean()
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """The coverage table in Markdown (bias of the estimate used by each method).

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`summarise`.

    Returns
    -------
    str

    Examples
    --------
    >>> print(markdown(pd.DataFrame()).splitlines()[0][:12])
    | N | T | err
    """
    head = (
        "| N | T | errors | reps | zeros % | bias: PPML | analytical | jackknife "
        "| cover: CRV1 | CRV3 | analytical | jackknife |"
    )
    lines = [head, "|" + "---|" * 12]
    for _, r in table.iterrows():
        lines.append(
            f"| {r['N']} | {r['T']} | {r['errors']} | {r['reps']} | {r['zeros']:.0f} "
            f"| {r['bias_CRV1']:+.4f} | {r['bias_analytical']:+.4f} | {r['bias_jackknife']:+.4f} "
            f"| {r['cover_CRV1']:.1f} | {r['cover_CRV3']:.1f} | {r['cover_analytical']:.1f} "
            f"| {r['cover_jackknife']:.1f} |"
        )
    return "\n".join(lines)


def run(
    countries: Sequence[int],
    periods: Sequence[int],
    errors: Sequence[str],
    reps: int,
    seed: int = 0,
    jobs: int = 1,
    jackknife: bool = True,
) -> pd.DataFrame:
    """Run every replication of every design (in ``jobs`` processes).

    Parameters
    ----------
    countries, periods : sequence of int
    errors : sequence of {"poisson", "heavy"}
    reps : int
        Replications per design.
    seed : int, default 0
        Base seed; replication ``r`` of a design uses ``seed + r`` (designs share seeds).
    jobs : int, default 1
    jackknife : bool, default True

    Returns
    -------
    pandas.DataFrame
        One row per replication.

    Examples
    --------
    >>> run([6], [3], ["poisson"], reps=2).shape[0]
    2
    """
    tasks = [
        (n, t, e, seed + r, jackknife)
        for n in countries
        for t in periods
        for e in errors
        for r in range(reps)
    ]
    if jobs > 1:
        # one BLAS thread per worker: the matrices are small and threads only contend
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            rows = list(pool.map(_task, tasks, chunksize=4))
    else:
        rows = [_task(a) for a in tasks]
    return pd.DataFrame(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--countries", default="20,40,60")
    parser.add_argument("--periods", default="5,10")
    parser.add_argument("--errors", default="poisson,heavy")
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    runs = run(
        [int(v) for v in args.countries.split(",")],
        [int(v) for v in args.periods.split(",")],
        [v.strip() for v in args.errors.split(",")],
        args.reps,
        seed=args.seed,
        jobs=args.jobs,
    )
    table = summarise(runs)
    mc_se = 100 * math.sqrt(0.95 * 0.05 / max(args.reps, 1))
    print(
        f"three-way PPML, true b = {BETA}; {args.reps} replications per design (Monte Carlo "
        f"SE of a 95 % coverage: {mc_se:.1f} points); {time.perf_counter() - t0:.0f} s"
    )
    print(markdown(table))
    secs = runs[[c for c in runs.columns if c.startswith("seconds_")]].mean()
    print("mean seconds per replication: " + ", ".join(f"{k[8:]} {v:.3f}" for k, v in secs.items()))
    if args.json is not None:
        args.json.write_text(json.dumps({"runs": runs.to_dict("records")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
