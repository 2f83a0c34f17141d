"""Exercise checks: GPT vs BERT (bidirectional mask, masked-LM corruption)."""
from __future__ import annotations


import torch

from ._common import _ok, _shape, _tensor

__all__ = ['check_bidirectional_mask', 'check_mlm_masking']


def check_bidirectional_mask(bidirectional_mask) -> None:
    """``bidirectional_mask(padding (B, T))`` -> bool (B, T, T): every real token sees every real token."""
    pad = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    m = _tensor(bidirectional_mask(pad), "bidirectional_mask")
    _shape(m, (2, 4, 4), "bidirectional_mask(padding)")
    if m.dtype != torch.bool:
        raise AssertionError(f"the mask should be bool (True = may attend), got {m.dtype}")
    if torch.equal(m[1], torch.ones(4, 4, dtype=torch.bool).tril()):
        raise AssertionError("that is GPT's causal mask: BERT lets every token see the tokens after it too")
    if torch.equal(m[0], pad[0].bool()[:, None].expand(4, 4)):
        raise AssertionError("the padding mask was applied to the queries (rows): it is the padded *keys* that no "
                             "query may attend to — mask the columns, padding[:, None, :]")
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
    if chosen.all():
        raise AssertionError("every position has a real label: positions that were not chosen must have label -100, "
                             "so that the loss ignores them")
    if (labels == -100).float().mean() < 0.5 and torch.equal(inputs[chosen], ids[chosen]):
        raise AssertionError("the labels are inverted: the chosen 15% keep their original token as label, every "
                             "other position gets -100")
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
        raise AssertionError(f"{masked:.1%} of chosen tokens became [MASK], expected 80%: of the chosen tokens 80% "
                             "become [MASK], 10% a random token and 10% stay as they are")
    if abs(kept - 0.1) > 0.03:
        raise AssertionError(f"{kept:.1%} of chosen tokens were kept as they were, expected 10%: the 20% that are "
                             "not [MASK] split evenly between a random token and the original one")
    again = mask_tokens(ids.clone(), mask_id, vocab_size, torch.Generator().manual_seed(0))
    first = mask_tokens(ids.clone(), mask_id, vocab_size, torch.Generator().manual_seed(0))
    if not all(torch.equal(a, b) for a, b in zip(first, again)):
        raise AssertionError("two runs with generators seeded alike gave different results: draw every random "
                             "number from generator (torch.rand(..., generator=generator), torch.randint(..., "
                             "generator=generator))")
    _ok("MLM masking: 15% chosen; of those 80% [MASK], 10% random, 10% unchanged")
