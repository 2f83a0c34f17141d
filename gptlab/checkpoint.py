"""Training checkpoints: a folder that is both a resumable run and a loadable model.

A checkpoint folder holds

- ``model.safetensors``: the weights (fp32; a tied LM head is stored once, as the token embedding);
- ``checkpoint.json``: the model config, the tokenizer, the iteration, the RNG and data-sampler state, the
  training settings and a summary of the run; plain JSON a person can read;
- ``optimizer.pt``: AdamW's moments, saved with ``torch.save`` and loaded with ``weights_only=True``, so loading
  a checkpoint never runs pickled code.

Writes are atomic as a set. Each file is first written in full under a ``.tmp`` name; then the temporary files
replace the old ones, ``checkpoint.json`` last. If the process dies before ``checkpoint.json.tmp`` is complete,
the old checkpoint is untouched and the leftovers are deleted on the next load; if it dies while replacing,
``checkpoint.json.tmp`` is complete and the next load finishes the replacement ("rolls forward"). A reader
never sees new weights with an old iteration.

``gptlab.load_pretrained(folder)`` loads such a folder through :func:`is_checkpoint` and :func:`load_model`.
"""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .config import GPTConfig
from .errors import GptlabError
from .model import GPT

FORMAT = "gptlab-checkpoint"
FORMAT_VERSION = 1
MODEL_FILE = "model.safetensors"
STATE_FILE = "checkpoint.json"
OPTIMIZER_FILE = "optimizer.pt"
_FILES = (OPTIMIZER_FILE, MODEL_FILE, STATE_FILE)  # the order they are replaced in: the JSON commits


class CheckpointError(GptlabError, ValueError):
    """A checkpoint (ours or HuggingFace's) that cannot be loaded; the message names what is wrong with it."""


def is_checkpoint(folder) -> bool:
    """True if ``folder`` is a gptlab training checkpoint (rather than, say, a HuggingFace model folder)."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    _recover(folder)
    try:
        return json.loads((folder / STATE_FILE).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def save_checkpoint(folder, model, *, optimizer=None, state: dict | None = None) -> Path:
    """Write ``model`` (a :class:`GPT`, or anything with a ``config`` and a ``state_dict``) and the run ``state``.

    ``state`` is JSON-serialisable: the iteration, tokenizer, sampler state and so on; torch RNG states are added
    here. Returns the folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = _unwrap(model)
    config = model.config
    tensors = {}
    for name, t in model.state_dict().items():
        if name == "lm_head.weight" and config.tie_weights:
            continue  # the same tensor as transformer.wte.weight
        tensors[name] = t.detach().to("cpu", torch.float32).contiguous()
    record = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": config.to_dict(),
        **(state or {}),
        "rng": _rng_state(),
    }
    iteration = str(record.get("iteration", 0))
    tmp = {name: folder / (name + ".tmp") for name in _FILES}
    save_file(tensors, str(tmp[MODEL_FILE]), metadata={"format": "pt", "iteration": iteration})
    if optimizer is not None:
        torch.save({"iteration": int(iteration), "optimizer": optimizer.state_dict()}, tmp[OPTIMIZER_FILE])
    record["has_optimizer"] = optimizer is not None
    with open(tmp[STATE_FILE], "w", encoding="utf-8") as f:  # written last: its presence marks a complete set
        json.dump(record, f, indent=1, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    _commit(folder)
    if optimizer is None:
        (folder / OPTIMIZER_FILE).unlink(missing_ok=True)  # an optimizer file from an older iteration would lie
    return folder


def _commit(folder: Path) -> None:
    for name in _FILES:
        tmp = folder / (name + ".tmp")
        if tmp.exists():
            os.replace(tmp, folder / name)


def _recover(folder: Path) -> None:
    """Finish or discard a save that was interrupted (see the module docstring)."""
    state_tmp = folder / (STATE_FILE + ".tmp")
    leftovers = [folder / (name + ".tmp") for name in _FILES if (folder / (name + ".tmp")).exists()]
    if not leftovers:
        return
    try:
        json.loads(state_tmp.read_text())
        complete = True
    except (OSError, ValueError):
        complete = False
    if complete:
        _commit(folder)
    else:
        for path in leftovers:
            path.unlink(missing_ok=True)


def read_state(folder) -> dict:
    """The JSON record of a checkpoint (config, tokenizer, iteration ...)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder} is not a folder")
    _recover(folder)
    path = folder / STATE_FILE
    if not path.is_file():
        raise CheckpointError(f"{folder} holds no gptlab checkpoint ({STATE_FILE} is missing)")
    try:
        record = json.loads(path.read_text())
    except ValueError as e:
        raise CheckpointError(f"{path} is not valid JSON: {e}") from e
    if record.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a gptlab checkpoint")
    if record.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path} was written by a newer gptlab; upgrade gptlab to read it")
    return record


def load_model(folder, *, device: str | torch.device = "cpu") -> GPT:
    """The :class:`GPT` saved in a checkpoint folder, in eval mode."""
    folder = Path(folder)
    record = read_state(folder)
    model = GPT(GPTConfig.from_dict(record["config"]))
    load_weights(model, folder)
    return model.to(device).eval()


def load_weights(model, folder) -> None:
    """Copy a checkpoint's weights into ``model`` after checking that every name and shape matches."""
    folder = Path(folder)
    model = _unwrap(model)
    path = folder / MODEL_FILE
    if not path.is_file():
        raise CheckpointError(f"{folder} has no {MODEL_FILE}")
    expected = {k: v for k, v in model.state_dict().items() if not (k == "lm_head.weight" and model.config.tie_weights)}
    with safe_open(str(path), framework="pt") as f:
        names = set(f.keys())
        missing, unexpected = sorted(set(expected) - names), sorted(names - set(expected))
        if missing or unexpected:
            raise CheckpointError(
                f"{path} does not fit this model: missing {missing[:5]}, unexpected {unexpected[:5]}"
            )
        with torch.no_grad():
            for name, target in expected.items():
                t = f.get_tensor(name)
                if t.shape != target.shape:
                    raise CheckpointError(f"{name} has shape {tuple(t.shape)} in {path}, the model expects {tuple(target.shape)}")
                target.copy_(t)


def load_tokenizer(folder):
    """The tokenizer a checkpoint was trained with."""
    from .tokenizers import tokenizer_from_dict

    record = read_state(folder)
    if "tokenizer" not in record:
        raise CheckpointError(f"{folder} does not record its tokenizer")
    return tokenizer_from_dict(record["tokenizer"])


def load_optimizer_state(folder) -> dict | None:
    """The optimizer state dict saved with a checkpoint (tensors only: loaded with ``weights_only=True``)."""
    folder = Path(folder)
    record = read_state(folder)
    path = folder / OPTIMIZER_FILE
    if not record.get("has_optimizer") or not path.is_file():
        return None
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if saved.get("iteration") != record.get("iteration"):
        raise CheckpointError(f"{path} belongs to iteration {saved.get('iteration')}, the checkpoint to {record.get('iteration')}")
    return saved["optimizer"]


def restore_rng(record: dict) -> None:
    """Put torch's random number generators back where the checkpoint left them (dropout draws depend on it)."""
    rng = record.get("rng") or {}
    if "cpu" in rng:
        torch.set_rng_state(_decode(rng["cpu"]))
    if rng.get("cuda") and torch.cuda.is_available() and len(rng["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([_decode(s) for s in rng["cuda"]])


def _rng_state() -> dict:
    state = {"cpu": _encode(torch.get_rng_state())}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [_encode(s) for s in torch.cuda.get_rng_state_all()]
    return state


def _encode(t: torch.Tensor) -> str:
    return base64.b64encode(t.numpy().tobytes()).decode("ascii")


def _decode(s: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8)


def _unwrap(model):
    """The plain model inside DistributedDataParallel and/or torch.compile wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(getattr(model, "module"), torch.nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model
