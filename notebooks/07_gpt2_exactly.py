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
# # 07 · GPT-2, exactly
#
# Our `GPT` is not "a GPT-like model": with the right sizes it *is* GPT-2, tensor for tensor. This notebook pins
# down every number that makes it so, and proves it by loading a HuggingFace GPT-2 checkpoint and getting the
# same logits as `transformers`.
#
# **What you will see**
# 1. the paper's four sizes, their parameter counts as reported and as the released models really have them,
#    and why the two differ;
# 2. context, vocabulary, initialisation and dropout;
# 3. a HuggingFace checkpoint made locally, loaded with `load_pretrained`, checked against `transformers`;
#    and how to load the real `gpt2` weights when you have them;
# 4. HuggingFace's and nanoGPT's GPT-2 code side by side: which module is which, and every parameter name.

# %%
import math
import os
import tempfile
from pathlib import Path

import torch

from gptlab import GPT, GPT2_PRESETS, GPTConfig, count_parameters, generate, load_pretrained, save_pretrained
from gptlab.params import GPT1_VOCAB_SIZE, GPT2_PAPER_MILLIONS, paper_count
from gptlab.tokenizers import BPETokenizer

# %% [markdown]
# ## 1. The four sizes
#
# The GPT-2 paper (Radford et al., 2019, table 2) lists four models. All share the same block; they differ in
# depth (layers) and width (`n_embd`), and each head is 64 wide. We count parameters from the configurations,
# component by component (`count_parameters`), and compare with what the paper reports.

# %% tags=["nbval-check-output"]
print(f"{'model':<12}{'layers':>7}{'width':>7}{'heads':>6}{'paper':>8}{'real count':>15}{'non-embedding':>15}"
      f"{'GPT-1 vocab':>15}")
for name in GPT2_PRESETS:
    c = GPTConfig.from_preset(name)
    counts = count_parameters(c)
    print(f"{name:<12}{c.n_layer:>7}{c.n_embd:>7}{c.n_head:>6}{GPT2_PAPER_MILLIONS[name]:>7}M"
          f"{counts['total']:>15,}{counts['non_embedding']:>15,}{paper_count(c):>15,}")
    assert c.head_dim == 64
    assert round(paper_count(c) / 1e6) == GPT2_PAPER_MILLIONS[name]
    assert round(counts["total"] / 1e6) != GPT2_PAPER_MILLIONS[name]

# %% [markdown]
# The released models have 124M, 355M, 774M and 1558M parameters, not 117M, 345M, 762M and 1542M. Neither
# leaving out the position embeddings nor counting only non-embedding weights gives the paper's numbers. What
# does, for all four sizes to the million, is the same architecture with **GPT-1's vocabulary** of 40,478
# tokens instead of GPT-2's 50,257 (last column): the table was most likely computed before the vocabulary
# grew. The difference is exactly (50,257 − 40,478) × `n_embd`, the extra rows of the embedding matrix:

# %%
for name in GPT2_PRESETS:
    c = GPTConfig.from_preset(name)
    assert count_parameters(c)["total"] - paper_count(c) == (c.vocab_size - GPT1_VOCAB_SIZE) * c.n_embd
small = count_parameters(GPTConfig.from_preset("gpt2"))
share = small["token_embedding"] / small["total"]
print(f"GPT-2 small: {small['total']:,} parameters, of which the token embedding is {share:.0%}")
assert 0.30 < share < 0.32

# %% [markdown]
# ## 2. Context, vocabulary, initialisation, dropout
#
# - **Context**: 1024 positions, each with a learned position embedding (`wpe`, 1024 × `n_embd`).
# - **Vocabulary**: 50,257 tokens = 256 byte tokens + 50,000 BPE merges + one special `<|endoftext|>` (id
#   50256), which separates documents in training.
# - **Layer norm** before each sub-layer (pre-LN), plus a final one (`ln_f`); ε = 1e-5. **GELU**, tanh form.
# - **Weight tying**: the output layer is the token embedding transposed.

# %%
c = GPTConfig.from_preset("gpt2")
tok = BPETokenizer()
print(f"context {c.block_size}, vocabulary {c.vocab_size} (tokenizer: {tok.vocab_size}), "
      f"<|endoftext|> = {tok.encode('<|endoftext|>')}, layer-norm eps {c.layer_norm_eps}, tied {c.tie_weights}")
assert c.block_size == 1024 and c.vocab_size == tok.vocab_size == 256 + 50_000 + 1
assert tok.encode("<|endoftext|>") == [50256]

# %% [markdown]
# **Initialisation.** Every weight starts from a normal distribution with standard deviation 0.02, biases at 0,
# layer norms at (1, 0). The paper adds one rule: the weights of the layers that write into the residual stream
# (`attn.c_proj` and `mlp.c_proj`) are scaled by 1/√N for N residual layers (2 per block), so that the sum of
# 2 × `n_layer` contributions does not grow with depth. We measure it on a freshly built 12-layer model (narrow,
# to keep it quick: the rule depends on depth only).

# %%
torch.manual_seed(0)
fresh = GPT(GPTConfig(n_layer=12, n_head=4, n_embd=256, vocab_size=1000, block_size=128))
stds = {}
for name, p in fresh.named_parameters():
    kind = "c_proj (residual)" if name.endswith("c_proj.weight") else name.split(".")[-2] + "." + name.split(".")[-1]
    stds.setdefault(kind, []).append(p.std().item())
expected_proj = 0.02 / math.sqrt(2 * 12)
for kind in ("wte.weight", "wpe.weight", "c_attn.weight", "c_fc.weight", "c_proj (residual)"):
    print(f"{kind:<20} std {sum(stds[kind]) / len(stds[kind]):.4f}")
assert abs(sum(stds["c_attn.weight"]) / 12 - 0.02) < 5e-4
assert abs(sum(stds["c_proj (residual)"]) / 24 - expected_proj) < 2e-4
print(f"expected for the residual projections: 0.02 / sqrt(24) = {expected_proj:.4f}")

# %% [markdown]
# **Dropout.** The GPT-2 paper says nothing about dropout. It says the model "largely follows the details of the
# OpenAI GPT model", and the GPT-1 paper (Radford et al. 2018) used dropout 0.1 in three places: on the
# embeddings' sum, on the attention weights and on each residual branch's output. HuggingFace's `GPT2Config`
# carries those three as defaults (`embd_pdrop`, `attn_pdrop`, `resid_pdrop`, all 0.1, checked below); we use one
# `dropout`. Whether GPT-2's own training used them is not stated anywhere OpenAI published. At inference
# (`model.eval()`) dropout is off, which we check: in training mode two runs differ, in eval mode they agree.

# %%
tiny = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=64, vocab_size=100, block_size=32, dropout=0.1))
x = torch.randint(0, 100, (1, 16))
tiny.train()
assert not torch.equal(tiny(x), tiny(x))
tiny.eval()
assert torch.equal(tiny(x), tiny(x))
print("dropout 0.1: active in train(), off in eval()")
import transformers

hf_defaults = transformers.GPT2Config()
print(f"HuggingFace GPT2Config defaults: embd_pdrop {hf_defaults.embd_pdrop}, attn_pdrop {hf_defaults.attn_pdrop}, "
      f"resid_pdrop {hf_defaults.resid_pdrop}")
assert hf_defaults.embd_pdrop == hf_defaults.attn_pdrop == hf_defaults.resid_pdrop == 0.1

# %% [markdown]
# ## 3. Loading a HuggingFace checkpoint
#
# A HuggingFace GPT-2 folder holds `config.json` and `model.safetensors`. We cannot download the real weights
# here, so we let `transformers` make a checkpoint with random weights (GPT-2's vocabulary and width, only two
# layers, to keep it small), save it, load the folder with `load_pretrained`, and compare logits on real
# text.

# %%
import transformers

torch.manual_seed(0)
hf_config = transformers.GPT2Config(n_layer=2, n_head=12, n_embd=768, n_positions=1024, vocab_size=50257)
theirs = transformers.GPT2LMHeadModel(hf_config).eval()
folder = Path(tempfile.mkdtemp()) / "gpt2-2-layers"
theirs.save_pretrained(folder)
print(sorted(p.name for p in folder.iterdir()))

ours = load_pretrained(folder)
print(ours.config)

# %%
text = "ROMEO:\nBut, soft! what light through yonder window breaks?"
idx = torch.tensor([tok.encode(text)])  # (1, T)
with torch.no_grad():
    ours_logits = ours(idx)
    their_logits = theirs(idx).logits
diff = (ours_logits - their_logits).abs().max().item()
print(f"{idx.shape[1]} tokens, logits {tuple(ours_logits.shape)}, largest difference {diff:.2e}")
assert diff < 1e-4

# %% [markdown]
# Same logits means the same greedy text: `generate` (ours) against `transformers`' `generate`.

# %%
with torch.no_grad():
    ours_tokens = generate(ours, idx, 20)
    their_tokens = theirs.generate(idx, max_new_tokens=20, do_sample=False, pad_token_id=50256)
assert torch.equal(ours_tokens, their_tokens)
print("20 greedy tokens, identical:", ours_tokens[0, idx.shape[1]:].tolist())

# %% [markdown]
# And the other way: `save_pretrained(ours, folder)` writes a folder that `transformers` loads.

# %%
back = Path(tempfile.mkdtemp()) / "from-gptlab"
save_pretrained(ours, back)
reloaded = transformers.GPT2LMHeadModel.from_pretrained(back).eval()
with torch.no_grad():
    assert torch.allclose(reloaded(idx).logits, ours_logits, atol=1e-4)
print("saved by gptlab, loaded by transformers: same logits")

# %% [markdown]
# ### The real GPT-2 weights
#
# With network access, `load_pretrained("gpt2")` downloads them from the HuggingFace hub (through
# `huggingface_hub`, into its usual cache). Offline, copy a GPT-2 folder (`config.json` and
# `model.safetensors`) to the machine and set `GPT2_PATH` to it before starting Jupyter. The next cell uses a
# local copy when there is one (the path in `GPT2_PATH`, or the HuggingFace cache), and otherwise says so.

# %% tags=["nbval-ignore-output"]
def local_gpt2():
    """A local folder with the real GPT-2 small weights, or None. Never touches the network."""
    candidates = [Path(os.environ["GPT2_PATH"])] if os.environ.get("GPT2_PATH") else []
    hub = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"
    for repo in ("models--openai-community--gpt2", "models--gpt2"):
        candidates += sorted((hub / repo / "snapshots").glob("*"))
    for folder in candidates:
        if (folder / "config.json").is_file() and (folder / "model.safetensors").is_file():
            return folder
    return None


real = local_gpt2()
if real is None:
    print("No local GPT-2 weights found: set GPT2_PATH to a folder with config.json and model.safetensors.")
else:
    gpt2 = load_pretrained(real)
    assert count_parameters(gpt2.config)["total"] == 124_439_808
    prompt = torch.tensor([tok.encode("The meaning of life is")])
    print(tok.decode(generate(gpt2, prompt, 30)[0].tolist()))

# %% [markdown]
# ## 4. HuggingFace and nanoGPT side by side
#
# Both implement the same network, and both keep OpenAI's original parameter names, which is why a checkpoint
# moves between them with almost no work. Module by module:
#
# | what | gptlab (`gptlab/model.py`) | HuggingFace (`modeling_gpt2.py`) | nanoGPT (`model.py`) |
# |---|---|---|---|
# | whole model with LM head | `GPT` | `GPT2LMHeadModel` (its body is `GPT2Model`, under `transformer`) | `GPT` |
# | one layer | `Block` | `GPT2Block` | `Block` |
# | attention | `CausalSelfAttention` | `GPT2Attention` (several kernels behind one interface) | `CausalSelfAttention` |
# | feed-forward | `MLP` | `GPT2MLP` | `MLP` |
# | projections | `Projection`: weight stored (in, out) | `Conv1D`: weight stored (in, out) | `nn.Linear`: weight stored (out, in) |
# | activation | GELU, tanh form | `gelu_new` (tanh form) | `nn.GELU()`: the exact (erf) form, a tiny difference |
# | layer norm | `nn.LayerNorm`, ε = 1e-5 | `nn.LayerNorm`, ε = `layer_norm_epsilon` | its own `LayerNorm` (bias optional), ε = 1e-5 |
# | causal mask | `causal_mask`, built once per forward pass and shared by the blocks | a stored buffer in older versions (`attn.bias`, `attn.masked_bias`) | a stored buffer `attn.bias`, or `is_causal` in the fused kernel |
# | KV cache | a `KVCache` object passed in | a `Cache` object passed in (`past_key_values`) | none |
# | vocabulary | 50,257 | 50,257 | 50,257 when loading GPT-2; 50,304 (a multiple of 64) when training from scratch |
# | config names | `n_layer`, `n_head`, `n_embd`, `block_size`, `dropout` | `n_layer`, `n_head`, `n_embd`, `n_positions`, `resid_pdrop`/`embd_pdrop`/`attn_pdrop` | `n_layer`, `n_head`, `n_embd`, `block_size`, `dropout` |
#
# Every parameter, read from the live models: our names and shapes against `transformers`' state dict. The
# last column is what nanoGPT has to do to each tensor when it loads GPT-2 (its `nn.Linear` layers store the
# transpose of the four projection weights).

# %% tags=["nbval-check-output"]
hf_state = {k: v for k, v in theirs.state_dict().items() if not k.endswith((".attn.bias", ".attn.masked_bias"))}
our_state = ours.state_dict()
print(f"{'parameter (block 0 shown for every block)':<34}{'gptlab shape':>16}{'HF shape':>16}   nanoGPT")
for name, tensor in our_state.items():
    if ".h." in name and ".h.0." not in name:
        continue
    nano = "transpose" if name.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")) else "as is"
    if name == "lm_head.weight":
        nano = "as is (tied to wte)"
    print(f"{name:<34}{str(tuple(tensor.shape)):>16}{str(tuple(hf_state[name].shape)):>16}   {nano}")
assert set(our_state) == set(hf_state)
assert all(our_state[k].shape == hf_state[k].shape for k in our_state)
assert ours.lm_head.weight.data_ptr() == ours.transformer.wte.weight.data_ptr()  # tied: one tensor, two names

# %% [markdown]
# In short, the differences are in engineering, not in the network:
#
# - **HuggingFace** is written to serve many models behind one interface: a `GPT2Config` with many switches
#   (attention implementations, scaling options such as `scale_attn_by_inverse_layer_idx`, gradient
#   checkpointing, heads for classification), a cache object, padding and attention-mask handling, and
#   `generate` from a shared mixin. The GPT-2 network itself is a small part of the file.
# - **nanoGPT** is written to be read and to train fast: one file, `nn.Linear` layers (so it transposes four
#   tensors per block when it imports GPT-2), the fused attention kernel when available, a padded vocabulary
#   for speed, and a short `generate` without a cache, top-p or stopping.
# - **gptlab** keeps HuggingFace's tensor layout (no transposes) and names, nanoGPT's one-readable-file model,
#   and adds what the course needs: an explicit attention path that returns its weights, a cache object,
#   pre/post-LN and tying switches.

# %% [markdown]
# ## 5. HuggingFace's code, read live
#
# The source below is printed from the `transformers` installed here (`inspect.getsource`), so it is what
# actually runs when we compared logits in section 3. First HuggingFace's block and ours:

# %%
import inspect

from transformers.models.gpt2 import modeling_gpt2
from transformers.pytorch_utils import Conv1D

from gptlab.model import Block, CausalSelfAttention, Projection, project

print(f"transformers {transformers.__version__}: GPT2Block.forward\n")
hf_block_src = inspect.getsource(modeling_gpt2.GPT2Block.forward)
print(hf_block_src)
print("gptlab: Block.forward\n")
print(inspect.getsource(Block.forward))
assert "self.ln_1(hidden_states)" in hf_block_src and "residual + feed_forward_hidden_states" in hf_block_src

# %% [markdown]
# The same Pre-LN block: `ln_1`, attention, add the residual; `ln_2`, MLP, add the residual. HuggingFace names
# the residual explicitly (`residual = hidden_states`) and carries a cross-attention branch that GPT-2 never
# uses (it is there for encoder-decoder models built from GPT-2 blocks). Now the attention:

# %%
hf_attn_src = inspect.getsource(modeling_gpt2.GPT2Attention.forward)
print(hf_attn_src)
print("gptlab: CausalSelfAttention.forward\n")
print(inspect.getsource(CausalSelfAttention.forward))
print("HuggingFace's Conv1D.forward and gptlab's project:\n")
print(inspect.getsource(Conv1D.forward))
print(inspect.getsource(project))
for needle in ("self.c_attn(hidden_states).split(self.split_size, dim=2)", ".update(", "attention_interface"):
    assert needle in hf_attn_src, needle
assert "torch.addmm(self.bias" in inspect.getsource(Conv1D.forward)

# %% [markdown]
# Walking through the differences:
#
# - **`Conv1D`** is not a convolution: its `forward` is `addmm(bias, x, W)` with `W` stored (in, out), the
#   layout of OpenAI's TensorFlow checkpoints. Our `Projection` stores the weight the same way, which is why our
#   state dict loads with no transposes (section 4). `nn.Linear` stores (out, in) and computes `x @ W.T`.
# - **The `c_attn` split.** One matrix of shape (C, 3C) makes queries, keys and values for all heads in one
#   product; `.split(C, dim=2)` cuts the result into three (B, T, C) tensors, and `view` + `transpose` turn each
#   into (B, heads, T, head size). Both codes do exactly this; HuggingFace writes the head shape as
#   `(*shape[:-1], -1, head_dim)`.
# - **Masks.** We build the causal mask (plus any padding mask) once per forward pass with `causal_mask` and hand it to
#   every block's `attend`.
#   HuggingFace builds a combined causal-and-padding mask once per forward pass in the model and passes it down
#   as `attention_mask`; the `attention_interface` chosen by `config._attn_implementation` ("eager",
#   "sdpa", "flash_attention_2" ...) applies it. Older versions kept a stored triangular buffer `attn.bias`.
# - **Cache objects.** Both pass a cache object *into* the attention and call its update with the new keys and
#   values: ours is `cache.update(layer_idx, k, v)`, theirs `cache.update(k, v, layer_idx)`, which returns the
#   keys and values of every position so far. The model keeps no state between calls.
# - **What only HuggingFace has**: cross-attention (`q_attn`, `encoder_hidden_states`), `reorder_and_upcast_attn`
#   (attention in float32 for mixed precision), interchangeable attention kernels, and returned attention
#   weights through `output_attentions`.
#
# Checked on the live models: their `Conv1D` and our `Projection` compute the same product from the same tensor.

# %%
torch.manual_seed(0)
conv, proj = Conv1D(12, 4), Projection(4, 12)
with torch.no_grad():
    proj.weight.copy_(conv.weight), proj.bias.copy_(conv.bias)
v = torch.randn(2, 3, 4)
assert tuple(conv.weight.shape) == tuple(proj.weight.shape) == (4, 12)  # (in, out), both
assert torch.allclose(conv(v), proj(v), atol=1e-6)
print(f"Conv1D and Projection: weight {tuple(conv.weight.shape)} (in, out), same output")

# %% [markdown]
# ## 6. nanoGPT, by its structure
#
# nanoGPT (Karpathy's `model.py`, about 330 lines; its code is not ours to reproduce here) has the same five
# classes, with the same parameter names, so loading GPT-2 into it is a matter of copying tensors:
#
# | nanoGPT | what it holds | differs from ours |
# |---|---|---|
# | `GPTConfig` (dataclass) | `block_size`, `vocab_size`, `n_layer`, `n_head`, `n_embd`, `dropout`, `bias` | our config has the same names, plus `ln_placement`, `tie_weights`, `attn_impl` |
# | `LayerNorm` | its own module so the bias can be switched off | we use `nn.LayerNorm(..., bias=config.bias)` |
# | `CausalSelfAttention` | `c_attn` (C → 3C), `c_proj`, dropouts; `scaled_dot_product_attention(is_causal=True)` when PyTorch has it, else a stored triangular buffer `bias` | the same split and head reshape; no cache at all |
# | `MLP` | `c_fc` (C → 4C), `nn.GELU()`, `c_proj`, dropout | exact (erf) GELU, not GPT-2's tanh form: a gap under 5·10⁻⁴ (notebook 03) |
# | `Block` | `ln_1`, `attn`, `ln_2`, `mlp`; Pre-LN only | ours also has Post-LN |
# | `GPT` | `transformer.wte/wpe/drop/h/ln_f`, `lm_head` tied to `wte`; GPT-2's init with the 1/√(2·layers) rule; `from_pretrained` copying HF tensors; `configure_optimizers` with the same two AdamW groups as notebook 08; a short `generate` (temperature and top-k, no cache) | the same module tree and names |
#
# Its layers are `nn.Linear`, so its `from_pretrained` transposes exactly the four `Conv1D` weights per block
# (`attn.c_attn`, `attn.c_proj`, `mlp.c_fc`, `mlp.c_proj`) — the rows marked "transpose" in section 4's table.


# %% [markdown]
# ## 7. What the paper claims: zero-shot
#
# The paper's thesis is in its title, *Language Models are Unsupervised Multitask Learners*: a language model
# trained only to predict the next token of a large, varied corpus (WebText) learns to perform tasks it was never
# trained for, and does better the larger it is. Its Table 3 evaluates the four sizes **zero-shot** — no training
# or fine-tuning on any of these datasets — against the best published results (SOTA), which *were* trained on
# them. The numbers below are the paper's, typed in from Table 3 (Radford et al. 2019); nothing is computed
# from a model here except what the table implies.

# %%
PAPER_TABLE_3 = {  # dataset (metric, higher is better?): SOTA then 117M, 345M, 762M, 1542M
    "LAMBADA (PPL)": (False, 99.8, [35.13, 15.60, 10.87, 8.63]),
    "LAMBADA (ACC)": (True, 59.23, [45.99, 55.48, 60.12, 63.24]),
    "CBT-CN (ACC)": (True, 85.7, [87.65, 92.35, 93.45, 93.30]),
    "CBT-NE (ACC)": (True, 82.3, [83.4, 87.1, 88.0, 89.05]),
    "WikiText2 (PPL)": (False, 39.14, [29.41, 22.76, 19.93, 18.34]),
    "PTB (PPL)": (False, 46.54, [65.85, 47.33, 40.31, 35.76]),
    "enwik8 (BPB)": (False, 0.99, [1.16, 1.01, 0.97, 0.93]),
    "text8 (BPC)": (False, 1.08, [1.17, 1.06, 1.02, 0.98]),
    "WikiText103 (PPL)": (False, 18.3, [37.50, 26.37, 22.05, 17.48]),
    "1BW (PPL)": (False, 21.8, [75.20, 55.72, 44.575, 42.16]),
}
SIZES_M = [117, 345, 762, 1542]
print(f"{'dataset':<19}{'SOTA':>8}" + "".join(f"{m:>8}M" for m in SIZES_M) + "   1542M beats SOTA")
beats = {}
for name, (higher, sota, row) in PAPER_TABLE_3.items():
    beats[name] = row[-1] > sota if higher else row[-1] < sota
    print(f"{name:<19}{sota:>8}" + "".join(f"{v:>9}" for v in row) + f"   {'yes' if beats[name] else 'no'}")
def dataset(name):  # "CBT-CN (ACC)" -> "CBT": the paper counts the Children's Book Test once, with two columns
    return name.split(" (")[0].split("-")[0]


datasets = {dataset(name) for name in PAPER_TABLE_3}
won = {d for d in datasets if all(beats[n] for n in PAPER_TABLE_3 if dataset(n) == d)}
print(f"\nstate of the art on {len(won)} of {len(datasets)} datasets: not on {sorted(datasets - won)}")
assert (len(won), len(datasets)) == (7, 8) and datasets - won == {"1BW"}  # the paper's "7 out of 8"
# bigger is better on every dataset from the smallest model to the largest
assert all((row[-1] > row[0]) if higher else (row[-1] < row[0]) for higher, _, row in PAPER_TABLE_3.values())

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 3, figsize=(14, 4))
groups = {"perplexity (lower is better)": ["LAMBADA (PPL)", "WikiText2 (PPL)", "PTB (PPL)", "WikiText103 (PPL)", "1BW (PPL)"],
          "accuracy % (higher is better)": ["LAMBADA (ACC)", "CBT-CN (ACC)", "CBT-NE (ACC)"],
          "bits per byte / character (lower is better)": ["enwik8 (BPB)", "text8 (BPC)"]}
for ax, (ylabel, names) in zip(axes, groups.items()):
    for k, name in enumerate(names):
        _, sota, row = PAPER_TABLE_3[name]
        ax.plot(SIZES_M, row, marker="o", color=f"C{k}", label=name)
        ax.axhline(sota, color=f"C{k}", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    if "perplexity" in ylabel:
        ax.set_yscale("log")
    ax.set_xlabel("parameters (millions, as the paper counts)")
    ax.set_ylabel(ylabel)
    ax.set_title(ylabel.split(" (")[0].capitalize())
    ax.legend(fontsize=8)
fig.suptitle("GPT-2 zero-shot, by model size (Radford et al. 2019, Table 3; dotted: previous state of the art)")
fig.tight_layout()
plt.show()

# %% [markdown]
# Every dataset improves steadily with size, roughly linearly in log(parameters); the largest model sets a new
# state of the art on 7 of the 8 language-modelling datasets without training on any of them. The exception is
# the One Billion Word Benchmark, the largest training set of the eight, whose sentence-level shuffling also
# removes the long-range structure GPT-2 exploits. The paper's other tasks (reading comprehension on CoQA:
# 55 F1; summarisation; translation; question answering) are further from the supervised state of the art,
# and it notes that all four models still underfit WebText.
#
# **Takeaways**
# - The paper's 117M/345M/762M/1542M are GPT-1-vocabulary counts; the released models have 124M/355M/774M/1558M.
# - Names and layouts are shared, so a checkpoint moves between the three with at most a transpose.
# - Logits within 1e-4 of `transformers` and identical greedy text: our GPT is GPT-2.

# %% [markdown]
# ## Your turn
#
# Build it yourself in the exercise track (each exercise checks your code with `gptlab grade`):
# - [`exercises/06_gpt.ipynb`](../exercises/06_gpt.ipynb): the whole GPT.
# - [`exercises/07_load_gpt2.ipynb`](../exercises/07_load_gpt2.ipynb): loading GPT-2's weights into it, Conv1D transposes included.
