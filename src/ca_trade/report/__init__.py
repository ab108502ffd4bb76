"""Reproducible outputs: publication tables, figures and their provenance.

- :func:`etable`: estimation results side by side (LaTeX/booktabs, Markdown, HTML);
- :func:`scenario_table`: general-equilibrium outcomes by country with confidence intervals;
- :func:`coefplot`, :func:`outcome_plot`, :func:`trade_heatmap` and :func:`save_figure`:
  deterministic PNG/PDF figures;
- :func:`build_provenance`, :func:`write_with_sidecar`, :func:`atomic_write`: provenance
  records, comment blocks and JSON sidecars.

Every artefact carries its provenance (package version, git commit when known, input data
hashes and row counts, specifications, covariance and small-sample conventions, dropped rows,
convergence, seeds, and a SYNTHETIC label where it applies) and regenerates byte for byte.

Examples
--------
>>> import pandas as pd
>>> from ca_trade.report import scenario_table
>>> df = pd.DataFrame({"welfare_pct": [0.25]}, index=["TKM"])
>>> "TKM" in scenario_table(df, outcomes=["welfare"], provenance=False)
True
"""

from __future__ import annotations

from ca_trade.report.figures import coefplot, outcome_plot, save_figure, trade_heatmap
from ca_trade.report.provenance import (
    atomic_write,
    build_provenance,
    comment_block,
    file_fingerprint,
    frame_fingerprint,
    git_commit,
    sidecar_path,
    write_with_sidecar,
)
from ca_trade.report.tables import etable, scenario_frame, scenario_table

__all__ = [
    "atomic_write",
    "build_provenance",
    "coefplot",
    "comment_block",
    "etable",
    "file_fingerprint",
    "frame_fingerprint",
    "git_commit",
    "outcome_plot",
    "save_figure",
    "scenario_frame",
    "scenario_table",
    "sidecar_path",
    "trade_heatmap",
    "write_with_sidecar",
]
