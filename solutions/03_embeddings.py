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
# # Exercise 3 · Token and position embeddings
#
# **Goal:** turn token ids into the vectors GPT-2 computes with: a learned vector per token (`wte`) plus a
# learned vector per *position* (`wpe`), with GPT-2's names and shapes so that its weights load as they are.
#
# **Difficulty:** ★☆☆ · **Importance:** 🔵🔵🔵⚪⚪ · **Expected time:** 15 minutes · Follows course notebook
# 01 (causal language modelling)
#
# Attention, which you write in exercise 4, treats its input as a *set*: shuffle the tokens and each one
# gets the same output, only shuffled. Word order would be lost. GPT-2 therefore adds to each token's vector a
# vector for its position, learned like everything else (the 2017 Transformer used fixed sinusoids instead).
# After each answer, run the check cell below it; hidden tests run your code on other inputs when graded.

# %%
import torch
import torch.nn as nn

from gptlab.checks import check_embeddings, check_position_ids
from gptlab.config import GPTConfig

# %% [markdown]
# ## 1. Positions
#
# `position_ids(T, past_length)` returns the positions of `T` new tokens as a `torch.long` tensor of shape
# `(T,)`. Positions count from 0. When a KV cache (exercise 9) already holds `past_length` tokens, the new
# tokens come after them: `past_length, past_length + 1, …`.

# %% nbgrader={"grade": false, "grade_id": "position_ids_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def position_ids(T: int, past_length: int = 0) -> torch.Tensor:
    """(T,) long: the positions past_length .. past_length + T - 1."""
    ### BEGIN SOLUTION
    return torch.arange(past_length, past_length + T, dtype=torch.long)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "position_ids_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_position_ids(position_ids)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
for _T, _past in ((1, 0), (6, 0), (2, 17), (4, 1)):
    record(f"positions_{_T}_{_past}", position_ids(_T, _past))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqV0EEKwjAQheG7vPUoMzFtJVcpJQRaMFiSYqKbkrtbxYUUushy4PF/MCuWmHz2MSQrlmFWuBxnGJlO3BAe34PPzCyEl5uf02cz
uuxgeh4Idx9GGPiQQUg3t2yDXoZS6C+trHSVbelIrkd9tetrK7V5UnQhfQToHdDW/4Z+BDVHSLsh5Q2k6XQK
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The embedding layer
#
# `Embeddings(config)` holds two tables, both `nn.Embedding`:
#
# - `wte`: `(vocab_size, n_embd)`, one row per token;
# - `wpe`: `(block_size, n_embd)`, one row per position the model can see.
#
# `forward(idx, past_length=0)` takes token ids `(B, T)` and returns `wte(idx) + wpe(positions)`, shape
# `(B, T, n_embd)`; the `(T, n_embd)` position vectors broadcast over the batch. GPT-2 adds the two as they
# are, with no scaling. A sequence that does not fit (`past_length + T > block_size`) has no position
# vectors: raise a `ValueError` that says so, instead of letting the lookup crash.

# %% nbgrader={"grade": false, "grade_id": "embeddings_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
class Embeddings(nn.Module):
    """Token + position embeddings: (B, T) ids -> (B, T, n_embd)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.block_size = config.block_size
        ### BEGIN SOLUTION
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # (V, C)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)  # (block_size, C)
        ### END SOLUTION

    def forward(self, idx: torch.Tensor, past_length: int = 0) -> torch.Tensor:
        ### BEGIN SOLUTION
        T = idx.shape[1]
        if past_length + T > self.block_size:
            raise ValueError(f"{past_length + T} positions do not fit the context of {self.block_size}")
        pos = position_ids(T, past_length).to(idx.device)  # (T,)
        return self.wte(idx) + self.wpe(pos)  # (B, T, C) + (T, C) -> (B, T, C)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "embeddings_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_embeddings(Embeddings)
### BEGIN HIDDEN TESTS
from gptlab.checks import seeded_weights
from gptlab.grading import record
from gptlab.grading import unavailable
_cfg = GPTConfig(vocab_size=29, block_size=12, n_layer=1, n_head=2, n_embd=6)
_idx = torch.randint(0, 29, (3, 7), generator=torch.Generator().manual_seed(41))
with unavailable("gptlab.model.GPT"), torch.no_grad():
    _emb = seeded_weights(Embeddings(_cfg), seed=41)
    record("embed", _emb(_idx))
    record("embed_after_cache", _emb(_idx[:, :3], past_length=9))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNq1VsuOFEcQ/Jc5D1a+H/srCKExLMLy2lh47Qvi3x2V2Vwt+WAkUNd0dT4iIyL5dnv+7efnj7enb7fH65eX2xM/vyG/377OgX4i
Ir7f/n68/PV87nx8vD5uT2/f4EVZURZ53nFwZbMgu583nFJCJjmnUDfnSDv3jDoVh8ZBlSLZqu8bzq3w6rxhDcaf/T67U0jq5BEq
5xb18zmbkyTHicvkiCQ+B41216yejMHURXrC4onkREJcLjU1D55LTqgmWeaNoOQ04a3LUywQck4uAITCTjOMkrn9/K7n5yqzjexc
aHM6CUfLdh63P23ZqrzSk/dr4giSnnqFMqSjavJ1CKfmJGcDxok+z0GsgfPJkM2WqROJxLM8UMsJFWUdyDTIeZMhAA8OXYq+dD6h
RrdcQbpxHaPq3vQKyEyrY/LjKjlK3wYSsBYtYtHNmosRpsuI3hd86IvUrlxWdW7GmR/h5MAgdYoFatnKfQqUonOmKUKIvXOfyb3L
1WLIhMuYeNeMMDVQKAo81HDksAsfiuZg30IJ3wPeeeFV5aXLssIQFIVfDK5QMdFBC8EQfQiE0TilLMskcMMWGwyqW0H7KSwlUXFc
/EFZB5PtBenTfTjgUE1njRYEV6pGIyx1+Ms1z+1RvJFw1RwjteuEJxOZ5oWt0X/wRQ1JwiCHo+B22EqhGgVmbDQibSv0NREwWzAL
yM5s0TK0/X/xA0Mz5q2VmKuAgl0n8kKMvnQEhhxODH3xK3Q/z4JeccdXrI0BQ8obWgUTHeWhtoY0eNiFYUahjVECQ+jki6JFKETj
fVkVtKTtMxHSTAhxG8CPQPQaKeRfSClDCdAJriCbH7bRZTz5SeEH4K4uOxOKkIts6MAxLJtwoopOabmGAQccb00JnqBA/5DFAGzj
0lYNnFA3CDjKEUWIGFIyFQPqCz/IBFxafz2CwATWXv3kJN4u4W8AbfSEdIlMo06DO6OtONnPh8ayznOoDpzgIIu/4RMr/gFTwPyH
AYnZCtx27QqIw8omJarCX7p0B7PSsy/e3W+//vI7FtHt08uXx+vtfvvz8+MPLJ23es97vPv+/b6r6v3j0+vz1/cfHh8+P//3tcVQ
CnzxclQgHOWjFAqIH+TZGQOi06XJqF6hQR5pYAae4YMKYNZD31mAeRxcQIX5OoFCS6zVQyJcnCcJdiJn9iXBAgtgFDUQQx9a15YE
H4G3rbYTfICDLKjYithVmZcDwcm4d7dpnwn30hUbsxu7YKBvTRqfOlzBG4g+LvANvoNNXWtzeLNr9ljDUbCvm8Hw0GjsvNnhO3K5
HgpRMFxXva0ghe12BvcQBfwZKQT8VM3GGvg0FL3bEZYGs13xwG7xbqwKaLWl8P5nAJsBm++AgX/RgPvFb9jcWePTpfgBYzSJdBBf
8TIUg4Qz5oAMbwDdfpj84W5DSiM8mMXx6h2fzAB/qD0T4+9BGWIBUWw9RU9l6ZfW4nBnDeaorqZDge4koeKN23HoM9tHj1tKLyLY
aK2DGxQM1QH/f9ODjh6+/wOIUf/t
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Why the positions matter
#
# Take a sentence and the same tokens in reverse order. Without `wpe`, each token's vector is the same in
# both (only their order in the batch differs), so any layer that treats its input as a set sees the same
# thing. With `wpe`, the vector of a token depends on where it stands.

# %%
torch.manual_seed(0)
config = GPTConfig(vocab_size=50, block_size=16, n_layer=1, n_head=2, n_embd=8)
emb = Embeddings(config)
sentence = torch.tensor([[7, 21, 3, 9]])  # say, "dog bites the man"
reversed_sentence = sentence.flip(1)
with torch.no_grad():
    tokens_only = emb.wte(sentence)[0], emb.wte(reversed_sentence)[0].flip(0)
    with_positions = emb(sentence)[0], emb(reversed_sentence)[0].flip(0)
same_without = torch.allclose(*tokens_only)
same_with = torch.allclose(*with_positions)
print(f"every token's vector, in both orders, wte only:  the same = {same_without}")
print(f"every token's vector, in both orders, wte + wpe: the same = {same_with}")
assert same_without and not same_with

# %% [markdown]
# ## 4. They are GPT-2's embeddings
#
# Load the tables of the course's model into your layer: the vectors the model feeds its first block are
# exactly yours. In GPT-2 small, the two tables hold about a third of all parameters (the token table alone
# is 50,257 × 768); the twelve blocks hold the rest.

# %%
from gptlab import GPT
from gptlab.model import Block

model = GPT(config).eval()
emb.load_state_dict({f"{k}.weight": model.transformer[k].weight for k in ("wte", "wpe")})
idx = torch.randint(0, config.vocab_size, (2, 10))
with torch.no_grad():
    course = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(10))
    assert torch.equal(emb(idx), course)
gpt2 = GPTConfig.from_preset("gpt2")
with torch.device("meta"):  # shapes only: no memory, no time
    one_block = sum(p.numel() for p in Block(gpt2).parameters())
tables = (gpt2.vocab_size + gpt2.block_size) * gpt2.n_embd  # wte + wpe
total = tables + gpt2.n_layer * one_block + 2 * gpt2.n_embd  # + the final LayerNorm
print(f"GPT-2 small: {total:,} parameters, of which wte + wpe {tables:,} ({tables / total:.1%}), "
      f"the {gpt2.n_layer} blocks {gpt2.n_layer * one_block:,} ({gpt2.n_layer * one_block / total:.1%})")
assert total == 124_439_808 and 0.30 < tables / total < 0.34
