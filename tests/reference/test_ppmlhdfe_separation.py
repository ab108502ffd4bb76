"""Separation detection against ppmlhdfe's 18 test datasets (Correia, Guimarães & Zylkin).

Source: the separation test suite published with ppmlhdfe (MIT licence;
https://github.com/sergiocorreia/ppmlhdfe, ``test/separation_datasets``), read from
``CA_TRADE_REFERENCE/ppmlhdfe_separation/NN.csv``. Each file has an outcome ``y``, regressors
``x*``, fixed-effect identifiers ``id*`` and a ground-truth column ``separated`` (1 for the
observations whose Poisson MLE is at infinity). Models without ``id*`` columns have a constant.

The ground truth is the mathematical definition of separation, which knows nothing about
singletons, so the exact comparisons run with singleton removal off. Tolerance: none — the set
of flagged rows must equal the published set exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ca_trade.estimate.separation import find_separated, rectifier_separation
from tests.conftest import require_reference

pytestmark = pytest.mark.reference

DATASETS = [f"{i:02d}.csv" for i in range(1, 19)]


def _load(name: str) -> tuple[np.ndarray, np.ndarray | None, list[np.ndarray], np.ndarray]:
    df = pd.read_csv(require_reference("ppmlhdfe_separation", name))
    xs = [c for c in df.columns if c.startswith("x")]
    ids = [c for c in df.columns if c.startswith("id")]
    x = df[xs].to_numpy(dtype=float) if xs else None
    codes = [pd.factorize(df[c])[0] for c in ids]
    return df["y"].to_numpy(dtype=float), x, codes, df["separated"].to_numpy().astype(bool)


@pytest.mark.parametrize("name", DATASETS)
def test_fe_and_rectifier_flag_exactly_the_published_rows(name: str) -> None:
    y, x, codes, truth = _load(name)
    res = find_separated(y, x, codes, singletons=False)
    flagged = np.flatnonzero(res.separated).tolist()
    assert flagged == np.flatnonzero(truth).tolist()  # exact set equality
    assert res.keep.tolist() == (~truth).tolist()


@pytest.mark.parametrize("name", DATASETS)
def test_rectifier_alone_is_complete(name: str) -> None:
    # the iterated rectifier also finds separation by fixed effects (CGZ 2021, section 4)
    y, x, codes, truth = _load(name)
    flagged = rectifier_separation(y, x, codes)
    assert np.flatnonzero(flagged).tolist() == np.flatnonzero(truth).tolist()


@pytest.mark.parametrize("name", DATASETS)
def test_with_singletons_every_separated_row_is_dropped(name: str) -> None:
    # with singleton removal on (the estimator default), a separated row may be dropped as a
    # singleton first, but every published separated row is dropped and no other row is
    # flagged as separated
    y, x, codes, truth = _load(name)
    res = find_separated(y, x, codes)
    assert not (res.separated & ~truth).any()
    assert not (truth & res.keep).any()
