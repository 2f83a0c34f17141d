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
# # 03 · Pre-LN vs Post-LN: where the LayerNorm goes
#
# A transformer block has two sublayers, attention and an MLP, each wrapped in a residual connection and a
# LayerNorm. *Where* the LayerNorm sits turns out to decide whether a deep model trains at all.
#
# * **Post-LN** (the 2017 Transformer, GPT-1, BERT): `x = LN(x + f(x))` — normalise *after* adding.
# * **Pre-LN** (GPT-2 and nearly every large model since): `x = x + f(LN(x))` — normalise only the sublayer's
#   *input*; the residual stream itself is never normalised inside the stack.
#
# **What you will see**: the two blocks in `gptlab`'s code; the gradient each layer receives at
# initialisation; training curves of a 12-layer model in both placements, with and without warm-up; and why
# GPT-2 needs one extra LayerNorm at the very end.

# %%
import inspect

import numpy as np
import torch

from gptlab import GPT, GPTConfig, plotting
from gptlab.data import char_split, play_script
from gptlab.model import Block
from gptlab.train import TrainConfig, Trainer

# These models are tiny: one thread runs them faster than two fighting over a busy laptop.
torch.set_num_threads(1)

# %% [markdown]
# ## 1. The two blocks, side by side
#
# In `gptlab` one switch, `GPTConfig(ln_placement="pre" | "post")`, chooses between them. This is the real
# code of the block (printed from the package, not copied):

# %%
print(inspect.getsource(Block.forward))

# %% [markdown]
# ```
#        Post-LN                                Pre-LN (GPT-2)
#   x ──┬──────────► (+) ─► LN ─► next     x ──┬──────────────────► (+) ─► next
#       └─► f ───────┘                         └─► LN ─► f ─────────┘
# ```
#
# Both placements have exactly the same parameters: only the order of operations differs. In Post-LN a
# block's output is always normalised; in Pre-LN the stream that runs from the embedding to the top is a plain
# sum, `x_L = x_0 + f_1 + f_2 + …`, which is what makes it easy for a gradient to reach every layer.

# %%
V = 65
pre = GPT(GPTConfig.from_preset("nano", vocab_size=V, ln_placement="pre"))
post = GPT(GPTConfig.from_preset("nano", vocab_size=V, ln_placement="post"))
shapes = lambda m: {k: tuple(v.shape) for k, v in m.state_dict().items()}
assert shapes(pre) == shapes(post)
print(f"same {len(shapes(pre))} tensors, same {sum(p.numel() for p in pre.parameters()):,} parameters")

# %% [markdown]
# ## 2. Real text
#
# The models below read *Hamlet* one character at a time: 90 % of the play to learn from, the last 10 % to
# measure on.

# %%
tok, train_ids, val_ids = char_split(play_script("hamlet"), val_fraction=0.1)
print(f"{len(train_ids) + len(val_ids):,} characters, vocabulary of {tok.vocab_size}")

# The loss of the best model that ignores context: the letter frequencies (the "unigram" of notebook 01).
freq = np.bincount(train_ids, minlength=tok.vocab_size) + 1.0
unigram_loss = float(-np.log(freq[val_ids] / freq.sum()).mean())
print(f"unigram loss on the held-out part: {unigram_loss:.3f}")

# %% [markdown]
# ## 3. Gradients at initialisation, layer by layer
#
# Take a 12-layer model, one batch, one backward pass, and measure the size (L2 norm) of the gradient on
# each layer's weight matrices (attention and MLP), in both placements.

# %%
DEPTH, WIDTH, CONTEXT = 12, 48, 32


def make_model(ln_placement, n_layer=DEPTH):
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=tok.vocab_size, block_size=CONTEXT, n_layer=n_layer, n_head=4, n_embd=WIDTH,
                       dropout=0.0, ln_placement=ln_placement)
    return GPT(config)


def layer_grad_norms(model, x, y):
    """L2 norm of the gradient of each block's matrices (attention and MLP), after one backward pass."""
    model.zero_grad()
    _, loss = model(x, y)
    loss.backward()
    return [
        torch.cat([p.grad.flatten() for name, p in block.named_parameters() if p.dim() == 2]).norm().item()
        for block in model.transformer.h
    ]


rng = np.random.default_rng(0)
starts = rng.integers(0, len(train_ids) - CONTEXT - 1, size=32)
batch = torch.from_numpy(np.stack([train_ids[s:s + CONTEXT + 1] for s in starts]).astype(np.int64))
x, y = batch[:, :-1], batch[:, 1:]
grad_norms = {ln: layer_grad_norms(make_model(ln), x, y) for ln in ("pre", "post")}
plotting.line_plot({f"{ln}-LN": g for ln, g in grad_norms.items()}, logy=True, marker="o",
                   title=f"Gradient norm per layer at initialisation ({DEPTH} layers)",
                   xlabel="layer", ylabel="‖∂loss/∂W‖ (attention + MLP matrices)")

# %% tags=["nbval-check-output"]
ratio = np.array(grad_norms["pre"]) / np.array(grad_norms["post"])
print(f"pre-LN gradients are {ratio.min():.0f}× to {ratio.max():.0f}× larger than post-LN's, layer by layer")
spread = {ln: max(g) / min(g) for ln, g in grad_norms.items()}
print(f"largest / smallest layer: pre {spread['pre']:.2f}, post {spread['post']:.2f}")
assert ratio.min() > 10

# %% [markdown]
# In Post-LN every sublayer's output is added to a stream that was just normalised to size ~1, and the sum is
# normalised again. GPT-2's initialisation makes each sublayer's output small (weights of std 0.02, output
# projections scaled down further by 1/√(2·layers)), so `LN(x + f(x)) ≈ LN(x)`: the loss barely depends on the
# sublayers, and their gradients are tiny. In Pre-LN the embedding enters the stream at the scale of the
# sublayer outputs, the final LayerNorm rescales the sum, and every layer's contribution counts from the first
# step.
#
# ## 4. Training at depth
#
# Now train. Each run uses the course's `Trainer` on the same batches in the same order, 120 steps of AdamW at
# a learning rate of 3·10⁻³ (high for a model this deep), either at once or after a 30-step linear warm-up.
# A 2-layer Post-LN model is trained as a control: is the trouble Post-LN itself, or Post-LN *at depth*?

# %%
STEPS, LR = 120, 3e-3


def train(ln_placement, warmup, n_layer=DEPTH):
    model = make_model(ln_placement, n_layer)
    config = TrainConfig(max_iters=STEPS, batch_size=16, block_size=CONTEXT, lr=LR, min_lr=LR, warmup_iters=warmup,
                         weight_decay=0.0, grad_clip=1.0, eval_interval=STEPS, eval_iters=8, log_interval=10,
                         seed=0, device="cpu")
    history = Trainer(model, train_ids, val_ids, config, progress=False).fit()
    steps = [r["iter"] for r in history if "train_loss" in r]
    losses = [r["train_loss"] for r in history if "train_loss" in r]
    return model, (steps, losses), history[-1]["val_loss"]


runs = {}
for warmup in (0, 30):
    for ln in ("pre", "post"):
        runs[f"{ln}-LN, {DEPTH} layers, warm-up {warmup}"] = train(ln, warmup)
runs["post-LN, 2 layers, warm-up 0"] = train("post", 0, n_layer=2)

# %%
styles = {name: {"color": "C0" if name.startswith("pre") else "C3" if "12" in name else "C2",
                 "linestyle": "--" if name.endswith("30") else "-", "linewidth": 2.5 if name.endswith("30") else 1.5}
          for name in runs}
plotting.loss_curves({name: curve for name, (_, curve, _) in runs.items()}, styles=styles,
                     reference={"unigram (letter frequencies)": unigram_loss},
                     title=f"Training at depth: lr {LR:g}, {STEPS} steps")

# %%
val = {name: v for name, (_, _, v) in runs.items()}
for name, v in val.items():
    print(f"{name:32s} held-out loss {v:.3f}")
deep_post = [v for name, v in val.items() if name.startswith("post-LN, 12")]
deep_pre = [v for name, v in val.items() if name.startswith("pre-LN, 12")]
# Deep Post-LN never gets past the letter frequencies, with or without warm-up ...
assert all(abs(v - unigram_loss) < 0.1 for v in deep_post)
# ... deep Pre-LN does, with or without warm-up ...
assert all(v < unigram_loss - 0.4 for v in deep_pre)
# ... and Post-LN itself is fine when shallow.
assert val["post-LN, 2 layers, warm-up 0"] < unigram_loss - 0.4

# %% [markdown]
# The deep Post-LN model learns the letter frequencies in the first steps and then stalls exactly at the
# unigram loss: it predicts (nearly) the same distribution whatever the context, as the check below shows.
# A short warm-up does not rescue it here (the original Transformer paired Post-LN with thousands of warm-up
# steps and a small learning rate for this reason). The same depth with Pre-LN trains at the same learning rate, warm-up or not, and warm-up
# helps it further. With 2 layers Post-LN trains too: the trouble grows with depth, which is why GPT-2, with
# 12 to 48 layers, moved the LayerNorm in front.

# %%
def context_spread(model):
    """Mean total-variation distance between each position's next-token distribution and their average:
    0 when the model predicts the same thing everywhere, whatever came before."""
    with torch.no_grad():
        p = model(x).softmax(-1).flatten(0, 1)  # (B*T, vocab)
    return 0.5 * (p - p.mean(0)).abs().sum(-1).mean().item()


spread_post = context_spread(runs[f"post-LN, {DEPTH} layers, warm-up 0"][0])
spread_pre = context_spread(runs[f"pre-LN, {DEPTH} layers, warm-up 0"][0])
print(f"how much the prediction depends on the context: post-LN {spread_post:.3f}, pre-LN {spread_pre:.3f}")
assert spread_post < 0.1 < spread_pre

# %% [markdown]
# ## 5. Why GPT-2 adds a final LayerNorm
#
# In Pre-LN nothing normalises the residual stream: each of the 2 × layers sublayers *adds* to it, so its
# size grows as it climbs the stack, and it differs from position to position. The LM head should not have to
# cope with that, so GPT-2 puts one last LayerNorm, `ln_f`, between the top block and the output layer. Post-LN
# does not need one: every block already ends with a LayerNorm (and `gptlab`'s Post-LN model skips `ln_f`).
# Here is the size (root mean square) of the stream after each block of the two trained 12-layer models:

# %%
def stream_rms(model, x):
    """RMS of the residual stream after each block, and after the final LayerNorm (pre-LN only)."""
    sizes = []
    hooks = [b.register_forward_hook(lambda m, i, out: sizes.append(out.pow(2).mean().sqrt().item()))
             for b in model.transformer.h]
    hooks.append(model.transformer.ln_f.register_forward_hook(
        lambda m, i, out: sizes.append(out.pow(2).mean().sqrt().item())))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return sizes


trained_pre = runs[f"pre-LN, {DEPTH} layers, warm-up 0"][0]
trained_post = runs[f"post-LN, {DEPTH} layers, warm-up 0"][0]
rms_pre, rms_post = stream_rms(trained_pre, x), stream_rms(trained_post, x)
plotting.line_plot({"pre-LN residual stream": rms_pre[:-1], "post-LN residual stream": rms_post},
                   reference={"pre-LN after the final LayerNorm ln_f": rms_pre[-1]}, marker="o",
                   title="Size of the residual stream after each block (trained models)",
                   xlabel="block", ylabel="RMS of the hidden state")

# %%
print(f"pre-LN stream:  {rms_pre[0]:.2f} after block 0 -> {rms_pre[DEPTH - 1]:.2f} after block {DEPTH - 1}; "
      f"ln_f brings it to {rms_pre[-1]:.2f}")
print(f"post-LN stream: between {min(rms_post):.2f} and {max(rms_post):.2f} after every block")
assert len(rms_post) == DEPTH  # the post-LN model never called ln_f
assert rms_pre[DEPTH - 1] > 2 * rms_pre[0]
assert max(abs(r - 1) for r in rms_post) < 0.5

# %% [markdown]
# And `ln_f` is really in the computation only for Pre-LN: changing its weights changes the pre-LN model's
# output and leaves the post-LN model's alone.

# %%
for model, used in ((trained_pre, True), (trained_post, False)):
    with torch.no_grad():
        before = model(x[:2])
        model.transformer.ln_f.weight.mul_(2.0)
        after = model(x[:2])
        model.transformer.ln_f.weight.div_(2.0)
    assert (not torch.equal(before, after)) == used
print("ln_f matters for pre-LN only")

# %% [markdown]
# **Summary.** Post-LN normalises after each residual addition; Pre-LN normalises only what goes into each
# sublayer and leaves the residual stream a plain sum. At initialisation a deep Post-LN model's layers get
# gradients more than ten times smaller, and at a learning rate Pre-LN handles easily a 12-layer
# Post-LN model stalls at the letter-frequency loss. Pre-LN pays for its un-normalised stream with one final
# LayerNorm before the output layer: GPT-2's `ln_f`.

# %% [markdown]
# ## Your turn
#
# Build it yourself in the exercise track (each exercise checks your code with `gptlab grade`):
# - [`exercises/02_layernorm_mlp.ipynb`](../exercises/02_layernorm_mlp.ipynb): LayerNorm and the GELU MLP.
# - [`exercises/05_block.ipynb`](../exercises/05_block.ipynb): a Pre-LN block with its residual connections.
