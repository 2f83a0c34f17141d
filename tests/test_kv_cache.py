"""The KV cache: cached decoding equals recomputation, its size in bytes, reordering for beams, and DecodeStep
(the forward pass for one new token, bit for bit, and only where it can vouch for it)."""
import pytest
import torch

from gptlab import GPT, GPTConfig, KVCache, kv_cache_bytes
from gptlab.config import PRESETS
from gptlab.engine import DecodeStep, HeadLogits, advise_huge_pages, aligned_empty, transposed_head
from gptlab.engine.huge_pages import HUGE_PAGE
from gptlab.generation import generate
from gptlab.model import Block


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see tests/conftest.py


def small_model(preset, n_layer=1, block_size=20, vocab_size=61, **overrides):
    """A preset's width and heads, with fewer layers and a short context so the test stays fast."""
    torch.manual_seed(0)
    config = GPTConfig.from_preset(preset, n_layer=n_layer, block_size=block_size, vocab_size=vocab_size,
                                   dropout=0.0, **overrides)
    return GPT(config).eval()


VARIANTS = [pytest.param(name, {}, id=name) for name in PRESETS] + [
    pytest.param("mini", dict(attn_impl="explicit"), id="mini-explicit-attention"),
    pytest.param("micro", dict(ln_placement="post", tie_weights=False, bias=False), id="micro-post-ln-untied"),
]


@pytest.mark.parametrize("preset, overrides", VARIANTS)
def test_cached_logits_equal_recompute_at_every_step(preset, overrides):
    """Teacher-forced: feed one token at a time through the cache, compare with the whole prefix at once."""
    model = small_model(preset, n_layer=2 if preset in ("nano", "micro", "mini", "gpt2") else 1, **overrides)
    T = model.config.block_size
    idx = torch.randint(0, 61, (2, T), generator=torch.Generator().manual_seed(1))
    cache = KVCache.for_model(model, batch_size=2)
    with torch.no_grad():
        prefill = model(idx[:, :4], cache=cache)
        torch.testing.assert_close(prefill, model(idx[:, :4]), atol=1e-5, rtol=0)
        for t in range(4, T):
            step = model(idx[:, t: t + 1], cache=cache, last_only=True)[:, -1]  # (B, V)
            full = model(idx[:, : t + 1])[:, -1]
            torch.testing.assert_close(step, full, atol=1e-5, rtol=0, msg=lambda m: f"{preset}, position {t}: {m}")
    assert cache.seq_len == T
    with pytest.raises(ValueError, match="context"):
        model(idx[:, :1], cache=cache)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_generation_past_the_context_matches_recompute(preset):
    """Sampling through the context limit, padded batch: the cache is refilled from the sliding window."""
    model = small_model(preset, block_size=12)
    rows = [[5, 7, 1], [9, 2, 3, 4, 8, 8, 6]]
    cached, recomputed = [], []
    a = generate(model, rows, 20, do_sample=True, seed=0, logits_out=cached)
    b = generate(model, rows, 20, do_sample=True, seed=0, use_cache=False, logits_out=recomputed)
    assert torch.equal(a, b)
    for step, (x, y) in enumerate(zip(cached, recomputed)):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=0, msg=lambda m: f"step {step}: {m}")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_kv_cache_bytes_matches_the_tensors(dtype):
    for preset, batch, seq_len in [("nano", 1, None), ("micro", 3, 17), ("gpt2", 2, 1024), ("gpt2-xl", 1, 1024)]:
        config = GPTConfig.from_preset(preset)
        max_len = config.block_size if seq_len is None else seq_len
        cache = KVCache(config.n_layer, batch, config.n_head, max_len, config.head_dim, dtype=dtype, device="meta")
        real = sum(t.numel() * t.element_size() for t in (cache.keys, cache.values))
        assert kv_cache_bytes(config, batch, seq_len, dtype) == real == cache.nbytes()
    xl = GPTConfig.from_preset("gpt2-xl")
    assert kv_cache_bytes(xl, 1, 1024, torch.float32) == 2 * 48 * 1024 * 1600 * 4  # 600 MiB


def test_kv_cache_bytes_of_a_real_cache_after_a_forward_pass():
    model = small_model("micro", n_layer=2, block_size=32)
    cache = KVCache.for_model(model, batch_size=2)
    with torch.no_grad():
        model(torch.zeros(2, 5, dtype=torch.long), cache=cache)
    assert cache.keys.shape == (2, 2, 4, 32, 32) and cache.seq_len == 5
    assert cache.nbytes() == kv_cache_bytes(model.config, 2, 32) == 2 * 2 * 2 * 32 * 128 * 4
    with pytest.raises(ValueError, match="seq_len"):
        kv_cache_bytes(model.config, 1, -1)
    with pytest.raises(TypeError, match="dtype"):
        kv_cache_bytes(model.config, 1, 8, dtype="float32")


def test_reorder_and_repeat_interleave_follow_the_rows():
    cache = KVCache(2, 3, 1, 6, 2)
    k = torch.arange(3.0).view(3, 1, 1, 1).expand(3, 1, 4, 2)  # row r holds the value r everywhere
    for layer in range(2):
        cache.update(layer, k, -k)
    cache.advance(4)
    cache.reorder(torch.tensor([2, 2, 0]))
    assert cache.keys[:, :, 0, :4, 0].tolist() == [[[2.0] * 4, [2.0] * 4, [0.0] * 4]] * 2
    assert cache.values[1, :, 0, 3, 1].tolist() == [-2, -2, 0]
    wide = cache.repeat_interleave(2)
    assert wide.batch_size == 6 and wide.seq_len == 4
    assert wide.keys[0, :, 0, 0, 0].tolist() == [2, 2, 2, 2, 0, 0]
    with pytest.raises(ValueError, match="3 sequences"):
        cache.update(0, torch.zeros(2, 1, 1, 2), torch.zeros(2, 1, 1, 2))
    with pytest.raises(ValueError, match="full"):
        cache.update(0, torch.zeros(3, 1, 3, 2), torch.zeros(3, 1, 3, 2))
    with pytest.raises(ValueError, match="positive integer"):
        KVCache(2, 0, 1, 6, 2)


def test_the_cache_does_not_grow_during_generation():
    """Preallocated: the buffers seen by the model keep the same storage from the first token to the last.
    Every step asks the cache for room first (the prompt through update, each new token through DecodeStep)."""
    model = small_model("nano", block_size=40)
    storages, calls = set(), []
    original_check = KVCache.check_room

    def spy(self, n, batch_size):
        storages.add((self.keys.untyped_storage().data_ptr(), self.values.untyped_storage().data_ptr()))
        calls.append(n)
        return original_check(self, n, batch_size)

    KVCache.check_room = spy
    try:
        generate(model, [1, 2, 3], 30)
    finally:
        KVCache.check_room = original_check
    assert len(storages) == 1
    assert calls.count(1) == 29  # every decoding step after the prompt went through the cache


def test_transposed_head_is_exact_and_never_stale():
    """Generation reads the LM head through a transposed copy, kept between generations while the weight is
    unchanged and made anew after any change to it: an optimizer step, load_state_dict, a write through .data."""
    model = small_model("nano", n_layer=1)
    idx = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        plain = model(idx, last_only=True)
        first_copy = transposed_head(model)
        assert first_copy.shape == (48, 61) and first_copy.is_contiguous()  # (C, vocab)
        fast = HeadLogits(model)(model.hidden_states(idx)[:, -1:])
    torch.testing.assert_close(fast, plain, atol=1e-6, rtol=1e-6)
    assert not any(t is first_copy for t in model.state_dict().values())  # kept outside the model

    logits = []
    generate(model, idx, 1, logits_out=logits)
    torch.testing.assert_close(logits[0], plain[:, -1], atol=1e-6, rtol=1e-6)
    assert transposed_head(model) is first_copy  # unchanged weight: the same copy, not transposed again

    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    changes = {
        ".data": lambda: model.lm_head.weight.data.mul_(2.0),  # invisible to autograd's version counter
        "one element": lambda: model.lm_head.weight.data[7, 3].add_(0.25),
        "two rows swapped": lambda: model.lm_head.weight.data.copy_(model.lm_head.weight.data[[1, 0, *range(2, 61)]]),
        "load_state_dict": lambda: model.load_state_dict({**model.state_dict(), "lm_head.weight": torch.randn(61, 48)}),
        "optimizer step": lambda: (optimizer.zero_grad(), model(idx, idx + 9)[1].backward(), optimizer.step()),
    }
    for name, change in changes.items():
        change()
        generate(model, idx, 1, logits_out=logits)
        expected = model(idx)[:, -1].detach()  # the model's own nn.Linear head
        torch.testing.assert_close(logits[-1], expected, atol=1e-5, rtol=1e-5, msg=lambda m: f"after {name}: {m}")
        assert not torch.allclose(logits[-1], logits[-2]), name


# --- DecodeStep


@pytest.mark.parametrize("preset, overrides", VARIANTS)
def test_decode_step_is_bit_for_bit_the_forward_pass(preset, overrides):
    """Two caches filled from the same prompt; one decodes through the model's own modules (and the same
    head), one through DecodeStep."""
    model = small_model(preset, n_layer=2 if preset in ("nano", "micro", "mini", "gpt2") else 1, **overrides)
    idx = torch.randint(0, 61, (2, 16), generator=torch.Generator().manual_seed(1))
    ours, theirs = KVCache.for_model(model, 2), KVCache.for_model(model, 2)
    step = DecodeStep(model)
    with torch.inference_mode():
        model(idx[:, :5], cache=ours)
        model(idx[:, :5], cache=theirs)
        for t in range(5, 16):
            expected = step.head(model.hidden_states(idx[:, t : t + 1], cache=theirs)[:, -1])  # (B, V)
            got = step(idx[:, t : t + 1], ours)
            assert torch.equal(got, expected), f"{preset}, position {t}: {(got - expected).abs().max()}"
        assert torch.equal(ours.keys, theirs.keys) and ours.seq_len == theirs.seq_len == 16


def test_decode_step_on_a_padded_batch_is_bit_for_bit_the_forward_pass():
    model = small_model("micro", n_layer=2)
    idx = torch.randint(0, 61, (2, 9), generator=torch.Generator().manual_seed(2))
    mask = torch.ones(2, 10, dtype=torch.long)
    mask[1, :3] = 0  # the second prompt has 3 padding tokens on the left
    pos = (mask.cumsum(1) - 1).clamp(min=0)
    ours, theirs = KVCache.for_model(model, 2), KVCache.for_model(model, 2)
    with torch.inference_mode():
        for cache in (ours, theirs):
            model(idx[:, :8], cache=cache, attention_mask=mask[:, :8], position_ids=pos[:, :8])
        step = DecodeStep(model)
        hidden = model.hidden_states(idx[:, 8:9], cache=theirs, attention_mask=mask[:, :9], position_ids=pos[:, 8:9])
        expected = step.head(hidden[:, -1])
        got = step(idx[:, 8:9], ours, attention_mask=mask[:, :9], position_ids=pos[:, 8:9])
    assert torch.equal(got, expected)


def test_decode_step_explains_bad_input():
    model = small_model("nano", n_layer=2)
    step = DecodeStep(model)
    with torch.inference_mode():
        cache = KVCache.for_model(model, 1, max_len=3)
        model(torch.tensor([[1, 2, 3]]), cache=cache)
        with pytest.raises(ValueError, match="cache is full"):
            step(torch.tensor([[4]]), cache)
        with pytest.raises(ValueError, match="holds 1 sequences but 2"):
            step(torch.tensor([[4], [5]]), KVCache.for_model(model, 1))
        with pytest.raises(ValueError, match="one new token per row"):
            step(torch.tensor([[4, 5]]), KVCache.for_model(model, 1))
        with pytest.raises(ValueError, match="token ids must lie in"):
            step(torch.tensor([[99]]), KVCache.for_model(model, 1))


class Louder(Block):
    def forward(self, x, **kwargs):
        return 2 * super().forward(x, **kwargs)


def modified_models():
    """Models whose forward pass is not the stock one, each in a way DecodeStep must notice."""
    hooked = small_model("nano", n_layer=2)
    hooked.transformer.h[0].mlp.register_forward_hook(lambda module, args, out: out * 0)
    pre_hooked = small_model("nano", n_layer=2)
    pre_hooked.transformer.ln_f.register_forward_pre_hook(lambda module, args: (args[0] * 3,))
    subclassed = small_model("nano", n_layer=2)
    replacement = Louder(subclassed.config, 1)
    replacement.load_state_dict(subclassed.transformer.h[1].state_dict())
    subclassed.transformer.h[1] = replacement
    patched = small_model("nano", n_layer=2)
    attn = patched.transformer.h[0].attn
    stock_forward = attn.forward
    attn.forward = lambda x, **kwargs: stock_forward(x, **kwargs) * 0.5
    return dict(hooked=hooked, pre_hooked=pre_hooked, subclassed=subclassed, patched=patched)


@pytest.mark.parametrize("name", ["hooked", "pre_hooked", "subclassed", "patched"])
def test_a_modified_model_is_generated_through_its_own_forward(name):
    """Generation must use what the student's model computes: the modification changes the tokens, and the
    cached and uncached runs (the latter never uses DecodeStep) still agree."""
    model = modified_models()[name]
    assert not DecodeStep.supports(model)
    with pytest.raises(ValueError, match="unmodified"):
        DecodeStep(model)
    prompt = [[5, 7, 1, 2]]
    cached_logits, uncached_logits = [], []
    cached = generate(model, prompt, 12, logits_out=cached_logits)
    uncached = generate(model, prompt, 12, use_cache=False, logits_out=uncached_logits)
    assert torch.equal(cached, uncached)
    for a, b in zip(cached_logits, uncached_logits):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    stock = []
    generate(small_model("nano", n_layer=2), prompt, 12, logits_out=stock)
    assert not torch.allclose(cached_logits[-1], stock[-1])


def test_decode_step_needs_eval_mode_a_gptlab_model_and_no_global_hooks():
    model = small_model("nano", n_layer=2).train()
    assert not DecodeStep.supports(model)
    assert DecodeStep.supports(model.eval())
    model.transformer.h[1].mlp.dropout.train()  # one dropout switched back on
    assert not DecodeStep.supports(model)
    model.eval()
    assert not DecodeStep.supports(torch.nn.Linear(3, 3))
    handle = torch.nn.modules.module.register_module_forward_hook(lambda module, args, out: None)
    try:
        assert not DecodeStep.supports(model)  # a hook on every module must see every call
    finally:
        handle.remove()
    assert DecodeStep.supports(model)


def huge_page_bytes_at(address: int) -> int:
    """AnonHugePages of the mapping that holds ``address``, from /proc/self/smaps (in bytes)."""
    inside = False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo <= address < hi
            elif inside and head == "AnonHugePages:":
                return int(line.split()[1]) * 1024
    return 0


def test_huge_pages_keep_every_value():
    """Advising memory moves it into 2 MiB pages (where Linux can) and never changes a value; the head's
    transposed copy starts on a huge-page boundary, and DecodeStep is bit for bit the forward pass over
    advised weights (the gpt2-width variants above have matrices of several MiB)."""
    t = aligned_empty((3, 1 << 20))  # 12 MiB
    assert t.data_ptr() % HUGE_PAGE == 0 and t.is_contiguous() and t.shape == (3, 1 << 20)
    t.copy_(torch.randn(t.shape, generator=torch.Generator().manual_seed(0)))
    before = t.clone()
    collapsed = advise_huge_pages(t, torch.zeros(5))  # a tensor smaller than a page is left alone
    assert torch.equal(t, before)
    assert advise_huge_pages(t) == 0  # advised once
    if collapsed:  # Linux >= 6.1 with transparent huge pages on "madvise" or "always"
        assert collapsed == 12 << 20 and huge_page_bytes_at(t.data_ptr()) >= collapsed
    assert transposed_head(small_model("nano")).data_ptr() % HUGE_PAGE == 0
