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
# # Exercise 9 · The KV cache, and your own GPT end to end
#
# **Goal:** make generation cost O(1) matrix products per new token instead of O(t). When a GPT
# generates token *t + 1*, the keys and values of positions *0 … t − 1* are the same as at the previous
# step: keep them, and compute only the new token's query, key and value.
#
# You write a cached attention layer, a cached forward pass and cached greedy decoding for a model with
# GPT-2's layout (yours from exercise 06 has it), prove they equal the uncached result, and measure the
# speed-up. The capstone then puts every piece you wrote in this track together — your LayerNorm, MLP,
# attention, block and GPT, your sampler and your cache — and checks the result against GPT-2's reference.
#
# **Difficulty:** ★★★ · **Importance:** 🔵🔵🔵🔵⚪ · **Expected time:** 60 minutes
#
# Follows course notebook 06 (The KV cache).

# %%
import math
import os
import time

import torch

from gptlab import GPT, GPTConfig
from gptlab.checks import check_cached_attention, check_cached_decoding

# %% [markdown]
# ## 1. Cached attention
#
# `attn` is a causal self-attention layer with GPT-2's layout — yours from exercise 04 or the course's:
# `attn.c_attn` makes q, k, v for all heads at once (`(B, T, 3C)`, in that order), `attn.c_proj` mixes the
# heads back, `attn.n_head` is the number of heads. `x_new` holds the `T` new positions, `(B, T, C)`;
# `past` is `None` or the `(k, v)` returned last time, each `(B, n_head, T_past, head_dim)`.
# Return the output for the new positions and the keys/values of *all* positions so far.
#
# Mind the mask: new query `i` sits at absolute position `T_past + i` and may see every key up to it.

# %% nbgrader={"grade": false, "grade_id": "cached_attention_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cached_attention(attn, x_new: torch.Tensor, past=None):
    """-> (y (B, T, C), (k, v) each (B, nh, T_past + T, hs))."""
    ### BEGIN SOLUTION
    B, T, C = x_new.shape
    nh = attn.n_head
    q, k, v = attn.c_attn(x_new).split(C, dim=2)
    q, k, v = (t.view(B, T, nh, C // nh).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
    if past is not None:
        k = torch.cat([past[0], k], dim=2)  # (B, nh, T_past + T, hs)
        v = torch.cat([past[1], v], dim=2)
    T_all = k.shape[2]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(C // nh)  # (B, nh, T, T_all)
    allowed = torch.ones(T, T_all, dtype=torch.bool).tril(diagonal=T_all - T)
    weights = scores.masked_fill(~allowed, float("-inf")).softmax(-1)
    y = (weights @ v).transpose(1, 2).reshape(B, T, C)
    return attn.c_proj(y), (k, v)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "cached_attention_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_cached_attention(cached_attention)
### BEGIN HIDDEN TESTS
from gptlab.checks import init_random
from gptlab.grading import record, unavailable
from gptlab.model import CausalSelfAttention as _CSA
torch.manual_seed(21)
_attn = init_random(_CSA(GPTConfig.from_preset("nano", vocab_size=65)).eval(), seed=21)
_x = torch.randn(1, 9, 48)
with torch.no_grad(), unavailable("gptlab.model.CausalSelfAttention", "gptlab.model.attend",
                                  "gptlab.model.attention_mask", "gptlab.kv_cache.KVCache"):
    _y1, _past = cached_attention(_attn, _x[:, :6])
    _y2, _past = cached_attention(_attn, _x[:, 6:], _past)
record("y_prefix", _y1)
record("y_rest", _y2)
record("k_all", _past[0])
### END HIDDEN TESTS

# %% [markdown]
# ## 2. A cached forward pass and cached greedy decoding
#
# `forward_cached(model, idx_new, past)` runs the whole model on the new tokens only: embeddings at their
# absolute positions, every block with `cached_attention` in place of `block.attn`, the final LayerNorm
# `ln_f` and the head. `past` is a list with one `(k, v)` per layer (or `None` at the start). It returns the
# logits of the new positions and the new list.
#
# `decode_cached(model, idx, max_new_tokens)` feeds the prompt once, then one token per step: after the
# prompt the model never sees more than the newest token.

# %% nbgrader={"grade": false, "grade_id": "decode_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def forward_cached(model, idx_new: torch.Tensor, past=None):
    """idx_new (B, T) -> (logits (B, T, V), past: list of (k, v) per layer)."""
    ### BEGIN SOLUTION
    start = 0 if past is None else past[0][0].shape[2]
    pos = torch.arange(start, start + idx_new.shape[1])
    x = model.transformer.wte(idx_new) + model.transformer.wpe(pos)  # (B, T, C)
    new_past = []
    for i, block in enumerate(model.transformer.h):
        y, kv = cached_attention(block.attn, block.ln_1(x), None if past is None else past[i])
        x = x + y
        x = x + block.mlp(block.ln_2(x))
        new_past.append(kv)
    return model.lm_head(model.transformer.ln_f(x)), new_past
    ### END SOLUTION


@torch.no_grad()
def decode_cached(model, idx: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
    """Greedy decoding with the cache: idx (B, T) -> (B, T + max_new_tokens)."""
    ### BEGIN SOLUTION
    logits, past = forward_cached(model, idx)
    for _ in range(max_new_tokens):
        nxt = logits[:, -1].argmax(-1, keepdim=True)  # (B, 1)
        idx = torch.cat([idx, nxt], dim=1)
        logits, past = forward_cached(model, nxt, past)
    return idx
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "decode_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_cached_decoding(decode_cached, forward_cached)
### BEGIN HIDDEN TESTS
from gptlab.checks import init_random
from gptlab.grading import record, unavailable
torch.manual_seed(22)
_model = init_random(GPT(GPTConfig.from_preset("nano", vocab_size=65)).eval(), seed=22)
_idx = torch.randint(0, 65, (3, 4))
with torch.no_grad(), unavailable("gptlab.model.GPT", "gptlab.model.attend", "gptlab.model.attention_mask",
                                  "gptlab.kv_cache.KVCache", "gptlab.decode.DecodeStep", "gptlab.generation.generate"):
    _logits, _past = forward_cached(_model, _idx[:, :3])
    _logits2, _ = forward_cached(_model, _idx[:, 3:], _past)
    _tokens = decode_cached(_model, _idx, 25)
record("logits_step", _logits2, atol=1e-4)
record("tokens", _tokens)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. How much faster?
#
# Without a cache, step *t* runs the model over all *t* tokens again; with it, over one. Time both on a
# 6-layer model generating 150 tokens (best of 2 runs each), and check they produce the same tokens.
# One thread, so that the comparison does not depend on what else the machine is doing. (While a class is
# being graded this ungraded experiment runs shorter: 60 tokens.)

# %%
torch.set_num_threads(1)
N_NEW = 60 if os.environ.get("GPTLAB_GRADING") == "1" else 150


@torch.no_grad()
def decode_uncached(model, idx, max_new_tokens):
    for _ in range(max_new_tokens):
        idx = torch.cat([idx, model(idx)[:, -1].argmax(-1, keepdim=True)], dim=1)
    return idx


def best_time(fn, repeat=2):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


torch.manual_seed(0)
big = GPT(GPTConfig.from_preset("mini", vocab_size=65)).eval()
start = torch.zeros(1, 1, dtype=torch.long)
t_plain, plain = best_time(lambda: decode_uncached(big, start, N_NEW))
t_cached, cached = best_time(lambda: decode_cached(big, start, N_NEW))
assert torch.equal(plain, cached), "cached and uncached decoding disagree"
print(f"uncached {t_plain * 1000:.0f} ms · cached {t_cached * 1000:.0f} ms · speed-up {t_plain / t_cached:.1f}x")
assert t_cached < t_plain, "the cache should make decoding faster"

# %% [markdown]
# ## 4. Capstone: your GPT, your sampler, your cache
#
# Every earlier exercise of the track left a piece in its notebook: `LayerNorm`, `GELU` and `MLP`
# (exercise 02), the embeddings (03), `CausalSelfAttention` (04), `Block` (05), `GPT` (06), and `sample`
# (08). `own_pieces` loads each one from the exercise notebooks saved next to this one; a piece you have not
# written yet (or whose notebook is not here) is replaced by the course's, and the list says whose each is.

# %% tags=["nbval-ignore-output"]
from gptlab.capstone import assemble_gpt, course_pieces
from gptlab.exercises import own_pieces
from gptlab.sampling import next_token_probs, sample_from_probs


def course_sample(logits, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, generator=None):
    probs = next_token_probs(logits, temperature, top_k or None, top_p, min_p or None)
    return sample_from_probs(probs, generator)


course = course_pieces()
pieces = own_pieces({
    "LayerNorm": ("02_layernorm_mlp", course["LayerNorm"]),
    "GELU": ("02_layernorm_mlp", course["GELU"]),
    "MLP": ("02_layernorm_mlp", course["MLP"]),
    "CausalSelfAttention": ("04_attention", course["CausalSelfAttention"]),
    "Block": ("05_block", course["Block"]),
    "GPT": ("06_gpt", course["GPT"]),
    "sample": ("08_generation", course_sample),
})

# %% [markdown]
# Now one model out of them, carrying the weights of the trained Shakespeare GPT. Each of your pieces is
# first tried alone on those weights: one that gives a different output from the course's piece is set
# aside (with the reason) so that the rest still runs — fix it in its own exercise. Then the whole model
# must give the reference's logits.

# %% tags=["nbval-ignore-output"]
from gptlab.assets import load_shakespeare_char

reference, tok = load_shakespeare_char()
mine, whose = assemble_gpt(pieces, reference)
text = torch.tensor([tok.encode("ROMEO:\nWhat light through yonder window breaks?")])
with torch.no_grad():
    gap = float((mine(text) - reference(text)).abs().max())
print(f"largest logit difference from the reference GPT: {gap:.2e}")
assert gap < 1e-4

# %% [markdown]
# Your cache on your model: greedy decoding with `decode_cached` gives the reference's greedy tokens, and
# then a sample drawn with your own sampler, one cached step at a time.

# %% tags=["nbval-ignore-output"]
prompt = torch.tensor([tok.encode("ROMEO:\n")])
n_new = reference.config.block_size - prompt.shape[1]  # fill the context, no further
assert torch.equal(decode_cached(mine, prompt, n_new), decode_uncached(reference, prompt, n_new))


@torch.no_grad()
def sample_cached(model, idx, max_new_tokens, sample, generator, **settings):
    logits, past = forward_cached(model, idx)
    for _ in range(max_new_tokens):
        nxt = sample(logits[:, -1], generator=generator, **settings)  # (B,)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
        logits, past = forward_cached(model, nxt[:, None], past)
    return idx


story = sample_cached(mine, prompt, n_new, pieces["sample"], torch.Generator().manual_seed(0), temperature=0.8,
                      top_k=20)
print(tok.decode(story[0].tolist()))
