"""HuggingFace interoperability: our GPT-2 gives transformers' logits on the same weights, both ways."""
import json

import pytest
import torch

from gptlab import GPT, GPTConfig
from gptlab.hf import CheckpointError, config_from_hf, load_pretrained, save_pretrained, to_hf_state_dict

transformers = pytest.importorskip("transformers")

# Every GPT-2 preset's width and head count, with the depth cut to 2 layers to keep the test fast.
WIDTHS = {"gpt2": (768, 12), "gpt2-medium": (1024, 16), "gpt2-large": (1280, 20), "gpt2-xl": (1600, 25)}


def hf_model(n_embd, n_head, n_layer=2, vocab_size=50257, n_positions=1024, seed=0, tie=True):
    torch.manual_seed(seed)
    cfg = transformers.GPT2Config(
        vocab_size=vocab_size, n_positions=n_positions, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
        tie_word_embeddings=tie,
    )
    model = transformers.GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():  # HF initialises biases and LayerNorms to constants: randomise them for a real test
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.add_(torch.randn_like(p) * 0.1)
    return model


@pytest.mark.parametrize("preset", list(WIDTHS))
@pytest.mark.parametrize("attn_impl", ["explicit", "sdpa"])
def test_logits_match_transformers(tmp_path, preset, attn_impl):
    n_embd, n_head = WIDTHS[preset]
    theirs = hf_model(n_embd, n_head, vocab_size=2048 if preset != "gpt2" else 50257)
    theirs.save_pretrained(tmp_path)
    ours = load_pretrained(tmp_path, attn_impl=attn_impl)
    assert ours.config.n_embd == n_embd and ours.config.n_head == n_head
    idx = torch.randint(0, ours.config.vocab_size, (2, 33), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = theirs(idx).logits
        got = ours(idx)
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() < 1e-4


def test_save_pretrained_loads_in_transformers_and_round_trips_exactly(tmp_path):
    ours = GPT(GPTConfig(vocab_size=300, block_size=64, n_layer=2, n_head=4, n_embd=64)).eval()
    save_pretrained(ours, tmp_path / "hf")
    theirs = transformers.GPT2LMHeadModel.from_pretrained(tmp_path / "hf").eval()
    idx = torch.randint(0, 300, (3, 40))
    with torch.no_grad():
        assert (theirs(idx).logits - ours(idx)).abs().max().item() < 1e-4
    # ours -> HF -> ours: every tensor identical
    theirs.save_pretrained(tmp_path / "again")
    back = load_pretrained(tmp_path / "again")
    for k, v in ours.state_dict().items():
        assert torch.equal(v, back.state_dict()[k]), k
    assert back.config == ours.config.replace(dropout=back.config.dropout)


def test_untied_head_round_trip(tmp_path):
    ours = GPT(GPTConfig(vocab_size=100, block_size=32, n_layer=1, n_head=2, n_embd=32, tie_weights=False)).eval()
    save_pretrained(ours, tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["tie_word_embeddings"] is False
    theirs = transformers.GPT2LMHeadModel.from_pretrained(tmp_path).eval()
    idx = torch.randint(0, 100, (1, 20))
    with torch.no_grad():
        assert (theirs(idx).logits - ours(idx)).abs().max().item() < 1e-4
    back = load_pretrained(tmp_path)
    assert not back.config.tie_weights
    assert torch.equal(back.lm_head.weight, ours.lm_head.weight)


def test_tied_weights_stay_tied_after_loading(tmp_path):
    hf_model(64, 4, vocab_size=128, n_positions=64).save_pretrained(tmp_path)
    ours = load_pretrained(tmp_path)
    assert ours.lm_head.weight is ours.transformer.wte.weight


def test_pickled_checkpoint_loads_with_weights_only(tmp_path):
    theirs = hf_model(64, 4, vocab_size=128, n_positions=64)
    theirs.config.save_pretrained(tmp_path)
    # OpenAI's original upload: bare GPT2Model keys plus the mask buffers, pickled
    sd = {k.removeprefix("transformer."): v for k, v in theirs.state_dict().items() if k != "lm_head.weight"}
    sd["h.0.attn.bias"] = torch.ones(1, 1, 64, 64).tril()
    torch.save(sd, tmp_path / "pytorch_model.bin")
    ours = load_pretrained(tmp_path)
    idx = torch.randint(0, 128, (1, 16))
    with torch.no_grad():
        assert (theirs(idx).logits - ours(idx)).abs().max().item() < 1e-4


def test_pickle_with_code_is_refused(tmp_path):
    hf_model(64, 4, vocab_size=128, n_positions=64).config.save_pretrained(tmp_path)

    class Sneaky:
        def __reduce__(self):
            return (print, ("this must never run",))

    torch.save({"x": Sneaky()}, tmp_path / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="cannot be read safely"):
        load_pretrained(tmp_path)


@pytest.fixture()
def small_checkpoint(tmp_path):
    hf_model(64, 4, vocab_size=128, n_positions=64).save_pretrained(tmp_path)
    return tmp_path


def _rewrite_weights(folder, change):
    from safetensors.torch import load_file, save_file

    sd = load_file(folder / "model.safetensors")
    change(sd)
    save_file(sd, folder / "model.safetensors")


def test_missing_key_is_named(small_checkpoint):
    _rewrite_weights(small_checkpoint, lambda sd: sd.pop("transformer.h.1.mlp.c_fc.weight"))
    with pytest.raises(CheckpointError, match=r"missing 1 tensor\(s\): transformer.h.1.mlp.c_fc.weight"):
        load_pretrained(small_checkpoint)


def test_wrong_shape_is_named(small_checkpoint):
    def change(sd):
        sd["transformer.h.0.attn.c_attn.weight"] = sd["transformer.h.0.attn.c_attn.weight"].t().contiguous()

    _rewrite_weights(small_checkpoint, change)
    with pytest.raises(CheckpointError, match=r"transformer.h.0.attn.c_attn.weight: \(192, 64\) in the file, \(64, 192\)"):
        load_pretrained(small_checkpoint)


def test_wrong_vocabulary_is_named(small_checkpoint):
    cfg = json.loads((small_checkpoint / "config.json").read_text())
    cfg["vocab_size"] = 50257
    (small_checkpoint / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="vocabulary: the file has 128 token embeddings, the config says vocab_size=50257"):
        load_pretrained(small_checkpoint)


def test_non_gpt2_config_is_refused(small_checkpoint):
    cfg = json.loads((small_checkpoint / "config.json").read_text())
    cfg["model_type"] = "bert"
    (small_checkpoint / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="model_type is 'bert', not 'gpt2'"):
        load_pretrained(small_checkpoint)
    with pytest.raises(CheckpointError, match="activation_function 'relu'"):
        config_from_hf({"model_type": "gpt2", "activation_function": "relu"})


def test_truncated_file_is_refused(small_checkpoint):
    path = small_checkpoint / "model.safetensors"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or not a safetensors file"):
        load_pretrained(small_checkpoint)


def test_folder_without_weights_or_config(tmp_path):
    with pytest.raises(CheckpointError, match="no config.json"):
        load_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_embd": 64, "n_head": 4}))
    with pytest.raises(CheckpointError, match="holds no weights"):
        load_pretrained(tmp_path)


def test_hub_name_without_network_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match="could not be downloaded from the HuggingFace hub"):
        load_pretrained("gpt2")


def test_post_ln_cannot_be_exported(tmp_path):
    model = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=1, n_head=2, n_embd=16, ln_placement="post"))
    with pytest.raises(ValueError, match="Pre-LN only"):
        save_pretrained(model, tmp_path)


def test_state_dict_names_are_huggingface_names():
    theirs = hf_model(64, 4, vocab_size=128, n_positions=64)
    ours = GPT(GPTConfig(vocab_size=128, block_size=64, n_layer=2, n_head=4, n_embd=64))
    hf_keys = {k for k in theirs.state_dict() if not k.endswith(".attn.bias") and k != "lm_head.weight"}
    assert set(to_hf_state_dict(ours)) == hf_keys
