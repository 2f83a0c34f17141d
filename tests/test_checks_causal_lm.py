"""The causal-LM self-checks accept correct answers and name the mistake in wrong ones."""
from __future__ import annotations

import math

import pytest
import torch

from gptlab import checks


def fails_with(check, answer, message):
    with pytest.raises(AssertionError, match=message):
        check(answer)


def log_softmax(x, dim=-1, max_over=-1, keepdim=True):
    m = x.max() if max_over is None else x.max(dim=max_over, keepdim=keepdim).values
    shifted = x - m
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()


def test_log_softmax_check():
    checks.check_log_softmax(log_softmax)
    checks.check_log_softmax(lambda x: x - x.logsumexp(-1, keepdim=True))
    fails_with(checks.check_log_softmax, lambda x: log_softmax(x).exp(), "probabilities")
    fails_with(checks.check_log_softmax, lambda x: log_softmax(x, dim=1, max_over=1), r"wrong axis \(dim=1\)")
    fails_with(checks.check_log_softmax, lambda x: x - x.exp().sum(-1, keepdim=True).log(), "overflows")
    fails_with(checks.check_log_softmax, lambda x: torch.log(torch.softmax(x, -1)), "not log\(softmax")
    fails_with(checks.check_log_softmax, lambda x: log_softmax(x, max_over=None), "each row's own maximum")
    fails_with(checks.check_log_softmax, lambda x: log_softmax(x, keepdim=False), "keepdim=True")


def loss(logits, idx):
    log_p = log_softmax(logits[:, :-1])
    return -log_p.gather(-1, idx[:, 1:].unsqueeze(-1)).squeeze(-1).mean()


def test_causal_lm_loss_check():
    checks.check_causal_lm_loss(loss)
    checks.check_causal_lm_loss(lambda logits, idx: torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), idx[:, 1:].reshape(-1)))
    V = 5

    def picked(logits, idx):
        return log_softmax(logits).gather(-1, idx.unsqueeze(-1)).squeeze(-1)
    fails_with(checks.check_causal_lm_loss, lambda l, i: -picked(l, i).mean(), "not shifted")
    fails_with(checks.check_causal_lm_loss, lambda l, i: -picked(l[:, 1:], i[:, :-1]).mean(), "wrong way")
    fails_with(checks.check_causal_lm_loss, lambda l, i: -picked(l[:, :-1], i[:, 1:]).sum(), "sum")
    fails_with(checks.check_causal_lm_loss, lambda l, i: -loss(l, i), "minus sign")
    fails_with(checks.check_causal_lm_loss, lambda l, i: -picked(l[:, :-2], i[:, 1:-1]).mean(), "drops the last")
    fails_with(checks.check_causal_lm_loss, lambda l, i: -picked(l, i.roll(-1, 1)).mean(), "roll wraps")
    fails_with(checks.check_causal_lm_loss,
               lambda l, i: -picked(l.reshape(-1, V)[:-1], i.reshape(-1)[1:]).mean(), "after flattening")
    fails_with(checks.check_causal_lm_loss, lambda l, i: -log_softmax(l[:, :-1])[:, :, i[:, 1:]].mean(),
               "every target at every position")
    fails_with(checks.check_causal_lm_loss, lambda l, i: -log_softmax(l[:, :-1]).mean(), "whole vocabulary")
    fails_with(checks.check_causal_lm_loss, lambda l, i: loss(l, i) / math.log(2), "bits")
    fails_with(checks.check_causal_lm_loss, lambda l, i: -picked(l[:, :-1], i[:, 1:]), "one number")
    fails_with(checks.check_causal_lm_loss,
               lambda l, i: -torch.log(torch.softmax(l[:, :-1], -1)).gather(-1, i[:, 1:, None]).mean(), "not finite")


def bigram_loss(counts, ids, extra=None, dim=1, transposed=False):
    V = counts.shape[0]
    c = counts.T if transposed else counts
    probs = (c + 1).double() / (c.sum(dim, keepdim=True) + (V if extra is None else extra))
    return float(-probs[ids[:-1], ids[1:]].log().mean())


def test_bigram_loss_check():
    checks.check_bigram_loss(bigram_loss)
    fails_with(checks.check_bigram_loss,
               lambda c, ids: float(-(c.double() / c.sum(1, keepdim=True))[ids[:-1], ids[1:]].log().mean()),
               "not finite")
    fails_with(checks.check_bigram_loss, lambda c, ids: bigram_loss(c, ids, extra=1), "sum to 1")
    fails_with(checks.check_bigram_loss, lambda c, ids: bigram_loss(c, ids, transposed=True), "transposed")
    fails_with(checks.check_bigram_loss, lambda c, ids: bigram_loss(c, ids.flip(0)), "backwards")
    fails_with(checks.check_bigram_loss, lambda c, ids: bigram_loss(c, ids, dim=0), "over columns")


def test_an_unwritten_answer_says_so():
    def stub(*args):
        raise NotImplementedError
    for check in (checks.check_log_softmax, checks.check_causal_lm_loss):
        with pytest.raises(NotImplementedError):
            check(stub)
