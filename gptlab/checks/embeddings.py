"""Exercise checks: position ids and GPT-2's token + position embeddings."""
from __future__ import annotations

import math

import torch

from ._common import _call, _ok, _parameter_shapes, _shape, _tensor, seeded_weights

__all__ = ["check_position_ids", "check_embeddings"]


def check_position_ids(position_ids) -> None:
    """``position_ids(T, past_length=0)`` -> long tensor (T,): the positions past_length .. past_length + T - 1."""
    for T, past in ((5, 0), (1, 0), (3, 4), (1, 9)):
        got = _tensor(_call(position_ids, T, past, name=f"position_ids({T}, {past})"), f"position_ids({T}, {past})")
        _shape(got, (T,), f"position_ids({T}, {past})")
        if got.is_floating_point() or got.dtype == torch.bool:
            raise AssertionError(f"position ids index an embedding table: they must be integers (torch.long), "
                                 f"got {got.dtype}")
        expected = torch.arange(past, past + T)
        if torch.equal(got, expected):
            continue
        if past and torch.equal(got, torch.arange(T)):
            raise AssertionError(f"position_ids({T}, past_length={past}) restarts at 0: with {past} tokens already "
                                 f"in the cache, the new ones sit at positions {past}..{past + T - 1}")
        if torch.equal(got, expected + 1):
            raise AssertionError("the positions start at 1: GPT-2 counts positions from 0 (row 0 of wpe is the "
                                 "first token's)")
        raise AssertionError(f"position_ids({T}, {past}) = {got.tolist()}, expected {expected.tolist()}")
    _ok("position ids: past_length, past_length + 1, ... as torch.long")


def _config():
    from ..config import GPTConfig

    return GPTConfig(vocab_size=13, block_size=9, n_layer=1, n_head=2, n_embd=8)


def check_embeddings(embeddings_class) -> None:
    """``embeddings_class(config)`` has ``wte`` (vocab_size, n_embd) and ``wpe`` (block_size, n_embd);
    ``forward(idx (B, T), past_length=0)`` -> (B, T, n_embd) = wte[idx] + wpe[past_length + t]."""
    config = _config()
    V, P, C = config.vocab_size, config.block_size, config.n_embd
    emb = embeddings_class(config)
    _parameter_shapes(emb, {"wte.weight": (V, C), "wpe.weight": (P, C)}, "your Embeddings")
    seeded_weights(emb, seed=3)
    wte, wpe = emb.wte.weight.detach(), emb.wpe.weight.detach()
    idx = torch.tensor([[3, 3, 7, 1, 8], [0, 5, 5, 5, 2]])  # ids < block_size, so wpe[idx] is a wrong answer, not a crash
    with torch.no_grad():
        y = _tensor(_call(emb, idx, name="Embeddings(idx)"), "Embeddings(idx)")
    _shape(y, (2, 5, C), "Embeddings(idx) for idx of shape (2, 5)")
    pos = torch.arange(5)
    expected = wte[idx] + wpe[pos]
    if not torch.allclose(y, expected, atol=1e-6):
        for wrong, message in (
            (wte[idx], "the position embedding is not added: without it every position looks the same, and the "
                       "model cannot tell 'dog bites man' from 'man bites dog'"),
            (wpe[pos].expand(2, -1, -1), "the token embedding is missing: the output only says where a token is, "
                                         "not which token it is"),
            (wte[idx] + wpe[idx], "the position embedding is looked up with the token ids: index wpe with the "
                                  "positions 0..T-1"),
            (wte[idx] * wpe[pos], "the two embeddings are multiplied: GPT-2 adds them"),
            ((wte[idx] + wpe[pos]) * math.sqrt(C), "the sum is scaled by sqrt(n_embd), as in the 2017 Transformer; "
                                                   "GPT-2 adds the two embeddings unscaled"),
            (wte[idx] * math.sqrt(C) + wpe[pos], "the token embedding is scaled by sqrt(n_embd), as in the 2017 "
                                                 "Transformer; GPT-2 does not scale it"),
            (wte[idx] + wpe[pos + 1], "the positions start at 1: GPT-2 counts positions from 0"),
        ):
            if torch.allclose(y, wrong, atol=1e-6):
                raise AssertionError(message)
        raise AssertionError("the output differs from wte(idx) + wpe(positions)")
    with torch.no_grad():
        later = _tensor(_call(emb, idx[:, :2], past_length=4, name="Embeddings(idx, past_length=4)"),
                        "Embeddings(idx, past_length=4)")
    _shape(later, (2, 2, C), "Embeddings(idx, past_length=4) for idx of shape (2, 2)")
    if not torch.allclose(later, wte[idx[:, :2]] + wpe[4:6], atol=1e-6):
        if torch.allclose(later, wte[idx[:, :2]] + wpe[:2], atol=1e-6):
            raise AssertionError("with past_length=4 the positions restart at 0: new tokens after a cache of 4 sit "
                                 "at positions 4, 5, ... — add past_length")
        raise AssertionError("with past_length=4 the output differs from wte(idx) + wpe(4, 5, ...)")
    try:
        emb(torch.zeros(1, P + 1, dtype=torch.long))
    except (ValueError, AssertionError) as exc:
        if "index out of range" in str(exc).lower():
            raise AssertionError("a sequence longer than block_size crashes inside the embedding lookup: check the "
                                 "length first and raise a ValueError that says the context is full") from None
    except IndexError:
        raise AssertionError("a sequence longer than block_size crashes inside the embedding lookup: check the "
                             "length first and raise a ValueError that says the context is full") from None
    else:
        raise AssertionError(f"a sequence of {P + 1} tokens was accepted, but wpe has only {P} positions: raise a "
                             "ValueError")
    _ok("embeddings: wte(idx) + wpe(past_length + t), GPT-2's names and shapes, too-long input refused")
