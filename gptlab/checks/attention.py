"""Exercise checks: the causal mask and masked self-attention."""
from __future__ import annotations

import math

import torch

from ._common import _finite_rows, _ok, _shape, _tensor

__all__ = ['check_causal_mask', 'check_masked_attention']


def check_causal_mask(causal_mask) -> None:
    """``causal_mask(T)`` -> bool (T, T), True where query i may attend to key j."""
    for T in (1, 4, 7):
        m = _tensor(causal_mask(T), "causal_mask(T)")
        _shape(m, (T, T), f"causal_mask({T})")
        if m.dtype != torch.bool:
            raise AssertionError(f"causal_mask should be a bool tensor (True = may attend), got {m.dtype}")
        if not m.diagonal().all():
            raise AssertionError("a position cannot attend to itself: the diagonal must be True")
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        if (m & future).any():
            i, j = (m & future).nonzero()[0].tolist()
            raise AssertionError(f"position {i} may attend to position {j}, which is in its future: the mask leaks")
        if not (m | future).all():
            i, j = (~(m | future)).nonzero()[0].tolist()
            raise AssertionError(f"position {i} may not attend to position {j}, an earlier token it should see")
    _ok("causal_mask: lower-triangular, every token sees itself and its past, never its future")


def _reference_attention(q, k, v):
    T = q.shape[-2]
    att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    att = att.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
    w = att.softmax(-1)
    return w @ v, w


def check_masked_attention(attention) -> None:
    """``attention(q, k, v)`` with (B, nh, T, hs) inputs -> (output (B, nh, T, hs), weights (B, nh, T, T))."""
    g = torch.Generator().manual_seed(0)
    B, nh, T, hs = 2, 3, 6, 8
    q, k, v = (torch.randn(B, nh, T, hs, generator=g) for _ in range(3))
    result = attention(q, k, v)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise AssertionError("attention should return a pair (output, weights)")
    out, w = _tensor(result[0], "output"), _tensor(result[1], "weights")
    _shape(out, (B, nh, T, hs), "output")
    _shape(w, (B, nh, T, T), "weights")
    _finite_rows(w, "weights")
    if not torch.allclose(w.sum(-1), torch.ones(B, nh, T), atol=1e-5):
        raise AssertionError(
            "attention weights do not sum to 1 over the keys: apply softmax over the last dimension (dim=-1), "
            "after masking"
        )
    if (w.triu(diagonal=1).abs() > 1e-7).any():
        raise AssertionError("some weight on a future position is not zero: fill masked scores with -inf before softmax")
    # Changing the last token must leave every earlier output unchanged.
    k2, v2 = k.clone(), v.clone()
    k2[:, :, -1] += 3.0
    v2[:, :, -1] -= 5.0
    out2, _ = attention(q, k2, v2)
    if not torch.allclose(out[:, :, :-1], out2[:, :, :-1], atol=1e-5):
        raise AssertionError("changing a future token changed an earlier output: your mask leaks")
    ref_out, ref_w = _reference_attention(q, k, v)
    if not torch.allclose(w, ref_w, atol=1e-5):
        scaled = _reference_attention(q * math.sqrt(hs), k, v)[1]
        if torch.allclose(w, scaled, atol=1e-5):
            raise AssertionError("the scores are not scaled: divide q @ k^T by sqrt(head_dim)")
        raise AssertionError("the weights differ from softmax(q @ k^T / sqrt(head_dim)) with the causal mask")
    if not torch.allclose(out, ref_out, atol=1e-5):
        raise AssertionError("the weights are right but the output is not weights @ v")
    _ok("attention: right shapes, rows sum to 1, nothing leaks from the future, matches the reference")
