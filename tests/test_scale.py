"""Scaling out: module reuse, genes in threads, the Ray backend, and resuming after kill -9."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from cell2net_core import cli, data, model, pipeline
from cell2net_core.attribution import tf_attr
from cell2net_core.overlap import map_in_processes, map_in_threads
from cell2net_core.settings import Settings
from cell2net_core.testing import random_dataset, random_model

ROOT = Path(__file__).resolve().parents[1]
N_GENES = 24
GENES = [f"GENE{i}" for i in range(6)]


def _files(folder: Path) -> dict[str, bytes]:
    """Every result file's bytes, except ``<GENE>.json`` (its run time and mtime vary)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.suffix != ".json"}


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> dict[str, Path]:
    """24 genes x 300 metacells, each with a checkpoint: enough work to kill a run half-way."""
    root = tmp_path_factory.mktemp("many")
    mdata = random_dataset(n_metacells=300, n_genes=N_GENES, n_peaks=4, n_tfs=9, seed=5)
    mdata.write(root / "mdata.h5mu")
    for i, gene in enumerate(data.genes_with_peaks(mdata)):
        model.save_checkpoint(random_model(data.gene_inputs(mdata, gene), seed=i), root / "model" / f"{gene}.pt")
    return {"mdata": root / "mdata.h5mu", "models": root / "model", "root": root}


def _argv(paths: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["attribute", "--mdata", str(paths["mdata"]), "--models", str(paths["models"]), "--out", str(out),
            "--device", "cpu", "--method", "exact", *extra]  # fmt: skip


def test_module_pool_gives_load_checkpoint_numbers(many):
    mdata = data.read_dataset(many["mdata"])
    pool = model.ModulePool(device="cpu")
    for gene in ("GENE0", "GENE1", "GENE2"):
        inputs = data.gene_inputs(mdata, gene)
        fresh = model.load_checkpoint(many["models"] / f"{gene}.pt", inputs, device="cpu")
        reused = pool.load(many["models"] / f"{gene}.pt", inputs)
        for a, b in zip(fresh.state_dict().values(), reused.state_dict().values(), strict=True):
            assert torch.equal(a, b)
        assert not reused.training
        want = tf_attr(fresh, inputs, method="captum", n_steps=5, device="cpu").attr
        assert np.array_equal(tf_attr(reused, inputs, method="captum", n_steps=5, device="cpu").attr, want)
    assert len(pool) < 3 or len({data.gene_inputs(mdata, g).n_tfs for g in ("GENE0", "GENE1", "GENE2")}) == 3


def test_map_in_threads_keeps_order_stops_and_raises():
    assert map_in_threads(lambda i, x: (time.sleep(0.01 * (3 - i)), x)[1], [1, 2, 3], threads=3) == [1, 2, 3]
    seen: list[int] = []
    out = map_in_threads(lambda i, x: x, range(10), threads=2, done=lambda i, r: seen.append(i),
                         should_stop=lambda: len(seen) >= 3)  # fmt: skip
    assert 3 <= len(out) <= 4 and out == list(range(len(out)))

    def boom(i, x):
        raise KeyError(x)

    with pytest.raises(KeyError):
        map_in_threads(boom, [1, 2, 3], threads=2)


def test_genes_in_threads_write_the_same_files_as_one_at_a_time(many, tmp_path):
    mdata = data.read_dataset(many["mdata"])
    genes = data.genes_with_peaks(mdata)[:8]
    settings = Settings(method="exact", device="cpu")
    for threads in (1, 3):
        results = pipeline.attribute_genes(mdata, genes, model_dir=many["models"], out_dir=tmp_path / str(threads),
                                           settings=settings, threads=threads)  # fmt: skip
        assert [r.gene for r in results] == genes and {r.status for r in results} == {"computed"}
    assert _files(tmp_path / "1") == _files(tmp_path / "3")


def test_stored_numbers_do_not_depend_on_torchs_thread_count(tmp_path):
    mdata = random_dataset(n_metacells=3000, n_genes=1, n_peaks=20, n_tfs=60, tf_density=1.0, seed=1)
    model.save_checkpoint(random_model(data.gene_inputs(mdata, "GENE0"), seed=0), tmp_path / "GENE0.pt")
    before, got = torch.get_num_threads(), []
    try:
        for n in (1, 2):  # at 2 threads, float32 kernels split their sums otherwise (seen on this model's path)
            torch.set_num_threads(n)
            attribution, _, _ = pipeline.compute_gene(mdata, "GENE0", model_dir=tmp_path,
                                                      settings=Settings(method="exact", device="cpu"))  # fmt: skip
            got.append(attribution.attr.tobytes())
    finally:
        torch.set_num_threads(before)
    assert got[0] == got[1]


def _die_on(item: int, marker: Path | None, *, others_sleep: float = 0.0):
    """A worker function that kills its process on ``item`` (every time, or only while ``marker`` is absent);
    other items take ``others_sleep`` seconds."""

    def fn(i: int, x: int) -> int:
        if x == item and (marker is None or not marker.exists()):
            if marker is not None:
                marker.touch()
            os._exit(1)
        time.sleep(others_sleep)
        return x * 10

    return fn


def test_map_in_processes_keeps_order_and_retries_a_dead_worker_once(tmp_path):
    """An item lost in a crash is tried again alone; one that kills its worker then is failed, the others not."""
    dead = lambda i, x: -1  # noqa: E731
    once = map_in_processes(_die_on(3, tmp_path / "once"), range(6), processes=2, crashed=dead)
    assert once == [0, 10, 20, 30, 40, 50]  # its second try, in a new worker, succeeds
    assert map_in_processes(_die_on(3, None), range(6), processes=2, crashed=dead) == [0, 10, 20, -1, 40, 50]
    # items running beside the one that kills its worker, each time, are not failed with it
    assert map_in_processes(_die_on(3, None, others_sleep=0.2), range(6), processes=2, crashed=dead) == [
        0, 10, 20, -1, 40, 50]  # fmt: skip
    # items taken several at a time (40 items on 2 workers: runs of up to 5): the lost run's other items are redone
    want = [x * 10 if x != 3 else -1 for x in range(40)]
    assert map_in_processes(_die_on(3, None), range(40), processes=2, crashed=dead) == want
    assert map_in_processes(_die_on(3, tmp_path / "run"), range(40), processes=2, crashed=dead)[3] == 30
    # a worker that dies after its item (here in ``settle``): the item is tried alone once lost twice, then failed
    def die_after_3(run):
        if any(i == 3 for i, _ in run):
            os._exit(1)
        return run

    assert map_in_processes(lambda i, x: x * 10, range(40), processes=2, crashed=dead, settle=die_after_3) == want
    seen: list[int] = []
    out = map_in_processes(lambda i, x: x, range(10), processes=2, crashed=dead, done=lambda i, r: seen.append(i),
                           should_stop=lambda: len(seen) >= 3)  # fmt: skip
    assert 3 <= len(out) <= 4 and out == list(range(len(out)))


def test_after_ctrl_c_worker_processes_start_no_further_item_of_their_run(tmp_path):
    """Ctrl-C in the caller (here: raised from ``done``): each worker finishes the item it runs, not the rest of
    its run. Items 8-199 are instant, so the first results come back while the run 0-7 is on item 0."""

    def fn(i: int, x: int) -> int:
        (tmp_path / f"started_{x}").touch()
        if x < 8:
            time.sleep(0.3)
        return x

    def interrupt(i: int, result: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        map_in_processes(fn, range(200), processes=2, crashed=lambda i, x: -1, done=interrupt)
    assert {int(p.name.split("_")[1]) for p in tmp_path.glob("started_*")} & set(range(8)) == {0}


def test_map_in_processes_settles_each_run_in_its_worker():
    """``settle`` sees each run's pairs in the worker that made them and decides what is sent back."""
    out = map_in_processes(lambda i, x: x, range(40), processes=2, crashed=lambda i, x: -1,
                           settle=lambda run: [(i, (os.getpid(), len(run))) for i, _ in run])  # fmt: skip
    workers, sizes = {pid for pid, _ in out}, [n for _, n in out]
    assert len(workers) == 2 and os.getpid() not in workers and max(sizes) == 5 and min(sizes) == 1


def test_the_writer_reports_a_failed_commit_and_releases_the_lock(tmp_path):
    from cell2net_core.files import stage
    from cell2net_core.pipeline import Writer

    writer, released = Writer(), []
    writer.commit(1, stage([(tmp_path / "ok" / "a.txt", "A")]), release=lambda: released.append(1))
    doomed = stage([(tmp_path / "gone" / "b.txt", "B")])
    shutil.rmtree(tmp_path / "gone")  # its folder removed before the rename
    writer.commit(2, doomed, release=lambda: released.append(2))
    failed = writer.settle()
    assert list(failed) == [2] and isinstance(failed[2], FileNotFoundError) and released == [1, 2]
    assert (tmp_path / "ok" / "a.txt").read_text() == "A" and not list(tmp_path.rglob(".*.tmp"))


def test_worker_processes_report_a_gene_whose_files_cannot_be_put_in_place(many, local_run, tmp_path, monkeypatch):
    """The files are flushed and renamed in each worker's writer thread while the next gene computes; a gene whose
    files fail there is reported failed by name (the forked workers inherit the patched commit), the rest stored."""
    from cell2net_core import files

    commit = files.Staged.commit

    def full_disk_for_gene2(self, **kw):
        if any(p.stem == "GENE2" for p in self.paths):
            self.discard()
            raise OSError(28, "No space left on device", str(self.paths[0]))
        return commit(self, **kw)

    monkeypatch.setattr(files.Staged, "commit", full_disk_for_gene2)
    mdata, genes = data.read_dataset(many["mdata"]), [f"GENE{i}" for i in range(N_GENES)]  # runs of up to 3 genes
    results = pipeline.attribute_genes(mdata, genes, model_dir=many["models"], out_dir=tmp_path / "out",
                                       settings=Settings(method="exact", device="cpu"), processes=2)  # fmt: skip
    assert [r.status for r in results] == ["computed" if g != "GENE2" else "failed" for g in genes]
    assert "No space left on device" in results[2].error and "GENE2.npy" in results[2].error
    stored = _files(tmp_path / "out")
    assert "GENE2.npy" not in stored and not list((tmp_path / "out").glob(".*.tmp"))
    assert all(stored[n] == b for n, b in _files(local_run).items() if n.startswith(("GENE1.", "GENE3.")))


def test_worker_processes_leave_what_they_inherit_out_of_garbage_collections():
    """A full collection that walks the caller's dataset and libraries stalled a worker ~200 ms (docs/scaling.md)."""
    import gc

    caller = gc.get_freeze_count()
    frozen = map_in_processes(lambda i, x: gc.get_freeze_count(), range(2), processes=2, crashed=lambda i, x: -1)
    assert min(frozen) > max(len(gc.get_objects()) // 2, 1000) and gc.get_freeze_count() == caller


def test_worker_processes_write_the_thread_files_and_name_a_bad_gene(many, local_run, tmp_path, capsys):
    models = tmp_path / "model"
    shutil.copytree(many["models"], models)
    (models / "GENE2.pt").write_bytes(b"not a checkpoint")
    argv = _argv(many, tmp_path / "out", "--genes", ",".join(GENES), "--workers", "2")
    argv[argv.index("--models") + 1] = str(models)
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "2 worker processes" in err and "5 computed" in err and "error: GENE2: " in err and "GENE2.pt" in err
    (models / "GENE2.pt").write_bytes((many["models"] / "GENE2.pt").read_bytes())
    assert cli.main(argv) == 0
    assert _files(tmp_path / "out") == _files(local_run)


@pytest.mark.parametrize(("cores", "genes", "python_threads", "expect"),
                         [(2, 3, 1, "2 worker processes"), (4, 3, 1, "3 worker processes"), (1, 3, 1, "local\n"),
                          (2, 1, 1, "local\n"), (2, 3, 3, "local\n")])
def test_the_command_runs_a_worker_process_per_core_by_default(many, tmp_path, capsys, monkeypatch, cores, genes,
                                                                python_threads, expect):
    """On a CPU: one forked worker per usable core, no more than the genes; one core or one gene: threads;
    and threads in a process that runs other Python threads (forking it could deadlock its workers)."""
    monkeypatch.setattr(cli, "USABLE_CORES", cores)
    monkeypatch.setattr(cli.threading, "active_count", lambda: python_threads)
    assert cli.main(_argv(many, tmp_path / "out", "--genes", ",".join(GENES[:genes]))) == 0
    err = capsys.readouterr().err
    assert expect in err and f"{genes} computed" in err
    assert sorted(p.name for p in (tmp_path / "out").glob("*.npy")) == [f"{g}.npy" for g in GENES[:genes]]


def test_worker_processes_send_back_no_tables_they_are_stored(many, tmp_path):
    from cell2net_core.store import ResultStore

    mdata = data.read_dataset(many["mdata"])
    results = pipeline.attribute_genes(mdata, GENES[:3], model_dir=many["models"], out_dir=tmp_path / "out",
                                       settings=Settings(method="exact", device="cpu"), processes=2)  # fmt: skip
    assert [(r.gene, r.status, r.table, r.attribution) for r in results] == [(g, "computed", None, None)
                                                                            for g in GENES[:3]]
    assert sorted(ResultStore(tmp_path / "out").table()["gene"].unique()) == GENES[:3]


def test_the_command_keeps_no_genes_attributions_in_memory_they_are_stored(many, tmp_path, monkeypatch):
    """In threads too (``--workers 1``, and always on CUDA): 20,000 genes' attributions would not fit in memory."""
    kept = []
    real = pipeline.attribute_genes

    def spy(*args, **kwargs):
        results = real(*args, **kwargs)
        kept.extend((r.status, r.table, r.attribution) for r in results)
        return results

    monkeypatch.setattr(pipeline, "attribute_genes", spy)
    argv = _argv(many, tmp_path / "out", "--genes", ",".join(GENES[:2]), "--workers", "1")
    assert cli.main(argv) == 0 and cli.main(argv) == 0  # computed, then loaded
    assert kept == [("computed", None, None)] * 2 + [("cached", None, None)] * 2
    results = real(data.read_dataset(many["mdata"]), GENES[:1], model_dir=many["models"], out_dir=tmp_path / "out",
                   settings=Settings(method="exact", device="cpu"))  # fmt: skip
    assert results[0].status == "cached" and results[0].table is not None  # what the app asks for: kept


def test_ctrl_c_with_worker_processes_stops_cleanly_and_resumes(many, tmp_path, capsys):
    """SIGINT to the command's process group (as a terminal's Ctrl-C): running genes finish, no temporary file."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "cell2net_core", *_argv(many, out, "--workers", "2")], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(out.glob("*.npy")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted: finished genes are stored" in err, err[-500:]
    stored = {p.stem for p in out.glob("*.npy")}
    assert 0 < len(stored) < N_GENES and not list(out.glob(".*.tmp"))
    assert all((out / f"{g}.csv").is_file() and (out / f"{g}.json").is_file() for g in stored)  # whole genes only
    capsys.readouterr()
    assert cli.main(_argv(many, out, "--workers", "2")) == 0
    assert f"{len(stored)} loaded from" in capsys.readouterr().err


def _kill_half_way(argv: list[str], out: Path) -> None:
    """Start the command, kill -9 it once some but not all genes are stored."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "cell2net_core", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(out.glob("*.npy")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and whatever it started (a local Ray cluster)
    proc.wait()
    assert 0 < len(list(out.glob("*.npy"))) < N_GENES, "the run was not killed half-way"
    assert not (out / "tf_to_gene.csv").exists()


@pytest.mark.parametrize("how", [("--threads", "1"), ("--workers", "2")], ids=["thread", "worker-processes"])
def test_kill_9_then_the_same_command_resumes_to_the_same_files(many, tmp_path, capsys, how):
    assert cli.main(_argv(many, tmp_path / "whole")) == 0
    argv = _argv(many, tmp_path / "killed", *how)
    _kill_half_way(argv, tmp_path / "killed")
    left = tmp_path / "killed" / ".GENE5.npy.999999999.0123456789abcdef.tmp"  # a write cut short, its process gone
    left.write_bytes(b"half a file")
    capsys.readouterr()
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert f"{N_GENES} computed" not in err and "loaded from" in err
    assert _files(tmp_path / "killed") == _files(tmp_path / "whole")
    assert not list((tmp_path / "killed").glob(".*.tmp"))


@pytest.fixture(scope="module")
def local_run(many, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "results"
    assert cli.main(_argv(many, out, "--genes", ",".join(GENES))) == 0
    return out


def test_ray_on_a_local_2_worker_cluster_writes_the_local_files_and_resumes(many, local_run, tmp_path, capsys):
    """One local Ray cluster: a half-done folder (as kill -9 leaves it) is finished with the local run's bytes.

    A bad checkpoint fails its gene only. The real kill -9 is tested on the local backend above
    (the same store resumes both; a Ray driver killed that way was checked by hand, docs/scaling.md).
    """
    ray = pytest.importorskip("ray")
    out, models = tmp_path / "results", tmp_path / "model"
    models.mkdir()
    for gene in GENES:
        shutil.copy2(many["models"] / f"{gene}.pt", models)  # same mtime: the stored results stay fresh
    (models / "GENE6.pt").write_bytes(b"not a checkpoint")
    out.mkdir()
    for name in ("GENE0.npy", "GENE0.json", "GENE0.csv", "GENE3.npy", "GENE3.json", "GENE3.csv"):
        (out / name).write_bytes((local_run / name).read_bytes())
    (out / ".GENE4.npy.999999999.0123456789abcdef.tmp").write_bytes(b"half a file")
    capsys.readouterr()
    argv = _argv({**many, "models": models}, out, "--genes", ",".join([*GENES, "GENE6"]))
    assert cli.main([*argv, "--backend", "ray", "--workers", "2"]) == 1
    err = capsys.readouterr().err
    assert "4 computed, 2 loaded from" in err and "1 failed" in err and "GENE6.pt" in err
    assert _files(out) == _files(local_run)
    assert not list(out.glob(".*.tmp"))
    assert not ray.is_initialized()  # the cluster it started is shut down


def test_ray_workers_take_the_dataset_the_driver_read_from_the_object_store(many, local_run, tmp_path):
    """Workers need no ``.h5mu`` of their own (here none is at the path): the driver shares the one it read."""
    pytest.importorskip("ray")
    from cell2net_core.distributed import attribute_genes_ray

    mdata, out = data.read_dataset(many["mdata"]), tmp_path / "results"
    results = attribute_genes_ray(tmp_path / "nowhere.h5mu", GENES[:2], model_dir=many["models"], out_dir=out,
                                  settings=Settings(method="exact", device="cpu"), workers=1, mdata=mdata)  # fmt: skip
    assert [(r.gene, r.status, r.error) for r in results] == [("GENE0", "computed", None), ("GENE1", "computed", None)]
    assert all(r.table is None and r.attribution is None for r in results)  # stored, not kept by the driver
    for name in ("GENE0.npy", "GENE0.csv", "GENE1.npy", "GENE1.csv"):
        assert (out / name).read_bytes() == (local_run / name).read_bytes()


def test_ray_runs_of_genes_and_a_run_whose_worker_dies_is_retried_one_gene_per_task():
    """Tasks take runs of genes; a run lost with its worker is tried again gene by gene: only the killer fails."""
    ray = pytest.importorskip("ray")
    from cell2net_core.distributed import _run_tasks

    @ray.remote(max_retries=0)
    def work(genes: list[str]) -> list[tuple]:
        if "KILLER" in genes:
            os._exit(1)  # as a segfault or the kernel's out-of-memory killer would
        return [("computed", gene) for gene in genes]

    genes = [f"GENE{i}" for i in range(30)]
    genes[3] = "KILLER"
    submitted, answers = [], {}

    def submit(run: list[str]):
        submitted.append(run)
        return work.remote(run)

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        _run_tasks(genes, submit, slots=2, on_answer=lambda gene, answer: answers.setdefault(gene, answer))
    finally:
        ray.shutdown()
    assert sorted(answers) == sorted(genes) and all(answers[g] == ("computed", g) for g in genes if g != "KILLER")
    assert answers["KILLER"][0] == "failed" and "'KILLER': the Ray task failed" in answers["KILLER"][1]
    lost = [run for run in submitted if "KILLER" in run and len(run) > 1]
    assert len(submitted[0]) == 3 and len(lost) == 1  # runs of genes; the killer's lost once with its run
    assert all([gene] in submitted for gene in lost[0]) and sum(map(len, submitted)) == len(genes) + len(lost[0])
