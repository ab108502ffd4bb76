"""A stand-in for GravityResults implementing the results protocol (test double).

``ca_trade._typing.EstimationResult`` is the interface; :func:`test_fake_is_a_result` in
``test_tables.py`` checks that this double implements it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class FakeDropped:
    """Dropped rows counted by reason."""

    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FakeResult:
    """The results protocol (ca_trade._typing.EstimationResult), with fixed numbers."""

    params: pd.Series
    bse: pd.Series
    nobs: int
    model: str = "ppml"
    formula: str = ""
    depvar: str = "value_usd"
    fixef_vars: tuple[str, ...] = ()
    vcov_type: str = "CRV1: pair"
    ssc: str = "stata"
    tol: float = 1e-8
    pseudo_r2: float | None = None
    r2: float | None = None
    converged: bool = True
    n_iter: int = 7
    dropped: FakeDropped = field(default_factory=FakeDropped)
    provenance: dict[str, Any] = field(default_factory=dict)
    correction: str = ""

    @property
    def vcov(self) -> pd.DataFrame:
        names = self.params.index
        return pd.DataFrame(np.diag(self.bse.to_numpy() ** 2), index=names, columns=names)

    @property
    def tvalues(self) -> pd.Series:
        return self.params / self.bse

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * stats.norm.sf(np.abs(self.tvalues)), index=self.params.index)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        z = stats.norm.ppf(1 - alpha / 2)
        return pd.DataFrame(
            {"lower": self.params - z * self.bse, "upper": self.params + z * self.bse}
        )

    def with_vcov(self, vcov: Any, ssc: Any = None, *, data: Any = None) -> FakeResult:
        return FakeResult(
            params=self.params,
            bse=self.bse * 2,
            nobs=self.nobs,
            model=self.model,
            depvar=self.depvar,
            fixef_vars=self.fixef_vars,
            vcov_type=f"{vcov}",
            ssc=self.ssc,
            pseudo_r2=self.pseudo_r2,
            r2=self.r2,
        )


def two_models(synthetic: bool = False) -> list[FakeResult]:
    """A two-way FE PPML and a three-way FE PPML, as in the AGTPA tables."""
    prov = {"formula": "value_usd ~ ln_dist + contig | exporter^year + importer^year"}
    if synthetic:
        prov["synthetic"] = True
    m1 = FakeResult(
        params=pd.Series({"ln_dist": -0.841, "contig": 0.437, "comlang": 0.247, "clny": -0.222}),
        bse=pd.Series({"ln_dist": 0.032, "contig": 0.083, "comlang": 0.077, "clny": 0.116}),
        nobs=28152,
        fixef_vars=("exporter^year", "importer^year"),
        pseudo_r2=0.9123,
        dropped=FakeDropped({"missing": 3, "singleton": 2, "separation_fe": 0}),
        provenance=prov,
    )
    m2 = FakeResult(
        params=pd.Series({"rta": 0.5571853, "ln_tariff": -5.1}),
        bse=pd.Series({"rta": 0.055771, "ln_tariff": 1.9}),
        nobs=28482,
        fixef_vars=("exporter^year", "importer^year", "pair"),
        vcov_type="hetero",
        pseudo_r2=0.99871,
        provenance={
            "formula": "value_usd ~ rta + ln_tariff | exporter^year + importer^year + pair"
        },
    )
    return [m1, m2]


def ols_model() -> FakeResult:
    return FakeResult(
        params=pd.Series({"ln_dist": -1.2, "rta": 0.3}),
        bse=pd.Series({"ln_dist": 0.1, "rta": 0.2}),
        nobs=1000,
        model="ols",
        depvar="log_trade",
        fixef_vars=("exporter^year",),
        vcov_type="iid",
        r2=0.71,
    )
