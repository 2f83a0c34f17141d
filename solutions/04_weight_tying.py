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
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqVVttuFUcQ/Jd9Plh9v/hXEIqOBElQHEDg5AXx76nuOSh5jWTLuzszfamqrvH36+Xzbx9fv13P36/76+eX65k/vCG/XV/3hZ6I
iG/X3/eXvz7Mnvf31/v1/PYNPaWrOXP0jZ60ilSkEs9MEh7qeBQmlm6ez+Euqmk838mxuXEUcchZgiwysEI4WqXWepOnKMH+Knx3
VS7nsjnBHdppUXtcqKg0cgKXRLYG86wUMYVSzAKJppQFb0ojMao+5bK5e0XMQpqqUvuUomoqHLZZRF0jlH1esCU9M3KzNJKb2Fav
2YALHc0LlcgE9s2pLi0pOt1EAzkhPs1QWupm0RAXhB5IpZTTrDajOIK20GkfrbgCV+yyai5t1V1IgEyzMLEE6HtYnBWcIKutOERR
JXJuFkfLwGC7d3KQWnsecIOW1sUoCo207y63KvDLdTAmkaTt3rKngprmUSMKKZalCFAAWfSJPAtMA7w+rXmgmMT6VGMSZkJbs4CH
klECjiCeo8ztWdAxsD3FUFsC1tr8qUbdUwubZBadTY02vBB4hMROVan5wJ6gJTuAJRX0cfpS8KYdtVUlJVLXYQ41Itj2NUpJt94T
bISonrML3AagkCVYGtBXLKlhNO1KP46zH35EibO3C80qxoFa1ZJZqB4FUYBFRvYDKnhqEKMnbmLoUuXoAyWBlQWOlGcEcutC8914
m9k0JjBcp3c8QuBY2WqUzTBwoUdHaaRBvqiCAWLf2cYwY1ptGcGkhMoRIc+g2aMUjCwmU4cScADDqFq0sBuwtJ1WUDkHYTimf9GA
PiBCeVJMIj/ARiPWDZs4aAdJgZSDXhkrfnmNAiqAOwzXSNHwCTs0QI44nHsi8JcxEkdDjpVqlUUcQoGBHKORjoA7yK6gPAjvNAlh
NSyFD8PoGAk7dtsICj+wtw03ssX0LBet8Kw8hgKdkhtWa7Hkccq1EJhEJgCfZoaGxKieE0xohh62B82zdh8AwCUC+8IMmNAqWB4w
MN6Iy5s9UVnBqTYh5hwq7jynYWHVy7BARhZ0jCYCMz8OOqXAs3OsbWWAMec6g4ZMgYS+KgSOMNYdGk1cBLDGzVDwNCjkDF1BeXCK
bQPltGNaVu0lYxu5+RhWViOr49facLOfJgmzDznHA84JWI+TyN4RbatuzM28TChAg6JovScAIUR1rD8DV0wfFcB7G3fYgUSmYuMV
JO4mkB36SOgPF4bJo/jHaIInXIV6/BVUJgSkurnhinMNLraoSmhjQnu6+tvbhGdpCYdzQBK+Iiu0Irhp/ASVQu6wrYjhFdJbxxiE
445ZYmDMmJJ83Aa4J3BrLN+FJ3+MNwSGWzZ/ckwY0XMrIxDsKfvd7frj46f31/P168vn++t1u779fv+C6/+t3Ire/fhxuz798uX+
9f7n//23Ae4q9m/4j5/+GxyBf/wDEbfDow==
""")
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
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqNi0EOgjAURO8y60r+L9harkJY/AjExkoNFDekd7e60ZVxNy/z3o5pkXPycV7R7pAUA1oeD+QUljdQRUSs8JCwjS/Hp/FW5G7H
IEnKoErXxtbOsu4Vrn4e0GIKURIU1ovcS9b1WX0FrI0xVtenf4PGMTVHtr/8zxf8mpBzfgIH2UL0
""")
### END HIDDEN TESTS
