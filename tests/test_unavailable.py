"""``unavailable``: the references an exercise replaces raise inside the block, aliases included, and
everything works again after it."""
import pytest
import torch
import torch.nn.functional as F

import gptlab.sampling
from gptlab.grading import ReferenceUnavailable, unavailable


def test_function_alias_taken_before_the_block_is_caught():
    alias = gptlab.sampling.filter_logits
    logits = torch.randn(2, 7)
    before = alias(logits.clone(), top_k=3)
    with unavailable("gptlab.sampling.filter_logits"):
        with pytest.raises(ReferenceUnavailable, match="write filter_logits yourself"):
            alias(logits.clone(), top_k=3)
        with pytest.raises(ReferenceUnavailable):
            gptlab.sampling.filter_logits(logits.clone(), top_k=3)
    assert torch.equal(alias(logits.clone(), top_k=3), before)


def test_class_instances_and_new_instances_are_caught():
    from gptlab.config import GPTConfig
    from gptlab.model import Block

    config = GPTConfig.from_preset("nano", vocab_size=11)
    old = Block(config)
    x = torch.randn(1, 3, config.n_embd)
    with unavailable("gptlab.model.Block"):
        with pytest.raises(ReferenceUnavailable, match="gptlab.model.Block"):
            old(x)
        with pytest.raises(ReferenceUnavailable):
            Block(config)
    assert Block(config)(x).shape == x.shape and old(x).shape == x.shape


def test_builtin_is_replaced_in_its_module_and_restored():
    x = torch.randn(2, 4)
    with unavailable("torch.nn.functional.layer_norm"):
        with pytest.raises(ReferenceUnavailable):
            F.layer_norm(x, (4,))
    assert F.layer_norm(x, (4,)).shape == x.shape


def test_restored_when_the_block_raises_and_unknown_names_are_refused():
    with pytest.raises(KeyError):
        with unavailable("gptlab.sampling.filter_logits"):
            raise KeyError("inside")
    assert gptlab.sampling.filter_logits(torch.randn(1, 5), top_k=2).isneginf().sum() == 3
    with pytest.raises(ValueError, match="full dotted path"):
        with unavailable("no_such_module_here.thing"):
            pass
