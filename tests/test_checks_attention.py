"""The multi-head attention self-check accepts GPT-2's module and names the classic layout mistakes."""
from __future__ import annotations

import pytest
import torch

from gptlab import checks
from gptlab.model import CausalSelfAttention


class NoProjection(CausalSelfAttention):
    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.n_head, -1).transpose(1, 2) for t in self.c_attn(x).split(C, dim=2))
        y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        return y.transpose(1, 2).reshape(B, T, C)


class MergedWithoutTranspose(NoProjection):
    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.n_head, -1).transpose(1, 2) for t in self.c_attn(x).split(C, dim=2))
        return self.c_proj(torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).reshape(B, T, C))


def test_causal_self_attention():
    checks.check_causal_self_attention(CausalSelfAttention)
    with pytest.raises(AssertionError, match="c_proj is not applied"):
        checks.check_causal_self_attention(NoProjection)
    with pytest.raises(AssertionError, match="merged without transposing back"):
        checks.check_causal_self_attention(MergedWithoutTranspose)
