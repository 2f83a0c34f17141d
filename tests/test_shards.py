"""gptlab prepare: web-corpus fixtures in their real formats -> GPT-2 token shards, resumable; reading them in order."""
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from gptlab import shards
from gptlab.shards import (ShardError, ShardStream, TokenShards, iter_documents, prepare_shards, read_shard,
                           shard_name)
from gptlab.tokenizers import BPETokenizer

CORPUS = Path(__file__).parent / "fixtures" / "web" / "corpus"
EOT = 50256


def test_fixtures_are_in_the_real_schemas():
    table = pq.read_table(CORPUS / "fineweb_edu_sample.parquet")
    assert {"text", "id", "dump", "url", "language", "token_count", "score", "int_score"} <= set(table.column_names)
    lines = (CORPUS / "openwebtext_sample.jsonl").read_text().splitlines()
    assert all(set(json.loads(line)) == {"text"} for line in lines)
    docs = list(iter_documents(CORPUS))  # sorted paths: the Parquet file, then the JSONL file
    assert len(docs) == table.num_rows + len(lines) and docs[0] == table.column("text")[0].as_py()


def test_documents_are_joined_with_endoftext_into_fixed_size_shards(tmp_path):
    index = prepare_shards(CORPUS, tmp_path, shard_tokens=3000, workers=1, progress=False)
    enc = BPETokenizer().encoding
    expected = np.concatenate([[EOT, *enc.encode_ordinary(d)] for d in iter_documents(CORPUS)]).astype(np.uint16)
    files = [s["file"] for s in index["shards"]]
    assert files[0] == "val_000000.bin" and files[1] == "train_000001.bin"
    tokens = [read_shard(tmp_path / f) for f in files]
    assert [len(t) for t in tokens[:-1]] == [3000] * (len(files) - 1) and 0 < len(tokens[-1]) <= 3000
    assert np.array_equal(np.concatenate(tokens), expected)  # nothing lost, nothing repeated, in order
    data = TokenShards.open(tmp_path)
    assert len(data.train) == len(expected) - 3000 and np.array_equal(data.val, expected[:3000])
    # the layout is llm.c's: 256 int32 of header, then uint16 tokens
    header = np.fromfile(tmp_path / files[1], dtype=np.int32, count=3)
    assert header.tolist() == [20240520, 1, 3000]


def test_max_tokens_and_an_interrupted_prepare_resumes_without_redoing_shards(tmp_path, monkeypatch):
    whole = prepare_shards(CORPUS, tmp_path / "whole", shard_tokens=1000, max_tokens=5500, workers=1, progress=False)
    assert sum(s["tokens"] for s in whole["shards"]) == 5500 and len(whole["shards"]) == 6

    real_finish, calls = shards._finish_shard, []

    def finish_then_crash(*args):
        real_finish(*args)
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(shards, "_finish_shard", finish_then_crash)
    with pytest.raises(KeyboardInterrupt):
        prepare_shards(CORPUS, tmp_path / "part", shard_tokens=1000, max_tokens=5500, workers=1, progress=False)
    with pytest.raises(ShardError, match="only partly prepared"):
        TokenShards.open(tmp_path / "part")
    done = {n: (tmp_path / "part" / shard_name(n)).stat().st_mtime_ns for n in range(3)}
    monkeypatch.setattr(shards, "_finish_shard", real_finish)
    part = prepare_shards(CORPUS, tmp_path / "part", shard_tokens=1000, max_tokens=5500, workers=1, progress=False)
    assert {n: (tmp_path / "part" / shard_name(n)).stat().st_mtime_ns for n in range(3)} == done  # not redone
    assert part["shards"] == whole["shards"]
    for s in whole["shards"]:
        assert (tmp_path / "part" / s["file"]).read_bytes() == (tmp_path / "whole" / s["file"]).read_bytes()


def test_parallel_tokenisation_gives_the_same_shards(tmp_path):
    one = prepare_shards(CORPUS, tmp_path / "one", shard_tokens=4000, workers=1, progress=False)
    two = prepare_shards(CORPUS, tmp_path / "two", shard_tokens=4000, workers=2, progress=False)
    assert one["shards"] == two["shards"]
    assert all((tmp_path / "one" / s["file"]).read_bytes() == (tmp_path / "two" / s["file"]).read_bytes()
               for s in one["shards"])


def test_clear_errors(tmp_path):
    with pytest.raises(ShardError, match="neither a file or folder here nor a known corpus"):
        list(iter_documents("no-such-corpus"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"body": "no text field"}\n')
    with pytest.raises(ShardError, match="bad.jsonl:1: expected an object with a string 'text'"):
        prepare_shards(bad, tmp_path / "out", shard_tokens=100, workers=1, progress=False)
    with pytest.raises(ShardError, match="too few for a validation shard and a training shard"):
        prepare_shards(CORPUS, tmp_path / "big", shard_tokens=10**7, workers=1, progress=False)
    (tmp_path / "cut.bin").write_bytes((tmp_path / "big" / "val_000000.bin").read_bytes()[:-2])
    with pytest.raises(ShardError, match="truncated"):
        read_shard(tmp_path / "cut.bin")


def test_every_rank_reads_its_own_slice_and_the_steps_do_not_depend_on_the_rank_count(tmp_path):
    prepare_shards(CORPUS, tmp_path, shard_tokens=1500, workers=1, progress=False)
    stream = TokenShards.open(tmp_path).train

    def steps(world, accum, n_steps=5):
        samplers = [stream.sampler(2, 16, grad_accum=accum, rank=r, world_size=world) for r in range(world)]
        out = []
        for _ in range(n_steps):
            rows = [x for s in samplers for _ in range(accum) for x in next(s)[0].tolist()]
            out.append(sorted(rows))
        return out, samplers[0].state_dict()

    (four_by_one, state1), (two_by_two, state2) = steps(1, 4), steps(2, 2)
    assert four_by_one == two_by_two and state1 == state2 == {"kind": "shards", "position": 5 * 128}
    first = four_by_one[0]
    assert len({tuple(r) for r in first}) == 8  # 8 different sequences in a step
    x, y = next(stream.sampler(1, 16))
    assert np.array_equal(y[0, :-1].numpy(), x[0, 1:].numpy())  # targets are the inputs shifted by one
    # a window may run across two shards: the stream is one sequence
    assert np.array_equal(stream.window(1490, 20), np.concatenate([stream.shards[0][1490:], stream.shards[1][:10]]))
    assert isinstance(stream, ShardStream)
