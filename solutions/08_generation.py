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
# # Exercise 8 · Text generation: the samplers and the loop
#
# **Goal:** turn a model's next-token logits into text. You write the pieces every text generator is made
# of, then the loop that runs them on a model, and use it on a small GPT trained on Shakespeare.
#
# - **greedy**: always the most likely token — deterministic, and it loops;
# - **temperature**: divide the logits by *T*; *T* < 1 sharpens the distribution, *T* > 1 flattens it;
# - **top-k**: keep only the *k* most likely tokens;
# - **top-p** (nucleus): keep the smallest set of most likely tokens whose probabilities add up to at least *p*;
# - **min-p**: keep the tokens at least *min_p* times as likely as the most likely one;
# - **repetition penalty**: make the tokens already in the text less likely.
#
# **Difficulty:** ★★☆ · **Importance:** 🔵🔵🔵🔵⚪ · **Expected time:** 50 minutes
#
# Follows course notebook 05 (Generation).

# %%
import torch

from gptlab.assets import load_shakespeare_char
from gptlab.checks import (check_generate, check_greedy, check_min_p, check_repetition_penalty, check_sampler,
                           check_temperature, check_top_k, check_top_p)

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
from gptlab.grading import record, unavailable
_l = torch.randn(6, 40, generator=torch.Generator().manual_seed(5))
with unavailable("gptlab.sampling.filter_logits", "gptlab.sampling.next_token_probs", "gptlab.sampling.kept_mask"):
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
    probs = sorted_logits.softmax(-1)  # (B, V), most likely first
    # Remove a token when the tokens *before* it already reach p; the first token is never removed.
    remove_sorted = (probs.cumsum(-1) - probs) >= p
    remove = remove_sorted.scatter(-1, order, remove_sorted)  # back to vocabulary order
    return logits.masked_fill(remove, float("-inf"))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "top_p_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_top_p(top_p_filter)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
_l = torch.randn(6, 40, generator=torch.Generator().manual_seed(6)) * 1.5
with unavailable("gptlab.sampling.filter_logits", "gptlab.sampling.next_token_probs", "gptlab.sampling.kept_mask"):
    for _p in (0.01, 0.3, 0.75, 0.95):
        record(f"top_p_{_p}", top_p_filter(_l.clone(), _p))
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Min-p
# Top-p keeps a fixed share of the probability; min-p adapts to how sure the model is. Keep every token whose
# probability is at least `min_p` times that of the most likely token (`p_i >= min_p * p_max`), and set the
# others to `-inf`. A confident model (one token at 0.9) keeps few tokens; an unsure one keeps many.

# %% nbgrader={"grade": false, "grade_id": "min_p_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def min_p_filter(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    ### BEGIN SOLUTION
    probs = logits.softmax(-1)  # (B, V)
    too_unlikely = probs < min_p * probs.amax(dim=-1, keepdim=True)
    return logits.masked_fill(too_unlikely, float("-inf"))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "min_p_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_min_p(min_p_filter)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
_l = torch.randn(6, 40, generator=torch.Generator().manual_seed(9)) * 2
with unavailable("gptlab.sampling.filter_logits", "gptlab.sampling.next_token_probs", "gptlab.sampling.kept_mask"):
    for _m in (0.02, 0.1, 0.5):
        record(f"min_p_{_m}", min_p_filter(_l.clone(), _m))
### END HIDDEN TESTS

# %% [markdown]
# ## 6. The repetition penalty
# `input_ids` `(B, L)` holds the tokens of each row so far. Every token that occurs in its row is made less
# likely, once however often it occurs: its logit is **divided** by `penalty` when positive and
# **multiplied** by it when negative (dividing a negative logit would bring it closer to 0, making the token
# *more* likely). This is HuggingFace's variant of the rule CTRL (Keskar et al. 2019) introduced.
# `torch.gather` / `scatter` along the last dimension do it without a Python loop.

# %% nbgrader={"grade": false, "grade_id": "repetition_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def apply_repetition_penalty(logits: torch.Tensor, input_ids: torch.Tensor, penalty: float) -> torch.Tensor:
    """(B, V) logits, (B, L) ids -> (B, V) logits with every seen token penalised once."""
    ### BEGIN SOLUTION
    seen = logits.gather(-1, input_ids)  # (B, L): the logits of the tokens that occur
    penalised = torch.where(seen > 0, seen / penalty, seen * penalty)
    return logits.scatter(-1, input_ids, penalised)  # a repeated id writes the same value twice
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "repetition_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_repetition_penalty(apply_repetition_penalty)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
_l = torch.randn(3, 30, generator=torch.Generator().manual_seed(10)) * 2
_ids = torch.randint(0, 30, (3, 12), generator=torch.Generator().manual_seed(11))
with unavailable("gptlab.sampling.apply_repetition_penalty", "gptlab.sampling.filter_logits"):
    record("penalty_1.4", apply_repetition_penalty(_l.clone(), _ids, 1.4))
    record("penalty_0.7", apply_repetition_penalty(_l.clone(), _ids, 0.7))
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Sampling
# Put them together, in this order: temperature, top-k (0 = off), top-p (1.0 = off), min-p (0.0 = off),
# softmax, then draw one token per row with `torch.multinomial(probs, 1, generator=generator)`.

# %% nbgrader={"grade": false, "grade_id": "sample_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sample(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
           min_p: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, V) logits -> (B,) sampled token ids."""
    ### BEGIN SOLUTION
    logits = apply_temperature(logits, temperature)
    if top_k:
        logits = top_k_filter(logits, top_k)
    if top_p < 1.0:
        logits = top_p_filter(logits, top_p)
    if min_p > 0.0:
        logits = min_p_filter(logits, min_p)
    probs = logits.softmax(-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "sample_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_sampler(sample)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
# Frequencies over 50,000 seeded draws. A correct sampler that draws differently from the reference still
# lands within 0.016 of its frequencies: 5 standard errors of the difference at worst (p = 0.5).
_l = torch.randn(1, 12, generator=torch.Generator().manual_seed(7)).expand(50000, -1).clone()
_gen = torch.Generator().manual_seed(8)
with unavailable("gptlab.sampling.filter_logits", "gptlab.sampling.next_token_probs",
                 "gptlab.sampling.sample_from_probs"):
    for _t, _k, _p, _m in ((0.8, 0, 1.0, 0.0), (1.0, 6, 1.0, 0.0), (1.2, 0, 0.7, 0.0), (1.0, 0, 1.0, 0.15)):
        _ids = sample(_l, temperature=_t, top_k=_k, top_p=_p, min_p=_m, generator=_gen)
        record(f"freq_{_t}_{_k}_{_p}_{_m}", torch.bincount(_ids, minlength=12).double() / 50000,
               atol=0.016, rtol=0.0)
### END HIDDEN TESTS

# %% [markdown]
# ## 8. The generation loop
#
# `generate(model, idx, max_new_tokens, block_size, ...)` works with any model that maps token ids `(B, T)`
# to logits `(B, T, V)` — the course's GPT, yours from exercise 06, or a toy. It appends one token at a
# time:
#
# 1. crop the sequence so far to its last `block_size` tokens (the model has no position beyond those);
# 2. run the model and take the logits of the **last** position, `(B, V)`;
# 3. apply the repetition penalty (when it is not 1.0) over every token of the sequence so far, prompt
#    included;
# 4. pick the next token with `greedy` when `temperature == 0`, else with `sample`;
# 5. append it.

# %% nbgrader={"grade": false, "grade_id": "generate_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
@torch.no_grad()
def generate(model, idx: torch.Tensor, max_new_tokens: int, block_size: int, temperature: float = 1.0,
             top_k: int = 0, top_p: float = 1.0, min_p: float = 0.0, repetition_penalty: float = 1.0,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """idx (B, T) -> (B, T + max_new_tokens)."""
    ### BEGIN SOLUTION
    for _ in range(max_new_tokens):
        logits = model(idx[:, -block_size:])[:, -1, :]  # (B, V)
        if repetition_penalty != 1.0:
            logits = apply_repetition_penalty(logits, idx, repetition_penalty)
        if temperature == 0:
            nxt = greedy(logits)
        else:
            nxt = sample(logits, temperature, top_k, top_p, min_p, generator)
        idx = torch.cat([idx, nxt[:, None]], dim=1)  # (B, T + 1)
    return idx
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "generate_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_generate(generate)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
_model, _tok = load_shakespeare_char()
_prompt = torch.tensor([_tok.encode("JULIET:\n")])
with unavailable("gptlab.generation.generate", "gptlab.model.GPT.generate", "gptlab.sampling.filter_logits",
                 "gptlab.sampling.next_token_probs", "gptlab.sampling.apply_repetition_penalty"):
    # 8 + 70 characters: past the model's context of 64, so only a cropped window works
    record("greedy_ids", generate(_model, _prompt, 70, _model.config.block_size, temperature=0))
    record("penalised_ids", generate(_model, _prompt, 30, _model.config.block_size, temperature=0,
                                     repetition_penalty=1.3))
### END HIDDEN TESTS

# %% [markdown]
# ## 9. On a trained model
# The shipped character-level Shakespeare GPT, greedy first. Greedy decoding soon loops: once a phrase is
# the most likely continuation of itself, it comes back for ever.

# %%
model, tok = load_shakespeare_char()
model.eval()
prompt = torch.tensor([tok.encode("ROMEO:\n")])
greedy_text = tok.decode(generate(model, prompt, 150, model.config.block_size, temperature=0)[0].tolist())
print(greedy_text)

# %% [markdown]
# A repetition penalty breaks the loops: measure it as the share of distinct 8-character pieces in the 150
# new characters (1.0 would mean nothing ever repeats).

# %%
def distinct_share(text: str, n: int = 8) -> float:
    pieces = [text[i:i + n] for i in range(len(text) - n + 1)]
    return len(set(pieces)) / len(pieces)


penalised_text = tok.decode(generate(model, prompt, 150, model.config.block_size, temperature=0,
                                     repetition_penalty=1.3)[0].tolist())
print(penalised_text)
plain, penalised = distinct_share(greedy_text[len("ROMEO:\n"):]), distinct_share(penalised_text[len("ROMEO:\n"):])
print(f"distinct 8-character pieces: greedy {plain:.2f} · with repetition_penalty=1.3 {penalised:.2f}")
assert penalised > plain

# %% [markdown]
# ## 10. What the knobs do
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
    seq = generate(model, prompt, 120, model.config.block_size, temperature=t, generator=g)
    surprises[t] = surprise(model, seq)  # 120 new characters: the window holds only generated ones
    print(f"T={t}: surprise {surprises[t]:.2f} nats/char · {tok.decode(seq[0, prompt.shape[1]:].tolist())[:60]!r}")
assert surprises[0.3] < surprises[1.0] < surprises[1.6]
