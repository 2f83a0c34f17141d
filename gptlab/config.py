"""Model configuration: the four GPT-2 sizes exactly as OpenAI released them, plus small teaching sizes."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

GPT2_VOCAB_SIZE = 50257  # 50,000 BPE merges + 256 byte tokens + <|endoftext|>
GPT2_CONTEXT = 1024

LN_PLACEMENTS = ("pre", "post")
ATTN_IMPLS = ("explicit", "sdpa")


@dataclass
class GPTConfig:
    """Every size and switch of a GPT.

    Names follow nanoGPT (``n_layer``, ``n_head``, ``n_embd``, ``block_size``); ``to_hf_dict`` maps them to
    HuggingFace's ``GPT2Config`` names (``n_positions``, ``layer_norm_epsilon`` ...).
    """

    vocab_size: int = GPT2_VOCAB_SIZE
    block_size: int = GPT2_CONTEXT  # the context length: the most positions the model can see
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.1  # GPT-2 trains with 0.1 on embeddings, attention weights and residual branches
    bias: bool = True
    layer_norm_eps: float = 1e-5
    ln_placement: str = "pre"  # "pre": GPT-2 (x + f(LN(x))); "post": the original Transformer (LN(x + f(x)))
    tie_weights: bool = True  # the LM head reuses the token embedding matrix
    attn_impl: str = "sdpa"  # "explicit": QK^T/sqrt(d) + mask + softmax, keeps the weights; "sdpa": fused kernel

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"GPTConfig.{name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}): "
                "each head gets n_embd // n_head dimensions"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.ln_placement not in LN_PLACEMENTS:
            raise ValueError(f"ln_placement must be one of {LN_PLACEMENTS}, got {self.ln_placement!r}")
        if self.attn_impl not in ATTN_IMPLS:
            raise ValueError(f"attn_impl must be one of {ATTN_IMPLS}, got {self.attn_impl!r}")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "GPTConfig":
        """A named size (``gpt2``, ``gpt2-medium``, ``gpt2-large``, ``gpt2-xl``, ``nano``, ``micro``, ``mini``),
        with any field overridden: ``GPTConfig.from_preset("micro", vocab_size=65)``."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        fields = {**PRESETS[name], **overrides}
        unknown = set(fields) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown GPTConfig field(s): {', '.join(sorted(unknown))}")
        return cls(**fields)

    def replace(self, **changes) -> "GPTConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GPTConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown GPTConfig field(s): {', '.join(sorted(unknown))}")
        return cls(**d)


PRESETS: dict[str, dict] = {
    # OpenAI's GPT-2 sizes (Radford et al. 2019, table 2; layer/width from the released checkpoints)
    "gpt2": dict(n_layer=12, n_head=12, n_embd=768),
    "gpt2-medium": dict(n_layer=24, n_head=16, n_embd=1024),
    "gpt2-large": dict(n_layer=36, n_head=20, n_embd=1280),
    "gpt2-xl": dict(n_layer=48, n_head=25, n_embd=1600),
    # Teaching sizes: train in minutes on a laptop CPU. Pass vocab_size for a character-level model.
    "nano": dict(n_layer=3, n_head=3, n_embd=48, block_size=64, dropout=0.0),
    "micro": dict(n_layer=4, n_head=4, n_embd=128, block_size=128, dropout=0.0),
    "mini": dict(n_layer=6, n_head=6, n_embd=192, block_size=256, dropout=0.0),
}
GPT2_PRESETS = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")
