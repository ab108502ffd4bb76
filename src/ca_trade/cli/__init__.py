"""The ``ca-trade`` command line: a thin layer over the library's functions.

Commands::

    ca-trade sample --out DIR [--seed N] [--years 2000-2023]
    ca-trade download OUT --reporters KAZ,KGZ --years 2015-2022 [--partners ISO3,...]
                      [--level total|section|chapter|hs6|CODES] [--access preview|api|bulk] ...
    ca-trade ingest RAW_DIR PROCESSED_DIR [--force] [--no-wait]
    ca-trade reconcile PROCESSED_DIR --out FILE.parquet [--method baci]
    ca-trade panel RECONCILED.parquet --out PANEL.parquet [--raw-dir DIR] [--sector TOTAL]
    ca-trade estimate PANEL.parquet --formula F [--model ppml|ols] [--vcov V] [--json FILE]
                      [--table FILE.{tex,md,html}] [--international-only]
    ca-trade simulate PANEL.parquet --estimates EST.json --scenario tariff_harmonization|corridor
                      [--members KAZ,...] [--cet simple|keep|...] [--links A-B,...]
                      [--theta T] [--n-draws N] --out DIR
    ca-trade report ESTIMATES.json... --out FILE.{tex,md,html}
    ca-trade run CONFIG.toml [--check]
    ca-trade demo [--out DIR]

Exit codes: 0 success; 1 error in the data or a computation (also an ``ingest`` that wrote no
flow row, and one that finds the dataset busy with ``--no-wait``); 2 usage error (bad
arguments, invalid configuration or specification); 3 ``run --check`` found outputs that
differ from those on disk. Errors are one line on stderr (``ca-trade: error: ...``);
``--debug`` adds the traceback. Progress goes to stderr only when it is a terminal and
``--quiet`` is not given.

Each command is one function calling the library's public functions; it imports the library
modules it calls when it runs, so ``--help`` and ``--version`` start at once.

The package: :mod:`~ca_trade.cli.parser` (the arguments, one parser per command),
:mod:`~ca_trade.cli.commands` (one function per command), :mod:`~ca_trade.cli.messages`
(exit codes, errors and warnings in plain text) and :mod:`~ca_trade.cli.main` (the entry
point).

Examples
--------
>>> from ca_trade.cli import main
>>> main(["--version"])  # doctest: +SKIP
ca-trade 0.1.0
"""

from __future__ import annotations

from ca_trade.cli.main import main
from ca_trade.cli.messages import EXIT_CHECK_FAILED, EXIT_ERROR, EXIT_OK, EXIT_USAGE
from ca_trade.cli.parser import build_parser

__all__ = ["EXIT_CHECK_FAILED", "EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]
