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
# # 08 · Training a small GPT
#
# Everything so far used a model someone had trained. Here we train one: a character-level GPT on the plays of
# Shakespeare. First the training loop written out line by line, then the package's `Trainer`, which is that
# same loop packaged (with a progress bar, evaluation and checkpoints), watching the loss fall as it goes. Then
# the same with GPT-2's tokenizer, and a comparison with how GPT-2 itself was trained.
#
# **What you will see**
# 1. the data: 38 plays as one stream of tokens, a held-out part the model never trains on;
# 2. samples from the untrained model;
# 3. the training loop: AdamW with two parameter groups, warm-up then cosine, gradient clipping, gradient
#    accumulation — and a check that `Trainer` takes exactly the same steps;
# 4. training with a live loss curve; samples after training, validation loss, perplexity, bits per character;
# 5. the BPE / WebText-style variant, small, compared with the character model in bits per character;
# 6. GPT-2's published training set-up, and the compute of our run against GPT-2's (6·N·D).
#
# The same training runs from a terminal: `python -m gptlab train` (see `--help`).

# %%
import copy
import math
import re
import time

import numpy as np
import torch

from gptlab import GPT, GPTConfig, generate, load_shakespeare_char, plotting
from gptlab.data import BatchSampler, prepare
from gptlab.train import LiveLossPlot, TrainConfig, Trainer, learning_rate

data = prepare("shakespeare", "char")  # tokenised once, then cached on disk
tok = data.tokenizer
print(data)
print(repr(tok.decode(data.train[:200].tolist())))

# %% [markdown]
# The validation text is the *last plays* of the corpus, whole: the loss on it measures how well the model writes
# a play it has never seen, not how well it remembers lines.
#
# ## The model, before training
#
# Four layers, four heads, width 128, a context of 64 characters: about 0.8 million parameters. Untrained, every
# character is about equally likely, so the loss is close to ln V and a sample is noise.

# %%
torch.manual_seed(1337)
config = GPTConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0)
model = GPT(config)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters; ln V = {math.log(tok.vocab_size):.3f}")

x, y = BatchSampler(data.val, 32, 64, seed=0).batch(0)  # (32, 64) each: 32 windows and their next characters
with torch.no_grad():
    _, untrained_loss = model(x, y)
print(f"untrained validation loss {untrained_loss.item():.3f}")
assert abs(untrained_loss.item() - math.log(tok.vocab_size)) < 0.3  # about a uniform guess

prompt = torch.tensor([tok.encode("\n")])
before = tok.decode(generate(model, prompt, 500, do_sample=True, seed=0)[0].tolist())
print(before[:300])

# %% [markdown]
# ## The training loop, written out
#
# One optimisation step:
#
# 1. **the learning rate for this step**: a linear *warm-up* from almost 0 to `lr` over the first steps (Adam's
#    estimates of each gradient's scale start poor, so the first updates are kept small; notebook 03 shows a
#    deep Post-LN model that fails without it), then a *cosine* from `lr` down to `min_lr`, so the last steps
#    refine rather than jump;
# 2. **gradient accumulation**: run several micro-batches forward and backward before stepping, dividing each
#    loss by their number, so the gradients add up to those of one batch that many times larger — a big batch
#    with the memory of a small one;
# 3. **gradient clipping**: if the norm of the whole gradient exceeds 1, scale it down to 1, so one unlucky batch
#    cannot throw the model far;
# 4. **AdamW** with two parameter groups: weight decay (shrinking weights a little towards 0 at every step) on the
#    matrices — projections and embeddings — and none on biases and LayerNorm gains, where pulling towards 0
#    would only distort the normalisation.

# %%
def param_groups(model, weight_decay):
    params = [p for p in model.parameters() if p.requires_grad]  # a tied matrix is listed once
    return [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},  # matrices
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]  # biases, LayerNorm gains


def lr_at(step, lr, min_lr, warmup, total):
    if step < warmup:
        return lr * (step + 1) / warmup  # linear warm-up
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (lr - min_lr)  # cosine from lr to min_lr


def train_by_hand(model, tokens, *, steps, batch_size, seq_len, accum, lr, min_lr, warmup, weight_decay,
                  clip, seed):
    optimizer = torch.optim.AdamW(param_groups(model, weight_decay), lr=lr, betas=(0.9, 0.99))
    batches = BatchSampler(tokens, batch_size, seq_len, seed=seed)  # random windows, (B, T) each
    losses = []
    model.train()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, lr, min_lr, warmup, steps)
        total = 0.0
        for _ in range(accum):  # gradient accumulation: `accum` micro-batches make one step
            xb, yb = next(batches)
            _, loss = model(xb, yb)
            (loss / accum).backward()  # gradients add up across micro-batches
            total += loss.item() / accum
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)  # rescale the whole gradient to norm <= clip
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(total)
    return losses


# %% [markdown]
# `Trainer` is this loop, packaged. To check that it is *exactly* this loop, run both for 20 steps from the same
# starting weights, with accumulation over 2 micro-batches, and compare the weights they end with. (By default
# `Trainer` takes the loss a faster way, a chunk of positions at a time, which agrees with `F.cross_entropy` only
# up to float rounding; `fused_loss=False` makes it compute the very same numbers as the loop.)

# %%
LOOP = dict(steps=20, batch_size=16, seq_len=64, accum=2, lr=3e-3, min_lr=3e-4, warmup=5, weight_decay=0.1,
            clip=1.0, seed=7)
ours_model, packaged_model = copy.deepcopy(model), copy.deepcopy(model)
loop_losses = train_by_hand(ours_model, data.train, **LOOP)
packaged = TrainConfig(max_iters=LOOP["steps"], batch_size=16, seq_len=64, grad_accum=2, lr=3e-3, min_lr=3e-4,
                       warmup_iters=5, weight_decay=0.1, grad_clip=1.0, beta1=0.9, beta2=0.99, seed=7,
                       eval_interval=LOOP["steps"], eval_iters=1, log_interval=LOOP["steps"], device="cpu",
                       fused_loss=False)
Trainer(packaged_model, data.train, data.val, packaged, progress=False).fit()
schedule = [lr_at(i, 3e-3, 3e-4, 5, 20) for i in range(20)]
assert schedule == [learning_rate(i, packaged) for i in range(20)]  # the same learning-rate schedule
gap = max((a - b).abs().max().item() for a, b in zip(ours_model.parameters(), packaged_model.parameters()))
print(f"loss over the 20 hand-written steps: {loop_losses[0]:.3f} -> {loop_losses[-1]:.3f}; "
      f"largest weight difference from Trainer's run: {gap:.1e}")
assert gap < 1e-6
plotting.line_plot({"learning rate": schedule}, marker="o", title="Warm-up (5 steps), then cosine (15 steps)",
                   xlabel="step", ylabel="learning rate", figsize=(6, 3))

# %% [markdown]
# ## Training
#
# Now the real run, with `Trainer`: 200 steps on random windows of 64 characters, and every `eval_interval`
# steps the loss on fixed held-out batches. `LiveLossPlot` is a callback that redraws the curve while it runs.

# %% tags=["nbval-ignore-output"]
train_config = TrainConfig(max_iters=200, batch_size=32, seq_len=64, lr=3e-3, warmup_iters=30,
                           eval_interval=50, eval_iters=10, log_interval=10, seed=1337)
live = LiveLossPlot("Shakespeare, characters", every=5)
trainer = Trainer(model, data.train, data.val, train_config, callbacks=[live])
start = time.perf_counter()
history = trainer.fit()
train_seconds = time.perf_counter() - start

# %%
val = [(r["iter"], r["val_loss"]) for r in history if "val_loss" in r]
final_val = val[-1][1]
print("validation loss by step:", [(i, round(v, 3)) for i, v in val])
print(f"untrained {untrained_loss.item():.3f} (ln V = {math.log(tok.vocab_size):.3f}), "
      f"final validation loss {final_val:.3f}, perplexity {math.exp(final_val):.1f} (uniform guess: {tok.vocab_size})")
assert [v for _, v in val] == sorted((v for _, v in val), reverse=True)  # held-out loss falls at every evaluation
assert final_val < 2.6 and math.exp(final_val) < 14

# %% [markdown]
# **Perplexity** is e^loss: the number of equally likely characters the model is, on average, choosing between.
# A uniform guess has perplexity V; the trained model narrows each choice to a handful.
#
# **Bits per character** is the unit that compares *any* two models of the same text, whatever they predict
# (characters, BPE tokens, bytes): the loss in nats per token, divided by ln 2 (bits) and by the characters each
# token covers. For a character model that is just loss / ln 2. GPT-2's paper reports its results on enwik8 and
# text8 in this unit (notebook 07).
#
# ## After training
#
# The same prompt and seed as before. The text is not Shakespeare yet, but it has speakers, line breaks and words.
# We measure that: the share of the sampled words (in 500 characters) that occur somewhere in the training text.

# %%
after = tok.decode(generate(model, prompt, 500, do_sample=True, seed=0)[0].tolist())
print(after[:300])

vocabulary = set(re.findall(r"[A-Za-z']+", tok.decode(data.train[:1_000_000].tolist())))


def real_word_share(text):
    words = re.findall(r"[A-Za-z']+", text)
    return sum(w in vocabulary for w in words) / max(len(words), 1)


print(f"\nsampled words found in the training text: before {real_word_share(before):.0%}, "
      f"after {real_word_share(after):.0%}")
assert real_word_share(after) > real_word_share(before) + 0.05

# %% [markdown]
# ## Against the shipped model
#
# The package ships the same architecture trained with the same recipe for 1,500 steps instead of 200
# (`gptlab.load_shakespeare_char()`; it is what `gptlab train` makes with its defaults). Measured on the same
# held-out batches as our run:

# %%
shipped, shipped_tok = load_shakespeare_char()
assert shipped_tok.chars == tok.chars and shipped.config == model.config  # same characters, same architecture
eval_batches = [BatchSampler(data.val, 32, 64, seed=train_config.seed + 1).batch(i) for i in range(10)]


def held_out_loss(m):
    m.eval()
    with torch.no_grad():
        return sum(m(xb, yb)[1].item() for xb, yb in eval_batches) / len(eval_batches)


ours_bpc, shipped_bpc = held_out_loss(model) / math.log(2), held_out_loss(shipped) / math.log(2)
print(f"bits per character on the held-out plays: ours (200 steps) {ours_bpc:.2f}, shipped (1,500 steps) "
      f"{shipped_bpc:.2f}; uniform guess {math.log2(tok.vocab_size):.2f}")
assert abs(ours_bpc - final_val / math.log(2)) < 1e-3  # the same batches the trainer evaluated on
assert shipped_bpc < ours_bpc - 0.5

# %% [markdown]
# ## The BPE / WebText-style variant
#
# GPT-2 was trained on WebText: millions of documents, tokenised with byte-pair encoding, packed end to end with
# `<|endoftext|>` (id 50256) after each document, so the model learns where a text ends. `prepare(...,
# "gpt2")` packs the plays the same way. Each BPE token covers several characters, so the same context holds more
# text; the price is a 50,257-row embedding and output layer, which dominate a small model.

# %%
bpe = prepare("shakespeare", "gpt2")
eot = 50256
n_docs = int((np.asarray(bpe.train) == eot).sum() + (np.asarray(bpe.val) == eot).sum())
chars_per_token = data.meta["n_train"] / bpe.meta["n_train"]
print(bpe)
print(f"{n_docs} documents, each followed by <|endoftext|>; {chars_per_token:.2f} characters per BPE token")
assert n_docs == 38
assert 3 < chars_per_token < 3.5

# %% tags=["nbval-ignore-output"]
torch.manual_seed(0)
bpe_model = GPT(GPTConfig(vocab_size=50257, block_size=64, n_layer=2, n_head=2, n_embd=64, dropout=0.0))
bpe_trainer = Trainer(bpe_model, bpe.train, bpe.val,
                      TrainConfig(max_iters=60, batch_size=8, seq_len=64, lr=3e-3, warmup_iters=10,
                                  eval_interval=30, eval_iters=5, log_interval=10, seed=0))
bpe_history = bpe_trainer.fit()

# %%
bpe_val = [r["val_loss"] for r in bpe_history if "val_loss" in r][-1]
bpe_bpc = bpe_val / math.log(2) / chars_per_token
counts = bpe_model.parameter_counts()
print(f"BPE model: {counts['total']:,} parameters, {counts['token_embedding'] / counts['total']:.0%} of them "
      f"the token embedding")
print(f"validation loss {bpe_val:.2f} nats per token (ln V = {math.log(50257):.2f}) = {bpe_bpc:.2f} bits per character")
print(f"bits per character: BPE model (60 steps of 8 × 64 tokens) {bpe_bpc:.2f}, "
      f"character model (200 steps of 32 × 64 characters) {ours_bpc:.2f}, shipped character model {shipped_bpc:.2f}")
print(bpe.tokenizer.decode(generate(bpe_model, torch.tensor([[eot]]), 40, do_sample=True, seed=0)[0, 1:].tolist()))
assert bpe_val < math.log(50257) - 3
assert counts["token_embedding"] / counts["total"] > 0.9
assert bpe_bpc < ours_bpc  # per character, the short BPE run is already ahead ...
assert shipped_bpc < bpe_bpc  # ... and the longer-trained character model is ahead of both

# %% [markdown]
# Per character, the BPE model is already ahead of the character model after 60 small steps: each of its
# predictions covers more than three characters, and much of what a character model must still learn —
# spelling whole words — is already in the BPE vocabulary, so its early loss falls fast. Both are far behind the
# shipped character model, which simply trained longer. That is the trade-off GPT-2 made at scale: a
# 50,257-row embedding is a large share of a small model (below: 31 % of GPT-2 small), but each context of
# 1,024 tokens holds several times more text than 1,024 characters would.
#
# ## How GPT-2 was trained, and how much compute that is
#
# What the GPT-2 paper (Radford et al. 2019, *Language Models are Unsupervised Multitask Learners*) says about
# training:
#
# | | GPT-2 |
# |---|---|
# | data | WebText: the text of 45 million outbound Reddit links with at least 3 karma; after de-duplication and cleaning, slightly over 8 million documents, 40 GB of text; Wikipedia removed |
# | tokenizer | byte-level BPE, vocabulary 50,257 |
# | context | 1,024 tokens (GPT-1: 512) |
# | batch | 512 sequences (so 512 × 1,024 = 524,288 tokens per step) |
# | sizes | 117 M / 345 M / 762 M / 1,542 M parameters (12 / 24 / 36 / 48 layers, width 768 / 1,024 / 1,280 / 1,600) — the counts the paper gives; with the real checkpoints' tensors they are 124 M / 355 M / 774 M / 1,558 M (notebook 07) |
# | learning rates | not given as numbers: "manually tuned for the best perplexity on a 5 % held-out sample of WebText", one per size |
# | optimiser, schedule, steps | not stated (GPT-1, which GPT-2 "largely follows", used Adam, a 2,000-step linear warm-up to 2.5·10⁻⁴ and a cosine decay) |
# | how long | not stated; the paper notes that "all models still underfit WebText" |
#
# **Compute.** Training a transformer costs about **6·N·D** floating-point operations: N parameters, D training
# tokens, 2·N per token for the forward pass (a multiply and an add per weight) and twice that for the backward
# pass. (The attention scores add 6·layers·T·width per token, small at these sizes.) N counts the weights used in
# matrix products: all parameters except the position embedding, which is only looked up. For GPT-2 the paper
# gives no D; one pass over 40 GB of WebText at the bytes per token we measured on Shakespeare is an estimate
# of it, not a figure the paper states.

# %%
def flop_estimate(model_or_counts, tokens):
    counts = model_or_counts if isinstance(model_or_counts, dict) else model_or_counts.parameter_counts()
    return 6 * (counts["total"] - counts["position_embedding"]) * tokens


from gptlab.params import count_parameters

ours_tokens = train_config.max_iters * train_config.batch_size * train_config.seq_len
ours_flops = flop_estimate(model, ours_tokens)
webtext_tokens = 40e9 / chars_per_token  # one pass over 40 GB (the plays are ASCII: one byte per character)
gpt2_flops = flop_estimate(count_parameters(GPTConfig.from_preset("gpt2-xl")), webtext_tokens)
print(f"our run: N = {model.parameter_counts()['total'] - model.parameter_counts()['position_embedding']:,}, "
      f"D = {ours_tokens:,} tokens -> 6·N·D = {ours_flops:.1e} FLOPs")
print(f"GPT-2 1.5B, one pass over WebText (~{webtext_tokens:.1e} tokens, estimated): {gpt2_flops:.1e} FLOPs, "
      f"{gpt2_flops / ours_flops:.0e} times ours")
assert 1e11 < ours_flops < 1e13 and 1e19 < gpt2_flops < 1e21
small = count_parameters(GPTConfig.from_preset("gpt2"))
print(f"GPT-2 small: token embedding {small['token_embedding']:,} of {small['total']:,} parameters "
      f"({small['token_embedding'] / small['total']:.0%})")
assert round(100 * small["token_embedding"] / small["total"]) == 31

# %% tags=["nbval-ignore-output"]
print(f"our run took {train_seconds:.0f} s here: {ours_flops / train_seconds / 1e9:.1f} GFLOP/s of useful work; "
      f"at that rate one pass of GPT-2 1.5B over WebText would take {gpt2_flops / (ours_flops / train_seconds) / 3.15e7:,.0f} years")

# %% [markdown]
# **Takeaways**
# - Training is a loop: learning rate for the step, forward and backward over (accumulated) micro-batches,
#   clip, AdamW step. `Trainer` is exactly that loop, plus evaluation, logging and checkpoints.
# - The held-out loss is the honest measure; perplexity = e^loss; bits per character compare models whatever
#   their tokens.
# - BPE packs documents with `<|endoftext|>`, sees more text per context, and spends most of a small model on its
#   embedding; per character it still learns fast.
# - Compute ≈ 6·N·D: our run is about 10¹², one pass of GPT-2 1.5B over WebText about 10²⁰.

# %% [markdown]
# ## Your turn
#
# Build it yourself in the exercise track (each exercise checks your code with `gptlab grade`):
# - [`exercises/10_training.ipynb`](../exercises/10_training.ipynb): the training loop.
