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
# # Exercise 4 · Weight tying
#
# **Goal:** share one matrix between the token embedding and the output head, as GPT-2 does. The
# embedding `wte` maps a token id to a vector (row `i` of a `(V, C)` matrix); the head scores a vector
# against every token (`logits = h @ W^T` with a `(V, C)` matrix). Using *the same* matrix for both saves
# V·C parameters — 38.6 M of GPT-2 small's 124 M — and ties "what a token means" to "when to predict it".
#
# **Difficulty:** ★☆☆ · **Expected time:** 15 minutes

# %%
import torch

from gptlab import GPT, GPTConfig
from gptlab.checks import check_tied_head
from gptlab.params import count_parameters

# %% [markdown]
# ## 1. Tie
# `tie(model)` makes `model.lm_head.weight` the very same `Parameter` as `model.transformer.wte.weight`
# (not a copy: a copy would drift apart during training).

# %% nbgrader={"grade": false, "grade_id": "tie_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def tie(model: GPT) -> GPT:
    ### BEGIN SOLUTION
    model.lm_head.weight = model.transformer.wte.weight
    return model
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "tie_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_tied_head(tie)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
torch.manual_seed(4)
_m = tie(GPT(GPTConfig.from_preset("nano", vocab_size=80, tie_weights=False)))
with torch.no_grad():
    _m.transformer.wte.weight.mul_(3.0)  # a shared matrix changes in both places
    record("logits", _m(torch.arange(10)[None])[0, -2:])
record("n_params", sum(p.numel() for p in _m.parameters()))
### END HIDDEN TESTS

# %% [markdown]
# ## 2. How much does it save?
# `saved_fraction(config)` returns the fraction of an *untied* model's parameters that tying removes.
# Use `gptlab.params.count_parameters(config)["total"]` for the untied total.

# %% nbgrader={"grade": false, "grade_id": "saved_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def saved_fraction(config: GPTConfig) -> float:
    ### BEGIN SOLUTION
    untied = count_parameters(config.replace(tie_weights=False))["total"]
    return config.vocab_size * config.n_embd / untied
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "saved_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
for name in ("gpt2", "gpt2-xl"):
    print(f"{name}: tying saves {saved_fraction(GPTConfig.from_preset(name)):.1%} of the parameters")
assert 0.2 < saved_fraction(GPTConfig.from_preset("gpt2")) < 0.3, "GPT-2 small: 38.6 M of 163 M untied parameters"
### BEGIN HIDDEN TESTS
from gptlab.grading import record
record("fractions", [float(saved_fraction(GPTConfig.from_preset(n))) for n in ("gpt2", "gpt2-medium", "nano")], atol=1e-9)
### END HIDDEN TESTS
