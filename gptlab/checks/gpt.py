"""Exercise checks: the whole GPT (assembly, loss, initialisation, tied head, parameter count).

The student's ``GPT`` is built from pieces the exercise hands them (the course's ``Block``, or their own
from exercise 05), so the references here run *those* blocks and compute everything around them (the
embeddings, the final LayerNorm, the tied head, the loss) from first principles.
"""
from __future__ import annotations

import math

import torch

from ._common import _ok

__all__ = ["check_gpt", "check_gpt_init", "check_tied_head", "check_param_formula", "check_param_count",
           "fill_seeded"]

REQUIRED_NAMES = ("transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.weight",
                  "transformer.ln_f.bias", "lm_head.weight", "transformer.h.0.ln_1.weight",
                  "transformer.h.0.attn.c_attn.weight", "transformer.h.0.mlp.c_fc.weight")


def fill_seeded(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every parameter seeded random values, visited in the sorted order of the state-dict names.

    Two models with the same parameter names and shapes get the same weights, whatever order their
    ``__init__`` created them in; a shared (tied) tensor is filled once, at its first name in that order.
    LayerNorm gains lie around 1 so that the normalisation stays visible.
    """
    g = torch.Generator().manual_seed(seed)
    seen = set()
    with torch.no_grad():
        for name, p in sorted(model.state_dict(keep_vars=True).items()):
            if id(p) in seen or not p.is_floating_point():
                continue
            seen.add(id(p))
            if p.dim() == 1 and ".ln_" in f".{name}" and name.endswith("weight"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            elif p.dim() >= 2:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.rand(p.shape, generator=g) - 0.1)
    return model


def _build(GPT, config, what: str = "GPT(config)"):
    try:
        return GPT(config)
    except Exception as exc:
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}") from None


def _run(fn, *args, what: str):
    try:
        return fn(*args)
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}") from None


def _layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)  # biased: divides by C
    return (x - mean) / torch.sqrt(var + eps) * weight + (0 if bias is None else bias)


def _reference_logits(model, idx, eps, *, positions="arange", ln_f=True):
    """wte[idx] + wpe[positions] -> the model's own blocks -> ln_f -> x @ wte^T, spelled out."""
    t = model.transformer
    T = idx.shape[1]
    x = t.wte.weight[idx]  # (B, T, C)
    if positions == "arange":
        x = x + t.wpe.weight[torch.arange(T)]
    elif positions == "token_ids":
        x = x + t.wpe.weight[idx]
    for block in t.h:
        x = block(x)
    if ln_f:
        x = _layer_norm(x, t.ln_f.weight, getattr(t.ln_f, "bias", None), eps)
    return x @ t.wte.weight.T  # (B, T, V)


def _reference_loss(logits, targets, *, shift_again=False, reduction="mean"):
    """Mean over the positions whose target is not -100 of -log softmax(logits)[target]."""
    if shift_again:
        logits, targets = logits[:, :-1], targets[:, 1:]
    logp = logits - logits.logsumexp(-1, keepdim=True)  # (B, T, V)
    keep = targets != -100
    picked = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # (B, T)
    total = -(picked * keep).sum()
    return total if reduction == "sum" else total / keep.sum()


def _names_and_tying(model, where: str) -> None:
    names = set(model.state_dict().keys())
    missing = [n for n in REQUIRED_NAMES if n not in names]
    if "transformer.ln_f.weight" in missing:
        raise AssertionError(f"{where}: there is no transformer.ln_f: GPT-2 is Pre-LN, so the residual stream "
                             "leaves the last block un-normalised; add a final LayerNorm ln_f before the head")
    if missing:
        raise AssertionError(f"{where}: parameters {', '.join(missing)} are missing; use GPT-2's names "
                             "(transformer.wte, transformer.wpe, transformer.h, transformer.ln_f, lm_head)")
    head, wte = model.lm_head.weight, model.transformer.wte.weight
    if head is not wte:
        if head.shape == wte.shape and torch.equal(head, wte):
            raise AssertionError(f"{where}: lm_head.weight equals wte.weight but is a copy, not the same "
                                 "Parameter: a copy drifts apart in training; assign the Parameter itself "
                                 "(self.lm_head.weight = self.transformer.wte.weight)")
        raise AssertionError(f"{where}: lm_head.weight is not the token embedding: tie them "
                             "(self.lm_head.weight = self.transformer.wte.weight)")


def check_gpt(GPT) -> None:
    """``GPT(config)``: GPT-2's names, a tied head, ``model(idx)`` -> logits, ``model(idx, targets)`` -> (logits, loss)."""
    from ..config import GPTConfig

    config = GPTConfig(vocab_size=50, block_size=64, n_layer=2, n_head=2, n_embd=32, dropout=0.0)
    torch.manual_seed(0)
    model = _build(GPT, config)
    _names_and_tying(model, "GPT(config)")
    fill_seeded(model, seed=1).eval()
    g = torch.Generator().manual_seed(2)
    idx = torch.randint(0, config.vocab_size, (2, 11), generator=g)  # (B, T)
    with torch.no_grad():
        out = _run(model, idx, what="model(idx)")
        if isinstance(out, tuple):
            raise AssertionError("model(idx) without targets returned a tuple: return the logits alone "
                                 "(and (logits, loss) only when targets are given)")
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, 11, config.vocab_size):
            raise AssertionError(f"model(idx) should return logits of shape (B, T, vocab) = (2, 11, 50), "
                                 f"got {getattr(out, 'shape', type(out).__name__)}")
        expected = _reference_logits(model, idx, config.layer_norm_eps)
        if not torch.allclose(out, expected, atol=1e-4, rtol=1e-4):
            variants = {
                "the final LayerNorm ln_f is not applied: call it on the residual stream after the last block": dict(ln_f=False),
                "the position embedding is looked up with the token ids: positions are 0 .. T-1, "
                "wpe(torch.arange(T))": dict(positions="token_ids"),
                "no position embedding is added: x = wte(idx) + wpe(positions)": dict(positions=None),
            }
            for message, kw in variants.items():
                if torch.allclose(out, _reference_logits(model, idx, config.layer_norm_eps, **kw), atol=1e-4, rtol=1e-4):
                    raise AssertionError(f"model(idx): {message}")
            raise AssertionError("model(idx) gives the wrong logits: the path is wte(idx) + wpe(0..T-1) -> each "
                                 "block -> ln_f -> lm_head (the tied matrix)")
        targets = torch.randint(0, config.vocab_size, (2, 11), generator=g)
        targets[0, :3] = -100  # padding: ignored by the loss
        out = _run(model, idx, targets, what="model(idx, targets)")
        if not (isinstance(out, tuple) and len(out) == 2):
            raise AssertionError("model(idx, targets) should return the pair (logits, loss)")
        loss = out[1]
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise AssertionError(f"the loss should be a 0-dim tensor, got {getattr(loss, 'shape', type(loss).__name__)}")
        want = _reference_loss(expected, targets)
        if not torch.allclose(loss, want, atol=1e-4):
            if torch.allclose(loss, _reference_loss(expected, targets, shift_again=True), atol=1e-4):
                raise AssertionError("the loss shifts the targets again: targets[b, t] already is the token "
                                     "after idx[b, t] (the batches come shifted, as in nanoGPT); compare logits[:, t] "
                                     "with targets[:, t]")
            if torch.allclose(loss, _reference_loss(expected, targets, reduction="sum"), atol=1e-3):
                raise AssertionError("the loss is summed over positions: take the mean (cross-entropy per token)")
            if torch.allclose(loss, _reference_loss(expected, targets.clamp(min=0)), atol=1e-4):
                raise AssertionError("targets equal to -100 must be ignored (padding): use ignore_index=-100")
            raise AssertionError(f"loss {float(loss):.4f}, expected {float(want):.4f}: the mean cross-entropy of "
                                 "logits (B*T, V) against targets (B*T,)")
    _ok("GPT: GPT-2's names, tied head, ln_f, logits and loss as expected")


def check_gpt_init(GPT) -> None:
    """GPT-2's initialisation: N(0, 0.02) weights and embeddings, residual projections (``c_proj``) scaled
    by 1/sqrt(2 * n_layer), zero biases, LayerNorm gains 1."""
    from ..config import GPTConfig

    L = 4
    config = GPTConfig(vocab_size=512, block_size=64, n_layer=L, n_head=4, n_embd=128, dropout=0.0)
    torch.manual_seed(0)
    params = dict(_build(GPT, config).named_parameters())

    def std(name):
        return float(params[name].detach().float().std())

    for name in ("transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.attn.c_attn.weight",
                 "transformer.h.0.mlp.c_fc.weight"):
        s = std(name)
        if abs(s - 0.02) > 0.002:
            hint = ": that is nn.Embedding's default, N(0, 1)" if abs(s - 1.0) < 0.05 else ""
            raise AssertionError(f"{name} has std {s:.4f}, GPT-2 initialises it N(0, 0.02){hint}")
    scaled = 0.02 / math.sqrt(2 * L)
    for name in ("transformer.h.0.attn.c_proj.weight", "transformer.h.3.mlp.c_proj.weight"):
        s = std(name)
        if abs(s - 0.02) < 0.002:
            raise AssertionError(f"{name} has std {s:.4f} = 0.02: the residual projections (c_proj) must be "
                                 f"scaled by 1/sqrt(2 * n_layer), std {scaled:.4f}: each of the 2 * n_layer "
                                 "residual branches adds to the stream")
        if abs(s - 0.02 / math.sqrt(L)) < 0.0005:
            raise AssertionError(f"{name} has std {s:.4f} = 0.02/sqrt(n_layer): there are two residual branches "
                                 f"per block (attention and MLP), so scale by 1/sqrt(2 * n_layer), std {scaled:.4f}")
        if abs(s - scaled) > 0.0007:
            raise AssertionError(f"{name} has std {s:.4f}, expected 0.02/sqrt(2 * n_layer) = {scaled:.4f}")
    for name, p in params.items():
        if name.endswith("bias") and p.abs().max() > 0:
            raise AssertionError(f"{name} is not zero: GPT-2 starts every bias at 0")
        if ".ln_" in f".{name}" and name.endswith("weight") and not torch.all(p == 1):
            raise AssertionError(f"{name} is not all ones: a LayerNorm gain starts at 1")
    _ok(f"GPT-2 initialisation: N(0, 0.02), residual projections N(0, {scaled:.4f}), zero biases, unit gains")


def check_tied_head(tie) -> None:
    """``tie(model)`` makes ``lm_head.weight`` *the same tensor* as ``transformer.wte.weight``."""
    from ..config import GPTConfig
    from ..model import GPT

    torch.manual_seed(0)
    model = GPT(GPTConfig.from_preset("nano", vocab_size=65, tie_weights=False))
    before = sum(p.numel() for p in model.parameters())
    tie(model)
    if model.lm_head.weight is not model.transformer.wte.weight:
        if torch.equal(model.lm_head.weight, model.transformer.wte.weight):
            raise AssertionError("the two weights are equal but not shared: a copy drifts apart during training; "
                                 "assign the Parameter itself")
        raise AssertionError("lm_head.weight is not the token embedding")
    after = sum(p.numel() for p in model.parameters())
    if before - after != 65 * model.config.n_embd:
        raise AssertionError(f"tying should save vocab_size * n_embd = {65 * model.config.n_embd} parameters, "
                             f"saved {before - after}")
    _ok("weight tying: one shared (V, C) matrix embeds tokens and scores them")


# ---------------------------------------------------------------------------------------------- GPT-2 sizes


def check_param_formula(n_params) -> None:
    """``n_params(n_layer, n_embd, vocab_size, block_size)`` -> parameter count of tied GPT-2 with biases."""
    from ..config import GPTConfig
    from ..model import GPT

    for preset in ("nano", "micro"):
        config = GPTConfig.from_preset(preset, vocab_size=97)
        model = GPT(config)
        expected = sum(p.numel() for p in model.parameters())
        got = int(n_params(config.n_layer, config.n_embd, config.vocab_size, config.block_size))
        if got != expected:
            diff = got - expected
            C, V = config.n_embd, config.vocab_size
            hint = ""
            if diff == V * C:
                hint = ": you counted the output head separately, but it is tied to the token embedding"
            elif diff == -2 * C:
                hint = ": the final LayerNorm ln_f is missing"
            elif diff % config.n_layer == 0:
                hint = f": {diff // config.n_layer:+d} per layer — recount one block"
            raise AssertionError(f"{preset}: formula gives {got:,}, the model has {expected:,}{hint}")
    _ok("parameter formula: matches a real model at two sizes")


def check_param_count(count) -> None:
    """``count(model)`` -> the number of distinct parameters (a tied matrix counted once)."""
    from ..config import GPTConfig
    from ..model import GPT

    model = GPT(GPTConfig.from_preset("nano", vocab_size=97))
    sd = model.state_dict()
    distinct = {t.data_ptr(): t.numel() for t in sd.values()}  # tied tensors share their storage
    expected = sum(distinct.values())
    got = _run(count, model, what="count(model)")
    if int(got) != expected:
        if int(got) == sum(t.numel() for t in sd.values()):
            raise AssertionError(f"count gives {int(got):,}, the model has {expected:,}: the tied matrix is counted "
                                 "twice (state_dict() lists it as wte.weight and lm_head.weight); "
                                 "model.parameters() yields each Parameter once")
        raise AssertionError(f"count gives {int(got):,}, the model has {expected:,} distinct parameters")
    _ok("parameter count: each tensor once, the tied matrix included")
