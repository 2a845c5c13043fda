"""Our network: the contract's parameter names, checkpoint round trip and mismatch errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cell2net_core import data, model
from cell2net_core.errors import Cell2NetInputError
from cell2net_core.testing import random_dataset, random_model


@pytest.fixture(scope="module")
def inputs(tiny):
    return data.gene_inputs(data.read_dataset(tiny["mdata"]), "GENE0")


def test_state_dict_names_are_cell2nets(inputs):
    names = set(random_model(inputs).state_dict())
    expected = {"seq_encoder.stem_conv.0.weight", "seq_encoder.stem_conv.0.bias"}
    for i in (0, 2, 4, 6):
        expected |= {f"seq_encoder.conv_tower.{i}.0.{p}" for p in ("weight", "bias")}
        expected |= {
            f"seq_encoder.conv_tower.{i}.1.{p}"
            for p in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
        }
        expected |= {f"seq_encoder.conv_tower.{i + 1}.0.{p}" for p in ("weight", "bias")}
    expected |= {f"merge_seq_atac.{i}.{p}" for i in (0, 2) for p in ("weight", "bias")}
    block = "attn_blocks.0."
    expected |= {block + f"{ln}.{p}" for ln in ("ln_1", "ln_2") for p in ("weight", "bias")}
    expected |= {block + "attn." + p for p in ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")}
    expected |= {block + f"mlpf.{i}.{p}" for i in (0, 1) for p in ("weight", "bias")}
    expected |= {f"fc.{i}.{p}" for i in (0, 4) for p in ("weight", "bias")}
    expected |= {f"fc.2.{p}" for p in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")}
    assert names == expected
    assert random_model(inputs).fc[0].in_features == 17 * inputs.n_peaks + inputs.n_tfs + 2


def test_shared_forward_equals_per_metacell_forward(inputs):
    module = random_model(inputs)
    t = model.to_tensors(inputs, torch.device("cpu"))
    n = inputs.n_metacells
    with torch.no_grad():
        full = module(t["peak_seq"].expand(n, -1, -1, -1), t["peak_acc"], t["peak_dist"].expand(n, -1),
                      t["tf_exp"], t["covariates"])  # fmt: skip
        shared = module.forward_shared(t["peak_seq"], t["peak_acc"], t["peak_dist"], t["tf_exp"], t["covariates"])
    torch.testing.assert_close(shared, full)
    np.testing.assert_allclose(model.predict(module, inputs), full.exp().view(-1).numpy(), rtol=1e-5)


def test_split_merge_embedding_is_cell2nets_convolution_path():
    x = data.gene_inputs(random_dataset(n_metacells=300, n_peaks=12, seed=4), "GENE0")
    module = random_model(x, seed=2)
    t = model.to_tensors(x, torch.device("cpu"))
    with torch.no_grad():
        seq_embd = module.seq_encoder(t["peak_seq"].unsqueeze(0))
        conv_path = module.embed_peaks(seq_embd, t["peak_acc"])  # concatenation, then Conv1d over all 257 channels
        split = model.peak_embedding(module, t["peak_seq"], t["peak_acc"], batch_size=128)
    scale = float(conv_path.abs().max())
    torch.testing.assert_close(split, conv_path, rtol=0, atol=1e-6 * scale)


@pytest.mark.parametrize(
    ("train", "grad", "length"),
    [(False, False, 7), (False, False, 1), (False, False, model.BATCH_LAST_TOKENS), (False, True, 7),
     (False, False, model.BATCH_LAST_TOKENS + 1), (True, False, 7)],
)
def test_self_attention_is_torchs_multihead_attention(train, grad, length):
    """Both paths (batch-last without gradients in eval mode up to 32 peaks; the fused kernel otherwise)."""
    block = model.AttentionBlock(16).train(train)
    torch.manual_seed(0)
    for p in block.parameters():
        torch.nn.init.normal_(p, std=0.5)
    h = torch.randn(64, length, 16)
    with torch.set_grad_enabled(grad):
        ours, theirs = block.self_attention(h).detach(), block.attn(h, h, h, need_weights=False)[0].detach()
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6 * float(theirs.abs().max()))


@pytest.mark.parametrize(("train", "grad"), [(False, False), (False, True), (True, False)])
def test_feed_forward_is_the_blocks_mlp(train, grad):
    """Fused into one linear map without gradients in eval mode; the module's own layers otherwise."""
    block = model.AttentionBlock(16).train(train)
    torch.manual_seed(1)
    for p in block.parameters():
        torch.nn.init.normal_(p, std=0.5)
    h = torch.randn(200, 7, 16)
    with torch.set_grad_enabled(grad):
        torch.manual_seed(3)  # dropout's draws (train mode): the same in both calls
        ours = block.feed_forward(h).detach()
        torch.manual_seed(3)
        theirs = block.mlpf(h).detach()
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6 * float(theirs.abs().max()))


@pytest.mark.parametrize("length", [256, 9])
def test_max_of_pairs_is_the_encoders_pooling(length):
    x = torch.randn(2, 5, 3, length)
    x[..., 1] = x[..., 0]  # a tie
    pool = torch.nn.MaxPool2d(kernel_size=(1, 2), stride=(1, 2))
    assert torch.equal(model._max_of_pairs(x), pool(x))


def test_sequence_encoder_gives_the_same_numbers_with_and_without_gradients():
    enc = model.SeqEncoder().eval()
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (1, 3, 256), generator=torch.Generator().manual_seed(0)), 4)
    with torch.no_grad():
        fast = enc(x.float())
    assert torch.equal(fast, enc(x.float()).detach())


def test_batch_last_attention_is_taken_only_without_gradients_in_eval_mode(monkeypatch):
    calls = []
    real = model._attend_batch_last
    monkeypatch.setattr(model, "_attend_batch_last", lambda qkv: calls.append(qkv.shape[1]) or real(qkv))
    block = model.AttentionBlock(16).eval()
    h = torch.randn(5, 3, 16)
    with torch.no_grad():
        block.self_attention(h)
        block.self_attention(torch.randn(5, model.BATCH_LAST_TOKENS + 1, 16))
    block.self_attention(h)  # with gradients: the fused kernel
    with torch.no_grad():
        block.train().self_attention(h)
    assert calls == [3]


def test_one_torch_thread_holds_in_a_block_while_an_overlapping_one_ends():
    import threading

    before = torch.get_num_threads()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with model.one_torch_thread("cpu"):
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with model.one_torch_thread("cpu"):
            second_in.set()
            first_out.wait(5)
            seen["after_first_left"] = torch.get_num_threads()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"after_first_left": 1} and torch.get_num_threads() == before


def test_checkpoint_round_trip_is_plain_and_atomic(inputs, tmp_path):
    module = random_model(inputs, seed=5)
    path = model.save_checkpoint(
        module, tmp_path / "G.pt", history={"epochs": {0: np.int64(0)}, "valid_corr": {0: np.float32(0.5)}}
    )
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"model_state_dict", "module_summary", "history", "results"}
    assert type(raw["history"]["valid_corr"][0]) is float and raw["module_summary"]["n_tfs"] == inputs.n_tfs
    loaded = model.load_checkpoint(path, inputs, device="cpu")
    assert not loaded.training
    np.testing.assert_array_equal(model.predict(loaded, inputs), model.predict(module, inputs))
    assert [p.name for p in tmp_path.iterdir()] == ["G.pt"]


def test_mismatch_names_both_numbers(tiny, inputs, tmp_path):
    other = data.gene_inputs(data.read_dataset(tiny["mdata"]), "GENE1")
    assert other.n_tfs != inputs.n_tfs
    path = model.save_checkpoint(random_model(other), tmp_path / "GENE0.pt")
    with pytest.raises(Cell2NetInputError, match=f"n_tfs={other.n_tfs}.*n_tfs={inputs.n_tfs}"):
        model.load_checkpoint(path, inputs)
    with pytest.raises(Cell2NetInputError, match="n_covariates=2.*n_covariates=1"):
        model.load_checkpoint(tiny["models"] / "GENE0.pt", data.gene_inputs(
            data.read_dataset(tiny["mdata"]), "GENE0", covariates=["total_counts_rna_log"]))  # fmt: skip


def test_unreadable_and_missing_checkpoints(inputs, tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(Cell2NetInputError, match="weights_only"):
        model.load_checkpoint(tmp_path / "bad.pt", inputs)
    with pytest.raises(Cell2NetInputError, match="no trained model"):
        model.load_checkpoint(tmp_path / "none.pt", inputs)
    torch.save({"weights": 1}, tmp_path / "odd.pt")
    with pytest.raises(Cell2NetInputError, match="model_state_dict"):
        model.load_checkpoint(tmp_path / "odd.pt", inputs)


def test_device_resolution():
    assert model.resolve_device("cpu").type == "cpu"
    assert model.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(Cell2NetInputError, match="'tpu'"):
        model.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(Cell2NetInputError, match="no CUDA"):
            model.resolve_device("cuda")
