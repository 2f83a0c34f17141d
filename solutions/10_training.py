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
# # Exercise 10 · The training loop
#
# **Goal:** write the loop that trains a GPT: AdamW with weight decay on the right parameters, a learning
# rate that warms up and then follows a cosine, gradient accumulation and clipping, and a held-out loss
# measured without dropout. Then train a GPT on Hamlet, one character at a time, on a CPU, and sample from it.
#
# **Difficulty:** ★★☆ · **Importance:** 🔵🔵🔵🔵🔵 · **Expected time:** 50 minutes
#
# Follows course notebook 08 (Training).
#
# The model is the `GPT` of exercise 06: the course's by default; the cell after the imports can use yours.

# %%
import math
import os

import torch
import torch.nn as nn

from gptlab import GPTConfig
from gptlab.checks import check_evaluate, check_lr_schedule, check_param_groups, check_train_step
from gptlab.data import BatchSampler, char_split, play_script
from gptlab.exercises import own_pieces
from gptlab.model import GPT

# %% [markdown]
# To train your own `GPT` from exercise 06 (saved as `06_gpt.ipynb` beside this notebook), set
# `USE_MY_PIECES = True`.

# %%
USE_MY_PIECES = False
if USE_MY_PIECES:
    GPT = own_pieces({"GPT": ("06_gpt", GPT)})["GPT"]

# %% [markdown]
# ## 1. Which parameters decay
#
# AdamW's weight decay pulls every weight a little towards 0 at each step (Loshchilov & Hutter 2019: decay
# applied to the weights directly, not added to the gradient). It is meant for the weights that *scale*
# their inputs. `param_groups(model, weight_decay)` returns two AdamW groups:
#
# - `{"params": [...], "weight_decay": weight_decay}`: every 2-D tensor, i.e. the projection matrices and
#   the embeddings (the tied head is the token embedding, listed once);
# - `{"params": [...], "weight_decay": 0.0}`: the biases and the LayerNorm gains and shifts (1-D tensors).
#   Decaying a LayerNorm gain would pull the normalised activations towards 0.
#
# This is GPT-1's rule ("w = 0.01 on all non bias or gain weights", Radford et al. 2018) and nanoGPT's
# (every tensor with 2 or more dimensions). minGPT also exempts the embeddings; both choices are in use,
# and this exercise follows GPT-1 and nanoGPT, as `gptlab.train` does.

# %% nbgrader={"grade": false, "grade_id": "groups_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    ### BEGIN SOLUTION
    params = [p for p in model.parameters() if p.requires_grad]  # a tied Parameter appears once
    return [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "groups_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_param_groups(param_groups)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
torch.manual_seed(10)
_m = GPT(GPTConfig.from_preset("nano", vocab_size=30, tie_weights=False))
_names = {id(p): n for n, p in _m.named_parameters()}
with unavailable("gptlab.train.make_optimizer"):
    _groups = param_groups(_m, 0.05)
record("decay", sorted(f"{_names[id(p)]}={float(g['weight_decay'])}" for g in _groups for p in g["params"]))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNql0t1KhUAUhuF7Wcc2zFqwT4SuJEImHXNq/GGckhDvPbfRLoIO/NaRiL58Mj4rNb52H1Su5PIYqWR/Zy8FpePGGmstF/Tu4pu/
vhOy72cqH1Z6DUNDJc050e05xb7qvGvM4sNzl+/3/EJb8c/LOblhbsfU+2Q6Y43LeTB1dVyegpuvOVZr5qc0vuDzRw3Nx6FiYPfI
fgZPhYLtCbTXx2k/n7YGNm8pdLBfNfhbf8XAOKtMs9Y0q0yz1jRjphk1zZhpRk0zbppVplljmpWmRWVatKZFZVq0pgUzLahpwUwL
alpw06IyLRrTojK9H1V7cvJIzp7uMvnzH7fkP9Fj8R3FMGfatu0Tg7g7KA==
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The learning-rate schedule
#
# `lr_at(step, max_lr, min_lr, warmup_steps, max_steps)` for steps counted from 0:
#
# - warm-up: `max_lr * (step + 1) / warmup_steps` for `step < warmup_steps`, so that step 0 already
#   learns and step `warmup_steps - 1` reaches `max_lr`;
# - then a cosine from `max_lr` down to `min_lr`: with `progress = (step - warmup_steps) / (max_steps - warmup_steps)`,
#   `min_lr + (max_lr - min_lr) * (1 + cos(pi * progress)) / 2`;
# - `min_lr` from `max_steps` on.
#
# Warm-up keeps the first steps small while AdamW's moment estimates are still poor; GPT-2's predecessors
# trained with exactly this shape (GPT-1: linear warm-up over 2000 updates, then cosine annealing), and
# nanoGPT decays to a floor of a tenth of the peak, as here.

# %% nbgrader={"grade": false, "grade_id": "schedule_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lr_at(step: int, max_lr: float, min_lr: float, warmup_steps: int, max_steps: int) -> float:
    ### BEGIN SOLUTION
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (max_lr - min_lr)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "schedule_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_lr_schedule(lr_at)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
with unavailable("gptlab.train.learning_rate"):
    _lrs = [float(lr_at(s, 6e-4, 6e-5, 7, 50)) for s in range(0, 60)]
record("lrs", _lrs, atol=1e-10, rtol=1e-7)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNrtlruOE1EMht/l1GHk67GdV1ltMdIGERFYtBloorw7jshCm79AoqCb0fiT7/7nMk5v57G/jHV7PY09Hz4w7cbb+wvFbvxYT98P
N5PjdvjStk+X8bJuaz/k4sEm6dGW/rwbn49fX8Z+fDy9rtvYjfOn9VuTT8/X3W+GFiLiO8YAI+++AEZ/eTEFmDsiBTB+T8cAZv4l
W6+SqOCAmGCRICjnUjeyhPxkugtPgRjhNDUotjALJkH64dPNVSHEnaOMkTF20yAjh0qgTJmW2EiG3TYAGX0nCe7dRMatB4CJi5Ax
sKDpmoXUoHtj7iaQH3WvlEBOk3X+EdgqaDspIUZqrVHtq5DQ1MuVRJD2aMc2qQxibqlUTyrCdOVmRSCMJJUnJBwyOSgKOjrSt1lE
ChIbMWuVEii2HmozD2QKOEtt9nZD4ilZXTrIjzeUkkh7WtNaS2oiteYOjdmhi8itB+VlUA367khLw4NbWou5zdnH4PEflf658c4m
vB5nYonkFhKaCMMtVqlAaHOZ1reAlRFGMkIKCW0uFNJrqgYw/03/edM/307H8zau1+tPpDR+PA==
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. One optimizer step
#
# `train_step(model, optimizer, micro_batches, grad_clip)` makes one update from a list of micro-batches
# `[(x, y), ...]` (each `(B, T)`), as if they were one batch of their total size:
#
# 1. clear the gradients left by the previous step (`optimizer.zero_grad()`);
# 2. for each micro-batch, `_, loss = model(x, y)` and `(loss / n).backward()`: gradients add up in
#    `.grad`, so dividing by the number of micro-batches `n` makes their sum the gradient of the *mean* loss;
# 3. clip the gradient's total norm to `grad_clip` (`torch.nn.utils.clip_grad_norm_`), after the last
#    backward and before the update: one unusual batch then cannot throw the weights far;
# 4. `optimizer.step()`; return the mean loss over the micro-batches as a float.

# %% nbgrader={"grade": false, "grade_id": "step_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, micro_batches: list, grad_clip: float) -> float:
    ### BEGIN SOLUTION
    optimizer.zero_grad(set_to_none=True)
    total = 0.0
    for x, y in micro_batches:
        _, loss = model(x, y)
        (loss / len(micro_batches)).backward()
        total += loss.item()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return total / len(micro_batches)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "step_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_train_step(train_step)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
torch.manual_seed(3)
_m = GPT(GPTConfig(vocab_size=25, block_size=12, n_layer=1, n_head=2, n_embd=16, dropout=0.0))
_opt = torch.optim.SGD(_m.parameters(), lr=0.5)
_g = torch.Generator().manual_seed(3)
_losses = []
with unavailable("gptlab.train.Trainer"):
    for _ in range(3):
        _micro = [(torch.randint(0, 25, (2, 12), generator=_g), torch.randint(0, 25, (2, 12), generator=_g)) for _ in range(2)]
        _losses.append(float(train_step(_m, _opt, _micro, 0.3)))
record("losses", _losses, atol=1e-4)
record("wte", _m.transformer.wte.weight[:3], atol=1e-5)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqVUsuOE0EM/Jc+TyK/7d5fWeUQaYOICASRWThE+XdqpkcKHBYJaQ5xXHY93Pd2ud5up1t7ubfjfL20F9oTEU/tx1/Vz+Pl/bSA
zvPpK9Cv9/Z2nI/4oXthK7eUw9S+nL+9tZf26XI9zm1qt8/H75h6PTymP/Ei6hT/AWfzqH/hn73L+Ta3x2Nqv+bT0xSfduQfetqo
8D9LdRMxm3ZL1U21SnhCIZxkHOyjleTe03VUzF6hmSuQDHOZshRUzFokxivQqMrV+4ozfOE2cF07UimNpVKLjpW+wjKyOHKT5Ead
dFXE2Jbdc2gQkuLM0SKcQ6lnxJR7j57VqyODmHaxh1pBoGskCxmlMFwOAgkrS9ro4FhxK5caTfcwEK4+TcCd4Fi1cBFEm67ssCjR
vduWB/diHzjsUIS8bkAQJik9xpAtMfJgoiWeLhE6gmPRRKy87ucOvXAgW/jQ7hoDSFH4UrJvdhxxGWIddghvT5O2yIydcOLR88C1
nEk3nYUkaFC4Gtfz2gl6nGiToiCXkYii7sGDTAsD1DfmwhDGatzU0EI59lkIzis5XhYtx4BC8o8fvE4ch8fj8RtJZtuK
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. The held-out loss
#
# `evaluate(model, batches)` returns the mean loss over `batches`, measured the way the model will be used:
# in eval mode (dropout off: `model.eval()`), without building a graph (`torch.no_grad()`); then it puts the
# model back in training mode (`model.train()`) for the steps that follow.

# %% nbgrader={"grade": false, "grade_id": "evaluate_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def evaluate(model: nn.Module, batches: list) -> float:
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        losses = [model(x, y)[1].item() for x, y in batches]
    model.train()
    return sum(losses) / len(losses)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "evaluate_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_evaluate(evaluate)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
torch.manual_seed(4)
_m = GPT(GPTConfig(vocab_size=25, block_size=12, n_layer=1, n_head=2, n_embd=16, dropout=0.3)).train()
_g = torch.Generator().manual_seed(4)
_val = [(torch.randint(0, 25, (3, 12), generator=_g), torch.randint(0, 25, (3, 12), generator=_g)) for _ in range(3)]
with unavailable("gptlab.train.Trainer"):
    record("val", float(evaluate(_m, _val)), atol=1e-5)
record("back_in_training", _m.training)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqVzMEKgzAQhOF3mXMqGyUH8yoistbUBkMi6dqL5N1rvRSPPQ588+8Y+b4MPg6S2UcfZ9gdLCnAancjo5DPQRURaYU3h819zcTC
sJ3kzfUKi48TLMZ0WIXXk9cDdX0p5+PPZlPVtdFtY37hR0gs13L5ANX1OhA=
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Train a GPT on Hamlet
#
# Everything together: Hamlet as characters (90 % to train on, the last 10 % held out), a small GPT,
# AdamW on your groups, your schedule, two micro-batches per step, the held-out loss every 50 steps.
# Guessing uniformly among the characters costs ln V ≈ 4.1 nats per character; the run below must end
# with a held-out loss under 2.45 (it takes well under a minute on a laptop CPU). Under the grader, which gives
# each cell a minute, it runs only a few steps.

# %%
GRADING = os.environ.get("GPTLAB_GRADING") == "1"
torch.set_num_threads(1)  # a model this small runs no faster on more threads, which only wait for each other
tok, train_ids, val_ids = char_split(play_script("hamlet"), val_fraction=0.1)
torch.manual_seed(1337)
config = GPTConfig.from_preset("nano", vocab_size=tok.vocab_size, block_size=32, dropout=0.0)
model = GPT(config).train()
optimizer = torch.optim.AdamW(param_groups(model, 0.1), lr=3e-3, betas=(0.9, 0.99))
MAX_STEPS, WARMUP, ACCUM, EVAL_EVERY = (20, 5, 2, 10) if GRADING else (400, 40, 2, 100)
train_batches = BatchSampler(train_ids, batch_size=8, seq_len=32, seed=0)
val_batches = [BatchSampler(val_ids, batch_size=16, seq_len=32, seed=1).batch(i) for i in range(8)]

history = [(0, evaluate(model, val_batches))]
for step in range(MAX_STEPS):
    for group in optimizer.param_groups:
        group["lr"] = lr_at(step, 3e-3, 3e-4, WARMUP, MAX_STEPS)
    loss = train_step(model, optimizer, [next(train_batches) for _ in range(ACCUM)], grad_clip=1.0)
    if (step + 1) % EVAL_EVERY == 0:
        history.append((step + 1, evaluate(model, val_batches)))
        print(f"step {step + 1:>4}: train {loss:.3f}, held-out {history[-1][1]:.3f}")
print(f"uniform guess: ln V = {math.log(tok.vocab_size):.3f}")
assert history[-1][1] < history[0][1] - 0.5  # from about ln V
if not GRADING:
    assert history[-1][1] < 2.45, f"held-out loss {history[-1][1]:.3f}"

# %% [markdown]
# ## 6. Sample from it
#
# The model continues a prompt one character at a time (exercise 08 writes this loop properly, with its
# samplers): the spelling is not Shakespeare's yet, but the shape of a play script already shows.

# %%
@torch.no_grad()
def sample(model, prompt: str, n: int, temperature: float = 0.8, seed: int = 0) -> str:
    g = torch.Generator().manual_seed(seed)
    idx = torch.tensor([tok.encode(prompt)])
    model.eval()
    for _ in range(n):
        logits = model(idx[:, -config.block_size:])[:, -1, :] / temperature  # (1, V)
        idx = torch.cat([idx, torch.multinomial(torch.softmax(logits, -1), 1, generator=g)], dim=1)
    model.train()
    return tok.decode(idx[0].tolist())


text = sample(model, "HAMLET.\n", 200)
print(text)
assert text.startswith("HAMLET.\n") and len(text) == len("HAMLET.\n") + 200
