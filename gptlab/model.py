"""GPT-2 in one readable file: the causal mask, attention, MLP, block, model.

The parts come in nanoGPT's order (attention, MLP, block, GPT with its initialisation and forward pass).
Parameter names follow OpenAI's GPT-2 and HuggingFace's ``GPT2LMHeadModel`` (``transformer.wte``,
``transformer.h.N.attn.c_attn`` ...), and the projection weights are stored the way GPT-2 stores them,
(in_features, out_features), so a HuggingFace checkpoint loads tensor for tensor.

This file is the teaching model and nothing else: loading checkpoints lives in :mod:`gptlab.hf`,
generation in :mod:`gptlab.generation`, and what exists only for speed in :mod:`gptlab.engine`. None of
them is imported here.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import GPTConfig


def causal_mask(
    q_len: int,
    k_len: int,
    *,
    padding_mask: torch.Tensor | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor | None:
    """The one place that decides which key each query may look at. ``True`` means "may attend".

    Queries are the last ``q_len`` of ``k_len`` positions (with a KV cache the earlier keys are already
    stored), so query ``i`` sits at position ``k_len - q_len + i`` and may see keys ``0 .. k_len - q_len + i``:
    a lower-triangular matrix shifted right by the cache length. ``padding_mask`` (B, k_len), 1 for real
    tokens and 0 for padding, removes padded keys too. Returns (q_len, k_len), or (B, 1, q_len, k_len)
    with padding, or ``None`` when every query may see every key (one new token, no padding), so that
    callers can skip masking altogether.
    """
    if q_len > k_len:
        raise ValueError(f"more queries ({q_len}) than keys ({k_len})")
    if padding_mask is None and q_len == 1:
        return None
    allowed = torch.ones(q_len, k_len, dtype=torch.bool, device=device).tril(diagonal=k_len - q_len)
    if padding_mask is not None:
        if padding_mask.shape[-1] != k_len:
            raise ValueError(f"padding mask covers {padding_mask.shape[-1]} positions, expected {k_len}")
        allowed = allowed & padding_mask.to(device=allowed.device, dtype=torch.bool)[:, None, None, :]
        # A padded *query* would see no key at all (softmax of all -inf is NaN); let it see itself instead.
        # Its output is never used: the loss and the generated tokens ignore padded positions.
        own_position = torch.ones_like(allowed[0, 0]).tril(k_len - q_len).triu(k_len - q_len)
        allowed = allowed | own_position
    return allowed


def project(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``x @ weight + bias`` for a 2-D ``x`` (N, in) and ``weight`` stored (in, out), in one fused product."""
    return torch.addmm(bias, x, weight) if bias is not None else x @ weight


class Projection(nn.Module):
    """``y = x @ W + b`` with ``W`` stored (in_features, out_features).

    This is ``nn.Linear`` with its weight transposed: the layout of OpenAI's GPT-2 checkpoints (and of
    HuggingFace's ``Conv1D``). Besides loading checkpoints without transposes, it is faster for the
    one-token-at-a-time products of generation on a CPU, where reading the weight row by row wins.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape[:-1] + (self.out_features,)
        return project(x.reshape(-1, self.in_features), self.weight, self.bias).view(shape)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def attend(q, k, v, mask, *, explicit=False, causal=False, dropout_p=0.0, weights_out: list | None = None):
    """softmax(q k^T / sqrt(hs)) v for queries (B, nh, T, hs) and keys/values (B, nh, L, hs) -> (B, nh, T, hs).

    ``mask`` comes from :func:`causal_mask` (``None``: every query sees every key). ``explicit`` spells the
    product, mask and softmax out (and ``weights_out``, a list, receives the weights); otherwise PyTorch's fused
    ``scaled_dot_product_attention`` does the same in one kernel. ``causal=True`` promises that ``mask`` is
    the plain causal one (no padding): the fused kernel then applies it itself when queries and keys are the
    same positions. By default the mask given is the mask applied, on both paths.
    """
    if explicit or weights_out is not None:
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))  # (B, nh, T, L)
        if mask is not None:
            att = att.masked_fill(~mask, float("-inf"))
        att = F.softmax(att, dim=-1)
        if weights_out is not None:
            weights_out.append(att.detach())
        return (F.dropout(att, dropout_p) if dropout_p else att) @ v  # (B, nh, T, hs)
    # A square causal mask without padding is exactly SDPA's is_causal, whose kernel skips the masked half
    # instead of reading a (T, T) mask: less work over a long prompt, the same numbers.
    square_causal = mask is not None and causal and q.shape[2] == k.shape[2]
    return F.scaled_dot_product_attention(q, k, v, attn_mask=None if square_causal else mask,
                                          is_causal=square_causal, dropout_p=dropout_p)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig, layer_idx: int = 0):
        super().__init__()
        self.n_head, self.head_dim, self.layer_idx = config.n_head, config.head_dim, layer_idx
        self.impl = config.attn_impl
        self.c_attn = Projection(config.n_embd, 3 * config.n_embd, config.bias)  # q, k, v for all heads at once
        self.c_proj = Projection(config.n_embd, config.n_embd, config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.dropout = config.dropout

    def forward(self, x, mask=None, *, causal: bool | None = None, cache=None, weights_out: list | None = None):
        """``x`` (B, T, C) -> (B, T, C). ``mask`` is :func:`causal_mask`'s answer for these positions, which the
        model builds once per forward pass; given nothing, the attention builds the causal mask itself.
        ``causal`` says the mask is the plain causal one (no padding), which lets the fused kernel skip it."""
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, self.head_dim).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, self.head_dim).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, self.head_dim).transpose(1, 2)  # (B, nh, T, hs)
        if cache is not None:
            k, v = cache.update(self.layer_idx, k, v)  # (B, nh, past + T, hs)
        if mask is None and causal is None:  # called on its own: the causal mask for these positions
            mask, causal = causal_mask(T, k.shape[2], device=x.device), True
        y = attend(q, k, v, mask, explicit=self.impl == "explicit", causal=bool(causal),
                   dropout_p=self.dropout if self.training else 0.0, weights_out=weights_out)  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble the heads side by side
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = Projection(config.n_embd, 4 * config.n_embd, config.bias)
        self.c_proj = Projection(4 * config.n_embd, config.n_embd, config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        # GPT-2 uses the tanh approximation of GELU ("gelu_new" in HuggingFace).
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x), approximate="tanh")))


class Block(nn.Module):
    """One transformer layer. ``pre``: x + f(LN(x)) (GPT-2); ``post``: LN(x + f(x)) (the 2017 Transformer, GPT-1)."""

    def __init__(self, config: GPTConfig, layer_idx: int = 0):
        super().__init__()
        self.pre_ln = config.ln_placement == "pre"
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps, bias=config.bias)
        self.attn = CausalSelfAttention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, **attn_kwargs):
        if self.pre_ln:
            x = x + self.attn(self.ln_1(x), **attn_kwargs)
            x = x + self.mlp(self.ln_2(x))
        else:
            x = self.ln_1(x + self.attn(x, **attn_kwargs))
            x = self.ln_2(x + self.mlp(x))
        return x


class GPT(nn.Module):
    """A GPT-2 language model: ``logits = model(idx)``; ``logits, loss = model(idx, targets)``."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),  # token embedding E: (V, C)
                wpe=nn.Embedding(config.block_size, config.n_embd),  # learned position embedding: (T_max, C)
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config, i) for i in range(config.n_layer)]),
                # Pre-LN leaves the residual stream un-normalised at the top, so GPT-2 adds one last LayerNorm.
                ln_f=nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)  # logits = h @ E^T when tied
        if config.tie_weights:
            self.lm_head.weight = self.transformer.wte.weight
        self.apply(self._init_weights)
        # GPT-2: residual branches add up over 2 * n_layer sublayers; scale their output projections down so
        # the residual stream's variance does not grow with depth.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, Projection)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    @property
    def device(self) -> torch.device:
        return self.transformer.wte.weight.device

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        *,
        cache=None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        last_only: bool = False,
        attn_weights_out: list | None = None,
    ):
        """Logits (B, T, vocab) for token ids ``idx`` (B, T); with ``targets`` also the mean cross-entropy.

        ``cache`` (a :class:`gptlab.kv_cache.KVCache`) holds earlier positions' keys and values, so ``idx``
        may be just the new tokens. ``attention_mask`` (B, past + T) marks real tokens 1 and padding 0, as in
        HuggingFace. ``last_only`` computes logits for the last position only (all generation needs).
        ``attn_weights_out``, a list, receives each layer's attention weights (B, nh, T, past + T).
        Targets equal to -100 are ignored by the loss.
        """
        x = self.hidden_states(idx, cache=cache, attention_mask=attention_mask, position_ids=position_ids,
                               attn_weights_out=attn_weights_out)  # (B, T, C)
        if targets is None:
            return self.lm_head(x[:, -1:, :] if last_only else x)  # (B, T or 1, vocab)
        if targets.shape != idx.shape:
            raise ValueError(f"targets have shape {tuple(targets.shape)}, expected {tuple(idx.shape)}")
        logits = self.lm_head(x)  # (B, T, vocab)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)
        return logits, loss

    def hidden_states(self, idx, *, cache=None, attention_mask=None, position_ids=None, attn_weights_out=None):
        """The last layer's output (B, T, C), after the final LayerNorm: what the LM head turns into logits.
        The arguments are :meth:`forward`'s."""
        B, T = self._check_input(idx)
        past = cache.seq_len if cache is not None else 0
        self._check_positions(past, T, position_ids)
        if position_ids is None:
            position_ids = torch.arange(past, past + T, device=idx.device).unsqueeze(0)  # (1, T)
        # Which key each query may see: the same for every layer, so built once here.
        mask = causal_mask(T, past + T, padding_mask=attention_mask, device=idx.device)

        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(position_ids))  # (B, T, C)
        for block in self.transformer.h:
            x = block(x, mask=mask, causal=attention_mask is None, cache=cache, weights_out=attn_weights_out)
        if cache is not None:
            cache.advance(T)
        if self.config.ln_placement == "pre":
            x = self.transformer.ln_f(x)
        return x

    def _check_positions(self, past: int, T: int, position_ids: torch.Tensor | None) -> None:
        """T new tokens after ``past`` earlier ones, at ``position_ids`` or else at past .. past + T - 1:
        raise a clear error unless every position is one of the model's ``block_size`` learned ones."""
        if position_ids is None:
            if past + T > self.config.block_size:
                raise ValueError(
                    f"sequence of {past + T} tokens is longer than the model's context "
                    f"(block_size={self.config.block_size}); crop it to the last {self.config.block_size} tokens"
                )
        elif _may_inspect_values(position_ids) and (
            int(position_ids.max()) >= self.config.block_size or int(position_ids.min()) < 0
        ):
            raise ValueError(f"position ids must lie in [0, {self.config.block_size})")

    def _check_input(self, idx):
        """Shape and type always; the ids' range on a CPU only, where reading two numbers costs nothing (on
        an accelerator it would wait for the device at every call, and a compiled graph would break here).
        Data is checked once where it enters: generation's prompts and the trainer's token files."""
        if not isinstance(idx, torch.Tensor) or idx.dtype not in (torch.long, torch.int, torch.int32):
            raise TypeError("token ids must be an integer torch.Tensor of shape (batch, time)")
        if idx.dim() != 2:
            raise ValueError(f"token ids must have shape (batch, time), got {tuple(idx.shape)}")
        if idx.numel() == 0:
            raise ValueError("empty input: give at least one token")
        if _may_inspect_values(idx):
            lo, hi = int(idx.min()), int(idx.max())
            if lo < 0 or hi >= self.config.vocab_size:
                raise ValueError(f"token ids must lie in [0, {self.config.vocab_size}), got values in [{lo}, {hi}]")
        return idx.shape

    @torch.no_grad()
    def attention_maps(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """Each layer's attention weights (B, n_head, T, T) for ``idx``, computed the explicit way."""
        maps: list[torch.Tensor] = []
        self(idx, attn_weights_out=maps)
        return maps

    def parameter_counts(self) -> dict[str, int]:
        """Parameters by component, counted from the tensors (shared tensors once)."""
        from .params import count_module_parameters

        return count_module_parameters(self)

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "GPT":
        return cls(GPTConfig.from_preset(name, **overrides))


def _may_inspect_values(t: torch.Tensor) -> bool:
    """Whether a check may read a tensor's values: on a CPU, and not while ``torch.compile`` traces."""
    return t.device.type == "cpu" and not torch.compiler.is_compiling()
