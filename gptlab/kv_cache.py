"""A key/value cache preallocated to the context length.

During generation each new token needs the keys and values of every earlier position, in every layer.
Recomputing them makes step t cost O(t) matrix products; storing them makes it O(1). The buffers are
allocated once, (n_layer, B, n_head, max_len, head_dim), and filled in place, so decoding never
re-allocates or copies the past (``torch.cat`` per token would).
"""
from __future__ import annotations

import torch


class KVCache:
    """Keys and values of every layer for the positions processed so far.

    The model calls :meth:`update` once per layer with the new positions' keys and values, then
    :meth:`advance` once all layers are done; ``seq_len`` counts the positions stored.
    """

    def __init__(self, n_layer, batch_size, n_head, max_len, head_dim, *, dtype=torch.float32, device="cpu"):
        for name, value in dict(n_layer=n_layer, batch_size=batch_size, n_head=n_head, max_len=max_len,
                                head_dim=head_dim).items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"KVCache {name} must be a positive integer, got {value!r}")
        shape = (n_layer, batch_size, n_head, max_len, head_dim)
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)
        self.max_len = max_len
        self.seq_len = 0  # positions stored so far (the same in every layer once a forward pass finishes)

    @classmethod
    def for_model(cls, model, batch_size: int = 1, max_len: int | None = None, dtype=None) -> "KVCache":
        """A cache shaped for ``model``; ``max_len`` defaults to its context length (``block_size``)."""
        c = model.config
        max_len = c.block_size if max_len is None else max_len
        if dtype is None:
            dtype = model.transformer.wte.weight.dtype
        return cls(c.n_layer, batch_size, c.n_head, max_len, c.head_dim, dtype=dtype, device=model.device)

    @property
    def batch_size(self) -> int:
        return self.keys.shape[1]

    def update(self, layer_idx: int, k: torch.Tensor, v: torch.Tensor):
        """Store the new keys/values (B, nh, T, hs) of one layer; return all of them so far (B, nh, past+T, hs)."""
        start, end = self.seq_len, self.seq_len + k.shape[2]
        self.check_room(k.shape[2], k.shape[0])
        self.keys[layer_idx, :, :, start:end] = k
        self.values[layer_idx, :, :, start:end] = v
        return self.keys[layer_idx, :, :, :end], self.values[layer_idx, :, :, :end]

    def check_room(self, n: int, batch_size: int) -> None:
        """Raise a clear error unless ``n`` more positions of ``batch_size`` sequences fit."""
        if self.seq_len + n > self.max_len:
            raise ValueError(f"KV cache is full: {self.seq_len + n} positions needed, room for {self.max_len}; "
                             "reset() it or crop the sequence")
        if batch_size != self.keys.shape[1]:
            raise ValueError(f"the cache holds {self.keys.shape[1]} sequences but {batch_size} were given")

    def advance(self, n: int) -> None:
        """Called by the model once every layer has stored ``n`` new positions."""
        self.seq_len += n

    def reset(self) -> None:
        """Forget every position (the buffers stay allocated)."""
        self.seq_len = 0

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index`` (beam search picks which beams survive each step).

        Only the filled positions are copied, into the same buffers.
        """
        n = self.seq_len
        index = index.to(self.keys.device)
        self.keys[:, :, :, :n] = self.keys[:, index, :, :n]
        self.values[:, :, :, :n] = self.values[:, index, :, :n]

    def repeat_interleave(self, repeats: int) -> "KVCache":
        """A new cache with every row repeated ``repeats`` times (row i becomes rows i*r .. i*r + r-1).

        Beam search processes the prompt once, then gives each beam its own copy.
        """
        L, B, nh, T, hs = self.keys.shape
        out = KVCache(L, B * repeats, nh, T, hs, dtype=self.keys.dtype, device=self.keys.device)
        n = self.seq_len
        out.keys[:, :, :, :n] = self.keys[:, :, :, :n].repeat_interleave(repeats, dim=1)
        out.values[:, :, :, :n] = self.values[:, :, :, :n].repeat_interleave(repeats, dim=1)
        out.seq_len = n
        return out

    def nbytes(self) -> int:
        """Bytes held by the key and value buffers."""
        return self.keys.numel() * self.keys.element_size() + self.values.numel() * self.values.element_size()

    def __repr__(self):
        L, B, nh, T, hs = self.keys.shape
        return (f"KVCache(n_layer={L}, batch_size={B}, n_head={nh}, max_len={T}, head_dim={hs}, "
                f"seq_len={self.seq_len}, dtype={self.keys.dtype}, {self.nbytes() / 2**20:.1f} MiB)")


def kv_cache_bytes(config, batch_size: int = 1, seq_len: int | None = None, dtype=torch.float32) -> int:
    """Bytes a cache needs: 2 (keys and values) x layers x batch x seq_len x n_embd x bytes per element.

    >>> from gptlab import GPTConfig
    >>> kv_cache_bytes(GPTConfig.from_preset("gpt2-xl"), seq_len=1024) / 2**20  # MiB, fp32
    600.0
    """
    seq_len = config.block_size if seq_len is None else seq_len
    for name, value in dict(batch_size=batch_size, seq_len=seq_len).items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype such as torch.float32, got {dtype!r}")
    itemsize = torch.empty((), dtype=dtype).element_size()
    return 2 * config.n_layer * batch_size * seq_len * config.n_head * config.head_dim * itemsize
