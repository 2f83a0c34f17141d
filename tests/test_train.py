"""The trainer and its checkpoints: schedule, optimizer groups, exact resumption, divergence, atomic saves."""
import json
import math
import os
import signal

import numpy as np
import pytest
import torch

from gptlab import GPT, GPTConfig, load_pretrained, save_pretrained
from gptlab import checkpoint as ckpt
from gptlab.train import (
    TrainConfig,
    Trainer,
    TrainingDiverged,
    learning_rate,
    make_optimizer,
    plot_loss_curve,
    read_metrics,
)

VOCAB = 20


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see tests/conftest.py


def tiny_model(seed=0, dropout=0.1):
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=VOCAB, block_size=16, n_layer=2, n_head=2, n_embd=16, dropout=dropout))


def tokens(n=4000, seed=0):
    """A learnable stream: mostly counting upwards modulo VOCAB, with some noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) % VOCAB
    noise = rng.random(n) < 0.1
    t[noise] = rng.integers(0, VOCAB, noise.sum())
    return t.astype(np.uint16)


def config(**changes):
    base = dict(max_iters=12, batch_size=4, seq_len=16, eval_interval=4, eval_iters=2, log_interval=1,
                warmup_iters=3, lr=1e-2, device="cpu", seed=7)
    return TrainConfig(**{**base, **changes})


def test_learning_rate_warms_up_then_follows_a_cosine():
    cfg = TrainConfig(max_iters=110, warmup_iters=10, lr=1.0, min_lr=0.1)
    assert learning_rate(0, cfg) == pytest.approx(0.1)
    assert learning_rate(9, cfg) == pytest.approx(1.0)
    assert learning_rate(10, cfg) == pytest.approx(1.0)
    assert learning_rate(60, cfg) == pytest.approx(0.55)  # half way down the cosine
    assert learning_rate(110, cfg) == pytest.approx(0.1)
    # a time budget half spent puts the cosine half way, whatever the iteration
    assert learning_rate(20, cfg, time_fraction=0.5) == pytest.approx(0.55)
    lrs = [learning_rate(i, cfg) for i in range(10, 111)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_weight_decay_only_on_matrices():
    model = tiny_model()
    opt = make_optimizer(model, config(weight_decay=0.1), torch.device("cpu"))
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    n_opt = sum(p.numel() for g in opt.param_groups for p in g["params"])
    assert n_opt == sum(p.numel() for p in model.parameters())  # the tied embedding once


def test_training_lowers_the_loss_and_writes_metrics_and_a_loadable_checkpoint(tmp_path):
    data = tokens()
    trainer = Trainer(tiny_model(dropout=0.0), data[:3600], data[3600:], config(max_iters=40, eval_interval=20),
                      out_dir=tmp_path, run_info={"tokenizer": {"type": "char", "chars": "abcdefghijklmnopqrst"}},
                      progress=False)
    history = trainer.fit()
    records = read_metrics(tmp_path)
    assert records == json.loads(json.dumps(history))
    assert [r["iter"] for r in records] == list(range(1, 41))
    assert {"iter", "train_loss", "lr", "tokens_per_s", "elapsed"} <= set(records[0])
    vals = [r["val_loss"] for r in records if "val_loss" in r]
    assert len(vals) == 2 and vals[-1] < math.log(VOCAB) - 0.5  # it learned to count
    assert ckpt.is_checkpoint(tmp_path) and not ckpt.is_checkpoint(tmp_path / "nothing")
    state = ckpt.read_state(tmp_path)
    assert state["iteration"] == 40 and state["sampler"]["step"] == 40
    model = load_pretrained(tmp_path)
    x = torch.as_tensor(data[:16].astype(np.int64))[None]
    assert torch.equal(model(x), trainer.model.eval()(x))
    assert ckpt.load_tokenizer(tmp_path).decode([0, 1, 2]) == "abc"
    ax = plot_loss_curve(tmp_path)
    assert len(ax.get_lines()) == 2


def test_ctrl_c_saves_and_resume_continues_the_same_loss_curve(tmp_path):
    """Interrupt at step 6 of 12 (a real SIGINT), resume, and get the uninterrupted run's losses bit for bit.
    Dropout is on, so this also checks that the random number generator is restored."""
    data = tokens()
    full = Trainer(tiny_model(), data[:3600], data[3600:], config(), out_dir=tmp_path / "full", progress=False)
    full.fit()

    def ctrl_c_at_6(trainer, record):
        if record["iter"] == 6 and not trainer.interrupted:
            os.kill(os.getpid(), signal.SIGINT)

    first = Trainer(tiny_model(), data[:3600], data[3600:], config(), out_dir=tmp_path / "cut",
                    callbacks=[ctrl_c_at_6], progress=False)
    first.fit()
    assert first.interrupted and first.iteration == 6 and ckpt.read_state(tmp_path / "cut")["iteration"] == 6

    second = Trainer(tiny_model(seed=99), data[:3600], data[3600:], config(), out_dir=tmp_path / "cut", progress=False)
    assert second.resume() == 6
    second.fit()
    losses = lambda folder: [(r["iter"], r["train_loss"]) for r in read_metrics(folder) if "train_loss" in r]
    assert losses(tmp_path / "cut") == losses(tmp_path / "full")
    val = lambda folder: [(r["iter"], r["val_loss"]) for r in read_metrics(folder) if "val_loss" in r and r["iter"] % 4 == 0]
    assert val(tmp_path / "cut") == val(tmp_path / "full")
    for name, p in second.model.state_dict().items():
        assert torch.equal(p, full.model.state_dict()[name]), name


def test_a_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(tmp_path):
    data = tokens()

    def poison_at_5(trainer, record):
        if record["iter"] == 5:
            with torch.no_grad():
                trainer.model.transformer.h[0].ln_1.weight.fill_(float("nan"))

    trainer = Trainer(tiny_model(), data[:3600], data[3600:], config(), out_dir=tmp_path,
                      callbacks=[poison_at_5], progress=False)
    with pytest.raises(TrainingDiverged, match=r"iteration 6: the loss became nan.*iteration 4\) is kept"):
        trainer.fit()
    assert ckpt.read_state(tmp_path)["iteration"] == 4
    assert all(torch.isfinite(p).all() for p in ckpt.load_model(tmp_path).parameters())


def test_an_exploding_loss_stops_too(tmp_path):
    data = tokens()

    def blow_up(trainer, record):
        if record["iter"] == 2:
            with torch.no_grad():
                trainer.model.lm_head.weight.mul_(1000.0)

    trainer = Trainer(tiny_model(), data[:3600], data[3600:], config(), callbacks=[blow_up], progress=False)
    with pytest.raises(TrainingDiverged, match="exploded.*No checkpoint had been saved"):
        trainer.fit()


def test_time_budget_stops_the_run_and_saves(tmp_path):
    data = tokens()
    trainer = Trainer(tiny_model(), data[:3600], data[3600:], config(max_iters=10**6, max_seconds=1.0),
                      out_dir=tmp_path, progress=False)
    trainer.fit()
    assert "time budget" in trainer.stop_reason and 0 < trainer.iteration < 10**6
    assert ckpt.read_state(tmp_path)["iteration"] == trainer.iteration
    assert "val_loss" in read_metrics(tmp_path)[-1]


def test_an_interrupted_save_is_rolled_forward_or_discarded(tmp_path):
    model = tiny_model()
    ckpt.save_checkpoint(tmp_path, model, state={"iteration": 1})
    # the process died while replacing files: new weights in place, new JSON still under .tmp
    newer = tiny_model(seed=5)
    ckpt.save_checkpoint(tmp_path / "scratch", newer, state={"iteration": 2})
    os.replace(tmp_path / "scratch" / "model.safetensors", tmp_path / "model.safetensors")
    os.replace(tmp_path / "scratch" / "checkpoint.json", tmp_path / "checkpoint.json.tmp")
    assert ckpt.read_state(tmp_path)["iteration"] == 2  # rolled forward
    assert torch.equal(ckpt.load_model(tmp_path).transformer.wte.weight, newer.transformer.wte.weight)
    # the process died while writing: an incomplete JSON means the old checkpoint stands
    (tmp_path / "model.safetensors.tmp").write_bytes(b"partial")
    (tmp_path / "checkpoint.json.tmp").write_text('{"format": "gptlab-che')
    assert ckpt.read_state(tmp_path)["iteration"] == 2
    assert not list(tmp_path.glob("*.tmp"))
    assert torch.equal(ckpt.load_model(tmp_path).transformer.wte.weight, newer.transformer.wte.weight)


def test_loading_checks_names_and_shapes(tmp_path):
    ckpt.save_checkpoint(tmp_path, tiny_model(), state={"iteration": 0})
    wider = GPT(GPTConfig(vocab_size=VOCAB, block_size=16, n_layer=2, n_head=2, n_embd=32))
    with pytest.raises(ckpt.CheckpointError, match="shape"):
        ckpt.load_weights(wider, tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ckpt.CheckpointError, match="no gptlab checkpoint"):
        ckpt.read_state(tmp_path / "empty")
    with pytest.raises(ckpt.CheckpointError, match="not a folder"):
        ckpt.read_state(tmp_path / "missing")


def test_devices_and_autocast():
    from gptlab.train import autocast_dtype, pick_device

    assert pick_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pick_device("cuda")
        assert pick_device("auto").type in ("cpu", "mps")
    assert autocast_dtype(torch.device("cpu")) is None  # CPUs train in float32 unless asked
    assert autocast_dtype(torch.device("cpu"), "bfloat16") is torch.bfloat16
    data = tokens()
    trainer = Trainer(tiny_model(), data[:3600], data[3600:], config(max_iters=3, dtype="bfloat16"), progress=False)
    history = trainer.fit()  # the autocast path that GPUs take, exercised on the CPU
    assert all(math.isfinite(r["train_loss"]) for r in history if "train_loss" in r)
    assert trainer.model.transformer.wte.weight.dtype == torch.float32  # master weights stay fp32


def test_live_loss_plot_callback_redraws_one_figure(capsys):
    from gptlab.train import LiveLossPlot

    plot = LiveLossPlot()
    for i in range(1, 4):
        plot(None, {"iter": i, "train_loss": 3.0 - i / 10, **({"val_loss": 3.0} if i == 3 else {})})
    assert len(plot.records) == 3
    assert len(plot.figure.axes[0].get_lines()) == 2  # training and validation curves
    assert plot.figure.axes[0].get_title() == "Training loss \u00b7 step 3 \u00b7 validation 3.00"


def test_the_shipped_shakespeare_model_writes_a_play_script():
    import re

    from gptlab.assets import SHAKESPEARE_CHAR, load_shakespeare_char
    from gptlab.generation import generate

    model, tokenizer = load_shakespeare_char()
    size = sum(p.stat().st_size for p in SHAKESPEARE_CHAR.iterdir())
    assert size < 5_000_000, f"the shipped checkpoint takes {size:,} bytes"
    state = ckpt.read_state(SHAKESPEARE_CHAR)
    assert state["val_loss"] < 1.75 and state["tokenizer"]["type"] == "char"
    assert not (SHAKESPEARE_CHAR / "optimizer.pt").exists()
    ids = generate(model, tokenizer.encode("\n"), 400, do_sample=True, temperature=0.8, seed=0)
    text = tokenizer.decode(ids)
    speakers = re.findall(r"\n\n([A-Z][A-Z ]+):\n[A-Z]", text)  # a blank line, SPEAKER:, then the speech
    assert len(speakers) >= 2, text
    words = re.findall(r"[a-z]+", text)
    common = {"the", "and", "to", "of", "my", "you", "i", "a", "in", "that", "is", "not", "with", "me", "it", "be"}
    assert sum(w in common for w in words) > 0.15 * len(words), text  # English, not letter soup
    assert torch.equal(load_pretrained(SHAKESPEARE_CHAR).transformer.wte.weight, model.transformer.wte.weight)


def test_a_checkpoint_exports_to_huggingface_format(tmp_path):
    model = tiny_model(dropout=0.0)
    ckpt.save_checkpoint(tmp_path / "run", model, state={"iteration": 3})
    loaded = load_pretrained(tmp_path / "run")
    save_pretrained(loaded, tmp_path / "hf")
    assert (tmp_path / "hf" / "config.json").is_file() and not ckpt.is_checkpoint(tmp_path / "hf")
    again = load_pretrained(tmp_path / "hf")
    x = torch.arange(16)[None] % VOCAB
    assert torch.equal(again(x), model.eval()(x))


def test_fastest_thread_count_measures_without_touching_the_model_or_the_rng(monkeypatch):
    from gptlab.train import fastest_thread_count

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    model = tiny_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(3)
    rng = torch.get_rng_state()
    threads = torch.get_num_threads()
    assert fastest_thread_count(model, 2, 16, VOCAB, candidates=(1, 2)) in (1, 2)
    assert torch.get_num_threads() == threads and torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert all(p.grad is None for p in model.parameters())
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert fastest_thread_count(model, 2, 16, VOCAB, candidates=(1, 2)) == threads
