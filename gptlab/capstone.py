"""Assemble one GPT from the pieces a student wrote across the exercises, and prove it is GPT-2.

:func:`gptlab.exercises.own_pieces` finds the student's classes (``LayerNorm``, ``GELU``, ``MLP``,
``CausalSelfAttention``, ``Block``, ``GPT``) or the course's where one is missing. :func:`assemble_gpt`
builds a model from them carrying a reference model's weights, the largest piece first: the student's
whole ``GPT`` if it loads those weights and gives the same logits, else a model with the course's skeleton
whose blocks, attention layers, MLPs and LayerNorms are the student's wherever each one gives the same
output as the course's piece on the same weights. A piece that cannot be built, cannot take the weights
or disagrees is replaced by the course's and the reason printed, so the assembled model always works
and always says whose each part is.

Weights are copied by GPT-2 name. A student's ``nn.Linear`` stores its weight (out, in) where GPT-2's
``Conv1D`` layout (the course's ``Projection``) stores (in, out): such weights are transposed on the way in.
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from .model import GPT, MLP, Block, CausalSelfAttention

__all__ = ["AssembledGPT", "PreLNBlock", "TanhGELU", "assemble_gpt", "course_pieces"]


class TanhGELU(nn.Module):
    """GPT-2's GELU, the tanh approximation: the course's stand-in for a student's ``GELU``."""

    def forward(self, x):
        return F.gelu(x, approximate="tanh")


def course_pieces() -> dict[str, object]:
    """The course's version of each piece, the fallback :func:`own_pieces` uses."""
    return {"LayerNorm": nn.LayerNorm, "GELU": TanhGELU, "MLP": MLP, "CausalSelfAttention": CausalSelfAttention,
            "Block": Block, "GPT": GPT}


class PreLNBlock(nn.Module):
    """``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))``, calling each piece with ``x`` alone (the interface of
    the exercises' pieces)."""

    def __init__(self, ln_1, attn, ln_2, mlp):
        super().__init__()
        self.ln_1, self.attn, self.ln_2, self.mlp = ln_1, attn, ln_2, mlp

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class AssembledGPT(nn.Module):
    """GPT-2's skeleton with GPT-2's names (``transformer.wte``, ``wpe``, ``h``, ``ln_f``; ``lm_head`` tied to
    ``wte``) around whatever blocks it is given: ``(B, T)`` ids -> ``(B, T, V)`` logits."""

    def __init__(self, config, blocks, ln_f):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            h=nn.ModuleList(blocks),
            ln_f=ln_f,
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx):
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)  # (B, T, C)
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))  # (B, T, V)


def _logits(model, idx):
    out = model(idx)
    return out[0] if isinstance(out, tuple) else out


def _copy_weights(target: nn.Module, source: nn.Module) -> None:
    """Copy ``source``'s parameters into ``target`` by name, transposing where one side is ``nn.Linear`` and
    the other is not (GPT-2's Conv1D layout). Raises ``ValueError`` naming the first mismatch."""
    theirs = dict(source.named_parameters(remove_duplicate=False))
    mine = dict(target.named_parameters(remove_duplicate=False))
    missing, unexpected = sorted(set(theirs) - set(mine)), sorted(set(mine) - set(theirs))
    if missing or unexpected:
        raise ValueError(f"parameter names differ from GPT-2's: missing {missing[:3]}, unexpected {unexpected[:3]}")
    modules_t, modules_s = dict(target.named_modules()), dict(source.named_modules())
    with torch.no_grad():
        for name, p in mine.items():
            q = theirs[name]
            owner = name.rpartition(".")[0]
            linear_t = isinstance(modules_t.get(owner), nn.Linear)
            linear_s = isinstance(modules_s.get(owner), nn.Linear)
            if q.dim() == 2 and linear_t != linear_s:
                q = q.T
            if p.shape != q.shape:
                raise ValueError(f"{name} has shape {tuple(p.shape)}, GPT-2's is {tuple(q.shape)}")
            p.copy_(q)


def _same(mine: nn.Module, reference: nn.Module, x: torch.Tensor) -> float | None:
    """None when both give the same output on ``x``, else the largest difference."""
    with torch.no_grad():
        a, b = _logits(mine, x) if x.dtype == torch.long else mine(x), (
            _logits(reference, x) if x.dtype == torch.long else reference(x))
    if a.shape != b.shape:
        return float("inf")
    diff = float((a - b).abs().max())
    return None if diff <= 1e-4 else diff


def _build(kind: str, cls, config):
    return cls(config.n_embd) if kind == "LayerNorm" else cls(config)


def _take(kind, pieces, reference_module, config, x, log, where):
    """The student's ``kind`` carrying ``reference_module``'s weights if it agrees with it, else the reference."""
    cls = pieces.get(kind)
    if cls is None or cls is course_pieces()[kind]:
        return reference_module, False
    try:
        mine = _build(kind, cls, config).eval()
        _copy_weights(mine, reference_module)
        diff = _same(mine, reference_module, x)
    except Exception as exc:  # a student's class may fail in any way: report it and use the course's
        _once(log, kind, f"yours could not take GPT-2's weights ({type(exc).__name__}: {exc}); using the course's")
        return reference_module, False
    if diff is not None:
        _once(log, kind, f"yours differs from the course's by up to {diff:.2g} {where}; using the course's")
        return reference_module, False
    return mine, True


def _once(log: list[str], kind: str, message: str) -> None:
    """One line per piece: the first place a piece was set aside says enough."""
    if not any(line.startswith(f"{kind}: ") for line in log):
        log.append(f"{kind}: {message}")


def assemble_gpt(pieces: dict, reference: GPT, *, verbose: bool = True) -> tuple[nn.Module, dict[str, str]]:
    """A model made of ``pieces`` (name -> class) with ``reference``'s weights, and who wrote which part.

    Returns ``(model, whose)``: ``whose`` maps each piece name to ``"yours"`` or ``"the course's"`` (with
    the reason where a piece of yours was set aside). The model's logits equal ``reference``'s.
    """
    config = reference.config
    reference = copy.deepcopy(reference).eval()  # the assembled model may share its modules: keep the caller's apart
    ids = torch.randint(0, config.vocab_size, (2, min(16, config.block_size)), generator=torch.Generator().manual_seed(0))
    x = torch.randn(2, ids.shape[1], config.n_embd, generator=torch.Generator().manual_seed(1))
    log: list[str] = []
    used: dict[str, bool] = {}

    model, used["GPT"] = _take("GPT", pieces, reference, config, ids, log, "on the same ids")
    if used["GPT"]:
        for kind in ("Block", "CausalSelfAttention", "MLP", "LayerNorm"):
            used[kind] = pieces.get(kind) not in (None, course_pieces()[kind])  # inside your GPT, as you wrote it
    else:
        blocks = []
        for i, ref_block in enumerate(reference.transformer.h):
            block, used_block = _take("Block", pieces, ref_block, config, x, log, f"in block {i}")
            if not used_block:
                parts = {}
                for name, kind in (("ln_1", "LayerNorm"), ("attn", "CausalSelfAttention"), ("ln_2", "LayerNorm"),
                                   ("mlp", "MLP")):
                    parts[name], used_part = _take(kind, pieces, getattr(ref_block, name), config, x, log,
                                                   f"as block {i}'s {name}")
                    used[kind] = used.get(kind, True) and used_part
                block = PreLNBlock(parts["ln_1"], parts["attn"], parts["ln_2"], parts["mlp"])
            used["Block"] = used.get("Block", True) and used_block
            blocks.append(block)
        ln_f, used_ln = _take("LayerNorm", pieces, reference.transformer.ln_f, config, x, log, "as ln_f")
        used["LayerNorm"] = used.get("LayerNorm", True) and used_ln
        model = AssembledGPT(config, blocks, ln_f)
        with torch.no_grad():
            model.transformer.wte.weight.copy_(reference.transformer.wte.weight)
            model.transformer.wpe.weight.copy_(reference.transformer.wpe.weight)
        model.eval()
    for block in model.transformer.h:  # cached attention reads n_head; a layer that keeps it elsewhere gets it
        if not hasattr(block.attn, "n_head"):
            block.attn.n_head = config.n_head
    gelu = pieces.get("GELU")
    used["GELU"] = gelu not in (None, course_pieces()["GELU"]) and _gelu_agrees(gelu, log)
    whose = {kind: "yours" if used.get(kind) else "the course's" for kind in course_pieces()}
    if verbose:
        for line in log:
            print(line)
        for kind, who in whose.items():
            print(f"{kind:>20}: {who}")
    return model, whose


def _gelu_agrees(gelu, log) -> bool:
    x = torch.linspace(-6, 6, 101)
    try:
        diff = float((gelu()(x) - F.gelu(x, approximate="tanh")).abs().max())
    except Exception as exc:
        log.append(f"GELU: yours does not run ({type(exc).__name__}: {exc})")
        return False
    if diff > 1e-5:
        log.append(f"GELU: yours differs from GPT-2's tanh approximation by up to {diff:.2g}")
        return False
    return True
