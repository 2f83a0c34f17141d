"""Generation speed: gptlab against HuggingFace transformers on the same GPT-2 small weights.

    python bench/generate.py                 # the full benchmark (about 15 minutes on 2 cores)
    python bench/generate.py --quick         # short shapes, a first look in a minute
    python bench/generate.py --uncached-samples 6   # estimate the slow uncached runs from 6 lengths
    python bench/generate.py --batched       # only the batch of 8 prompts of different lengths

GPT-2 small (124M parameters, random weights), fp32, CPU, 2 threads, greedy decoding. For each shape
(prompt length + new tokens) it measures batch-1 new tokens per second with and without the KV cache, for
both libraries; then a batch of 8 prompts of different lengths (32, 64, ... 256 tokens, left-padded with an
attention mask, as transformers pads them) continued by 128 tokens each, with the cache. It prints one JSON
object with the medians, the milliseconds per decoding step and the ratios ours/theirs. ``targets_met`` says
whether gptlab's cached decoding is at least 1.5x transformers' on the two standard shapes and on the batch,
and whether the cache speeds gptlab up at least as much as it speeds transformers up.

The two libraries run interleaved (A B, then B A, ...) so that a busy moment on a shared machine hits
both; every timed run is preceded by a warm-up, and both must produce the same tokens.

Without the cache, step t costs a forward pass over the whole sequence, so a full uncached run takes many
minutes. ``--uncached-samples N`` estimates it instead: it times single uncached steps at N evenly spaced
sequence lengths and adds up the interpolated step times over all the run's lengths (the estimate is
labelled as such in the output).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import torch


TARGET_SHAPES = [(64, 256), (512, 128)]
TARGET_RATIO = 1.5  # gptlab's cached decoding over transformers'
BATCH_PROMPT_LENS = [32 * (i + 1) for i in range(8)]  # the batched case: 8 prompts, 32 .. 256 tokens
BATCH_NEW = 128


def build_models():
    from transformers import GPT2Config, GPT2LMHeadModel

    from gptlab import GPT, GPTConfig

    torch.manual_seed(0)
    ours = GPT(GPTConfig.from_preset("gpt2", dropout=0.0)).eval()
    c = ours.config
    hf_config = GPT2Config(
        vocab_size=c.vocab_size, n_positions=c.block_size, n_embd=c.n_embd, n_layer=c.n_layer, n_head=c.n_head,
        activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        layer_norm_epsilon=c.layer_norm_eps, tie_word_embeddings=True,
        bos_token_id=None, eos_token_id=None, pad_token_id=None,
    )
    theirs = GPT2LMHeadModel(hf_config).eval()
    result = theirs.load_state_dict(ours.state_dict(), strict=False)
    assert not result.missing_keys and not result.unexpected_keys, result
    theirs.generation_config.eos_token_id = None
    theirs.generation_config.pad_token_id = None
    return ours, theirs


def run_ours(model, idx, n, use_cache):
    from gptlab.generation import generate

    return generate(model, idx, n, use_cache=use_cache)


def run_theirs(model, idx, n, use_cache):
    return model.generate(idx, attention_mask=torch.ones_like(idx), max_new_tokens=n, min_new_tokens=n,
                          do_sample=False, use_cache=use_cache)


class Batch:
    """Prompts of different lengths, as each library takes them: gptlab a list of token lists (it pads them
    itself), transformers a left-padded (B, T) tensor with its attention mask. Both pad with id 0."""

    def __init__(self, rows):
        self.rows = rows
        T = max(len(r) for r in rows)
        self.tokens = torch.zeros(len(rows), T, dtype=torch.long)
        self.mask = torch.zeros(len(rows), T, dtype=torch.long)
        for i, r in enumerate(rows):
            self.tokens[i, T - len(r):] = torch.tensor(r)
            self.mask[i, T - len(r):] = 1
        self.shape = self.tokens.shape  # what measure() reads: the padded prompt's length is shape[1]


def run_ours_batched(model, batch, n, use_cache):
    from gptlab.generation import generate

    return generate(model, batch.rows, n, use_cache=use_cache)


def run_theirs_batched(model, batch, n, use_cache):
    return model.generate(batch.tokens, attention_mask=batch.mask, max_new_tokens=n, min_new_tokens=n,
                          do_sample=False, use_cache=use_cache, pad_token_id=0)


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def measure(libraries, idx, new, use_cache, n_runs):
    """Seconds per run for each library (interleaved, after a warm-up) and each one's output. ``idx`` is the
    prompt, a (1, T) tensor or a :class:`Batch`, as the libraries' run functions take it."""
    prompt_len = idx.shape[1]
    warm_new = min(new, 8) if not use_cache else min(new, 32)
    for fn, model in libraries.values():
        fn(model, idx, warm_new, use_cache)
    outputs, times = {}, {name: [] for name in libraries}
    for r in range(n_runs):
        order = list(libraries) if r % 2 == 0 else list(reversed(libraries))
        for name in order:
            fn, model = libraries[name]
            seconds, out = timed(fn, model, idx, new, use_cache)
            assert out.shape[1] == prompt_len + new, (name, out.shape)
            times[name].append(seconds)
            outputs[name] = out
    return times, outputs


def estimate_uncached(libraries, prompt, prompt_len, new, samples, n_runs):
    """Seconds a full uncached run would take, from one-step timings at ``samples`` sequence lengths.

    An uncached step at length L is a forward pass over L tokens; its time is smooth in L, so the step
    times at a few lengths, linearly interpolated, add up to the time of the whole run.
    """
    lengths = sorted({round(prompt_len + i * (new - 1) / max(samples - 1, 1)) for i in range(samples)})
    full = torch.randint(0, 50257, (1, prompt_len + new), generator=torch.Generator().manual_seed(1))
    full[:, :prompt_len] = prompt[:, :prompt_len]
    for fn, model in libraries.values():  # warm-up
        fn(model, full[:, :prompt_len], 1, False)
    times, outputs = {name: [] for name in libraries}, {}
    for r in range(n_runs):
        step = {name: [] for name in libraries}
        for L in lengths:
            order = list(libraries) if (r + L) % 2 == 0 else list(reversed(libraries))
            for name in order:
                fn, model = libraries[name]
                seconds, out = timed(fn, model, full[:, :L], 1, False)
                step[name].append(seconds)
                outputs[name] = out
        for name in libraries:
            total = sum(_interpolate(lengths, step[name], L) for L in range(prompt_len, prompt_len + new))
            times[name].append(total)
    return times, outputs


def summary(times, outputs, tokens_per_run, steps_per_run, n_runs):
    """The medians of one case as the report gives them."""
    seconds = {name: statistics.median(ts) for name, ts in times.items()}
    return {
        "gptlab_tokens_per_s": round(tokens_per_run / seconds["gptlab"], 2),
        "transformers_tokens_per_s": round(tokens_per_run / seconds["transformers"], 2),
        "gptlab_ms_per_step": round(1000 * seconds["gptlab"] / steps_per_run, 2),  # the prompt included
        "transformers_ms_per_step": round(1000 * seconds["transformers"] / steps_per_run, 2),
        "ratio_ours_over_theirs": round(seconds["transformers"] / seconds["gptlab"], 3),
        "runs": n_runs,
        "same_tokens": bool(torch.equal(outputs["gptlab"], outputs["transformers"])),
    }


def _interpolate(xs, ys, x):
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return ys[-1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5, help="timed runs per library with the cache (median)")
    p.add_argument("--uncached-repeats", type=int, default=3, help="timed runs without the cache (slow; median)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="short shapes: 32+64 and 256+32, 3 runs, 1 uncached")
    p.add_argument("--shapes", default=",".join(f"{a}+{b}" for a, b in TARGET_SHAPES),
                   help="prompt+new pairs, comma-separated")
    p.add_argument("--no-uncached", action="store_true", help="skip the runs without the cache")
    p.add_argument("--uncached-samples", type=int, default=0,
                   help="estimate uncached runs from this many sequence lengths instead of running them in full")
    p.add_argument("--batched", action="store_true", help="only the batch of 8 prompts of different lengths")
    p.add_argument("--no-batched", action="store_true", help="skip the batch of 8 prompts")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    try:
        shapes = [tuple(int(n) for n in shape.split("+")) for shape in args.shapes.split(",")]
    except ValueError:
        p.error(f"--shapes must look like 64+256,512+128, got {args.shapes!r}")
    if args.quick:
        shapes = [(32, 64), (256, 32)]
    if args.batched:
        shapes = []
    repeats = args.repeats if not args.quick else 3
    load_before = os.getloadavg()[0]
    ours, theirs = build_models()
    prompt = torch.randint(0, ours.config.vocab_size, (1, max([s[0] for s in shapes], default=1)),
                           generator=torch.Generator().manual_seed(0))
    libraries = {"gptlab": (run_ours, ours), "transformers": (run_theirs, theirs)}

    results = {}
    for prompt_len, new in shapes:
        idx = prompt[:, :prompt_len]
        for use_cache in (True, False):
            if not use_cache and args.no_uncached:
                continue
            n_runs = repeats if use_cache else args.uncached_repeats
            if not use_cache and args.uncached_samples:
                times, outputs = estimate_uncached(libraries, prompt, prompt_len, new, args.uncached_samples, n_runs)
            else:
                times, outputs = measure(libraries, idx, new, use_cache, n_runs)
            key = f"{prompt_len}+{new} {'cached' if use_cache else 'uncached'}"
            results[key] = summary(times, outputs, new, new, n_runs)
            if not use_cache and args.uncached_samples:
                results[key]["estimated_from_lengths"] = args.uncached_samples
            print(f"# {key}: {results[key]}", flush=True)

    if not args.no_batched:
        batch_new = BATCH_NEW if not args.quick else 32
        gen = torch.Generator().manual_seed(2)
        batch = Batch([torch.randint(0, ours.config.vocab_size, (n,), generator=gen).tolist() for n in BATCH_PROMPT_LENS])
        batched = {"gptlab": (run_ours_batched, ours), "transformers": (run_theirs_batched, theirs)}
        times, outputs = measure(batched, batch, batch_new, True, repeats)
        key = f"batch {len(batch.rows)} x {min(BATCH_PROMPT_LENS)}..{max(BATCH_PROMPT_LENS)}+{batch_new} cached"
        results[key] = summary(times, outputs, len(batch.rows) * batch_new, batch_new, repeats)
        print(f"# {key}: {results[key]}", flush=True)

    speedups = {}
    for prompt_len, new in shapes:
        c, u = results.get(f"{prompt_len}+{new} cached"), results.get(f"{prompt_len}+{new} uncached")
        if c and u:
            speedups[f"{prompt_len}+{new}"] = {
                "gptlab": round(c["gptlab_tokens_per_s"] / u["gptlab_tokens_per_s"], 2),
                "transformers": round(c["transformers_tokens_per_s"] / u["transformers_tokens_per_s"], 2),
            }
    targets = {}  # what gptlab aims for on the two standard shapes and the batch
    for prompt_len, new in [shape for shape in shapes if shape in TARGET_SHAPES]:
        key = f"{prompt_len}+{new}"
        if f"{key} cached" in results:
            targets[f"{key} cached ratio >= {TARGET_RATIO}"] = (
                results[f"{key} cached"]["ratio_ours_over_theirs"] >= TARGET_RATIO)
        if key in speedups:
            targets[f"{key} cache speed-up >= transformers'"] = speedups[key]["gptlab"] >= speedups[key]["transformers"]
    for key, result in results.items():
        if key.startswith("batch") and not args.quick:
            targets[f"{key} ratio >= {TARGET_RATIO}"] = result["ratio_ours_over_theirs"] >= TARGET_RATIO
    import transformers

    report = {
        "model": "gpt2 (124M, random weights, fp32)",
        "batch": "1, and 8 where the key says so",
        "threads": args.threads,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "machine": platform.processor() or platform.machine(),
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # others' work slows both
        "results": results,
        "cache_speedup_cached_over_uncached": speedups,
        "targets_met": targets,
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
