"""The end-to-end demo: ``make demo`` = ``ca-trade demo [--out DIR]``.

On the embedded SYNTHETIC sample it runs sample → ingest → reconcile → panel → two PPML
specifications (two-way fixed effects with distance, contiguity, language and agreements on
international pairs; three-way fixed effects with agreements, EAEU membership and tariffs) →
three general-equilibrium scenarios with parametric confidence intervals (a Central Asian
customs union with a common external tariff; the removal of internal tariffs; a
China–Kyrgyzstan–Uzbekistan rail corridor) → tables and figures under ``DIR`` (default
``reports/demo``), and prints a short summary: the recovered parameters against the true ones
of the generator (``truth.json``), with confidence intervals, and the headline GE results.

The run is the configuration ``src/ca_trade/data/demo.toml`` (kept identical to
:data:`DEMO_CONFIG`).

Examples
--------
>>> from ca_trade.pipeline.demo import demo_config
>>> demo_config("/tmp/demo").specifications[0].name
'twoway'
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ca_trade.estimate import GravityResults
from ca_trade.pipeline.config import Config
from ca_trade.pipeline.parse import parse_config
from ca_trade.pipeline.paths import find_project_root
from ca_trade.pipeline.progress import Progress
from ca_trade.pipeline.stages import execute

__all__ = ["DEMO_CONFIG", "demo_config", "run_demo", "summary"]

DEMO_CONFIG = """\
# The demo of ca_trade (`make demo` = `ca-trade demo` = `ca-trade run src/ca_trade/data/demo.toml`).
# Everything here runs on the embedded SYNTHETIC sample: not real trade flows.
# This file is data, never code: see `ca_trade.pipeline` for the schema.

[run]
name = "demo"
root = "reports/demo"
synthetic = true
record_git_commit = false

[source]
kind = "sample"
raw_dir = "data/raw"
seed = 2024
years = [2000, 2023]

[reconcile]
method = "baci"

[panel]
sector = "TOTAL"

# Two-way fixed effects with time-invariant pair covariates (international pairs only, as in
# Yotov et al. 2016, Table 1). Without tariffs, rta measures the whole effect of agreements,
# their tariff preferences included; the demo summary says so next to the generator's truth.
[[specifications]]
name = "twoway"
model = "ppml"
formula = "value_usd ~ ln_dist + contig + comlang + rta | exporter^year + importer^year"
vcov = { CRV1 = "pair" }
international_only = true

# Three-way fixed effects (exporter-year, importer-year, pair) with agreements and tariffs,
# identified from changes over time within pairs. International pairs only, like the two-way
# specification; tests/test_recovery.py checks the all-pairs generating specification.
[[specifications]]
name = "threeway"
model = "ppml"
formula = "value_usd ~ rta + eaeu + ln_tariff | exporter^year + importer^year + pair"
vcov = { CRV1 = "pair" }
international_only = true

# The trade elasticity is tied to the estimated ln(1+t) coefficient, theta = -beta - 1
# (the coefficient is -sigma with duty-exclusive flows), in the point solution and every draw.
[ge]
year = 2019
theta_from = "ln_tariff"
closure = "additive"
draws = 200
seed = 2024
alpha = 0.05

[[scenarios]]
name = "customs_union"
kind = "customs_union"
description = "Central Asian customs union: no internal tariffs, a common external tariff"
members = ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
cet = "simple_mean"
specification = "threeway"

[[scenarios]]
name = "internal_tariffs"
kind = "remove_internal_tariffs"
description = "Removal of tariffs between the five Central Asian states"
members = ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
specification = "threeway"

[[scenarios]]
name = "rail_corridor"
kind = "corridor"
description = "China-Kyrgyzstan-Uzbekistan railway: transit times on CHN-KGZ-UZB cut by 40%"
links = [["CHN", "KGZ"], ["KGZ", "UZB"]]
cost_reduction = 0.4
specification = "threeway"

[outputs]
tables = ["tex", "md", "html"]
figures = ["png", "pdf"]
"""


def demo_config(out: str | os.PathLike[str]) -> Config:
    """Return the demo's validated configuration, writing under ``out``.

    Parameters
    ----------
    out : path-like
        Output directory (chosen by the user, so it may lie anywhere).

    Returns
    -------
    ca_trade.pipeline.Config
        The configuration.

    Examples
    --------
    >>> demo_config("/tmp/x").synthetic
    True
    """
    out_path = Path(out).resolve()
    data = tomllib.loads(DEMO_CONFIG)
    return parse_config(
        data,
        Path("src/ca_trade/data/demo.toml"),
        project_root=find_project_root(out_path.parent if out_path.parent.exists() else "."),
        root_override=out_path,
    )


# Covariates of the generator that never change within a pair (ca_trade.facts): pair
# fixed effects absorb them.
_PAIR_INVARIANT = {"ln_dist", "contig", "comlang", "intl"}
_UNDER_COVERAGE = (
    "  Note: pair-clustered PPML intervals under-cover when a few large flows carry most\n"
    "  of the weight (in repeated draws of this sample, nominal 95% intervals cover the\n"
    "  truth 60-90% of the time; see docs/methods-estimation.md). tests/test_recovery.py\n"
    "  checks each stage of the chain against the truth."
)


def _fmt(x: float, digits: int = 3) -> str:
    return f"{x:+.{digits}f}" if x == x else "n/a"


def _true_model(truth: Mapping[str, Any] | None) -> tuple[dict[str, float], set[str]]:
    """Return the generator's coefficients and the terms exporter-year/importer-year FE absorb."""
    if not truth:
        return {}, set()
    model = truth.get("model", {})
    coefs = {str(k): float(v) for k, v in model.get("coefficients", {}).items()}
    # absorbed by exporter-year / importer-year effects; intl needs domestic pairs
    absorbed = {str(k) for k in model.get("recovery", {}).get("absorbed", [])} | {"intl"}
    return coefs, absorbed


def _estimates_lines(
    name: str, res: GravityResults, true_coefs: Mapping[str, float], absorbed: set[str]
) -> tuple[list[str], bool]:
    """Recovered against true parameters of one result; and whether an interval missed."""
    ci = res.conf_int()
    lines = [
        "",
        f"{name}: {res.model.upper()} {res.formula}",
        f"  {'':<10} {'estimate':>9} {'95% CI':>20} {'true':>7} {'(b-true)/se':>12}  covered",
    ]
    for var in res.params.index:
        b = float(res.params[var])
        lo, hi = float(ci.loc[var].iloc[0]), float(ci.loc[var].iloc[1])
        t = true_coefs.get(str(var))
        covered = "" if t is None else ("yes" if lo <= t <= hi else "NO")
        tt = "" if t is None else f"{t:+.2f}"
        z = "" if t is None else f"{(b - t) / float(res.bse[var]):+.1f}"
        lines.append(
            f"  {var:<10} {_fmt(b):>9} [{_fmt(lo)}, {_fmt(hi)}] {tt:>7} {z:>12}  {covered}"
        )
    absorbed_here = absorbed | (_PAIR_INVARIANT if "pair" in " ".join(res.fixef_vars) else set())
    omitted = sorted(k for k in true_coefs if k not in res.params.index and k not in absorbed_here)
    if omitted:
        lines.append(
            f"  (omits {', '.join(omitted)} of the generating model: terms correlated with "
            "them,\n   e.g. rta where agreements remove tariffs, are not comparable with "
            "the truth)"
        )
        return lines, False
    missed = any(
        v in true_coefs and not (lo_ <= true_coefs[v] <= hi_)
        for v, (lo_, hi_) in zip(res.params.index, ci.to_numpy(), strict=True)
    )
    return lines, missed


def _cell(frame: pd.DataFrame, row: str, column: str) -> float:
    """Return ``frame.loc[row, column]`` as a float (NaN where the column is absent)."""
    return float(frame[column].loc[row]) if column in frame.columns else float("nan")


def _welfare_lines(name: str, frame: pd.DataFrame) -> list[str]:
    """Headline welfare changes of a scenario for the five Central Asian states."""
    lines = ["", f"{name}: welfare change, % (95% CI), Central Asia"]
    for c in ("KAZ", "KGZ", "TJK", "TKM", "UZB"):
        if c in frame.index:
            point, lo, hi = (_cell(frame, c, f"welfare_pct{s}") for s in ("", "_lo", "_hi"))
            lines.append(f"  {c}: {_fmt(point, 2)} [{_fmt(lo, 2)}, {_fmt(hi, 2)}]")
    return lines


def summary(
    results: Mapping[str, GravityResults],
    scenarios: Mapping[str, pd.DataFrame],
    truth: Mapping[str, Any] | None,
) -> str:
    """Return the demo's closing summary.

    Parameters
    ----------
    results : mapping
        Estimation results by specification name.
    scenarios : mapping
        Per-country outcomes by scenario name.
    truth : dict, optional
        The sample's ``truth.json``.

    Returns
    -------
    str
        Recovered vs true parameters (with 95% confidence intervals and whether the
        interval covers the truth) and the headline GE results.

    Examples
    --------
    >>> print(summary({}, {}, None))
    SYNTHETIC DATA: ca_trade demo summary (not real trade flows)
    """
    lines = ["SYNTHETIC DATA: ca_trade demo summary (not real trade flows)"]
    true_coefs, absorbed = _true_model(truth)
    missed = 0
    for name, res in results.items():
        block, miss = _estimates_lines(name, res, true_coefs, absorbed)
        lines += block
        missed += miss
    if missed:
        lines += ["", _UNDER_COVERAGE]
    for name, frame in scenarios.items():
        lines += _welfare_lines(name, frame)
    return "\n".join(lines)


def run_demo(
    out: str | os.PathLike[str] = "reports/demo", *, progress: Progress | None = None
) -> int:
    """Run the demo, print its summary, and return the exit code.

    Parameters
    ----------
    out : path-like, default "reports/demo"
        Output directory.
    progress : ca_trade.pipeline.Progress, optional
        Progress reporter (stderr, only on a terminal).

    Returns
    -------
    int
        0 (a failing stage raises its error).

    Examples
    --------
    >>> run_demo("reports/demo")  # doctest: +SKIP
    0
    """
    cfg = demo_config(out)
    outcome = execute(cfg, progress if progress is not None else Progress())
    truth_path = cfg.raw_dir / "truth.json"
    truth = json.loads(truth_path.read_text(encoding="utf-8")) if truth_path.is_file() else None
    print(summary(outcome.results, outcome.scenarios, truth))
    print("")
    print(f"Tables and figures (SYNTHETIC) written under {cfg.root}:")
    for p in outcome.written:
        print(f"  {p.relative_to(cfg.root).as_posix()}")
    return 0
