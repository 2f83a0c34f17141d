"""The corpus, token files and batches: clean text, no leaks between train and validation, exact resumption."""
import numpy as np
import pytest
import torch

from gptlab.data import (
    BatchSampler,
    DataError,
    load_corpus,
    play_to_script,
    prepare,
    shakespeare_documents,
    split_point,
)

PLAY = """# A Play

## ACT I

### SCENE I. A room.

_Enter HAMLET and HORATIO, with
attendants_

**HAMLET**  
Who's there?  
Stand\\-ho!

**HORATIO**  
_\\[Aside]_  
Friends to this ground.

_Exit HAMLET_

And liegemen to the Dane.

**Prologue**  
If we offend,

### SCENE II. Elsewhere.

1\\. A procession of judges.
"""


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see tests/conftest.py


def test_play_to_script_keeps_speakers_and_lines_and_drops_directions():
    assert play_to_script(PLAY) == (
        "HAMLET:\nWho's there?\nStand-ho!\n\n"
        "HORATIO:\nFriends to this ground.\nAnd liegemen to the Dane.\n\n"
        "PROLOGUE:\nIf we offend,"
    )


def test_shakespeare_corpus_is_38_clean_plays():
    docs = shakespeare_documents()
    assert len(docs) == 38
    text = "\n\n".join(docs)
    assert 4_500_000 < len(text) < 5_000_000
    for markup in ("**", "_", "#", "[", "]", "\\"):
        assert markup not in text, f"Markdown {markup!r} left in the text"
    hamlet = next(d for d in docs if "To be, or not to be" in d)
    assert hamlet.startswith("BERNARDO:\nWho's there?\n\nFRANCISCO:\n")
    # every speech: an upper-case speaker line ending in ':' followed by at least one line
    for speech in docs[0].split("\n\n")[:50]:
        speaker, *lines = speech.split("\n")
        assert speaker.endswith(":") and speaker[:-1] == speaker[:-1].upper() and lines


def test_split_snaps_to_document_boundaries_and_cuts_a_single_document():
    assert split_point([100] * 10, 0.1) == (9, 0)  # the last document, whole
    assert split_point([100] * 10, 0.25) in ((7, 0), (8, 0))
    assert split_point([1000], 0.1) == (0, 900)  # one document: cut inside it
    assert split_point([950, 50, 10], 0.1) == (1, 0)
    with pytest.raises(ValueError):
        split_point([10], 1.5)


def test_shakespeare_char_tokens_hold_out_whole_plays(tmp_path):
    data = prepare("shakespeare", "char", data_dir=tmp_path)
    train, val, tok = data.train, data.val, data.tokenizer
    assert isinstance(train, np.memmap) and train.dtype == np.uint16
    assert tok.vocab_size == data.meta["vocab_size"] < 100
    assert len(train) + len(val) == data.meta["n_train"] + data.meta["n_val"]
    assert 0.08 < len(val) / (len(train) + len(val)) < 0.12
    val_text = tok.decode(val[:2000])
    assert "othello" in data.meta["val_documents"][:2] or "macbeth" in data.meta["val_documents"]
    # no play is in both parts: the validation text starts with the first speech of a held-out play
    first_val_play = shakespeare_documents()[38 - len(data.meta["val_documents"])]
    assert val_text.startswith(first_val_play[:200])
    assert tok.decode(train[-200:]) not in first_val_play
    # cached: a second call reuses the files
    again = prepare("shakespeare", "char", data_dir=tmp_path)
    assert again.folder == data.folder and np.array_equal(again.val[:100], val[:100])


def test_gpt2_tokens_separate_documents_with_endoftext(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(10):
        (corpus / f"doc{i}.txt").write_text(f"Document number {i}.\nIt has two lines; <|endoftext|> is text here.\n")
    data = prepare(corpus, "gpt2", data_dir=tmp_path / "cache")
    train, val = np.asarray(data.train), np.asarray(data.val)
    assert (train == 50256).sum() == 9 and (val == 50256).sum() == 1  # one separator after each document
    assert train[-1] == 50256 and val[-1] == 50256
    assert data.tokenizer.decode(val.tolist()).startswith("Document number 9.")
    # a literal "<|endoftext|>" inside a document stays ordinary text
    assert "<|endoftext|> is text here" in data.tokenizer.decode(val.tolist())


def test_a_single_text_file_is_split_at_a_line(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text("".join(f"line {i}\n" for i in range(1000)))
    data = prepare(path, "char", data_dir=tmp_path / "cache")
    train_text, val_text = data.tokenizer.decode(data.train), data.tokenizer.decode(data.val)
    assert train_text.endswith("\n") and val_text.startswith("line ")
    assert train_text + val_text == path.read_text() + "\n\n"


def test_bad_corpora_give_clear_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_corpus(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(DataError, match="empty"):
        load_corpus(tmp_path / "empty.txt")
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataError, match="no .txt"):
        load_corpus(tmp_path / "folder")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="UTF-8"):
        load_corpus(tmp_path / "latin1.txt")
    with pytest.raises(DataError, match="too few"):
        BatchSampler(np.arange(10), 2, seq_len=16)


def test_batches_are_shifted_seeded_and_resumable():
    tokens = np.arange(1000, dtype=np.uint16)
    sampler = BatchSampler(tokens, batch_size=4, seq_len=8, seed=3)
    x, y = next(sampler)
    assert x.shape == y.shape == (4, 8) and x.dtype == torch.long
    assert torch.equal(y[:, :-1], x[:, 1:]) and torch.equal(y[:, -1], x[:, -1] + 1)
    batches = [next(sampler) for _ in range(3)]
    resumed = BatchSampler(tokens, batch_size=4, seq_len=8, seed=0)
    resumed.load_state_dict({"seed": 3, "step": 1})
    for expected in batches:
        got = next(resumed)
        assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])
    other_seed = BatchSampler(tokens, batch_size=4, seq_len=8, seed=4)
    assert not torch.equal(next(other_seed)[0], BatchSampler(tokens, 4, 8, seed=3).batch(0)[0])


def test_ranks_split_the_global_batch():
    tokens = np.arange(5000, dtype=np.uint16)
    whole = BatchSampler(tokens, batch_size=6, seq_len=8, seed=1).batch(5)[0]
    shards = [BatchSampler(tokens, 3, 8, seed=1, rank=r, world_size=2).batch(5)[0] for r in range(2)]
    assert torch.equal(torch.cat(shards), whole)


def test_one_play_split_into_head_and_tail():
    from gptlab.data import char_split, play_script

    text = play_script("hamlet")
    assert text.startswith("BERNARDO:\nWho's there?")
    tok, train, val = char_split(text, val_fraction=0.1)
    assert len(train) + len(val) == len(text) and len(val) == len(text) - int(0.9 * len(text))
    assert tok.decode(val[:50]) == text[len(train):len(train) + 50]
    with pytest.raises(DataError, match="no play named 'hamlett'"):
        play_script("hamlett")
    with pytest.raises(DataError, match="val_fraction must lie in"):
        char_split(text, val_fraction=1.0)
