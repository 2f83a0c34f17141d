"""The model itself: GPT-2's exact sizes, its switches, its mask, its initialisation."""
import math

import pytest
import torch

from gptlab import GPT, GPTConfig, KVCache, causal_mask, count_parameters
from gptlab.config import PRESETS

TINY = dict(vocab_size=97, block_size=32, n_layer=2, n_head=4, n_embd=32)


def tiny(**overrides):
    torch.manual_seed(0)
    return GPT(GPTConfig(**{**TINY, **overrides})).eval()


@pytest.mark.parametrize(
    "name, layers, heads, width",
    [("gpt2", 12, 12, 768), ("gpt2-medium", 24, 16, 1024), ("gpt2-large", 36, 20, 1280), ("gpt2-xl", 48, 25, 1600)],
)
def test_gpt2_presets_are_exact(name, layers, heads, width):
    c = GPTConfig.from_preset(name)
    assert (c.n_layer, c.n_head, c.n_embd, c.block_size, c.vocab_size) == (layers, heads, width, 1024, 50257)
    assert c.layer_norm_eps == 1e-5 and c.dropout == 0.1 and c.tie_weights and c.ln_placement == "pre"


def test_gpt2_small_has_124_439_808_parameters():
    model = GPT(GPTConfig.from_preset("gpt2"))
    assert sum(p.numel() for p in model.parameters()) == 124_439_808
    assert model.parameter_counts() == count_parameters(model.config)
    assert count_parameters(model.config)["token_embedding"] == 50257 * 768


@pytest.mark.parametrize("name, millions", [("gpt2-medium", 354.8), ("gpt2-large", 774.0), ("gpt2-xl", 1557.6)])
def test_larger_counts_from_config(name, millions):
    assert round(count_parameters(GPTConfig.from_preset(name))["total"] / 1e6, 1) == millions


@pytest.mark.parametrize("overrides", [dict(tie_weights=False), dict(ln_placement="post"), dict(bias=False)])
def test_counts_from_config_match_tensors_for_every_switch(overrides):
    model = tiny(**overrides)
    assert model.parameter_counts() == count_parameters(model.config)


def test_untied_head_has_its_own_matrix():
    tied, untied = tiny(), tiny(tie_weights=False)
    assert tied.lm_head.weight is tied.transformer.wte.weight
    assert untied.lm_head.weight is not untied.transformer.wte.weight
    diff = count_parameters(untied.config)["total"] - count_parameters(tied.config)["total"]
    assert diff == TINY["vocab_size"] * TINY["n_embd"]


def test_output_shapes_and_loss():
    model = tiny()
    idx = torch.randint(0, 97, (3, 20))
    assert model(idx).shape == (3, 20, 97)
    targets = torch.randint(0, 97, (3, 20))
    logits, loss = model(idx, targets)
    assert logits.shape == (3, 20, 97)
    # at initialisation the prediction is close to uniform, so the loss is close to ln V
    assert abs(loss.item() - math.log(97)) < 0.1
    assert model(idx, last_only=True).shape == (3, 1, 97)


def test_ignore_index_in_targets():
    model = tiny()
    idx = torch.randint(0, 97, (1, 10))
    targets = idx.clone()
    targets[0, 5:] = -100
    _, loss_masked = model(idx, targets)
    _, loss_prefix = model(idx[:, :5], idx[:, :5])
    assert torch.allclose(loss_masked, loss_prefix, atol=1e-6)


@pytest.mark.parametrize("ln_placement", ["pre", "post"])
def test_explicit_and_sdpa_attention_agree(ln_placement):
    a = tiny(ln_placement=ln_placement, attn_impl="explicit")
    b = tiny(ln_placement=ln_placement, attn_impl="sdpa")
    b.load_state_dict(a.state_dict())
    idx = torch.randint(0, 97, (2, 32))
    assert torch.allclose(a(idx), b(idx), atol=1e-5)


def test_no_position_sees_the_future():
    model = tiny()
    idx = torch.randint(0, 97, (1, 24))
    changed = idx.clone()
    changed[0, 12] = (changed[0, 12] + 1) % 97
    before, after = model(idx), model(changed)
    assert torch.equal(before[0, :12], after[0, :12])
    assert not torch.allclose(before[0, 12:], after[0, 12:])


def test_attention_maps_are_causal_probability_rows():
    maps = tiny().attention_maps(torch.randint(0, 97, (2, 10)))
    assert len(maps) == 2 and maps[0].shape == (2, 4, 10, 10)
    for att in maps:
        assert torch.allclose(att.sum(-1), torch.ones(2, 4, 10))
        assert torch.all(att.triu(diagonal=1) == 0)


def test_mask_is_built_in_one_place_with_cache_offset():
    m = causal_mask(2, 5)
    assert m.tolist() == [[True, True, True, True, False], [True, True, True, True, True]]
    assert causal_mask(1, 7) is None  # one new token may see everything before it
    pad = torch.tensor([[0, 1, 1]])
    m = causal_mask(3, 3, padding_mask=pad)
    assert m.shape == (1, 1, 3, 3)
    assert m[0, 0, 2].tolist() == [False, True, True]
    with pytest.raises(ValueError, match="more queries"):
        causal_mask(4, 3)


def test_cached_forward_equals_full_forward():
    model = tiny()
    idx = torch.randint(0, 97, (2, 20))
    full = model(idx)
    cache = KVCache.for_model(model, batch_size=2)
    parts = [model(idx[:, :7], cache=cache)] + [model(idx[:, t:t + 1], cache=cache) for t in range(7, 20)]
    assert torch.allclose(torch.cat(parts, 1), full, atol=1e-5)


def test_initialisation_follows_gpt2():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=1000, block_size=64, n_layer=8, n_head=4, n_embd=256))
    std = lambda t: t.float().std().item()
    assert abs(std(model.transformer.wte.weight) - 0.02) < 0.001
    assert abs(std(model.transformer.h[0].attn.c_attn.weight) - 0.02) < 0.001
    scaled = 0.02 / math.sqrt(2 * 8)
    assert abs(std(model.transformer.h[0].attn.c_proj.weight) - scaled) < 0.0005
    assert abs(std(model.transformer.h[0].mlp.c_proj.weight) - scaled) < 0.0005
    assert torch.all(model.transformer.h[0].attn.c_attn.bias == 0)
    assert torch.all(model.transformer.ln_f.weight == 1)


def test_dropout_only_in_training():
    model = tiny(dropout=0.5)
    idx = torch.randint(0, 97, (1, 16))
    assert torch.equal(model(idx), model(idx))
    model.train()
    assert not torch.equal(model(idx), model(idx))


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("n_head", 5, "divisible by n_head"),
        ("ln_placement", "middle", "ln_placement must be one of"),
        ("attn_impl", "flash", "attn_impl must be one of"),
        ("dropout", 1.0, "dropout must be in"),
        ("n_layer", 0, "positive integer"),
    ],
)
def test_bad_config_is_explained(field, value, message):
    with pytest.raises(ValueError, match=message):
        GPTConfig(**{**TINY, field: value})


def test_unknown_preset_and_field():
    with pytest.raises(ValueError, match="unknown preset 'gpt3'"):
        GPTConfig.from_preset("gpt3")
    with pytest.raises(ValueError, match="unknown GPTConfig field"):
        GPTConfig.from_preset("nano", n_embed=10)
    assert set(PRESETS) >= {"gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "nano", "micro", "mini"}


def test_bad_inputs_are_explained():
    model = tiny()
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 97\)"):
        model(torch.tensor([[1, 97]]))
    with pytest.raises(ValueError, match="longer than the model's context"):
        model(torch.zeros(1, 33, dtype=torch.long))
    with pytest.raises(ValueError, match="shape \\(batch, time\\)"):
        model(torch.zeros(5, dtype=torch.long))
    with pytest.raises(TypeError, match="integer torch.Tensor"):
        model(torch.zeros(1, 5))
    with pytest.raises(ValueError, match="empty input"):
        model(torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="targets have shape"):
        model(torch.zeros(1, 5, dtype=torch.long), torch.zeros(1, 4, dtype=torch.long))


def test_teaching_presets_build_and_run():
    for name in ("nano", "micro", "mini"):
        model = GPT.from_preset(name, vocab_size=65).eval()
        idx = torch.randint(0, 65, (1, model.config.block_size))
        assert model(idx).shape == (1, model.config.block_size, 65)


@pytest.mark.parametrize("name", ["gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"])
def test_paper_counts_are_gpt1_vocabulary_counts(name):
    from gptlab.params import GPT2_PAPER_MILLIONS, paper_count

    config = GPTConfig.from_preset(name)
    assert round(paper_count(config) / 1e6) == GPT2_PAPER_MILLIONS[name]
    assert round(count_parameters(config)["total"] / 1e6) != GPT2_PAPER_MILLIONS[name]


def test_attend_applies_the_mask_it_is_given_on_both_paths():
    """A caller's own (non-causal) mask must not be swapped for the causal one by the fused path."""
    from gptlab.model import attend

    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 6, 4, generator=g) for _ in range(3))
    mask = torch.rand(2, 1, 6, 6, generator=g) > 0.4
    mask |= torch.eye(6, dtype=torch.bool)  # every query keeps at least one key
    explicit, fused = attend(q, k, v, mask, explicit=True), attend(q, k, v, mask)
    assert torch.allclose(explicit, fused, atol=1e-5)
    causal = torch.ones(6, 6, dtype=torch.bool).tril()
    assert not torch.allclose(fused, attend(q, k, v, causal), atol=1e-3)
    assert torch.allclose(attend(q, k, v, causal, causal=True), attend(q, k, v, causal, explicit=True), atol=1e-5)
