"""Wrong answers to exercise 06 that real students hand in; each must be diagnosed and cost its tests."""
from gptlab.grading.catalogue import Mistake

_REFERENCE_GPT = '''from gptlab import GPT
'''

_STATE_DICT_COUNT = '''def count_parameters(model: nn.Module) -> int:
    return sum(t.numel() for t in model.state_dict().values())
'''

MISTAKES = [
    Mistake("no_ln_f", "gpt_impl", edit=("        x = self.transformer.ln_f(x)\n", ""),
            check=r"final LayerNorm ln_f is not applied", loses=("gpt_test",),
            why="the final LayerNorm is built but never applied"),
    Mistake("tie_by_copy", "gpt_impl",
            edit=("self.lm_head.weight = self.transformer.wte.weight",
                  "self.lm_head.weight.data.copy_(self.transformer.wte.weight.data)"),
            check=r"lm_head.weight is not the token embedding: tie them", loses=("gpt_test",),
            why="the head's weight is copied from the embedding (then initialised apart) instead of shared"),
    Mistake("positions_from_token_ids", "gpt_impl",
            edit=("self.transformer.wpe(pos)", "self.transformer.wpe(idx)"),
            check=r"position embedding is looked up with the token ids", loses=("gpt_test",),
            why="wpe indexed with the token ids instead of the positions 0..T-1"),
    Mistake("loss_shifted_again", "gpt_impl",
            edit=("F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)",
                  "F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), targets[:, 1:].reshape(-1), "
                  "ignore_index=-100)"),
            check=r"shifts the targets again", loses=("gpt_test",),
            why="HuggingFace's label shift applied to targets that are already the next tokens"),
    Mistake("loss_summed", "gpt_impl", edit=("ignore_index=-100)", "ignore_index=-100, reduction=\"sum\")"),
            check=r"summed over positions: take the mean", loses=("gpt_test",),
            why="cross-entropy summed over positions instead of averaged"),
    Mistake("residuals_not_scaled", "gpt_impl",
            edit=("residual_std if name.endswith(\"c_proj.weight\") else 0.02", "0.02"),
            check=r"scaled by 1/sqrt\(2 \* n_layer\)", loses=("gpt_init_test",),
            why="every matrix N(0, 0.02): the residual projections are not scaled down with depth"),
    Mistake("residuals_scaled_per_block", "gpt_impl",
            edit=("0.02 / math.sqrt(2 * config.n_layer)", "0.02 / math.sqrt(config.n_layer)"),
            check=r"two residual branches\s+per block", loses=("gpt_init_test",),
            why="residual projections scaled by 1/sqrt(n_layer), forgetting there are two branches per block"),
    Mistake("default_init", "gpt_impl",
            edit=("                if p.dim() == 2:\n", "                if p.dim() == 2 and False:\n"),
            check=r"nn.Embedding's default, N\(0, 1\)", loses=("gpt_init_test",),
            why="PyTorch's default initialisation kept (embeddings N(0, 1))"),
    Mistake("count_state_dict", "count_impl", source=_STATE_DICT_COUNT,
            check=r"tied matrix is counted\s+twice", loses=("count_test",),
            why="parameters counted from state_dict(), which lists the tied matrix under both names"),
    Mistake("formula_untied_head", "formula_impl", edit=("+ 2 * C\n", "+ 2 * C + vocab_size * C\n"),
            check=r"counted the output head separately", loses=("formula_test",),
            why="the LM head counted as a matrix of its own, though it is tied"),
    Mistake("reference_gpt", "gpt_impl", source=_REFERENCE_GPT, check=None,
            loses=("gpt_test", "gpt_init_test"), feedback=r"write GPT yourself",
            why="the course's GPT imported instead of written"),
]
