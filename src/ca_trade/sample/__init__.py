"""The embedded **SYNTHETIC** Central Asia dataset, written in real UN Comtrade layouts.

:func:`generate` draws a deterministic (seeded) world of 31 countries (the five Central Asian
states and 26 partners of :func:`ca_trade.facts.countries`) and writes what an analyst would
download, so the whole chain (ETL, estimation, GE) runs offline. Nothing in it is real data;
every file name starts with ``SYNTHETIC_`` (the truth files ``truth.json`` and
``truth_flows.parquet`` say ``"synthetic": true`` inside).

Model (exact parameters in ``truth.json``)
------------------------------------------
- Structural gravity, year by year: ``mu_ij = Y_i E_j phi_ij / (Y_w Pi_i P_j)`` with GDPs of
  realistic scale growing over time, ``phi_ij = exp(-0.8 ln_dist + 0.5 rta + 0.4 contig +
  0.25 comlang - 0.3 landlocked_exp - 0.3 landlocked_imp - 2.5 intl - 5 ln(1 + tariff))``;
  covariates from :func:`ca_trade.facts.pair_covariates`; domestic flows included. Because the
  multilateral resistances are exporter-year and importer-year terms, PPML with those fixed
  effects on all pairs (domestic included) recovers the coefficients, except the landlocked
  terms, which those effects absorb (``truth.json["model"]["recovery"]`` gives the formula).
- True TOTAL flow = ``mu * Gamma(4, 1/4)`` (mean one, so PPML is consistent; the variance is
  ``mu**2 / 4``, so PPML is not efficient and its robust standard errors understate the
  sampling spread, see ``truth.json["model"]["recovery"]``).
- **Sectors** (:mod:`ca_trade.sample.sectors`): the TOTAL is split over the 21 HS sections
  ``S01``..``S21`` so that each section is a gravity equation of its own, with a known sector
  trade elasticity ``theta_s`` (``truth.json["model"]["sectors"]["theta"]``) on its own
  applied tariff (PPML coefficient of ``ln(1 + t_ijs)``: ``-(theta_s + 1)``, duty-exclusive
  flows) and the TOTAL's other coefficients, while the sections' means add up exactly to the
  TOTAL's mean (so the one-sector truth still holds). Exporters differ in their mix of
  primary goods and manufactures (Kazakhstan 75 % primary goods). Realised sections are a
  Dirichlet-multinomial split of the realised TOTAL (conditional mean exact): small pairs
  trade in few sections (zeros), large ones in all. Domestic sales are split too, so
  production and domestic flows exist by section.
- **Sector coding**: each section is written in the Comtrade files as ONE representative HS
  chapter (``S05`` -> ``27``, ``S11`` -> ``52``, ... see ``truth.json["reporting"]
  ["chapter_of_section"]``), so mapping chapters to sections recovers the sections exactly;
  ``TOTAL`` is written as ``TOTAL``. Chapter detail is written for pairs with a Central Asian
  state and, from 2018 (the Comtrade+ bulk files), for every pair; before 2018 pairs among
  partners are written at TOTAL only.

Reporting
---------
Each flow is reported by both sides with independent log-normal noise (sd 0.05); imports are
CIF = FOB * (1 + margin(distance, landlocked)); Turkmenistan never reports, Uzbekistan from
2017; World (partner 0) rows, 'Areas nes' (899) and 'Other Asia nes' (490) rows, re-exports
(flow 3 / ``RX``); Comtrade's own codes (842 USA, 251 France, 381 Italy, 699 India,
757 Switzerland). Layouts by year: legacy bulk (<= 2005), legacy API (2006-2011), Comtrade+ API
(2012-2017), Comtrade+ bulk gzip tsv (>= 2018, one file per reporter-year). The first file of
each layout carries four malformed records (a non-numeric value, a negative value, an unknown
partner code 987, a duplicated record), listed in ``truth.json["anomalies"]``.

Other files: ``SYNTHETIC_wits_tariffs.csv`` (WITS-like; columns ``reporter_iso3`` = the
importing country that levies the tariff, ``partner_iso3`` (``WLD`` for MFN), ``year``,
``tariff_type`` (``MFN``: by reporter, TOTAL and chapters; ``PREF``: pairs with a preferential
agreement, TOTAL and chapters, all 0; ``AHS``: the applied rate for every pair, TOTAL only),
``product`` (``TOTAL`` or the HS chapter of a section), ``simple_average_pct``,
``weighted_average_pct`` (true-import-weighted over sections)); ``SYNTHETIC_production.csv``
(``country, year, sector, production_usd`` = all sales incl. domestic, for ``TOTAL`` and
each section, so ``X_ii = production - exports``); ``SYNTHETIC_gdp.csv``.

The package: :mod:`~ca_trade.sample.generator` (:func:`generate`, the files and
``truth.json``), :mod:`~ca_trade.sample.model` (the true flows, tariffs and GDPs),
:mod:`~ca_trade.sample.sectors` (sector elasticities and the split of the TOTAL),
:mod:`~ca_trade.sample.reporting` (who reports what, with which noise) and
:mod:`~ca_trade.sample.layouts` (the four Comtrade file layouts and the planted anomalies).
The command line is ``ca-trade sample --out DIR [--seed N] [--years 2000-2023]``.

Examples
--------
>>> import tempfile
>>> info = generate(tempfile.mkdtemp(), years=[2016, 2018])
>>> info.truth_json.name, info.n_anomalies
('truth.json', 8)
"""

from __future__ import annotations

from ca_trade.sample.generator import SampleInfo, generate

__all__ = ["SampleInfo", "generate"]
