"""Cost of the inference add-ons next to the fit: WZ corrections, CRV3, split-panel jackknife.

Three-way PPML panels (exporter-year, importer-year and pair fixed effects;
``benchmarks/_gen.py``) of the AGTPA's shape (69 countries, 6 years: 28,152 rows) and of the
estimation benchmark's sizes (up to 224 countries x 20 years: 999,040 rows). For each, in one
process after a warm-up (numba compilation excluded), wall times of

- ``fit``: ``ct.ppml(..., vcov={"CRV1": "pair"})``;
- ``analytical``: ``res.bias_corrected()`` (bias and the exact de-biased variance; the Stata
  command ``ppml_fe_bias`` switches to an approximation above 1,500 country-year effects,
  i.e. for every panel here but the first);
- ``CRV3``: ``res.with_vcov({"CRV3": "pair"})`` (exact leave-one-pair-out leverage);
- ``jackknife``: ``res.bias_corrected("jackknife")`` (four quarter-size refits);

and their ratio to the fit. The peer for CRV3 is pyfixest's ``fepois(vcov={"CRV3": ...})``,
which refits the model once per cluster: it is timed on the small panels only (``--peer``)
and the ratio printed.

Usage::

    python benchmarks/correction.py --sizes tiny,agtpa,medium,large   # pyfixest on tiny
    python benchmarks/correction.py --sizes tiny,agtpa --peer tiny,agtpa

Examples
--------
>>> from benchmarks.correction import SIZES
>>> SIZES["agtpa"]
(69, 6)
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._gen import SIZES as GEN_SIZES  # noqa: E402
from benchmarks._gen import gravity_panel  # noqa: E402

import ca_trade as ct  # noqa: E402

SIZES: dict[str, tuple[int, int]] = {"tiny": (20, 5), "agtpa": (69, 6), **GEN_SIZES}
FORMULA = "trade ~ rta + ln_tariff | exp_year + imp_year + pair"


def timed(f: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``f`` once; return its result and the wall time in seconds.

    Parameters
    ----------
    f : callable

    Returns
    -------
    tuple

    Examples
    --------
    >>> timed(lambda: 3)[0]
    3
    """
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


def measure(size: str, jackknife: bool, peer: bool) -> dict[str, float]:
    """Time the fit and each add-on on one panel size."""
    n, t = SIZES[size]
    df = gravity_panel(n, t, seed=0)
    row: dict[str, float] = {"rows": float(len(df))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ct.exceptions.SeparationWarning)
        res, row["fit"] = timed(lambda: ct.ppml(FORMULA, df, vcov={"CRV1": "pair"}))
        bc, row["analytical"] = timed(lambda: res.bias_corrected())
        cr, row["CRV3"] = timed(lambda: res.with_vcov({"CRV3": "pair"}))
        if jackknife:
            _, row["jackknife"] = timed(lambda: res.bias_corrected("jackknife"))
        if peer:
            import pyfixest as pf

            ref, row["pyfixest_CRV3"] = timed(
                lambda: pf.fepois(FORMULA, df, vcov={"CRV3": "pair"}, iwls_tol=1e-8)
            )
            fx = res.with_vcov({"CRV3": "pair"}, ssc="fixest")  # pyfixest's small-sample factor
            row["CRV3_rel_diff"] = float(abs(ref.se().iloc[0] / fx.bse.iloc[0] - 1))
    row["se_CRV1"] = float(res.bse.iloc[0])
    row["se_WZ"] = float(bc.bse.iloc[0])
    row["se_CRV3"] = float(cr.bse.iloc[0])
    return row


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="tiny,agtpa,medium,large")
    parser.add_argument("--no-jackknife", action="store_true")
    parser.add_argument(
        "--peer",
        default="tiny",
        help="sizes on which pyfixest's CRV3 (one refit per pair) is timed too ('' for none)",
    )
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        measure("tiny", jackknife=True, peer=False)  # warm-up: numba compilation, imports
    print(f"{'size':>7} {'rows':>9} {'fit':>7} {'analytical':>11} {'CRV3':>7} {'jackknife':>10}")
    peer_sizes = {s.strip() for s in args.peer.split(",") if s.strip()}
    for size in args.sizes.split(","):
        r = measure(size.strip(), not args.no_jackknife, size.strip() in peer_sizes)
        cells = [f"{r['fit']:6.2f}s"]
        for k in ("analytical", "CRV3", "jackknife"):
            cells.append(f"{r[k]:6.2f}s ({r[k] / r['fit']:.2f}x)" if k in r else "-")
        print(f"{size:>7} {int(r['rows']):>9,} " + " ".join(cells), flush=True)
        print(
            f"{'':>7} SE of rta: CRV1 {r['se_CRV1']:.5f}, WZ de-biased {r['se_WZ']:.5f}, "
            f"CRV3 {r['se_CRV3']:.5f}"
        )
        if "pyfixest_CRV3" in r:
            print(
                f"{'':>7} pyfixest CRV3 (one refit per pair) {r['pyfixest_CRV3']:.2f}s: "
                f"ca_trade is {r['pyfixest_CRV3'] / r['CRV3']:.0f}x faster; its SE differs by "
                f"{100 * r['CRV3_rel_diff']:.2f} % (one-step vs exact refits)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
