"""From next-token logits to the distribution a decoding setting actually samples from.

A language model only scores every token of the vocabulary; *how* the next token is picked is a separate
choice. Each setting reshapes the scores, in this order (the order HuggingFace ``transformers`` uses, so
the two libraries agree to the last digit):

1. ``repetition_penalty`` makes tokens that already occur less likely (divides a positive score, multiplies
   a negative one).
2. ``temperature`` divides every score: below 1 sharpens the distribution, above 1 flattens it, 0 means
   "always take the most likely token" (greedy).
3. ``top_k`` keeps the k highest scores (tokens tied with the k-th are kept too).
4. ``top_p`` (nucleus) keeps the most likely tokens whose probabilities add up to at least ``top_p``.
5. ``min_p`` keeps tokens at least ``min_p`` times as likely as the most likely one.

Removed tokens get a score of ``-inf``, and a softmax turns what is left into probabilities.
Each step is a named filter (:func:`apply_repetition_penalty`, :func:`apply_temperature`, :func:`top_k_filter`,
:func:`top_p_filter`, :func:`min_p_filter`: the functions the exercises have students write), and the
settings travel together as one checked :class:`SamplingSettings`. :func:`next_token_probs` is the one
function that does all of it; :func:`generate
<gptlab.generation.generate>` samples from exactly what it returns, and the notebooks plot it.
"""
from __future__ import annotations

import dataclasses
import math
import numbers

import torch

__all__ = [
    "SamplingSettings",
    "filter_logits",
    "kept_mask",
    "next_token_probs",
    "apply_repetition_penalty",
    "apply_temperature",
    "top_k_filter",
    "top_p_filter",
    "min_p_filter",
    "sample_from_probs",
]


@dataclasses.dataclass(frozen=True)
class SamplingSettings:
    """How the next token is chosen from the logits; checked once, when made, with a plain explanation.

    ``None`` switches a filter off. Every function here takes either a ``SamplingSettings`` or the same names
    as keywords (``next_token_probs(logits, top_k=5)``); keywords given beside a settings object replace its
    values.
    """

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    min_p: float | None = None
    repetition_penalty: float | None = None

    def __post_init__(self):
        t = self.temperature
        if not _is_real(t) or math.isnan(t) or t < 0 or math.isinf(t):
            raise ValueError(
                f"temperature must be a number >= 0, got {t!r}: 1 samples from the model's own "
                "probabilities, smaller values are more conservative, 0 always picks the most likely token"
            )
        if self.top_k is not None and (not _is_int(self.top_k) or self.top_k < 1):
            raise ValueError(
                f"top_k must be a whole number >= 1 (how many of the most likely tokens to keep), got "
                f"{self.top_k!r}; use top_k=None to keep them all"
            )
        if self.top_p is not None and (not _is_real(self.top_p) or not 0 < self.top_p <= 1):
            raise ValueError(
                f"top_p must be in (0, 1] (the share of probability mass to keep), got {self.top_p!r}; "
                "top_p=1 keeps every token"
            )
        if self.min_p is not None and (not _is_real(self.min_p) or not 0 <= self.min_p <= 1):
            raise ValueError(
                f"min_p must be in [0, 1] (a fraction of the top token's probability), got {self.min_p!r}; "
                "min_p=0 keeps every token"
            )
        penalty = self.repetition_penalty
        if penalty is not None and (not _is_real(penalty) or not 0 < penalty < math.inf):
            raise ValueError(
                f"repetition_penalty must be a positive number, got {penalty!r}: 1 changes nothing, "
                "above 1 discourages repeating tokens, below 1 encourages it"
            )

    @classmethod
    def of(cls, settings: "SamplingSettings | None" = None, **keywords) -> "SamplingSettings":
        """The settings a function was called with: ``settings``, with any ``keywords`` put in."""
        unknown = set(keywords) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unknown sampling setting(s) {', '.join(sorted(unknown))}; the settings are "
                            "temperature, top_k, top_p, min_p and repetition_penalty")
        if settings is None:
            return cls(**keywords)
        if not isinstance(settings, cls):
            raise TypeError(f"settings must be a SamplingSettings, got {type(settings).__name__}; or pass the "
                            "settings by name, e.g. temperature=0.8")
        return dataclasses.replace(settings, **keywords) if keywords else settings

    @property
    def greedy(self) -> bool:
        """Temperature 0: only the most likely token can be chosen."""
        return self.temperature == 0


def apply_repetition_penalty(logits: torch.Tensor, input_ids: torch.Tensor, penalty: float) -> torch.Tensor:
    """Penalise every token that occurs in ``input_ids`` (B, L) once, however often it occurs.

    A positive score is divided by ``penalty`` and a negative one multiplied by it, so for ``penalty > 1`` the
    token always becomes less likely (Keskar et al. 2019, CTRL). Negative ids are ignored: generation passes
    left padding as -1 so that a batch behaves exactly like its prompts one by one.
    """
    SamplingSettings(repetition_penalty=penalty)
    V = logits.shape[-1]
    ids = input_ids.to(device=logits.device, dtype=torch.long)
    ids = torch.where((ids < 0) | (ids >= V), V, ids)  # (B, L); out-of-range ids go to a spare column
    seen = torch.zeros(logits.shape[0], V + 1, dtype=torch.bool, device=logits.device)  # (B, V + 1)
    seen.scatter_(1, ids, True)
    penalised = torch.where(logits < 0, logits * penalty, logits / penalty)
    return torch.where(seen[:, :V], penalised, logits)


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``logits / temperature``, for a temperature > 0 (0 is greedy decoding: see :func:`filter_logits`)."""
    if SamplingSettings(temperature=temperature).greedy:
        raise ValueError("temperature 0 would divide by zero: it means greedy decoding (take the argmax)")
    return logits / float(temperature)


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` highest scores of each row (..., V), and those tied with the k-th; the rest -> -inf."""
    SamplingSettings(top_k=k)
    k = min(int(k), logits.shape[-1])
    kth_best = torch.topk(logits, k, dim=-1).values[..., -1:]  # (..., 1)
    return logits.masked_fill(logits < kth_best, -math.inf)


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filtering (Holtzman et al. 2020): keep the most likely tokens whose probabilities add up to
    at least ``p``, the token that crosses ``p`` included; the rest -> -inf.

    Walking up from the least likely token, a token is removed while the mass accumulated so far, itself
    included, stays within ``1 - p``; what remains carries at least ``p``. The most likely token is never
    removed.
    """
    SamplingSettings(top_p=p)
    if p >= 1.0:
        return logits
    ascending, order = torch.sort(logits, dim=-1)  # (..., V), least likely first
    mass_so_far = ascending.softmax(dim=-1).cumsum(dim=-1)  # (..., V)
    drop_sorted = mass_so_far <= 1 - float(p)
    drop_sorted[..., -1] = False
    drop = torch.zeros_like(drop_sorted).scatter_(-1, order, drop_sorted)  # back to vocabulary order
    return logits.masked_fill(drop, -math.inf)


def min_p_filter(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    """Keep the tokens at least ``min_p`` times as likely as the most likely one (Nguyen et al. 2024); the
    most likely token always stays; the rest -> -inf."""
    SamplingSettings(min_p=min_p)
    probs = torch.softmax(logits, dim=-1)
    too_unlikely = probs < float(min_p) * probs.amax(dim=-1, keepdim=True)  # (..., V)
    too_unlikely.scatter_(-1, probs.argmax(dim=-1, keepdim=True), False)
    return logits.masked_fill(too_unlikely, -math.inf)


def filter_logits(logits: torch.Tensor, settings: SamplingSettings | None = None, *,
                  input_ids: torch.Tensor | None = None, **keywords) -> torch.Tensor:
    """The scores after every setting has been applied, in the order above, removed tokens at ``-inf``
    (same shape as ``logits``, (V,) or (B, V)). ``input_ids``: the tokens so far, for the repetition penalty.

    ``temperature=0`` keeps only the highest-scoring token (the first one, if several tie).
    """
    s = SamplingSettings.of(settings, **keywords)
    scores, squeeze = _as_2d(logits)
    if s.repetition_penalty is not None:
        if input_ids is None:
            raise ValueError("repetition_penalty needs input_ids: the tokens generated so far (prompt included)")
        ids = input_ids if input_ids.dim() == 2 else input_ids.unsqueeze(0)
        if ids.shape[0] != scores.shape[0]:
            raise ValueError(f"input_ids has {ids.shape[0]} rows but logits have {scores.shape[0]}")
        scores = apply_repetition_penalty(scores, ids, float(s.repetition_penalty))

    if s.greedy:  # only the argmax survives
        best = scores.argmax(dim=-1, keepdim=True)  # (B, 1)
        kept = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, best, True)
        scores = scores.masked_fill(~kept, -math.inf)
    else:
        if s.temperature != 1.0:
            scores = apply_temperature(scores, s.temperature)
        if s.top_k is not None:
            scores = top_k_filter(scores, s.top_k)
        if s.top_p is not None:
            scores = top_p_filter(scores, s.top_p)
        if s.min_p is not None:
            scores = min_p_filter(scores, s.min_p)
    return scores.squeeze(0) if squeeze else scores


def next_token_probs(logits: torch.Tensor, settings: SamplingSettings | None = None, *,
                     input_ids: torch.Tensor | None = None, **keywords) -> torch.Tensor:
    """The probabilities the next token is drawn from, for logits (V,) or (B, V); same shape back.

    Tokens the settings remove have probability exactly 0; the others are renormalised to sum to 1.
    ``temperature=0`` gives a one-hot vector on the most likely token (greedy decoding).

    >>> next_token_probs(torch.tensor([2.0, 1.0, 0.0]), top_k=2)
    tensor([0.7311, 0.2689, 0.0000])
    """
    scores = filter_logits(logits, settings, input_ids=input_ids, **keywords)
    return torch.softmax(scores.float(), dim=-1).to(logits.dtype)


def kept_mask(logits: torch.Tensor, settings: SamplingSettings | None = None, *,
              input_ids: torch.Tensor | None = None, **keywords) -> torch.Tensor:
    """``True`` for each token the settings keep (bool, same shape as ``logits``): what a plot highlights.

    A kept token can still have a probability that rounds to 0 when its score is far below the best one.
    """
    return filter_logits(logits, settings, input_ids=input_ids, **keywords) > -math.inf


def sample_from_probs(probs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw one token id per row of ``probs`` (B, V) -> (B,). A seeded ``generator`` makes it repeatable."""
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(1)


def _as_2d(logits):
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError("logits must be a floating-point torch.Tensor of shape (vocab,) or (batch, vocab)")
    if logits.dim() not in (1, 2) or logits.shape[-1] == 0:
        raise ValueError(f"logits must have shape (vocab,) or (batch, vocab), got {tuple(logits.shape)}")
    if torch.isnan(logits).any():
        raise ValueError("logits contain NaN: the model's output is broken (check for a diverged training run)")
    if (logits == math.inf).any():
        raise ValueError("logits contain +inf: the scores cannot be turned into probabilities")
    if (logits == -math.inf).all(dim=-1).any():
        raise ValueError("every token has score -inf in some row: there is nothing left to choose from")
    if logits.dim() == 1:
        return logits.unsqueeze(0), True
    return logits, False


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)
