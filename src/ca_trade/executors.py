"""Where independent tasks run: in this process, in local worker processes, or on a Dask cluster.

Three kinds of work in ca_trade are independent tasks: the sectors of a split estimation
(:func:`ca_trade.ppml` with ``split=``), the draws of the GE confidence intervals
(:func:`ca_trade.ge.parametric_draws`, :func:`ca_trade.ge.pairs_bootstrap`) and the files of
an ingest (:func:`ca_trade.etl.ingest`, pass 1). Each takes an ``executor=`` argument, read
here by :func:`executor_for`:

``None`` or ``"serial"``
    In this process, one task after another.
``"processes"``
    A pool of local worker processes, one per core available to this process, started for
    the call and closed after it (:class:`Processes`; ``Processes(max_workers=4)`` to choose
    the number).
``"auto"``
    ``"processes"`` when there is more than one task and more than one core, else serial (the
    default of split estimation).
a ``distributed.Client``, or a scheduler address such as ``"tcp://10.0.0.5:8786"``
    The workers of a Dask cluster (:class:`Dask`). A client you pass stays open; for an
    address, a client is opened for the call and closed after it. Needs the optional
    dependency: ``pip install 'ca_trade[dask]'``.

Whatever the executor, the results are returned in the order of the tasks (never in the
order they finished), every task is a pure function of its arguments and the random draws
carry their own seeds, so the outputs are the same, to the last digit, serially, in processes
and on a cluster of identical machines. A task's arguments and results travel by pickle: the
functions are importable by name. The output root a block of writes is confined to
(:func:`ca_trade._io.output_root`) travels with each task, so the writes of a worker are
confined to it too.

Worker processes are forked where the platform allows it and the task is safe to fork
(estimation and GE draws: numpy, numba, pyarrow), so they start warm; tasks that run Polars'
thread pool (ETL staging), which deadlocks in a forked child, start from a fresh
``forkserver`` process (``spawn`` where there is no fork).

Examples
--------
>>> with executor_for(None, n_tasks=3) as ex:
...     ex.map(abs, [-1, 2, -3])
[1, 2, 3]
>>> with executor_for("processes", n_tasks=3) as ex:
...     ex.map(abs, [-1, 2, -3])
[1, 2, 3]
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import uuid
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ca_trade._io import current_root, output_root
from ca_trade.exceptions import SpecificationError

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = [
    "Dask",
    "Executor",
    "ExecutorLike",
    "Processes",
    "Serial",
    "available_cores",
    "describe",
    "executor_for",
]

_R = TypeVar("_R")

#: What an ``executor=`` argument accepts: None, ``"serial"``, ``"processes"``, ``"auto"``, a
#: scheduler address (``"tcp://host:port"``), a ``distributed.Client`` or an :class:`Executor`.
ExecutorLike = Any

#: Called on the client as each task finishes: (position of the task, its result).
OnDone = Callable[[int, Any], None]


class _Missing:
    """No shared argument (``map`` calls ``fn(item)``)."""

    def __repr__(self) -> str:
        return "<no shared argument>"


_NO_SHARED = _Missing()


def available_cores() -> int:
    """Return the number of cores this process may run on (its CPU affinity where known).

    Returns
    -------
    int

    Examples
    --------
    >>> available_cores() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without affinity (macOS, Windows)
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class _Task:
    """A task function with the output root of the client, re-entered where it runs."""

    fn: Callable[..., Any]
    root: Path | None

    def __call__(self, *args: Any) -> Any:
        if self.root is None:
            return self.fn(*args)
        with output_root(self.root):
            return self.fn(*args)


class Executor(ABC):
    """Runs one function over a list of independent tasks; results in the order of the tasks.

    Subclasses: :class:`Serial`, :class:`Processes`, :class:`Dask`. An executor that opened
    its own resources closes them in :meth:`close` (also at the end of a ``with`` block).
    """

    #: A short description for messages and progress lines, e.g. ``"processes (2 workers)"``.
    description: str = ""

    @property
    @abstractmethod
    def workers(self) -> int:
        """Tasks that can run at the same time (used to size chunks of small tasks)."""

    @abstractmethod
    def _run(
        self,
        task: _Task,
        items: Sequence[Any],
        shared: Any,
        on_done: OnDone | None,
        fork_safe: bool,
    ) -> list[Any]: ...

    def map(
        self,
        fn: Callable[..., _R],
        items: Sequence[Any],
        *,
        shared: Any = _NO_SHARED,
        on_done: OnDone | None = None,
        fork_safe: bool = False,
    ) -> list[_R]:
        """Return ``[fn(item) for item in items]`` (``fn(shared, item)`` with `shared`).

        Parameters
        ----------
        fn : callable
            A function importable by name (it travels by pickle to processes and workers).
        items : sequence
            One task each.
        shared : object, optional
            An argument common to every task: sent once to each Dask worker (scattered),
            pickled with each task for processes.
        on_done : callable, optional
            ``on_done(position, result)``, called here as each task finishes (in the order
            they finish).
        fork_safe : bool, default False
            The task runs no thread pool that a forked child inherits broken (Polars does), so
            worker processes may be forked.

        Returns
        -------
        list
            The results, in the order of `items`.

        Examples
        --------
        >>> Serial().map(divmod, [7, 9], shared=100)
        [(14, 2), (11, 1)]
        """
        items = list(items)
        if not items:
            return []
        return self._run(_Task(fn, current_root()), items, shared, on_done, fork_safe)

    def close(self) -> None:  # noqa: B027 - most executors own nothing
        """Release what this executor opened (nothing, unless it says otherwise)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.description}>"


def _args(item: Any, shared: Any) -> tuple[Any, ...]:
    return (item,) if shared is _NO_SHARED else (shared, item)


class Serial(Executor):
    """Run the tasks here, one after another (``executor=None``).

    Examples
    --------
    >>> Serial().map(len, ["ab", "c"])
    [2, 1]
    """

    description = "serial"

    @property
    def workers(self) -> int:
        """One."""
        return 1

    def _run(
        self,
        task: _Task,
        items: Sequence[Any],
        shared: Any,
        on_done: OnDone | None,
        fork_safe: bool,
    ) -> list[Any]:
        out = []
        for i, item in enumerate(items):
            out.append(task(*_args(item, shared)))
            if on_done is not None:
                on_done(i, out[-1])
        return out


def _start_method(fork_safe: bool) -> str:
    methods = multiprocessing.get_all_start_methods()
    if fork_safe and "fork" in methods and sys.platform.startswith("linux"):
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


class Processes(Executor):
    """A pool of local worker processes, started for one ``map`` and closed after it.

    Parameters
    ----------
    max_workers : int, optional
        Worker processes (default: the cores available, :func:`available_cores`); never
        more than there are tasks.
    start_method : {"fork", "forkserver", "spawn"}, optional
        How workers start. By default they are forked (Linux) for tasks that are safe to
        fork, else started from a ``forkserver`` (or ``spawn``ed where there is none).

    Examples
    --------
    >>> Processes(max_workers=2).map(abs, [-4, 5])
    [4, 5]
    """

    def __init__(self, max_workers: int | None = None, start_method: str | None = None) -> None:
        if max_workers is not None and (
            isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1
        ):
            raise SpecificationError(f"max_workers={max_workers!r}; use an integer >= 1")
        methods = multiprocessing.get_all_start_methods()
        if start_method is not None and start_method not in methods:
            raise SpecificationError(f"start_method={start_method!r}; use one of {methods}")
        self.max_workers = max_workers if max_workers is not None else available_cores()
        self.start_method = start_method
        self.description = f"processes ({self.max_workers} workers)"

    @property
    def workers(self) -> int:
        """The number of worker processes."""
        return self.max_workers

    def _run(
        self,
        task: _Task,
        items: Sequence[Any],
        shared: Any,
        on_done: OnDone | None,
        fork_safe: bool,
    ) -> list[Any]:
        method = self.start_method or _start_method(fork_safe)
        context = multiprocessing.get_context(method)
        out: list[Any] = [None] * len(items)
        n = min(self.max_workers, len(items))
        with ProcessPoolExecutor(max_workers=n, mp_context=context) as pool:
            with warnings.catch_warnings():
                # Python >= 3.12 warns on any fork of a process with threads; the tasks
                # forked here are declared safe to fork (fork_safe) by their callers.
                warnings.filterwarnings("ignore", "This process .* is multi-threaded")
                futures: dict[Future[Any], int] = {
                    pool.submit(task, *_args(item, shared)): i for i, item in enumerate(items)
                }
            _collect(futures, out, on_done)
        return out


def _collect(futures: dict[Future[Any], int], out: list[Any], on_done: OnDone | None) -> None:
    """Fill `out` by position as the futures finish; cancel the rest when one fails."""
    try:
        for fut in as_completed(futures):
            i = futures[fut]
            out[i] = fut.result()
            if on_done is not None:
                on_done(i, out[i])
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise


@dataclass(frozen=True)
class _Box:
    """One object scattered to the Dask workers (a list or dict would be scattered by item)."""

    value: Any


def _call_boxed(task: _Task, box: _Box, item: Any) -> Any:
    return task(box.value, item)


class Dask(Executor):
    """The workers of a Dask cluster, through a ``distributed.Client``.

    Parameters
    ----------
    client : distributed.Client or str
        A client (it stays open) or a scheduler address such as ``"tcp://10.0.0.5:8786"``
        (a client is opened here and closed by :meth:`close`).
    timeout : float, default 30
        Seconds to wait for the scheduler at an address.

    Notes
    -----
    Every worker must have the same versions of ca_trade and its dependencies as the client
    (Dask checks and warns), and see the same files at the same paths where tasks read or
    write files (a split estimation reading a partitioned panel, ETL staging): a shared
    filesystem. Results equal the serial run's to the last digit on identical machines;
    workers with other CPUs or libraries may differ in the last bits of floating-point sums.

    Examples
    --------
    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> with LocalCluster(n_workers=2, processes=True) as cluster, Client(cluster) as c:
    ...     Dask(c).map(abs, [-1, 2])  # doctest: +SKIP
    [1, 2]
    """

    def __init__(self, client: Client | str, *, timeout: float = 30.0) -> None:
        try:
            from distributed import Client
        except ImportError as exc:
            raise SpecificationError(
                f"executor={client!r} runs on a Dask cluster, which needs the optional "
                "dependency: pip install 'ca_trade[dask]'"
            ) from exc
        self._owned = isinstance(client, str)
        try:
            self.client = Client(client, timeout=timeout) if isinstance(client, str) else client
        except (OSError, TimeoutError) as exc:
            raise SpecificationError(
                f"executor={client!r}: no Dask scheduler answers at that address ({exc}); "
                "start one (dask scheduler) or give the address it prints"
            ) from exc
        self.description = f"dask {_address(self.client)} ({self.workers} threads)"

    @property
    def workers(self) -> int:
        """Threads of the cluster's workers (at least one)."""
        return max(1, sum(self.client.nthreads().values()))

    def _run(
        self,
        task: _Task,
        items: Sequence[Any],
        shared: Any,
        on_done: OnDone | None,
        fork_safe: bool,
    ) -> list[Any]:
        from distributed import as_completed as dask_completed

        tag = f"ca_trade-{getattr(task.fn, '__name__', 'task')}-{uuid.uuid4().hex[:12]}"
        if shared is _NO_SHARED:
            futures = [
                self.client.submit(task, item, key=f"{tag}-{i}", pure=False)
                for i, item in enumerate(items)
            ]
        else:
            [box] = self.client.scatter([_Box(shared)], broadcast=True, hash=False)
            futures = [
                self.client.submit(_call_boxed, task, box, item, key=f"{tag}-{i}", pure=False)
                for i, item in enumerate(items)
            ]
        position = {f.key: i for i, f in enumerate(futures)}
        out: list[Any] = [None] * len(items)
        try:
            for fut in dask_completed(futures):
                i = position[fut.key]
                out[i] = fut.result()
                if on_done is not None:
                    on_done(i, out[i])
        except BaseException:
            self.client.cancel(futures)
            raise
        finally:
            del futures
        return out

    def close(self) -> None:
        """Close the client if this executor opened it (never a client you passed)."""
        if self._owned:
            self.client.close()


def _address(client: Any) -> str:
    """Return the scheduler address of a Dask client (``"?"`` when it has none)."""
    return str(getattr(getattr(client, "scheduler", None), "address", "?"))


def _is_dask_client(obj: object) -> bool:
    return type(obj).__module__.startswith("distributed") and hasattr(obj, "submit")


def _resolve(executor: ExecutorLike, n_tasks: int) -> Executor:
    if isinstance(executor, Executor):
        return executor
    if executor is None or executor == "serial":
        return Serial()
    if executor == "processes":
        return Processes()
    if executor == "auto":
        cores = available_cores()
        return Processes() if n_tasks > 1 and cores > 1 else Serial()
    if isinstance(executor, str) and "://" in executor:
        return Dask(executor)
    if _is_dask_client(executor):
        return Dask(executor)
    raise SpecificationError(
        f"executor={executor!r}; use None (serial), 'processes', 'auto', a Dask scheduler "
        "address such as 'tcp://host:8786', a distributed.Client, or a "
        "ca_trade.executors.Executor"
    )


@contextmanager
def executor_for(executor: ExecutorLike, *, n_tasks: int) -> Iterator[Executor]:
    """Turn an ``executor=`` argument into an :class:`Executor` for one block.

    What this opened (a client for a scheduler address) is closed when the block ends; an
    executor or a client you passed is left open.

    Parameters
    ----------
    executor : None, str, distributed.Client or Executor
        See the module's documentation.
    n_tasks : int
        Number of tasks to run (``"auto"`` runs one task serially).

    Yields
    ------
    Executor

    Raises
    ------
    SpecificationError
        An executor it does not know, Dask not installed, no scheduler at the address.

    Examples
    --------
    >>> with executor_for("auto", n_tasks=1) as ex:
    ...     ex.description
    'serial'
    >>> with executor_for("threads", n_tasks=1) as ex:  # doctest: +ELLIPSIS
    ...     pass
    Traceback (most recent call last):
    ...
    ca_trade.exceptions.SpecificationError: executor='threads'; use None (serial), ...
    """
    resolved = _resolve(executor, n_tasks)
    try:
        yield resolved
    finally:
        if resolved is not executor:
            resolved.close()


def describe(executor: ExecutorLike) -> str:
    """Return a short description of an ``executor=`` argument, for messages and progress.

    Parameters
    ----------
    executor : None, str, distributed.Client or Executor

    Returns
    -------
    str

    Examples
    --------
    >>> describe(None), describe("tcp://10.0.0.5:8786")
    ('serial', 'dask tcp://10.0.0.5:8786')
    """
    if isinstance(executor, Executor):
        return executor.description
    if executor is None:
        return "serial"
    if isinstance(executor, str):
        return f"dask {executor}" if "://" in executor else executor
    if _is_dask_client(executor):
        return f"dask {_address(executor)}"
    return repr(executor)
