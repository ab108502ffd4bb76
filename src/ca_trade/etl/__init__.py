"""UN Comtrade files to a validated, reconciled bilateral gravity panel.

Three stages, each a plain function, after an optional download:

- :func:`download` fetches UN Comtrade data from the UN's API (public preview without a key;
  the data API or bulk files with one) into ``raw_dir``, resumable, each file with a sidecar
  recording its query (:class:`DownloadReport`);
- :func:`ingest` reads the four Comtrade layouts from ``raw_dir``, validates and normalises
  every row, maps area codes to ISO3 (time-valid), and writes a hive-partitioned zstd
  Parquet dataset with a manifest and a quarantine of refused rows (:class:`IngestReport`);
- :func:`reconcile` turns mirror reports into one FOB value per exporter, importer, year and
  sector (``baci``: Gaulier & Zignago 2010; ``importer_first``; ``exporter_first``);
- :func:`build_panel` makes the square panel with explicit zeros, domestic flows and
  covariates (distance, contiguity, language, landlocked, former USSR, agreements, WTO,
  tariffs), for one sector or every HS section or chapter, in memory or written as one
  Parquet partition per sector (:class:`PanelDataset`, read back with :func:`read_panel`).

Schemas, rules and equations: ``docs/etl.md``.

Examples
--------
>>> import ca_trade as ct
>>> sorted(ct.etl.reconcile.__module__.split(".")[-1:])
['reconcile']
"""

from __future__ import annotations

from ca_trade.etl.download import DownloadReport, PieceResult, download
from ca_trade.etl.ingest import FileReport, IngestReport, ingest
from ca_trade.etl.panel import PANEL_COLUMNS, build_panel
from ca_trade.etl.panel_store import PanelDataset, read_panel
from ca_trade.etl.reconcile import RECONCILED_COLUMNS, reconcile

__all__ = [
    "PANEL_COLUMNS",
    "RECONCILED_COLUMNS",
    "DownloadReport",
    "FileReport",
    "IngestReport",
    "PanelDataset",
    "PieceResult",
    "build_panel",
    "download",
    "ingest",
    "read_panel",
    "reconcile",
]
