"""Exercise checks: cached attention and cached decoding."""
from __future__ import annotations


import torch

from ._common import _ok, _shape, _tensor, init_random

__all__ = ['check_cached_attention', 'check_cached_decoding']


def check_cached_attention(cached_attention) -> None:
    """``cached_attention(attn, x_new, past)`` -> (y (B, T, C), (k, v) with all positions so far).

    ``attn`` is a :class:`gptlab.model.CausalSelfAttention`; ``past`` is ``None`` or the (k, v) pair the
    previous call returned, each (B, nh, T_past, hs). Feeding a sequence in pieces must give exactly the
    outputs of one uncached pass over the whole sequence.
    """
    from ..config import GPTConfig
    from ..model import CausalSelfAttention

    torch.manual_seed(0)
    config = GPTConfig.from_preset("nano", vocab_size=65)
    attn = init_random(CausalSelfAttention(config).eval())
    x = torch.randn(2, 7, config.n_embd)
    with torch.no_grad():
        full = attn(x)
        past, pieces = None, []
        for a, b in ((0, 3), (3, 4), (4, 5), (5, 7)):
            result = cached_attention(attn, x[:, a:b], past)
            if not (isinstance(result, tuple) and len(result) == 2):
                raise AssertionError("cached_attention should return (y, (k, v))")
            y, past = result
            _shape(_tensor(y, "y"), (2, b - a, config.n_embd), f"y for positions {a}..{b - 1}")
            k, v = past
            hs = config.n_embd // config.n_head
            _shape(_tensor(k, "k"), (2, config.n_head, b, hs), f"the cached keys after {b} positions")
            _shape(_tensor(v, "v"), (2, config.n_head, b, hs), f"the cached values after {b} positions")
            pieces.append(y)
    got = torch.cat(pieces, dim=1)
    if not torch.allclose(got[:, :3], full[:, :3], atol=1e-5):
        raise AssertionError("the first chunk (no cache yet) differs from the uncached pass: check the causal mask "
                             "within a chunk")
    if not torch.allclose(got, full, atol=1e-5):
        raise AssertionError("with a cache the outputs differ from recomputing everything: the new queries must "
                             "attend to the cached keys *and* the new ones, masked by their absolute positions")
    _ok("cached attention: any split of the sequence gives the uncached outputs")


def check_cached_decoding(decode_cached, decode_uncached=None, max_new_tokens: int = 20) -> None:
    """``decode_cached(model, idx, max_new_tokens)`` must produce the same greedy tokens as recomputation."""
    from ..config import GPTConfig
    from ..model import GPT

    torch.manual_seed(0)
    model = GPT(GPTConfig.from_preset("nano", vocab_size=65)).eval()
    idx = torch.randint(0, 65, (2, 5))
    expected = idx
    with torch.no_grad():
        for _ in range(max_new_tokens):
            expected = torch.cat([expected, model(expected)[:, -1].argmax(-1, keepdim=True)], dim=1)
        out = _tensor(decode_cached(model, idx.clone(), max_new_tokens), "decode_cached(...)")
    _shape(out, expected.shape, "decode_cached(...)")
    if not torch.equal(out[:, :5], idx):
        raise AssertionError("the returned sequence should start with the prompt")
    if not torch.equal(out, expected):
        first = int((out != expected).any(0).nonzero()[0])
        raise AssertionError(f"the cached tokens differ from recomputation from position {first} on")
    _ok(f"cached decoding: {max_new_tokens} greedy tokens equal recomputing the whole sequence every step")
