"""Config-driven runs of the whole chain (``ca-trade run CONFIG.toml [--check]``).

A run is described by a TOML file (read with :mod:`tomllib`) that is *data, never code*:
every key is checked against a fixed schema (unknown keys are errors), formulas are parsed by
the safe formula grammar (:mod:`ca_trade.estimate.safe_formula`: column names, numbers,
arithmetic, ``log``, ``exp``, ``sqrt``, ``log1p``, ``I(...)``, ``C(column)``, ``:``, ``*``,
``|``, ``^``) and estimated in safe mode, so nothing in them is ever evaluated,
every number must be finite and in range, and every path must resolve inside the project
root unless ``allow_outside_project = true``. Paths are resolved once, relative to the
project (never the working directory), and judged by where they lead after ``..`` and
symbolic links; the raw files may not overlap what the run writes. Every file a run writes
stays inside ``root`` after resolving symbolic links, or the run stops with
:class:`~ca_trade.exceptions.UnsafePathError` naming the link.

Schema (all tables optional except ``[run]``; see the demo's ``src/ca_trade/data/demo.toml``
for a full example)::

    [run]
    name = "demo"                 # used in titles
    root = "reports/demo"         # outputs and intermediate data go under here
    allow_outside_project = false
    synthetic = false             # force the SYNTHETIC label (data built from the sample,
                                  # source.kind = "sample" or its folder, are labelled anyway)
    record_git_commit = false     # a commit in artefacts would make `--check` fail after commits
    executor = "processes"        # where the ingest's files, split groups and GE draws run:
                                  # "serial" (default; split specifications: "auto"),
                                  # "processes", "auto" or a Dask address "tcp://host:8786"

    [source]
    kind = "sample"               # "sample" (generate the SYNTHETIC data) or "raw" (your files)
    raw_dir = "data/raw"          # under run.root for "sample", relative to the project for "raw"
    seed = 2024                   # sample only
    years = [2000, 2023]          # sample only

    [download]                    # optional, with kind = "raw": UN Comtrade data into
    reporters = ["KAZ", "KGZ"]    # raw_dir/comtrade before ingest (ca_trade.etl.download;
    years = [2015, 2022]          # the key comes from COMTRADE_API_KEY, never a config)
    level = "total"               # "total" | "section" | "chapter" | "hs6" | ["27", ...]
    access = "api"                # "preview" | "api" | "bulk" (default: api with a key)

    [reconcile]
    method = "baci"               # "baci" | "importer_first" | "exporter_first"

    [panel]
    sector = "TOTAL"

    [[specifications]]
    name = "twoway"
    model = "ppml"                # "ppml" | "ols"
    formula = "value_usd ~ ln_dist + contig | exporter^year + importer^year"
    vcov = { CRV1 = "pair" }      # "iid" | "hetero" | { CRV1 = "a" } | { CRV1 = "a+b" }
    ssc = "stata"
    years = [2000, 2023]          # optional year window
    international_only = false    # drop domestic pairs
    tol = 1e-8                    # optional estimator tolerance
    bias_corrected = "analytical" # optional (PPML): also Weidner & Zylkin's corrected
                                  # estimates, "analytical" or "jackknife", as a column
                                  # "<name>, bias-corrected" (estimates/<name>_bias_corrected)
    split = "sector"              # optional: estimate once per value of this panel column
                                  # (tables/<name>_by_<split>.*, estimates/<name>/<group>.json)

    [ge]
    year = 2019                   # baseline year of the flow matrix
    theta = 5.0                   # trade elasticity as given (warned when the estimates
                                  # contradict it), or instead:
    theta_from = "ln_tariff"      # theta = -beta - 1 from the scenario's ln(1+t) coefficient,
                                  # redrawn with it; the default when neither is given
    closure = "additive"
    n_draws = 200                 # parametric draws for the confidence intervals
    seed = 2024
    alpha = 0.05

    [[scenarios]]
    name = "ca_customs_union"
    kind = "tariff_harmonization" # "tariff_harmonization" | "corridor": the builders of ca_trade.ge
    members = ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
    cet = "simple"                # "simple" | "weighted" | "max" | "keep" (internal tariffs
                                  # removed, external ones kept) | ["adopt", ISO3]: the cet of
                                  # ca_trade.ge.tariff_harmonization
    specification = "threeway"    # whose coefficients build the partial effects
    # corridor: links = [["CHN", "KGZ"], ["KGZ", "UZB"]] with days_saved = 2.0 or
    # cost_reduction = 0.4 (share of transit time), ave_per_day = 0.01 (Hummels & Schaur 2013);
    # any kind: coefficient = -5.0 replaces the estimated ln(1+t) coefficient

    [outputs]
    tables = ["tex", "md", "html"]
    figures = ["png", "pdf"]

Outputs land in ``<root>/tables``, ``<root>/figures`` and ``<root>/estimates``; intermediate
data in ``<root>/data``. ``--check`` regenerates everything in a temporary directory and
compares the outputs byte for byte with those on disk.

The package, one concept a module: :mod:`~ca_trade.pipeline.config` (the types a file
becomes), :mod:`~ca_trade.pipeline.reader` and :mod:`~ca_trade.pipeline.parse` (TOML ->
config, one function per table), :mod:`~ca_trade.pipeline.paths` (paths resolved once, inside
the project), :mod:`~ca_trade.pipeline.stages` (the stages, each a call of the library),
:mod:`~ca_trade.pipeline.scenarios` (scenario entries -> GE), :mod:`~ca_trade.pipeline.reporting`
(tables and figures), :mod:`~ca_trade.pipeline.check` (``--check``),
:mod:`~ca_trade.pipeline.runner` (:func:`run`), :mod:`~ca_trade.pipeline.progress` and
:mod:`~ca_trade.pipeline.demo` (``ca-trade demo``).

Examples
--------
>>> from ca_trade.pipeline import check_formula
>>> check_formula("value_usd ~ log(dist) + rta | exporter^year", where="x.toml")
'value_usd ~ log(dist) + rta | exporter^year'
"""

from __future__ import annotations

from ca_trade.pipeline.check import CheckReport, compare_outputs
from ca_trade.pipeline.config import (
    Artefacts,
    Config,
    DownloadSettings,
    GESettings,
    ScenarioSpec,
    Specification,
)
from ca_trade.pipeline.parse import check_formula, load_config, parse_config, parse_executor
from ca_trade.pipeline.paths import find_project_root
from ca_trade.pipeline.progress import Progress
from ca_trade.pipeline.runner import run
from ca_trade.pipeline.stages import RunOutcome

__all__ = [
    "Artefacts",
    "CheckReport",
    "Config",
    "DownloadSettings",
    "GESettings",
    "Progress",
    "RunOutcome",
    "ScenarioSpec",
    "Specification",
    "check_formula",
    "compare_outputs",
    "find_project_root",
    "load_config",
    "parse_config",
    "parse_executor",
    "run",
]
