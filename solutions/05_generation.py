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
# # Exercise 5 · Text generation: greedy, temperature, top-k, top-p
#
# **Goal:** turn a model's next-token logits into text. You write the four pieces every text generator
# is made of, then a sampling loop, and use them on a small GPT trained on Shakespeare.
#
# - **greedy**: always the most likely token — deterministic, and it loops;
# - **temperature**: divide the logits by *T*; *T* < 1 sharpens the distribution, *T* > 1 flattens it;
# - **top-k**: keep only the *k* most likely tokens;
# - **top-p** (nucleus): keep the smallest set of most likely tokens whose probabilities add up to *p*.
#
# **Difficulty:** ★★☆ · **Expected time:** 40 minutes

# %%
import torch

from gptlab.assets import load_shakespeare_char
from gptlab.checks import check_greedy, check_sampler, check_temperature, check_top_k, check_top_p

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
from gptlab.grading import record
_l = torch.randn(4, 30, generator=torch.Generator().manual_seed(4))
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
from gptlab.grading import record
_l = torch.randn(6, 40, generator=torch.Generator().manual_seed(5))
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
    cumulative = sorted_logits.softmax(-1).cumsum(-1)
    # Remove a token when the tokens *before* it already reach p; the first token is never removed.
    remove_sorted = (cumulative - sorted_logits.softmax(-1)) >= p
    remove = remove_sorted.scatter(-1, order, remove_sorted)
    return logits.masked_fill(remove, float("-inf"))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "top_p_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_top_p(top_p_filter)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
_l = torch.randn(6, 40, generator=torch.Generator().manual_seed(6)) * 1.5
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
# ## 5. Sampling
# Put them together, in this order: temperature, top-k (0 = off), top-p (1.0 = off), softmax, then draw
# one token per row with `torch.multinomial(probs, 1, generator=generator)`.

# %% nbgrader={"grade": false, "grade_id": "sample_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sample(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, V) logits -> (B,) sampled token ids."""
    ### BEGIN SOLUTION
    logits = apply_temperature(logits, temperature)
    if top_k:
        logits = top_k_filter(logits, top_k)
    if top_p < 1.0:
        logits = top_p_filter(logits, top_p)
    probs = logits.softmax(-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "sample_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_sampler(sample)
### BEGIN HIDDEN TESTS
from gptlab.grading import record
# Frequencies over 50,000 seeded draws. A correct sampler that draws differently from the reference still
# lands within 0.016 of its frequencies: 5 standard errors of the difference at worst (p = 0.5).
_l = torch.randn(1, 12, generator=torch.Generator().manual_seed(7)).expand(50000, -1).clone()
_gen = torch.Generator().manual_seed(8)
for _t, _k, _p in ((0.8, 0, 1.0), (1.0, 6, 1.0), (1.2, 0, 0.7)):
    _ids = sample(_l, temperature=_t, top_k=_k, top_p=_p, generator=_gen)
    record(f"freq_{_t}_{_k}_{_p}", torch.bincount(_ids, minlength=12).double() / 50000, atol=0.016, rtol=0.0)
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNqdkN0KwjAMhd8l16UkadpmexWRUdChOPyd3sje3bZj4uXwoj09acL5yBv6+/7WodUOO7II7RvSeBmgRYsUDNwXY+CVhue+NOzS
mKDd5KLjRg1aQuWqjqJkRWwkZHWOfakjuXJzoPJLGusUSuBQuyVyUa++elG3NXA6nnfQQj9c0ggGHod0zekb4u00mRk7A3fhD+wZ
tRL7GaXCRr+8y2ESqlgRVZa6eq2Ia/k4rxVt/IPPB1/SKYZvel7nnL4QcoPy4ykvUlbQTR+oF307
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 6. A sampling loop on a trained model
#
# `generate(model, idx, max_new_tokens, ...)` appends one token at a time: run the model on the
# sequence so far (cropped to its last `block_size` tokens), take the logits of the last position, pick
# the next token with `greedy` (when `temperature == 0`) or `sample`, and append it.

# %% nbgrader={"grade": false, "grade_id": "generate_impl", "locked": false, "schema_version": 3, "solution": true, "task": false}
@torch.no_grad()
def generate(model, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int = 0,
             top_p: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """idx (B, T) -> (B, T + max_new_tokens)."""
    ### BEGIN SOLUTION
    for _ in range(max_new_tokens):
        logits = model(idx[:, -model.config.block_size:])[:, -1, :]  # (B, V)
        if temperature == 0:
            nxt = greedy(logits)
        else:
            nxt = sample(logits, temperature, top_k, top_p, generator)
        idx = torch.cat([idx, nxt[:, None]], dim=1)
    return idx
    ### END SOLUTION


# %%
model, tok = load_shakespeare_char()
model.eval()
prompt = torch.tensor([tok.encode("ROMEO:\n")])
print(tok.decode(generate(model, prompt, 100, temperature=0)[0].tolist()))

# %% nbgrader={"grade": true, "grade_id": "generate_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
greedy_text = generate(model, prompt, 60, temperature=0)
assert greedy_text.shape == (1, prompt.shape[1] + 60), f"expected 60 new tokens, got shape {tuple(greedy_text.shape)}"
assert torch.equal(greedy_text[:, :prompt.shape[1]], prompt), "the output should start with the prompt"
g = torch.Generator().manual_seed(0)
sampled = generate(model, prompt.expand(2, -1), 30, temperature=0.8, top_k=10, generator=g)
assert not torch.equal(sampled[0], sampled[1]), "two sampled continuations came out identical: are you sampling?"
print("✓ generation works; a sample at temperature 0.8, top-k 10:\n" + tok.decode(sampled[0].tolist()))
### BEGIN HIDDEN TESTS
from gptlab.grading import record
record("greedy_ids", generate(model, torch.tensor([tok.encode("JULIET:\n")]), 40, temperature=0))
from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
expect("""
eNp1js0KgzAQhN9lz9Oym82P5FVESiChlYotagtFfPca78Icvvl2D7PSfSol/259nimulJbXQFHKhR1oOgpfmVlA3zR8Sv3JaUkU
WzWwCrVQgQmwBobBtQmCwAV4rhF4A6/wTcUGzsNpxXBYc24Vzp5cd6iiAz37MVOkflwIND/Se9/YCmzTbdv2BzYTNXU=
""")
### END HIDDEN TESTS

# %% [markdown]
# ## 7. What the knobs do
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
    seq = generate(model, prompt, 120, temperature=t, generator=g)
    surprises[t] = surprise(model, seq)  # 120 new characters: the window holds only generated ones
    print(f"T={t}: surprise {surprises[t]:.2f} nats/char · {tok.decode(seq[0, prompt.shape[1]:].tolist())[:60]!r}")
assert surprises[0.3] < surprises[1.0] < surprises[1.6]
