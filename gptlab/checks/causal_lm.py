"""Exercise checks: the causal language-modelling loss and the bigram baseline."""
from __future__ import annotations

import math

import torch

from ._common import _ok, _shape, _tensor

__all__ = ['check_uniform_loss', 'check_bigram_counts']


def check_uniform_loss(uniform_loss) -> None:
    """``uniform_loss(vocab_size)`` -> the cross-entropy (nats) of a model that guesses uniformly."""
    for V in (2, 65, 50257):
        got = float(uniform_loss(V))
        if abs(got - math.log(V)) > 1e-4:
            if abs(got - math.log2(V)) < 1e-4:
                raise AssertionError("that is in bits (log2): cross-entropy in PyTorch uses the natural log")
            raise AssertionError(f"uniform_loss({V}) = {got:.4f}; a uniform guess gives every token probability 1/V")
    _ok("uniform loss: ln V")


def check_bigram_counts(bigram_counts) -> None:
    """``bigram_counts(ids (N,), vocab_size)`` -> (V, V) counts with counts[a, b] = #times b follows a."""
    ids = torch.tensor([0, 1, 2, 1, 2, 2, 0])
    c = _tensor(bigram_counts(ids, 3), "bigram_counts")
    _shape(c, (3, 3), "bigram_counts(ids, 3)")
    expected = torch.zeros(3, 3)
    for a, b in zip(ids[:-1].tolist(), ids[1:].tolist()):
        expected[a, b] += 1
    if torch.allclose(c.float(), expected.T):
        raise AssertionError("rows and columns are swapped: counts[a, b] counts b following a")
    if int(c.sum()) != len(ids) - 1:
        raise AssertionError(f"a sequence of {len(ids)} tokens has {len(ids) - 1} bigrams, you counted {int(c.sum())}")
    if not torch.allclose(c.float(), expected):
        raise AssertionError("the counts differ from counting each (previous, next) pair")
    _ok("bigram counts: counts[a, b] = how often b follows a")
