"""A web corpus as GPT-2 token shards: ``gptlab prepare`` writes them, the trainer reads them in order.

Why shards
    A 10-billion-token corpus does not fit in memory as text, nor as one file that is comfortable to copy. So
    documents are tokenised with GPT-2's BPE, each *preceded* by ``<|endoftext|>`` (id 50256; the model then sees
    every document start the way a prompt of ``<|endoftext|>`` does), laid end to end and cut into files of a fixed
    number of tokens. The first file is the validation shard, the rest are training shards; a document may run
    from one shard into the next, as the stream is one long sequence.

The file layout
    llm.c's: a header of 256 int32 (magic 20240520, version 1, the token count), then the tokens as uint16
    (GPT-2's 50,257 ids fit). The tokens are read with :class:`numpy.memmap`, so nothing is loaded up front.
    ``shards.json`` lists the finished shards, the tokenizer and where in the document stream each shard ends.

Resumable
    A shard is written to ``*.tmp`` and renamed when complete, and ``shards.json`` is rewritten after every shard
    with the document index and token offset the next shard starts at. An interrupted ``prepare`` re-reads
    ``shards.json``, skips the documents already consumed (without tokenising them) and carries on.

Where documents come from (:func:`iter_documents`)
    ``fineweb-edu`` / ``fineweb-edu:sample-100BT`` / ``fineweb`` / ``openwebtext`` stream from the HuggingFace
    hub through the optional ``datasets`` package (``pip install gptlab[web]``); a local ``.parquet`` file (FineWeb's
    schema: a ``text`` column), a ``.jsonl`` file (one ``{"text": ...}`` object a line, as OpenWebText dumps are),
    a ``.txt`` file (one document) or a folder of these (sorted by path) are read without the network.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from .errors import GptlabError
from .tokenizers import BPETokenizer

MAGIC, VERSION = 20240520, 1  # llm.c's token-shard header
HEADER_INTS = 256
HEADER_BYTES = HEADER_INTS * 4
INDEX_FILE = "shards.json"
DEFAULT_SHARD_TOKENS = 100_000_000  # 200 MB per shard; the 10B-token FineWeb-Edu sample makes 100 shards
HUB_DATASETS = {  # name -> (hub path, configuration)
    "fineweb-edu": ("HuggingFaceFW/fineweb-edu", "sample-10BT"),
    "fineweb": ("HuggingFaceFW/fineweb", "sample-10BT"),
    "openwebtext": ("Skylion007/openwebtext", None),
}
LOCAL_SUFFIXES = (".parquet", ".jsonl", ".txt")


class ShardError(GptlabError, ValueError):
    """A corpus or shard folder that cannot be used; the message says why and what to do."""


# --------------------------------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------------------------------


def iter_documents(source: str | os.PathLike, *, skip: int = 0) -> Iterator[str]:
    """The texts of ``source``, in a fixed order, after skipping the first ``skip`` (already-prepared) ones."""
    path = Path(source).expanduser()
    if path.exists():
        files = sorted(p for p in path.rglob("*") if p.suffix in LOCAL_SUFFIXES) if path.is_dir() else [path]
        if not files:
            raise ShardError(f"{path} holds no {', '.join(LOCAL_SUFFIXES)} files")
        for f in files:
            if f.suffix not in LOCAL_SUFFIXES:
                raise ShardError(f"{f}: expected a {', '.join(LOCAL_SUFFIXES)} file")
        texts = (text for f in files for text in _read_local(f))
        return islice(texts, skip, None)
    return _read_hub(str(source), skip)


def _read_local(path: Path) -> Iterator[str]:
    if path.suffix == ".txt":
        yield path.read_text(encoding="utf-8")
    elif path.suffix == ".jsonl":
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    yield _text_of(json.loads(line), f"{path}:{n}")
    else:
        import pyarrow.parquet as pq

        table = pq.ParquetFile(path)
        if "text" not in table.schema_arrow.names:
            raise ShardError(f"{path} has no 'text' column (columns: {', '.join(table.schema_arrow.names)})")
        for batch in table.iter_batches(columns=["text"], batch_size=1024):
            yield from (t for t in batch.column(0).to_pylist() if t is not None)


def _text_of(record: dict, where: str) -> str:
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ShardError(f"{where}: expected an object with a string 'text' field")
    return record["text"]


def _read_hub(name: str, skip: int) -> Iterator[str]:
    base, _, config = name.partition(":")
    if base not in HUB_DATASETS:
        raise ShardError(f"{name!r} is neither a file or folder here nor a known corpus ({', '.join(HUB_DATASETS)})")
    try:
        import datasets
    except ImportError as e:
        raise ShardError(f"fetching {base!r} from the HuggingFace hub needs the 'datasets' package: "
                         "pip install 'gptlab[web]' (or give a local Parquet / JSONL / text folder)") from e
    repo, default_config = HUB_DATASETS[base]
    stream = datasets.load_dataset(repo, name=config or default_config, split="train", streaming=True)
    return (row["text"] for row in stream.skip(skip))


# --------------------------------------------------------------------------------------------------------------------
# Writing shards
# --------------------------------------------------------------------------------------------------------------------

_ENCODING = None


def _encode_document(text: str) -> np.ndarray:
    """``<|endoftext|>`` + the document's tokens, as uint16 (runs in worker processes: the encoding is per process)."""
    global _ENCODING
    if _ENCODING is None:
        _ENCODING = BPETokenizer().encoding
    ids = _ENCODING.encode_ordinary(text)  # a literal "<|endoftext|>" in the text is just characters
    out = np.empty(len(ids) + 1, dtype=np.uint16)
    out[0] = _ENCODING.eot_token
    out[1:] = ids
    return out


def shard_name(index: int) -> str:
    return f"{'val' if index == 0 else 'train'}_{index:06d}.bin"


def write_shard(path: Path, tokens: np.ndarray) -> None:
    """One shard in llm.c's layout, written to ``*.tmp`` and renamed, so a half-written file is never taken."""
    header = np.zeros(HEADER_INTS, dtype=np.int32)
    header[:3] = (MAGIC, VERSION, len(tokens))
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(header.tobytes())
        f.write(np.asarray(tokens, dtype=np.uint16).tobytes())
    os.replace(tmp, path)


def read_shard(path: str | os.PathLike) -> np.memmap:
    """The tokens of one shard, memory-mapped (uint16)."""
    path = Path(path)
    header = np.fromfile(path, dtype=np.int32, count=HEADER_INTS)
    if len(header) < HEADER_INTS or header[0] != MAGIC or header[1] != VERSION:
        raise ShardError(f"{path} is not a token shard (no llm.c header with magic {MAGIC}, version {VERSION})")
    n = int(header[2])
    expected = HEADER_BYTES + 2 * n
    if path.stat().st_size != expected:
        raise ShardError(f"{path} is truncated: its header says {n:,} tokens ({expected:,} bytes), the file has "
                         f"{path.stat().st_size:,} bytes; delete it and run gptlab prepare again")
    return np.memmap(path, dtype=np.uint16, mode="r", offset=HEADER_BYTES, shape=(n,))


def prepare_shards(
    source: str | os.PathLike,
    out: str | os.PathLike,
    *,
    shard_tokens: int = DEFAULT_SHARD_TOKENS,
    max_tokens: int | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> dict:
    """Tokenise ``source`` into shards in ``out`` (see the module's docstring); returns the index ``shards.json``.

    ``max_tokens`` stops after that many tokens in all (the last shard is then shorter); ``workers`` processes
    tokenise in parallel (default: all cores but one). Running it again on the same ``out`` continues an
    interrupted run, and returns at once when the shards are complete.
    """
    if shard_tokens < 2:
        raise ShardError(f"--shard-tokens must be at least 2, got {shard_tokens}")
    if max_tokens is not None and max_tokens < 2:
        raise ShardError(f"--max-tokens must be at least 2, got {max_tokens}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    index = _read_index(out)
    if index is not None:
        if index["source"] != str(source) or index["shard_tokens"] != shard_tokens:
            raise ShardError(f"{out} holds shards of {index['source']!r} with {index['shard_tokens']:,} tokens per "
                             "shard; use another folder to prepare a different corpus or shard size")
        if index["complete"] and index.get("max_tokens") == max_tokens:
            return index
        index["max_tokens"], index["complete"] = max_tokens, False
    else:
        index = {"source": str(source), "shard_tokens": shard_tokens, "max_tokens": max_tokens,
                 "tokenizer": BPETokenizer().to_dict(), "shards": [], "next": {"document": 0, "offset": 0},
                 "complete": False}
    budget = None if max_tokens is None else max_tokens - sum(s["tokens"] for s in index["shards"])
    start = index["next"]
    workers = max(1, (os.cpu_count() or 2) - 1) if workers is None else max(1, workers)
    bar = _bar(progress, max_tokens, sum(s["tokens"] for s in index["shards"]))
    buffer = np.empty(shard_tokens, dtype=np.uint16)
    filled, doc = 0, start["document"]
    offset = start["offset"]  # tokens of document `doc` already in earlier shards
    shard_start = dict(start)
    pool = None
    try:
        texts = iter_documents(source, skip=doc) if budget is None or budget > 0 else iter(())
        if workers > 1:
            import multiprocessing

            pool = multiprocessing.Pool(workers)
            encoded = pool.imap(_encode_document, texts, chunksize=16)
        else:
            encoded = map(_encode_document, texts)
        for tokens in encoded:
            tokens = tokens[offset:]
            while len(tokens):
                room = shard_tokens - filled
                if budget is not None:
                    room = min(room, budget)
                take = min(room, len(tokens))
                buffer[filled:filled + take] = tokens[:take]
                filled, offset, tokens = filled + take, offset + take, tokens[take:]
                if budget is not None:
                    budget -= take
                if bar is not None:
                    bar.update(take)
                if filled == shard_tokens or budget == 0:
                    nxt = {"document": doc + (0 if len(tokens) else 1), "offset": offset if len(tokens) else 0}
                    _finish_shard(out, index, buffer[:filled], shard_start, nxt)
                    shard_start, filled = nxt, 0
                if budget == 0:
                    break
            if budget == 0:
                break
            doc, offset = doc + 1, 0
        if filled:  # the corpus ended inside a shard
            _finish_shard(out, index, buffer[:filled], shard_start, {"document": doc, "offset": 0})
    finally:
        if pool is not None:
            pool.terminate()
        if bar is not None:
            bar.close()
    if len(index["shards"]) < 2:
        raise ShardError(f"{source} gave {sum(s['tokens'] for s in index['shards']):,} tokens: too few for a "
                         f"validation shard and a training shard of --shard-tokens {shard_tokens:,}; use a smaller "
                         "--shard-tokens or more text")
    index["complete"] = True
    _write_index(out, index)
    return index


def _finish_shard(out: Path, index: dict, tokens: np.ndarray, first: dict, nxt: dict) -> None:
    name = shard_name(len(index["shards"]))
    write_shard(out / name, tokens)
    index["shards"].append({"file": name, "tokens": int(len(tokens)), "starts_at": first})
    index["next"] = nxt
    _write_index(out, index)


def _read_index(folder: Path) -> dict | None:
    path = folder / INDEX_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def _write_index(folder: Path, index: dict) -> None:
    tmp = folder / (INDEX_FILE + ".tmp")
    tmp.write_text(json.dumps(index, indent=1))
    os.replace(tmp, folder / INDEX_FILE)


def _bar(progress: bool, total: int | None, initial: int):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="tok", unit_scale=True, desc="tokenising", dynamic_ncols=True)


# --------------------------------------------------------------------------------------------------------------------
# Reading shards for training
# --------------------------------------------------------------------------------------------------------------------


def is_shard_folder(path) -> bool:
    return Path(path).is_dir() and (Path(path) / INDEX_FILE).is_file()


class ShardStream:
    """The training shards as one token sequence, read window by window across shard boundaries."""

    def __init__(self, paths: Iterable[Path]):
        self.shards = [read_shard(p) for p in paths]
        self.starts = np.cumsum([0] + [len(s) for s in self.shards])  # global offset of each shard

    def __len__(self) -> int:
        return int(self.starts[-1])

    def window(self, start: int, length: int) -> np.ndarray:
        """Tokens ``start .. start + length`` of the stream (a copy, int64)."""
        out = np.empty(length, dtype=np.int64)
        filled = 0
        shard = int(np.searchsorted(self.starts, start, side="right")) - 1
        while filled < length:
            lo = start + filled - int(self.starts[shard])
            piece = self.shards[shard][lo:lo + length - filled]
            out[filled:filled + len(piece)] = piece
            filled += len(piece)
            shard += 1
        return out

    def sampler(self, batch_size: int, block_size: int, *, grad_accum: int = 1, rank: int = 0, world_size: int = 1,
                device="cpu") -> "ShardSampler":
        return ShardSampler(self, batch_size, block_size, grad_accum=grad_accum, rank=rank, world_size=world_size,
                            device=device)


class ShardSampler:
    """Consecutive sequences of the stream, as llm.c and nanoGPT read their shards: one pass, no repeats.

    An optimizer step takes the next ``S = batch_size * grad_accum * world_size`` sequences of ``block_size``
    tokens; micro-step ``m`` of rank ``r`` takes sequences ``(m * world_size + r) * batch_size`` onwards. The state
    is the stream position (a token count) at the start of the next step, so a run resumed on a different number of
    processes (with the same tokens per step) trains on exactly the same tokens at every step. At the end of the
    stream it starts over (a second epoch).
    """

    def __init__(self, stream: ShardStream, batch_size: int, block_size: int, *, grad_accum: int = 1, rank: int = 0,
                 world_size: int = 1, device="cpu"):
        self.stream, self.batch_size, self.block_size = stream, batch_size, block_size
        self.grad_accum, self.rank, self.world_size = grad_accum, rank, world_size
        self.device = torch.device(device)
        self.step_tokens = batch_size * grad_accum * world_size * block_size
        if self.step_tokens + 1 > len(stream):
            raise ShardError(f"one step takes {self.step_tokens:,} tokens but the training shards hold only "
                             f"{len(stream):,}; prepare more tokens or use a smaller batch")
        self.position, self.micro = 0, 0

    def _sequences(self, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        B, T = self.batch_size, self.block_size
        flat = torch.from_numpy(self.stream.window(start, B * T + 1))
        x, y = flat[:-1].view(B, T), flat[1:].view(B, T)  # (B, T) each
        if self.device.type == "cuda":
            return x.pin_memory().to(self.device, non_blocking=True), y.pin_memory().to(self.device, non_blocking=True)
        return x.to(self.device), y.to(self.device)

    def __iter__(self):
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.micro == 0 and self.position + self.step_tokens + 1 > len(self.stream):
            self.position = 0
        first = (self.micro * self.world_size + self.rank) * self.batch_size
        batch = self._sequences(self.position + first * self.block_size)
        self.micro += 1
        if self.micro == self.grad_accum:
            self.position, self.micro = self.position + self.step_tokens, 0
        return batch

    def batch(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Micro-batch ``i`` of a pass from the start (this rank's part): the fixed batches of an evaluation."""
        return self._sequences(((i * self.world_size + self.rank) * self.batch_size * self.block_size)
                               % max(1, len(self.stream) - self.batch_size * self.block_size))

    def state_dict(self) -> dict:
        if self.micro:
            raise RuntimeError("the sampler's state is only defined between optimizer steps")
        return {"kind": "shards", "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        if state.get("kind") != "shards":
            raise ShardError("the checkpoint was trained on a token file, not on shards: resume it with its --data")
        self.position, self.micro = int(state["position"]), 0


@dataclass
class TokenShards:
    """A prepared shard folder: ``train`` (a :class:`ShardStream`), ``val`` (the first shard), the tokenizer."""

    folder: Path
    tokenizer: object
    meta: dict

    @classmethod
    def open(cls, folder: str | os.PathLike) -> "TokenShards":
        folder = Path(folder)
        index = _read_index(folder)
        if index is None:
            raise ShardError(f"{folder} has no {INDEX_FILE}: prepare it with  gptlab prepare SOURCE --out {folder}")
        if not index.get("complete"):
            raise ShardError(f"{folder} is only partly prepared: run the same gptlab prepare command again to finish")
        from .tokenizers import tokenizer_from_dict

        shards = index["shards"]
        meta = {"corpus": Path(str(index["source"])).name or str(index["source"]), "source": index["source"],
                "n_val": shards[0]["tokens"], "n_train": sum(s["tokens"] for s in shards[1:]),
                "val_documents": [shards[0]["file"]], "n_shards": len(shards)}
        return cls(folder, tokenizer_from_dict(index["tokenizer"]), meta)

    @property
    def train(self) -> ShardStream:
        return ShardStream(self.folder / s["file"] for s in _read_index(self.folder)["shards"][1:])

    @property
    def val(self) -> np.memmap:
        return read_shard(self.folder / shard_name(0))

    def __repr__(self):
        m = self.meta
        return (f"TokenShards({str(self.folder)!r}: {m['n_shards'] - 1} training shards, {m['n_train']:,} tokens; "
                f"validation {m['n_val']:,} tokens)")
