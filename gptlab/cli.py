"""The ``gptlab`` command: ``train``, ``generate``, ``info``, ``prepare``, ``eval`` (and ``grade``/``release``).

``gptlab train`` with no options trains a character-level Shakespeare model on a laptop CPU in under four
minutes (the recipe is :data:`DEFAULT_RECIPE`); every setting can be changed, e.g.::

    gptlab train --tokenizer gpt2 --preset mini --max-minutes 30 --out runs/bpe
    gptlab train --data my_texts/ --out runs/mine
    gptlab generate runs/shakespeare-char --prompt "ROMEO:" --max-new-tokens 300
    gptlab info gpt2
    torchrun --nproc_per_node=4 -m gptlab train --preset gpt2 --tokenizer gpt2 ...   # one process per GPU
    gptlab prepare fineweb-edu --out data/fineweb-edu-10B          # GPT-2 token shards (gptlab.shards)
    torchrun --nproc_per_node=8 -m gptlab train --recipe gpt2-124m --data data/fineweb-edu-10B \
        --hellaswag hellaswag_val.jsonl --out runs/gpt2-124m   # GPT-2 reproduced (gptlab.recipes)
    gptlab eval runs/gpt2-124m --hellaswag hellaswag_val.jsonl

An output folder that already holds a run is never overwritten: ``--resume`` continues it, ``--force``
starts it over.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

from . import run_settings
from .errors import GptlabError
from .recipes import RECIPES

# The default CPU recipe: a character-level model sized for the 2 cores of a laptop. Compared with nanoGPT's CPU
# recipe (the same 4 x 4 x 128 model, batch 12, lr 1e-3, 2000 steps) it takes batches of 32 sequences (larger
# matrix products keep the cores busier: more tokens per second) at a 5x higher learning rate, which a model this
# small takes well with warm-up, AdamW and gradient clipping. The time budget ends the run unless the machine is
# fast enough to do all 2500 steps first; either way the cosine schedule ends at a low learning rate, because it
# follows whichever of the two limits is nearer.
DEFAULT_RECIPE = dict(
    data="shakespeare",
    tokenizer="char",
    n_layer=4,
    n_head=4,
    n_embd=128,
    seq_len=64,
    dropout=0.0,
    batch_size=32,
    grad_accum=1,
    max_iters=2500,
    max_minutes=3.5,
    lr=5e-3,
    min_lr=None,
    warmup_iters=100,
    weight_decay=0.1,
    grad_clip=1.0,
    eval_interval=250,
    eval_iters=20,
    log_interval=10,
    seed=1337,
)
SAMPLE_PROMPT = "\n"  # the default sample starts a new speech
SAMPLE_TOKENS = 240


class UsageError(GptlabError, ValueError):
    """Bad options or a folder in the way: printed as one line, exit status 2."""


# --------------------------------------------------------------------------------------------------------------------
# argument parsing
# --------------------------------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gptlab", description="Train, sample and inspect GPT models.")
    sub = p.add_subparsers(dest="command", metavar="{train,generate,info,prepare,eval,grade,release}")

    t = sub.add_parser("train", help="train a model (default: char-level Shakespeare on a CPU in a few minutes)",
                       description="Train a GPT. Options left out take the default recipe's values.")
    t.add_argument("--recipe", choices=sorted(RECIPES), help="GPT-2's sizes and the published reproductions' "
                   "settings (gptlab.recipes); needs --data SHARD_FOLDER")
    d = t.add_argument_group("data")
    d.add_argument("--data", help="'shakespeare' (default), a .txt file, a folder of .txt files, or a folder of "
                   "token shards from gptlab prepare")
    d.add_argument("--tokenizer", choices=["char", "gpt2"], help="characters (default) or GPT-2's BPE")
    d.add_argument("--val-fraction", type=float, help="held-out share of the corpus (default 0.1)")
    d.add_argument("--data-dir", help="where token files are cached (default ~/.cache/gptlab/data)")
    m = t.add_argument_group("model")
    m.add_argument("--preset", help="a named size: nano, micro, mini, gpt2, gpt2-medium ... (instead of the sizes)")
    m.add_argument("--n-layer", type=int)
    m.add_argument("--n-head", type=int)
    m.add_argument("--n-embd", type=int)
    m.add_argument("--context", type=int, help="the model's context length (default: --seq-len)")
    m.add_argument("--dropout", type=float)
    o = t.add_argument_group("optimisation")
    o.add_argument("--seq-len", "--block-size", dest="seq_len", type=int,
                   help="tokens per training sequence (--block-size is its older name)")
    o.add_argument("--batch-size", type=int, help="sequences per micro-batch (per process under torchrun)")
    o.add_argument("--grad-accum", type=int, help="micro-batches per optimizer step")
    o.add_argument("--total-batch-tokens", type=int, help="tokens per optimizer step across all processes; "
                   "the micro-batches of accumulation follow from it (recipes: 524288)")
    o.add_argument("--max-iters", type=int, help="optimizer steps")
    o.add_argument("--max-minutes", type=float, help="time budget for the whole command; 0 for none")
    o.add_argument("--lr", type=float, help="peak learning rate")
    o.add_argument("--min-lr", type=float, help="learning rate at the end of the cosine (default lr/10)")
    o.add_argument("--warmup-iters", type=int)
    o.add_argument("--weight-decay", type=float)
    o.add_argument("--grad-clip", type=float, help="clip the gradient norm to this (0: off)")
    o.add_argument("--beta2", type=float, help="AdamW's second-moment decay (default 0.99; recipes 0.95)")
    o.add_argument("--seed", type=int)
    r = t.add_argument_group("run")
    r.add_argument("--out", help="output folder (default runs/<data>-<tokenizer>)")
    r.add_argument("--resume", action="store_true", help="continue the run in --out")
    r.add_argument("--force", action="store_true", help="start over, replacing the run in --out")
    r.add_argument("--eval-interval", type=int)
    r.add_argument("--eval-iters", type=int)
    r.add_argument("--checkpoint-interval", type=int, help="save every N steps (default: at every evaluation)")
    r.add_argument("--hellaswag", help="hellaswag_val.jsonl (or 'hub'): HellaSwag accuracy at every evaluation")
    r.add_argument("--hellaswag-limit", type=int, help="score only the first N HellaSwag items")
    r.add_argument("--log-interval", type=int)
    r.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:1, mps")
    r.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16"])
    r.add_argument("--compile", action="store_true", help="torch.compile the model (faster steps, slow start; "
                   "recipes compile on GPUs by themselves)")
    r.add_argument("--no-compile", action="store_true", help="a recipe run on a GPU without torch.compile")
    r.add_argument("--fused-loss", action=argparse.BooleanOptionalAction, help="the LM head's cross-entropy a chunk "
                   "of rows at a time (gptlab.engine.loss; the default): the same loss and gradients without all the "
                   "logits in memory; --no-fused-loss computes them the model's own way")
    r.add_argument("--threads", type=int, help="CPU threads (default: 1 for models under 20M parameters, else "
                   "1 or all cores, whichever is measured faster)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.add_argument("--no-sample", action="store_true", help="do not print a sample at the end")

    g = sub.add_parser("generate", help="continue a prompt with a trained model, printing as it goes")
    g.add_argument("folder", help="a training run folder or a HuggingFace GPT-2 folder")
    g.add_argument("--prompt", default=None, help="text to continue (default: a new line)")
    g.add_argument("--max-new-tokens", type=int, default=500)
    g.add_argument("--greedy", action="store_true", help="always the most likely token (no sampling)")
    g.add_argument("--temperature", type=float, default=0.8)
    g.add_argument("--top-k", type=int)
    g.add_argument("--top-p", type=float)
    g.add_argument("--min-p", type=float)
    g.add_argument("--repetition-penalty", type=float)
    g.add_argument("--num-beams", type=int, default=1)
    g.add_argument("--stop", action="append", help="stop at this text (may be repeated)")
    g.add_argument("--seed", type=int, help="make sampling repeatable")
    g.add_argument("--device", default="cpu")

    i = sub.add_parser("info", help="parameter count by component of a preset, sizes or a run folder")
    i.add_argument("what", nargs="?", default="gpt2", help="a preset name or a run/model folder (default gpt2)")
    i.add_argument("--vocab-size", type=int)
    i.add_argument("--context", type=int, help="block_size")
    i.add_argument("--n-layer", type=int)
    i.add_argument("--n-head", type=int)
    i.add_argument("--n-embd", type=int)
    i.add_argument("--untied", action="store_true", help="a separate LM head instead of the tied embedding")

    pr = sub.add_parser("prepare", help="tokenise a web corpus into GPT-2 token shards (resumable)",
                        description="Tokenise a corpus into uint16 GPT-2 token shards: the first for validation, "
                        "the rest for training. Running it again continues an interrupted run.")
    pr.add_argument("source", help="fineweb-edu, fineweb-edu:sample-100BT, fineweb, openwebtext (from the hub, "
                    "needs gptlab[web]), or a local .parquet / .jsonl / .txt file or folder of them")
    pr.add_argument("--out", required=True, help="the shard folder")
    pr.add_argument("--shard-tokens", type=int, default=100_000_000, help="tokens per shard (default 100M)")
    pr.add_argument("--max-tokens", type=int, help="stop after this many tokens in all")
    pr.add_argument("--workers", type=int, help="tokenising processes (default: cores - 1)")
    pr.add_argument("--no-progress", action="store_true")

    e = sub.add_parser("eval", help="HellaSwag accuracy (and validation loss) of a gptlab run or GPT-2 folder")
    e.add_argument("folder", help="a training run folder or a HuggingFace GPT-2 folder")
    e.add_argument("--hellaswag", default="hub", help="hellaswag_val.jsonl (default: 'hub', needs gptlab[web])")
    e.add_argument("--limit", type=int, help="only the first N items")
    e.add_argument("--data", help="a shard folder: also the loss on its validation shard")
    e.add_argument("--val-batches", type=int, default=20, help="batches of the validation shard (default 20)")
    e.add_argument("--batch-size", type=int, default=8)
    e.add_argument("--choices", action="store_true", help="list the chosen ending of every item")
    e.add_argument("--device", default="auto")

    sub.add_parser("grade", help="grade student notebooks (gptlab grade --help)", add_help=False)
    sub.add_parser("release", help="write exercise notebooks from solutions (gptlab release --help)", add_help=False)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("grade", "release"):
        from .grading.cli import main as grading_main

        return grading_main(argv)
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "train":
            return train_command(args)
        if args.command == "generate":
            return generate_command(args)
        if args.command == "info":
            return info_command(args)
        if args.command == "prepare":
            return prepare_command(args)
        if args.command == "eval":
            return eval_command(args)
    except (GptlabError, ValueError, FileNotFoundError) as e:  # DataError, TokenizerError, UsageError ...
        print(f"gptlab {args.command}: error: {e}", file=sys.stderr)
        return 2
    return 2


# --------------------------------------------------------------------------------------------------------------------
# gptlab train
# --------------------------------------------------------------------------------------------------------------------

SMALL_MODEL_PARAMS = 20_000_000  # below this, CPU training uses one thread unless told otherwise


def n_params_of(model) -> int:
    return sum(p.numel() for p in model.parameters())
RUN_FILES = ("checkpoint.json", "model.safetensors", "optimizer.pt", "metrics.jsonl")


def train_command(args) -> int:
    start = time.perf_counter()
    import torch

    from . import checkpoint as ckpt
    from .config import GPTConfig
    from .data import prepare
    from .model import GPT
    from .recipes import flops_per_token, grad_accum_for, peak_flops
    from .shards import TokenShards, is_shard_folder
    from .train import TrainConfig, Trainer, TrainingDiverged, fastest_thread_count, init_distributed, pick_device

    rank, world = init_distributed()
    if args.threads is not None:
        if args.threads < 1:
            raise UsageError("--threads must be at least 1")
        torch.set_num_threads(args.threads)
    main_process = rank == 0
    given = {k: v for k, v in vars(args).items() if v is not None}  # flags left out are None: not given
    out = Path(args.out) if args.out else None
    previous = None
    if out is not None and ckpt.is_checkpoint(out):
        previous = ckpt.read_state(out)

    # --- the settings: the default recipe, or the resumed run's, overridden by what was given ----------------
    if args.resume:
        if out is None:
            raise UsageError("--resume needs --out: the folder of the run to continue")
        if previous is None:
            raise UsageError(f"nothing to resume: {out} holds no gptlab training run")
        try:
            settings = run_settings.resolve(given, {}, recorded=previous["settings"])
        except run_settings.SettingsError as e:
            raise UsageError(f"{out} {e}") from None
    else:
        if args.recipe and "data" not in given:
            raise UsageError("--recipe needs --data: a folder of token shards (gptlab prepare SOURCE --out FOLDER)")
        settings = run_settings.resolve(given, RECIPES[args.recipe] if args.recipe else DEFAULT_RECIPE)
    if out is None:
        out = Path("runs") / f"{Path(str(settings['data'])).stem}-{settings['tokenizer']}"
        if ckpt.is_checkpoint(out):
            previous = ckpt.read_state(out)
    if not args.resume:
        _check_out_folder(out, previous, args.force, main_process)

    # --- data -------------------------------------------------------------------------------------------------
    say = print if main_process else (lambda *a, **k: None)
    prep = dict(val_fraction=settings["val_fraction"], data_dir=args.data_dir)
    first_on_node = int(os.environ.get("LOCAL_RANK", 0)) == 0  # each machine has its own data cache
    if is_shard_folder(settings["data"]):  # prepared by gptlab prepare: nothing to write
        data = TokenShards.open(settings["data"])
        if settings["tokenizer"] != "gpt2":
            raise UsageError("token shards hold GPT-2 tokens: add --tokenizer gpt2")
    else:
        if args.recipe:
            raise UsageError(f"--recipe trains on token shards, and {settings['data']} is not a shard folder: "
                             f"prepare one with  gptlab prepare {settings['data']} --out FOLDER")
        if first_on_node:
            data = prepare(settings["data"], settings["tokenizer"], **prep)
        if world > 1:
            import torch.distributed as dist

            dist.barrier()  # the first process on each machine wrote the token files; the others read them
        if not first_on_node:
            data = prepare(settings["data"], settings["tokenizer"], **prep)
    say(f"data: {data}")

    # --- model --------------------------------------------------------------------------------------------------
    seq_len = settings["seq_len"]
    if args.resume:
        config = GPTConfig.from_dict(previous["config"])
    elif "preset" in settings:
        overrides = {k: settings[k] for k in run_settings.MODEL_SIZES if k in given}
        overrides["vocab_size"] = data.tokenizer.vocab_size
        if "context" in settings:
            overrides["block_size"] = settings["context"]
        config = GPTConfig.from_preset(settings["preset"], **overrides)
        if "seq_len" not in given:  # train at the preset's full context
            seq_len = settings["seq_len"] = config.block_size
    else:
        config = GPTConfig(
            vocab_size=data.tokenizer.vocab_size,
            block_size=settings.get("context") or seq_len,
            n_layer=settings["n_layer"], n_head=settings["n_head"], n_embd=settings["n_embd"],
            dropout=settings["dropout"],
        )
    if config.vocab_size != data.tokenizer.vocab_size:
        raise UsageError(f"the model's vocabulary ({config.vocab_size}) does not match the data's ({data.tokenizer.vocab_size})")
    if seq_len > config.block_size:
        raise UsageError(
            f"--seq-len {seq_len} is beyond the model's context of {config.block_size} positions; "
            f"use --seq-len {config.block_size} or less, or a longer --context"
        )
    if settings.get("total_batch_tokens") and "grad_accum" not in given:  # recomputed for this many processes
        settings["grad_accum"] = grad_accum_for(settings["total_batch_tokens"], settings["batch_size"], seq_len,
                                                world)
    device = pick_device(args.device)
    compile_model = args.compile or (bool(settings.get("recipe")) and device.type == "cuda" and not args.no_compile)
    max_minutes = settings.get("max_minutes") or 0
    train_config = TrainConfig(
        max_iters=settings["max_iters"],
        max_seconds=max_minutes * 60 if max_minutes else None,
        batch_size=settings["batch_size"], seq_len=seq_len, grad_accum=settings["grad_accum"],
        lr=settings["lr"], min_lr=settings["min_lr"], warmup_iters=settings["warmup_iters"],
        weight_decay=settings["weight_decay"], grad_clip=settings["grad_clip"],
        beta1=settings.get("beta1", 0.9), beta2=settings.get("beta2", 0.99),
        eval_interval=settings["eval_interval"], eval_iters=settings["eval_iters"],
        log_interval=settings["log_interval"], seed=settings["seed"],
        checkpoint_interval=settings.get("checkpoint_interval"),
        device=args.device, dtype=args.dtype, compile=compile_model, fused_loss=settings["fused_loss"],
    )
    _check_memory(config, train_config, args.device)  # before building the model: a too-big one may not fit either
    torch.manual_seed(train_config.seed)
    model = GPT(config)
    if args.threads is None and world == 1 and trainer_device(args.device) == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        # A small model's operations are short, so threads waiting for each other cost a large share of each, and
        # as soon as anything else runs on the machine a second thread can make every step several times slower
        # (bench/train.py measures it: run it with OMP_NUM_THREADS=1 and 2). One thread is never more than the
        # core count slower. Larger models are measured (see fastest_thread_count).
        if n_params_of(model) < SMALL_MODEL_PARAMS:
            torch.set_num_threads(1)
        else:
            torch.set_num_threads(fastest_thread_count(model, train_config.batch_size, seq_len, config.vocab_size,
                                                       fused_loss=train_config.fused_loss))
    n_params = sum(p.numel() for p in model.parameters())
    say(f"model: {config.n_layer} layers x {config.n_head} heads x {config.n_embd} wide, context {config.block_size}, "
        f"vocabulary {config.vocab_size}: {n_params:,} parameters")
    global_batch = train_config.batch_size * train_config.grad_accum * world
    say(f"training: {global_batch} x {seq_len} tokens per step"
        + (f" ({world} processes)" if world > 1 else "")
        + f", up to {train_config.max_iters} steps" + (f" or {max_minutes:g} minutes" if max_minutes else "")
        + f", into {out}" + (f" ({torch.get_num_threads()} CPU threads)" if trainer_device(args.device) == "cpu" else ""))

    run_info = {
        "tokenizer": data.tokenizer.to_dict(),
        "data": {"corpus": data.meta["corpus"], "source": data.meta["source"], "n_train": data.meta["n_train"],
                 "n_val": data.meta["n_val"], "val_documents": data.meta["val_documents"]},
        "settings": settings,
    }
    evaluations, callbacks = [], []
    if settings.get("hellaswag"):
        from .hellaswag import during_training, load_items

        evaluations.append(during_training(load_items(settings["hellaswag"], settings.get("hellaswag_limit"))))
    if settings.get("recipe") and main_process:
        callbacks.append(_print_record)
    peak = peak_flops(device)
    trainer = Trainer(model, data.train, data.val, train_config, out_dir=out, run_info=run_info,
                      progress=not args.no_progress, clock_start=start, evaluations=evaluations, callbacks=callbacks,
                      flops_per_token=flops_per_token(config) if peak else None, peak_flops=peak)
    if args.resume:
        it = trainer.resume(out)
        say(f"resuming {out} at iteration {it}")
        trainer.clock_start = time.perf_counter()
    elif main_process:
        out.mkdir(parents=True, exist_ok=True)
        for name in RUN_FILES:  # --force, or leftovers of a run that never saved: start a clean curve
            (out / name).unlink(missing_ok=True)
    try:
        trainer.fit()
    except TrainingDiverged as e:
        say(f"gptlab train: {e}", file=sys.stderr)
        return 1
    except torch.OutOfMemoryError as e:
        say(f"gptlab train: out of memory: {e}\nUse a smaller --batch-size (with --grad-accum to keep the same "
            "tokens per step) or a smaller --seq-len.", file=sys.stderr)
        return 1
    finally:
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()

    total = time.perf_counter() - start
    say(f"{trainer.stop_reason} at iteration {trainer.iteration}: validation loss {trainer.last_val_loss:.4f}, "
        f"{total:.0f} s in all; saved to {out}")
    if trainer.interrupted:
        say(f"interrupted: continue with  gptlab train --out {out} --resume")
        return 130
    if main_process and not args.no_sample:
        _print_sample(trainer.model, data.tokenizer)
    return 0


def _print_record(trainer, record: dict) -> None:
    """One line per logged step (a recipe run is long: its log should survive the progress bar)."""
    from tqdm.auto import tqdm

    parts = [f"step {record['iter']:>6}"]
    for key, fmt in (("train_loss", "loss {:.4f}"), ("val_loss", "val {:.4f}"), ("hellaswag_acc", "hellaswag {:.4f}"),
                     ("lr", "lr {:.2e}"), ("tokens_per_s", "{:,.0f} tok/s")):
        if key in record:
            parts.append(fmt.format(record[key]))
    if "mfu" in record:
        parts.append(f"MFU {100 * record['mfu']:.1f}%")
    tqdm.write(" | ".join(parts))


def trainer_device(device: str) -> str:
    from .train import pick_device

    return pick_device(device).type


def _check_out_folder(out: Path, previous: dict | None, force: bool, main_process: bool) -> None:
    if previous is not None and not force:
        s = previous.get("settings", {})
        what = f"{s.get('data', '?')}/{s.get('tokenizer', '?')}, iteration {previous.get('iteration')}"
        raise UsageError(
            f"{out} already holds a training run ({what}). Use --resume to continue it, --force to start over "
            "(its checkpoint is replaced), or --out to pick another folder."
        )
    if previous is None and out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(f"{out} is not empty and holds no gptlab run; pick another --out (or --force to write into it)")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file, not a folder")


def estimate_training_bytes(config, batch_size: int, seq_len: int, *, fused_loss: bool = True) -> int:
    """A rough upper estimate of memory for one training micro-step: fp32 weights, gradients and AdamW's two
    moments (16 bytes per parameter), the activations kept for the backward pass (about 40 numbers per token
    and width per layer, plus the attention matrices) and the loss's share: the plain loss holds the logits, their
    log-softmax and their gradient (three B x T x vocab tensors); the fused one (:mod:`gptlab.engine.loss`) one
    chunk of logits and the LM head's gradient, kept from the forward pass to the backward pass."""
    from .engine.loss import CHUNK_ROWS
    from .params import count_parameters

    B, T, C, L, H, V = batch_size, seq_len, config.n_embd, config.n_layer, config.n_head, config.vocab_size
    params = count_parameters(config)["total"]
    activations = L * B * T * (40 * C + 3 * H * T) * 4
    loss = (min(CHUNK_ROWS, B * T) * V + V * C) * 4 if fused_loss else 3 * B * T * V * 4
    return 16 * params + activations + loss


def _available_bytes(device: str) -> int | None:
    import torch

    from .train import pick_device

    dev = pick_device(device)
    if dev.type == "cuda":
        free, _ = torch.cuda.mem_get_info(dev)
        return free
    if dev.type == "cpu":
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
    return None


def _check_memory(config, train_config, device: str) -> None:
    need = estimate_training_bytes(config, train_config.batch_size, train_config.seq_len,
                                   fused_loss=train_config.fused_loss)
    have = _available_bytes(device)
    if have is not None and need > 0.9 * have:
        raise UsageError(
            f"a micro-batch of {train_config.batch_size} x {train_config.seq_len} tokens on this model needs about "
            f"{need / 2**30:.1f} GiB but only {have / 2**30:.1f} GiB are free: use a smaller --batch-size (and "
            "--grad-accum to keep the tokens per step), a smaller --seq-len or a smaller model"
        )


def _print_sample(model, tokenizer) -> None:
    import torch

    from .generation import TextStreamer, generate

    model.eval()
    prompt = tokenizer.encode(SAMPLE_PROMPT)
    print("--- a sample " + "-" * 60)
    generate(model, torch.tensor(prompt, device=model.device), SAMPLE_TOKENS, do_sample=True, temperature=0.8,
             seed=0, streamer=TextStreamer(tokenizer))
    print("-" * 73)


# --------------------------------------------------------------------------------------------------------------------
# gptlab prepare / gptlab eval
# --------------------------------------------------------------------------------------------------------------------


def prepare_command(args) -> int:
    from .shards import prepare_shards

    index = prepare_shards(args.source, args.out, shard_tokens=args.shard_tokens, max_tokens=args.max_tokens,
                           workers=args.workers, progress=not args.no_progress)
    shards = index["shards"]
    print(f"{args.out}: validation shard of {shards[0]['tokens']:,} tokens and {len(shards) - 1} training shards of "
          f"{sum(s['tokens'] for s in shards[1:]):,} tokens in all, from {index['next']['document']:,} documents")
    return 0


def eval_command(args) -> int:
    """HellaSwag (and the validation shard's loss) of a model folder; one JSON object on standard output."""
    import torch

    from .hellaswag import evaluate, load_items
    from .hf import load_pretrained
    from .train import autocast_dtype, init_distributed, pick_device

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder: give a training run or a HuggingFace GPT-2 folder")
    rank, world = init_distributed()
    device = pick_device(args.device)
    model = load_pretrained(folder).to(device)
    amp = autocast_dtype(device)
    autocast = (lambda: torch.autocast(device.type, dtype=amp)) if amp is not None else None
    try:
        items = load_items(args.hellaswag, args.limit)
        result = {"model": str(folder), **evaluate(model, items, device=device, rank=rank, world_size=world,
                                                   autocast=autocast)}
        if args.data:
            result["val_loss"] = _shard_val_loss(model, args.data, args.batch_size, args.val_batches, rank, world,
                                                 autocast)
    finally:
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
    if not args.choices:
        result.pop("choices", None)
    if rank == 0:
        print(json.dumps(result))
    return 0


def _shard_val_loss(model, folder, batch_size: int, n_batches: int, rank: int, world: int, autocast) -> float:
    """Mean loss over the first ``n_batches`` batches of consecutive full-context windows of the validation shard."""
    from contextlib import nullcontext

    import torch

    from .shards import ShardStream, TokenShards, shard_name

    shards = TokenShards.open(folder)
    sampler = ShardStream([shards.folder / shard_name(0)]).sampler(
        batch_size, model.config.block_size, rank=rank, world_size=world, device=next(model.parameters()).device)
    total = torch.zeros((), dtype=torch.float64, device=sampler.device)
    with torch.no_grad():
        for i in range(n_batches):
            x, y = sampler.batch(i)
            with autocast() if autocast else nullcontext():
                total += model(x, y)[1].double()
    if world > 1:
        import torch.distributed as dist

        dist.all_reduce(total)
    return float(total) / (n_batches * world)


# --------------------------------------------------------------------------------------------------------------------
# gptlab generate
# --------------------------------------------------------------------------------------------------------------------


def generate_command(args) -> int:
    import torch

    from . import checkpoint as ckpt
    from .generation import TextStreamer, generate
    from .hf import load_pretrained
    from .tokenizers import BPETokenizer

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder: give a training run (gptlab train --out ...) or a GPT-2 model folder")
    if args.max_new_tokens < 1:
        raise UsageError("--max-new-tokens must be at least 1")
    model = load_pretrained(folder).to(args.device)
    tokenizer = ckpt.load_tokenizer(folder) if ckpt.is_checkpoint(folder) else BPETokenizer()
    prompt = args.prompt if args.prompt is not None else "\n"
    if prompt == "":
        raise UsageError("--prompt is empty: give at least one character")
    ids = tokenizer.encode(prompt)
    sampling = {} if args.greedy else dict(do_sample=True, temperature=args.temperature, top_k=args.top_k,
                                           top_p=args.top_p, min_p=args.min_p)
    if args.num_beams > 1:  # beams are only known at the end: no streaming
        out = generate(model, torch.tensor(ids, device=args.device), args.max_new_tokens, num_beams=args.num_beams,
                       repetition_penalty=args.repetition_penalty, stop_strings=args.stop, tokenizer=tokenizer,
                       eos_token_id=getattr(tokenizer, "eot_token", None))
        print(prompt + tokenizer.decode(out[len(ids):].tolist()))
        return 0
    sys.stdout.write(prompt)
    sys.stdout.flush()
    generate(model, torch.tensor(ids, device=args.device), args.max_new_tokens, **sampling,
             repetition_penalty=args.repetition_penalty, seed=args.seed, stop_strings=args.stop, tokenizer=tokenizer,
             eos_token_id=getattr(tokenizer, "eot_token", None), streamer=TextStreamer(tokenizer))
    return 0


# --------------------------------------------------------------------------------------------------------------------
# gptlab info
# --------------------------------------------------------------------------------------------------------------------


def info_command(args) -> int:
    from .config import PRESETS, GPTConfig
    from .params import count_parameters, format_counts

    overrides = {k: v for k, v in dict(vocab_size=args.vocab_size, block_size=args.context, n_layer=args.n_layer,
                                       n_head=args.n_head, n_embd=args.n_embd).items() if v is not None}
    if args.untied:
        overrides["tie_weights"] = False
    what = args.what
    if what in PRESETS:
        config = GPTConfig.from_preset(what, **overrides)
        title = f"preset {what}"
    elif Path(what).is_dir():
        config = _folder_config(Path(what)).replace(**overrides)
        title = f"model in {what}"
    else:
        raise UsageError(f"{what!r} is neither a preset ({', '.join(PRESETS)}) nor a folder")
    print(f"{title}: {config.n_layer} layers, {config.n_head} heads, {config.n_embd} wide, context "
          f"{config.block_size}, vocabulary {config.vocab_size:,}, {'tied' if config.tie_weights else 'untied'} LM head")
    print(format_counts(count_parameters(config)))
    return 0


def _folder_config(folder: Path):
    from . import checkpoint as ckpt
    from .config import GPTConfig

    if ckpt.is_checkpoint(folder):
        return GPTConfig.from_dict(ckpt.read_state(folder)["config"])
    try:
        from .hf import config_from_hf
    except ImportError as e:
        raise UsageError(f"{folder} is not a gptlab run") from e
    path = folder / "config.json"
    if not path.is_file():
        raise UsageError(f"{folder} holds neither a gptlab run nor a HuggingFace config.json")
    return config_from_hf(json.loads(path.read_text()), source=str(path))


if __name__ == "__main__":
    sys.exit(main())
