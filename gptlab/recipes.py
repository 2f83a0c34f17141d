"""Named training recipes for ``gptlab train --recipe NAME``, and the arithmetic of model FLOPs utilisation.

``gpt2-124m`` and ``gpt2-350m`` are GPT-2's small and medium sizes trained as the published reproductions train
them (nanoGPT, llm.c, build-nanogpt), with the GPT-3 paper's settings for models of that size (its Table 2.1:
0.5 M tokens per step, a peak learning rate of 6e-4 for 125M and 3e-4 for 350M):

- 2**19 = 524,288 tokens per optimizer step: 1024-token sequences, ``batch_size`` per process, and as many
  micro-batches of gradient accumulation as it takes on the given number of processes;
- a linear warm-up over 715 steps (375 M tokens, GPT-3's figure), then a cosine down to 10 % of the peak;
- AdamW with betas (0.9, 0.95), weight decay 0.1 on matrices only, gradients clipped to norm 1.0;
- 19,073 steps = 10 B tokens, one pass over FineWeb-Edu's ``sample-10BT``;
- on CUDA: bfloat16 autocast, TF32 matrix products, fused AdamW and ``torch.compile`` (the trainer turns these on
  by itself on a GPU and leaves them off on a CPU, where they would be slower or unsupported).

Every value can still be overridden by a flag, which is how the tests shrink the recipe to CPU size.
"""
from __future__ import annotations

TOKENS_PER_STEP = 2**19

RECIPES: dict[str, dict] = {
    "gpt2-124m": dict(
        preset="gpt2", tokenizer="gpt2", seq_len=1024, batch_size=64, total_batch_tokens=TOKENS_PER_STEP,
        max_iters=19_073, lr=6e-4, min_lr=6e-5, warmup_iters=715, weight_decay=0.1, beta1=0.9, beta2=0.95,
        grad_clip=1.0, dropout=0.0, eval_interval=250, eval_iters=20, log_interval=10, checkpoint_interval=1000,
        max_minutes=0, seed=1337,
    ),
    "gpt2-350m": dict(
        preset="gpt2-medium", tokenizer="gpt2", seq_len=1024, batch_size=32, total_batch_tokens=TOKENS_PER_STEP,
        max_iters=19_073, lr=3e-4, min_lr=3e-5, warmup_iters=715, weight_decay=0.1, beta1=0.9, beta2=0.95,
        grad_clip=1.0, dropout=0.0, eval_interval=250, eval_iters=20, log_interval=10, checkpoint_interval=1000,
        max_minutes=0, seed=1337,
    ),
}


def grad_accum_for(total_batch_tokens: int, batch_size: int, seq_len: int, world_size: int) -> int:
    """Micro-batches per step so that ``batch_size * seq_len * world_size * grad_accum`` is the step's tokens."""
    per_pass = batch_size * seq_len * world_size
    if total_batch_tokens % per_pass:
        raise ValueError(
            f"--total-batch-tokens {total_batch_tokens:,} is not a multiple of batch_size x seq_len x processes = "
            f"{batch_size} x {seq_len} x {world_size} = {per_pass:,}; change --batch-size or --total-batch-tokens"
        )
    return total_batch_tokens // per_pass


def flops_per_token(config) -> float:
    """Training FLOPs per token: 6 per weight (forward 2, backward 4) plus attention's score and value products,
    12 * layers * width * context (the estimate of the PaLM paper's appendix B, as nanoGPT computes MFU).
    Position embeddings are a lookup, not a product, so they are left out of the weights."""
    n_weights = sum(p.numel() for name, p in _named_weights(config))
    return 6 * n_weights + 12 * config.n_layer * config.n_embd * config.block_size


def _named_weights(config):
    import torch

    from .model import GPT

    with torch.device("meta"):  # shapes only: no memory, no initialisation time
        model = GPT(config)
    return [(n, p) for n, p in model.named_parameters() if "wpe" not in n]


# Dense bfloat16 tensor-core peaks from the vendors' data sheets, FLOP/s (no sparsity).
PEAK_BF16_FLOPS = {
    "H200": 989e12,
    "H100 SXM": 989e12,
    "H100 NVL": 835e12,
    "H100 PCIe": 756e12,
    "H100": 989e12,
    "A100": 312e12,
    "A10G": 125e12,
    "A10": 125e12,
    "L40S": 362e12,
    "L4": 121e12,
    "RTX 4090": 165e12,
    "RTX 3090": 71e12,
}


def peak_flops(device) -> float | None:
    """The bf16 peak of the GPU ``device`` by its name (None when unknown or not a CUDA GPU: no MFU is shown)."""
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key in PEAK_BF16_FLOPS:  # most specific first
        if key in name:
            return PEAK_BF16_FLOPS[key]
    return None
