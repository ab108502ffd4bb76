"""Build ``src/ca_trade/data/comtrade_areas.csv``, the time-valid UN Comtrade area-code table.

Inputs
------
- ISO 3166-1 (current countries: numeric code, alpha-3, name) and ISO 3166-3 (withdrawn
  countries) as shipped by the PyPI package ``pycountry`` (which packages Debian's
  ``iso-codes``). ISO 3166-1 numeric codes equal the UN M49 codes, which UN Comtrade uses
  for most areas. ``pycountry`` is needed only to run this script, never by ``ca_trade``.
- The UN Comtrade deviations from M49, historical entities, groups and 'not elsewhere
  specified' (nes) areas, written out below (:data:`COMTRADE_ROWS`) from the UN Comtrade
  reference tables (``reporterAreas.json`` / ``partnerAreas.json``, legacy API; Comtrade+
  ``Reporters.json`` / ``partnerAreas.json`` with ``entryEffectiveDate``/``entryExpiredDate``)
  and the UN Comtrade Knowledgebase note on country codes that differ from M49.
- Validity windows of successor states (:data:`WINDOWS`): a successor is valid from the first
  calendar year it reports on its own (the year after its predecessor's last year).

What it does
------------
1. Takes every ISO 3166-1 country; drops the ISO numerics Comtrade does not use for that
   country (:data:`REPLACED_ISO_NUMERICS`: 250 France, 380 Italy, 578 Norway, 356 India,
   756 Switzerland, 840 USA, whose Comtrade codes are 251, 381, 579, 699, 757, 842) and 492,
   which Comtrade reuses for 'Europe EU, nes' (Monaco is reported within France, 251).
2. Adds the Comtrade-specific rows (deviating codes, historical entities with their own
   ISO 3166-3 alpha-3, groups ``WLD``/``EUU``, nes areas with ``X..`` pseudo-codes).
3. Applies the validity windows, checks that no code and no ISO3 is claimed twice in
   overlapping years, and writes the CSV sorted by code (deterministic; no timestamps).

Re-run
------
::

    .venv/bin/pip install pycountry   # generator-only dependency
    .venv/bin/python tools/build_comtrade_areas.py            # rewrite the packaged CSV
    .venv/bin/python tools/build_comtrade_areas.py --check    # fail if the CSV is stale

Then run ``.venv/bin/python -m pytest tests/test_facts.py -q``.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "ca_trade" / "data" / "comtrade_areas.csv"
HEADER = ("code", "iso3", "name", "valid_from", "valid_to", "is_nes", "is_group", "source")

M49 = (
    "UN Statistics Division, Standard country or area codes for statistical use (M49), "
    "https://unstats.un.org/unsd/methodology/m49/"
)
ISO = "ISO 3166-1 numeric/alpha-3 via pycountry (Debian iso-codes)"
ISO3 = "ISO 3166-3 withdrawn code via pycountry (Debian iso-codes)"
COMTRADE = (
    "UN Comtrade reference table partnerAreas/reporterAreas, "
    "https://comtradeapi.un.org/files/v1/app/reference/partnerAreas.json"
)
PLUS = "UN Comtrade+ partner reference (partnerAreas), nes/special area"
DEVIATES = (
    "Comtrade-specific code (M49 {m49}), see UN Comtrade Knowledgebase "
    "'Country codes differing from M49'"
)

#: ISO numerics that Comtrade replaces by its own code for the same country.
REPLACED_ISO_NUMERICS = {250: 251, 380: 381, 578: 579, 356: 699, 756: 757, 840: 842}
#: ISO numerics Comtrade reuses for something else: 492 Monaco -> 'Europe EU, nes'.
REUSED_ISO_NUMERICS = {492: "Comtrade 492 is 'Europe EU, nes'; Monaco is reported within 251"}

#: ISO areas that are not Comtrade reporter/partner codes: kept (the ISO numeric is
#: unambiguous) but their source says which Comtrade area includes them.
NOT_IN_COMTRADE = {
    158: "Comtrade reports Taiwan as 490 'Other Asia, nes' (XOA), never under 158",
    248: "Comtrade includes the Aland Islands in Finland (246)",
    438: "Comtrade includes Liechtenstein in Switzerland (757)",
    630: "Comtrade includes Puerto Rico in the USA (842)",
    744: "Comtrade includes Svalbard and Jan Mayen in Norway (579)",
    831: "Comtrade includes Guernsey in the United Kingdom (826)",
    832: "Comtrade includes Jersey in the United Kingdom (826)",
    833: "Comtrade includes the Isle of Man in the United Kingdom (826)",
}

#: Validity windows (first year, last year; None = open) with the reason.
WINDOWS: dict[int, tuple[int | None, int | None, str]] = {
    **{
        c: (1992, None, "successor of 810 USSR from 1992")
        for c in (31, 51, 112, 233, 268, 398, 417, 428, 440, 498, 643, 762, 795, 804, 860)
    },
    **{c: (1992, None, "successor of 890 Yugoslavia from 1992") for c in (70, 191, 705, 807)},
    **{c: (1993, None, "successor of 200 Czechoslovakia") for c in (203, 703)},
    **{c: (2006, None, "successor of 891 Serbia and Montenegro") for c in (499, 688)},
    276: (1991, None, "reunified Germany"),
    231: (1993, None, "successor of 230 Fmr Ethiopia after Eritrea's independence (1993)"),
    232: (1993, None, "independent from Ethiopia 1993-05-24; successor of 230 Fmr Ethiopia"),
    887: (1991, None, "unified Yemen, successor of 886 and 720 (1990-05-22)"),
    729: (2012, None, "Sudan after South Sudan's independence; successor of 736 Fmr Sudan"),
    728: (2012, None, "independent 2011-07-09; Comtrade reports it from 2012, after 736"),
    56: (1999, None, "reported separately from 1999; successor of 58 Belgium-Luxembourg"),
    442: (1999, None, "reported separately from 1999; successor of 58 Belgium-Luxembourg"),
    710: (2000, None, "reported alone from 2000; successor of 711 So. African Customs Union"),
    531: (2011, None, "successor of 530 Netherlands Antilles (dissolved 2010-10-10)"),
    534: (2011, None, "successor of 530 Netherlands Antilles (dissolved 2010-10-10)"),
    535: (2011, None, "successor of 530 Netherlands Antilles (dissolved 2010-10-10)"),
    533: (1986, None, "separate from the Netherlands Antilles from 1986; successor of 532"),
    591: (1980, None, "Panama including the former Canal Zone; successor of 590 and 592"),
}

#: Names kept in Comtrade's wording where ISO's differs (stable with earlier table versions).
NAMES = {
    "IRN": "Iran",
    "KOR": "Rep. of Korea",
    "MDA": "Republic of Moldova",
    "VNM": "Viet Nam",
    "BOL": "Bolivia (Plurinational State of)",
    "VEN": "Venezuela",
    "TZA": "United Rep. of Tanzania",
}


@dataclass(frozen=True)
class Area:
    """One row of the table (``valid_from``/``valid_to``: inclusive years, None = open).

    Examples
    --------
    >>> Area(36, "AUS", "Australia").valid_to is None
    True
    """

    code: int
    iso3: str
    name: str
    valid_from: int | None = None
    valid_to: int | None = None
    is_nes: bool = False
    is_group: bool = False
    source: str = ""


def _nes(code: int, iso3: str, name: str, placeholder: str) -> Area:
    src = (
        f"{PLUS}; X.. pseudo-ISO3 assigned by ca_trade (Comtrade's own alpha-3 field is a "
        f"placeholder '{placeholder}')"
    )
    return Area(code, iso3, name, is_nes=True, source=src)


def _deviating(code: int, iso3: str, name: str, m49: int) -> Area:
    return Area(code, iso3, name, source=f"{COMTRADE}; {DEVIATES.format(m49=m49)}")


#: Rows that do not come from ISO 3166-1 as is.
COMTRADE_ROWS: tuple[Area, ...] = (
    Area(0, "WLD", "World", is_group=True, source=COMTRADE),
    Area(
        97,
        "EUU",
        "European Union",
        is_group=True,
        source=f"{COMTRADE} (reporter 97 'EU'; pseudo-ISO3 EUU as in the World Bank "
        "WITS/WDI code list)",
    ),
    _deviating(251, "FRA", "France", 250),
    _deviating(381, "ITA", "Italy", 380),
    _deviating(579, "NOR", "Norway", 578),
    _deviating(699, "IND", "India", 356),
    _deviating(757, "CHE", "Switzerland", 756),
    _deviating(842, "USA", "United States of America", 840),
    # historical entities keep their own (ISO 3166-3) alpha-3 codes
    Area(
        58,
        "BLX",
        "Belgium-Luxembourg",
        valid_to=1998,
        source=f"{COMTRADE}; Belgium-Luxembourg economic union reported jointly until 1998 "
        "(Comtrade alpha-3 BLX); Belgium (56) and Luxembourg (442) from 1999",
    ),
    Area(
        200,
        "CSK",
        "Czechoslovakia",
        valid_to=1992,
        source=f"{COMTRADE}; historical entity dissolved 1993-01-01 (ISO 3166-3 CSHH)",
    ),
    Area(
        230,
        "ETH",
        "Fmr Ethiopia",
        valid_to=1992,
        source=f"{COMTRADE}; Ethiopia including Eritrea, until 1992; successor code 231",
    ),
    Area(
        278,
        "DDR",
        "Fmr Dem. Rep. of Germany",
        valid_to=1990,
        source=f"{COMTRADE}; historical entity (ISO 3166-3 DDDE)",
    ),
    Area(
        280,
        "DEU",
        "Fmr Fed. Rep. of Germany",
        valid_to=1990,
        source=f"{COMTRADE}; Comtrade code of West Germany before reunification (1990-10-03)",
    ),
    Area(
        530,
        "ANT",
        "Netherlands Antilles",
        valid_from=1986,
        valid_to=2010,
        source=f"{COMTRADE}; {ISO3} ANHH; without Aruba (533) from 1986, dissolved "
        "2010-10-10 (successors 531, 534, 535 from 2011)",
    ),
    Area(
        532,
        "ANT",
        "Neth. Antilles and Aruba",
        valid_to=1985,
        source=f"{COMTRADE}; {ISO3} ANHH (numeric 532 until Aruba split away in 1986); "
        "successors 530 Netherlands Antilles and 533 Aruba from 1986",
    ),
    Area(
        590,
        "PAN",
        "Fmr Panama, excl.Canal Zone",
        valid_to=1979,
        source=f"{COMTRADE}; Panama without the Canal Zone, until 1979 (Canal Zone abolished "
        "1979-10-01); Panama 591 from 1980",
    ),
    Area(
        592,
        "PCZ",
        "Fmr Panama-Canal-Zone",
        valid_to=1979,
        source=f"{COMTRADE}; {ISO3} PZPA (Panama Canal Zone, abolished 1979-10-01)",
    ),
    Area(
        711,
        "XSU",
        "So. African Customs Union",
        valid_to=1999,
        is_group=True,
        source=f"{COMTRADE}; SACU (South Africa, Botswana, Lesotho, Namibia, Eswatini) "
        "reported as one area until 1999 (Comtrade alpha-3 'ZA1'); pseudo-ISO3 XSU assigned "
        "by ca_trade; South Africa (710) alone from 2000",
    ),
    Area(
        720,
        "YMD",
        "Fmr Dem. Yemen",
        valid_to=1990,
        source=f"{COMTRADE}; {ISO3} YDYE (People's Democratic Republic of Yemen); "
        "unified Yemen 887 from 1991",
    ),
    Area(
        736,
        "SDN",
        "Fmr Sudan",
        valid_to=2011,
        source=f"{COMTRADE}; Sudan including South Sudan, until 2011; Sudan 729 and South "
        "Sudan 728 from 2012",
    ),
    Area(
        810,
        "SUN",
        "USSR",
        valid_to=1991,
        source=f"{COMTRADE}; historical entity dissolved 1991-12-26 (ISO 3166-3 SUHH)",
    ),
    Area(
        866,
        "VDR",
        "Fmr Dem. Rep. of Vietnam",
        valid_to=1975,
        source=f"{COMTRADE}; {ISO3} VDVN (Democratic Republic of Viet-Nam); "
        "Viet Nam reunified 1976-07-02",
    ),
    Area(
        886,
        "YEM",
        "Fmr Arab Rep. of Yemen",
        valid_to=1990,
        source=f"{COMTRADE}; Yemen Arab Republic (North Yemen, ISO numeric 886 before "
        "unification); unified Yemen 887 from 1991",
    ),
    Area(
        890,
        "YUG",
        "Socialist Federal Republic of Yugoslavia",
        valid_to=1991,
        source=f"{COMTRADE}; historical entity (ISO 3166-3 YUCS)",
    ),
    Area(
        891,
        "SCG",
        "Serbia and Montenegro",
        valid_from=1992,
        valid_to=2005,
        source=f"{COMTRADE}; historical entity (ISO 3166-3 CSXX), split 2006",
    ),
    Area(
        80,
        "ATB",
        "Br. Antarctic Terr.",
        source=f"{COMTRADE} (alpha-3 ATB); {ISO3} BQAQ",
    ),
    # 'not elsewhere specified' and special areas: X.. pseudo-codes, never countries
    _nes(129, "XCB", "Caribbean, nes", "A49"),
    _nes(221, "XEE", "Eastern Europe, nes", "E29"),
    _nes(290, "XNF", "Northern Africa, nes", "F49"),
    _nes(471, "XCA", "CACM, nes", "R91"),
    _nes(472, "XAC", "Africa CAMEU region, nes", "_AC"),
    _nes(473, "XLA", "LAIA, nes", "A79"),
    _nes(490, "XOA", "Other Asia, nes", "S19"),
    _nes(492, "XEU", "Europe EU, nes", "MCO: NOT Monaco"),
    _nes(527, "XOC", "Oceania, nes", "O19"),
    Area(
        536,
        "XNZ",
        "Neutral Zone",
        is_nes=True,
        source=f"{COMTRADE} (alpha-3 NTZ); {ISO3} NTHH (Saudi Arabia-Iraq/Kuwait neutral zone, "
        "not a country); X.. pseudo-ISO3 assigned by ca_trade",
    ),
    _nes(568, "XOE", "Other Europe, nes", "E19"),
    _nes(577, "XOF", "Other Africa, nes", "F19"),
    _nes(636, "XRA", "Rest of America, nes", "A79"),
    _nes(637, "XNA", "North America and Central America, nes", "A59"),
    _nes(697, "XEF", "Europe EFTA, nes", "R20"),
    _nes(837, "XBK", "Bunkers", "X1"),
    _nes(838, "XFZ", "Free Zones", "X2"),
    _nes(839, "XSC", "Special Categories", "XX"),
    _nes(879, "XWA", "Western Asia, nes", "F97"),
    _nes(899, "XNS", "Areas, nes", "_X"),
)


def iso_rows() -> list[Area]:
    """ISO 3166-1 countries as Comtrade areas (windows applied, replaced numerics dropped).

    Returns
    -------
    list of Area
        One row per ISO 3166-1 country Comtrade codes under its M49 number.

    Examples
    --------
    >>> {a.code: a.iso3 for a in iso_rows()}[36]  # doctest: +SKIP
    'AUS'
    """
    import pycountry  # generator-only dependency

    rows = []
    for country in pycountry.countries:
        code = int(country.numeric)
        if code in REPLACED_ISO_NUMERICS or code in REUSED_ISO_NUMERICS:
            continue
        iso3 = str(country.alpha_3)
        name = NAMES.get(iso3) or str(getattr(country, "common_name", None) or country.name)
        lo, hi, note = WINDOWS.get(code, (None, None, ""))
        parts = [M49, ISO]
        parts.append(NOT_IN_COMTRADE[code] if code in NOT_IN_COMTRADE else COMTRADE)
        if note:
            parts.append(note)
        rows.append(Area(code, iso3, name, lo, hi, source="; ".join(parts)))
    return rows


def build() -> list[Area]:
    """All rows, sorted by code, after consistency checks.

    Returns
    -------
    list of Area
        The table.

    Raises
    ------
    SystemExit
        If a code or an ISO3 is claimed twice in overlapping years, or an ISO3 mixes flags.

    Examples
    --------
    >>> len(build()) > 250  # doctest: +SKIP
    True
    """
    rows = sorted([*iso_rows(), *COMTRADE_ROWS], key=lambda a: a.code)
    problems = []
    codes = [a.code for a in rows]
    problems += [
        f"code {c} appears twice" for c in sorted({c for c in codes if codes.count(c) > 1})
    ]
    by_iso: dict[str, list[Area]] = {}
    for area in rows:
        by_iso.setdefault(area.iso3, []).append(area)
    for iso3, group in sorted(by_iso.items()):
        spans = sorted((a.valid_from or 0, a.valid_to or 9999, a.code) for a in group)
        for (_, hi1, c1), (lo2, _, c2) in itertools.pairwise(spans):
            if hi1 >= lo2:
                problems.append(f"{iso3}: codes {c1} and {c2} overlap")
        if len({(a.is_nes, a.is_group) for a in group}) > 1:
            problems.append(f"{iso3}: its codes disagree on is_nes/is_group")
        if any(a.is_nes for a in group) and not iso3.startswith("X"):
            problems.append(f"{iso3}: nes areas need an X.. pseudo-code")
    if problems:
        raise SystemExit("comtrade_areas: " + "; ".join(problems))
    return rows


def render(rows: list[Area]) -> str:
    """CSV text of the table.

    Parameters
    ----------
    rows : list of Area
        From :func:`build`.

    Returns
    -------
    str
        The CSV, one area per line, sorted by code.

    Examples
    --------
    >>> print(render([Area(36, "AUS", "Australia", source="M49")]), end="")
    code,iso3,name,valid_from,valid_to,is_nes,is_group,source
    36,AUS,Australia,,,0,0,M49
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for a in rows:
        writer.writerow(
            [
                a.code,
                a.iso3,
                a.name,
                "" if a.valid_from is None else a.valid_from,
                "" if a.valid_to is None else a.valid_to,
                int(a.is_nes),
                int(a.is_group),
                a.source,
            ]
        )
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` verify) the packaged CSV.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    int
        Exit status (1 when ``--check`` finds the CSV stale).

    Examples
    --------
    >>> main(["--check"])  # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(description="Build the UN Comtrade area-code table.")
    parser.add_argument("--check", action="store_true", help="fail if the CSV is stale")
    parser.add_argument("--out", type=Path, default=OUT, help="output CSV path")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale; re-run tools/build_comtrade_areas.py", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text.splitlines()) - 1} areas)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
