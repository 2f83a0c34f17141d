"""GPT-2's BPE built offline agrees with an independent implementation; the char tokenizer round-trips."""
import hashlib
import inspect
import json
import re

import pytest

from gptlab.tokenizers import (
    ENCODER_JSON_SHA256, VOCAB_BPE_SHA256, BPETokenizer, CharTokenizer, get_tokenizer, gpt2_bpe_files,
    load_tokenizer, save_tokenizer,
)

SAMPLES = [
    "Hello world",
    "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer",
    "  leading spaces, tabs\tand\n\nnewlines  ",
    "Numbers 12345 and 3.14159, contractions: don't, we'll, they've, I'd.",
    "Unicode: café, naïve, 東京, emoji 🤖, and combining é",
    "<|endoftext|>A new document",
]


def test_files_are_openais():
    for path, expected in zip(gpt2_bpe_files(), (VOCAB_BPE_SHA256, ENCODER_JSON_SHA256)):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == expected


def test_vocabulary_and_end_of_text():
    tok = BPETokenizer()
    assert tok.vocab_size == 50257
    assert tok.eot_token == 50256
    assert tok.encode("<|endoftext|>") == [50256]
    assert tok.encode("<|endoftext|>", allow_special=False) != [50256]
    assert tok.encode("Hello world") == [15496, 995]


@pytest.mark.parametrize("text", SAMPLES)
def test_agrees_with_transformers_gpt2_tokenizer(text):
    """HuggingFace's GPT2Tokenizer (the Rust `tokenizers` BPE) is an independent implementation; built from
    the same two files it must split every text into the same ids."""
    transformers = pytest.importorskip("transformers")
    vocab_bpe, encoder_json = gpt2_bpe_files()
    merges = [tuple(line.split()) for line in vocab_bpe.read_text(encoding="utf-8").split("\n")[1:] if line]
    hf = transformers.GPT2Tokenizer(vocab=json.loads(encoder_json.read_text(encoding="utf-8")), merges=merges)
    assert len(hf) == 50257
    ours = BPETokenizer()
    assert ours.encode(text) == hf.encode(text)
    assert ours.decode(ours.encode(text)) == text


def test_agrees_with_tiktokens_own_gpt2_definition(tmp_path, monkeypatch):
    """tiktoken's get_encoding("gpt2") downloads the same two files; give it them through its cache (keyed by
    the sha1 of the download address, content checked against the pinned sha256) so that tiktoken's own
    definition of the encoding (pattern, special tokens, vocabulary size) runs offline and can be compared."""
    import tiktoken
    import tiktoken.registry
    from tiktoken_ext import openai_public

    vocab_bpe, encoder_json = gpt2_bpe_files()
    source = inspect.getsource(openai_public.gpt2)
    urls = re.findall(r'"(https://[^"]+)"', source)
    assert len(urls) == 2 and VOCAB_BPE_SHA256 in source and ENCODER_JSON_SHA256 in source
    for url in urls:
        local = vocab_bpe if url.endswith("vocab.bpe") else encoder_json
        (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_bytes(local.read_bytes())
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    official = tiktoken.get_encoding("gpt2")
    ours = BPETokenizer()
    assert official.n_vocab == ours.vocab_size and official.eot_token == ours.eot_token
    assert official._pat_str == ours.encoding._pat_str
    for text in SAMPLES:
        assert ours.encode(text) == official.encode(text, allowed_special={"<|endoftext|>"})


def test_char_tokenizer_round_trip_and_errors(tmp_path):
    text = "First Citizen:\nBefore we proceed any further, hear me speak."
    tok = CharTokenizer.from_text(text)
    assert tok.vocab_size == len(set(text))
    assert tok.decode(tok.encode(text)) == text
    assert tok.encode("a") == [tok.chars.index("a")]
    with pytest.raises(ValueError, match=r"not in this tokenizer's vocabulary: \['Z'\]"):
        tok.encode("Z")
    with pytest.raises(ValueError, match="out of range"):
        tok.decode([tok.vocab_size])
    save_tokenizer(tok, tmp_path / "tok.json")
    assert load_tokenizer(tmp_path / "tok.json") == tok


def test_token_strings_show_bpe_pieces():
    tok = BPETokenizer()
    assert tok.token_strings(tok.encode("Hello world")) == ["Hello", " world"]
    assert get_tokenizer("char", text="ab").vocab_size == 2
    with pytest.raises(ValueError, match="unknown tokenizer"):
        get_tokenizer("sentencepiece")
