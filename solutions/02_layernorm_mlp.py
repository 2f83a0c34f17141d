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
# # Exercise 2 · LayerNorm, GELU and the MLP
#
# **Goal:** write the three per-token layers of a GPT-2 block yourself — LayerNorm, the GELU non-linearity
# and the MLP — with GPT-2's parameter names and layout, so that GPT-2's own weights load into them and
# give the same numbers as the course's model.
#
# **Difficulty:** ★★☆ · **Importance:** 🔵🔵🔵🔵⚪ · **Expected time:** 25 minutes · Follows course notebook
# 03 (Pre-LN and Post-LN)
#
# Each of these layers acts on every token on its own: a `(B, T, C)` input gives a `(B, T, C)` output, and
# position `t` of the output depends only on position `t` of the input. After each answer, run the check
# cell below it: it tells you *what* is wrong (an unbiased variance, eps in the wrong place, the exact GELU
# instead of GPT-2's ...). Hidden tests run your code on other inputs when your notebook is graded.

# %%
import math

import torch
import torch.nn as nn

from gptlab.checks import check_gelu, check_layer_norm, check_mlp
from gptlab.config import GPTConfig
from gptlab.model import Projection

# %% [markdown]
# ## 1. LayerNorm
#
# For each token, LayerNorm takes its `C` features, subtracts their mean and divides by their standard
# deviation, then scales and shifts each feature by a learned `weight` and `bias`:
#
# $$\mathrm{LN}(x) = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \odot w + b, \qquad
# \mu = \frac1C \sum_i x_i, \quad \sigma^2 = \frac1C \sum_i (x_i - \mu)^2 .$$
#
# Three details matter: the variance divides by `C` (the *biased* estimate — `torch.var` divides by `C - 1`
# unless told `unbiased=False`), `eps` goes *inside* the square root, and a new LayerNorm starts with
# `weight = 1`, `bias = 0`. Name the parameters `weight` and `bias`, as GPT-2 (and `nn.LayerNorm`) does.

# %% nbgrader={"grade": false, "grade_id": "layer_norm_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
class LayerNorm(nn.Module):
    """Normalise each token's C features: (B, T, C) -> (B, T, C)."""

    def __init__(self, n_embd: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        ### BEGIN SOLUTION
        self.weight = nn.Parameter(torch.ones(n_embd))  # (C,)
        self.bias = nn.Parameter(torch.zeros(n_embd))  # (C,)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        mean = x.mean(dim=-1, keepdim=True)  # (B, T, 1)
        var = x.var(dim=-1, keepdim=True, unbiased=False)  # (B, T, 1)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "layer_norm_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_layer_norm(LayerNorm)
### BEGIN HIDDEN TESTS
from gptlab.checks import seeded_weights
from gptlab.grading import record, unavailable
_x = torch.randn(3, 7, 24, generator=torch.Generator().manual_seed(31)) * 4 - 2
with unavailable("torch.nn.functional.layer_norm", "torch.layer_norm", "torch.nn.LayerNorm"), torch.no_grad():
    record("ln_default", LayerNorm(24)(_x))
    record("ln_affine", seeded_weights(LayerNorm(24, eps=1e-3), seed=31)(_x * 1e-2))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqVmkmupMlxhO9S68dCzENfhSCEAtgNEWqQgtTkhui76zOzSEJLqTaVL/MfInwwNzePf3779a//9uOXX/7y15+//fTPbz9++9uv
336qP/+hzK9v/+U/yvdSSv369o8fv/7d1/z5x28/vv30xz+U7232OeYdX/p8+pq13fZVvo9d7r6t8kP9Xtqdveyli1ZvY87Tli5a
q7V2R9NFra9TRz+6aN+5+15tcNFs9fR6Kh/vuWuXVjefy6qlD5ala/reZ54yupfBnaX16yeVss/ud9fS/OC+xhlj+Teef+rq8/AE
Pq7TdvEPY8/OWtbwD63MfbrectfqvZyra2qZoy02wA/n1Mr7/fbaZ+tzt/3VvvdeVyvrfmGCPvvoQ7sodZZzWGUW2O+tpdzmp7KG
W9rCng2rsZybp87BFdy+ZSkeVdroy8/q2hzv01W9N6y87tUvWLCNcbaNdRaGYDF+CTbHNXtMfqmYcLDIqwfXO+sY02/cu9baS5dx
Zq+7YTg+rjrubUtrr98nfppsQGba68x+qz6zTPYk4/H3KW2O7deWusdudmqvpbY9p/ag99S6bW0cV89e10vovJ9l48j6/dTbxq4x
8Rmrbz2VnTUC6/LniHtv3buPlduJFKzbbIDNQg8BgivuuOUMW79vQk4m0zp4zJy3eAvzHC4hBXQRd5xZavxV8XzBT7LebjiJmxL+
rAJnJBcIu3rKvUc7bOeSGS0hOLiVf8WuKHNhk0lSsLA1y943e7yr8ENZ+aOMWledL5naOfKxnjXl4p6kmXrlPdPJVOfhcdr6PHsQ
RWt76633fWW41mSD5SWVM4m1Wof/OkqLRiZrg2U0HMVDq9yBQa7dt+YYDScr+LHZ4SK/d56xV39ma3Ox7OaYL6usQSr6qTic3CEP
HFCkYWEt3hsbPf66EDq8YCV0+EyMnHi8r9LxbNGTutzBo+IaVlvbEJ4Qy2uDLE5P0n0fXOiLDvtnuXEm1m+llzGTe0QltuxBGlwk
KNMt9eLksbKUSbqOE/vPevHNiMtHAYKIE6cGPi74X8bCaP1MPGgY2BuzJNdJQUBvvHhZox3/pAWTK6DF9mdDabsxde/AZML71rUI
PWUHObBHXXlSYxvExPb7mqCsLBuX8G827qj6kpjwSoUGs29n3wBxumzW2VSd9WEa1r4DWwebWRDrMWredsbtvoOrq5ca9LhAc8sb
zgbs9AHMIqiJmgYYXJDR0DuUZ+N656WyE0LGUFNuV4Lpoz5fYM7vaUd2v3b/BKceapMgjlAXDfZKxvSHCuArrp0Bv94OSORlTlUH
AEq5MZowdsr7mKGPgZvt/jtBoeZnyYGXbNjDyU9YED3ZA1FXgsIkKNsZL17wEqVhelWEuTK3OiprnZSP44RQ6QM8DEJTK3cyAZek
Vk2ig1nP6BX0ASFT9/jSqUoMXBW94ehbQk4yN+iFH27qJLUUGJ8GJRxxSZBj2CWdKcqjvlrD3mfKU1N4UERG0BLsufFax7lU07US
+kPZXnyVfEU5yC1AjII5uTca8HqOl054rwkcjEAOG5o7mFiJZGLsIcJWIXNsAN98qor3ojyr8RXoppW0Tzk8U9ESWGNXiwDxGoXZ
hFcrNhw+P/gyDt5HUS/UoPoSBd1RzzIoRQ/29xgiC02vBOeJxnIfyhHQZ7oE1souHheqXVVy6frN12SS90AJrhAKfSb7G6TBSb6J
FgpOtnwV6d4yFZIYEHQoBwAoxVLqeReIbsceTwRVnDM8rijnHyAd8YdwF37hZT2mUHaSjM3bh6+0hQFc6WctcKz7UBcggWfNV4MI
gxmKxesJCj8YcCPUR1MKcQOvPy38CLC/ApNgEgHZhpkbWAPID1chAuPy0MAMyUdxXARhU3gJ9br3dKlhVJiEEAkE0wuCwl7I8p3E
vuAGNCV8CSZzcL79AqYAZ3bFIpqoi6Y+wyVvhwsqAShFZyQC8QzhtkxhuBkil8y7YqnXRpzHQSqqUlUQtwPbRQw6NpOqV5X0Bkeg
Iqrh3C0kpBySyDKHURHumWSlJGz8qR/IHO1OzifaiebSncPiCOflCkGggB+yPjfX560BqBHqXqhCAKMF8CBKIg16PqXksucEAcWd
NV+XGdwDIejjwUfROxwdSn5Cv76LJlyuidziXGw5b/JhUXJqShyR24RiD1egPbhyJiI21Q50d9Rd+Fanfhj1gIx5E7SqojKASV89
VOthNgeeA2ukdhcxkYnF7vg4FVw1DFZYK5Ay/4BXFC7pITLXPUiqmaBAxFLJSUVaCkBuJqgpMh/yrcsDBNgaf5pUYgx+aQ4TkPUS
cCkrsJupuvJwDk/g1SQebzN+h0qwZ6LipE5g3A+oUI+rHpwGhC+psyZtkAqsZvzGe7jvuJTgeTHqGkoJPRXM3pfceHnvJB6At9kW
NsBygqUUIgjxWCVdmEy+U3RVAClmjhUgyf2OTYDRAJO2Q0dBs0daSRSK0MnuYNUKcdO/qvoAyARWMBqPtcnp96BsofJq2YqxVLEs
IDOs8mIwe/VAutgalcbhCNa2IpcpHCFWRGkLkxMQwA30AzFDPxbqSOQDN3Rx3hGVHK7h8kvXdaBfsR8lWBZ/PqLkYJCAD+jO/aGk
bJWO8WVPFaNU1Hvj6kTVAmlZStVp64MUW2xjBUDpSsdDEnhnVT6k4EJiQfnyugA2PvrLLEr3LXA+xbloa0u0cT3OGGFHbBCm3Ew3
AIwlUHv5IwxYRl1gbLl5DtUtLnReCWjoqvEVI8Km9ivQVAK1SsYlouU+DusVHmfrEU2Up17tFQV9LECgS4TOZjcD0meEXgz6TVHf
mgbqLEh08oyGsMqfwwlLdtWeLhJ0acrSgA0WgauodNPmgAOmM2ADi1mhveTlToDqQSwEOp8wpADuYmB30MIu3FOoHxv91VDynnZv
z5cQGD0AS0OBZUd5naYK4DGNBAv7Xa+9wLJLDMaNNrYX41OjJxXh3UrIT1d1p8wg8FdYibQQxfAx2Mp5s4SrTbX4Bs6hq1lgQLTr
YS2tEGWGna7jbcMEa7vhvyxnbckuoQg4g+Auws5FXs/2ellIJXQuhETITFqu+AhwwRXhPtAxcH+9vrbqj5FQEKMZESKoURvM80Y6
zSEtU0+PrTe6RWJnNKPgVDwMEYSguxpQqvCHyzWdtqiov1ZlFNFxgqtL2KYWADM9fHnKiuQnMSnfwfKoDWkIgFBCrXqpIEhTQXTU
KpFOS06Tj2JPYRpEOEBQwlbJ7qtudnmnRVgWewyJPCL4CWAYowi24EyaUEncNSjgHuFxG2we6sYe9WTXFlPIWWJoB/I2W4Dq5d0E
mjrhdNjqzIlZs0AMq977PpYkxWu5TkCCyNIW/ASoykdMA+WBvZV2aVe6nMcRRJhuipqo3UhIUe2PO68sagOAlN0gnhpTCOQ1gyRw
VHrDuaEJW0TfRhD8uMoQnizEOMwD5W5XCdCS7E/RHYv8og0fr+LgCszmBLsyT2xJ34WfYn0XvfVcBC2lbzjHiptQStW1mVkeaVLx
MfFapU22iCM0/ONGkhrN3UN8T4jP52EQdcBFs7um3P5IOWQIvUjK3VQaH/uSsG1SFXZwiZ3uh3YQoMVVbtjEdFTPv0zdlKs3BAhP
S7H094KNNQT/UDLcbpDHK6DAZz+dasxzvAneegHa+tgXkNEI9nTE8Kfz9AKRFhzbZ/KKq1i93iEFUIluvaBGveRrUq+FcB6SXUlp
KiTsfi1vlz52E+FE1aGGJtrx1RCzfB0MsNL7K23QGhI1wSsgoy4k/2Hh6z5WjoeXxT1hUgNHrGYQSRJN3YerUBAqwWiDHkTeVa6I
iDU37rBk7T+xy6ch0nFfa8KWeooFX9URYJZyCkGIkSk5PIcc8TqE99P1D54GT7wvNQlkaZORTAgl6+IK/TVFPIZLAhZRdLiNFQkI
4dtWotMYgtT1KbJV4ES1iNdBCsi0ZVvwD/r2Whd8WVRrhSg0WdTTaTmHegjhcFzcrYag+WWmbyJYZskkCf6haj3JjrWRwcF6egIo
0/hX/sKh3Y5UIeiDSfZFAo3IPtS+46pDpERusrDUJZoMlUHqGz3lHX/6+vYff/nrn7/99O2XX//247dvX9/++99//OfP3376Y//a
X2386fffvzSj+PPPv/z4+6+//f+HFEMKc3/kcEp7byMRKWjsT9rpQLE6vdczSRcK+eCxpp9VshbpmHqHKbBJOodFcyGwd96QBXQa
ZtYWIyO3UMYGcHQ/fZHUKUcmId1Un9OH4l4aqXGDCioCez1UgDKJ/Jnf0m3SVVlbBjSHmLYcDhOgmQ40EsdHcxDnrNSl1H+eCXcB
4zWfuHpkcVpr3HE/3K27q14fJburR3/C3pVyJxGlfR9W8/tbt5r/HfFTghGE1DGu7MLIUbGguZD/tMOWhKe4WegRRoOp108zCjNx
Se9KEtDJLqIz7KJjT1ijeUoR0YKLFV7B9VGluk5PjRgENAZfCO/qPfUYgK2mUEpyCl55KTaE4U49Xk/YNl9EDwJ2NAP6hPSQqU8A
3sJD8YL23axs7IdVaulrmvoiAbJPCyNVG9IfcQZt6aD+2JFNBXJbhaKiHXHO12dofBNyT1tyg7jQcZjA6xP4DwiY7kQh0Gp3kp0X
SkC0RIWx+DFe/1IUmVsdeYZcmnklh+lX6Q16uBuWly/VMUrsuJE4iQBqjIl0E6e40vXS1wAswH99xoH4jPJUVK4DpuYLEE20aqgi
dk0jD+uUmOa2bQp+6ptPdF3c3lxBiiLRZg3nCFY7Aa27qQ/dkgqBLOPUyLoU7JqVSobl79iVR2rwspKCtG8nAUFEbclVNrLgPJKU
dTkooO3ldlZEOHTSgsB9zsbA8IUamZGw+YxnqoYwmsIp2+BRUjPch1L6q5LQsQEpfqQKOuHSfj7TOFVY7bPq30p5JI5Ybn+TR8nB
O+aeonCjh9YOjf8EB49q8FCrUMTutJYhPaBYXs1GadVKblU7xh/hyprUHHUc5lTm7FZNIavYYj3eRjzD+ZRmrKVHCCtX06hzQ7SA
sdANMWl8sxKp0KkTACkK+vlEC5WnbtIgEYcCPZ44CfloaY1vpYqr0/5yhyKxPn1F1Rxvvu4dJAUxjlmgVCbDmKKRNkHUlhyuqscZ
S5LlbLXsV52lOT2irpl3DFg1b53mfESfSLehhmKvUA9LxIeYidbA5FgRtPabx2xyKuSREj7VeOxITNPlQZEiKlVeXDZR+plyfIQh
BJ3NSNSTQx57aco7Yi1gRiOtdPzLgsF5auXQAC7LpiPTEMefp/rvSNxVDLq4YgsccFzexAX7xRsxdWE+0W7ENFZmIUfdhydWlAjK
177Fki5RS7UM+ZVe38mSbSRb0gjdTg2xF9Vg4bi0+DJ75pmqA+3NbM0CXwvK1ZoB+sWar9wX86LcaqXbyyUIZY95FWmquG82RFDS
WFis0eA+LW+TZPCaDGWb64sTjo8ls0fBkCnDl0fyUpCDmWxMfXGG8GIMu3+o5mrnM9KXSqy5q6u4YHNISo9KcVyGYj+yOqobJuqa
A0UYIvZ72iaRYs1DH7MnliOPNeohjz+f7mQP4Fhpqf69pMhpIshVJjEqBupgM2vwqCXjOzUbzYWpWvgpIfOsH+p3kpdqcEPG4YhU
D5cxNSYl5UbAq2Jn6Y1Qr/df9EIF9SPvH6nCRNhxnh2JchH3KWk++5G5WOeHan9IhK5qHGReVgoOTHPLijlXoL5pqj/KfsMz6PXJ
ZJwYBfUsATbJhJJBY0Reu9SLE7ZURkWnN0cEyjI1eS3Ju8/9CDFef1J6k5Fm/EGwaTBoJ2/Jt5rieTBLCV0mFHuT5KJ0qb4Sc3Ov
dcsLx9R+tkAzisXygGxmRij5Q9XTnW1RxzMey9AsPLmpyUGt+41MKIDUHMtQdETTBAonqAlIrFAUQaBlXqZ1Xbfh+p7Q5aHW0JVS
76AFhu5S9yJ10IgRaRHJQKzpyZpLFeW5f6BD1m0G+C7aWN5AXmmN8XugDDw9b2o7xW3fVACCVtd05IkvUP6PXK6DPmckx+kriL3P
qZAqJbuF/lPNsNctaX7oZIU90wXoSqGe5+lLm9DK0EPzkJW8g4hIsW8RpjWoIYHSak0tVlaVCKA0EuSpze4+UaJ5NwnsYqtJpjqo
NG+A9Jz/Gr4ZUHUaqmrSFO0VNrnN4arlTw23xGyO0N3CwqZcLsniYTZQfRhQelJoSnuSCnQbf6wWWUPVdn6I9QZC+vtsTEvX0aUI
qmS5cZsW2+dnjizm5aaRthHy9M7muGRKk/coRxXR1JW9KRjcjignZk1sko3iBrm8masl7KqLeAZkOr3V0pRrfi3dJaYD7HpmEvNe
Hcja/kFCXa0padIMT3CgSJga6ootedVLgfQbmo5lUGe3OYtelmGthP+e8g55l0euCyXAvagZHqRoUyXHofgCZAuz4n+yOHN2ogxq
ZSso6aXfmTSREfPpePJMez1I1/zBnVQDonT87Y0Pq3ToaAE8XVOXmhMcxozMAD17MKndIsxrRiKQtKbDefHvobkLVhHcartyrkzS
kQYkL4iaRJjmQPMBikheSzniKZyoLRlTrrVj3PgODBwofMuJqq3GNmi+1L96mK5sgYzWnO4j7agYO18vzbrN2oGx0lI2z9HsL9Mc
XClNMW2wyvV+KqlnJpJoIrUfjW/vK4gafUeIwSW0GiNzE2l0xVMCbVFUNGEiMYo2PD2MToRJ9VS33DSsyPknHZFo6y1bkm9ZDzdo
Fkp7AjB4CeWxIohV5K+cBxqaBaT8UWSvRGNTYKg5FgrjcSs/MjHTwTWRusSnROaIPTrAIRHFB6bcy+FADxh0sKK8xksjrFTXRde0
pca/kqqakkmm1Bydz3NDzDU61qM0hI8RIUYn+Icyved01tYmeuikZvjjHcdT56ChUZqQbp5iGWUtGPHeb4gw5B8NdISRgP7K6ExV
fYoXv1OY7C1TH/oocPp4etI1HI36zuuEqzvjQJ1qbEk6H2bZy5HXRa4C/iqJTYPF+E1GimbjaXy6n6HAq+6xNdSvPfPCqc6q1wRV
9RBmH/v/alTVo7ICnUXTEg8mdB5Q09sQG53I6+cpiEctb6wHzI2kTtVIChtXJzL2evNEqdQ6rPNmZLTVx+dDdeCsfo7eUtHEWL9c
InjGMNAuKIoFbW2ExiZJ7yOfN3LEEOdbEW41mxYbMRscclBr663x+ACcT2heJVFWoyNl0p98Bk2nU3yNOJyknnhOw5bIKCYeXD4/
I1Co3/5fB0R0HijNjYSQ7jHFUttySrKFuMRI003n8JHf+GwVjaJWTrx1kbcQBUVjjQOm/LLeMEhDKJ2blDTZRIFjxW4x+ESj0Pm1
mRGTiM6R/GrGoea21MwSikek5806jo759RxQajpR/CEZOifw+gcViDelWRKS3WVYdSCoXLUNQVumNHSQTDuzXnUr6mf3R4eSeBta
p+m3ZnoRrq36v5GlmFDOkFBlpbaZ7kr+1vDOR2t1YqK6ykGlpkbXiQbCcZLN6R8xUenvvCipsDQhH5/SItKWwwBqh7tLl0QQYti6
zpGwcT25gCoKwc0Uu04tWVuiG9Asy2OwSlOU5m7qwTUCvs5yQKt7zkGKZuQQBtmtA3dhzzq3R3x8uKRKzw5Ig/lC+MAPJfvsd8Bs
6WzLdq/dNfo+72Cj+E3P9VUUajdLGlYWWiZd+k6N/msSdUIkkxrFXz+xgs4IjvdexcRdr9aSJD10BeImVS9jiiX6+2RYnRTT2YSc
PVB81NhZAz2fufKpapYQiVMDe/Z40v2RE5q05yys+N34qESKg3eqQ8PT5qgRWpF1883VJPxZbpoaqMwcE6w6WdB9fq9ZU94nTZWm
istJVyUv96d8VukeMzE9xZUp2e3NBihVjjlPOMpMr6kD9WnNRac0lrBnrFDcnJoj8iZYsRwrRyrL+T8MEH7/H5x7vNI=
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. GELU, GPT-2's way
#
# GELU weighs its input by the probability that a standard normal variable is below it, $x\,\Phi(x)$.
# GPT-2 was trained with the tanh approximation of it, so its weights expect exactly that one:
#
# $$\mathrm{GELU}(x) \approx \tfrac12\, x \left(1 + \tanh\!\Big(\sqrt{2/\pi}\,\big(x + 0.044715\, x^3\big)\Big)\right).$$
#
# Write it with `torch` operations (elementwise, any shape).

# %% nbgrader={"grade": false, "grade_id": "gelu_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gelu(x: torch.Tensor) -> torch.Tensor:
    """GELU with the tanh approximation, elementwise: any shape -> the same shape."""
    ### BEGIN SOLUTION
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "gelu_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_gelu(gelu)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
with unavailable("torch.nn.functional.gelu", "torch.nn.GELU"):
    record("gelu", gelu(torch.linspace(-8, 8, 321, dtype=torch.float64)), atol=1e-9)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqtl92OXScMhd/lXJ9sAbaxyatUvRip6Y8aNVWb9KbKu/dbsE/yAp2IyVpsMMa/zL+PXz58/PJ4/+/j7fOnj4/3/cO7tp6PvzZp
V2utPx//vH388kFrfnr7/PZ4/8M7Pjz/z192rTWrjVof3vW5+VzN0/rheVWNKPM8vF89vc1WAY/nu3GZdZ9lN/druNXI6IfnNWcL
q8rDO+tb5dr7fe/PaitzHO5Xj9XTWj88L1RLyTy8X2MOX63ru2l/n7Ws56F2ZYs2vdnh8xpZ1vs4tF8t5goP8SGec+b0re2QtMV1
OjOH+1U2R/V9+pA2azRvzeO1f5RWpHjX/lbo030dbpd5Hx6zHx6XjZyoaIfX5bam16rDsc6oUczA25aXiYDqh9s1RnpYxOF+LW6X
Y1u3bWt7VM8Xx1sT5420HVz3fXtb8/Ah7yyLNQ43yYu2vSEe3BdjtJGHF/urtxb1kjdk/ND9W4lXebW++uHjSlvmhNDhyI/yaXV/
j2tWxjTzw+vqBJuz4iWvh+OtLn1TfFpv7L/5uAbBsuY4FPO0MXO1m/uFZ3311/Ipcbgjb475OTsJkZd4rlL39XawczPk7fVzB5uZ
cb968UrRlYfbVaHYbX54sH6mpffD50V0zMJGhy+yvC8iJF7n9bJmrnBpO1lCmTi3+3ayte6j2dZvc7yXbeahRNsMgrHNw51okrHi
/h4XlgwM5Ifn1TDG8u2dkDl2qtVL/ClCfXC/ucaLO+lLSviL5+x9jZ43Z/WI0fK1fmQv6sXoNzeCFx3Nbq7bU3++yYsWY8hqN599
6vx46ZPol6t/O2/hrWiE7eHEdieg57qpch9tb216zOLw12EExooZqmuiYwz089dRFJo5exu3ZCNrfOa4Rdk0YnsoSkV9RJJ2L1G+
pn7GfRDfjDSKW9SOgWXztgnpRg31dl+Jb4lX5tnbiRDifR6lOvlshPxZ2snstdxvFq1cKh+WDTPV7YeuPCbzDhuqmc3W2UdxJWbG
OjcZOSR3HQMSjbjmdoYZ5sp5hwbXxyTrELzIwnVr6UHJsBZHhq9yFDniqb1e39wZi3wh4c5Vp9NaOOwoiUqNTLivmlEkSvOzUiWu
EHSsjeyJonmOWwrQqrn3dXkGq9ghmIBaeoguiWlvshIT1dkzJoev2gqzaijgzhc625KzNsFjFA87yxztis6ySThF5Q6cHlWNK27l
OiFlZUfYJCp69COMstrVKw4hKikEZ0sSa/g47i+Oo+ZNKM027jNV+FV6D2mcdO+n4lUcd6pRpyrquQydke51dpAU3O44orNurJbz
tqANgvEYF08q/9pxkVo7nf5mzqmUj3UHlTJm9t0EyCtqeov9hNBH9JlE9RAhnvd7Qbi46VA7fEoLEru7Pbd1Z9L1tKZXGN4hsxpy
ab+UBwklW6kUGAhMMHS8Hponn8n3pq2GYKJE0C0c2y+tpv5RMNK1OojaJP5DmNxC6RAmvpxCvPfiKk7FreA0Rwc0FqYZUK2kMGai
B669nKig5PDCAS+qG/2To7qqAkVibEiYk3gJpLCh7hBSeeGhAySXRrXckMAmnLTU0Ci4gyB5iGMLSPlalGytDf4nZXUC8cQcQUQH
HeRRaJc62+JtBkwLnEJ9AvL8qyENsCD9c2hyqXaqjAKZVEN4DtUqXjMlpFqpKTyAqfCOHmZ4DW89FQBYQCkJVEcli4C8dUxvEUGu
RF4FkJBWWe2CRfOOlISgJVCdtRbL0yKbjp3EDsbTAnxDqXdtS3xCtdPa3O+5rllSf5B9msUlpK5p2yI8mNcCvM1TjvJpimXqI6oD
V6rSLSCFMImJFFyUEUICSLziCNOsUpPiLcijZ+GnKbgWRYm72eVOc5R7gYsEwPZGj1/8yw3xY+X+PtVCnFQFciY9TCqkL+plShaa
ELilbZiJFO/SppitLQuhmKRpcvGDyePpqsZqGCXIrF43QBKM08wFmSXynnrIg7iRIJNEgwHNdQLt13UxhbjrWtymS6jQ8r0phGfX
qaHZ7No/NUuqCK4tdgBTs7yLBNcWq221pZnk1p4Nza49OzW7J5VasS8maYJ7FsvEvpguL3gWa8E4s1PwFgG0M6ttdmYX0P07/D6L
IrxdNQS0OwW0twS0htY4+ROLIdA1BIaGgGkIuIbAHvo1NQRSQ6A0BJZGPHm7aQh0DYGhIWAaAq4hsId+TQ2B1BAoDYGlEc+62o/P
x++//fHT4/3j54+f3j4/no+/f337k79Df6DJ//j169f/AOJd/v4=
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The MLP
#
# After attention has mixed information between tokens, the MLP processes each token alone: a projection
# `c_fc` from `C` to `4C` features, your GELU, and a projection `c_proj` back to `C`.
#
# GPT-2 stores each projection's weight as `(in_features, out_features)` and computes `x @ W + b`
# (`nn.Linear` stores the transpose). `Projection(in_features, out_features)` from `gptlab.model` is that
# layer; use it so that GPT-2's weights load as they are.

# %% nbgrader={"grade": false, "grade_id": "mlp_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
class MLP(nn.Module):
    """GPT-2's feed-forward layer: (B, T, C) -> (B, T, C) through a 4C-wide hidden layer."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        ### BEGIN SOLUTION
        hidden = 4 * config.n_embd
        self.c_fc = Projection(config.n_embd, hidden)  # weight (C, 4C)
        self.c_proj = Projection(hidden, config.n_embd)  # weight (4C, C)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        return self.c_proj(gelu(self.c_fc(x)))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mlp_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_mlp(MLP)
### BEGIN HIDDEN TESTS
from gptlab.checks import seeded_weights
from gptlab.grading import record, unavailable
_cfg = GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16)
_x = torch.randn(2, 3, 16, generator=torch.Generator().manual_seed(32))
with unavailable("gptlab.model.MLP", "torch.nn.functional.gelu", "torch.nn.GELU"), torch.no_grad():
    record("mlp", seeded_weights(MLP(_cfg), seed=32)(_x))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNotVEtuWzEQu8tbu8H8P75KkIWBpGhRtwnatJsgdy81evBGepqhSA7lj+Pn/e24fhy399f7ceWXL+SX4/ds6IGI+HL8u93/vqya
59v77bg+4rsJF1mnXL5gp8StpBYXbESIDYeyNtVS7pqx6jitpJoTJ0xaFUQ1ACSVLRmVU+fUUQwi9CDMqaVc+4B9Ycza3KJwssAs
s8JlgzVh1Z6rndoEhck8GxWKEulVJ0XRZDEAqEtjnhZcrsaas7MsDzGsF3Q6oL15ALhMPHl0WtPywwobdQpuo9FMHAUxuQWIqZrr
gDGxhmWfWJmmuHf3wEQpK989pUFZuqBLCBauW8i9gkVp+g0WBs7mFnwr7Hy3ZxK6bXuTwWTLkAUWCqIwbhngYQ06vb4zh3f3CFNy
peyNRZzUDmgZ07kqY6a0RBYPL5H0Oh0CJ4djkDYawV4QHFsNjIxYna50wqYQnnmHZPPuR4zSLHS6gZkq2y4RRCF5Bw6JwLBiJ8Er
cbvpOATgFiRg96dmq++8QGEs61AF21ATC0oQIgxy04VpXqyqI1YbLhBtG5BP00Iu9+jAuNSGpSqWSMiycWULuZ5M4eYWF5lMINNg
Fjt5YB7pvB8IaLEisLsKEVIkbCd3kUEopgVTCN4+GuapmN42GM4JyxkiNxLn87XgtnLTRQwFnXV6TwqOZX76atF41L4k4znjDvbT
8PXWwGGDJaUkj2IchFn1ICuUuJuPfOWUyMlqUOENQNu8L/AgW7K3zYDCjyaGkZ1I2wymVwotkneUdE0waCDQG8uEPQ4DnuKvZgwJ
iG7fL9lg4RrtOU8pBF4m41SIu5OYPV2OH99/PR/X4+v99fZ+XI4/325v+Lt7lIteOJ4+Pz//A8y7DRY=
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. They are GPT-2's layers
#
# Copy the weights of a block of the course's GPT-2 model into your LayerNorm and MLP: with the same weights
# they compute the same numbers, so your layers could stand in for GPT-2's.

# %%
from gptlab import GPT

torch.manual_seed(0)
config = GPTConfig.from_preset("nano", vocab_size=65)
block = GPT(config).eval().transformer.h[0]
my_ln, my_mlp = LayerNorm(config.n_embd), MLP(config)
my_ln.load_state_dict(block.ln_2.state_dict())
my_mlp.load_state_dict(block.mlp.state_dict())
x = torch.randn(2, 10, config.n_embd) * 3
with torch.no_grad():
    gap = (my_mlp(my_ln(x)) - block.mlp(block.ln_2(x))).abs().max().item()
print(f"largest difference from the course's model: {gap:.1e}")
assert gap < 1e-5
