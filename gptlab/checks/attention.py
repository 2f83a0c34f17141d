"""Exercise checks: the causal mask and masked self-attention."""
from __future__ import annotations

import math

import torch

from ._common import _call, _finite_rows, _ok, _parameter_shapes, _shape, _tensor, seeded_weights

__all__ = ['check_causal_mask', 'check_masked_attention', 'check_causal_self_attention']


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
    after = (q @ k.transpose(-2, -1) / math.sqrt(hs)).softmax(-1).tril()
    if torch.allclose(w, after, atol=1e-5):
        raise AssertionError("the mask is applied after the softmax: the rows no longer sum to 1 — set the masked "
                             "scores to -inf, then take the softmax")
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
        if torch.allclose(w, _reference_attention(q / math.sqrt(hs), k, v)[1], atol=1e-5):
            raise AssertionError("the scores are divided by head_dim: divide q @ k^T by sqrt(head_dim)")
        raise AssertionError("the weights differ from softmax(q @ k^T / sqrt(head_dim)) with the causal mask")
    if not torch.allclose(out, ref_out, atol=1e-5):
        raise AssertionError("the weights are right but the output is not weights @ v")
    _ok("attention: right shapes, rows sum to 1, nothing leaks from the future, matches the reference")


def check_causal_self_attention(attention_class) -> None:
    """``attention_class(config)`` has ``c_attn`` (C -> 3C, q|k|v) and ``c_proj`` (C -> C) stored (in, out)
    like GPT-2, and computes c_proj(merge(attention(split(q), split(k), split(v))))."""
    from ..config import GPTConfig

    config = GPTConfig.from_preset("nano", vocab_size=65)
    C, nh = config.n_embd, config.n_head
    hs = C // nh
    module = attention_class(config)
    _parameter_shapes(module, {"c_attn.weight": (C, 3 * C), "c_attn.bias": (3 * C,),
                               "c_proj.weight": (C, C), "c_proj.bias": (C,)}, "your CausalSelfAttention")
    seeded_weights(module.eval(), seed=5)
    p = {n: t.detach() for n, t in module.named_parameters()}
    B, T = 2, 6
    x = torch.randn(B, T, C, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        y = _tensor(_call(module, x, name="CausalSelfAttention(x)"), "CausalSelfAttention(x)")
    _shape(y, (B, T, C), "CausalSelfAttention(x)")
    q, k, v = (x @ p["c_attn.weight"] + p["c_attn.bias"]).split(C, dim=2)  # (B, T, C) each

    def heads(t):  # (B, T, C) -> (B, nh, T, hs): head h holds features h*hs .. (h+1)*hs of every token
        return t.view(B, T, nh, hs).transpose(1, 2)

    def proj(t):
        return t @ p["c_proj.weight"] + p["c_proj.bias"]

    def merged(o):
        return o.transpose(1, 2).reshape(B, T, C)

    right = merged(_reference_attention(heads(q), heads(k), heads(v))[0])
    if torch.allclose(y, proj(right), atol=1e-5):
        x2 = x.clone()
        x2[:, -1] += 1.0
        with torch.no_grad():
            if not torch.allclose(module(x2)[:, :-1], y[:, :-1], atol=1e-5):
                raise AssertionError("changing a future token changed an earlier output: the attention leaks")
        _ok("CausalSelfAttention: q|k|v from c_attn, heads split and merged in GPT-2's layout, causal, then c_proj")
        return

    def raw_heads(t):  # the classic slip: view (B, nh, T, hs) straight away, which mixes tokens
        return t.reshape(B, nh, T, hs)

    for wrong, message in (
        (right, "c_proj is not applied: the heads' merged output goes through the output projection c_proj"),
        (proj(merged(_reference_attention(heads(k), heads(q), heads(v))[0])),
         "q and k are swapped: c_attn's output is q, k, v in that order (GPT-2's layout)"),
        (proj(merged(_reference_attention(raw_heads(q), raw_heads(k), raw_heads(v))[0])),
         "the heads are split with a plain view(B, n_head, T, head_dim), which mixes tokens: view (B, T, n_head, "
         "head_dim), then transpose(1, 2)"),
        (proj(_reference_attention(heads(q), heads(k), heads(v))[0].reshape(B, T, C)),
         "the heads are merged without transposing back: transpose(1, 2) to (B, T, n_head, head_dim) before "
         "reshaping to (B, T, C)"),
        (proj(_reference_attention(q, k, v)[0]),
         f"this is one head of size {C}: split q, k and v into n_head = {nh} heads of {hs} features each"),
    ):
        if torch.allclose(y, wrong, atol=1e-5):
            raise AssertionError(message)
    raise AssertionError("the output differs from c_proj(merge(attention(split(q), split(k), split(v)))) "
                         "with q, k, v = c_attn(x).split(n_embd, dim=2)")
