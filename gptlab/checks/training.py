"""Exercise checks: the training loop's pieces (weight-decay groups, learning-rate schedule, one optimizer
step with accumulation and clipping, evaluation).

The references are computed here: the schedule from its formula, the expected update from autograd's
gradient of the mean loss on a copy of the model, clipped by hand.
"""
from __future__ import annotations

import copy
import math

import torch

from ._common import _ok
from .gpt import _run

__all__ = ["check_param_groups", "check_lr_schedule", "check_train_step", "check_evaluate"]


def _tiny_model(dropout: float = 0.0, tie: bool = True, seed: int = 0):
    from ..config import GPTConfig
    from ..model import GPT

    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=40, block_size=16, n_layer=2, n_head=2, n_embd=16, dropout=dropout,
                         tie_weights=tie))


def check_param_groups(param_groups) -> None:
    """``param_groups(model, weight_decay)`` -> AdamW groups: decay on every 2-D tensor (matrices and the
    embeddings), none on biases and LayerNorm parameters; each parameter in exactly one group."""
    model = _tiny_model()
    groups = _run(param_groups, model, 0.1, what="param_groups(model, 0.1)")
    if not isinstance(groups, (list, tuple)) or not all(isinstance(g, dict) and "params" in g for g in groups):
        raise AssertionError("param_groups should return a list of dicts, each with 'params' and 'weight_decay'")
    decay_of, names = {}, {id(p): n for n, p in model.named_parameters()}
    for g in groups:
        for p in g["params"]:
            if id(p) in decay_of:
                raise AssertionError(f"{names.get(id(p), 'a parameter')} is in two groups (or twice in one): "
                                     "list each Parameter once (model.parameters() yields a tied one once)")
            decay_of[id(p)] = float(g.get("weight_decay", 0.0))
    for name, p in model.named_parameters():
        if id(p) not in decay_of:
            raise AssertionError(f"{name} is in no group: the optimizer would never update it")
        want = 0.1 if p.dim() >= 2 else 0.0
        got = decay_of[id(p)]
        if got == want:
            continue
        if ".ln_" in f".{name}":
            raise AssertionError(f"{name} is decayed: LayerNorm gains and shifts get no weight decay (it would "
                                 "pull the gain towards 0 and shrink the normalised activations)")
        if name.endswith("bias"):
            raise AssertionError(f"{name} is decayed: biases get no weight decay (they do not scale the input, "
                                 "decaying them only adds a pull towards 0)")
        if "wte" in name or "wpe" in name:
            raise AssertionError(f"{name} is not decayed: this exercise follows GPT-1 and nanoGPT, which decay "
                                 "every weight that is not a bias or a gain, embeddings included (minGPT exempts "
                                 "them; here every 2-D tensor decays)")
        raise AssertionError(f"{name} has weight_decay {got}, expected {want}: decay every 2-D tensor, nothing else")
    _ok("parameter groups: decay on matrices and embeddings, none on biases and LayerNorms")


def _lr(step, max_lr, min_lr, warmup, total):
    if step < warmup:
        return max_lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (max_lr - min_lr)


def check_lr_schedule(lr_at) -> None:
    """``lr_at(step, max_lr, min_lr, warmup_steps, max_steps)``: linear warm-up to ``max_lr`` over steps
    0 .. warmup-1 (step 0 already moves), then a cosine down to ``min_lr`` at ``max_steps``, flat after."""
    args = dict(max_lr=1.0, min_lr=0.1, warmup_steps=10, max_steps=110)
    steps = list(range(0, 131))
    got = [float(_run(lr_at, s, *args.values(), what=f"lr_at({s}, ...)")) for s in steps]
    want = [_lr(s, *args.values()) for s in steps]
    if all(abs(g - w) < 1e-6 for g, w in zip(got, want)):
        _ok("learning-rate schedule: warm-up from step 0, cosine to the floor, flat after")
        return
    if abs(got[0]) < 1e-9:
        raise AssertionError("lr_at(0) is 0: the first update is wasted (off by one step); warm up as "
                             "max_lr * (step + 1) / warmup_steps, so step warmup_steps - 1 reaches max_lr")
    if all(abs(g - w) < 1e-6 for g, w in zip(got[:10], want[:10])):
        if abs(got[110]) < 1e-6:
            raise AssertionError(f"lr_at({args['max_steps']}) is 0: the cosine must end at min_lr, not at 0")
        if abs(got[110] - 0.1) < 1e-6 and any(g > 0.1 + 1e-6 for g in got[111:]):
            raise AssertionError("after max_steps the learning rate rises again: the cosine goes past its "
                                 "minimum; stay at min_lr once step >= max_steps")
        if abs(got[10] - 1.0) > 1e-6:
            raise AssertionError(f"lr_at(warmup_steps) = {got[10]:.4f}: the cosine starts at max_lr right after "
                                 "the warm-up; its progress is (step - warmup) / (max_steps - warmup)")
    bad = next(s for s in steps if abs(got[s] - want[s]) >= 1e-6)
    raise AssertionError(f"lr_at({bad}) = {got[bad]:.4f}, expected {want[bad]:.4f} (max_lr 1, min_lr 0.1, warm-up 10, "
                         "max_steps 110)")


def _batches(n, seed):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randint(0, 40, (2, 16), generator=g), torch.randint(0, 40, (2, 16), generator=g)) for _ in range(n)]


def _reference_grads(model, micro):
    ref = copy.deepcopy(model)
    loss = sum(ref(x, y)[1] for x, y in micro) / len(micro)
    loss.backward()
    return [p.grad.clone() for p in ref.parameters()], loss.item()


def _clipped(grads, max_norm):
    norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = min(1.0, max_norm / (float(norm) + 1e-6))
    return [g * scale for g in grads]


def _close(a, b, tol=1e-5):
    return all(torch.allclose(x, y, atol=tol, rtol=1e-4) for x, y in zip(a, b))


def check_train_step(train_step) -> None:
    """``train_step(model, optimizer, micro_batches, grad_clip)``: one update from the mean gradient over the
    micro-batches, clipped to norm ``grad_clip``; returns the mean loss."""
    model = _tiny_model()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)  # the update is then minus the gradient
    for call, micro in enumerate((_batches(3, 1), _batches(3, 2))):
        before = [p.detach().clone() for p in model.parameters()]
        grads, mean_loss = _reference_grads(model, micro)
        loss = _run(train_step, model, opt, micro, 1e9, what="train_step(model, optimizer, batches, 1e9)")
        update = [b - p.detach() for b, p in zip(before, model.parameters())]
        if not _close(update, grads):
            if _close(update, [3 * g for g in grads]):
                raise AssertionError("the update is 3x too big with 3 micro-batches: divide each micro-batch's "
                                     "loss by the number of micro-batches before backward()")
            if call == 1 and _close(update, [g + h for g, h in zip(grads, previous)]):
                raise AssertionError("the second step also applied the first step's gradient: call "
                                     "optimizer.zero_grad() at the start of every step")
            raise AssertionError("the update is not minus the mean gradient over the micro-batches (with plain SGD, "
                                 "lr 1): one backward per micro-batch, one optimizer.step() at the end")
        previous = grads
        if not isinstance(loss, (int, float)) or abs(float(loss) - mean_loss) > 1e-4:
            raise AssertionError(f"train_step returned {loss!r}, expected the mean loss over the micro-batches "
                                 f"as a float ({mean_loss:.4f}; loss.item())")
    model = _tiny_model(seed=1)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    micro = _batches(2, 3)
    before = [p.detach().clone() for p in model.parameters()]
    grads, _ = _reference_grads(model, micro)
    _run(train_step, model, opt, micro, 0.05, what="train_step(model, optimizer, batches, 0.05)")
    update = [b - p.detach() for b, p in zip(before, model.parameters())]
    if not _close(update, _clipped(grads, 0.05), tol=1e-6):
        if _close(update, grads, tol=1e-6):
            raise AssertionError("the update was not clipped: call clip_grad_norm_(model.parameters(), grad_clip) "
                                 "after the last backward() and before optimizer.step()")
        raise AssertionError("the update is not the mean gradient clipped to norm grad_clip")
    _ok("train step: mean gradient over micro-batches, zeroed each step, clipped before the update")


def check_evaluate(evaluate) -> None:
    """``evaluate(model, batches)`` -> the mean loss over ``batches`` in eval mode (no dropout), without
    gradients, leaving the model in the mode it found it in."""
    model = _tiny_model(dropout=0.5).train()
    batches = _batches(4, 5)
    with torch.no_grad():
        model.eval()
        want = sum(float(model(x, y)[1]) for x, y in batches) / len(batches)
        model.train()
    got = _run(evaluate, model, batches, what="evaluate(model, batches)")
    if not model.training:
        raise AssertionError("after evaluate the model is left in eval mode: dropout stays off for the rest of "
                             "training; call model.train() again at the end")
    if not isinstance(got, (int, float)):
        raise AssertionError(f"evaluate should return a float (loss.item()), got {type(got).__name__}")
    if abs(got - want) > 1e-4:
        for m in model.modules():  # the same weights with dropout off: does it agree then?
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
            if isinstance(getattr(m, "dropout", None), float):
                m.dropout = 0.0
        again = _run(evaluate, model, batches, what="evaluate(model, batches)")
        if abs(again - want) < 1e-4:
            raise AssertionError("dropout was on during evaluation: call model.eval() before computing the losses "
                                 "(and model.train() after)")
        raise AssertionError(f"evaluate gives {got:.4f}, expected the mean loss over the batches {want:.4f}")
    if any(p.grad is not None for p in model.parameters()):
        raise AssertionError("evaluate left gradients on the parameters: compute the losses under torch.no_grad()")
    _ok("evaluate: mean held-out loss in eval mode, model back in training mode")
