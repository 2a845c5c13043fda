"""Reading a prepared dataset, building one gene's inputs, and every validation error."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from cell2net_core import data
from cell2net_core.errors import Cell2NetInputError
from cell2net_core.testing import random_dataset


@pytest.fixture
def mdata():
    return random_dataset(n_metacells=16, n_genes=2, n_peaks=3, n_tfs=6, seed=1)


def test_inputs_follow_the_contract(tiny):
    mdata = data.read_dataset(tiny["mdata"])
    x = data.gene_inputs(mdata, "GENE1")
    p2g = mdata.uns["peak_to_gene"]
    rows = p2g[p2g["gene"] == "GENE1"]
    assert x.peaks == rows["peak"].tolist()
    row = mdata["rna"].uns["gene_tf"].loc["GENE1"]
    assert x.tfs == row.index[row != 0].tolist()
    assert x.peak_seq.shape == (x.n_peaks, 256, 4)
    assert x.tf_exp.shape == (48, x.n_tfs) and x.peak_acc.shape == (48, x.n_peaks)
    counts = mdata["rna"].layers["counts"].toarray()
    col = mdata["rna"].var_names.get_loc(x.tfs[-1])
    np.testing.assert_array_equal(x.tf_exp[:, -1], counts[:, col])
    expected = np.exp(-rows["distance"].to_numpy(np.float32) / 500000)
    np.testing.assert_allclose(x.peak_dist, expected, rtol=1e-6)
    np.testing.assert_allclose(x.covariates[:, 0], mdata.obs["total_counts_rna_log"], rtol=1e-6)
    seq = mdata["atac"].uns["peaks"].loc[x.peaks[0], "sequence"]
    assert "ACGT"[int(np.argmax(x.peak_seq[0, 5]))] == seq[5]


def test_one_hot_n_is_zero_and_lowercase_accepted():
    out = data.one_hot(["ACGTN", "acgtn"], length=5)
    np.testing.assert_array_equal(out[0], out[1])
    assert out[0, 4].sum() == 0 and out[0, :4].sum() == 4


def test_legacy_is_tf_uses_every_tf_but_the_gene():
    mdata = random_dataset(n_genes=2, n_tfs=4, legacy_is_tf=True)
    mdata["rna"].var.loc["GENE0", "is_tf"] = True
    assert data.gene_tfs(mdata, "GENE0") == ["TF0", "TF1", "TF2", "TF3"]
    assert data.gene_tfs(mdata, "GENE1") == ["GENE0", "TF0", "TF1", "TF2", "TF3"]


def test_genes_with_models(tiny):
    mdata = data.read_dataset(tiny["mdata"])
    assert data.genes_with_peaks(mdata) == ["GENE0", "GENE1", "GENE2"]
    assert data.genes_with_models(mdata, tiny["models"]) == ["GENE0", "GENE1"]
    with pytest.raises(Cell2NetInputError, match="nowhere"):
        data.genes_with_models(mdata, tiny["root"] / "nowhere")


def test_missing_file_and_unreadable_file(tmp_path):
    with pytest.raises(Cell2NetInputError, match="does not exist"):
        data.read_dataset(tmp_path / "none.h5mu")
    bad = tmp_path / "bad.h5mu"
    bad.write_text("not hdf5")
    with pytest.raises(Cell2NetInputError, match="bad.h5mu"):
        data.read_dataset(bad)


@pytest.mark.parametrize(
    ("breakage", "pattern"),
    [
        (lambda m: m.mod.pop("atac"), "modality 'atac'"),
        (lambda m: m["rna"].layers.pop("counts"), r"rna.layers\['counts'\]"),
        (lambda m: m["atac"].uns.pop("peaks"), r"atac.uns\['peaks'\]"),
        (lambda m: m["atac"].uns.__setitem__("peaks", m["atac"].uns["peaks"].drop(columns="sequence")), "sequence"),
        (lambda m: m.uns.pop("peak_to_gene"), r"uns\['peak_to_gene'\]"),
        (lambda m: m.uns.__setitem__("peak_to_gene", m.uns["peak_to_gene"].drop(columns="distance")), "distance"),
        (lambda m: m["rna"].uns.pop("gene_tf"), "is_tf"),
    ],
)
def test_structure_errors_name_the_key(mdata, breakage, pattern):
    breakage(mdata)
    with pytest.raises(Cell2NetInputError, match=pattern):
        data.validate_dataset(mdata)


def test_unknown_peak_is_named(mdata):
    """cell2net checks a gene's peaks when that gene's model is built: so do we (other genes still run)."""
    p2g = mdata.uns["peak_to_gene"].copy()
    p2g.loc[0, "peak"] = "chr9-1-257"
    mdata.uns["peak_to_gene"] = p2g
    data.validate_dataset(mdata)
    with pytest.raises(Cell2NetInputError, match="chr9-1-257"):
        data.gene_inputs(mdata, str(p2g.loc[0, "gene"]))


def test_gene_errors(mdata):
    with pytest.raises(Cell2NetInputError, match="'NOPE' has no peaks"):
        data.gene_inputs(mdata, "NOPE")
    mdata["rna"].uns["gene_tf"].loc["GENE0"] = 0
    with pytest.raises(Cell2NetInputError, match="'GENE0' has no candidate TF"):
        data.gene_inputs(mdata, "GENE0")


@pytest.mark.parametrize(("seq", "pattern"), [("ACGT" * 10, "40 bp"), ("ACGX" * 64, r"\['X'\]")])
def test_bad_sequences_name_gene_and_peak(mdata, seq, pattern):
    peak = mdata.uns["peak_to_gene"]["peak"].iloc[0]
    mdata["atac"].uns["peaks"].loc[peak, "sequence"] = seq
    with pytest.raises(Cell2NetInputError, match=pattern) as err:
        data.gene_inputs(mdata, "GENE0")
    assert peak in str(err.value) and "GENE0" in str(err.value)


def test_non_finite_counts_and_covariates(mdata):
    mdata["rna"].layers["counts"] = mdata["rna"].layers["counts"].toarray()
    mdata["rna"].layers["counts"][0, 0] = np.nan
    with pytest.raises(Cell2NetInputError, match="NaN"):
        data.gene_inputs(mdata, "GENE0")
    mdata = random_dataset(n_metacells=16, n_genes=2, n_peaks=3, n_tfs=6, seed=1)
    mdata.obs["total_counts_atac_log"] = np.inf
    with pytest.raises(Cell2NetInputError, match="NaN or infinite"):
        data.gene_inputs(mdata, "GENE0")


def test_missing_covariate_and_groupby(mdata):
    with pytest.raises(Cell2NetInputError, match="'age'"):
        data.gene_inputs(mdata, "GENE0", covariates=["age"])
    with pytest.raises(Cell2NetInputError, match="'celltype'.*cell_type_v2"):
        data.group_labels(mdata, "celltype")
    assert data.grouping_columns(mdata) == ["cell_type_v2"]


def test_tf_absent_from_rna_is_named(mdata):
    gene_tf = mdata["rna"].uns["gene_tf"]
    mdata["rna"].uns["gene_tf"] = pd.concat([gene_tf, pd.DataFrame({"GHOST": [1, 1]}, index=gene_tf.index)], axis=1)
    with pytest.raises(Cell2NetInputError, match="GHOST"):
        data.gene_inputs(mdata, "GENE0")


def test_shareable_pickles_its_lookups_out_of_band_and_leaves_the_callers_dataset_alone(tiny):
    mdata = data.read_dataset(tiny["mdata"])
    data.obs_ids(mdata)  # the caller's own lookups: kept, not added to
    before = dict(mdata.__dict__["_c2n_kept"])
    buffers = []
    payload = pickle.dumps(data.shareable(mdata), protocol=5, buffer_callback=buffers.append)
    other = pickle.loads(payload, buffers=buffers)
    assert mdata.__dict__["_c2n_kept"] == before and list(before) == ["obs_names"]
    assert {"counts_rna", "counts_atac", "peak_to_gene_rows", "obs_names"} <= set(other._c2n_kept)
    assert other.obs.equals(mdata.obs) and list(other.uns) == list(mdata.uns) and other["rna"].X is None
    with pytest.raises(Cell2NetInputError, match=f"{tiny['mdata']}: gene 'NOPE' has no peaks"):
        data.gene_inputs(other, "NOPE")  # messages still name the file
    counts = other._c2n_kept["counts_atac"]
    counts = counts.data if hasattr(counts, "data") else counts
    assert any(np.shares_memory(counts, np.asarray(b)) for b in buffers)  # shared, not copied, when unpickled
    for gene in data.genes_with_peaks(mdata):
        a, b = data.gene_inputs(mdata, gene), data.gene_inputs(other, gene)
        for field in ("peak_seq", "peak_acc", "peak_dist", "tf_exp", "covariates", "target"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), (gene, field)



def test_a_kept_lookup_is_built_once_when_genes_in_threads_ask_for_it_at_once():
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    mdata, calls, lock = random_dataset(n_metacells=8), [], threading.Lock()

    def slow_build() -> object:
        with lock:
            calls.append(threading.get_ident())
        time.sleep(0.2)  # long enough for every thread to ask meanwhile
        return object()

    with ThreadPoolExecutor(4) as pool:
        values = list(pool.map(lambda _: data._kept(mdata, "lookup", slow_build), range(4)))
    assert len(calls) == 1 and all(v is values[0] for v in values)
