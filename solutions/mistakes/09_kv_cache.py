"""Wrong answers to exercise 09 that real students hand in; each must be diagnosed and cost its tests."""
from gptlab.grading.catalogue import Mistake

DECODE_WITHOUT_CACHE = '''def forward_cached(model, idx_new, past=None):
    start = 0 if past is None else past[0][0].shape[2]
    pos = torch.arange(start, start + idx_new.shape[1])
    x = model.transformer.wte(idx_new) + model.transformer.wpe(pos)
    new_past = []
    for i, block in enumerate(model.transformer.h):
        y, kv = cached_attention(block.attn, block.ln_1(x), None if past is None else past[i])
        x = x + y
        x = x + block.mlp(block.ln_2(x))
        new_past.append(kv)
    return model.lm_head(model.transformer.ln_f(x)), new_past


@torch.no_grad()
def decode_cached(model, idx, max_new_tokens):
    for _ in range(max_new_tokens):
        logits, _ = forward_cached(model, idx)  # the whole sequence again, every step
        idx = torch.cat([idx, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return idx
'''

ATTENTION_FROM_THE_COURSE = '''from gptlab.kv_cache import KVCache

def cached_attention(attn, x_new, past=None):
    B, T, C = x_new.shape
    hs = C // attn.n_head
    T_past = 0 if past is None else past[0].shape[2]
    cache = KVCache(1, B, attn.n_head, T_past + T, hs)
    if past is not None:
        cache.update(0, *past)
        cache.advance(T_past)
    attn.layer_idx = 0
    y = attn(x_new, cache=cache)
    return y, (cache.keys[0][:, :, :T_past + T], cache.values[0][:, :, :T_past + T])
'''

MISTAKES = [
    Mistake("attention_unscaled", "cached_attention_impl", edit=(" / math.sqrt(C // nh)", ""),
            check=r"scores are not scaled: divide q @ k\^T by sqrt\(head_dim\)",
            loses=("cached_attention_test", "decode_test"),
            why="cached attention without the 1/sqrt(head_dim) scale"),
    Mistake("attention_no_output_projection", "cached_attention_impl",
            edit=("return attn.c_proj(y), (k, v)", "return y, (k, v)"),
            check=r"output projection is missing", loses=("cached_attention_test", "decode_test"),
            why="cached attention without the output projection c_proj"),
    Mistake("attention_mask_not_shifted", "cached_attention_impl",
            edit=(".tril(diagonal=T_all - T)", ".tril()"),
            check=r"mask ignores the cached positions", loses=("cached_attention_test", "decode_test"),
            why="the causal mask is not shifted by the number of cached positions"),
    Mistake("attention_new_keys_first", "cached_attention_impl",
            edit=("torch.cat([past[0], k], dim=2)", "torch.cat([k, past[0]], dim=2)"),
            check=r"come before the cached ones", loses=("cached_attention_test", "decode_test"),
            why="the new keys are concatenated before the cached ones (values in order)"),
    Mistake("attention_cache_only_new", "cached_attention_impl",
            edit=("    return attn.c_proj(y), (k, v)", "    return attn.c_proj(y), (k[:, :, -T:], v[:, :, -T:])"),
            check=r"hold only the new positions", loses=("cached_attention_test", "decode_test"),
            why="the returned cache holds only the new positions"),
    Mistake("forward_positions_restart", "decode_impl",
            edit=("start = 0 if past is None else past[0][0].shape[2]", "start = 0"),
            check=r"positions restart at 0", loses=("decode_test",),
            why="the new tokens' positions restart at 0 at every step"),
    Mistake("forward_no_final_layernorm", "decode_impl",
            edit=("model.lm_head(model.transformer.ln_f(x))", "model.lm_head(x)"),
            check=r"final LayerNorm is missing", loses=("decode_test",),
            why="the cached forward pass skips the final LayerNorm ln_f"),
    Mistake("forward_ignores_past", "decode_impl",
            edit=("None if past is None else past[i])", "None)"),
            check=r"the cache is not used", loses=("decode_test",),
            why="the blocks' attention is never given the cached keys and values"),
    Mistake("decode_never_uses_cache", "decode_impl", source=DECODE_WITHOUT_CACHE,
            check=r"ran the model on \d+ tokens at step 1", loses=("decode_test",),
            why="cached decoding recomputes the whole sequence every step"),
    Mistake("decode_first_position", "decode_impl",
            edit=("nxt = logits[:, -1].argmax(-1, keepdim=True)", "nxt = logits[:, 0].argmax(-1, keepdim=True)"),
            check=r"prompt's FIRST position", loses=("decode_test",),
            why="the first new token is read from the prompt's first position"),
    Mistake("attention_from_the_course", "cached_attention_impl", source=ATTENTION_FROM_THE_COURSE,
            check=None, loses=("cached_attention_test", "decode_test"), feedback=r"write \w+ yourself",
            why="cached_attention calls the course's attention layer with its KVCache"),
]
