"""The training loss over the LM head, in chunks of rows, never holding all B x T x vocab logits at once.

What it optimises: the plain loss, ``F.cross_entropy(h @ W^T, targets)``, makes three full (B*T, vocab) tensors
for GPT-2's 50,257 tokens: the logits, their log-softmax (kept for the backward pass) and, in the backward
pass, their gradient. At batch 8 x 256 each is 412 MB. Writing and reading them again costs time (the memory
passes of the softmax and the gradient, pages faulted in every step), and they set the peak memory of a small
model's training step.

How: :func:`lm_head_cross_entropy` walks the rows in chunks of :data:`CHUNK_ROWS`. For each chunk it computes
the logits into one reused buffer, turns them into probabilities in place, reads off the loss of each row, turns
the probabilities into the gradient of the logits in place (``softmax - onehot``: the one-hot is one subtraction
per row) and at once multiplies that gradient into the gradients of the hidden states (``dlogits @ W``) and of
the weight (``dlogits^T @ h``). So the forward pass already does the backward pass's work; what it keeps for
the backward pass is the two gradients, (N, C) and (vocab, C), which the backward pass scales by the gradient
of the loss. The arithmetic is the plain one's three matrix products; what goes is two of the three large
tensors and their memory passes.

Why it is safe: the loss is the mean over the rows whose target is not ``ignore_index``, as in
``F.cross_entropy``, and ``tests/test_engine_loss.py`` checks the loss and both gradients against the plain
computation to fp32 rounding (chunk sizes that do not divide the rows, ignored targets, tied weights, a trainer
step). A row's loss is read as ``-log p(target)``; should that probability underflow (a target logit about 87
below the row's largest), the row is computed again the plain way, so the loss stays exact.

The cost: the gradients are computed whether or not ``backward`` is called. The trainer always calls it; its
evaluation runs under ``torch.no_grad`` and so takes the forward-only path, which skips them.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

# Rows of logits computed at once: 1024 x 50,257 fp32 is 206 MB, a sixth of the three tensors the plain loss holds
# at batch 8 x 256, and enough rows for the weight's gradient (a product over the chunk's rows) to run at the
# matrix library's full speed (smaller chunks were slower, larger ones no faster: bench/train.py measures it).
CHUNK_ROWS = 1024

# Below this probability (float32's smallest normal number) -log p loses precision: such rows are recomputed.
_TINY = torch.finfo(torch.float32).tiny


@torch.compiler.disable  # data-dependent steps (the count of targets, the rare recomputed row): always eager
def lm_head_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, *,
                          ignore_index: int = -100, chunk_rows: int = CHUNK_ROWS) -> torch.Tensor:
    """``F.cross_entropy(hidden @ weight.T, targets, ignore_index=ignore_index)`` without all the logits at once.

    ``hidden`` (N, C) are the final hidden states, ``weight`` (vocab, C) the LM head (``nn.Linear``'s layout, the
    tied token embedding), ``targets`` (N,) token ids or ``ignore_index``. Returns the mean loss over the targets
    not ignored (NaN when every target is ignored, as ``F.cross_entropy`` gives).
    """
    _check(hidden, weight, targets, chunk_rows)
    if torch.is_autocast_enabled(hidden.device.type):  # the head's products in the autocast dtype, as F.linear's
        dtype = torch.get_autocast_dtype(hidden.device.type)
        hidden, weight = hidden.to(dtype), weight.to(dtype)
    if not (torch.is_grad_enabled() and (hidden.requires_grad or weight.requires_grad)):
        with torch.no_grad():
            return _loss_only(hidden, weight, targets, ignore_index, chunk_rows)
    return _LMHeadCrossEntropy.apply(hidden, weight, targets, ignore_index, chunk_rows)


def _check(hidden, weight, targets, chunk_rows) -> None:
    if not (isinstance(hidden, torch.Tensor) and isinstance(weight, torch.Tensor) and isinstance(targets, torch.Tensor)):
        raise ValueError("hidden, weight and targets must be torch tensors")
    if hidden.dim() != 2 or weight.dim() != 2 or targets.dim() != 1:
        raise ValueError(f"expected hidden (N, C), weight (vocab, C) and targets (N,), got shapes {tuple(hidden.shape)}, "
                         f"{tuple(weight.shape)} and {tuple(targets.shape)}")
    if hidden.shape[1] != weight.shape[1] or hidden.shape[0] != targets.shape[0]:
        raise ValueError(f"shapes do not fit together: hidden {tuple(hidden.shape)}, weight {tuple(weight.shape)}, "
                         f"targets {tuple(targets.shape)} (hidden (N, C), weight (vocab, C), targets (N,))")
    if not hidden.is_floating_point() or hidden.dtype != weight.dtype:
        raise ValueError(f"hidden and weight must have the same floating-point dtype, got {hidden.dtype} and {weight.dtype}")
    if targets.dtype not in (torch.long, torch.int, torch.int32):
        raise ValueError(f"targets must be integer token ids, got {targets.dtype}")
    if hidden.device != weight.device or hidden.device != targets.device:
        raise ValueError(f"hidden, weight and targets are on different devices ({hidden.device}, {weight.device}, "
                         f"{targets.device})")
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")


def _targets_in_range(targets, valid, vocab) -> torch.Tensor:
    """The targets with ignored ones replaced by 0 (any real id: their rows are skipped); a clear error for an id
    outside the vocabulary (F.cross_entropy raises too, less clearly)."""
    if targets.device.type == "cpu" and bool(valid.any()):
        lo, hi = int(targets[valid].min()), int(targets[valid].max())
        if lo < 0 or hi >= vocab:
            raise ValueError(f"targets must be token ids in [0, {vocab}) or the ignore_index, got values in [{lo}, {hi}]")
    return torch.where(valid, targets, 0).long()


def _probabilities_t(hidden, weight, buffer) -> torch.Tensor:
    """softmax(hidden @ weight.T) transposed, (vocab, rows), float32, in ``buffer`` when the dtypes allow.

    The logits are computed as ``weight @ hidden.T``: the same numbers, laid out (vocab, rows), which CPU matrix
    libraries (MKL) compute faster than ``hidden @ weight.T``, (rows, vocab) (``bench/train.py --breakdown``
    times it). The softmax over each column is then five passes over the chunk (largest logit, subtract, exp,
    sum, scale), all in place: (vocab, rows) tensors have no fast softmax kernel of their own
    (``torch.softmax(dim=0)`` is much slower), and copying into (rows, vocab) costs more than it saves.
    """
    rows = hidden.shape[0]
    logits_t = torch.mm(weight, hidden.t(), out=buffer[: weight.shape[0] * rows].view(-1, rows))  # (vocab, rows)
    probs = logits_t if logits_t.dtype == torch.float32 else logits_t.float()  # low precision: softmax in float32
    probs.sub_(probs.amax(dim=0)).exp_()
    return probs.mul_(probs.sum(dim=0).reciprocal_())


def _row_losses(probs_t, hidden, weight, targets) -> torch.Tensor:
    """-log p(target) for each row, from the chunk's (vocab, rows) probabilities; rows whose p underflowed are
    computed again the plain way."""
    p = probs_t.gather(0, targets[None, :]).squeeze(0)  # (rows,)
    losses = -torch.log(p)
    small = p < _TINY
    if bool(small.any()):
        rows = small.nonzero().squeeze(1)
        losses[rows] = F.cross_entropy((hidden[rows] @ weight.t()).float(), targets[rows], reduction="none")
    return losses


def _loss_only(hidden, weight, targets, ignore_index, chunk_rows) -> torch.Tensor:
    """The loss without gradients (evaluation): the plain loss, a chunk of rows at a time."""
    valid = targets != ignore_index
    _targets_in_range(targets, valid, weight.shape[0])
    total = torch.zeros((), dtype=torch.float32, device=hidden.device)
    for start in range(0, hidden.shape[0], chunk_rows):
        logits = (hidden[start:start + chunk_rows] @ weight.t()).float()  # (rows, vocab)
        total += F.cross_entropy(logits, targets[start:start + chunk_rows].long(), ignore_index=ignore_index,
                                 reduction="sum")
    return (total / valid.sum()).to(hidden.dtype)  # 0 / 0: NaN when every target is ignored, as F.cross_entropy


class _LMHeadCrossEntropy(torch.autograd.Function):
    """The loss, with both gradients computed chunk by chunk in the forward pass (see the module docstring)."""

    @staticmethod
    def forward(ctx, hidden, weight, targets, ignore_index, chunk_rows):
        N, vocab = hidden.shape[0], weight.shape[0]
        valid = targets != ignore_index  # (N,)
        safe = _targets_in_range(targets, valid, vocab)
        n_valid = int(valid.sum())
        scale = 1.0 / n_valid if n_valid else 0.0  # every target ignored: zero gradients and ...
        grad_hidden = torch.empty_like(hidden)  # (N, C)
        grad_weight = torch.zeros_like(weight) if N == 0 else None  # (vocab, C), from the first chunk's product
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        buffer = torch.empty(vocab * min(chunk_rows, N), dtype=hidden.dtype, device=hidden.device)
        columns = torch.arange(min(chunk_rows, N), device=hidden.device)
        for start in range(0, N, chunk_rows):
            stop = min(start + chunk_rows, N)
            h, t, v = hidden[start:stop], safe[start:stop], valid[start:stop]
            probs_t = _probabilities_t(h, weight, buffer)  # (vocab, rows)
            total += (_row_losses(probs_t, h, weight, t) * v).sum()
            # d loss / d logits = (softmax - onehot(target)) / n_valid, and 0 for an ignored row
            probs_t[t, columns[: stop - start]] -= 1.0
            if not bool(v.all()):
                probs_t[:, ~v] = 0.0
            dlogits_t = probs_t.to(hidden.dtype)  # (vocab, rows)
            # the 1 / n_valid of the mean rides on the products (alpha), which write straight into the results
            torch.addmm(grad_hidden[start:stop], dlogits_t.t(), weight, beta=0, alpha=scale,
                        out=grad_hidden[start:stop])  # (rows, C)
            if grad_weight is None:
                grad_weight = torch.mm(dlogits_t, h).mul_(scale)  # (vocab, C)
            else:
                grad_weight.addmm_(dlogits_t, h, alpha=scale)
        del buffer
        ctx.save_for_backward(grad_hidden, grad_weight)
        return (total * scale if n_valid else total * float("nan")).to(hidden.dtype)  # ... a NaN loss, as F.cross_entropy

    @staticmethod
    def backward(ctx, grad_loss):
        grad_hidden, grad_weight = ctx.saved_tensors
        if grad_loss.device.type == "cpu" and float(grad_loss) == 1.0:  # the usual case: no pass over the weight
            return grad_hidden, grad_weight, None, None, None
        return grad_hidden * grad_loss, grad_weight * grad_loss, None, None, None


class FusedLossGPT(nn.Module):
    """A GPT whose ``forward(idx, targets)`` returns ``(None, loss)`` through :func:`lm_head_cross_entropy`.

    The trainer's contract is ``logits, loss = model(x, y)``; training reads the loss only, so no logits are made
    (``None`` in their place). Without targets it is the model itself (logits). The parameters are the model's
    (``state_dict`` keys included, under ``model.``), so an optimizer, DDP or a checkpoint of ``wrapper.model`` see
    the same tensors: the LM head's weight, tied to the token embedding or not, receives the loss's gradient.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    @property
    def config(self):
        return self.model.config

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, **kwargs):
        if targets is None:
            return self.model(idx, **kwargs)
        if targets.shape != idx.shape:
            raise ValueError(f"targets have shape {tuple(targets.shape)}, expected {tuple(idx.shape)}")
        x = self.model.hidden_states(idx, **kwargs)  # (B, T, C)
        loss = lm_head_cross_entropy(x.reshape(-1, x.shape[-1]), self.model.lm_head.weight, targets.reshape(-1))
        return None, loss
