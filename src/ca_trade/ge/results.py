"""Result objects of the GE solver: GEResult, GEComparison and UncertaintyResult.

:class:`GEResult` is one solution, :class:`GEComparison` the conditional and full solutions
side by side, :class:`UncertaintyResult` a solution with confidence intervals.

Sign convention: every ratio is **counterfactual / baseline** ("new/old") and every ``*_pct``
column is ``100 * (new/old - 1)``. The AGTPA book reports the *effect of the policy* when the
counterfactual removes an existing policy; that is baseline relative to counterfactual, given by
:meth:`GEResult.policy_effect`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import pandas as pd

from ca_trade._synthetic import frame_is_synthetic

__all__ = [
    "OUTCOMES",
    "RATIO_COLUMNS",
    "GEComparison",
    "GEResult",
    "UncertaintyResult",
    "labelled",
]

#: Per-country ratios reported by the solver (new/old).
RATIO_COLUMNS: tuple[str, ...] = (
    "welfare",
    "real_gdp",
    "price",
    "omr",
    "imr",
    "output",
    "expenditure",
    "exports",
    "imports",
    "domestic",
)

#: The headline outcomes of a scenario (of :data:`RATIO_COLUMNS`), in the order summaries and
#: the pipeline's scenario tables show them.
OUTCOMES: tuple[str, ...] = ("welfare", "real_gdp", "exports", "imports")


@dataclass(frozen=True)
class GEResult:
    """Solution of one general-equilibrium counterfactual.

    Attributes
    ----------
    countries : pandas.DataFrame
        Indexed by country: the ratios in :data:`RATIO_COLUMNS` (new/old) and a ``*_pct``
        column for each (``100 * (ratio - 1)``).
    flows : pandas.DataFrame
        ``exporter, importer, value, baseline_value, change_pct`` (duty-exclusive values).
    converged : bool
        Whether the fixed point met `tol` and the residual check.
    n_iter : int
        Iterations used.
    residuals : dict of str to float
        Largest relative residuals at the solution: ``market_clearing`` (sales = output),
        ``budget`` (spending = income incl. deficit and tariff revenue), ``step`` (last change
        in log prices); the multi-sector model reports ``labour_market``, ``prices``,
        ``budget``, ``trade_balance`` and ``step``.
    settings : dict
        ``theta``, ``psi``, ``closure``, ``conditional``, ``numeraire``, ``method``.
    description : str
        Scenario description, if any.
    synthetic : bool
        True when the baseline flows said they are SYNTHETIC (``attrs["synthetic"]``, set by
        :func:`ca_trade.etl.build_panel` on the sample); tables and figures then say so.

    Examples
    --------
    >>> import pandas as pd
    >>> import ca_trade.ge as ge
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "value": [8.0, 2.0, 2.0, 8.0]})
    >>> r = ge.solve(f, pd.DataFrame({"exporter": ["A"], "importer": ["B"], "effect": [0.1]}), 4)
    >>> bool(r.countries.loc["A", "welfare"] > 1), r.synthetic
    (True, False)
    """

    countries: pd.DataFrame
    flows: pd.DataFrame
    converged: bool
    n_iter: int
    residuals: dict[str, float]
    settings: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    synthetic: bool = False

    def policy_effect(self) -> pd.DataFrame:
        """Percent changes in the book's 'effect of the policy' direction (baseline vs new).

        When the counterfactual *removes* a policy (borders, an FTA), the effect of the policy
        is ``100 * (old/new - 1)`` (AGTPA 2016, ch. 2).

        Returns
        -------
        pandas.DataFrame
            Indexed by country, one column per ratio in :data:`RATIO_COLUMNS`.

        Examples
        --------
        >>> import pandas as pd
        >>> import ca_trade.ge as ge
        >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
        ...                   "value": [8.0, 2.0, 2.0, 8.0]})
        >>> pe = pd.DataFrame({"exporter": ["A"], "importer": ["B"], "effect": [-0.1]})
        >>> r = ge.solve(f, pe, 4)
        >>> bool(r.policy_effect().loc["A", "welfare"] > 0)
        True
        """
        cols = [c for c in RATIO_COLUMNS if c in self.countries.columns]
        return 100.0 * (1.0 / self.countries[cols] - 1.0)

    def __repr__(self) -> str:
        """Return what was solved, not the frames (``summary()`` prints the changes)."""
        s = self.settings
        return (
            f"{type(self).__name__}(countries={len(self.countries)}, flows={len(self.flows)}, "
            f"theta={s.get('theta')!r}, closure={s.get('closure')!r}, "
            f"converged={self.converged}, n_iter={self.n_iter})"
        )

    def summary(self) -> str:
        """Return a short text table of the main percent changes.

        Returns
        -------
        str
            One line per country.

        Examples
        --------
        >>> import pandas as pd
        >>> import ca_trade.ge as ge
        >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
        ...                   "value": [8.0, 2.0, 2.0, 8.0]})
        >>> print(ge.solve(f, None, 4).summary().splitlines()[0])
        GE counterfactual (theta=4.0, closure=additive, full endowment): converged in 1 iterations
        """
        s = self.settings
        kind = "conditional" if s.get("conditional") else "full endowment"
        head = (
            f"GE counterfactual (theta={s.get('theta')}, closure={s.get('closure')}, {kind}): "
            f"{'converged' if self.converged else 'NOT converged'} in {self.n_iter} iterations"
        )
        cols = [f"{o}_pct" for o in OUTCOMES]
        return head + "\n" + self.countries[cols].round(4).to_string()


@dataclass(frozen=True)
class GEComparison:
    """Conditional and full-endowment solutions of the same scenario, side by side.

    Attributes
    ----------
    conditional : GEResult
        Resistances adjust, output and expenditure fixed.
    full : GEResult
        Factory-gate prices, output and expenditure adjust too.

    Examples
    --------
    >>> import pandas as pd
    >>> import ca_trade.ge as ge
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "value": [8.0, 2.0, 2.0, 8.0]})
    >>> pe = pd.DataFrame({"exporter": ["A"], "importer": ["B"], "effect": [0.1]})
    >>> list(ge.solve_both(f, pe, 4).table().columns)[:2]
    ['welfare_pct_conditional', 'welfare_pct_full']
    """

    conditional: GEResult
    full: GEResult

    def table(self) -> pd.DataFrame:
        """Percent changes of both solutions, conditional next to full, per country.

        Returns
        -------
        pandas.DataFrame
            Columns ``<ratio>_pct_conditional`` and ``<ratio>_pct_full``.

        Examples
        --------
        >>> import pandas as pd
        >>> import ca_trade.ge as ge
        >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
        ...                   "value": [8.0, 2.0, 2.0, 8.0]})
        >>> ge.solve_both(f, None, 4).table().shape
        (2, 20)
        """
        parts = {}
        for col in RATIO_COLUMNS:
            parts[f"{col}_pct_conditional"] = self.conditional.countries[f"{col}_pct"]
            parts[f"{col}_pct_full"] = self.full.countries[f"{col}_pct"]
        return pd.DataFrame(parts)


@dataclass(frozen=True)
class UncertaintyResult:
    """A GE counterfactual with confidence intervals.

    Attributes
    ----------
    point : GEResult
        Solution at the point estimates.
    countries : pandas.DataFrame
        Indexed by country; for every ``<ratio>_pct`` change of :data:`RATIO_COLUMNS` (of
        :data:`~ca_trade.ge.sectoral.SECTORAL_RATIO_COLUMNS` for the multi-sector model): the
        point value, ``<ratio>_pct_lo``, ``<ratio>_pct_hi`` (percentile interval) and
        ``<ratio>_pct_se`` (standard deviation over draws).
    flows : pandas.DataFrame
        ``exporter, importer[, sector], change_pct, change_pct_lo, change_pct_hi``.
    draws : pandas.DataFrame
        Long table ``draw, country`` and the ``*_pct`` columns of every successful draw.
    coefficients : pandas.DataFrame
        The coefficients used by each draw (one row per draw, failed ones included; drawn
        sector elasticities as ``theta[<sector>]``).
    n_draws, n_failed : int
        Draws attempted and failed.
    failures : list of str
        ``"draw k: reason"`` for each failed draw.
    method : str
        ``"parametric"`` or ``"pairs bootstrap"``.
    alpha : float
        Intervals cover ``1 - alpha``.
    seed : int
        Root seed.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import ca_trade.ge as ge
    >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
    ...                   "value": [8.0, 2.0, 2.0, 8.0]})
    >>> s = ge.agreement(["A", "B"], 0.3)
    >>> u = ge.parametric_draws(f, s, 4, vcov=pd.DataFrame([[0.01]], ["rta"], ["rta"]),
    ...                         n_draws=50)
    >>> bool(u.countries.loc["A", "welfare_pct_lo"] < u.countries.loc["A", "welfare_pct"])
    True
    """

    point: GEResult
    countries: pd.DataFrame
    flows: pd.DataFrame
    draws: pd.DataFrame
    coefficients: pd.DataFrame
    n_draws: int
    n_failed: int
    failures: list[str] = field(default_factory=list)
    method: str = "parametric"
    alpha: float = 0.05
    seed: int = 0

    @property
    def synthetic(self) -> bool:
        """Whether the baseline flows were SYNTHETIC (those of :attr:`point`)."""
        return self.point.synthetic

    def __repr__(self) -> str:
        """Return the draws and the level, not the frames (``summary()`` prints them)."""
        return (
            f"UncertaintyResult(method={self.method!r}, n_draws={self.n_draws}, "
            f"n_failed={self.n_failed}, alpha={self.alpha}, seed={self.seed}, "
            f"countries={len(self.countries)}, point={self.point!r})"
        )

    def summary(self) -> str:
        """Return a one-paragraph account of the draws and the welfare intervals.

        Returns
        -------
        str
            Text.

        Examples
        --------
        >>> import pandas as pd
        >>> import ca_trade.ge as ge
        >>> f = pd.DataFrame({"exporter": list("AABB"), "importer": list("ABAB"),
        ...                   "value": [8.0, 2.0, 2.0, 8.0]})
        >>> u = ge.parametric_draws(f, ge.agreement(["A", "B"], 0.3), 4,
        ...                         vcov=pd.DataFrame([[0.01]], ["rta"], ["rta"]), n_draws=20)
        >>> u.summary().splitlines()[0]
        'parametric: 20 draws, 0 failed, 95% intervals'
        """
        head = (
            f"{self.method}: {self.n_draws} draws, {self.n_failed} failed, "
            f"{100 * (1 - self.alpha):.0f}% intervals"
        )
        cols = ["welfare_pct", "welfare_pct_lo", "welfare_pct_hi"]
        return head + "\n" + self.countries[cols].round(4).to_string()


_R = TypeVar("_R", bound=GEResult)


def labelled(result: _R, flows: Any) -> _R:
    """Return `result` marked SYNTHETIC when its baseline `flows` say they are.

    Parameters
    ----------
    result : GEResult
        A solution.
    flows : object
        The baseline flows it was solved from (a frame with ``attrs``).

    Returns
    -------
    GEResult
        `result`, or a copy with ``synthetic=True``.

    Examples
    --------
    >>> import pandas as pd
    >>> flows = pd.DataFrame({"value": [1.0]})
    >>> flows.attrs["synthetic"] = True
    >>> labelled(GEResult(pd.DataFrame(), pd.DataFrame(), True, 0, {}), flows).synthetic
    True
    """
    return replace(result, synthetic=True) if frame_is_synthetic(flows) else result
