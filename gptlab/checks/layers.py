"""Exercise checks: LayerNorm, GELU (tanh approximation) and the MLP, GPT-2's per-token layers."""
from __future__ import annotations

import math

import torch

from ._common import _call, _ok, _parameter_shapes, _shape, _tensor, seeded_weights

__all__ = ['check_layer_norm', 'check_gelu', 'check_mlp']


def _normalise(x, dim=-1, unbiased=False, eps=1e-5, eps_inside=True):
    mean = x.mean(dim, keepdim=True)
    var = ((x - mean) ** 2).sum(dim, keepdim=True) / (x.shape[dim] - (1 if unbiased else 0))
    return (x - mean) / (torch.sqrt(var + eps) if eps_inside else torch.sqrt(var) + eps)


def check_layer_norm(layer_norm_class) -> None:
    """``layer_norm_class(n_embd, eps=1e-5)`` normalises the last dimension: (x - mean) / sqrt(var + eps) * weight + bias,
    with the biased variance (divide by C) and parameters named ``weight`` and ``bias``."""
    C = 8
    ln = layer_norm_class(C)
    _parameter_shapes(ln, {"weight": (C,), "bias": (C,)}, "your LayerNorm")
    if not (torch.equal(ln.weight.detach(), torch.ones(C)) and torch.equal(ln.bias.detach(), torch.zeros(C))):
        raise AssertionError("a new LayerNorm should start with weight = 1 and bias = 0 (it only normalises until trained)")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, C, generator=g) * 3 + 1
    y = _tensor(_call(ln, x, name="LayerNorm(x)"), "LayerNorm(x)")
    _shape(y, x.shape, "LayerNorm(x)")
    if not torch.allclose(y, _normalise(x), atol=1e-5):
        for wrong, message in (
            (_normalise(x, unbiased=True), "the variance is unbiased (divides by C - 1): LayerNorm divides by C — "
                                           "use unbiased=False (or the mean of the squared deviations)"),
            (_normalise(x, dim=-2), "you normalise over the positions (dim 1): LayerNorm normalises each token "
                                    "over its own C features, the last dimension"),
            (_normalise(x, dim=0), "you normalise over the batch (dim 0): LayerNorm normalises each token "
                                   "over its own C features, the last dimension"),
        ):
            if torch.allclose(y, wrong, atol=1e-5):
                raise AssertionError(message)
        if torch.allclose(y, x - x.mean(-1, keepdim=True), atol=1e-5):
            raise AssertionError("the output is centred but not scaled to unit variance: divide by sqrt(var + eps)")
        raise AssertionError("the output differs from (x - mean) / sqrt(var + eps) over the last dimension")
    # Tiny variances show where eps goes: sqrt(var + eps) and sqrt(var) + eps differ by far more than rounding.
    small = torch.randn(3, C, generator=g) * 1e-3
    y_small = ln(small)
    if not torch.allclose(y_small, _normalise(small), atol=1e-4):
        if torch.allclose(y_small, _normalise(small, eps_inside=False), atol=1e-3):
            raise AssertionError("eps is added outside the square root, (x - mean) / (sqrt(var) + eps): "
                                 "it belongs inside, sqrt(var + eps)")
        if torch.allclose(y_small, _normalise(small, eps=0.0), atol=1e-3):
            raise AssertionError("eps is missing: divide by sqrt(var + eps), which also keeps a constant input finite")
        raise AssertionError("on an input with a tiny variance the output differs from (x - mean) / sqrt(var + eps)")
    if not torch.allclose(layer_norm_class(C, eps=0.1)(small), _normalise(small, eps=0.1), atol=1e-4):
        raise AssertionError("LayerNorm(C, eps=0.1) gives the same as eps=1e-5: use self.eps, not a fixed number")
    seeded_weights(ln, seed=1)
    with torch.no_grad():
        y = ln(x)
        expected = _normalise(x) * ln.weight + ln.bias
        if not torch.allclose(y, expected, atol=1e-5):
            if torch.allclose(y, _normalise(x), atol=1e-5):
                raise AssertionError("weight and bias are not used: the output is normalised(x) * weight + bias")
            if torch.allclose(y, _normalise(x) * ln.bias + ln.weight, atol=1e-5):
                raise AssertionError("weight and bias are swapped: multiply by weight, then add bias")
            raise AssertionError("with trained weight and bias the output differs from normalised(x) * weight + bias")
    _ok("LayerNorm: mean 0 and biased variance 1 over the last dimension, eps inside the root, then weight and bias")


def _gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def check_gelu(gelu) -> None:
    """``gelu(x)`` -> GELU with GPT-2's tanh approximation, elementwise, same shape."""
    x = torch.linspace(-6, 6, 241, dtype=torch.float64).reshape(1, 241)  # float64: the approximations differ by ~1e-4
    y = _tensor(_call(gelu, x, name="gelu(x)"), "gelu(x)")
    _shape(y, x.shape, "gelu(x)")
    y = y.double()
    if torch.allclose(y, _gelu_tanh(x), atol=1e-6):
        _ok("gelu: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), GPT-2's approximation")
        return
    erf = 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    for wrong, message in (
        (erf, "this is the exact GELU, x * Phi(x) with erf: GPT-2 uses the tanh approximation "
              "0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) — close, but its checkpoints were trained with it"),
        (0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * x)), "the cubic term is missing: tanh(sqrt(2/pi) (x + 0.044715 x^3))"),
        (0.5 * x * (1 + torch.tanh(2 / math.pi * (x + 0.044715 * x ** 3))), "the constant is sqrt(2/pi), not 2/pi"),
        (x.clamp_min(0), "that is ReLU: GELU is smooth and slightly negative for x < 0"),
        (x * torch.sigmoid(1.702 * x), "that is the sigmoid approximation x * sigmoid(1.702 x): GPT-2 uses the tanh one"),
    ):
        if torch.allclose(y, wrong, atol=1e-6):
            raise AssertionError(message)
    worst = int((y - _gelu_tanh(x)).abs().argmax())
    raise AssertionError(f"gelu({x.flatten()[worst]:.2f}) = {y.flatten()[worst]:.6f}, expected "
                         f"{_gelu_tanh(x).flatten()[worst]:.6f} (0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))))")


def check_mlp(mlp_class) -> None:
    """``mlp_class(config)`` has ``c_fc`` (C -> 4C) and ``c_proj`` (4C -> C) stored (in, out) like GPT-2,
    and computes c_proj(gelu(c_fc(x)))."""
    from ..config import GPTConfig

    config = GPTConfig.from_preset("nano", vocab_size=65)
    C = config.n_embd
    mlp = mlp_class(config)
    fc = dict(mlp.named_parameters()).get("c_fc.weight")
    if fc is not None and tuple(fc.shape) == (C, C):
        raise AssertionError(f"c_fc maps {C} to {C}: GPT-2's hidden layer is 4 * n_embd = {4 * C} wide")
    _parameter_shapes(mlp, {"c_fc.weight": (C, 4 * C), "c_fc.bias": (4 * C,),
                            "c_proj.weight": (4 * C, C), "c_proj.bias": (C,)}, "your MLP")
    seeded_weights(mlp.eval())
    p = dict(mlp.named_parameters())
    x = torch.randn(2, 5, C, generator=torch.Generator().manual_seed(0)) * 2
    with torch.no_grad():
        y = _tensor(_call(mlp, x, name="MLP(x)"), "MLP(x)")
        _shape(y, x.shape, "MLP(x)")
        h = x @ p["c_fc.weight"] + p["c_fc.bias"]                         # (B, T, 4C)
        out = lambda a: a @ p["c_proj.weight"] + p["c_proj.bias"]        # noqa: E731
        if torch.allclose(y, out(_gelu_tanh(h)), atol=1e-5):
            _ok("MLP: c_proj(gelu(c_fc(x))), 4x wide, GPT-2's names and layout")
            return
        for wrong, message in (
            (out(h), "there is no GELU between c_fc and c_proj: without a non-linearity the MLP is one linear map"),
            (_gelu_tanh(out(h)), "GELU is applied after c_proj: apply it to c_fc's output, c_proj(gelu(c_fc(x)))"),
            (out(h.clamp_min(0)), "that is ReLU between the projections: GPT-2 uses GELU (your gelu)"),
            (out(0.5 * h * (1 + torch.erf(h / math.sqrt(2)))),
             "the GELU is the exact (erf) one: GPT-2's MLP uses the tanh approximation (your gelu)"),
        ):
            if torch.allclose(y, wrong, atol=1e-5):
                raise AssertionError(message)
    raise AssertionError("the output differs from c_proj(gelu(c_fc(x))) with the tanh GELU")
