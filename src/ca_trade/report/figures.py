"""Figures: coefficients across specifications, GE outcomes by country, trade-change heatmap.

All figures are drawn with matplotlib's headless Agg canvas on a :class:`~matplotlib.figure.
Figure` of their own (``pyplot``'s global state is never touched), under a fixed style
(DejaVu Sans, fixed sizes, ``svg.hashsalt``) so the same inputs give the same pixels.
:func:`save_figure` writes PNG and PDF with deterministic metadata (no creation date, no
software version) plus the provenance: in the PNG ``Description`` text chunk, in the PDF
``Subject`` field, and in a JSON sidecar next to each file.

Examples
--------
>>> import pandas as pd
>>> from ca_trade.report.figures import outcome_plot
>>> df = pd.DataFrame({"welfare_pct": [0.4, -0.1], "welfare_pct_lo": [0.1, -0.3],
...                    "welfare_pct_hi": [0.7, 0.1]}, index=["KAZ", "KGZ"])
>>> fig = outcome_plot(df, outcomes=["welfare"])
>>> len(fig.axes)
1
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ca_trade._io import atomic_write_all
from ca_trade._typing import EstimationResult, ScenarioOutcomes
from ca_trade.exceptions import SpecificationError
from ca_trade.facts import CENTRAL_ASIA
from ca_trade.report.provenance import sidecar_path, to_json
from ca_trade.report.results import (
    as_results,
    coefficients,
    flows_frame,
    intervals,
    select_terms,
)
from ca_trade.report.tables import OUTCOME_LABELS, scenario_frame

__all__ = [
    "FIGURE_STYLE",
    "coefplot",
    "outcome_plot",
    "save_figure",
    "trade_heatmap",
]

FIGURE_STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "svg.hashsalt": "ca_trade",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "pdf.compression": 6,
    "path.simplify": True,
    "image.cmap": "RdBu_r",
}

_SYNTHETIC_MARK = "SYNTHETIC DATA — not real trade flows"


@contextmanager
def _style() -> Iterator[None]:
    import matplotlib as mpl
    from cycler import cycler

    style = dict(FIGURE_STYLE)
    style["axes.prop_cycle"] = cycler(
        color=["#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6"]
    )
    with mpl.rc_context(style):  # type: ignore[arg-type]
        yield


def _new_figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


#: Size of title text (points, as ``axes.titlesize``).
_TITLE_PT = 10.0
#: Size of caption text (points) and its line height.
_CAPTION_PT = 7.0
_LINE_PT = 1.35 * _CAPTION_PT


def _wrapped(fig: Any, text: str, size_pt: float) -> str:
    """Wrap a title to the figure's width (a long scenario name would run off its edges)."""
    width = int(0.85 * fig.get_figwidth() * 72 / (0.6 * size_pt))
    return "\n".join(textwrap.wrap(text, width=max(width, 20))) or text


def _caption(fig: Any, note: str | None, synthetic: bool) -> None:
    """Write a caption under the plots: the note (wrapped), then the SYNTHETIC mark.

    The figure grows by the caption's height and the plots keep theirs: the layout is
    confined to the band above it.
    """
    lines = (
        textwrap.wrap(note, width=int(fig.get_figwidth() * 72 / (0.5 * _CAPTION_PT)))
        if note
        else []
    )
    marks = [(line, "#333333") for line in lines]
    if synthetic:
        marks.append((_SYNTHETIC_MARK, "#aa0000"))
    if not marks:
        return
    band_in = (len(marks) * _LINE_PT + 6.0) / 72
    height = fig.get_figheight() + band_in
    fig.set_figheight(height)
    fig.get_layout_engine().set(rect=(0.0, band_in / height, 1.0, 1.0 - band_in / height))
    for k, (line, color) in enumerate(marks):
        y = (band_in - (3.0 + (k + 0.8) * _LINE_PT) / 72) / height
        fig.text(0.01, y, line, fontsize=_CAPTION_PT, color=color, ha="left", va="baseline")


def coefplot(
    results: EstimationResult | Sequence[EstimationResult] | Mapping[str, EstimationResult],
    *,
    keep: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    order: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    alpha: float = 0.05,
    model_names: Sequence[str] | None = None,
    title: str | None = None,
    synthetic: bool = False,
    truth: Mapping[str, float] | None = None,
) -> Any:
    """Plot coefficients with confidence intervals across specifications.

    Parameters
    ----------
    results : result, sequence or mapping of results
        Estimation results (see :func:`ca_trade.etable`).
    keep, drop, order : sequence of str, optional
        Regressor selection, as in :func:`ca_trade.etable`.
    labels : mapping, optional
        Display names of regressors.
    alpha : float, default 0.05
        Intervals are ``1 - alpha`` confidence intervals.
    model_names : sequence of str, optional
        Legend entries; by default ``(1)``, ``(2)``, ... or the mapping's keys.
    title : str, optional
        Axes title.
    synthetic : bool, default False
        Mark the figure as SYNTHETIC data.
    truth : mapping, optional
        True parameter values (for synthetic data) drawn as crosses.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (not shown; save it with :func:`save_figure`).

    Examples
    --------
    >>> import pandas as pd
    >>> from ca_trade.report.stored import StoredResults
    >>> r = StoredResults(pd.Series({"rta": 0.5}), pd.DataFrame([[0.01]], ["rta"], ["rta"]), 99)
    >>> fig = coefplot([r], truth={"rta": 0.45})
    >>> fig.axes[0].get_yticklabels()[0].get_text()
    'rta'
    """
    if not 0.0 < float(alpha) < 1.0:
        raise SpecificationError(f"alpha must lie in (0, 1); got {alpha!r}")
    models, names = as_results(results, model_names, "coefplot")
    labels = dict(labels or {})
    params = [coefficients(m.params) for m in models]
    cis = [intervals(m, float(alpha)) for m in models]
    all_vars: list[str] = []
    for p in params:
        all_vars.extend(v for v in p if v not in all_vars)
    variables = select_terms(all_vars, keep, drop, order)
    if not variables:
        raise SpecificationError("coefplot(): no regressor left after keep/drop")
    with _style():
        fig = _new_figure(6.0, 0.35 * len(variables) * max(1, len(models)) ** 0.5 + 1.4)
        ax = fig.add_subplot(1, 1, 1)
        k = len(models)
        offsets = np.linspace(0.25, -0.25, k) if k > 1 else np.zeros(1)
        ypos = np.arange(len(variables))[::-1].astype(float)
        for j, (p, ci, name) in enumerate(zip(params, cis, names)):
            ys, xs, los, his = [], [], [], []
            for y, var in zip(ypos, variables):
                if var in p and var in ci:
                    ys.append(y + offsets[j])
                    xs.append(p[var])
                    los.append(ci[var][0])
                    his.append(ci[var][1])
            x = np.asarray(xs)
            err = np.abs(np.vstack([x - np.asarray(los), np.asarray(his) - x])) if xs else None
            ax.errorbar(xs, ys, xerr=err, fmt="o", ms=4, capsize=2, lw=1, label=name)
        if truth:
            tx = [(float(truth[v]), y) for y, v in zip(ypos, variables) if v in truth]
            if tx:
                ax.scatter(
                    [t[0] for t in tx],
                    [t[1] for t in tx],
                    marker="x",
                    color="black",
                    zorder=5,
                    label="true value",
                )
        ax.axvline(0.0, color="0.5", lw=0.8, ls="--")
        ax.set_yticks(ypos, [labels.get(v, v) for v in variables])
        ax.set_xlabel(f"Coefficient ({100 * (1 - float(alpha)):.0f}% confidence interval)")
        if title:
            ax.set_title(_wrapped(fig, title, _TITLE_PT))
        ax.legend(loc="best", fontsize=8, frameon=False)
        _caption(fig, None, synthetic)
    return fig


def outcome_plot(
    result: pd.DataFrame | ScenarioOutcomes,
    *,
    outcomes: Sequence[str] = ("welfare", "real_gdp"),
    countries: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    note: str | None = None,
    synthetic: bool = False,
) -> Any:
    """Plot GE outcomes by country (percent change) with confidence intervals.

    Parameters
    ----------
    result : DataFrame or GE result
        Per-country ``<outcome>_pct`` columns and optional ``_lo``/``_hi`` bounds (see
        :func:`ca_trade.report.tables.scenario_frame`).
    outcomes : sequence of str, default ("welfare", "real_gdp")
        One panel per outcome.
    countries : sequence of str, optional
        Countries shown, in this order (top to bottom); by default all, sorted.
    labels : mapping, optional
        Display names of outcomes and countries.
    title : str, optional
        Figure title: the scenario in words.
    note : str, optional
        Caption under the plots (wrapped): what the intervals are (level, draws), theta,
        the baseline.
    synthetic : bool, default False
        Mark the figure as SYNTHETIC data.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"welfare_pct": [0.4], "real_gdp_pct": [0.3]}, index=["UZB"])
    >>> len(outcome_plot(df).axes)
    2
    """
    if isinstance(outcomes, str):
        raise SpecificationError("outcomes must be a list of outcome names, not a string")
    frame = scenario_frame(result, list(outcomes))
    labels = dict(labels or {})
    rows = sorted(frame.index) if countries is None else [str(c) for c in countries]
    missing = [c for c in rows if c not in frame.index]
    if missing:
        raise SpecificationError(f"countries not in the scenario result: {', '.join(missing)}")
    with _style():
        fig = _new_figure(3.2 * len(outcomes) + 0.8, 0.28 * len(rows) + 1.3)
        axes = fig.subplots(1, len(outcomes), sharey=True, squeeze=False)[0]
        ypos = np.arange(len(rows))[::-1].astype(float)
        for ax, o in zip(axes, outcomes):
            est = frame.loc[rows, (o, "est")].to_numpy(dtype=float)
            lo = frame.loc[rows, (o, "lo")].to_numpy(dtype=float)
            hi = frame.loc[rows, (o, "hi")].to_numpy(dtype=float)
            colors = ["#1f4e79" if v >= 0 else "#c55a11" for v in est]
            ax.barh(ypos, est, color=colors, height=0.6)
            ok = np.isfinite(lo) & np.isfinite(hi)
            if ok.any():
                # percentile intervals need not contain the point estimate: draw them as
                # segments from bound to bound, not as errors around the estimate
                ax.hlines(ypos[ok], lo[ok], hi[ok], colors="black", lw=0.8)
                for bound in (lo[ok], hi[ok]):
                    ax.plot(bound, ypos[ok], "|", color="black", ms=5)
            ax.axvline(0.0, color="0.3", lw=0.8)
            ax.set_title(labels.get(o, OUTCOME_LABELS.get(o, o)) + " (%)")
            ax.set_yticks(ypos, [labels.get(c, c) for c in rows])
        if title:
            fig.suptitle(_wrapped(fig, title, 1.2 * _TITLE_PT))
        _caption(fig, note, synthetic)
    return fig


def _flows_frame(result: pd.DataFrame | ScenarioOutcomes) -> pd.DataFrame:
    frame = flows_frame(result, "trade_heatmap")
    need = {"exporter", "importer"}
    if not need <= set(frame.columns):
        raise SpecificationError("the flows frame needs 'exporter' and 'importer' columns")
    if "change_pct" not in frame.columns:
        if not {"value", "baseline_value"} <= set(frame.columns):
            raise SpecificationError(
                "the flows frame needs 'change_pct', or 'value' and 'baseline_value'"
            )
        frame = frame.assign(change_pct=100.0 * (frame["value"] / frame["baseline_value"] - 1.0))
    return frame


def trade_heatmap(
    result: pd.DataFrame | ScenarioOutcomes,
    *,
    countries: Sequence[str] = CENTRAL_ASIA,
    title: str | None = None,
    note: str | None = None,
    synthetic: bool = False,
    digits: int = 1,
) -> Any:
    """Heatmap of the percent change in bilateral trade between a group of countries.

    Parameters
    ----------
    result : DataFrame or GE result
        Flows with ``exporter``, ``importer`` and ``change_pct`` (or ``value`` and
        ``baseline_value``), or a GE result with such a ``flows`` attribute.
    countries : sequence of str, default the five Central Asian states
        Rows (exporters) and columns (importers).
    title : str, optional
        Axes title.
    note : str, optional
        Caption under the plot (wrapped), after the line on the diagonal.
    synthetic : bool, default False
        Mark the figure as SYNTHETIC data.
    digits : int, default 1
        Decimal places of the annotations.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; the diagonal (outlined, each cell marked "domestic") shows the change
        in domestic sales, and the caption says so.

    Examples
    --------
    >>> import pandas as pd
    >>> fl = pd.DataFrame({"exporter": ["KAZ", "KGZ"], "importer": ["KGZ", "KAZ"],
    ...                    "change_pct": [5.0, 3.0]})
    >>> fig = trade_heatmap(fl, countries=["KAZ", "KGZ"])
    """
    from matplotlib.patches import Rectangle

    frame = _flows_frame(result)
    cs = [str(c) for c in countries]
    sub = frame[frame["exporter"].isin(cs) & frame["importer"].isin(cs)]
    mat = (
        sub.pivot_table(index="exporter", columns="importer", values="change_pct", aggfunc="sum")
        .reindex(index=cs, columns=cs)
        .to_numpy(dtype=float)
    )
    finite = mat[np.isfinite(mat)]
    vmax = float(np.max(np.abs(finite))) if finite.size else 1.0
    vmax = vmax if vmax > 0 else 1.0
    with _style():
        fig = _new_figure(1.0 * len(cs) + 1.8, 0.9 * len(cs) + 1.0)
        ax = fig.add_subplot(1, 1, 1)
        im = ax.imshow(np.ma.masked_invalid(mat), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        for i in range(len(cs)):
            for j in range(len(cs)):
                v = mat[i, j]
                txt = "n/a" if not math.isfinite(v) else f"{v:+.{digits}f}"
                dark = math.isfinite(v) and abs(v) > 0.6 * vmax
                color = "white" if dark else "black"
                ax.text(j, i, txt, ha="center", va="center", fontsize=8, color=color)
                if i == j:
                    ax.text(j, i + 0.3, "domestic", ha="center", va="center", fontsize=6,
                            color=color)  # fmt: skip
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=1.2))
        ax.set_xticks(range(len(cs)), cs)
        ax.set_yticks(range(len(cs)), cs)
        ax.set_xlabel("Importer")
        ax.set_ylabel("Exporter")
        fig.colorbar(im, ax=ax, label="Change in trade (%)")
        if title:
            ax.set_title(_wrapped(fig, title, _TITLE_PT))
        diagonal = "Outlined diagonal: change in domestic sales (exporter = importer)."
        _caption(fig, f"{diagonal} {note}" if note else diagonal, synthetic)
    return fig


def save_figure(
    fig: Any,
    path: str | os.PathLike[str],
    record: Mapping[str, Any],
    *,
    formats: Sequence[str] = ("png", "pdf"),
    dpi: int = 150,
) -> list[Path]:
    """Save a figure as PNG and/or PDF with deterministic metadata and provenance.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : path-like
        Destination without or with suffix; one file per format is written as
        ``path.with_suffix("." + fmt)``, each with a JSON sidecar.
    record : mapping
        Provenance record (see :func:`ca_trade.report.provenance.build_provenance`); it
        also goes into the PNG ``Description`` chunk and the PDF ``Subject``.
    formats : sequence of {"png", "pdf"}, default ("png", "pdf")
        Formats to write.
    dpi : int, default 150
        Resolution of the PNG.

    Returns
    -------
    list of pathlib.Path
        The figure files written (sidecars not included).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> df = pd.DataFrame({"welfare_pct": [1.0]}, index=["TJK"])
    >>> fig = outcome_plot(df, outcomes=["welfare"])
    >>> out = save_figure(fig, pathlib.Path(tempfile.mkdtemp()) / "w", {"synthetic": True})
    >>> [p.suffix for p in out]
    ['.png', '.pdf']
    """
    bad = [f for f in formats if f not in ("png", "pdf")]
    if bad or isinstance(formats, str):
        raise SpecificationError(f"figure formats must be 'png' and/or 'pdf'; got {formats!r}")
    base = Path(path)
    if base.suffix in (".png", ".pdf"):
        base = base.with_suffix("")
    summary = to_json(record).strip()
    files: dict[Path, bytes | str] = {}
    written: list[Path] = []
    with _style():
        for fmt in formats:
            buf = io.BytesIO()
            if fmt == "png":
                meta: dict[str, Any] = {"Software": None, "Description": summary}
            else:
                meta = {
                    "CreationDate": None,
                    "ModDate": None,
                    "Creator": None,
                    "Producer": None,
                    "Subject": summary,
                }
            fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
            dest = base.with_name(base.name + "." + fmt)
            files[dest] = buf.getvalue()
            files[sidecar_path(dest)] = to_json(record)
            written.append(dest)
    atomic_write_all(files)  # all destinations checked before the first is written
    return written
