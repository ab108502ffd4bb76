"""``python -m ca_trade``: the same as the ``ca-trade`` command."""

import sys

from ca_trade.cli import main

sys.exit(main())
