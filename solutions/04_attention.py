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
# # Exercise 4 · Causal self-attention, one head then many
#
# **Goal:** build the mask that stops a token from looking at its future, the attention of one head that
# uses it, and then GPT-2's multi-head `CausalSelfAttention` layer, with GPT-2's parameter names and layout
# so that GPT-2's weights load into it.
# A language model is trained to predict token *t + 1* from tokens *0 … t*; if position *t* could see
# position *t + 1*, it would simply copy the answer and learn nothing.
#
# **Difficulty:** ★★☆ · **Importance:** 🔵🔵🔵🔵🔵 · **Expected time:** 40 minutes · Follows course notebook
# 02 (attention)
#
# You write two functions and a module. After each, run the check cell below it: it tells you *what* is wrong
# (a leak from the future, rows that do not sum to 1, a missing scale ...). Hidden tests run the same
# functions on other inputs when your notebook is graded.

# %%
import math

import torch

import torch.nn as nn

from gptlab.checks import check_causal_mask, check_causal_self_attention, check_masked_attention
from gptlab.config import GPTConfig
from gptlab.model import Projection

# %% [markdown]
# ## 1. The mask
#
# `causal_mask(T)` returns a `(T, T)` **bool** tensor: entry `[i, j]` is `True` when query position `i`
# may attend to key position `j`, that is when `j <= i`.

# %% nbgrader={"grade": false, "grade_id": "mask_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def causal_mask(T: int) -> torch.Tensor:
    """(T, T) bool, True where position i may look at position j (j <= i)."""
    ### BEGIN SOLUTION
    return torch.ones(T, T, dtype=torch.bool).tril()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mask_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_causal_mask(causal_mask)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
for T in (1, 2, 9):
    record(f"mask_{T}", causal_mask(T))
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Masked self-attention, one head
#
# `attention(q, k, v)` takes the queries, keys and values of one head, shape `(..., T, head_dim)`, and returns
# `(output, weights)`:
#
# 1. scores `q @ k^T / sqrt(head_dim)`, shape `(B, n_head, T, T)`;
# 2. scores at forbidden positions set to `-inf`, so that softmax gives them weight exactly 0;
# 3. `weights = softmax(scores)` over the keys (the last dimension);
# 4. `output = weights @ v`.
#
# Written with `@` and the last two dimensions, the same function serves many heads at once: give it
# `(B, n_head, T, head_dim)` tensors and it computes every head side by side (the check does exactly that).

# %% nbgrader={"grade": false, "grade_id": "attention_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Causal scaled dot-product attention: (B, nh, T, hs) x3 -> output (B, nh, T, hs), weights (B, nh, T, T)."""
    ### BEGIN SOLUTION
    T, hs = q.shape[-2], q.shape[-1]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, nh, T, T)
    scores = scores.masked_fill(~causal_mask(T), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "attention_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_masked_attention(attention)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
_g = torch.Generator().manual_seed(2024)
_q, _k, _v = (torch.randn(2, 4, 5, 16, generator=_g) for _ in range(3))
from gptlab.grading import unavailable
with unavailable("torch.nn.functional.scaled_dot_product_attention", "gptlab.model.attend"):
    _out, _w = attention(_q, _k, _v)
record("output", _out)
record("weights", _w)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. See it
#
# The first row of the weights can only look at itself, so it is exactly 1; the last row spreads over
# every position. Each row sums to 1.

# %%
g = torch.Generator().manual_seed(0)
q, k, v = (torch.randn(1, 1, 5, 8, generator=g) for _ in range(3))
out, w = attention(q, k, v)
print(w[0, 0].round(decimals=2))
assert torch.allclose(w.sum(-1), torch.ones(1, 1, 5)) and w[0, 0, 0, 0] == 1.0

# %% [markdown]
# ## 4. Many heads: GPT-2's `CausalSelfAttention`
#
# GPT-2 computes q, k and v of all heads with one projection, `c_attn`, from `C` to `3C` features: the first
# `C` outputs are q, the next `C` are k, the last `C` are v. Head `h` owns features `h·hs … (h+1)·hs - 1` of
# each (with `hs = C // n_head`), so `(B, T, C)` becomes `(B, n_head, T, hs)` by `view(B, T, n_head, hs)`
# and then `transpose(1, 2)`. After your `attention`, the heads go back side by side, `(B, T, C)`, and the
# output projection `c_proj` mixes them. Both projections are `Projection`s (GPT-2's `(in, out)` layout).

# %% nbgrader={"grade": false, "grade_id": "mha_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with GPT-2's names: (B, T, C) -> (B, T, C)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        ### BEGIN SOLUTION
        self.c_attn = Projection(config.n_embd, 3 * config.n_embd)  # weight (C, 3C): q | k | v
        self.c_proj = Projection(config.n_embd, config.n_embd)  # weight (C, C)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)  # (B, T, C) each
        q, k, v = (t.view(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        y, _ = attention(q, k, v)  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)  # the heads side by side again
        return self.c_proj(y)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mha_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_causal_self_attention(CausalSelfAttention)
### BEGIN HIDDEN TESTS
from gptlab.checks import seeded_weights
from gptlab.grading import record, unavailable
_cfg = GPTConfig(vocab_size=11, block_size=16, n_layer=1, n_head=4, n_embd=32)
_x = torch.randn(2, 9, 32, generator=torch.Generator().manual_seed(44))
with unavailable("gptlab.model.CausalSelfAttention", "gptlab.model.attend",
                 "torch.nn.functional.scaled_dot_product_attention"), torch.no_grad():
    record("mha", seeded_weights(CausalSelfAttention(_cfg), seed=44)(_x))
### END HIDDEN TESTS

# %% [markdown]
# ## 5. It is GPT-2's attention
#
# Load the weights of the first block's attention of the course's GPT-2 model into yours: same names, same
# shapes, same numbers.

# %%
from gptlab import GPT

torch.manual_seed(0)
config = GPTConfig.from_preset("nano", vocab_size=65)
course = GPT(config).eval().transformer.h[0].attn
mine = CausalSelfAttention(config)
mine.load_state_dict(course.state_dict())
x = torch.randn(2, 10, config.n_embd)
with torch.no_grad():
    gap = (mine(x) - course(x)).abs().max().item()
print(f"largest difference from the course's attention: {gap:.1e}")
assert gap < 1e-5
