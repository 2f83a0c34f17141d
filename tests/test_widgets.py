"""The explorers show what the real functions compute, can be driven from code, and explain bad input in
their output instead of raising. ipywidgets works without a front end: setting a control runs its observers
at once, and (outside a kernel) what the explorer draws goes to stdout, where capsys reads it."""
import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from gptlab import GPT, GPTConfig  # noqa: E402
from gptlab.generation import generate  # noqa: E402
from gptlab.sampling import SamplingSettings, kept_mask, next_token_probs  # noqa: E402
from gptlab.tokenizers import BPETokenizer, CharTokenizer  # noqa: E402
from gptlab.widgets import AttentionExplorer, ExplorerError, GenerationExplorer, TokenizerExplorer  # noqa: E402
from gptlab.widgets.attention import attention_weights  # noqa: E402
from gptlab.widgets.generation import sequence_log_prob  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see tests/conftest.py

TEXT = "to be, or not to be: that is the question.\n"


@pytest.fixture(scope="module")
def chars():
    return CharTokenizer.from_text(TEXT)


@pytest.fixture(scope="module")
def model(chars):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=chars.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=16)).eval()


@pytest.fixture
def generation(model, chars):
    explorer = GenerationExplorer(model, chars, "to be, or", bars=8, max_new_tokens=12)
    explorer.redraw()
    return explorer


def assert_explained(state, capsys, *words):
    """The explorer shows a message (with these words) and no traceback."""
    shown = capsys.readouterr().out
    assert state["error"] and all(w in state["error"] for w in words), state["error"]
    assert "Traceback" not in shown


# --- generation ----------------------------------------------------------------------------------------

def test_generation_explorer_shows_what_the_sampling_functions_compute(generation, model, chars):
    state = generation.set(temperature=0.7, top_k=5, top_p=0.9, min_p=0.05, repetition_penalty=1.3)
    ids = torch.tensor([chars.encode("to be, or")])
    with torch.no_grad():
        logits = model(ids)[0, -1]
    settings = SamplingSettings(temperature=0.7, top_k=5, top_p=0.9, min_p=0.05, repetition_penalty=1.3)
    probs = next_token_probs(logits, settings, input_ids=ids)
    assert state["error"] is None and state["settings"]["min_p"] == 0.05
    assert torch.allclose(state["probs"], probs, atol=1e-6)
    assert state["kept"] == int(kept_mask(logits, settings, input_ids=ids).sum())
    assert state["line"].startswith(f"kept {state['kept']} of {chars.vocab_size} tokens")
    assert state["shown_probs"] == sorted(state["shown_probs"], reverse=True)
    # each strategy's text is generate's own, scored under the model
    sample = generate(model, ids, 12, do_sample=True, seed=0, settings=settings)
    assert state["continuations"]["sample"]["text"] == chars.decode(sample[0, ids.shape[1]:].tolist())
    beam = generate(model, ids, 12, num_beams=4, repetition_penalty=1.3)
    assert state["continuations"]["beam"]["ids"] == beam[0, ids.shape[1]:].tolist()
    assert state["continuations"]["beam"]["log_prob"] == pytest.approx(sequence_log_prob(model, beam, ids.shape[1]))


def test_min_p_and_penalty_change_the_kept_set_and_the_log_scale_the_axis(generation):
    # an untrained model is nearly uniform: a low temperature gives min-p something to cut
    everything = generation.set(temperature=0.1, top_k=0, top_p=1.0, min_p=0.0)["kept"]
    assert everything == generation.state["vocab"]
    assert generation.set(min_p=0.5)["kept"] < everything
    assert generation.set(log_scale=True)["log_scale"] is True
    assert generation.set(repetition_penalty=2.0)["probs"][generation.prompt_ids()].sum() < (
        generation.set(repetition_penalty=1.0)["probs"][generation.prompt_ids()].sum())
    assert generation.state["redraws"] == 6


def test_greedy_steps_are_generates_tokens_and_their_log_probability(generation, model, chars):
    generation.set(strategy="greedy")
    for _ in range(20):  # past the 16-token context: the window slides, as in generate
        state = generation.step()
    ids = torch.tensor([chars.encode("to be, or")])
    full = generate(model, ids, 20)
    assert [s["id"] for s in state["steps"]] == full[0, ids.shape[1]:].tolist()
    assert state["kept"] == 1 and all(s["probability"] == 1.0 for s in state["steps"])
    assert state["shown_kept"][0] and state["shown_unfiltered"] == sorted(state["shown_unfiltered"], reverse=True)
    assert state["running_log_prob"] == pytest.approx(sequence_log_prob(model, full, ids.shape[1]))
    assert state["step_line"].startswith("step 20: chose ")


def test_sampled_and_beam_steps_follow_their_continuations(generation):
    sampled = [generation.step()["steps"][-1]["id"] for _ in range(12)]
    assert sampled == generation.state["continuations"]["sample"]["ids"]  # the same seeded draws
    generation.set(strategy="beam")  # a new strategy starts again from the prompt
    assert generation.state["steps"] == []
    beam = [generation.step()["steps"][-1]["id"] for _ in range(12)]
    assert beam == generation.state["continuations"]["beam"]["ids"]
    assert "ends after 12 tokens" in generation.step()["error"]
    assert generation.reset_steps()["steps"] == [] and generation.state["error"] is None


def test_a_new_prompt_recomputes_and_restarts(generation, chars):
    generation.step()
    before = generation.state["probs"]
    state = generation.set(prompt="that is")
    assert state["steps"] == [] and state["prompt"] == "that is"
    assert not torch.equal(state["probs"], before)


def test_generation_explorer_explains_bad_input(generation, capsys):
    assert_explained(generation.set(prompt=""), capsys, "type a prompt")
    assert_explained(generation.step(), capsys, "type a prompt")
    assert_explained(generation.set(prompt="to be \U0001F600"), capsys, "not in this tokenizer's vocabulary")
    assert generation.set(prompt="to be")["error"] is None  # and it recovers
    assert_explained(generation.set(strategy="nucleus"), capsys, "strategy 'nucleus' does not exist")
    with pytest.raises(TypeError, match="the controls are prompt, temperature"):
        generation.set(temprature=0.5)  # a misspelt name is the programmer's, not the reader's


def test_an_empty_prompt_from_the_start_is_a_message(model, chars, capsys):
    explorer = GenerationExplorer(model, chars, "")
    explorer.redraw()
    assert_explained(explorer.state, capsys, "type a prompt")


# --- attention -----------------------------------------------------------------------------------------

def test_attention_explorer_shows_the_models_weights(model, chars):
    explorer = AttentionExplorer(model, chars, "to be, or not")
    explorer.redraw()
    ids = torch.tensor([chars.encode("to be, or not")])
    maps = model.attention_maps(ids)
    state = explorer.state
    assert state["query"] == ids.shape[1] - 1 and [h["head"] for h in state["heads"]] == [0, 1]
    state = explorer.set(layer=1, head=1, query=4)
    assert state["error"] is None and len(state["heads"]) == 1
    assert state["heads"][0]["weights"] == pytest.approx(maps[1][0, 1, 4, :5].tolist())
    assert state["heads"][0]["future"] == 0.0 and sum(state["heads"][0]["weights"]) == pytest.approx(1.0)
    assert state["lines"][0].startswith("layer 1 · head 1 · query 4 'e' · top key ")
    # a new text moves the query to its last token
    assert explorer.set(text="to be")["query"] == 4 and explorer.state["tokens"] == list("to be")


def test_attention_explorer_explains_bad_input(model, chars, capsys):
    explorer = AttentionExplorer(model, chars, "to be")
    explorer.redraw()
    assert_explained(explorer.set(layer=5), capsys, "layer 5 does not exist", "0, 1")
    assert_explained(explorer.set(head=7), capsys, "head 7 does not exist")
    assert_explained(explorer.set(query=5), capsys, "query 5 does not exist", "positions 0 to 4")
    assert_explained(explorer.set(text=""), capsys, "type a text")
    assert_explained(explorer.set(text="t" * 17), capsys, "more than the model's context of 16")
    assert_explained(explorer.set(text="TO BE"), capsys, "not in this tokenizer's vocabulary")


def test_attention_choices_follow_the_model_once_its_weights_can_be_had(model, chars):
    explorer = AttentionExplorer(model, chars, "TO BE")  # cannot be encoded: one layer, one head offered
    assert list(explorer.layer.options) == [0]
    state = explorer.set(text="to be")
    assert state["error"] is None and list(explorer.layer.options) == [0, 1] and len(explorer.head.options) == 3
    assert explorer.set(layer=1, head=1)["lines"][0].startswith("layer 1 · head 1")


class OnlyWeightsOut(torch.nn.Module):
    """A model written by hand with the second interface: forward(idx, attn_weights_out=list)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, idx, attn_weights_out=None):
        return self.inner(idx, attn_weights_out=attn_weights_out)


class NoInterface(torch.nn.Module):
    def forward(self, idx):
        return idx.float()


class WrongShape(torch.nn.Module):
    def attention_maps(self, idx):
        return [torch.ones(1, 2, 3)]


def test_any_model_with_the_interface_works_and_others_are_explained(model, chars, capsys):
    ids = torch.tensor([chars.encode("to be")])
    assert torch.equal(attention_weights(OnlyWeightsOut(model), ids), attention_weights(model, ids))
    explorer = AttentionExplorer(OnlyWeightsOut(model), chars, "to be")
    explorer.redraw()
    assert explorer.state["error"] is None and explorer.state["n_layer"] == 2
    for bad, words in ((NoInterface(), ("attention_maps(idx)", "NoInterface has neither")),
                       (object(), ("cannot be called",)), (WrongShape(), ("shape (1, 2, 3)",))):
        explorer = AttentionExplorer(bad, chars, "to be")
        explorer.redraw()
        assert_explained(explorer.state, capsys, *words)
        with pytest.raises(ExplorerError):
            attention_weights(bad, ids)


# --- tokens --------------------------------------------------------------------------------------------

def test_tokenizer_explorer_shows_pieces_ids_and_bytes(chars):
    bpe = BPETokenizer()
    explorer = TokenizerExplorer(bpe, "to be", chars=chars)
    explorer.redraw()
    assert explorer.state["ids"] == bpe.encode("to be") and explorer.state["char_tokens"] == 5
    explorer = TokenizerExplorer(bpe)
    state = explorer.set(text="naïve \U0001F600")
    assert state["ids"] == bpe.encode("naïve \U0001F600") and state["characters"] == 7 and state["bytes"] == 11
    emoji = state["non_ascii"][-1]
    assert emoji["bytes"] == "f0 9f 98 80" and len(emoji["tokens"]) == 2  # one emoji, split over two tokens
    assert "".join(state["token_bytes"]).replace(" ", "") == "naïve \U0001F600".encode().hex()
    assert state["line"] == "characters 7 · UTF-8 bytes 11 · BPE tokens 4 · 1.75 characters per token"
    assert explorer.set(text="")["n_tokens"] == 0


def test_tokenizer_explorer_explains_text_it_cannot_encode(chars, capsys):
    explorer = TokenizerExplorer(BPETokenizer(), "to be", chars=chars)
    assert_explained(explorer.set(text="TO BE"), capsys, "character tokenizer cannot encode")
    assert_explained(explorer.set(text="half \ud83d"), capsys, "U+D83D", "lone surrogate")
