"""Genes in flight at once: in threads of one process, or in forked worker processes.

torch releases the GIL inside its kernels, so while one thread computes a gene's attributions
another reads the next gene's inputs and checkpoint, aggregates or writes files. About half of
a gene's time still holds the GIL, so on a CPU worker processes (:func:`map_in_processes`) use
the cores better. Each gene's numbers are those of a serial run (one torch thread per gene).

Python's cyclic garbage collector walks every object the process holds when it makes a full
collection: with torch, pandas and a dataset loaded, ~200 ms during which no gene advances, once
or twice per run and per worker. Worker processes and :func:`long_lived` leave what exists when
the genes start (libraries, the dataset) out of collections (:func:`gc.freeze`).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

__all__ = ["DEFAULT_THREADS", "USABLE_CORES", "long_lived", "map_in_processes", "map_in_threads", "thread_local"]

#: Cores this process may use (its CPU affinity).
USABLE_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
#: Genes in flight by default in threads: the usable cores, at most 4. Each gene computes on
#: one torch thread (:func:`~cell2net_core.model.one_torch_thread`) and about half of its time
#: holds Python's GIL (reading the checkpoint, aggregating, writing), so threads beyond a few
#: add little; worker processes (:func:`map_in_processes`, the command's default) or Ray go past that.
DEFAULT_THREADS = min(4, USABLE_CORES)

T = TypeVar("T")
R = TypeVar("R")

_LOCAL = threading.local()


def thread_local(name: str, make: Callable[[], T]) -> T:
    """This thread's own ``name`` object, made by ``make()`` on first use (e.g. a module pool).

    Examples
    --------
    >>> thread_local("doc_example", list) is thread_local("doc_example", list)
    True
    """
    if not hasattr(_LOCAL, name):
        setattr(_LOCAL, name, make())
    return getattr(_LOCAL, name)


@contextlib.contextmanager
def long_lived() -> Iterator[None]:
    """Inside the block, the objects that exist at its start are left out of garbage collections.

    For a program's main loop: what it holds when the loop starts (imported libraries, the
    dataset) lives until the end anyway, and walking it in each full collection stalled every
    gene for ~200 ms (the 200-gene benchmark, 2-core VM). Those objects go back to the collector
    at the end of the block (:func:`gc.freeze`, :func:`gc.unfreeze`).

    Examples
    --------
    >>> import gc
    >>> with long_lived():
    ...     gc.get_freeze_count() > 0
    True
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def map_in_threads(
    fn: Callable[[int, T], R],
    items: Sequence[T],
    *,
    threads: int = DEFAULT_THREADS,
    done: Callable[[int, R], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[R]:
    """``fn(i, item)`` for each item, at most ``threads`` at once; results in item order.

    ``should_stop()`` is checked before each item starts: ``True`` starts no more and waits
    for those running. ``done(i, result)`` is called in the caller's thread as each finishes.
    An exception in ``fn`` (Ctrl-C included) cancels what has not started and is raised.

    Parameters
    ----------
    fn
        Work on one item; gets its index too.
    items
        What to work on.
    threads
        Items in flight at once (1: one after the other, in the caller's thread).
    done
        Called as ``done(index, result)`` in the caller's thread.
    should_stop
        Checked before each item starts.

    Examples
    --------
    >>> map_in_threads(lambda i, x: x * 10, [1, 2, 3], threads=2)
    [10, 20, 30]
    """
    if threads < 1:
        msg = f"threads must be at least 1; got {threads}."
        raise ValueError(msg)
    results: dict[int, R] = {}
    if threads == 1:
        for i, item in enumerate(items):
            if should_stop is not None and should_stop():
                break
            results[i] = fn(i, item)
            if done is not None:
                done(i, results[i])
        return [results[i] for i in sorted(results)]
    todo = iter(enumerate(items))
    with ThreadPoolExecutor(threads, thread_name_prefix="cell2net-gene") as pool:
        _windowed(pool, fn, todo, width=threads, results=results, done=done, should_stop=should_stop)
    return [results[i] for i in sorted(results)]


def _windowed(
    pool: Executor,
    fn: Callable,
    todo: Iterator[tuple[int, T]],
    *,
    width: int,
    results: dict[int, R],
    done: Callable[[int, R], None] | None,
    should_stop: Callable[[], bool] | None,
    running: dict[Future, int] | None = None,
) -> None:
    """Keep ``width`` items of ``todo`` in flight on ``pool``, filling ``results`` as they finish.

    ``running`` (future -> index) still holds the items in flight when an exception leaves."""
    running = {} if running is None else running
    try:
        while True:
            while len(running) < width and not (should_stop is not None and should_stop()):
                nxt = next(todo, None)
                if nxt is None:
                    break
                running[pool.submit(fn, *nxt)] = nxt[0]
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                results[running[future]] = future.result()
                i = running.pop(future)
                if done is not None:
                    done(i, results[i])
    except BaseException:
        for future in running:
            future.cancel()
        raise


_FORKED: dict[str, Callable] = {}  # the function workers run, inherited through fork (need not pickle)


def _run_forked(i: int, item: object) -> object:
    return _FORKED["fn"](i, item)


def _start_worker(parent: int) -> None:
    """Workers leave Ctrl-C to the caller, which starts no more items and lets running ones finish;
    their collections skip the objects inherited from the caller (see the module's notes); and they
    die with the caller: on Linux, the kernel sends them SIGKILL when it dies (``kill -9``
    included), so no orphan goes on computing or holds the caller's output open."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()  # what the caller held (libraries, the dataset) stays out of this worker's collections
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the caller died before the line above
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def map_in_processes(
    fn: Callable[[int, T], R],
    items: Sequence[T],
    *,
    processes: int,
    crashed: Callable[[int, T], R],
    done: Callable[[int, R], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[R]:
    """``fn(i, item)`` in ``processes`` forked workers, at most one item each at once; results in item order.

    Workers are forked, not spawned: they start at once with the caller's imports and data (a
    dataset read once, not once per worker), and ``fn`` need not pickle, only its results. So
    call it from a plain process (the command line): not one that has initialised CUDA, nor a
    server whose other threads may hold locks (Streamlit's); POSIX only.

    A worker that dies (killed, out of memory) takes the items in flight with it, and the pool's
    other workers with them: each of those items is tried again alone, in a new worker, so an item
    that kills its worker is told from the items that were beside it; an item lost alone gives
    ``crashed(i, item)``, and the rest go on. ``should_stop`` and ``done`` work as in
    :func:`map_in_threads`. Workers ignore Ctrl-C: the caller gets it, starts no more items and
    waits for the running ones to finish before it raises.

    Examples
    --------
    >>> map_in_processes(lambda i, x: x * 10, [1, 2, 3], processes=2, crashed=lambda i, x: None)
    [10, 20, 30]
    """
    if processes < 1:
        msg = f"processes must be at least 1; got {processes}."
        raise ValueError(msg)
    results: dict[int, R] = {}
    context = multiprocessing.get_context("fork")
    rest: Iterator[tuple[int, T]] = iter(enumerate(items))
    suspects: list[tuple[int, T]] = []  # lost in a crash: each tried again alone
    _FORKED["fn"] = fn
    try:
        while True:
            alone = bool(suspects)
            todo = iter(suspects) if alone else rest
            running: dict[Future, int] = {}
            try:
                with ProcessPoolExecutor(1 if alone else processes, mp_context=context, initializer=_start_worker,
                                         initargs=(os.getpid(),)) as pool:  # fmt: skip
                    _windowed(pool, _run_forked, todo, width=1 if alone else processes, results=results, done=done,
                              should_stop=should_stop, running=running)  # fmt: skip
            except BrokenProcessPool:  # a worker died: the items in flight are lost
                lost = [(i, items[i]) for i in sorted(running.values())]
                if alone:  # the one item in flight killed its worker
                    for i, item in lost:
                        results[i] = crashed(i, item)
                        if done is not None:
                            done(i, results[i])
                    suspects = list(todo)
                else:
                    suspects = lost
                continue
            if not alone or (should_stop is not None and should_stop()):
                break
            suspects = []
    finally:
        _FORKED.clear()
    return [results[i] for i in sorted(results)]
