"""Training speed: gptlab's GPT against transformers' GPT2LMHeadModel, same config, same batches, same run.

    python bench/train.py                      # 6 layers x 6 heads x 384 wide, context 256, batch 8
    python bench/train.py --rounds 6 --steps 4 --out bench/train.json

One training step is forward + loss + backward + AdamW step, on real Shakespeare batches. Both models start
from the same weights (copied from ours into HuggingFace's layout; the logits are checked to agree first), use
PyTorch's fused attention (sdpa), no dropout, fp32. The two are interleaved (A B A B ...) so that a busy machine
slows both alike, and the median tokens/s of each is reported, for a character vocabulary and for GPT-2's 50,257
tokens, whose LM head and cross-entropy dominate small models.

Ours trains the way ``gptlab train`` does, through :func:`gptlab.train.loss_module`: the LM head and cross-entropy
of :mod:`gptlab.engine.loss`, which never holds all the logits (``--plain-loss``: the model's own loss instead).

Wall-clock tokens/s is the headline; tokens per CPU second of the process is reported beside it, since on a
shared machine it measures the work itself (exactly so with one thread: ``OMP_NUM_THREADS=1``).

Peak memory is measured apart, one side at a time in a fresh process (the same models, weights and batches):
the most resident memory (Linux's ``VmHWM``, reset once the models are built) minus the resident memory at that
moment, over ``--steps`` + 1 training steps. It counts what a training step adds: activations, logits, gradients
and AdamW's moments (the same for both sides). Those processes run without the malloc settings, so that what a
step frees goes back to the system and the high-water mark counts what is held at once. ``--no-memory`` skips it.

The glibc malloc settings that stop large temporaries (the 8 x 256 x 50257 logits and their gradient) from being
returned to the OS and faulted in again every step are applied to the whole process, so to both sides alike
(``--no-malloc-tunables`` turns them off for both).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

MALLOC_TUNABLES = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n-layer", type=int, default=6)
    p.add_argument("--n-head", type=int, default=6)
    p.add_argument("--n-embd", type=int, default=384)
    p.add_argument("--seq-len", type=int, default=256, help="tokens per sequence, and the model's context")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--rounds", type=int, default=5, help="A B rounds measured (after one warm-up round)")
    p.add_argument("--steps", type=int, default=3, help="training steps per model per round")
    p.add_argument("--vocab", choices=["char", "gpt2", "both"], default="both")
    p.add_argument("--no-malloc-tunables", action="store_true")
    p.add_argument("--plain-loss", action="store_true", help="ours with the model's own loss, not the fused one")
    p.add_argument("--no-memory", action="store_true", help="do not measure peak memory")
    p.add_argument("--breakdown", action="store_true", help="also time each part of a step: the body's forward "
                   "pass, the LM head and loss, their backward passes, the optimizer")
    p.add_argument("--peak-of", choices=["gptlab", "transformers"], help=argparse.SUPPRESS)  # the child's job
    p.add_argument("--out", help="also write the JSON here")
    args = p.parse_args()

    if not args.no_malloc_tunables and os.environ.get("GLIBC_TUNABLES") != MALLOC_TUNABLES:
        # the tunables are read when the process starts: start again with them, for both models alike
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "GLIBC_TUNABLES": MALLOC_TUNABLES})

    import torch
    import transformers

    if args.peak_of:
        print(json.dumps(peak_memory_here(args)))
        return 0
    results = {
        "config": {k: getattr(args, k) for k in ("n_layer", "n_head", "n_embd", "seq_len", "batch_size")},
        "method": f"{args.rounds} interleaved rounds of {args.steps} steps per model, medians; fp32, sdpa, no dropout"
                  + ("; ours with the model's own loss" if args.plain_loss else "; ours with the fused LM-head loss"),
        "environment": {
            "torch": torch.__version__, "transformers": transformers.__version__, "threads": torch.get_num_threads(),
            "machine": platform.machine(), "glibc_tunables": os.environ.get("GLIBC_TUNABLES"),
        },
        "vocab": {},
    }
    for vocab in (["char", "gpt2"] if args.vocab == "both" else [args.vocab]):
        results["vocab"][vocab] = compare(vocab, args)
        r = results["vocab"][vocab]
        if not args.no_memory:
            for name in ("gptlab", "transformers"):
                r[name].update(peak_memory(vocab, name, args))
        print(f"{vocab:5s} vocab {r['vocab_size']:>6,}: gptlab {r['gptlab']['tokens_per_s']:8,.0f} tok/s   "
              f"transformers {r['transformers']['tokens_per_s']:8,.0f} tok/s   ratio {r['speedup']:.2f}   "
              f"(per CPU second: {r['gptlab']['tokens_per_cpu_s']:,.0f} vs {r['transformers']['tokens_per_cpu_s']:,.0f}, "
              f"ratio {r['speedup_cpu_time']:.2f})", file=sys.stderr)
        if not args.no_memory:
            print(f"{'':18s} peak memory of a step: gptlab {r['gptlab']['peak_step_mb']:,.0f} MB   "
                  f"transformers {r['transformers']['peak_step_mb']:,.0f} MB", file=sys.stderr)
    text = json.dumps(results, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


def setup(vocab: str, args, check: bool = True):
    """Both models with the same weights, the batches, the two training steps, and the models' largest logit
    difference on the first batch (``check``; else None)."""
    import torch
    import torch.nn.functional as F
    from transformers import GPT2Config, GPT2LMHeadModel

    from gptlab import GPT, GPTConfig
    from gptlab.data import BatchSampler, prepare
    from gptlab.hf import config_to_hf, to_hf_state_dict
    from gptlab.engine.loss import lm_head_cross_entropy
    from gptlab.train import loss_module

    data = prepare("shakespeare", vocab)
    config = GPTConfig(vocab_size=data.tokenizer.vocab_size, block_size=args.seq_len, n_layer=args.n_layer,
                       n_head=args.n_head, n_embd=args.n_embd, dropout=0.0, attn_impl="sdpa")
    torch.manual_seed(0)
    ours = GPT(config)
    hf_config = config_to_hf(config)
    if config.vocab_size <= 50256:  # GPT2Config's default special tokens do not exist in a character vocabulary
        hf_config.update(bos_token_id=None, eos_token_id=None)
    hf = GPT2LMHeadModel(GPT2Config(**hf_config, attn_implementation="sdpa"))
    missing, unexpected = hf.load_state_dict(to_hf_state_dict(ours), strict=False)
    if unexpected or [k for k in missing if k != "lm_head.weight"]:
        raise RuntimeError(f"weights do not map onto GPT2LMHeadModel: missing {missing}, unexpected {unexpected}")
    hf.tie_weights()
    ours.train(), hf.train()

    sampler = BatchSampler(data.train, args.batch_size, args.seq_len, seed=0)
    x, y = sampler.batch(0)
    diff = None
    if check:
        with torch.no_grad():
            diff = (ours(x) - hf(input_ids=x).logits).abs().max().item()
    if check and diff > 1e-3:
        raise RuntimeError(f"the two models disagree (max logit difference {diff}); the comparison would be unfair")

    def step_ours(model, opt, x, y):
        _, loss = model(x, y)  # model: loss_module(ours), as the trainer
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    def step_hf(model, opt, x, y):
        # the way transformers trains: labels=input_ids, shifted inside the model (T - 1 targets per row)
        loss = model(input_ids=x, labels=x).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    loss_model = loss_module(ours, fused_loss=not args.plain_loss)
    contenders = {
        "gptlab": (loss_model, torch.optim.AdamW(ours.parameters(), lr=1e-4), step_ours),
        "transformers": (hf, torch.optim.AdamW(hf.parameters(), lr=1e-4), step_hf),
    }

    # the same steps cut in two at the final hidden states, for --breakdown: (body, head and loss) of each side
    def head_ours(hidden, x, y):
        if loss_model is ours:
            return F.cross_entropy(ours.lm_head(hidden).flatten(0, 1), y.flatten())
        return lm_head_cross_entropy(hidden.flatten(0, 1), ours.lm_head.weight, y.flatten())

    def head_hf(hidden, x, y):
        return hf.loss_function(hf.lm_head(hidden), x, vocab_size=hf.config.vocab_size)

    parts = {"gptlab": (ours.hidden_states, head_ours),
             "transformers": (lambda x: hf.transformer(input_ids=x).last_hidden_state, head_hf)}
    return config, contenders, sampler, diff, parts


def compare(vocab: str, args) -> dict:
    import torch

    config, contenders, sampler, diff, parts = setup(vocab, args)
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    step = 1
    for round_ in range(args.rounds + 1):  # round 0 warms up (allocator, kernels)
        for name, (model, opt, fn) in contenders.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(args.steps):
                x, y = sampler.batch(step)
                step += 1
                fn(model, opt, x, y)
            if round_:
                wall[name].append((time.perf_counter() - start) / args.steps)
                cpu[name].append((time.process_time() - start_cpu) / args.steps)
    tokens = args.batch_size * args.seq_len
    out = {"vocab_size": config.vocab_size, "max_logit_difference_at_start": diff}
    for name in contenders:
        out[name] = {
            "tokens_per_s": tokens / statistics.median(wall[name]),
            # CPU seconds of this process: with one thread, the cost of the work itself, which other programs
            # on a shared machine inflate far less than the wall-clock time
            "tokens_per_cpu_s": tokens / statistics.median(cpu[name]),
            "seconds_per_step": [round(s, 4) for s in wall[name]],
            "cpu_seconds_per_step": [round(s, 4) for s in cpu[name]],
        }
    out["speedup"] = out["gptlab"]["tokens_per_s"] / out["transformers"]["tokens_per_s"]
    out["speedup_cpu_time"] = out["gptlab"]["tokens_per_cpu_s"] / out["transformers"]["tokens_per_cpu_s"]
    if args.breakdown:
        for name, seconds in breakdown(contenders, parts, sampler, args).items():
            out[name]["breakdown"] = seconds
    return out


PARTS = ("body_forward", "head_and_loss_forward", "head_and_loss_backward", "body_backward", "optimizer")


def breakdown(contenders, parts, sampler, args) -> dict:
    """Median wall and CPU seconds of each part of one step, the sides interleaved step by step. The backward
    pass is cut at the final hidden states: first the head's and loss's part (down to the hidden states and the
    head's weight), then the body's. (The fused loss does its backward work in its forward pass.)"""
    wall = {name: {part: [] for part in PARTS} for name in contenders}
    cpu = {name: {part: [] for part in PARTS} for name in contenders}
    for round_ in range(args.rounds + 1):
        for name, (model, opt, _) in contenders.items():
            body, head = parts[name]
            x, y = sampler.batch(1_000_000 + round_)
            marks = [(time.perf_counter(), time.process_time())]
            hidden = body(x)  # (B, T, C)
            marks.append((time.perf_counter(), time.process_time()))
            cut = hidden.detach().requires_grad_()
            loss = head(cut, x, y)
            marks.append((time.perf_counter(), time.process_time()))
            loss.backward()
            marks.append((time.perf_counter(), time.process_time()))
            hidden.backward(cut.grad)
            marks.append((time.perf_counter(), time.process_time()))
            opt.step()
            opt.zero_grad(set_to_none=True)
            marks.append((time.perf_counter(), time.process_time()))
            if round_:
                for part, a, b in zip(PARTS, marks, marks[1:]):
                    wall[name][part].append(b[0] - a[0])
                    cpu[name][part].append(b[1] - a[1])
    return {name: {part: {"wall_s": round(statistics.median(wall[name][part]), 4),
                          "cpu_s": round(statistics.median(cpu[name][part]), 4)} for part in PARTS}
            for name in contenders}


def peak_memory(vocab: str, name: str, args) -> dict:
    """The peak memory of ``name``'s training step, measured in a child process that trains only it."""
    import subprocess

    argv = [sys.executable, __file__, "--vocab", vocab, "--peak-of", name, "--steps", str(args.steps)]
    argv += [f"--{k.replace('_', '-')}={getattr(args, k)}" for k in ("n_layer", "n_head", "n_embd", "seq_len",
                                                                      "batch_size")]
    argv += ["--plain-loss"] * args.plain_loss + ["--no-malloc-tunables"]
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    done = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout.splitlines()[-1])


def peak_memory_here(args) -> dict:
    """Build both models, keep one, and train it for ``steps`` + 1 steps: its peak resident memory above the
    resident memory once built (the kernel's high-water mark is reset then, where Linux allows it)."""
    import gc

    _, contenders, sampler, _, _ = setup(args.vocab, args, check=False)  # the parent checked; no logits made here
    model, opt, fn = contenders[args.peak_of]
    contenders.clear()
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current resident size
        reset = True
    except OSError:
        reset = False
    start = _status_kb("VmRSS")
    for step in range(args.steps + 1):
        x, y = sampler.batch(step)
        fn(model, opt, x, y)
    peak = _status_kb("VmHWM")
    return {"peak_step_mb": round((peak - start) / 1024, 1), "rss_before_mb": round(start / 1024, 1),
            "peak_rss_mb": round(peak / 1024, 1), "peak_since_models_built": reset}


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


if __name__ == "__main__":
    sys.exit(main())
