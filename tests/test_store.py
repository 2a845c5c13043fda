"""Result store and the attribute command: layout, resume, regrouping, atomic writes, locking."""

from __future__ import annotations

import io
import shutil
import threading

import numpy as np
import pandas as pd
import pytest

from cell2net_core import cli, data, files, pipeline, store
from cell2net_core.aggregate import regroup
from cell2net_core.errors import Cell2NetInputError
from cell2net_core.settings import Settings
from cell2net_core.testing import random_attribution, random_dataset

CPU = Settings(device="cpu")


@pytest.fixture
def run(tiny, tmp_path):
    def run(*extra):
        argv = ["attribute", "--mdata", str(tiny["mdata"]), "--models", str(tiny["models"]), "--out", str(tmp_path)]
        return cli.main([*argv, "--device", "cpu", *extra])

    return run


def test_command_writes_the_tutorial_layout_and_resumes(run, tiny, tmp_path, capsys):
    assert run() == 0
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert names == [f"GENE{i}.{s}" for i in (0, 1) for s in ("csv", "json", "npy")] + ["tf_to_gene.csv"]
    table = store.ResultStore(tmp_path).table()
    mdata = data.read_dataset(tiny["mdata"])
    n_tfs = table.groupby(["gene", "cell_type_v2"]).size().groupby("gene").unique()
    assert n_tfs.to_dict() == {g: [len(data.gene_tfs(mdata, g))] for g in ("GENE0", "GENE1")}
    stamp = (tmp_path / "GENE0.npy").stat().st_mtime_ns
    capsys.readouterr()
    assert run("--n-tfs", "2") == 0
    assert "0 computed, 2 loaded" in capsys.readouterr().err
    assert (tmp_path / "GENE0.npy").stat().st_mtime_ns == stamp
    assert (store.ResultStore(tmp_path).table().groupby(["gene", "cell_type_v2"]).size() == 2).all()
    assert run("--force", "--genes", "GENE0") == 0
    assert (tmp_path / "GENE0.npy").stat().st_mtime_ns != stamp


def test_regroup_needs_no_recomputation(tiny, tmp_path):
    mdata = data.read_dataset(tiny["mdata"])
    first = pipeline.attribute_genes(mdata, ["GENE0"], model_dir=tiny["models"], out_dir=tmp_path, settings=CPU)
    by_type = CPU.replace(groupby="cell_type", n_tfs=None)
    res = pipeline.attribute_genes(mdata, ["GENE0"], model_dir=tiny["models"], out_dir=tmp_path, settings=by_type)
    assert res[0].status == "cached" and set(res[0].table["cell_type"]) == set(mdata.obs["cell_type"])
    np.testing.assert_array_equal(res[0].attribution.attr, first[0].attribution.attr)


def test_bad_input_is_one_line_and_nonzero(run, tiny, tmp_path, capsys):
    assert run("--genes", "GENE0,NOPE") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: gene(s) ['NOPE'] have no peaks in " + repr(str(tiny["mdata"])) + " (uns['peak_to_gene'])."]
    assert run("--genes", "GENE2") == 1
    assert "'GENE2' has no trained model" in capsys.readouterr().err
    assert run("--groupby", "donor") == 2
    assert not any(tmp_path.glob("*.npy"))


def test_no_partial_file_after_failure_or_interrupt(tiny, tmp_path, monkeypatch):
    mdata = data.read_dataset(tiny["mdata"])

    def interrupt(i, n, gene, fraction):
        if gene == "GENE1" and i == 1 and fraction > 0:  # inside the attribution, before any write
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pipeline.attribute_genes(
            mdata, ["GENE0", "GENE1"], model_dir=tiny["models"], out_dir=tmp_path, settings=CPU, progress=interrupt
        )
    assert sorted(p.name for p in tmp_path.glob("*.*") if not p.name.startswith(".")) == [
        "GENE0.csv", "GENE0.json", "GENE0.npy",
    ]  # fmt: skip

    real_replace = files.os.replace

    def failing_replace(src, dst):
        if str(dst).endswith(".json"):
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        store.atomic_write(tmp_path / "x.json", "{}")
    assert not (tmp_path / "x.json").exists() and not list(tmp_path.glob(".x.json.*"))


def test_two_sessions_compute_a_gene_once(tiny, tmp_path):
    mdata = data.read_dataset(tiny["mdata"])
    results = []

    def ask():
        results.extend(
            pipeline.attribute_genes(mdata, ["GENE1"], model_dir=tiny["models"], out_dir=tmp_path, settings=CPU)
        )

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in results) == ["cached", "computed"]
    np.testing.assert_array_equal(results[0].attribution.attr, results[1].attribution.attr)


def test_reads_a_tutorial_results_folder(tiny, tmp_path):
    out = tmp_path / "ours"
    mdata = data.read_dataset(tiny["mdata"])
    pipeline.attribute_genes(mdata, ["GENE0", "GENE1"], model_dir=tiny["models"], out_dir=out, settings=CPU)
    tutorial = tmp_path / "tutorial"
    tutorial.mkdir()
    # the tutorial's consolidation: per-gene tables without our n_metacells, concatenated, default index
    tables = [pd.read_csv(out / f"GENE{i}.csv").drop(columns="n_metacells") for i in (0, 1)]
    pd.concat(tables).to_csv(tutorial / "tf_to_gene.csv")
    s = store.ResultStore(tutorial)
    assert s.genes() == ["GENE0", "GENE1"]
    table = s.table()
    assert list(table.columns[:5]) == ["tf", "gene", "cell_type_v2", "mean_attr", "std_attr"]
    assert len(table) == 8 * sum(len(data.gene_tfs(mdata, g)) for g in ("GENE0", "GENE1"))
    assert s.gene_table("GENE1")["gene"].eq("GENE1").all()
    # its .npy files without our .json load with the dataset's TF order
    shutil.copy(out / "GENE0.npy", tutorial / "GENE0.npy")
    res = pipeline.attribute_genes(mdata, ["GENE0"], model_dir=tiny["models"], out_dir=tutorial, settings=CPU)
    assert res[0].status == "cached" and res[0].attribution.tfs == data.gene_tfs(mdata, "GENE0")


def test_bad_results_files_are_named(tmp_path):
    (tmp_path / "tf_to_gene.csv").write_text("a,b\n1,2\n")
    with pytest.raises(Cell2NetInputError, match="lacks column"):
        store.ResultStore(tmp_path).table()
    with pytest.raises(Cell2NetInputError, match="does not exist"):
        store.ResultStore(tmp_path / "none").table()
    with pytest.raises(Cell2NetInputError, match="cannot name a file"):
        store.ResultStore(tmp_path).has("../etc")


def test_other_method_is_recomputed_and_stray_files_ignored(tiny, tmp_path):
    mdata = data.read_dataset(tiny["mdata"])
    kw = {"model_dir": tiny["models"], "out_dir": tmp_path}
    exact = CPU.replace(method="exact")
    assert pipeline.attribute_genes(mdata, ["GENE0"], settings=exact, **kw)[0].status == "computed"
    assert pipeline.attribute_genes(mdata, ["GENE0"], settings=exact, **kw)[0].status == "cached"
    assert pipeline.attribute_genes(mdata, ["GENE0"], settings=CPU, **kw)[0].status == "computed"
    assert pipeline.attribute_genes(mdata, ["GENE0"], settings=CPU.replace(n_steps=50), **kw)[0].status == "computed"
    assert store.ResultStore(tmp_path).meta("GENE0")["n_steps"] == 50
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    s = store.ResultStore(tmp_path)
    assert s.genes() == ["GENE0"] and set(s.table()["gene"]) == {"GENE0"}


def test_every_gene_of_tf_to_gene_csv_is_listed_and_readable(tmp_path):
    from cell2net_core.testing import random_table

    table = random_table(n_genes=5, n_tfs=6, top=3)
    table.to_csv(tmp_path / "tf_to_gene.csv")  # the tutorial's layout
    table[table["gene"] == "GENE0"].to_csv(tmp_path / "GENE0.csv", index=False)  # one gene with its own CSV
    s = store.ResultStore(tmp_path)
    assert s.genes() == [f"GENE{i}" for i in range(5)]
    rows = s.gene_table("GENE3")
    assert len(rows) == int((table["gene"] == "GENE3").sum()) and rows["gene"].eq("GENE3").all()


def test_a_gene_is_stored_with_one_folder_flush_after_its_three_renames(tmp_path, monkeypatch):
    mdata = random_dataset(n_metacells=12)
    attribution = random_attribution(mdata, "GENE0")
    flushed = []
    monkeypatch.setattr(files, "_fsync_dir", lambda folder: flushed.append(sorted(p.name for p in folder.iterdir())))
    store.ResultStore(tmp_path).save(attribution, regroup(attribution, mdata, n_tfs=3))
    assert flushed == [["GENE0.csv", "GENE0.json", "GENE0.npy"]]  # the flush comes after every rename


def test_per_gene_csvs_parsed_as_one_read_as_each_alone(tmp_path):
    """The joined parse gives what reading each file gives; a bad file is still named."""
    from cell2net_core.testing import random_table

    table = random_table(n_genes=6, top=3).assign(p_value=0.5, known=True)
    table.loc[table["gene"] == "GENE2", "p_value"] = np.nan  # a column empty in one file only
    csvs = []
    for gene, rows in table.groupby("gene"):
        csvs.append(tmp_path / f"{gene}.csv")
        text = rows.to_csv(index=False)
        csvs[-1].write_text(text.rstrip("\n") if gene == "GENE3" else text)  # one without the last newline
    one_by_one = pd.concat([store.read_network_table(p) for p in csvs])
    joined = store._read_tables(csvs)
    assert len(joined) == 1  # one parse
    pd.testing.assert_frame_equal(joined[0], one_by_one)  # each file's own index 0..n-1 too, as tf_to_gene.csv has
    with open(csvs[4], "a") as fh:
        fh.write("TF9,GENE4,B cell,not a number,0.1,12,0.5,True\n")
    with pytest.raises(Cell2NetInputError, match="GENE4.csv.*'mean_attr' is not numeric"):
        store._read_tables(csvs)


def test_a_killed_writer_left_as_a_zombie_counts_as_gone(tmp_path):
    """A killed run's worker process may stay a zombie (nothing reaps it): its temporary file is stale."""
    import os
    import time

    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        time.sleep(0.3)  # exited, not reaped
        left = tmp_path / f".GENE0.npy.{pid}.0123456789abcdef.tmp"
        left.write_bytes(b"half a file")
        assert files.remove_stale_tmp(tmp_path) == [left] and not left.exists()
    finally:
        os.waitpid(pid, 0)


def test_atomic_write_all_is_all_or_nothing_before_its_renames(tmp_path):
    (tmp_path / "b.txt").write_text("old")
    with pytest.raises(TypeError):  # the second file cannot be written: nothing is renamed into place
        files.atomic_write_all([(tmp_path / "a.txt", "A"), (tmp_path / "b.txt", 12345), (tmp_path / "c.txt", "C")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.txt"]  # no temporary file left, b as it was
    assert (tmp_path / "b.txt").read_text() == "old"
    done = files.atomic_write_all([(tmp_path / "a.txt", "A"), (tmp_path / "b.txt", b"B")])
    assert [p.read_text() for p in done] == ["A", "B"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_consolidated_keeps_each_gene_files_numbers_and_recomputes_q_over_all(tmp_path, monkeypatch):
    from cell2net_core.stats import bh_q
    from cell2net_core.testing import random_table

    rng = np.random.default_rng(0)
    table = random_table(n_genes=3, top=3)
    table = table.assign(ci_low=table["mean_attr"] - 0.1, ci_high=table["mean_attr"] + 0.1,
                         p_value=rng.uniform(size=len(table)) ** 3, q_value=0.5)  # fmt: skip
    table.loc[table.index[1], "p_value"] = np.nan  # no test for this row
    table.loc[table["gene"] == "GENE1", "cell_type_v2"] = "B, naive"  # quoted in the CSV
    s = store.ResultStore(tmp_path)
    for gene, rows in table.groupby("gene"):
        s.save_table(gene, rows)
    csvs = s._gene_csvs()
    parsed_and_written = s._concat(csvs).to_csv()  # what pandas alone would write
    monkeypatch.setattr(store.ResultStore, "_concat", lambda *a: pytest.fail("the per-gene lines were not used"))
    text = s.write_consolidated().read_text()
    lines = text.splitlines()
    assert lines[0] == ",tf,gene,cell_type_v2,mean_attr,std_attr,n_metacells,ci_low,ci_high,p_value,q_value"
    own = [f"{j},{line.rsplit(',', 1)[0]}" for p in csvs for j, line in enumerate(p.read_text().splitlines()[1:])]
    assert [line.rsplit(",", 1)[0] for line in lines[1:]] == own  # every gene's numbers as its own file has them
    whole = pd.read_csv(tmp_path / "tf_to_gene.csv", index_col=0, float_precision="round_trip")
    np.testing.assert_allclose(whole["q_value"], bh_q(whole["p_value"].to_numpy()), rtol=1e-12)  # q over every row
    assert whole["q_value"].isna().sum() == 1
    again = pd.read_csv(io.StringIO(parsed_and_written), index_col=0, float_precision="round_trip")
    pd.testing.assert_frame_equal(whole, again, rtol=1e-12)  # the same table as parsing and writing it again


def test_consolidated_keeps_rows_of_genes_without_their_own_csv(tmp_path):
    from cell2net_core.testing import random_table

    table = random_table(n_genes=3, top=2).assign(p_value=0.01, q_value=0.01)
    table.to_csv(tmp_path / "tf_to_gene.csv")  # a tutorial's table: GENE0..GENE2
    s = store.ResultStore(tmp_path)
    s.save_table("GENE1", table[table["gene"] == "GENE1"].assign(p_value=0.5))
    s.write_consolidated()
    whole = s.table()
    assert sorted(set(whole["gene"])) == ["GENE0", "GENE1", "GENE2"]  # kept, and the new GENE1
    assert whole.loc[whole["gene"] == "GENE1", "p_value"].eq(0.5).all()


def test_a_fresh_genes_table_is_read_unless_its_settings_grouping_or_file_changed(tiny, tmp_path, monkeypatch):
    """Loading a fresh gene reads its CSV when its .json says it was made as asked and its hash matches;
    otherwise (other settings or labels, an edited CSV, motif or reference evidence) the table is made again."""
    mdata, csv = data.read_dataset(tiny["mdata"]), tmp_path / "GENE0.csv"
    exact, made, real = Settings(method="exact", device="cpu"), [], pipeline._table
    monkeypatch.setattr(pipeline, "_table", lambda *args: made.append(args[2].n_tfs) or real(*args))

    def run(settings: Settings, dataset=mdata) -> pipeline.GeneResult:
        return pipeline.attribute_genes(dataset, ["GENE0"], model_dir=tiny["models"], out_dir=tmp_path,
                                        settings=settings)[0]  # fmt: skip

    assert run(exact).status == "computed" and made == [10]
    first = csv.read_bytes()
    cached = run(exact)
    assert cached.status == "cached" and made == [10] and csv.read_bytes() == first  # read, not made again
    pd.testing.assert_frame_equal(cached.table, store.read_network_table(csv))
    assert run(Settings(method="exact", device="cpu", n_tfs=3)).status == "cached" and made == [10, 3]
    assert csv.read_bytes() != first and run(Settings(method="exact", device="cpu", n_tfs=3)) and made == [10, 3]
    assert run(exact) and made == [10, 3, 10] and csv.read_bytes() == first  # back to the first settings
    csv.write_bytes(first.replace(b"\n", b"\r\n", 1))  # edited by hand: its hash no longer matches
    assert run(exact) and made == [10, 3, 10, 10] and csv.read_bytes() == first
    relabelled = data.read_dataset(tiny["mdata"])
    relabelled.obs["cell_type_v2"] = relabelled.obs["cell_type_v2"].astype(str).to_numpy()[::-1]
    assert run(exact, relabelled).status == "cached" and made == [10, 3, 10, 10, 10]  # same inputs, other groups
    assert pipeline._table_made_with(mdata, exact, pipeline.Evidence(motifs=True)) is None
