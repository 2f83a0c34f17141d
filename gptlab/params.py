"""Parameter counts by component, from a config (no tensors needed) or from a built model.

GPT-2 small with tied embeddings has 124,439,808 parameters, yet the GPT-2 paper's table lists 117M
(and 345M, 762M, 1542M for the larger sizes, against 355M, 774M, 1558M released). Counting the same
architectures with GPT-1's 40,478-token vocabulary instead of GPT-2's 50,257 reproduces all four of the
paper's numbers (:func:`paper_count`): the table appears to have been computed before the vocabulary grew.
"""
from __future__ import annotations

from .config import GPTConfig

# The GPT-2 paper's table 2, in millions of parameters.
GPT2_PAPER_MILLIONS = {"gpt2": 117, "gpt2-medium": 345, "gpt2-large": 762, "gpt2-xl": 1542}
GPT1_VOCAB_SIZE = 40478

COMPONENTS = ("token_embedding", "position_embedding", "attention", "mlp", "layernorm", "lm_head")


def count_parameters(config: GPTConfig) -> dict[str, int]:
    """Parameters per component for ``config``, plus ``total`` and ``non_embedding`` (total minus the
    token and position embeddings, and minus an untied LM head)."""
    C, V, L, b = config.n_embd, config.vocab_size, config.n_layer, int(config.bias)
    ln = C * (1 + b)
    counts = {
        "token_embedding": V * C,
        "position_embedding": config.block_size * C,
        "attention": L * ((C * 3 * C + 3 * C * b) + (C * C + C * b)),
        "mlp": L * ((C * 4 * C + 4 * C * b) + (4 * C * C + C * b)),
        "layernorm": L * 2 * ln + ln,  # ln_1, ln_2 per block, plus ln_f (kept for post-LN too)
        "lm_head": 0 if config.tie_weights else V * C,
    }
    counts["total"] = sum(counts[c] for c in COMPONENTS)
    counts["non_embedding"] = counts["total"] - counts["token_embedding"] - counts["position_embedding"] - counts["lm_head"]
    return counts


def count_module_parameters(model) -> dict[str, int]:
    """The same breakdown measured on a model's real tensors (each shared tensor counted once)."""
    seen: set[int] = set()
    counts = dict.fromkeys(COMPONENTS, 0)
    for name, p in model.named_parameters():  # named_parameters() already skips tied duplicates
        if id(p) in seen:
            continue
        seen.add(id(p))
        if name.endswith("wte.weight"):
            key = "token_embedding"
        elif name.endswith("wpe.weight"):
            key = "position_embedding"
        elif ".attn." in name:
            key = "attention"
        elif ".mlp." in name:
            key = "mlp"
        elif ".ln_" in name:
            key = "layernorm"
        elif name.startswith("lm_head"):
            key = "lm_head"
        else:
            raise ValueError(f"parameter {name} belongs to no known component")
        counts[key] += p.numel()
    counts["total"] = sum(counts[c] for c in COMPONENTS)
    counts["non_embedding"] = counts["total"] - counts["token_embedding"] - counts["position_embedding"] - counts["lm_head"]
    return counts


def format_counts(counts: dict[str, int]) -> str:
    """A small aligned table of a breakdown, for the CLI and notebooks."""
    width = max(len(k) for k in counts)
    total = counts["total"]
    lines = []
    for k, v in counts.items():
        share = f"{100 * v / total:5.1f}%" if k in COMPONENTS else ""
        lines.append(f"{k:<{width}}  {v:>15,}  {share}")
    return "\n".join(lines)


def paper_count(config: GPTConfig) -> int:
    """The count the GPT-2 paper reports for this size: the same model with GPT-1's vocabulary."""
    return count_parameters(config.replace(vocab_size=GPT1_VOCAB_SIZE))["total"]
