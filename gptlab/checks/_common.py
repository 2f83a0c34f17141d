"""Helpers shared by the self-checks: uniform messages, type and shape checks, seeded weights."""
from __future__ import annotations

import time
import zlib

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


def _call(fn, *args, name: str, **kwargs):
    """Run the student's ``fn``; an error deep inside torch becomes an AssertionError that says where it came from."""
    try:
        return fn(*args, **kwargs)
    except (RuntimeError, IndexError, TypeError) as exc:
        raise AssertionError(f"{name} raised {type(exc).__name__}: {exc}") from exc


def _parameter_shapes(module: torch.nn.Module, expected: dict[str, tuple], what: str) -> None:
    """The module's parameters must be exactly ``expected`` (name -> shape): GPT-2's names, GPT-2's layout,
    so that a checkpoint loads into it tensor for tensor."""
    have = {name: tuple(p.shape) for name, p in module.named_parameters()}
    missing = [n for n in expected if n not in have]
    if missing:
        raise AssertionError(f"{what} has no parameter {missing[0]!r} (it has {sorted(have)}): "
                             f"use GPT-2's names, {sorted(expected)}")
    extra = [n for n in have if n not in expected]
    if extra:
        raise AssertionError(f"{what} has a parameter {extra[0]!r} that GPT-2 does not: expected only {sorted(expected)}")
    for n, shape in expected.items():
        if have[n] != tuple(shape):
            hint = ""
            if len(shape) == 2 and have[n] == tuple(reversed(shape)):
                hint = (" — it is stored (out, in) like nn.Linear's weight; GPT-2 stores projections (in, out): "
                        "use Projection")
            raise AssertionError(f"{what}: {n} has shape {have[n]}, expected {tuple(shape)}{hint}")


def seeded_weights(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Load seeded random values into ``module`` by parameter *name*, so that two modules with the same names
    get the same weights whatever order their ``__init__`` created them in (a hidden test must not depend on
    it). 1-D ``weight`` s (LayerNorm scales) lie around 1."""
    state = {}
    for name, p in sorted(module.named_parameters()):
        g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
        if p.dim() == 1 and name.endswith("weight"):
            state[name] = 0.5 + torch.rand(p.shape, generator=g)
        elif p.dim() > 1:
            state[name] = 0.1 * torch.randn(p.shape, generator=g)
        else:
            state[name] = 0.2 * torch.rand(p.shape, generator=g) - 0.1
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(state[name])
    return module
