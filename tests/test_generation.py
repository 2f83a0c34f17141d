"""generate(): HuggingFace agreement, batches, the context limit, stopping, streaming, sampling statistics."""
import io
import math

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from gptlab import GPT, GPTConfig
from gptlab.generation import TextStreamer, generate, stream, stream_text
from gptlab.sampling import next_token_probs
from gptlab.tokenizers import BPETokenizer, CharTokenizer

V = 50


def lively_model(seed=0, tie_weights=False, **overrides) -> GPT:
    """A small random GPT whose greedy continuations vary (GPT-2's 0.02 init mostly repeats one token)."""
    torch.manual_seed(seed)
    overrides.setdefault("vocab_size", V)
    model = GPT(GPTConfig.from_preset("nano", tie_weights=tie_weights, **overrides)).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                p.normal_(0, 0.2)
            elif name.endswith("bias"):
                p.normal_(0, 0.05)
    return model


def hf_twin(model: GPT) -> GPT2LMHeadModel:
    """transformers' GPT-2 with our weights (the parameter names and layouts are the same)."""
    c = model.config
    hf_config = GPT2Config(
        vocab_size=c.vocab_size, n_positions=c.block_size, n_embd=c.n_embd, n_layer=c.n_layer, n_head=c.n_head,
        activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        layer_norm_epsilon=c.layer_norm_eps, tie_word_embeddings=c.tie_weights,
        bos_token_id=None, eos_token_id=None, pad_token_id=None,
    )
    hf = GPT2LMHeadModel(hf_config).eval()
    result = hf.load_state_dict(model.state_dict(), strict=False)
    assert not result.missing_keys and not result.unexpected_keys, result
    return hf


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see tests/conftest.py


@pytest.fixture(scope="module")
def pair():
    model = lively_model()
    return model, hf_twin(model)


def prompts(batch, length, seed=1):
    return torch.randint(0, V, (batch, length), generator=torch.Generator().manual_seed(seed))


# --- agreement with transformers


@pytest.mark.parametrize("use_cache", [True, False])
def test_greedy_equals_transformers(pair, use_cache):
    model, hf = pair
    idx = prompts(3, 9)
    ours = generate(model, idx, 40, use_cache=use_cache)
    theirs = hf.generate(idx, attention_mask=torch.ones_like(idx), max_new_tokens=40, do_sample=False,
                         use_cache=use_cache)
    assert len(set(ours[0, 9:].tolist())) > 5, "the test model should not just repeat one token"
    assert torch.equal(ours, theirs)


def test_greedy_with_tied_weights_and_repetition_penalty_equals_transformers():
    model = lively_model(seed=3, tie_weights=True)
    hf = hf_twin(model)
    idx = prompts(2, 6, seed=4)
    ours = generate(model, idx, 30, repetition_penalty=1.3)
    theirs = hf.generate(idx, attention_mask=torch.ones_like(idx), max_new_tokens=30, do_sample=False,
                         repetition_penalty=1.3)
    assert torch.equal(ours, theirs)


def test_left_padded_batch_equals_transformers(pair):
    model, hf = pair
    idx = prompts(3, 12, seed=5)
    mask = torch.ones_like(idx)
    mask[0, :5] = 0
    mask[2, :9] = 0
    ours = generate(model, idx, 25, attention_mask=mask)
    theirs = hf.generate(idx, attention_mask=mask, max_new_tokens=25, do_sample=False, pad_token_id=0)
    assert torch.equal(ours[:, 12:], theirs[:, 12:])


def test_list_of_prompts_of_different_lengths_equals_transformers_batch(pair):
    """A list of prompts is left-padded with the pad id and masked, as transformers takes a padded batch."""
    model, hf = pair
    rows = [prompts(1, n, seed=n)[0].tolist() for n in (4, 13, 1, 9)]
    T = max(map(len, rows))
    idx = torch.tensor([[0] * (T - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (T - len(r)) + [1] * len(r) for r in rows])
    ours = generate(model, rows, 30)
    theirs = hf.generate(idx, attention_mask=mask, max_new_tokens=30, do_sample=False, pad_token_id=0)
    assert all(len(set(row.tolist())) > 5 for row in ours[:, T:]), "every row should vary"
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize(
    "eos, length_penalty, early_stopping",
    [(None, 1.0, False), ([3, 11], 1.0, False), ([3], 2.0, "never"), ([3, 11], 0.5, True), ([3], -1.0, False)],
)
def test_beam_search_equals_transformers(pair, eos, length_penalty, early_stopping):
    model, hf = pair
    idx = prompts(2, 7, seed=6)
    kwargs = dict(num_beams=4, num_return_sequences=4, length_penalty=length_penalty, early_stopping=early_stopping)
    ours = generate(model, idx, 18, eos_token_id=eos, **kwargs)
    theirs = hf.generate(idx, attention_mask=torch.ones_like(idx), max_new_tokens=18, do_sample=False,
                         eos_token_id=eos, pad_token_id=None if eos is None else eos[0], **kwargs)
    assert ours.shape == theirs.shape
    assert torch.equal(ours, theirs)


def test_beam_search_on_a_left_padded_batch_equals_transformers(pair):
    model, hf = pair
    idx = prompts(3, 10, seed=21)
    mask = torch.ones_like(idx)
    mask[0, :4] = 0
    mask[2, :7] = 0
    kwargs = dict(num_beams=4, num_return_sequences=2, eos_token_id=[3, 11])
    ours = generate(model, idx, 16, attention_mask=mask, **kwargs)
    theirs = hf.generate(idx, attention_mask=mask, max_new_tokens=16, do_sample=False, pad_token_id=3, **kwargs)
    assert ours.shape == theirs.shape
    assert torch.equal(ours[:, 10:], theirs[:, 10:])


@pytest.mark.parametrize("settings", [dict(temperature=0.8, top_k=10), dict(top_p=0.9, min_p=0.05, repetition_penalty=1.2)])
def test_seeded_sampling_draws_what_transformers_draws(pair, settings):
    """Same probabilities, same random stream: a generator seeded like torch.manual_seed gives HF's tokens."""
    model, hf = pair
    idx = prompts(2, 6, seed=3)
    torch.manual_seed(5)
    theirs = hf.generate(idx, attention_mask=torch.ones_like(idx), max_new_tokens=20, do_sample=True, **settings)
    ours = generate(model, idx, 20, do_sample=True, generator=torch.Generator().manual_seed(5), **settings)
    assert torch.equal(ours, theirs)


def test_beam_search_is_the_same_without_cache(pair):
    model, _ = pair
    idx = prompts(2, 7, seed=7)
    assert torch.equal(generate(model, idx, 12, num_beams=3, eos_token_id=3),
                       generate(model, idx, 12, num_beams=3, eos_token_id=3, use_cache=False))


# --- batches, the context limit


def test_batch_of_different_lengths_equals_each_prompt_alone(pair):
    model, _ = pair
    rows = [prompts(1, n, seed=n)[0].tolist() for n in (3, 11, 7)]
    for kwargs in [dict(), dict(repetition_penalty=1.5), dict(eos_token_id=[4, 9]), dict(num_beams=3)]:
        batch = generate(model, rows, 20, **kwargs)
        T = max(map(len, rows))
        for i, row in enumerate(rows):
            alone = generate(model, row, 20, **kwargs)
            assert torch.equal(batch[i, T - len(row): T - len(row) + len(alone)], alone), (kwargs, i)
            assert (batch[i, T - len(row) + len(alone):] == alone[-1]).all()  # finished rows are padded


def test_batch_past_the_context_equals_each_prompt_alone():
    model = lively_model(seed=2, block_size=16)
    rows = [prompts(1, n, seed=n)[0].tolist() for n in (2, 14)]
    batch = generate(model, rows, 24)
    for i, row in enumerate(rows):
        assert torch.equal(batch[i, 14 - len(row):], generate(model, row, 24))


def test_cached_logits_equal_recompute_past_the_context():
    model = lively_model(seed=4, block_size=16)
    idx = [prompts(1, 5, seed=1)[0].tolist(), prompts(1, 9, seed=2)[0].tolist()]
    cached, recomputed = [], []
    a = generate(model, idx, 30, do_sample=True, seed=3, logits_out=cached)
    b = generate(model, idx, 30, do_sample=True, seed=3, use_cache=False, logits_out=recomputed)
    assert torch.equal(a, b) and len(cached) == 30
    for step, (x, y) in enumerate(zip(cached, recomputed)):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=0, msg=lambda m: f"step {step}: {m}")


def test_long_prompt_is_cropped_from_the_left():
    model = lively_model(seed=5, block_size=16)
    idx = prompts(1, 40, seed=8)
    out = generate(model, idx, 10)
    assert torch.equal(out[:, :40], idx)  # the whole prompt comes back
    assert torch.equal(out[:, 40:], generate(model, idx[:, -16:], 10)[:, 16:])  # the model saw the last 16


# --- stopping


def test_eos_stops_and_pads(pair):
    model, _ = pair
    rows = [prompts(1, 5, seed=11)[0].tolist(), prompts(1, 5, seed=12)[0].tolist()]
    free = generate(model, rows, 20)
    eos = int(free[0, 5 + 3])  # the 4th token of the first row
    out = generate(model, rows, 20, eos_token_id=eos, pad_token_id=0)
    first_eos = [next(i for i, t in enumerate(r[5:].tolist()) if t == eos) if eos in r[5:].tolist() else None
                 for r in free]
    assert first_eos[0] <= 3
    assert out[0, 5: 5 + first_eos[0] + 1].tolist() == free[0, 5: 5 + first_eos[0] + 1].tolist()
    assert (out[0, 5 + first_eos[0] + 1:] == 0).all()
    if first_eos[1] is None:
        assert out.shape[1] == 25 and torch.equal(out[1], free[1])


def hf_gpt2_tokenizer():
    """transformers' GPT-2 tokenizer built from the same local BPE files as ours."""
    import json

    from transformers import GPT2Tokenizer

    from gptlab.tokenizers import gpt2_bpe_files

    vocab_bpe, encoder_json = gpt2_bpe_files()
    merges = [tuple(line.split()) for line in vocab_bpe.read_text(encoding="utf-8").split("\n")[1:] if line]
    return GPT2Tokenizer(vocab=json.loads(encoder_json.read_text(encoding="utf-8")), merges=merges)


@pytest.mark.parametrize("kwargs", [dict(), dict(num_beams=3, num_return_sequences=3)])
def test_stop_strings_equal_transformers(kwargs):
    """Stop strings may end inside a token ("bK" in "...githubKS"); beams that stop end early."""
    tok = BPETokenizer()
    model = lively_model(seed=1, vocab_size=tok.vocab_size)
    hf, hf_tok = hf_twin(model), hf_gpt2_tokenizer()
    ids = torch.tensor([tok.encode("Once upon a time")])
    stops = ["KS", "bK"]
    ours = generate(model, ids, 30, stop_strings=stops, tokenizer=tok, pad_token_id=0, **kwargs)
    theirs = hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=30, do_sample=False,
                         stop_strings=stops, tokenizer=hf_tok, pad_token_id=0, **kwargs)
    assert ours.shape[1] < 4 + 30, "the stop strings should have stopped generation early"
    assert torch.equal(ours, theirs.masked_fill(theirs == -1, 0))  # HF pads finished beams with -1 here


def test_stop_strings():
    text = "the quick brown fox jumps over the lazy dog, again and again."
    tok = CharTokenizer.from_text(text)
    model = lively_model(seed=6, vocab_size=tok.vocab_size)
    prompt = tok.encode("the quick")
    free = tok.decode(generate(model, prompt, 30).tolist()[len(prompt):])
    stop = free[6:8]
    out = tok.decode(generate(model, prompt, 30, stop_strings=[stop, "@@"], tokenizer=tok).tolist()[len(prompt):])
    assert out == free[: free.index(stop) + len(stop)]
    with pytest.raises(ValueError, match="tokenizer"):
        generate(model, prompt, 5, stop_strings="x")


# --- sampling


def test_seeded_sampling_repeats_itself(pair):
    model, _ = pair
    idx = prompts(2, 5, seed=13)
    settings = dict(temperature=0.9, top_k=20, top_p=0.95)
    a = generate(model, idx, 30, seed=123, **settings)
    assert torch.equal(a, generate(model, idx, 30, seed=123, **settings))
    assert not torch.equal(a, generate(model, idx, 30, seed=124, **settings))
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    first = generate(model, idx, 30, do_sample=True, generator=g1)
    assert torch.equal(first, generate(model, idx, 30, do_sample=True, generator=g2))
    assert not torch.equal(first, generate(model, idx, 30, do_sample=True, generator=g1))  # the state moved on
    assert torch.equal(generate(model, idx, 20, temperature=0), generate(model, idx, 20))  # temperature 0: greedy


@pytest.mark.parametrize("settings", [dict(temperature=1.3, top_k=12), dict(temperature=0.7, top_p=0.8, min_p=0.05)])
def test_sampled_frequencies_match_next_token_probs(pair, settings):
    """N draws of the first new token; the L1 distance between empirical and exact probabilities exceeds
    eps with probability at most (2^k - 2) exp(-N eps^2 / 2) for k possible tokens (Weissman et al. 2003)."""
    model, _ = pair
    prompt = prompts(1, 6, seed=14)
    N = 20000
    out = generate(model, prompt, 1, num_return_sequences=N, seed=0, **settings)
    counts = torch.bincount(out[:, -1], minlength=V).double()
    with torch.no_grad():
        p = next_token_probs(model(prompt)[0, -1].double(), **settings)
    k = int((p > 0).sum())
    assert 2 <= k < V
    assert counts[p == 0].sum() == 0, "a filtered-out token was sampled"
    eps = math.sqrt(2 * (k * math.log(2) + math.log(1e6)) / N)  # failure probability < 1e-6
    assert (counts / N - p).abs().sum() < eps


# --- streaming


def test_stream_and_callback_give_the_generated_tokens(pair):
    model, _ = pair
    idx = prompts(2, 4, seed=15)
    full = generate(model, idx, 12)
    steps = list(stream(model, idx, 12))
    assert torch.equal(torch.stack(steps, dim=1), full[:, 4:])
    single = [int(t) for t in stream(model, idx[0], 12)]
    assert single == full[0, 4:].tolist()
    seen = []
    generate(model, idx, 12, streamer=seen.append)
    assert torch.equal(torch.stack(seen, dim=1), full[:, 4:])


def test_text_streamer_and_stream_text_print_whole_characters():
    tok = BPETokenizer()
    text = " héllo wörld 😀 naïve ☃"
    ids = tok.encode(text)
    assert len(ids) > len(text.split())  # some characters are split over tokens
    out = io.StringIO()
    streamer = TextStreamer(tok, file=out)
    streamer.put(torch.tensor([ids[:1]]))  # the prompt: skipped
    for i in ids[1:]:
        streamer.put(torch.tensor([i]))
        assert "\ufffd" not in out.getvalue()
    streamer.end()
    assert out.getvalue() == tok.decode(ids[1:]) + "\n"

    torch.manual_seed(0)
    model = GPT(GPTConfig.from_preset("nano", vocab_size=tok.vocab_size))
    pieces = list(stream_text(model, tok, "Hello", 15, do_sample=True, seed=1))
    expected = generate(model, tok.encode("Hello"), 15, do_sample=True, seed=1).tolist()[1:]
    assert "".join(pieces) == tok.decode(expected)


# --- the model's state, arguments


def test_generate_uses_eval_mode_and_restores_it():
    model = lively_model(seed=8, dropout=0.3).train()
    idx = prompts(1, 5, seed=16)
    out = generate(model, idx, 10)
    assert model.training
    assert torch.equal(out, generate(model.eval(), idx, 10))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(temperature=-1.0), "temperature"),
        (dict(do_sample=True, top_p=0.0), "top_p"),
        (dict(do_sample=True, top_k=0), "top_k"),
        (dict(do_sample=True, min_p=1.5), "min_p"),
        (dict(num_beams=0), "num_beams"),
        (dict(num_beams=2, do_sample=True), "beam search"),
        (dict(num_beams=2, top_k=5), "beam search"),
        (dict(num_beams=2, num_return_sequences=3), "num_return_sequences"),
        (dict(num_return_sequences=2), "greedy"),
        (dict(early_stopping="sometimes", num_beams=2), "early_stopping"),
        (dict(eos_token_id=V), "eos_token_id"),
        (dict(seed=1, generator=torch.Generator()), "either seed or generator"),
        (dict(max_new_tokens=-1), "max_new_tokens"),
        (dict(idx=[]), "non-empty"),
        (dict(idx=[[1, 2], []]), "empty prompt"),
        (dict(idx=torch.zeros(1, 0, dtype=torch.long)), "empty prompt"),
        (dict(idx=torch.tensor([[1, V]])), r"token ids must lie in \[0, 50\)"),
        (dict(idx=torch.tensor([[-3, 1]])), "token ids must lie"),
        (dict(attention_mask=torch.tensor([[1, 0, 1]])), "left"),
        (dict(attention_mask=torch.tensor([[1, 1]])), "shape"),
        (dict(attention_mask=torch.tensor([[0, 0, 0]])), "all padding"),
        (dict(streamer=42), "streamer"),
    ],
)
def test_bad_arguments_are_explained(pair, kwargs, message):
    model, _ = pair
    args = dict(idx=torch.tensor([[1, 2, 3]]), max_new_tokens=5)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        generate(model, args.pop("idx"), args.pop("max_new_tokens"), **args)


def test_wrong_types_and_unknown_arguments():
    model = lively_model()
    with pytest.raises(TypeError, match="integers"):
        generate(model, torch.tensor([[0.5, 1.0]]), 3)
    with pytest.raises(TypeError, match="unexpected"):
        stream(model, [1, 2], 3, temprature=0.5)  # checked when called, before iterating
    with pytest.raises(ValueError, match="top_p"):
        stream_text(model, CharTokenizer.from_text("ab"), "ab", 3, top_p=2.0)
    with pytest.warns(UserWarning, match="no effect"):
        generate(model, [1, 2], 2, do_sample=False, top_k=3)


def test_results_are_ordinary_tensors_usable_for_training(pair):
    """Generation runs in inference mode, but what it returns must work with autograd afterwards."""
    model, _ = pair
    for out in (generate(model, [1, 2, 3], 4), generate(model, [1, 2, 3], 4, num_beams=2),
                torch.stack(list(stream(model, [1, 2, 3], 4)))):
        assert not out.is_inference()
    trainee = lively_model(seed=9).train()
    data = generate(model, [[1, 2, 3, 4]], 8)
    _, loss = trainee(data[:, :-1], data[:, 1:])
    loss.backward()
    assert trainee.transformer.wte.weight.grad is not None
