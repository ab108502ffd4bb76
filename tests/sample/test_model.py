"""The data-generating process of the SYNTHETIC sample: the documented gravity model."""

from __future__ import annotations

import numpy as np
import pytest

from tests.sample.helpers import ppml_fe


def test_gravity_means_give_the_documented_coefficients_exactly() -> None:
    # The structural-gravity means (before noise) are exactly log-linear in the covariates with
    # exporter-year and importer-year terms, so PPML recovers the coefficients to 1e-6.
    from ca_trade.sample.model import COEFFICIENTS, simulate_truth

    t = simulate_truth(np.random.default_rng(5), [2019])
    d = t.expected_total.merge(t.covariates, on=["exporter", "importer", "year"])
    cols = ["ln_dist", "contig", "comlang", "intl", "rta", "ln_tariff"]
    params = ppml_fe(d, "mu_usd", cols)
    for name in cols:
        assert params[name] == pytest.approx(COEFFICIENTS[name], abs=1e-6), name
