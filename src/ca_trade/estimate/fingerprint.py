"""What a fit records about its data and options: the data's fingerprint and the provenance.

:func:`data_sha256` hashes the columns a fit reads (the formula's names, weights, offset and
cluster variables: :func:`hashed_columns`), so that ``with_vcov(..., data=df)`` can check that
``df`` is the data the model was fitted on; :func:`fingerprint_later` hashes large data on a
second thread while the fit runs; :func:`fit_provenance` is the record every result carries
(step 5 of :func:`ca_trade.estimate.model.fit`).

Examples
--------
>>> import pandas as pd
>>> from ca_trade.estimate.fingerprint import fingerprint
>>> fingerprint(pd.DataFrame({"y": [1.0], "x": [2.0]}), "y ~ x", []).n_rows
1
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd

from ca_trade._version import __version__
from ca_trade.estimate.state import DataFingerprint, Model

__all__ = [
    "data_sha256",
    "fingerprint",
    "fingerprint_later",
    "fit_provenance",
    "hashed_columns",
]


def hashed_columns(weights: Any, offset: Any, vcov: Any) -> list[str]:
    """Columns besides the formula's that a fit reads: weights, offset, cluster variables.

    Parameters
    ----------
    weights, offset : str, array_like or None
    vcov : str or dict

    Returns
    -------
    list of str

    Examples
    --------
    >>> hashed_columns("w", None, {"CRV1": "a + b"})
    ['w', 'a', 'b']
    """
    extra = [c for c in (weights, offset) if isinstance(c, str)]
    if isinstance(vcov, dict):
        extra += [s.strip() for s in next(iter(vcov.values())).split("+")]
    return extra


def data_sha256(df: pd.DataFrame, formula: str, extra: Sequence[str]) -> str:
    """Fingerprint of the columns a fit reads (the formula's names and ``extra``).

    Parameters
    ----------
    df : pandas.DataFrame
    formula : str
    extra : sequence of str
        See :func:`hashed_columns`.

    Returns
    -------
    str
        Hex sha256 over the names and values of those columns, in sorted order.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0], "x": [2.0], "z": [3.0]})
    >>> data_sha256(df, "y ~ x", []) == data_sha256(df.assign(z=0.0), "y ~ x", [])
    True
    """
    tokens = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", formula)) | set(extra)
    cols = sorted(c for c in df.columns if str(c) in tokens)
    h = hashlib.sha256()
    for c in cols:
        h.update(str(c).encode())
        h.update(pd.util.hash_pandas_object(df[c], index=False).to_numpy().tobytes())
    return h.hexdigest()


def fingerprint(df: pd.DataFrame, formula: str, extra: Sequence[str]) -> DataFingerprint:
    """Return the fingerprint of the data a fit reads: :func:`data_sha256` and the row count.

    The parameters are :func:`data_sha256`'s; the result is a :class:`DataFingerprint`.
    """
    return DataFingerprint(data_sha256(df, formula, extra), len(df), tuple(extra))


#: From this many rows the data are hashed on a second thread while the fit runs (hashlib and
#: numpy release the GIL, the compiled kernels too); below it the thread costs more than it saves.
_HASH_THREAD_ROWS = 100_000


def fingerprint_later(
    df: pd.DataFrame, formula: str, extra: Sequence[str]
) -> Callable[[], DataFingerprint]:
    """Start :func:`fingerprint` and return a function that waits for it.

    Large data are hashed on a second thread, so that the hash overlaps the fit where there
    is a second core; the result (and any error) is the same as :func:`fingerprint`'s.

    Parameters
    ----------
    df : pandas.DataFrame
    formula : str
    extra : sequence of str

    Returns
    -------
    callable
        Returns the :class:`DataFingerprint` (re-raising what the hashing raised).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 2.0], "x": [0.0, 1.0]})
    >>> fingerprint_later(df, "y ~ x", [])() == fingerprint(df, "y ~ x", [])
    True
    """
    if len(df) < _HASH_THREAD_ROWS:
        key = fingerprint(df, formula, extra)
        return lambda: key
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ca_trade-fingerprint")
    try:
        future = pool.submit(fingerprint, df, formula, extra)
    finally:
        pool.shutdown(wait=False)
    return future.result


def fit_provenance(
    model: Model,
    formula: str,
    data: DataFingerprint,
    nobs: int,
    options: dict[str, Any],
    *,
    synthetic: bool = False,
) -> dict[str, Any]:
    """Step 5: what was estimated, on which data, with which options and package version.

    Parameters
    ----------
    model : {"ppml", "ols"}
    formula : str
    data : DataFingerprint
    nobs : int
    options : dict
        The options as given (``weights``/``offset`` arrays are recorded as ``"<array>"``).
    synthetic : bool, default False
        Whether the data say they are SYNTHETIC (``DataFrame.attrs["synthetic"]``).

    Returns
    -------
    dict
        ``model``, ``formula``, ``options``, ``data_sha256``, ``package_version``,
        ``n_rows``, ``nobs``, ``synthetic``.
    """
    as_name = {
        k: (v if isinstance(v, str) or v is None else "<array>")
        for k, v in options.items()
        if k in ("weights", "offset")
    }
    return {
        "model": model,
        "formula": formula,
        "options": {**options, **as_name},
        "data_sha256": data.sha256,
        "package_version": __version__,
        "n_rows": data.n_rows,
        "nobs": nobs,
        "synthetic": bool(synthetic),
    }
