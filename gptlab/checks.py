"""Self-checks for the exercises: each says *what* is wrong, not just that something is.

Every ``check_*`` function takes the student's function or class, runs it on small seeded inputs and
either prints a one-line success or raises ``AssertionError`` with a message a student can act on
("changing a future token changed an earlier output: your mask leaks"). The reference values are computed
here from first principles, not with the student's code and not with the course's own implementation
of the same function, so a check cannot agree with a shared mistake.
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F

__all__ = [
    "check_causal_mask", "check_masked_attention", "check_pre_ln_block",
    "check_greedy", "check_temperature", "check_top_k", "check_top_p", "check_sampler",
    "check_cached_attention", "check_cached_decoding",
    "check_uniform_loss", "check_bigram_counts", "check_tied_head", "check_param_formula",
    "check_bidirectional_mask", "check_mlm_masking", "init_random",
]


def _ok(message: str) -> None:
    print(f"✓ {message}")


def _tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise AssertionError(f"{name} should return a torch.Tensor, got {type(x).__name__}")
    return x


def _shape(x: torch.Tensor, expected: tuple, name: str) -> None:
    if tuple(x.shape) != tuple(expected):
        raise AssertionError(f"{name} has shape {tuple(x.shape)}, expected {tuple(expected)}")


def init_random(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Fill every parameter with seeded random values (a bare ``Projection`` starts uninitialised);
    LayerNorm scales around 1 so that normalisation stays visible."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for sub in module.modules():
            for name, p in sub.named_parameters(recurse=False):
                if isinstance(sub, torch.nn.LayerNorm) and name == "weight":
                    p.copy_(0.5 + torch.rand(p.shape, generator=g))
                elif p.dim() > 1:
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(0.2 * torch.rand(p.shape, generator=g) - 0.1)
    return module


def _finite_rows(x: torch.Tensor, name: str) -> None:
    if torch.isnan(x).any():
        raise AssertionError(
            f"{name} contains NaN: a softmax over a row that is entirely -inf gives NaN — "
            "somewhere every position was masked out"
        )


# ---------------------------------------------------------------------------------------------- attention


def check_causal_mask(causal_mask) -> None:
    """``causal_mask(T)`` -> bool (T, T), True where query i may attend to key j."""
    for T in (1, 4, 7):
        m = _tensor(causal_mask(T), "causal_mask(T)")
        _shape(m, (T, T), f"causal_mask({T})")
        if m.dtype != torch.bool:
            raise AssertionError(f"causal_mask should be a bool tensor (True = may attend), got {m.dtype}")
        if not m.diagonal().all():
            raise AssertionError("a position cannot attend to itself: the diagonal must be True")
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        if (m & future).any():
            i, j = (m & future).nonzero()[0].tolist()
            raise AssertionError(f"position {i} may attend to position {j}, which is in its future: the mask leaks")
        if not (m | future).all():
            i, j = (~(m | future)).nonzero()[0].tolist()
            raise AssertionError(f"position {i} may not attend to position {j}, an earlier token it should see")
    _ok("causal_mask: lower-triangular, every token sees itself and its past, never its future")


def _reference_attention(q, k, v):
    T = q.shape[-2]
    att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    att = att.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
    w = att.softmax(-1)
    return w @ v, w


def check_masked_attention(attention) -> None:
    """``attention(q, k, v)`` with (B, nh, T, hs) inputs -> (output (B, nh, T, hs), weights (B, nh, T, T))."""
    g = torch.Generator().manual_seed(0)
    B, nh, T, hs = 2, 3, 6, 8
    q, k, v = (torch.randn(B, nh, T, hs, generator=g) for _ in range(3))
    result = attention(q, k, v)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise AssertionError("attention should return a pair (output, weights)")
    out, w = _tensor(result[0], "output"), _tensor(result[1], "weights")
    _shape(out, (B, nh, T, hs), "output")
    _shape(w, (B, nh, T, T), "weights")
    _finite_rows(w, "weights")
    if not torch.allclose(w.sum(-1), torch.ones(B, nh, T), atol=1e-5):
        raise AssertionError(
            "attention weights do not sum to 1 over the keys: apply softmax over the last dimension (dim=-1), "
            "after masking"
        )
    if (w.triu(diagonal=1).abs() > 1e-7).any():
        raise AssertionError("some weight on a future position is not zero: fill masked scores with -inf before softmax")
    # Changing the last token must leave every earlier output unchanged.
    k2, v2 = k.clone(), v.clone()
    k2[:, :, -1] += 3.0
    v2[:, :, -1] -= 5.0
    out2, _ = attention(q, k2, v2)
    if not torch.allclose(out[:, :, :-1], out2[:, :, :-1], atol=1e-5):
        raise AssertionError("changing a future token changed an earlier output: your mask leaks")
    ref_out, ref_w = _reference_attention(q, k, v)
    if not torch.allclose(w, ref_w, atol=1e-5):
        scaled = _reference_attention(q * math.sqrt(hs), k, v)[1]
        if torch.allclose(w, scaled, atol=1e-5):
            raise AssertionError("the scores are not scaled: divide q @ k^T by sqrt(head_dim)")
        raise AssertionError("the weights differ from softmax(q @ k^T / sqrt(head_dim)) with the causal mask")
    if not torch.allclose(out, ref_out, atol=1e-5):
        raise AssertionError("the weights are right but the output is not weights @ v")
    _ok("attention: right shapes, rows sum to 1, nothing leaks from the future, matches the reference")


# ---------------------------------------------------------------------------------------------- Pre-LN


def check_pre_ln_block(block_class) -> None:
    """``block_class(config)`` has ``ln_1, attn, ln_2, mlp`` and computes x + attn(ln_1(x)), then + mlp(ln_2(.))."""
    from .config import GPTConfig

    torch.manual_seed(0)
    config = GPTConfig.from_preset("nano", vocab_size=65)
    block = block_class(config)
    for name in ("ln_1", "attn", "ln_2", "mlp"):
        if not hasattr(block, name):
            raise AssertionError(f"the block needs a submodule named {name!r} (GPT-2's names)")
    init_random(block.eval())  # non-trivial LayerNorms, so that the order of operations shows
    x = torch.randn(2, 5, config.n_embd) * 3 + 1
    y = _tensor(block(x), "block(x)")
    _shape(y, x.shape, "block(x)")
    with torch.no_grad():
        h = x + block.attn(block.ln_1(x))
        pre = h + block.mlp(block.ln_2(h))
        post_h = block.ln_1(x + block.attn(x))
        post = block.ln_2(post_h + block.mlp(post_h))
        no_residual = block.mlp(block.ln_2(block.attn(block.ln_1(x))))
    if torch.allclose(y, post, atol=1e-5):
        raise AssertionError("this is a Post-LN block (LayerNorm after adding the residual); "
                             "Pre-LN normalises the *input* of each sublayer: x + f(LN(x))")
    if torch.allclose(y, no_residual, atol=1e-5):
        raise AssertionError("the residual connections are missing: add each sublayer's output back to x")
    if (y.mean(-1).abs() < 1e-4).all() and (y.std(-1) - 1).abs().max() < 0.3:
        raise AssertionError("the output looks normalised: in a Pre-LN block the residual stream itself is never normalised")
    if not torch.allclose(y, pre, atol=1e-5):
        raise AssertionError("the output differs from x + attn(ln_1(x)) followed by h + mlp(ln_2(h))")
    x2 = x.clone()
    x2[:, -1] += 1.0
    if not torch.allclose(block(x2)[:, :-1], y[:, :-1], atol=1e-5):
        raise AssertionError("changing a future token changed an earlier output: the block leaks")
    _ok("Pre-LN block: x + attn(ln_1(x)), then + mlp(ln_2(.)); residual stream left un-normalised")


# ---------------------------------------------------------------------------------------------- sampling


def _logits(seed: int = 0, B: int = 3, V: int = 10) -> torch.Tensor:
    return torch.randn(B, V, generator=torch.Generator().manual_seed(seed)) * 2


def check_greedy(greedy) -> None:
    """``greedy(logits (B, V))`` -> token ids (B,)."""
    logits = _logits()
    ids = _tensor(greedy(logits), "greedy(logits)")
    _shape(ids, (logits.shape[0],), "greedy(logits)")
    if ids.dtype != torch.long:
        raise AssertionError(f"token ids should be torch.long, got {ids.dtype}")
    if not torch.equal(ids, logits.argmax(-1)):
        if torch.equal(ids, logits.argmin(-1)):
            raise AssertionError("greedy picked the *least* likely token: use argmax")
        raise AssertionError("greedy should pick the highest logit in each row (argmax over the last dimension)")
    _ok("greedy: the most likely token of every row")


def check_temperature(apply_temperature) -> None:
    logits = _logits()
    for t in (0.5, 1.0, 2.0):
        out = _tensor(apply_temperature(logits.clone(), t), "apply_temperature")
        _shape(out, logits.shape, "apply_temperature(logits, t)")
        if not torch.allclose(out, logits / t, atol=1e-6):
            if torch.allclose(out, logits * t, atol=1e-6):
                raise AssertionError("multiply by 1/temperature, not by temperature: "
                                     "a low temperature must sharpen the distribution")
            if torch.allclose(out.softmax(-1), (logits / t).softmax(-1), atol=1e-6):
                continue  # any shift of the logits samples the same
            raise AssertionError(f"temperature {t}: expected logits / {t}")
    try:
        apply_temperature(logits, 0.0)
    except ValueError:
        pass
    else:
        raise AssertionError("temperature 0 divides by zero: raise a ValueError that says to use greedy instead")
    _ok("temperature: logits / T, and T = 0 refused")


def _check_filter(out: torch.Tensor, logits: torch.Tensor, keep: torch.Tensor, name: str) -> None:
    _shape(out, logits.shape, name)
    if torch.isneginf(out).all(-1).any():
        raise AssertionError(f"{name} removed every token of a row (a whole row is -inf): always keep the most likely one")
    kept = ~torch.isneginf(out)
    if (kept & ~keep).any():
        raise AssertionError(f"{name} kept {int((kept & ~keep).sum())} token(s) it should have removed")
    if (~kept & keep).any():
        raise AssertionError(f"{name} removed {int((~kept & keep).sum())} token(s) it should have kept")
    if not torch.allclose(out[kept], logits[kept]):
        raise AssertionError(f"{name} changed the logits it kept: set removed ones to -inf and leave the rest alone")


def check_top_k(top_k_filter) -> None:
    """``top_k_filter(logits (B, V), k)`` -> logits with all but the k largest per row set to -inf."""
    logits = _logits()
    for k in (1, 3, logits.shape[-1]):
        out = _tensor(top_k_filter(logits.clone(), k), "top_k_filter")
        keep = logits >= logits.topk(k, -1).values[:, -1:]
        _check_filter(out, logits, keep, f"top_k_filter(k={k})")
    _ok("top-k: keeps exactly the k largest logits of each row")


def _nucleus(logits: torch.Tensor, p: float) -> torch.Tensor:
    probs = logits.softmax(-1)
    keep = torch.zeros_like(probs, dtype=torch.bool)
    for r in range(probs.shape[0]):
        total = 0.0
        for i in probs[r].argsort(descending=True).tolist():
            keep[r, i] = True
            total += probs[r, i].item()
            if total >= p:
                break
    return keep


def check_top_p(top_p_filter) -> None:
    """``top_p_filter(logits, p)`` keeps the smallest set of most likely tokens whose probabilities reach p."""
    logits = _logits()
    for p in (0.05, 0.5, 0.9, 1.0):
        out = _tensor(top_p_filter(logits.clone(), p), "top_p_filter")
        _check_filter(out, logits, _nucleus(logits, p), f"top_p_filter(p={p})")
        probs = out.softmax(-1)
        expected = torch.where(~torch.isneginf(out), logits.softmax(-1), 0.0)
        expected = expected / expected.sum(-1, keepdim=True)
        if not torch.allclose(probs, expected, atol=1e-6):
            raise AssertionError("wrong renormalisation: the kept tokens' probabilities should be p_i / sum(kept)")
    _ok("top-p: smallest nucleus reaching p, the most likely token always kept")


def check_sampler(sample, draws: int = 4000) -> None:
    """``sample(logits (B, V), temperature, top_k, top_p, generator)`` -> ids (B,): checked statistically.

    With a fixed seed, the frequency of every token over many draws must lie within 5 standard errors
    of its probability after temperature, top-k and top-p; a token that was filtered out must never appear.
    """
    logits = _logits(1, B=1, V=8)
    gen = torch.Generator().manual_seed(1234)
    for temperature, k, p in ((1.0, 0, 1.0), (0.7, 4, 1.0), (1.3, 0, 0.8), (1.0, 5, 0.6)):
        scaled = logits / temperature
        keep = torch.ones_like(scaled, dtype=torch.bool)
        if k:
            keep &= scaled >= scaled.topk(k, -1).values[:, -1:]
        if p < 1.0:
            keep &= _nucleus(scaled.masked_fill(~keep, float("-inf")), p)
        probs = scaled.masked_fill(~keep, float("-inf")).softmax(-1)[0]
        rows = logits.expand(draws, -1).clone()
        ids = _tensor(sample(rows, temperature=temperature, top_k=k, top_p=p, generator=gen), "sample(...)")
        _shape(ids, (draws,), "sample(...)")
        counts = torch.bincount(ids.long(), minlength=probs.numel()).double()
        where = f"(temperature={temperature}, top_k={k}, top_p={p})"
        if (counts[~keep[0]] > 0).any():
            raise AssertionError(f"sampled a token that the filters should have removed {where}")
        freq = counts / draws
        se = (probs.double() * (1 - probs.double()) / draws).sqrt()
        z = ((freq - probs.double()).abs() / se.clamp_min(1e-12))[keep[0]]
        if (z > 5).any():
            i = int(torch.nonzero(keep[0])[z.argmax()])
            raise AssertionError(
                f"token {i} was drawn with frequency {freq[i]:.3f}, but its probability is {probs[i]:.3f} {where}: "
                "check the renormalisation and the order (temperature, then top-k, then top-p, then softmax)"
            )
    _ok(f"sampler: {draws} seeded draws per setting match the filtered probabilities")


# ---------------------------------------------------------------------------------------------- KV cache


def check_cached_attention(cached_attention) -> None:
    """``cached_attention(attn, x_new, past)`` -> (y (B, T, C), (k, v) with all positions so far).

    ``attn`` is a :class:`gptlab.model.CausalSelfAttention`; ``past`` is ``None`` or the (k, v) pair the
    previous call returned, each (B, nh, T_past, hs). Feeding a sequence in pieces must give exactly the
    outputs of one uncached pass over the whole sequence.
    """
    from .config import GPTConfig
    from .model import CausalSelfAttention

    torch.manual_seed(0)
    config = GPTConfig.from_preset("nano", vocab_size=65)
    attn = init_random(CausalSelfAttention(config).eval())
    x = torch.randn(2, 7, config.n_embd)
    with torch.no_grad():
        full = attn(x)
        past, pieces = None, []
        for a, b in ((0, 3), (3, 4), (4, 5), (5, 7)):
            result = cached_attention(attn, x[:, a:b], past)
            if not (isinstance(result, tuple) and len(result) == 2):
                raise AssertionError("cached_attention should return (y, (k, v))")
            y, past = result
            _shape(_tensor(y, "y"), (2, b - a, config.n_embd), f"y for positions {a}..{b - 1}")
            k, v = past
            hs = config.n_embd // config.n_head
            _shape(_tensor(k, "k"), (2, config.n_head, b, hs), f"the cached keys after {b} positions")
            _shape(_tensor(v, "v"), (2, config.n_head, b, hs), f"the cached values after {b} positions")
            pieces.append(y)
    got = torch.cat(pieces, dim=1)
    if not torch.allclose(got[:, :3], full[:, :3], atol=1e-5):
        raise AssertionError("the first chunk (no cache yet) differs from the uncached pass: check the causal mask "
                             "within a chunk")
    if not torch.allclose(got, full, atol=1e-5):
        raise AssertionError("with a cache the outputs differ from recomputing everything: the new queries must "
                             "attend to the cached keys *and* the new ones, masked by their absolute positions")
    _ok("cached attention: any split of the sequence gives the uncached outputs")


def check_cached_decoding(decode_cached, decode_uncached=None, max_new_tokens: int = 20) -> None:
    """``decode_cached(model, idx, max_new_tokens)`` must produce the same greedy tokens as recomputation."""
    from .config import GPTConfig
    from .model import GPT

    torch.manual_seed(0)
    model = GPT(GPTConfig.from_preset("nano", vocab_size=65)).eval()
    idx = torch.randint(0, 65, (2, 5))
    expected = idx
    with torch.no_grad():
        for _ in range(max_new_tokens):
            expected = torch.cat([expected, model(expected)[:, -1].argmax(-1, keepdim=True)], dim=1)
        out = _tensor(decode_cached(model, idx.clone(), max_new_tokens), "decode_cached(...)")
    _shape(out, expected.shape, "decode_cached(...)")
    if not torch.equal(out[:, :5], idx):
        raise AssertionError("the returned sequence should start with the prompt")
    if not torch.equal(out, expected):
        first = int((out != expected).any(0).nonzero()[0])
        raise AssertionError(f"the cached tokens differ from recomputation from position {first} on")
    _ok(f"cached decoding: {max_new_tokens} greedy tokens equal recomputing the whole sequence every step")


# ---------------------------------------------------------------------------------------------- causal LM


def check_uniform_loss(uniform_loss) -> None:
    """``uniform_loss(vocab_size)`` -> the cross-entropy (nats) of a model that guesses uniformly."""
    for V in (2, 65, 50257):
        got = float(uniform_loss(V))
        if abs(got - math.log(V)) > 1e-4:
            if abs(got - math.log2(V)) < 1e-4:
                raise AssertionError("that is in bits (log2): cross-entropy in PyTorch uses the natural log")
            raise AssertionError(f"uniform_loss({V}) = {got:.4f}; a uniform guess gives every token probability 1/V")
    _ok("uniform loss: ln V")


def check_bigram_counts(bigram_counts) -> None:
    """``bigram_counts(ids (N,), vocab_size)`` -> (V, V) counts with counts[a, b] = #times b follows a."""
    ids = torch.tensor([0, 1, 2, 1, 2, 2, 0])
    c = _tensor(bigram_counts(ids, 3), "bigram_counts")
    _shape(c, (3, 3), "bigram_counts(ids, 3)")
    expected = torch.zeros(3, 3)
    for a, b in zip(ids[:-1].tolist(), ids[1:].tolist()):
        expected[a, b] += 1
    if torch.allclose(c.float(), expected.T):
        raise AssertionError("rows and columns are swapped: counts[a, b] counts b following a")
    if int(c.sum()) != len(ids) - 1:
        raise AssertionError(f"a sequence of {len(ids)} tokens has {len(ids) - 1} bigrams, you counted {int(c.sum())}")
    if not torch.allclose(c.float(), expected):
        raise AssertionError("the counts differ from counting each (previous, next) pair")
    _ok("bigram counts: counts[a, b] = how often b follows a")


# ---------------------------------------------------------------------------------------------- weight tying


def check_tied_head(tie) -> None:
    """``tie(model)`` makes ``lm_head.weight`` *the same tensor* as ``transformer.wte.weight``."""
    from .config import GPTConfig
    from .model import GPT

    torch.manual_seed(0)
    model = GPT(GPTConfig.from_preset("nano", vocab_size=65, tie_weights=False))
    before = sum(p.numel() for p in model.parameters())
    tie(model)
    if model.lm_head.weight is not model.transformer.wte.weight:
        if torch.equal(model.lm_head.weight, model.transformer.wte.weight):
            raise AssertionError("the two weights are equal but not shared: a copy drifts apart during training; "
                                 "assign the Parameter itself")
        raise AssertionError("lm_head.weight is not the token embedding")
    after = sum(p.numel() for p in model.parameters())
    if before - after != 65 * model.config.n_embd:
        raise AssertionError(f"tying should save vocab_size * n_embd = {65 * model.config.n_embd} parameters, "
                             f"saved {before - after}")
    _ok("weight tying: one shared (V, C) matrix embeds tokens and scores them")


# ---------------------------------------------------------------------------------------------- GPT-2 sizes


def check_param_formula(n_params) -> None:
    """``n_params(n_layer, n_embd, vocab_size, block_size)`` -> parameter count of tied GPT-2 with biases."""
    from .config import GPTConfig
    from .model import GPT

    for preset in ("nano", "micro"):
        config = GPTConfig.from_preset(preset, vocab_size=97)
        model = GPT(config)
        expected = sum(p.numel() for p in model.parameters())
        got = int(n_params(config.n_layer, config.n_embd, config.vocab_size, config.block_size))
        if got != expected:
            diff = got - expected
            C, V = config.n_embd, config.vocab_size
            hint = ""
            if diff == V * C:
                hint = ": you counted the output head separately, but it is tied to the token embedding"
            elif diff == -2 * C:
                hint = ": the final LayerNorm ln_f is missing"
            elif diff % config.n_layer == 0:
                hint = f": {diff // config.n_layer:+d} per layer — recount one block"
            raise AssertionError(f"{preset}: formula gives {got:,}, the model has {expected:,}{hint}")
    _ok("parameter formula: matches a real model at two sizes")


# ---------------------------------------------------------------------------------------------- GPT vs BERT


def check_bidirectional_mask(bidirectional_mask) -> None:
    """``bidirectional_mask(padding (B, T))`` -> bool (B, T, T): every real token sees every real token."""
    pad = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    m = _tensor(bidirectional_mask(pad), "bidirectional_mask")
    _shape(m, (2, 4, 4), "bidirectional_mask(padding)")
    if m.dtype != torch.bool:
        raise AssertionError(f"the mask should be bool (True = may attend), got {m.dtype}")
    if torch.equal(m[1], torch.ones(4, 4, dtype=torch.bool).tril()):
        raise AssertionError("that is GPT's causal mask: BERT lets every token see the tokens after it too")
    if m[0, :, 3].any():
        raise AssertionError("a padding token is attended to: keys at padded positions must be masked")
    if not m[1].all() or not m[0, :, :3].all():
        raise AssertionError("every real token should see every real token, before and after it")
    _ok("bidirectional mask: all real tokens see each other; padding is never attended to")


def check_mlm_masking(mask_tokens, mask_id: int = 0, vocab_size: int = 100) -> None:
    """``mask_tokens(ids, mask_id, vocab_size, generator)`` -> (inputs, labels), BERT's 15% / 80-10-10 rule."""
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(1, vocab_size, (200, 100), generator=gen)
    inputs, labels = mask_tokens(ids.clone(), mask_id, vocab_size, gen)
    _shape(_tensor(inputs, "inputs"), ids.shape, "inputs")
    _shape(_tensor(labels, "labels"), ids.shape, "labels")
    chosen = labels != -100
    if not torch.equal(labels[chosen], ids[chosen]):
        raise AssertionError("labels at chosen positions must be the original tokens (and -100 elsewhere)")
    if not torch.equal(inputs[~chosen], ids[~chosen]):
        raise AssertionError("tokens that were not chosen must be left unchanged")
    n = chosen.sum().item()
    rate = n / ids.numel()
    if abs(rate - 0.15) > 0.01:
        raise AssertionError(f"{rate:.1%} of tokens were chosen for prediction, expected 15%")
    masked = (inputs[chosen] == mask_id).float().mean().item()
    kept = (inputs[chosen] == ids[chosen]).float().mean().item()
    if abs(masked - 0.8) > 0.03:
        raise AssertionError(f"{masked:.1%} of chosen tokens became [MASK], expected 80%")
    if abs(kept - 0.1) > 0.03:
        raise AssertionError(f"{kept:.1%} of chosen tokens were kept as they were, expected 10%")
    _ok("MLM masking: 15% chosen; of those 80% [MASK], 10% random, 10% unchanged")


def time_call(fn, *args, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls, in seconds (the minimum is the least noisy estimate)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best
