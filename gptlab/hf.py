"""Loading and saving HuggingFace GPT-2 checkpoints, with no dependency on ``transformers``.

A HuggingFace GPT-2 folder holds ``config.json`` and the weights in ``model.safetensors`` (or the older
pickled ``pytorch_model.bin``). Its parameter names are ours (``transformer.h.0.attn.c_attn.weight`` ...),
and its ``Conv1D`` layers store their weights (in_features, out_features) exactly like our
``Projection``, so the tensors copy across unchanged. (nanoGPT uses ``nn.Linear``, which stores
(out, in): loading GPT-2 there means transposing the four projection weights of every block.)
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from .checkpoint import CheckpointError
from .config import GPTConfig
from .model import GPT

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
HUB_NAMES = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "openai-community/gpt2",
             "openai-community/gpt2-medium", "openai-community/gpt2-large", "openai-community/gpt2-xl")
# Buffers some GPT-2 checkpoints carry (the causal mask, precomputed); we build the mask on the fly.
IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias")
GELU_TANH = ("gelu_new", "gelu_pytorch_tanh", "gelu_fast")


# ---------------------------------------------------------------------------------------------- configs

def config_from_hf(hf: dict, *, source: str = "config.json") -> GPTConfig:
    """Our config for a HuggingFace ``GPT2Config`` dict, refusing what our GPT-2 cannot represent."""
    model_type = hf.get("model_type")
    if model_type != "gpt2":
        raise CheckpointError(f"{source}: model_type is {model_type!r}, not 'gpt2': this is not a GPT-2 checkpoint")
    problems = []
    act = hf.get("activation_function", "gelu_new")
    if act not in GELU_TANH:
        problems.append(f"activation_function {act!r} (GPT-2 uses the tanh GELU, 'gelu_new')")
    n_embd = hf.get("n_embd", 768)
    if hf.get("n_inner") not in (None, 4 * n_embd):
        problems.append(f"n_inner {hf['n_inner']} (only 4 * n_embd = {4 * n_embd} is supported)")
    if hf.get("scale_attn_by_inverse_layer_idx", False):
        problems.append("scale_attn_by_inverse_layer_idx=True")
    if hf.get("scale_attn_weights", True) is False:
        problems.append("scale_attn_weights=False")
    if hf.get("add_cross_attention", False):
        problems.append("add_cross_attention=True")
    if problems:
        raise CheckpointError(f"{source}: unsupported GPT-2 variant: " + "; ".join(problems))
    try:
        return GPTConfig(
            vocab_size=hf.get("vocab_size", 50257),
            block_size=hf.get("n_positions", hf.get("n_ctx", 1024)),
            n_layer=hf.get("n_layer", 12),
            n_head=hf.get("n_head", 12),
            n_embd=n_embd,
            dropout=hf.get("resid_pdrop", 0.1),
            layer_norm_eps=hf.get("layer_norm_epsilon", 1e-5),
            tie_weights=hf.get("tie_word_embeddings", True),
        )
    except ValueError as e:
        raise CheckpointError(f"{source}: {e}") from None


def config_to_hf(config: GPTConfig) -> dict:
    """A ``GPT2Config`` dict for our config; GPT-2's architecture has no place for Post-LN or bias-free layers."""
    if config.ln_placement != "pre":
        raise ValueError("HuggingFace's GPT-2 is Pre-LN only; a Post-LN model cannot be saved in its format")
    if not config.bias:
        raise ValueError("HuggingFace's GPT-2 always has biases; a bias=False model cannot be saved in its format")
    d = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": config.vocab_size,
        "n_positions": config.block_size,
        "n_ctx": config.block_size,
        "n_embd": config.n_embd,
        "n_layer": config.n_layer,
        "n_head": config.n_head,
        "n_inner": None,
        "activation_function": "gelu_new",
        "resid_pdrop": config.dropout,
        "embd_pdrop": config.dropout,
        "attn_pdrop": config.dropout,
        "layer_norm_epsilon": config.layer_norm_eps,
        "initializer_range": 0.02,
        "scale_attn_weights": True,
        "tie_word_embeddings": config.tie_weights,
        "use_cache": True,
    }
    if config.vocab_size == 50257:
        d.update(bos_token_id=50256, eos_token_id=50256)
    return d


# ---------------------------------------------------------------------------------------------- weights

def to_hf_state_dict(model: GPT) -> dict[str, torch.Tensor]:
    """Our tensors under HuggingFace's ``GPT2LMHeadModel`` names (no ``lm_head.weight`` when tied, as HF saves)."""
    sd = {k: v.detach() for k, v in model.state_dict().items()}
    if model.config.tie_weights:
        sd.pop("lm_head.weight", None)
    return sd


def _normalise_keys(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Accept ``GPT2LMHeadModel`` keys (``transformer.h.0...``) and bare ``GPT2Model`` keys (``h.0...``, as in
    OpenAI's original upload), dropping the precomputed mask buffers."""
    out = {}
    for k, v in sd.items():
        if k.endswith(IGNORED_SUFFIXES):
            continue
        if not (k.startswith("transformer.") or k.startswith("lm_head.")):
            k = "transformer." + k
        out[k] = v
    return out


def load_hf_state_dict(model: GPT, sd: dict[str, torch.Tensor], *, source: str = "checkpoint") -> GPT:
    """Copy a HuggingFace GPT-2 state dict into ``model`` after checking every name and shape."""
    sd = _normalise_keys(sd)
    expected = {k: v.shape for k, v in model.state_dict().items()}
    if model.config.tie_weights:
        tied = sd.pop("lm_head.weight", None)
        expected.pop("lm_head.weight")
        if tied is not None and "transformer.wte.weight" in sd and not torch.equal(tied, sd["transformer.wte.weight"]):
            raise CheckpointError(f"{source}: lm_head.weight differs from wte.weight, but the config ties them")
    missing = sorted(set(expected) - set(sd))
    unexpected = sorted(set(sd) - set(expected))
    wrong = [f"{k}: {tuple(sd[k].shape)} in the file, {tuple(s)} expected"
             for k, s in expected.items() if k in sd and tuple(sd[k].shape) != tuple(s)]
    problems = []
    if "transformer.wte.weight" in sd and sd["transformer.wte.weight"].shape[0] != model.config.vocab_size:
        problems.append(f"vocabulary: the file has {sd['transformer.wte.weight'].shape[0]} token embeddings, "
                        f"the config says vocab_size={model.config.vocab_size}")
    if missing:
        problems.append(f"missing {len(missing)} tensor(s): {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} tensor(s): {', '.join(unexpected[:6])}"
                        f"{' ...' if len(unexpected) > 6 else ''}")
    if wrong:
        problems.append("wrong shapes: " + "; ".join(wrong[:6]))
    if problems:
        raise CheckpointError(f"{source} does not fit this GPT-2 config: " + " | ".join(problems))
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if name in sd:
                p.copy_(sd[name])
    return model


def _read_weights(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    def read_safetensors(path):
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise CheckpointError(f"{path} cannot be read (truncated or not a safetensors file): {e}") from None

    single, index, pickled = (folder / name for name in WEIGHT_FILES)
    if single.is_file():
        return read_safetensors(single)
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        sd = {}
        for shard in shards:
            sd.update(read_safetensors(folder / shard))
        return sd
    if pickled.is_file():
        try:
            # weights_only: a pickle can run arbitrary code; this only rebuilds tensors.
            sd = torch.load(pickled, map_location="cpu", weights_only=True)
        except Exception as e:
            raise CheckpointError(f"{pickled} cannot be read safely (truncated, or not plain tensors): {e}") from None
        if not isinstance(sd, dict):
            raise CheckpointError(f"{pickled} holds a {type(sd).__name__}, not a state dict")
        return sd
    raise CheckpointError(f"{folder} holds no weights: expected one of {', '.join(WEIGHT_FILES)}")


# ---------------------------------------------------------------------------------------------- folders

def load_pretrained(path_or_name, *, attn_impl: str | None = None, dtype: torch.dtype | None = None,
                    device: str | torch.device | None = None) -> GPT:
    """A GPT from a HuggingFace GPT-2 folder, a hub name (downloaded when the network allows), or a
    gptlab training run. Returned in eval mode."""
    folder = Path(os.fspath(path_or_name)).expanduser()
    if not folder.is_dir():
        folder = _from_hub(str(path_or_name))
    from . import checkpoint

    if checkpoint.is_checkpoint(folder):
        model = checkpoint.load_model(folder)
    else:
        cfg_path = folder / "config.json"
        if not cfg_path.is_file():
            raise CheckpointError(f"{folder} has no config.json: not a HuggingFace model folder")
        try:
            hf = json.loads(cfg_path.read_text())
        except json.JSONDecodeError as e:
            raise CheckpointError(f"{cfg_path} is not valid JSON: {e}") from None
        config = config_from_hf(hf, source=str(cfg_path))
        sd = _read_weights(folder)
        with torch.device("meta"):
            model = GPT(config)  # no time spent initialising weights that are about to be overwritten
        model = model.to_empty(device="cpu")
        if config.tie_weights:
            model.lm_head.weight = model.transformer.wte.weight  # to_empty unties; tie again
        load_hf_state_dict(model, sd, source=str(folder))
    if attn_impl is not None:
        model = _with_attn_impl(model, attn_impl)
    if dtype is not None or device is not None:
        model = model.to(device=device, dtype=dtype)
    return model.eval()


def _with_attn_impl(model: GPT, attn_impl: str) -> GPT:
    model.config = model.config.replace(attn_impl=attn_impl)
    for block in model.transformer.h:
        block.attn.impl = attn_impl
    return model


def _from_hub(name: str) -> Path:
    """Download (or find in the local HuggingFace cache) a hub checkpoint's config and weights."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise CheckpointError(
            f"{name!r} is not a local folder, and downloading it needs huggingface_hub (pip install huggingface_hub)"
        ) from None
    patterns = ["config.json", "model.safetensors"]
    try:
        return Path(snapshot_download(name, allow_patterns=patterns, local_files_only=True))
    except Exception:
        pass
    try:
        folder = Path(snapshot_download(name, allow_patterns=patterns))
    except Exception as e:
        raise CheckpointError(
            f"{name!r} is not a local folder and could not be downloaded from the HuggingFace hub "
            f"({type(e).__name__}). Without network access, copy the model folder (config.json and "
            f"model.safetensors) to this machine and pass its path."
        ) from None
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"the hub repository {name!r} has no config.json")
    return folder


def save_pretrained(model: GPT, folder, *, tokenizer=None) -> Path:
    """Write ``model`` as a HuggingFace GPT-2 folder that ``transformers.GPT2LMHeadModel.from_pretrained`` loads.

    The weights file is written under a temporary name and renamed, so an interrupted save never leaves a
    half-written ``model.safetensors`` behind.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = config_to_hf(model.config)
    sd = {k: v.contiguous().cpu() for k, v in to_hf_state_dict(model).items()}
    tmp = folder / "model.safetensors.tmp"
    save_file(sd, str(tmp), metadata={"format": "pt"})
    os.replace(tmp, folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    if tokenizer is not None:
        from .tokenizers import save_tokenizer

        save_tokenizer(tokenizer, folder / "gptlab_tokenizer.json")
    return folder
