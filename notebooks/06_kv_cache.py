# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · The KV cache
#
# A GPT writes one token at a time, and each new token attends to every token before it. Written naively, each
# step feeds the *whole* sequence through the model again, although everything but the last position was
# already computed on the previous step. The KV cache keeps what can be kept, each layer's keys and values,
# so that a step only processes the one new token.
#
# **What you will see**
# 1. what a step without a cache recomputes, and that it recomputes exactly the same numbers;
# 2. a cache built step by step, the simplest way (a growing list), plugged into the real model;
# 3. proof that cached and uncached decoding give the same logits and the same tokens;
# 4. what the cache costs in memory, per token, for each GPT-2 size;
# 5. a measured plot of time per token against sequence length, with and without the cache;
# 6. what is left of a cached step besides arithmetic, and the package's leaner step.

# %%
import time

import torch

from gptlab import GPT, GPTConfig, KVCache, kv_cache_bytes, plotting
from gptlab.generation import generate

torch.manual_seed(0)
config = GPTConfig.from_preset("mini", vocab_size=512)  # 6 layers, 6 heads, width 192, context 256
model = GPT(config).eval()
prompt = torch.randint(0, config.vocab_size, (1, 12))  # (B=1, T=12) token ids
print(config)

# %% [markdown]
# ## 1. What a step without a cache recomputes
#
# Attention at position t needs the query of t and the keys and values of positions 0..t. Keys and values of a
# position depend only on that position and the ones before it (the mask sees to that), so once computed they
# never change. Without a cache, step t+1 computes them all again. We record the keys of layer 0 on two
# consecutive steps: the first 12 positions come out identical, the work was wasted.

# %%
def keys_of_layer(model, idx, layer=0):
    """The keys (B, n_head, T, head_dim) that attention in ``layer`` computes for ``idx``."""
    seen = []
    attn = model.transformer.h[layer].attn

    def grab(module, inputs, output):  # output of c_attn: q, k, v side by side, (B, T, 3C)
        k = output.split(config.n_embd, dim=2)[1]
        seen.append(k.view(*k.shape[:2], config.n_head, config.head_dim).transpose(1, 2))

    handle = attn.c_attn.register_forward_hook(grab)
    with torch.no_grad():
        model(idx)
    handle.remove()
    return seen[0]


step_1 = keys_of_layer(model, prompt)  # 12 positions
next_token = torch.tensor([[7]])
step_2 = keys_of_layer(model, torch.cat([prompt, next_token], dim=1))  # 13 positions
print("keys on step 1:", tuple(step_1.shape), " keys on step 2:", tuple(step_2.shape))
print("largest difference on the 12 shared positions:", (step_2[:, :, :12] - step_1).abs().max().item())
assert torch.allclose(step_2[:, :, :12], step_1, atol=1e-6)

# %% [markdown]
# How much work is that? Generating n tokens after a prompt of p tokens without a cache pushes
# p + (p+1) + ... + (p+n−1) positions through the model: it grows with the square of the length. With a cache,
# the prompt goes through once and then one position per step: p + n − 1.

# %% tags=["nbval-check-output"]
p, n = 12, 200
without_cache = sum(p + i for i in range(n))
with_cache = p + (n - 1)
print(f"positions processed to write {n} tokens after a {p}-token prompt:")
print(f"  without a cache: {without_cache:,}")
print(f"  with a cache:    {with_cache:,}  ({without_cache / with_cache:.1f}x fewer)")
assert without_cache == n * p + n * (n - 1) // 2

# %% [markdown]
# ## 2. A cache, step by step
#
# The model's attention already knows how to use a cache: if it is given one, it hands the new keys and values
# to `cache.update(layer, k, v)` and attends over whatever comes back, and the model calls
# `cache.advance(T)` once all layers are done. So the simplest possible cache is a list of growing tensors,
# one pair per layer, that `torch.cat` extends. (The package's `KVCache` does the same with buffers allocated
# once for the whole context, so a step never copies the past; this version is for reading.)

# %%
class ListCache:
    """The teaching cache: per layer, the keys and values of every position so far, (B, n_head, T, head_dim)."""

    def __init__(self, n_layer):
        self.keys = [None] * n_layer
        self.values = [None] * n_layer
        self.seq_len = 0  # positions stored; the model reads it to number the new positions

    def update(self, layer, k, v):
        if self.keys[layer] is None:
            self.keys[layer], self.values[layer] = k, v
        else:
            self.keys[layer] = torch.cat([self.keys[layer], k], dim=2)  # (B, nh, past + T, hs)
            self.values[layer] = torch.cat([self.values[layer], v], dim=2)
        return self.keys[layer], self.values[layer]

    def advance(self, n):
        self.seq_len += n


cache = ListCache(config.n_layer)
with torch.no_grad():
    logits = model(prompt, cache=cache)  # step 0: the whole prompt, filling the cache
print(f"after the prompt: seq_len={cache.seq_len}, layer 0 keys {tuple(cache.keys[0].shape)}")
tokens = prompt
for step in range(3):
    new = logits[:, -1:].argmax(-1)  # (1, 1): greedy choice
    tokens = torch.cat([tokens, new], dim=1)
    with torch.no_grad():
        logits = model(new, cache=cache)  # only the new token goes in
    print(f"step {step + 1}: fed 1 token, logits {tuple(logits.shape)}, "
          f"cache now {cache.seq_len} positions, layer 0 keys {tuple(cache.keys[0].shape)}")
assert cache.seq_len == prompt.shape[1] + 3 and cache.keys[0].shape[2] == cache.seq_len

# %% [markdown]
# Note how the new token knows its position: the model numbers it `cache.seq_len`, so its position embedding
# is the one it would have had in the full sequence.
#
# ## 3. Proof: cached and uncached logits agree
#
# We decode 40 greedy tokens both ways and compare the logits of every step: with the cache (one token in),
# and without (the whole sequence in, last position taken).

# %%
cache = ListCache(config.n_layer)
tokens, worst = prompt, 0.0
with torch.no_grad():
    cached = model(prompt, cache=cache)[:, -1]
    for step in range(40):
        full = model(tokens)[:, -1]  # no cache: everything again
        worst = max(worst, (full - cached).abs().max().item())
        assert torch.equal(full.argmax(-1), cached.argmax(-1))
        new = cached.argmax(-1, keepdim=True)  # (1, 1)
        tokens = torch.cat([tokens, new], dim=1)
        cached = model(new, cache=cache)[:, -1]
print(f"largest logit difference over 40 steps: {worst:.2e}")
assert worst < 1e-4

# %% [markdown]
# The package's `generate` uses the preallocated `KVCache`; with `use_cache=False` it recomputes every step.
# The tokens must be identical, and so must those of our list cache above.

# %%
fast = generate(model, prompt, 40, use_cache=True)
slow = generate(model, prompt, 40, use_cache=False)
assert torch.equal(fast, slow) and torch.equal(fast, tokens)
print("generate with and without the cache: the same", fast.shape[1] - prompt.shape[1], "tokens")

# %% [markdown]
# ## 4. What the cache costs
#
# Each layer stores a key and a value vector of width `n_embd` (all heads side by side) per position:
# 2 × n_layer × n_embd numbers per token. `kv_cache_bytes` computes it; first a check against the real
# buffers of a `KVCache`.

# %%
real = KVCache.for_model(model, batch_size=2, max_len=100)
assert real.nbytes() == kv_cache_bytes(config, batch_size=2, seq_len=100)
print(f"KVCache for 'mini', batch 2, 100 positions: {real.nbytes():,} bytes, as the formula says")

# %% tags=["nbval-check-output"]
from gptlab import GPT2_PRESETS, count_parameters

print(f"{'model':<12}{'layers':>7}{'width':>7}{'per token (fp32)':>18}{'1024 tokens (fp32)':>20}"
      f"{'1024 tokens (fp16)':>20}{'weights (fp32)':>16}")
sizes, weight_bytes = {}, {}
for name in GPT2_PRESETS:
    c = GPTConfig.from_preset(name)
    per_token = kv_cache_bytes(c, seq_len=1)
    full = kv_cache_bytes(c, seq_len=1024)
    half = kv_cache_bytes(c, seq_len=1024, dtype=torch.float16)
    weights = 4 * count_parameters(c)["total"]
    sizes[name], weight_bytes[name] = full, weights
    print(f"{name:<12}{c.n_layer:>7}{c.n_embd:>7}{per_token / 2**10:>14.0f} KiB{full / 2**20:>16.0f} MiB"
          f"{half / 2**20:>16.0f} MiB{weights / 2**30:>12.2f} GiB")
assert sizes["gpt2-xl"] == 2 * 48 * 1024 * 1600 * 4 == 600 * 2**20
assert 0.09 < sizes["gpt2-xl"] / weight_bytes["gpt2-xl"] < 0.11  # about a tenth of the weights
assert 16 * sizes["gpt2-xl"] > weight_bytes["gpt2-xl"]  # a batch of 16 caches outweighs the model

# %% [markdown]
# GPT-2 XL's cache for one full 1024-token context is 600 MiB in fp32: about a tenth of its weights, for *one*
# sequence. A batch of 16 sequences needs 16 times that, more than the model itself. That is why serving
# systems care so much about cache memory (and why later models share keys and values between heads).
#
# ## 5. Time per token, measured
#
# Without a cache, a step at length L processes L positions; with one, it processes one position but attends
# over L keys. We time single steps at growing lengths (the fastest of a few repeats).

# %% tags=["nbval-ignore-output"]
def fastest(fns, repeats=7):
    """The fastest of a few runs of each function, taking turns (A B A B ...): other programs on the machine can
    only make a run slower, and taking turns exposes both to the same conditions."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


threads = torch.get_num_threads()
torch.set_num_threads(1)  # one thread: timings that a busy laptop disturbs least
lengths = [16, 64, 128, 192, 255]
ms_without, ms_with = [], []
torch.manual_seed(1)
with torch.inference_mode():
    for L in lengths:
        seq = torch.randint(0, config.vocab_size, (1, L))
        cache = KVCache.for_model(model)
        model(seq[:, :-1], cache=cache)  # the past, L - 1 positions, already cached

        def one_step():
            cache.seq_len = L - 1  # forget the token written by the previous repeat
            model(seq[:, -1:], cache=cache)

        without, with_cache = fastest([lambda: model(seq, last_only=True), one_step])
        ms_without.append(1e3 * without)
        ms_with.append(1e3 * with_cache)
torch.set_num_threads(threads)
for L, a, b in zip(lengths, ms_without, ms_with):
    print(f"length {L:>3}: without cache {a:6.2f} ms, with cache {b:5.2f} ms, speed-up {a / b:5.1f}x")

# %%
plotting.line_plot(
    {"without cache": (lengths, ms_without), "with KV cache": (lengths, ms_with)},
    title="Time for one decoding step (GPT 'mini', CPU)",
    xlabel="sequence length (tokens)",
    ylabel="milliseconds per token",
    marker="o",
)

# %% tags=["nbval-ignore-output"]
speedup = ms_without[-1] / ms_with[-1]
print(f"at {lengths[-1]} tokens the cache makes a step {speedup:.1f}x faster")
assert speedup > 2, f"the cached step should be much faster at long lengths, measured {speedup:.2f}x"
assert ms_without[-1] > ms_without[0], "without a cache, a step must get slower as the sequence grows"

# %% [markdown]
# Without the cache the time per token grows with the length (and the total time with its square); with it,
# a step costs nearly the same at every length, because the weights (the same for every step) dominate and
# attending over a few hundred cached keys is cheap.
#
# The same holds end to end: 100 tokens with `generate`, both ways.

# %% tags=["nbval-ignore-output"]
results = {}


def run(use_cache):
    results[use_cache] = generate(model, prompt, 100, use_cache=use_cache)


torch.set_num_threads(1)
t_cached, t_plain = fastest([lambda: run(True), lambda: run(False)], repeats=3)
torch.set_num_threads(threads)
print(f"100 tokens: {100 / t_cached:.0f} tokens/s with the cache, {100 / t_plain:.0f} tokens/s without "
      f"({t_plain / t_cached:.1f}x)")
assert torch.equal(results[True], results[False])
assert t_plain > 1.2 * t_cached

# %% [markdown]
# ## Appendix: after the cache, the machinery around the arithmetic
#
# *This appendix is about the package's engineering, not about GPT; skip it freely.*
#
# A cached step is a few matrix-vector products per layer. Around them, `model(token, cache=cache)` also makes
# about a dozen `nn.Module` calls per layer and many small tensor operations (views, transposes, dropout that
# does nothing in eval mode), and in a small model that is a large share of the time. `gptlab.engine.DecodeStep`
# does the same operations in the same order without the module machinery; `generate` uses it after the
# prompt. With the LM head read the same way on both sides, it gives the model's logits bit for bit, in less time:

# %%
from gptlab.engine import DecodeStep

step = DecodeStep(model)
torch.manual_seed(2)
seq = torch.randint(0, config.vocab_size, (1, 129))
with torch.inference_mode():
    caches = [KVCache.for_model(model), KVCache.for_model(model)]
    for c in caches:
        model(seq[:, :-1], cache=c)  # the same 128 positions in both
    through_model = step.head(model.hidden_states(seq[:, -1:], cache=caches[0])[:, -1])  # the model's layers: (1, V)
    through_step = step(seq[:, -1:], caches[1])  # (1, V)
assert torch.equal(through_model, through_step)  # identical, not merely close
print("the model's forward pass and DecodeStep: the same logits, bit for bit")

# %% tags=["nbval-ignore-output"]
def model_step():
    caches[0].seq_len = 128  # forget the token written by the previous repeat
    model(seq[:, -1:], cache=caches[0])


def lean_step():
    caches[1].seq_len = 128
    step(seq[:, -1:], caches[1])


torch.set_num_threads(1)
with torch.inference_mode():
    t_model, t_lean = fastest([model_step, lean_step], repeats=50)
torch.set_num_threads(threads)
print(f"one cached step at length 129: model(...) {1e3 * t_model:.2f} ms, DecodeStep {1e3 * t_lean:.2f} ms "
      f"({t_model / t_lean:.1f}x)")
assert t_lean < t_model

# %% [markdown]
# In a wider model the matrix products weigh more and the share saved is smaller; `bench/generate.py` measures
# GPT-2 small's decoding against `transformers`.
#
# **Takeaways**
# - Keys and values of earlier positions never change, so they can be stored instead of recomputed.
# - With a cache each step runs the projections and the MLP on one new token instead of the whole prefix: their
#   total work over n tokens grows linearly instead of quadratically. Attention still compares each new query
#   with every cached key, so its total work stays quadratic in n (uncached, it was cubic). Results identical.
# - The price is memory: 2 × layers × width numbers per token, 600 MiB for GPT-2 XL at full context.
# - Once the cache has removed the recomputation, the Python around each small step is worth removing too.

# %% [markdown]
# ## Your turn
#
# Build it yourself in the exercise track (each exercise checks your code with `gptlab grade`):
# - [`exercises/09_kv_cache.ipynb`](../exercises/09_kv_cache.ipynb): a KV cache that gives the uncached logits.
