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
# # Exercise 5 · A Pre-LN transformer block
#
# **Goal:** write the forward pass of GPT-2's transformer block and see that it drops into the real model.
# GPT-2 puts LayerNorm *before* each sublayer and adds the sublayer's output to an un-normalised residual
# stream: `x = x + attn(ln_1(x))`, then `x = x + mlp(ln_2(x))`. (The 2017 Transformer normalised *after*
# the addition, "Post-LN", which trains badly without a learning-rate warm-up when it is deep.)
#
# **Difficulty:** ★☆☆ · **Expected time:** 15 minutes

# %%
import torch
import torch.nn as nn

from gptlab import GPT, GPTConfig
from gptlab.checks import check_pre_ln_block
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
from gptlab.grading import record
torch.manual_seed(11)
_cfg = GPTConfig.from_preset("nano", vocab_size=65)
_block = init_random(PreLNBlock(_cfg).eval(), seed=11)
with torch.no_grad():
    record("block_out", _block(torch.randn(2, 6, _cfg.n_embd) * 2))
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
# ## 2. It is GPT-2's block
#
# Put your block into a `gptlab` model in place of each of its blocks, with the same weights: the logits
# must not change.

# %% nbgrader={"grade": false, "grade_id": "swap_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def swap_in_blocks(model: GPT) -> GPT:
    """Replace every block of ``model`` by a PreLNBlock holding the same weights; return the model."""
    ### BEGIN SOLUTION
    for i, old in enumerate(model.transformer.h):
        new = PreLNBlock(model.config, i)
        new.load_state_dict(old.state_dict())
        model.transformer.h[i] = new
    return model
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "swap_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
torch.manual_seed(0)
model = GPT(GPTConfig.from_preset("nano", vocab_size=65)).eval()
idx = torch.randint(0, 65, (2, 12))
with torch.no_grad():
    before = model(idx)
    after = swap_in_blocks(model)(idx)
assert all(isinstance(b, PreLNBlock) for b in model.transformer.h), "every block should now be a PreLNBlock"
assert torch.allclose(before, after, atol=1e-5), "the logits changed: the blocks compute something else"
print("✓ the model with your blocks gives the same logits")
### BEGIN HIDDEN TESTS
from gptlab.grading import record
torch.manual_seed(5)
_m = GPT(GPTConfig.from_preset("nano", vocab_size=65)).eval()
_idx = torch.randint(0, 65, (1, 20))
with torch.no_grad():
    _m = swap_in_blocks(_m)
    record("types", [type(b).__name__ == "PreLNBlock" for b in _m.transformer.h])
    record("logits", _m(_idx)[0, -3:])
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqtlsFunDcMhN9lz5tApERK8qsEObiI2xp16yDZFCgCv3s/ktrk2kMRINjfkihyZjjU98vL62/Pt6+Xh++Xx9vry+VBnt41u16+
5Ed731qT6+Xvx5dvT7Hn0+Pt8fLw4R0L21eX1W1d23v1vbZJd353m9Jkz3lll4izSXuPjzZltt7nGLnUOaI+NZd2M21dtTZaH6tt
7Uo8mebLts4K0flr07Hz1rFti+WKyhxb94505t6iUzxDi5l2X2q5q4/dxE4+fciYNgjAh3bybL4zudbGUDUTLooYY547G7nxdx+e
8drYg3NjZ0BpNl24IDaKuti22eMDeNpaxqEoaPXWvNVFmmkPjW1istw2+LDg20X4XZFN91rzDqpucG+5DbC397YqndY543tWgQDV
3H3krULe3FzhFiW05TMXHJKmHUjamGt6QQchoweBCZBb87V9ehYEasFy7TOLmwdLmd4IQFZ+RJ0WsGhibDpmn8WlLPapjAM4CTpC
Wbm0O5Asz/QQF3yuoh9MBzBn6QoJc42zRGjyMdmlJ/eJQmfBAvAdbkfd65xckgqyNqFIM7ktSJjCsj4q99VkxkofDZr0MDFMQ+uZ
wHZk55IUTySy0LNUORt+REVLg1Geat0z9/TW5ih8QGeze0Y6XdD9ouBShnDBlioIMZvSFnHvQFudRrI7VIBsR018AWNbVQPdMuiR
gHF0umJ4BlMHSDiOBRTcpY0jIJ3TBwQm4bMTlhZY1TmLTIfkCn0Mtr3de5wqZB4lTLrVl5TQo+X1aES4ZkF/NX/bFDOLrEZ3TJpt
FZPUiXJ7cUeutFzrhQItoLaqYSFokcZR/qZceB5ZuRPZo0nr5mic4cdB+Opdtx15QtteM/NF+qh9w3At0XQgkQHxFeyJOxIXEkbt
lS29yC8rDeAsBgOe0RY8296VrEMEPZIBoAdg9rlG0Ul3wgRiSAgDKcQFtsxo6NwmKJZ/q4pA9Y4M1yiYbW3Nn9S1bKSXILKFCR50
aP7QdlEhuK7Q/p4mqotuaPs0SqfzcM+qc3U8do7TKThS5axEsOVp9/yahu5yAUUQVSxbaCrkzDvQnBYwOHB2+iFM6IfLjNYP+1PI
YPL/aQ8O7mUl6L7xrOZZHwVQ41yn3RgXOMbxIwYD2Wu5Mr2HrEc3O9ihIDw3xY+2RrS5l7M2paVllkahGJyQR1YZQ2dmxS3KJd8S
r2BZSLVVlXDXQ4rJ+RqOCOmmupZLB91Yp4jLT8/hKRsSGEbVgMLU6JakkwkWQv0pTgYSFrc0SZOYFDVHCQyE57juiRPaPpU6de4z
7QR7agF2wTxCksdQoNx95XSKOUgNkHqtpp1xpubWwO9bKZ1fK6QZt9AnuMYRMI3XtaYmoZhz8z4qgRnoe01HMPMdU7+ydtygH6Bw
qhFfRzcTHxqVQVvRvTjeKQFPx5f7XUUxGmjfSGPFg6SdUnFf0PUaQY5QGHA7J4h0PH+svkvuQLxXzQI1D47HCa0BhJVfEs9gOAP0
GBrad2WX97cavRojslURjN54xfhBBd1K7D0PCO20bSuTHYbCsZHE3uJIy0dQ3ImrbgvwOyYYBSUpaD2eHSsJYq6hRj3g4/88quox
gmUp5pHghPjdMy420IP7O6DDeNHJmVnONNKa6RTKJIqn28fr5Y/nvz5dHi6/vrw+3i7Xy9ffHz/zOPzQr24f396ul9s/n5/+84vy
+fb0J5s//Hhb3r58e/p5yS+vnPp5x8e36/++8efSy/PX2+Xt7e1fMoNQeg==
""")
### END HIDDEN TESTS
