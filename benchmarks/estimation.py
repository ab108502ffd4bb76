"""Estimation benchmark: ca_trade against pyfixest, statsmodels and linearmodels.

Three-way gravity panels (exporter-year, importer-year and pair fixed effects) of about 25k,
450k and 1M rows with 30-40 % zeros (``benchmarks/_gen.py``) are estimated, in the same run
and on the same data with the same convergence tolerance, by

- PPML, in two like-for-like pairs of separation checks:

  (a) ``ca_trade.ppml(..., separation=("fe",))`` (``ca_trade_fe``) against
      ``pyfixest.fepois`` with its default ``separation_check=["fe"]`` (``pyfixest_numba``,
      ``pyfixest_rust``: its numba and rust demeaning backends);
  (b) ``ca_trade.ppml`` with its defaults, fixed-effect separation plus the iterated
      rectifier (``ca_trade``), against ``pyfixest.fepois`` with
      ``separation_check=["fe", "ir"]`` (``pyfixest_numba_ir``, ``pyfixest_rust_ir``);

  and statsmodels GLM Poisson with explicit dummy variables (only on panels up to
  ``--statsmodels-max-rows`` rows: it is dense; compared with ``ca_trade``);
- OLS (log of positive flows): ``ca_trade.ols``, ``pyfixest.feols`` (numba, rust) and
  ``linearmodels.AbsorbingLS``.

Every fit runs in a fresh subprocess that first warms up (numba compilation, imports) on a
small panel, so that wall times exclude compilation and peak memory (``ru_maxrss``) belongs to
one tool. Reported per tool: the best wall time over ``--repeat`` fits, the peak resident
memory and its increase over the process before the fit, the ratios of both to those of the
ca_trade run with the same separation checks (column ``vs``), and the largest coefficient
difference from it (relative to ``max(1, |b|)``; agreement is required to ``--agree``, 1e-6 by
default).

Usage::

    python benchmarks/estimation.py --sizes small,medium,large --repeat 3
    python benchmarks/estimation.py --sizes small --models ppml --json out.json

Examples
--------
>>> from benchmarks.estimation import agreement
>>> agreement({"a": 4.0, "b": 0.5}, {"a": 4.5, "b": 0.5})
0.125
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make `benchmarks._gen` importable
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._gen import SIZES, gravity_panel  # noqa: E402

REGRESSORS = ("rta", "ln_tariff")
FIXED_EFFECTS = ("exp_year", "imp_year", "pair")
PPML_FORMULA = "trade ~ rta + ln_tariff | exp_year + imp_year + pair"
OLS_FORMULA = "ln_trade ~ rta + ln_tariff | exp_year + imp_year + pair"
ALL_SIZES = {"tiny": (20, 5), **SIZES}

PPML_TOOLS = (
    "ca_trade_fe",
    "pyfixest_numba",
    "pyfixest_rust",
    "ca_trade",
    "pyfixest_numba_ir",
    "pyfixest_rust_ir",
    "statsmodels",
)
OLS_TOOLS = ("ca_trade", "pyfixest_numba", "pyfixest_rust", "linearmodels")
#: The ca_trade run each PPML tool is compared with (the same separation checks); default ca_trade.
PPML_BASELINE = {t: "ca_trade_fe" for t in ("ca_trade_fe", "pyfixest_numba", "pyfixest_rust")}


def baseline(tool: str, model: str) -> str:
    """Name of the ca_trade run that ``tool`` is compared with (same separation checks).

    Parameters
    ----------
    tool : str
        A name from ``PPML_TOOLS`` or ``OLS_TOOLS``.
    model : {"ppml", "ols"}

    Returns
    -------
    str

    Examples
    --------
    >>> baseline("pyfixest_rust", "ppml"), baseline("pyfixest_rust_ir", "ppml")
    ('ca_trade_fe', 'ca_trade')
    >>> baseline("pyfixest_rust", "ols")
    'ca_trade'
    """
    return PPML_BASELINE.get(tool, "ca_trade") if model == "ppml" else "ca_trade"


def agreement(reference: dict[str, float], other: dict[str, float]) -> float:
    """Largest coefficient difference, relative to ``max(1, |reference|)``.

    Parameters
    ----------
    reference, other : dict of str to float
        Coefficients by regressor name; only names in ``reference`` are compared.

    Returns
    -------
    float
        ``max_k |other_k - reference_k| / max(1, |reference_k|)``; ``inf`` if a name is missing.

    Examples
    --------
    >>> agreement({"x": 2.0}, {"x": 2.0})
    0.0
    """
    worst = 0.0
    for name, ref in reference.items():
        if name not in other or not math.isfinite(other[name]):
            return math.inf
        worst = max(worst, abs(other[name] - ref) / max(1.0, abs(ref)))
    return worst


# ------------------------------------------------------------------------------ data and fits


def _data(size: str, model: str) -> pd.DataFrame:
    """Deterministic panel of the given size; OLS keeps the positive flows with their log."""
    df = gravity_panel(*ALL_SIZES[size], seed=0)
    if model == "ols":
        df = df[df["trade"] > 0].reset_index(drop=True)
        df["ln_trade"] = np.log(df["trade"])
    return df


Fit = tuple[dict[str, float], int]


def _fit_ca_trade(df: pd.DataFrame, model: str, tol: float, fixef_tol: float, variant: str) -> Fit:
    from ca_trade.estimate.ols import ols
    from ca_trade.estimate.ppml import ppml

    if model == "ppml":
        separation = ("fe",) if variant == "fe" else ("fe", "ir")
        res = ppml(
            PPML_FORMULA,
            df,
            vcov="hetero",
            tol=tol,
            fixef_tol=fixef_tol,
            separation=separation,
        )
    else:
        res = ols(OLS_FORMULA, df, vcov="hetero", fixef_tol=fixef_tol)
    return {k: float(res.params[k]) for k in REGRESSORS}, int(res.nobs)


def _fit_pyfixest(
    df: pd.DataFrame, model: str, tol: float, fixef_tol: float, backend: str, checks: list[str]
) -> Fit:
    import pyfixest as pf

    if model == "ppml":
        res = pf.fepois(
            PPML_FORMULA,
            df,
            vcov="hetero",
            iwls_tol=tol,
            iwls_maxiter=100,
            fixef_tol=fixef_tol,
            demeaner_backend=backend,
            separation_check=checks,
        )
    else:
        res = pf.feols(
            OLS_FORMULA, df, vcov="hetero", fixef_tol=fixef_tol, demeaner_backend=backend
        )
    coef = res.coef()
    return {k: float(coef[k]) for k in REGRESSORS}, int(res._N)


def _fit_statsmodels(
    df: pd.DataFrame, model: str, tol: float, fixef_tol: float, variant: str
) -> Fit:
    import statsmodels.api as sm

    dummies = [
        pd.get_dummies(df[c].astype("category"), prefix=c, drop_first=True, dtype=float)
        for c in FIXED_EFFECTS
    ]
    design = pd.concat([df[list(REGRESSORS)], *dummies], axis=1)
    design.insert(0, "const", 1.0)
    res = sm.GLM(df["trade"], design, family=sm.families.Poisson()).fit(tol=tol, maxiter=200)
    return {k: float(res.params[k]) for k in REGRESSORS}, int(res.nobs)


def _fit_linearmodels(
    df: pd.DataFrame, model: str, tol: float, fixef_tol: float, variant: str
) -> Fit:
    from linearmodels.iv.absorbing import AbsorbingLS

    absorb = pd.DataFrame({c: df[c].astype("category") for c in FIXED_EFFECTS})
    res = AbsorbingLS(df["ln_trade"], df[list(REGRESSORS)], absorb=absorb).fit(
        cov_type="robust", absorb_options={"options": {"tol": fixef_tol}}
    )
    return {k: float(res.params[k]) for k in REGRESSORS}, int(res.nobs)


def _fitter(tool: str) -> Callable[[pd.DataFrame, str, float, float], Fit]:
    table: dict[str, Callable[[pd.DataFrame, str, float, float], Fit]] = {
        "ca_trade": lambda d, m, t, f: _fit_ca_trade(d, m, t, f, "default"),
        "ca_trade_fe": lambda d, m, t, f: _fit_ca_trade(d, m, t, f, "fe"),
        "pyfixest_numba": lambda d, m, t, f: _fit_pyfixest(d, m, t, f, "numba", ["fe"]),
        "pyfixest_rust": lambda d, m, t, f: _fit_pyfixest(d, m, t, f, "rust", ["fe"]),
        "pyfixest_numba_ir": lambda d, m, t, f: _fit_pyfixest(d, m, t, f, "numba", ["fe", "ir"]),
        "pyfixest_rust_ir": lambda d, m, t, f: _fit_pyfixest(d, m, t, f, "rust", ["fe", "ir"]),
        "statsmodels": lambda d, m, t, f: _fit_statsmodels(d, m, t, f, ""),
        "linearmodels": lambda d, m, t, f: _fit_linearmodels(d, m, t, f, ""),
    }
    return table[tool]


def _identified_sample(df: pd.DataFrame) -> pd.DataFrame:
    """Rows ca_trade keeps for PPML (no singletons, no separated rows).

    statsmodels has no separation check and diverges on separated rows; it is given the same
    estimation sample as ca_trade, selected before the timed fit.
    """
    from ca_trade.estimate.separation import find_separated

    codes = [pd.factorize(df[c])[0] for c in FIXED_EFFECTS]
    res = find_separated(df["trade"].to_numpy(), df[list(REGRESSORS)].to_numpy(), codes)
    return df[res.keep].reset_index(drop=True)


def _max_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _worker(tool: str, model: str, size: str, repeat: int, tol: float, fixef_tol: float) -> None:
    """Fit one tool in this (fresh) process and print one JSON line with the measurements."""
    warnings.simplefilter("ignore")
    fit = _fitter(tool)
    prepare = _identified_sample if tool == "statsmodels" else (lambda d: d)
    fit(prepare(_data("tiny", model).iloc[:500]), model, tol, fixef_tol)
    df = prepare(_data(size, model))
    base_rss = _max_rss_mb()
    times = []
    params: dict[str, float] = {}
    nobs = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        params, nobs = fit(df, model, tol, fixef_tol)
        times.append(time.perf_counter() - t0)
    out = {
        "tool": tool,
        "model": model,
        "size": size,
        "rows": len(df),
        "nobs": nobs,
        "times": times,
        "params": params,
        "base_rss_mb": base_rss,
        "peak_rss_mb": _max_rss_mb(),
    }
    print("RESULT " + json.dumps(out))


def _run(tool: str, model: str, size: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one measurement in a subprocess; return its result or an error record."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        tool,
        "--models",
        model,
        "--sizes",
        size,
        "--repeat",
        str(args.repeat),
        "--tol",
        str(args.tol),
        "--fixef-tol",
        str(args.fixef_tol),
    ]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=args.timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return {"tool": tool, "model": model, "size": size, "error": f"timeout {args.timeout}s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"tool": tool, "model": model, "size": size, "error": tail[0][:200]}


# ----------------------------------------------------------------------------------- report


def _report(results: Sequence[dict[str, Any]], agree_tol: float) -> str:
    lines = []
    header = (
        f"{'model':5} {'size':7} {'rows':>9} {'tool':17} {'vs':12} {'time s':>8} {'x':>6} "
        f"{'peak MB':>8} {'+MB':>7} {'x':>6} {'max|db|':>9} agree"
    )
    lines.append(header)
    lines.append("-" * len(header))
    keyed = {(r["model"], r["size"], r["tool"]): r for r in results}
    for r in results:
        base = baseline(r["tool"], r["model"])
        ref = keyed.get((r["model"], r["size"], base))
        prefix = f"{r['model']:5} {r['size']:7} "
        if "error" in r:
            lines.append(f"{prefix}{'':>9} {r['tool']:17} unavailable: {r['error']}")
            continue
        best = min(r["times"])
        extra = r["peak_rss_mb"] - r["base_rss_mb"]
        if ref is not None and "error" not in ref:
            t_ratio = best / min(ref["times"])
            ref_extra = ref["peak_rss_mb"] - ref["base_rss_mb"]
            m_ratio = extra / ref_extra if ref_extra > 0 else math.nan
            diff = agreement(ref["params"], r["params"])
            ok = "yes" if diff <= agree_tol else "NO"
        else:
            t_ratio = m_ratio = diff = math.nan
            ok = "-"
        lines.append(
            f"{prefix}{r['rows']:>9,} {r['tool']:17} {base if r['tool'] != base else '-':12} "
            f"{best:8.2f} {t_ratio:6.2f} "
            f"{r['peak_rss_mb']:8.0f} {extra:7.0f} {m_ratio:6.2f} {diff:9.1e} {ok}"
        )
    lines.append("")
    lines.append(
        "x: ratio to the ca_trade run named in 'vs' (the same separation checks: ca_trade_fe "
        "runs 'fe' like pyfixest's default, ca_trade runs 'fe' + iterated rectifier like "
        "pyfixest's *_ir) on the same data; > 1 means ca_trade is faster / leaner. +MB: peak "
        "memory increase during the fits. max|db|: largest coefficient difference from that "
        f"run (relative); agree: <= {agree_tol:g}."
    )
    return "\n".join(lines)


def _header(args: argparse.Namespace) -> str:
    """One line on the machine, the versions and the options of this run."""
    from importlib.metadata import PackageNotFoundError, version

    versions = []
    for pkg in ("ca_trade", "pyfixest", "statsmodels", "linearmodels", "numpy", "numba"):
        try:
            versions.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            versions.append(f"{pkg} -")
    return (
        f"# {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {', '.join(versions)}; "
        f"tol={args.tol:g} fixef_tol={args.fixef_tol:g} repeat={args.repeat}; "
        f"PPML: {PPML_FORMULA}; OLS: {OLS_FORMULA} (positive flows)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="tiny,small,medium,large", help="tiny (1.9k rows), small, medium, large"
    )
    parser.add_argument("--models", default="ppml,ols", help="ppml and/or ols")
    parser.add_argument("--tools", default="", help="subset of tools (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="fits per tool (best is kept)")
    parser.add_argument("--tol", type=float, default=1e-8, help="IRLS tolerance (PPML)")
    parser.add_argument("--fixef-tol", type=float, default=1e-8, help="demeaning tolerance")
    parser.add_argument("--agree", type=float, default=1e-6, help="coefficient agreement")
    parser.add_argument("--statsmodels-max-rows", type=int, default=5_000)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per fit")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    sizes = [s for s in args.sizes.split(",") if s]
    models = [m for m in args.models.split(",") if m]
    for s in sizes:
        if s not in ALL_SIZES:
            parser.error(f"unknown size {s!r}; choose from {sorted(ALL_SIZES)}")
    for m in models:
        if m not in ("ppml", "ols"):
            parser.error(f"unknown model {m!r}; choose ppml and/or ols")
    if args.worker:
        _worker(args.worker, models[0], sizes[0], args.repeat, args.tol, args.fixef_tol)
        return 0

    wanted = {t for t in args.tools.split(",") if t}
    results = []
    for model in models:
        tools = PPML_TOOLS if model == "ppml" else OLS_TOOLS
        for size in sizes:
            rows = math.prod(ALL_SIZES[size][:1]) * (ALL_SIZES[size][0] - 1) * ALL_SIZES[size][1]
            for tool in tools:
                needed = wanted | {baseline(t, model) for t in wanted}
                if wanted and tool not in needed:
                    continue
                if tool == "statsmodels" and rows > args.statsmodels_max_rows:
                    continue
                print(f"running {model} {size} {tool} ...", file=sys.stderr, flush=True)
                results.append(_run(tool, model, size, args))
    print(_header(args))
    print(_report(results, args.agree))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
