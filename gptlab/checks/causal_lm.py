"""Exercise checks: the causal language-modelling loss, written by hand, and its two baselines.

Every reference value is computed here from the definitions (explicit sums in float64), never with the
student's code nor with ``torch.nn.functional.cross_entropy``. A wrong answer is compared with the same
reference computed *with* a classic mistake, so that the message names the mistake itself.
"""
from __future__ import annotations

import math

import torch

from ._common import _ok, _shape, _tensor

__all__ = ['check_uniform_loss', 'check_bigram_counts', 'check_log_softmax', 'check_causal_lm_loss',
           'check_bigram_loss']


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


# ------------------------------------------------------------------------------------------ log-softmax


def _log_softmax_reference(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log softmax over ``dim`` from its definition, in float64: x - m - log(sum exp(x - m)), m the row maximum."""
    x = x.double()
    m = x.max(dim=dim, keepdim=True).values
    return x - m - (x - m).exp().sum(dim=dim, keepdim=True).log()


def _call_log_softmax(log_softmax, x: torch.Tensor) -> torch.Tensor:
    try:
        out = log_softmax(x)
    except NotImplementedError:  # not written yet: say so, as the stub does
        raise
    except RuntimeError as exc:
        hint = ""
        if "must match the size" in str(exc):
            hint = (" — the row maximum (or sum) lost its axis: reduce with keepdim=True so that a (..., 1) "
                    "tensor broadcasts against the (..., V) logits")
        raise AssertionError(f"log_softmax raised RuntimeError: {exc}{hint}") from exc
    out = _tensor(out, "log_softmax(logits)")
    _shape(out, x.shape, "log_softmax(logits)")
    return out


def check_log_softmax(log_softmax) -> None:
    """``log_softmax(logits (..., V))`` -> log-probabilities over the last axis, finite even for huge logits."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, generator=g, dtype=torch.float64) * 3  # B != T != V, so each axis is told apart
    got = _call_log_softmax(log_softmax, x).double()
    right = _log_softmax_reference(x)
    if not torch.allclose(got, right, atol=1e-6):
        if torch.allclose(got, right.exp(), atol=1e-6):
            raise AssertionError("these are probabilities (a softmax), not their logarithm: return "
                                 "log p = (logits - max) - log(sum(exp(logits - max)))")
        for dim in (0, 1):
            if torch.allclose(got, _log_softmax_reference(x, dim), atol=1e-6):
                raise AssertionError(f"normalised over the wrong axis (dim={dim}): the probabilities must sum to 1 "
                                     "over the vocabulary, the last axis — reduce with dim=-1")
        if torch.allclose(got, -right, atol=1e-6):
            raise AssertionError("the sign is flipped: log-probabilities are <= 0")
        raise AssertionError("log_softmax(logits) differs from logits - log(sum(exp(logits))) over the last axis: "
                             f"largest difference {float((got - right).abs().max()):.3g}")
    big = 1000 + 5 * torch.randn(4, 7, generator=g)  # logits ~1e3: exp overflows in float32 and float64
    got_big = _call_log_softmax(log_softmax, big).double()
    if not torch.isfinite(got_big).all():
        raise AssertionError("with logits around 1000 the result is not finite: exp(1000) overflows to inf — "
                             "subtract each row's maximum before exponentiating (it changes nothing else)")
    if not torch.allclose(got_big, _log_softmax_reference(big), atol=1e-4):
        raise AssertionError("with logits around 1000 the result is wrong: compute it in the same dtype as the "
                             "logits, subtracting each row's maximum")
    mixed = torch.stack([1000 + torch.randn(5, generator=g), torch.randn(5, generator=g)])  # rows far apart
    got_mixed = _call_log_softmax(log_softmax, mixed).double()
    if not torch.isfinite(got_mixed).all() or not torch.allclose(got_mixed, _log_softmax_reference(mixed), atol=1e-4):
        raise AssertionError("a row of logits near 0 beside a row near 1000 goes wrong: subtract each row's own "
                             "maximum (max over dim=-1, keepdim=True), not one maximum of the whole tensor — "
                             "exp(0 - 1000) underflows to 0 and its log is -inf")
    spread = 1000 * torch.randn(4, 7, generator=g)  # logits ~1e3 apart: most probabilities underflow to 0
    got_spread = _call_log_softmax(log_softmax, spread).double()
    if not torch.isfinite(got_spread).all():
        raise AssertionError("with logits ~1000 apart the result has -inf: the log of a probability that underflowed "
                             "to 0 — compute (l - m) - log(sum(exp(l - m))) directly, not log(softmax(l))")
    if not torch.allclose(got_spread, _log_softmax_reference(spread), rtol=1e-5, atol=1e-3):
        raise AssertionError("with logits ~1000 apart the result is wrong: subtract each row's maximum")
    _ok("log-softmax: over the vocabulary, each row's maximum subtracted, finite for logits ~1e3")


# ---------------------------------------------------------------------------------------------- the loss


def _nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """-log p(target) at every position: logits (..., V), targets (...) -> (...)."""
    return -_log_softmax_reference(logits).gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def _loss_mistakes(logits: torch.Tensor, idx: torch.Tensor):
    """(the loss computed with a classic mistake, what to tell the student), for each mistake."""
    B, T, V = logits.shape
    right = _nll(logits[:, :-1], idx[:, 1:])  # (B, T-1)
    log_p = _log_softmax_reference(logits[:, :-1])  # (B, T-1, V)
    return (
        (_nll(logits, idx).mean(), "the targets are not shifted: each position is scored against its own token. "
                                   "The logits at position t predict the token at t + 1, so compare "
                                   "logits[:, :-1] with idx[:, 1:]"),
        (_nll(logits[:, 1:], idx[:, :-1]).mean(), "shifted the wrong way: logits[:, :-1] predict idx[:, 1:] "
                                                  "(position t predicts t + 1, not t - 1)"),
        (right.sum(), "that is the sum over the predictions: the loss is their mean"),
        (-right.mean(), "the loss is negative: cross-entropy is -log p(correct token), the minus sign is missing"),
        (right.mean() / math.log(2), "that is in bits (log2): cross-entropy uses the natural log"),
        (_nll(logits[:, :-2], idx[:, 1:-1]).mean(), "one prediction short per sequence: logits[:, :-1] against "
                                                    "idx[:, 1:] gives T - 1 predictions; yours drops the last one"),
        (_nll(logits, idx.roll(-1, dims=1)).mean(), "the last position is scored against the sequence's first token "
                                                    "(roll wraps around): it has no next token — drop it"),
        (_nll(logits.reshape(B * T, V)[:-1], idx.reshape(B * T)[1:]).mean(),
         "shifted after flattening the batch: the last position of one sequence then predicts the first token of "
         "the next one; shift each sequence (logits[:, :-1], idx[:, 1:]) before flattening"),
        (-log_p[:, :, idx[:, 1:]].mean(), "indexing log_p[:, :, targets] picks every target at every position "
                                          "(a (B, T-1, B, T-1) tensor): take one per position with "
                                          "log_p.gather(-1, targets.unsqueeze(-1))"),
        (-log_p.mean(), "that averages log p over the whole vocabulary: the loss uses only the correct next "
                        "token's log-probability (gather it with the targets)"),
    )


def check_causal_lm_loss(causal_lm_loss) -> None:
    """``causal_lm_loss(logits (B, T, V), idx (B, T))`` -> the mean over the B (T - 1) predictions of
    -log p(idx[:, t + 1] | logits[:, t])."""
    g = torch.Generator().manual_seed(0)
    B, T, V = 2, 7, 5  # B, T - 1 and V all differ, so that no wrong broadcast lines up by chance
    logits = torch.randn(B, T, V, generator=g, dtype=torch.float64) * 3
    idx = torch.randint(0, V, (B, T), generator=g)
    try:
        out = causal_lm_loss(logits, idx)
    except NotImplementedError:
        raise
    except (RuntimeError, IndexError) as exc:
        raise AssertionError(f"causal_lm_loss raised {type(exc).__name__}: {exc}") from exc
    out = _tensor(out, "causal_lm_loss")
    if out.numel() != 1:
        raise AssertionError(f"causal_lm_loss should return one number (a 0-d tensor), got shape {tuple(out.shape)}: "
                             "take the mean over every prediction")
    got, right = float(out), float(_nll(logits[:, :-1], idx[:, 1:]).mean())
    if abs(got - right) > 1e-6:
        for wrong, message in _loss_mistakes(logits, idx):
            if abs(got - float(wrong)) < 1e-6:
                raise AssertionError(message)
        raise AssertionError(f"causal_lm_loss = {got:.6f}, expected {right:.6f}: the mean over positions of "
                             "-log_softmax(logits[:, :-1])[correct next token idx[:, 1:]]")
    big = float(causal_lm_loss(logits * 400, idx))
    if not math.isfinite(big):
        raise AssertionError("with logits ~1e3 the loss is not finite: log(softmax(...)) underflows to log 0 — "
                             "use your log_softmax (each row's maximum subtracted)")
    _ok("causal LM loss: shifted targets, log-softmax over the vocabulary, mean over every prediction")


# --------------------------------------------------------------------------------------- the bigram loss


def _bigram_reference(counts: torch.Tensor, ids: torch.Tensor, extra: float) -> float:
    """Mean of -ln p(b | a) over the pairs of ``ids``, p(b | a) = (counts[a, b] + 1) / (row sum + extra)."""
    c = counts.double()
    total = 0.0
    for a, b in zip(ids[:-1].tolist(), ids[1:].tolist()):
        total -= math.log(float(c[a, b] + 1) / float(c[a].sum() + extra))
    return total / (len(ids) - 1)


def check_bigram_loss(bigram_loss) -> None:
    """``bigram_loss(counts (V, V), ids (N,))`` -> mean cross-entropy of each next token of ``ids`` under the
    add-one smoothed bigram model p(b | a) = (counts[a, b] + 1) / (counts[a].sum() + V)."""
    V = 4
    empty = float(bigram_loss(torch.zeros(V, V, dtype=torch.long), torch.tensor([0, 1, 2, 3])))
    if not math.isfinite(empty):
        raise AssertionError("with no counts the loss is not finite: an unseen pair gets probability 0 (or 0/0) — "
                             "use add-one smoothing, (counts[a, b] + 1) / (counts[a].sum() + V)")
    counts = torch.tensor([[5, 0, 1, 2], [0, 0, 7, 1], [3, 3, 0, 0], [1, 0, 0, 9]])  # rows and columns differ
    ids = torch.tensor([0, 1, 2, 3, 3, 0, 2, 1, 1, 3, 2])  # (1, 1) and (2, 3) are unseen pairs
    got = float(bigram_loss(counts, ids))
    right = _bigram_reference(counts, ids, V)
    if abs(got - right) > 1e-6:
        if not math.isfinite(got):
            raise AssertionError("an unseen pair gives an infinite loss: add one to every count before normalising")
        wrong = (
            (_bigram_reference(counts, ids, 1), "the smoothed probabilities of a row do not sum to 1: adding 1 to "
                                                "each of the V counts adds V to the row's total, not 1"),
            (_bigram_reference(counts.T, ids, V), "the counts are read transposed: p(b | a) is row a, column b — "
                                                  "counts[ids[:-1], ids[1:]]"),
            (_bigram_reference(counts, ids.flip(0), V), "the pairs are read backwards: p(next | previous) is "
                                                        "counts[ids[:-1], ids[1:]]"),
            (right / math.log(2), "that is in bits (log2): cross-entropy uses the natural log"),
        )
        for value, message in wrong:
            if abs(got - value) < 1e-6:
                raise AssertionError(message)
        col = (counts + 1).double() / (counts.sum(0, keepdim=True) + V)
        if abs(got - float(-col[ids[:-1], ids[1:]].log().mean())) < 1e-6:
            raise AssertionError("normalised over columns (sum(0)): each row a is the distribution of the next token "
                                 "after a — divide by the row's total, counts.sum(1, keepdim=True)")
        raise AssertionError(f"bigram_loss = {got:.6f}, expected {right:.6f}: the mean of -ln p(next | previous) "
                             "with p(b | a) = (counts[a, b] + 1) / (counts[a].sum() + V)")
    if abs(empty - math.log(V)) > 1e-6:
        raise AssertionError(f"with no counts at all the smoothed model is the uniform guess: expected ln {V} = "
                             f"{math.log(V):.4f}, got {empty:.4f} — the denominator is the row's total plus V")
    _ok("bigram loss: add-one smoothed rows, the mean of -ln p(next | previous)")
