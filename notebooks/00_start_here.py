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
# # Start here: how GPT works, by building GPT-2
#
# This course builds GPT-2 from its parts and checks every part by experiment. Each notebook teaches one
# idea: prose first, then the smallest piece of code that shows it, then a number or a picture that proves
# it. Every number in the text is computed by the notebook itself and checked with an `assert`, so if a
# claim ever stopped being true, the notebook would stop with an error instead of misleading you.
#
# The code the notebooks use is a small real package, `gptlab`, in the folder beside this one: the model is
# `gptlab/model.py` (one readable file), and the notebooks import it rather than paste it.
#
# ## Two commands
#
# From the top folder of the course, in a terminal:
#
# | command | what it does |
# |---|---|
# | `make lab` | creates a Python environment in `.venv` (first time only: a few minutes), then opens this notebook in JupyterLab |
# | `make test` | runs every test: the package's unit tests and every notebook top to bottom, comparing what each one claims |
#
# Everything runs on a laptop CPU; no GPU and no internet connection are needed once the environment is
# installed. Each notebook takes well under a minute to run top to bottom (*Run → Run All Cells*).
#
# Each notebook ends with the exercises that go with it, in `exercises/`: there you write the piece yourself
# and `gptlab grade` checks it. How the notebooks themselves are stored and tested is described in
# `notebooks/README.md`.

# %% [markdown]
# ## Your environment
#
# The first cell of every session: is the package importable, which PyTorch, and on what hardware.

# %% tags=["nbval-ignore-output"]
import platform

import torch

import gptlab

device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
print(f"Python {platform.python_version()} · torch {torch.__version__} · gptlab {gptlab.__version__}")
print(f"device: {device} · CPU threads torch uses: {torch.get_num_threads()}")

# %% [markdown]
# ## A first look: GPT-2 small in one line
#
# `GPTConfig.from_preset("gpt2")` is the smallest GPT-2 exactly as OpenAI released it. Building it (with
# random weights) and counting its parameters takes a second:

# %% tags=["nbval-check-output"]
from gptlab import GPT, GPTConfig
from gptlab.params import count_parameters, format_counts

config = GPTConfig.from_preset("gpt2")
counts = count_parameters(config)
print(format_counts(counts))

# %% [markdown]
# The counts come from the configuration alone; building the model and counting its real tensors must give
# the same numbers, and a forward pass turns a batch of token ids of shape (batch, time) into one vector of
# scores ("logits") over the whole vocabulary at every position:

# %%
torch.manual_seed(0)
model = GPT(config).eval()
assert model.parameter_counts() == counts
idx = torch.randint(0, config.vocab_size, (2, 8))  # (B=2, T=8)
with torch.no_grad():
    logits = model(idx)
print(f"input {tuple(idx.shape)} -> logits {tuple(logits.shape)}")
assert logits.shape == (2, 8, config.vocab_size)

# %% [markdown]
# ## The map of the course
#
# | notebook | you will be able to ... | exercises |
# |---|---|---|
# | [01 Causal language modelling](01_causal_lm.ipynb) | write the objective L = −Σ log P(x_t \| x_<t) and say why it is the chain rule; tokenise text into characters and into GPT-2's byte-level BPE tokens, and type your own into a tokenizer explorer; explain why a uniform guess costs ln V nats and beat it with a counted bigram model; say why a model needs positions; see that one sequence gives T training signals | [01 causal LM](../exercises/01_causal_lm.ipynb), [03 embeddings](../exercises/03_embeddings.ipynb) |
# | [02 Causal self-attention](02_attention.ipynb) | compute QKᵀ/√d, mask the future with −∞, take the softmax row by row; read the ✓/× table; split attention into heads; prove a model cannot see the future; read attention maps of a trained model, and explore where each of its heads looks | [04 attention](../exercises/04_attention.ipynb) |
# | [03 Pre-LN vs Post-LN](03_pre_post_ln.ipynb) | define LayerNorm; draw a GPT-2 block (residual stream, attention, MLP with GELU, dropout); measure gradient norms per layer for both placements and two initialisations; show a deep Post-LN model failing at a high learning rate without warm-up and rescued by warm-up, while Pre-LN needs none; say why GPT-2 ends with a final LayerNorm | [02 LayerNorm and MLP](../exercises/02_layernorm_mlp.ipynb), [05 block](../exercises/05_block.ipynb) |
# | [04 Weight tying](04_weight_tying.ipynb) | count how much of GPT-2 is its embedding; tie the output layer to the input embedding and say what that means for the next-token distribution | [06 GPT](../exercises/06_gpt.ipynb) |
# | [05 Generation](05_generation.ipynb) | write the decoding loop; generate greedily and by sampling; use temperature, top-k, top-p, min-p, repetition penalty and beam search, with an explorer that compares them and steps through a generation; say what happens when the context is full | [08 generation](../exercises/08_generation.ipynb) |
# | [06 The KV cache](06_kv_cache.ipynb) | explain what a KV cache saves (and what stays quadratic), build one, prove it changes nothing, and measure its memory and speed | [09 KV cache](../exercises/09_kv_cache.ipynb) |
# | [07 GPT-2, exactly](07_gpt2_exactly.ipynb) | state GPT-2's four sizes and where their parameters are; load a HuggingFace checkpoint and match its logits; read HuggingFace's GPT-2 code beside ours and nanoGPT's; state the paper's zero-shot results | [06 GPT](../exercises/06_gpt.ipynb), [07 load GPT-2](../exercises/07_load_gpt2.ipynb) |
# | [08 Training](08_training.ipynb) | write the training loop (AdamW groups, warm-up and cosine, clipping, accumulation); train a small GPT on Shakespeare; compare runs in bits per character; estimate compute as 6·N·D against GPT-2's | [10 training](../exercises/10_training.ipynb) |
# | [09 GPT vs BERT](09_gpt_vs_bert.ipynb) | contrast causal and bidirectional attention, and causal-LM and masked-LM training signals | [11 GPT vs BERT](../exercises/11_gpt_vs_bert.ipynb) |
#
# The map is checked too: every notebook in this folder appears in it, and each one ends by pointing to
# the exercises listed here.

# %% tags=["nbval-check-output"]
import re
from pathlib import Path

import nbformat

MAP = {
    "01_causal_lm": "Causal language modelling",
    "02_attention": "Causal self-attention",
    "03_pre_post_ln": "Pre-LN vs Post-LN",
    "04_weight_tying": "Weight tying",
    "05_generation": "Generation",
    "06_kv_cache": "The KV cache",
    "07_gpt2_exactly": "GPT-2, exactly",
    "08_training": "Training",
    "09_gpt_vs_bert": "GPT vs BERT",
}
EXERCISES = {
    "01_causal_lm": ["01_causal_lm", "03_embeddings"], "02_attention": ["04_attention"],
    "03_pre_post_ln": ["02_layernorm_mlp", "05_block"], "04_weight_tying": ["06_gpt"],
    "05_generation": ["08_generation"], "06_kv_cache": ["09_kv_cache"], "07_gpt2_exactly": ["06_gpt", "07_load_gpt2"],
    "08_training": ["10_training"], "09_gpt_vs_bert": ["11_gpt_vs_bert"],
}
present = sorted(p.stem for p in Path(".").glob("[0-9][0-9]_*.ipynb") if p.stem != "00_start_here")
unmapped = [name for name in present if name not in MAP]
assert not unmapped, f"notebooks missing from the map: {unmapped}"
for name in ("01_causal_lm", "02_attention", "03_pre_post_ln", "04_weight_tying"):
    assert name in present, f"{name}.ipynb is missing"
for name in present:
    first = nbformat.read(f"{name}.ipynb", as_version=4).cells[0].source
    title = re.match(r"#\s*(.+)", first).group(1)
    assert MAP[name].lower() in title.lower(), f"{name}: its title is {title!r}"
    last = nbformat.read(f"{name}.ipynb", as_version=4).cells[-1].source
    for exercise in EXERCISES[name]:
        assert f"../exercises/{exercise}.ipynb" in last, f"{name} does not end by pointing to exercise {exercise}"
    print(f"{name:16s} {title}  ->  exercises {', '.join(EXERCISES[name])}")
