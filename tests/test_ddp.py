"""torchrun with 2 CPU processes (gloo) follows the same loss curve as 1 process with the same global batch."""
import json
import os
import signal
import subprocess
import sys

from gptlab import checkpoint as ckpt


def run(argv, env, timeout=240):
    """Run a command in its own process group, so that a hang cannot leave torchrun's workers behind."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"{argv[:6]} ran past {timeout} s:\n{out[-2000:]}\n{err[-4000:]}")
    assert proc.returncode == 0, out[-2000:] + err[-4000:]
    return out


def test_two_processes_match_one_with_the_same_global_batch(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"ALICE:\nI count to {i}.\n\nBOB:\nAnd I to {i + 1}.\n\n" for i in range(300)))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GPTLAB_DATA": str(tmp_path / "cache")}
    common = ["--data", str(corpus), "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--seq-len", "16",
              "--max-iters", "8", "--eval-interval", "4", "--eval-iters", "2", "--log-interval", "1", "--lr", "3e-3",
              "--warmup-iters", "2", "--no-progress", "--no-sample", "--device", "cpu"]
    # prepare the token files once so that the two runs do not race to write them
    run([sys.executable, "-m", "gptlab", "train", *common, "--batch-size", "8", "--out", str(tmp_path / "one")], env)
    two = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "gptlab", "train", *common, "--batch-size", "4", "--out", str(tmp_path / "two")], env)
    assert "2 processes" in two

    def curve(name):
        return [json.loads(line) for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]

    one, two = curve("one"), curve("two")
    assert [r["iter"] for r in one] == [r["iter"] for r in two] == list(range(1, 9))
    for a, b in zip(one, two):
        assert abs(a["train_loss"] - b["train_loss"]) < 1e-4 * a["train_loss"], (a, b)
        if "val_loss" in a:
            assert abs(a["val_loss"] - b["val_loss"]) < 1e-4 * a["val_loss"], (a, b)
    assert one[-1]["train_loss"] < one[0]["train_loss"]  # it trained
    assert ckpt.read_state(tmp_path / "two")["world_size"] == 2
    assert not (tmp_path / "two" / "checkpoint.json.tmp").exists()
