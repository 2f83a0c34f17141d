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
# # Exercise 6 · The whole GPT
#
# **Goal:** assemble GPT-2 from its pieces: token and position embeddings, a stack of blocks, the final
# LayerNorm, an output head that shares its matrix with the token embedding, the loss, and GPT-2's
# initialisation. Then count its parameters, by a formula and on a real model: 124,439,808 for GPT-2 small.
#
# **Difficulty:** ★★☆ · **Importance:** 🔵🔵🔵🔵🔵 · **Expected time:** 45 minutes
#
# Follows course notebook 04 (Weight tying).
#
# The blocks are handed to you: `Block(config)` is one Pre-LN transformer layer with GPT-2's parameter
# names (`ln_1`, `attn.c_attn`, `attn.c_proj`, `ln_2`, `mlp.c_fc`, `mlp.c_proj`), mapping a residual
# stream `(B, T, C)` to `(B, T, C)`. The course's `Block` is used by default; the cell after the imports
# can swap in the one you wrote in exercise 05.

# %%
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from gptlab import GPTConfig
from gptlab.checks import check_gpt, check_gpt_init, check_param_count, check_param_formula
from gptlab.exercises import own_pieces
from gptlab.model import Block

# %% [markdown]
# To build on your own block from exercise 05 (saved as `05_block.ipynb` beside this notebook), set
# `USE_MY_PIECES = True`. Your `Block(config)` must keep GPT-2's parameter names.

# %%
USE_MY_PIECES = False
if USE_MY_PIECES:
    Block = own_pieces({"Block": ("05_block", Block)})["Block"]

# %% [markdown]
# ## 1. Assemble the model
#
# `GPT(config)` holds, with exactly these names (the names of GPT-2's checkpoints, which exercise 07 loads):
#
# - `transformer.wte`: `nn.Embedding(vocab_size, n_embd)`, the token embedding, a `(V, C)` matrix;
# - `transformer.wpe`: `nn.Embedding(block_size, n_embd)`, one learned vector per position `0 .. T-1`;
# - `transformer.drop`: `nn.Dropout(config.dropout)` on the sum of the two;
# - `transformer.h`: an `nn.ModuleList` of `n_layer` blocks;
# - `transformer.ln_f`: a final `nn.LayerNorm(n_embd, eps=config.layer_norm_eps)`: in a Pre-LN model the
#   stream leaves the last block un-normalised;
# - `lm_head`: `nn.Linear(n_embd, vocab_size, bias=False)` whose weight **is** `wte.weight` (weight tying:
#   the same `Parameter`, not a copy, so that training updates one matrix).
#
# `model(idx)` with `idx` of shape `(B, T)` returns the logits `(B, T, V)`. `model(idx, targets)` returns
# `(logits, loss)`: the mean cross-entropy, where `targets[b, t]` is the token that follows `idx[b, t]`
# (the batches come already shifted, as in nanoGPT) and targets equal to `-100` are ignored.
#
# **GPT-2's initialisation**: every matrix and embedding from N(0, 0.02) (GPT-1, Radford et al. 2018),
# biases 0, LayerNorm gains 1; and the output projections of the residual branches (every `c_proj.weight`)
# scaled by 1/sqrt(N), N the number of residual layers (GPT-2, Radford et al. 2019, section 2.3): here
# N(0, 0.02 / sqrt(2 · n_layer)), as nanoGPT does, because each of the 2 · n_layer branches adds its output
# to the residual stream, whose variance would otherwise grow with depth.

# %% nbgrader={"grade": false, "grade_id": "gpt_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        ### BEGIN SOLUTION
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),  # (V, C)
            wpe=nn.Embedding(config.block_size, config.n_embd),  # (T_max, C)
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # one Parameter, two uses
        residual_std = 0.02 / math.sqrt(2 * config.n_layer)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if p.dim() == 2:
                    p.normal_(0.0, residual_std if name.endswith("c_proj.weight") else 0.02)
                elif name.endswith("bias"):
                    p.zero_()
        ### END SOLUTION

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        ### BEGIN SOLUTION
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"{T} tokens, but the context holds {self.config.block_size}")
        pos = torch.arange(T, device=idx.device)  # (T,)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))  # (B, T, C)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)  # (B, T, V)
        if targets is None:
            return logits
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)
        return logits, loss
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "gpt_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_gpt(GPT)
### BEGIN HIDDEN TESTS
from gptlab.checks import fill_seeded
from gptlab.grading import record, unavailable
_config = GPTConfig(vocab_size=71, block_size=24, n_layer=3, n_head=2, n_embd=32, dropout=0.0)
_g = torch.Generator().manual_seed(6)
_idx = torch.randint(0, 71, (2, 24), generator=_g)
_targets = torch.randint(0, 71, (2, 24), generator=_g)
_targets[1, :5] = -100
with unavailable("gptlab.model.GPT"), torch.no_grad():
    _m = fill_seeded(GPT(_config), seed=6).eval()
    _logits = _m(_idx)
    _loss = _m(_idx, _targets)[1]
    _tied = _m.lm_head.weight is _m.transformer.wte.weight
record("logits", _logits[:, -4:], atol=1e-4)
record("loss", _loss, atol=1e-4)
record("tied", _tied)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqVmcuOXMcRRP+l10Oist7FXxG0GIOUTXjgMcSRNgL/3Scia0RoYRi2LGC6+956ZEZGRKb+eLy8/v3r27fHpz8ez2+vL49P5WMp
JZ4ev/7l0+/PL7990UOfn9+eH59+Kh9njXLWmOOpfBxtrhihP+dqvbeyztOH8rHXVndpe/NDObWNNUfpfKhtnl362XqqRqx++F0f
2lqz19h6akw2b30cvV7rbmPsrh/67rPtM7xJxBlltNH04Syd6vTphWsdfc3mI8Zcs1QtNfY8tfCPnim71zP22UubcHTOG7weH9du
dczQ9xF7nN3Cb/TSK8daWpXDtRq1be+wR9f/dcBe5jhz8UJwJdavMRWdMggO/+qZ0Uqc05cXjdH7jnujEmPW7eBwoNpb7bnz2mvO
CH1gqdHrzhBGH3PvnVeK4KexOKBiwDk4fJk6ySQIuUnorrvsrVNx8DH7LHmSMuuJ2bzjJhvjeKEWpO8EMQh2aIVr5wa6Q+kzI8ul
+zq5weYNcqu4EvKqt32+eioHih6sxJ1bK1PxmL0HF20Z177WOsRP4NrrtLa926ydcNe825xcYvXlEBSS1Vhr1ftcXbPW0El6OYW7
3hAAl1Z17QIGWj8V8PlYBDqab0XOYtcY+fckthPE8crarDSHUjzbrGsPx6wucry6Msa9SWknHwmP0oiDMVuiHr7IIBOXAs7vCwp/
UTiWlm+GSp2ncLeZlyOBZLcryFHW6AKSs7LLORzI8chlOKNRUDn1GMWVsAXrso3ZNSrR2U4YECCXlK82XISWYokE1FqFz96kjMIP
se/9wJx3WKseodzfig7Ii7NNwJTu5ZIa+hYMdccMyO+2TAGrbmJA6YCns4B89apz18mdYl5cs3V3QErnzhw9qg8O3nt4ixaHzJ2u
vXs7s+pJ/a3L9FlVzFQ7YCn6czQeoqycOK25xHAKWMBK5M48Agu0Q8J8nzWOgOKUkhTIouqHWEEA2vTGZE74aboO9deaiQBQU1k9
s1BAbu0THsuoctBeYJMnBZX9tlctwRONpOj9Cjn1u53+5JVERMxRlaKTAQ+uORyZERTvOCbN3cgJfzpKS2W6qmO/92pAszoP/L6H
y663thopbfe0k2rgsz+tDeYinEfqhqCXlc8VGJebr31TVvkTohYqxg4d2rmHuKj2Om/cAcbMh8hTLSJgZZ8Dilv8AbbpU+KQEFaZ
jKx8KpPjhy8Jjy7CNX0YzgtZFKcE9odHt05JTuAcGOGkxgCeVptDBG8M0KMIkSmUZ20XGWx6tE7evanirBFNj5SVh4Jlqt5Xeig1
8LZcV3wJvpv5q4UimUEA5RCRuQGO6EC9JTKGeGgroqoGIFoyHnwDsMHWzmtz8BpJo436pBZdApXYIjKGK/CcLGFm55JoFSjVlSgM
Xq7imSFVdnmyAERDKV4p3aToVg8MPfNqXITdhtUzuv66ZUKRk/ydZSKx7Gc2rct1OROZNM8S49VU4YbxCiq6pETDDmTjYlqZhBLi
ivcqFEGSAszX4MyRUehSxJk11eaUWKREsQmwTlhiIbqKOLfpB1dQjm9JXaPf20akTG0C4+oDWkRFoUwqSNJU+gUlvoNj2ZMsPSR9
NCYP8IS+XUcVckf88sbw3xQyVNuNJHN/6z+kCH4sIJyUii1OAzVei9jXhz38D6ZIOiQCoX/NUCbuez+UecOsKYTCsB5SzTW+B+wJ
PWrsWiNyeKjN5mVP35LKsCb2AUH1k0BCGEqmDRKH6nuCB/wjicPII3RW3jwTADJ9CK3gBxob73YFxwAqV4qFfiSlCgg4poByXcpq
p0MkgEaK7RpP860JTUTX9rlZLQeKt4JAfl0lk1HjasB4Jfq4D1oz7TuXXgHtDsgRN1czOdogG3jsNEHAiQwsqcZ4ROKTW1dJyr03
HkYGysseWZRmAuZtZKE3B2RJwJqDA+dIakIaBw8qKymokpA5r0NDgwH+0AsSeS6xDEaqm5V8bNBA1SSWRV1yG3pI0gXEhxDLptwT
fwF464aqs1xxPiC6u3KaaLNeduW6cqZZH0i5wukqOKKAmkIxZV1LGnhKQlIcO9mSyFASO1mbggbNO79fqtwUJsLCuhYaQi9pWckB
h3iUZY468hbXwojTEMARKVMq5xszapDtwtfG8snYz2pPgQUhgF62ox8SNmuZslMTZXwrA5gaR30FBjnNBl+eSF6gGoYCPRJBKEbJ
G6FnRD9tN4VGrEYaS0QHoDgaTY6pJ0hpc4DTD2NEPK5q4W/JtjMHZgCJcXX0g4xE6ieGca5cCZvi/qTm1iqg9MSsQx727S8w1FtU
JVdPepHMtBSs36y9UCen69WeYKAHJ20yOZPfAlJZXISMq/mwYUMiC2wClMJ7rQDPLHABJbepbsPBJ+14DCeIr450z3EFx01NmVsN
9RGRnNCgaFmU2y5A5PtSFboNBox9yqDbZypoNjkXQURQQFPwNw0f4auO6yLzsa+lP4KJsQFaIYXEhjx/VR4NsgXPrMw6VgilOA6l
YlZTzovji2pcHyqPQpr0Bmqwyu3VNpS4xIfX4sBlirlDQGXPZcmxeVjZXx0RJgvbx8hmwk0uCfRJyq7scr5xJb+o4bAnMkUqJz37
RyqA1ImShRrUp4e8qBlM0qceB2ehyGwfHAShBv0qkZpHkxx5EEsdWwB8NcU5MqPoAFW6RGWNAsLEOBjUpFhxyFXA2aumdqh7wQ5E
elV3KC1bHzlMekZfAULFZJV4F+8hXnv6UHn/SDBsD9V94MVb0rfE4na5wAiTZQVrKriWzwMwKd28MwcuX31jCZjClccWHESYDivO
CAeUGONeO+Olx0gK4B+u9pA2EtusM7SHxli4xW5t+wc8cVMAtBsZpHgjuynaHrWBKb3YRDhrpkBvukZsiXteHD/0lWMQmjx0q6Y3
CGHP7oMUTyQ5DwcK6ajxen5BsUMJUlKWxhV13fghtiODT92rX0kqIzYy9CmAkyoAizq5iFqFbXtICwBuXR3OM/RpF7etsSNzh5wN
7ERcSyf53CZqG/ZyYUDTcOh/p71MVx+OQ8p2GFCSjZbdVocqaI1nAkQqZQ5DxcF+MhUeA2pLPNE73p1hq63JhXXvyLLXOysJzUSa
D9646bsR7UeozEqks6IyfGrkkprpPg5kxdmyBxJ3g7+M5JyqiLGzRgFDJLUUtVY7soxp5Ea2/6g0HUTJBkQDqJPtGqIjL5bTJGlw
4SBqWFFFqOHacrJseHq6QODdsBIwtcORbQlyQHc40hS7Cx7pRw4nheKzZ+D4UI7HGmdritX9NyQIN8xsY0ROy5SOHdNChN1P4fXN
DLaMcPrIJlq/U5THlSWnzAapd1LXnWmlYUCCSIrHR+T+0gfo7pCBe7RGL9HuxAOLyO2HeQiXA9fRU7tiwBQVEXcaUzESKfG4iXpp
RZOMOrOQ6LLRnzNun7xE0T0HJNQXamg2XFwe1c4+5kjSpqPRNdHjBftN5BBYrEizaruZdk5cQgDjtifFB8j5DAHb4iAdd7oyvG4F
5TDn2YlDwlmSKoogDubhiirtm3eepeTu26ZBdsN3cRvp7tucQ6o1obNDqAfjNvGkCiyVPd9tEVaTe/jWVfM2TGzONTSfWh6iFPko
eG1lC0onpAmciOI6Ys0F8q4Tkw8gM9SyW1RNeibdsKejHjJVLJM5BuV3kApla7SR6kw4IKdrJ6nA8f6USFdW8yYQYpzJsLWos0ql
QnloPh1m/P3Q+SwMgFFCnLcCKziiHN1gGLNxl3igtTmtgcSWB4p2gOLgO9HSUIEzJdt1CXvJBGO5wXAxb+BX1c3GHbxi6o4IRfVl
K5GCTnCpZu+HBeekt5mUtmi+kgwB18rimcFRNqrK3czeGjif5GOBUQ45yQ+jSIqKXx/u0KZTIU+H2idqPT8rOblFndTkjpyPAK4j
1ykZJ+ElO07Z732n8XyvUULOuiW/4aoaYqSa9l2TVhqenENwTCjCpnOKxzFuJzWMmk0fK/uk3td+puvLtIlQ69pzjpQmT1mMUnBO
VGZNCsaHFCX0jqdB4qzXZKqLtQ6skGcoHm9pxo6M5AtcmN5v5MBu2EFmdvEhpDuJGmE6anL0EJ5qymTkuEVDmnm9XXfvaV4MddI7
VRH/TIHtZFL0FDKcOaSUjGhkn1ss+D3peRa5xOtKNLw8NFBxnSxEWk5md2lEkGMkihEZKpeJh491bFE4FTHPe3B0wjvsX5umhaWk
gSfTCNNMzgUvmp7Y74mBgL9hqq4DFnRZVFmqnd0qT2i+3V3YXa6hpefETqukXBRNvfBM/+nOdSZnHrcCYVtKnOBuu3G0lkpO5mkS
bSUg2UInSCaWxE7ZPD/FPf80i4qYZ9s5nyatxR2MGocpx+toAASRb1bB0NRurcj/OoBSjnkNsjpn+3GYgqOcyMtVzUr6+xBOPUx1
joH41gTDwAbIdKvh0EA229e+o2HJqR0UsI6dY2KMAtS2f356/PPrvz4/Pj1+eXl9fns8Pb794/nfXx6ffqpP/WnFz9+/Pz1eXr/9
3//BrluKNF3571t48bevXz7/WDy+fIBg/8fab7/+9uXHqn975dm/LPr9P331t3c=
""")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "gpt_init_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_gpt_init(GPT)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
with unavailable("gptlab.model.GPT"):
    torch.manual_seed(7)
    _m = GPT(GPTConfig(vocab_size=600, block_size=32, n_layer=6, n_head=4, n_embd=96, dropout=0.0))
_p = dict(_m.named_parameters())
record("stds", [float(_p[n].std()) for n in ("transformer.wte.weight", "transformer.wpe.weight",
                                             "transformer.h.1.attn.c_attn.weight", "transformer.h.5.mlp.c_fc.weight",
                                             "transformer.h.0.attn.c_proj.weight", "transformer.h.4.mlp.c_proj.weight")],
       atol=0.0015)
record("biases_zero", all(bool((p == 0).all()) for n, p in _p.items() if n.endswith("bias")))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqVjc0OgjAQBt9lz9Vsf2gpr0KIKaHGxiqGFg+SvrvFg0QTDRy/7MzsBK0zwYbDww49VBOY2HuoqN1hQWB4DdwjIiVwN360M9OZ
aKCq4zDahsDZXTuooO0zSyCczC1DdZNSHrELS3Tu0N9VF+0l0/W7nwmqteRUFmr5c/S9iR+PyJehhRS4yZBalUqsNhhiybgo2GoD
CyUVo0zRLYouuZBc/lOWm3chQkrpCWjyiqc=
""")
### END HIDDEN TESTS

# %% [markdown]
# The model predicts: here is an untrained one scoring a sequence. Its loss is close to ln V, the loss of
# guessing uniformly, because N(0, 0.02) weights make nearly flat logits.

# %%
torch.manual_seed(0)
config = GPTConfig.from_preset("nano", vocab_size=65)
model = GPT(config).eval()
idx = torch.randint(0, 65, (4, 32))
logits, loss = model(idx, torch.roll(idx, -1, dims=1))
print(f"logits {tuple(logits.shape)}, loss {loss.item():.3f}, ln V = {math.log(65):.3f}")
assert abs(loss.item() - math.log(65)) < 0.1

# %% [markdown]
# ## 2. Count the parameters by hand
#
# `n_params(n_layer, n_embd, vocab_size, block_size)` for the model above. Per block: attention `c_attn`
# (C → 3C, with bias) and `c_proj` (C → C, with bias); MLP `c_fc` (C → 4C) and `c_proj` (4C → C), with
# biases; two LayerNorms (gain and shift, C each). Plus the token embedding (V × C, shared with the head),
# the position embedding (T × C) and the final LayerNorm.

# %% nbgrader={"grade": false, "grade_id": "formula_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def n_params(n_layer: int, n_embd: int, vocab_size: int, block_size: int) -> int:
    ### BEGIN SOLUTION
    C = n_embd
    attention = (C * 3 * C + 3 * C) + (C * C + C)
    mlp = (C * 4 * C + 4 * C) + (4 * C * C + C)
    layernorms = 2 * 2 * C
    return n_layer * (attention + mlp + layernorms) + vocab_size * C + block_size * C + 2 * C
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "formula_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_param_formula(n_params)
assert n_params(12, 768, 50257, 1024) == 124_439_808, "GPT-2 small has 124,439,808 parameters"
### BEGIN HIDDEN TESTS
from gptlab.grading import record
record("sizes", [n_params(L, C, V, T) for L, C, V, T in ((24, 1024, 50257, 1024), (48, 1600, 50257, 1024), (2, 64, 100, 32))])
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqNy0EKwjAUBNC7zDrK/21+DblK6SLQgMFYxcQuDLm7aRe6EtzNMG8KUnj5BFvg8i3Csj+QKDz2QkciYoXVxaffTMj+2vBYMLvs
WuhFm67nwUwKl7DMsAhLhkI6u3u7jFNVH8wip4G5I/pLkxGtf8vvEkPKqLW+AYDCPZQ=
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Count them on a real model
#
# `count_parameters(model)` returns the number of parameters a model really holds, each tensor once: the
# tied matrix is one tensor even though the model uses it twice.

# %% nbgrader={"grade": false, "grade_id": "count_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def count_parameters(model: nn.Module) -> int:
    ### BEGIN SOLUTION
    return sum(p.numel() for p in model.parameters())  # parameters() yields a shared Parameter once
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "count_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_param_count(count_parameters)
### BEGIN HIDDEN TESTS
from gptlab import GPT as _CourseGPT
from gptlab.grading import record, unavailable
_models = [_CourseGPT(GPTConfig.from_preset(n, vocab_size=v, tie_weights=t))
           for n, v, t in (("nano", 33, True), ("micro", 120, False))]
with unavailable("gptlab.params.count_module_parameters", "gptlab.params.count_parameters"):
    _counts = [int(count_parameters(m)) for m in _models]
record("counts", _counts)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNp9ysEKgzAQhOF3mfO2rBBF8yriYdGAoWmUZu0l5N1NvXjrbX7my5i3I2qCzRDdAmzjHtwSPlfwk5kbwlfC4X7Gq3tXPGYsolJH
P7RdPxFePi6w8FFBSKvslY9ToRsaNuaPvJ/gk6KUcgKSQDAC
""")
### END HIDDEN TESTS

# %% [markdown]
# GPT-2 small itself, built on PyTorch's `meta` device: the tensors have shapes but no memory and no values,
# so building the 124 M-parameter model takes no time, and the count is exact.

# %%
with torch.device("meta"):
    gpt2 = GPT(GPTConfig.from_preset("gpt2"))
real = count_parameters(gpt2)
print(f"GPT-2 small: {real:,} parameters, by formula {n_params(12, 768, 50257, 1024):,}")
assert real == n_params(12, 768, 50257, 1024) == 124_439_808

# %% [markdown]
# ## Where the parameters live
#
# Tying saves V · C = 38.6 M parameters: untied, GPT-2 small would have 163 M. Even so the embeddings are
# *not* most of the model: the blocks hold about two thirds of GPT-2 small and a growing share of the larger
# sizes (95 % of GPT-2 XL), because a block has 12 · C² + 13 · C parameters and the embeddings only grow like C.

# %%
print(f"{'model':<12} {'total':>14} {'blocks':>8} {'embeddings':>11}")
shares = {}
for name in ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"):
    c = GPTConfig.from_preset(name)
    total = n_params(c.n_layer, c.n_embd, c.vocab_size, c.block_size)
    embeddings = (c.vocab_size + c.block_size) * c.n_embd
    blocks = c.n_layer * (12 * c.n_embd ** 2 + 13 * c.n_embd)
    shares[name] = blocks / total
    print(f"{name:<12} {total:>14,} {blocks / total:>8.1%} {embeddings / total:>11.1%}")
saved = 50257 * 768
print(f"tying saves {saved:,} of an untied {124_439_808 + saved:,}")
assert 0.67 < shares["gpt2"] < 0.69 and shares["gpt2-xl"] > 0.94
assert list(shares.values()) == sorted(shares.values())
