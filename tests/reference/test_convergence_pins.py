"""Iteration counts of the reference fits, pinned.

The published numbers are reproduced to their printed digits by fits that converge to
``tol = 1e-8`` (deviance) and ``fixef_tol = 1e-10`` (demeaning). A change made for speed that
loosens convergence (a looser inner tolerance at the end, a stop before the demeaning is at
full precision, fewer IRLS iterations) can still pass those digit checks on these datasets
and drift elsewhere; these counts catch it. A change that *legitimately* alters them (a new
solver, a different warm start) must update the pins here, saying why in the commit.

Recorded per fit: the IRLS iterations (``res.n_iter``) and every conjugate-gradient solve of
the demeaning in call order, as ``(site, iterations, tolerance)``, where the site is the module
that asked for it: ``separation`` (the no-separation certificate), ``fit`` (the collinearity
block, which is also the first IRLS iteration's block), ``irls`` (the solves inside the IRLS
loop and the final partialling-out of the regressors at the estimate) and ``demean`` (the
public :func:`~ca_trade.estimate.demean.demean`, used by OLS).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from ca_trade.estimate import demean, fit, irls
from tests.conftest import require_reference

pytestmark = pytest.mark.reference

YEARS = [1986, 1990, 1994, 1998, 2002, 2006]

Solve = tuple[str, int, float]


@pytest.fixture
def solves(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Solve]]:
    """Record ``(site, CG iterations, tolerance)`` of every demeaning solve."""
    log: list[Solve] = []

    def recorder(site: str, kernel: Callable[..., tuple[bool, int]]) -> Callable[..., Any]:
        def run(*args: Any, **kw: Any) -> tuple[bool, int]:
            ok, n_iter = kernel(*args, **kw)
            log.append((site, int(n_iter), float(kw.get("tol", 1e-10))))
            return ok, n_iter

        return run

    def pcg_recorder(kernel: Callable[..., tuple[bool, int]]) -> Callable[..., Any]:
        def run(*args: Any) -> tuple[bool, int]:
            ok, n_iter = kernel(*args)
            log.append(("irls", int(n_iter), float(args[8])))  # args[8]: the tolerance
            return ok, n_iter

        return run

    kernel = demean.demean_inplace
    monkeypatch.setattr(demean, "demean_inplace", recorder("demean", kernel))
    monkeypatch.setattr(fit, "demean_inplace", recorder("fit", kernel))
    monkeypatch.setattr(irls, "demean_inplace", recorder("irls", kernel))
    monkeypatch.setattr(irls, "pcg", pcg_recorder(irls.pcg))
    monkeypatch.setattr(
        "ca_trade.estimate._separation_lsq.demean_stacked",
        recorder("separation", demean.demean_stacked),
    )
    yield log


def _ppml(*args: Any, **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ct.exceptions.SeparationWarning)
        return ct.ppml(*args, **kw)


def _check(name: str, n_iter: int, solves: list[Solve]) -> None:
    got = (n_iter, [(site, it) for site, it, _ in solves])
    assert got == PINS[name], f"{name}: {got}"
    # the last solve of a converged fit is at full precision
    assert solves[-1][2] == pytest.approx(1e-10)


def _rta_panel() -> pd.DataFrame:
    d = pd.read_parquet(require_reference("agtpa", "chapter2_rta_panel.parquet"))
    d = d[d["year"].isin(YEARS)].copy()
    domestic = d["exporter"] == d["importer"]
    d["pair_sym"] = np.where(domestic, "DOMESTIC", d["pair_id"].astype(int).astype(str))
    return d


def test_agtpa_chapter1_table1(solves: list[Solve]) -> None:
    d = pd.read_parquet(require_reference("agtpa", "chapter1_panel.parquet"))
    d = d[d["year"].isin(YEARS) & (d["exporter"] != d["importer"])]
    res = _ppml(
        "trade ~ log(dist) + cntg + lang + clny | exporter^year + importer^year",
        d,
        vcov={"CRV1": "pair_id"},
    )
    _check("agtpa_table1", res.n_iter, solves)


def test_agtpa_rta_symmetric_pairs(solves: list[Solve]) -> None:
    res = _ppml("trade ~ RTA | exporter^year + importer^year + pair_sym", _rta_panel())
    _check("agtpa_rta", res.n_iter, solves)


def test_trade_without_borders(solves: list[Solve]) -> None:
    d = pd.read_parquet(require_reference("agtpa", "trade_without_border_2006.parquet"))
    res = _ppml("trade ~ ln_DIST + CNTG + INTL_BRDR | exporter + importer", d)
    _check("borders", res.n_iter, solves)


def test_ge_gravity_eu(solves: list[Solve]) -> None:
    d = pd.read_parquet(require_reference("ge_gravity_eu", "trade_0014_with_stata_results.parquet"))
    d = d[d["exporter"] != d["importer"]]
    res = _ppml(
        "trade ~ eu_enlargement + other_fta | expcode^year + impcode^year + expcode^impcode",
        d,
        vcov={"CRV1": "expcode^impcode"},
    )
    _check("ge_gravity_eu", res.n_iter, solves)


def test_ppml_fe_bias_example(solves: list[Solve]) -> None:
    d = pd.read_parquet(require_reference("ppml_fe_bias", "example_data.parquet"))
    d = d[d["category"] == "MANUF"].rename(
        columns={"isoexp": "orig", "isoimp": "dest", "year": "yr"}
    )
    res = _ppml("trade ~ fta | dest^yr + orig^yr + dest^orig", d, vcov={"CRV1": "dest^orig"})
    _check("ppml_fe_bias", res.n_iter, solves)


def test_fixest_vignette_ols(solves: list[Solve]) -> None:
    d = pd.read_parquet(require_reference("eurostat_trade", "trade.parquet"))
    d = d[d["Euros"] > 0].reset_index(drop=True)
    res = ct.ols("log(Euros) ~ log(dist_km) | Destination + Origin + Product + Year", d)
    _check("fixest_ols", res.n_iter, solves)


#: (IRLS iterations, demeaning solves as (site, CG iterations) in call order); see the module
#: docstring.
PINS: dict[str, tuple[int, list[tuple[str, int]]]] = {
    "agtpa_table1": (
        10,
        [
            ("separation", 4),
            ("fit", 9),
            ("irls", 3),
            ("irls", 3),
            ("irls", 3),
            ("irls", 2),
            ("irls", 1),
            ("irls", 1),
            ("irls", 2),
            ("irls", 3),
            ("irls", 4),
            ("irls", 3),
        ],
    ),
    "agtpa_rta": (
        13,
        [
            ("separation", 17),
            ("fit", 55),
            ("irls", 12),
            ("irls", 11),
            ("irls", 6),
            ("irls", 6),
            ("irls", 5),
            ("irls", 4),
            ("irls", 3),
            ("irls", 5),
            ("irls", 5),
            ("irls", 7),
            ("irls", 9),
            ("irls", 15),
            ("irls", 15),
        ],
    ),
    "borders": (
        9,
        [
            ("separation", 3),
            ("fit", 12),
            ("irls", 6),
            ("irls", 6),
            ("irls", 6),
            ("irls", 4),
            ("irls", 4),
            ("irls", 6),
            ("irls", 7),
            ("irls", 12),
            ("irls", 9),
        ],
    ),
    "ge_gravity_eu": (
        12,
        [
            ("fit", 7),
            ("irls", 3),
            ("irls", 2),
            ("irls", 2),
            ("irls", 1),
            ("irls", 1),
            ("irls", 1),
            ("irls", 1),
            ("irls", 1),
            ("irls", 1),
            ("irls", 2),
            ("irls", 2),
            ("irls", 1),
        ],
    ),
    "ppml_fe_bias": (
        12,
        [
            ("separation", 7),
            ("fit", 8),
            ("irls", 3),
            ("irls", 3),
            ("irls", 2),
            ("irls", 2),
            ("irls", 1),
            ("irls", 1),
            ("irls", 1),
            ("irls", 1),
            ("irls", 1),
            ("irls", 2),
            ("irls", 4),
            ("irls", 2),
        ],
    ),
    "fixest_ols": (
        1,
        [("fit", 4)],
    ),
}
