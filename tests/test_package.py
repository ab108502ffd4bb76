"""The package imports fast, lazily, and exposes its warning/error hierarchy."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

import ca_trade
from ca_trade import exceptions


def test_version_is_a_string() -> None:
    assert isinstance(ca_trade.__version__, str)
    assert ca_trade.__version__[0].isdigit()


def test_import_is_lazy() -> None:
    code = (
        "import sys, ca_trade; "
        "heavy = [m for m in ('pandas', 'numba', 'polars', 'matplotlib', 'statsmodels') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_unknown_attribute_raises() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        _ = ca_trade.nonexistent  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "cls",
    [
        exceptions.SeparationWarning,
        exceptions.SingletonWarning,
        exceptions.CollinearityWarning,
        exceptions.ConvergenceWarning,
        exceptions.DataValidationWarning,
        exceptions.ProvenanceWarning,
    ],
)
def test_warnings_share_one_base_and_can_be_filtered(cls: type[Warning]) -> None:
    assert issubclass(cls, exceptions.CaTradeWarning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", exceptions.CaTradeWarning)
        warnings.warn("x", cls, stacklevel=1)
    assert caught == []


@pytest.mark.parametrize(
    "cls",
    [
        exceptions.DataValidationError,
        exceptions.SpecificationError,
        exceptions.ConvergenceError,
        exceptions.GEError,
        exceptions.MissingDomesticFlowsError,
        exceptions.ConfigError,
    ],
)
def test_errors_share_one_base(cls: type[Exception]) -> None:
    assert issubclass(cls, exceptions.CaTradeError)
