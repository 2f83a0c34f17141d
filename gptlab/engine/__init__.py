"""Everything in gptlab that exists only for speed.

The teaching model (:mod:`gptlab.model`) is written to be read; this package holds what makes it fast
without changing what it computes: the cached decoding step and the training loss over GPT-2's large
vocabulary. The model never imports from here. Each module says what it optimises, why, and how the
tests prove it computes the same numbers as the plain code.
"""

from .decode import DecodeStep, prompt_logits
from .huge_pages import advise_huge_pages, aligned_empty
from .lm_head import HeadLogits, transposed_head
from .loss import FusedLossGPT, lm_head_cross_entropy

__all__ = ["DecodeStep", "FusedLossGPT", "HeadLogits", "advise_huge_pages", "aligned_empty", "lm_head_cross_entropy",
           "prompt_logits", "transposed_head"]
