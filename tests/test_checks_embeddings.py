"""The position and embedding self-checks accept correct answers and name the mistake in wrong ones."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from gptlab import checks


def fails_with(check, answer, message):
    with pytest.raises(AssertionError, match=message):
        check(answer)


def test_position_ids():
    checks.check_position_ids(lambda T, past=0: torch.arange(past, past + T))
    fails_with(checks.check_position_ids, lambda T, past=0: torch.arange(T), "restarts at 0")
    fails_with(checks.check_position_ids, lambda T, past=0: torch.arange(past + 1, past + T + 1), "start at 1")
    fails_with(checks.check_position_ids, lambda T, past=0: torch.arange(past, past + T).float(), "integers")


def embeddings_class(shift=0, check_length=True):
    class E(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.wte = nn.Embedding(config.vocab_size, config.n_embd)
            self.wpe = nn.Embedding(config.block_size, config.n_embd)

        def forward(self, idx, past_length=0):
            T = idx.shape[1]
            if check_length and past_length + T > self.wpe.num_embeddings:
                raise ValueError("too long")
            return self.wte(idx) + self.wpe(torch.arange(T) + past_length * shift)
    return E


def test_embeddings():
    checks.check_embeddings(embeddings_class(shift=1))
    fails_with(checks.check_embeddings, embeddings_class(shift=0), "past_length=4 the positions restart at 0")
    fails_with(checks.check_embeddings, embeddings_class(shift=1, check_length=False), "crashes inside")
