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
# # Exercise 4 · The causal mask and masked self-attention
#
# **Goal:** build the mask that stops a token from looking at its future, and the attention that uses it.
# A language model is trained to predict token *t + 1* from tokens *0 … t*; if position *t* could see
# position *t + 1*, it would simply copy the answer and learn nothing.
#
# **Difficulty:** ★★☆ · **Expected time:** 20 minutes
#
# You write two functions. After each, run the check cell below it: it tells you *what* is wrong
# (a leak from the future, rows that do not sum to 1, a missing scale ...). Hidden tests run the same
# functions on other inputs when your notebook is graded.

# %%
import math

import torch

from gptlab.checks import check_causal_mask, check_masked_attention

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
# ## 2. Masked self-attention
#
# `attention(q, k, v)` takes queries, keys and values of shape `(B, n_head, T, head_dim)` and returns
# `(output, weights)`:
#
# 1. scores `q @ k^T / sqrt(head_dim)`, shape `(B, n_head, T, T)`;
# 2. scores at forbidden positions set to `-inf`, so that softmax gives them weight exactly 0;
# 3. `weights = softmax(scores)` over the keys (the last dimension);
# 4. `output = weights @ v`.

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
