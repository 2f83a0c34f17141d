"""gptlab: GPT-2 from scratch, the companion package of the course.

Importing it is cheap: the model is imported here, everything heavier (tokenizers, HuggingFace
interoperability, training, plotting) only when it is used.
"""
from .config import GPT2_PRESETS, PRESETS, GPTConfig
from .kv_cache import KVCache, kv_cache_bytes
from .model import GPT, attention_mask
from .params import count_parameters

__all__ = ["GPT", "GPTConfig", "KVCache", "PRESETS", "GPT2_PRESETS", "attention_mask", "count_parameters", "kv_cache_bytes"]
__version__ = "0.1.0"
