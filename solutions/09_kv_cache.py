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
# # Exercise 6 · The KV cache
#
# **Goal:** make generation cost O(1) matrix products per new token instead of O(t). When a GPT
# generates token *t + 1*, the keys and values of positions *0 … t − 1* are the same as at the previous
# step: keep them, and compute only the new token's query, key and value.
#
# You write a cached attention layer, a cached forward pass, and cached greedy decoding; prove they equal
# the uncached result, and measure the speed-up.
#
# **Difficulty:** ★★★ · **Expected time:** 45 minutes

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
# `attn` is a `gptlab.model.CausalSelfAttention` (its `c_attn` makes q, k, v for all heads at once,
# `c_proj` mixes the heads back; `attn.n_head`, `attn.head_dim`). `x_new` holds the `T` new positions,
# `(B, T, C)`; `past` is `None` or the `(k, v)` returned last time, each `(B, n_head, T_past, head_dim)`.
# Return the output for the new positions and the keys/values of *all* positions so far.
#
# Mind the mask: new query `i` sits at absolute position `T_past + i` and may see every key up to it.

# %% nbgrader={"grade": false, "grade_id": "cached_attention_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cached_attention(attn, x_new: torch.Tensor, past=None):
    """-> (y (B, T, C), (k, v) each (B, nh, T_past + T, hs))."""
    ### BEGIN SOLUTION
    B, T, C = x_new.shape
    q, k, v = attn.c_attn(x_new).split(C, dim=2)
    q, k, v = (t.view(B, T, attn.n_head, attn.head_dim).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
    if past is not None:
        k = torch.cat([past[0], k], dim=2)  # (B, nh, T_past + T, hs)
        v = torch.cat([past[1], v], dim=2)
    T_all = k.shape[2]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(attn.head_dim)  # (B, nh, T, T_all)
    allowed = torch.ones(T, T_all, dtype=torch.bool).tril(diagonal=T_all - T)
    weights = scores.masked_fill(~allowed, float("-inf")).softmax(-1)
    y = (weights @ v).transpose(1, 2).reshape(B, T, C)
    return attn.c_proj(y), (k, v)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "cached_attention_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_cached_attention(cached_attention)
### BEGIN HIDDEN TESTS
from gptlab.checks import init_random
from gptlab.grading import record
from gptlab.model import CausalSelfAttention as _CSA
torch.manual_seed(21)
_attn = init_random(_CSA(GPTConfig.from_preset("nano", vocab_size=65)).eval(), seed=21)
_x = torch.randn(1, 9, 48)
with torch.no_grad():
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
# absolute positions, every block with `cached_attention` in place of `block.attn`, the final LayerNorm and
# the head. `past` is a list with one `(k, v)` per layer (or `None` at the start). It returns the logits of
# the new positions and the new list.
#
# `decode_cached(model, idx, max_new_tokens)` feeds the prompt once, then one token per step.

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
check_cached_decoding(decode_cached)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
torch.manual_seed(22)
_model = GPT(GPTConfig.from_preset("nano", vocab_size=65)).eval()
_idx = torch.randint(0, 65, (3, 4))
with torch.no_grad():
    _logits, _past = forward_cached(_model, _idx[:, :3])
    _logits2, _ = forward_cached(_model, _idx[:, 3:], _past)
record("logits_step", _logits2)
record("tokens", decode_cached(_model, _idx, 25))
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
