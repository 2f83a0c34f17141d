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
# # Exercise 4 · Causal self-attention, one head then many
#
# **Goal:** build the mask that stops a token from looking at its future, the attention of one head that
# uses it, and then GPT-2's multi-head `CausalSelfAttention` layer, with GPT-2's parameter names and layout
# so that GPT-2's weights load into it.
# A language model is trained to predict token *t + 1* from tokens *0 … t*; if position *t* could see
# position *t + 1*, it would simply copy the answer and learn nothing.
#
# **Difficulty:** ★★☆ · **Importance:** 🔵🔵🔵🔵🔵 · **Expected time:** 40 minutes · Follows course notebook
# 02 (attention)
#
# You write two functions and a module. After each, run the check cell below it: it tells you *what* is wrong
# (a leak from the future, rows that do not sum to 1, a missing scale ...). Hidden tests run the same
# functions on other inputs when your notebook is graded.

# %%
import math

import torch

import torch.nn as nn

from gptlab.checks import check_causal_mask, check_causal_self_attention, check_masked_attention
from gptlab.config import GPTConfig
from gptlab.model import Projection

# %% [markdown]
# ## 1. The mask
#
# `causal_mask(T)` returns a `(T, T)` **bool** tensor: entry `[i, j]` is `True` when query position `i`
# may attend to key position `j`, that is when `j <= i`.

# %% nbgrader={"grade": false, "grade_id": "mask_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def causal_mask(T: int) -> torch.Tensor:
    """(T, T) bool, True where position i may look at position j (j <= i)."""
    ### BEGIN SOLUTION
    return torch.ones(T, T, dtype=torch.bool).tril()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mask_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_causal_mask(causal_mask)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
for T in (1, 2, 9):
    record(f"mask_{T}", causal_mask(T))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqdksEKwjAMht8l5yhtwUP7KmNIZBVl1cnaeRl999UJCrqW0EtI4PvyF5oZbuT7owQzA4XBgZF2Jw4I4zqIvRBCIjzJTfbFdBQI
TBPGybYI/fXegYHTkFgEf6FHghqJso0R35tVxWY8k/MW17aYpFB9k3R9Er9+3lTlsMUfheFtGUUtK2SsMv8nMfCtr2aU7DVo1Oka
4gJ70P0t
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Masked self-attention, one head
#
# `attention(q, k, v)` takes the queries, keys and values of one head, shape `(..., T, head_dim)`, and returns
# `(output, weights)`:
#
# 1. scores `q @ k^T / sqrt(head_dim)`, shape `(B, n_head, T, T)`;
# 2. scores at forbidden positions set to `-inf`, so that softmax gives them weight exactly 0;
# 3. `weights = softmax(scores)` over the keys (the last dimension);
# 4. `output = weights @ v`.
#
# Written with `@` and the last two dimensions, the same function serves many heads at once: give it
# `(B, n_head, T, head_dim)` tensors and it computes every head side by side (the check does exactly that).

# %% nbgrader={"grade": false, "grade_id": "attention_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Causal scaled dot-product attention: (B, nh, T, hs) x3 -> output (B, nh, T, hs), weights (B, nh, T, T)."""
    ### BEGIN SOLUTION
    T, hs = q.shape[-2], q.shape[-1]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, nh, T, T)
    scores = scores.masked_fill(~causal_mask(T), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "attention_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_masked_attention(attention)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
_g = torch.Generator().manual_seed(2024)
_q, _k, _v = (torch.randn(2, 4, 5, 16, generator=_g) for _ in range(3))
from gptlab.grading import unavailable
with unavailable("torch.nn.functional.scaled_dot_product_attention", "gptlab.model.attend"):
    _out, _w = attention(_q, _k, _v)
record("output", _out)
record("weights", _w)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqVmtuOnMcNhN9lrkdCN/usVzF8IcBKbMSIjVhOLgy/e74q9jiSIiOIAAG7O/+hmyxWFdnz2+OnXz/+/OvHx7vfHu8//vTj4139
8KaM5+Mf/qW8LaXU5+Of73/89YOu+e79x/ePd9+Ut232XeYZz/q29b13WetZ3q6zdkQbk5/rGqs2PtDPvdS1ap3PN/xS47S1Yj7j
bW2VP/MK/t5G5Y8lBjfM1s7svZ7nm/q2rOj7lNBFfay19Yku6jFbr6Ppgz36KaOU40ed1kbpEVpTX+esyqb4ICo/1rH0wSlbS52H
n2OV1Yf2o/WVPlvVJWXXfupuo+sXNjT2eP1cSrSdD+KRPXr1LmKOGav3rl/GIAJn1KFt1DPWXMPbmPWcMWtToPooq+15tm9ng633
ubWo2HOM072lSmQ6t3mzXF7H4HFPhY1o9FUUkX12rNGq/j5rKbvV4htKZynzND22RKmjL3alX1h8rDNOJZNr+o1eeq/scdSt9MUu
vOSQSmWjb6I4nMq+x9Z1y++rnd/DH8xVSMw8im2prbTTHdChSLHB3EWUUPaH99rKXEvXV4I0Rmu6PsYItqk387ao5fTIQJHF3ho3
6aq5Vxuk8Oko75KbbodsNZKvh5ZKpiPTwurYd/dDxySAxM+rK4ukstbcG8/fnUflzws0eqV7tqgjErOEOPjnX9io8hVTqeiN3QN1
3UIh8Oc9cxd9NFK5sxbOOQHonUjSM/YBj/XtaOAprycHZ+jtzvUCNGX7gxkUYHWN6Oal1ym/4I+qml7SnJtAtfw7Fy9KVfgl/zyU
+31vU0rn8h21k1IhImFzoqw5VeYAc7PtBCOR3A18GRBtzT5Dyy6lN/KVpVbAEhVGKppKuIzTlN5+DlVVoylZUQ4pdnnAFCPYhu5d
qqbagWtlm3uVXLWIZgEmPx8GIq4lF3r6XBsseXULuLHQpAJoqI1zDDIeNGYZYUAAALZ5kciCRr2/9BjbATGtsCg4TZBge5TfmVPJ
WhQ18AvvqBDxSQ37hk52260PIjv36cVXbUVnCE6A9ZBov22tAZ0J+bxgdirxjIzfBEHtRJYEO68qfl5AXbdSjUvQR4w3xOmFz6Xd
+ZNZN3Ct+QFFALU1Qv4mWFOBLbxWgBRAyLFpVCXwB4naaDlaYs84b9VLdXFFkOBajaAJA45bmawODYid5BS8qySpV15NDbdk00EG
QGHoUSLfW5pgDKnw2/hrUYa90+BexMKhpEqCYOy7B0pzt+ZyZG8rQ6xQ86zjPXAJHJZJQQ14iy6SXLU5eZiCFJAaSMx4ryWxGwmh
0wIQiG0FcKoRHs+reCiE64KdrYCs5COK/xS4fzcX/EFARtIQi2aFkcxdRDZKcdbX5i542ULVweyGxYR0qQa1uk4WOiuGipKJILQY
yV2SWNbTLXONx6JI4+4XaIuVWP1ECE/upJJsas4ShIpSfBSOpZCq5YOaCN5rEfjzVKBXUK0ryQBGLyzFSg9zrXDSeKygCnvnYyEs
+LKrdCEkpdAVWg+lsJIbqDfKvS/xCgoZFQZ/+jldpK7nwxfUd9bw0I6Pw8l+AARB8HPgoAPSHfMNkwsxqT8wDzE2aEHHVC0IauRH
nOQKrjwdEvGqWVgd4DO3QKwH4ivSa0C25wasYuPqL49cCd8F/WOFtp5PBkSsrkBezubJThYz0TuUibdDBpQ0E92QaiyXLBVPBdZL
wxis2ZtVfVJmMJpBckaXegzvgLQB8qxxKJUgJX+SD6pzOZIH1tkBQ/sDEoOmn3vLFhVkxCCSAwNUoY+UERpio6IFeizlpIRAOKtf
+Zk4E8Qs7UzhirQXrI1NvzADy+E9eq4E5STE08xFjcNpuA8/V3R6gbI7WYF2a1JaR0e2vQO3UhW9XVZaqrV6vUrDD4VtSFS5Ttks
bb3sImlQRcEFR2xkzkBEofWLS3xKSVzisTZCbV+lfRNgp4lFHz6DHIETjgXKyWo+YsQQaWitAKJJa/VYXoskZ8KpA7DVhuAO2wzp
aKYJKAPVfmuW7DVDYSO1OEqvA1kDOrtrE7iLChsnTPFOkmdniaxiFHFWSV4zKLwmmiUvRCeNYsgyiUZUmUeZNMIRsfijtHDNiQcZ
LQp03jQu1VxPNhUwj7ZhZ49qICIOMWwoc2fYDLBPMFIeGo4uMQB4JkWR4UMZUNFbU+xFkWzX3UGLCyj4sRM2u6yFDu2Q2bazDGSm
jzMvTfLjaNd5U1j9vLoBudGZ5oBgyMsmHZI9xPNiCNPB6tPXBqsEFKno0PNLnqZwxzYVz5Khq7GtygNypD9Ixm8wU7dnKZQ+lp7N
PVPT8RM2myRs4Y5Wdd8kR47Lc2sh2363C0WJfyyH4BjMNqcVESCT2+0DNSwPkfJ0ZFqvhecDtrczn5SXsDIvOo8quu6rKNTFSOtI
Z8aGEkZ74CaGi5pk4ITrKwfHvOVtQGX0UCA9Q43SENTb8Ew6LP9cpLpQ227ZbAEMOiNLcIPXkInEAzIglj3XdwD8koLG26jrOKlo
5HhnZeF/oOiafUZXYeJ4RfpkTKqZpIdXKFJzXURRU3L9ZCdE8YHsk4xUpLi0RQnBkrxQMrCoiyxb3Ca0dxVNPpDMkS7/0tTwAm+v
GX3jsr4vHpccWe6zYxWwGi1lZeHuEnbwsnpBS7JcERxVVK3lCEUZ1IKpK5akKk7Deh8rD06AWBooAh/ylL6J7GB4EvtU2ob7DBv4
iDyOdtsQHA4xPblxCllKUt2X4f6hPvUkWLaaSQc7mIobXVkdVN4+lcVIkEQs6hLBYhLDcCd2SYYg0ZLoZ4JIYZq3seYgMS6p4GRI
f8sNIOwk9baAOJvIPrFBCvUPeHdZk5VtM3HGgY60SGRElstcuNVFb7sl8g6cxrXHFei5u0PQcO80QMIQRm9njx7cqmY3i3LTXqGd
mY8iZjQAbZlxBhlFUq8u5JYiHKDGft22sULQMy0AHCAavCqOESktch8Y9gOc0nFg7bnd0xQJ77jNMrYFy5RFQhVzw3FdNeKyliRH
RYJ9vSKAy4HLgaJBLfZFwJwj1ISIZBMIKR7YNz2NBhpQRzpOHjRIQipWIEc8uN6RhHysRz+u9amu1sRK1DUCyOpTHbJQx5HMY5SX
L8OpG/DeOq0zwd5WEqqDB1+Wjm5Vnhk5taNclRCGSjE23S16V1M05uXyWKLmy5Vy0tkbY74jJP8pOLh8sZ9ySonF5TrhM8SjHkbg
l1vJsUkM+vwdl9wwHGUUu5SN6pTEtJYA4rLZAkh0oTFv56Vd1XyuGwrCmAzSod/uac4ShuadNJAaEj2zPgipuMohIcmgbFsWaElH
Tt8oRHYx3TNMSS7WMpMGjytSrkUqBZrp2ZZrSJG1pBnAOtnXAMdJtd4RzxYfyNoF0WCtcIUKBXqlo9IIicWgXiYJoi67uQ1HcisN
tgOaGh/UdLBqfYerB4slD+7mUhUuO2BDh88roq00YmplV/4CPhGeLHoKktQOqyzGfk+TxLXqqx837XSER940+38TdRI6daAnpUZr
7LiHWZU9YeR2yi8cxkVuKUJAytZpSA3hy2yKVAQl7Rmgp28+nuQBLXZwB5V8js2oaSHcaKedJ4ckZqaHQzumutYkKF1UUrNwiEB7
p4EkeOhFjtngkS0/fltJTGb6/wmiuD/HGbh5HDG3ZPu71YQn2RTPSL1TQMsVxfxP3dBiLqrce+UietcseBK39x1ibJX7qTmkKfTw
Z7+C0LWV25UqUiuVYnGZUJ9NvwY/knR1KII2ouXlQjxNgXRXAiY8KvD0gRqf1lzyBgNnp0QXgAOBRe4odXN3vUYB6ZJUWu0A4Lmd
ooYnEJFfQNVLFfRUqSPaklaEF5Xbl2noikfo178HElwdcrjrePa60iPB+IF/5aWhSkNpCakJjQQUzfcSeSAA/DeXkZwphsFej24R
497uuBKJQjdNrYQjEtpwFOSWYfNsBJOQDaacS2MFkmHV+roOmUu6fLHEUMOiLooO6a0S67EJwdBk5U7qsU0aOyePyvZAxVYRWBmx
yy2o+22uHfUFGPK03Sit+kKDsGqISMPh5gZAEPWkTuBOLzysUwQFbViewbPkdtIQq00E+zf+Imzd4VJAu0oOnGVi+7oz3S1gn/qa
ZvBJTynhBwiyXSljA60mVlBZyk+PdueukeFwvDXWWerktRIKaYVmTDauW2PPzMTWrAmONP5Jow4KdnZBkv2cZbMGeMXDGpwmC1nL
fW3VYKXc3o06HBpG5swLwcHqpboDQUh0Zil1jbxanFslVMa5g3TSpQlRy/MYulH6nXrVpGq8fC0825NRz/EYgo5252x3Ko7zNsSg
VCc3ORhaIt/hNWOj9MYpo8cLhPyco8D/nlvmzZKmO06n4V9KRGt3vqHFJL1Ril1WpeY4T0ch+QHigfg419w3o9hNarRT5J9uEwxX
b4/ZC8pAY7KyNQA+ent6WoiG8rusKSrQWFZ1fgJ1cP/hHuV4wpuxp7ajZbikU2hgWnk6Xm133AfT/q48aaIq0KCcLmmCqsF9ePV1
Nk3Db1igEBknD1ThJJlyu1P6/XOPwsRj7DPluGgerS3KMKswstS2RL/dSEMtVmz36mpYKde0eHQndH45soE8dSBy96RhLI/xZXLG
ymOOWtt6nXYgVpBDvx0WMsn7dyrDZIOsqm9jgCdpUqsZ8VC0V4ovWnVm2r2uKlqaQjvsxCZlqGt2NP7oLQnn3JFMrSGNep+kL9Rj
yW+meZRxnTs3FjJZJHJcVmb5PXlY40GkZrrdkCWvl5w018dArjzCqBiVaeOkGYzO5nKi0+UecyDpKdgdRgPXpg4w3TVCrTNNmwpN
gPeVGarVY3RzWNe0e6VzqipRm2tCqTOcma3E0cQ6LtybaCfuiRuuNSsCvUGJ3MFpCiwNtnmfo9AgVDeLKPbrnEbsT61kewxCNO3P
xUFExSB030Ixr9v9DZueFS/9hsMuHcltgaB9bsjqq13QAQj/LKJD/sbTUzckmjzf4RIVPnx4RyIQDOK2rtVrNdkGG6H5aU5D1fFT
/5f1hYiV3cx2N3KPS9k1DY9pe2lChUW+DpnI3OaLR1J+Z+aQVYPl4rE16Bk6i7Im6RQ2ssmEAX0QaLIhh1s26dvn428//P27x7vH
X3786f3Hx/Pxy/fvf/7wePdNPPuT2pzf/v778/GvDz/89fuPv/yf5+lERxn64r/1MHbc4Y+Yxv3fp9dgsim4ZvdTdegNyZ08xG7S
/fHJtU19I8WdzWXXjN9qFLLH1I8lkojignzaqHu69DlyZHs0kRnW8CbVjjTJND46YsypVukyjD6e+vqm1BGDyn0lCTmpCc/PNk4r
Cu3ZObgfn/afGjTs11z6FQDoo6JEr+EO1T9cyBjjKqdtbEjsNU/crzvxdnRC5aTeI0a95lCPwi4abqQ7l/bNk8fssNXUKf3X90Xf
TTEft7k0qDV0wPHlvuiAsOY7WwJyNe9XJUJHsCki/4mButvpBGJSqq51eyI+wjBlkpEinRq/YgGHq63xRlQ9dWS6hJymAZGjNOXx
NAXIbzhokKXi+Pq+CD6Gsbq/ASRHRxFf7kuC0at7Vg1kd7qt4dOp8SkCiShVebv0qTMnSNtcpmMlsHNSwPD9J6zJuguFB7Tbhc0O
i0bG2UPIxN43kLitoUPOUAHJkDtef7IrYjN1xJcNZvV3D+K/UDjY7HLMdKqtI01jiUSviPUZaoE1Tdnqd1g6JEfm1tB3Pqoluy+d
UeS3NnyTTvzz+QBbvjSbRQhcp+suRzRHOcwvHuCHefCfITDMVeHnLRnxuk798pqtiW43qlAwDZtaCkgVIOb6DK0ho+24qM3oq3gK
UFQgmqiac3Q4cz7JMmtvEsE8BGhy3t682lZqJL/VIe+KRJuIdK6Cdpw/2ZW6d/VnKwlx5PczPr+Gta/X1IFL9aWglXPEJbP4WRTU
8hMFRxcbdzSxtreXMkQOiTVHxi62V4Z1XFkl4H6mZrwWaTg0dBiTs6EeOq9L1z80r1r+Ts1X0bc1R2oegUQ1w+zx5Z48WCxJxCG/
4F7F30jAeI39aapQu+X5uq2DJiE7CRFXdlSO+S0eCXb2YIlZ1Q46vPJLQQ3qTwRgQ5HfkoYc/6Yveq0sMh2Q4xvq/5LDgRr+/m+N
kKXP
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. See it
#
# The first row of the weights can only look at itself, so it is exactly 1; the last row spreads over
# every position. Each row sums to 1.

# %%
g = torch.Generator().manual_seed(0)
q, k, v = (torch.randn(1, 1, 5, 8, generator=g) for _ in range(3))
out, w = attention(q, k, v)
print(w[0, 0].round(decimals=2))
assert torch.allclose(w.sum(-1), torch.ones(1, 1, 5)) and w[0, 0, 0, 0] == 1.0

# %% [markdown]
# ## 4. Many heads: GPT-2's `CausalSelfAttention`
#
# GPT-2 computes q, k and v of all heads with one projection, `c_attn`, from `C` to `3C` features: the first
# `C` outputs are q, the next `C` are k, the last `C` are v. Head `h` owns features `h·hs … (h+1)·hs - 1` of
# each (with `hs = C // n_head`), so `(B, T, C)` becomes `(B, n_head, T, hs)` by `view(B, T, n_head, hs)`
# and then `transpose(1, 2)`. After your `attention`, the heads go back side by side, `(B, T, C)`, and the
# output projection `c_proj` mixes them. Both projections are `Projection`s (GPT-2's `(in, out)` layout).

# %% nbgrader={"grade": false, "grade_id": "mha_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with GPT-2's names: (B, T, C) -> (B, T, C)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        ### BEGIN SOLUTION
        self.c_attn = Projection(config.n_embd, 3 * config.n_embd)  # weight (C, 3C): q | k | v
        self.c_proj = Projection(config.n_embd, config.n_embd)  # weight (C, C)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)  # (B, T, C) each
        q, k, v = (t.view(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        y, _ = attention(q, k, v)  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)  # the heads side by side again
        return self.c_proj(y)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mha_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_causal_self_attention(CausalSelfAttention)
### BEGIN HIDDEN TESTS
from gptlab.checks import seeded_weights
from gptlab.grading import record, unavailable
_cfg = GPTConfig(vocab_size=11, block_size=16, n_layer=1, n_head=4, n_embd=32)
_x = torch.randn(2, 9, 32, generator=torch.Generator().manual_seed(44))
with unavailable("gptlab.model.CausalSelfAttention", "gptlab.model.attend",
                 "torch.nn.functional.scaled_dot_product_attention"), torch.no_grad():
    record("mha", seeded_weights(CausalSelfAttention(_cfg), seed=44)(_x))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNo9mcmuXMcRRP+l102i5oG/ImjxANGQYdoybMobgf/uExl5KQnC6+5bU2ZEZGTdv17//P3j9eWv18f3P769vtSvn8p8v/4TH8rn
Ukp9v/738e3Pr3rmt4/vPPvLp/J57d5nH7e/9aHVsso+910+t93OmuvED3Xste5gRqY6o9zW9uj6UMY8t6y79Gn02Sa/3xhzb697
lcEPfVbm2n3qh9brLafuplXamreOdWJEGTxWdjy07h1nlRY/rFPmKGPEh3ZmL2NrwV5Pq/v2HhsedfSzvUa7pfe1Yydr7zvGODV+
2ZP1W/UeGVKLt1Lr7qf1vfX33gTCe5+TxzlzjJ6j3zluidHl9lvqUrxi4rqIU/zd762NX71iL22tOjXZ7revMSOQtROpWUtEeNxT
+C0jNE5v/Y6IBOufu0pfbyVoEOk+Yki7s4xea9Xhz2C3xyPKYZl799AqRGGWvuvIsFTy2I6SRYTnUiAY0QYBW6spkHU2Vtw9Ql82
057Ry3LsOxlvRzESCGat7C5+Oa2QiFiysZs2wURElWS3Ug2jw3kBToxYZc6+bs/UH87Mtj3xuX0zQW6gk+YecBtghwVPjZkHQSo7
ttnKOb12H19JZI+OKyG+ZTtiIJ39n5y4t1bbnJGX0Uadio0iBr4OaPLE+7Z9SkSvzL36IasxHhAC/T1vxHJMELNrnuU2EeMdQ+qu
lYViAjJ0JueMY4orrbeVORMwClTQdHsUDlzMw01qzowjc5DDTpW+wodaF8T0zJNc9pmTweFOfMFgHBv+aOsrCQeKzszniOzlYQMK
MMOGcQzh0iZLx1Y77GFDgZta+zxnX0O4clJpCwNWBYJjBpfWuXfNnRBq7K6XpFwHcv2a8SDoHkLn7BAe0rPNcjhSK8SJo3JsHtpa
fha+5uypEqUhRaYQsOdr4hlnI4Xj3JCyMStJa8cPkXZisIe3uTiho0QGiEWL7aNjzOZ0QgbCsmrgb4qA3tRqsylPLXbYGgxViAMn
Am3dM/WKtevRekodFPBTndOB/hOU6zD/npUwAyDztOvhjICepkkDYwP+xZgSZArhJWgcvHEcr0hemE0rQnBk0IRF0InDimwVxBxi
X+t7IbjgrSTLO5qT9EMbYSLAiFVIwiJ/kXooWnrsRGcnizdgWSKgI4UQ+pOHkgnmn4NmbDN5DJTJAeN7lHUbX6h1gWNG6FVYG1iK
Jbf2lSy/WypFXXpb1xDAPoJXB2XoPbNEXFd5hJFlIOnq1TMw/qBaN9WEpM/pQ4NfCB0HQtUq8mDAFhUfBHRloMZWmTNhOppXuusE
W0EPoHuIANFpBMU/VZEGhYzIAea55oz0TPgP1K/RuMZSFcr6OwVVJCpAAGaUOOuTJhD5Y1BFMzI9UqqynB/wiFDOnqdeUv3UDcn+
KVlnqSiE94ZwAyz2DQvMU7Q5NRgCM9cMEYJUwldooNaeMNsz9SNPUHYsT2EfodmUmDklK/q6E2XBPCVqkJripC+AKAjG5ikll1Lp
sIp0BwrEL5CnRp4/mUF7lqjYhehPYte89yuR7FlyFyWAmh9ZUY1hrgQDY5HGGzum4q05IitL9WIMT0wIoP/OJZsOMDN0yFW5WQEa
NRKXsWICrMsWMiwAWASJePzNHi+a4cyBJcyPoYS7gQvsbBtYQ+xcGoRYE86TGqk6LZV7h5PZB6gPyzUqCCujAM99NVlKMdTCy/QI
BiWHelpDwCAjAn1dWiA2pJWziM2E20q8ICVH9TjkE1Umbk80KM38FxNc6AIyW38kl3JQUt2Q1SavYpVmJQJ3YpTIPQFnJOqS6XVz
15QeAtfCmlEY0IGAEEKLPFDG9wObSxAfod9FzH/Sg/m8Ow0ZJYO6HsUeI1qBJEeyBUR72UWgi73hf4eVE9Lsh0EbCiBX6+EMVF2h
FcRFZEzhhuYoVwSEeNVBCfRxpFAS+6C9Cm7XV3lSCIH3ClGHHTK91QrPJtAQJxvv0MhJKBwnQSzXeZK1xZegjvCNDmTqMTEDlbSS
g3VStS2EqhcwukcSKM0wTH4jWIHK1ixSfLjqCrpPBDwQ0pSnjc0CI34Kow/gPaSAMtXvx/4MLZQSybSTYYbPZNf3tKyYWJftdPMl
O5oBWHYNx+3QqT7hFaTWd6lDsFNpMg1Z0qEYFGkxgBYETWpPb0LQqH7NhYwQ2duo99GD1WxH7CF4ahJDkf2oqgIGLKz2cbRDbL1u
F+VJ19QMDZla1NSgIZNCijUNOmC+LefYrKmthLtxjsY92WBMdWTVrER8sFd97jS8AHhYeTmyZCXiMooq63hKDW3E3kYTYGTL4c8g
HFPJ8VgukCc2lwhCxc/PI+CWWMdtiXwBQwLqHJjxy05ctokAxPecHnRVk7hhVqi5Cj+S3vpqqSJSZ7Q4DB0aXNJHkRfyXVbP9ohZ
S/ZzJLw3x/vIUjPC8eav44fwogSYkmwfIv9IOuYD5CP3lUUXrZtpUDhdyYcQduV7pIujBKkOWYO34mCxhimAPDvNIt812HVGXH2I
izt0l/ON9iL8zQinQSUaMtb2KuggVsm6hOLMi+6YLGyZUg7co6WCq4OqncxR06lpHtmT8EZRYSEodhxAPAJyna0HJUmKHpBFMkFO
u+7A+QEgnTQQVe1deCdOObTTdMTYyJK2h7ZJEuoAQsnRkkm7qYtyMrQAGXF7xwYhr2WthX5mBwDj5A+zz4B6KghGCT4BzWupCYLy
GmbcFchUldyhITYcOReq0VVa2dF16aR9ksz6bU99LXspjKFkDC7FdwCIDhLa0nl39fNpN4fMxcn+ChmFItn7bUxD7e3pmtYlHQ6B
LjR0IRLKougU1y2CqcP4pgOVwGtYymS5CNqIxDAvnXvPXpU9Z7PeNU1Vo2W6omSruVLqngZHbOciktyMK2eEES5YmO5WEnKciXzf
6FWCNLqbYNTJRoTwE5ORBRX9Y6M372fA9Kx5BNV4PI/DzvCT5otODR9S8jIhWvan92JziFHSBisE9cbjsVWT17Lq4dep/yP2RwnW
bM3AP1RlmoCd5AdfNbgPwOSkWzAPeWe0SQCWsJJzuW6OkEP3sVQM9fYBewBAcB1dUEO/VsLJNTUjxW0OS+CVHwrIH133NeiE6kRa
p6P43bwiYffoOuD2b8LDVpMdpoauBhC4yQMdQzcrCTWKMf22a6s85mM51a3jQx6IVBUefsvKN5DRaVBSQ5nx2PXK1l8tnonjv5R3
xRXQPF1Y48mbDSG7Vk7zqgGV7AQ4CMMEIrldH6tTbhOYXUL6GE8CLWviMaAX5x4gpXJI1hwSBJN/aUA8nsYEMWxZVfB1sydHSKGv
vSgq64q9zqJ6Yw7nnpQUnZYXdQADXt6INVWE7B6XWxJMycDRJn1oANjO/XmAIxsbe6Yoj5p3kzTbV0XbkqWvlxu9QlEsuij15Pg3
lK+cbHLhGZhxdUEoMTB48bw8E1M9x9F1HW5+p0/bl4qWiGcbdKauumpqu25rbMEguC6AnjqIJETdlXtQw+bWGDM25CRjPFqJG+vn
kXFq+DA12RfYsthgxhjsy4A+ozFII7/Ui9xUDpamQ8zYoxJIYrOkqIhiNyxEqKtM+bWFPLqRyNlo86kk223a1k1wfw59oOYteTZI
jmG5P7vs3s9jipvEPjmk6Wga099c3T+nL4AYYr19sKzfzVWJJdGOc7v6qBP2B/VJF6sQY2ACMpBEU8mKe884LPFU371MIIra9M1h
lcWhS7gpdv3i85+WfequwMGiKoNnIct9wj46VWa46ho3/CNb1OVJ9CwdSFTdyphBeipvjuA5KBq+Dwj71UT9oJ2s8H4cjEo7e82Y
yuE31afsVzUuwa03AtO3r01/8T/HFG2Akq3mhdUQpVaChL+ZcRoku/zUVt3d8Xllipb6G0dxIkhUl5UBYkEw6OeAue58kzWUk50X
7kQEPrhjJ9dUkGx7pq7IS76tQGl04+OrMeCxRvah6GWnAX7eCrBH8dpZwBIQ+e7Iq7ZwIF/YUGplF54Shi67AaeXx22Yz0OR4Qhu
5aMfGNlS6Lqfhi9rxdb7i+IQwCD8aRZU+It3nc9NHXLCYTP3utDYqRuMX2q43NrLCCcO1PTRcbd09OpV9nZCAJywcFJxi/psizFr
0NJMg2dNGd6RBaAGU1MMqwAy830K1QQNObYP1Jii25KerzQwhwTFCaYSr3w7U2X+AcKj1NRRZdNtkt6EpMfQ64byWPNNmV1+wyCd
rrp2XHmNBxjzvv7ofpVJ8lJGl6zddpquCJse8jC0SXhlaccqQISSLxLOEcrtWskOvj5bE/G/zLx2CKx2t+m6Cl09koDljG7SW1Zn
GkK63XNSWpvliZoAdJIwYG+oGTcm9OKk/HytUZvukc5zLys1TwazODmlvrgFvsTm5OW7pGZXv0ugVxH9VopSNq7JWpDZ3Djo1Rel
L1N6UCU6E98s4aDH1esYv5rQPUb1rQgpw/DvJ/Jws6lc+HJc7+zsP6quImHdU0JGWMfsnabU0K2+3kWpr4kENV0aGVRdu9btRRYN
IHFP3k2R1KH+wS+xrq7w4jIJhBS9sfDNUlGrjcz/+n794+//+u315fW3b398fH+9X//9/ePfX19ffmnv++7t1x8/fvwfgr3QYg==
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 5. It is GPT-2's attention
#
# Load the weights of the first block's attention of the course's GPT-2 model into yours: same names, same
# shapes, same numbers.

# %%
from gptlab import GPT

torch.manual_seed(0)
config = GPTConfig.from_preset("nano", vocab_size=65)
course = GPT(config).eval().transformer.h[0].attn
mine = CausalSelfAttention(config)
mine.load_state_dict(course.state_dict())
x = torch.randn(2, 10, config.n_embd)
with torch.no_grad():
    gap = (mine(x) - course(x)).abs().max().item()
print(f"largest difference from the course's attention: {gap:.1e}")
assert gap < 1e-5
