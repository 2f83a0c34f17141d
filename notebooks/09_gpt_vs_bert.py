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
# # 09 · GPT vs BERT: one mask apart
#
# BERT (2018) and GPT are built from the same transformer block. The difference is which positions may look
# at which, and, following from it, what the model is trained to predict:
#
# - **GPT** (causal): position t sees positions 0..t and predicts token t+1. It can write text left to right.
# - **BERT** (bidirectional): every position sees every other. Predicting the next token would be cheating (it is
#   in plain view), so BERT hides some tokens behind a `[MASK]` and predicts those: masked language modelling.
#
# **What you will see**
# 1. the two attention masks side by side, and what that means for information flow;
# 2. the two objectives on real text, and how many positions each one learns from;
# 3. two tiny models trained the same way, one of each kind: the causal one writes, the bidirectional one fills
#    blanks better.
#
# (BERT also differs in details that do not matter here: post-LN blocks, a sentence-pair objective, segment
# embeddings. We keep our GPT block and change only the mask.)

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from gptlab import GPT, GPTConfig, causal_mask, generate, plotting
from gptlab.data import BatchSampler, prepare
from gptlab.model import CausalSelfAttention
from gptlab.tokenizers import BPETokenizer

# %% [markdown]
# ## 1. The masks
#
# Row i is a query, column j a key; ✓ means position i may use position j. GPT's mask is the lower triangle
# (built by `causal_mask`, the function the model itself uses); BERT's is full.

# %%
bpe = BPETokenizer()
sentence = "The cat sat on the mat because it was warm."
tokens = bpe.token_strings(bpe.encode(sentence))
T = len(tokens)
causal = causal_mask(T, T)
bidirectional = torch.ones(T, T, dtype=torch.bool)
fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
plotting.causal_mask_table(tokens, ax=left, title=f"GPT (causal): {int(causal.sum())} of {T * T} pairs")
plotting.causal_mask_table(tokens, ax=right, allowed=bidirectional,
                           title=f"BERT (bidirectional): {int(bidirectional.sum())} of {T * T} pairs")
fig.tight_layout()
plt.show()
assert int(causal.sum()) == T * (T + 1) // 2 and int(bidirectional.sum()) == T * T

# %% [markdown]
# To build the bidirectional model we take our GPT and replace one thing: attention without a mask. Everything
# else (embeddings, MLPs, layer norms, weights) is the same code.

# %%
class BidirectionalSelfAttention(CausalSelfAttention):
    """Our attention with the mask removed: every query sees every key (BERT's encoder)."""

    def forward(self, x, mask=None, **kwargs):  # the model hands every layer its causal mask: not used here
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, self.head_dim).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v)  # no attn_mask: nothing is hidden
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(B, T, C)))


def make_bidirectional(model):
    """Turn a GPT into a bidirectional encoder in place: same weights, attention without the causal mask."""
    for block in model.transformer.h:
        block.attn.__class__ = BidirectionalSelfAttention
    return model


# %% [markdown]
# What the masks mean, measured: change the *last* token and see which outputs move. In GPT only the last
# position changes (earlier positions cannot see it); in the bidirectional model every position changes.

# %%
torch.manual_seed(0)
cfg = GPTConfig(vocab_size=bpe.vocab_size, block_size=32, n_layer=2, n_head=2, n_embd=32, dropout=0.0)
gpt_demo = GPT(cfg).eval()
bert_demo = make_bidirectional(GPT(cfg)).eval()
bert_demo.load_state_dict(gpt_demo.state_dict())  # the very same weights
idx = torch.tensor([bpe.encode(sentence)])
changed = idx.clone()
changed[0, -1] = bpe.encode("!")[0]  # the last token, the full stop, becomes "!"
assert bpe.decode(changed[0].tolist()) == "The cat sat on the mat because it was warm!"
with torch.no_grad():
    moved_gpt = (gpt_demo(idx) - gpt_demo(changed)).abs().amax(-1)[0] > 1e-6  # (T,) did position t change?
    moved_bert = (bert_demo(idx) - bert_demo(changed)).abs().amax(-1)[0] > 1e-6
print(f"positions whose output changed: GPT {int(moved_gpt.sum())} of {T}, bidirectional {int(moved_bert.sum())} of {T}")
assert moved_gpt.tolist() == [False] * (T - 1) + [True] and bool(moved_bert.all())

# %% [markdown]
# ## 2. The objectives, and who learns from which position
#
# **Causal LM** (GPT): the target at position t is token t+1, so every position of every sequence is a
# training signal.
#
# **Masked LM** (BERT): pick 15 % of the positions at random. Of those, 80 % are replaced by `[MASK]`, 10 % by
# a random token and 10 % are left as they are; the model must predict the original token at all of them (the
# random and unchanged ones keep it from learning that only `[MASK]` positions matter). The other 85 % give no
# signal: their target is ignored (−100, the value cross-entropy skips).
#
# On Shakespeare, characters as tokens (a `[MASK]` character is added as one more id):

# %%
data = prepare("shakespeare", "char")
chars = data.tokenizer
V = chars.vocab_size
MASK = V  # one id past the last character


def mask_tokens(ids, generator, p=0.15):
    """BERT's masking: returns (inputs, targets); targets are -100 where there is nothing to predict."""
    chosen = torch.rand(ids.shape, generator=generator) < p  # the 15 % to predict
    roll = torch.rand(ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[chosen & (roll < 0.8)] = MASK  # 80 %: [MASK]
    random_slots = chosen & (roll >= 0.8) & (roll < 0.9)  # 10 %: a random token
    inputs[random_slots] = torch.randint(0, V, (int(random_slots.sum()),), generator=generator)
    return inputs, torch.where(chosen, ids, -100)  # the last 10 % stay as they are, but are still predicted


# %% tags=["nbval-check-output"]
x, y = BatchSampler(data.train, 64, 128, seed=0).batch(0)  # (64, 128) windows of text and next characters
inputs, targets = mask_tokens(x, torch.Generator().manual_seed(0))
chosen = targets != -100
n = x.numel()
print(f"{n:,} positions in a batch of 64 x 128 characters")
print(f"  causal LM: {int((y != -100).sum()):,} positions with a target (100%)")
print(f"  masked LM: {int(chosen.sum()):,} positions with a target ({chosen.float().mean():.1%})")
print(f"    of those: [MASK] {(inputs[chosen] == MASK).float().mean():.1%}, "
      f"unchanged {(inputs[chosen] == x[chosen]).float().mean():.1%}, "
      f"other token {((inputs[chosen] != MASK) & (inputs[chosen] != x[chosen])).float().mean():.1%}")
assert abs(chosen.float().mean() - 0.15) < 0.01
assert abs((inputs[chosen] == MASK).float().mean() - 0.8) < 0.02
assert (inputs[~chosen] == x[~chosen]).all()  # positions without a target are never altered

# %% [markdown]
# One line of it, as the two models see it (`_` is `[MASK]`, targets underneath):

# %% tags=["nbval-check-output"]
row = 3
def show(ids):
    return "".join("_" if i == MASK else chars.decode([i]) for i in ids).replace("\n", "\u21b5")


print("text:        ", show(x[row, :60].tolist()))
print("BERT input:  ", show(inputs[row, :60].tolist()))
print("BERT targets:", "".join(chars.decode([int(t)]).replace("\n", "\u21b5") if t != -100 else " "
                               for t in targets[row, :60]))
print("GPT targets: ", show(y[row, :60].tolist()), "(every position: the next character)")

# %% [markdown]
# Six to seven times more training signal per batch for GPT. BERT pays that price for seeing both sides.
#
# ## 3. What each is good at: two tiny models
#
# We train two identical small models (3 layers, width 48, windows of 16 characters) on the same batches for the
# same number of steps: one causal with next-character prediction, one bidirectional with masked-LM. Then we ask
# both to guess a hidden character at every position of held-out windows:
# - GPT can only use the characters *before* the blank (it predicts the next character);
# - BERT sees the window with `[MASK]` in the blank, both sides.
#
# At the last position there is nothing to the right: that is exactly the situation of writing text.

# %% tags=["nbval-ignore-output"]
steps, batch, window = 600, 128, 16
config = GPTConfig(vocab_size=V + 1, block_size=window, n_layer=3, n_head=4, n_embd=48, dropout=0.0)
torch.manual_seed(0)
gpt = GPT(config)
torch.manual_seed(0)
bert = make_bidirectional(GPT(config))
curves = {}
for name, model in (("GPT, causal LM", gpt), ("BERT, masked LM", bert)):
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    sampler, masking = BatchSampler(data.train, batch, window, seed=0), torch.Generator().manual_seed(0)
    losses = []
    for step in range(steps):
        x, y = next(sampler)
        if model is bert:
            x, y = mask_tokens(x, masking)
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    curves[name] = losses
plotting.loss_curves(curves, title="Training loss: causal LM vs masked LM (same model, same batches)")

# %%
gpt.eval()
bert.eval()
held_out = BatchSampler(data.val, 2000, window, seed=1).batch(0)[0]  # (2000, 16) windows of unseen plays
with torch.no_grad():
    # GPT: the prediction for position p comes from positions 0..p-1
    gpt_acc = (gpt(held_out)[:, :-1].argmax(-1) == held_out[:, 1:]).float().mean(0)  # (15,) for p = 1..15
    bert_acc = []
    for p in range(1, window):
        blanked = held_out.clone()
        blanked[:, p] = MASK
        bert_acc.append((bert(blanked)[:, p].argmax(-1) == held_out[:, p]).float().mean())
    bert_acc = torch.stack(bert_acc)
positions = list(range(1, window))
plotting.line_plot({"GPT (left side only)": (positions, gpt_acc), "BERT (both sides)": (positions, bert_acc)},
                   title="Guessing a hidden character, by its position in a 16-character window",
                   xlabel="position of the blank", ylabel="accuracy on held-out plays", marker="o")
print(f"blank near the start (positions 1-2): GPT {gpt_acc[:2].mean():.1%}, BERT {bert_acc[:2].mean():.1%}")
print(f"blank at the end (position {window - 1}, writing): GPT {gpt_acc[-1]:.1%}, BERT {bert_acc[-1]:.1%}")
print(f"average over positions 1-{window - 2}: GPT {gpt_acc[:-1].mean():.1%}, BERT {bert_acc[:-1].mean():.1%}")
assert bert_acc[:2].mean() > gpt_acc[:2].mean() + 0.05  # with little left context, the right side helps
assert gpt_acc[-1] > bert_acc[-1] + 0.05  # with no right context, the causal model predicts better

# %% [markdown]
# The picture has both halves of the story:
# - **BERT fills blanks better where the right side carries information**: near the start of a window GPT has
#   almost nothing to go on, BERT reads the rest. This is why encoders like BERT were the models of choice for
#   understanding tasks (classification, tagging, extractive question answering), where the whole input is
#   given.
# - **GPT predicts the next character better**: at the end, where nothing follows, BERT has never practised
#   (it rarely saw a blank with no right context) and it learnt from 15 % of the positions, GPT from all of them.
#   And only GPT's predictions chain into text, one token after another:

# %%
prompt = torch.tensor([chars.encode("ROMEO:\n")])
sample = generate(gpt, prompt, 150, do_sample=True, top_k=10, seed=0)[0]  # top-k 10 never reaches the [MASK] id
print(chars.decode(sample.tolist()))
assert len(sample) == prompt.shape[1] + 150 and int(sample.max()) < V

# %% [markdown]
# **Takeaways**
# - GPT and BERT differ in one mask: causal (lower triangle) or none.
# - The mask decides the objective: next-token prediction for GPT (a signal at every position), masked-LM for
#   BERT (15 % of positions, 80/10/10 masking).
# - Seeing both sides makes BERT better at filling blanks; predicting from the left makes GPT the one that writes.

# %% [markdown]
# ## Your turn
#
# Build it yourself in the exercise track (each exercise checks your code with `gptlab grade`):
# - [`exercises/11_gpt_vs_bert.ipynb`](../exercises/11_gpt_vs_bert.ipynb): causal and bidirectional masks, causal-LM and masked-LM targets.
