"""Sector benchmark: split PPML on every executor, against pyfixest's ``split=``, in one run.

A sector panel of ``--sectors`` sectors (21 HS sections by default), each a three-way gravity
panel of ``--countries`` countries and ``--years`` years (60 x 15: 53,100 rows a sector,
``benchmarks/_gen.py``, a different seed per sector), is estimated by sector with
``trade ~ rta + ln_tariff | exp_year + imp_year + pair`` (fixed-effect separation check only,
the same IRLS and demeaning tolerances) by

- ``serial``: ``ca_trade.ppml(..., split="sector", executor=None)``;
- ``processes``: the same with ``executor=Processes(--workers)`` (local worker processes);
- ``dask``: the same on a ``distributed.LocalCluster`` of ``--workers`` single-threaded worker
  processes started here (skipped when Dask is not installed);
- ``pyfixest``: ``pyfixest.fepois(..., split="sector")`` (the peer; one process, its numba
  demeaner).

Everything is warmed up first (numba compilation, imports; the cluster's workers too), so the
wall times are those of the fits. Reported per run: the best wall time over ``--repeat`` runs,
fits per minute, the speed-up over ``serial`` and the efficiency against the ideal speed-up
``min(workers, cores, sectors)`` (the overhead is ``1 - efficiency``), the CPU seconds of the
run (this process, its local workers, the Dask workers) and their excess over serial's (the
executor's own work: starting workers, sending data and results; unlike the speed-up it
does not depend on how busy a shared machine is), the ratio of the
ca_trade serial time to pyfixest's, and the largest coefficient difference from ``serial``
(it must be exactly 0 for the executors: results do not depend on where they ran).

Usage::

    python benchmarks/sectors.py                       # 21 sectors, 60 countries, 15 years
    python benchmarks/sectors.py --sectors 4 --countries 20 --years 5 --json out.json
    python benchmarks/sectors.py --parquet /tmp/panel   # tasks read their own partitions

Examples
--------
>>> panel = sector_panel(2, 6, 3)
>>> panel.groupby("sector").size().to_dict()
{'S01': 90, 'S02': 90}
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make `benchmarks._gen` importable
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._gen import gravity_panel  # noqa: E402

FORMULA = "trade ~ rta + ln_tariff | exp_year + imp_year + pair"
REGRESSORS = ("rta", "ln_tariff")
TOL = 1e-8
FIXEF_TOL = 1e-8

Params = dict[str, dict[str, float]]  # sector -> term -> estimate


def sector_panel(n_sectors: int, n_countries: int, n_years: int) -> pd.DataFrame:
    """Stack one gravity panel per sector (seed = sector number); a ``sector`` column first.

    Parameters
    ----------
    n_sectors, n_countries, n_years : int
        Sectors, countries and years (rows: ``n_sectors * n * (n - 1) * n_years``).

    Returns
    -------
    pandas.DataFrame
    """
    frames = []
    for s in range(1, n_sectors + 1):
        df = gravity_panel(n_countries, n_years, seed=s)
        df.insert(0, "sector", f"S{s:02d}")
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def fit_ca_trade(panel: pd.DataFrame | Path, executor: Any) -> Params:
    """Split PPML with ca_trade on `executor` (a frame, or a partitioned folder); by sector."""
    import ca_trade as ct

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation and singleton notes of the sectors
        coll = ct.ppml(
            FORMULA,
            panel,
            split="sector",
            executor=executor,
            vcov="hetero",
            tol=TOL,
            fixef_tol=FIXEF_TOL,
            separation=("fe",),
        )
    if coll.failures:
        raise RuntimeError(f"sectors not estimated: {dict(coll.failures)}")
    return {str(s): {k: float(coll[s].params[k]) for k in REGRESSORS} for s in coll}


def warm_up() -> None:
    """Fit a tiny split panel here (numba compilation, imports); run on each Dask worker."""
    fit_ca_trade(sector_panel(2, 12, 3), None)


def fit_pyfixest(panel: pd.DataFrame) -> Params:
    """Split PPML with pyfixest (``fepois(..., split="sector")``); the estimates by sector."""
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        multi = pf.fepois(
            FORMULA,
            panel,
            vcov="hetero",
            iwls_tol=TOL,
            iwls_maxiter=100,
            fixef_tol=FIXEF_TOL,
            separation_check=["fe"],
            demeaner_backend="numba",
            split="sector",
        )
    out: Params = {}
    for res in multi.all_fitted_models.values():
        coef = res.coef()
        out[str(res._sample_split_value)] = {k: float(coef[k]) for k in REGRESSORS}
    return out


def write_partitions(panel: pd.DataFrame, folder: Path) -> Path:
    """Write ``folder/sector=<code>/part-0.parquet`` (the sector in the folder name only)."""
    for sector, rows in panel.groupby("sector"):
        part = folder / f"sector={sector}"
        part.mkdir(parents=True, exist_ok=True)
        rows.drop(columns="sector").to_parquet(part / "part-0.parquet", index=False)
    return folder


def largest_difference(a: Params, b: Params) -> float:
    """Largest ``|a - b| / max(1, |a|)`` over sectors and terms (inf when sectors differ).

    Examples
    --------
    >>> largest_difference({"S": {"x": 2.0}}, {"S": {"x": 2.5}})
    0.25
    """
    if set(a) != set(b):
        return float("inf")
    return max(abs(a[s][k] - b[s][k]) / max(1.0, abs(a[s][k])) for s in a for k in a[s])


def cpu_here() -> float:
    """CPU seconds of this process and its finished children (local worker processes)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def cpu_of_process() -> float:
    """CPU seconds of the calling process, all its threads (run on each Dask worker)."""
    import psutil

    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def best_time(
    fn: Callable[[], Params], repeat: int, cpu: Callable[[], float] = cpu_here
) -> tuple[float, float, Params]:
    """Run `fn` `repeat` times; the best wall time, the CPU seconds of that run, the estimates."""
    best, best_cpu, params = float("inf"), float("nan"), {}
    for _ in range(repeat):
        c0, t0 = cpu(), time.perf_counter()
        params = fn()
        wall, used = time.perf_counter() - t0, cpu() - c0
        if wall < best:
            best, best_cpu = wall, used
    return best, best_cpu, params


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Time every executor and the peer on one panel; the rows of the report."""
    from ca_trade.executors import Processes, available_cores

    panel = sector_panel(args.sectors, args.countries, args.years)
    data: pd.DataFrame | Path = panel
    if args.parquet is not None:  # ca_trade reads partitions where the tasks run
        data = write_partitions(panel, args.parquet)
    warm = sector_panel(2, 12, 3)
    warm_up()  # numba compilation here; forked workers inherit it
    fit_pyfixest(warm)
    cores = available_cores()
    runs: dict[str, dict[str, Any]] = {}
    timed: dict[str, Callable[[], Params]] = {
        "serial": lambda: fit_ca_trade(data, None),
        "processes": lambda: fit_ca_trade(data, Processes(args.workers)),
        "pyfixest": lambda: fit_pyfixest(panel),
    }
    for name, fn in timed.items():
        seconds, cpu, params = best_time(fn, args.repeat)
        runs[name] = {"seconds": seconds, "cpu": cpu, "params": params, "workers": 1}
    runs["processes"]["workers"] = args.workers
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("dask: not installed (pip install 'ca_trade[dask]'); skipped", file=sys.stderr)
    else:
        with (
            LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            client.run(warm_up)  # on every worker: compilation is not timed

            def cluster_cpu() -> float:
                return cpu_here() + sum(client.run(cpu_of_process).values())

            c0 = cluster_cpu()
            time.sleep(5.0)  # the cluster idle: the CPU its event loops use anyway
            idle_cpu_per_second = (cluster_cpu() - c0) / 5.0

            seconds, cpu, params = best_time(
                lambda: fit_ca_trade(data, client), args.repeat, cluster_cpu
            )
            runs["dask"] = {"seconds": seconds, "cpu": cpu, "params": params}
            runs["dask"]["workers"] = args.workers
            runs["dask"]["idle_cpu_per_second"] = idle_cpu_per_second
    serial = runs["serial"]
    for r in runs.values():
        ideal = min(r["workers"], cores, args.sectors)
        r["fits_per_minute"] = 60.0 * args.sectors / r["seconds"]
        r["speedup"] = serial["seconds"] / r["seconds"]
        r["efficiency"] = r["speedup"] / ideal
        r["cpu_overhead"] = r["cpu"] / serial["cpu"] - 1.0
        r["max_diff"] = largest_difference(serial["params"], r["params"])
    return {
        "sectors": args.sectors,
        "countries": args.countries,
        "years": args.years,
        "rows": len(panel),
        "source": "frame" if args.parquet is None else "partitioned parquet",
        "cores": cores,
        "load_average": os.getloadavg()[0],
        "ratio_serial_to_pyfixest": serial["seconds"] / runs["pyfixest"]["seconds"],
        "runs": {k: {f: v for f, v in r.items() if f != "params"} for k, r in runs.items()},
    }


def report(result: dict[str, Any]) -> str:
    """Format the result as a table (one line per run) with the peer ratio."""
    lines = [
        f"{result['sectors']} sectors x {result['countries']} countries x {result['years']} "
        f"years ({result['rows']:,} rows, ca_trade from a {result['source']}); "
        f"{result['cores']} cores, load average "
        f"{result['load_average']:.1f} at the end",
        f"{'run':<10} {'workers':>7} {'wall s':>8} {'fits/min':>9} {'speed-up':>8} "
        f"{'efficiency':>10} {'CPU s':>7} {'CPU +%':>7} {'max diff':>9}",
    ]
    for name, r in result["runs"].items():
        lines.append(
            f"{name:<10} {r['workers']:>7} {r['seconds']:>8.2f} {r['fits_per_minute']:>9.1f} "
            f"{r['speedup']:>8.2f} {r['efficiency']:>10.2f} {r['cpu']:>7.2f} "
            f"{100 * r['cpu_overhead']:>+7.1f} {r['max_diff']:>9.1e}"
        )
    if "dask" in result["runs"]:
        idle = result["runs"]["dask"]["idle_cpu_per_second"]
        lines.append(f"dask cluster idle: {idle:.3f} CPU s per second (workers, scheduler, client)")
    lines.append(
        "ratio ca_trade serial / pyfixest split: "
        f"{result['ratio_serial_to_pyfixest']:.2f} (below 1: ca_trade faster)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the table (and write ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sectors", type=int, default=21, help="sectors (HS sections: 21)")
    parser.add_argument("--countries", type=int, default=60, help="countries per sector")
    parser.add_argument("--years", type=int, default=15, help="years per sector")
    parser.add_argument("--workers", type=int, default=2, help="processes / Dask workers")
    parser.add_argument("--repeat", type=int, default=1, help="runs per executor (best kept)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--parquet",
        type=Path,
        default=None,
        help="write the panel here as sector=<code>/part-0.parquet; ca_trade reads it there",
    )
    args = parser.parse_args(argv)
    result = run(args)
    print(report(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    executors_agree = all(
        r["max_diff"] == 0.0 for k, r in result["runs"].items() if k != "pyfixest"
    )
    return 0 if executors_agree and result["runs"]["pyfixest"]["max_diff"] < 1e-6 else 1


if __name__ == "__main__":
    raise SystemExit(main())
