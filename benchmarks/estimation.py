"""Estimation benchmark: ca_trade against pyfixest, fasthdfe, statsmodels and linearmodels.

Three-way gravity panels (``trade ~ rta + ln_tariff | exp_year + imp_year + pair``, synthetic,
``benchmarks/_gen.py``) are estimated in the same run, on the same data, with the same
convergence tolerance, by

- PPML, in two like-for-like pairs of separation checks: ``ca_trade_fe``
  (``separation=("fe",)``) against ``pyfixest.fepois`` with its default
  ``separation_check=["fe"]`` (``pyfixest_rust``, ``pyfixest_numba``: its demeaning
  backends) and fasthdfe's ``ppmlhdfe(separation="fe")``; ``ca_trade`` (its defaults,
  fixed-effect separation plus the iterated rectifier) against ``separation_check=["fe",
  "ir"]`` (``pyfixest_rust_ir``, ``pyfixest_numba_ir``); statsmodels GLM with dummies on the
  smallest panel;
- OLS on the log of the positive flows: ``ca_trade``, ``pyfixest_rust``, ``pyfixest_numba``,
  fasthdfe's ``reghdfe`` and linearmodels' ``AbsorbingLS`` (small panels).

Every tool runs in its own persistent subprocess, which generates the panel, warms up
(imports, numba compilation) on a small panel and then fits on request. The parent asks the
tools in turn, alternating (the order rotates every round), ``--repeat`` rounds, and keeps
each tool's best wall time, so that the load of a shared machine hits every tool alike; the
1-minute load average is recorded with every fit. Memory: before each fit the worker resets
its peak resident set (``/proc/self/clear_refs``); the *added* memory of a fit is the peak
during the fit minus the resident set before it. A fit that exceeds ``--timeout`` seconds or
``--mem-limit-gb`` of resident memory is stopped and reported as such.

Reported per panel: each tool's best time and the ratio ``peer time / ca_trade time`` against
the ca_trade run with the same separation checks, the added memory and its ratio, and the
coefficients' agreement (largest relative difference from that ca_trade run); then one line
per model with ca_trade against the *fastest* peer. ``--sizes xl`` fits 10M- and 20M-row PPML
panels with about 1M pair effects (ca_trade and pyfixest's rust backend, one at a time) and
prints time and memory per million rows.

Usage::

    python benchmarks/estimation.py                      # every default panel (make bench)
    python benchmarks/estimation.py --sizes 477k,1M --models ppml --repeat 5
    python benchmarks/estimation.py --sizes xl

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
import re
import select
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make `benchmarks._gen` importable
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._gen import gravity_panel  # noqa: E402

REGRESSORS = ("rta", "ln_tariff")
FIXED_EFFECTS = ("exp_year", "imp_year", "pair")
PPML_FORMULA = "trade ~ rta + ln_tariff | exp_year + imp_year + pair"
OLS_FORMULA = "ln_trade ~ rta + ln_tariff | exp_year + imp_year + pair"


@dataclass(frozen=True)
class Panel:
    """A synthetic panel: countries x (countries - 1) pairs x years."""

    countries: int
    years: int
    zero_shift: float  # 1.0: 35-40 % zeros; 3.3: about 15 % (issue 14's panels)

    @property
    def rows(self) -> int:
        return self.countries * (self.countries - 1) * self.years


PANELS: dict[str, Panel] = {
    "tiny": Panel(20, 5, 1.0),  # 1,900 rows (warm-up size; statsmodels runs here)
    "small": Panel(50, 10, 1.0),  # 24,500
    "medium": Panel(150, 20, 1.0),  # 447,000, 38 % zeros
    "large": Panel(224, 20, 1.0),  # 999,040, 38 % zeros
    "477k": Panel(155, 20, 3.3),  # 477,400, 15 % zeros: issue 14's first panel
    "0.5M": Panel(159, 20, 3.3),  # 502,640
    "1M": Panel(224, 20, 3.3),  # 999,040: issue 14's second panel
    "5M": Panel(500, 20, 3.3),  # 4,990,000
    "10M": Panel(1000, 10, 3.3),  # 9,990,000 rows, 999,000 pair effects
    "20M": Panel(1000, 20, 3.3),  # 19,980,000 rows, 999,000 pair effects
}
GROUPS = {
    "default": ("tiny", "small", "medium", "large", "477k", "0.5M", "1M", "5M"),
    "xl": ("10M", "20M"),
}


@dataclass(frozen=True)
class Tool:
    """One estimator to time: its model, the ca_trade run it is compared with, its limits."""

    name: str
    model: str
    baseline: str
    max_rows: int = 10**9
    xl: bool = False  # also runs on the --sizes xl panels


PPML_TOOLS = (
    Tool("ca_trade_fe", "ppml", "ca_trade_fe", xl=True),
    Tool("pyfixest_rust", "ppml", "ca_trade_fe", xl=True),
    Tool("pyfixest_numba", "ppml", "ca_trade_fe", max_rows=1_100_000),
    Tool("fasthdfe", "ppml", "ca_trade_fe", max_rows=1_100_000),
    Tool("ca_trade", "ppml", "ca_trade", xl=True),
    Tool("pyfixest_rust_ir", "ppml", "ca_trade"),
    Tool("pyfixest_numba_ir", "ppml", "ca_trade", max_rows=1_100_000),
    Tool("statsmodels", "ppml", "ca_trade", max_rows=5_000),
)
OLS_TOOLS = (
    Tool("ca_trade", "ols", "ca_trade"),
    Tool("pyfixest_rust", "ols", "ca_trade"),
    Tool("pyfixest_numba", "ols", "ca_trade", max_rows=1_100_000),
    Tool("fasthdfe", "ols", "ca_trade", max_rows=1_100_000),
    Tool("linearmodels", "ols", "ca_trade", max_rows=30_000),
)
CA_TOOLS = ("ca_trade", "ca_trade_fe")


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


def panel_data(panel: str, model: str) -> pd.DataFrame:
    """Deterministic panel; OLS keeps the positive flows with their log."""
    p = PANELS[panel]
    df = gravity_panel(p.countries, p.years, seed=0, zero_shift=p.zero_shift)
    if model == "ols":
        df = df[df["trade"] > 0].reset_index(drop=True)
        df["ln_trade"] = np.log(df["trade"])
    return df


Fit = tuple[dict[str, float], int]


def _fit_ca_trade(df: pd.DataFrame, model: str, tol: float, fixef_tol: float, tool: str) -> Fit:
    import ca_trade as ct

    if model == "ppml":
        separation = ("fe",) if tool == "ca_trade_fe" else ("fe", "ir")
        res = ct.ppml(
            PPML_FORMULA, df, vcov="hetero", tol=tol, fixef_tol=fixef_tol, separation=separation
        )
    else:
        res = ct.ols(OLS_FORMULA, df, vcov="hetero", fixef_tol=fixef_tol)
    return {k: float(res.params[k]) for k in REGRESSORS}, int(res.nobs)


def _fit_pyfixest(df: pd.DataFrame, model: str, tol: float, fixef_tol: float, tool: str) -> Fit:
    import pyfixest as pf

    backend = "rust" if "rust" in tool else "numba"
    if model == "ppml":
        res = pf.fepois(
            PPML_FORMULA,
            df,
            vcov="hetero",
            iwls_tol=tol,
            iwls_maxiter=100,
            fixef_tol=fixef_tol,
            demeaner_backend=backend,
            separation_check=["fe", "ir"] if tool.endswith("_ir") else ["fe"],
        )
    else:
        res = pf.feols(
            OLS_FORMULA, df, vcov="hetero", fixef_tol=fixef_tol, demeaner_backend=backend
        )
    coef = res.coef()
    return {k: float(coef[k]) for k in REGRESSORS}, int(res._N)


def _fit_fasthdfe(df: pd.DataFrame, model: str, tol: float, fixef_tol: float, tool: str) -> Fit:
    import fasthdfe

    common = {
        "x": list(REGRESSORS),
        "fixedeffects": list(FIXED_EFFECTS),
        "data": df,
        "setype": "robust",
        "eps_MAP": fixef_tol,
        "print_stata_style_summary": False,
    }
    if model == "ppml":
        res = fasthdfe.ppmlhdfe(y=["trade"], separation="fe", eps_beta=tol, **common)
    else:
        res = fasthdfe.reghdfe(y=["ln_trade"], **common)
    params = pd.Series(res.params)  # indexed by position, in the order of ``x``
    return {k: float(params.iloc[j]) for j, k in enumerate(REGRESSORS)}, int(res.nobs)


def _fit_statsmodels(df: pd.DataFrame, model: str, tol: float, fixef_tol: float, tool: str) -> Fit:
    import statsmodels.api as sm

    dummies = [
        pd.get_dummies(df[c].astype("category"), prefix=c, drop_first=True, dtype=float)
        for c in FIXED_EFFECTS
    ]
    design = pd.concat([df[list(REGRESSORS)], *dummies], axis=1)
    design.insert(0, "const", 1.0)
    res = sm.GLM(df["trade"], design, family=sm.families.Poisson()).fit(tol=tol, maxiter=200)
    return {k: float(res.params[k]) for k in REGRESSORS}, int(res.nobs)


def _fit_linearmodels(df: pd.DataFrame, model: str, tol: float, fixef_tol: float, tool: str) -> Fit:
    from linearmodels.iv.absorbing import AbsorbingLS

    absorb = pd.DataFrame({c: df[c].astype("category") for c in FIXED_EFFECTS})
    res = AbsorbingLS(df["ln_trade"], df[list(REGRESSORS)], absorb=absorb).fit(
        cov_type="robust", absorb_options={"options": {"tol": fixef_tol}}
    )
    return {k: float(res.params[k]) for k in REGRESSORS}, int(res.nobs)


def _fitter(tool: str) -> Callable[[pd.DataFrame, str, float, float, str], Fit]:
    if tool.startswith("ca_trade"):
        return _fit_ca_trade
    if tool.startswith("pyfixest"):
        return _fit_pyfixest
    return {
        "fasthdfe": _fit_fasthdfe,
        "statsmodels": _fit_statsmodels,
        "linearmodels": _fit_linearmodels,
    }[tool]


def _identified_sample(df: pd.DataFrame) -> pd.DataFrame:
    """Rows ca_trade keeps for PPML (statsmodels, which has no separation check, gets these)."""
    from ca_trade.estimate.separation import find_separated

    codes = [pd.factorize(df[c])[0] for c in FIXED_EFFECTS]
    res = find_separated(df["trade"].to_numpy(), df[list(REGRESSORS)].to_numpy(), codes)
    return df[res.keep].reset_index(drop=True)


# ------------------------------------------------------------------------------ memory


def _status_mb(pid: int | str = "self") -> dict[str, float]:
    """``VmRSS`` and ``VmHWM`` (peak) of a process in MiB, from ``/proc`` (empty elsewhere)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    out = {}
    for key in ("VmRSS", "VmHWM"):
        m = re.search(rf"^{key}:\s+(\d+)\s+kB", text, re.MULTILINE)
        if m:
            out[key] = int(m.group(1)) / 1024.0
    return out


def _reset_peak() -> bool:
    """Reset this process's peak resident set (Linux ``clear_refs``); False if unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# ------------------------------------------------------------------------------ worker


def _serve(tool: str, model: str, panel: str, tol: float, fixef_tol: float) -> None:
    """Worker loop: generate the panel, warm up, then fit once per ``fit`` line on stdin."""
    warnings.simplefilter("ignore")
    fit = _fitter(tool)
    prepare = _identified_sample if tool == "statsmodels" else (lambda d: d)
    fit(prepare(panel_data("tiny", model).iloc[:1500]), model, tol, fixef_tol, tool)
    df = prepare(panel_data(panel, model))
    print("READY " + json.dumps({"rows": len(df)}), flush=True)
    for line in sys.stdin:
        if line.strip() != "fit":
            break
        can_reset = _reset_peak()
        before = _status_mb()
        t0 = time.perf_counter()
        params, nobs = fit(df, model, tol, fixef_tol, tool)
        elapsed = time.perf_counter() - t0
        after = _status_mb()
        peak = after.get("VmHWM", math.nan) if can_reset else math.nan
        out = {
            "time": elapsed,
            "params": params,
            "nobs": nobs,
            "rss_mb": before.get("VmRSS", math.nan),
            "added_mb": peak - before.get("VmRSS", math.nan),
        }
        print("RESULT " + json.dumps(out), flush=True)


class Worker:
    """A tool's persistent subprocess, with a wall-clock and a resident-memory guard."""

    def __init__(self, tool: Tool, panel: str, args: argparse.Namespace) -> None:
        self.tool = tool
        self.args = args
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
            tool.name,
            "--models",
            tool.model,
            "--sizes",
            panel,
            "--tol",
            str(args.tol),
            "--fixef-tol",
            str(args.fixef_tol),
        ]
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.error: str | None = None
        self.rows = 0
        ready = self._read("READY", args.timeout)
        if ready is not None:
            self.rows = int(ready["rows"])

    def _read(self, tag: str, timeout: float) -> dict[str, Any] | None:
        """Next ``tag`` line from the worker, or None (and ``error`` set) on failure."""
        assert self.proc.stdout is not None
        limit_mb = self.args.mem_limit_gb * 1024.0
        deadline = time.monotonic() + timeout
        peak = 0.0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return self._fail(f"did not finish within {timeout:.0f} s (stopped)")
            ready, _, _ = select.select([self.proc.stdout], [], [], min(0.5, left))
            rss = _status_mb(self.proc.pid).get("VmRSS", 0.0)
            peak = max(peak, rss)
            if rss > limit_mb:
                return self._fail(
                    f"out of memory: resident set above {self.args.mem_limit_gb:g} GB (stopped)"
                )
            if not ready:
                continue
            line = self.proc.stdout.readline()
            if not line:
                err = (self.proc.stderr.read() if self.proc.stderr else "").strip()
                tail = err.splitlines()[-1:] or ["worker exited"]
                return self._fail(tail[0][:200])
            if line.startswith(tag + " "):
                result: dict[str, Any] = json.loads(line[len(tag) + 1 :])
                return result

    def _fail(self, message: str) -> None:
        self.error = message
        self.close()
        return None

    def fit(self) -> dict[str, Any] | None:
        """One timed fit (None after a failure)."""
        if self.error is not None or self.proc.stdin is None:
            return None
        self.proc.stdin.write("fit\n")
        self.proc.stdin.flush()
        return self._read("RESULT", self.args.timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                if self.proc.stdin is not None and self.error is None:
                    self.proc.stdin.write("quit\n")
                    self.proc.stdin.flush()
                    self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


# ------------------------------------------------------------------------------ measuring


def measure(
    model: str, panel: str, tools: Sequence[Tool], repeat: int, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Alternate the tools' fits on one panel; return one record per tool.

    With ``args.one_at_a_time`` (the xl panels) each tool's worker runs alone, so that only
    one holds its data and fit in memory.
    """
    records = {t.name: {"tool": t.name, "model": model, "panel": panel, "fits": []} for t in tools}
    groups = [[t] for t in tools] if args.one_at_a_time else [list(tools)]
    for group in groups:
        print(f"  {model} {panel}: starting {[t.name for t in group]}", file=sys.stderr)
        workers = {t.name: Worker(t, panel, args) for t in group}
        try:
            for r in range(repeat):
                order = group[r % len(group) :] + group[: r % len(group)]
                for t in order:
                    load0 = os.getloadavg()[0]
                    out = workers[t.name].fit()
                    if out is not None:
                        out["load"] = 0.5 * (load0 + os.getloadavg()[0])
                        records[t.name]["fits"].append(out)
        finally:
            for name, w in workers.items():
                records[name]["rows"] = w.rows
                records[name]["error"] = w.error
                w.close()
    return list(records.values())


def _best(rec: dict[str, Any]) -> dict[str, Any] | None:
    """The fastest fit of a tool, with the largest added memory over its fits."""
    if not rec["fits"]:
        return None
    best = dict(min(rec["fits"], key=lambda f: f["time"]))
    best["added_mb"] = max(f["added_mb"] for f in rec["fits"])
    return best


# ------------------------------------------------------------------------------ report


def _tool(model: str, name: str) -> Tool:
    return next(t for t in (PPML_TOOLS if model == "ppml" else OLS_TOOLS) if t.name == name)


def _fmt_ratio(x: float) -> str:
    return f"{x:6.2f}" if math.isfinite(x) else "     -"


def report(results: Sequence[dict[str, Any]], agree_tol: float) -> str:
    """Per-panel tables and the ratio of ca_trade to the fastest peer."""
    lines = []
    header = (
        f"{'model':5} {'panel':6} {'rows':>10} {'tool':17} {'vs':11} {'time s':>8} {'x':>6} "
        f"{'+MB':>7} {'mem':>6} {'rel |db|':>9} agree  load"
    )
    lines += [header, "-" * len(header)]
    keyed = {(r["model"], r["panel"], r["tool"]): r for r in results}
    summary = []
    for r in results:
        best = _best(r)
        tool = _tool(r["model"], r["tool"])
        ref_rec = keyed.get((r["model"], r["panel"], tool.baseline))
        ref = _best(ref_rec) if ref_rec else None
        prefix = f"{r['model']:5} {r['panel']:6} {r.get('rows', 0):>10,} {r['tool']:17} "
        if best is None:
            lines.append(f"{prefix}unavailable: {r.get('error') or 'no fit'}")
            continue
        vs = tool.baseline if tool.baseline != r["tool"] else "-"
        t_ratio = m_ratio = diff = math.nan
        ok = "-"
        if ref is not None and r["tool"] != tool.baseline:
            t_ratio = best["time"] / ref["time"]
            m_ratio = best["added_mb"] / ref["added_mb"] if ref["added_mb"] > 0 else math.nan
            diff = max(
                abs(best["params"][k] - ref["params"][k]) / abs(ref["params"][k])
                for k in REGRESSORS
            )
            ok = "yes" if diff <= agree_tol else "NO"
        lines.append(
            f"{prefix}{vs:11} {best['time']:8.3f} {_fmt_ratio(t_ratio)} "
            f"{best['added_mb']:7.0f} {_fmt_ratio(m_ratio)} {diff:9.1e} {ok:5} {best['load']:5.1f}"
        )
    for (model, panel, name), r in keyed.items():
        if name not in CA_TOOLS:
            continue
        ca = _best(r)
        peers = [
            (t.name, _best(keyed[(model, panel, t.name)]))
            for t in (PPML_TOOLS if model == "ppml" else OLS_TOOLS)
            if t.baseline == name and t.name != name and (model, panel, t.name) in keyed
        ]
        peers = [(n, b) for n, b in peers if b is not None and n != "statsmodels"]
        if ca is None or not peers:
            continue
        fast_name, fast = min(peers, key=lambda p: p[1]["time"])
        pyf = [(n, b) for n, b in peers if n.startswith("pyfixest")]
        lean_name, lean = min(pyf or peers, key=lambda p: p[1]["added_mb"])
        summary.append(
            f"{model:5} {panel:6} {name:12} {ca['time']:7.3f} s vs fastest peer {fast_name:17} "
            f"{fast['time']:7.3f} s: {fast['time'] / ca['time']:5.2f}x; added memory "
            f"{ca['added_mb']:5.0f} MB vs {lean['added_mb']:5.0f} MB ({lean_name}, leanest "
            f"pyfixest): {ca['added_mb'] / max(lean['added_mb'], 1e-9):4.2f}; coefficients "
            f"{max(abs(fast['params'][k] / ca['params'][k] - 1) for k in REGRESSORS):.1e}; "
            f"load {ca['load']:.1f}/{fast['load']:.1f}"
        )
    lines.append("")
    lines.append(
        "x: peer time / time of the ca_trade run named in 'vs' (same separation checks: "
        "ca_trade_fe runs 'fe' like pyfixest's and fasthdfe's default, ca_trade runs 'fe' + "
        "iterated rectifier like pyfixest's *_ir); > 1: ca_trade is faster. +MB: memory added "
        "by a fit (peak during it minus the resident set before); mem: peer / ca_trade. rel "
        f"|db|: largest relative coefficient difference from ca_trade; agree: <= {agree_tol:g}. "
        "load: 1-minute load average during the fit."
    )
    lines.append("")
    lines.append("ca_trade against the fastest peer (best of the alternating rounds):")
    lines += summary
    return "\n".join(lines)


def report_xl(results: Sequence[dict[str, Any]]) -> str:
    """Time and memory per million rows on the xl panels."""
    lines = [
        f"{'panel':6} {'rows':>11} {'tool':14} {'time s':>9} {'s/M rows':>9} {'+MB':>8} "
        f"{'MB/M rows':>10} load"
    ]
    for r in results:
        best = _best(r)
        rows = max(r.get("rows", 0), 1)
        head = f"{r['panel']:6} {rows:>11,} {r['tool']:14}"
        if best is None:
            lines.append(f"{head} could not finish: {r.get('error') or 'no fit'}")
            continue
        per = 1e6 / rows
        lines.append(
            f"{head} {best['time']:9.1f} {best['time'] * per:9.2f} {best['added_mb']:8.0f} "
            f"{best['added_mb'] * per:10.1f} {best['load']:4.1f}"
        )
    return "\n".join(lines)


def _header(args: argparse.Namespace) -> str:
    """One line on the machine, the versions and the options of this run."""
    from importlib.metadata import PackageNotFoundError, version

    versions = []
    for pkg in ("ca_trade", "pyfixest", "fasthdfe", "statsmodels", "linearmodels", "numba"):
        try:
            versions.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            versions.append(f"{pkg} not installed")
    return (
        f"# {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {', '.join(versions)}; "
        f"tol={args.tol:g} fixef_tol={args.fixef_tol:g}; PPML: {PPML_FORMULA}; "
        f"OLS: {OLS_FORMULA} (positive flows)"
    )


def _repeat_for(panel: str, args: argparse.Namespace) -> int:
    if args.repeat:
        return int(args.repeat)
    rows = PANELS[panel].rows
    return 5 if rows < 100_000 else 3 if rows < 2_000_000 else 2


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="default",
        help=f"panels or groups, comma-separated: {sorted(PANELS)}; groups {sorted(GROUPS)}",
    )
    parser.add_argument("--models", default="ppml,ols", help="ppml and/or ols")
    parser.add_argument("--tools", default="", help="subset of tools (default: all)")
    parser.add_argument("--repeat", type=int, default=0, help="alternating rounds (best kept)")
    parser.add_argument("--tol", type=float, default=1e-8, help="IRLS tolerance (PPML)")
    parser.add_argument("--fixef-tol", type=float, default=1e-8, help="demeaning tolerance")
    parser.add_argument("--agree", type=float, default=1e-10, help="relative coefficient agreement")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per fit")
    parser.add_argument("--mem-limit-gb", type=float, default=20.0, help="resident memory cap")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    sizes: list[str] = []
    for s in (s for s in args.sizes.split(",") if s):
        if s in GROUPS:
            sizes += GROUPS[s]
        elif s in PANELS:
            sizes.append(s)
        else:
            parser.error(f"unknown size {s!r}; choose from {sorted(PANELS)} or {sorted(GROUPS)}")
    models = [m for m in args.models.split(",") if m]
    if any(m not in ("ppml", "ols") for m in models):
        parser.error(f"unknown model in {models}; choose ppml and/or ols")
    if args.serve:
        _serve(args.serve, models[0], sizes[0], args.tol, args.fixef_tol)
        return 0

    xl = [s for s in sizes if s in GROUPS["xl"]]
    regular = [s for s in sizes if s not in GROUPS["xl"]]
    wanted = {t for t in args.tools.split(",") if t}
    results: list[dict[str, Any]] = []
    xl_results: list[dict[str, Any]] = []
    for model in models:
        for panel in regular:
            tools = [
                t
                for t in (PPML_TOOLS if model == "ppml" else OLS_TOOLS)
                if PANELS[panel].rows <= t.max_rows
                and (not wanted or t.name in wanted or t.name == t.baseline)
            ]
            args.one_at_a_time = False
            results += measure(model, panel, tools, _repeat_for(panel, args), args)
    for panel in xl:
        tools = [t for t in PPML_TOOLS if t.xl and (not wanted or t.name in wanted)]
        args.one_at_a_time = True
        xl_results += measure("ppml", panel, tools, 1, args)
    print(_header(args))
    if results:
        print(report(results, args.agree))
    if xl_results:
        print()
        print("PPML on the xl panels (about 1M pair effects), one tool at a time:")
        print(report_xl(xl_results))
    if args.json is not None:
        args.json.write_text(json.dumps(results + xl_results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
