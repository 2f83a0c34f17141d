"""The LayerNorm, GELU and MLP self-checks accept correct answers, written any way, and name the mistake."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from gptlab import checks
from gptlab.model import MLP, Projection


def fails_with(check, answer, message):
    with pytest.raises(AssertionError, match=message):
        check(answer)


def layer_norm_class(unbiased=False, eps_inside=True, affine=True):
    class LN(nn.Module):
        def __init__(self, C, eps=1e-5):
            super().__init__()
            self.eps, self.weight, self.bias = eps, nn.Parameter(torch.ones(C)), nn.Parameter(torch.zeros(C))

        def forward(self, x):
            d = x - x.mean(-1, keepdim=True)
            var = x.var(-1, keepdim=True, unbiased=unbiased)
            y = d / (torch.sqrt(var + self.eps) if eps_inside else var.sqrt() + self.eps)
            return y * self.weight + self.bias if affine else y
    return LN


def test_layer_norm():
    checks.check_layer_norm(lambda C, eps=1e-5: nn.LayerNorm(C, eps=eps))
    checks.check_layer_norm(layer_norm_class())
    fails_with(checks.check_layer_norm, layer_norm_class(unbiased=True), "unbiased")
    fails_with(checks.check_layer_norm, layer_norm_class(eps_inside=False), "outside the square root")
    fails_with(checks.check_layer_norm, layer_norm_class(affine=False), "weight and bias are not used")
    fails_with(checks.check_layer_norm, lambda C, eps=1e-5: nn.LayerNorm(C, eps=eps, bias=False), "no parameter 'bias'")


def test_gelu():
    checks.check_gelu(lambda x: nn.functional.gelu(x, approximate="tanh"))
    fails_with(checks.check_gelu, nn.functional.gelu, "exact GELU")
    fails_with(checks.check_gelu, torch.relu, "ReLU")
    fails_with(checks.check_gelu, lambda x: x * torch.sigmoid(1.702 * x), "sigmoid approximation")
    fails_with(checks.check_gelu, lambda x: x[:, :3], "shape")
    fails_with(checks.check_gelu, lambda x: x.tolist(), "torch.Tensor")


def test_mlp():
    checks.check_mlp(MLP)

    class Reordered(nn.Module):  # c_proj created first: the weights are set by name, so it still passes
        def __init__(self, config):
            super().__init__()
            self.c_proj = Projection(4 * config.n_embd, config.n_embd)
            self.c_fc = Projection(config.n_embd, 4 * config.n_embd)

        def forward(self, x):
            return self.c_proj(nn.functional.gelu(self.c_fc(x), approximate="tanh"))

    checks.check_mlp(Reordered)

    class Linear(Reordered):
        def __init__(self, config):
            super().__init__(config)
            self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)

    fails_with(checks.check_mlp, Linear, r"stored \(out, in\)")

    class Exact(Reordered):
        def forward(self, x):
            return self.c_proj(nn.functional.gelu(self.c_fc(x)))

    fails_with(checks.check_mlp, Exact, "exact")


def test_seeded_weights_depend_on_names_not_order():
    a, b = nn.Sequential(), nn.Sequential()
    a.add_module("x", nn.Linear(3, 4)), a.add_module("y", nn.LayerNorm(4))
    b.add_module("y", nn.LayerNorm(4)), b.add_module("x", nn.Linear(3, 4))
    checks.seeded_weights(a, 3), checks.seeded_weights(b, 3)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert not torch.equal(checks.seeded_weights(a, 4).state_dict()["x.weight"], b.state_dict()["x.weight"])
    assert math.isclose(float(a.y.weight.detach().mean()), 1.0, abs_tol=0.5)
