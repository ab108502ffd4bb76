"""Shared pytest fixtures.

Reference data (published datasets with published results) is read from the directory in the
``CA_TRADE_REFERENCE`` environment variable, by default ``../shared/reference`` seen from the
repository root. Tests that need it skip with a clear reason where it is absent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Property tests must not fail on timing: a loaded 2-core CI machine is slow, not wrong. On CI
# the examples are derandomized so a run is reproducible from its commit.
settings.register_profile(
    "ca_trade",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=os.environ.get("CI", "").lower() == "true",
)
settings.load_profile("ca_trade")

REPO_ROOT = Path(__file__).resolve().parents[1]


def reference_root() -> Path:
    """Return the reference-data directory (it may not exist)."""
    env = os.environ.get("CA_TRADE_REFERENCE")
    if env:
        return Path(env).expanduser().resolve()
    return (REPO_ROOT / ".." / "shared" / "reference").resolve()


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """Directory of the shared reference datasets; skips the test where it is absent."""
    root = reference_root()
    if not root.is_dir():
        pytest.skip(
            f"reference data not found at {root}; set CA_TRADE_REFERENCE to the shared "
            "reference directory to run replication tests"
        )
    return root


def require_reference(*parts: str) -> Path:
    """Path of one reference file, skipping the calling test where it is absent."""
    root = reference_root()
    path = root.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference file {path} not found; set CA_TRADE_REFERENCE to run this test")
    return path


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A client of a real Dask ``LocalCluster``: two worker processes, one thread each.

    Started once per test session (each pytest-xdist worker that needs it starts its own;
    the Dask tests live in one file, so one cluster is started); skips where Dask is not
    installed (``pip install 'ca_trade[dask]'``; the dev extra installs it).
    """
    distributed = pytest.importorskip(
        "distributed", reason="Dask is not installed: pip install 'ca_trade[dask]'"
    )
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
