"""What the countries of the SYNTHETIC sample report to UN Comtrade.

Internal module of :mod:`ca_trade.sample`: turns the true FOB flows into reporter records
(exports FOB, imports CIF, each side with its own noise; World totals, 'nes' partners,
re-exports; non-reporters dropped).

Examples
--------
>>> import numpy as np
>>> from ca_trade.sample.model import simulate_truth
>>> rng = np.random.default_rng(0)
>>> rec = reported_records(rng, simulate_truth(rng, [2018]))
>>> sorted(rec.flow.unique())
['M', 'RX', 'X']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ca_trade.facts import CENTRAL_ASIA
from ca_trade.sample.model import SECTIONS, Truth

#: HS chapter written for each section (one representative chapter per section).
CHAPTER_OF_SECTION: dict[str, str] = {
    "S01": "02", "S02": "10", "S03": "15", "S04": "22", "S05": "27", "S06": "28", "S07": "39",
    "S08": "41", "S09": "44", "S10": "48", "S11": "52", "S12": "64", "S13": "69", "S14": "71",
    "S15": "76", "S16": "84", "S17": "87", "S18": "90", "S19": "93", "S20": "94", "S21": "97",
}  # fmt: skip
CHAPTER_NAMES: dict[str, str] = {
    "TOTAL": "All Commodities",
    "02": "Meat and edible meat offal",
    "10": "Cereals",
    "15": "Animal or vegetable fats and oils",
    "22": "Beverages, spirits and vinegar",
    "27": "Mineral fuels, mineral oils and products of their distillation",
    "28": "Inorganic chemicals",
    "39": "Plastics and articles thereof",
    "41": "Raw hides and skins (other than furskins) and leather",
    "44": "Wood and articles of wood; wood charcoal",
    "48": "Paper and paperboard",
    "52": "Cotton",
    "64": "Footwear, gaiters and the like",
    "69": "Ceramic products",
    "71": "Natural or cultured pearls, precious stones, precious metals",
    "76": "Aluminium and articles thereof",
    "84": "Nuclear reactors, boilers, machinery and mechanical appliances",
    "87": "Vehicles other than railway or tramway rolling stock",
    "90": "Optical, photographic, measuring, medical instruments",
    "93": "Arms and ammunition; parts and accessories thereof",
    "94": "Furniture; bedding, mattresses, lamps",
    "97": "Works of art, collectors' pieces and antiques",
}

#: Reporting noise: log-normal, mean 1, standard deviation of the log per side.
REPORT_NOISE_SD = {"exporter": 0.05, "importer": 0.05}
#: CIF/FOB margin = clip(base + per_1000km * dist/1000 + landlocked * any_landlocked, lo, hi).
MARGIN = {"base": 0.02, "per_1000km": 0.01, "landlocked": 0.03, "lo": 0.02, "hi": 0.25}
NEVER_REPORT = ("TKM",)
FIRST_REPORT_YEAR = {"UZB": 2017}
RE_EXPORTERS = ("ARE", "DEU", "GBR", "KAZ", "KGZ", "NLD")
#: From this year (the Comtrade+ bulk files) every pair is reported by chapter; before it only
#: pairs with a Central Asian state are, the others in TOTAL only.
DETAIL_FOR_ALL_FROM = 2018
NES_PROBABILITY = {"XNS": 0.4, "XOA": 0.15}


def cif_margin(dist_km: np.ndarray, any_landlocked: np.ndarray) -> np.ndarray:
    """CIF/FOB margin of a pair: ``CIF = FOB * (1 + margin)``.

    Examples
    --------
    >>> cif_margin(np.array([3000.0]), np.array([True])).round(3).tolist()
    [0.08]
    """
    m = (
        MARGIN["base"]
        + MARGIN["per_1000km"] * np.asarray(dist_km) / 1000.0
        + MARGIN["landlocked"] * np.asarray(any_landlocked, dtype=float)
    )
    return np.asarray(np.clip(m, MARGIN["lo"], MARGIN["hi"]))


def reports_in(reporter: pd.Series, year: pd.Series) -> np.ndarray:
    """Whether ``reporter`` reports to Comtrade in ``year`` (TKM never, UZB from 2017).

    Examples
    --------
    >>> reports_in(pd.Series(["UZB", "UZB", "TKM"]), pd.Series([2016, 2017, 2020])).tolist()
    [False, True, False]
    """
    ok = ~reporter.isin(NEVER_REPORT).to_numpy()
    for iso3, first in FIRST_REPORT_YEAR.items():
        ok &= ~((reporter == iso3) & (year < first)).to_numpy()
    return np.asarray(ok)


def _lognoise(rng: np.random.Generator, sd: float, size: int) -> np.ndarray:
    return np.asarray(np.exp(rng.normal(-0.5 * sd * sd, sd, size=size)))


def reported_records(rng: np.random.Generator, truth: Truth) -> pd.DataFrame:
    """All records the reporters send: bilateral X/M, World, nes partners, re-exports.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    truth : Truth
        The true world from :func:`ca_trade.sample.model.simulate_truth`.

    Returns
    -------
    pandas.DataFrame
        ``reporter, partner`` (ISO3; ``WLD``, ``XNS``, ``XOA`` for World and nes areas),
        ``year, flow`` (``X``, ``M``, ``RX``), ``cmd`` (``TOTAL`` or an HS chapter),
        ``value`` (int64 USD), ``kind`` (``bilateral``, ``world``, ``nes``, ``re_export``);
        sorted.
    """
    f = truth.flows
    cov = truth.covariates.set_index(["exporter", "importer", "year"])
    intl = f[(f.exporter != f.importer) & (f.value_usd > 0)].reset_index(drop=True)
    by_chapter = (
        intl.exporter.isin(CENTRAL_ASIA)
        | intl.importer.isin(CENTRAL_ASIA)
        | (intl.year >= DETAIL_FOR_ALL_FROM)
    )
    # sector detail for pairs with a Central Asian state (and every pair from 2018), TOTAL
    # only for the others
    sections = intl[by_chapter & (intl.sector != "TOTAL")]
    totals_other = intl[~by_chapter & (intl.sector == "TOTAL")]
    keys = pd.MultiIndex.from_frame(intl[["exporter", "importer", "year"]])
    cov_rows = cov.reindex(keys)
    margin_all = cif_margin(
        cov_rows["dist_km"].to_numpy(),
        (cov_rows["landlocked_exp"] + cov_rows["landlocked_imp"]).to_numpy() > 0,
    )
    margin = pd.Series(margin_all, index=intl.index)

    parts = []
    for side, flow, rep_col, par_col in (
        ("exporter", "X", "exporter", "importer"),
        ("importer", "M", "importer", "exporter"),
    ):
        for block, detail in ((sections, True), (totals_other, False)):
            value = block.value_usd.to_numpy() * _lognoise(rng, REPORT_NOISE_SD[side], len(block))
            if flow == "M":
                value = value * (1.0 + margin.loc[block.index].to_numpy())
            rec = pd.DataFrame(
                {
                    "reporter": block[rep_col].to_numpy(),
                    "partner": block[par_col].to_numpy(),
                    "year": block.year.to_numpy(),
                    "flow": flow,
                    "cmd": block.sector.map(CHAPTER_OF_SECTION).fillna("TOTAL").to_numpy(),
                    "value": np.round(value),
                }
            )
            if detail:  # TOTAL = sum of the reported chapters, as in Comtrade
                tot = rec.groupby(["reporter", "partner", "year", "flow"], as_index=False)[
                    "value"
                ].sum()
                rec = pd.concat([rec, tot.assign(cmd="TOTAL")], ignore_index=True)
            parts.append(rec)
    bil = pd.concat(parts, ignore_index=True)
    bil = bil[(bil.value > 0) & reports_in(bil.reporter, bil.year)].assign(kind="bilateral")

    # re-exports (TOTAL only) by a few hub reporters
    x_tot = bil[(bil.flow == "X") & (bil.cmd == "TOTAL") & bil.reporter.isin(RE_EXPORTERS)]
    x_tot = x_tot[rng.random(len(x_tot)) < 0.5]
    rx = x_tot.assign(
        flow="RX",
        value=np.round(x_tot.value.to_numpy() * rng.uniform(0.02, 0.25, len(x_tot))),
        kind="re_export",
    )

    # nes partners (TOTAL only) and World rows
    sums = bil.groupby(["reporter", "year", "flow", "cmd"], as_index=False)["value"].sum()
    tot_sums = sums[sums.cmd == "TOTAL"].reset_index(drop=True)
    nes_parts = []
    for code, prob in NES_PROBABILITY.items():
        pick = tot_sums[rng.random(len(tot_sums)) < prob]
        share = rng.uniform(0.001, 0.02, len(pick))
        nes_parts.append(
            pick.assign(partner=code, value=np.round(pick.value.to_numpy() * share), kind="nes")
        )
    nes = pd.concat(nes_parts, ignore_index=True)
    reporters = sorted(bil.reporter.unique())
    row_share = dict(zip(reporters, rng.uniform(0.1, 0.5, len(reporters)), strict=True))
    nes_sum = nes.groupby(["reporter", "year", "flow", "cmd"])["value"].sum()
    world = sums.set_index(["reporter", "year", "flow", "cmd"])
    world["value"] = np.round(
        world["value"] * (1.0 + world.index.get_level_values("reporter").map(row_share))
        + nes_sum.reindex(world.index).fillna(0.0)
    )
    world = world.reset_index().assign(partner="WLD", kind="world")
    # chapter-level World rows only where the reporter's chapter detail is complete
    complete = world.reporter.isin(CENTRAL_ASIA) | (world.year >= DETAIL_FOR_ALL_FROM)
    world = world[(world.cmd == "TOTAL") | complete]

    out = pd.concat([bil, rx, nes, world], ignore_index=True)
    out["value"] = out["value"].astype(np.int64)
    out["year"] = out["year"].astype(np.int64)
    out = out[out.value > 0]
    return out.sort_values(["year", "reporter", "flow", "partner", "cmd"], ignore_index=True)[
        ["reporter", "partner", "year", "flow", "cmd", "value", "kind"]
    ]


def reporting_description() -> dict[str, Any]:
    """Describe the reporting rules (for ``truth.json``).

    Examples
    --------
    >>> reporting_description()["never_report"]
    ['TKM']
    """
    return {
        "noise_sd_log": dict(REPORT_NOISE_SD),
        "noise": "reported = truth * exp(N(-sd^2/2, sd)), independent per side and record",
        "cif_margin": dict(MARGIN),
        "cif_rule": "imports are CIF = FOB * (1 + margin(dist_km, any landlocked)) * noise",
        "never_report": list(NEVER_REPORT),
        "first_report_year": dict(FIRST_REPORT_YEAR),
        "sector_detail": "chapters reported for pairs with a Central Asian state, and for every "
        f"pair from {DETAIL_FOR_ALL_FROM} (the Comtrade+ bulk years); other pairs TOTAL only; "
        "reported TOTAL = sum of the reported chapters",
        "zero_flows": "not written (Comtrade has no zero records)",
        "world_rows": "partner 0 (TOTAL; chapters too where the reporter's detail is complete: "
        f"Central Asian reporters, every reporter from {DETAIL_FOR_ALL_FROM}) = sum of "
        "bilateral records * (1 + rest_of_world_share of the "
        "reporter, U(0.1, 0.5)) + nes records",
        "nes_rows": {
            "probability_per_reporter_year_flow": dict(NES_PROBABILITY),
            "value": "U(0.001, 0.02) * bilateral TOTAL",
        },
        "re_exports": {
            "reporters": list(RE_EXPORTERS),
            "value": "half of their TOTAL export records get a re-export record of "
            "U(0.02, 0.25) * the export value",
        },
        "chapter_of_section": dict(CHAPTER_OF_SECTION),
        "sections": list(SECTIONS),
    }
