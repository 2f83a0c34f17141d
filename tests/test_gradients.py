"""Gradient norms at initialisation: one number per block, Xavier's init redraws only the sublayers' matrices."""
from __future__ import annotations

import pytest
import torch

from gptlab import GPT, GPTConfig
from gptlab.gradients import block_grad_norms, xavier_init_


def tiny(n_layer=3):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=17, block_size=8, n_layer=n_layer, n_head=2, n_embd=16, dropout=0.0))


def test_one_positive_norm_per_block():
    idx = torch.randint(0, 17, (2, 8), generator=torch.Generator().manual_seed(0))
    norms = block_grad_norms(tiny(), idx, idx.roll(-1, 1))
    assert len(norms) == 3 and all(n > 0 for n in norms)


def test_mismatched_targets_are_refused():
    with pytest.raises(ValueError, match="must match"):
        block_grad_norms(tiny(), torch.zeros(2, 8, dtype=torch.long), torch.zeros(2, 7, dtype=torch.long))


def test_xavier_redraws_the_matrices_and_keeps_the_embeddings():
    model = tiny()
    wte = model.transformer.wte.weight.clone()
    xavier_init_(model)
    c_fc = model.transformer.h[0].mlp.c_fc.weight  # (16, 64): Xavier's std is sqrt(2 / 80) = 0.16
    assert 0.12 < float(c_fc.detach().std()) < 0.2
    assert torch.equal(model.transformer.wte.weight, wte)
