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
# # 04 · Weight tying: one matrix for reading and writing tokens
#
# A GPT touches its vocabulary twice. At the bottom, the **token embedding** E (V × C) turns each token id
# into a vector: row j of E is token j's vector. At the top, the **output layer** (the "LM head") turns the
# final hidden state h (C numbers) into V scores, one per possible next token: logits = h Wᵀ with W also V × C.
# GPT-2 uses the same matrix for both, W = E: the weights are **tied**.
#
# **What you will see**: how much of GPT-2 the embedding is, tied and untied; that tying in `gptlab` is one
# shared tensor; what it means for the next-token distribution; and a small training comparison.

# %%
import numpy as np
import torch

from gptlab import GPT, GPTConfig, plotting
from gptlab.config import GPT2_PRESETS
from gptlab.data import char_split, play_script
from gptlab.params import count_parameters, format_counts
from gptlab.train import TrainConfig, Trainer

torch.set_num_threads(1)  # tiny models: one thread is faster than two competing

# %% [markdown]
# ## 1. How much of GPT-2 is the embedding?
#
# GPT-2's vocabulary has V = 50,257 tokens and GPT-2 small has C = 768 dimensions, so E alone is
# 50,257 × 768 ≈ 38.6 million numbers. The parameter counts, computed from the configuration by
# `gptlab.params`:

# %% tags=["nbval-check-output"]
small = GPTConfig.from_preset("gpt2")
tied, untied = count_parameters(small), count_parameters(small.replace(tie_weights=False))
print("GPT-2 small, tied (as released):")
print(format_counts(tied))
print(f"\nuntied, the LM head is a second {small.vocab_size:,} × {small.n_embd} matrix: "
      f"{untied['total']:,} parameters (+{untied['total'] - tied['total']:,})")
assert tied["total"] == 124_439_808
assert untied["total"] - tied["total"] == small.vocab_size * small.n_embd == tied["token_embedding"]

# %% [markdown]
# Almost a third of GPT-2 small is its token embedding, and without tying almost half of the model would be
# the two vocabulary matrices. The share falls as the models grow, because the blocks grow with C² (times the
# number of layers) while the embedding grows only with C:

# %% tags=["nbval-check-output"]
share = {}
for name in GPT2_PRESETS:
    config = GPTConfig.from_preset(name)
    t, u = count_parameters(config), count_parameters(config.replace(tie_weights=False))
    share[name] = {"tied": 100 * t["token_embedding"] / t["total"],
                   "untied": 100 * (u["token_embedding"] + u["lm_head"]) / u["total"]}
    print(f"{name:12s} {t['total'] / 1e6:7.1f}M tied: embedding {share[name]['tied']:4.1f}% | "
          f"{u['total'] / 1e6:7.1f}M untied: embedding + LM head {share[name]['untied']:4.1f}%")
tied_shares = [share[n]["tied"] for n in GPT2_PRESETS]
assert 30 < share["gpt2"]["tied"] < 32 and 47 < share["gpt2"]["untied"] < 48
assert tied_shares == sorted(tied_shares, reverse=True)  # the larger the model, the smaller the share

# %%
plotting.grouped_bars({kind: {name: share[name][kind] for name in GPT2_PRESETS} for kind in ("tied", "untied")},
                      title="Share of GPT-2 spent on vocabulary matrices", xlabel="model",
                      ylabel="% of all parameters")

# %% [markdown]
# ## 2. Tying is one shared tensor
#
# In `gptlab` the switch is `GPTConfig(tie_weights=True)` (the default, as in GPT-2). Tied, the LM head's weight
# *is* the embedding: the same tensor, so a gradient step on one is a step on the other, and it is stored
# and counted once.

# %%
V = 65
tied_model = GPT(GPTConfig.from_preset("nano", vocab_size=V))
untied_model = GPT(GPTConfig.from_preset("nano", vocab_size=V, tie_weights=False))
E = tied_model.transformer.wte.weight
print("tied:   LM head is the embedding:", tied_model.lm_head.weight is E)
print("untied: LM head is the embedding:", untied_model.lm_head.weight is untied_model.transformer.wte.weight)
n_tied = sum(p.numel() for p in tied_model.parameters())
n_untied = sum(p.numel() for p in untied_model.parameters())
print(f"parameters: tied {n_tied:,}, untied {n_untied:,} (difference {n_untied - n_tied:,} = V × C)")
assert tied_model.lm_head.weight is E and tied_model.lm_head.weight.data_ptr() == E.data_ptr()
assert n_untied - n_tied == V * tied_model.config.n_embd
assert tied_model.parameter_counts() == count_parameters(tied_model.config)

# %% [markdown]
# ## 3. What sharing E means for the output distribution
#
# With tied weights the logit of token j is the dot product of the final hidden state with token j's own
# embedding: `logit_j = h · E_j`. So the model writes out the token whose *input* vector points the same way as
# its final state, and two tokens with similar embeddings (used in similar contexts) automatically get similar
# next-token scores: what the model learns about a token as input is reused when predicting it as output.
#
# It also gives a tied model a prior at initialisation. With random small blocks, the final state of position
# t is mostly that position's own embedding, and h · E_j is largest for j = the current token: an untrained tied
# model predicts that **the next token repeats the current one**. An untied model has no such link (its LM
# head is unrelated to the embedding), so its favourite is a random token. Measured on real text:

# %%
tok, train_ids, val_ids = char_split(play_script("hamlet"), val_fraction=0.1)


def make_model(tie_weights):
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=64, dropout=0.0,
                       tie_weights=tie_weights)
    return GPT(config)


x = torch.from_numpy(val_ids[:1024].astype(np.int64)).view(16, 64)  # (16, 64): 1,024 positions
repeats = {}
for tie in (True, False):
    with torch.no_grad():
        favourite = make_model(tie)(x).argmax(-1)  # (16, 64): each position's most likely next token
    repeats["tied" if tie else "untied"] = (favourite == x).float().mean().item()
print(f"untrained, favourite next token = the current token: tied {repeats['tied']:.0%}, "
      f"untied {repeats['untied']:.0%} (chance: {1 / tok.vocab_size:.0%})")
assert repeats["tied"] > 0.9 and repeats["untied"] < 0.1

# %% [markdown]
# Text rarely repeats a character (or a word) immediately, so training has to move the hidden states away from
# the current token's own embedding. That is one reason the position embeddings and the blocks matter from the
# very first step.
#
# ## 4. A small training comparison
#
# The same 4-layer model, tied and untied, trained on *Hamlet* with the same batches, and measured on its held-out
# last tenth. With a 62-character vocabulary the embedding is a small part of the model, so the question is
# only whether sharing costs anything:

# %%
STEPS = 150


def train(tie_weights):
    model = make_model(tie_weights)
    config = TrainConfig(max_iters=STEPS, batch_size=16, seq_len=64, lr=3e-3, min_lr=3e-4, warmup_iters=20,
                         weight_decay=0.0, grad_clip=1.0, eval_interval=50, eval_iters=8, log_interval=10,
                         seed=0, device="cpu")
    history = Trainer(model, train_ids, val_ids, config, progress=False).fit()
    train_curve = ([r["iter"] for r in history if "train_loss" in r], [r["train_loss"] for r in history if "train_loss" in r])
    val_curve = ([r["iter"] for r in history if "val_loss" in r], [r["val_loss"] for r in history if "val_loss" in r])
    return model, train_curve, val_curve


runs = {"tied": train(True), "untied": train(False)}
curves = {}
for name, (_, train_curve, val_curve) in runs.items():
    curves[f"{name}: training"] = train_curve
    curves[f"{name}: held-out"] = val_curve
plotting.loss_curves(curves, marker=".", title="Tied vs untied embeddings, 4 layers × 64, character level")

# %%
final = {name: val_curve[1][-1] for name, (_, _, val_curve) in runs.items()}
params = {name: sum(p.numel() for p in model.parameters()) for name, (model, _, _) in runs.items()}
for name in runs:
    print(f"{name:6s} {params[name]:,} parameters, held-out loss {final[name]:.3f}")
assert params["untied"] - params["tied"] == tok.vocab_size * 64
assert abs(final["tied"] - final["untied"]) < 0.1  # sharing costs (almost) nothing here

# %% [markdown]
# And the tied model's habit of predicting a repeat is gone after these few steps: it now repeats the current
# character about as often as the text itself does (in "ll", "ss", "ee" ...).

# %%
with torch.no_grad():
    favourite = runs["tied"][0](x).argmax(-1)
repeats_after = (favourite == x).float().mean().item()
repeats_in_text = (x[:, 1:] == x[:, :-1]).float().mean().item()
print(f"trained tied model, favourite = the current token: {repeats_after:.1%} "
      f"(before training {repeats['tied']:.0%}; the text itself repeats a character {repeats_in_text:.1%} of the time)")
assert repeats_after < 0.1

# %% [markdown]
# Untied, the model has one more 62 × 64 matrix and ends within a few hundredths of a nat of the tied one: at
# this size the two behave alike. Where tying pays is the parameter count: for GPT-2 small it is the
# difference between 124 M and 163 M parameters (section 1), a quarter of the model's memory. Press & Wolf
# (2017, "Using the Output Embedding to Improve Language Models") found that tying lowered perplexity across the
# language models they tested, and that it cut translation models to less than half their size without harming
# their quality.
#
# **Summary.** The token embedding is a large part of a GPT: 31 % of GPT-2 small, and 47 % if the output layer
# had its own copy. Tying makes the output layer *be* the embedding, so a token is scored by how well the final
# hidden state matches that token's own input vector; an untrained tied model therefore predicts a repeat of the
# current token, which a few training steps unlearn. On a small model tying loses nothing measurable while saving
# V × C parameters.

# %% [markdown]
# ## Your turn
#
# Build it yourself in the exercise track (each exercise checks your code with `gptlab grade`):
# - [`exercises/06_gpt.ipynb`](../exercises/06_gpt.ipynb): the whole GPT, its LM head tied to the token embedding.
