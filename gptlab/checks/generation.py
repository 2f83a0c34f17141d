"""Exercise check: the generation loop, run on a model small enough to predict by hand.

The model is a bigram table: the logits at position t depend only on token t, and like a GPT it refuses a
sequence longer than its context. Every greedy token is then known in advance, and so is what each
classic mistake produces instead (the first position's logits, the window cropped from the wrong end, the
prompt left out of the repetition penalty ...), which lets the check name the mistake.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ._common import _ok, _shape, _tensor

__all__ = ['check_generate', 'BigramLM']


class ContextOverflow(ValueError):
    """The toy model was given more tokens than its context holds."""


class BigramLM(nn.Module):
    """``(B, T)`` ids -> ``(B, T, V)`` logits, ``logits[b, t] = table[idx[b, t]]``; at most ``block_size`` tokens."""

    def __init__(self, table: torch.Tensor, block_size: int):
        super().__init__()
        self.table, self.block_size = table, block_size

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        if idx.shape[-1] > self.block_size:
            raise ContextOverflow(f"{idx.shape[-1]} tokens given to a model whose context holds {self.block_size}")
        return self.table[idx]


def _table(seed: int, V: int = 12) -> torch.Tensor:
    return torch.randn(V, V, generator=torch.Generator().manual_seed(seed)) * 3


def _greedy_chain(table, prompt, n, block_size, *, read=-1, crop="last", penalty=None, penalise_prompt=True,
                  grow=True):
    """The greedy tokens, computed one row and one step at a time, with switches for the classic mistakes."""
    rows = []
    for row in prompt.tolist():
        seq = list(row)
        for _ in range(n):
            context = seq if grow else list(row)
            window = context[-block_size:] if crop == "last" else context[:block_size]
            logits = table[window[read]].clone()
            if penalty is not None:
                seen = set(seq if penalise_prompt else seq[len(row):])
                for tok in seen:
                    logits[tok] = logits[tok] / penalty if logits[tok] > 0 else logits[tok] * penalty
            seq.append(int(logits.argmax()))
        rows.append(seq)
    return torch.tensor(rows)


def _run(generate, model, idx, n, block_size, **settings) -> torch.Tensor:
    """Call the student's ``generate``, turning the toy model's refusal into the diagnosis it stands for."""
    try:
        out = generate(model, idx.clone(), n, block_size, **settings)
    except ContextOverflow as exc:
        raise AssertionError(
            f"the model was given more tokens than its context ({exc}): before each step crop the sequence "
            f"to its last block_size tokens, idx[:, -block_size:]") from None
    except ValueError as exc:
        if settings.get("temperature") == 0:
            raise AssertionError(
                f"temperature=0 raised ValueError ({exc}): temperature 0 means greedy decoding — "
                "call greedy(logits) instead of sampling") from None
        raise
    out = _tensor(out, "generate(...)")
    B, T = idx.shape
    if tuple(out.shape) == (B, n):
        raise AssertionError("generate returned only the new tokens: return the prompt followed by them, "
                             f"shape (B, T + max_new_tokens) = {(B, T + n)}")
    _shape(out, (B, T + n), "generate(model, idx, max_new_tokens, ...)")
    if not torch.equal(out[:, :T], idx):
        raise AssertionError("the output should start with the prompt, unchanged")
    return out


def _first_step_differing(out, expected) -> int:
    return int((out != expected).any(0).nonzero()[0])


def _check_greedy_loop(generate) -> None:
    table, block_size, n = _table(0), 6, 10
    model = BigramLM(table, block_size)
    prompt = torch.tensor([[3, 5, 1], [7, 2, 9]])  # (B, T); 3 + 10 tokens outgrow the context of 6
    out = _run(generate, model, prompt, n, block_size, temperature=0)
    expected = _greedy_chain(table, prompt, n, block_size)
    if torch.equal(out, expected):
        return
    mistakes = {
        "the next token was read from the logits of the FIRST position: take the last one, logits[:, -1, :]":
            _greedy_chain(table, prompt, n, block_size, read=0),
        "the window kept the FIRST block_size tokens: crop from the end, idx[:, -block_size:]":
            _greedy_chain(table, prompt, n, block_size, crop="first"),
        "every step ran the model on the prompt alone: append each new token to idx and feed the longer sequence":
            _greedy_chain(table, prompt, n, block_size, grow=False),
    }
    for diagnosis, wrong in mistakes.items():
        if torch.equal(out, wrong):
            raise AssertionError(f"greedy generation (temperature=0): {diagnosis}")
    again = _run(generate, model, prompt, n, block_size, temperature=0, generator=torch.Generator().manual_seed(99))
    if not torch.equal(out, again):
        raise AssertionError("at temperature=0 two runs gave different tokens: temperature 0 must be greedy "
                             "decoding (argmax), not sampling")
    step = _first_step_differing(out, expected) - prompt.shape[1]
    raise AssertionError(f"at temperature=0 the tokens differ from the argmax of the last position's logits from "
                         f"new token {step} on")


def _frequencies(ids: torch.Tensor, V: int) -> torch.Tensor:
    return torch.bincount(ids, minlength=V).double() / ids.numel()


def _close(freq: torch.Tensor, probs: torch.Tensor, draws: int) -> bool:
    se = (probs.double() * (1 - probs.double()) / draws).sqrt()
    return bool(((freq - probs.double()).abs() <= 5 * se + 1e-12).all())


def _check_sampling_loop(generate, draws: int = 4000) -> None:
    table, block_size = _table(1), 8
    model = BigramLM(table, block_size)
    V = table.shape[0]
    prompt = torch.full((draws, 2), 4)  # (draws, 2): the same prompt in every row, one new token each
    last = table[4]
    for temperature in (0.5, 1.7):
        ids = _run(generate, model, prompt, 1, block_size, temperature=temperature,
                   generator=torch.Generator().manual_seed(5))[:, -1]
        freq = _frequencies(ids, V)
        where = f"temperature={temperature}"
        if (ids == ids[0]).all():
            raise AssertionError(f"{where}: all {draws} rows got the same token: sample each row, not once for the "
                                 "batch (and do not decode greedily when temperature > 0)")
        if _close(freq, (last / temperature).softmax(-1), draws):
            continue
        if _close(freq, last.softmax(-1), draws):
            raise AssertionError(f"{where}: the tokens are drawn as at temperature 1 — generate ignores its "
                                 "temperature: pass it on to sample")
        raise AssertionError(f"{where}: the sampled tokens' frequencies do not match softmax(logits / temperature) "
                             "of the last position")
    settings = {"top_k": 2, "top_p": 0.5, "min_p": 0.5}
    for name, value in settings.items():
        ids = _run(generate, model, prompt, 1, block_size, temperature=1.0, generator=torch.Generator().manual_seed(6),
                   **{name: value})[:, -1]
        kept = torch.zeros(V, dtype=torch.bool)
        probs = last.softmax(-1)
        if name == "top_k":
            kept[last.argsort(descending=True)[:value]] = True
        elif name == "top_p":
            order, total = probs.argsort(descending=True).tolist(), 0.0
            for i in order:
                kept[i], total = True, total + probs[i].item()
                if total >= value:
                    break
        else:
            kept = probs >= value * probs.max()
        if (~kept[ids]).any():
            raise AssertionError(f"{name}={value}: generate drew a token that {name} removes: pass {name} on to "
                                 "sample (and make sure sample's own check passes)")
    seeded = [_run(generate, model, prompt[:50], 3, block_size, temperature=1.0,
                   generator=torch.Generator().manual_seed(7)) for _ in range(2)]
    if not torch.equal(*seeded):
        raise AssertionError("two runs with generators seeded alike gave different tokens: pass generator on to "
                             "sample, so that a seed makes generation repeatable")


def _check_penalty_loop(generate) -> None:
    V = 12
    table = torch.randn(V, V, generator=torch.Generator().manual_seed(2)) * 0.5
    for a, b in ((0, 1), (1, 2), (2, 0)):
        table[a, b] += 3.0  # greedy cycles 0 -> 1 -> 2 -> 0: only a penalty breaks the loop
    table[3:, 0] += 3.0
    block_size, n, penalty = 16, 6, 8.0
    model = BigramLM(table, block_size)
    prompt = torch.tensor([[5, 0], [7, 2]])
    out = _run(generate, model, prompt, n, block_size, temperature=0, repetition_penalty=penalty)
    expected = _greedy_chain(table, prompt, n, block_size, penalty=penalty)
    if torch.equal(out, expected):
        return
    mistakes = {
        "the repetition penalty had no effect at temperature=0: penalise the logits before choosing the token, "
        "greedy or sampled": _greedy_chain(table, prompt, n, block_size),
        "the prompt's tokens were not penalised: the penalty applies to every token of the sequence so far, "
        "prompt included": _greedy_chain(table, prompt, n, block_size, penalty=penalty, penalise_prompt=False),
    }
    for diagnosis, wrong in mistakes.items():
        if torch.equal(out, wrong):
            raise AssertionError(f"repetition_penalty={penalty}: {diagnosis}")
    raise AssertionError(f"repetition_penalty={penalty}, temperature=0: the tokens differ from penalising every "
                         "token seen so far and taking the argmax")


def check_generate(generate) -> None:
    """``generate(model, idx (B, T), max_new_tokens, block_size, temperature, top_k, top_p, min_p,
    repetition_penalty, generator)`` -> (B, T + max_new_tokens), on any model mapping ids to logits.

    Checks greedy decoding past the context (crop), sampling at two temperatures (frequencies over
    seeded draws), that each filter and the generator reach the sampler, and the repetition penalty.
    """
    with torch.no_grad():
        _check_greedy_loop(generate)
        _check_sampling_loop(generate)
        _check_penalty_loop(generate)
    _ok("generate: last position, cropped window, greedy at temperature 0, temperature and filters passed on, "
        "repetition penalty over the whole sequence")
