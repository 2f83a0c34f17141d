"""Exercise checks: greedy decoding, temperature, top-k, top-p, min-p, the repetition penalty and a sampler.

Each filter is compared with a reference written here token by token, and, before the generic "kept /
removed the wrong tokens", with the same reference *computed with a classic mistake* (k - 1 tokens, the
token crossing p dropped, thresholds on logits instead of probabilities ...): a match names the mistake.
"""
from __future__ import annotations

import torch

from ._common import _ok, _shape, _tensor

__all__ = ['check_greedy', 'check_temperature', 'check_top_k', 'check_top_p', 'check_min_p',
           'check_repetition_penalty', 'check_sampler']

NEG_INF = float("-inf")


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
        if torch.equal(ids, logits.argmax(0)[: ids.shape[0]]):
            raise AssertionError("greedy took the argmax over the batch (dim 0): take it over the vocabulary, dim=-1")
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
            if torch.allclose(out, logits.softmax(-1) / t, atol=1e-6):
                raise AssertionError("temperature divided the probabilities: divide the *logits* (before softmax)")
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


def _kept(out: torch.Tensor) -> torch.Tensor:
    return ~torch.isneginf(out)


def _check_filter(out: torch.Tensor, logits: torch.Tensor, keep: torch.Tensor, name: str,
                  mistakes: dict[str, torch.Tensor] | None = None) -> None:
    """``out`` must keep exactly ``keep``; ``mistakes`` maps a diagnosis to the kept set that mistake gives."""
    _shape(out, logits.shape, name)
    kept = _kept(out)
    if not torch.equal(kept, keep):
        for diagnosis, wrong_keep in (mistakes or {}).items():
            if torch.equal(kept, wrong_keep):
                raise AssertionError(f"{name}: {diagnosis}")
    if (~kept).all(-1).any():
        raise AssertionError(f"{name} removed every token of a row (a whole row is -inf): always keep the most likely one")
    if (kept & ~keep).any():
        raise AssertionError(f"{name} kept {int((kept & ~keep).sum())} token(s) it should have removed")
    if (~kept & keep).any():
        raise AssertionError(f"{name} removed {int((~kept & keep).sum())} token(s) it should have kept")
    if not torch.allclose(out[kept], logits[kept]):
        raise AssertionError(f"{name} changed the logits it kept: set removed ones to -inf and leave the rest alone")


def _k_largest(logits: torch.Tensor, k: int) -> torch.Tensor:
    """True for the k largest entries of each row, counted one by one (no ties in the check's logits)."""
    keep = torch.zeros_like(logits, dtype=torch.bool)
    for r in range(logits.shape[0]):
        for i in sorted(range(logits.shape[1]), key=lambda j: -logits[r, j].item())[:max(k, 0)]:
            keep[r, i] = True
    return keep


def check_top_k(top_k_filter) -> None:
    """``top_k_filter(logits (B, V), k)`` -> logits with all but the k largest per row set to -inf."""
    logits = _logits()
    V = logits.shape[-1]
    for k in (1, 3, V):
        out = _tensor(top_k_filter(logits.clone(), k), "top_k_filter")
        mistakes = {
            f"kept {k - 1} tokens per row instead of {k}: off by one — the k-th largest logit itself stays "
            "(keep logits >= topk(k).values[..., -1:], not >)": _k_largest(logits, k - 1),
            f"kept {k + 1} tokens per row instead of {k}: off by one — topk(k).values[..., -1:] is the k-th "
            "largest, keep exactly those >= it": _k_largest(logits, k + 1),
            "kept the k *smallest* logits: keep the k largest (topk sorts in decreasing order)":
                _k_largest(-logits, k),
        }
        if k == V:
            mistakes.pop(next(iter(mistakes)))  # with k = V, k - 1 tokens is a plain "removed one"
        _check_filter(out, logits, _k_largest(logits, k), f"top_k_filter(k={k})", mistakes)
    _ok("top-k: keeps exactly the k largest logits of each row")


def _nucleus(logits: torch.Tensor, p: float, keep_crossing: bool = True, descending: bool = True) -> torch.Tensor:
    """The tokens top-p keeps, walking the sorted probabilities one by one.

    ``keep_crossing=False`` gives the classic mistake (stop *before* the token whose probability crosses p);
    ``descending=False`` walks from the least likely token up.
    """
    probs = logits.softmax(-1)
    keep = torch.zeros_like(probs, dtype=torch.bool)
    for r in range(probs.shape[0]):
        total = 0.0
        for i in probs[r].argsort(descending=descending).tolist():
            if not keep_crossing and total + probs[r, i].item() > p:
                break
            keep[r, i] = True
            total += probs[r, i].item()
            if total >= p:
                break
    return keep


def _leading(counts: torch.Tensor, V: int) -> torch.Tensor:
    """True for the first ``counts[r]`` columns of each row: where a filter left in sorted order keeps tokens."""
    return torch.arange(V)[None, :] < counts[:, None]


def check_top_p(top_p_filter) -> None:
    """``top_p_filter(logits, p)`` keeps the smallest set of most likely tokens whose probabilities reach p."""
    logits = _logits()
    for p in (0.05, 0.5, 0.9, 1.0):
        out = _tensor(top_p_filter(logits.clone(), p), "top_p_filter")
        mistakes = {
            "dropped the token whose probability crosses p: keep the smallest set of most likely tokens whose "
            "sum reaches AT LEAST p — the token that crosses p is kept (remove a token only when the tokens "
            "before it already reach p)": _nucleus(logits, p, keep_crossing=False),
            "kept the *least* likely tokens: sort the probabilities in decreasing order (descending=True)":
                _nucleus(logits, p, descending=False),
            "returned the logits in *sorted* order: put the mask back in vocabulary order (scatter it with the "
            "sort's indices) before applying it": _leading(_nucleus(logits, p).sum(-1), logits.shape[-1]),
        }
        _check_filter(out, logits, _nucleus(logits, p), f"top_p_filter(p={p})", mistakes)
        probs = out.softmax(-1)
        expected = torch.where(_kept(out), logits.softmax(-1), 0.0)
        expected = expected / expected.sum(-1, keepdim=True)
        if not torch.allclose(probs, expected, atol=1e-6):
            raise AssertionError("wrong renormalisation: the kept tokens' probabilities should be p_i / sum(kept)")
    _ok("top-p: smallest nucleus reaching p, the most likely token always kept")


def _min_p_keep(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    probs = logits.softmax(-1)
    return probs >= min_p * probs.max(-1, keepdim=True).values


def check_min_p(min_p_filter) -> None:
    """``min_p_filter(logits, min_p)`` keeps the tokens at least ``min_p`` times as likely as the most likely one."""
    logits = _logits(2)
    for m in (0.0, 0.05, 0.3, 1.0):
        out = _tensor(min_p_filter(logits.clone(), m), "min_p_filter")
        probs = logits.softmax(-1)
        mistakes = {
            f"kept the tokens with probability >= {m}: min-p is *relative* to the most likely token — keep "
            f"p_i >= min_p * p_max": probs >= m,
            "compared logits, not probabilities: the threshold is min_p * p_max on the softmax": (
                logits >= m * logits.max(-1, keepdim=True).values),
            "kept the tokens *below* the threshold: keep those at least min_p * p_max likely": (
                probs < m * probs.max(-1, keepdim=True).values),
        }
        _check_filter(out, logits, _min_p_keep(logits, m), f"min_p_filter(min_p={m})", mistakes)
    _ok("min-p: keeps every token at least min_p times as likely as the best one")


def _penalised(logits: torch.Tensor, ids: torch.Tensor, penalty: float, *, rule: str = "hf",
               per_row: bool = True, per_occurrence: bool = False) -> torch.Tensor:
    """The repetition penalty spelled out entry by entry, with switches for the classic mistakes."""
    out = logits.clone()
    for r in range(logits.shape[0]):
        seen = ids[r].tolist() if per_row else ids.flatten().tolist()
        for tok in (seen if per_occurrence else set(seen)):
            x = out[r, tok].item()
            if rule == "hf":
                out[r, tok] = x / penalty if x > 0 else x * penalty
            elif rule == "divide":
                out[r, tok] = x / penalty
            elif rule == "subtract":
                out[r, tok] = x - penalty
    return out


def check_repetition_penalty(apply_repetition_penalty) -> None:
    """``apply_repetition_penalty(logits (B, V), input_ids (B, L), penalty)``: HuggingFace's rule.

    Every token that occurs in a row's ``input_ids`` gets its logit divided by ``penalty`` when positive
    and multiplied by it when negative (so for penalty > 1 it always becomes less likely), once however
    often it occurs; tokens of other rows and unseen tokens keep their logits.
    """
    logits = _logits(3, B=2, V=10)
    ids = torch.tensor([[1, 4, 4, 7, 2], [0, 3, 3, 3, 9]])
    logits[0, 4], logits[0, 7], logits[1, 3], logits[1, 9] = 1.5, -1.2, -0.8, 2.0  # both signs among the seen
    for penalty in (1.3, 2.0):
        out = _tensor(apply_repetition_penalty(logits.clone(), ids.clone(), penalty), "apply_repetition_penalty")
        _shape(out, logits.shape, "apply_repetition_penalty(logits, input_ids, penalty)")
        if torch.allclose(out, _penalised(logits, ids, penalty), atol=1e-6):
            continue
        mistakes = {
            "negative logits were divided too: dividing a negative logit moves it up, toward 0, and makes the "
            "token MORE likely — multiply negative logits by the penalty, divide positive ones":
                _penalised(logits, ids, penalty, rule="divide"),
            "the penalty was applied once per occurrence: a token is penalised once however often it occurs "
            "(mark the seen tokens, then penalise each once)":
                _penalised(logits, ids, penalty, per_occurrence=True),
            "the penalty was subtracted: divide positive logits by it and multiply negative ones (HuggingFace's "
            "rule)": _penalised(logits, ids, penalty, rule="subtract"),
            "a row was penalised for tokens that occur only in *another* row: each row uses its own input_ids":
                _penalised(logits, ids, penalty, per_row=False),
        }
        for diagnosis, wrong in mistakes.items():
            if torch.allclose(out, wrong, atol=1e-6):
                raise AssertionError(f"repetition penalty {penalty}: {diagnosis}")
        changed = ~torch.isclose(out, logits)
        seen = torch.zeros_like(changed).scatter(1, ids, True)
        if (changed & ~seen).any():
            raise AssertionError(f"repetition penalty {penalty}: the logits of tokens that do not occur in input_ids "
                                 "changed: only the seen tokens are penalised")
        raise AssertionError(f"repetition penalty {penalty}: expected logit / penalty for a positive logit and "
                             "logit * penalty for a negative one, for each token of the row's input_ids")
    _ok("repetition penalty: seen tokens divided (positive) or multiplied (negative), once each, row by row")


def _filtered_probs(logits: torch.Tensor, temperature: float, k: int, p: float, m: float) -> tuple:
    """(probabilities, kept) of a sampler applying temperature, top-k, top-p, min-p in that order."""
    scaled = logits / temperature
    keep = torch.ones_like(scaled, dtype=torch.bool)
    if k:
        keep &= _k_largest(scaled, k)
    if p < 1.0:
        keep &= _nucleus(scaled.masked_fill(~keep, NEG_INF), p)
    if m > 0.0:
        keep &= _min_p_keep(scaled.masked_fill(~keep, NEG_INF), m)
    return scaled.masked_fill(~keep, NEG_INF).softmax(-1)[0], keep[0]


SAMPLER_SETTINGS = ((1.0, 0, 1.0, 0.0), (0.7, 4, 1.0, 0.0), (1.3, 0, 0.8, 0.0), (1.0, 5, 0.6, 0.0),
                    (1.0, 0, 1.0, 0.2))


def check_sampler(sample, draws: int = 4000) -> None:
    """``sample(logits (B, V), temperature, top_k, top_p, min_p, generator)`` -> ids (B,): checked statistically.

    With a fixed seed, the frequency of every token over many draws must lie within 5 standard errors
    of its probability after temperature, top-k, top-p and min-p; a token filtered out must never appear.
    """
    logits = _logits(1, B=1, V=8)
    gen = torch.Generator().manual_seed(1234)
    for temperature, k, p, m in SAMPLER_SETTINGS:
        probs, keep = _filtered_probs(logits, temperature, k, p, m)
        rows = logits.expand(draws, -1).clone()
        ids = _tensor(sample(rows, temperature=temperature, top_k=k, top_p=p, min_p=m, generator=gen), "sample(...)")
        _shape(ids, (draws,), "sample(...)")
        counts = torch.bincount(ids.long(), minlength=probs.numel()).double()
        where = f"(temperature={temperature}, top_k={k}, top_p={p}, min_p={m})"
        if (counts[~keep] > 0).any():
            raise AssertionError(f"sampled a token that the filters should have removed {where}")
        freq = counts / draws
        if _matches(freq, probs, draws):
            continue
        if p < 1.0 and temperature != 1.0 and _matches(freq, _top_p_before_temperature(logits, temperature, p), draws):
            raise AssertionError(f"top-p was applied before the temperature {where}: apply the temperature first, "
                                 "then top-k, top-p and min-p")
        if temperature != 1.0 and _matches(freq, _filtered_probs(logits, 1.0, k, p, m)[0], draws):
            raise AssertionError(f"the frequencies are those of temperature 1 {where}: sample ignores its "
                                 "temperature — divide the logits by it first")
        z = _z(freq, probs, draws)[keep]
        i = int(torch.nonzero(keep)[z.argmax()])
        raise AssertionError(
            f"token {i} was drawn with frequency {freq[i]:.3f}, but its probability is {probs[i]:.3f} {where}: "
            "check the renormalisation and the order (temperature, then top-k, then top-p, then min-p, then softmax)"
        )
    _ok(f"sampler: {draws} seeded draws per setting match the filtered probabilities")


def _z(freq: torch.Tensor, probs: torch.Tensor, draws: int) -> torch.Tensor:
    se = (probs.double() * (1 - probs.double()) / draws).sqrt()
    return (freq - probs.double()).abs() / se.clamp_min(1e-12)


def _matches(freq: torch.Tensor, probs: torch.Tensor, draws: int) -> bool:
    """Every frequency within 5 standard errors, and no token drawn that has probability 0."""
    return bool((_z(freq, probs, draws) <= 5).all() and (freq[probs == 0] == 0).all())


def _top_p_before_temperature(logits: torch.Tensor, temperature: float, p: float) -> torch.Tensor:
    keep = _nucleus(logits, p)
    return (logits / temperature).masked_fill(~keep, NEG_INF).softmax(-1)[0]
