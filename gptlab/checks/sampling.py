"""Exercise checks: greedy decoding, temperature, top-k, top-p and a sampler."""
from __future__ import annotations


import torch

from ._common import _ok, _shape, _tensor

__all__ = ['check_greedy', 'check_temperature', 'check_top_k', 'check_top_p', 'check_sampler']


def _logits(seed: int = 0, B: int = 3, V: int = 10) -> torch.Tensor:
    return torch.randn(B, V, generator=torch.Generator().manual_seed(seed)) * 2


def check_greedy(greedy) -> None:
    """``greedy(logits (B, V))`` -> token ids (B,)."""
    logits = _logits()
    ids = _tensor(greedy(logits), "greedy(logits)")
    _shape(ids, (logits.shape[0],), "greedy(logits)")
    if ids.dtype != torch.long:
        raise AssertionError(f"token ids should be torch.long, got {ids.dtype}")
    if not torch.equal(ids, logits.argmax(-1)):
        if torch.equal(ids, logits.argmin(-1)):
            raise AssertionError("greedy picked the *least* likely token: use argmax")
        raise AssertionError("greedy should pick the highest logit in each row (argmax over the last dimension)")
    _ok("greedy: the most likely token of every row")


def check_temperature(apply_temperature) -> None:
    logits = _logits()
    for t in (0.5, 1.0, 2.0):
        out = _tensor(apply_temperature(logits.clone(), t), "apply_temperature")
        _shape(out, logits.shape, "apply_temperature(logits, t)")
        if not torch.allclose(out, logits / t, atol=1e-6):
            if torch.allclose(out, logits * t, atol=1e-6):
                raise AssertionError("multiply by 1/temperature, not by temperature: "
                                     "a low temperature must sharpen the distribution")
            if torch.allclose(out.softmax(-1), (logits / t).softmax(-1), atol=1e-6):
                continue  # any shift of the logits samples the same
            raise AssertionError(f"temperature {t}: expected logits / {t}")
    try:
        apply_temperature(logits, 0.0)
    except ValueError:
        pass
    else:
        raise AssertionError("temperature 0 divides by zero: raise a ValueError that says to use greedy instead")
    _ok("temperature: logits / T, and T = 0 refused")


def _check_filter(out: torch.Tensor, logits: torch.Tensor, keep: torch.Tensor, name: str) -> None:
    _shape(out, logits.shape, name)
    if torch.isneginf(out).all(-1).any():
        raise AssertionError(f"{name} removed every token of a row (a whole row is -inf): always keep the most likely one")
    kept = ~torch.isneginf(out)
    if (kept & ~keep).any():
        raise AssertionError(f"{name} kept {int((kept & ~keep).sum())} token(s) it should have removed")
    if (~kept & keep).any():
        raise AssertionError(f"{name} removed {int((~kept & keep).sum())} token(s) it should have kept")
    if not torch.allclose(out[kept], logits[kept]):
        raise AssertionError(f"{name} changed the logits it kept: set removed ones to -inf and leave the rest alone")


def check_top_k(top_k_filter) -> None:
    """``top_k_filter(logits (B, V), k)`` -> logits with all but the k largest per row set to -inf."""
    logits = _logits()
    for k in (1, 3, logits.shape[-1]):
        out = _tensor(top_k_filter(logits.clone(), k), "top_k_filter")
        keep = logits >= logits.topk(k, -1).values[:, -1:]
        _check_filter(out, logits, keep, f"top_k_filter(k={k})")
    _ok("top-k: keeps exactly the k largest logits of each row")


def _nucleus(logits: torch.Tensor, p: float) -> torch.Tensor:
    probs = logits.softmax(-1)
    keep = torch.zeros_like(probs, dtype=torch.bool)
    for r in range(probs.shape[0]):
        total = 0.0
        for i in probs[r].argsort(descending=True).tolist():
            keep[r, i] = True
            total += probs[r, i].item()
            if total >= p:
                break
    return keep


def check_top_p(top_p_filter) -> None:
    """``top_p_filter(logits, p)`` keeps the smallest set of most likely tokens whose probabilities reach p."""
    logits = _logits()
    for p in (0.05, 0.5, 0.9, 1.0):
        out = _tensor(top_p_filter(logits.clone(), p), "top_p_filter")
        _check_filter(out, logits, _nucleus(logits, p), f"top_p_filter(p={p})")
        probs = out.softmax(-1)
        expected = torch.where(~torch.isneginf(out), logits.softmax(-1), 0.0)
        expected = expected / expected.sum(-1, keepdim=True)
        if not torch.allclose(probs, expected, atol=1e-6):
            raise AssertionError("wrong renormalisation: the kept tokens' probabilities should be p_i / sum(kept)")
    _ok("top-p: smallest nucleus reaching p, the most likely token always kept")


def check_sampler(sample, draws: int = 4000) -> None:
    """``sample(logits (B, V), temperature, top_k, top_p, generator)`` -> ids (B,): checked statistically.

    With a fixed seed, the frequency of every token over many draws must lie within 5 standard errors
    of its probability after temperature, top-k and top-p; a token that was filtered out must never appear.
    """
    logits = _logits(1, B=1, V=8)
    gen = torch.Generator().manual_seed(1234)
    for temperature, k, p in ((1.0, 0, 1.0), (0.7, 4, 1.0), (1.3, 0, 0.8), (1.0, 5, 0.6)):
        scaled = logits / temperature
        keep = torch.ones_like(scaled, dtype=torch.bool)
        if k:
            keep &= scaled >= scaled.topk(k, -1).values[:, -1:]
        if p < 1.0:
            keep &= _nucleus(scaled.masked_fill(~keep, float("-inf")), p)
        probs = scaled.masked_fill(~keep, float("-inf")).softmax(-1)[0]
        rows = logits.expand(draws, -1).clone()
        ids = _tensor(sample(rows, temperature=temperature, top_k=k, top_p=p, generator=gen), "sample(...)")
        _shape(ids, (draws,), "sample(...)")
        counts = torch.bincount(ids.long(), minlength=probs.numel()).double()
        where = f"(temperature={temperature}, top_k={k}, top_p={p})"
        if (counts[~keep[0]] > 0).any():
            raise AssertionError(f"sampled a token that the filters should have removed {where}")
        freq = counts / draws
        se = (probs.double() * (1 - probs.double()) / draws).sqrt()
        z = ((freq - probs.double()).abs() / se.clamp_min(1e-12))[keep[0]]
        if (z > 5).any():
            i = int(torch.nonzero(keep[0])[z.argmax()])
            raise AssertionError(
                f"token {i} was drawn with frequency {freq[i]:.3f}, but its probability is {probs[i]:.3f} {where}: "
                "check the renormalisation and the order (temperature, then top-k, then top-p, then softmax)"
            )
    _ok(f"sampler: {draws} seeded draws per setting match the filtered probabilities")
