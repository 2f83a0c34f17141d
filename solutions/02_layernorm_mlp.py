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
# # Exercise 2 · LayerNorm, GELU and the MLP
#
# **Goal:** write the three per-token layers of a GPT-2 block yourself — LayerNorm, the GELU non-linearity
# and the MLP — with GPT-2's parameter names and layout, so that GPT-2's own weights load into them and
# give the same numbers as the course's model.
#
# **Difficulty:** ★★☆ · **Importance:** 🔵🔵🔵🔵⚪ · **Expected time:** 25 minutes · Follows course notebook
# 03 (Pre-LN and Post-LN)
#
# Each of these layers acts on every token on its own: a `(B, T, C)` input gives a `(B, T, C)` output, and
# position `t` of the output depends only on position `t` of the input. After each answer, run the check
# cell below it: it tells you *what* is wrong (an unbiased variance, eps in the wrong place, the exact GELU
# instead of GPT-2's ...). Hidden tests run your code on other inputs when your notebook is graded.

# %%
import math

import torch
import torch.nn as nn

from gptlab.checks import check_gelu, check_layer_norm, check_mlp
from gptlab.config import GPTConfig
from gptlab.model import Projection

# %% [markdown]
# ## 1. LayerNorm
#
# For each token, LayerNorm takes its `C` features, subtracts their mean and divides by their standard
# deviation, then scales and shifts each feature by a learned `weight` and `bias`:
#
# $$\mathrm{LN}(x) = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \odot w + b, \qquad
# \mu = \frac1C \sum_i x_i, \quad \sigma^2 = \frac1C \sum_i (x_i - \mu)^2 .$$
#
# Three details matter: the variance divides by `C` (the *biased* estimate — `torch.var` divides by `C - 1`
# unless told `unbiased=False`), `eps` goes *inside* the square root, and a new LayerNorm starts with
# `weight = 1`, `bias = 0`. Name the parameters `weight` and `bias`, as GPT-2 (and `nn.LayerNorm`) does.

# %% nbgrader={"grade": false, "grade_id": "layer_norm_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
class LayerNorm(nn.Module):
    """Normalise each token's C features: (B, T, C) -> (B, T, C)."""

    def __init__(self, n_embd: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        ### BEGIN SOLUTION
        self.weight = nn.Parameter(torch.ones(n_embd))  # (C,)
        self.bias = nn.Parameter(torch.zeros(n_embd))  # (C,)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        mean = x.mean(dim=-1, keepdim=True)  # (B, T, 1)
        var = x.var(dim=-1, keepdim=True, unbiased=False)  # (B, T, 1)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "layer_norm_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_layer_norm(LayerNorm)
### BEGIN HIDDEN TESTS
from gptlab.checks import seeded_weights
from gptlab.grading import record, unavailable
_x = torch.randn(3, 7, 24, generator=torch.Generator().manual_seed(31)) * 4 - 2
with unavailable("torch.nn.functional.layer_norm", "torch.layer_norm", "torch.nn.LayerNorm"), torch.no_grad():
    record("ln_default", LayerNorm(24)(_x))
    record("ln_affine", seeded_weights(LayerNorm(24, eps=1e-3), seed=31)(_x * 1e-2))
### END HIDDEN TESTS

# %% [markdown]
# ## 2. GELU, GPT-2's way
#
# GELU weighs its input by the probability that a standard normal variable is below it, $x\,\Phi(x)$.
# GPT-2 was trained with the tanh approximation of it, so its weights expect exactly that one:
#
# $$\mathrm{GELU}(x) \approx \tfrac12\, x \left(1 + \tanh\!\Big(\sqrt{2/\pi}\,\big(x + 0.044715\, x^3\big)\Big)\right).$$
#
# Write it with `torch` operations (elementwise, any shape).

# %% nbgrader={"grade": false, "grade_id": "gelu_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gelu(x: torch.Tensor) -> torch.Tensor:
    """GELU with the tanh approximation, elementwise: any shape -> the same shape."""
    ### BEGIN SOLUTION
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "gelu_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_gelu(gelu)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
with unavailable("torch.nn.functional.gelu", "torch.nn.GELU"):
    record("gelu", gelu(torch.linspace(-8, 8, 321, dtype=torch.float64)), atol=1e-9)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The MLP
#
# After attention has mixed information between tokens, the MLP processes each token alone: a projection
# `c_fc` from `C` to `4C` features, your GELU, and a projection `c_proj` back to `C`.
#
# GPT-2 stores each projection's weight as `(in_features, out_features)` and computes `x @ W + b`
# (`nn.Linear` stores the transpose). `Projection(in_features, out_features)` from `gptlab.model` is that
# layer; use it so that GPT-2's weights load as they are.

# %% nbgrader={"grade": false, "grade_id": "mlp_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
class MLP(nn.Module):
    """GPT-2's feed-forward layer: (B, T, C) -> (B, T, C) through a 4C-wide hidden layer."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        ### BEGIN SOLUTION
        hidden = 4 * config.n_embd
        self.c_fc = Projection(config.n_embd, hidden)  # weight (C, 4C)
        self.c_proj = Projection(hidden, config.n_embd)  # weight (4C, C)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        return self.c_proj(gelu(self.c_fc(x)))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mlp_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_mlp(MLP)
### BEGIN HIDDEN TESTS
from gptlab.checks import seeded_weights
from gptlab.grading import record, unavailable
_cfg = GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16)
_x = torch.randn(2, 3, 16, generator=torch.Generator().manual_seed(32))
with unavailable("gptlab.model.MLP", "torch.nn.functional.gelu", "torch.nn.GELU"), torch.no_grad():
    record("mlp", seeded_weights(MLP(_cfg), seed=32)(_x))
### END HIDDEN TESTS

# %% [markdown]
# ## 4. They are GPT-2's layers
#
# Copy the weights of a block of the course's GPT-2 model into your LayerNorm and MLP: with the same weights
# they compute the same numbers, so your layers could stand in for GPT-2's.

# %%
from gptlab import GPT

torch.manual_seed(0)
config = GPTConfig.from_preset("nano", vocab_size=65)
block = GPT(config).eval().transformer.h[0]
my_ln, my_mlp = LayerNorm(config.n_embd), MLP(config)
my_ln.load_state_dict(block.ln_2.state_dict())
my_mlp.load_state_dict(block.mlp.state_dict())
x = torch.randn(2, 10, config.n_embd) * 3
with torch.no_grad():
    gap = (my_mlp(my_ln(x)) - block.mlp(block.ln_2(x))).abs().max().item()
print(f"largest difference from the course's model: {gap:.1e}")
assert gap < 1e-5
