"""Helpers shared by the self-checks: uniform messages, type and shape checks, seeded weights."""
from __future__ import annotations

import time

import torch


def _ok(message: str) -> None:
    print(f"✓ {message}")


def _tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise AssertionError(f"{name} should return a torch.Tensor, got {type(x).__name__}")
    return x


def _shape(x: torch.Tensor, expected: tuple, name: str) -> None:
    if tuple(x.shape) != tuple(expected):
        raise AssertionError(f"{name} has shape {tuple(x.shape)}, expected {tuple(expected)}")


def init_random(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Fill every parameter with seeded random values (a bare ``Projection`` starts uninitialised);
    LayerNorm scales around 1 so that normalisation stays visible."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for sub in module.modules():
            for name, p in sub.named_parameters(recurse=False):
                if isinstance(sub, torch.nn.LayerNorm) and name == "weight":
                    p.copy_(0.5 + torch.rand(p.shape, generator=g))
                elif p.dim() > 1:
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(0.2 * torch.rand(p.shape, generator=g) - 0.1)
    return module


def _finite_rows(x: torch.Tensor, name: str) -> None:
    if torch.isnan(x).any():
        raise AssertionError(
            f"{name} contains NaN: a softmax over a row that is entirely -inf gives NaN — "
            "somewhere every position was masked out"
        )


def time_call(fn, *args, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls, in seconds (the minimum is the least noisy estimate)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best
