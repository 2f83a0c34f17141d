"""HellaSwag: pick the sentence ending a model finds most likely, as GPT-2 reproductions measure it.

Each item is a context ("A man is sitting on a roof. He") and four endings, one of them right. The model never
sees the choices together: each ending is appended to the context, and the ending's tokens are scored by their
mean cross-entropy under the model, given everything before them. The ending with the lowest mean loss is the
model's answer. The *mean* (not the sum) keeps long endings from being penalised for their length; llm.c and
nanochat score it this way, and EleutherAI's harness calls the result ``acc_norm``. The sum's choice is reported
too, as ``acc``. A random guess gets 25 %; GPT-2 124M gets about 29 %.

The data is the official ``hellaswag_val.jsonl`` (10,042 items; fields ``ctx``, ``endings``, ``label``, ...), read
from a local file or, with the optional ``datasets`` package and a network, from the hub (``Rowan/hellaswag``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F

from .errors import GptlabError

N_VALIDATION_ITEMS = 10_042


class HellaSwagError(GptlabError, ValueError):
    """The HellaSwag file cannot be used; the message says why."""


def load_items(source: str | os.PathLike | None = None, limit: int | None = None) -> list[dict]:
    """HellaSwag items ``{"ctx": str, "endings": [4 x str], "label": int}`` from a JSONL file or the hub."""
    if source is None or str(source) == "hub":
        items = _from_hub()
    else:
        path = Path(source)
        if not path.is_file():
            raise HellaSwagError(f"no HellaSwag file at {path} (hellaswag_val.jsonl from the HellaSwag repository)")
        items = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    items.append(_check_item(json.loads(line), f"{path}:{n}"))
    if not items:
        raise HellaSwagError(f"{source} holds no items")
    return items[:limit] if limit else items


def _from_hub() -> list[dict]:
    try:
        import datasets
    except ImportError as e:
        raise HellaSwagError("HellaSwag from the hub needs the 'datasets' package (pip install 'gptlab[web]'); "
                             "or give the path of hellaswag_val.jsonl") from e
    rows = datasets.load_dataset("Rowan/hellaswag", split="validation")
    return [_check_item(dict(r), f"Rowan/hellaswag #{i}") for i, r in enumerate(rows)]


def _check_item(item: dict, where: str) -> dict:
    endings = item.get("endings")
    if not isinstance(item.get("ctx"), str) or not isinstance(endings, list) or len(endings) != 4:
        raise HellaSwagError(f"{where}: expected 'ctx' (text) and 'endings' (4 texts)")
    label = int(item["label"])  # the hub's copy stores it as a string
    if not 0 <= label < 4:
        raise HellaSwagError(f"{where}: label {label} is not 0-3")
    return {"ctx": item["ctx"], "endings": [str(e) for e in endings], "label": label}


def render(item: dict, encode: Callable[[str], list[int]], max_len: int | None = None):
    """The four candidate sequences of an item as one padded batch.

    Returns ``tokens`` (4, L) int64 (context + ending, zero-padded) and ``mask`` (4, L), 1 at the ending's tokens.
    An ending is encoded with its leading space (" he climbs"), as it follows a word in running text. A sequence
    longer than ``max_len`` (the model's context) loses tokens from the *start* of the context.
    """
    ctx = encode(item["ctx"])
    rows, masks = [], []
    for ending in item["endings"]:
        end = encode(" " + ending)
        seq = ctx + end
        cut = max(0, len(seq) - max_len) if max_len else 0
        if cut >= len(ctx):
            raise HellaSwagError(f"an ending of {len(end)} tokens does not fit in the context of {max_len}")
        rows.append(seq[cut:])
        masks.append([0] * (len(ctx) - cut) + [1] * len(end))
    width = max(len(r) for r in rows)
    tokens = torch.zeros(4, width, dtype=torch.long)
    mask = torch.zeros(4, width, dtype=torch.long)
    for i, (r, m) in enumerate(zip(rows, masks)):
        tokens[i, : len(r)] = torch.tensor(r)
        mask[i, : len(m)] = torch.tensor(m)
    return tokens, mask


def ending_losses(logits: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum and mean cross-entropy over each row's masked (ending) tokens; each (rows,).

    ``logits[:, t]`` predicts ``tokens[:, t + 1]``, so the prediction of ending token ``t`` sits at ``t - 1``.
    """
    target, target_mask = tokens[:, 1:], mask[:, 1:].float()  # (4, L-1)
    flat = logits[:, :-1].float().reshape(-1, logits.size(-1))  # (4 * (L-1), vocab): the accurate path, unlike (N, C, d)
    losses = F.cross_entropy(flat, target.reshape(-1), reduction="none").view(target.shape)  # (4, L-1)
    total = (losses * target_mask).sum(1)
    return total, total / target_mask.sum(1)


@torch.no_grad()
def evaluate(model, items: Sequence[dict], *, encode: Callable[[str], list[int]] | None = None,
             device: str | torch.device | None = None, rank: int = 0, world_size: int = 1,
             autocast: Callable[[], object] | None = None) -> dict:
    """Accuracy of ``model`` (``logits = model(tokens)``, a gptlab :class:`~gptlab.GPT`) on ``items``.

    Under torchrun each process scores items ``rank, rank + world_size, ...`` and the counts are summed across
    processes. Returns ``hellaswag_acc`` (mean-loss choice, the headline), ``hellaswag_acc_sum`` (sum-loss choice),
    ``hellaswag_n`` and, on one process, ``choices`` (the chosen ending per item).
    """
    from contextlib import nullcontext

    if encode is None:
        from .tokenizers import BPETokenizer

        encode = BPETokenizer().encoding.encode_ordinary
    device = torch.device(device) if device is not None else next(model.parameters()).device
    max_len = getattr(getattr(model, "config", None), "block_size", None)
    was_training = model.training
    model.eval()
    choices = []
    correct = torch.zeros(3, dtype=torch.float64, device=device)  # [by mean, by sum, items]
    for i in range(rank, len(items), world_size):
        tokens, mask = render(items[i], encode, max_len)
        tokens, mask = tokens.to(device), mask.to(device)
        with autocast() if autocast else nullcontext():
            logits = model(tokens)  # (4, L, vocab)
        total, mean = ending_losses(logits, tokens, mask)
        choice = int(mean.argmin())
        choices.append(choice)
        correct += torch.tensor([choice == items[i]["label"], int(total.argmin()) == items[i]["label"], 1],
                                dtype=torch.float64, device=device)
    model.train(was_training)
    if world_size > 1:
        import torch.distributed as dist

        dist.all_reduce(correct)
    n = int(correct[2])
    result = {"hellaswag_acc": float(correct[0]) / max(n, 1), "hellaswag_acc_sum": float(correct[1]) / max(n, 1),
              "hellaswag_n": n}
    if world_size == 1:
        result["choices"] = choices
    return result


def during_training(items: Iterable[dict]) -> Callable:
    """An evaluation for :class:`gptlab.train.Trainer` (``evaluations=[...]``): HellaSwag at every evaluation."""
    items = list(items)

    def hellaswag(trainer) -> dict:
        result = evaluate(trainer.model, items, device=trainer.device, rank=trainer.rank,
                          world_size=trainer.world_size, autocast=trainer._autocast)
        result.pop("choices", None)
        return result

    return hellaswag
