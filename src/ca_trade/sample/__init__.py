"""The embedded **SYNTHETIC** Central Asia dataset, written in real UN Comtrade layouts.

See :mod:`ca_trade.sample.generator` for the model and the files written.
"""

from __future__ import annotations

from ca_trade.sample.generator import SampleInfo, generate, main

__all__ = ["SampleInfo", "generate", "main"]
