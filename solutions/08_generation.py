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
# # Exercise 8 · Text generation: the samplers and the loop
#
# **Goal:** turn a model's next-token logits into text. You write the pieces every text generator is made
# of, then the loop that runs them on a model, and use it on a small GPT trained on Shakespeare.
#
# - **greedy**: always the most likely token — deterministic, and it loops;
# - **temperature**: divide the logits by *T*; *T* < 1 sharpens the distribution, *T* > 1 flattens it;
# - **top-k**: keep only the *k* most likely tokens;
# - **top-p** (nucleus): keep the smallest set of most likely tokens whose probabilities add up to at least *p*;
# - **min-p**: keep the tokens at least *min_p* times as likely as the most likely one;
# - **repetition penalty**: make the tokens already in the text less likely.
#
# **Difficulty:** ★★☆ · **Importance:** 🔵🔵🔵🔵⚪ · **Expected time:** 50 minutes
#
# Follows course notebook 05 (Generation).

# %%
import torch

from gptlab.assets import load_shakespeare_char
from gptlab.checks import (check_generate, check_greedy, check_min_p, check_repetition_penalty, check_sampler,
                           check_temperature, check_top_k, check_top_p)

# One token at a time means small matrix products: one thread is as fast, and unaffected by a busy machine.
torch.set_num_threads(1)

# %% [markdown]
# ## 1. Greedy
# `logits` has shape `(B, V)`; return the id of the most likely token of each row, shape `(B,)`.

# %% nbgrader={"grade": false, "grade_id": "greedy_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def greedy(logits: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    return logits.argmax(dim=-1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "greedy_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_greedy(greedy)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
record("greedy", greedy(torch.randn(16, 50, generator=torch.Generator().manual_seed(3))))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNodjE0KgzAYRO8y62n58qPRXEVcBBKqKLbYWCiSuzd285h5DHPisacUv/AnQn6u8CrdpCH2f5G7iCjiE9YjXZsYcoAfjNBYVvbU
NXa0DbWjVrQdTaWju7RuqfqRWOYtwmPeMoj3FF71bFDtWEr5AQuFIsI=
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Temperature
# Return `logits / temperature`. A temperature of 0 would divide by zero: raise a `ValueError` that says
# to use greedy decoding instead.

# %% nbgrader={"grade": false, "grade_id": "temperature_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    ### BEGIN SOLUTION
    if temperature <= 0:
        raise ValueError("temperature must be > 0; for temperature 0 use greedy decoding")
    return logits / temperature
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "temperature_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_temperature(apply_temperature)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
_l = torch.randn(4, 30, generator=torch.Generator().manual_seed(4))
with unavailable("gptlab.sampling.apply_temperature"):
    record("t0.3", apply_temperature(_l, 0.3).softmax(-1))
    record("t1.7", apply_temperature(_l, 1.7).softmax(-1))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqVl8vOY8cNhN9Fa0VodvPW8yqGFz9gBw4yiINkko0x756PzdbM7IwAWujo9IUsVhWpPx5fxms9Pv3x+Pjy++fHJ/n1L8Oej3+d
h/EaY8jz8d+Pz//5tdb88vHl4/Hpp/5d5t66U57jJWGuJhnPeiUqU4aseZ50jTU81M/Tipkq6dIrx5JlY+lTX2oWMSwJ4BwzR2ak
z/3s61TFhngfI0ts5VA7T7u+qQ49+7jQxa1vmBKprjeWNVRXjLWe8ZoE5WaL+/w5X1P2kpx5HserUpC1R18wZo49h7HxHOprqoRm
x2Iu4T5rmwivZO8b5Rzbw2ZdLovLkn31Zq36mff39BEeorYvfENDpvlNHHyIbWm/lC1ppp3d8LWnrdn3gdBMiSnPfIUvAAk76ayX
7S0hKedRXp6qab5Psesgm3tO214B8cV3jPcVE6R9khTH5IqVGt/2zbUyJW9tK4+1A0bYi5AJRfSszNcELEKNez8V1yDpGx0kEBlb
L/acFCOdUq1LqLkp1pJaS2RCNvOs9ZePvYGzytbV2LJ0pKVRYk+hgqk33CCKkXMRgJhsg3rfACDpCeOiL6yAQrfFLcGY4Zq+n/vl
yyDNoenlBuRb3CQGiSEfH9VLqqTIumXfPGNN+H9vhfFLi3HxZjyyMANtbjk45/p+CbXLbSusqDpXpW3f4YIUthe/v+NdsJvS9ONy
MWR3F0stJ9HLPaWINpWt9oJJpmt3fPJaYLly+fcoNOdU9ThElblSnB31EMbHd7N0bvLYeWqAK2zR3TU4EChcsDdAmd/xOkSktKFk
f0NXTKB+6iKFUZO+BGtQz/SSstosisgPgBAKlXkfg3UgBr16E2wGOY6DFqKcjh+VBbmh1xnfYfccVa9OkfOQ+oZbh8IuaNvnZXSU
J6wWxoRegZ5cbpY4joN/sz9f2FFA2m/1k4niEfHRLUKv+M5BMFgkc5zHggCjq8ecBAtHY9oNlpVF153+jXmDBOXsg+4qXknf8HAR
cx96Y5/JMTJ6637JDJzd/LKAPFaaxDdwkeV0K4OdL6Je5mude/xVae7wfQ9eTlTvZOZrGyLLeCdTdQlsG9spJeOvlMnjBxNwWgdO
rhxl61irXT/JXbz1HwRiSmNJWE3uwB0u6wc6wDONn5+Pv//tH788Pj3++vn3jy+P5+Pfv338k8b2kz7X+Pnr1+fjC5X8/5uhxAYD
2Fm3uQXcyHMzRTdgb1ehsEqJRLoD4LgZ5ztortJEs6xIlQjvvKKpTt1lvscfqmlkOy+9UjS7m2y8KbINUDH+pA+cVasiwIcP02lM
c+GsRwT4LaLJ210pWpZPtJR9RSS6P/fgy1a6OyfIGpsadwS0IXY0/s6ywAV7D/zRjZedN6wTzOyEoJs2CiOyG/w4lnKBmlp9tPPE
MnDcvIehwGgI8YrcfE40hq3Q3ecBqnoNltPjgShKBsZ+s8t07+BgzAbI7xyAq+8yhU4Nyxhx909crpz47HfACYjY0dDakWD3ZuIq
w54NqG88Z8pqdAPHHd5vaGQ576xSoZhGT0qKC8HkdjeyGSXKtixsx6Ws50QNfBi8dAhWo1C3RoE6UjbdEOwsJlgTh9Eg9oX99O1p
vR/f3MwK7dRMSkxxXRAGKqssGkPDZvzyiJHEayzpPbPCtq6IlHtxojS6xLjWRUdqzJu5Giq8E3ln79n0gNn+i/ctxp0uaWFDDp01
tgx14PMlL8MTzbc5sQgzeqhjNipUu/dRM54woSbVTBy8ScXsyICZ3QJAffnb10G3xNMNkaiCRmZXJPhgibsfyBMk5T1qBelcREOw
mz7t9G36uh2GaeV24+Q+BNczBZWlR5hcvfAGxXURDP1ya7aX6KQntcaQ/6QInY5Woih1ti7ZhoQvBHDCvWnNKFczcw9o+NAi01u4
xIziyhePtxLseVMjJM7dPlHDFM6rl6IBWOP0X0beOHJs9aBrhtp5+RHVRee7t9G1bqIwjC7eFEcilK69BPhq2L8IFmgmjQCqZCTR
niswORa5xy1OgNWbOEwlINLXQP6gn8UNgMEt2imr11R8zWMwx2T8OtNGCsxRjRrIv32OYuJa2hkwteKuVxRoAGD6Gv4q1H8h0z9t
Ml//ByENwgk=
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Top-k
# Keep the `k` largest logits of each row and set all others to `-inf` (so that softmax gives them 0).

# %% nbgrader={"grade": false, "grade_id": "top_k_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    ### BEGIN SOLUTION
    kth = logits.topk(k, dim=-1).values[..., -1:]  # (B, 1): the k-th largest logit of each row
    return logits.masked_fill(logits < kth, float("-inf"))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "top_k_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_top_k(top_k_filter)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
_l = torch.randn(6, 40, generator=torch.Generator().manual_seed(5))
with unavailable("gptlab.sampling.filter_logits", "gptlab.sampling.next_token_probs", "gptlab.sampling.kept_mask",
                 "gptlab.sampling.top_k_filter"):
    for _k in (1, 7, 40):
        record(f"top_k_{_k}", top_k_filter(_l.clone(), _k))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNrtmNuOlEcMhN9lroeR7W53t3kVhNBKgIJAgJJNbhDvns/u3WHEKZwVEhBiZ/bvg11VLpv/1eH6xcsHTx/o4e6rw9X1i2eHu/ro
jvjx8Ht9kZOI6PHw19WzPx/lmodX11eHu/cOd548f3w4/rAfdpoz1mhqxx999U/2w046ulpr/5eE9RTmulTaL/q/s7LcNJZ7+7cQ
7xOpq/kvdv4rClveQ+cc3+bA+8fD0yfPHx7uHh4/e3F1za//+O3qJX3s3jh2uf/69fGm/XX5zP6np9WtGS3pKCfcZ62pw4539DRV
wxT7zc+ibUYjL9Ho/OW3crKxhvbeNb9ok6nTuYP1vc2ubSlntpA5ltUG0RUDUGTmouYcMNvIJ7PJAq5wdsSaYYYV5oO8TLi65xdf
fQX/RG3h0Obplhc9VU/sFHNbuaS10Xs09/wSw2WIzjpJLcawMWtZ/nb4IFUesAFrGLVFeywDj1mRtNlidems4j4un15nia/Wog9l
GQA16eF8BoVl0ayO7WTRlszMzzq4rjlzyexTmnbfcOoYq+1DJxvXGmzQ04glfXhFoTOUWMWqXTTxiAzIwIxgE702ZowOnwTDpdpI
eyczF1hEhpM0CAzNJL0vbewtokcL1TWKn6XO+Vo0mADX8qgvbk6GtlkcMYl1nwpSoeGWCQtBQHd+NhTV+rQgZlkks/JehXPA7YX6
GHNMRa6cSFjW26Z/mQCuA3qqMGzaKAKAD60S1cWYkDmmqbdR50cI7Jvm59nNVwkBgSBmCMiPzQggorZm59VukkGiBZu9rVzdfDrE
JZ0xqAfPQukTseXaFA/nzTWLwpXCGAICd/alwDFn8dN0qMzKA7DRn9a1TfggPmMLEdhgsoCFImDYlaaQ6rCuhLFQTN8yVIBhfS8V
Q9fo3qJk0laDRRguKsBJiXxXJjIM2cKd5kQ+dn04UuQ8rfwW1WUWtWw4NUgwO94BRistAi47KdrcYE9HvDMRAQHIAbjLiSavY3kj
8KbbakYT5H6sCzIKKQxWVkzf9Zt0Aj4sJxF4DdW/k1i4Suy0QyhK3WgC+GzL266nZjCDGjIhyposorhwn8hCV6XglEcZB1LsWZZ5
gQn6m1vtpOKR+k3AUYyjk6obQfaSn/Mus9G4t1JQzcBvzMUU11tapWmRTMSNOoKgvCePgk7xVy3XEAF4Tss4HOpAqTy1cZKvXRZQ
DdFjJcTpzKG7ZBsmPPIzMpEMemT9NRZTK1uVTdSy4ne5gwgFlqyJreEdS84viId6zQEpfTOgqReMGiKpw1yjK/2NSspyXA1bD4Ku
ODE03QSieviZmzWKpttmjXy7y/LiA2eiCjZcnRRtoo1EeKxOS+l5GzIgS5eNNpJdjTpLZpXQll0OdUkgCEXbOkAEhGDpdnnBAkP0
m8CEU19ksWsXg0BjlT8iwnT7lryD16IUxzZ7SSuXrTfCS9NLtaaXj0DiWaO4mme7SVy5ABcm4LItnDftJx+QGSf7lpVTeHP3Tomk
uUwU68HPrKcntYn/lvuA9OTXMS8nx9xpaYvbPRTKsPgowxvEUPqFalwXodeS0YalPWXyeDqtwaomyHzeNE2YJCdUX46EjlF8id8T
E9SSYgFBo0ozQWaMAarIJDabE5ccu0Y4ErttYz8JWkiaWumTjmjb0mjRZD39BqI1gMuttnhTjHiVJ3VkqIHaC71UZ+wxhCIZyanv
/o9hTCvdM6rQV/TMGx2VP2WPI2cXSR1TkgO2djMRyhAplr+BMncT5G6SrIlZ0w3CIKoty0Ex4NlVKZ7GR2fclMIbSWjlx1yFy5Yh
gA11k42GLsaGOrSa/ESgeG4ehIWmu+5uiC3H2gyDed96oEkj9SZ7zYAxWRtlBIGxSE9aO47XcqrifNBL1yzbE1QSWgpOJ6EMKgZh
PKIidBcyY4Qs7ombssxZLw8Fl5xaKksmAppMubuW7+8piHbWs2fsY3C3sW0Y809xpwfk1aPnFFabgRSrzwkGG8swmhchQQMm+YwB
b7c0kILas3ymbWGAJzNjq9qwRTMG0otxPEFB84RtdU6W1JCNFqDT4W+nEKTaRjkgyLJGajRgVMokqsgdO/N9bXY2g8I9UMExyLU9
pQ7c16d+8gg/v3yC/8D/Rc4z+0/xJutibn77wXlafvvBeUK+eJVyMxv/fG+23j+ivnlX8PHh9FuRcB4zv9WB750Wv+jV18Uw+HkB
vDvrfbPkboe2Dzw/D2lv8L2dzz7h/Msh7AMXnKeu7/xu7HJo+hyAzhPRZ70W+4eZ5926ec+k8w5Vt+PNv8ILLmeOr7eV2xniS0z3
djx447a3k8HHN55HgHce3Db+r389+p5G/mPeq73+GwDlHBY=
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Top-p
# Sort the probabilities in decreasing order and keep tokens until their sum reaches `p`: the token that
# crosses `p` is kept, the rest are set to `-inf`. The most likely token is always kept, even when `p` is
# tiny — a row that is entirely `-inf` would give NaN after softmax.

# %% nbgrader={"grade": false, "grade_id": "top_p_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    ### BEGIN SOLUTION
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    probs = sorted_logits.softmax(-1)  # (B, V), most likely first
    # Remove a token when the tokens *before* it already reach p; the first token is never removed.
    remove_sorted = (probs.cumsum(-1) - probs) >= p
    remove = remove_sorted.scatter(-1, order, remove_sorted)  # back to vocabulary order
    return logits.masked_fill(remove, float("-inf"))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "top_p_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_top_p(top_p_filter)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
_l = torch.randn(6, 40, generator=torch.Generator().manual_seed(6)) * 1.5
with unavailable("gptlab.sampling.filter_logits", "gptlab.sampling.next_token_probs", "gptlab.sampling.kept_mask",
                 "gptlab.sampling.top_p_filter"):
    for _p in (0.01, 0.3, 0.75, 0.95):
        record(f"top_p_{_p}", top_p_filter(_l.clone(), _p))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNrtV8tuG0cQ/BeeqUW/e1q/YhgGAduIEcEWEiUXQ/+e6hUQbkKRFEXacGJKB4rkbM9MdXVV6evq4cv9u/t3NBGvbr+uNg9f7la3
/OGGfL36bX6Dr4h4vfpzc/fHh17zfvOwWd2+Wd18+vxxtT7zRachkl7s68sUvL68+kWm5JFWdO3FBTF10yiK8WOcRzHNylyW1+78
WC86OZMOFrl0XRnKqqQ/Ja5v16tfP31+v7pdfbz7snnAx7//srmHkb2JtdHbx8f13xaoVwe8OuBBB5SJRo1hGf9fDHgaYTKG6okP
+Rgy8uqGy+uG8RCz8Z/1JBnsgMevrvizumL697VFnsItjYSPWqNMXDzcys9R/AzolusZJUopoZkLlQtXGp64jBoHFG+cgQdZGFzJ
zyohzpy7qu3qXGPncyWnKvEjZT3Y3LfLdv2TJ0ElttKXeihPbCIkqX0ONR2ii2oQU4/x+m7RVCjvpMlNtXJ2HoyPQ0rYNRotfAnZ
9n0HFBrJxIWnMnFClSP9RUkAZa6yYLlJVKqebbg4D8aA3b+T52I/JXFt/DzBdNsnoti6zEC8OtF+ecoq1hjjghaM0xKrC+X2S2GB
C4z6toHKXdNAqcX1sGk67R0Bw3gAuOo+w/803b6ZNff5Stllr0JalQXLiQ4NirND/bgpOgxE6Ok6x6kxu0ASgpDyslEPqsx03qWX
OvkF6MXNYC3T3G6aiasK1S6O5VJ+xKzwPNWA55U0gsGFo9aFvLxe6eUtmk1iaM6RwxvUFUtHa6ONCtMKPmztWIgbwjAjTvR3grQB
aobR4k/4FRGMEn8LDxuREkfdHmI2SAp61m4jnCRi2/rQeag2/Lc3gJXDl0iW/JIcDoKfkwFQGQcPia2P3nQ/kuCaymb91vAOkrFV
0kUsQAEf5Alhw0otAhBjqzbUKDoDX2loME1aQ/iFUQEV4U1DzUR3A0OfDBrq3A64Nzb0dcALcFnKnkkP2AKNYxzRD0eIm26zA0xH
RxZBoinE6REjZgjAmWjVOpgpuhgWgiWmy2SBYgo/zdLlNfEU5lpy2SMDjJIcl0saqEnYZ2wdcU/aaEhD0SsBnxdMggzDMOKZ4IEn
wjAgSA28J35gd5OqgPjMyxldZ+bdbnIqJtklzooj3QD0zDtErJvx6JlnArWZpwS0wJAZaA7DgPQBo0FHqxcoh6KFGXNH4UQDl5Ra
LMgI4CYmL4kuM997lsHIZYDBpeFk2NsWlSkTZ0RW0WeyTPMDG3vP2qsCTQuDmgeeXJwOSlKVDio/n22wBMdM5YHHdhNOd0+gmcCj
0wXJALhV+81IE2DqU9kAtUTqqXPwAyH/R+HMRiAWAupQKS2VsYxBmEEMgwDQZRTq6wYmI5qThj5FSw7aUYHRjTg1FqHZcFull/2L
/0T31GbOjBF0fZTbsZTUZgNBzFaU06NS74QgAuWZDehAYIIXUbeteQ6kUjyx6WheZhEUfSdMdm0QAQ2ACe1JUW0XOEBhIp8/8iyS
gaFUj1cEqp5dx50wkbx/gxaxxPDPI4ONIA6tkwrRg8Tn4ZTVVBQghd+ZpF3MBvEycLWCYKLxE3PdYuBnPB8PRotSWUcCGIa9D4Y3
PtcTULni3yp3NIs9/gXv5rnc
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Min-p
# Top-p keeps a fixed share of the probability; min-p adapts to how sure the model is. Keep every token whose
# probability is at least `min_p` times that of the most likely token (`p_i >= min_p * p_max`), and set the
# others to `-inf`. A confident model (one token at 0.9) keeps few tokens; an unsure one keeps many.

# %% nbgrader={"grade": false, "grade_id": "min_p_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def min_p_filter(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    ### BEGIN SOLUTION
    probs = logits.softmax(-1)  # (B, V)
    too_unlikely = probs < min_p * probs.amax(dim=-1, keepdim=True)
    return logits.masked_fill(too_unlikely, float("-inf"))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "min_p_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_min_p(min_p_filter)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
_l = torch.randn(6, 40, generator=torch.Generator().manual_seed(9)) * 2
with unavailable("gptlab.sampling.filter_logits", "gptlab.sampling.next_token_probs", "gptlab.sampling.kept_mask",
                 "gptlab.sampling.min_p_filter"):
    for _m in (0.02, 0.1, 0.5):
        record(f"min_p_{_m}", min_p_filter(_l.clone(), _m))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNrlVttuG0cM/Zd9lgWSw6t/JQgCAUlQo64TtG5fAv97zywS7UardSxZbt3maVajGXJIHp7DL8NvN3fvPr+jLclw/WXY3X+6Ha75
wxXZZvh9/IG/iHgz/LW7/fNDP/N+d78brt8MVzd3H4fN10W2HKUtraadLCERbhveSksxFt58f4u3Vc1bY9vQtkjTIyUPDrWtMme1
1I1u1Vyb+eGZvT23CE7Tbpo8W1jCtGVZMyuFMWocViTHLdAWYUgKceE7mXE1Io4fPrq0bWaoNyq8ISNUtPnSi1GxpNq01R2REjKP
fJWaOiLeG2VYolZtEXGjnvXg6aiTcPni6GQqNWV2YyWV5IosINWCzzT3MZOlqqka/UCWZqucLAsbkZZMRoyZcMUmVGgki8AAjGFN
N+/GQjhQmZzyYWyGqlUvO1XjJjQznILAbZFZeKzKaIfBI4bkQjHiSCmy11xnrp0ZOyg9vjmImtsIKeBCyCYYYydJuSl3/EolDv4g
rz3qBng4xWRFcVUNj6atKjLK4r2yjT3J9LghRBRsjiyt1dnxcqA9FxdTm0bIDHvlKh5m0ssagAdn6z3dtGfdx0Y1Q2/KGloqvQBD
uK3WxKLpInDACSgSijUbDSZMtKYdgD6so4J6jpCYqP7NBUZQs552+EJZTPdWr7AnTbJ3f/+hVYHWch6LCZQBCd77zaiFImTpHRPZ
ZPZUC9AS8HjwRpgjPIgqZslTDjdgQBaJbqBA+JjRk6hzTahlNKMhJqneGdyKOLl78YZoW7B2NBIujWjs7t3RfWXZ/2nk0VuwM0Yg
MKYxYgerZnnrPRYk6AiTzioW6ESrHCMud8D8BGITsDjyBEZ8ymngyEIyZIQUMi7kNWdZJmSYas43aDrgddqR5F78ebZwBCiMJaQF
HRyOrzInVt5fgmZAMFCHU2IFOvCUiKQZKwAhLBCSpUABDtSZ4QQPC1ZAHQ0V9EVoaEFPxDcn1WKQ8zx34KeY8jt1ZSNtgNKcN90L
eFpiFazE3qHUAmzrwj9AQ0nmqFGopuKBAFQ7J3J0dXai4VHeq4rs7Wb49ebu/XA9fLz9tLvH4T9+2X3G9PHGN0pvHx42+7mFX25s
OTmWEyaVlfuPDyfnLrOR5HwTKwPIQnQuMXxMEvd18FgxdjhvLFrn26zxmJcTpou1Vx4fLR6nx0dmiYsW/8WmhkUnvcph4STOP2Mi
WLz70sPANJTux4DDVOy1f5LXf0n1XwayFxb3J9HdsyV9jZIO1PxSdr/J95MO76X7mW7PEWx7lmBfdDlLpF9iuYBAP8nL4+L8Kpal
Gv8ky6ryXozRjkvtP8jjB6L6DLL7XkrXqPZAQs968cmC+Sp76r+lkv+H5enS+PA3Xs7Fvw==
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 6. The repetition penalty
# `input_ids` `(B, L)` holds the tokens of each row so far. Every token that occurs in its row is made less
# likely, once however often it occurs: its logit is **divided** by `penalty` when positive and
# **multiplied** by it when negative (dividing a negative logit would bring it closer to 0, making the token
# *more* likely). This is HuggingFace's variant of the rule CTRL (Keskar et al. 2019) introduced.
# `torch.gather` / `scatter` along the last dimension do it without a Python loop.

# %% nbgrader={"grade": false, "grade_id": "repetition_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def apply_repetition_penalty(logits: torch.Tensor, input_ids: torch.Tensor, penalty: float) -> torch.Tensor:
    """(B, V) logits, (B, L) ids -> (B, V) logits with every seen token penalised once."""
    ### BEGIN SOLUTION
    seen = logits.gather(-1, input_ids)  # (B, L): the logits of the tokens that occur
    penalised = torch.where(seen > 0, seen / penalty, seen * penalty)
    return logits.scatter(-1, input_ids, penalised)  # a repeated id writes the same value twice
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "repetition_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_repetition_penalty(apply_repetition_penalty)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
_l = torch.randn(3, 30, generator=torch.Generator().manual_seed(10)) * 2
_ids = torch.randint(0, 30, (3, 12), generator=torch.Generator().manual_seed(11))
with unavailable("gptlab.sampling.apply_repetition_penalty", "gptlab.sampling.filter_logits"):
    record("penalty_1.4", apply_repetition_penalty(_l.clone(), _ids, 1.4))
    record("penalty_0.7", apply_repetition_penalty(_l.clone(), _ids, 0.7))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqtVdtqHFkM/Jd+7ml0v/hXQlgG4mWXGCfsOoEl+N9TOg0Bgw32xvOk6dbRKZVK1T+2r7f317uH//6gI7ebH9v14cvddsO3F/J9
+2f9oYOIeN++X+++3U7Op+vDdbv5cOGDzSTSY58YP03SicNVs6n2ixzeiih7v9ChbenI70lqqYiknJgkvLNiz8Mp28PnqbV0s+cu
RyVHR/JUcdbIMpWdDw02KuZJVyUTVJqcFEBglgWhiZJEbF4YKqam8j4w2y20dj1wLim88LS7C3Act4qqVjUidvFIXV1QSwooidrR
EhpqVmPEVrg9Cu0R6MBh6tR53syOlJ7qFN0Rcz2toi6TIcZo8YQIRt3Q1moWBAk3ly7+StBJ9SACWPIyRItVFRkOEhMQ8LDqUMmw
s19seOIGsUOH4CrrjInL0xxEAQNhGjgJRuYFBwGn2SoagXxb8A0QwCBClgA9LKukkihYWa14asxYUaQsiMH1DIEJ3YacHSr4wMVT
3UEDVznOhroBBuvuIM2Iel1KbmAvV9dpqFHroJTzksRoCQAcNWY8DGJNkbUv+tBEBp+zL9xqso4sfWgH6otUqVgt9DPPjj7zGWLA
ZBZ+tNfpg4fThcoWmSrkTDrYAJe0zqNFVukMwiedgmk2QA4IL3RJfsQvNVLBrLUxzYYOITLvgg4vCvZKG5JASwbg7I3RyGKDOxbv
2DJD56tKBbBQjoQtAdyTz9GMWHuRYVYcJjMmNJDorCZdsFkzDD8E4xc/EyKzoPgFVhj0NzZlFIm5hLTL2QW2WGlYTGwqd56zZsV+
8Md9+/z3/aftZvvz7sv1Ydu3f/+6foWJfNBd6ePj4/7LfwD6rf6D3iAbdZb38x89sEqI5KkBIVQsW2k8NSBItrCRRp6/50AIsSjY
4n6NA3G5YQo62sAyFwwzZ4UFpqEKqK8xIBqrxfgk3uBA2CaeVawXHAgKxgZj6+uUDdQGyb3sQA7ZGCAtyb2TAwlIx1jUX7YgjMqw
ldU8kAmXai4Gn3UgMCXJY7z5xIIgLghOTV5vQUM9ls70iQXhXnxKOcRO/IqR9lnqf3vQKAq58/h5C4LUgd2zlhvM6jaNXWVhdyD8
/RLwlxF6vWxBhn2pCvJXWhAim88Sv9GCBAJVOGPme1vQ40+spdwl
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Sampling
# Put them together, in this order: temperature, top-k (0 = off), top-p (1.0 = off), min-p (0.0 = off),
# softmax, then draw one token per row with `torch.multinomial(probs, 1, generator=generator)`.

# %% nbgrader={"grade": false, "grade_id": "sample_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sample(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
           min_p: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, V) logits -> (B,) sampled token ids."""
    ### BEGIN SOLUTION
    logits = apply_temperature(logits, temperature)
    if top_k:
        logits = top_k_filter(logits, top_k)
    if top_p < 1.0:
        logits = top_p_filter(logits, top_p)
    if min_p > 0.0:
        logits = min_p_filter(logits, min_p)
    probs = logits.softmax(-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "sample_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_sampler(sample)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
# Frequencies over 50,000 seeded draws. A correct sampler that draws differently from the reference still
# lands within 0.016 of its frequencies: 5 standard errors of the difference at worst (p = 0.5).
_l = torch.randn(1, 12, generator=torch.Generator().manual_seed(7)).expand(50000, -1).clone()
_gen = torch.Generator().manual_seed(8)
with unavailable("gptlab.sampling.filter_logits", "gptlab.sampling.next_token_probs",
                 "gptlab.sampling.sample_from_probs", "gptlab.sampling.apply_temperature",
                 "gptlab.sampling.top_k_filter", "gptlab.sampling.top_p_filter", "gptlab.sampling.min_p_filter"):
    for _t, _k, _p, _m in ((0.8, 0, 1.0, 0.0), (1.0, 6, 1.0, 0.0), (1.2, 0, 0.7, 0.0), (1.0, 0, 1.0, 0.15)):
        _ids = sample(_l, temperature=_t, top_k=_k, top_p=_p, min_p=_m, generator=_gen)
        record(f"freq_{_t}_{_k}_{_p}_{_m}", torch.bincount(_ids, minlength=12).double() / 50000,
               atol=0.016, rtol=0.0)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqdks1uwyAMx9/FZ1TZxhjIq1RVhNRWmxatW5ftUuXdB6aZesx6AH9g5J//cIPz9fQ54i6NONIOq4cw3KDMlwmGGpA6uK6Bg58y
fZ9awbHMBYZ9TXrOyeGOMLFZT1GqRcyi1XrPoeWRfNtZqZ1SinYLRVmtWiI3G1KwWJI/OHh7fT/CAOfpUmZw8PVSPmr3PfFhWVxH
N+g7OoV/sktIrRsxi1EJdoq6OOd4d9uijGxHymFNR8k2qXrl7bD6pM5dW5M4dO1M3RjSAyaTkGFGTLLmU58StzLy2Pjik4xBQyOg
qH8E9Q90gpWSM8qjuPX1ZQPh8guuQ6rI
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 8. The generation loop
#
# `generate(model, idx, max_new_tokens, block_size, ...)` works with any model that maps token ids `(B, T)`
# to logits `(B, T, V)` — the course's GPT, yours from exercise 06, or a toy. It appends one token at a
# time:
#
# 1. crop the sequence so far to its last `block_size` tokens (the model has no position beyond those);
# 2. run the model and take the logits of the **last** position, `(B, V)`;
# 3. apply the repetition penalty (when it is not 1.0) over every token of the sequence so far, prompt
#    included;
# 4. pick the next token with `greedy` when `temperature == 0`, else with `sample`;
# 5. append it.

# %% nbgrader={"grade": false, "grade_id": "generate_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
@torch.no_grad()
def generate(model, idx: torch.Tensor, max_new_tokens: int, block_size: int, temperature: float = 1.0,
             top_k: int = 0, top_p: float = 1.0, min_p: float = 0.0, repetition_penalty: float = 1.0,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """idx (B, T) -> (B, T + max_new_tokens)."""
    ### BEGIN SOLUTION
    for _ in range(max_new_tokens):
        logits = model(idx[:, -block_size:])[:, -1, :]  # (B, V)
        if repetition_penalty != 1.0:
            logits = apply_repetition_penalty(logits, idx, repetition_penalty)
        if temperature == 0:
            nxt = greedy(logits)
        else:
            nxt = sample(logits, temperature, top_k, top_p, min_p, generator)
        idx = torch.cat([idx, nxt[:, None]], dim=1)  # (B, T + 1)
    return idx
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "generate_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_generate(generate)
### BEGIN HIDDEN TESTS
from gptlab.grading import record, unavailable
_model, _tok = load_shakespeare_char()
_prompt = torch.tensor([_tok.encode("JULIET:\n")])
with unavailable("gptlab.generation.generate", "gptlab.sampling.filter_logits",
                 "gptlab.sampling.next_token_probs", "gptlab.sampling.apply_repetition_penalty"):
    # 8 + 70 characters: past the model's context of 64, so only a cropped window works
    record("greedy_ids", generate(_model, _prompt, 70, _model.config.block_size, temperature=0))
    record("penalised_ids", generate(_model, _prompt, 30, _model.config.block_size, temperature=0,
                                     repetition_penalty=1.3))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqtUNuKwkAU+5fznJUz925/pYgMzLBbLFVsFUT6786pxV127ZswMDlJHpLc6OuUc7ru2jRQfaM4HjqqVf5gBzrNB2+YWYEusTtn
8aQ4Rqobo2ENjIVR0AFWQzNYLoWg4AI8y1PwGt7AVwIrOA9nBIaZ1eusgbMragEP4qWn/PZzNlclUUlWNCH+J1iEJajjImxB+7ZP
VFPbjwQavuOx9G5Kq2o7TaBj7mPXDjm9bzTrfkeU6cKf3ZREDsu0c36/tHi6f4o5vV7CSInpDlOgdkc=
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 9. On a trained model
# The shipped character-level Shakespeare GPT, greedy first. Greedy decoding soon loops: once a phrase is
# the most likely continuation of itself, it comes back for ever.

# %%
model, tok = load_shakespeare_char()
model.eval()
prompt = torch.tensor([tok.encode("ROMEO:\n")])
greedy_text = tok.decode(generate(model, prompt, 150, model.config.block_size, temperature=0)[0].tolist())
print(greedy_text)

# %% [markdown]
# A repetition penalty breaks the loops: measure it as the share of distinct 8-character pieces in the 150
# new characters (1.0 would mean nothing ever repeats).

# %%
def distinct_share(text: str, n: int = 8) -> float:
    pieces = [text[i:i + n] for i in range(len(text) - n + 1)]
    return len(set(pieces)) / len(pieces)


penalised_text = tok.decode(generate(model, prompt, 150, model.config.block_size, temperature=0,
                                     repetition_penalty=1.3)[0].tolist())
print(penalised_text)
plain, penalised = distinct_share(greedy_text[len("ROMEO:\n"):]), distinct_share(penalised_text[len("ROMEO:\n"):])
print(f"distinct 8-character pieces: greedy {plain:.2f} · with repetition_penalty=1.3 {penalised:.2f}")
assert penalised > plain

# %% [markdown]
# ## 10. What the knobs do
# Low temperature plays safe: it writes what the model itself finds least surprising, and repeats itself.
# High temperature picks unlikely characters and invents words. Measure it: the *surprise* of a sample is
# the model's mean −ln p (at temperature 1) of the characters that were produced.

# %%
@torch.no_grad()
def surprise(model, seq: torch.Tensor) -> float:
    """Mean -ln p of the last block_size characters of ``seq`` (1, T), each given those before it."""
    window = seq[:, -model.config.block_size:]
    logp = model(window[:, :-1]).log_softmax(-1)  # (1, W-1, V)
    return float(-logp.gather(-1, window[:, 1:, None]).mean())


g = torch.Generator().manual_seed(1)
surprises = {}
for t in (0.3, 1.0, 1.6):
    seq = generate(model, prompt, 120, model.config.block_size, temperature=t, generator=g)
    surprises[t] = surprise(model, seq)  # 120 new characters: the window holds only generated ones
    print(f"T={t}: surprise {surprises[t]:.2f} nats/char · {tok.decode(seq[0, prompt.shape[1]:].tolist())[:60]!r}")
assert surprises[0.3] < surprises[1.0] < surprises[1.6]
