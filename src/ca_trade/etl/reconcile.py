r"""Mirror reconciliation: one value per exporter, importer, year and sector.

Every bilateral flow can be reported twice: by the exporter (FOB, :math:`X_{ijt}`) and by
the importer (CIF, :math:`M_{ijt}`). Method ``baci`` follows Gaulier & Zignago (2010, CEPII
WP 2010-23, "BACI: International Trade Database at the Product-Level"):

1. **CIF margins.** On pairs reported by both sides with positive values, regress
   :math:`\ln(M_{ijt}/X_{ijt}) = \beta_0 + \beta_1 \ln d_{ij} + \beta_2 (\ln d_{ij})^2 +
   \beta_3 \mathrm{contig}_{ij} + \beta_4 \mathrm{ll}_i + \beta_5 \mathrm{ll}_j + u` by least
   squares (ratios outside [1/5, 5] are outliers and left out). The fitted margin
   :math:`\hat c_{ij} = \min(\max(e^{\hat y_{ij}} - 1, 0), 0.2)` is removed from every import
   report: :math:`M^{FOB}_{ijt} = M_{ijt} / (1 + \hat c_{ij})`.
2. **Reliability.** The absolute discrepancy :math:`|\ln(X_{ijt}/M^{FOB}_{ijt})|` is regressed
   on exporter, importer and year effects, :math:`a_i + b_j + c_t`. The model identifies
   :math:`a_i + b_j` only; we normalise the mean exporter effect to equal the mean importer
   effect, and floor both at 0.01. :math:`a_i` measures how noisy country *i* is as a
   reporter of exports, :math:`b_j` as a reporter of imports.
3. **Combination.** With report variances :math:`\sigma^2_{E,i} = a_i^2` and
   :math:`\sigma^2_{M,j} = b_j^2`, the variance-minimising combination is
   :math:`V_{ijt} = w_{ij} X_{ijt} + (1 - w_{ij}) M^{FOB}_{ijt}`,
   :math:`w_{ij} = \sigma^2_{M,j} / (\sigma^2_{E,i} + \sigma^2_{M,j})`.
4. Where only one side reports, its (FOB) report is the value.

``importer_first`` takes :math:`M^{FOB}` where the importer reports, else :math:`X`;
``exporter_first`` the reverse. Only annual (``freq == "A"``) HS exports (``X``) and imports
(``M``) between countries (no 'nes' areas, no reporter == partner) enter; where a reporter
publishes several HS revisions for a year, the latest is used.

Examples
--------
>>> import pandas as pd
>>> flows = pd.DataFrame({
...     "classification": "HS", "classification_version": "H5", "freq": "A", "year": 2019,
...     "reporter": ["KAZ", "CHN"], "partner": ["CHN", "KAZ"], "flow": ["X", "M"],
...     "cmd_code": "TOTAL", "value_usd": [100.0, 110.0],
...     "reporter_is_nes": False, "partner_is_nes": False})
>>> out = reconcile(flows, method="exporter_first")
>>> out[["exporter", "importer", "value_usd", "source"]].values.tolist()
[['KAZ', 'CHN', 100.0, 'both']]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import polars as pl
import scipy.sparse as sp
from scipy.sparse.linalg import lsqr

from ca_trade import facts
from ca_trade._synthetic import frame_is_synthetic, mark
from ca_trade.etl.lock import dataset_lock
from ca_trade.etl.paths import resolve
from ca_trade.etl.sectors import LEVELS, sector_frame
from ca_trade.etl.store import dataset_is_synthetic, read_manifest
from ca_trade.exceptions import DataValidationError, SpecificationError

__all__ = ["METHODS", "RECONCILED_COLUMNS", "cif_margins", "reconcile", "reliability"]

METHODS: tuple[str, ...] = ("baci", "importer_first", "exporter_first")
RECONCILED_COLUMNS: list[str] = [
    "exporter",
    "importer",
    "year",
    "sector",
    "value_usd",
    "source",
    "value_exporter",
    "value_importer_fob",
]
_CIF_CAP = 0.2
_KEY = ["exporter", "importer", "year", "sector"]


_NEEDED = [
    "classification",
    "classification_version",
    "freq",
    "year",
    "reporter",
    "partner",
    "flow",
    "cmd_code",
    "value_usd",
    "reporter_is_nes",
    "partner_is_nes",
]


def _load(flows: str | Path | pd.DataFrame | pl.DataFrame, classification: str) -> pl.LazyFrame:
    if isinstance(flows, (pd.DataFrame, pl.DataFrame)):
        lacking = [c for c in _NEEDED if c not in flows.columns]
        if lacking:
            raise DataValidationError(
                f"flow records lack columns {lacking}; pass the canonical records written by "
                "ca_trade.etl.ingest (see docs/etl.md)"
            )
        return (pl.from_pandas(flows) if isinstance(flows, pd.DataFrame) else flows).lazy()
    root = Path(flows)
    part = root / "flows" / f"classification={classification}"
    if not part.is_dir():
        raise DataValidationError(_no_flows(root, classification))
    return pl.scan_parquet(part / "**" / "*.parquet", hive_partitioning=True).with_columns(
        pl.lit(classification).alias("classification")
    )


def _no_flows(root: Path, classification: str) -> str:
    """Why `root` holds no flows of `classification`: no ingest yet, or what the last one did."""
    manifest = read_manifest(root)
    if not manifest:
        return (
            f"no {classification} flows under {root / 'flows'}: no ingest has written {root} "
            f"(it has no manifest.json); run ca_trade.etl.ingest (ca-trade ingest RAW_DIR {root}) "
            "first"
        )
    if manifest.get("problem"):
        return (
            f"no {classification} flows under {root / 'flows'}: the last ingest into {root} "
            f"wrote none ({manifest['problem']})"
        )
    present = sorted(
        p.name.split("=", 1)[1] for p in (root / "flows").glob("classification=*") if p.is_dir()
    )
    return (
        f"no {classification} flows under {root / 'flows'}; the last ingest wrote "
        f"{', '.join(present) or 'no'} flows: pass classification= one of them"
    )


def _all_reports(
    lf: pl.LazyFrame, classification: str, levels: list[str], years: Sequence[int] | None
) -> pd.DataFrame:
    if years is not None:
        lf = lf.filter(pl.col("year").is_in(list(years)))
    return pl.concat([_reports(lf, classification, lv) for lv in levels]).to_pandas()


def _reports(lf: pl.LazyFrame, classification: str, level: str) -> pl.DataFrame:
    lf = lf.filter(
        (pl.col("classification") == classification)
        & (pl.col("freq") == "A")
        & pl.col("flow").is_in(["X", "M"])
        & ~pl.col("reporter_is_nes").fill_null(False)
        & ~pl.col("partner_is_nes").fill_null(False)
        & (pl.col("reporter") != pl.col("partner"))
    )
    latest = pl.col("classification_version").max().over("reporter", "year", "flow")
    lf = lf.filter(pl.col("classification_version") == latest)
    group = ["reporter", "partner", "year", "flow"]
    return sector_frame(lf.select(*group, "cmd_code", "value_usd"), level, group).collect()


def cif_margins(pairs: pd.DataFrame, ratios: pd.DataFrame) -> pd.Series:
    """Estimate CIF/FOB margins from distance, contiguity and landlockedness.

    Parameters
    ----------
    pairs : pandas.DataFrame
        ``exporter, importer, dist_km, contig, landlocked_exp, landlocked_imp``: the pairs
        to predict for (covariates may be missing: the mean margin is used).
    ratios : pandas.DataFrame
        ``exporter, importer, ratio`` (= CIF import report / FOB export report) for pairs
        reported by both sides.

    Returns
    -------
    pandas.Series
        Margin in [0, 0.2] for each row of ``pairs`` (same index).

    Examples
    --------
    >>> pairs = pd.DataFrame({"exporter": ["A"], "importer": ["B"], "dist_km": [1000.0],
    ...     "contig": [0], "landlocked_exp": [0], "landlocked_imp": [0]})
    >>> float(cif_margins(pairs, pd.DataFrame({"exporter": ["A"], "importer": ["B"],
    ...     "ratio": [1.08]})).round(3).iloc[0])
    0.08
    """
    cols = ["dist_km", "contig", "landlocked_exp", "landlocked_imp"]

    def design(df: pd.DataFrame) -> np.ndarray:
        ld = np.log(df["dist_km"].astype(float).clip(lower=1.0).to_numpy())
        return np.column_stack(
            [np.ones(len(df)), ld, ld**2, *(df[c].astype(float).to_numpy() for c in cols[1:])]
        )

    r = ratios.merge(pairs, on=["exporter", "importer"], how="left")
    r = r[(r["ratio"] > 0.2) & (r["ratio"] < 5.0)]
    y_all = np.log(r["ratio"].to_numpy()) if len(r) else np.zeros(0)
    fallback = float(np.clip(np.expm1(np.median(y_all)), 0.0, _CIF_CAP)) if len(r) else 0.0
    r = r.dropna(subset=cols)
    out = pd.Series(fallback, index=pairs.index, dtype=float)
    if len(r) < 12:
        return out
    X = design(r)
    y = np.log(r["ratio"].to_numpy())
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    ok = pairs[cols].notna().all(axis=1)
    if ok.any():
        pred = design(pairs.loc[ok]) @ beta
        out.loc[ok] = np.clip(np.expm1(pred), 0.0, _CIF_CAP)
    return out


def reliability(both: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Estimate reporter reliability from mirror discrepancies.

    Parameters
    ----------
    both : pandas.DataFrame
        ``exporter, importer, year, value_exporter, value_importer_fob`` for flows reported
        by both sides (positive values).

    Returns
    -------
    tuple of pandas.Series
        Exporter effects :math:`a_i` and importer effects :math:`b_j` (indexed by ISO3),
        floored at 0.01; larger means less reliable.

    Examples
    --------
    >>> df = pd.DataFrame({"exporter": list("ABAB"), "importer": list("BABA"),
    ...     "year": [1, 1, 2, 2], "value_exporter": [1.0, 1.0, 1.0, 1.0],
    ...     "value_importer_fob": [1.5, 1.0, 1.5, 1.0]})
    >>> a, b = reliability(df)
    >>> sorted(a.index)
    ['A', 'B']
    """
    d = np.abs(np.log(both["value_exporter"].to_numpy() / both["value_importer_fob"].to_numpy()))
    ex = pd.Categorical(both["exporter"])
    im = pd.Categorical(both["importer"])
    yr = pd.Categorical(both["year"])
    n, ne, ni, nt = len(both), len(ex.categories), len(im.categories), len(yr.categories)
    rows = np.arange(n)
    blocks = [
        sp.csr_matrix((np.ones(n), (rows, ex.codes)), shape=(n, ne)),
        sp.csr_matrix((np.ones(n), (rows, im.codes)), shape=(n, ni)),
    ]
    if nt > 1:
        codes = yr.codes.astype(np.int64)
        keep = codes > 0
        blocks.append(
            sp.csr_matrix((np.ones(keep.sum()), (rows[keep], codes[keep] - 1)), shape=(n, nt - 1))
        )
    A = sp.hstack(blocks).tocsr()
    constraint = np.zeros(A.shape[1])
    constraint[:ne] = 1.0 / ne
    constraint[ne : ne + ni] = -1.0 / ni
    scale = np.sqrt(max(n, 1))
    A = sp.vstack([A, sp.csr_matrix(constraint * scale)]).tocsr()
    rhs = np.concatenate([d, [0.0]])
    sol = lsqr(A, rhs, atol=1e-10, btol=1e-10, iter_lim=10_000)[0]
    if nt > 1:
        # Move the mean year effect into the country effects (split equally).
        shift = np.mean(np.concatenate([[0.0], sol[ne + ni :]])) / 2.0
    else:
        shift = 0.0
    a = pd.Series(np.maximum(sol[:ne] + shift, 0.01), index=ex.categories.astype(str))
    b = pd.Series(np.maximum(sol[ne : ne + ni] + shift, 0.01), index=im.categories.astype(str))
    return a, b


def _covariates(pairs: pd.DataFrame, covariates: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["exporter", "importer", "dist_km", "contig", "landlocked_exp", "landlocked_imp"]
    if covariates is None:
        known = set(facts.countries()["iso3"])
        isos = sorted((set(pairs["exporter"]) | set(pairs["importer"])) & known)
        if not isos:
            return pairs.assign(**{c: np.nan for c in cols[2:]})
        yrs = sorted(set(pairs["year"]))[:1]
        covariates = facts.pair_covariates(isos, yrs)
    lacking = [c for c in cols if c not in covariates.columns]
    if lacking:
        raise DataValidationError(f"covariates lack columns {lacking} needed by the CIF model")
    cov = covariates[cols].drop_duplicates(["exporter", "importer"])
    return pairs.merge(cov, on=["exporter", "importer"], how="left")


def reconcile(
    processed: str | Path | pd.DataFrame | pl.DataFrame,
    method: Literal["baci", "importer_first", "exporter_first"] = "baci",
    *,
    sectors: str | Sequence[str] = "total",
    classification: str = "HS",
    years: Sequence[int] | None = None,
    covariates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Reconcile mirror reports into one FOB value per exporter, importer, year and sector.

    Parameters
    ----------
    processed : str, Path or DataFrame
        The ``processed_dir`` written by :func:`ca_trade.etl.ingest` (relative paths,
        ``..`` and symbolic links are resolved once, here; it is read under a shared lock,
        so never while an ingest replaces it), or canonical flow records as a
        pandas/polars DataFrame.
    method : {"baci", "importer_first", "exporter_first"}, default "baci"
        See the module docstring for the equations.
    sectors : str or sequence of str, default "total"
        ``total``, ``section`` (HS sections ``S01``..``S21``), ``chapter`` (``01``..``97``),
        or several of them (stacked).
    classification : str, default "HS"
        Classification family to read.
    years : sequence of int, optional
        Restrict to these years.
    covariates : pandas.DataFrame, optional
        Pair covariates (``exporter, importer, dist_km, contig, landlocked_exp,
        landlocked_imp``) for the CIF model; default :func:`ca_trade.facts.pair_covariates`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RECONCILED_COLUMNS`, sorted by exporter, importer, year, sector.
        ``value_exporter`` is the exporter's FOB report, ``value_importer_fob`` the importer's
        report net of the estimated CIF margin (NaN where a side did not report).
        ``attrs["synthetic"]`` is True when the flows are the SYNTHETIC sample (the dataset's
        manifest says so, or the input frame's own ``attrs``); it travels on to
        :func:`ca_trade.etl.build_panel`, the estimates and every table built from them.

    Raises
    ------
    SpecificationError
        For an unknown method or sector level.

    Examples
    --------
    >>> flows = pd.DataFrame({
    ...     "classification": "HS", "classification_version": "H5", "freq": "A",
    ...     "year": 2019, "reporter": ["TKM"], "partner": ["KAZ"], "flow": ["M"],
    ...     "cmd_code": "TOTAL", "value_usd": [50.0],
    ...     "reporter_is_nes": False, "partner_is_nes": False})
    >>> reconcile(flows, "importer_first")[["exporter", "source"]].values.tolist()
    [['KAZ', 'importer_only']]
    """
    if method not in METHODS:
        raise SpecificationError(f"method {method!r} is not one of {METHODS}")
    levels = [sectors] if isinstance(sectors, str) else list(sectors)
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise SpecificationError(f"sector levels {bad} are not among {LEVELS}")
    if isinstance(processed, (pd.DataFrame, pl.DataFrame)):
        rep = _all_reports(_load(processed, classification), classification, levels, years)
        synthetic = frame_is_synthetic(processed)
    else:
        root = resolve(processed)
        with dataset_lock(root, shared=True, purpose="ca_trade reconcile"):
            rep = _all_reports(_load(root, classification), classification, levels, years)
            synthetic = dataset_is_synthetic(root)
    return mark(_combine(rep, method, covariates), synthetic)


def _combine(rep: pd.DataFrame, method: str, covariates: pd.DataFrame | None) -> pd.DataFrame:
    """Mirror the reports into one value per exporter, importer, year and sector."""
    if rep.empty:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in RECONCILED_COLUMNS})
    x = rep[rep["flow"] == "X"].rename(
        columns={"reporter": "exporter", "partner": "importer", "value_usd": "value_exporter"}
    )
    m = rep[rep["flow"] == "M"].rename(
        columns={"reporter": "importer", "partner": "exporter", "value_usd": "value_importer"}
    )
    df = x.drop(columns="flow").merge(m.drop(columns="flow"), on=_KEY, how="outer")
    df["year"] = df["year"].astype("int64")

    pairs = df[["exporter", "importer", "year"]].drop_duplicates(["exporter", "importer"])
    pairs = _covariates(pairs, covariates).reset_index(drop=True)
    both_tot = df[
        (df["value_exporter"] > 0) & (df["value_importer"] > 0) & (df["sector"] == "TOTAL")
    ]
    if both_tot.empty:
        both_tot = df[(df["value_exporter"] > 0) & (df["value_importer"] > 0)]
    ratios = both_tot.assign(ratio=both_tot["value_importer"] / both_tot["value_exporter"])
    pairs["cif_margin"] = cif_margins(pairs, ratios[["exporter", "importer", "ratio"]])
    df = df.merge(pairs[["exporter", "importer", "cif_margin"]], on=["exporter", "importer"])
    df["value_importer_fob"] = df["value_importer"] / (1.0 + df["cif_margin"])

    has_x = df["value_exporter"].notna()
    has_m = df["value_importer_fob"].notna()
    df["source"] = np.where(
        has_x & has_m, "both", np.where(has_x, "exporter_only", "importer_only")
    )
    if method == "exporter_first":
        value = df["value_exporter"].where(has_x, df["value_importer_fob"])
    elif method == "importer_first":
        value = df["value_importer_fob"].where(has_m, df["value_exporter"])
    else:
        pos = has_x & has_m & (df["value_exporter"] > 0) & (df["value_importer_fob"] > 0)
        w = pd.Series(0.5, index=df.index)
        if pos.sum() >= 3:
            a, b = reliability(df.loc[pos])
            sa = df["exporter"].map(a).fillna(a.median()).to_numpy() ** 2
            sb = df["importer"].map(b).fillna(b.median()).to_numpy() ** 2
            w = pd.Series(sb / (sa + sb), index=df.index)
        combined = w * df["value_exporter"] + (1.0 - w) * df["value_importer_fob"]
        value = combined.where(has_x & has_m, df["value_exporter"].where(has_x))
        value = value.where(has_x, df["value_importer_fob"])
    df["value_usd"] = value.astype(float)
    return df[RECONCILED_COLUMNS].sort_values(_KEY).reset_index(drop=True)


def _dtype(col: str) -> str:
    if col == "year":
        return "int64"
    if col.startswith("value"):
        return "float64"
    return "object"
