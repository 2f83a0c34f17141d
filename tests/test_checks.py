"""The self-checks accept correct answers and name the mistake in wrong ones."""
from __future__ import annotations

import math

import pytest
import torch

from gptlab import checks
from gptlab.config import GPTConfig


def fails_with(check, answer, message):
    with pytest.raises(AssertionError, match=message):
        check(answer)


# --------------------------------------------------------------------------------------- mask, attention


def good_mask(T):
    return torch.ones(T, T, dtype=torch.bool).tril()


def test_causal_mask(capsys):
    checks.check_causal_mask(good_mask)
    assert "✓" in capsys.readouterr().out
    fails_with(checks.check_causal_mask, lambda T: torch.ones(T, T, dtype=torch.bool).triu(), "future: the mask leaks")
    fails_with(checks.check_causal_mask, lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1), "attend to itself")
    fails_with(checks.check_causal_mask, lambda T: torch.ones(T, T).tril(), "bool")
    fails_with(checks.check_causal_mask, lambda T: torch.ones(T, T + 1, dtype=torch.bool), "shape")


def make_attention(scale=True, mask=True, dim=-1, fill=float("-inf")):
    def attention(q, k, v):
        T, hs = q.shape[-2], q.shape[-1]
        s = q @ k.transpose(-2, -1) / (math.sqrt(hs) if scale else 1.0)
        if mask:
            s = s.masked_fill(~good_mask(T), fill)
        w = s.softmax(dim)
        return w @ v, w
    return attention


def test_masked_attention():
    checks.check_masked_attention(make_attention())
    fails_with(checks.check_masked_attention, make_attention(mask=False), "future position is not zero")
    fails_with(checks.check_masked_attention, make_attention(scale=False), "not scaled")
    fails_with(checks.check_masked_attention, make_attention(dim=-2), "do not sum to 1")
    fails_with(checks.check_masked_attention, make_attention(fill=0.0), "future position is not zero")


def test_masked_attention_names_a_fully_masked_row():
    def all_masked(q, k, v):
        s = (q @ k.transpose(-2, -1)).masked_fill(torch.ones(q.shape[-2], q.shape[-2], dtype=torch.bool), float("-inf"))
        w = s.softmax(-1)
        return w @ v, w
    fails_with(checks.check_masked_attention, all_masked, "entirely -inf")


# --------------------------------------------------------------------------------------- the rest


def test_causal_lm_checks():
    checks.check_uniform_loss(math.log)
    fails_with(checks.check_uniform_loss, math.log2, "bits")

    def counts(ids, V):
        c = torch.zeros(V, V)
        for a, b in zip(ids[:-1].tolist(), ids[1:].tolist()):
            c[a, b] += 1
        return c
    checks.check_bigram_counts(counts)
    fails_with(checks.check_bigram_counts, lambda ids, V: counts(ids, V).T, "swapped")


def test_weight_tying_check():
    def tie(model):
        model.lm_head.weight = model.transformer.wte.weight
    checks.check_tied_head(tie)

    def copy(model):
        with torch.no_grad():
            model.lm_head.weight.copy_(model.transformer.wte.weight)
    fails_with(checks.check_tied_head, copy, "not shared")


def test_param_formula_check():
    def formula(L, C, V, T, head=False, ln_f=True):
        block = 12 * C * C + 13 * C
        return L * block + V * C + T * C + (2 * C if ln_f else 0) + (V * C if head else 0)
    checks.check_param_formula(formula)
    fails_with(checks.check_param_formula, lambda *a: formula(*a, head=True), "tied")
    fails_with(checks.check_param_formula, lambda *a: formula(*a, ln_f=False), "ln_f")


def test_bert_checks():
    checks.check_bidirectional_mask(lambda pad: pad.bool()[:, None, :].expand(-1, pad.shape[1], -1))
    fails_with(checks.check_bidirectional_mask,
               lambda pad: torch.ones(pad.shape[1], pad.shape[1], dtype=torch.bool).tril().expand(pad.shape[0], -1, -1),
               "causal mask")

    def mlm(ids, mask_id, V, g, rate=0.15):
        chosen = torch.rand(ids.shape, generator=g) < rate
        labels = torch.where(chosen, ids, -100)
        u = torch.rand(ids.shape, generator=g)
        inputs = ids.clone()
        inputs[chosen & (u < 0.8)] = mask_id
        r = chosen & (u >= 0.8) & (u < 0.9)
        inputs[r] = torch.randint(0, V, (int(r.sum()),), generator=g)
        return inputs, labels
    checks.check_mlm_masking(mlm)
    fails_with(checks.check_mlm_masking, lambda *a: mlm(*a, rate=0.3), "expected 15%")
