"""Warning and error classes of ca_trade.

Every warning derives from :class:`CaTradeWarning` and every error from
:class:`CaTradeError`, so users can filter them as a family::

    import warnings
    import ca_trade as ct
    warnings.simplefilter("ignore", ct.exceptions.SingletonWarning)

Examples
--------
>>> from ca_trade.exceptions import CaTradeWarning, SeparationWarning
>>> issubclass(SeparationWarning, CaTradeWarning)
True
"""

from __future__ import annotations

__all__ = [
    "CaTradeError",
    "CaTradeWarning",
    "CollinearityWarning",
    "ConfigError",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataValidationError",
    "DataValidationWarning",
    "DatasetBusyError",
    "DatasetBusyWarning",
    "DownloadError",
    "ElasticityWarning",
    "GEError",
    "MissingDomesticFlowsError",
    "MissingValuesWarning",
    "ProvenanceWarning",
    "SeparationWarning",
    "SingletonWarning",
    "SpecificationError",
    "SplitWarning",
    "UnsafePathError",
]


class CaTradeWarning(UserWarning):
    """Base class of every warning ca_trade emits."""


class SeparationWarning(CaTradeWarning):
    """Observations were dropped because they are separated (PPML estimates at infinity)."""


class SingletonWarning(CaTradeWarning):
    """Observations were dropped because they are alone in a fixed-effect level."""


class CollinearityWarning(CaTradeWarning):
    """Regressors were dropped because they are collinear with others or the fixed effects."""


class ConvergenceWarning(CaTradeWarning):
    """An iterative algorithm stopped at its iteration cap before meeting its tolerance."""


class DataValidationWarning(CaTradeWarning):
    """Input rows were quarantined or filtered; nothing was lost, but check the report."""


class MissingValuesWarning(DataValidationWarning):
    """Rows with missing or non-finite values were dropped before estimation (``res.dropped``)."""


class DatasetBusyWarning(CaTradeWarning):
    """Another process is writing the dataset; this one waits until it has finished."""


class ElasticityWarning(CaTradeWarning):
    """A trade elasticity given by hand contradicts the estimates a scenario is built from."""


class ProvenanceWarning(CaTradeWarning):
    """Provenance could not be fully recorded (e.g. no git commit known)."""


class SplitWarning(CaTradeWarning):
    """Some groups of a split estimation could not be estimated (see ``.failures``)."""


class CaTradeError(Exception):
    """Base class of every error ca_trade raises."""


class DataValidationError(CaTradeError, ValueError):
    """Input data is invalid; the message names the file, line and value and what to do."""


class DatasetBusyError(CaTradeError, RuntimeError):
    """Another process holds the dataset's lock and the caller chose not to wait."""


class DownloadError(CaTradeError, RuntimeError):
    """Fetching data from UN Comtrade failed; completed pieces are kept and a re-run resumes."""


class SpecificationError(CaTradeError, ValueError):
    """A model formula, option or keyword argument is invalid."""


class ConvergenceError(CaTradeError, RuntimeError):
    """An iterative algorithm did not converge and the caller asked for an error."""


class GEError(CaTradeError, ValueError):
    """A general-equilibrium problem is ill-posed or its solution failed its residual check."""


class MissingDomesticFlowsError(GEError):
    """Structural gravity GE needs domestic flows X_ii; the flow matrix lacks some."""


class ConfigError(CaTradeError, ValueError):
    """A pipeline configuration file is invalid or tries to leave the project."""


class UnsafePathError(ConfigError):
    """An output would land outside its output root (through a symbolic link or '..').

    The message names the link (or the '..') that leads out; nothing was written.
    """
