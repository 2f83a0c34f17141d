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
# LayerNorm. *Where* the LayerNorm sits decides whether a deep model can be trained at a high learning rate
# from the first step, or needs its learning rate warmed up.
#
# * **Post-LN** (the 2017 Transformer, GPT-1, BERT): `x = LN(x + f(x))` — normalise *after* adding.
# * **Pre-LN** (GPT-2 and nearly every large model since): `x = x + f(LN(x))` — normalise only the sublayer's
#   *input*; the residual stream itself is never normalised inside the stack.
#
# **What you will see**: LayerNorm, written out; the parts of a GPT-2 block (the residual stream, the MLP and
# its GELU, dropout) and a drawing of the whole; the gradient each layer receives at initialisation, for both
# placements and two initialisations; a 12-layer Post-LN model that fails at a high learning rate without
# warm-up and trains with it, beside Pre-LN that needs none; and why GPT-2 ends with one extra LayerNorm.
# The account follows Xiong et al. 2020, *On Layer Normalization in the Transformer Architecture*
# ([arXiv:2002.04745](https://arxiv.org/abs/2002.04745)).

# %%
import inspect
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from gptlab import GPT, GPTConfig, plotting
from gptlab.data import char_split, play_script
from gptlab.model import MLP, Block, Projection
from gptlab.train import TrainConfig, Trainer

# These models are tiny: one thread runs them faster than two fighting over a busy laptop.
torch.set_num_threads(1)

# %% [markdown]
# ## 1. LayerNorm
#
# LayerNorm works on one token's vector x of C numbers at a time: subtract their mean, divide by their standard
# deviation, then scale and shift each coordinate by learned parameters γ (the "gain", starting at 1) and
# β (the bias, starting at 0):
#
# $$\mathrm{LN}(x)_i = \gamma_i \,\frac{x_i - \mu}{\sqrt{\sigma^2 + \varepsilon}} + \beta_i, \qquad
# \mu = \frac{1}{C}\sum_j x_j, \quad \sigma^2 = \frac{1}{C}\sum_j (x_j - \mu)^2$$
#
# (ε = 10⁻⁵ only guards against dividing by zero). Unlike BatchNorm it never mixes tokens or sequences, so it
# behaves the same in training and generation, for a batch of one. Written out by hand, it is PyTorch's
# `nn.LayerNorm`:

# %%
torch.manual_seed(0)
C = 8
ln = torch.nn.LayerNorm(C)
with torch.no_grad():
    ln.weight.uniform_(0.5, 1.5), ln.bias.uniform_(-0.5, 0.5)  # any gain and bias, not just the starting ones
x_demo = 3.0 + 5.0 * torch.randn(2, 4, C)  # (B, T, C): far from mean 0, variance 1


def layer_norm(x, gamma, beta, eps=1e-5):
    mu = x.mean(-1, keepdim=True)  # (B, T, 1): one mean per token
    var = x.var(-1, keepdim=True, unbiased=False)  # (B, T, 1): the plain average of squares, not n-1
    return gamma * (x - mu) / torch.sqrt(var + eps) + beta


ours = layer_norm(x_demo, ln.weight, ln.bias)
assert torch.allclose(ours, ln(x_demo), atol=1e-6)
normalised = layer_norm(x_demo, torch.ones(C), torch.zeros(C))
print(f"input: mean {x_demo.mean():.2f}, std {x_demo.std():.2f}; each token after LN with γ=1, β=0: "
      f"mean {normalised.mean(-1).abs().max():.1e}, std {normalised.std(-1, unbiased=False).mean():.4f}")
assert normalised.mean(-1).abs().max() < 1e-5 and torch.allclose(normalised.std(-1, unbiased=False), torch.ones(2, 4), atol=1e-4)

# %% [markdown]
# ## 2. The parts of a GPT-2 block
#
# **The residual stream.** Each token's vector enters the stack as *token embedding + position embedding* and
# is then carried up through every block; each sublayer reads it and *adds* its output back. In Pre-LN nothing
# else touches it, so the vector that reaches the top is a plain sum, `x_L = x_0 + f_1 + f_2 + … + f_2L`: every
# sublayer writes into one shared stream, and the gradient of the loss reaches every layer through the
# additions unchanged. We check that sum on a small random model by recording what each sublayer adds:

# %%
torch.manual_seed(0)
tiny = GPT(GPTConfig(vocab_size=65, block_size=16, n_layer=3, n_head=2, n_embd=32, dropout=0.0)).eval()
ids = torch.randint(0, 65, (1, 16))
added = []
hooks = [m.register_forward_hook(lambda mod, inp, out: added.append(out))
         for block in tiny.transformer.h for m in (block.attn, block.mlp)]
top = []
hooks.append(tiny.transformer.h[-1].register_forward_hook(lambda mod, inp, out: top.append(out)))
with torch.no_grad():
    tiny(ids)
    x0 = tiny.transformer.wte(ids) + tiny.transformer.wpe(torch.arange(16))  # (1, T, C): the stream's start
for h in hooks:
    h.remove()
assert len(added) == 2 * 3
assert torch.allclose(top[0], x0 + sum(added), atol=1e-6)
print(f"stream at the top = embeddings + the {len(added)} sublayer outputs (max difference "
      f"{(top[0] - x0 - sum(added)).abs().max():.1e})")

# %% [markdown]
# **The MLP.** Attention moves information *between* positions; the MLP then works on each position alone:
# widen the vector 4× (`c_fc`, 768 → 3072 in GPT-2 small), apply a non-linearity, project back (`c_proj`).
# About two thirds of a block's parameters are here. The non-linearity is **GELU**, x·Φ(x) with Φ the standard
# normal's distribution function: like ReLU for large |x|, but smooth, and slightly negative just below 0.
# GPT-2 computes it with a tanh approximation, which is what our `MLP` calls:

# %%
print(inspect.getsource(MLP.forward))
z = torch.linspace(-4, 4, 801)
gelu_exact, gelu_tanh = F.gelu(z), F.gelu(z, approximate="tanh")
print(f"largest gap between exact GELU and GPT-2's tanh approximation on [-4, 4]: {(gelu_exact - gelu_tanh).abs().max():.1e}")
print(f"GELU's minimum: {gelu_exact.min():.3f} at x = {z[gelu_exact.argmin()]:.2f}")
assert (gelu_exact - gelu_tanh).abs().max() < 1e-3
assert gelu_exact.min() < -0.16
block_params = {n: p.numel() for n, p in Block(GPTConfig.from_preset("gpt2")).named_parameters()}
mlp_share = sum(v for n, v in block_params.items() if n.startswith("mlp")) / sum(block_params.values())
print(f"share of a GPT-2 small block's parameters in its MLP: {mlp_share:.1%}")
assert abs(mlp_share - 2 / 3) < 0.01
plotting.line_plot({"GELU  x·Φ(x)": (z, gelu_exact), "ReLU  max(0, x)": (z, F.relu(z))},
                   title="GELU, the MLP's non-linearity, beside ReLU", xlabel="x", ylabel="activation",
                   figsize=(6, 3.5))

# %% [markdown]
# **Dropout.** During training, dropout sets each number of a tensor to 0 with probability p and multiplies the
# survivors by 1/(1 − p), so the expected value is unchanged; in evaluation (`model.eval()`) it does nothing.
# It keeps the network from leaning on any one unit. A GPT-2 block applies it to the attention weights, to each
# sublayer's output before it is added to the stream, and once to the embeddings (`GPTConfig.dropout`; the
# models in this notebook use 0, too small and too briefly trained to over-fit).

# %%
drop = torch.nn.Dropout(p=0.1)
ones = torch.ones(1_000_000)
dropped = drop.train()(ones)
print(f"training: {(dropped == 0).float().mean():.3f} of the values zeroed, survivors = {dropped.max():.4f}, "
      f"mean {dropped.mean():.4f}; evaluation: unchanged = {torch.equal(drop.eval()(ones), ones)}")
assert abs((dropped == 0).float().mean() - 0.1) < 0.002 and abs(dropped.mean() - 1) < 0.005
assert torch.equal(drop.eval()(ones), ones)

# %% [markdown]
# **The whole block**, as GPT-2 arranges it (Pre-LN), and the Post-LN arrangement beside it:
#
# ```
#            GPT-2 block (Pre-LN)                              Post-LN block
#
#   x ─────────────┬───────────────────────┐          x ──┬────────────────────┐
#   (residual      │                       │              │                    │
#    stream)    LayerNorm ln_1             │         attention (c_attn,        │
#                  │                       │          heads, c_proj)           │
#            causal self-attention         │              │                    │
#            (c_attn → q,k,v; heads;       │           dropout                 │
#             mask; softmax; c_proj)       │              │                    │
#                  │                       │              └──────► (+) ◄───────┘
#               dropout                    │                        │
#                  └────────► (+) ◄────────┘                   LayerNorm ln_1
#                              │                                    │
#                  ┌───────────┴───────────┐              ┌─────────┴──────────┐
#               LayerNorm ln_2             │              │                    │
#                  │                       │        MLP: c_fc → GELU           │
#           MLP: c_fc (C → 4C)             │             → c_proj, dropout     │
#                → GELU → c_proj (4C → C)  │              │                    │
#               dropout                    │              └──────► (+) ◄───────┘
#                  └────────► (+) ◄────────┘                        │
#                              │                               LayerNorm ln_2
#                              ▼                                    ▼
#                         next block                           next block
#
#   after the last block: LayerNorm ln_f, then the LM head
# ```
#
# In `gptlab` one switch, `GPTConfig(ln_placement="pre" | "post")`, chooses between the two. This is the real
# code of the block (printed from the package, not copied):

# %%
print(inspect.getsource(Block.forward))

# %% [markdown]
# Both placements have exactly the same parameters: only the order of operations differs.

# %%
V = 65
pre = GPT(GPTConfig.from_preset("nano", vocab_size=V, ln_placement="pre"))
post = GPT(GPTConfig.from_preset("nano", vocab_size=V, ln_placement="post"))
shapes = lambda m: {k: tuple(v.shape) for k, v in m.state_dict().items()}
assert shapes(pre) == shapes(post)
print(f"same {len(shapes(pre))} tensors, same {sum(p.numel() for p in pre.parameters()):,} parameters")

# %% [markdown]
# ## 3. Real text
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
# ## 4. Gradients at initialisation, layer by layer
#
# Take a model, one batch, one backward pass, and measure the size (L2 norm) of the gradient on each layer's
# weight matrices (attention and MLP). Two initialisations:
#
# * **GPT-2's**: every matrix drawn with standard deviation 0.02, the output projections `c_proj` further
#   scaled by 1/√(2·layers), so each sublayer starts by adding very little to the stream;
# * **Xavier's** (the original Transformer's, and the one Xiong et al. analyse): a matrix of shape (n_in, n_out)
#   drawn uniformly with variance 2/(n_in + n_out), so each sublayer's output starts about as large as its input.

# %%
DEPTH, WIDTH, CONTEXT = 12, 48, 32
INITS = ("GPT-2", "Xavier")


def make_model(ln_placement, init="Xavier", n_layer=DEPTH):
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=tok.vocab_size, block_size=CONTEXT, n_layer=n_layer, n_head=4, n_embd=WIDTH,
                       dropout=0.0, ln_placement=ln_placement)
    model = GPT(config)  # GPT-2's initialisation
    if init == "Xavier":
        for module in model.modules():
            if isinstance(module, Projection):  # every attention and MLP matrix; embeddings keep std 0.02
                torch.nn.init.xavier_uniform_(module.weight)
    return model


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
grad_norms = {(init, ln): layer_grad_norms(make_model(ln, init), x, y) for init in INITS for ln in ("pre", "post")}

fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, init in zip(axes, INITS):
    plotting.line_plot({f"{ln}-LN": grad_norms[init, ln] for ln in ("pre", "post")}, logy=True, marker="o",
                       styles={"pre-LN": {"color": "C0"}, "post-LN": {"color": "C3"}}, ax=ax,
                       title=f"{init} initialisation", xlabel="layer", ylabel="‖∂loss/∂W‖ (attention + MLP)")
fig.suptitle(f"Gradient norm per layer at initialisation ({DEPTH} layers)")
fig.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
for init in INITS:
    ratio = np.array(grad_norms[init, "post"]) / np.array(grad_norms[init, "pre"])
    print(f"{init:6s} init: post-LN / pre-LN gradient, layer by layer: {ratio.min():.2f} to {ratio.max():.2f}; "
          f"top layer {ratio[-1]:.2f}")
gpt2_ratio = np.array(grad_norms["GPT-2", "post"]) / np.array(grad_norms["GPT-2", "pre"])
xavier_ratio = np.array(grad_norms["Xavier", "post"]) / np.array(grad_norms["Xavier", "pre"])
assert gpt2_ratio.max() < 0.1  # GPT-2's init: post-LN's gradients are over ten times smaller everywhere ...
assert xavier_ratio[-1] > 1.3  # ... Xavier's: near the output they are larger: the comparison flips
assert grad_norms["Xavier", "pre"][-1] < 0.5 * grad_norms["Xavier", "pre"][0]  # pre-LN's shrink towards the top

# %% [markdown]
# So "Post-LN's gradients are small" is not a property of Post-LN: it is a property of GPT-2's initialisation,
# under which each sublayer adds so little that `LN(x + f(x)) ≈ LN(x)` and the loss barely depends on the
# sublayers. With Xavier's initialisation, the setting of the original Transformer, Post-LN's gradients near the
# output are the *larger* ones.
#
# Xiong et al. prove the pattern behind this: at initialisation the gradient of Post-LN's last layers does not
# shrink with depth, while Pre-LN's shrinks like 1/√L, because in Pre-LN each sublayer is one of 2L terms added
# to the stream and the final LayerNorm divides the sum's growing size back out. Measured on the top layer, for
# models of 3 to 24 layers:

# %%
depths = (3, 6, 12, 24)
top_grad = {ln: [layer_grad_norms(make_model(ln, "Xavier", L), x, y)[-1] for L in depths] for ln in ("pre", "post")}
plotting.line_plot({f"{ln}-LN": (depths, g) for ln, g in top_grad.items()}, logx=True, logy=True, marker="o",
                   styles={"pre-LN": {"color": "C0"}, "post-LN": {"color": "C3"}},
                   title="Top layer's gradient norm at initialisation (Xavier) against depth",
                   xlabel="number of layers L", ylabel="‖∂loss/∂W‖ of the last block")

# %% tags=["nbval-check-output"]
for ln, g in top_grad.items():
    print(f"{ln:4s}-LN, top layer: " + ", ".join(f"L={L}: {v:.3f}" for L, v in zip(depths, g))
          + f"; 24 vs 3 layers: ×{g[-1] / g[0]:.2f}")
print(f"1/√L predicts ×{math.sqrt(3 / 24):.2f}")
assert top_grad["pre"][-1] / top_grad["pre"][0] < 0.6  # pre-LN: shrinks with depth (1/√8 = 0.35) ...
assert top_grad["post"][-1] / top_grad["post"][0] > 0.8  # ... post-LN: does not
assert all(p > q for p, q in zip(top_grad["post"][1:], top_grad["pre"][1:]))  # post-LN's is larger from 6 layers on

# %% [markdown]
# Large gradients near the output are why Post-LN is fragile at a large learning rate: the first updates, taken
# before Adam has a good estimate of each gradient's scale, move the top layers far, and a deep Post-LN stack
# can fall into a state it does not leave. Warm-up — starting from a small learning rate and raising it
# linearly over the first steps — keeps those first updates small. Pre-LN starts with well-behaved gradients
# and, Xiong et al. show, trains without warm-up.
#
# ## 5. Training at depth: a high learning rate, with and without warm-up
#
# Every run below starts from Xavier's initialisation and sees the same batches in the same order: 300 steps of
# Adam at a constant learning rate of 10⁻³ (high for a 12-layer model), no gradient clipping (it would hide the
# effect), either at full rate from the first step or after a 100-step linear warm-up. Two controls: Post-LN
# at half the learning rate without warm-up (is it the learning rate?), and Post-LN with 2
# layers (is it depth?).

# %%
STEPS, LR, WARMUP = 300, 1e-3, 100


def train(ln_placement, warmup, n_layer=DEPTH, lr=LR):
    model = make_model(ln_placement, "Xavier", n_layer)
    config = TrainConfig(max_iters=STEPS, batch_size=16, seq_len=CONTEXT, lr=lr, min_lr=lr, warmup_iters=warmup,
                         weight_decay=0.0, grad_clip=0.0, eval_interval=STEPS, eval_iters=8, log_interval=10,
                         seed=0, device="cpu", explode_factor=1e9)
    history = Trainer(model, train_ids, val_ids, config, progress=False).fit()
    steps = [r["iter"] for r in history if "train_loss" in r]
    losses = [r["train_loss"] for r in history if "train_loss" in r]
    return model, (steps, losses), history[-1]["val_loss"]


runs = {
    f"post-LN, {DEPTH} layers, no warm-up": train("post", 0),
    f"post-LN, {DEPTH} layers, warm-up {WARMUP}": train("post", WARMUP),
    f"pre-LN, {DEPTH} layers, no warm-up": train("pre", 0),
    f"pre-LN, {DEPTH} layers, warm-up {WARMUP}": train("pre", WARMUP),
    f"post-LN, {DEPTH} layers, no warm-up, lr {LR / 2:g}": train("post", 0, lr=LR / 2),
    "post-LN, 2 layers, no warm-up": train("post", 0, n_layer=2),
}

# %%
def style(name):
    color = "C0" if name.startswith("pre") else "C2" if "2 layers" in name else "C1" if "lr" in name else "C3"
    return {"color": color, "linestyle": "--" if "warm-up 100" in name else "-"}


plotting.loss_curves({name: curve for name, (_, curve, _) in runs.items()},
                     styles={name: style(name) for name in runs},
                     reference={"unigram (letter frequencies)": unigram_loss},
                     title=f"Training at depth (Xavier init): lr {LR:g}, {STEPS} steps, with and without warm-up",
                     figsize=(9, 5))

# %%
val = {name: v for name, (_, _, v) in runs.items()}
for name, v in val.items():
    print(f"{name:44s} held-out loss {v:.3f}")
post_cold, post_warm = val[f"post-LN, {DEPTH} layers, no warm-up"], val[f"post-LN, {DEPTH} layers, warm-up {WARMUP}"]
pre_cold, pre_warm = val[f"pre-LN, {DEPTH} layers, no warm-up"], val[f"pre-LN, {DEPTH} layers, warm-up {WARMUP}"]
# Deep post-LN without warm-up never gets past the letter frequencies ...
assert abs(post_cold - unigram_loss) < 0.1
# ... the same run with warm-up trains ...
assert post_warm < unigram_loss - 0.4
# ... pre-LN trains without warm-up, and warm-up does not make it better
assert pre_cold < unigram_loss - 0.4 and pre_cold <= pre_warm + 0.05
# Controls: at half the learning rate, or with 2 layers, post-LN trains without warm-up.
assert val[f"post-LN, {DEPTH} layers, no warm-up, lr {LR / 2:g}"] < unigram_loss - 0.3
assert val["post-LN, 2 layers, no warm-up"] < unigram_loss - 0.4

# %% [markdown]
# The 12-layer Post-LN model started at full learning rate learns the letter frequencies in its first steps and
# then stalls exactly at the unigram loss: it predicts (nearly) the same distribution whatever the context, as
# the check below shows. The *same* model with a 100-step warm-up trains. Pre-LN trains at full rate from the
# first step, and warm-up only delays it. The controls locate the trouble: Post-LN at half the learning rate,
# or with 2 layers, trains without warm-up — it is a *large learning rate* on a *deep* Post-LN stack. That is why
# the original Transformer paired Post-LN with thousands of warm-up steps, and why GPT-2, with 12 to 48 layers,
# moved the LayerNorm in front.

# %%
def context_spread(model):
    """Mean total-variation distance between each position's next-token distribution and their average:
    0 when the model predicts the same thing everywhere, whatever came before."""
    with torch.no_grad():
        p = model(x).softmax(-1).flatten(0, 1)  # (B*T, vocab)
    return 0.5 * (p - p.mean(0)).abs().sum(-1).mean().item()


spread = {name: context_spread(runs[name][0]) for name in
          (f"post-LN, {DEPTH} layers, no warm-up", f"post-LN, {DEPTH} layers, warm-up {WARMUP}",
           f"pre-LN, {DEPTH} layers, no warm-up")}
for name, value in spread.items():
    print(f"how much the prediction depends on the context, {name}: {value:.3f}")
spread_cold, spread_warm, spread_pre = spread.values()
assert spread_cold < 0.1 < min(spread_warm, spread_pre)

# %% [markdown]
# ## 6. Why GPT-2 adds a final LayerNorm
#
# In Pre-LN nothing normalises the residual stream: each of the 2 × layers sublayers *adds* to it, so its
# size grows as it climbs the stack, and it differs from position to position. The LM head should not have to
# cope with that, so GPT-2 puts one last LayerNorm, `ln_f`, between the top block and the output layer. Post-LN
# does not need one: every block already ends with a LayerNorm (and `gptlab`'s Post-LN model skips `ln_f`).
# Here is the size (root mean square) of the stream after each block of two trained 12-layer models (Pre-LN
# without warm-up, Post-LN with it):

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


trained_pre = runs[f"pre-LN, {DEPTH} layers, no warm-up"][0]
trained_post = runs[f"post-LN, {DEPTH} layers, warm-up {WARMUP}"][0]
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
# **Summary.** LayerNorm rescales each token's vector to mean 0 and variance 1, then applies a learned gain and
# bias. Post-LN normalises after each residual addition; Pre-LN normalises only what goes into each sublayer
# and leaves the residual stream a plain sum. Which placement has the larger gradients at initialisation depends
# on the initialisation (GPT-2's makes Post-LN's over ten times smaller; Xavier's makes them larger near the
# output); what does not depend on it is the result Xiong et al. (2020) explain: Pre-LN's gradients shrink
# gently with depth, Post-LN's near the output do not, and a deep Post-LN model at a high learning rate needs
# warm-up — here it stalls at the letter-frequency loss without it and trains with it — while Pre-LN trains at
# that rate from the first step. Pre-LN pays for its un-normalised stream with one final LayerNorm before the
# output layer: GPT-2's `ln_f`.

# %% [markdown]
# ## Your turn
#
# Build it yourself in the exercise track (each exercise checks your code with `gptlab grade`):
# - [`exercises/02_layernorm_mlp.ipynb`](../exercises/02_layernorm_mlp.ipynb): LayerNorm and the GELU MLP.
# - [`exercises/05_block.ipynb`](../exercises/05_block.ipynb): a Pre-LN block with its residual connections.
