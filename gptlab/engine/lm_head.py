"""The LM head read through a transposed copy, for the few-row products of generation on a CPU.

``F.linear(x, W)`` with GPT-2's head ``W`` (vocab, C) reads the weight in an order a CPU streams slowly when
``x`` has one row; ``x @ W^T`` with ``W^T`` stored contiguously (C, vocab) reads it faster, and the head is
a large share of a small model's decoding step (``bench/generate.py`` measures both). The result is the
same product, to fp32 rounding (the sums run in another order).

On a CPU the copy lies in huge pages (:mod:`~gptlab.engine.huge_pages`), which stream faster still. It costs
one more vocab x C matrix, so it is kept outside the model (not saved, pickled or copied with it) and made
anew only when the weight changes. A change is detected by a fingerprint: the weight times a
fixed random vector, one matrix-vector product. Any change, however it is made (an optimizer step,
``load_state_dict``, writes through ``.data`` that autograd cannot see), moves the fingerprint unless it is
below fp32 rounding in every row's product with that vector.
"""
from __future__ import annotations

import weakref

import torch
import torch.nn.functional as F

from .huge_pages import advise_huge_pages, aligned_empty

# model -> (W^T, probe, W @ probe); an entry goes when its model does.
_KEPT: "weakref.WeakKeyDictionary[torch.nn.Module, tuple]" = weakref.WeakKeyDictionary()

# At most this many rows go through the copy: beyond it the matrix-matrix product is as fast either way.
MAX_ROWS = 64


@torch.no_grad()
def transposed_head(model) -> torch.Tensor:
    """``model.lm_head.weight`` transposed (C, vocab), contiguous; the kept copy while the weight is unchanged."""
    w = model.lm_head.weight.detach()
    kept = _KEPT.get(model)
    if kept is not None and kept[0].shape == w.shape[::-1] and kept[0].dtype == w.dtype:
        head_t, probe, fingerprint = kept
        if probe.device == w.device and torch.equal(w @ probe, fingerprint):
            return head_t
    probe = torch.randn(w.shape[1], generator=torch.Generator().manual_seed(0)).to(w)  # (C,)
    if w.device.type == "cpu":  # in huge pages, which it streams faster (see huge_pages)
        head_t = aligned_empty(w.shape[::-1], w.dtype).copy_(w.t())  # (C, vocab)
        advise_huge_pages(head_t)
    else:
        head_t = w.t().contiguous()  # (C, vocab)
    _KEPT[model] = (head_t, probe, w @ probe)
    return head_t


class HeadLogits:
    """``logits = head(x)`` for the final hidden states ``x`` (..., C): ``model.lm_head(x)``, through the
    transposed copy for a few rows on a CPU. Made once per generation (the copy is checked then)."""

    def __init__(self, model):
        self.weight = model.lm_head.weight
        self.head_t = transposed_head(model) if self.weight.device.type == "cpu" else None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.head_t is None or x.numel() > MAX_ROWS * x.shape[-1]:
            return F.linear(x, self.weight)
        return x @ self.head_t
