"""Multi-sector general equilibrium with tariffs and input-output links (Caliendo & Parro 2015).

:func:`ca_trade.ge.solve` solves this model when the flows have a ``sector`` column. The
pieces, for repeated solves (uncertainty draws) and inspection:

- :func:`prepare` validates the frames once and returns a :class:`SectoralProblem`;
- :func:`solve_problem` solves it (re-solving the baseline with zero deficits or when the data
  are not an equilibrium of the model) and :func:`to_result` returns a
  :class:`SectoralGEResult` (``.countries``, ``.sectors``, ``.flows``,
  ``.welfare_decomposition()``).

Equations: ``docs/methods-ge.md``, section 10.

Examples
--------
>>> import pandas as pd
>>> import ca_trade.ge as ge
>>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
...                   "sector": ["S1"] * 4, "value": [8.0, 2.0, 2.0, 8.0]})
>>> p = ge.sectoral.prepare(f, None, {"S1": 4.0})
>>> ge.sectoral.solve_problem(p).converged
True
"""

from __future__ import annotations

from ca_trade.ge.sectoral.problem import SectoralProblem
from ca_trade.ge.sectoral.results import (
    SECTOR_RATIO_COLUMNS,
    SECTORAL_RATIO_COLUMNS,
    SectoralGEResult,
)
from ca_trade.ge.sectoral.solve import SectoralSolution, prepare, solve, solve_problem, to_result

__all__ = [
    "SECTORAL_RATIO_COLUMNS",
    "SECTOR_RATIO_COLUMNS",
    "SectoralGEResult",
    "SectoralProblem",
    "SectoralSolution",
    "prepare",
    "solve",
    "solve_problem",
    "to_result",
]
