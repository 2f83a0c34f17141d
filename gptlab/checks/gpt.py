"""Exercise checks: the whole GPT (tied head, parameter count)."""
from __future__ import annotations


import torch

from ._common import _ok

__all__ = ['check_tied_head', 'check_param_formula']


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
