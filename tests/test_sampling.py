"""next_token_probs against HuggingFace's logits processors, and its argument checks."""
import itertools
import math

import pytest
import torch

from gptlab.sampling import filter_logits, kept_mask, next_token_probs, sample_from_probs

transformers = pytest.importorskip("transformers")
from transformers import (  # noqa: E402
    LogitsProcessorList,
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see tests/conftest.py


def hf_probs(logits, input_ids, temperature, top_k, top_p, min_p, repetition_penalty):
    """HuggingFace's sampling pipeline, built the way its generate() builds it (same order, same conditions)."""
    processors = LogitsProcessorList()
    if repetition_penalty is not None:
        processors.append(RepetitionPenaltyLogitsProcessor(float(repetition_penalty)))
    if temperature != 1.0:
        processors.append(TemperatureLogitsWarper(float(temperature)))
    if top_k is not None:
        processors.append(TopKLogitsWarper(top_k))
    if top_p is not None and top_p < 1.0:
        processors.append(TopPLogitsWarper(top_p))
    if min_p is not None:
        processors.append(MinPLogitsWarper(min_p))
    return torch.softmax(processors(input_ids, logits.clone()), dim=-1)


def logit_sets():
    g = torch.Generator().manual_seed(0)
    V = 40
    plain = torch.randn(4, V, generator=g) * 3
    ties = (torch.randn(4, V, generator=g) * 2).round()  # many exactly equal scores
    ties[1] = 0.5  # a row where every token ties
    extreme = torch.randn(4, V, generator=g) * 30
    extreme[0, :5] = torch.tensor([1e4, -1e4, 1e4 - 1, -math.inf, 80.0])
    extreme[2, 10:] = -math.inf  # only ten candidates left
    extreme[3] = torch.linspace(-200, 200, V)
    return {"plain": plain, "ties": ties, "extreme": extreme}


GRID = dict(
    temperature=[0.6, 1.0, 1.9],
    top_k=[None, 1, 3, 17, 1000],  # 1000 > vocabulary
    top_p=[None, 0.05, 0.5, 0.9, 1.0],
    min_p=[None, 0.0, 0.1, 0.6, 1.0],
    repetition_penalty=[None, 1.4, 0.6],
)


def settings_to_check(n_random=60):
    """Each value alone, then a fixed random sample of combinations (the full grid takes too long)."""
    out = [dict(temperature=1.0, top_k=None, top_p=None, min_p=None, repetition_penalty=None)]
    for name, values in GRID.items():
        for value in values:
            out.append({**out[0], name: value})
    combos = list(itertools.product(*GRID.values()))
    picks = torch.randperm(len(combos), generator=torch.Generator().manual_seed(3))[:n_random]
    out += [dict(zip(GRID, combos[i])) for i in picks.tolist()]
    return out


@pytest.mark.parametrize("name", ["plain", "ties", "extreme"])
def test_next_token_probs_equals_transformers_processors(name):
    logits = logit_sets()[name]
    input_ids = torch.randint(0, logits.shape[1], (logits.shape[0], 12), generator=torch.Generator().manual_seed(1))
    for settings in settings_to_check():
        ours = next_token_probs(logits, **settings, input_ids=input_ids)
        theirs = hf_probs(logits, input_ids, **settings)
        assert (ours - theirs).abs().max() <= 1e-6, f"{name}: {settings}"
        assert torch.equal(ours > 0, theirs > 0), f"{name}: {settings} keeps different tokens"


def test_temperature_zero_is_greedy_after_repetition_penalty():
    logits = logit_sets()["ties"]
    input_ids = torch.randint(0, logits.shape[1], (4, 9), generator=torch.Generator().manual_seed(2))
    for penalty in (None, 1.5):
        probs = next_token_probs(logits, temperature=0, top_k=5, top_p=0.3, repetition_penalty=penalty,
                                 input_ids=input_ids)
        scores = logits if penalty is None else RepetitionPenaltyLogitsProcessor(penalty)(input_ids, logits.clone())
        expected = torch.nn.functional.one_hot(scores.argmax(-1), logits.shape[1]).float()
        assert torch.equal(probs, expected)


def test_one_dimensional_logits_and_dtype_kept():
    logits = torch.tensor([2.0, 1.0, 0.0])
    probs = next_token_probs(logits, top_k=2)
    torch.testing.assert_close(probs, torch.tensor([math.exp(1) / (math.exp(1) + 1), 1 / (math.exp(1) + 1), 0.0]))
    assert probs.shape == (3,)
    assert next_token_probs(logits.double(), top_p=0.5).dtype == torch.float64
    half = next_token_probs(torch.randn(2, 7).bfloat16(), temperature=0.7)
    assert half.dtype == torch.bfloat16 and half.shape == (2, 7)
    # repetition penalty with 1-D ids: token 0 is penalised, so tokens 0 and 1 swap order
    penalised = next_token_probs(torch.tensor([2.0, 1.5, 0.0]), repetition_penalty=2.0, input_ids=torch.tensor([0, 0]))
    assert penalised.argmax() == 1


def test_kept_mask_matches_probabilities():
    logits = logit_sets()["plain"]
    for settings in [dict(top_k=5), dict(top_p=0.7), dict(min_p=0.2, temperature=0.5), dict(temperature=0)]:
        mask = kept_mask(logits, **settings)
        probs = next_token_probs(logits, **settings)
        assert mask.dtype == torch.bool
        assert torch.equal(mask, probs > 0), settings
    assert kept_mask(logits, top_k=3).sum(-1).tolist() == [3, 3, 3, 3]
    assert torch.equal(kept_mask(logits, temperature=0).sum(-1), torch.ones(4, dtype=torch.long))
    # a token far below the best one is kept although its probability underflows to 0
    far = torch.tensor([0.0, -200.0, -1000.0])
    assert kept_mask(far).tolist() == [True, True, True] and next_token_probs(far)[2] == 0


def test_negative_ids_are_ignored_by_the_repetition_penalty():
    logits = torch.tensor([[1.0, -1.0, 2.0, 0.5]])
    padded = filter_logits(logits, repetition_penalty=2.0, input_ids=torch.tensor([[-1, -1, 0, 1]]))
    torch.testing.assert_close(padded, torch.tensor([[0.5, -2.0, 2.0, 0.5]]))


def test_seeded_sampling_is_repeatable():
    probs = next_token_probs(torch.randn(3, 50, generator=torch.Generator().manual_seed(0)))
    draws = [sample_from_probs(probs, torch.Generator().manual_seed(7)) for _ in range(2)]
    assert torch.equal(draws[0], draws[1]) and draws[0].shape == (3,)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(temperature=-0.5), "temperature must be a number >= 0"),
        (dict(temperature=float("nan")), "temperature"),
        (dict(temperature="hot"), "temperature"),
        (dict(top_k=0), "top_k must be a whole number >= 1"),
        (dict(top_k=2.5), "top_k"),
        (dict(top_k=True), "top_k"),
        (dict(top_p=0.0), r"top_p must be in \(0, 1\]"),
        (dict(top_p=1.5), "top_p"),
        (dict(min_p=-0.1), r"min_p must be in \[0, 1\]"),
        (dict(min_p=2), "min_p"),
        (dict(repetition_penalty=0.0), "repetition_penalty must be a positive number"),
        (dict(repetition_penalty=1.2), "repetition_penalty needs input_ids"),
    ],
)
def test_bad_settings_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        next_token_probs(torch.randn(5), **kwargs)


def test_bad_logits_are_explained():
    with pytest.raises(TypeError, match="floating-point"):
        next_token_probs(torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="shape"):
        next_token_probs(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="NaN"):
        next_token_probs(torch.tensor([0.0, float("nan")]))
    with pytest.raises(ValueError, match="-inf"):
        next_token_probs(torch.full((2,), -math.inf))
    with pytest.raises(ValueError, match="rows"):
        next_token_probs(torch.randn(2, 5), repetition_penalty=1.1, input_ids=torch.zeros(3, 4, dtype=torch.long))


def test_one_settings_object_or_the_same_keywords():
    from gptlab.sampling import SamplingSettings

    logits = torch.randn(3, 40, generator=torch.Generator().manual_seed(9))
    settings = SamplingSettings(temperature=0.7, top_k=12, top_p=0.8, min_p=0.05)
    by_name = next_token_probs(logits, temperature=0.7, top_k=12, top_p=0.8, min_p=0.05)
    assert torch.equal(next_token_probs(logits, settings), by_name)
    assert torch.equal(next_token_probs(logits, settings, top_k=3), next_token_probs(
        logits, temperature=0.7, top_k=3, top_p=0.8, min_p=0.05))  # a keyword replaces the object's value
    with pytest.raises(TypeError, match="unknown sampling setting.*top_n"):
        next_token_probs(logits, top_n=3)
    with pytest.raises(TypeError, match="SamplingSettings"):
        next_token_probs(logits, 0.7)
    with pytest.raises(ValueError, match="top_k must be a whole number"):
        SamplingSettings(top_k=0)


def test_the_named_filters_compose_into_filter_logits():
    """filter_logits is the named filters applied in HuggingFace's order, and each filter checks its argument."""
    from gptlab.sampling import apply_temperature, min_p_filter, top_k_filter, top_p_filter

    logits = torch.randn(4, 30, generator=torch.Generator().manual_seed(3))
    by_hand = min_p_filter(top_p_filter(top_k_filter(apply_temperature(logits, 0.5), 9), 0.7), 0.1)
    assert torch.equal(filter_logits(logits, temperature=0.5, top_k=9, top_p=0.7, min_p=0.1), by_hand)
    assert (top_k_filter(logits, 5) > -math.inf).sum(-1).tolist() == [5, 5, 5, 5]
    assert torch.equal(top_k_filter(logits[0], 5), top_k_filter(logits, 5)[0])  # one row (V,) works too
    with pytest.raises(ValueError, match="greedy"):
        apply_temperature(logits, 0)
    with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\]"):
        top_p_filter(logits, 0)
    with pytest.raises(ValueError, match="min_p"):
        min_p_filter(logits, 1.5)


def test_generate_takes_the_settings_object():
    from gptlab import GPT, GPTConfig
    from gptlab.generation import generate
    from gptlab.sampling import SamplingSettings

    model = GPT(GPTConfig(vocab_size=50, block_size=32, n_layer=1, n_head=2, n_embd=16)).eval()
    settings = SamplingSettings(temperature=0.8, top_k=7)
    a = generate(model, [1, 2, 3], 12, settings=settings, seed=0)
    assert torch.equal(a, generate(model, [1, 2, 3], 12, temperature=0.8, top_k=7, seed=0))
    with pytest.raises(TypeError, match="either as settings=... or by name"):
        generate(model, [1, 2, 3], 4, settings=settings, top_p=0.5)
