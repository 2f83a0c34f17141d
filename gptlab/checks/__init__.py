"""Self-checks for the exercises: each says *what* is wrong, not just that something is.

Every ``check_*`` function takes the student's function or class, runs it on small seeded inputs and
either prints a one-line success or raises ``AssertionError`` with a message a student can act on
("changing a future token changed an earlier output: your mask leaks"). The reference values are computed
here from first principles, not with the student's code and not with the course's own implementation
of the same function, so a check cannot agree with a shared mistake.

One module per topic of the exercise track; everything is importable from ``gptlab.checks``.
"""
from ._common import init_random, seeded_weights, time_call  # noqa: F401
from .attention import *  # noqa: F401,F403
from .bert import *  # noqa: F401,F403
from .blocks import *  # noqa: F401,F403
from .causal_lm import *  # noqa: F401,F403
from .embeddings import *  # noqa: F401,F403
from .generation import *  # noqa: F401,F403
from .gpt import *  # noqa: F401,F403
from .loading import *  # noqa: F401,F403
from .training import *  # noqa: F401,F403
from .kv_cache import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
