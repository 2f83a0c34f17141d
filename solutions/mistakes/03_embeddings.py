"""Wrong answers to exercise 03 (positions, token + position embeddings) that real students hand in; each
must be diagnosed and cost its tests."""
from gptlab.grading.catalogue import Mistake

MISTAKES = [
    Mistake("positions_restart_at_zero", "position_ids_impl",
            edit=("torch.arange(past_length, past_length + T, dtype=torch.long)", "torch.arange(T, dtype=torch.long)"),
            check=r"restarts at 0: with \d+ tokens already in the cache", loses=("position_ids_test", "embeddings_test"),
            why="positions restart at 0 after a cache"),
    Mistake("positions_from_one", "position_ids_impl",
            edit=("torch.arange(past_length, past_length + T, dtype=torch.long)",
                  "torch.arange(past_length + 1, past_length + T + 1, dtype=torch.long)"),
            check=r"the positions start at 1", loses=("position_ids_test", "embeddings_test"),
            why="positions counted from 1"),
    Mistake("positions_float", "position_ids_impl",
            edit=("dtype=torch.long)", "dtype=torch.float32)"),
            check=r"must be integers \(torch.long\)", loses=("position_ids_test", "embeddings_test"),
            why="float positions, which cannot index an embedding"),
    Mistake("no_position_embedding", "embeddings_impl",
            edit=("return self.wte(idx) + self.wpe(pos)", "return self.wte(idx)"),
            check=r"position embedding is not added", loses=("embeddings_test",),
            why="wpe created but never added"),
    Mistake("wpe_indexed_by_tokens", "embeddings_impl",
            edit=("return self.wte(idx) + self.wpe(pos)", "return self.wte(idx) + self.wpe(idx)"),
            check=r"looked up with the token ids", loses=("embeddings_test",),
            why="wpe indexed with the token ids"),
    Mistake("scaled_by_sqrt_d", "embeddings_impl",
            edit=("return self.wte(idx) + self.wpe(pos)",
                  "return self.wte(idx) * self.wte.embedding_dim ** 0.5 + self.wpe(pos)"),
            check=r"scaled by sqrt\(n_embd\), as in the 2017 Transformer", loses=("embeddings_test",),
            why="the 2017 Transformer's sqrt(d_model) scaling of the token embedding"),
    Mistake("ignores_past_length", "embeddings_impl",
            edit=("pos = position_ids(T, past_length)", "pos = position_ids(T)"),
            check=r"with past_length=4 the positions restart at 0", loses=("embeddings_test",),
            why="the layer forgets past_length"),
    Mistake("wpe_vocab_sized", "embeddings_impl",
            edit=("self.wpe = nn.Embedding(config.block_size, config.n_embd)",
                  "self.wpe = nn.Embedding(config.vocab_size, config.n_embd)"),
            check=r"wpe.weight has shape \(13, 8\), expected \(9, 8\)", loses=("embeddings_test",),
            why="a position table with one row per token instead of one per position"),
    Mistake("no_length_check", "embeddings_impl",
            edit=("        if past_length + T > self.block_size:\n"
                  "            raise ValueError(f\"{past_length + T} positions do not fit the context of {self.block_size}\")\n", ""),
            check=r"crashes inside the embedding lookup", loses=("embeddings_test",),
            why="a too-long input left to crash inside nn.Embedding"),
]

BORROWED = '''class Embeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.block_size = config.block_size
        import gptlab.model
        course = gptlab.model.GPT(config).transformer  # the course's tables, not built here
        self.wte, self.wpe = course.wte, course.wpe

    def forward(self, idx, past_length=0):
        T = idx.shape[1]
        if past_length + T > self.block_size:
            raise ValueError("too long")
        return self.wte(idx) + self.wpe(position_ids(T, past_length))
'''
MISTAKES.append(Mistake("tables_from_the_course", "embeddings_impl", source=BORROWED, check=None,
                        loses=("embeddings_test",), feedback=r"write GPT yourself",
                        why="takes wte and wpe out of the course's gptlab.model.GPT"))
