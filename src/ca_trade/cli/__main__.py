"""``python -m ca_trade.cli``: the same as the ``ca-trade`` command."""

import sys

from ca_trade.cli.main import main

sys.exit(main())
