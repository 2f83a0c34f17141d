"""A key/value cache preallocated to the context length.

During generation each new token needs the keys and values of every earlier position, in every layer.
Recomputing them makes step t cost O(t) matrix products; storing them makes it O(1). The buffers are
allocated once, (n_layer, B, n_head, max_len, head_dim), and filled in place, so decoding never
re-allocates or copies the past (``torch.cat`` per token would).
"""
from __future__ import annotations

import torch


class KVCache:
    def __init__(self, n_layer, batch_size, n_head, max_len, head_dim, *, dtype=torch.float32, device="cpu"):
        shape = (n_layer, batch_size, n_head, max_len, head_dim)
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)
        self.max_len = max_len
        self.seq_len = 0  # positions stored so far (the same in every layer once a forward pass finishes)

    @classmethod
    def for_model(cls, model, batch_size: int = 1, max_len: int | None = None, dtype=None) -> "KVCache":
        c = model.config
        max_len = c.block_size if max_len is None else max_len
        if dtype is None:
            dtype = model.transformer.wte.weight.dtype
        return cls(c.n_layer, batch_size, c.n_head, max_len, c.head_dim, dtype=dtype, device=model.device)

    def update(self, layer_idx: int, k: torch.Tensor, v: torch.Tensor):
        """Store the new keys/values (B, nh, T, hs) of one layer; return all of them so far (B, nh, past+T, hs)."""
        start, end = self.seq_len, self.seq_len + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"KV cache is full: {end} positions needed, room for {self.max_len}")
        self.keys[layer_idx, :, :, start:end] = k
        self.values[layer_idx, :, :, start:end] = v
        return self.keys[layer_idx, :, :, :end], self.values[layer_idx, :, :, :end]

    def advance(self, n: int) -> None:
        """Called by the model once every layer has stored ``n`` new positions."""
        self.seq_len += n

    def reset(self) -> None:
        self.seq_len = 0

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index`` (beam search picks which beams survive each step)."""
        self.keys = self.keys.index_select(1, index)
        self.values = self.values.index_select(1, index)

    def nbytes(self) -> int:
        return self.keys.numel() * self.keys.element_size() + self.values.numel() * self.values.element_size()


def kv_cache_bytes(config, batch_size: int = 1, seq_len: int | None = None, dtype=torch.float32) -> int:
    """Bytes a cache needs: 2 (keys and values) x layers x batch x seq_len x n_embd x bytes per element."""
    seq_len = config.block_size if seq_len is None else seq_len
    itemsize = torch.empty((), dtype=dtype).element_size()
    return 2 * config.n_layer * batch_size * seq_len * config.n_embd * itemsize
