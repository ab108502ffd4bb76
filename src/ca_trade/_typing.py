"""Shared types of ca_trade (internal): array aliases, in one place.

Every module that annotates numpy arrays takes its aliases from here, so an "integer array"
means one thing across the package: ``int64`` codes and positions (numpy's default integer
on the platforms ca_trade supports).

Examples
--------
>>> import numpy as np
>>> from ca_trade._typing import FloatArray
>>> x: FloatArray = np.zeros(3)
>>> x.dtype
dtype('float64')
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["AnyArray", "BoolArray", "FloatArray", "IntArray"]

#: Floating-point data: outcomes, regressors, weights, estimates.
FloatArray = npt.NDArray[np.float64]
#: Integer codes (fixed-effect levels, clusters) and row positions.
IntArray = npt.NDArray[np.int64]
#: Masks (rows to drop, separated observations).
BoolArray = npt.NDArray[np.bool_]
#: Arrays of any dtype (row labels of the caller's index).
AnyArray = npt.NDArray[Any]
