"""Genes in flight at once in threads of one process, so reading and writing overlap computing.

torch releases the GIL inside its kernels, so while one thread computes a gene's attributions
another reads the next gene's inputs and checkpoint, aggregates or writes files. Each gene's
numbers are those of a serial run (every thread uses torch's intra-op thread count).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = ["DEFAULT_THREADS", "map_in_threads", "thread_local"]

#: Genes in flight by default: the cores this process may use, at most 4. Each gene computes on
#: one torch thread (:func:`~cell2net_core.model.one_torch_thread`) and about half of its time
#: holds Python's GIL (reading the checkpoint, aggregating, writing), so threads beyond a few
#: add little; for many cores, ``--backend ray --workers N`` runs genes in processes.
DEFAULT_THREADS = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)

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
    with ThreadPoolExecutor(threads, thread_name_prefix="cell2net-gene") as pool:
        running: dict[Future, int] = {}
        todo = iter(enumerate(items))
        try:
            while True:
                while len(running) < threads and not (should_stop is not None and should_stop()):
                    nxt = next(todo, None)
                    if nxt is None:
                        break
                    running[pool.submit(fn, *nxt)] = nxt[0]
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    i = running.pop(future)
                    results[i] = future.result()
                    if done is not None:
                        done(i, results[i])
        except BaseException:
            for future in running:
                future.cancel()
            raise
    return [results[i] for i in sorted(results)]
