"""The chunked LM-head cross-entropy computes the plain loss and gradients: F.cross_entropy(h @ W^T, targets)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gptlab import GPT, GPTConfig
from gptlab.engine.loss import FusedLossGPT, lm_head_cross_entropy
from gptlab.train import TrainConfig, Trainer, loss_module

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: see tests/conftest.py


def plain(hidden, weight, targets):
    """Loss and gradients (hidden, weight) the plain way."""
    h, w = hidden.detach().clone().requires_grad_(), weight.detach().clone().requires_grad_()
    loss = F.cross_entropy(h @ w.t(), targets, ignore_index=-100)
    loss.backward()
    return loss.detach(), h.grad, w.grad


def fused(hidden, weight, targets, **kwargs):
    h, w = hidden.detach().clone().requires_grad_(), weight.detach().clone().requires_grad_()
    loss = lm_head_cross_entropy(h, w, targets, **kwargs)
    loss.backward()
    return loss.detach(), h.grad, w.grad


def case(n=50, vocab=300, width=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(n, width, generator=g)
    weight = torch.randn(vocab, width, generator=g) * 0.5  # logits of a few units: a real softmax
    return hidden, weight, torch.randint(0, vocab, (n,), generator=g)


def assert_same(ours, reference):
    for got, want, what in zip(ours, reference, ("loss", "hidden's gradient", "weight's gradient")):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6, msg=lambda m: f"{what}: {m}")


@pytest.mark.parametrize("chunk_rows", [1, 7, 16, 50, 64, 4096])  # dividing the 50 rows or not, one chunk or many
def test_loss_and_gradients_equal_the_plain_computation(chunk_rows):
    hidden, weight, targets = case()
    assert_same(fused(hidden, weight, targets, chunk_rows=chunk_rows), plain(hidden, weight, targets))


def test_ignored_targets_count_for_nothing():
    hidden, weight, targets = case(seed=1)
    targets[::3] = -100
    ours = fused(hidden, weight, targets, chunk_rows=8)
    assert_same(ours, plain(hidden, weight, targets))
    assert torch.all(ours[1][::3] == 0)  # an ignored row's hidden state gets no gradient
    targets[:] = -100  # none left: the mean over nothing is NaN and the gradients are zero, as F.cross_entropy's
    loss, grad_h, grad_w = fused(hidden, weight, targets, chunk_rows=8)
    assert torch.isnan(loss) and torch.isnan(plain(hidden, weight, targets)[0])
    assert not grad_h.any() and not grad_w.any()


def test_the_gradient_of_the_loss_scales_the_gradients():
    hidden, weight, targets = case(seed=2)
    h, w = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    (lm_head_cross_entropy(h, w, targets, chunk_rows=16) * 0.25).backward()
    _, grad_h, grad_w = plain(hidden, weight, targets)
    torch.testing.assert_close(h.grad, grad_h * 0.25)
    torch.testing.assert_close(w.grad, grad_w * 0.25)


def test_a_target_far_below_the_largest_logit_keeps_an_exact_loss():
    hidden = torch.tensor([[120.0, 0.0], [0.5, 0.5]])
    weight = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    targets = torch.tensor([2, 0])  # row 0: p(target) = exp(-240), below float32's range
    assert_same(fused(hidden, weight, targets), plain(hidden, weight, targets))


def test_without_gradients_the_loss_alone():
    hidden, weight, targets = case(seed=3)
    targets[5] = -100
    with torch.no_grad():
        loss = lm_head_cross_entropy(hidden, weight, targets, chunk_rows=9)
    torch.testing.assert_close(loss, plain(hidden, weight, targets)[0])


@pytest.mark.parametrize("args, message", [
    ((torch.zeros(4, 8), torch.zeros(10, 6), torch.zeros(4, dtype=torch.long)), "do not fit"),
    ((torch.zeros(4, 8), torch.zeros(10, 8), torch.zeros(5, dtype=torch.long)), "do not fit"),
    ((torch.zeros(2, 4, 8), torch.zeros(10, 8), torch.zeros(8, dtype=torch.long)), r"hidden \(N, C\)"),
    ((torch.zeros(4, 8), torch.zeros(10, 8, dtype=torch.float64), torch.zeros(4, dtype=torch.long)), "same floating"),
    ((torch.zeros(4, 8), torch.zeros(10, 8), torch.zeros(4)), "integer token ids"),
    ((torch.zeros(4, 8), torch.zeros(10, 8), torch.tensor([0, 1, 10, 2])), r"in \[0, 10\)"),
])
def test_wrong_inputs_are_refused_clearly(args, message):
    with pytest.raises(ValueError, match=message):
        lm_head_cross_entropy(*args)
    with pytest.raises(ValueError, match="chunk_rows"):
        lm_head_cross_entropy(torch.zeros(4, 8), torch.zeros(10, 8), torch.zeros(4, dtype=torch.long), chunk_rows=0)


def tiny_gpt(tie_weights=True, seed=0):
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=97, block_size=16, n_layer=2, n_head=2, n_embd=16, dropout=0.0,
                         tie_weights=tie_weights))


@pytest.mark.parametrize("tie_weights", [True, False])
def test_the_wrapped_model_gets_the_plain_models_gradients(tie_weights):
    ours, reference = tiny_gpt(tie_weights), tiny_gpt(tie_weights)
    x = torch.randint(0, 97, (3, 16), generator=torch.Generator().manual_seed(0))
    y = torch.roll(x, -1, dims=1)
    y[:, -1] = -100
    wrapped = loss_module(ours)
    assert isinstance(wrapped, FusedLossGPT) and list(wrapped.parameters()) == list(ours.parameters())
    logits, loss = wrapped(x, y)
    assert logits is None
    loss.backward()
    _, want = reference(x, y)
    want.backward()
    torch.testing.assert_close(loss, want)
    grads = dict(reference.named_parameters())
    for name, p in ours.named_parameters():  # the tied wte once: the sum of the embedding's and the head's parts
        torch.testing.assert_close(p.grad, grads[name].grad, rtol=1e-4, atol=1e-6, msg=lambda m: f"{name}: {m}")
    assert torch.equal(wrapped(x), ours(x))  # without targets: the model's logits


def test_models_the_fused_loss_would_change_keep_their_own():
    model = tiny_gpt()
    assert loss_module(model, fused_loss=False) is model

    class Regularised(GPT):
        def forward(self, idx, targets=None):
            logits, loss = super().forward(idx, targets)
            return logits, loss + 1.0

    assert type(loss_module(Regularised(model.config))) is Regularised
    model.lm_head.register_forward_hook(lambda *args: None)
    assert loss_module(model) is model


def test_a_training_step_fused_or_plain_follows_the_same_loss_curve():
    rng = np.random.default_rng(0)
    data = ((np.arange(3000) + (rng.random(3000) < 0.1)) % 97).astype(np.uint16)
    curves = {}
    for fused_loss in (True, False):
        cfg = TrainConfig(max_iters=4, batch_size=4, seq_len=16, eval_interval=4, eval_iters=2, log_interval=1,
                          warmup_iters=1, lr=1e-2, device="cpu", seed=7, fused_loss=fused_loss)
        history = Trainer(tiny_gpt(), data[:2700], data[2700:], cfg, progress=False).fit()
        curves[fused_loss] = [r["train_loss"] for r in history] + [history[-1]["val_loss"]]
    np.testing.assert_allclose(curves[True], curves[False], rtol=1e-5)


def test_a_compiled_model_runs_the_loss_eagerly_and_gets_the_same_numbers():
    model = tiny_gpt()
    x = torch.randint(0, 97, (2, 16), generator=torch.Generator().manual_seed(1))
    _, loss = torch.compile(loss_module(model), backend="eager")(x, x)  # the trainer's compile=True, minus codegen
    torch.testing.assert_close(loss, model(x, x)[1])
