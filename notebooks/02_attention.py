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
# # 02 · Causal self-attention and the mask
#
# Attention is how a position gathers information from other positions. In a GPT it has one rule on top:
# a position may look at itself and the past, **never the future**, because the future is what it is being
# trained to predict (notebook 01). This notebook builds causal self-attention step by step on a real
# sentence, checks the result against PyTorch's fused kernel and against the model, proves that no position
# can see the future, and looks inside a trained model.

# %%
import math

import torch
import torch.nn.functional as F

from gptlab import GPT, GPTConfig, causal_mask, plotting
from gptlab.tokenizers import BPETokenizer

torch.manual_seed(0)

# %% [markdown]
# ## 1. Queries, keys and scores: QKᵀ/√d
#
# Every position's vector x is turned into three vectors by learned matrices: a **query** q ("what am I
# looking for?"), a **key** k ("what do I contain?") and a **value** v ("what do I pass on if chosen"). The
# score of position i for position j is the dot product qᵢ·kⱼ: large when they match.
#
# We take a real sentence, cut into GPT-2 tokens, and a small GPT with GPT-2's vocabulary (random weights for
# now: the mechanics do not depend on training). In `gptlab` one projection, `c_attn`, makes q, k and v at once.

# %%
bpe = BPETokenizer()
sentence = "To be, or not to be, that is the question"
idx = torch.tensor([bpe.encode(sentence)])  # (1, T)
tokens = bpe.token_strings(idx[0].tolist())
T = len(tokens)
print(T, "tokens:", tokens)

model = GPT(GPTConfig.from_preset("nano", vocab_size=bpe.vocab_size)).eval()
n_head, C = model.config.n_head, model.config.n_embd
hs = C // n_head  # the size of one head: d in QKᵀ/√d
block = model.transformer.h[0]
with torch.no_grad():
    x = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(T))  # (1, T, C)
    q, k, v = block.attn.c_attn(block.ln_1(x)).split(C, dim=2)  # (1, T, C) each
print(f"x {tuple(x.shape)} -> q, k, v {tuple(q.shape)} each; {n_head} heads of {hs} dimensions")

# %% [markdown]
# Why divide by √d? If the entries of q and k are independent with variance 1, their dot product is a sum of
# d such products, so its variance is d: scores grow with the head size, and a softmax of large scores is
# nearly one-hot, with almost no gradient. Dividing by √d brings the spread back to 1 whatever d is:

# %% tags=["nbval-check-output"]
gen = torch.Generator().manual_seed(0)
for d in (16, 64, 256, 1024):
    a, b = torch.randn(20_000, d, generator=gen), torch.randn(20_000, d, generator=gen)
    dots = (a * b).sum(-1)
    print(f"d = {d:4d}: std of q·k = {dots.std():6.2f}, of q·k/√d = {(dots / math.sqrt(d)).std():.3f}")
    assert abs(dots.std() / math.sqrt(d) - 1) < 0.03

# %% [markdown]
# For the first head, the scores of all pairs of positions form a T × T matrix:

# %%
head = lambda t: t.view(1, T, n_head, hs).transpose(1, 2)  # (1, T, C) -> (1, nh, T, hs)
Q, K, Vv = head(q), head(k), head(v)
scores = Q @ K.transpose(-2, -1) / math.sqrt(hs)  # (1, nh, T, T)
plotting.attention_heatmap(scores[0, 0], tokens, title="Scores QKᵀ/√d of head 0 (no mask yet)", cmap="RdBu_r", colorbar_label="score",
                           annotate=False)

# %% [markdown]
# ## 2. The causal mask
#
# Position i may only look at positions j ≤ i. As a table for our sentence (rows: the query, the token doing
# the looking; columns: the key, the token looked at), drawn from `gptlab.causal_mask`, the one function the
# model uses to decide:

# %%
allowed = causal_mask(T, T)  # (T, T) booleans: True = may attend
plotting.causal_mask_table(tokens, title=f"The causal mask for “{sentence}”")
assert torch.equal(allowed, torch.ones(T, T, dtype=torch.bool).tril())  # lower triangle, diagonal included

# %% [markdown]
# The mask is applied to the *scores*: every forbidden entry (the upper triangle) becomes −∞, so that after the
# softmax it gets weight exactly e^−∞ = 0.

# %%
masked = scores.masked_fill(~allowed, float("-inf"))  # (1, nh, T, T)
plotting.attention_heatmap(masked[0, 0, :8, :8], tokens[:8], title="Masked scores of head 0 (first 8 tokens)", colorbar_label="score",
                           cmap="RdBu_r")

# %% [markdown]
# ## 3. Softmax, row by row
#
# Each row (one query) is turned into a probability distribution over the keys it may see. Row 0 can only
# see itself, so it puts all its weight there; row i spreads weight over i + 1 positions.

# %%
weights = masked.softmax(dim=-1)  # (1, nh, T, T)
plotting.attention_heatmap(weights[0, 0], tokens, title="Attention weights of head 0: softmax of each row")

# %% tags=["nbval-check-output"]
rows = weights[0, 0]
print("each row sums to 1:", torch.allclose(rows.sum(-1), torch.ones(T)))
print("the future gets weight exactly 0:", bool((rows.triu(1) == 0).all()))
print("row 0 looks only at itself:", rows[0].tolist()[:4], "...")
assert torch.allclose(rows.sum(-1), torch.ones(T)) and bool((rows.triu(1) == 0).all()) and rows[0, 0] == 1

# %% [markdown]
# This model is untrained, and it shows: every row spreads its weight almost evenly, about 1 / (i + 1) on each
# of the i + 1 positions it may see. Training is what makes rows pick out particular tokens (section 6).

# %%
uniform = allowed / allowed.sum(-1, keepdim=True)  # 1 / (i + 1) on each visible position
print(f"largest distance from the even spread: {(rows - uniform).abs().max():.3f}")
assert (rows - uniform).abs().max() < 0.05

# %% [markdown]
# The output of each position is the weighted average of the values it may see: `weights @ V`.
#
# ## 4. Many heads
#
# One softmax can only express one pattern of looking per position. So the C dimensions are split into
# `n_head` independent heads of `C / n_head` dimensions each. Every head has its own scores and weights; their
# outputs are put back side by side and mixed by one more matrix, `c_proj`. The whole layer, written out:

# %%
def causal_self_attention(x, attn, n_head, causal=True):
    """Multi-head causal self-attention the long way: the same computation as ``gptlab.model``."""
    B, T, C = x.shape
    hs = C // n_head
    q, k, v = attn.c_attn(x).split(C, dim=2)
    q, k, v = (t.view(B, T, n_head, hs).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
    scores = q @ k.transpose(-2, -1) / math.sqrt(hs)  # (B, nh, T, T)
    if causal:
        scores = scores.masked_fill(~causal_mask(T, T), float("-inf"))
    y = scores.softmax(dim=-1) @ v  # (B, nh, T, hs)
    y = y.transpose(1, 2).reshape(B, T, C)  # the heads side by side again
    return attn.c_proj(y)  # (B, T, C)


with torch.no_grad():
    h = block.ln_1(x)
    ours = causal_self_attention(h, block.attn, n_head)
    theirs = block.attn(h)  # the model's own layer (fused kernel by default)
    fused = F.scaled_dot_product_attention(Q, K, Vv, is_causal=True)  # PyTorch's kernel, one call
    by_hand = weights @ Vv  # the weights we built in sections 1-3
print(f"largest difference, ours vs the model's layer: {(ours - theirs).abs().max():.1e}")
print(f"largest difference, weights @ V vs scaled_dot_product_attention: {(by_hand - fused).abs().max():.1e}")
assert torch.allclose(ours, theirs, atol=1e-6) and torch.allclose(by_hand, fused, atol=1e-6)

# %% [markdown]
# `gptlab` has both versions behind a switch, `attn_impl="explicit"` (the one above, which can hand out its
# weights) or `"sdpa"` (PyTorch's fused kernel, faster). The whole model gives the same logits with either:

# %%
explicit = GPT(model.config.replace(attn_impl="explicit")).eval()
explicit.load_state_dict(model.state_dict())
with torch.no_grad():
    difference = (explicit(idx) - model(idx)).abs().max().item()
print(f"largest logit difference, explicit vs sdpa: {difference:.1e}")
assert difference < 1e-4

# %% [markdown]
# ## 5. The leak test: no position sees the future
#
# The claim "position t cannot see position t + 1" can be tested directly: change the token at t + 1 and
# check that every output at positions ≤ t stays exactly what it was, while position t + 1 changes. We do it
# for every t, on the whole model (all layers), and for contrast on the same attention with the mask left out.

# %%
def leaks(forward, idx, vocab_size):
    """Positions t for which changing token t + 1 changed an output at a position <= t."""
    found = []
    with torch.no_grad():
        base = forward(idx)
        for t in range(idx.shape[1] - 1):
            changed = idx.clone()
            changed[0, t + 1] = (changed[0, t + 1] + 1) % vocab_size
            out = forward(changed)
            if not torch.allclose(out[:, : t + 1], base[:, : t + 1], atol=1e-6):
                found.append(t)
            assert not torch.allclose(out[:, t + 1], base[:, t + 1])  # the changed position itself does change
    return found


embed = lambda i: model.transformer.wte(i) + model.transformer.wpe(torch.arange(i.shape[1]))
print("GPT, all layers:          leaks at", leaks(model, idx, bpe.vocab_size))
print("attention with the mask:  leaks at", leaks(lambda i: causal_self_attention(embed(i), block.attn, n_head), idx, bpe.vocab_size))
unmasked = leaks(lambda i: causal_self_attention(embed(i), block.attn, n_head, causal=False), idx, bpe.vocab_size)
print("attention without a mask: leaks at", unmasked)
assert leaks(model, idx, bpe.vocab_size) == [] and unmasked == list(range(T - 1))

# %% [markdown]
# ## 6. Inside a trained model
#
# The course ships a small GPT trained on the Shakespeare plays one character at a time (`gptlab.assets`;
# notebook 08 shows how it was made). Its attention maps for a line of *Hamlet*, every head of every layer,
# computed the explicit way by `model.attention_maps`:

# %%
from gptlab.assets import load_shakespeare_char
from gptlab.widgets import AttentionExplorer

trained, chars = load_shakespeare_char()
line = "HAMLET:\nTo be, or not to be, that is the question:"
ids = torch.tensor([chars.encode(line)])  # (1, T)
letters = chars.token_strings(ids[0].tolist())
maps = torch.stack([m[0] for m in trained.attention_maps(ids)])  # (n_layer, n_head, T, T)
n_layer, n_head_t, T_line, _ = maps.shape
print(f"{n_layer} layers × {n_head_t} heads, {T_line} characters")
assert bool((maps.triu(1) == 0).all())  # trained or not, no weight ever lands on the future
plotting.attention_heads(maps, letters, title=f"Every head of the trained model on “{line[8:]}”",
                         head_titles=[f"layer {l}, head {h}" for l in range(n_layer) for h in range(n_head_t)])

# %% [markdown]
# Unlike the untrained rows of section 3, trained rows are sharp: many heads put most of their weight on one
# or two characters. The average entropy of a row (0 when all weight is on one key, ln(i + 1) when it is
# spread evenly) measures it; a model of the same shape with random weights is the comparison.

# %%
def mean_row_entropy(maps):
    """Entropy of each attention row (a distribution over keys), averaged; row 0 is left out (always 0)."""
    return -(maps * maps.clamp_min(1e-12).log()).sum(-1)[..., 1:].mean().item()


torch.manual_seed(0)
untrained = GPT(trained.config).eval()
random_maps = torch.stack([m[0] for m in untrained.attention_maps(ids)])
sharp, spread = mean_row_entropy(maps), mean_row_entropy(random_maps)
print(f"mean row entropy: trained {sharp:.2f} nats, untrained {spread:.2f} nats")
assert sharp < spread - 0.5

# %% [markdown]
# One pattern is easy to name. To predict the next letter, the most useful thing besides the current letter is
# the one just before it, and the model has heads that learned to look one position back. The head that does
# it most, on our line (the bright line just below the diagonal):

# %%
previous = maps.diagonal(offset=-1, dim1=-2, dim2=-1).mean(-1)  # (n_layer, n_head): mean weight on position t-1
even = random_maps.diagonal(offset=-1, dim1=-2, dim2=-1).mean().item()  # what an untrained head gives it
layer, h = divmod(int(previous.argmax()), n_head_t)
print(f"layer {layer}, head {h} puts {previous[layer, h]:.0%} of its weight on the previous character on average; "
      f"an untrained head puts {even:.0%} there")
plotting.attention_heatmap(maps[layer, h, :24, :24], letters[:24], annotate=False,
                           title=f"Trained layer {layer}, head {h}: looking one character back")
assert previous[layer, h] > 0.5 and previous[layer, h] > 3 * even  # most of its weight, one step back

# %% [markdown]
# Choose a layer, a head (or all heads) and a query character below, or type a line of your own: the red shading
# is where that character looks (the darker, the more weight), and the grey text after it is what the causal mask
# hides from it.

# %% tags=["nbval-ignore-output"]
explorer = AttentionExplorer(trained, chars, line, layer=layer, head=h)
explorer

# %%
shown = explorer.set(query=20)["heads"][0]
print(shown["line"])
assert torch.allclose(torch.tensor(shown["weights"]), maps[layer, h, 20, :21], atol=1e-6)
assert shown["future"] == 0.0  # nothing after the query

# %% [markdown]
# **Summary.** Causal self-attention scores every pair of positions with QKᵀ/√d, sets the future's scores to −∞,
# and turns each row into weights with a softmax; heads do this in parallel on slices of the vector. Our explicit
# version equals PyTorch's fused kernel and the model's own layer, the leak test proves that no output depends on
# a later token, and a trained model's heads show what the mechanism is used for, such as looking one character
# back. Next: where the LayerNorms go, and why it matters for deep models (notebook 03).

# %% [markdown]
# ## Your turn
#
# Build it yourself in the exercise track (each exercise checks your code with `gptlab grade`):
# - [`exercises/04_attention.ipynb`](../exercises/04_attention.ipynb): causal self-attention with its mask and heads.
