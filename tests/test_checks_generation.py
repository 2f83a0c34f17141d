"""The sampling, generation and KV-cache self-checks accept correct answers and name the mistake in wrong ones."""
from __future__ import annotations

import math

import pytest
import torch

from gptlab import checks
from gptlab.checks.generation import BigramLM


def fails_with(check, answer, message):
    with pytest.raises(AssertionError, match=message):
        check(answer)


# --------------------------------------------------------------------------------------- samplers

NEG_INF = float("-inf")


def temperature(l, t):
    if t <= 0:
        raise ValueError("use greedy")
    return l / t


def top_k(l, k, strict=False):
    kth = l.topk(k, -1).values[:, -1:]
    return l.masked_fill(l <= kth if strict else l < kth, NEG_INF)


def top_p(l, p, drop_crossing=False, unsorted=False):
    s, order = l.sort(-1, descending=True)
    probs = s.softmax(-1)
    remove = probs.cumsum(-1) > p if drop_crossing else (probs.cumsum(-1) - probs) >= p
    if unsorted:
        return s.masked_fill(remove, NEG_INF)  # forgot to scatter back
    return l.masked_fill(remove.scatter(-1, order, remove), NEG_INF)


def min_p(l, m, absolute=False):
    probs = l.softmax(-1)
    return l.masked_fill(probs < (m if absolute else m * probs.amax(-1, keepdim=True)), NEG_INF)


def penalty(l, ids, p, rule="hf"):
    seen = l.gather(-1, ids)
    new = torch.where(seen > 0, seen / p, seen * p) if rule == "hf" else seen / p
    return l.scatter(-1, ids, new)


def test_greedy_and_temperature():
    checks.check_greedy(lambda l: l.argmax(-1))
    fails_with(checks.check_greedy, lambda l: l.argmin(-1), "least")
    fails_with(checks.check_greedy, lambda l: l.argmax(-1).float(), "torch.long")
    checks.check_temperature(temperature)
    fails_with(checks.check_temperature, lambda l, t: l * t, "not by temperature")
    fails_with(checks.check_temperature, lambda l, t: l / t if t else l, "divides by zero")
    fails_with(checks.check_temperature, lambda l, t: l.softmax(-1) / t, "divide the \\*logits\\*")


def test_filters_name_off_by_one_and_crossing_mistakes():
    checks.check_top_k(top_k)
    fails_with(checks.check_top_k, lambda l, k: top_k(l, k, strict=True), "instead of 1: off by one")
    fails_with(checks.check_top_k, lambda l, k: top_k(l, min(k + 1, l.shape[-1])), "kept 2 tokens per row instead of 1")
    checks.check_top_p(top_p)
    fails_with(checks.check_top_p, lambda l, p: top_p(l, p, drop_crossing=True), "crosses p")
    fails_with(checks.check_top_p, lambda l, p: top_p(l, p, unsorted=True), "sorted")
    checks.check_min_p(min_p)
    fails_with(checks.check_min_p, lambda l, m: min_p(l, m, absolute=True), "relative")


def test_repetition_penalty_names_the_sign_rule():
    checks.check_repetition_penalty(penalty)
    fails_with(checks.check_repetition_penalty, lambda l, i, p: penalty(l, i, p, rule="divide"), "negative logits")
    fails_with(checks.check_repetition_penalty, lambda l, i, p: l - 0 * p, "expected logit / penalty")


def sampler(logits, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, generator=None, order="right"):
    l = logits if order == "top_p_first" else logits / temperature
    if top_k:
        l = globals()["top_k"](l, top_k)
    if top_p < 1:
        l = globals()["top_p"](l, top_p)
    if order == "top_p_first":
        l = l / temperature
    if min_p:
        l = globals()["min_p"](l, min_p)
    return torch.multinomial(l.softmax(-1), 1, generator=generator).squeeze(-1)


def test_sampler_is_checked_statistically():
    checks.check_sampler(sampler)
    fails_with(checks.check_sampler, lambda l, temperature, **kw: sampler(l, 1.0, **kw), "ignores its temperature")
    fails_with(checks.check_sampler, lambda l, top_k, **kw: sampler(l, top_k=0, **kw), "should have removed")
    fails_with(checks.check_sampler, lambda l, **kw: sampler(l, order="top_p_first", **kw), "top-p was applied before")


# --------------------------------------------------------------------------------------- the generation loop


@torch.no_grad()
def generate(model, idx, n, block_size, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, repetition_penalty=1.0,
             generator=None, bug=None):
    start = idx.shape[1]
    for _ in range(n):
        window = idx[:, :block_size] if bug == "crop_start" else idx[:, -block_size:]
        logits = model(window)[:, 0 if bug == "first" else -1]
        if repetition_penalty != 1.0 and bug != "no_penalty":
            logits = penalty(logits, idx[:, start:] if bug == "prompt" else idx, repetition_penalty)
        if temperature == 0 and bug != "sample_at_0":
            nxt = logits.argmax(-1)
        else:
            nxt = sampler(logits, (temperature or 1.0) if bug != "temp" else 1.0, top_k, top_p, min_p, generator)
        idx = torch.cat([idx, nxt[:, None]], 1)
    return idx[:, start:] if bug == "new_only" else idx


@pytest.mark.parametrize("bug, message", [
    ("first", "FIRST position"), ("crop_start", "FIRST block_size tokens"), ("temp", "ignores its temperature"),
    ("sample_at_0", "temperature=0 two runs gave different tokens"), ("new_only", "only the new tokens"),
    ("prompt", "prompt's tokens were not penalised"), ("no_penalty", "no effect at temperature=0"),
])
def test_generate_check_names_each_loop_mistake(bug, message):
    fails_with(checks.check_generate, lambda *a, **kw: generate(*a, **kw, bug=bug), message)


def test_generate_check_passes_a_correct_loop_and_catches_a_missing_crop():
    checks.check_generate(generate)

    def no_crop(model, idx, n, block_size, **kw):
        return generate(model, idx, n, 10 ** 6, **kw)
    fails_with(checks.check_generate, no_crop, "crop the sequence")


def test_bigram_model_refuses_more_than_its_context():
    model = BigramLM(torch.zeros(4, 4), block_size=3)
    assert model(torch.zeros(2, 3, dtype=torch.long)).shape == (2, 3, 4)
    with pytest.raises(ValueError, match="context holds 3"):
        model(torch.zeros(1, 4, dtype=torch.long))


# --------------------------------------------------------------------------------------- KV cache


def cached_attention(attn, x, past=None, bug=None):
    B, T, C = x.shape
    nh = attn.n_head
    q, k, v = attn.c_attn(x).split(C, dim=2)
    q, k, v = (t.view(B, T, nh, C // nh).transpose(1, 2) for t in (q, k, v))
    if past is not None:
        k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
    S = k.shape[2]
    scores = q @ k.transpose(-2, -1) / (1.0 if bug == "unscaled" else math.sqrt(C // nh))
    if bug != "no_mask":
        scores = scores.masked_fill(~torch.ones(T, S, dtype=torch.bool).tril(0 if bug == "offset" else S - T), NEG_INF)
    y = (scores.softmax(-2 if bug == "softmax_dim" else -1) @ v).transpose(1, 2).reshape(B, T, C)
    return (y if bug == "no_proj" else attn.c_proj(y)), (k, v)


@pytest.mark.parametrize("bug, message", [
    ("unscaled", "not scaled"), ("no_proj", "output projection is missing"), ("offset", "ignores the cached positions"),
    ("no_mask", "no causal mask"), ("softmax_dim", "over the queries"),
])
def test_cached_attention_names_the_mistake(bug, message):
    checks.check_cached_attention(cached_attention)
    fails_with(checks.check_cached_attention, lambda a, x, p=None: cached_attention(a, x, p, bug=bug), message)


def test_cached_attention_names_a_cache_that_keeps_only_the_new_positions():
    fails_with(checks.check_cached_attention, lambda a, x, p=None: cached_attention(a, x, None), "only the new positions")


def forward_cached(model, idx, past=None, bug=None):
    start = 0 if past is None or bug == "positions" else past[0][0].shape[2]
    x = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(start, start + idx.shape[1]))
    new = []
    for i, block in enumerate(model.transformer.h):
        y, kv = cached_attention(block.attn, block.ln_1(x), None if past is None else past[i])
        x = x + y
        x = x + block.mlp(block.ln_2(x))
        new.append(kv)
    return model.lm_head(x if bug == "no_ln_f" else model.transformer.ln_f(x)), new


@torch.no_grad()
def decode(model, idx, n, bug=None, forward=forward_cached):
    logits, past = forward(model, idx)
    for _ in range(n):
        if bug == "recompute":
            logits, past = forward(model, idx)
        nxt = logits[:, -1].argmax(-1, keepdim=True)
        idx = torch.cat([idx, nxt], 1)
        logits, past = forward(model, nxt, past)
    return idx


def test_cached_decoding_accepts_a_real_cache_and_rejects_recomputation():
    checks.check_cached_decoding(decode, forward_cached)
    fails_with(checks.check_cached_decoding, lambda m, i, n: decode(m, i, n, bug="recompute"), "ran the model on")

    @torch.no_grad()
    def recompute(model, idx, n):  # right tokens, no cache at all: not accepted any more
        for _ in range(n):
            idx = torch.cat([idx, model(idx)[:, -1].argmax(-1, keepdim=True)], 1)
        return idx
    fails_with(checks.check_cached_decoding, recompute, "a cache that is never used saves nothing")


@pytest.mark.parametrize("bug, message", [("no_ln_f", "final LayerNorm is missing"),
                                          ("positions", "positions restart at 0")])
def test_cached_forward_names_the_mistake(bug, message):
    def wrong(model, idx, past=None):
        return forward_cached(model, idx, past, bug=bug)
    with pytest.raises(AssertionError, match=message):
        checks.check_cached_decoding(lambda m, i, n: decode(m, i, n, forward=wrong), wrong)
    with pytest.raises(AssertionError, match=message):  # also from the tokens alone
        checks.check_cached_decoding(lambda m, i, n: decode(m, i, n, forward=wrong))
