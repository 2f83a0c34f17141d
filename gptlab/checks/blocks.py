"""Exercise checks: transformer blocks."""
from __future__ import annotations


import torch

from ._common import _ok, _shape, _tensor, init_random

__all__ = ['check_pre_ln_block']


def check_pre_ln_block(block_class) -> None:
    """``block_class(config)`` has ``ln_1, attn, ln_2, mlp`` and computes x + attn(ln_1(x)), then + mlp(ln_2(.))."""
    from ..config import GPTConfig

    torch.manual_seed(0)
    config = GPTConfig.from_preset("nano", vocab_size=65)
    block = block_class(config)
    for name in ("ln_1", "attn", "ln_2", "mlp"):
        if not hasattr(block, name):
            raise AssertionError(f"the block needs a submodule named {name!r} (GPT-2's names)")
    init_random(block.eval())  # non-trivial LayerNorms, so that the order of operations shows
    x = torch.randn(2, 5, config.n_embd) * 3 + 1
    y = _tensor(block(x), "block(x)")
    _shape(y, x.shape, "block(x)")
    with torch.no_grad():
        h = x + block.attn(block.ln_1(x))
        pre = h + block.mlp(block.ln_2(h))
        post_h = block.ln_1(x + block.attn(x))
        post = block.ln_2(post_h + block.mlp(post_h))
        no_residual = block.mlp(block.ln_2(block.attn(block.ln_1(x))))
    if torch.allclose(y, post, atol=1e-5):
        raise AssertionError("this is a Post-LN block (LayerNorm after adding the residual); "
                             "Pre-LN normalises the *input* of each sublayer: x + f(LN(x))")
    if torch.allclose(y, no_residual, atol=1e-5):
        raise AssertionError("the residual connections are missing: add each sublayer's output back to x")
    if (y.mean(-1).abs() < 1e-4).all() and (y.std(-1) - 1).abs().max() < 0.3:
        raise AssertionError("the output looks normalised: in a Pre-LN block the residual stream itself is never normalised")
    if not torch.allclose(y, pre, atol=1e-5):
        raise AssertionError("the output differs from x + attn(ln_1(x)) followed by h + mlp(ln_2(h))")
    x2 = x.clone()
    x2[:, -1] += 1.0
    if not torch.allclose(block(x2)[:, :-1], y[:, :-1], atol=1e-5):
        raise AssertionError("changing a future token changed an earlier output: the block leaks")
    _ok("Pre-LN block: x + attn(ln_1(x)), then + mlp(ln_2(.)); residual stream left un-normalised")
