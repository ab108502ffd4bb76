"""fixest's documented two-way clustered standard error, reproduced under ``ssc="fixest"``.

fixest vignette "On standard-errors" (Bergé, fixest >= 0.10; https://lrberge.github.io/fixest/
articles/standard_errors.html), first example::

    gravity = feols(log(Euros) ~ log(dist_km) | Destination + Origin + Product + Year, trade)
    summary(gravity, vcov = "twoway")
    #> Observations: 38,325
    #> log(dist_km) -2.1699 0.171367 -12.662

``vcov = "twoway"`` clusters by the first two fixed effects (Destination, Origin), which are
then nested in the clusters; fixest's defaults ``fixef.K = "nested"`` and
``cluster.df = "min"`` give the printed standard error. The data are fixest's ``trade``
(Eurostat), in ``eurostat_trade/trade.parquet`` of the reference directory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ca_trade as ct
from tests.conftest import require_reference

pytestmark = pytest.mark.reference


def test_fixest_vignette_two_way_clustered_standard_error() -> None:
    d = pd.read_parquet(require_reference("eurostat_trade", "trade.parquet"))
    d = d[d["Euros"] > 0].reset_index(drop=True)
    res = ct.ols(
        "log(Euros) ~ log(dist_km) | Destination + Origin + Product + Year",
        d,
        vcov={"CRV1": "Destination+Origin"},
        ssc="fixest",
    )
    assert res.nobs == 38_325
    assert round(float(res.params.iloc[0]), 4) == -2.1699
    assert round(float(res.bse.iloc[0]), 6) == 0.171367
    assert round(float(res.tvalues.iloc[0]), 3) == -12.662
    assert np.isfinite(res.pvalues).all()
