"""Exercise checks: loading a HuggingFace GPT-2 checkpoint into the student's model.

The reference is ``transformers`` itself: a small random ``GPT2LMHeadModel`` whose logits the student's
model must reproduce once loaded. The checkpoint is shown in the shapes real ones come in (with and
without the ``transformer.`` prefix, with the causal-mask buffers older files carry), and the model in
both layouts a projection can have: HuggingFace's ``Conv1D`` (and the course's ``Projection``) store a
weight (in, out), ``nn.Linear`` stores it (out, in).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ._common import _ok
from .gpt import fill_seeded

__all__ = ["check_load_gpt2", "check_config_from_hf", "linear_layout", "CONV1D_WEIGHTS"]

CONV1D_WEIGHTS = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def linear_layout(model: nn.Module) -> nn.Module:
    """``model`` with every (in, out) projection replaced by an ``nn.Linear`` computing the same thing.

    This is nanoGPT's layout: the same parameter names, the four projection weights of each block stored
    transposed. A loader that works for both layouts decides by the layer's type, not by the tensor's shape.
    """
    from ..model import Projection

    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Projection):
                linear = nn.Linear(child.in_features, child.out_features, bias=child.bias is not None)
                with torch.no_grad():
                    linear.weight.copy_(child.weight.t())
                    if child.bias is not None:
                        linear.bias.copy_(child.bias)
                setattr(parent, name, linear)
    return model


def _hf_reference(seed: int = 0):
    try:
        from transformers import GPT2Config, GPT2LMHeadModel
    except ImportError:
        raise AssertionError("this check compares with HuggingFace transformers: pip install transformers") from None
    from transformers.utils import logging

    logging.set_verbosity_error()
    hf_config = GPT2Config(vocab_size=50, n_positions=32, n_embd=32, n_layer=2, n_head=2,
                           bos_token_id=0, eos_token_id=0)
    torch.manual_seed(seed)
    hf = fill_seeded(GPT2LMHeadModel(hf_config), seed=seed).eval()
    return hf, hf_config.to_dict()


def _layout(model) -> str:
    linear = any(isinstance(m, nn.Linear) for n, m in model.named_modules() if n.endswith(("c_attn", "c_fc")))
    return "nn.Linear" if linear else "Conv1D"


_HINTS = {
    "nn.Linear": "an nn.Linear stores its weight (out, in) and HF's Conv1D stores it (in, out): transpose the four "
                 "Conv1D weights (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj) going into an nn.Linear",
    "Conv1D": "this model's projections store (in, out), like HF's Conv1D: copy those weights as they are, "
              "transpose only for an nn.Linear",
}


def _expected(model, hf_sd) -> dict[str, torch.Tensor]:
    """Our name -> the tensor it must hold after loading, from the checkpoint's tensors."""
    out = {}
    for name in model.state_dict():
        source = "transformer.wte.weight" if name == "lm_head.weight" else name
        t = hf_sd[source]
        if name.endswith(CONV1D_WEIGHTS) and isinstance(model.get_submodule(name.rsplit(".", 1)[0]), nn.Linear):
            t = t.t()
        out[name] = t
    return out


def _verify(model, before, hf_sd, hf_logits, idx, where: str) -> None:
    if model.lm_head.weight is not model.transformer.wte.weight:
        raise AssertionError(f"{where}: after loading, lm_head.weight is a copy, not the same Parameter as "
                             "transformer.wte.weight: GPT-2's head is tied; assign the Parameter itself")
    ours = model.state_dict()
    for name, want in _expected(model, hf_sd).items():
        got = ours[name]
        if got.shape == want.shape and torch.allclose(got, want):
            continue
        if got.dim() == 2 and got.shape == want.t().shape and torch.allclose(got, want.t()):
            square = " It is square (C, C), so its shape cannot tell you to transpose it: decide by the layer's type." \
                if got.shape[0] == got.shape[1] else ""
            raise AssertionError(f"{where}: {name} holds the transpose of the checkpoint's weight. {_HINTS['nn.Linear']}.{square}")
        if torch.equal(got, before[name]):
            raise AssertionError(f"{where}: {name} was not loaded (it still holds its initial values)")
        raise AssertionError(f"{where}: {name} does not hold the checkpoint's {name}")
    with torch.no_grad():
        logits = model.eval()(idx)
    if not torch.allclose(logits, hf_logits, atol=1e-4):
        raise AssertionError(f"{where}: every tensor is loaded but the logits differ from transformers' by "
                             f"{float((logits - hf_logits).abs().max()):.2e}: check the model's config (eps, sizes)")


def _load(load_gpt2, model, sd, where: str, hint: str):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        out = load_gpt2(model, dict(sd))
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{where}: your loader raised {type(exc).__name__}: {exc} — {hint}") from None
    if out is None:
        raise AssertionError("load_gpt2 should return the model it loaded")
    return out, before


def check_load_gpt2(load_gpt2, GPT=None) -> None:
    """``load_gpt2(model, hf_state_dict)`` -> ``model`` holding the checkpoint, its logits equal to transformers'."""
    from ..config import GPTConfig
    from ..model import GPT as CourseGPT

    GPT = GPT or CourseGPT
    hf, hf_dict = _hf_reference()
    config = GPTConfig(vocab_size=50, block_size=32, n_layer=2, n_head=2, n_embd=32, dropout=0.0)
    idx = torch.randint(0, 50, (2, 16), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        hf_logits = hf(idx).logits
    hf_sd = {k: v.clone() for k, v in hf.state_dict().items()}

    torch.manual_seed(0)
    base = GPT(config)
    layouts = [base] if _layout(base) == "nn.Linear" else [base, linear_layout(GPT(config))]
    for model in layouts:
        where = f"a model whose projections are {_layout(model)}"
        model, before = _load(load_gpt2, model, hf_sd, f"GPT2LMHeadModel's state dict into {where}", _HINTS[_layout(model)])
        _verify(model, before, hf_sd, hf_logits, idx, f"loading into {where}")

    layout = _layout(layouts[-1])
    with_buffers = dict(hf_sd)
    for i in range(config.n_layer):  # the precomputed causal mask older checkpoints carry
        with_buffers[f"transformer.h.{i}.attn.bias"] = torch.ones(1, 1, 32, 32).tril()
        with_buffers[f"transformer.h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    model, before = _load(load_gpt2, GPT(config) if layout == "Conv1D" else linear_layout(GPT(config)), with_buffers,
                          "a checkpoint carrying .attn.bias and .attn.masked_bias",
                          "those are causal-mask buffers, not parameters: skip names ending in .attn.bias "
                          "or .attn.masked_bias")
    _verify(model, before, hf_sd, hf_logits, idx, "a checkpoint with mask buffers")

    bare = {k.removeprefix("transformer."): v for k, v in hf_sd.items() if k != "lm_head.weight"}
    model, before = _load(load_gpt2, linear_layout(GPT(config)), bare,
                          "a checkpoint with GPT2Model's bare names (wte.weight, h.0..., as in OpenAI's gpt2 upload)",
                          "prefix such names with 'transformer.'; the head then comes from wte (tied)")
    _verify(model, before, hf_sd, hf_logits, idx, "a checkpoint with bare names")
    _ok(f"load_gpt2: logits equal transformers' in the {' and '.join(_layout(m) for m in layouts)} layouts, "
        "mask buffers skipped, bare names handled, head tied")


def check_config_from_hf(config_from_hf) -> None:
    """``config_from_hf(hf_config_dict)`` -> a ``GPTConfig`` with the same sizes under our names."""
    hf = {"model_type": "gpt2", "vocab_size": 77, "n_positions": 40, "n_embd": 48, "n_layer": 3, "n_head": 4,
          "layer_norm_epsilon": 1e-3, "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0,
          "tie_word_embeddings": True, "activation_function": "gelu_new"}
    try:
        c = config_from_hf(dict(hf))
    except Exception as exc:
        raise AssertionError(f"config_from_hf raised {type(exc).__name__}: {exc} (the keys of a GPT-2 config.json: "
                             f"{', '.join(hf)})") from None
    wanted = {"vocab_size": ("vocab_size", 77), "block_size": ("n_positions", 40), "n_embd": ("n_embd", 48),
              "n_layer": ("n_layer", 3), "n_head": ("n_head", 4), "layer_norm_eps": ("layer_norm_epsilon", 1e-3)}
    for ours, (theirs, value) in wanted.items():
        got = getattr(c, ours, None)
        if got != value:
            raise AssertionError(f"config.{ours} is {got!r}, expected {value!r}: it comes from config.json's {theirs!r}")
    _ok("config_from_hf: sizes and LayerNorm epsilon carried over")
