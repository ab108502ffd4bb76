"""Which fixed effect is which in a gravity panel, read from the fixed-effect codes alone.

Weidner & Zylkin's corrections need the panel's exporters ``i``, importers ``j`` and periods
``t``, and which fixed effect is ``it``, ``jt`` and ``ij``, whatever the columns are called.
They follow from the codes: two fixed effects of a three-way gravity model share exactly one
index, and the connected components of the bipartite graph between their levels are that
index's values (exporter-time and importer-time levels connect through observations ``ijt``
within each ``t``; exporter-time and pair levels through exporter ``i``). A three-way
structure is accepted when every fixed effect is, level for level, the product of the two
indices it shares with the others and no two observations share all three indices.
Three indices are symmetric in the codes; the *time* index is the one with the fewest values
(the dimension held fixed in the asymptotics), or, where the fit was clustered on one of the
fixed effects, the index that fixed effect lacks (clustering is by pair).

Two-way models (exporter-time and importer-time effects) have no pair effect; the pair comes
from the cluster variable, which must then be the pair (``i x j``).

Examples
--------
>>> import numpy as np
>>> from ca_trade.estimate.structure import detect_gravity_panel
>>> i, j, t = np.meshgrid(np.arange(4), np.arange(4), np.arange(3), indexing="ij")
>>> i, j, t = i.ravel(), j.ravel(), t.ravel()
>>> p = detect_gravity_panel([j * 10 + t, i * 10 + t, i * 10 + j])
>>> p.kind, p.n_exporters, p.n_importers, p.n_periods, p.roles
('three-way', 4, 4, 3, {'exporter-time': 0, 'importer-time': 1, 'pair': 2})
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ca_trade._typing import IntArray
from ca_trade.exceptions import SpecificationError

__all__ = ["SUPPORTED", "GravityPanel", "detect_gravity_panel"]


#: What the bias corrections accept, for error messages.
SUPPORTED = (
    "supported: three-way PPML with exporter-time, importer-time and exporter-importer (pair) "
    "fixed effects, and two-way PPML with exporter-time and importer-time fixed effects on a "
    "panel of at least two periods, clustered by pair"
)


@dataclass(frozen=True)
class GravityPanel:
    """The index structure of a gravity panel (dense codes per observation).

    Attributes
    ----------
    kind : {"three-way", "two-way"}
    exporter, importer, time, pair : ndarray of int
        Dense codes per observation of the estimation sample; exporters, importers and
        periods are numbered in the order they first appear in the sample.
    exporter_time, importer_time : ndarray of int
        The corresponding fixed effects' dense codes.
    roles : dict of str to int
        Position in the formula's fixed effects of ``"exporter-time"``, ``"importer-time"``
        and (three-way) ``"pair"``. The codes cannot tell exporters from importers, and the
        corrections are symmetric in them: the country-time effect written first in the
        formula is called exporter-time.
    """

    kind: Literal["three-way", "two-way"]
    exporter: IntArray
    importer: IntArray
    time: IntArray
    pair: IntArray
    exporter_time: IntArray
    importer_time: IntArray
    roles: dict[str, int]

    @property
    def n_exporters(self) -> int:
        """Number of exporters."""
        return int(self.exporter.max()) + 1

    @property
    def n_importers(self) -> int:
        """Number of importers."""
        return int(self.importer.max()) + 1

    @property
    def n_periods(self) -> int:
        """Number of periods."""
        return int(self.time.max()) + 1

    @property
    def n_pairs(self) -> int:
        """Number of exporter-importer pairs."""
        return int(self.pair.max()) + 1


def _dense(codes: npt.ArrayLike) -> IntArray:
    k, _ = pd.factorize(np.asarray(codes), sort=True)
    return k.astype(np.int64)


def _shared_index(a: IntArray, b: IntArray) -> IntArray:
    """Per observation: the connected component of the bipartite level graph of ``a``, ``b``."""
    na, nb = int(a.max()) + 1, int(b.max()) + 1
    g = sp.coo_matrix((np.ones(a.shape[0]), (a, b + na)), shape=(na + nb, na + nb)).tocsr()
    lab = connected_components(g, directed=False)[1]
    codes, _ = pd.factorize(lab[a], sort=False)  # numbered in order of first appearance
    return codes.astype(np.int64)


def _is_product(fe: IntArray, u: IntArray, v: IntArray) -> bool:
    """Whether the levels of ``fe`` are one-to-one the observed combinations of ``u``, ``v``."""
    combo = _dense(u * (int(v.max()) + 1) + v)
    if int(fe.max()) != int(combo.max()):
        return False
    image = np.empty(int(fe.max()) + 1, dtype=np.int64)
    image[fe] = combo
    return bool(np.array_equal(image[fe], combo))


def _unique_rows(*cols: IntArray) -> bool:
    frame = pd.DataFrame({str(k): c for k, c in enumerate(cols)})
    return not bool(frame.duplicated().any())


def detect_gravity_panel(
    fe_codes: Sequence[npt.ArrayLike], cluster: npt.ArrayLike | None = None
) -> GravityPanel:
    """Identify a three-way or two-way gravity structure from fixed-effect codes.

    Parameters
    ----------
    fe_codes : sequence of array_like
        The fixed effects of the fit (estimation sample), in formula order.
    cluster : array_like, optional
        The fit's cluster variable: required for two-way models (it must be the pair); for
        three-way models a cluster equal to one of the fixed effects marks it as the pair.

    Returns
    -------
    GravityPanel

    Raises
    ------
    SpecificationError
        If the fixed effects are not one of the supported structures.

    Examples
    --------
    >>> import numpy as np
    >>> i, j, t = np.meshgrid(np.arange(3), np.arange(3), np.arange(2), indexing="ij")
    >>> i, j, t = i.ravel(), j.ravel(), t.ravel()
    >>> detect_gravity_panel([i * 10 + t, j * 10 + t], cluster=i * 10 + j).kind
    'two-way'
    """
    codes = [_dense(c) for c in fe_codes]
    cl = None if cluster is None else _dense(cluster)
    if len(codes) == 3:
        return _three_way(codes, cl)
    if len(codes) == 2:
        return _two_way(codes, cl)
    raise SpecificationError(f"the fit has {len(codes)} fixed effect(s); {SUPPORTED}")


def _three_way(codes: list[IntArray], cl: IntArray | None) -> GravityPanel:
    f0, f1, f2 = codes
    idx = {
        (0, 1): _shared_index(f0, f1),
        (0, 2): _shared_index(f0, f2),
        (1, 2): _shared_index(f1, f2),
    }
    members = {0: ((0, 1), (0, 2)), 1: ((0, 1), (1, 2)), 2: ((0, 2), (1, 2))}
    ok = all(_is_product(codes[k], idx[a], idx[b]) for k, (a, b) in members.items())
    if not ok or not _unique_rows(*idx.values()):
        raise SpecificationError(
            "the three fixed effects are not exporter-time, importer-time and pair effects of "
            "one exporter x importer x time panel (each must pair two of three indices); "
            + SUPPORTED
        )
    pair_fe = -1
    if cl is not None:
        same = np.zeros_like(cl)
        hits = [k for k in range(3) if _is_product(codes[k], cl, same)]
        pair_fe = hits[0] if len(hits) == 1 else -1
    if pair_fe < 0:
        sizes = {key: int(v.max()) + 1 for key, v in idx.items()}
        smallest = min(sizes.values())
        short = [key for key, s in sizes.items() if s == smallest]
        if len(short) > 1:
            raise SpecificationError(
                "cannot tell the time dimension from the pairs: two indices have "
                f"{smallest} values each; fit with vcov={{'CRV1': <pair fixed effect>}} to "
                "mark the pair effect"
            )
        pair_fe = ({0, 1, 2} - set(short[0])).pop()
    time_key = tuple(sorted({0, 1, 2} - {pair_fe}))
    time = idx[time_key]  # type: ignore[index]
    a, b = time_key
    exp_key = tuple(sorted((a, pair_fe)))
    imp_key = tuple(sorted((b, pair_fe)))
    if int(time.max()) + 1 < 2:
        raise SpecificationError(f"the panel has one period only; {SUPPORTED}")
    return GravityPanel(
        kind="three-way",
        exporter=idx[exp_key],  # type: ignore[index]
        importer=idx[imp_key],  # type: ignore[index]
        time=time,
        pair=codes[pair_fe],
        exporter_time=codes[a],
        importer_time=codes[b],
        roles={"exporter-time": a, "importer-time": b, "pair": pair_fe},
    )


def _two_way(codes: list[IntArray], cl: IntArray | None) -> GravityPanel:
    if cl is None:
        raise SpecificationError(
            "a two-way model has no pair fixed effect: fit it clustered by pair "
            f"(vcov={{'CRV1': <pair column>}}) so the pairs are known; {SUPPORTED}"
        )
    f0, f1 = codes
    time = _shared_index(f0, f1)
    exporter = _shared_index(f0, cl)
    importer = _shared_index(f1, cl)
    ok = (
        _is_product(f0, time, exporter)
        and _is_product(f1, time, importer)
        and _is_product(cl, exporter, importer)
        and _unique_rows(time, exporter, importer)
    )
    if not ok:
        raise SpecificationError(
            "the two fixed effects and the cluster variable are not exporter-time, "
            f"importer-time and pair of one panel; {SUPPORTED}"
        )
    if int(time.max()) + 1 < 2:
        raise SpecificationError(f"the panel has one period only; {SUPPORTED}")
    return GravityPanel(
        kind="two-way",
        exporter=exporter,
        importer=importer,
        time=time,
        pair=cl,
        exporter_time=f0,
        importer_time=f1,
        roles={"exporter-time": 0, "importer-time": 1},
    )
