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
# # 05 · Generation strategies
#
# A trained GPT gives a probability to every possible next token; it does not say which one to write. That is
# the decoder's choice, and it changes the text more than you might expect. This notebook uses the small
# character-level Shakespeare model that ships with the course.
#
# **What you will see**
# 1. greedy decoding (always the most likely token) and how it repeats itself;
# 2. sampling, and the knobs that reshape the distribution first: temperature, top-k, top-p, min-p;
# 3. the repetition penalty and beam search;
# 4. an explorer: a prompt, sliders that redraw the next-token distribution, greedy / sampling / beam search
#    side by side, and a generation stepped through one token at a time;
# 5. diversity and likelihood of the text against temperature, measured.

# %%
import math

import matplotlib.pyplot as plt
import torch

from gptlab import plotting
from gptlab.assets import load_shakespeare_char
from gptlab.generation import generate
from gptlab.sampling import kept_mask, next_token_probs
from gptlab.widgets import GenerationExplorer, entropy_nats

model, tok = load_shakespeare_char()
n_params = sum(p.numel() for p in model.parameters())
print(f"{n_params:,} parameters, {tok.vocab_size} characters, context {model.config.block_size}")

prompt = "ROMEO:\nI will "
ids = torch.tensor([tok.encode(prompt)])  # (1, T)


def continuation(out):
    """The generated text only (the prompt cut off) of a (1, T + n) result."""
    return tok.decode(out[0, ids.shape[1]:].tolist())


def distinct_n(texts, n=2):
    """Distinct word n-grams / all word n-grams over ``texts``: 1.0 never repeats, low values loop."""
    grams = [tuple(words[i:i + n]) for t in texts for words in [t.split()] for i in range(len(words) - n + 1)]
    return len(set(grams)) / max(len(grams), 1)


# %% [markdown]
# ## 1. Greedy decoding
#
# Greedy decoding takes the single most likely token every time. It is deterministic, and it is the most likely
# choice *one step at a time*, but a small model soon lands in a loop: once a phrase is the most likely
# continuation of itself, greedy decoding repeats it forever.

# %% tags=["nbval-check-output"]
greedy = continuation(generate(model, ids, 200))
print(prompt + greedy)

# %%
def longest_repeat(text):
    """The longest substring that occurs at least twice (its second occurrence may overlap the first)."""
    best = ""
    for length in range(1, len(text)):
        seen, found = set(), None
        for i in range(len(text) - length + 1):
            piece = text[i:i + length]
            if piece in seen:
                found = piece
                break
            seen.add(piece)
        if found is None:
            break
        best = found
    return best


sampled = [continuation(generate(model, ids, 200, do_sample=True, seed=s)) for s in range(3)]
repeat_greedy = longest_repeat(greedy)
repeat_sampled = max(len(longest_repeat(t)) for t in sampled)
print(f"longest repeated passage: greedy {len(repeat_greedy)} characters ({repeat_greedy[:60]!r}...), "
      f"sampled at most {repeat_sampled}")
print(f"distinct word bigrams: greedy {distinct_n([greedy]):.2f}, sampled {distinct_n(sampled):.2f}")
assert len(repeat_greedy) > 2 * repeat_sampled
assert distinct_n([greedy]) < distinct_n(sampled)

# %% [markdown]
# ### The decoding loop, written out
#
# `generate` is a loop: run the model on the tokens so far, take the logits at the *last* position, turn them
# into one next token (here greedily: the largest), append it, repeat. When the sequence is longer than the
# model's context (`block_size` = 64 characters here), it can only see a window: this loop, like `generate`,
# **slides** the window, feeding the last 64 tokens at every step. (The other choice, **cropping** — stopping,
# or dropping the prompt's start once — is what you do when the text must stay whole; sliding keeps writing, but
# each step forgets the oldest token.) Written out, it gives exactly `generate`'s tokens, far past the context:

# %%
def greedy_loop(model, ids, max_new_tokens):
    context = model.config.block_size
    for _ in range(max_new_tokens):
        window = ids[:, -context:]  # (1, <= block_size): slide when the sequence outgrew the context
        with torch.no_grad():
            logits = model(window)[:, -1, :]  # (1, V): the scores for the next token only
        next_id = logits.argmax(dim=-1, keepdim=True)  # (1, 1); sampling would draw from softmax(logits / T)
        ids = torch.cat([ids, next_id], dim=1)  # (1, T + 1)
    return ids


looped = greedy_loop(model, ids, 100)
assert looped.shape[1] > model.config.block_size  # the text outgrew the context ...
assert torch.equal(looped, generate(model, ids, 100))  # ... and the loop is generate, token for token
print(f"{looped.shape[1]} tokens, context {model.config.block_size}: same tokens as generate")

# %% [markdown]
# ## 2. Sampling and the knobs that reshape the distribution
#
# Sampling draws the next token from the model's distribution, so each run differs (a seed makes it repeatable).
# Four settings reshape the distribution before the draw, all implemented by `next_token_probs` (and applied in
# this order, the same as HuggingFace's):
#
# - **temperature** τ divides the logits: p ∝ exp(z / τ). Below 1 sharpens, above 1 flattens.
# - **top-k** keeps the k most likely tokens.
# - **top-p** (nucleus) keeps the smallest set of most likely tokens whose probabilities add up to *at least* p (the token that
#   crosses p is kept).
# - **min-p** keeps tokens at least `min_p` times as likely as the best one.
#
# Here is the distribution of the character after our prompt at three temperatures.

# %%
with torch.no_grad():
    logits = model(ids, last_only=True)[0, -1]  # (V,)
labels = tok.token_strings(range(tok.vocab_size))
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
entropies = {}
for ax, t in zip(axes, (0.5, 1.0, 2.0)):
    probs = next_token_probs(logits, temperature=t)
    entropies[t] = entropy_nats(probs)
    plotting.distribution_bars(labels, probs, top=15, ax=ax,
                               title=f"temperature {t}: entropy {entropies[t]:.2f} nats")
fig.suptitle(f"The next character after {prompt!r}")
fig.tight_layout()
plt.show()
assert entropies[0.5] < entropies[1.0] < entropies[2.0]

# %% tags=["nbval-check-output"]
probs = next_token_probs(logits)
print("tokens kept by each setting (of", tok.vocab_size, "):")
kept_k = {k: int(kept_mask(logits, top_k=k).sum()) for k in (1, 5, 20)}
kept_p = {p: int(kept_mask(logits, top_p=p).sum()) for p in (0.5, 0.9, 0.99)}
kept_min = {m: int(kept_mask(logits, min_p=m).sum()) for m in (0.5, 0.1, 0.01)}
for name, kept in (("top-k", kept_k), ("top-p", kept_p), ("min-p", kept_min)):
    print(f"  {name}: " + ", ".join(f"{v} -> {n}" for v, n in kept.items()))
assert list(kept_k.values()) == [1, 5, 20]
assert kept_p[0.5] <= kept_p[0.9] <= kept_p[0.99] and kept_min[0.5] <= kept_min[0.1] <= kept_min[0.01]
# min-p keeps exactly the tokens at least min_p times as likely as the best one
assert kept_min[0.1] == int((probs >= 0.1 * probs.max()).sum())

# %% [markdown]
# Top-p adapts to the model's confidence: after a confident context a few tokens make up 90 % of the mass,
# after an open one many do. Top-k keeps the same number either way. A mid-word position versus the start of a
# new line shows it:

# %%
def kept_at(text, **settings):
    with torch.no_grad():
        z = model(torch.tensor([tok.encode(text)]), last_only=True)[0, -1]
    return int(kept_mask(z, **settings).sum())


confident, open_ended = "ROMEO:\nWhat light through yonder wind", "ROMEO:\n"
for text in (confident, open_ended):
    print(f"{text!r:45} top-p 0.9 keeps {kept_at(text, top_p=0.9):2d} tokens, top-k 10 keeps {kept_at(text, top_k=10)}")
assert kept_at(confident, top_p=0.9) < kept_at(open_ended, top_p=0.9)

# %% [markdown]
# Samples with a few settings (each seeded, so they can be reproduced):

# %% tags=["nbval-check-output"]
for settings in (dict(temperature=1.0), dict(temperature=0.6), dict(temperature=1.0, top_k=10),
                 dict(temperature=1.0, top_p=0.9), dict(temperature=1.0, min_p=0.1)):
    text = continuation(generate(model, ids, 120, do_sample=True, seed=0, **settings))
    print(f"--- {settings}\n{prompt}{text}\n")

# %% [markdown]
# ## 3. Repetition penalty and beam search
#
# The **repetition penalty** lowers the logit of every token that already occurs in the text. The CTRL paper
# (Keskar et al. 2019) proposed dividing each such logit by the penalty — which *raises* a negative logit's
# probability; the rule used here, and by HuggingFace's `repetition_penalty`, is HuggingFace's variant: a
# positive logit is divided by the penalty, a negative one multiplied, so the token always becomes less likely. With characters this is a blunt
# tool (every letter soon "occurs"), but it does break greedy decoding's loops.

# %% tags=["nbval-check-output"]
penalised = continuation(generate(model, ids, 200, repetition_penalty=1.3))
print(prompt + penalised)
print(f"\nlongest repeat: greedy {len(longest_repeat(greedy))}, with penalty 1.3 {len(longest_repeat(penalised))}")
assert len(longest_repeat(penalised)) < len(longest_repeat(greedy))

# %% [markdown]
# **Beam search** keeps the `num_beams` most likely partial texts at every step instead of one, so it can take a
# less likely token now for a more likely text later. Here it finds a text the model rates higher than greedy's;
# that is common but not a law (beam search is still an approximate search, and pruning can drop the path greedy
# took). Likely text is what you want for translation, and usually *not* for open-ended writing, where the most
# likely text is dull. We score each continuation under the model: the total log-probability of its
# characters (prompt and continuation together fill the model's 64-character context).

# %%
def log_likelihood(full):
    """Sum of log P(token | everything before) over the generated part of ``full`` (1, T + n)."""
    with torch.no_grad():
        logp = torch.log_softmax(model(full[:, :-1]), dim=-1)  # (1, T + n - 1, V)
    picked = logp[0].gather(1, full[0, 1:, None])[:, 0]  # log P of each actual next token
    return float(picked[ids.shape[1] - 1:].sum())


n_new = model.config.block_size - ids.shape[1]
candidates = {
    "greedy": generate(model, ids, n_new),
    "beam search, 4 beams": generate(model, ids, n_new, num_beams=4),
    "sampling, temperature 1": generate(model, ids, n_new, do_sample=True, seed=0),
}
scores = {name: log_likelihood(out) for name, out in candidates.items()}
for name, out in candidates.items():
    print(f"{name:25} log-likelihood {scores[name]:8.2f}   {continuation(out)!r}")
assert scores["beam search, 4 beams"] >= scores["greedy"] > scores["sampling, temperature 1"]

# %% [markdown]
# ## 4. Try it: the generation explorer
#
# The bars are the 20 most likely next characters after the prompt: the dashed outline is the distribution
# after the repetition penalty and temperature only, coloured bars are the tokens top-k, top-p and min-p keep
# (grey ones are removed), and the line below gives the size of the kept set, the top probability and the
# entropy of what is chosen from. Below them, greedy decoding, sampling and beam search each continue the
# prompt with these settings, with the log-probability the model gives their text. (top-k 0, top-p 1.0, min-p 0
# and penalty 1.0 mean "off".)
#
# Move the sliders and watch the kept set and the three texts change, then press **next token** a few times to
# write one character at a time, and switch the strategy to see how each one chooses.

# %%
# The prompt ends after a speech, where the next speaker's name begins: many next characters are plausible,
# so top-p has a real choice to make.
EXPLORER_PROMPT = "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n\n"
kept_by_p = {p: kept_at(EXPLORER_PROMPT, top_p=p) for p in (1.0, 0.9, 0.75, 0.5)}
print("tokens top-p keeps after the explorer's prompt:", kept_by_p)
assert kept_by_p[1.0] == tok.vocab_size and kept_by_p[0.9] > kept_by_p[0.75] > kept_by_p[0.5] > 2

# %% tags=["nbval-ignore-output"]
explorer = GenerationExplorer(model, tok, EXPLORER_PROMPT, bars=20, max_new_tokens=60)
explorer

# %% [markdown]
# The explorer keeps what it shows in `explorer.state`, so it can be checked like any other result: stepping
# greedily writes greedy decoding's text, one most likely character at a time, and top-p 0.5 keeps the tokens
# `kept_mask` keeps.

# %%
explorer.set(strategy="greedy")
for _ in range(8):
    explorer.step()
steps = explorer.state["steps"]
print(f"8 greedy steps: {explorer.state['generated']!r}, running log-probability "
      f"{explorer.state['running_log_prob']:.2f} nats")
assert explorer.state["generated"] == explorer.state["continuations"]["greedy"]["text"][:8]
assert all(s["probability"] == 1.0 for s in steps)  # greedy: the one token kept
half = explorer.set(strategy="sample", top_p=0.5)["kept"]
explorer.set(top_p=1.0)  # back to "off"
assert half == kept_by_p[0.5]

# %% [markdown]
# ## 5. Diversity and likelihood against temperature
#
# For each temperature we sample 8 continuations of 100 characters and measure
# - **diversity**: distinct word bigrams (distinct-2), pooled over the 8 samples;
# - **likelihood**: the mean log-probability per character that the model (at temperature 1) gives the text.
#
# Low temperatures give likely but repetitive text, high ones diverse text the model itself finds unlikely
# (misspelt words, broken lines).

# %%
temperatures = [0.25, 0.5, 1.0, 1.5]
diversity, likelihood = [], []
batch = ids.repeat(8, 1)  # (8, T): the same prompt eight times, each row sampled independently
for t in temperatures:
    step_logits = []  # generate appends each step's raw logits (8, V): the model's own distribution
    out = generate(model, batch, 100, do_sample=True, temperature=t, seed=0, logits_out=step_logits)
    texts = [tok.decode(row[ids.shape[1]:].tolist()) for row in out]
    logp = torch.log_softmax(torch.stack(step_logits, dim=1), dim=-1)  # (8, 100, V)
    per_token = logp.gather(2, out[:, ids.shape[1]:, None])[..., 0]  # (8, 100): log P of each sampled token
    diversity.append(distinct_n(texts))
    likelihood.append(float(per_token.mean()))

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
plotting.line_plot({"distinct-2": (temperatures, diversity)}, title="Diversity rises with temperature",
                   xlabel="temperature", ylabel="distinct word bigrams", marker="o", ax=left)
plotting.line_plot({"log-likelihood": (temperatures, likelihood)}, title="Likelihood falls with temperature",
                   xlabel="temperature", ylabel="mean log P per character (nats)", marker="o", ax=right)
fig.tight_layout()
plt.show()
assert diversity[-1] > diversity[0] and likelihood[0] > likelihood[-1]
assert likelihood == sorted(likelihood, reverse=True)

# %% [markdown]
# **Takeaways**
# - Greedy decoding (and beam search, even more) finds likely text, and likely text from a small model loops.
# - Sampling trades likelihood for diversity; temperature, top-k, top-p and min-p choose where on that curve to be.
# - top-p and min-p adapt to the model's confidence; top-k does not.

# %% [markdown]
# ## Your turn
#
# Build it yourself in the exercise track (each exercise checks your code with `gptlab grade`):
# - [`exercises/08_generation.ipynb`](../exercises/08_generation.ipynb): the decoding loop and the samplers.
