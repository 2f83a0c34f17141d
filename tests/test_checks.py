"""The self-checks accept correct answers and name the mistake in wrong ones."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from gptlab import checks
from gptlab.config import GPTConfig
from gptlab.model import MLP, CausalSelfAttention


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


# --------------------------------------------------------------------------------------- Pre-LN block


def block_class(kind):
    class B(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(config.n_embd), nn.LayerNorm(config.n_embd)
            self.attn, self.mlp = CausalSelfAttention(config), MLP(config)

        def forward(self, x):
            if kind == "pre":
                x = x + self.attn(self.ln_1(x))
                return x + self.mlp(self.ln_2(x))
            if kind == "post":
                x = self.ln_1(x + self.attn(x))
                return self.ln_2(x + self.mlp(x))
            return self.mlp(self.ln_2(self.attn(self.ln_1(x))))
    return B


def test_pre_ln_block():
    checks.check_pre_ln_block(block_class("pre"))
    fails_with(checks.check_pre_ln_block, block_class("post"), "Post-LN")
    fails_with(checks.check_pre_ln_block, block_class("none"), "residual connections are missing")


# --------------------------------------------------------------------------------------- sampling


def test_greedy_and_temperature():
    checks.check_greedy(lambda l: l.argmax(-1))
    fails_with(checks.check_greedy, lambda l: l.argmin(-1), "least")
    fails_with(checks.check_greedy, lambda l: l.argmax(-1).float(), "torch.long")

    def temp(l, t):
        if t <= 0:
            raise ValueError("use greedy")
        return l / t
    checks.check_temperature(temp)
    fails_with(checks.check_temperature, lambda l, t: l * t, "not by temperature")
    fails_with(checks.check_temperature, lambda l, t: l / t if t else l, "divides by zero")


def top_k(l, k):
    return l.masked_fill(l < l.topk(k, -1).values[:, -1:], float("-inf"))


def top_p(l, p, keep_first=True, renorm_bug=False):
    s, order = l.sort(-1, descending=True)
    probs = s.softmax(-1)
    remove = (probs.cumsum(-1) - probs) >= p if keep_first else probs.cumsum(-1) > p
    remove = remove.scatter(-1, order, remove)
    out = l.masked_fill(remove, float("-inf"))
    return out if not renorm_bug else torch.where(remove, out, l.softmax(-1).log())


def test_top_k_and_top_p():
    checks.check_top_k(top_k)
    fails_with(checks.check_top_k, lambda l, k: top_k(l, k + 1) if k < l.shape[-1] else l, "kept 3 token")
    checks.check_top_p(top_p)
    fails_with(checks.check_top_p, lambda l, p: top_p(l, p, keep_first=False), "whole row is -inf|removed")


def test_top_p_names_a_renormalisation_error():
    def bad(l, p):
        out = top_p(l, p)
        kept = ~torch.isneginf(out)
        return torch.where(kept, out + kept.float().cumsum(-1) * 0.3, out)  # kept logits changed unequally
    fails_with(checks.check_top_p, bad, "changed the logits it kept")


def sampler(logits, temperature=1.0, top_k_=0, top_p_=1.0, generator=None, *, top_k=None, top_p=None):
    k = top_k if top_k is not None else top_k_
    p = top_p if top_p is not None else top_p_
    l = logits / temperature
    if k:
        l = globals()["top_k"](l, k)
    if p < 1:
        l = globals()["top_p"](l, p)
    return torch.multinomial(l.softmax(-1), 1, generator=generator).squeeze(-1)


def test_sampler_is_checked_statistically():
    checks.check_sampler(sampler)

    def ignores_temperature(logits, temperature=1.0, top_k=0, top_p=1.0, generator=None):
        return sampler(logits, 1.0, generator=generator, top_k=top_k, top_p=top_p)
    fails_with(checks.check_sampler, ignores_temperature, "was drawn with frequency")

    def ignores_top_k(logits, temperature=1.0, top_k=0, top_p=1.0, generator=None):
        return sampler(logits, temperature, generator=generator, top_k=0, top_p=top_p)
    fails_with(checks.check_sampler, ignores_top_k, "should have removed")


# --------------------------------------------------------------------------------------- KV cache


def cached_attention(attn, x, past=None, offset_bug=False):
    B, T, C = x.shape
    q, k, v = attn.c_attn(x).split(C, dim=2)
    q, k, v = (t.view(B, T, attn.n_head, attn.head_dim).transpose(1, 2) for t in (q, k, v))
    if past is not None:
        k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
    S = k.shape[2]
    allowed = torch.ones(T, S, dtype=torch.bool).tril(0 if offset_bug else S - T)
    w = ((q @ k.transpose(-2, -1)) / math.sqrt(attn.head_dim)).masked_fill(~allowed, float("-inf")).softmax(-1)
    return attn.c_proj((w @ v).transpose(1, 2).reshape(B, T, C)), (k, v)


def test_cached_attention():
    checks.check_cached_attention(cached_attention)
    fails_with(checks.check_cached_attention, lambda a, x, p=None: cached_attention(a, x, p, offset_bug=True),
               "absolute positions")
    fails_with(checks.check_cached_attention, lambda a, x, p=None: cached_attention(a, x, None), "shape")


def test_cached_decoding():
    @torch.no_grad()
    def recompute(model, idx, n):
        for _ in range(n):
            idx = torch.cat([idx, model(idx)[:, -1].argmax(-1, keepdim=True)], 1)
        return idx
    checks.check_cached_decoding(recompute)

    @torch.no_grad()
    def off_by_one(model, idx, n):
        out = recompute(model, idx, n)
        out[:, -1] = (out[:, -1] + 1) % 65
        return out
    fails_with(checks.check_cached_decoding, off_by_one, "differ from recomputation from position 24")


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
