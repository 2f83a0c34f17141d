"""A trainer for language models that knows one thing about the model: ``logits, loss = model(x, y)``.

What it does, in the order a training step meets it:

- batches from :class:`gptlab.data.BatchSampler` (one shard per process under ``torchrun``);
- a learning rate that rises linearly for ``warmup_iters`` and then follows a cosine down to ``min_lr``; with a
  time budget the cosine runs over whichever ends first, the iterations or the time, so a run cut short by a slow
  machine still finishes with a small learning rate instead of being stopped at full speed;
- the loss through :func:`loss_module`: for a gptlab :class:`~gptlab.model.GPT`, the LM head and cross-entropy
  of :mod:`gptlab.engine.loss`, which never hold all the logits at once (``fused_loss=False``: the model's own);
- ``grad_accum`` micro-batches per step (the loss of each divided by ``grad_accum``, so the gradient is that of
  the mean over all of them), gradient clipping, AdamW with weight decay on matrices only;
- a check that the loss and the gradient norm are finite and the loss has not exploded: otherwise the run stops
  with :class:`TrainingDiverged` *before* the bad step is applied, and the last checkpoint stays as it was;
- every ``eval_interval`` steps the loss on the same fixed held-out batches, a line in ``metrics.jsonl`` and a
  checkpoint (:mod:`gptlab.checkpoint`); Ctrl-C finishes the current step, saves a checkpoint and returns.

Resuming restores the weights, AdamW's moments, the RNG and the sampler's position, so the resumed run
continues the loss curve of an uninterrupted one exactly.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import torch

from . import checkpoint as ckpt
from .data import BatchSampler

METRICS_FILE = "metrics.jsonl"


class TrainingDiverged(RuntimeError):
    """The loss became NaN/inf or exploded; the message says which step and what to try."""


@dataclass
class TrainConfig:
    """Everything about *how* to train (the model's sizes live in :class:`gptlab.GPTConfig`)."""

    max_iters: int = 2000
    max_seconds: float | None = None  # a time budget; training stops at whichever limit comes first
    batch_size: int = 12  # sequences per micro-batch, per process
    seq_len: int = 64  # tokens per training sequence (at most the model's context, GPTConfig.block_size)
    grad_accum: int = 1  # micro-batches per optimizer step
    lr: float = 1e-3
    min_lr: float | None = None  # the end of the cosine; None: lr / 10
    warmup_iters: int = 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0  # 0 disables clipping
    eval_interval: int = 250
    eval_iters: int = 20  # held-out batches per evaluation (always the same ones)
    log_interval: int = 10
    checkpoint_interval: int | None = None  # None: at every evaluation
    seed: int = 1337
    device: str = "auto"
    dtype: str = "auto"  # "auto": bfloat16 autocast on GPUs that have it, else float32
    compile: bool = False
    fused_loss: bool = True  # the loss through gptlab.engine.loss (see loss_module): less memory, the same numbers
    explode_factor: float = 3.0  # a loss above this many times the first step's counts as exploding

    def __post_init__(self):
        for name in ("max_iters", "batch_size", "seq_len", "grad_accum", "eval_interval", "eval_iters", "log_interval"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"max_seconds must be positive, got {self.max_seconds}")
        if self.warmup_iters < 0 or self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError("warmup_iters, weight_decay and grad_clip cannot be negative")
        if self.dtype not in ("auto", "float32", "bfloat16"):
            raise ValueError(f"dtype must be 'auto', 'float32' or 'bfloat16', got {self.dtype!r}")

    @property
    def final_lr(self) -> float:
        return self.lr / 10 if self.min_lr is None else self.min_lr

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def learning_rate(iteration: int, config: TrainConfig, time_fraction: float = 0.0) -> float:
    """Linear warm-up from ``lr / warmup_iters`` to ``lr``, then a cosine from ``lr`` to ``final_lr``.

    The cosine's position is the larger of the iteration fraction and ``time_fraction`` (elapsed / budget).
    """
    if iteration < config.warmup_iters:
        return config.lr * (iteration + 1) / config.warmup_iters
    decay_iters = max(1, config.max_iters - config.warmup_iters)
    progress = max((iteration - config.warmup_iters) / decay_iters, time_fraction)
    progress = min(1.0, progress)
    return config.final_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (config.lr - config.final_lr)


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: the first of CUDA, Apple's MPS and the CPU that this machine has."""
    if str(device) != "auto":
        dev = torch.device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for, but torch sees no CUDA GPU (torch.cuda.is_available() is False)")
        if dev.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError("--device mps was asked for, but this torch has no Apple MPS support here")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def autocast_dtype(device: torch.device, dtype: str = "auto") -> torch.dtype | None:
    """The dtype to autocast to, or None for plain float32.

    bfloat16 keeps float32's exponent range, so unlike float16 it needs no loss scaling; it is used on CUDA GPUs
    that support it. CPUs without native bf16 matrix units run it slower than float32, so they stay in float32.
    """
    if dtype == "float32":
        return None
    if dtype == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def make_optimizer(model: torch.nn.Module, config: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW with two groups: weight decay on matrices (projections, embeddings), none on biases and LayerNorm
    gains. Decaying a gain towards 0 would shrink the normalised activations; decay is meant for weights."""
    params = [p for p in model.parameters() if p.requires_grad]  # parameters() lists a tied tensor once
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    extra = {"fused": True} if device.type == "cuda" else {}
    return torch.optim.AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2), **extra)


def loss_module(model: torch.nn.Module, fused_loss: bool = True) -> torch.nn.Module:
    """What the trainer calls as ``_, loss = module(x, y)``: ``model`` itself, or with ``fused_loss`` and a stock
    gptlab GPT, :class:`gptlab.engine.loss.FusedLossGPT` around it, which computes the same loss and gradients
    without the (B, T, vocab) logits (it returns ``None`` in their place). A model that changes what its forward
    pass or its LM head computes (a subclass's ``forward``, hooks, a head with a bias) is left as it is, since
    the fused loss would skip what it adds."""
    if fused_loss and _fusable(model):
        from .engine.loss import FusedLossGPT

        return FusedLossGPT(model)
    return model


def _fusable(model) -> bool:
    from .model import GPT

    head = getattr(model, "lm_head", None)
    return (isinstance(model, GPT) and type(model).forward is GPT.forward and type(head) is torch.nn.Linear
            and head.bias is None and not any(m._forward_hooks or m._forward_pre_hooks for m in (model, head)))


def fastest_thread_count(model: torch.nn.Module, batch_size: int, seq_len: int, vocab_size: int,
                         candidates: Iterable[int] | None = None, repeats: int = 3, fused_loss: bool = True) -> int:
    """The number of CPU threads that runs a training step of ``model`` fastest, measured here and now.

    PyTorch uses one thread per core, and the threads wait for each other at the end of every operation. For a
    small model the operations are short, so that waiting is a large share of each; and when other programs keep
    the cores busy, one thread is often paused while the others spin. On a busy machine one thread can run the
    default recipe several times faster than two; on a quiet one two may win. So: time a forward and backward pass
    of a copy of the model (the real one and the random number generators are untouched), through the loss the
    trainer uses (:func:`loss_module`), with each candidate count, interleaved, and keep the fastest.
    ``OMP_NUM_THREADS``, when set, wins.
    """
    import copy

    default = torch.get_num_threads()
    if "OMP_NUM_THREADS" in os.environ:
        return default
    candidates = sorted(set(candidates or (1, default)))
    if len(candidates) == 1:
        return candidates[0]
    probe = loss_module(copy.deepcopy(model).cpu().train(), fused_loss)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, vocab_size, (batch_size, seq_len), generator=g)
    best = {n: float("inf") for n in candidates}
    with torch.random.fork_rng(devices=[]):  # dropout in the probe must not move the real RNG
        _time_candidates(probe, x, candidates, repeats, best)
    return min(candidates, key=lambda n: best[n])


def _time_candidates(probe, x, candidates, repeats, best) -> None:
    default = torch.get_num_threads()
    try:
        for _ in range(repeats):
            for n in candidates:
                torch.set_num_threads(n)
                start = time.perf_counter()
                _, loss = probe(x, x)
                loss.backward()
                best[n] = min(best[n], time.perf_counter() - start)
                probe.zero_grad(set_to_none=True)
    finally:
        torch.set_num_threads(default)


# --------------------------------------------------------------------------------------------------------------------
# Distributed training (torchrun)
# --------------------------------------------------------------------------------------------------------------------


def init_distributed() -> tuple[int, int]:
    """Join the process group that ``torchrun`` set up (NCCL on GPUs, gloo on CPUs); (rank, world_size).

    Without torchrun's environment this does nothing and returns (0, 1).
    """
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", 1))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size()


def _dist_info() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


# --------------------------------------------------------------------------------------------------------------------
# The trainer
# --------------------------------------------------------------------------------------------------------------------

Callback = Callable[["Trainer", dict], None]


class Trainer:
    """Train ``model`` on token arrays.

    ``run_info`` is stored in every checkpoint (the tokenizer, where the data came from ...). ``callbacks`` are
    called as ``callback(trainer, record)`` after every line written to the metrics (see :class:`LiveLossPlot`);
    a callback may set ``trainer.should_stop = True``.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        train_tokens,
        val_tokens,
        config: TrainConfig | None = None,
        *,
        out_dir: str | os.PathLike | None = None,
        run_info: dict | None = None,
        callbacks: Iterable[Callback] = (),
        progress: bool = True,
        clock_start: float | None = None,
        evaluations: Iterable[Callable[["Trainer"], dict]] = (),
        flops_per_token: float | None = None,
        peak_flops: float | None = None,
    ):
        self.config = config = config or TrainConfig()
        self.rank, self.world_size = _dist_info()
        self.is_main = self.rank == 0
        self.device = pick_device(config.device)
        self.amp_dtype = autocast_dtype(self.device, config.dtype)
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.model = model.to(self.device)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.run_info = dict(run_info or {})
        self.callbacks = list(callbacks)
        self.progress = progress and self.is_main
        self.clock_start = clock_start  # wall-clock origin of the time budget (e.g. the command's start)
        self.evaluations = list(evaluations)  # more numbers at each evaluation, e.g. HellaSwag accuracy
        # model FLOPs utilisation: achieved FLOPs (flops_per_token x tokens/s) over the accelerators' peak
        self.flops_per_token, self.peak_flops = flops_per_token, peak_flops

        torch.manual_seed(config.seed)
        if hasattr(train_tokens, "sampler"):  # a folder of shards (gptlab.shards): read in order, once
            self.train_sampler = train_tokens.sampler(
                config.batch_size, config.seq_len, grad_accum=config.grad_accum,
                rank=self.rank, world_size=self.world_size, device=self.device,
            )
        else:
            self.train_sampler = BatchSampler(
                train_tokens, config.batch_size, config.seq_len, seed=config.seed,
                rank=self.rank, world_size=self.world_size, device=self.device,
            )
        self.val_sampler = BatchSampler(
            val_tokens, config.batch_size, config.seq_len, seed=config.seed + 1,
            rank=self.rank, world_size=self.world_size, device=self.device,
        )
        self.optimizer = make_optimizer(self.model, config, self.device)
        self.iteration = 0
        self.elapsed = 0.0  # seconds spent training so far, across resumes
        self.history: list[dict] = []
        self.first_loss: float | None = None
        self.last_val_loss: float | None = None
        self.best_val_loss: float | None = None
        self.last_checkpoint_iter: int | None = None
        self.should_stop = False
        self.interrupted = False
        self.stop_reason = ""
        self._eval_seconds = 0.0
        self._loss_model = loss_module(self.model, config.fused_loss)  # evaluation's (no DDP, not compiled)
        self._forward_model = self._wrap(self._loss_model)

    def _wrap(self, model):
        if self.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            model = DistributedDataParallel(model, device_ids=ids)
        if self.config.compile:
            model = torch.compile(model)
        return model

    # --- resuming ----------------------------------------------------------------------------------------------

    def resume(self, folder: str | os.PathLike | None = None) -> int:
        """Continue from the checkpoint in ``folder`` (default: ``out_dir``); returns its iteration."""
        folder = Path(folder) if folder is not None else self.out_dir
        if folder is None:
            raise ValueError("resume needs a checkpoint folder")
        record = ckpt.read_state(folder)
        ckpt.load_weights(self.model, folder)
        optim_state = ckpt.load_optimizer_state(folder)
        if optim_state is not None:
            self.optimizer.load_state_dict(optim_state)
        self.iteration = int(record["iteration"])
        self.elapsed = float(record.get("elapsed", 0.0))
        self.first_loss = record.get("first_loss")
        self.last_val_loss = record.get("val_loss")
        self.best_val_loss = record.get("best_val_loss")
        self.last_checkpoint_iter = self.iteration
        sampler = record.get("sampler")
        if sampler:
            self.train_sampler.load_state_dict(sampler)
        ckpt.restore_rng(record)
        if self.is_main and self.out_dir is not None:
            _truncate_metrics(self.out_dir / METRICS_FILE, self.iteration)
        return self.iteration

    # --- the loop ----------------------------------------------------------------------------------------------

    def fit(self) -> list[dict]:
        """Train until ``max_iters``, the time budget, a callback's ``should_stop`` or Ctrl-C; returns the history."""
        cfg = self.config
        if self.out_dir is not None and self.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        bar = self._progress_bar()
        restore_signal = self._catch_sigint()
        origin = self.clock_start if self.clock_start is not None else time.perf_counter()
        elapsed_before = self.elapsed
        window_tokens, window_time, window_losses = 0, 0.0, []
        self.model.train()
        try:
            while self.iteration < cfg.max_iters:
                run_time, stop = self._agree(elapsed_before + time.perf_counter() - origin,
                                             self.should_stop or self.interrupted)
                # stop early enough for the final evaluation (timed at the last one) to fit in the budget too
                if cfg.max_seconds is not None and run_time + self._eval_seconds >= cfg.max_seconds:
                    self.stop_reason = f"time budget of {cfg.max_seconds:.0f} s reached"
                    break
                if stop:
                    break
                step_start = time.perf_counter()
                time_fraction = run_time / cfg.max_seconds if cfg.max_seconds else 0.0
                lr = learning_rate(self.iteration, cfg, time_fraction)
                loss = self._step(lr)
                step_time = time.perf_counter() - step_start
                self.iteration += 1
                window_tokens += cfg.batch_size * cfg.seq_len * cfg.grad_accum * self.world_size
                window_time += step_time
                window_losses.append(loss)

                evaluate = self.iteration % cfg.eval_interval == 0 or self.iteration == cfg.max_iters
                if self.iteration % cfg.log_interval == 0 or evaluate:
                    record = {
                        "iter": self.iteration,
                        "train_loss": sum(window_losses) / len(window_losses),
                        "lr": lr,
                        "tokens_per_s": window_tokens / max(window_time, 1e-9),
                    }
                    if self.flops_per_token and self.peak_flops:
                        record["mfu"] = record["tokens_per_s"] * self.flops_per_token / (self.peak_flops * self.world_size)
                    window_tokens, window_time, window_losses = 0, 0.0, []
                    if evaluate:
                        record["val_loss"] = self.evaluate()
                        for evaluation in self.evaluations:
                            record.update(evaluation(self))
                    self.elapsed = elapsed_before + time.perf_counter() - origin
                    record["elapsed"] = round(self.elapsed, 3)
                    self._log(record, bar)
                    interval = cfg.checkpoint_interval or cfg.eval_interval
                    if self.iteration % interval == 0 or self.iteration == cfg.max_iters:
                        self.save()
                if bar is not None:
                    bar.update(1)
        except TrainingDiverged:
            if bar is not None:
                bar.close()
                bar = None
            raise
        finally:
            restore_signal()
            if bar is not None:
                bar.close()

        self.elapsed = elapsed_before + time.perf_counter() - origin
        if self.interrupted and not self.stop_reason:
            self.stop_reason = "interrupted"
        elif not self.stop_reason:
            self.stop_reason = "callback asked to stop" if self.should_stop else "max_iters reached"
        if self.last_checkpoint_iter != self.iteration:  # stopped between checkpoints: evaluate and save now
            last = self.history[-1] if self.history else {}
            if not (last.get("iter") == self.iteration and "val_loss" in last):
                record = {"iter": self.iteration}
                if window_losses:
                    record["train_loss"] = sum(window_losses) / len(window_losses)
                    record["tokens_per_s"] = window_tokens / max(window_time, 1e-9)
                record["val_loss"] = self.evaluate()
                for evaluation in self.evaluations:
                    record.update(evaluation(self))
                record["elapsed"] = round(self.elapsed, 3)
                self._log(record, None)
            self.save()
        return self.history

    def _agree(self, run_time: float, stop: bool) -> tuple[float, bool]:
        """Under torchrun every process must take the same decisions: the latest clock (so the time-based learning
        rate is the same everywhere and all stop at the same step) and a stop if any process was told to stop
        (Ctrl-C reaches each process on its own). Otherwise one would wait forever in the next all-reduce."""
        if self.world_size == 1:
            return run_time, stop
        import torch.distributed as dist

        t = torch.tensor([run_time, self._eval_seconds, float(stop)], dtype=torch.float64, device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        self._eval_seconds = float(t[1])
        return float(t[0]), bool(t[2] > 0)

    def _step(self, lr: float) -> float:
        cfg = self.config
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        total = torch.zeros((), device=self.device)
        for micro in range(cfg.grad_accum):
            x, y = next(self.train_sampler)
            sync = micro == cfg.grad_accum - 1 or self.world_size == 1
            ctx = nullcontext() if sync else self._forward_model.no_sync()
            with ctx, self._autocast():
                _, loss = self._forward_model(x, y)
                (loss / cfg.grad_accum).backward()
            total += loss.detach().float()
        loss_t = total / cfg.grad_accum
        if self.world_size > 1:
            import torch.distributed as dist

            dist.all_reduce(loss_t)  # a sum (gloo has no average); every shard has the same size
            loss_t /= self.world_size
        max_norm = cfg.grad_clip if cfg.grad_clip > 0 else float("inf")
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)
        loss = float(loss_t)
        self._check_divergence(loss, float(grad_norm), lr)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss

    def _check_divergence(self, loss: float, grad_norm: float, lr: float) -> None:
        if self.first_loss is None and math.isfinite(loss):
            self.first_loss = loss
        problem = None
        if not math.isfinite(loss):
            problem = f"the loss became {loss}"
        elif not math.isfinite(grad_norm):
            problem = f"the gradient norm became {grad_norm}"
        elif self.first_loss is not None and loss > self.config.explode_factor * self.first_loss:
            problem = f"the loss exploded to {loss:.3f} (it started at {self.first_loss:.3f})"
        if problem is None:
            return
        self.optimizer.zero_grad(set_to_none=True)
        where = (
            f"The last good checkpoint (iteration {self.last_checkpoint_iter}) is kept in {self.out_dir}."
            if self.last_checkpoint_iter is not None and self.out_dir is not None
            else "No checkpoint had been saved yet."
        )
        raise TrainingDiverged(
            f"Training stopped at iteration {self.iteration + 1}: {problem} (learning rate {lr:.2e}). "
            f"The bad step was not applied. {where} Try a lower learning rate (--lr), a longer warm-up "
            f"(--warmup-iters) or gradient clipping (--grad-clip 1.0)."
        )

    def _autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    @torch.no_grad()
    def evaluate(self) -> float:
        """Mean loss over the same ``eval_iters`` held-out batches every time (so evaluations are comparable)."""
        start = time.perf_counter()
        self.model.eval()
        total = torch.zeros((), device=self.device)
        for i in range(self.config.eval_iters):
            x, y = self.val_sampler.batch(i)
            with self._autocast():
                _, loss = self._loss_model(x, y)
            total += loss.float()
        self.model.train()
        if self.world_size > 1:
            import torch.distributed as dist

            dist.all_reduce(total)
            total /= self.world_size
        value = float(total) / self.config.eval_iters
        self._eval_seconds = time.perf_counter() - start
        self.last_val_loss = value
        if self.best_val_loss is None or value < self.best_val_loss:
            self.best_val_loss = value
        return value

    def save(self) -> None:
        """Write a checkpoint to ``out_dir`` (rank 0 only; other ranks wait so none runs ahead)."""
        if self.out_dir is not None and self.is_main:
            state = {
                **self.run_info,
                "iteration": self.iteration,
                "elapsed": self.elapsed,
                "train": self.config.to_dict(),
                "sampler": self.train_sampler.state_dict(),
                "first_loss": self.first_loss,
                "val_loss": self.last_val_loss,
                "best_val_loss": self.best_val_loss,
                "world_size": self.world_size,
            }
            ckpt.save_checkpoint(self.out_dir, self.model, optimizer=self.optimizer, state=state)
        self.last_checkpoint_iter = self.iteration
        if self.world_size > 1:
            import torch.distributed as dist

            dist.barrier()

    def _log(self, record: dict, bar) -> None:
        self.history.append(record)
        if self.is_main:
            if self.out_dir is not None:
                with open(self.out_dir / METRICS_FILE, "a", encoding="utf-8") as f:
                    f.write(json.dumps(record) + "\n")
            if bar is not None:
                shown = {"loss": f"{record.get('train_loss', float('nan')):.4f}"}
                if self.last_val_loss is not None:
                    shown["val"] = f"{self.last_val_loss:.4f}"
                shown["tok/s"] = f"{record.get('tokens_per_s', 0):,.0f}"
                if "mfu" in record:
                    shown["mfu"] = f"{100 * record['mfu']:.1f}%"
                bar.set_postfix(shown, refresh=False)
        for callback in self.callbacks:
            callback(self, record)

    def _progress_bar(self):
        if not self.progress:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=self.config.max_iters, initial=self.iteration, desc="training", unit="it", dynamic_ncols=True)

    def _catch_sigint(self) -> Callable[[], None]:
        """First Ctrl-C: finish the step, save, stop. A second one interrupts at once, as usual."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum, frame):
            self.interrupted = True
            signal.signal(signal.SIGINT, previous)

        try:
            signal.signal(signal.SIGINT, handler)
        except ValueError:
            return lambda: None
        return lambda: signal.signal(signal.SIGINT, previous)


# --------------------------------------------------------------------------------------------------------------------
# Metrics and plots
# --------------------------------------------------------------------------------------------------------------------


def read_metrics(folder_or_file) -> list[dict]:
    """The records of ``metrics.jsonl`` in a run folder (or the file itself)."""
    path = Path(folder_or_file)
    if path.is_dir():
        path = path / METRICS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no metrics at {path}")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _truncate_metrics(path: Path, iteration: int) -> None:
    """Drop lines logged after the checkpoint a run resumes from, so the file holds one curve."""
    if not path.is_file():
        return
    keep = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["iter"] <= iteration]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in keep))
    os.replace(tmp, path)


def plot_loss_curve(run, ax=None, *, title: str | None = None):
    """Training and validation loss against iteration, from a run folder, a metrics file or a list of records."""
    import matplotlib.pyplot as plt

    records = run if isinstance(run, list) else read_metrics(run)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    train = [(r["iter"], r["train_loss"]) for r in records if "train_loss" in r]
    val = [(r["iter"], r["val_loss"]) for r in records if "val_loss" in r]
    if train:
        ax.plot(*zip(*train), label="train", alpha=0.8)
    if val:
        ax.plot(*zip(*val), "o-", label="validation")
    ax.set_xlabel("iteration")
    ax.set_ylabel("cross-entropy loss (nats/token)")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


class LiveLossPlot:
    """A training callback that redraws the loss curve in place in a notebook, titled with the latest numbers.

    ``Trainer(..., callbacks=[LiveLossPlot("Shakespeare, characters")])``; the title reads e.g.
    ``Shakespeare, characters · step 150 · validation 2.37``, so a glance says how far training is. ``every``
    skips redraws between evaluations (drawing a figure costs more than a small training step).
    """

    def __init__(self, title: str = "Training loss", every: int = 1):
        if every < 1:
            raise ValueError(f"every must be a positive number of log lines, got {every}")
        self.title, self.every = title, every
        self.records: list[dict] = []
        self.figure = None  # the latest drawing
        self._handle = None

    def __call__(self, trainer, record: dict) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        self.records.append(record)
        if len(self.records) % self.every and "val_loss" not in record:
            return
        vals = [r["val_loss"] for r in self.records if "val_loss" in r]
        title = f"{self.title} \u00b7 step {record['iter']}" + (f" \u00b7 validation {vals[-1]:.2f}" if vals else "")
        fig, ax = plt.subplots(figsize=(6, 3.5))
        plot_loss_curve(self.records, ax, title=title)
        fig.tight_layout()
        self.figure = fig
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)
