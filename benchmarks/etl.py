"""ETL benchmark: ``ca_trade.etl.ingest`` against a bare Polars csv -> Parquet sink.

Generates a Comtrade+ API csv (47 columns, realistic text columns, unique flow keys, a few
World rows, customs/transport breakdowns and negative or unknown-code records) of
``--size-mb`` megabytes in a temporary folder, then times, each in a fresh subprocess:

- ``bare``: ``polars.scan_csv(path).sink_parquet(out)`` (no validation);
- ``ingest``: ``ca_trade.etl.ingest(raw_dir, processed_dir)`` (layout detection, typing,
  validation, code mapping, filters, quarantine, de-duplication, sorted partitions, manifest).

Prints seconds and peak RSS of each, the ratio of each back-to-back pair of runs, their
median, and the ratio of the best runs (target <= 1.5). On a shared machine single runs vary
by about 10 %, hence ``--repeat``.

Usage::

    python benchmarks/etl.py --size-mb 200
    python benchmarks/etl.py --size-mb 1024 --repeat 2
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

HEADER = (
    "typeCode,freqCode,refPeriodId,refYear,refMonth,period,reporterCode,reporterISO,"
    "reporterDesc,flowCode,flowDesc,partnerCode,partnerISO,partnerDesc,partner2Code,"
    "partner2ISO,partner2Desc,classificationCode,classificationSearchCode,"
    "isOriginalClassification,cmdCode,cmdDesc,aggrLevel,isLeaf,customsCode,customsDesc,"
    "mosCode,motCode,motDesc,qtyUnitCode,qtyUnitAbbr,qty,isQtyEstimated,altQtyUnitCode,"
    "altQtyUnitAbbr,altQty,isAltQtyEstimated,netWgt,isNetWgtEstimated,grossWgt,"
    "isGrossWgtEstimated,cifvalue,fobvalue,primaryValue,legacyEstimationFlag,isReported,"
    "isAggregate"
).split(",")


def _block(start: int, n: int, codes: np.ndarray, isos: np.ndarray, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    i = np.arange(start, start + n, dtype=np.int64)
    n_cmd, n_c = 5000, len(codes)
    cmd = 10000 + (i % n_cmd) * 17 % 990000
    rest = i // n_cmd
    flow_x = (rest % 2).astype(bool)
    rest //= 2
    rep = rest % n_c
    rest //= n_c
    par = (rep + 1 + rest % (n_c - 1)) % n_c
    year = 2015 + (rest // (n_c - 1)) % 8
    partner = codes[par].copy()
    world = rng.random(n) < 0.01
    partner[world] = 0
    unknown = rng.random(n) < 0.0005
    partner[unknown] = 987
    value = np.round(np.exp(rng.normal(12, 2.5, n)), 2)
    value[rng.random(n) < 0.0005] *= -1
    customs = np.where(rng.random(n) < 0.02, "C01", "C00")
    mot = np.where(rng.random(n) < 0.02, "2100", "0")
    flow = np.where(flow_x, "X", "M")
    cmd_s = np.char.zfill(cmd.astype(str), 6)
    return pl.DataFrame(
        {
            "typeCode": "C",
            "freqCode": "A",
            "refPeriodId": year * 10000 + 101,
            "refYear": year,
            "refMonth": 52,
            "period": year,
            "reporterCode": codes[rep],
            "reporterISO": isos[rep],
            "reporterDesc": np.char.add("Reporter country name ", isos[rep]),
            "flowCode": flow,
            "flowDesc": np.where(flow_x, "Export", "Import"),
            "partnerCode": partner,
            "partnerISO": isos[par],
            "partnerDesc": np.char.add("Partner country name ", isos[par]),
            "partner2Code": 0,
            "partner2ISO": "W00",
            "partner2Desc": "World",
            "classificationCode": "H5",
            "classificationSearchCode": "HS",
            "isOriginalClassification": "True",
            "cmdCode": cmd_s,
            "cmdDesc": np.char.add("Commodity description, not elsewhere specified ", cmd_s),
            "aggrLevel": 6,
            "isLeaf": "True",
            "customsCode": customs,
            "customsDesc": "TOTAL CPC",
            "mosCode": 0,
            "motCode": mot,
            "motDesc": "TOTAL MOT",
            "qtyUnitCode": 8,
            "qtyUnitAbbr": "kg",
            "qty": np.round(value / 3.1, 1),
            "isQtyEstimated": "False",
            "altQtyUnitCode": -1,
            "altQtyUnitAbbr": "N/A",
            "altQty": 0,
            "isAltQtyEstimated": "False",
            "netWgt": np.round(value / 3.1, 1),
            "isNetWgtEstimated": "False",
            "grossWgt": 0,
            "isGrossWgtEstimated": "False",
            "cifvalue": pl.Series(np.where(flow_x, np.nan, value)).fill_nan(None),
            "fobvalue": pl.Series(np.where(flow_x, value, np.nan)).fill_nan(None),
            "primaryValue": value,
            "legacyEstimationFlag": 0,
            "isReported": "True",
            "isAggregate": "False",
        }
    ).select(HEADER)


def generate(path: Path, size_mb: float) -> int:
    """Write a Comtrade+ API csv of about ``size_mb`` MB; return its data rows."""
    from ca_trade import facts

    areas = facts.comtrade_areas()
    areas = areas[~areas["is_nes"] & ~areas["is_group"] & areas["valid_to"].isna()]
    codes = areas["code"].to_numpy(np.int64)
    isos = areas["iso3"].to_numpy(str)
    target = int(size_mb * 1e6)
    rows, block = 0, 400_000
    with open(path, "wb") as fh:
        first = True
        while fh.tell() < target:
            df = _block(rows, block, codes, isos, seed=rows)
            df.write_csv(fh, include_header=first)
            first = False
            rows += block
    return rows


def _cpu_seconds() -> float:
    """User + system CPU time of this process, all threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_rss_mb() -> float:
    """Peak resident set size of this process (VmHWM: not inherited across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker(mode: str, src: Path, out: Path) -> None:
    import warnings

    from ca_trade.etl import ingest  # imported before timing in both modes

    t0 = time.perf_counter()
    c0 = _cpu_seconds()
    if mode == "bare":
        pl.scan_csv(src).sink_parquet(out / "bare.parquet")
        extra: dict[str, object] = {}
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = ingest(src.parent, out)
        extra = {
            "rows_read": rep.rows_read,
            "rows_written": rep.rows_written,
            "rows_quarantined": rep.rows_quarantined,
            "rows_filtered": rep.rows_filtered,
            "balanced": rep.balanced(),
        }
    seconds = time.perf_counter() - t0
    cpu = _cpu_seconds() - c0
    rss_mb = _peak_rss_mb()
    print(
        json.dumps(
            {"mode": mode, "seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": rss_mb, **extra}
        )
    )


def _measure(mode: str, src: Path, scratch: Path) -> dict[str, object]:
    out = scratch / f"out_{mode}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    res = subprocess.run(
        [sys.executable, __file__, "--worker", mode, str(src), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    shutil.rmtree(out, ignore_errors=True)
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=1024.0)
    ap.add_argument("--repeat", type=int, default=1, help="alternate runs; report the best")
    ap.add_argument("--tmp", type=Path, default=None, help="scratch folder (default: temp)")
    ap.add_argument("--worker", nargs=3, metavar=("MODE", "SRC", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        _worker(args.worker[0], Path(args.worker[1]), Path(args.worker[2]))
        return
    scratch = Path(tempfile.mkdtemp(prefix="ca_trade_etl_bench_", dir=args.tmp))
    try:
        raw = scratch / "raw"
        raw.mkdir()
        src = raw / "comtrade_plus_api.csv"
        t0 = time.perf_counter()
        rows = generate(src, args.size_mb)
        size = src.stat().st_size / 1e6
        print(f"generated {size:.0f} MB, {rows:,} rows in {time.perf_counter() - t0:.1f} s")
        best: dict[str, dict[str, object]] = {}
        pairs: list[float] = []
        for _ in range(args.repeat):
            run: dict[str, float] = {}
            for mode in ("bare", "ingest"):
                r = _measure(mode, src, scratch)
                print(json.dumps(r))
                run[mode] = float(r["seconds"])  # type: ignore[arg-type]
                if mode not in best or run[mode] < float(best[mode]["seconds"]):  # type: ignore[arg-type]
                    best[mode] = r
            pairs.append(run["ingest"] / run["bare"])
        b, i = best["bare"], best["ingest"]
        ratio = float(i["seconds"]) / float(b["seconds"])  # type: ignore[arg-type]
        for label, r in (("bare polars sink", b), ("ca_trade ingest ", i)):
            sec, rss = float(r["seconds"]), float(r["peak_rss_mb"])  # type: ignore[arg-type]
            cpu = float(r["cpu_seconds"])  # type: ignore[arg-type]
            print(f"{label}: {sec:.2f} s wall, {cpu:.2f} s CPU, peak RSS {rss:.0f} MB (best run)")
        cpu_ratio = float(i["cpu_seconds"]) / float(b["cpu_seconds"])  # type: ignore[arg-type]
        print(f"CPU-time ratio ingest / bare = {cpu_ratio:.2f}")
        print("ratio of each back-to-back pair: " + ", ".join(f"{x:.2f}" for x in pairs))
        print(f"median pair ratio = {statistics.median(pairs):.2f}")
        print(f"ratio ingest / bare = {ratio:.2f} (target <= 1.5) on {size:.0f} MB (best runs)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
