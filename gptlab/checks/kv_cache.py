"""Exercise checks: cached attention, a cached forward pass and cached decoding.

The references are computed here from the modules' weights, step by step: the attention of a sequence fed
in chunks (queries of the new chunk against every key so far) and the whole model's forward pass. Each has
switches for the classic mistakes (no 1/sqrt(d), no output projection, a mask that ignores the cached
positions, positions restarting at 0, no final LayerNorm, a cache that is never passed on ...), and an
answer that matches a mistaken reference is told that mistake.
"""
from __future__ import annotations

import math

import torch

from ._common import _ok, _shape, _tensor, init_random

__all__ = ['check_cached_attention', 'check_cached_decoding']

NEG_INF = float("-inf")


def _linear(x: torch.Tensor, proj) -> torch.Tensor:
    """``proj`` applied by hand: a gptlab ``Projection`` stores its weight (in, out), ``nn.Linear`` (out, in)."""
    w = proj.weight.T if isinstance(proj, torch.nn.Linear) else proj.weight
    return x @ w + (proj.bias if proj.bias is not None else 0.0)


def _attend_chunk(attn, x_new, past, *, scale=True, proj=True, mask="shifted", new_first=False,
                  softmax_dim=-1):
    """One chunk of cached attention from ``attn``'s weights: (y (B, T, C), (k, v) of all positions)."""
    B, T, C = x_new.shape
    nh = attn.n_head
    q, k, v = _linear(x_new, attn.c_attn).split(C, dim=-1)
    q, k, v = (t.reshape(B, T, nh, C // nh).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
    if past is not None:
        k = torch.cat([k, past[0]] if new_first else [past[0], k], dim=2)  # (B, nh, S, hs)
        v = torch.cat([v, past[1]] if new_first == "both" else [past[1], v], dim=2)
    S = k.shape[2]
    scores = q @ k.transpose(-2, -1)  # (B, nh, T, S)
    if scale:
        scores = scores / math.sqrt(C // nh)
    if mask != "none":
        allowed = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T if mask == "shifted" else 0)
        scores = scores.masked_fill(~allowed, NEG_INF)
    y = (scores.softmax(softmax_dim) @ v).transpose(1, 2).reshape(B, T, C)
    return (_linear(y, attn.c_proj) if proj else y), (k, v)


def _attention_in_chunks(attn, x, splits, **mistake) -> torch.Tensor:
    past, ys = None, []
    for a, b in splits:
        y, past = _attend_chunk(attn, x[:, a:b], past, **mistake)
        ys.append(y)
    return torch.cat(ys, dim=1)


NEW_FIRST = "the new keys come before the cached ones: concatenate in time order, torch.cat([past_k, k], dim=2)"
ATTENTION_MISTAKES = {
    "the scores are not scaled: divide q @ k^T by sqrt(head_dim) before the softmax": dict(scale=False),
    "the output projection is missing: the heads, put back side by side (B, T, C), go through attn.c_proj":
        dict(proj=False),
    "the mask ignores the cached positions: new query i sits at absolute position T_past + i and sees every "
    "key up to it — shift the triangle, tril(diagonal=T_past)": dict(mask="unshifted"),
    "there is no causal mask: a chunk of several new tokens (the prompt) must still not see its own future":
        dict(mask="none"),
    NEW_FIRST: dict(new_first="keys"),
    NEW_FIRST + " (keys and values alike)": dict(new_first="both"),
    "the softmax runs over the queries: each query's weights must sum to 1 over the keys (dim=-1)":
        dict(softmax_dim=-2),
}


def check_cached_attention(cached_attention) -> None:
    """``cached_attention(attn, x_new, past)`` -> (y (B, T, C), (k, v) with all positions so far).

    ``attn`` has the GPT-2 layout (``c_attn`` for q, k, v at once, ``c_proj``, ``n_head``); ``past`` is
    ``None`` or the (k, v) pair the previous call returned, each (B, nh, T_past, hs). Feeding a sequence in
    pieces must give exactly the outputs of attending over the whole sequence at once.
    """
    from ..config import GPTConfig
    from ..model import CausalSelfAttention

    torch.manual_seed(0)
    config = GPTConfig.from_preset("nano", vocab_size=65)
    attn = init_random(CausalSelfAttention(config).eval())
    x = torch.randn(2, 7, config.n_embd)
    splits = ((0, 3), (3, 4), (4, 5), (5, 7))
    hs = config.n_embd // config.n_head
    with torch.no_grad():
        past, pieces = None, []
        for a, b in splits:
            result = cached_attention(attn, x[:, a:b], past)
            if not (isinstance(result, tuple) and len(result) == 2):
                raise AssertionError("cached_attention should return (y, (k, v))")
            y, past = result
            _shape(_tensor(y, "y"), (2, b - a, config.n_embd), f"y for positions {a}..{b - 1}")
            k, v = past
            for name, t in (("keys", k), ("values", v)):
                if tuple(_tensor(t, name).shape) == (2, config.n_head, b - a, hs) and a > 0:
                    raise AssertionError(f"the returned {name} hold only the new positions: return those of every "
                                         "position so far, torch.cat([past_k, k], dim=2)")
                _shape(t, (2, config.n_head, b, hs), f"the cached {name} after {b} positions")
            pieces.append(y)
        got = torch.cat(pieces, dim=1)
        expected = _attention_in_chunks(attn, x, splits)
        if torch.allclose(got, expected, atol=1e-5):
            _ok("cached attention: any split of the sequence gives the outputs of attending over all of it")
            return
        for diagnosis, mistake in ATTENTION_MISTAKES.items():
            if torch.allclose(got, _attention_in_chunks(attn, x, splits, **mistake), atol=1e-5):
                raise AssertionError(diagnosis)
    if not torch.allclose(got[:, :3], expected[:, :3], atol=1e-5):
        raise AssertionError("the first chunk (no cache yet) already differs from attention over those 3 "
                             "positions: check the q/k/v split, the heads' reshape and the causal mask within a chunk")
    raise AssertionError("with a cache the outputs differ from recomputing everything: the new queries must "
                         "attend to the cached keys *and* the new ones, masked by their absolute positions")


# ------------------------------------------------------------------------------------- the whole model


def _layer_norm(x, ln):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    out = (x - mean) / torch.sqrt(var + ln.eps)
    return out * ln.weight + (ln.bias if ln.bias is not None else 0.0)


def _gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def _logits_in_chunks(model, idx, splits, *, ln_f=True, restart_positions=False, use_past=True):
    """The model's logits for ``idx`` fed chunk by chunk with a cache, from its weights (Pre-LN GPT-2)."""
    t = model.transformer
    past, out = [None] * len(t.h), []
    for a, b in splits:
        pos = torch.arange(0, b - a) if restart_positions else torch.arange(a, b)
        x = t.wte.weight[idx[:, a:b]] + t.wpe.weight[pos]  # (B, T, C)
        for i, block in enumerate(t.h):
            y, kv = _attend_chunk(block.attn, _layer_norm(x, block.ln_1), past[i])
            past[i] = kv if use_past else None
            x = x + y
            x = x + _linear(_gelu_tanh(_linear(_layer_norm(x, block.ln_2), block.mlp.c_fc)), block.mlp.c_proj)
        if ln_f:
            x = _layer_norm(x, t.ln_f)
        out.append(x @ model.lm_head.weight.T)  # (B, T, V)
    return torch.cat(out, dim=1)


USE_PAST = ("the cache is not used: the new tokens must attend to the cached keys and values too — give each "
            "block's attention its own past[i]")
FORWARD_MISTAKES = {
    "the final LayerNorm is missing: apply model.transformer.ln_f to the last block's output, then lm_head":
        dict(ln_f=False),
    "the new tokens' positions restart at 0: they sit at T_past .. T_past + T - 1, where T_past is the number "
    "of cached positions (past[0][0].shape[2])": dict(restart_positions=True),
    USE_PAST: dict(use_past=False),
}


def _check_forward_cached(forward_cached, model, idx) -> None:
    splits = ((0, 3), (3, 4), (4, 5))
    past, pieces = None, []
    for a, b in splits:
        result = forward_cached(model, idx[:, a:b], past)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise AssertionError("forward_cached should return (logits, past)")
        logits, past = result
        _shape(_tensor(logits, "logits"), (idx.shape[0], b - a, model.config.vocab_size),
               f"forward_cached's logits for positions {a}..{b - 1}")
        if not isinstance(past, (list, tuple)) or len(past) != len(model.transformer.h):
            raise AssertionError(f"forward_cached should return past as a list with one (k, v) per layer "
                                 f"({len(model.transformer.h)} layers)")
        if a > 0 and past[0][0].shape[2] == b - a:
            raise AssertionError(f"forward_cached: {USE_PAST} (the returned past holds only the new positions)")
        pieces.append(logits)
    got = torch.cat(pieces, dim=1)
    if torch.allclose(got, _logits_in_chunks(model, idx, splits), atol=1e-4):
        return
    for diagnosis, mistake in FORWARD_MISTAKES.items():
        if torch.allclose(got, _logits_in_chunks(model, idx, splits, **mistake), atol=1e-4):
            raise AssertionError(f"forward_cached: {diagnosis}")
    raise AssertionError("forward_cached: the logits differ from the model's forward pass over the whole "
                         "sequence: check the embeddings, each block (ln_1, attention, ln_2, MLP, two residuals), "
                         "ln_f and the head")


def _greedy_in_steps(model, idx, n, *, first_position=False, **mistake):
    """Greedy tokens of a cached decoder: the prompt as one chunk, then one token per step."""
    seq, splits = idx, [(0, idx.shape[1])]
    for step in range(n):
        logits = _logits_in_chunks(model, seq, splits, **mistake)
        nxt = logits[:, 0 if (first_position and step == 0) else -1].argmax(-1, keepdim=True)  # (B, 1)
        seq = torch.cat([seq, nxt], dim=1)
        splits.append((seq.shape[1] - 1, seq.shape[1]))
    return seq


DECODE_MISTAKES = {
    "the first new token came from the prompt's FIRST position: take the last position's logits, "
    "logits[:, -1]": dict(first_position=True),
    **FORWARD_MISTAKES,
}


def check_cached_decoding(decode_cached, forward_cached=None, max_new_tokens: int = 20) -> None:
    """``decode_cached(model, idx, max_new_tokens)`` must give the greedy tokens of recomputing the whole
    sequence every step, while running the model on one new token per step after the prompt;
    ``forward_cached(model, idx_new, past)``, when given, must give the logits of the full forward pass.

    The model has random weights everywhere, LayerNorms included, so that a missing final LayerNorm or
    a wrong position shows in the tokens.
    """
    from ..config import GPTConfig
    from ..model import GPT

    torch.manual_seed(0)
    model = init_random(GPT(GPTConfig.from_preset("nano", vocab_size=65)).eval(), seed=1)
    with torch.no_grad():
        model.transformer.wte.weight.mul_(5.0)  # confident logits: ties in the greedy tokens would be luck
    idx = torch.randint(0, 65, (2, 5), generator=torch.Generator().manual_seed(0))
    lengths = []
    hook = model.transformer.wte.register_forward_pre_hook(lambda module, args: lengths.append(args[0].shape[-1]))
    try:
        with torch.no_grad():
            if forward_cached is not None:
                _check_forward_cached(forward_cached, model, idx)
            lengths.clear()
            out = _tensor(decode_cached(model, idx.clone(), max_new_tokens), "decode_cached(...)")
            expected = _greedy_in_steps(model, idx, max_new_tokens)
            _shape(out, expected.shape, "decode_cached(...)")
            if not torch.equal(out[:, :5], idx):
                raise AssertionError("the returned sequence should start with the prompt")
            longer = [(step, n) for step, n in enumerate(lengths[1:], 1) if n > 1]
            if longer:
                step, n = longer[0]
                raise AssertionError(f"decode_cached ran the model on {n} tokens at step {step}: after the prompt, "
                                     "feed only the newest token (B, 1) together with the cache — a cache that is "
                                     "never used saves nothing")
            if not torch.equal(out, expected):
                for diagnosis, mistake in DECODE_MISTAKES.items():
                    if torch.equal(out, _greedy_in_steps(model, idx, max_new_tokens, **mistake)):
                        raise AssertionError(f"decode_cached: {diagnosis}")
                first = int((out != expected).any(0).nonzero()[0])
                raise AssertionError(f"the cached tokens differ from recomputation from position {first} on")
    finally:
        hook.remove()
    _ok(f"cached decoding: {max_new_tokens} greedy tokens equal recomputing the whole sequence every step, "
        "one new token through the model per step")
