"""Small trained models that ship with the package, so that a notebook can look inside a *trained* GPT
(attention maps, samples) without first spending minutes training one.

``shakespeare-char/`` is the model of the default CPU recipe (what ``gptlab train`` trains with no options:
character-level, the 38 plays, 4 layers x 4 heads x 128 wide, 811k parameters) trained for 1,500 iterations
with no time budget cutting it short: validation loss 1.684 on four held-out plays. It was made with
``gptlab train --max-minutes 25 --max-iters 1500 --lr 3e-3`` (then the defaults; it reached its iteration limit
after 697 s, one CPU thread on a busy machine). Remake it with::

    python -m gptlab.assets remake            # = gptlab train --max-minutes 0 --max-iters 1500 --lr 3e-3
                                              #       --out runs/shakespeare-char
                                              #   then copy the weights, config and metrics here

Only what inference needs is shipped: ``model.safetensors`` (fp32), ``checkpoint.json`` (config, tokenizer,
training settings and final losses) and ``metrics.jsonl`` (the loss curve); not the optimizer state.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

SHAKESPEARE_CHAR = Path(__file__).parent / "shakespeare-char"
REMAKE_ARGS = ["train", "--max-minutes", "0", "--max-iters", "1500", "--lr", "3e-3", "--no-sample"]  # how it was made


def load_shakespeare_char(device: str = "cpu"):
    """``(model, tokenizer)``: the shipped character-level Shakespeare GPT (eval mode) and its tokenizer."""
    from ..checkpoint import load_model, load_tokenizer

    if not (SHAKESPEARE_CHAR / "model.safetensors").is_file():
        raise FileNotFoundError(
            f"the shipped checkpoint is missing from {SHAKESPEARE_CHAR}; remake it with: python -m gptlab.assets remake"
        )
    return load_model(SHAKESPEARE_CHAR, device=device), load_tokenizer(SHAKESPEARE_CHAR)


def install(run_folder, dest: str | os.PathLike = SHAKESPEARE_CHAR) -> Path:
    """Copy a finished training run's weights, record and metrics into ``dest`` (without the optimizer state)."""
    from ..checkpoint import read_state

    run_folder, dest = Path(run_folder), Path(dest)
    record = read_state(run_folder)
    record.pop("rng", None)
    record["has_optimizer"] = False
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("model.safetensors", "metrics.jsonl"):
        tmp = dest / (name + ".tmp")
        shutil.copyfile(run_folder / name, tmp)
        os.replace(tmp, dest / name)
    tmp = dest / "checkpoint.json.tmp"
    tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False))
    os.replace(tmp, dest / "checkpoint.json")
    return dest


def remake(run_folder: str = "runs/shakespeare-char") -> Path:
    from ..cli import main

    argv = [*REMAKE_ARGS, "--out", run_folder]
    if Path(run_folder, "checkpoint.json").is_file():
        argv.append("--force")
    if main(argv) != 0:
        raise SystemExit("training failed; nothing was installed")
    return install(run_folder)
