# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise 7 · Load GPT-2's weights into your model
#
# **Goal:** read a HuggingFace GPT-2 checkpoint (`config.json` + `model.safetensors`) into *your* GPT, so
# that its logits equal those of `transformers`' `GPT2LMHeadModel` to within 1e-4. Three things stand
# between the file and your model: the names, the layout of the projection weights, and the tied head.
#
# **Difficulty:** ★★☆ · **Importance:** 🔵🔵🔵🔵⚪ · **Expected time:** 40 minutes
#
# Follows course notebook 07 (GPT-2, exactly).
#
# The model is the `GPT` of exercise 06: the course's by default; the cell after the imports can use yours.

# %%
import json
import os
import tempfile
from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import load_file

from gptlab import GPTConfig
from gptlab.checks import check_config_from_hf, check_load_gpt2, linear_layout
from gptlab.exercises import own_pieces
from gptlab.model import GPT

# %% [markdown]
# To load into your own `GPT` from exercise 06 (saved as `06_gpt.ipynb` beside this notebook), set
# `USE_MY_PIECES = True`.

# %%
USE_MY_PIECES = False
if USE_MY_PIECES:
    GPT = own_pieces({"GPT": ("06_gpt", GPT)})["GPT"]

# %% [markdown]
# ## 1. The config
#
# A GPT-2 `config.json` names the sizes its own way. `config_from_hf(hf)` takes that dict and returns our
# `GPTConfig`: `vocab_size`, `block_size` (HF: `n_positions`), `n_layer`, `n_head`, `n_embd`,
# `layer_norm_eps` (HF: `layer_norm_epsilon`), `dropout` (HF: `resid_pdrop`) and `tie_weights`
# (HF: `tie_word_embeddings`, true for GPT-2).

# %% nbgrader={"grade": false, "grade_id": "hf_config_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def config_from_hf(hf: dict) -> GPTConfig:
    ### BEGIN SOLUTION
    return GPTConfig(
        vocab_size=hf["vocab_size"],
        block_size=hf["n_positions"],
        n_layer=hf["n_layer"],
        n_head=hf["n_head"],
        n_embd=hf["n_embd"],
        layer_norm_eps=hf["layer_norm_epsilon"],
        dropout=hf.get("resid_pdrop", 0.1),
        tie_weights=hf.get("tie_word_embeddings", True),
    )
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "hf_config_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_config_from_hf(config_from_hf)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
_hf = {"model_type": "gpt2", "vocab_size": 50257, "n_positions": 1024, "n_ctx": 1024, "n_embd": 1600,
       "n_layer": 48, "n_head": 25, "layer_norm_epsilon": 1e-6, "resid_pdrop": 0.0, "tie_word_embeddings": True}
with unavailable("gptlab.hf.config_from_hf"):
    _c = config_from_hf(dict(_hf))
record("config", [_c.vocab_size, _c.block_size, _c.n_layer, _c.n_head, _c.n_embd, _c.layer_norm_eps], atol=1e-9)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqNz8EOwiAQBNB/mTOapSlV+ZWmh42lSkQwQr0Q/l30YOON207mJZPNOAe/2At0BqfgoKXZ0Ung+Q20JyIp8GK3mo+xydwj9Jgx
c+J6KOrUYRK4WT9Dw/oEgXjlR+XjVMQPSur6FtcfW1SnmjYHoiZXfx42uLjA/3TrnI0JpZQ3QZNgAA==
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The weights
#
# `load_gpt2(model, hf_state_dict)` copies a checkpoint's tensors into `model` and returns it.
#
# - **Names.** `GPT2LMHeadModel`'s names are ours (`transformer.h.0.attn.c_attn.weight` ...). The `gpt2`
#   upload itself was saved from a bare `GPT2Model`: its names lack the `transformer.` prefix
#   (`h.0.attn.c_attn.weight`, `wte.weight`): add it. Older checkpoints also carry each layer's causal
#   mask as tensors named `h.N.attn.bias` and `h.N.attn.masked_bias`: buffers, not parameters; skip them.
# - **Layout.** HuggingFace's GPT-2 keeps OpenAI's `Conv1D` layers, which store a weight as
#   (in_features, out_features): `y = x @ W + b`. `nn.Linear` stores (out_features, in_features):
#   `y = x @ W.T + b`. So the four projection weights of each block (`attn.c_attn`, `attn.c_proj`,
#   `mlp.c_fc`, `mlp.c_proj`) must be transposed when they go into an `nn.Linear` (nanoGPT's layout,
#   and perhaps yours), and copied as they are into a layer that stores (in, out) like the course's
#   `Projection`. Decide by the type of the layer (`model.get_submodule(...)`), not by comparing shapes.
# - **Tying.** `lm_head.weight` must stay the very same `Parameter` as `transformer.wte.weight`; the file
#   may or may not hold a copy of it under `lm_head.weight`.
#
# Copy inside `torch.no_grad()` (`tensor.copy_(...)`), and raise a clear error if the checkpoint lacks one
# of the model's tensors.

# %% nbgrader={"grade": false, "grade_id": "load_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
MASK_BUFFERS = (".attn.bias", ".attn.masked_bias")


def load_gpt2(model: nn.Module, hf_state_dict: dict[str, torch.Tensor]) -> nn.Module:
    ### BEGIN SOLUTION
    ours = model.state_dict()
    loaded = set()
    with torch.no_grad():
        for name, tensor in hf_state_dict.items():
            if name.endswith(MASK_BUFFERS):
                continue  # a precomputed causal mask, not a parameter
            if not name.startswith(("transformer.", "lm_head.")):
                name = "transformer." + name  # GPT2Model's bare names
            if name == "lm_head.weight":
                continue  # tied: the same matrix as transformer.wte.weight
            if name.endswith(CONV1D) and isinstance(model.get_submodule(name.rsplit(".", 1)[0]), nn.Linear):
                tensor = tensor.t()  # Conv1D (in, out) -> nn.Linear (out, in)
            ours[name].copy_(tensor)
            loaded.add(name)
    missing = set(ours) - loaded - {"lm_head.weight"}
    if missing:
        raise KeyError(f"the checkpoint lacks {sorted(missing)}")
    model.lm_head.weight = model.transformer.wte.weight  # keep the head tied
    return model
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "load_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_load_gpt2(load_gpt2, GPT)
### BEGIN HIDDEN TESTS
from transformers import GPT2Config as _HFConfig, GPT2LMHeadModel as _HFModel
from gptlab import GPT as _CourseGPT
from gptlab.checks import fill_seeded
from gptlab.grading import record, unavailable
_hfc = _HFConfig(vocab_size=61, n_positions=20, n_embd=24, n_layer=3, n_head=3, bos_token_id=0, eos_token_id=0)
_sd = {k: v.clone() for k, v in fill_seeded(_HFModel(_hfc), seed=11).state_dict().items()}
_bare = {k.removeprefix("transformer."): v for k, v in _sd.items() if k != "lm_head.weight"}
_bare.update({f"h.{i}.attn.bias": torch.ones(1, 1, 20, 20).tril() for i in range(3)})
_cfg = GPTConfig(vocab_size=61, block_size=20, n_layer=3, n_head=3, n_embd=24, dropout=0.0)
_idx = torch.randint(0, 61, (1, 20), generator=torch.Generator().manual_seed(11))
_models = [_CourseGPT(_cfg), linear_layout(_CourseGPT(_cfg)), linear_layout(_CourseGPT(_cfg))]
with unavailable("gptlab.hf.load_hf_state_dict", "gptlab.hf.load_pretrained"):
    _loaded = [load_gpt2(m, dict(s)) for m, s in zip(_models, (_sd, _sd, _bare))]
with torch.no_grad():
    for _i, _m in enumerate(_loaded):
        record(f"logits_{_i}", _m.eval()(_idx)[0, -3:], atol=1e-4)
        record(f"tied_{_i}", _m.lm_head.weight is _m.transformer.wte.weight)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNrtmc2OXEUMhd+l151RuexylfMqCKFBCRARERQGNijvzme7o8AKkGB3Z9Pdt2755/j42NL8fnv/4ft3L798M26vf789v3x4f3s9
nsYYcr99/Muv357f//o2X3rz/PJ8e/3VeDKP6TY17q/Gk4jLDOXHeMpPXePU8z1chx65v5KnIWPGWpIH00NizDO5MGwuvMTWuzyt
I8Y34fmaepZJeF0wc18x/J6u9dg6Vq5t+NLpe3FARGMt03IhR/bBcLqY28cJHrSpFcutAzGcm9upk6Fhvg7hc0cVQ5z2iWxx8lUj
xo2tFcTOwSYUsWGZ+cic1hxuZZnX3MXqxyGwsY95Xt/hgr187m5EvH2Vk0ycuKwtC6iGHMWyzLPXdEkvpNS3+H72ORJr1nULm1vH
qIC5AV6kkJmsE5PstUu1CeTYuVe+WwFt1smUodSikNwC3FO0DO+IwMLRTusQACWuKzq3YbFc7pll37vugEn4APeMXg5/VJvkqSfm
GlTFh+yCLiioNFgCKPPYjOigCDC0MxwmYwOyFqZjAeQeKzLHScDH5ZG7UTrXgtHIcQdA4Twj3Wpd+DkOgUXS42QeG3KW2Tll7glK
RYIFDI57Qp+URHc9DoGboxk4Erhsho4DNGFN+U4q4v9ULyRni0B5BY++QaJhUNggDzpr4h5h5QVuexMFB1vJI4szIJkE2eZLsjyI
RbOeRhvNrE4+9wkh8HNPlg14ddrdnAv+bW2rNgSWdLSxJKQtAbNRSxqjrhxSpyDJ3rEg0GnyA8HeZoXUPvRH0MYZh7lkJI3nga3q
UcDxEcS12yG1c9cmP9QDqenlEPDNdrOPfM4ew3y3WKA7nFXRfTuVGv0ezDooTTzuJH9tFs3hKDlvKyFxGgRNKlyMxjsBgROvTT2J
W8iR4pjurhpwKY1YZdu25aSg1ckiKrXyPVPKzlwtekA4KH1yZkCYgLFpdMONsR5NFClHRSvnjey2ZL6c5aLejRqHCkS3Exq6zuBJ
c9owiU7szhuNgg0VoTrduaeVhewOWD2syhOpmNHShJRkf1phSM05SHD16EDIyxCNeTCa0NCvXJQWzHHQQk2RLsLRa/G563BFnYs9
QHxUsgMTAwLyzx1MSkOJqvOAlmEwI5sefDoktOoQh2cpMBiIalp1GEHr+6qSKu3fOWd5VWdT0halPw89px8yOqs8aWthAjXzJlyN
h24hNkwHmd6DwvDdVUUe5gkt5+jJtqzqo5WzqjW9ENqsRE8pA2X6QasxN9AmPzMLwz4YtJpO+lIrDfoHNnlpec4xtJVZ1gMSgdDW
z5UiEBhIxLOezLwmJxqX7Gk11eTEWS1bTERw1oZqwwqvlzznA3jVUGSiwJbQR8dkJ3vWKY9SLR7yFBbqs19TsqDNZg2ipOCSGsmk
HNk9LT0Bp5fX5CIiYWI1E/jukYM3dXK7062txQw3Gq75DBzUexdrtafeqDwIwYIi9kt4nL46D9DcqVuvKqnkfF5Iuucm0vICsmuB
cPI5A8rW7wGzpRNdEIFptmaNKTpxaXx9v/347qc3t9e3795/eH653W+//PD8M5vQV3p3+frTp/vnFUquFepaoa4V6lqhrhXqWqGu
Fepaoa4V6t+uUPNaoa4V6lqhrhXqWqGuFepaoa4V6lqh/vEK9fLu7Zs//xtP3r7C5d/sTy8ff337xfa3H3j3i+kvZuX/MTv/Y7Of
/gCR5enY
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. A real checkpoint, made here
#
# `transformers` writes a small random GPT-2 to a folder the way the hub stores `gpt2` (`config.json` and
# `model.safetensors`, the tied head not saved twice). Your two functions read it back into your model,
# in both layouts, and the logits agree with `transformers`' own.

# %%
from transformers import GPT2Config, GPT2LMHeadModel
from transformers.utils import logging as hf_logging

hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()
torch.manual_seed(0)
hf_model = GPT2LMHeadModel(GPT2Config(vocab_size=300, n_positions=64, n_embd=64, n_layer=3, n_head=4,
                                      bos_token_id=0, eos_token_id=0)).eval()
folder = Path(tempfile.mkdtemp()) / "tiny-gpt2"
hf_model.save_pretrained(folder)
print(sorted(p.name for p in folder.iterdir()))


def load_folder(folder, linear: bool = False) -> nn.Module:
    """A HuggingFace GPT-2 folder -> your GPT holding its weights, in eval mode."""
    config = config_from_hf(json.loads((Path(folder) / "config.json").read_text()))
    model = GPT(config)
    if linear:
        model = linear_layout(model)
    return load_gpt2(model, load_file(str(Path(folder) / "model.safetensors"))).eval()


idx = torch.randint(0, 300, (2, 64))
with torch.no_grad():
    expected = hf_model(idx).logits
    for linear in (False, True):
        diff = (load_folder(folder, linear)(idx) - expected).abs().max().item()
        print(f"{'nn.Linear' if linear else 'Conv1D':>9} layout: largest logit difference {diff:.1e}")
        assert diff < 1e-4

# %% [markdown]
# ## 4. The real GPT-2
#
# With the `gpt2` weights on your disk (the folder of `config.json` and `model.safetensors` from the
# HuggingFace hub, e.g. `huggingface-cli download gpt2 config.json model.safetensors --local-dir ~/models/gpt2`),
# point `GPT2_FOLDER` at it: your model then reproduces the real GPT-2's logits. Its file is the bare-name,
# mask-buffer kind described above.

# %%
GPT2_FOLDER = Path(os.environ.get("GPT2_FOLDER", "~/models/gpt2")).expanduser()
if (GPT2_FOLDER / "model.safetensors").is_file() and (GPT2_FOLDER / "config.json").is_file():
    real = load_folder(GPT2_FOLDER)
    reference = GPT2LMHeadModel.from_pretrained(GPT2_FOLDER).eval()
    ids = torch.randint(0, 50257, (1, 32), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (real(ids) - reference(ids).logits).abs().max().item()
    print(f"gpt2: {sum(p.numel() for p in real.parameters()):,} parameters, largest logit difference {diff:.1e}")
    assert diff < 1e-4
else:
    print(f"no GPT-2 weights at {GPT2_FOLDER}: skipped (set GPT2_FOLDER to a folder holding config.json and "
          "model.safetensors to compare with the real model)")
