"""The self-checks of exercises 06 (GPT), 07 (loading GPT-2) and 10 (training): right answers pass, and a
few wrong ones get their diagnosis (the full catalogue is in tests/test_mistakes.py)."""
import math

import pytest
import torch

from gptlab import GPT, checks


def fails_with(check, fn, pattern):
    with pytest.raises(AssertionError, match=pattern):
        check(fn)


def test_the_course_gpt_passes_the_gpt_checks():
    checks.check_gpt(GPT)
    checks.check_gpt_init(GPT)
    checks.check_param_count(lambda m: sum(p.numel() for p in m.parameters()))
    fails_with(checks.check_param_count, lambda m: sum(t.numel() for t in m.state_dict().values()), "twice")


def test_linear_layout_computes_the_same_logits():
    torch.manual_seed(0)
    model = GPT.from_preset("nano", vocab_size=20).eval()
    idx = torch.randint(0, 20, (1, 8))
    before = model(idx)
    after = checks.linear_layout(model)(idx)
    assert torch.allclose(before, after, atol=1e-6)
    assert isinstance(model.transformer.h[0].attn.c_attn, torch.nn.Linear)


def test_schedule_check():
    def lr(step, max_lr, min_lr, warmup, total):
        if step < warmup:
            return max_lr * (step + 1) / warmup
        p = min(1.0, (step - warmup) / (total - warmup))
        return min_lr + 0.5 * (1 + math.cos(math.pi * p)) * (max_lr - min_lr)
    checks.check_lr_schedule(lr)
    fails_with(checks.check_lr_schedule, lambda s, *a: 0.0 if s == 0 else lr(s, *a), r"lr_at\(0\) is 0")


def test_groups_check_rejects_decay_on_layernorm():
    checks.check_param_groups(lambda m, wd: [{"params": [p for p in m.parameters() if p.dim() >= 2], "weight_decay": wd},
                                             {"params": [p for p in m.parameters() if p.dim() < 2], "weight_decay": 0.0}])
    fails_with(checks.check_param_groups, lambda m, wd: [{"params": list(m.parameters()), "weight_decay": wd}], "LayerNorm")
