"""The Pre-LN and Post-LN block self-checks accept correct blocks and name each mix-up of their pieces."""
from __future__ import annotations

import pytest
import torch.nn as nn

from gptlab import checks
from gptlab.model import MLP, CausalSelfAttention

FORWARDS = {
    "pre": lambda b, x: (lambda h: h + b.mlp(b.ln_2(h)))(x + b.attn(b.ln_1(x))),
    "post": lambda b, x: (lambda h: b.ln_2(h + b.mlp(h)))(b.ln_1(x + b.attn(x))),
    "none": lambda b, x: b.mlp(b.ln_2(b.attn(b.ln_1(x)))),
    "pre_no_attn_residual": lambda b, x: (lambda h: h + b.mlp(b.ln_2(h)))(b.attn(b.ln_1(x))),
    "pre_normalised_stream": lambda b, x: (lambda h: h + b.mlp(h))(b.ln_2((lambda n: n + b.attn(n))(b.ln_1(x)))),
    "pre_swapped": lambda b, x: (lambda h: h + b.mlp(b.ln_1(h)))(x + b.attn(b.ln_2(x))),
    "post_norm_on_branch": lambda b, x: (lambda h: b.ln_2(h + b.mlp(b.ln_2(h))))(b.ln_1(x + b.attn(b.ln_1(x)))),
    "post_no_mlp_residual": lambda b, x: b.ln_2(b.mlp(b.ln_1(x + b.attn(x)))),
    "post_swapped": lambda b, x: (lambda h: b.ln_1(h + b.mlp(h)))(b.ln_2(x + b.attn(x))),
}


def block_class(kind):
    class B(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(config.n_embd), nn.LayerNorm(config.n_embd)
            self.attn, self.mlp = CausalSelfAttention(config), MLP(config)

        def forward(self, x):
            return FORWARDS[kind](self, x)
    return B


def fails_with(check, kind, message):
    with pytest.raises(AssertionError, match=message):
        check(block_class(kind))


def test_pre_ln_block_check_names_each_mix_up():
    checks.check_pre_ln_block(block_class("pre"))
    fails_with(checks.check_pre_ln_block, "post", "this is a Post-LN block")
    fails_with(checks.check_pre_ln_block, "none", "residual connections are missing")
    fails_with(checks.check_pre_ln_block, "pre_no_attn_residual", "attention sublayer's residual is missing")
    fails_with(checks.check_pre_ln_block, "pre_normalised_stream", "residual stream itself is normalised")
    fails_with(checks.check_pre_ln_block, "pre_swapped", "ln_1 and ln_2 are swapped")


def test_post_ln_block_check_names_each_mix_up():
    checks.check_post_ln_block(block_class("post"))
    fails_with(checks.check_post_ln_block, "pre", "this is the Pre-LN order")
    fails_with(checks.check_post_ln_block, "post_norm_on_branch", "reads a normalised input as well")
    fails_with(checks.check_post_ln_block, "post_no_mlp_residual", "MLP sublayer's residual is missing")
    fails_with(checks.check_post_ln_block, "post_swapped", "ln_1 and ln_2 are swapped")
