"""Bad and hostile input, faults during a run, shared-server paths and exports: each with its exact outcome.

Every case asserts what the user sees (the error text, the exit code), that nothing is written
outside the output folder and that results already there are intact. Runs go through the
command line in this process (fast), except kill -9 and two runs at once (subprocesses).
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import torch

from cell2net_core import data, files, model, store
from cell2net_core.cli import main
from cell2net_core.errors import Cell2NetInputError
from cell2net_core.explore import export, network
from cell2net_core.testing import random_dataset, random_model
from ui.context import FILES_LABEL, Paths, build_context

ROOT = Path(__file__).resolve().parents[1]
GENES = ("GENE0", "GENE1", "GENE2")


# ----------------------------------------------------------------------------- helpers


def make_dataset(folder: Path, mutate=None, *, n_metacells: int = 24, covariates=data.DEFAULT_COVARIATES) -> Path:
    """A small dataset with a checkpoint per gene (fit to the unchanged data), then ``mutate(mdata)`` on disk."""
    mdata = random_dataset(n_metacells=n_metacells, n_genes=3, n_peaks=3, n_tfs=6, seed=3)
    for i, gene in enumerate(GENES):
        inputs = data.gene_inputs(mdata, gene, covariates=covariates)
        model.save_checkpoint(random_model(inputs, seed=i), folder / "model" / f"{gene}.pt")
    if mutate is not None:
        mutate(mdata)
    mdata.write(folder / "mdata.h5mu")
    return folder / "mdata.h5mu"


def rename_gene(mdata, old: str, new: str) -> None:
    rna = mdata["rna"]
    rna.var_names = [new if g == old else g for g in rna.var_names]
    p2g = mdata.uns["peak_to_gene"].copy()
    p2g["gene"] = p2g["gene"].astype(str).replace(old, new)
    mdata.uns["peak_to_gene"] = p2g
    rna.uns["gene_tf"] = rna.uns["gene_tf"].rename(index={old: new})
    mdata.update()


def cli(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def attribute(capsys, work: Path, *flags, out: Path | None = None) -> tuple[int, str]:
    out = out or work / "out"
    return cli(capsys, "attribute", "--mdata", work / "mdata.h5mu", "--models", work / "model", "--out", out,
               "--method", "exact", "--device", "cpu", *flags)  # fmt: skip


def snapshot(root: Path, *, skip: Path | None = None) -> dict[str, bytes]:
    """Every file under ``root`` (except under ``skip``) and its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and (skip is None or not p.is_relative_to(skip))
    }


@pytest.fixture
def work(tmp_path) -> Path:
    make_dataset(tmp_path)
    return tmp_path


#: ``attribute`` in a subprocess that sleeps after its first gene is stored, so kill -9 lands mid-run.
STALL_AFTER_FIRST_GENE = """
import sys, time
from cell2net_core import cli, pipeline
real = pipeline.attribute_gene
pipeline.attribute_gene = lambda *a, **k: (real(*a, **k), time.sleep(60))[0]
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """A clean run's folder (exact method): resumed and concurrent runs must match its results."""
    root = tmp_path_factory.mktemp("reference")
    make_dataset(root)
    argv = ["attribute", "--mdata", root / "mdata.h5mu", "--models", root / "model", "--out", root / "out",
            "--method", "exact", "--device", "cpu"]  # fmt: skip
    assert main([str(a) for a in argv]) == 0
    return root


def results_bytes(out: Path) -> dict[str, bytes]:
    """The folder's result files (``.json`` holds run times, so it is left out)."""
    return {k: v for k, v in snapshot(out).items() if not k.endswith(".json") and not k.startswith(".")}


# ----------------------------------------------------------------------------- datasets


def test_peaks_table_with_only_sequence_is_accepted(tmp_path, capsys):
    make_dataset(tmp_path, lambda m: m["atac"].uns.__setitem__("peaks", m["atac"].uns["peaks"][["sequence"]]))
    code, err = attribute(capsys, tmp_path)
    assert code == 0 and "3 computed, 0 loaded" in err
    coords = data.peak_coordinates(data.read_dataset(tmp_path / "mdata.h5mu"))
    assert coords.iloc[0]["chr"] == "chr1" and int(coords.iloc[0]["start"]) == 1_000_000


def test_unparseable_peak_names_give_missing_coordinates_not_zeros():
    mdata = random_dataset(n_metacells=8)
    peaks = mdata["atac"].uns["peaks"][["sequence"]].copy()
    peaks.index = ["peak_a", *peaks.index[1:]]
    mdata["atac"].uns["peaks"] = peaks
    coords = data.peak_coordinates(mdata)
    assert coords.iloc[0].isna().all() and coords.iloc[1].notna().all()


def test_gene_whose_peak_is_not_in_the_atac_modality_fails_alone(tmp_path, capsys):
    def mutate(m):
        p2g = m.uns["peak_to_gene"].copy()
        p2g.loc[p2g["gene"] == "GENE1", "peak"] = "chr9-1-257"
        m.uns["peak_to_gene"] = p2g

    make_dataset(tmp_path, mutate)
    code, err = attribute(capsys, tmp_path)
    assert code == 1
    assert "error: GENE1: " in err and "'chr9-1-257'" in err and "have no row in atac.uns['peaks']" in err
    assert "2 computed, 0 loaded" in err and "1 failed" in err
    assert sorted(p.name for p in (tmp_path / "out").glob("*.npy")) == ["GENE0.npy", "GENE2.npy"]


def test_negative_counts_are_refused(tmp_path, capsys):
    def mutate(m):
        counts = m["rna"].layers["counts"].toarray()
        counts[0, list(m["rna"].var_names).index("GENE0")] = -3
        m["rna"].layers["counts"] = counts

    make_dataset(tmp_path, mutate)
    code, err = attribute(capsys, tmp_path, "--genes", "GENE0")
    assert code == 1
    assert "error: GENE0: " in err and "rna.layers['counts'] holds negative values" in err and "smallest -3" in err
    assert not list((tmp_path / "out").glob("GENE0.*"))


def test_all_nan_grouping_column_is_refused_before_any_work(tmp_path, capsys):
    make_dataset(tmp_path, lambda m: m.obs.__setitem__("cell_type_v2", np.nan))
    code, err = attribute(capsys, tmp_path)
    assert code == 2
    assert "grouping column 'cell_type_v2' has no label for 24 of 24 metacells" in err
    assert not (tmp_path / "out").exists()


def test_duplicated_metacell_ids_say_so(tmp_path, capsys):
    def mutate(m):
        names = list(m.obs_names)
        names[1] = names[0]
        for mod in m.mod.values():
            mod.obs_names = names
        m.update()

    make_dataset(tmp_path, mutate)
    code, err = attribute(capsys, tmp_path)
    assert code == 2 and "metacell id(s) in obs_names are duplicated" in err and "obs_names_make_unique" in err


def test_zero_metacells_is_an_error(tmp_path, capsys):
    make_dataset(tmp_path)
    mdata = data.read_dataset(tmp_path / "mdata.h5mu")
    mdata[:0].copy().write(tmp_path / "mdata.h5mu")
    code, err = attribute(capsys, tmp_path)
    assert code == 2 and "the dataset has 0 metacells" in err


def test_nan_covariate_fails_each_gene_with_its_name(tmp_path, capsys):
    make_dataset(tmp_path, lambda m: m.obs.__setitem__("total_counts_rna_log", np.nan))
    code, err = attribute(capsys, tmp_path)
    assert code == 1 and err.count("holds NaN or infinite values") == 3 and "0 computed, 0 loaded" in err


def test_missing_peaks_table_names_the_key(tmp_path, capsys):
    make_dataset(tmp_path, lambda m: m["atac"].uns.pop("peaks"))
    code, err = attribute(capsys, tmp_path)
    assert code == 2 and "atac.uns['peaks'] is missing or not a table" in err


def test_no_covariates_is_accepted_as_in_cell2net(tmp_path, capsys):
    make_dataset(tmp_path, covariates=[])
    code, err = attribute(capsys, tmp_path, "--covariates", "")
    assert code == 0 and "3 computed" in err


def test_n_steps_beyond_the_cap_is_refused_before_allocating(work, capsys):
    code, err = attribute(capsys, work, "--method", "captum", "--n-steps", "100000000")
    assert code == 2 and "n_steps must be 1 to 10,000" in err
    assert not (work / "out").exists()


@pytest.mark.parametrize("flag", [("--workers", "0"), ("--threads", "0"), ("--workers", "-2")])
def test_zero_workers_or_threads_are_refused_with_their_names(work, capsys, flag):
    code, err = attribute(capsys, work, "--method", "exact", *flag)
    assert code == 2 and "must be at least 1" in err and f"{flag[0]} ({flag[1]})" in err
    assert not list((work / "out").glob("*.npy"))  # refused before any gene


# ----------------------------------------------------------------------------- freshness


def test_same_inputs_are_loaded_not_recomputed(work, capsys):
    assert attribute(capsys, work)[0] == 0
    code, err = attribute(capsys, work)
    assert code == 0 and "0 computed, 3 loaded" in err
    meta = store.ResultStore(work / "out").meta("GENE0")
    assert {"inputs_sha256", "checkpoint_sha256", "covariates", "method", "n_steps"} <= set(meta)


def test_swapped_covariates_are_recomputed(work, capsys):
    assert attribute(capsys, work)[0] == 0
    code, err = attribute(capsys, work, "--covariates", "total_counts_atac_log,total_counts_rna_log")
    assert code == 0 and "3 computed, 0 loaded" in err
    assert store.ResultStore(work / "out").meta("GENE0")["covariates"][0] == "total_counts_atac_log"


def test_replaced_dataset_is_recomputed(work, capsys):
    assert attribute(capsys, work)[0] == 0
    before = np.load(work / "out" / "GENE0.npy")
    mdata = data.read_dataset(work / "mdata.h5mu")
    mdata["rna"].layers["counts"] = mdata["rna"].layers["counts"] * 2
    mdata.write(work / "mdata.h5mu")
    code, err = attribute(capsys, work)
    assert code == 0 and "3 computed, 0 loaded" in err
    assert not np.allclose(np.load(work / "out" / "GENE0.npy"), before)


def test_replaced_checkpoint_with_the_old_mtime_is_recomputed(work, capsys):
    assert attribute(capsys, work)[0] == 0
    ckpt = work / "model" / "GENE0.pt"
    mtime = ckpt.stat().st_mtime
    inputs = data.gene_inputs(data.read_dataset(work / "mdata.h5mu"), "GENE0")
    model.save_checkpoint(random_model(inputs, seed=99), ckpt)
    os.utime(ckpt, (mtime, mtime))
    code, err = attribute(capsys, work)
    assert code == 0 and "1 computed, 2 loaded" in err


def test_other_n_steps_is_recomputed(work, capsys):
    assert attribute(capsys, work, "--method", "captum", "--n-steps", "8")[0] == 0
    code, err = attribute(capsys, work, "--method", "captum", "--n-steps", "9")
    assert code == 0 and "3 computed, 0 loaded" in err


# ----------------------------------------------------------------------------- checkpoints


def _edit_checkpoint(path: Path, edit) -> None:
    ckpt = torch.load(path, weights_only=True)
    edit(ckpt)
    torch.save(ckpt, path)


@pytest.mark.parametrize(
    "edit,expected",
    [
        (lambda c: c.__setitem__("model_state_dict", [1, 2]), "'model_state_dict' is list; expected a dict of tensors"),
        (lambda c: c["module_summary"].__setitem__("n_tfs", "six"), "'module_summary' is"),
        (lambda c: c["model_state_dict"]["fc.0.weight"].fill_(float("nan")), "holds NaN or infinite weights"),
        (lambda c: c["model_state_dict"]["fc.4.weight"].fill_(3e38), "attributions are NaN or infinite"),
        (lambda c: c.pop("model_state_dict"), "lacks key 'model_state_dict'"),
    ],
    ids=["state-dict-list", "summary-types", "nan-weights", "inf-attributions", "no-state-dict"],
)
def test_malformed_checkpoint_fails_its_gene_only(work, capsys, edit, expected):
    _edit_checkpoint(work / "model" / "GENE1.pt", edit)
    code, err = attribute(capsys, work)
    assert code == 1 and "error: GENE1: " in err and expected in err
    assert "2 computed, 0 loaded from" in err and ", 1 failed" in err
    assert not list((work / "out").glob("GENE1.*"))  # nothing stored for it


def test_pickle_checkpoint_is_blocked(work, capsys):
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch pwned",))

    (work / "model" / "GENE0.pt").write_bytes(pickle.dumps(Evil()))
    code, err = attribute(capsys, work)
    assert code == 1 and "error: GENE0: Cannot read checkpoint" in err and "weights_only" in err
    assert not (Path.cwd() / "pwned").exists()


def test_truncated_checkpoint(work, capsys):
    path = work / "model" / "GENE2.pt"
    path.write_bytes(path.read_bytes()[:100])
    code, err = attribute(capsys, work)
    assert code == 1 and "error: GENE2: Cannot read checkpoint" in err


# ----------------------------------------------------------------------------- names and paths


def test_gene_named_to_escape_writes_nothing_outside_out(tmp_path, capsys):
    make_dataset(tmp_path, lambda m: rename_gene(m, "GENE1", "../../escaped"))
    before = snapshot(tmp_path.parent, skip=tmp_path)
    code, err = attribute(capsys, tmp_path, "--genes", "GENE0,../../escaped")
    assert code == 1 and "error: ../../escaped: gene name '../../escaped' cannot name a file" in err
    assert snapshot(tmp_path.parent, skip=tmp_path) == before
    assert not list(tmp_path.parent.rglob("escaped*"))


def test_absolute_gene_name_does_not_touch_an_existing_lock(tmp_path, capsys):
    victim = tmp_path / "elsewhere" / "victim"
    victim.parent.mkdir()
    (victim.parent / "victim.lock").write_text("keep me")
    make_dataset(tmp_path, lambda m: rename_gene(m, "GENE0", str(victim)))
    code, err = attribute(capsys, tmp_path, "--genes", f"{victim},GENE1")
    assert code == 1 and f"error: {victim}: gene name" in err
    assert (victim.parent / "victim.lock").read_text() == "keep me"
    assert sorted(p.name for p in victim.parent.iterdir()) == ["victim.lock"]


def test_gene_named_tf_to_gene_cannot_clobber_the_table(tmp_path, capsys):
    make_dataset(tmp_path, lambda m: rename_gene(m, "GENE2", "tf_to_gene"))
    code, err = attribute(capsys, tmp_path, "--genes", "GENE0,GENE1,tf_to_gene")
    assert code == 1 and "error: tf_to_gene: " in err and "consolidated table" in err
    table = pd.read_csv(tmp_path / "out" / "tf_to_gene.csv")
    assert set(table["gene"]) == {"GENE0", "GENE1"} and "tf" in table.columns


@pytest.mark.parametrize("name", ["a\x00b", "x" * 201, "line\nbreak", ".hidden", "a/b", "TF_TO_GENE"])
def test_names_that_cannot_be_files(name, tmp_path):
    with pytest.raises(Cell2NetInputError, match="cannot name a file"):
        store.ResultStore(tmp_path / "out").lock(name).__enter__()
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.lock"))


def test_json_holding_a_list_fails_its_gene(work, capsys):
    assert attribute(capsys, work)[0] == 0
    (work / "out" / "GENE0.json").write_text("[1, 2]")
    code, err = attribute(capsys, work)
    assert code == 1 and "error: GENE0: " in err and "holds list '[1, 2]'; expected an object" in err
    assert "0 computed, 2 loaded" in err


def test_pickled_npy_is_not_loaded(tmp_path, capsys):
    make_dataset(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    np.save(out / "GENE0.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    code, err = attribute(capsys, tmp_path)
    assert code == 1 and "error: GENE0: Cannot read" in err and "as a numpy array" in err


# ----------------------------------------------------------------------------- no lost data


def _tutorial_folder(out: Path, groupby: str = "cell_type_v2") -> bytes:
    out.mkdir(parents=True)
    rows = pd.DataFrame({"tf": ["TFX", "TFY"], "gene": ["TUT1", "TUT2"], groupby: ["NK", "B cell"],
                         "mean_attr": [0.5, -0.2], "std_attr": [0.1, 0.1]})  # fmt: skip
    rows.to_csv(out / "tf_to_gene.csv")  # with pandas' index, as the tutorial writes it
    return (out / "tf_to_gene.csv").read_bytes()


def test_tutorial_rows_are_kept_from_the_cli(work, capsys):
    _tutorial_folder(work / "out")
    code, err = attribute(capsys, work, "--genes", "GENE0")
    assert code == 0
    table = store.read_network_table(work / "out" / "tf_to_gene.csv")
    assert {"TUT1", "TUT2", "GENE0"} == set(table["gene"])
    assert store.ResultStore(work / "out").genes() == ["GENE0", "TUT1", "TUT2"]


def test_tutorial_rows_are_kept_from_the_app(work):
    from ui import jobs

    _tutorial_folder(work / "out")
    mdata = data.read_dataset(work / "mdata.h5mu")
    job = jobs.start(mdata, ["GENE1"], model_dir=work / "model", out_dir=work / "out",
                     settings=jobs.Settings(method="exact", device="cpu"))  # fmt: skip
    job.thread.join(60)
    assert job.done and job.error is None and [r.status for r in job.results] == ["computed"]
    assert {"TUT1", "TUT2", "GENE1"} == set(pd.read_csv(work / "out" / "tf_to_gene.csv")["gene"])


def test_tutorial_table_with_another_grouping_is_left_intact(work, capsys):
    before = _tutorial_folder(work / "out", groupby="cell_type")
    code, err = attribute(capsys, work, "--genes", "GENE0")
    assert code == 2 and "use different grouping columns ['cell_type', 'cell_type_v2']" in err
    assert (work / "out" / "tf_to_gene.csv").read_bytes() == before
    assert (work / "out" / "GENE0.npy").is_file()


# ----------------------------------------------------------------------------- faults during a run


def test_out_is_a_file(work, capsys):
    (work / "out").write_text("not a folder")
    code, err = attribute(capsys, work)
    assert code == 1 and err.count("error: GENE") == 3 and "cannot write or read" in err
    assert (work / "out").read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_out(work, capsys):
    (work / "out").mkdir(mode=0o555)
    code, err = attribute(capsys, work)
    assert code == 1 and "Permission denied" in err


@pytest.mark.parametrize("code_", [errno.ENOSPC, errno.EROFS], ids=["disk-full", "read-only"])
def test_disk_full_or_read_only_fails_the_gene_and_leaves_no_partial_file(work, capsys, monkeypatch, code_):
    real = files.os.replace

    def replace(src, dst):
        if Path(dst).name == "GENE1.npy":
            raise OSError(code_, os.strerror(code_), str(dst))
        return real(src, dst)

    monkeypatch.setattr(files.os, "replace", replace)
    code, err = attribute(capsys, work)
    assert code == 1 and f"error: GENE1: cannot write or read {str(work / 'out' / 'GENE1.npy')!r}" in err
    assert os.strerror(code_) in err and "2 computed" in err
    assert not list((work / "out").glob(".*.tmp")) and not list((work / "out").glob("GENE1.*"))


def test_stale_tmp_is_removed_by_the_next_run_but_a_live_writer_keeps_its_file(work, capsys):
    (work / "out").mkdir()
    stale = work / "out" / ".GENE0.npy.999999999.0123456789abcdef.tmp"
    stale.write_bytes(b"half")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live = work / "out" / f".GENE1.npy.{child.pid}.0123456789abcdef.tmp"
        live.write_bytes(b"being written")
        assert attribute(capsys, work)[0] == 0
        assert not stale.exists() and live.exists()
    finally:
        child.kill()
        child.wait()


def test_result_files_get_the_umask_mode(work, capsys):
    old = os.umask(0o002)
    try:
        assert attribute(capsys, work)[0] == 0
    finally:
        os.umask(old)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in (work / "out").iterdir() if p.is_file()}
    assert modes == {0o664}


def _subprocess_attribute(work: Path, *, stall: bool = False) -> subprocess.Popen:
    run = ["-c", STALL_AFTER_FIRST_GENE] if stall else ["-m", "cell2net_core"]
    argv = [sys.executable, *run, "attribute", "--mdata", str(work / "mdata.h5mu"), "--models",
            str(work / "model"), "--out", str(work / "out"), "--method", "exact", "--device", "cpu"]
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_kill_9_then_two_runs_at_once_resume_to_the_clean_run(work, reference):
    proc = _subprocess_attribute(work, stall=True)
    deadline = time.monotonic() + 120
    while not list((work / "out").glob("*.npy")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)  # its worker processes die with it (they would hold its pipes open)
    assert proc.returncode == -signal.SIGKILL and not (work / "out" / "tf_to_gene.csv").exists()  # killed mid-run
    done = sorted(p.name for p in (work / "out").glob("*.npy"))
    procs = [_subprocess_attribute(work) for _ in range(2)]  # resume, twice at once, on one folder
    errs = [p.communicate(timeout=180)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    computed = sum(int(e.split(" computed")[0].split()[-1]) for e in errs)
    assert 1 <= len(done) < 3 and computed == 3 - len(done)  # each missing gene computed once, the killed run's loaded
    assert results_bytes(work / "out") == results_bytes(reference / "out")
    assert not list((work / "out").glob(".*.tmp"))


# ----------------------------------------------------------------------------- exports


def odd_table() -> pd.DataFrame:
    names = ['A"B', "A'B", "A\tB", "A\nB", "A B", "A\x01B", "A\x0bB"]
    return pd.DataFrame({"tf": names, "gene": "G", "cell_type_v2": "NK",
                         "mean_attr": [np.nan, *np.linspace(0.1, 0.6, len(names) - 1)], "std_attr": 0.1})  # fmt: skip


def test_graphml_is_valid_xml_with_control_characters():
    payload = export.export_network(odd_table(), "graphml")
    ET.fromstring(payload)  # raises on an XML-illegal character
    assert nx.read_graphml(io.BytesIO(payload)).number_of_nodes() == 8


def test_cyjs_writes_nan_as_null():
    def refuse(name):
        raise ValueError(name)

    doc = json.loads(export.export_network(odd_table(), "cyjs"), parse_constant=refuse)
    assert doc["elements"]["edges"][0]["data"]["mean_attr"] is None


@pytest.mark.parametrize("fmt", list(export.FORMATS))
def test_names_differing_by_a_quote_tab_or_newline_stay_distinct(fmt):
    payload = export.export_network(odd_table(), fmt)
    if fmt == "csv":
        names = pd.read_csv(io.BytesIO(payload))["source"]
    elif fmt == "tsv":
        names = pd.read_csv(io.BytesIO(payload), sep="\t", quoting=3)["source"]
    elif fmt == "sif":
        names = pd.Series([line.split("\t")[0] for line in payload.decode().split("\n")[:-1]])
    elif fmt == "graphml":
        names = pd.Series([n for n in nx.read_graphml(io.BytesIO(payload)).nodes if n != "G"])
    else:
        names = pd.Series([e["data"]["source"] for e in json.loads(payload)["elements"]["edges"]])
    assert names.nunique() == len(odd_table())


@pytest.mark.parametrize("fmt", list(export.FORMATS))
def test_cli_export_writes_what_the_app_downloads(reference, tmp_path, capsys, fmt):
    out = tmp_path / f"net.{fmt}"
    code, err = cli(capsys, "export", "--results", reference / "out", "--format", fmt, "--out", out,
                    "--groups", "NK,B cell", "--top-k", "2", "--min-abs", "0.0001", "--sign", "positive")  # fmt: skip
    assert code == 0, err
    table = store.ResultStore(reference / "out").table()  # what the page's cache.network_table reads
    edges = network.filter_edges(table, cell_types=["NK", "B cell"], top_k=2, min_abs=0.0001, sign="positive")
    assert out.read_bytes() == export.export_network(edges, fmt)


def test_cli_export_refuses_another_grouping_and_an_empty_filter(reference, tmp_path, capsys):
    results = reference / "out"
    code, err = cli(capsys, "export", "--results", results, "--format", "csv", "--out", tmp_path / "a.csv",
                    "--groupby", "cell_type")  # fmt: skip
    assert code == 2 and "is grouped by 'cell_type_v2', not 'cell_type'" in err
    code, err = cli(capsys, "export", "--results", results, "--format", "csv", "--out", tmp_path / "a.csv",
                    "--tfs", "NOPE")  # fmt: skip
    assert code == 2 and "passes these filters" in err and not (tmp_path / "a.csv").exists()


# ----------------------------------------------------------------------------- shared server


def test_app_paths_outside_the_roots_are_refused_alike_and_nothing_is_created(tmp_path):
    root = tmp_path / "lab"
    root.mkdir()
    (tmp_path / "secret").write_text("x")
    (root / "link").symlink_to(tmp_path)

    def never(path):
        raise AssertionError(f"opened {path}")

    msgs = []
    for outside in (tmp_path / "secret", tmp_path / "absent", root / ".." / "secret", root / "link" / "secret"):
        ctx = build_context(Paths(mdata=str(outside), results=str(tmp_path / "made")), label=FILES_LABEL,
                            open_dataset=never, roots=(root,))  # fmt: skip
        assert ctx.mdata is None and ctx.results is None
        msgs.append([m.replace(str(outside), "P") for m in ctx.problems])
    assert all(m == msgs[0] for m in msgs) and "not inside the data folders" in msgs[0][0]
    assert not (tmp_path / "made").exists()


def test_app_paths_inside_the_roots_work(tmp_path):
    make_dataset(tmp_path)
    ctx = build_context(Paths(mdata=str(tmp_path / "mdata.h5mu"), models=str(tmp_path / "model"),
                              results=str(tmp_path / "res")), label=FILES_LABEL,
                        open_dataset=data.read_dataset, roots=(tmp_path,))  # fmt: skip
    assert ctx.can_attribute and not ctx.problems


def test_cli_data_roots_from_flag_and_environment(work, capsys, monkeypatch, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "out"
    code, err = attribute(capsys, work, "--data-root", work / "model", out=outside)
    assert code == 2 and "is not inside the data folders" in err and not outside.exists()
    monkeypatch.setenv("CELL2NET_DATA_ROOTS", str(work))
    code, err = attribute(capsys, work, out=outside)
    assert code == 2 and f"The output {str(outside)!r} is not inside" in err and not outside.exists()
    assert attribute(capsys, work)[0] == 0


def test_streamlit_config_binds_localhost_and_hides_error_details():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["client"]["showErrorDetails"] == "none"


def test_login_gate_stops_the_app_until_logged_in(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CELL2NET_LOGIN", "1")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert [b.label for b in at.button] == ["Log in"] and not at.exception
    assert not at.sidebar.radio  # no data source, no page
