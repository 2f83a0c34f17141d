"""The settings of a ``gptlab train`` run, resolved in one place from the three places they can come from.

A run's settings are what it records in its checkpoint and what ``--resume`` reads back. Each value comes from,
in this order: a flag the user gave, the recorded run (when resuming), the recipe (the default CPU recipe or a
named one from :mod:`gptlab.recipes`), :data:`BASE`. A flag left out is *not given*: the command-line parser has
no defaults for settings, so a default can never pose as a choice and overwrite a recorded value.

Resuming continues the same run. Only :data:`CHANGEABLE_ON_RESUME` (how long it trains, how often it reports, the
learning rate's end points, and ``fused_loss``, which changes how the loss is computed but not its value) may
differ from the record; any other setting given with ``--resume`` must equal the
recorded one, or the folder holds a different run and the command says so.
"""
from __future__ import annotations

from pathlib import Path

from .errors import GptlabError

# Recorded by every run, whatever its recipe; older runs that lack one read it from here.
BASE = dict(val_fraction=0.1, fused_loss=True)

# Settings a flag can set and a run records. The recipes hold most of them; preset and context only when given.
SETTINGS = (
    "data", "tokenizer", "val_fraction", "preset", "n_layer", "n_head", "n_embd", "context", "dropout",
    "seq_len", "batch_size", "grad_accum", "total_batch_tokens", "max_iters", "max_minutes", "lr", "min_lr",
    "warmup_iters", "weight_decay", "grad_clip", "beta2", "seed", "eval_interval", "eval_iters",
    "checkpoint_interval", "hellaswag", "hellaswag_limit", "log_interval", "recipe", "fused_loss",
)
MODEL_SIZES = ("n_layer", "n_head", "n_embd", "dropout")  # a --preset replaces the recipe's sizes
# Settings recorded under an older name: a run recorded with one resumes under the new one.
RENAMED = {"block_size": "seq_len"}  # the training sequence length, apart from the model's context
CHANGEABLE_ON_RESUME = ("max_iters", "max_minutes", "eval_interval", "eval_iters", "log_interval", "lr", "min_lr",
                        "checkpoint_interval", "hellaswag", "hellaswag_limit", "fused_loss")


class SettingsError(GptlabError, ValueError):
    """Settings that contradict each other or the run being resumed."""


def flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def resolve(given: dict, recipe: dict, *, recorded: dict | None = None) -> dict:
    """The run's settings from the flags ``given`` (setting -> value; other keys and ``None`` values are ignored),
    the ``recipe`` of a new run, and the ``recorded`` settings of the run being resumed (``None``: a new run)."""
    given = _normalised({k: v for k, v in given.items() if k in SETTINGS and v is not None})
    if recorded is not None:
        settings = {**BASE, **{RENAMED.get(k, k): v for k, v in recorded.items()}}
        clashes = [f"{flag(k)} {given[k]} (the run has {settings.get(k)})" for k in given
                   if k not in CHANGEABLE_ON_RESUME and given[k] != settings.get(k)]
        if clashes:
            raise SettingsError("it holds a different run: " + "; ".join(clashes) + ". Drop these options to resume "
                                "it, or use another --out. Only " + ", ".join(map(flag, CHANGEABLE_ON_RESUME))
                                + " may change when resuming.")
        return {**settings, **given}
    settings = {**BASE, **recipe}
    if "preset" in given:
        for key in MODEL_SIZES:
            settings.pop(key, None)
    return _normalised({**settings, **given})


def _normalised(settings: dict) -> dict:
    """Paths made absolute, so that a run resumes from any folder and compares equal to its own record."""
    out = dict(settings)
    if out.get("data") not in (None, "shakespeare"):
        out["data"] = str(Path(out["data"]).expanduser().absolute())
    if out.get("hellaswag") not in (None, "hub"):
        out["hellaswag"] = str(Path(out["hellaswag"]).expanduser().absolute())
    return out
