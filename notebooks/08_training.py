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
# Shakespeare, with the package's trainer, watching the loss fall as it goes. Then the same with GPT-2's
# tokenizer, the way GPT-2 itself was trained on WebText.
#
# **What you will see**
# 1. the data: 38 plays as one stream of tokens, a held-out part the model never trains on;
# 2. samples from the untrained model;
# 3. training with a progress bar and a live loss curve;
# 4. samples after training, the validation loss and its perplexity;
# 5. the BPE / WebText-style variant, small.
#
# The same training runs from a terminal: `python -m gptlab train` (see `--help`).

# %%
import math
import re

import numpy as np
import torch

from gptlab import GPT, GPTConfig
from gptlab.data import prepare
from gptlab.train import TrainConfig, Trainer
from gptlab.train import LiveLossPlot

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

from gptlab.data import BatchSampler

x, y = BatchSampler(data.val, 32, 64, seed=0).batch(0)  # (32, 64) each: 32 windows and their next characters
with torch.no_grad():
    _, untrained_loss = model(x, y)
print(f"untrained validation loss {untrained_loss.item():.3f}")
assert abs(untrained_loss.item() - math.log(tok.vocab_size)) < 0.3  # about a uniform guess

prompt = torch.tensor([tok.encode("\n")])
before = tok.decode(model.generate(prompt, 500, do_sample=True, seed=0)[0].tolist())
print(before[:300])

# %% [markdown]
# ## Training
#
# `Trainer` does the loop: random windows of 64 characters, AdamW, a learning rate that warms up and then
# follows a cosine, gradient clipping, and every `eval_interval` steps the loss on fixed held-out batches.
# `LiveLossPlot` is a callback that redraws the curve while training runs.

# %% tags=["nbval-ignore-output"]
train_config = TrainConfig(max_iters=200, batch_size=32, block_size=64, lr=3e-3, warmup_iters=30,
                           eval_interval=50, eval_iters=10, log_interval=10, seed=1337)
live = LiveLossPlot("Shakespeare, characters", every=5)
trainer = Trainer(model, data.train, data.val, train_config, callbacks=[live])
history = trainer.fit()

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
# ## After training
#
# The same prompt and seed as before. The text is not Shakespeare yet, but it has speakers, line breaks and words.
# We measure that: the share of the sampled words (in 500 characters) that occur somewhere in the training text.

# %%
after = tok.decode(model.generate(prompt, 500, do_sample=True, seed=0)[0].tolist())
print(after[:300])

vocabulary = set(re.findall(r"[A-Za-z']+", tok.decode(data.train[:1_000_000].tolist())))


def real_word_share(text):
    words = re.findall(r"[A-Za-z']+", text)
    return sum(w in vocabulary for w in words) / max(len(words), 1)


print(f"\nsampled words found in the training text: before {real_word_share(before):.0%}, "
      f"after {real_word_share(after):.0%}")
assert real_word_share(after) > real_word_share(before) + 0.05

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
assert chars_per_token > 3

# %% tags=["nbval-ignore-output"]
torch.manual_seed(0)
bpe_model = GPT(GPTConfig(vocab_size=50257, block_size=64, n_layer=2, n_head=2, n_embd=64, dropout=0.0))
bpe_trainer = Trainer(bpe_model, bpe.train, bpe.val,
                      TrainConfig(max_iters=60, batch_size=8, block_size=64, lr=3e-3, warmup_iters=10,
                                  eval_interval=30, eval_iters=5, log_interval=10, seed=0))
bpe_history = bpe_trainer.fit()

# %%
bpe_val = [r["val_loss"] for r in bpe_history if "val_loss" in r][-1]
counts = bpe_model.parameter_counts()
print(f"BPE model: {counts['total']:,} parameters, {counts['token_embedding'] / counts['total']:.0%} of them "
      f"the token embedding")
print(f"validation loss {bpe_val:.2f} nats per token (ln V = {math.log(50257):.2f}), "
      f"{bpe_val / math.log(2) / chars_per_token:.2f} bits per character; "
      f"the character model: {final_val / math.log(2):.2f} bits per character")
print(bpe.tokenizer.decode(bpe_model.generate(torch.tensor([[eot]]), 40, do_sample=True, seed=0)[0, 1:].tolist()))
assert bpe_val < math.log(50257) - 3
assert counts["token_embedding"] / counts["total"] > 0.9

# %% [markdown]
# Sixty steps only teach the BPE model which tokens are common; it would need far longer (and a larger model)
# to catch up with the character model, whose small vocabulary lets every parameter work on the text itself.
# That is the trade-off GPT-2 made at scale: with 124M+ parameters and 40 GB of text, the 38M-parameter
# embedding is a fair price for seeing four times more text per context.
#
# **Takeaways**
# - Training is a loop of next-token predictions on random windows; the held-out loss is the honest measure.
# - Perplexity = e^loss; it starts at V and falls to a handful of characters.
# - BPE packs documents with `<|endoftext|>`; it sees more text per context but spends most of a small model on
#   its embedding.

# %% [markdown]
# ## Your turn
#
# Build it yourself in the exercise track (each exercise checks your code with `gptlab grade`):
# - [`exercises/10_training.ipynb`](../exercises/10_training.ipynb): the training loop.
