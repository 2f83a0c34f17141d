"""Interactive explorers for the course notebooks, each one line in a notebook and fed by the real functions.

- :class:`GenerationExplorer` (notebook 05): a prompt, sliders for temperature, top-k, top-p, min-p and the
  repetition penalty over its next-token distribution, greedy / sampling / beam search side by side, and a
  step-through that writes one token at a time (:mod:`gptlab.widgets.generation`).
- :class:`AttentionExplorer` (notebook 02): a model's attention weights drawn on the text itself, one head
  or all of them, the future greyed out (:mod:`gptlab.widgets.attention`).
- :class:`TokenizerExplorer` (notebook 01): typed text as coloured BPE pieces with their ids, the bytes of
  what is not ASCII, and characters against tokens counted (:mod:`gptlab.widgets.tokens`).

Each explorer keeps what it last showed in ``state``; ``set(...)`` changes its controls from code and
redraws at once, so a notebook cell can assert on ``state`` straight after. Input an explorer cannot show
(an empty prompt, a head that does not exist, a model without the interface it needs) is explained in the
explorer's output, never as a traceback.
"""
from .attention import AttentionExplorer
from .base import ExplorerError
from .generation import GenerationExplorer, entropy_nats, summary_line
from .tokens import TokenizerExplorer

__all__ = ["AttentionExplorer", "ExplorerError", "GenerationExplorer", "TokenizerExplorer", "entropy_nats",
           "summary_line"]
