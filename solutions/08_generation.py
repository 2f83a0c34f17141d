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
# # Exercise 5 · Text generation: greedy, temperature, top-k, top-p
#
# **Goal:** turn a model's next-token logits into text. You write the four pieces every text generator
# is made of, then a sampling loop, and use them on a small GPT trained on Shakespeare.
#
# - **greedy**: always the most likely token — deterministic, and it loops;
# - **temperature**: divide the logits by *T*; *T* < 1 sharpens the distribution, *T* > 1 flattens it;
# - **top-k**: keep only the *k* most likely tokens;
# - **top-p** (nucleus): keep the smallest set of most likely tokens whose probabilities add up to *p*.
#
# **Difficulty:** ★★☆ · **Expected time:** 40 minutes

# %%
import torch

from gptlab.assets import load_shakespeare_char
from gptlab.checks import check_greedy, check_sampler, check_temperature, check_top_k, check_top_p

# One token at a time means small matrix products: one thread is as fast, and unaffected by a busy machine.
torch.set_num_threads(1)

# %% [markdown]
# ## 1. Greedy
# `logits` has shape `(B, V)`; return the id of the most likely token of each row, shape `(B,)`.

# %% nbgrader={"grade": false, "grade_id": "greedy_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def greedy(logits: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    return logits.argmax(dim=-1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "greedy_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_greedy(greedy)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
record("greedy", greedy(torch.randn(16, 50, generator=torch.Generator().manual_seed(3))))
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Temperature
# Return `logits / temperature`. A temperature of 0 would divide by zero: raise a `ValueError` that says
# to use greedy decoding instead.

# %% nbgrader={"grade": false, "grade_id": "temperature_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    ### BEGIN SOLUTION
    if temperature <= 0:
        raise ValueError("temperature must be > 0; for temperature 0 use greedy decoding")
    return logits / temperature
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "temperature_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_temperature(apply_temperature)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
_l = torch.randn(4, 30, generator=torch.Generator().manual_seed(4))
record("t0.3", apply_temperature(_l, 0.3).softmax(-1))
record("t1.7", apply_temperature(_l, 1.7).softmax(-1))
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Top-k
# Keep the `k` largest logits of each row and set all others to `-inf` (so that softmax gives them 0).

# %% nbgrader={"grade": false, "grade_id": "top_k_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    ### BEGIN SOLUTION
    kth = logits.topk(k, dim=-1).values[..., -1:]  # (B, 1): the k-th largest logit of each row
    return logits.masked_fill(logits < kth, float("-inf"))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "top_k_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_top_k(top_k_filter)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
_l = torch.randn(6, 40, generator=torch.Generator().manual_seed(5))
for _k in (1, 7, 40):
    record(f"top_k_{_k}", top_k_filter(_l.clone(), _k))
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Top-p
# Sort the probabilities in decreasing order and keep tokens until their sum reaches `p`: the token that
# crosses `p` is kept, the rest are set to `-inf`. The most likely token is always kept, even when `p` is
# tiny — a row that is entirely `-inf` would give NaN after softmax.

# %% nbgrader={"grade": false, "grade_id": "top_p_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    ### BEGIN SOLUTION
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    cumulative = sorted_logits.softmax(-1).cumsum(-1)
    # Remove a token when the tokens *before* it already reach p; the first token is never removed.
    remove_sorted = (cumulative - sorted_logits.softmax(-1)) >= p
    remove = remove_sorted.scatter(-1, order, remove_sorted)
    return logits.masked_fill(remove, float("-inf"))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "top_p_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_top_p(top_p_filter)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
_l = torch.randn(6, 40, generator=torch.Generator().manual_seed(6)) * 1.5
for _p in (0.01, 0.3, 0.75, 0.95):
    record(f"top_p_{_p}", top_p_filter(_l.clone(), _p))
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Sampling
# Put them together, in this order: temperature, top-k (0 = off), top-p (1.0 = off), softmax, then draw
# one token per row with `torch.multinomial(probs, 1, generator=generator)`.

# %% nbgrader={"grade": false, "grade_id": "sample_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sample(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, V) logits -> (B,) sampled token ids."""
    ### BEGIN SOLUTION
    logits = apply_temperature(logits, temperature)
    if top_k:
        logits = top_k_filter(logits, top_k)
    if top_p < 1.0:
        logits = top_p_filter(logits, top_p)
    probs = logits.softmax(-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "sample_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_sampler(sample)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
# Frequencies over 50,000 seeded draws. A correct sampler that draws differently from the reference still
# lands within 0.016 of its frequencies: 5 standard errors of the difference at worst (p = 0.5).
_l = torch.randn(1, 12, generator=torch.Generator().manual_seed(7)).expand(50000, -1).clone()
_gen = torch.Generator().manual_seed(8)
for _t, _k, _p in ((0.8, 0, 1.0), (1.0, 6, 1.0), (1.2, 0, 0.7)):
    _ids = sample(_l, temperature=_t, top_k=_k, top_p=_p, generator=_gen)
    record(f"freq_{_t}_{_k}_{_p}", torch.bincount(_ids, minlength=12).double() / 50000, atol=0.016, rtol=0.0)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. A sampling loop on a trained model
#
# `generate(model, idx, max_new_tokens, ...)` appends one token at a time: run the model on the
# sequence so far (cropped to its last `block_size` tokens), take the logits of the last position, pick
# the next token with `greedy` (when `temperature == 0`) or `sample`, and append it.

# %% nbgrader={"grade": false, "grade_id": "generate_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
@torch.no_grad()
def generate(model, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int = 0,
             top_p: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """idx (B, T) -> (B, T + max_new_tokens)."""
    ### BEGIN SOLUTION
    for _ in range(max_new_tokens):
        logits = model(idx[:, -model.config.block_size:])[:, -1, :]  # (B, V)
        if temperature == 0:
            nxt = greedy(logits)
        else:
            nxt = sample(logits, temperature, top_k, top_p, generator)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
    return idx
    ### END SOLUTION


# %%
model, tok = load_shakespeare_char()
model.eval()
prompt = torch.tensor([tok.encode("ROMEO:\n")])
print(tok.decode(generate(model, prompt, 100, temperature=0)[0].tolist()))

# %% nbgrader={"grade": true, "grade_id": "generate_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
greedy_text = generate(model, prompt, 60, temperature=0)
assert greedy_text.shape == (1, prompt.shape[1] + 60), f"expected 60 new tokens, got shape {tuple(greedy_text.shape)}"
assert torch.equal(greedy_text[:, :prompt.shape[1]], prompt), "the output should start with the prompt"
g = torch.Generator().manual_seed(0)
sampled = generate(model, prompt.expand(2, -1), 30, temperature=0.8, top_k=10, generator=g)
assert not torch.equal(sampled[0], sampled[1]), "two sampled continuations came out identical: are you sampling?"
print("✓ generation works; a sample at temperature 0.8, top-k 10:\n" + tok.decode(sampled[0].tolist()))
### BEGIN HIDDEN TESTS
from gptlab.grading import record
record("greedy_ids", generate(model, torch.tensor([tok.encode("JULIET:\n")]), 40, temperature=0))
### END HIDDEN TESTS

# %% [markdown]
# ## 7. What the knobs do
# Low temperature plays safe: it writes what the model itself finds least surprising, and repeats itself.
# High temperature picks unlikely characters and invents words. Measure it: the *surprise* of a sample is
# the model's mean −ln p (at temperature 1) of the characters that were produced.

# %%
@torch.no_grad()
def surprise(model, seq: torch.Tensor) -> float:
    """Mean -ln p of the last block_size characters of ``seq`` (1, T), each given those before it."""
    window = seq[:, -model.config.block_size:]
    logp = model(window[:, :-1]).log_softmax(-1)  # (1, W-1, V)
    return float(-logp.gather(-1, window[:, 1:, None]).mean())


g = torch.Generator().manual_seed(1)
surprises = {}
for t in (0.3, 1.0, 1.6):
    seq = generate(model, prompt, 120, temperature=t, generator=g)
    surprises[t] = surprise(model, seq)  # 120 new characters: the window holds only generated ones
    print(f"T={t}: surprise {surprises[t]:.2f} nats/char · {tok.decode(seq[0, prompt.shape[1]:].tolist())[:60]!r}")
assert surprises[0.3] < surprises[1.0] < surprises[1.6]
