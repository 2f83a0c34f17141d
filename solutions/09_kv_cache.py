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
# # Exercise 9 · The KV cache, and your own GPT end to end
#
# **Goal:** make generation cost O(1) matrix products per new token instead of O(t). When a GPT
# generates token *t + 1*, the keys and values of positions *0 … t − 1* are the same as at the previous
# step: keep them, and compute only the new token's query, key and value.
#
# You write a cached attention layer, a cached forward pass and cached greedy decoding for a model with
# GPT-2's layout (yours from exercise 06 has it), prove they equal the uncached result, and measure the
# speed-up. The capstone then puts every piece you wrote in this track together — your LayerNorm, MLP,
# attention, block and GPT, your sampler and your cache — and checks the result against GPT-2's reference.
#
# **Difficulty:** ★★★ · **Importance:** 🔵🔵🔵🔵⚪ · **Expected time:** 60 minutes
#
# Follows course notebook 06 (The KV cache).

# %%
import math
import os
import time

import torch

from gptlab import GPT, GPTConfig
from gptlab.checks import check_cached_attention, check_cached_decoding

# %% [markdown]
# ## 1. Cached attention
#
# `attn` is a causal self-attention layer with GPT-2's layout — yours from exercise 04 or the course's:
# `attn.c_attn` makes q, k, v for all heads at once (`(B, T, 3C)`, in that order), `attn.c_proj` mixes the
# heads back, `attn.n_head` is the number of heads. `x_new` holds the `T` new positions, `(B, T, C)`;
# `past` is `None` or the `(k, v)` returned last time, each `(B, n_head, T_past, head_dim)`.
# Return the output for the new positions and the keys/values of *all* positions so far.
#
# Mind the mask: new query `i` sits at absolute position `T_past + i` and may see every key up to it.

# %% nbgrader={"grade": false, "grade_id": "cached_attention_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cached_attention(attn, x_new: torch.Tensor, past=None):
    """-> (y (B, T, C), (k, v) each (B, nh, T_past + T, hs))."""
    ### BEGIN SOLUTION
    B, T, C = x_new.shape
    nh = attn.n_head
    q, k, v = attn.c_attn(x_new).split(C, dim=2)
    q, k, v = (t.view(B, T, nh, C // nh).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
    if past is not None:
        k = torch.cat([past[0], k], dim=2)  # (B, nh, T_past + T, hs)
        v = torch.cat([past[1], v], dim=2)
    T_all = k.shape[2]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(C // nh)  # (B, nh, T, T_all)
    allowed = torch.ones(T, T_all, dtype=torch.bool).tril(diagonal=T_all - T)
    weights = scores.masked_fill(~allowed, float("-inf")).softmax(-1)
    y = (weights @ v).transpose(1, 2).reshape(B, T, C)
    return attn.c_proj(y), (k, v)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "cached_attention_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_cached_attention(cached_attention)
### BEGIN HIDDEN TESTS
from gptlab.checks import init_random
from gptlab.grading import record, unavailable
from gptlab.model import CausalSelfAttention as _CSA
torch.manual_seed(21)
_attn = init_random(_CSA(GPTConfig.from_preset("nano", vocab_size=65)).eval(), seed=21)
_x = torch.randn(1, 9, 48)
with torch.no_grad(), unavailable("gptlab.model.CausalSelfAttention", "gptlab.model.attend",
                                  "gptlab.model.causal_mask", "gptlab.kv_cache.KVCache"):
    _y1, _past = cached_attention(_attn, _x[:, :6])
    _y2, _past = cached_attention(_attn, _x[:, 6:], _past)
record("y_prefix", _y1)
record("y_rest", _y2)
record("k_all", _past[0])
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqVmu+qbUmRxN/lfj7d1N+sqn4VEblgy4jNKNoOM0i/+/wiMvdXQW2455y911pVmZERkVnrX9/+8ofvv/zy7ad/ffv+61/5t//8
Q9tf3/7uX9qPrbX+9e1/vv/yz5/1nT9+//X7t59+136M1daJceOLn0e8dvuY/LzP6nHOvV8/tB/H6Sfa7JsP+myx1hqhDxbfXl1X
/9B/bHO0Ncf40t/P4L+tO43LPd8N/by44Jw5r56253r73Keb7jXGOevppv2e1+brXb+8NXffLXzXOV5wxdYHc2+WrQXq577WOc9X
rL2ijf1033n3XWflfVkQXxzjeXva01jPC7zv3Rna3Vlznve27zQ6N5p3Tu/utn5ZpT6I0UY/7/i23Km9Ge/4kvsWt22+PuZrY6zD
fYnZiNPXVJzvvaPP+RzC1wha7IxIjHEJhfYa7ID7+kZ77scm5tNCSNhbdzoIvc22d/M6Jvma78ybHxDdG0SENY19Dk/XXiPuZt/T
27jj9a2AKgP3Rqzovu1tXNyIuuO5hp64ln8ZvR32pFjFHH2ct/SMPRrf39cxPLedeN53P23HI1He9gEuRFHxWIMo39Uc28Fug4Rq
30pxFFoGUVMuHHH2kNAkg4R/NIWyNaWix9TDoodivKbT8qJPNuo9nMneZnOK2pm9H7I0HPLOoufSFgAkWc2rwTKbnGDJIX9BAjMX
a/V+456M/+RerTnMYJSgxfDPpJTA9OfMrHiEZx7vKdqhCLz4TjTHGDMByW3uTki1TlLuoyKcWK7dQ1Dg53XeZCu+lZ4CojOEg5W/
cJKm1ke1Zk0TnLarsojtHlW7ASOAityvENa24qtfuIZvNcWUNZCPnqiillQTTsh+qp+jnA1QNylxA6yvBx84fzx5dVKccSMAbMrZ
XLNReteR6o0Mx7wj0TLZZ7wv6o37HPjhyxX95unaDrt9a7taFrfgS91Lfh0Wu2s7YDDD7VCCrgUPdwCJ5LHNeoRCB4OsdDbmTxq7
1727CwNMgUfyxA0eob/iqUzM5AbvXAFGPLFUvVn4JPaFKVKXzBnhcj0DLMEVXksoxAbeXnfxPAqRr7S127mZxzv73PcVzUACYi/C
0VntGieJlv0sw2kCjjjbadCtFUHjRMVJ0S/DbIFyWFWPbYSP+u9F629o4w7HEKmHyeA0NkOYVhEtgKNktDPIF77nClbBbQwflcHg
gpGsCXnf5USbNadwpU2S4glk9XVu3thomHDPJHP67oRfCZ1TqG2w6OHyg4w2jOllskDWObKwYG0C8cKXXB40BrjkYdoj30tGPyvG
MdPfDoyAmJMMTIHg9Iq0p0UwwqED2tcgJ+AX8txJ+meDwu3S43PgP53VrijsYfRPChi+O7oP6sfeZyIKZm36u7Ei2eOD8COg4Ntd
FKjTnbUzskHk1jAlvsvy0UHDpj3242RQ5V3UPLJmGzSIvnprG1je4Gqix9YAeeSeoaJ39k3IojogYOUCG/S/SIsf2HXrvNcKnvaa
0da0RqgwYQh4L8Sd6AklOhUtoFbYMksOxFAmM5/I9VzO9lNLICCQ4z1yBfqtYInjdkA0xbBQw1SdJt0SuXkVUqA1OulzwUHURDeS
LKi7jWqvrNf34gJHI4S7YoNeymW7IWUbDqvC3i1rvug+PSjTDu7ILf4nFZOChF1c/qgrYvX8IAoflYMbVBhD3FugGTAjEpgqBDhY
Z9JPW40979kyTF7LqsQAM2gjy+/yOIJuQsVYxJItsPJJ6R51MVIkUJWVYRrwTwNey3wMTSL605x9bFVSI97CwISQip0QYMgKtcaK
SIldFZSmZzjaZAHQn2W/1P2sXa4D9s+8kVukqiVrQAck6BgpUBGsdkxAkuVNGE1YfYKoZR4QZWNG01KB0hDV6GlwEgWfjMjKUIWw
cnD3i3M9enQ7ydLluzrXFikuMwmmLsHUCMFJK8O/GzIYGaUmsZ4p15TUijsSpLup/pJu5A64qD4A4b0n51Ej+jnXiAK2MstyL8Cp
7CQKAy9mwYzoSOMr9W0QkOjLVPRkAUdGmv+DtrwcpiBiZg2YHct606CROWKBP62qvuTqJVm+Tq2NfOIlJUcbLVuNydorwQ+ZkZ4s
9yeCvEkKkCUyVdwBRNjMTbiFRB4l3IkTsWQWHNaEFOEsfTMwI2/tR06+8/xIf0KKWto8rNnCjL+bNQr4R+auSbaOZFZPgR2oS1Ml
FCtLaxYkJFKqVzJ+iBG/Z7VeOgy2nY/HXBPZRP+V+zi1F+RZgu9OImSipYOWcRgO9d5WjkGhLZSm/ygKvVn25BelpQFKWYbuz5Wi
b5wW0emlS2jQuZEXgFkciZkZVm8QVWRNdXGbUbqw0i09BtsEGt1rGzK095NA2a+33Ekd9rYpvJRfikeu/KZc61fbU3gXVEUmhoBr
gXMnkZKWfASlgdKenmT/yIp6Fft7EYnESVYEgeyFSZzNaMXuVMSSxFvNuBJmKITKxHRxYS6dzaH1Fl4yCZVYdiAAKW8mpSFNW2Wd
lLwD7Ryl3EcGCX+V7pjtseSwwSKvSDad3LAbimaFvtAGG7AzRzyXWqBMH40az0xvK8/tvG+AFihhagaVvNopX/hk4YJ6GPKqRLSL
8AGc+jlzZpeMINDZyHpD6eLPoeC5SBcA7y5e8ZfYvJo9Lw5q27faCcwM0ZlpaR/Mvc37R3aMy/XcjUetlgGPD/4qXKAs1CwnUo5M
zGrGKEQMbQA5GB3fRTX6agkuhdPcCcqnY/rM3JueghU5uPA80Uspw7WNrALpuATmVf2HyrqZpdQ7s8Am+wfsedpLkMFV6IquRb+w
89IYWSHu0q0MZJfYrWQxGhHwXW6U1dNm3tonlgHn/2qp6lq7k7kVVVZSxk2jiJa9EQVAPbVsHrvWbRYBUaCLRkf1DU+qA/JSOzzf
TTpTwosPymyKCuNY9/grte7Jhz9RSwpK0sbBBD3JVBuFgo3ChffZGkwYnTgE1L86YXC03aqrhicAzn6eYDRNB/QlSoMN5BhkXBXX
TUcCD4A3kzqa98z9xbb0nbPKD2OwxMzOF6WBgn+KnIwhqQ4U0JA/WzVbUO9RJihsLWvegaDIaqbc4OkByE1Wpckju9dUgrdUwSd2
ABsUtRPYneBRgStRjpLMYgaYUYOEXWad7kE+vsqQldHRu2Tov8CJhwqSXf5a1l3m6GZTpS4BbKSRoZMpF8+n7DZnS+IWCOqk/2Uf
mLGVwwbocaSbI21kdCQzwP2YjmNndZocR4k5KhEtYYVJmrK1no8hgBrLdOcck7iypZXr7SHz2gUlvH52Z0AYwljJpvjhq1ZZK2rU
wLUFIlhyzck2tAvXtZ5GSeWdfuRS89SJe2aUUX1LCbJ8dY4JNKsgklbapZrCW9ycF6mS3LJ2NZXqn2y4cPLsxhaNxctxzZNt+zH/
KbzQ0fJkEQutkU3/aOAlbVnPQhX7yoEU3kzOqblxJsXwcc89bJFD1DiFPgcyN7JAIhGjYL05Kflw2vAhV77izt9/ffvLn//7j99+
+vanX/76/ddvX9/+8V/f//bzt59+17/mF3oWv//tt69v//eHv/395z/9+X//4wEqkHkacaZkajj2PmYVTiaSTrLyjqZ7lx1rSm14
Dqlh4fv0++1qKnDCgzCKTdKdWMNW8F9La73FwnBasjsV91arbkOwo77dxt5OVFuxB1BDgLP7xFDhPHIIBL1PGeJV7RVsPwwtWEEN
cQ4QcULnw5n6cgu3g/TxGu26Zgzhq2rlWjWPY1vU0TksUhpFDMgBi2a3Cb6oN+OnS0tmiomsS8jPeQtcOawToSm1wJ4lzD5HSoxK
kgcksPAnS/1L2kUK/mVamjIEnT3Xqqwf2y+Hyh9pljJh6kFPJWOqWzSaUE307GybA3SSIGVvpfklVZOJIDyErCYxZ2n6EDUZQjWo
0ptzjaZOJbEf8rFTXbO4m323VBqKcuoTqw5/a4hkPkMBU+Wl1oKBZUvtOEPJGqN6SIAI9VFKjR/WlxJhTa6RvaQLJ1Ro60xrukkD
v5fToa6W8JjOH5LcdpT8QPvGJmpIKoPTk6IFF+ogAas5meYMOaOFEbfBYherJpF0lOLjwW6NrLlmb4NfzSzrjtL/q1FF8hTcH3CJ
O2ChZtSgGKKMqiIWSCJMCU1DF1mHk93zBe71LZ1WqDy9EAn+lAXKcwI54+1JpYaE+0ZOEzTLhPStlZoOotVpp0U7tCEnHY2nB2mJ
ATtqMdKpqoFQfeduHx/0bqcd8CFX+AACeZk6AMlFhnzBhF3TBLMPUubOsmnJGjGX3UGxZk5vQ85iVptPhLj79BwQAkHTtyPWNFbA
SCVVCJSaJGdSrzqaWYM9kHJf6j6dEFxFkvJ8iO6jF6HhimQV3MjQhhOWzykEzoZiSEiRUrFBHVxw+arhyZwyVmkIgSBuIPEFbWna
mIMg9gT0a9ykohseqbkDhG16pIVh81PnVh7S8bf3GTbNrhGPuQeXAITVDyVNP50otJzfURyq3pyJo1iy0gakuhfMUh06wEZTraor
b3tYeaoXp1kAfLWXqyYqCt5itioPzWCjWobmkxeDCk48OSLXhmJUgFWAhH26+xpdR12rhs4hFH2m/jBAtS0a1kCfdlKgTl2t57/k
iR41ouClaep5qVDQCagYaSWxe5vmLWc8PH6ocEpLYMz2kpAA07BjcxtPD3TSTlBcr2mKkUdZNn8mX9D8cIU51286Ahx1iNDM77i3
m0dykpZEAbyksVXSj2p575p7yLxIMxMfGzvTe3nHhg0u8QSdOluckZMizbRuWGzgg1z/rREosdmf2Mglikat3hhMsm11k4tDGzzN
8oEihZh+ilzT9c4c6+qYZ/cPC6gZziHZVYcXn7pp0s2TO8M11aSoyS5Fu1ZfTcU9K/GCiQscvtNtXFFVuoUug1/tNrQKXlILsAdU
Xeo4z3skvxvppAoCmWXCdPY1PI3R5Gy/GthCyGAnSU5VvVb5cZV5gVaV1z0tVSukAXs7NptIizujVhNtKh5LZJLQUExBTW9D47Zb
zj6gdFJTzSR6ODW0uPYjKHb1GerUNXzbeW4pDGUJdGklAHsfulQg3A41NISF9fRplKXmta1OQaZkpHSAfVAriS949H4mHZpcowRO
rqY8WyfJo3oj8pYnuORnofeZUv4sn599jnvhaJUg3P46OWyXb9A5Rlahsr5gJv+sSeepAwGAn0cy2dywtVeHepr1AmnbcuBIXPMI
kpAeVaTRSEt56mCUoEqlrTZS+Hfr6A4fRflH0hXwFatvH04CPtm/mbTsaW4eR4piZViTWpYmp+6+1lVH9Eq/Sc+1aHAX/Nldn+HL
1XS+SJiuA9zUURT5IRIr9USNfZ4l6xA4knkofSrp5NUIs854skS4iWcq/XNSzxcjCxx0NYE+Dwm5cYZHQ+SjQWs+HHuJQZw5gylx
qTP1rUPZbJzVaUoa67gYLkVoMwlQlPvN3CW2XWMdbwDDdD8HPKFhQq7FroIv1dhtgq5ZQtE1x5+jTjPg3fM5dmLz1Ha14YB9tuzx
1JSRlXiZ06vZ6sl6bFcU55TKK5PqVqmIo/cIRplMsfVKjqK2NtEdUZoEs65yI0vz2OnOGwKQNzUn8pCL58oDMa7EH/KcWYf1WLNZ
hD/Xtl+v6Yi6jOQpknld4l5oPNvqPP1W17ByHKPXS1Yd0qjZaX4BRDMbn6WXz5BF7kXQereCLZTsg+2jSXm9/ID0pQWgnwgdZ6an
RV0pwUy5bqr/eVTqMMFIpyb4hIJGvBrr12GXBDOr0lDHL0y87aHR/Xc9aXytWx3p33/+x6//YT9aNk2TnNSF9xzJrBIdNe5bhyo6
cKlM4iLEaV/ZAs3xOcgAF/Nm6ts7fqkhb3TVAlYZ62z1Mx7FSmnEkcjV+xD5xkb3xHLkdJHC0cAzuwz1Iu0zsoAdzs4uc+mAoLmz
xIUd4TO7HLVobdZwjXv6dQ+PizFU+IRZK9dk2nBQ33117umBHwgAcdk60nrcaEmDsUTUo15ZmToyKyyjxRBKVYbeXlJrkjVvTSir
Stc/NPn9yqfTsdnOArGp9ye8ElhzqN1KLI5pavDwhWrf+32aUARs5pkJHEl06kUjSZbqz1WBi/JM2/4O7GHRMuyhvnOVG/VrOGzX
Os23NWtf9UqKNhx1MKWZ0Msm2EXJ2no6t3nrHaumdxG6jlyj+qejk+BXGOI5dOK9ypTyoUU3ADXQOSvBpev35+iA2GOFTjWvsubl
B/AMkv2qX0rU8+HsmULjTZes3onJM3FEV+o6MmM6MghVXDkhxO6dahp4duC6E1V8ssrceyKDHvgGmsyT//k5JUZIex1qqi0Hvb0U
XecOeZKJX5335atKmvNiKXaOd6b9ZtqBE+4osuZwQ6G3UewiKZNdr09AY6D97eo0NEegBSup9wxsRlUqPnSUjCON3GBmB9l9Sp0B
0JsDNWgGI7jWGmADcXmwlA+dd7x6S073WhHbLSPc/8Qkxg8lefTWQ943NHfbdVbzFKZui85Wjt6bS1iED0bqlT0xPKZrZ3eleTSI
yWZ6q+0rg36FpEymDjXI9EzKtrSH5hk20tpvzyd2BTxDyeWksqgp9IaA5VIjRlYz0wMh0XqfK6cg/IMMRJ3ZyNucm+9nyTbFzRfW
XlhgXg4/1QxGDn4gQImiX2PAdevFL0PCI9EqqqYDGR017U/toFefxeia9RmckD20oybt0B0Nb4966039qwcGNP46wkqDdEKu3kAi
UgNdqPFS00j2+J1Feyq60laVQIzOUf2nr9HkdI+iTtI9o6XFGNcv2KX5QNGIUrYeT1foPad6kSQ0s0piUocxq/EhqzsqTixeI91X
+Nf0YWw/Z+qEXq835XHujlbA0gtZIpZRL0xocHTvrKaDEj31ydWRUKuxa9P7TnVuIkO7ep6mw7czwOn49yNhy+9v/w9j+qm3
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. A cached forward pass and cached greedy decoding
#
# `forward_cached(model, idx_new, past)` runs the whole model on the new tokens only: embeddings at their
# absolute positions, every block with `cached_attention` in place of `block.attn`, the final LayerNorm
# `ln_f` and the head. `past` is a list with one `(k, v)` per layer (or `None` at the start). It returns the
# logits of the new positions and the new list.
#
# `decode_cached(model, idx, max_new_tokens)` feeds the prompt once, then one token per step: after the
# prompt the model never sees more than the newest token.

# %% nbgrader={"grade": false, "grade_id": "decode_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def forward_cached(model, idx_new: torch.Tensor, past=None):
    """idx_new (B, T) -> (logits (B, T, V), past: list of (k, v) per layer)."""
    ### BEGIN SOLUTION
    start = 0 if past is None else past[0][0].shape[2]
    pos = torch.arange(start, start + idx_new.shape[1])
    x = model.transformer.wte(idx_new) + model.transformer.wpe(pos)  # (B, T, C)
    new_past = []
    for i, block in enumerate(model.transformer.h):
        y, kv = cached_attention(block.attn, block.ln_1(x), None if past is None else past[i])
        x = x + y
        x = x + block.mlp(block.ln_2(x))
        new_past.append(kv)
    return model.lm_head(model.transformer.ln_f(x)), new_past
    ### END SOLUTION


@torch.no_grad()
def decode_cached(model, idx: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
    """Greedy decoding with the cache: idx (B, T) -> (B, T + max_new_tokens)."""
    ### BEGIN SOLUTION
    logits, past = forward_cached(model, idx)
    for _ in range(max_new_tokens):
        nxt = logits[:, -1].argmax(-1, keepdim=True)  # (B, 1)
        idx = torch.cat([idx, nxt], dim=1)
        logits, past = forward_cached(model, nxt, past)
    return idx
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "decode_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_cached_decoding(decode_cached, forward_cached)
### BEGIN HIDDEN TESTS
from gptlab.checks import init_random
from gptlab.grading import record, unavailable
torch.manual_seed(22)
_model = init_random(GPT(GPTConfig.from_preset("nano", vocab_size=65)).eval(), seed=22)
_idx = torch.randint(0, 65, (3, 4))
with torch.no_grad(), unavailable("gptlab.model.GPT", "gptlab.model.attend", "gptlab.model.causal_mask",
                                  "gptlab.kv_cache.KVCache", "gptlab.engine.decode.DecodeStep",
                                  "gptlab.generation.generate"):
    _logits, _past = forward_cached(_model, _idx[:, :3])
    _logits2, _ = forward_cached(_model, _idx[:, 3:], _past)
    _tokens = decode_cached(_model, _idx, 25)
record("logits_step", _logits2, atol=1e-4)
record("tokens", _tokens)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqdlt1qHEcQhd9lr9eiq7vrT69iTBBYSYyFZSI5N8bvnq+q1zYmF4GgRczs9NTPqXNO7dfL0/MfH15ffnt5ffx8uf96eXh9frrc
j7sxhlwvf/1y9/fD05fHOvT+4fXhcv/2jdyNNcLT93XcrVBT35HXN+NuhouHLasbm0MjxlBODY6J7zGMm+0+h8mWerBj8XXMeSXs
3lxzyds5ctqewzlEUFfPSuczg8Bcy93aIbGlwoivRVTXenXI0DX3iqi7GHss2dnHSLDlHFLeEB8qdedb5gqRzrbSPFasKm+my/B6
V2foJgmXphz31A6Uezq50utmDdGRxC5kcsaUIbsebDOKPfUt2lmWncDXtJzaZzQ5LXMWRtPWJG52oLF0T70dop3MXb3J3eZqeVR5
qcG1HbSTKICT/cbcqkqfq4cCHHRk6xRipHAArwktpWnJrGDUpxJhlYRmY2X29dakj1FVmYkxrNUvDwOC5VtnnfKq0DoS/4sdM6oP
UN6upypmMk1W7C5YN4jPGjAdzMHJnt2mKMsbhMyFLqiwUfdIMfhWUwWyyAVVoNAclL2bQvXyXDpOr0nGGNZtQKBFvdID2HO7xW7+
wcCwnqQRXuFI1yFUKhMydOpgrMBT7cWios1t0VoIQ45TLNRisrsOgfKMA38QaWw7xIGgAqm61q3mMGw1vaDf2KmtImIDYXEZwlOe
rcNf5Vvm1fOWpS6pWQCAhQnz5xJOOiM5HeTcSRFdhQcC3Ei4E4C7iR7IShAzcxz8vOhbuLaoBOGpW+WowKN5CmIqU6NGV4RZPrxm
7YpaIrThppll6yhkSlqxrl6AM4T1Yxc0P4y3j46gP9Nd1UbRJtbBDKMYrkqvLUOOZ7N3YSJAuw/hlyKGEjO5bdCft7Ah2dRcPURZ
cJHpVZyScvG1jkAk5HFKBQov05pdH6KZVgy5lu5MCvFOAJgkzL7GdxZgNhtmMTePmcGEkG1xKppMWq6TkJFxQ96Mfsml7RwKh23Y
TQPIPLPa1CHV2LLuPkFmH0uxyjXwm64UBQFmz8Q2Pq0x6m2MQkvYNyPgFt2c3nCwnDe/cExOh4NHyansbNfQBbzczxFzs2qovYaK
sL2VZ9Lo0qPGhjEnnprHHgy8l4weCf43J8PtzPglRGyHrZFjL2aHARoMxuOQHcUO62UQDF1st8WC/MYpD4KACW0wuziQuyA8r2Na
wNJj6aNgDuvSkV4ZUKcbZcll/M0O1hGqQzHdExjIPsuEqZQeC3/GgCUXgMU4DBABN5sUs/DvSmMUPtgQPTzIRbpVCjIWonqbO1Rq
L6q1KsGeq69nMTvjlEORcGOJH+YCDTMtZSzbkqt74QjObE29WiRY6tmX3AFW75GwMsTdQ6CRzYZtOU94UcwrpDEVZ9+0q+d0h4Wj
VyfFS23f26ZaGOKRG4LEGuSsoW6Sf21LpK7t2B6AiEWlW2b/W8Dw46YK7qXGVi6+zKHzhN8MU+pmnkcLjVqLXdWQ6PFBoGPmN8Uy
kl78eYqsvTM6MASkGdU2C9hDCF39BO7R1PaStVRg768xMt6IccwicETcT45TF6B+WEPdpbpmGWbHEOYZGb9Q1mThW5zh1DhvXEb8
OFJrmDjMVm5ZcFgcZ8a76+Xjh0/vL/eX35+eH14v18vLnw+f+Qn2FupcTd99+3a9vD5/fPz08vO3mzy+YRf8x0831jA/WthWaFtu
H0g7xxWCcOH99/1rv/1xeT7WT9iCPJ7XpVc2NhOVuLLF/8cHKfz7A52RZAUn27ginVMnRdYnflbO7amLL/32/EetPw6SR/MnpB8+
/QroTOD89g+lOEKL
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. How much faster?
#
# Without a cache, step *t* runs the model over all *t* tokens again; with it, over one. Time both on a
# 6-layer model generating 150 tokens (best of 2 runs each), and check they produce the same tokens.
# One thread, so that the comparison does not depend on what else the machine is doing. (While a class is
# being graded this ungraded experiment runs shorter: 60 tokens.)

# %%
torch.set_num_threads(1)
N_NEW = 60 if os.environ.get("GPTLAB_GRADING") == "1" else 150


@torch.no_grad()
def decode_uncached(model, idx, max_new_tokens):
    for _ in range(max_new_tokens):
        idx = torch.cat([idx, model(idx)[:, -1].argmax(-1, keepdim=True)], dim=1)
    return idx


def best_time(fn, repeat=2):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


torch.manual_seed(0)
big = GPT(GPTConfig.from_preset("mini", vocab_size=65)).eval()
start = torch.zeros(1, 1, dtype=torch.long)
t_plain, plain = best_time(lambda: decode_uncached(big, start, N_NEW))
t_cached, cached = best_time(lambda: decode_cached(big, start, N_NEW))
assert torch.equal(plain, cached), "cached and uncached decoding disagree"
print(f"uncached {t_plain * 1000:.0f} ms · cached {t_cached * 1000:.0f} ms · speed-up {t_plain / t_cached:.1f}x")
assert t_cached < t_plain, "the cache should make decoding faster"

# %% [markdown]
# ## 4. Capstone: your GPT, your sampler, your cache
#
# Every earlier exercise of the track left a piece in its notebook: `LayerNorm`, `GELU` and `MLP`
# (exercise 02), the embeddings (03), `CausalSelfAttention` (04), `Block` (05), `GPT` (06), and `sample`
# (08). `own_pieces` loads each one from the exercise notebooks saved next to this one; a piece you have not
# written yet (or whose notebook is not here) is replaced by the course's, and the list says whose each is.

# %% tags=["nbval-ignore-output"]
from gptlab.capstone import assemble_gpt, course_pieces
from gptlab.exercises import own_pieces
from gptlab.sampling import next_token_probs, sample_from_probs


def course_sample(logits, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, generator=None):
    probs = next_token_probs(logits, temperature=temperature, top_k=top_k or None, top_p=top_p, min_p=min_p or None)
    return sample_from_probs(probs, generator)


course = course_pieces()
pieces = own_pieces({
    "LayerNorm": ("02_layernorm_mlp", course["LayerNorm"]),
    "GELU": ("02_layernorm_mlp", course["GELU"]),
    "MLP": ("02_layernorm_mlp", course["MLP"]),
    "CausalSelfAttention": ("04_attention", course["CausalSelfAttention"]),
    "Block": ("05_block", course["Block"]),
    "GPT": ("06_gpt", course["GPT"]),
    "sample": ("08_generation", course_sample),
})

# %% [markdown]
# Now one model out of them, carrying the weights of the trained Shakespeare GPT. Each of your pieces is
# first tried alone on those weights: one that gives a different output from the course's piece is set
# aside (with the reason) so that the rest still runs — fix it in its own exercise. Then the whole model
# must give the reference's logits.

# %% tags=["nbval-ignore-output"]
from gptlab.assets import load_shakespeare_char

reference, tok = load_shakespeare_char()
mine, whose = assemble_gpt(pieces, reference)
text = torch.tensor([tok.encode("ROMEO:\nWhat light through yonder window breaks?")])
with torch.no_grad():
    gap = float((mine(text) - reference(text)).abs().max())
print(f"largest logit difference from the reference GPT: {gap:.2e}")
assert gap < 1e-4

# %% [markdown]
# Your cache on your model: greedy decoding with `decode_cached` gives the reference's greedy tokens, and
# then a sample drawn with your own sampler, one cached step at a time.

# %% tags=["nbval-ignore-output"]
prompt = torch.tensor([tok.encode("ROMEO:\n")])
n_new = reference.config.block_size - prompt.shape[1]  # fill the context, no further
assert torch.equal(decode_cached(mine, prompt, n_new), decode_uncached(reference, prompt, n_new))


@torch.no_grad()
def sample_cached(model, idx, max_new_tokens, sample, generator, **settings):
    logits, past = forward_cached(model, idx)
    for _ in range(max_new_tokens):
        nxt = sample(logits[:, -1], generator=generator, **settings)  # (B,)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
        logits, past = forward_cached(model, nxt[:, None], past)
    return idx


story = sample_cached(mine, prompt, n_new, pieces["sample"], torch.Generator().manual_seed(0), temperature=0.8,
                      top_k=20)
print(tok.decode(story[0].tolist()))
