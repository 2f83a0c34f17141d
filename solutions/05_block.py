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
# # Exercise 5 · The transformer block, Pre-LN and Post-LN
#
# **Goal:** write the forward pass of GPT-2's transformer block, see that it drops into the real model, then
# write the 2017 Transformer's order beside it and measure, at initialisation, how differently the two pass
# gradients back. GPT-2 puts LayerNorm *before* each sublayer and adds the sublayer's output to an
# un-normalised residual stream (Pre-LN): `x = x + attn(ln_1(x))`, then `x = x + mlp(ln_2(x))`. The 2017
# Transformer normalised *after* the addition (Post-LN): `x = ln_1(x + attn(x))`, then `x = ln_2(x + mlp(x))`.
#
# **Difficulty:** ★★☆ · **Importance:** 🔵🔵🔵🔵⚪ · **Expected time:** 30 minutes · Follows course notebook
# 03 (Pre-LN and Post-LN)

# %%
import torch
import torch.nn as nn

from gptlab import GPT, GPTConfig
from gptlab.checks import check_post_ln_block, check_pre_ln_block, init_random
from gptlab.gradients import block_grad_norms, xavier_init_
from gptlab.model import MLP, CausalSelfAttention

# %% [markdown]
# ## 1. The block
#
# The submodules are given, with GPT-2's names; write `forward`. Attention is already causal; pass
# `attn_kwargs` on to it (the full model uses them for the KV cache and padding).

# %% nbgrader={"grade": false, "grade_id": "block_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
class PreLNBlock(nn.Module):
    def __init__(self, config: GPTConfig, layer_idx: int = 0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.attn = CausalSelfAttention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, **attn_kwargs) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C). ``attn_kwargs`` (KV cache, padding mask) are passed on to ``self.attn``."""
        ### BEGIN SOLUTION
        x = x + self.attn(self.ln_1(x), **attn_kwargs)
        x = x + self.mlp(self.ln_2(x))
        return x
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "block_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_pre_ln_block(PreLNBlock)
### BEGIN HIDDEN TESTS
from gptlab.checks import init_random
from gptlab.grading import record, unavailable
torch.manual_seed(11)
_cfg = GPTConfig.from_preset("nano", vocab_size=65)
_x = torch.randn(2, 6, _cfg.n_embd) * 2
with unavailable("gptlab.model.Block"), torch.no_grad():
    _block = init_random(PreLNBlock(_cfg).eval(), seed=11)
    record("block_out", _block(_x))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNo1mduOXLcRRf9lnlsNksXiRb9iGIESO0hgIQoSOS+G/z1r7zqCXnpmTvOQVftW1B8ff/367W+//eXb798/Pv/x8eX7t68fn/uv
n1q+Pv7jH9q7tdZfH//78vX3X/XML1++f/n4/NOn/m43+ozeX/299u3tnv7i16fF2uuuV3uftVbsziOf2vvuNueYfb4+xbvvnG2f
qz/Mfsdc86Z+yDVXOxH+YbLkbmcEr8h9W4y2Xvmep51sY+htPdnfOPPFmueMtnvy8F133BPr9Wm855x77THZz5jRFluePMIHbUa7
P6u3ORbrzTdvWH2f0CYzcu7Th7ayD//mqJfOM/pdEa/xTnYXI7ZXvGu2HLxo9bF7G3H49YjbZw595GBr5d08cdtpbY81X/N9zr0t
Z2q3J26Mu4fev2fkul57rqQyzYVsbDGjzbbypRrFZgPXO74nnz40ykGRxzpDL765W3RvPqkqLXVtaE3y1VXPRz+7tcOp7g0XVRua
m3PzW3qTs1PkrRO2nn3EmLxrvfuN2e5UiWkH26fvftXqQIHC0oUegGIevWldXkt9Qs/sk2dd1SxuW3xbv7wrx977svU488RMQYCN
zKY+8XHF7K0Oyit3v93d2OfQSkGAA8w8syA56NwZegsdPGfG2TobmAJqVyeOxa55jI9LeMit9djo2RGGbKueV62y78vhhlYBoGOF
QdrPotQ6pQA7W0u2pS1u1u+xjmAa7dBgV6IPVj2uNEBpsYGEWz/P7sKeGjw5aRv03r8GzJCDgkKA2bfwS18mezcCgGOnstOMA4Aj
hTE63eYCQCZc3+DlcExzbNKiTum1haAyh075D3lyF/zne42urwtweTg3BJvu6t5DjeToYLzdtrVM6wcehGh28649j6AhuDeamUA+
NlQdmyU46BWYTL7M3kf366Nd6ASgtXbQ63SR1tXTd5eiAPbbq3+qRw43ZO9g48CRJXkWSiyV6bKXnkLEeI89YWAgJh3BuW1e1hCB
6YjrqPUm6KXo/Fl88MnuQOrEaypNdSBYF2IubMn1cOQiG6ltq2kzq7JgpB09sJbw1y7byHcT2/mq2Q7ie2eRTwu+Lvo4paEcPBDR
1fQDSLloz9TqC6JRiNQ6a+y7EYuC0dL7xZ2+WWTXvhpYodfeQiRM7FWsPnnvdK82UJy5oiSuSxKNo4QksJ7lgx1QGbhCDxvyhMwV
wJEA9D0kbUcIAYUqUuZBGB5S85BVk490J9FNHWPS8GiCNBXc4pWJh9xbdEBkvzT2VhXhvIWD7q8QeYceEjzkKIIZOjQQyCwSRvSA
/PweI0IBVzfxxp0bDbVZ7BSK93p+DwCzFeMjsZRtaFLQiwirTHn1VpojnWIzu6+STFzGKtRZnKd9aOTg8MVbXhU0oAkxAHpuC2bg
lzRG7OZ0rGuuiJX0nJNKJBLMywckDKmnug6EECD9wFFtDAi6z3K/INdYnMHqyJ6B92E3IBkloZhHX6Abk4Z7MzQ445T/onL00Xw4
GA7+4TVp6KJ41tB78YkuTZaGThmL2kOR6E32siU6ySauq0rTzpXnnCoJEiN4fBKccKYryCU10fdHdw/Z0pQyo0kcHisQEyUOCynV
Ewj9yG5K0S++iOWrDTnmfCRkUBDMFNELnZGOpEsiaqH8HAz6s0w7y5vROqtt90riF9EKFPRIKpkmBnAJzMQnmTCtGdGIHImjUCry
wmV/3hwPzqqPN7Htg06o5Ccf7kgBzzmrkgWiTOfSqQSknN58Eskm3KA6HKXhVGzeOIaCygt3Omhw3tXcLnkHZxyznCiQxmvbDsEO
zTGFDhGMg520611FigWxYckmJil2DGLDtuFPQ62JJgIS/XGuk1JQgooTymsEGIchuhM2NlRuoLvHmEVRVPEshzlw59hSWRKd64QN
A5iz84JmRLInpUjVE2kHnlC0zIp671lJQythvOITsWu1DGsqpRSlrjYncSdb9vK2wUp5C0msyAttjfIWrI3m8DKck61fQWyLjVcw
xyY6qMWbhE1cnaKV66h1p1mPCScA8jhwQJqV8myhAWTeHyEyGwTLa3MmG7Ejh0gsXoaGltKqu/2RINHshBtfpTmS2YSlwQ5Lz+bl
C1JUm1RIMSum0WJgWpautdlmq34i6URq1wbgJv5+rN4oL8lcEJyXSuaPZAAbbA0DVURkFbmnlt9Pvkc5Ob9z02IGYH9FTpwDBSwV
YZuLxpbFpjLO0KkP2QGADbcDN+i9VJdj4bHHnadloEDkAZV4XekSmwLbIWvKRfg/BaAro3hkF1uhk5UPL3luLOfKS5KI4+NjEEGC
rK+il4QKZ0g0RSOORYBT8O8UH3kNRWi7HJS9jOYpARUWHWYUB5PyHbsDcYeNNj+P+nmCUeNpIJR38sfL+L09UcRFvp04EDyI0cVG
rGzpXJIbDAQwVRidRPGhUYb3MEyxaUNFMYDzOgegmtdsZSYAywWaFC/Xk4URIxo4ZNpbufKRAjh52JfMA3zL46Q0aCpppruL0k/i
VrVLn0I0hEShFGKFYwE6WfGnR6imLiO5IzRU2ZAA7cQNKsMwx2wFKu0Stdq4XxV4p4JOyS95msqvR3oQ96h5Ugcc8ZAMpdJsoGEU
dbmaVxXCZKiz+kSMAFkEEqFVwXvYkCCPuhBKCi6zxUqTDU4tx2Ngkd6AIeJ/N79lrjErfEsusDZTFTUgogzvNDRGTHs/DyxNdjZV
VuYbjwxN2QZGFtb1xSyxdwkIVendL4ZYzCdrOP+syezQZoVR3DLVpztUxV3TBQGFua9SpERyVHkJeQg/WcIl0tPRJTrQgJgxavhV
JXiVS6eZP6QhaY3Cv0tSbU+jnBR4IP9pctExsdHDAGHvLjOenUCCiqCh+Sye7MJwyouGy8kgFhpiDfjBT72eYR4lpofVCO+k9anm
6YYh58MKBIUwu52h2QrbljQJEmQU0ChWYgEgIYxRLB1+t/1Dg/k+jUbePUZ6zkMNR0mKDPROw0rTOIq19kMHhlkCq1FMUZdm5CfF
NwLtrgEs6zbjWh9DM0xNNFvKpysS6jnE6iNy2pH5Zwe8ulqY9YJBiY8JoPMqSUn/BEMNQ/UMlYf70xaPYzPuOFzwsOjv8gOcvMPN
urpBuD4jU3XWaLc07wWhZCqjDWWClz306Npm2/AYKZtSo1JF163DehI7808qfSqGLM160iaNVnJvp9uhzVZdN9kQb9EOqREF86Qj
jk9dEmgQBd0M5DV0UC1pX4UcNgt0PDEHX72SamGCPEJu9CjRFXRxFHvIlJYa6Sz+8LfhvTqt+6rM4aHfLaNJ2oS+cFEtCNkNY+z0
Gfh3U78rYJDE8Yr1Y9gkVeKI0md2f8oSmF15fj/jiFLfKUZSyq02RGXPqRuF8Qz0U4Y4pi+tlCU9N2lsDrMK4VuyJlVKxdPk+jBG
mfEoPibr8b1tITjENfHal21bKrUUPjQrwj2/h639uNIgeZJf6lDUQ000pajv1gRWoU5YrykOnSBThyYlMnx40GWTUsBeyQZl6Vmn
xq6Q22W28L4tS5MbQQ+MJLpljhTLMXqZByOMpnvPC010jLrYI3suw+x6Ulu7PIhQCNnNA0LheqIm2YSNbe1RbFpWYH1m6eVEoqsq
pS53AGhJEmqSJ1hLNfSZBMXe55O3ASu1dJpBCEk30zTSOJnXskJrspSBBDUUJ/vy3EeUlgg4x9GEKLCwMn5Vrola8BWc9uXLPA1B
o3KArglKldgVdLg176gJQ/dMqs7UUFbJWpekLLWdLWST65R6U1c0vi7XOPlVIhPuOWGvUnG+rWu08mQJlRKuKaZZ0zd3TIY8vR8H
SU2T7sQi6pOSfIeiSbJyO8CDqdOxzjxhis5Kv6HTGDowL3ddPZlRHrg4iGaybQ0NqVU0qYXiaR/tuQI8ytv32UBqkp1VNIrjzGJr
wOx3oQgxpeI1iGEe2xlN15lX8VsPQ3dJrgCF2bW6IwUcGvJt6TutTjUG6L7pOmNwGEo9nEc1B2ZdxI1B3n8uZSgPiC7j5qAg/p66
2eLI2X1oXcvq4sKF0YVHz8oOmAt6w1K+Z0AZ+njmJcbAOEVYTtpLnAhRzUm9aYmBNCxHPDq5HXbQ9aPJVW2nbOTUitVOLGVoBA5E
SGKjWy8mmSPisFXCtu72dEm6dW2UDk8adkrCZd20yHO+bkT6qa0eF9S3SRBlRQm7ro2uMKDLCd1Z3CKcbreb5nnfvUh+nkTJVKc7
XeH4qgO6wxJiuxx0+mYdYg+lbj8zFbqKfJohkcTjOVCjcZFM/8EQujxz2TWL6cZVje8Y4BjVP1gOmfrDMpQRUXJtmIZuWFWWMtKT
2pUTZRgCh+7gtVJdAo0af3w7j49P387n6MKY+RnUpl1fUTvDoM8etHUHodv6utdcuuke+Dfeov+buPJszXGtbkfAKCNwDeKKX0DV
Mxf2zh8qtoIMlUol0wxBX32PoeFOwy2GcyQ0VT0wAgjLwrQ26frW/z5QY4BWQ/iGH3nqFlCHckOA2FCzSur6VAyujQ1VaUvYSewX
HdbjAdsXVPz59fHbP//1y8fnj79//fbl+8fr47//+PLvXz8+/zReTDLn5z///PP/f5NeNA==
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The Post-LN block
#
# Same submodules, same names; only the order changes: each sublayer reads the stream as it is, its output
# is added, and the *sum* is normalised. Write `forward`.

# %% nbgrader={"grade": false, "grade_id": "post_ln_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
class PostLNBlock(PreLNBlock):
    def forward(self, x: torch.Tensor, **attn_kwargs) -> torch.Tensor:
        """x: (B, T, C) -> (B, T, C), every sum of the stream and a sublayer normalised."""
        ### BEGIN SOLUTION
        x = self.ln_1(x + self.attn(x, **attn_kwargs))
        x = self.ln_2(x + self.mlp(x))
        return x
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "post_ln_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_post_ln_block(PostLNBlock)
### BEGIN HIDDEN TESTS
from gptlab.checks import init_random
from gptlab.grading import record, unavailable
torch.manual_seed(13)
_cfg = GPTConfig.from_preset("nano", vocab_size=65)
_x = torch.randn(2, 6, _cfg.n_embd) * 2 + 0.5
with unavailable("gptlab.model.Block"), torch.no_grad():
    _block = init_random(PostLNBlock(_cfg).eval(), seed=13)
    record("post_block_out", _block(_x))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNo9md2OZLcNhN9lrtsDifqj9lUMw9jEDhJ4kTXsdW4Mv3u+Kp4xFgv0dJ+WRLJYVVT/+fbr19+//fiPL1//+cuPX//49vbpz7fP
375+efvUf/6urdfbb/6jvbfW+uvtf5+//PGznvnp87fPb5++b+97jTl22+vF63PHzRzr1d9XrjbmvLzd+rh3jsijZ2LHnJ3X3/X3
sffNkff1XXufq53RZ2z9MdrIzLX89dlyzpl98seKuRef1FfaaDNvG1qrrRtn7cFDcTNi9tV5Pda+h0NePbPaWvP0w/k4dZ9zac3k
TPw/tfMdvZ/ofp5gdpu9Npt51r2dzeKdaOLekSzETvf0pX1XRu55dtfzPXqu3Zv/iGwZK5Yy0GLPFaOf9Cf97Eak3jxnkJI8jpRD
9B184Nja6k1vc7JJaud8xXu7EXlv+NzrtHtGKrZNIQhbZeiTwIjSCdq5Zp1nUI3oo+uJuzfnVK7O2eNQtaNHzmwrbk/VbJFYXnuj
3jOV26k8sMmlZDoYaZpXqdNDK2+fJ7ej6qTnttAphko+Sc1WhCzVlGJtHXcdPvPWc/h8R8dbU+dsBZfZ+zgpUFyebWO01PsngEvP
qt9eq59xskIe5+7CV9yxIoCVdyDJre1T24HM1SiE/iCHfLa8iYKmzKkcnJy5Oa+xBkhiE7hwtCnSiKsqsRBReLcGLKbyN2rv7IJh
6MuxFfhV1OPGym0YgfAWzS2S9AGrKsNKd6PYs1btZ/XRYjqGvic9eYYRT5AE1H060neCs/B+vx249bFBS1dvAhJB8AZtulVRwj97
gsjur7Y17/bbPYEoCMzqit0ucer15nkKMtTx4I+Q/+5Glp/DKAVnRx2jICGHQxTnNd9JG/03ap1oZ641q/nByJnXH9DdqylsJ3Im
ZyNubQeKLuSh+EH/du59vtZGj3b70lMH7I3D2tp8syiU4YX5uOfTdyyfOxuF1mMQ1d0U1c2x6IMAKst/dHC27qnD0JOTBh0qN4+P
dlxGEk9YhXbWOZDVqJxQJPC0vO7h27sWpURtPOWKuUZUOs/R8xzFm9HwNG/TB1S9UaV2qtU74IIdKllNRAaGJjCjXt2cpvPPfVqa
Dttm5+a4OUyjMbM/W4wUH8+H4dbgtP7j3ibCo1HFm2QajijYsQckwYZB4FBBFDY35+az7gA7/UiGTaIkkq92c81gM/Drvqa52vUT
R9AZ9U36kDrC8c7BAbxJq1UHQyHISnf1Y5MSCiMaBIP0V4FqNoKGNotHWoMWuwmjQcd5Y1uQFrEhPGJIsj9paxMSdBTk3xSGhCxx
40v8MqDuqa4AWgv1mr1YpI2YqpBCZhVSc0vxOE66AyFKBKX1Ckf8TrFVIR1t9lN8LCAm1PHs3Dv8dr2sDud2dXKW+pMcFDVMKeMu
SkLXDo3o8Da8t8hikVIuaMndDTIDOetABTnaULLAqx4GdWbYgyBrIena3IjOOk9tKeaUtgClDLrL0poZsNp5cDiV6+pgeA3pq04D
oJv49eXZ+Y7PCGgCYcqqE0KZrYgdANJUaxV/D6iQlYSXGHp5hDoakPgeIRNhSw5tJ5oa2ieAD+HJpa9Ouot4C+JH3FIQZxE8w7Zk
dgn03k6fpIqGWh+A1PsyIYoe0OxjQIGNlg9Hk3FAJ7jHO4QMyXb3XRdpPgUmPNjLG0ywO+4UF5ByFApZ814HNwQTpE+BHIQskWUf
zhQ91mKkggxJ49TPm6/vFWoEKLCUi+4n5F3yiEyctkveUBVpT/VHqCO2dNbgmCZTWgspkXiV2wAaq7mqeC+ZkGmrQ+qA8jU9QFLY
j7I9tMc4vayegkEURyUb8Fd3hIwh1RQ8QTla7CXVC9viQCIgVCpb+9LqKgbrUAAkMm8xrcBReZuHh+0d1aGSoTyuwCFydYCamIxi
VoylRb6y9IFtVhaVIr/Z70PWUica9fiQKCWs2cuzyJjFqG6BYRArUg+bAKusUBUGnSZcHbqX1rjVLvKS5aJaDK9+XWvEjxORFjsk
VschDavXpdR3K3LSRGjLejOBLVAej7uSW26lN4kbRaO8H91DVspQY34GbRWGHCKz8DMlaVdSK6wp7UNnhe1LAXiISlUTQ/jJQ3Yw
bMH5nQ9hD3Xeyy6Vt2+dClZtoqACP1REmVsv4wYCH3HFmZC3OnqQqCZKKI8hxbElI4cD2j9uqcWa5KlkjWmjXI6iXpRIHQrOIBP7
S1K/Aivsh5PoRT0y79AOZlMQhZkJrPv1FIKYHFbxB7wOwO2+6RlkaDwEQhIRvdeg/OD/lDbxQMhfuuFYFVGxFwmBrtVoISyCgGXy
ZE+mpsfKkQQkECoyOHEQTwnIAOCFTE28lH+Gxb3B0XGLhhBzNtY4AP8DnO0e7gGFRvkp7BMJ0VctGgwc1P+WUMA+0EN43pCBH9Vy
6K4iK7qBPrbZh3kheA7dWt2cgZBCPVU/nF8XMV+rDr205YHIGIQbwKeGCqEI9VAtSQyyLTpRTdq5NeFhG01uhZyDZR2PwLIee9xT
YxN26+FZ3NlqUmJjcwlppXdi8hblYLHvRzPf9ciGxI0qSpe0oSziz+xS16dHhB6ekjbQnu1BLB4apc2SY3CMiuJoTfYaXmt9vpbK
pTAoN0dmDX38p+glrDc0SLqDpBx04a38HDHcKvETgaZpeIhEwI7dLUe8j1XWweiCwiDNrt2av405hdrzITY4izHZeiGyVjc4GmQa
XZ9lDIV91q7+a9p+PaKpwaRsm5SwtyyYIwwaBTVb5KR8aXYgSHzeqQsBZoh43DfqTBIZqCqPMghjewM6ecuN2Oli70NabImFRalO
PcRmFM3JXrpEgGqqyiGbUPqOGWUs0BhgvwgZAns76xlynnqpIUgjwfp7bspHG1lEbKgd6BH67T7adSnRlLmCnrem1moMTALo6eUa
0HbQeuxIg3Mz/xSVsaIMmIG3nKdbM6Rs8fToTLtjEMrVhY1htQgiRbZ7XUCgErxa8lsE0UEMdsj+hgBall3sCqf1qOkXIUZmlEky
QXg1fTDBIJXhepL0owmx2IbGwME+fvJiWHZBA9RSqo9pGQEW3VmNZUmc4CWphz7MpBop4ZnnjkJW29iZ6Ctd+Kquu66HnAf0JVIq
Tk8WKXZRr+W0avQuEYgaNBMUYUumMo3CiL5nkYXkfjg/0mjiaepfARu5e3gDf/aoHV6cgCPLsdMkLBWPkQRhOwppmku3mQxzqdJ4
s2Ua0HWHEjqvPhN9X0pmlHoiJlVzlwhucIf0reVLA91o7eoi308Z1tSUZGEjXFSqsmrg09BK7PYi9KTGyIIQcIDyfeSUEh8bKbj2
6AKgrjAAQdRMiNiSK11CSSB0eeB+0K0QtSrdZrbUgP4w7u1A5nGRKBR8WGiirzX3nOJ9qTPdoRLjV6GUmiWuZsM7HwuHZMUD5GA+
k82tGJhSc1ujEW6MaT81wzOrM3GU6E8NFNPRjzJxhgGYkeyXCpLFglni23YJMWzQ6x6AU+lTGx7dcdEBRVATh9P2Q1ChUSmfM6I3
cV1eVO7jQmUz2NGpvsgDJFT0ltdQW+TTRkN+zufCxmHNnktNjTxYzfKXGATsQzVqSIzkn2XhKXZTpw3BqsE8JQwohK4JsrDNuWFl
34LQ7ZBsWQq8wtQFDAzEFHt0Myr0YBAwyO5GCA/qeO4dyMEp3WGKQEPB0tPh+JLolbYh61UDj6aW5ZGKoFJ3emWVdLNIbD4aC4qc
vUHzFx5cwXzI4jMvZcM2PAPD5d1WHle3wVQy7Ikbh8KBGIn6KkD0jS5pI+Z89EsTXFkC0MPbvpAJEROglHsjdhS4jkowvj4tuSSJ
UGg+Vz4w0GOiGXrASK/jaXYlpSUEukyDN+uOk+4jDWN+eH6Pe8UNqXEoHnHbujjEKOgsR5JUjKZxSHRi03LOlLkr2V8ysFG6MNij
m/DJBqN6zeMcAV2IVRff4IoZRwaDZhgyy14/5Lj3taWc68P/kXmN6uNx6WnjWaQN288iQ9CP/866jkB/ZYo8fqE4muDPcxk2dYs6
e6GJ2cQ7czQO8tzZAAt0265V15CQi1udcU05mXVXqJtZTduWMghHqWI2hXWrcbBbNHTaHQbVyQ/bfJU32cxBP/FPk55StdHf5+pC
N1JyaeYDOEdXVsUNdAc9rguFxaTsJpV159tZt/G+ItRN98eXGxTczFqomKTq7+tCXtalKZTKzv4VIm2Uel11s44ErPpCV6/TSZf8
gATPvEjZlT2oe8OpXwXqyg4328QPrg1ecmk+rylyy5lnuXmNaDxWKk0Xjc7J666c8q+agpm2UjAxGLXs3HXBbwk2AJEDmlNPpKCV
phlESbbC6GDMhZc+PNDSFGEvAelJW58bb0S/+y6xiyFERs/vK5xRvtlejywg7Pe5ktevCe0Zp4auWqJMne7JEE7TgvpaP0WEhQ68
0iQpttRE3XyhOHSdqxFi6DW+bOgnnbo4wfbJRzp52OCu69NiD/+SEr4pJ60y6v51B6Py8esIczK2w1wIc5Db5Wl84rGI2z+CpH4K
S3PZ0D1kWVconYxmqzMvP16XrMAU1rLHB47TBuSH19sv//nvT2+f3v715evnb2+vt9///fnXn98+fR+v/Zr5w19//fV/tCGFEg==
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. It is GPT-2's block
#
# Put your block into a `gptlab` model in place of each of its blocks, with the same weights: the logits
# must not change.

# %% nbgrader={"grade": false, "grade_id": "swap_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def swap_in_blocks(model: GPT, block_class: type = PreLNBlock) -> GPT:
    """Replace every block of ``model`` by a ``block_class`` holding the same weights; return the model."""
    ### BEGIN SOLUTION
    for i, old in enumerate(model.transformer.h):
        new = block_class(model.config, i)
        new.load_state_dict(old.state_dict())
        model.transformer.h[i] = new
    return model
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "swap_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
torch.manual_seed(0)
model = init_random(GPT(GPTConfig.from_preset("nano", vocab_size=65)).eval())  # distinct LayerNorm weights
idx = torch.randint(0, 65, (2, 12))
with torch.no_grad():
    before = model(idx)
    after = swap_in_blocks(model)(idx)
assert all(isinstance(b, PreLNBlock) for b in model.transformer.h), "every block should now be a PreLNBlock"
assert torch.allclose(before, after, atol=1e-5), "the logits changed: the blocks compute something else"
print("✓ the model with your blocks gives the same logits")
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
torch.manual_seed(5)
_m = init_random(GPT(GPTConfig.from_preset("nano", vocab_size=65)).eval(), seed=5)
_idx = torch.randint(0, 65, (1, 20))
with unavailable("gptlab.model.Block"), torch.no_grad():
    _m = swap_in_blocks(_m)
    record("types", [type(b).__name__ == "PreLNBlock" for b in _m.transformer.h])
    record("logits", _m(_idx)[0, -3:])
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqtlsFuXDcMRf9l1hODpChS8q8EWbiI2xp16yKZFCgC/3sPqUGz7aKLOE/zKIm8vPfyfb+8vv3ycvt6efx+ebq9vV4e9fmDzOvl
Sy/kQUT0evnr6fXbc8V8fro9XR4/fpAHTVHJQSwL87FdfcZVH0zWWiOcR8nlOZZeCd/uK3NqhYd57i06iJk6xIZ6/T7mzLW2Ry9W
6PJ53kwJddG0Wqypy7ivnl0kuGIHd2TK8NRcPFtws+6zWzx8rIw1602St/o4N46MsLF3pzU3uW+tIlzFvUNskR7/vPf6qjc8ysi5
1XJ1sjI5P5dI1ir3HD5F1km9nn2OWuylqbHyQMKzzspcyXaLdxXbhqjNWbmqKfmobp4D8Gy6kZ2CnoMOv45QNdlVgD5QsNTuU/Pa
c9OSLiLn5FbrC2yn5E6tkygdXE/5k/PVfXYJnONbZFqv1nLJ6TI6bTpa/etzzX1XMUvndC2Eq0paZWqjw10z2Nydow06Ykrt4Hdu
FG0oPGwNs86VvG0P1ZNHDJGt8IJs1ySnXaeuMUfsZX0dsWPsSpWEKjSLKJWccCqFd3W5F13J3pFUuVRX90QFKgJINIQctHx3lJvB
NJeTOjzYw/K0OyHCXOnFYAvqODvGiEhIUDWhg9wqo3cbK07ehBdjSepqRAgk2dlgwMgxvVP1BZlsNtrktYLGda9R3HDzqg12zgVt
esF/oRTQ5ciGEktcDpgRhEUzFqktH+csFDj3Hr76LBsGCtnEqb4thySNWgRAI+MuQkN4VZ0QgxB+CE4Rhhq0VryhjxOB1x1qQJT1
6OiKOLKtENgx2HKAKSBtF8PheqDm1YoYxiHSaKO4JTSv8Ngwj56cNiJdwN7WRezB04xZtEabhpjLg5yQrrnA0EEpcr+Ztm2JU0Ol
lxTaWWgUT2ozbAiHUfUztKA/cZiBSZlURkUmrNAB37pOAJtL6pl2BuTRMkWBIj5P0rQ2kj/XghdGwZnVWl+YJDrtJgRluo/egYBQ
HB57moAE4hihd3dHVskS6GH2qWMmbEBohRdqWE3osiw6DgK9AGzMSA9nZrAIreJwF1qYd3tUMaM/nRNOieDAtXesol96ax+IMYUm
DI1NK2gbMgzf2hNHJeXGfT1eKvdsV4ymrxiOuQooqskc3VGcr1A+poBoYiaaOCCuahLMvHNx7HFUrjuwodUGM+A9Qj0jALtjK6ef
0eKZAUu7XFSONxzuw5/ZompfQMggc7YMaC0Mkla2Ih8m3tlOnB2R479Un93wAbcoqv226ig8cI2waJZZ2QBNyjazjS+C2hmlSTF+
0MTu6JnlfdShShyth0GA3bQTpYzhQEKzacAIi9F24Rwk2drnCXMePXHxigK7b94F6opWLh7F+fNYBRChpjNKMCaSxd3vbknnGQ89
DhlnK/aBCwXJthi9XxRI/e76UVu4vRKRua3tvLpY9rxJvhoP2wMZ3ifAwBTO6AI8BDx6TkxMksGQxS7mOWbWQ5DMB0o68zq4IavG
49o1Er1v4JiE/v3RYYjOD5MhTxF1ec82Jjx2czrBjAWE7EoRM98pej5fwIO6jwZllgtZ5QSGtMEWf1oiYNGDpm8hLGjUmc0yyuGZ
O5XMUIRwZsak+2E5P10vv7388fnyePn59e3pdrlevv769CdfYB/HNean9/fr5fb3n8//+bPt5fb8O8Ef//2Au3359vzjkp/e2PXj
jk/v1/898Mer15evt8v7+/s/VO4zbQ==
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Gradients at initialisation
#
# Xiong et al. 2020 (*On Layer Normalization in the Transformer Architecture*, ICML) show that at
# initialisation the gradient on the last layers of a Post-LN Transformer is large and does not shrink with
# depth, while Pre-LN's shrinks like 1/√L; from this they explain why Post-LN needs a learning-rate warm-up to
# train stably at high learning rates, and they show experimentally that Pre-LN trains without one. Their
# analysis uses Xavier's initialisation (each sublayer's output about as large as its input).
#
# Measure it with *your* blocks: one batch of random tokens, one backward pass, the gradient norm on the
# weight matrices of the top block, for 4 and 16 layers, with Xavier's initialisation and, for comparison,
# GPT-2's own (std 0.02, residual projections scaled by 1/√(2L)).

# %% tags=["nbval-ignore-output"]
WIDTH, CONTEXT = 32, 16
_g = torch.Generator().manual_seed(0)
batch = torch.randint(0, 65, (8, CONTEXT + 1), generator=_g)  # (8, 17) random tokens
inputs, targets = batch[:, :-1], batch[:, 1:]  # (8, 16) each


def model_of(block_class: type, ln_placement: str, n_layer: int, init: str) -> GPT:
    """A GPT whose blocks are your ``block_class``, initialised as GPT-2 does, or with Xavier's init."""
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=65, block_size=CONTEXT, n_layer=n_layer, n_head=4, n_embd=WIDTH, dropout=0.0,
                       ln_placement=ln_placement)  # "post": no final ln_f, as in the 2017 Transformer
    model = GPT(config)
    if init == "Xavier":
        xavier_init_(model)
    return swap_in_blocks(model, block_class)


BLOCKS = {"Pre-LN": (PreLNBlock, "pre"), "Post-LN": (PostLNBlock, "post")}
SETTINGS = ((4, "Xavier"), (16, "Xavier"), (16, "GPT-2"))
top = {(name, L, init): block_grad_norms(model_of(cls, placement, L, init), inputs, targets)[-1]
       for name, (cls, placement) in BLOCKS.items() for L, init in SETTINGS}
for L, init in SETTINGS:
    print(f"{init:6s} init, {L:2d} layers: top block's gradient norm  Pre-LN {top['Pre-LN', L, init]:.2e}  "
          f"Post-LN {top['Post-LN', L, init]:.2e}  (Post / Pre = {top['Post-LN', L, init] / top['Pre-LN', L, init]:.2f})")

# %%
post_over_pre = top["Post-LN", 16, "Xavier"] / top["Pre-LN", 16, "Xavier"]
pre_shrinks = top["Pre-LN", 16, "Xavier"] / top["Pre-LN", 4, "Xavier"]
post_shrinks = top["Post-LN", 16, "Xavier"] / top["Post-LN", 4, "Xavier"]
gpt2_post_over_pre = top["Post-LN", 16, "GPT-2"] / top["Pre-LN", 16, "GPT-2"]
assert post_over_pre > 1.5  # Xavier, 16 layers: Post-LN's top-layer gradient is the larger one
assert pre_shrinks < 0.8  # Pre-LN's shrinks from 4 to 16 layers (1/√4 = 0.5 in the analysis) ...
assert post_shrinks > 0.9  # ... Post-LN's does not
assert gpt2_post_over_pre < 0.1  # GPT-2's init: the comparison flips, Post-LN's gradient is far smaller
print(f"Xavier, 16 layers: Post-LN / Pre-LN = {post_over_pre:.1f}; from 4 to 16 layers Pre-LN's top gradient "
      f"x{pre_shrinks:.2f}, Post-LN's x{post_shrinks:.2f}; GPT-2's init, 16 layers: Post-LN / Pre-LN = "
      f"{gpt2_post_over_pre:.2f}")

# %% [markdown]
# With Xavier's initialisation your blocks show the paper's pattern: near the output, Post-LN's gradient is
# the larger one, and it keeps its size as the stack deepens while Pre-LN's shrinks. With GPT-2's own
# initialisation the comparison flips: each sublayer starts by adding very little, so Post-LN's
# `LN(x + f(x))` is close to `LN(x)` and the loss barely depends on the sublayers (course notebook 03 takes
# this apart). This is one batch and one backward pass at initialisation; it says nothing by itself about how
# either model trains.
