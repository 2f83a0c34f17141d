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
# # Exercise 7 · GPT-2's sizes: count the parameters by hand
#
# **Goal:** derive the parameter count of a GPT-2 model from its four numbers — layers L, width C,
# vocabulary V, context T — and see where the parameters live as models grow.
#
# Per block: attention `c_attn` (C → 3C, with bias) and `c_proj` (C → C, with bias); MLP `c_fc`
# (C → 4C) and `c_proj` (4C → C), with biases; two LayerNorms (scale and shift, C each). Plus the token
# embedding (V × C, shared with the head), the position embedding (T × C) and the final LayerNorm.
#
# **Difficulty:** ★★☆ · **Expected time:** 20 minutes

# %%
from gptlab import GPTConfig
from gptlab.checks import check_param_formula
from gptlab.params import count_parameters

# %% nbgrader={"grade": false, "grade_id": "formula_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def n_params(n_layer: int, n_embd: int, vocab_size: int, block_size: int) -> int:
    ### BEGIN SOLUTION
    C = n_embd
    attention = (C * 3 * C + 3 * C) + (C * C + C)
    mlp = (C * 4 * C + 4 * C) + (4 * C * C + C)
    layernorms = 2 * 2 * C
    return n_layer * (attention + mlp + layernorms) + vocab_size * C + block_size * C + 2 * C
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "formula_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_param_formula(n_params)
assert n_params(12, 768, 50257, 1024) == 124_439_808, "GPT-2 small has 124,439,808 parameters"
### BEGIN HIDDEN TESTS
from gptlab.grading import record
record("sizes", [n_params(L, C, V, T) for L, C, V, T in ((24, 1024, 50257, 1024), (48, 1600, 50257, 1024), (2, 64, 100, 32))])
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqNy0EKwjAUBNC7zDrK/21+DblK6SLQgMFYxcQuDLm7aRe6EtzNMG8KUnj5BFvg8i3Csj+QKDz2QkciYoXVxaffTMj+2vBYMLvs
WuhFm67nwUwKl7DMsAhLhkI6u3u7jFNVH8wip4G5I/pLkxGtf8vvEkPKqLW+AYDCPZQ=
""")
### END HIDDEN TESTS

# %% [markdown]
# ## Where the parameters live
# Small models are mostly embedding; large ones are mostly blocks, and the blocks' share grows like 12·L·C².

# %%
print(f"{'model':<12} {'total':>14} {'blocks':>8} {'embeddings':>11}")
for name in ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"):
    c = GPTConfig.from_preset(name)
    total = n_params(c.n_layer, c.n_embd, c.vocab_size, c.block_size)
    assert total == count_parameters(c)["total"]
    embeddings = (c.vocab_size + c.block_size) * c.n_embd
    print(f"{name:<12} {total:>14,} {1 - embeddings / total:>8.1%} {embeddings / total:>11.1%}")
