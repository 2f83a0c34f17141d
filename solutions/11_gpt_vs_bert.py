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
# # Exercise 11 · GPT vs BERT: two ways to mask
#
# **Goal:** see the one design choice that separates the two families. GPT hides the *future* with a
# causal mask and predicts every next token; BERT lets every token see the whole sentence and instead
# hides some *input* tokens, predicting only those (masked language modelling, MLM).
#
# **Difficulty:** ★★☆ · **Importance:** 🔵🔵⚪⚪⚪ · **Expected time:** 25 minutes
#
# Follows course notebook 09 (GPT vs BERT).

# %%
import torch

from gptlab.checks import check_bidirectional_mask, check_mlm_masking

# %% [markdown]
# ## 1. BERT's attention mask
# `bidirectional_mask(padding)` takes a `(B, T)` tensor with 1 for real tokens and 0 for padding and
# returns a bool `(B, T, T)` mask: query `i` may attend to key `j` whenever key `j` is a real token.

# %% nbgrader={"grade": false, "grade_id": "bidirectional_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def bidirectional_mask(padding: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    B, T = padding.shape
    return padding.bool()[:, None, :].expand(B, T, T)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "bidirectional_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_bidirectional_mask(bidirectional_mask)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
_padding = torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]])
with unavailable("transformers.masking_utils.sdpa_mask", "transformers.masking_utils.eager_mask",
                 "transformers.masking_utils.create_bidirectional_mask"):  # HuggingFace's BERT-style masks
    record("mask", bidirectional_mask(_padding))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqrVspNLM5WsqpWSizJz1GyMkzVNTDVUSoCcwz0DAwMDHWUyhJzSlNBalISSxKVrKJLikpTdcBEWmJOMSo5cHIDRWC6Ccll9JWM
1VHKzsxLUbJSSsoHRqCOUnFGYgEw5qKNdUx1TGNra2sB3SG0aw==
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. BERT's input masking
# `mask_tokens(ids, mask_id, vocab_size, generator)` chooses 15% of the positions at random. Their
# labels are the original tokens; every other label is −100 (ignored by the loss). Of the chosen inputs,
# 80% become `mask_id`, 10% a random token, 10% stay as they are — so the model cannot learn that
# "only [MASK] positions matter". Draw every random number from `generator`.

# %% nbgrader={"grade": false, "grade_id": "mlm_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mask_tokens(ids: torch.Tensor, mask_id: int, vocab_size: int, generator: torch.Generator):
    ### BEGIN SOLUTION
    chosen = torch.rand(ids.shape, generator=generator) < 0.15
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    u = torch.rand(ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[chosen & (u < 0.8)] = mask_id
    random_pos = chosen & (u >= 0.8) & (u < 0.9)
    inputs[random_pos] = torch.randint(0, vocab_size, (int(random_pos.sum()),), generator=generator)
    return inputs, labels
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mlm_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_mlm_masking(mask_tokens)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
_ids = torch.randint(5, 1000, (400, 128), generator=torch.Generator().manual_seed(10))
_inputs, _labels = mask_tokens(_ids.clone(), 3, 1000, torch.Generator().manual_seed(11))
_chosen = _labels != -100
record("consistent", [bool(torch.equal(_labels[_chosen], _ids[_chosen])), bool(torch.equal(_inputs[~_chosen], _ids[~_chosen]))])
record("rates", [float(_chosen.float().mean()), float((_inputs[_chosen] == 3).float().mean()),
                 float((_inputs[_chosen] == _ids[_chosen]).float().mean())], atol=0.02, rtol=0.0)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqNj8EOgjAMht+l50k6mMr2KoRDlRmJkxlWvJC9u9ULJkbCrU2/v/n+Gc5xSH1iPzC4GYhjAKf9DvcKxs+CBSJqBU8Kk38zPft7
AtfM0BGTDDxOvlVw64cOHJyipBSkKz0Eb9qstoLLKYgR5CwKxD4tYuJSfnmtSWGhja3RHOpy+XsJkfiPHBZCo9FHU20NoLWVqbUu
7Vrip1Z+AeAMc4k=
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. What each model learns from one sentence
# GPT gets a training signal at every position; BERT only at the ~15% it masked — one reason it needs
# more passes over its data per token of signal.

# %%
ids = torch.randint(5, 1000, (8, 512), generator=torch.Generator().manual_seed(0))
_, labels = mask_tokens(ids, 3, 1000, torch.Generator().manual_seed(1))
gpt_targets, bert_targets = ids[:, 1:].numel(), int((labels != -100).sum())
print(f"GPT: {gpt_targets} predictions per batch · BERT: {bert_targets} ({bert_targets / gpt_targets:.1%})")
assert 0.12 < bert_targets / gpt_targets < 0.18
