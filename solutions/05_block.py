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
# # Exercise 5 · A Pre-LN transformer block
#
# **Goal:** write the forward pass of GPT-2's transformer block and see that it drops into the real model.
# GPT-2 puts LayerNorm *before* each sublayer and adds the sublayer's output to an un-normalised residual
# stream: `x = x + attn(ln_1(x))`, then `x = x + mlp(ln_2(x))`. (The 2017 Transformer normalised *after*
# the addition, "Post-LN", which trains badly without a learning-rate warm-up when it is deep.)
#
# **Difficulty:** ★☆☆ · **Expected time:** 15 minutes

# %%
import torch
import torch.nn as nn

from gptlab import GPT, GPTConfig
from gptlab.checks import check_pre_ln_block
from gptlab.model import MLP, CausalSelfAttention

# %% [markdown]
# ## 1. The block
#
# The submodules are given, with GPT-2's names; write `forward`. Attention is already causal; pass
# `attn_kwargs` on to it (the full model uses them for the KV cache and padding).

# %% nbgrader={"grade": false, "grade_id": "block_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
class PreLNBlock(nn.Module):
    def __init__(self, config: GPTConfig, layer_idx: int = 0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.attn = CausalSelfAttention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, **attn_kwargs) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C). ``attn_kwargs`` (KV cache, padding mask) are passed on to ``self.attn``."""
        ### BEGIN SOLUTION
        x = x + self.attn(self.ln_1(x), **attn_kwargs)
        x = x + self.mlp(self.ln_2(x))
        return x
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "block_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_pre_ln_block(PreLNBlock)
### BEGIN HIDDEN TESTS
from gptlab.checks import init_random
from gptlab.grading import record
torch.manual_seed(11)
_cfg = GPTConfig.from_preset("nano", vocab_size=65)
_block = init_random(PreLNBlock(_cfg).eval(), seed=11)
with torch.no_grad():
    record("block_out", _block(torch.randn(2, 6, _cfg.n_embd) * 2))
### END HIDDEN TESTS

# %% [markdown]
# ## 2. It is GPT-2's block
#
# Put your block into a `gptlab` model in place of each of its blocks, with the same weights: the logits
# must not change.

# %% nbgrader={"grade": false, "grade_id": "swap_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def swap_in_blocks(model: GPT) -> GPT:
    """Replace every block of ``model`` by a PreLNBlock holding the same weights; return the model."""
    ### BEGIN SOLUTION
    for i, old in enumerate(model.transformer.h):
        new = PreLNBlock(model.config, i)
        new.load_state_dict(old.state_dict())
        model.transformer.h[i] = new
    return model
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "swap_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
torch.manual_seed(0)
model = GPT(GPTConfig.from_preset("nano", vocab_size=65)).eval()
idx = torch.randint(0, 65, (2, 12))
with torch.no_grad():
    before = model(idx)
    after = swap_in_blocks(model)(idx)
assert all(isinstance(b, PreLNBlock) for b in model.transformer.h), "every block should now be a PreLNBlock"
assert torch.allclose(before, after, atol=1e-5), "the logits changed: the blocks compute something else"
print("✓ the model with your blocks gives the same logits")
### BEGIN HIDDEN TESTS
from gptlab.grading import record
torch.manual_seed(5)
_m = GPT(GPTConfig.from_preset("nano", vocab_size=65)).eval()
_idx = torch.randint(0, 65, (1, 20))
with torch.no_grad():
    _m = swap_in_blocks(_m)
    record("types", [type(b).__name__ == "PreLNBlock" for b in _m.transformer.h])
    record("logits", _m(_idx)[0, -3:])
### END HIDDEN TESTS
