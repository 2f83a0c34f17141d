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
# # Exercise 1 · Causal language modelling: the baseline and a bigram model
#
# **Goal:** know what a loss number means before training anything. A model that knows nothing guesses
# every token with probability 1/V; its cross-entropy is the number every real model must beat. The
# simplest real model counts which token follows which (a *bigram* model).
#
# **Difficulty:** ★☆☆ · **Expected time:** 20 minutes

# %%
import math

import torch

from gptlab.checks import check_bigram_counts, check_uniform_loss
from gptlab.data import play_to_script, shakespeare_play_paths
from gptlab.tokenizers import CharTokenizer

# %% [markdown]
# ## 1. The loss of a uniform guess
# Cross-entropy is the mean of −ln p(correct token). What is it when every token gets probability 1/V?

# %% nbgrader={"grade": false, "grade_id": "uniform_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def uniform_loss(vocab_size: int) -> float:
    ### BEGIN SOLUTION
    return math.log(vocab_size)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "uniform_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_uniform_loss(uniform_loss)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
record("uniform", [float(uniform_loss(v)) for v in (3, 96, 50304)], atol=1e-6)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqNy7EOgyAYBOB3uZmSH0QCvIpxIBFTUpRGsQvh3Ws7tFvT7S73XcWxxjlvC1yFLznBiXAhzbC9C3EiEgwPn47wMrGEZYcbKiZf
/BkEJ2u0kNKODLe4TnCYU/YFDPvV38/XMDb28Yr3WnXKiD+9IG5kbzr703+3FPeC1toT8uxB1w==
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. A bigram model
# `bigram_counts(ids, V)` returns a `(V, V)` tensor whose entry `[a, b]` counts how often token `b`
# directly follows token `a` in `ids`. `bigram_loss(counts, ids)` is the mean cross-entropy of predicting
# each next token of `ids` with add-one smoothing, p(b | a) = (counts[a, b] + 1) / (counts[a].sum() + V),
# so that an unseen pair does not give an infinite loss.

# %% nbgrader={"grade": false, "grade_id": "bigram_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def bigram_counts(ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    ### BEGIN SOLUTION
    counts = torch.zeros(vocab_size * vocab_size, dtype=torch.long)
    counts.index_add_(0, ids[:-1] * vocab_size + ids[1:], torch.ones(len(ids) - 1, dtype=torch.long))
    return counts.view(vocab_size, vocab_size)
    ### END SOLUTION


def bigram_loss(counts: torch.Tensor, ids: torch.Tensor) -> float:
    ### BEGIN SOLUTION
    V = counts.shape[0]
    probs = (counts + 1).double() / (counts.sum(1, keepdim=True) + V)  # (V, V), rows sum to 1
    return float(-probs[ids[:-1], ids[1:]].log().mean())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "bigram_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_bigram_counts(bigram_counts)
assert abs(bigram_loss(torch.zeros(4, 4, dtype=torch.long), torch.tensor([0, 1, 2, 3])) - math.log(4)) < 1e-9, \
    "with no counts, add-one smoothing is the uniform guess: the loss should be ln V"
### BEGIN HIDDEN TESTS
from gptlab.grading import record
_ids = torch.randint(0, 7, (500,), generator=torch.Generator().manual_seed(9))
record("counts", bigram_counts(_ids, 7))
record("loss", bigram_loss(bigram_counts(_ids[:400], 7), _ids[400:]), atol=1e-6)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqFj90KwjAMhd8l13Ek7qe2rzJ2UdzEYVnFdd6MvbtJJyjeSEo4OZx+bVY4x2VKM7gVfIoBHA8HqhEeeaCCiBjh6cMyaKb3yYNr
mZFLlN4gH5Hr3Am5wlMuo1JP9gzW77iRylesRkh8s6dLcRSjo/h2D4tuVIltcX+k6hBu49SDg3FKgDBf/V2+1gq62zaEEOefbZq/
2xS2NKfK2g/7EqL/pgt6ewFHAkyP
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. On Shakespeare
# Count bigrams in the first 90% of a play and measure the loss on the last 10%: the bigram model must
# beat the uniform guess by a wide margin.

# %%
text = play_to_script(shakespeare_play_paths()[0].read_text(encoding="utf-8"))
tok = CharTokenizer.from_text(text)
ids = torch.tensor(tok.encode(text))
split = int(0.9 * len(ids))
counts = bigram_counts(ids[:split], tok.vocab_size)
val = bigram_loss(counts, ids[split:])
print(f"{len(ids):,} characters, V = {tok.vocab_size}: uniform {uniform_loss(tok.vocab_size):.3f} nats, "
      f"bigram {val:.3f} nats on held-out text")
assert val < uniform_loss(tok.vocab_size) - 1.0
