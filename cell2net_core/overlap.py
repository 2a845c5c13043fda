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
import itertools
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

__all__ = [
    "DEFAULT_THREADS",
    "MOST_PER_TASK",
    "USABLE_CORES",
    "long_lived",
    "map_in_processes",
    "map_in_threads",
    "thread_local",
]

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


_FORKED: dict[str, object] = {}  # what workers run, inherited through fork (need not pickle)
#: Most items a worker process takes at once (:func:`map_in_processes`).
MOST_PER_TASK = 8


def _run_forked(first: int, run: list[tuple[int, object]]) -> list[tuple[int, object]]:
    """``fn`` over a run of ``(index, item)``, then ``settle``; stops before the next item once the caller has
    stopped."""
    out, state = [], _FORKED["state"]
    try:
        for i, item in run:
            if _FORKED["stop"].value:
                break
            state[i] = _STARTED
            out.append((i, _FORKED["fn"](i, item)))
            state[i] = _FINISHED
    finally:
        settle = _FORKED["settle"]
        out = settle(out) if settle is not None else out
    return out


_STARTED, _FINISHED = 1, 2  # an item's state, as its worker marks it in a shared array


def _after_crash(
    lost: list[tuple[int, T]], state: Sequence[int], losses: dict[int, int]
) -> tuple[list[tuple[int, T]], list[tuple[int, T]]]:
    """The items of runs lost in a crash: those a worker had started and not finished (one per worker: the one
    that killed its worker is among them) to try alone, and the others to hand out again as usual; an item
    lost a second time is tried alone whatever its state (``losses`` counts), so no run is lost for ever.

    Examples
    --------
    >>> losses = {}
    >>> _after_crash([(0, "a"), (1, "b"), (2, "c"), (5, "f")], [2, 1, 0, 0, 0, 1], losses)
    ([(1, 'b'), (5, 'f')], [(0, 'a'), (2, 'c')])
    >>> _after_crash([(0, "a"), (2, "c")], [0, 1, 0, 0, 0, 1], losses)
    ([(0, 'a'), (2, 'c')], [])
    """
    for i, _ in lost:
        losses[i] = losses.get(i, 0) + 1
    alone = [state[i] == _STARTED or losses[i] > 1 for i, _ in lost]
    return [p for p, a in zip(lost, alone, strict=True) if a], [p for p, a in zip(lost, alone, strict=True) if not a]


def _runs(items: list[tuple[int, T]], processes: int) -> Iterator[tuple[int, list[tuple[int, T]]]]:
    """Consecutive runs of ``(index, item)``, keyed by their first index: a quarter of each worker's
    share of what is left, at most :data:`MOST_PER_TASK`, so single items at the end (guided
    scheduling) and workers finish together. 200 items on 2 workers: 44 runs.

    Examples
    --------
    >>> [len(run) for _, run in _runs(list(enumerate(range(40))), 2)]
    [5, 4, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    """
    at = 0
    while at < len(items):
        size = max(1, min(MOST_PER_TASK, (len(items) - at) // (4 * processes)))
        yield items[at][0], items[at : at + size]
        at += size


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
    settle: Callable[[list[tuple[int, R]]], list[tuple[int, R]]] | None = None,
) -> list[R]:
    """``fn(i, item)`` in ``processes`` forked workers, one run of items each at once; results in item order.

    Workers are forked, not spawned: they start at once with the caller's imports and data (a
    dataset read once, not once per worker), and ``fn`` need not pickle, only its results. So
    call it from a plain process (the command line): not one that has initialised CUDA, nor a
    server whose other threads may hold locks (Streamlit's); POSIX only.

    A worker takes a run of consecutive items (:func:`_runs`: up to :data:`MOST_PER_TASK` while
    many are left, single ones at the end) and sends their results back together, so the caller
    wakes once per run, not per item. ``settle(pairs)``, when given, runs in the worker at the end
    of each run on its ``(index, result)`` pairs and returns those sent back: work ``fn`` left
    running in the background (files still being written) is finished there. ``done(i, result)``
    is called in the caller's thread for each item of a finished run. ``should_stop()`` is checked
    before each run starts: ``True`` starts no more runs, and workers start no further item of
    their runs (as on Ctrl-C, which workers ignore: the caller gets it, the items running finish,
    then it raises).

    A worker that dies (killed, out of memory) takes its run with it, and the pool's other workers
    theirs. The items that were running (each worker marks its item in a shared array: at most one
    per worker) are tried again alone, in a new worker, so an item that kills its worker is told
    from the items beside it; an item lost alone gives ``crashed(i, item)``. The lost runs' other
    items are handed out again as usual (one already done before the crash is done again).

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
    stop = context.RawValue("b", 0)  # shared with the workers through fork
    state = context.RawArray("b", len(items))  # each item's _STARTED / _FINISHED, as its worker marks it
    losses: dict[int, int] = {}  # items lost in crashes, how often

    def stopping() -> bool:
        if should_stop is not None and should_stop():
            stop.value = 1
        return bool(stop.value)

    def report(pairs: list[tuple[int, R]]) -> None:
        for i, result in pairs:
            results[i] = result
            if done is not None:
                done(i, result)

    def finished(first: int, run: list[tuple[int, R]]) -> None:
        del got[first]  # the run's results, one by one instead
        report(run)

    got: dict[int, list] = {}  # runs returned, by first index (before finished() files them)
    runs: dict[int, list[tuple[int, T]]] = {}  # runs handed out, by first index

    def handed(todo: Iterator[tuple[int, list[tuple[int, T]]]]) -> Iterator[tuple[int, list[tuple[int, T]]]]:
        for first, run in todo:
            runs[first] = run
            yield first, run

    rest = handed(_runs(list(enumerate(items)), processes))
    suspects: list[tuple[int, T]] = []  # lost in a crash: each tried again alone
    _FORKED.update(fn=fn, stop=stop, settle=settle, state=state)
    try:
        while not stop.value:
            alone = bool(suspects)
            todo = handed((i, [(i, item)]) for i, item in suspects) if alone else rest
            running: dict[Future, int] = {}
            try:
                with ProcessPoolExecutor(1 if alone else processes, mp_context=context, initializer=_start_worker,
                                         initargs=(os.getpid(),)) as pool:  # fmt: skip
                    try:
                        _windowed(pool, _run_forked, todo, width=1 if alone else processes, results=got,
                                  done=finished, should_stop=stopping, running=running)  # fmt: skip
                    except BrokenProcessPool:
                        raise
                    except BaseException:  # Ctrl-C, or an error in the caller: workers start no further item
                        stop.value = 1
                        raise
            except BrokenProcessPool:  # a worker died: the runs in flight are lost
                lost = [pair for first in sorted(running.values()) for pair in runs[first]]
                if alone:  # the one item in flight killed its worker
                    report([(i, crashed(i, item)) for i, item in lost])
                    suspects = [(i, item) for i, item in suspects if i > lost[-1][0]]
                else:
                    suspects, again = _after_crash(lost, state, losses)
                    rest = itertools.chain(handed(_runs(again, processes)), rest)
                continue
            if not alone:
                break
            suspects = []
    finally:
        _FORKED.clear()
    return [results[i] for i in sorted(results)]
