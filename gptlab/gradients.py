"""Gradients at initialisation: the measurement behind "Post-LN needs a warm-up" (Xiong et al. 2020).

One backward pass on one batch, then the size of the gradient on each block's weight matrices. Two
initialisations matter, because the comparison of Pre-LN and Post-LN depends on them: GPT-2's own (std 0.02,
residual projections scaled by 1/sqrt(2 n_layer)) and Xavier's, the original Transformer's, the one the
paper analyses.
"""
from __future__ import annotations

import torch

from .model import GPT, Projection

__all__ = ["xavier_init_", "block_grad_norms"]


def xavier_init_(model: GPT) -> GPT:
    """Redraw every attention and MLP matrix with Xavier's uniform init (variance 2 / (n_in + n_out)), so that
    each sublayer's output starts about as large as its input; embeddings and LayerNorms keep GPT-2's init."""
    for module in model.modules():
        if isinstance(module, Projection):
            torch.nn.init.xavier_uniform_(module.weight)
    return model


def block_grad_norms(model: GPT, idx: torch.Tensor, targets: torch.Tensor) -> list[float]:
    """L2 norm of the loss's gradient on each block's matrices (attention and MLP), one backward pass on
    ``idx`` (B, T) with next-token ``targets`` (B, T); one number per block, first layer first."""
    if idx.shape != targets.shape:
        raise ValueError(f"idx has shape {tuple(idx.shape)} but targets {tuple(targets.shape)}: they must match")
    model.zero_grad()
    _, loss = model(idx, targets)
    loss.backward()
    return [torch.cat([p.grad.flatten() for p in block.parameters() if p.dim() == 2]).norm().item()
            for block in model.transformer.h]
