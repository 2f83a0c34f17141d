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
# **Difficulty:** ★☆☆ · **Importance:** 🔵🔵🔵🔵⚪ · **Expected time:** 30 minutes · Follows course notebook
# 01 (causal language modelling)

# %%
import math

import torch

from gptlab.checks import (check_bigram_counts, check_bigram_loss, check_causal_lm_loss, check_log_softmax,
                           check_uniform_loss)
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
# ## 2. Log-softmax, by hand
#
# A model scores every token of the vocabulary with a *logit*; softmax turns a row of logits into
# probabilities, p_i = exp(l_i) / sum_j exp(l_j), and the loss needs their logarithm,
# log p_i = l_i - log sum_j exp(l_j). Written naively it breaks: exp(1000) is `inf` in any float type.
# Subtracting the row's maximum m first changes nothing mathematically (the factor exp(-m) cancels) and
# makes the largest exponent exp(0) = 1:
#
# log p_i = (l_i - m) - log sum_j exp(l_j - m).
#
# Write `log_softmax(logits)` over the last axis (the vocabulary) for a tensor of any shape `(..., V)`.

# %% nbgrader={"grade": false, "grade_id": "log_softmax_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """logits (..., V) -> log-probabilities (..., V): each row over the last axis sums to 1 after exp."""
    ### BEGIN SOLUTION
    shifted = logits - logits.max(dim=-1, keepdim=True).values  # (..., V), each row's largest entry is 0
    return shifted - shifted.exp().sum(dim=-1, keepdim=True).log()  # (..., V)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "log_softmax_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_log_softmax(log_softmax)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
_g = torch.Generator().manual_seed(21)
_x = torch.randn(3, 4, 9, generator=_g) * 2
with unavailable("torch.nn.functional.log_softmax", "torch.log_softmax", "torch.Tensor.log_softmax",
                 "torch.nn.functional.softmax", "torch.softmax", "torch.Tensor.softmax",
                 "torch.logsumexp", "torch.Tensor.logsumexp"):
    record("log_softmax", log_softmax(_x), atol=1e-5)
    record("log_softmax_big", log_softmax(_x * 500 - 2000), atol=1e-2, rtol=1e-5)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqFlt2OHccNhN/lXJ8dNMkm2dSrGIaxgX9h2TJiJQhg6N3zkXOEBMhFLrSane3mT1WxOH89Pn766bs/P/34+bf3fz0+/PV4//zp
4+OD/PC2/Pn4+/yyrrWWPB//fP/4jx/6zPfvn98fH755s8tjl4fU880vzR0V5s83vTJD1t73s+UR2/l821eVloRIP0uG7uOcWVfU
yjCReL7JJZErd2kHtaUhEfN4MuXEeZI3RdapkH5WrxWa2VfLjYg+8fNomZj1sy2vrWvCp9PNnda3OYnL+4zaphmZXFXH+vc+7+tE
Wve4rrO30bCdbmzJXitXdRHHXDxP9uU09eTHJAMH32tPEZSm2UX75V3Eril6UamF7Y6zLctiZcePoxRkMbkCcGmin+sAbXbDdsWy
ympAhbs7Qqf3RYnLYsKY6DILnzIXbEHHHM88J/aUtilArNOuq1TNJvy+XApebnxkA/o658YWKo5bxz+yYUXvmNTZFHQccdlIw1/i
CMrbOsXpTo/iQtK7aByfHinHl8ktlEgHrpjnc7YhoecITmLtNXGM1k+dwcECJLITB4lTw3QKFfRjLSXqAT6T1WLKFkpQn00Nq2xr
ExzX5p2cNSIT6vcI3hf8rtqic7VQQZ0+rUnnfVguXZIuMk2BgELpkBVr+fKeiqRgOE99IUv0qHMrL6qkkUWSgvi1xUOzwAkeI6pV
lA4101T5prFBeTu6Rkg31aBJA5NYKFN1201diW6ZcfQ4qCHn/WqGJHXep2pWDcpZvrY3mufiop89YlZHPxI29ZB4jUpQTAWKZzZn
TFMZYHmNptU9B+gS6d3DC/XFkGYjaNvQjlafsVpyXjT4UaRhd9ZGob2EZ0Wle8WN7Oljd8imMGxGkcZVkUxXBqvSFA6EZnTofWh3
K0GGfesr0UJT5AxCg36joGkrztSTG1p27QE2zelmruphnFLi2+fj119+//7x4fHjx0/vnx/Px58/v/+BWX5jz/2sb798ef630X73
t19++o/Z4q/y1Wtfxvs/VgurCLVmXIELpxswKQMgcvV0owgkoz40M3zMVgxvyRn+cZ5M/M0g1X0QUoyRgY9sRJFLD0k7tfhpFUgP
Gsgkhp49yMlx+q9JIdU+3HOMduFGss2TORzeMZ9JJ7B07bJRqGdQuc3MGtl4AtQ5h8jGnqJNF9/DLltEujc6rXVa+X4uU4agj2Qy
LOE92woh3C3/mlKSiWUooPEs0ii+3lNXlKb0QFzedLOnaceCuJ8MQ8c9dKJn2mIJ4Uo2UpW4MJt2JNkbQVu1NNg7YLO1Bmhnk1ki
1buMrANCNjJGod1RgyjMRAsNot9q4yKtvhwCruVcshdRTll46xgMW+EKzKONYXtdhacPOXIgffVQ6l4H5x/DYNoPd88aqGCtF1VD
hY2xYK3h5D/yuE1M7OQKTLTf43CX+YsX3JO94dXTTWZWWl/hWbydyHo/CXaBBWsvHArGTNZuOwMLEDlsajJTzNWbq/ccneLeO/uM
C2eWdxXImfgSvZ2NOcRJs2VKRUmu9NFad089r/ooA1bFtHM0Gtt0ED/ZcfVrH4V4KGtM4mQrneU353biN5WTH6kzTGd0gH0sa5dl
MTGizEEft4LIQgJdegyYrQ98CX3gfQ0+Gw4/5dPiRSS1ULIPkWiLbdLOw2ImUjUIgoSRtrfxQDvSPNWOx0yw+hj7/uCIbs7na0g2
ZFl/bs02xtKxJ8c7WqmonO8P2ZOtet9KTwxr9NoYte6v8nIAJmXnXD3MAHfGHzC2XtGdk2mWuQPQyvB6tGxBW/qDr7tl91CuapPT
XxqsMFD//4745d/m/ybL
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The causal-LM loss, by hand
#
# A model reads `idx` of shape `(B, T)` and gives `logits` of shape `(B, T, V)`: position `t` has seen
# `idx[:, :t+1]` and scores every possible *next* token, so it is compared with `idx[:, t + 1]`. The last
# position has no next token and the first token is never predicted: `B (T - 1)` predictions in all. The
# loss is the mean over them of `-log p(correct next token)`, with your `log_softmax`.

# %% nbgrader={"grade": false, "grade_id": "lm_loss_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def causal_lm_loss(logits: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """logits (B, T, V), idx (B, T) -> scalar: the mean of -log p(idx[:, t+1] | logits[:, t])."""
    ### BEGIN SOLUTION
    logits, targets = logits[:, :-1], idx[:, 1:]  # (B, T-1, V), (B, T-1): position t predicts token t + 1
    log_p = log_softmax(logits)  # (B, T-1, V)
    picked = log_p.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (B, T-1): log p of the correct token
    return -picked.mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "lm_loss_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_causal_lm_loss(causal_lm_loss)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
_g = torch.Generator().manual_seed(12)
_logits, _idx = torch.randn(3, 9, 11, generator=_g) * 2, torch.randint(0, 11, (3, 9), generator=_g)
with unavailable("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss",
                 "torch.nn.functional.log_softmax", "torch.log_softmax", "torch.Tensor.log_softmax"):
    record("lm_loss", float(causal_lm_loss(_logits, _idx)), atol=1e-5)
    record("lm_loss_big", float(causal_lm_loss(_logits * 300, _idx)), rtol=1e-5)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNp9jc0KwjAQBt/lO8ewq02seZVSykqrFlcjJvZS8u7+oBdBjwPDzAw9dRpTQpghOSoCDwtyBtcXkCUiNphEb8PT6SULQlNZrp13
9WbVGhzHc4+AnUbJMEgHuTzcpi3FfPLddtz/WLzh+8C0JLv27P3fQ7kDStw6vw==
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. A bigram model
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
check_bigram_loss(bigram_loss)
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
# ## 5. On Shakespeare
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
