"""HellaSwag scoring: a hand-computed item, and the same choices as transformers' GPT-2 on the same weights."""
import json
import math
from pathlib import Path

import pytest
import torch

from gptlab import GPT, load_pretrained
from gptlab.cli import main
from gptlab.hellaswag import HellaSwagError, ending_losses, evaluate, load_items, render
from gptlab.tokenizers import BPETokenizer

FIXTURE = Path(__file__).parent / "fixtures" / "web" / "hellaswag_val_sample.jsonl"
transformers = pytest.importorskip("transformers")


class UnigramModel(torch.nn.Module):
    """logits = the same vector at every position, so each token's loss is logsumexp(w) - w[token]."""

    def __init__(self, weights: torch.Tensor):
        super().__init__()
        self.w = torch.nn.Parameter(weights)

    def forward(self, idx):
        return self.w.expand(*idx.shape, -1)


def test_a_hand_computed_item(one_thread):
    encode = BPETokenizer().encoding.encode_ordinary
    item = {"ctx": "The cat", "endings": ["sat down.", "ran.", "sat.", "jumped over it."], "label": 2}
    vocab = 50257
    w = torch.zeros(vocab)
    sat, dot, ran = encode(" sat")[0], encode(".")[0], encode(" ran")[0]
    w[sat], w[dot], w[ran] = 3.0, 1.0, 2.0
    lse = math.log(vocab - 3 + math.exp(3) + math.exp(1) + math.exp(2))
    loss = lambda tok: lse - float(w[tok])  # noqa: E731
    expected_mean = []
    for ending in item["endings"]:
        toks = encode(" " + ending)
        expected_mean.append(sum(loss(t) for t in toks) / len(toks))
    tokens, mask = render(item, encode)
    assert mask.sum(1).tolist() == [len(encode(" " + e)) for e in item["endings"]]
    total, mean = ending_losses(UnigramModel(w)(tokens), tokens, mask)
    assert torch.allclose(mean.double(), torch.tensor(expected_mean, dtype=torch.float64), atol=1e-4)
    # " sat." (two well-liked tokens) beats " sat down." (a neutral token drags its mean down) and " ran."
    assert int(mean.argmin()) == 2 == min(range(4), key=expected_mean.__getitem__)
    result = evaluate(UnigramModel(w), [item], encode=encode, device="cpu")
    assert result["choices"] == [2] and result["hellaswag_acc"] == 1.0


def test_fixture_is_in_the_official_schema():
    rows = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    assert all({"ind", "activity_label", "ctx_a", "ctx_b", "ctx", "split", "label", "endings"} <= set(r) for r in rows)
    items = load_items(FIXTURE)
    assert len(items) == 6 and all(len(i["endings"]) == 4 for i in items)
    with pytest.raises(HellaSwagError, match="no HellaSwag file"):
        load_items(FIXTURE.with_name("missing.jsonl"))


def hf_reference_choices(hf, items, encode):
    """Each ending's mean loss as transformers computes it: labels = the ending's tokens, -100 elsewhere."""
    choices = []
    for item in items:
        ctx = encode(item["ctx"])
        means = []
        for ending in item["endings"]:
            end = encode(" " + ending)
            ids = torch.tensor([ctx + end])
            labels = torch.tensor([[-100] * len(ctx) + end])
            with torch.no_grad():
                means.append(float(hf(ids, labels=labels).loss))
        order = sorted(range(4), key=means.__getitem__)
        assert means[order[1]] - means[order[0]] > 1e-4, "a near tie would make the comparison meaningless"
        choices.append(order[0])
    return choices


def test_same_choices_as_transformers_and_the_eval_command(tmp_path, capsys, one_thread):
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(n_positions=64, n_embd=32, n_layer=2, n_head=2)
    hf = transformers.GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():  # larger random weights: endings get clearly different losses
        for p in hf.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    hf.save_pretrained(tmp_path / "hf")
    items = load_items(FIXTURE)
    encode = BPETokenizer().encoding.encode_ordinary
    expected = hf_reference_choices(hf, items, encode)
    labels = [i["label"] for i in items]
    expected_acc = sum(c == y for c, y in zip(expected, labels)) / len(items)

    ours = evaluate(load_pretrained(tmp_path / "hf"), items, device="cpu")
    assert ours["choices"] == expected and ours["hellaswag_acc"] == expected_acc

    assert main(["eval", str(tmp_path / "hf"), "--hellaswag", str(FIXTURE), "--choices", "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["choices"] == expected and result["hellaswag_n"] == 6 and result["hellaswag_acc"] == expected_acc
