"""gptlab: GPT-2 from scratch, the companion package of the course.

Importing it is cheap: the model is imported here, everything else (tokenizers, generation, HuggingFace
interoperability, training, plotting) on first use, e.g. ``gptlab.generate`` or ``from gptlab import Trainer``.
"""
import importlib

from .config import GPT2_PRESETS, PRESETS, GPTConfig
from .kv_cache import KVCache, kv_cache_bytes
from .model import GPT, causal_mask
from .params import count_parameters

_LAZY = {
    "generate": "generation", "stream": "generation", "stream_text": "generation", "TextStreamer": "generation",
    "next_token_probs": "sampling", "kept_mask": "sampling",
    "BPETokenizer": "tokenizers", "CharTokenizer": "tokenizers", "get_tokenizer": "tokenizers",
    "load_pretrained": "hf", "save_pretrained": "hf",
    "Trainer": "train", "TrainConfig": "train",
    "load_shakespeare_char": "assets",
}

__all__ = ["GPT", "GPTConfig", "KVCache", "PRESETS", "GPT2_PRESETS", "causal_mask", "count_parameters",
           "kv_cache_bytes", *_LAZY]
__version__ = "0.1.0"


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gptlab' has no attribute {name!r}")
