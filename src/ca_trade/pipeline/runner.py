"""``ca-trade run CONFIG.toml [--check]``: every stage a configuration describes.

Examples
--------
>>> outcome = run("src/ca_trade/data/demo.toml")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Literal, overload

from ca_trade.pipeline.check import CheckReport, check_outputs
from ca_trade.pipeline.config import Config
from ca_trade.pipeline.parse import load_config
from ca_trade.pipeline.progress import Progress
from ca_trade.pipeline.stages import RunOutcome, execute

__all__ = ["run"]


@overload
def run(
    config: Config | str | os.PathLike[str],
    *,
    check: Literal[False] = False,
    progress: Progress | None = None,
) -> RunOutcome: ...
@overload
def run(
    config: Config | str | os.PathLike[str],
    *,
    check: Literal[True],
    progress: Progress | None = None,
) -> CheckReport: ...
def run(
    config: Config | str | os.PathLike[str],
    *,
    check: bool = False,
    progress: Progress | None = None,
) -> RunOutcome | CheckReport:
    """Run every stage a configuration describes and write its outputs.

    Parameters
    ----------
    config : Config or path-like
        A validated configuration or the path of its TOML file.
    check : bool, default False
        Regenerate into a temporary directory and compare with the outputs on disk
        instead of overwriting them.
    progress : Progress, optional
        Where to report stages (default: quiet unless stderr is a terminal).

    Returns
    -------
    RunOutcome or CheckReport
        What the run produced (``check=False``), or the differences (``check=True``).

    Raises
    ------
    ConfigError, CaTradeError
        On an invalid config, or a failure in a stage.

    Examples
    --------
    >>> outcome = run("src/ca_trade/data/demo.toml")  # doctest: +SKIP
    """
    cfg = config if isinstance(config, Config) else load_config(config)
    prog = progress if progress is not None else Progress()
    if check:
        return check_outputs(cfg, prog)
    return execute(cfg, prog)
