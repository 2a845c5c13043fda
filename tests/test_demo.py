"""The embedded demo: contract, planted biology, reproducibility, the shared location and the CLI."""

from __future__ import annotations

import fcntl
import threading
import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from cell2net_core.cli import main as cli_main
from cell2net_core.data import gene_inputs, gene_tfs, one_hot, read_dataset, validate_dataset
from cell2net_core.demo import build
from cell2net_core.demo.evaluate import evaluate, evaluate_peaks, read_truth, read_truth_peaks
from cell2net_core.demo.jaspar import jaspar_motifs, log_odds
from cell2net_core.demo.program import CELL_TYPES, TARGETS
from cell2net_core.demo.simulate import REL_THRESHOLD, simulate
from cell2net_core.errors import Cell2NetInputError
from cell2net_core.motifs import relative_scores

SMALL = {"n_metacells": 160, "n_genes": 6, "n_tfs": 30}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "small"
    seen = []
    start = time.perf_counter()
    paths = build.build_demo(out, **SMALL, epochs=3, progress=lambda f, m: seen.append(f))
    return paths, time.perf_counter() - start, seen


def test_small_demo_builds_fast_with_visible_progress(small):
    paths, seconds, seen = small
    assert seconds < 60
    assert build.is_complete(paths.root)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert all(b >= a for a, b in zip(seen, seen[1:], strict=False))
    assert not list(paths.root.parent.glob(".small.building-*"))


def test_small_demo_follows_the_contract(small):
    paths, _, _ = small
    mdata = read_dataset(paths.mdata)
    validate_dataset(mdata)
    rna, atac = mdata["rna"], mdata["atac"]
    assert sp.issparse(rna.layers["counts"]) and sp.issparse(atac.layers["counts"])
    p2g = mdata.uns["peak_to_gene"]
    assert list(p2g.columns) == ["gene", "peak", "distance"]
    assert p2g.equals(p2g.sort_values(["gene", "distance"], kind="stable").reset_index(drop=True))
    peaks = atac.uns["peaks"]
    assert list(peaks.columns) == ["chr", "start", "end", "summit", "sequence"]
    assert peaks["sequence"].str.len().eq(256).all() and peaks["sequence"].str.fullmatch("[ACGT]+").all()
    gene_tf = rna.uns["gene_tf"]
    assert gene_tf.shape == (SMALL["n_genes"], SMALL["n_tfs"])
    assert set(np.unique(gene_tf.to_numpy())) <= {0, 1}
    assert set(gene_tf.columns) <= set(rna.var_names)
    motifs = mdata.uns["motifs"]
    assert list(motifs.columns) == ["motif_name", "motif_id", "gene_name"]
    assert list(motifs["gene_name"]) == [m.upper() for m in motifs["motif_name"]]
    jaspar = jaspar_motifs()
    assert all(jaspar[g].matrix_id == i for g, i in zip(motifs["gene_name"], motifs["motif_id"], strict=True))
    assert list(mdata.obs["cell_type_v2"].cat.categories) == list(CELL_TYPES)
    assert mdata.obs["cell_type"].nunique() < len(CELL_TYPES)
    totals = np.log10(np.asarray(rna.layers["counts"].sum(axis=1)).ravel())
    assert (mdata.obs["total_counts_rna_log"].to_numpy() >= totals).all()
    for gene in gene_tf.index:
        x = gene_inputs(mdata, gene)
        assert x.peak_seq.shape[1:] == (256, 4) and x.n_tfs > 0


def test_truth_lists_every_planted_edge_and_nothing_else(small):
    paths, _, _ = small
    truth = read_truth(paths.truth)
    mdata = read_dataset(paths.mdata)
    expected = {
        (t.gene, tf, s)
        for t in TARGETS[: SMALL["n_genes"]]
        for tfs, s in ((t.activators, "+"), (t.repressors, "-"))
        for tf in tfs
    }
    assert set(zip(truth["gene"], truth["tf"], truth["sign"], strict=True)) == expected
    assert (truth["sign"] == "-").any()
    for e in truth.itertuples():
        assert e.tf in gene_tfs(mdata, e.gene)  # planted sites are found by the motif scan
        assert set(filter(None, e.cell_types.split(";"))) <= set(CELL_TYPES)
    decoys = {(t.gene, d) for t in TARGETS[: SMALL["n_genes"]] for d in t.decoys}
    assert all(d in gene_tfs(mdata, g) for g, d in decoys)


def test_planted_tf_expression_follows_cell_types():
    mdata, _, _ = simulate(**SMALL)
    counts = pd.DataFrame(mdata["rna"].layers["counts"].toarray(), columns=mdata["rna"].var_names)
    by_type = counts.groupby(mdata.obs["cell_type_v2"].to_numpy(), observed=True).mean()
    assert by_type["PAX5"].idxmax() == "B cell"
    assert by_type["KLF4"].idxmax() == "Monocyte"
    assert by_type["TCF4"].idxmax() == "pDC"
    assert by_type["MS4A1"].idxmax() == "B cell"
    assert by_type.loc["B cell", "MS4A1"] > 5 * by_type.loc["Monocyte", "MS4A1"]


def test_same_seed_same_files_other_seed_other_data(small, tmp_path):
    paths, _, _ = small
    again = build.build_demo(tmp_path / "again", **SMALL, epochs=3)
    a, b = read_dataset(paths.mdata), read_dataset(again.mdata)
    for mod in ("rna", "atac"):
        assert (a[mod].layers["counts"] != b[mod].layers["counts"]).nnz == 0
    for key in ("peak_to_gene", "motifs"):
        pd.testing.assert_frame_equal(a.uns[key], b.uns[key])
    pd.testing.assert_frame_equal(a["atac"].uns["peaks"], b["atac"].uns["peaks"])
    pd.testing.assert_frame_equal(a["rna"].uns["gene_tf"], b["rna"].uns["gene_tf"])
    pd.testing.assert_frame_equal(a.obs, b.obs)
    pd.testing.assert_frame_equal(read_truth(paths.truth), read_truth(again.truth))
    for pt in paths.model_dir.glob("*.pt"):
        sa = torch.load(pt, weights_only=True)["model_state_dict"]
        sb = torch.load(again.model_dir / pt.name, weights_only=True)["model_state_dict"]
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
        np.testing.assert_array_equal(
            np.load(paths.results / f"{pt.stem}.npy"), np.load(again.results / f"{pt.stem}.npy")
        )
    other, _, _ = simulate(**SMALL, seed=1)
    assert (other["rna"].layers["counts"] != a["rna"].layers["counts"]).nnz > 0


def test_worker_processes_train_the_same_weights(small, tmp_path, monkeypatch):
    paths, _, _ = small
    monkeypatch.setattr(build, "_n_workers", lambda n_genes, n_metacells: 2)
    seen = []
    again = build.build_demo(tmp_path / "workers", **SMALL, epochs=3, progress=lambda f, m: seen.append(m))
    assert sum(m.startswith("trained ") for m in seen) == SMALL["n_genes"]
    for pt in paths.model_dir.glob("*.pt"):
        sa = torch.load(pt, weights_only=True)["model_state_dict"]
        sb = torch.load(again.model_dir / pt.name, weights_only=True)["model_state_dict"]
        assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_recovery_is_computed_on_the_small_demo(small):
    paths, _, _ = small
    mdata = read_dataset(paths.mdata)
    ev = evaluate(read_truth(paths.truth), paths.results, groups=mdata.obs["cell_type_v2"])
    assert len(ev.edges) > 0 and ev.edges["rank"].notna().all()
    assert 0 <= ev.auprc <= 1
    assert (paths.results / "tf_to_gene.csv").is_file()


def test_driver_peaks_are_planted_written_attributed_and_scored(small):
    paths, _, _ = small
    mdata = read_dataset(paths.mdata)
    drivers = read_truth_peaks(paths.truth_peaks)
    targets = {t.gene: t for t in TARGETS}
    assert set(drivers["gene"]) == set(mdata["rna"].uns["gene_tf"].index)
    assert drivers.groupby("gene").size().between(1, 2).all()
    p2g = mdata.uns["peak_to_gene"]
    assert set(zip(drivers["gene"], drivers["peak"], strict=True)) <= set(zip(p2g["gene"], p2g["peak"], strict=True))
    jaspar, seqs = jaspar_motifs(), mdata["atac"].uns["peaks"]["sequence"]
    for gene, rows in drivers.groupby("gene"):
        types = [c for cs in rows["cell_types"] for c in cs.split(";")]
        assert len(types) == len(set(types)) and set(types) <= set(CELL_TYPES)  # two drivers split the types
        onehot = one_hot(seqs.loc[rows["peak"]].tolist())
        for tf in targets[gene].activators:  # its activators' sites sit in its driver peaks
            pwm = log_odds(jaspar[tf].counts)
            assert relative_scores(onehot, pwm).max() >= REL_THRESHOLD - 1e-9
    table = pd.read_csv(paths.results / "peak_to_gene.csv")
    assert list(table.columns) == ["peak", "gene", "cell_type_v2", "mean_attr", "std_attr", "ci_low", "ci_high",
                                   "p_value", "q_value"]
    assert set(table["gene"]) == set(drivers["gene"])
    scored = evaluate_peaks(drivers, paths.results, groups=mdata.obs["cell_type_v2"])
    assert len(scored) == sum(len(c.split(";")) for c in drivers["cell_types"])
    assert scored["rank"].notna().all() and (scored["top"] == (scored["rank"] == 0)).all()


def test_driver_peak_accessibility_drives_expression_where_planted():
    mdata, _, drivers = simulate(**SMALL)
    labels = mdata.obs["cell_type_v2"].astype(str).to_numpy()
    atac, rna = mdata["atac"], mdata["rna"]
    corr = []
    for d in drivers.itertuples():
        for cell_type in d.cell_types.split(";"):
            sel = labels == cell_type
            acc = np.log1p(atac[sel, d.peak].layers["counts"].toarray().ravel())
            expr = np.log1p(rna[sel, d.gene].layers["counts"].toarray().ravel())
            corr.append(np.corrcoef(acc, expr)[0, 1])
    assert np.nanmean(corr) > 0.2  # within a type: only the driver's noise links them


def test_ensure_demo_builds_once_then_returns_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv(build.ENV_VAR, str(tmp_path / "shared"))
    calls = []
    real = build.build_demo

    def small_build(out, **kwargs):
        calls.append(out)
        return real(out, **SMALL, epochs=1, progress=kwargs.get("progress"))

    monkeypatch.setattr(build, "build_demo", small_build)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "mdata.h5mu").write_text("half-written")  # an interrupted build
    paths = build.ensure_demo()
    assert paths.root == tmp_path / "shared" and build.is_complete(paths.root)
    start = time.perf_counter()
    assert build.ensure_demo() == paths
    assert time.perf_counter() - start < 1
    assert len(calls) == 1


def test_ensure_demo_waits_for_a_build_in_progress_and_never_deletes_user_files(tmp_path, monkeypatch):
    root = tmp_path / "shared"
    monkeypatch.setenv(build.ENV_VAR, str(root))
    monkeypatch.setattr(build, "build_demo", lambda out, **kw: build.demo_paths(out))
    messages = []
    with open(tmp_path / "shared.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # another "process" is building
        worker = threading.Thread(target=lambda: build.ensure_demo(progress=lambda f, m: messages.append(m)))
        worker.start()
        worker.join(timeout=0.5)
        assert worker.is_alive() and "waiting" in messages[0]
        fcntl.flock(fh, fcntl.LOCK_UN)
        worker.join(timeout=5)
    root.mkdir(exist_ok=True)
    (root / "thesis.docx").write_text("precious")
    with pytest.raises(Cell2NetInputError, match="not a Cell2Net demo folder"):
        build.ensure_demo()
    assert (root / "thesis.docx").is_file()


def test_default_demo_dir_and_refusals(tmp_path, monkeypatch):
    monkeypatch.delenv(build.ENV_VAR, raising=False)
    assert build.default_demo_dir().parts[-3:] == (".cache", "cell2net-explorer", "demo-v5")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("mine")
    with pytest.raises(Cell2NetInputError, match="not an empty folder"):
        build.build_demo(tmp_path / "full", **SMALL)
    with pytest.raises(Cell2NetInputError, match="n_tfs=5"):
        simulate(n_metacells=160, n_genes=6, n_tfs=5)


def test_cli_demo_bad_input_is_one_error_line(tmp_path, capsys):
    code = cli_main(["demo", "--out", str(tmp_path / "d"), "--metacells", "160", "--genes", "6", "--tfs", "5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("error: n_tfs=5")
    assert not (tmp_path / "d").exists() and not list(tmp_path.glob(".d.building-*"))
