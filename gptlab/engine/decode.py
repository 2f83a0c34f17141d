"""One decoding step of GPT-2 (one new token per row, with a KV cache) as straight-line tensor code.

What it optimises: with a KV cache, each step of generation feeds the model a single token per row. The
arithmetic is then a chain of matrix-vector products whose cost is reading the weights from memory (GPT-2
small: ~500 MB a token). Everything else is overhead, and ``model(tokens, cache=cache)`` has a lot of it for
so little work: about 140 ``nn.Module`` calls and hundreds of small tensor operations (views, transposes,
dropout that does nothing in eval mode). ``bench/generate.py`` measures the difference.

Why a second statement of the forward pass, and why it is safe: :class:`DecodeStep` does the same
operations, in the same order, on the same parameters, without the module machinery, and it reads the LM
head through :class:`~gptlab.engine.lm_head.HeadLogits`. Its logits are bit for bit those of the model's own
forward pass followed by that head: the tests check ``torch.equal`` over every switch of the configuration
(Pre-/Post-LN, biases, tied or not, explicit or fused attention, padded batches with position ids, every
preset shape). It only runs a model it can vouch for: a :class:`gptlab.model.GPT` built from the model's
own modules, in eval mode, with no hooks and no patched ``forward``; for anything else
:meth:`DecodeStep.supports` says no and generation calls the model itself.

Where its time goes (``bench/generate.py`` measures it): almost all of a step is reading the 48 layer matrices
and the LM head; the fused attention over the cached keys and values and everything else are small beside
them, so the bound is the weights' bytes divided by the memory's bandwidth. The weights, the head's copy and
the cache lie in huge pages (:mod:`~gptlab.engine.huge_pages`). What bit-identity rules out: the single
query's attention stays PyTorch's fused kernel, as in the model (a product and a softmax round differently,
and were no faster); every product is the model's ``addmm`` on the model's (in, out) weights (``F.linear`` on
a transposed copy sums in another order).

:func:`prompt_logits` is the other half of a generation: the prompt goes through the model's own modules
(:meth:`gptlab.model.GPT.hidden_states`), and only its last position through the head.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..model import GPT, MLP, Block, CausalSelfAttention, Projection, attend, causal_mask, project
from .huge_pages import advise_huge_pages
from .lm_head import HeadLogits

# The exact classes whose forward passes this module re-states; a subclass may compute something else.
_KNOWN = {GPT, Block, CausalSelfAttention, MLP, Projection, nn.LayerNorm, nn.Embedding, nn.Dropout, nn.ModuleDict,
          nn.ModuleList, nn.Linear}


class DecodeStep:
    """``step(tokens, cache)`` = ``model(tokens, cache=cache, last_only=True)[:, -1]``, faster, for one token per row.

    The parameters are looked up once, when the step is made: make a new one after replacing a parameter
    (changing a parameter's values in place, as an optimizer does, is fine).
    """

    def __init__(self, model: GPT):
        if not self.supports(model):
            raise ValueError("DecodeStep needs an unmodified gptlab GPT in eval mode (see DecodeStep.supports)")
        self.model = model
        c = model.config
        self.pre_ln = c.ln_placement == "pre"
        self.n_head, self.head_dim = c.n_head, c.head_dim
        t = model.transformer
        self.wte, self.wpe, self.ln_f = t.wte.weight, t.wpe.weight, t.ln_f
        self.head = HeadLogits(model)
        self.layers = [
            (b.attn.impl == "explicit",
             b.ln_1, b.attn.c_attn.weight, b.attn.c_attn.bias, b.attn.c_proj.weight, b.attn.c_proj.bias,
             b.ln_2, b.mlp.c_fc.weight, b.mlp.c_fc.bias, b.mlp.c_proj.weight, b.mlp.c_proj.bias)
            for b in t.h
        ]
        advise_huge_pages(*(p for layer in self.layers for p in layer[1:] if isinstance(p, torch.Tensor)))
        self._cache = None  # the last cache seen, whose buffers were advised too

    @staticmethod
    def supports(model) -> bool:
        """True when ``model`` computes exactly what this step re-states: gptlab's own modules, unpatched,
        no forward hooks, eval mode (no dropout)."""
        if type(model) is not GPT:
            return False
        registry = nn.modules.module  # hooks registered for every module (torch.nn.modules.module.register_...)
        if getattr(registry, "_global_forward_hooks", None) or getattr(registry, "_global_forward_pre_hooks", None):
            return False
        for module in model.modules():
            if type(module) not in _KNOWN or "forward" in module.__dict__ or module.training:
                return False
            if module._forward_hooks or module._forward_pre_hooks:
                return False
        return True

    def __call__(self, tokens: torch.Tensor, cache, *, position_ids=None, attention_mask=None) -> torch.Tensor:
        """Logits (B, V) of the next token after ``tokens`` (B, 1), whose earlier positions are in ``cache``.

        ``position_ids`` (B, 1) and ``attention_mask`` (B, past + 1: 1 real, 0 padding) are as in
        :meth:`gptlab.model.GPT.forward`; without them the token sits at position ``cache.seq_len``.
        """
        B, T = self.model._check_input(tokens)
        if T != 1:
            raise ValueError(f"DecodeStep takes one new token per row, shape (B, 1); got {tuple(tokens.shape)}")
        past = cache.seq_len
        nh, hs = self.n_head, self.head_dim
        C = nh * hs
        self.model._check_positions(past, 1, position_ids)
        if position_ids is None:
            position = self.wpe[past]  # (C,): every row's token sits at position `past`
        else:
            position = F.embedding(position_ids, self.wpe).view(B, C)  # (B, C)
        cache.check_room(1, B)
        if cache.keys.shape[0] != len(self.layers):
            raise ValueError(f"the cache has {cache.keys.shape[0]} layers, the model {len(self.layers)}")
        if cache is not self._cache:  # each step reads all of the past keys and values: huge pages too
            advise_huge_pages(cache.keys, cache.values)
            self._cache = cache
        mask = causal_mask(1, past + 1, padding_mask=attention_mask, device=tokens.device)  # None without padding
        causal = attention_mask is None

        x = F.embedding(tokens, self.wte).view(B, C) + position  # (B, C)
        for keys, values, layer in zip(cache.keys, cache.values, self.layers):  # keys: (B, nh, max_len, hs)
            explicit, ln_1, w_attn, b_attn, w_proj, b_proj, ln_2, w_fc, b_fc, w_out, b_out = layer
            h = _layer_norm(x, ln_1) if self.pre_ln else x
            qkv = project(h, w_attn, b_attn).view(B, 3, nh, 1, hs)  # q, k, v of every head: (B, 3, nh, 1, hs)
            keys[:, :, past : past + 1] = qkv[:, 1]  # what cache.update does, without its checks each layer
            values[:, :, past : past + 1] = qkv[:, 2]
            y = attend(qkv[:, 0], keys[:, :, : past + 1], values[:, :, : past + 1], mask,
                       explicit=explicit, causal=causal)  # (B, nh, 1, hs)
            x = x + project(y.reshape(B, C), w_proj, b_proj)  # the heads side by side: (B, C)
            if not self.pre_ln:
                x = _layer_norm(x, ln_1)
            h = _layer_norm(x, ln_2) if self.pre_ln else x
            x = x + project(F.gelu(project(h, w_fc, b_fc), approximate="tanh"), w_out, b_out)
            if not self.pre_ln:
                x = _layer_norm(x, ln_2)
        cache.advance(1)
        if self.pre_ln:
            x = _layer_norm(x, self.ln_f)
        return self.head(x)  # (B, V)


def _layer_norm(x, ln: nn.LayerNorm):
    return F.layer_norm(x, ln.normalized_shape, ln.weight, ln.bias, ln.eps)


def prompt_logits(model, step: DecodeStep | None, window: torch.Tensor, cache, **kwargs) -> torch.Tensor:
    """The next-token logits (B, V) after ``window`` (B, T), filling ``cache``: through the model's own
    modules and ``step``'s head when there is a step, else through the model's forward pass."""
    if step is None:
        return model(window, cache=cache, last_only=True, **kwargs)[:, -1]
    return step.head(model.hidden_states(window, cache=cache, **kwargs)[:, -1])
