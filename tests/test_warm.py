"""The server's start-up warm-up (:mod:`ui.warm`): which data it reads, and that the first page then finds it cached."""

from __future__ import annotations

import sys

import pytest

from cell2net_core.store import ResultStore
from cell2net_core.testing import tutorial_table
from ui import cache, warm
from ui.context import Paths


@pytest.fixture
def argv(monkeypatch):
    """Set the server's command line (what follows ``--`` on ``streamlit run``) and no C2N_* variables."""
    for name in ("C2N_MDATA", "C2N_MODELS", "C2N_RESULTS", "CELL2NET_DATA_ROOTS"):
        monkeypatch.delenv(name, raising=False)
    return lambda *args: monkeypatch.setattr(sys, "argv", ["app.py", *map(str, args)])


def test_start_data_is_the_command_lines_within_the_data_roots(argv, tmp_path):
    inside, outside = tmp_path / "lab", tmp_path / "elsewhere"
    inside.mkdir()
    argv("--results", inside)
    assert warm.start_data() == Paths(results=str(inside))
    argv("--results", outside, "--data-root", inside)
    assert warm.start_data() == Paths()  # outside the roots: not looked at


def test_start_data_skips_a_demo_not_yet_built(argv, monkeypatch, tmp_path):
    from cell2net_core import demo

    argv()
    monkeypatch.setattr(demo, "default_demo_dir", lambda: tmp_path / "no-demo")
    assert warm.start_data() == Paths()  # the page builds it, with its progress bar
    assert not (tmp_path / "no-demo").exists()


def test_warm_up_reads_the_start_table_once_and_the_first_page_finds_it(argv, monkeypatch, tmp_path):
    """The first page's read of the results folder's table is a cache hit after the warm-up."""
    tutorial_table(n_genes=30, n_tfs=20).to_csv(tmp_path / "tf_to_gene.csv")
    argv("--results", tmp_path)
    reads = []
    table = ResultStore.table
    monkeypatch.setattr(ResultStore, "table", lambda self: reads.append(self.path) or table(self))
    warm.warm_up()
    assert len(reads) == 1
    first_page = cache.network_table(tmp_path)
    assert len(reads) == 1 and len(first_page) == 30 * 8 * 10


def test_warm_up_never_raises(argv, monkeypatch, tmp_path):
    (tmp_path / "tf_to_gene.csv").write_text("not,a\ntable,\n")  # the page says what is wrong with it
    argv("--results", tmp_path)
    warm.warm_up()


def test_warm_up_opens_the_dataset_and_the_models_fit_once(argv, monkeypatch, tiny):
    """What the Overview reads first with a dataset and models (the dataset, every checkpoint's fit) is
    cached by the warm-up: the page's own calls then compute nothing."""
    from cell2net_core import data
    from cell2net_core.explore import quality

    argv("--mdata", tiny["mdata"], "--models", tiny["models"])
    opened, fits = [], []
    read, fit = data.read_dataset, quality.model_quality
    monkeypatch.setattr(data, "read_dataset", lambda path: opened.append(path) or read(path))
    monkeypatch.setattr(quality, "model_quality",
                        lambda models, mdata=None: fits.append(models) or fit(models, mdata=mdata))
    cache._open_dataset.clear()
    cache._quality.clear()
    warm.warm_up()
    assert len(opened) == 1 and len(fits) == 1
    mdata = cache.open_dataset(tiny["mdata"])
    quality_table = cache.model_quality(tiny["models"], mdata_path=tiny["mdata"])
    assert len(opened) == 1 and len(fits) == 1  # the page's calls: cache hits
    assert mdata.n_obs == 48 and sorted(quality_table["gene"]) == ["GENE0", "GENE1"]


@pytest.mark.parametrize(("setting", "runs"), [("1", 1), ("0", 0), (None, 1)])
def test_lifespan_starts_the_warm_up_unless_turned_off(monkeypatch, setting, runs):
    import asyncio
    import threading

    if setting is None:
        monkeypatch.delenv("CELL2NET_WARM_UP", raising=False)
    else:
        monkeypatch.setenv("CELL2NET_WARM_UP", setting)
    calls = []
    monkeypatch.setattr(warm, "warm_up", lambda: calls.append(threading.current_thread().name))

    async def serve():
        async with warm.lifespan(None):
            pass

    asyncio.run(serve())
    for thread in threading.enumerate():
        if thread.name == warm.WARM_THREAD:
            thread.join(timeout=10)
    assert calls == [warm.WARM_THREAD] * runs


def test_warm_up_runs_to_the_end_and_draws_once(argv, monkeypatch, tmp_path):
    """Every step runs (the log says done, nothing stopped it early), the figures drawn once included."""
    tutorial_table(n_genes=5, n_tfs=20).to_csv(tmp_path / "tf_to_gene.csv")
    argv("--results", tmp_path)
    said = []

    class Log:
        def info(self, msg, *args):
            said.append(("info", msg % args))

        def exception(self, msg, *args):
            said.append(("exception", msg % args))

    drawn = []
    draw = warm.draw_once
    monkeypatch.setattr(warm, "_LOG", Log())
    monkeypatch.setattr(warm, "draw_once", lambda table: drawn.append(len(table)) or draw(table))
    warm.warm_up()
    assert drawn == [5 * 8 * 10] and [kind for kind, _ in said] == ["info"] and "done in" in said[0][1]
