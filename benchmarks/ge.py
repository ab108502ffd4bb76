"""Benchmark of ca_trade.ge against the USITC ``gegravity`` package, measured in the same run.

Prints, for the gegravity sample (30 countries, 2006) and for generated problems, the time of
``ca_trade.ge`` (GEPPML baseline + full-endowment solve) and of gegravity's OneSectorGE
(baseline + experiment), their ratio and the largest gap between their real GDP changes; then
the scaling of ``ca_trade.ge.solve`` with N and the bootstrap timings (issue 5 targets:
250 countries < 1 s; 1,000 parametric draws of a 40-country problem < 60 s on 2 cores).

Multi-sector model (issue 15 targets: 31 countries x 40 sectors with input-output links, the
size of Caliendo & Parro 2015, under 2 s; 60 countries x 21 sectors under 1 s): the NAFTA
experiment on the paper's data and generated economies, each timed against the algorithm of
the authors' replication code re-implemented in numpy (``benchmarks/_caliendo_parro.py``) in
the same run, with the ratio and the largest gap between their wage changes; then parametric
draws of the sector elasticities.

Run: ``python benchmarks/ge.py`` (``make bench``); ``python benchmarks/ge.py --sectoral`` runs
the multi-sector part only. Needs the ``bench`` extra (gegravity) and the reference data
(``CA_TRADE_REFERENCE``, default ../shared/reference).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import ca_trade.ge as ge
from ca_trade.executors import Processes
from ca_trade.ge.sectoral.problem import accounts

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make `benchmarks._caliendo_parro` importable
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import _caliendo_parro as cp  # noqa: E402  (the authors' algorithm, the peer)

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("CA_TRADE_REFERENCE", ROOT / ".." / "shared" / "reference"))
COST = ["pta", "contiguity", "common_language", "lndist", "international"]
BETA = {
    "pta": 0.4,
    "contiguity": 0.3,
    "common_language": 0.2,
    "lndist": -0.9,
    "international": -2.0,
}
SIGMA = 5.0


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def ours(data: pd.DataFrame, pair: tuple[str, str]) -> ge.GEResult:
    flows = data[["exporter", "importer", "trade"]].rename(columns={"trade": "value"})
    log_cost = sum(BETA[k] * data[k].astype(float) for k in COST)
    base = ge.fitted_flows(flows, data[["exporter", "importer"]].assign(log_cost=log_cost))
    a, b = pair
    effect = pd.DataFrame({"exporter": [a, b], "importer": [b, a], "effect": [BETA["pta"]] * 2})
    return ge.solve(base, effect, SIGMA - 1, closure="multiplicative")


def theirs(data: pd.DataFrame, pair: tuple[str, str], reference: str) -> pd.DataFrame:
    import gegravity as gg

    d = data.copy()
    d["year"] = d["year"].astype(str)
    coef = pd.DataFrame({"var": COST, "coeff": [BETA[k] for k in COST]})
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = gg.BaselineData(
            d,
            imp_var_name="importer",
            exp_var_name="exporter",
            year_var_name="year",
            trade_var_name="trade",
            expend_var_name="E",
            output_var_name="Y",
        )
        model = gg.OneSectorGE(
            base,
            year=str(d["year"].iloc[0]),
            expend_var_name="E",
            output_var_name="Y",
            reference_importer=reference,
            sigma=SIGMA,
            cost_variables=COST,
            cost_coeff_values=gg.CostCoeffs(coef, "var", "coeff"),
            quiet=True,
        )
        for rescale in (1000, 100, 10, 1, 10_000):
            try:
                model.build_baseline(omr_rescale=rescale)
                break
            except ValueError:
                continue
        else:
            raise RuntimeError("gegravity found no workable omr_rescale")
        exp = model.baseline_data.copy()
        sel = (
            exp["exporter"].isin(pair)
            & exp["importer"].isin(pair)
            & (exp["exporter"] != exp["importer"])
        )
        exp.loc[sel, "pta"] = 1
        model.define_experiment(exp)
        model.simulate()
    return model.country_results


def generated(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cs = [f"C{i:03d}" for i in range(n)]
    lat, lon = rng.uniform(-50, 60, n), rng.uniform(-180, 180, n)
    dist = np.sqrt((lat[:, None] - lat[None, :]) ** 2 + (lon[:, None] - lon[None, :]) ** 2) * 100
    np.fill_diagonal(dist, 50.0)
    size = np.exp(rng.normal(10, 1.5, n))
    intl = 1.0 - np.eye(n)
    contig = (dist < 1500) * intl
    lang = (rng.random((n, n)) < 0.15) * intl
    lang = np.maximum(lang, lang.T)
    pta = (rng.random((n, n)) < 0.2) * intl
    pta = np.maximum(pta, pta.T)
    lncost = (
        BETA["lndist"] * np.log(dist)
        + BETA["contiguity"] * contig
        + BETA["common_language"] * lang
        + BETA["pta"] * pta
        + BETA["international"] * intl
    )
    trade = np.outer(size, size) / size.sum() * np.exp(lncost) * np.exp(rng.normal(0, 0.5, (n, n)))
    frame = pd.DataFrame(
        {
            "exporter": np.repeat(cs, n),
            "importer": np.tile(cs, n),
            "year": 2020,
            "trade": trade.ravel(),
            "pta": pta.ravel(),
            "contiguity": contig.ravel(),
            "common_language": lang.ravel(),
            "lndist": np.log(dist).ravel(),
            "international": intl.ravel(),
        }
    )
    frame["Y"] = frame.groupby("exporter")["trade"].transform("sum")
    frame["E"] = frame.groupby("importer")["trade"].transform("sum")
    return frame


def first_non_pta_pair(data: pd.DataFrame) -> tuple[str, str]:
    cand = data[(data["pta"] == 0) & (data["exporter"] < data["importer"])]
    cand = cand.sort_values("trade", ascending=False).iloc[0]
    return str(cand["exporter"]), str(cand["importer"])


def compare(
    label: str, data: pd.DataFrame, pair: tuple[str, str], reference: str, repeat: int
) -> None:
    t_ours = best_of(lambda: ours(data, pair), repeat)
    res = ours(data, pair)
    try:
        start = time.perf_counter()
        their = theirs(data, pair, reference)
        t_theirs = time.perf_counter() - start
    except Exception as exc:  # report a peer failure, keep benchmarking
        print(f"{label:<28} ca_trade {t_ours * 1e3:8.1f} ms   gegravity failed: {exc}")
        return
    gap = (res.countries["real_gdp_pct"] - their["GDP change (percent)"]).abs().max()
    print(
        f"{label:<28} ca_trade {t_ours * 1e3:8.1f} ms   gegravity {t_theirs * 1e3:9.1f} ms"
        f"   ratio {t_theirs / t_ours:7.1f}x   max |real GDP gap| {gap:.2e} pp"
        f"   our residual {res.residuals['market_clearing']:.1e}"
    )


def sectoral_case(label: str, case: dict[str, object], deficits: str, repeat: int) -> None:
    kw = {k: case[k] for k in ("tariffs", "production", "inputs")}
    args = (case["flows"], case["changes"], case["theta"])

    def run() -> ge.GEResult:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # clipped final demand (the paper's data)
            return ge.solve(*args, deficits=deficits, **kw)  # type: ignore[arg-type]

    t_ours = best_of(run, repeat)
    res = run()
    # the peer solves the same counterfactual from the same baseline (ca_trade's prepared
    # problem, re-solved without deficits where asked), arrays in, arrays out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob = ge.sectoral.prepare(*args, deficits=deficits, **kw)  # type: ignore[arg-type]
        sol = ge.sectoral.solve_problem(prob)
    base = sol.baseline
    acc = accounts(base)
    deficit = np.zeros(prob.n) if deficits == "zero" else acc.deficit
    start = time.perf_counter()
    peer = cp.solve(
        acc.shares,
        prob.tariff0,
        prob.tariff1,
        prob.theta,
        prob.va_share,
        prob.io,
        prob.final_share,
        acc.value_added,
        deficit,
    )
    t_peer = time.perf_counter() - start
    wage = np.exp(sol.equilibrium.log_wage)
    peer_wage = peer.wage * acc.value_added.sum() / (peer.wage * acc.value_added).sum()
    gap = float(np.max(np.abs(peer_wage / wage - 1.0)))
    pre = res.settings["baseline_iterations"]
    steps = f" + {pre} (baseline)" if pre else ""
    print(
        f"{label:<38} ca_trade {t_ours * 1e3:8.1f} ms ({res.n_iter}{steps} iterations)   "
        f"CP algorithm {t_peer * 1e3:9.1f} ms ({peer.iterations} iterations, counterfactual "
        f"step only)   ratio {t_peer / t_ours:6.1f}x   max |wage gap| {gap:.1e}"
    )


def sectoral() -> None:
    print(
        "\nmulti-sector GE (ca_trade: whole ge.solve incl. validation and tables, best of 3; the "
        "authors' algorithm: one run)"
    )
    folder = REFERENCE / "caliendo_parro_2015"
    if folder.is_dir():
        nafta = cp.nafta_inputs(folder)
        sectoral_case("NAFTA, 31 x 40 + IO, zero deficits", nafta, "zero", 3)
        sectoral_case("NAFTA, 31 x 40 + IO, fixed deficits", nafta, "fixed", 3)
    else:
        print(f"Caliendo-Parro data not found at {folder}; skipped")
    for n, s, io_links in ((31, 40, True), (60, 21, False), (60, 21, True)):
        case = cp.generated(n, s, seed=1, io=io_links)
        for deficits in ("fixed", "zero"):
            label = f"generated {n} x {s}{' + IO' if io_links else ''}, {deficits} deficits"
            sectoral_case(label, case, deficits, 3)
    print("target: 31 x 40 with IO < 2 s; 60 x 21 < 1 s")
    case = cp.generated(20, 10, seed=2)
    se = {k: 0.1 * v for k, v in case["theta"].items()}  # type: ignore[attr-defined]
    scen = ge.Scenario(
        case["changes"][["exporter", "importer", "sector"]].assign(rta=1.0),  # type: ignore[index]
        {"rta": 0.1},
        "a trade-cost cut among members",
    )
    for jobs in (1, 2):
        start = time.perf_counter()
        u = ge.parametric_draws(
            case["flows"],
            scen,
            case["theta"],
            vcov=[[0.02**2]],
            theta_se=se,
            n_draws=200,
            executor=None if jobs == 1 else Processes(max_workers=jobs),
            tariffs=case["tariffs"],
            production=case["production"],
            inputs=case["inputs"],
        )
        elapsed = time.perf_counter() - start
        print(
            f"200 parametric draws (theta_s and a coefficient), 20 x 10 + IO, processes={jobs}: "
            f"{elapsed:6.2f} s ({u.n_failed} failed)"
        )


def main() -> None:
    if "--sectoral" in sys.argv:
        sectoral()
        return
    print(
        "ca_trade.ge vs gegravity (same machine, same run; times: best of repeats for "
        "ca_trade, one run for gegravity)"
    )
    sample = REFERENCE / "gegravity_sample" / "sample_data_set.parquet"
    if sample.exists():
        data = pd.read_parquet(sample)
        data["exporter"] = data["exporter"].astype(str)
        data["importer"] = data["importer"].astype(str)
        compare("gegravity sample (N=30)", data, ("CAN", "JPN"), "DEU", repeat=10)
    else:
        print(f"gegravity sample not found at {sample}; skipped")
    for n in (30, 60):
        data = generated(n)
        compare(
            f"generated N={n}", data, first_non_pta_pair(data), data["exporter"].iloc[0], repeat=5
        )

    print("\nscaling of ca_trade.ge.solve (full endowment, one random 30 % FTA shock)")
    for n in (30, 100, 250, 500):
        data = generated(n, seed=1)
        flows = data[["exporter", "importer", "trade"]].rename(columns={"trade": "value"})
        members = set(data["exporter"].drop_duplicates().sample(frac=0.3, random_state=0))
        pe = data[["exporter", "importer"]].assign(
            effect=np.where(
                data["exporter"].isin(members)
                & data["importer"].isin(members)
                & (data["exporter"] != data["importer"]),
                0.3,
                0.0,
            )
        )
        for closure in ("additive", "multiplicative"):
            t = best_of(lambda: ge.solve(flows, pe, SIGMA - 1, closure=closure), 3)  # noqa: B023
            r = ge.solve(flows, pe, SIGMA - 1, closure=closure)
            print(
                f"N={n:<4} {closure:<15} {t * 1e3:8.1f} ms   {r.n_iter:3d} iterations   "
                f"residual {max(r.residuals['market_clearing'], r.residuals['budget']):.1e}"
            )

    print("\nuncertainty")
    data = generated(40, seed=2)
    flows = data[["exporter", "importer", "trade"]].rename(columns={"trade": "value"})
    members = sorted(data["exporter"].unique())[:8]
    scen = ge.agreement(members, 0.3)
    vcov = pd.DataFrame([[0.05**2]], index=["rta"], columns=["rta"])
    for jobs in (1, 2):
        start = time.perf_counter()
        u = ge.parametric_draws(
            flows,
            scen,
            SIGMA - 1,
            vcov=vcov,
            n_draws=1000,
            executor=None if jobs == 1 else Processes(max_workers=jobs),
        )
        elapsed = time.perf_counter() - start
        print(
            f"1,000 parametric draws, N=40, processes={jobs}: {elapsed:6.2f} s "
            f"({u.n_failed} failed; target < 60 s on 2 cores)"
        )
    try:
        import ca_trade.estimate  # noqa: F401

        data["pair"] = data["exporter"] + "_" + data["importer"]
        scen_pta = ge.Scenario(
            data[["exporter", "importer"]].assign(
                pta=np.where(
                    data["exporter"].isin(members)
                    & data["importer"].isin(members)
                    & (data["exporter"] != data["importer"]),
                    1.0 - data["pta"],
                    0.0,
                )
            ),
            {"pta": BETA["pta"]},
            "FTA among 8",
        )
        start = time.perf_counter()
        b = ge.pairs_bootstrap(
            data,
            flows,
            scen_pta,
            SIGMA - 1,
            n_draws=20,
            executor=Processes(max_workers=2),
            formula="trade ~ pta + contiguity + common_language + lndist | exporter + importer",
        )
        elapsed = time.perf_counter() - start
        print(
            f"20 pairs-bootstrap draws (ct.ppml re-estimation + solve), N=40, processes=2: "
            f"{elapsed:6.2f} s ({b.n_failed} failed)"
        )
    except ImportError as exc:
        print(f"pairs bootstrap skipped: {exc}")
    sectoral()


if __name__ == "__main__":
    main()
