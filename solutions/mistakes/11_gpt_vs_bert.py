"""Wrong answers to exercise 11 that real students hand in; each must be diagnosed and cost its tests."""
from gptlab.grading.catalogue import Mistake

MISTAKES = [
    Mistake("bidirectional_is_causal", "bidirectional_impl",
            edit=("return padding.bool()[:, None, :].expand(B, T, T)",
                  "return torch.ones(T, T, dtype=torch.bool).tril().expand(B, T, T) & padding.bool()[:, None, :]"),
            check=r"that is GPT's causal mask", loses=("bidirectional_test",),
            why="BERT's mask built as GPT's causal one"),
    Mistake("padding_masks_queries", "bidirectional_impl",
            edit=("padding.bool()[:, None, :]", "padding.bool()[:, :, None]"),
            check=r"applied to the queries \(rows\)", loses=("bidirectional_test",),
            why="padding removes the padded queries (rows) instead of the padded keys (columns)"),
    Mistake("mlm_labels_everywhere", "mlm_impl",
            edit=("labels = torch.where(chosen, ids, torch.full_like(ids, -100))", "labels = ids.clone()"),
            check=r"every position has a real label", loses=("mlm_test",),
            why="labels kept at every position instead of -100 where nothing was chosen"),
    Mistake("mlm_all_masked", "mlm_impl", edit=("inputs[chosen & (u < 0.8)] = mask_id", "inputs[chosen] = mask_id"),
            check=r"became \[MASK\], expected 80%", loses=("mlm_test",),
            why="every chosen token becomes [MASK] (no 80/10/10 split)"),
    Mistake("mlm_global_rng", "mlm_impl",
            edit=("torch.randint(0, vocab_size, (int(random_pos.sum()),), generator=generator)",
                  "torch.randint(0, vocab_size, (int(random_pos.sum()),))"),
            check=r"draw every random number from generator", loses=("mlm_test",),
            why="the random replacement tokens are drawn without the generator"),
    Mistake("bidirectional_mask_from_transformers", "bidirectional_impl",
            source="from transformers.masking_utils import bidirectional_mask_function, sdpa_mask\n\n\n"
                   "def bidirectional_mask(padding):\n    B, T = padding.shape\n"
                   "    return sdpa_mask(B, T, T, mask_function=bidirectional_mask_function,\n"
                   "                     attention_mask=padding.bool())[:, 0]\n",
            check=None, loses=("bidirectional_test",), feedback=r"write sdpa_mask yourself",
            why="returns HuggingFace's transformers.masking_utils.sdpa_mask(...) with its bidirectional mask function"),
]
