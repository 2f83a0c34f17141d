"""Exercise checks: transformer blocks, Pre-LN (GPT-2) and Post-LN (the 2017 Transformer).

Both orders are built here from the student's own submodules (``ln_1``, ``attn``, ``ln_2``, ``mlp``), each
with random, distinct LayerNorm weights, so that every ordering of the same pieces gives a different output.
A wrong block is matched against each classic mix-up computed the same way, and the message names it.
"""
from __future__ import annotations

import torch

from ._common import _call, _ok, _shape, _tensor, init_random

__all__ = ['check_pre_ln_block', 'check_post_ln_block']

_NAMES = ("ln_1", "attn", "ln_2", "mlp")


def _orders(block, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every ordering of the block's pieces a student writes, computed from its own submodules."""
    ln_1, attn, ln_2, mlp = (getattr(block, n) for n in _NAMES)
    out = {}
    h = x + attn(ln_1(x))
    out["pre"] = h + mlp(ln_2(h))
    h = ln_1(x + attn(x))
    out["post"] = ln_2(h + mlp(h))
    out["no_residual"] = mlp(ln_2(attn(ln_1(x))))
    out["post_no_residual"] = ln_2(mlp(ln_1(attn(x))))
    h = attn(ln_1(x))
    out["pre_no_attn_residual"] = h + mlp(ln_2(h))
    h = x + attn(ln_1(x))
    out["pre_no_mlp_residual"] = mlp(ln_2(h))
    h = ln_1(attn(x))
    out["post_no_attn_residual"] = ln_2(h + mlp(h))
    h = ln_1(x + attn(x))
    out["post_no_mlp_residual"] = ln_2(mlp(h))
    h = ln_1(x) + attn(ln_1(x))  # the stream itself replaced by its normalised version
    out["pre_normalised_stream"] = ln_2(h) + mlp(ln_2(h))
    h = x + attn(ln_2(x))
    out["pre_swapped"] = h + mlp(ln_1(h))
    h = ln_2(x + attn(x))
    out["post_swapped"] = ln_1(h + mlp(h))
    h = ln_1(x + attn(ln_1(x)))  # normalised before the sublayer as well as after the addition
    out["post_norm_on_branch"] = ln_2(h + mlp(ln_2(h)))
    return out


_PRE_MISTAKES = {
    "post": "this is a Post-LN block (LayerNorm after adding the residual); Pre-LN normalises the *input* of each "
            "sublayer: x + f(LN(x))",
    "no_residual": "the residual connections are missing: add each sublayer's output back to x",
    "pre_no_attn_residual": "the attention sublayer's residual is missing: x = x + self.attn(self.ln_1(x)), "
                            "not x = self.attn(self.ln_1(x))",
    "pre_no_mlp_residual": "the MLP sublayer's residual is missing: x = x + self.mlp(self.ln_2(x))",
    "pre_normalised_stream": "the residual stream itself is normalised (x = ln_1(x), then x + attn(x)): in Pre-LN only "
                             "the sublayer's input is normalised — add attn(ln_1(x)) to the un-normalised x",
    "pre_swapped": "ln_1 and ln_2 are swapped: ln_1 goes before attention, ln_2 before the MLP (each LayerNorm "
                   "has its own weights, and a checkpoint fills them by name)",
}

_POST_MISTAKES = {
    "pre": "this is the Pre-LN order (x + f(LN(x))); Post-LN adds first and normalises the sum: x = ln_1(x + attn(x))",
    "post_norm_on_branch": "the sublayer reads a normalised input as well: in Post-LN the sublayer reads the stream "
                           "as it is, attn(x), and only the sum is normalised, ln_1(x + attn(x))",
    "post_no_residual": "the residual connections are missing: normalise the *sum* x + f(x), not f(x) alone",
    "post_no_attn_residual": "the attention sublayer's residual is missing: x = self.ln_1(x + self.attn(x))",
    "post_no_mlp_residual": "the MLP sublayer's residual is missing: x = self.ln_2(x + self.mlp(x))",
    "post_swapped": "ln_1 and ln_2 are swapped: ln_1 normalises after attention, ln_2 after the MLP",
}


def _check_block(block_class, order: str, mistakes: dict[str, str], what: str, symptoms=None):
    from ..config import GPTConfig

    torch.manual_seed(0)
    config = GPTConfig.from_preset("nano", vocab_size=65)
    block = _call(block_class, config, name=f"{block_class.__name__}(config)")
    for name in _NAMES:
        if not hasattr(block, name):
            raise AssertionError(f"the block needs a submodule named {name!r} (GPT-2's names)")
    init_random(block.eval())  # distinct, non-trivial LayerNorms, so that the order of operations shows
    x = torch.randn(2, 5, config.n_embd) * 3 + 1
    with torch.no_grad():
        y = _tensor(_call(block, x, name="block(x)"), "block(x)")
        _shape(y, x.shape, "block(x)")
        orders = _orders(block, x)
    if not torch.allclose(y, orders[order], atol=1e-5):
        for name, message in mistakes.items():
            if torch.allclose(y, orders[name], atol=1e-5):
                raise AssertionError(message)
        if symptoms is not None:
            symptoms(y)
        raise AssertionError(f"the output differs from {what}")
    x2 = x.clone()
    x2[:, -1] += 1.0
    with torch.no_grad():
        if not torch.allclose(block(x2)[:, :-1], y[:, :-1], atol=1e-5):
            raise AssertionError("changing a future token changed an earlier output: the block leaks")
    return y


def _normalised_output(y: torch.Tensor) -> None:
    if (y.mean(-1).abs() < 1e-4).all() and (y.std(-1) - 1).abs().max() < 0.3:
        raise AssertionError("the output looks normalised: in a Pre-LN block the residual stream itself is never "
                             "normalised")


def check_pre_ln_block(block_class) -> None:
    """``block_class(config)`` has ``ln_1, attn, ln_2, mlp`` and computes x + attn(ln_1(x)), then + mlp(ln_2(.))."""
    _check_block(block_class, "pre", _PRE_MISTAKES, "x + attn(ln_1(x)) followed by h + mlp(ln_2(h))",
                 symptoms=_normalised_output)
    _ok("Pre-LN block: x + attn(ln_1(x)), then + mlp(ln_2(.)); residual stream left un-normalised")


def check_post_ln_block(block_class) -> None:
    """``block_class(config)`` has ``ln_1, attn, ln_2, mlp`` and computes h = ln_1(x + attn(x)), then
    ln_2(h + mlp(h))."""
    _check_block(block_class, "post", _POST_MISTAKES, "h = ln_1(x + attn(x)) followed by ln_2(h + mlp(h))")
    _ok("Post-LN block: ln_1(x + attn(x)), then ln_2(. + mlp(.)); each sum normalised")
