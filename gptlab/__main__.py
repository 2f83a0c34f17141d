"""``python -m gptlab ...`` is the ``gptlab`` command (and what ``torchrun -m gptlab train ...`` runs)."""
import sys

from .cli import main

sys.exit(main())
