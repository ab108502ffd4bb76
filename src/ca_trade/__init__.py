"""ca_trade: regional trade gravity econometrics on Central Asia.

The public surface is small:

- :func:`ca_trade.ppml` and :func:`ca_trade.ols`: gravity estimation with
  high-dimensional fixed effects;
- :func:`ca_trade.etable`: publication tables of several results;
- :mod:`ca_trade.etl`: UN Comtrade files to a validated bilateral panel;
- :mod:`ca_trade.ge`: exact general-equilibrium counterfactuals;
- :mod:`ca_trade.sample`: the embedded, **synthetic** Central Asia dataset;
- :mod:`ca_trade.exceptions`: warning and error classes.

Heavy submodules are imported lazily so ``import ca_trade`` stays fast.

Examples
--------
>>> import ca_trade as ct
>>> isinstance(ct.__version__, str)
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ca_trade import exceptions
from ca_trade._version import __version__

__all__ = [
    "__version__",
    "estimate",
    "etable",
    "etl",
    "exceptions",
    "ge",
    "ols",
    "ppml",
    "report",
    "sample",
]

_LAZY_MODULES = {"etl", "ge", "sample", "report", "estimate"}
_LAZY_FUNCTIONS = {
    "ppml": "ca_trade.estimate",
    "ols": "ca_trade.estimate",
    "etable": "ca_trade.report",
}

if TYPE_CHECKING:  # pragma: no cover
    from ca_trade import estimate, etl, ge, report, sample
    from ca_trade.estimate.ols import ols
    from ca_trade.estimate.ppml import ppml
    from ca_trade.report.tables import etable


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return importlib.import_module(f"ca_trade.{name}")
    if name in _LAZY_FUNCTIONS:
        module = importlib.import_module(_LAZY_FUNCTIONS[name])
        return getattr(module, name)
    raise AttributeError(f"module 'ca_trade' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
