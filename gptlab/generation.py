"""Text generation: greedy decoding, sampling, beam search, stopping, streaming, batches of prompts.

The argument names are HuggingFace's (``max_new_tokens``, ``do_sample``, ``temperature``, ``top_k``,
``top_p``, ``min_p``, ``repetition_penalty``, ``num_beams``, ``length_penalty``, ``early_stopping``,
``eos_token_id``, ``stop_strings``), and with the same weights the tokens are the same as
``transformers``' ``generate``.

Every step is: run the model on what is new (the whole prompt first, then one token at a time thanks to the
KV cache), turn the last position's logits into a distribution with
:func:`gptlab.sampling.next_token_probs` (or its log-space twin for beams), pick a token, append it.

Context length. The model has ``block_size`` learned positions. A longer prompt is cropped from the left:
the model sees its last ``block_size`` tokens (the returned sequence still holds the whole prompt). Once the
sequence itself grows past ``block_size``, every step slides the window by one token; since every
token's absolute position then changes, the cache is refilled from the window, so the logits are exactly
those of recomputing the window, at the cost of a full forward pass per token from then on.
"""
from __future__ import annotations

import math
import numbers
import sys
import warnings
from typing import Callable, Iterator

import torch
import torch.nn.functional as F

from .engine.decode import DecodeStep, prompt_logits
from .kv_cache import KVCache
from .sampling import SamplingSettings, filter_logits, sample_from_probs

__all__ = ["generate", "stream", "stream_text", "TextStreamer"]


def generate(
    model,
    idx,
    max_new_tokens: int,
    *,
    settings: SamplingSettings | None = None,
    do_sample: bool | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    min_p: float | None = None,
    repetition_penalty: float | None = None,
    num_beams: int = 1,
    length_penalty: float = 1.0,
    early_stopping: bool | str = False,
    num_return_sequences: int = 1,
    eos_token_id: int | list[int] | None = None,
    pad_token_id: int | None = None,
    stop_strings: str | list[str] | None = None,
    tokenizer=None,
    attention_mask: torch.Tensor | None = None,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    streamer=None,
    use_cache: bool = True,
    logits_out: list | None = None,
) -> torch.Tensor:
    """Continue the prompt(s) ``idx`` by up to ``max_new_tokens`` tokens; return prompt + continuation.

    ``idx``: token ids, a (B, T) or (T,) integer tensor, a list of ints, or a list of lists of different
    lengths (left-padded for you). A padded (B, T) tensor needs ``attention_mask`` (1 real, 0 padding), with
    the padding on the left. The result has the same form: (T + n,) for one prompt, (B, T + n) for a
    batch (padding kept), and each row gets exactly the tokens its prompt would get alone.

    Strategy:
      - greedy (the default): always the most likely token; ``temperature=0`` also means greedy.
      - sampling: ``do_sample=True``, or just give ``temperature``/``top_k``/``top_p``/``min_p`` (then
        ``do_sample`` defaults to ``True``). ``seed`` or ``generator`` makes it repeatable.
      - beam search: ``num_beams > 1`` keeps the ``num_beams`` most likely sequences; scores are divided
        by ``length ** length_penalty``; ``early_stopping`` True stops once ``num_beams`` are finished,
        False stops once no running beam can beat the finished ones, ``"never"`` looks further.
        ``num_return_sequences`` of them come back, best first.
    ``repetition_penalty`` applies to all three. ``settings``, a :class:`gptlab.sampling.SamplingSettings`, may
    carry ``temperature``, ``top_k``, ``top_p``, ``min_p`` and ``repetition_penalty`` instead of the keywords.

    Stopping: after ``max_new_tokens``, or when every sequence has produced ``eos_token_id`` (an id or a
    list) or ends with one of ``stop_strings`` (needs ``tokenizer``). A finished row is filled with
    ``pad_token_id`` (default: the first ``eos_token_id``).

    Streaming: ``streamer`` is either a function called with each step's new tokens (B,) or an object with
    ``put(tokens)``/``end()`` (HuggingFace's protocol: ``put`` first receives the prompt). See also
    :func:`stream` and :func:`stream_text`.

    Context: the model sees at most ``block_size`` tokens. A longer prompt is cropped from the left (the
    result still starts with the whole prompt); a sequence that outgrows the context slides its window one
    token per step, refilling the cache (see the module docstring).

    ``use_cache=False`` recomputes the whole sequence every step (slow; for comparison).
    ``logits_out``, a list, receives each step's raw next-token logits (B, V) (beams: (B * num_beams, V)).
    The model is switched to eval mode (no dropout) while generating and restored afterwards.
    """
    job = _Job.build(model, idx, max_new_tokens, locals())
    with torch.inference_mode():
        if job.num_beams > 1:
            out = _beam_search(job)
        else:
            for _ in _decode_steps(job):
                pass
            out = job.seqs.tokens()
    return job.finish(out.clone())  # cloned outside inference mode: an ordinary tensor, fit for training


def stream(model, idx, max_new_tokens: int, **kwargs) -> Iterator[torch.Tensor]:
    """Like :func:`generate`, but yields each step's new tokens as they come: (B,), or a 0-d tensor for a
    single unbatched prompt (``int(token)`` gives the id). Beam search cannot stream: its best sequence is
    only known at the end. Arguments are checked at once, before the first token."""
    job = _Job.build(model, idx, max_new_tokens, {**_DEFAULTS, **kwargs})
    if job.num_beams > 1:
        raise ValueError("beam search cannot be streamed (the best beam is only known at the end); use generate()")
    return (tokens[0] if job.unbatched else tokens for tokens in _decode_steps(job))


def stream_text(model, tokenizer, prompt: str, max_new_tokens: int, **kwargs) -> Iterator[str]:
    """Yield the continuation of ``prompt`` as text, piece by piece: ``print(piece, end="")`` shows it live.

    Byte-level BPE can split one character over several tokens; a piece is only yielded once it decodes to
    whole characters.
    """
    if not isinstance(prompt, str):
        raise TypeError("prompt must be a string; use stream() for token ids")
    kwargs.setdefault("tokenizer", tokenizer)
    tokens = stream(model, tokenizer.encode(prompt), max_new_tokens, **kwargs)
    return _text_pieces(tokens, _IncrementalDecoder(tokenizer))


def _text_pieces(tokens, decoder) -> Iterator[str]:
    for token in tokens:
        piece = decoder.add(int(token))
        if piece:
            yield piece
    rest = decoder.flush()
    if rest:
        yield rest


class TextStreamer:
    """Prints generated text as it is produced: ``generate(..., streamer=TextStreamer(tokenizer))``.

    Follows HuggingFace's streamer protocol (``put`` with the prompt first, then each new token; ``end``);
    for one sequence at a time.
    """

    def __init__(self, tokenizer, skip_prompt: bool = True, file=None):
        self.tokenizer, self.skip_prompt, self.file = tokenizer, skip_prompt, file
        self._decoder = _IncrementalDecoder(tokenizer)
        self._seen_prompt = False

    def put(self, tokens: torch.Tensor) -> None:
        if tokens.dim() > 1 and tokens.shape[0] > 1:
            raise ValueError("TextStreamer prints one sequence; generate one prompt at a time")
        ids = tokens.reshape(-1).tolist()
        if not self._seen_prompt:
            self._seen_prompt = True
            if self.skip_prompt:
                return
        self._write("".join(self._decoder.add(i) for i in ids))

    def end(self) -> None:
        self._write(self._decoder.flush() + "\n")

    def _write(self, text: str) -> None:
        if text:
            out = self.file or sys.stdout
            out.write(text)
            out.flush()


class _IncrementalDecoder:
    """Turns a growing list of token ids into new text, holding back incomplete UTF-8 characters."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.printed = 0  # characters of decode(self.ids) already handed out

    def add(self, token: int) -> str:
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids)
        if text.endswith("\ufffd"):  # a character split over tokens: wait for the rest
            return ""
        piece, self.printed = text[self.printed:], len(text)
        if len(self.ids) > 64:  # keep decoding cheap: restart from here
            self.ids, self.printed = [], 0
        return piece

    def flush(self) -> str:
        text = self.tokenizer.decode(self.ids)
        piece = text[self.printed:]
        self.ids, self.printed = [], 0
        return piece


# --------------------------------------------------------------------------------------------------------
# Arguments


_SETTINGS = ("temperature", "top_k", "top_p", "min_p", "repetition_penalty")  # SamplingSettings' fields
_DEFAULTS = dict(
    settings=None, do_sample=None, temperature=1.0, top_k=None, top_p=None, min_p=None, repetition_penalty=None,
    num_beams=1, length_penalty=1.0, early_stopping=False, num_return_sequences=1, eos_token_id=None,
    pad_token_id=None, stop_strings=None, tokenizer=None, attention_mask=None, seed=None, generator=None,
    streamer=None, use_cache=True, logits_out=None,
)


class _Job:
    """Everything one call needs, checked once: the model, the padded prompts and the settings."""

    @classmethod
    def build(cls, model, idx, max_new_tokens, args: dict) -> "_Job":
        unknown = set(args) - set(_DEFAULTS) - {"model", "idx", "max_new_tokens"}
        if unknown:
            raise TypeError(f"generate() got unexpected argument(s): {', '.join(sorted(unknown))}")
        job = cls()
        job.model = model
        a = {k: args.get(k, v) for k, v in _DEFAULTS.items()}
        cfg = model.config
        V = cfg.vocab_size

        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, numbers.Integral) or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be a whole number >= 0, got {max_new_tokens!r}")
        job.max_new_tokens = int(max_new_tokens)

        # --- strategy
        num_beams = a["num_beams"]
        if isinstance(num_beams, bool) or not isinstance(num_beams, numbers.Integral) or num_beams < 1:
            raise ValueError(f"num_beams must be a whole number >= 1 (1 means no beam search), got {num_beams!r}")
        job.num_beams = int(num_beams)
        by_name = {k: a[k] for k in _SETTINGS if a[k] != _DEFAULTS[k]}
        if a["settings"] is not None and by_name:
            raise TypeError(f"give the sampling settings either as settings=... or by name, not both "
                            f"(got settings and {', '.join(by_name)})")
        settings = SamplingSettings.of(a["settings"], **by_name)
        sampling_given = [n for n in ("top_k", "top_p", "min_p") if getattr(settings, n) is not None]
        if settings.greedy:  # greedy however it is filtered
            sampling_given = []
        elif settings.temperature != 1.0:
            sampling_given.insert(0, "temperature")
        do_sample = a["do_sample"]
        if do_sample is None:
            do_sample = bool(sampling_given) and job.num_beams == 1
        elif not isinstance(do_sample, bool):
            raise ValueError(f"do_sample must be True or False, got {do_sample!r}")
        elif not do_sample and sampling_given and job.num_beams == 1:
            warnings.warn(
                f"do_sample=False decodes greedily, so {', '.join(sampling_given)} has no effect; "
                "pass do_sample=True to sample", stacklevel=3,
            )
        if job.num_beams > 1 and (do_sample or sampling_given):
            raise ValueError(
                "beam search (num_beams > 1) here is deterministic: it cannot be combined with sampling "
                f"({'do_sample=True' if do_sample else ', '.join(sampling_given)}); use num_beams=1 to sample"
            )
        if settings.greedy:
            do_sample = False  # temperature 0 is greedy decoding
        job.do_sample = do_sample
        job.settings = settings  # what sampling draws from (greedy and beams use the repetition penalty alone)
        job.penalty_only = SamplingSettings(repetition_penalty=settings.repetition_penalty)

        lp = a["length_penalty"]
        if not isinstance(lp, numbers.Real) or isinstance(lp, bool) or not math.isfinite(lp):
            raise ValueError(f"length_penalty must be a number, got {lp!r}")
        job.length_penalty = float(lp)
        early = a["early_stopping"]
        if not (isinstance(early, bool) or early == "never"):
            raise ValueError(f"early_stopping must be True, False or 'never', got {early!r}")
        job.early_stopping = early

        nrs = a["num_return_sequences"]
        if isinstance(nrs, bool) or not isinstance(nrs, numbers.Integral) or nrs < 1:
            raise ValueError(f"num_return_sequences must be a whole number >= 1, got {nrs!r}")
        if job.num_beams > 1 and nrs > job.num_beams:
            raise ValueError(f"num_return_sequences ({nrs}) cannot exceed num_beams ({job.num_beams})")
        if job.num_beams == 1 and not job.do_sample and nrs > 1:
            raise ValueError("greedy decoding gives one sequence per prompt: num_return_sequences > 1 needs "
                             "do_sample=True or num_beams > 1")
        job.num_return_sequences = int(nrs)

        # --- stopping
        eos = a["eos_token_id"]
        if isinstance(eos, torch.Tensor):
            eos = eos.flatten().tolist()
        eos_list = [] if eos is None else ([eos] if isinstance(eos, numbers.Integral) else list(eos))
        for t in eos_list:
            if isinstance(t, bool) or not isinstance(t, numbers.Integral) or not 0 <= t < V:
                raise ValueError(f"eos_token_id must be token id(s) in [0, {V}), got {eos!r}")
        job.eos = torch.tensor(eos_list, dtype=torch.long, device=model.device)
        pad = a["pad_token_id"]
        if pad is not None and (isinstance(pad, bool) or not isinstance(pad, numbers.Integral) or not 0 <= pad < V):
            raise ValueError(f"pad_token_id must be a token id in [0, {V}), got {pad!r}")
        job.pad = int(pad) if pad is not None else (eos_list[0] if eos_list else 0)
        stops = a["stop_strings"]
        if stops is not None:
            stops = [stops] if isinstance(stops, str) else list(stops)
            if not stops or not all(isinstance(s, str) and s for s in stops):
                raise ValueError("stop_strings must be a non-empty string or a list of non-empty strings")
            if a["tokenizer"] is None:
                raise ValueError("stop_strings needs tokenizer=... to turn the generated tokens into text")
        job.stop_strings, job.tokenizer = stops, a["tokenizer"]

        # --- randomness
        if a["seed"] is not None and a["generator"] is not None:
            raise ValueError("give either seed or generator, not both")
        if a["seed"] is not None:
            if isinstance(a["seed"], bool) or not isinstance(a["seed"], numbers.Integral):
                raise ValueError(f"seed must be an integer, got {a['seed']!r}")
            job.generator = torch.Generator(device=model.device).manual_seed(int(a["seed"]))
        else:
            job.generator = a["generator"]

        streamer = a["streamer"]
        if streamer is not None and not callable(streamer) and not (hasattr(streamer, "put") and hasattr(streamer, "end")):
            raise ValueError("streamer must be a function of the new tokens or an object with put() and end()")
        if streamer is not None and job.num_beams > 1:
            raise ValueError("beam search cannot be streamed (the best beam is only known at the end)")
        job.streamer = streamer
        job.use_cache = bool(a["use_cache"])
        if a["logits_out"] is not None and not isinstance(a["logits_out"], list):
            raise ValueError("logits_out must be a list (it receives each step's logits)")
        job.logits_out = a["logits_out"]

        # --- prompts
        tokens, mask, job.unbatched = _prompts_as_tensor(idx, a["attention_mask"], job.pad, V, model.device)
        if job.num_return_sequences > 1 and job.num_beams == 1:  # several samples per prompt
            tokens = tokens.repeat_interleave(job.num_return_sequences, dim=0)
            mask = None if mask is None else mask.repeat_interleave(job.num_return_sequences, dim=0)
        if job.unbatched and job.num_return_sequences > 1:
            job.unbatched = False  # several sequences come back: keep the batch dimension
        job.prompt_len = tokens.shape[1]
        job.seqs = _Sequences(model, tokens, mask, job.max_new_tokens, job.use_cache)
        return job

    def finish(self, out: torch.Tensor) -> torch.Tensor:
        return out[0] if self.unbatched else out


def _prompts_as_tensor(idx, attention_mask, pad, V, device):
    """(B, T) token tensor and (B, T) mask (or ``None`` when nothing is padded), and whether idx was 1-D."""
    unbatched = False
    if isinstance(idx, torch.Tensor):
        if idx.is_floating_point() or idx.dtype == torch.bool or idx.is_complex():
            raise TypeError(f"token ids must be integers, got a {idx.dtype} tensor")
        if idx.dim() == 1:
            idx, unbatched = idx.unsqueeze(0), True
        elif idx.dim() != 2:
            raise ValueError(f"token ids must have shape (batch, time) or (time,), got {tuple(idx.shape)}")
        tokens = idx.to(device=device, dtype=torch.long)
    else:
        rows = list(idx) if isinstance(idx, (list, tuple)) else None
        if rows is None:
            raise TypeError("prompt must be token ids: a tensor, a list of ints or a list of lists of ints")
        if rows and all(isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in rows):
            rows, unbatched = [rows], True
        if not rows or not all(isinstance(r, (list, tuple)) for r in rows):
            raise ValueError("prompt must be a non-empty list of token ids, or a list of such lists")
        if attention_mask is not None:
            raise ValueError("attention_mask is only for a padded tensor; lists of prompts are padded for you")
        if any(len(r) == 0 for r in rows):
            raise ValueError("empty prompt: every prompt needs at least one token")
        T = max(len(r) for r in rows)
        tokens = torch.full((len(rows), T), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), T), dtype=torch.long)
        for i, r in enumerate(rows):
            if len(r):
                tokens[i, T - len(r):] = torch.tensor(r, dtype=torch.long)
                mask[i, T - len(r):] = 1
        tokens, attention_mask = tokens.to(device), (mask.to(device) if (mask == 0).any() else None)
    if tokens.numel() == 0:
        raise ValueError("empty prompt: give at least one token")

    mask = None
    if attention_mask is not None:
        m = torch.as_tensor(attention_mask, device=device)
        if unbatched and m.dim() == 1:
            m = m.unsqueeze(0)
        if m.shape != tokens.shape:
            raise ValueError(f"attention_mask has shape {tuple(m.shape)}, the prompt {tuple(tokens.shape)}")
        if not ((m == 0) | (m == 1)).all():
            raise ValueError("attention_mask may only hold 1 (real token) and 0 (padding)")
        m = m.long()
        if (m.sum(1) == 0).any():
            raise ValueError("a prompt is all padding: every prompt needs at least one real token")
        if (m[:, 1:] < m[:, :-1]).any():
            raise ValueError("padding must be on the left (0s before 1s in each row of attention_mask): "
                             "the new tokens are appended on the right")
        mask = m if (m == 0).any() else None
    real = tokens if mask is None else tokens[mask.bool()]
    lo, hi = int(real.min()), int(real.max())
    if lo < 0 or hi >= V:
        raise ValueError(f"token ids must lie in [0, {V}) for this model, got values in [{lo}, {hi}]")
    if mask is not None:  # padding may hold any id; give the model a valid one
        tokens = tokens.masked_fill(mask == 0, pad)
    return tokens, mask, unbatched


# --------------------------------------------------------------------------------------------------------
# The growing sequences and the model calls


class _Sequences:
    """The token rows being generated, preallocated to their final length, with their padding mask and cache.

    ``next_logits()`` runs the model on whatever it has not seen yet and returns the last position's logits
    (B, V) in float32. With the cache that is one token per step; without it, or once the sequence is longer
    than the context, the whole (cropped) window.
    """

    def __init__(self, model, tokens, mask, max_new_tokens, use_cache):
        B, T = tokens.shape
        self.model = model
        self.block_size = model.config.block_size
        self.buf = torch.empty(B, T + max_new_tokens, dtype=torch.long, device=tokens.device)  # (B, T + n)
        self.buf[:, :T] = tokens
        self.mask = None  # (B, T + n), only when some row is padded
        if mask is not None:
            self.mask = torch.ones(B, T + max_new_tokens, dtype=torch.long, device=tokens.device)
            self.mask[:, :T] = mask
        self.len = T
        self.cache = None
        self.step = None  # the engine's DecodeStep, or False when the model runs itself; chosen at the first call
        if use_cache:
            room = min(self.block_size, T + max_new_tokens)
            self.cache = KVCache.for_model(model, B, max_len=room)

    def tokens(self) -> torch.Tensor:
        return self.buf[:, : self.len]

    def ids_for_penalty(self) -> torch.Tensor:
        """The tokens so far with padding as -1, which the repetition penalty ignores."""
        ids = self.tokens()
        return ids if self.mask is None else ids.masked_fill(self.mask[:, : self.len] == 0, -1)

    def append(self, new: torch.Tensor) -> None:
        self.buf[:, self.len] = new
        self.len += 1

    def reorder(self, rows: torch.Tensor) -> None:
        """Keep rows ``rows`` (beam search): tokens, mask and cache alike."""
        self.buf[:, : self.len] = self.buf[rows, : self.len]
        if self.mask is not None:
            self.mask = self.mask[rows]
        if self.cache is not None:
            self.cache.reorder(rows)

    def repeat_interleave(self, n: int) -> None:
        """Give every row ``n`` copies (beam search, after the prompt has been processed once)."""
        self.buf = self.buf.repeat_interleave(n, dim=0)
        if self.mask is not None:
            self.mask = self.mask.repeat_interleave(n, dim=0)
        if self.cache is not None:
            self.cache = self.cache.repeat_interleave(n)

    def next_logits(self) -> torch.Tensor:
        L = self.len
        cache = self.cache
        if self.step is None:  # how the model is run: the engine's step for a stock model, else its forward
            self.step = DecodeStep(self.model) if DecodeStep.supports(self.model) else False
        if cache is not None and 0 < cache.seq_len == L - 1 and L <= self.block_size:
            # Decode one token: the cache holds positions 0 .. L-2.
            step = self.step or _forward_step(self.model)
            if self.mask is None:
                return step(self.buf[:, L - 1 : L], cache).float()
            mask = self.mask[:, :L]
            pos = mask.sum(dim=1, keepdim=True) - 1  # (B, 1): real tokens before this one
            return step(self.buf[:, L - 1 : L], cache, attention_mask=mask, position_ids=pos).float()
        # Process the window of the last block_size tokens from scratch (prompt, no cache, or past the
        # context, where every position has shifted and the cached keys no longer apply).
        start = max(0, L - self.block_size)
        window = self.buf[:, start:L]
        if cache is not None:
            cache.reset()
        kwargs = {}
        if self.mask is not None:
            mask = self.mask[:, start:L]
            pos = (mask.cumsum(dim=1) - 1).clamp(min=0)  # (B, T): padding sits at 0, real tokens count up
            kwargs = dict(attention_mask=mask, position_ids=pos)
        return prompt_logits(self.model, self.step or None, window, cache, **kwargs).float()  # (B, V)


def _forward_step(model):
    """The model's own forward pass as a decoding step (for models :class:`DecodeStep` does not vouch for)."""

    def step(tokens, cache, **kwargs):
        return model(tokens, cache=cache, last_only=True, **kwargs)[:, -1, :]  # (B, V)

    return step


class _Generating:
    """While generating: dropout off; undone after."""

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        self.was_training = self.model.training
        self.model.eval()

    def __exit__(self, *exc):
        self.model.train(self.was_training)


# --------------------------------------------------------------------------------------------------------
# Greedy decoding and sampling


def _decode_steps(job) -> Iterator[torch.Tensor]:
    """Generate one token per row per step, yielding them (B,); stops early once every row has finished.

    Inference mode is switched on for each step only, not across the ``yield``: the code of a loop over
    :func:`stream` runs with autograd as it was.
    """
    seqs = job.seqs
    B = seqs.buf.shape[0]
    unfinished = torch.ones(B, dtype=torch.bool, device=seqs.buf.device)
    stop_checker = _StopStrings(job.stop_strings, job.tokenizer) if job.stop_strings else None
    _stream_put(job.streamer, seqs.tokens(), prompt=True)
    try:
        with _Generating(job.model):
            for _ in range(job.max_new_tokens):
                with torch.inference_mode():
                    logits = seqs.next_logits()  # (B, V)
                    if job.logits_out is not None:
                        job.logits_out.append(logits.clone())
                    new = _next_tokens(job, logits)  # (B,)
                    new = torch.where(unfinished, new, job.pad)
                    seqs.append(new)
                    if job.eos.numel():
                        unfinished = unfinished & ~torch.isin(new, job.eos)
                    if stop_checker is not None:
                        unfinished = unfinished & ~stop_checker.hit(seqs.ids_for_penalty(), unfinished)
                new = new.clone()  # outside inference mode: an ordinary tensor for the caller
                _stream_put(job.streamer, new, prompt=False)
                yield new
                if not unfinished.any():
                    break
    finally:
        _stream_end(job.streamer)


def _next_tokens(job, logits: torch.Tensor) -> torch.Tensor:
    """Pick each row's next token from its logits (B, V): the argmax, or a draw from next_token_probs."""
    penalised = job.settings.repetition_penalty is not None
    ids = job.seqs.ids_for_penalty() if penalised else None
    if job.do_sample:
        scores = filter_logits(logits, job.settings, input_ids=ids)
        return sample_from_probs(torch.softmax(scores, dim=-1), job.generator)
    if penalised:
        logits = filter_logits(logits, job.penalty_only, input_ids=ids)
    return _argmax(logits)


def _argmax(logits: torch.Tensor) -> torch.Tensor:
    """Each row's argmax (B,), the first one on ties, as ``torch.argmax``. On a CPU NumPy's is used: over
    GPT-2's 50,257 logits it takes ~3 us where torch's takes ~70 us, a visible share of a decoding step."""
    if logits.device.type == "cpu" and logits.dtype == torch.float32:
        return torch.from_numpy(logits.numpy().argmax(axis=-1))
    return logits.argmax(dim=-1)


def _stream_put(streamer, tokens, prompt):
    if streamer is None:
        return
    if hasattr(streamer, "put"):
        streamer.put(tokens.cpu())
    elif not prompt:
        streamer(tokens.cpu())


def _stream_end(streamer):
    if streamer is not None and hasattr(streamer, "end"):
        streamer.end()


class _StopStrings:
    """Finds sequences whose text now ends with a stop string (one that ends inside the newest token)."""

    def __init__(self, stop_strings, tokenizer):
        self.stops, self.tokenizer = stop_strings, tokenizer
        # n characters are at most 4n bytes and every token is at least one byte, so a stop string lies in
        # the last 4n tokens; one more covers a character cut in two.
        self.lookback = 4 * max(len(s) for s in stop_strings) + 1

    def hit(self, tokens: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """For token rows (N, L), padding as -1: which of the rows selected by ``rows`` (N,) bool just stopped."""
        hits = torch.zeros_like(rows)
        recent = tokens[:, -self.lookback:].tolist()
        for row in rows.nonzero().flatten().tolist():
            hits[row] = self.ends_with_stop([t for t in recent[row] if t >= 0])
        return hits

    def ends_with_stop(self, ids: list[int]) -> bool:
        ids = ids[-self.lookback:]
        text = self.tokenizer.decode(ids)
        # The newest token's text starts where the shorter decode ends (up to a split character).
        first_new = len(self.tokenizer.decode(ids[:-1]).rstrip("\ufffd"))
        for s in self.stops:
            at = text.rfind(s)
            if at >= 0 and at + len(s) > first_new:
                return True
        return False


# --------------------------------------------------------------------------------------------------------
# Beam search


def _beam_search(job) -> torch.Tensor:
    """Beam search over B prompts at once, ``num_beams`` hypotheses each (rows b*nb .. b*nb + nb-1).

    Each step every running beam proposes its continuations; of the nb x V candidates the best
    ``K = (1 + number of eos ids, at least 2) x nb`` are kept, so that even if some end here enough remain to
    continue. Candidates that end (eos, or the last step) and rank among the best nb enter the finished list
    with their score divided by ``length ** length_penalty``; the best nb that do not end run on.
    """
    seqs, nb = job.seqs, job.num_beams
    B = seqs.buf.shape[0]
    device = seqs.buf.device
    n_eos = job.eos.numel()
    K = max(2, 1 + n_eos) * nb
    max_new = job.max_new_tokens
    lp, early = job.length_penalty, job.early_stopping
    NEG = -1.0e9  # "impossible" without producing inf - inf

    # Running beams: only the first beam of each prompt starts live, so the first step does not pick the
    # same token nb times.
    running_scores = torch.full((B, nb), NEG, device=device)
    running_scores[:, 0] = 0.0
    done_scores = torch.full((B, nb), NEG, device=device)  # finished hypotheses, best first
    done_tokens = torch.full((B, nb, max(max_new, 1)), job.pad, dtype=torch.long, device=device)
    done_lens = torch.zeros((B, nb), dtype=torch.long, device=device)
    done_real = torch.zeros((B, nb), dtype=torch.bool, device=device)  # slot holds a real hypothesis
    can_improve = torch.ones(B, dtype=torch.bool, device=device)
    rank = torch.arange(K, device=device)
    stop_checker = _StopStrings(job.stop_strings, job.tokenizer) if job.stop_strings else None
    steps_taken = 0

    with _Generating(job.model):
        if max_new > 0:
            logits = seqs.next_logits()  # (B, V): the prompt, processed once per prompt
            seqs.repeat_interleave(nb)
            logits = logits.repeat_interleave(nb, dim=0)  # (B*nb, V)
        for step in range(max_new):
            if step > 0:
                logits = seqs.next_logits()  # (B*nb, V)
            if job.logits_out is not None:
                job.logits_out.append(logits.clone())
            V = logits.shape[-1]
            logp = F.log_softmax(logits, dim=-1)
            if job.settings.repetition_penalty is not None:
                logp = filter_logits(logp, job.penalty_only, input_ids=seqs.ids_for_penalty())
            total = (logp.view(B, nb, V) + running_scores[:, :, None]).view(B, nb * V)
            cand_scores, cand = torch.topk(total, K, dim=1)  # (B, K), best first
            cand_beam, cand_token = cand // V, cand % V  # (B, K)
            ends = torch.isin(cand_token, job.eos) if n_eos else torch.zeros_like(cand_token, dtype=torch.bool)
            if stop_checker is not None:
                ends |= _candidates_hit_stop(stop_checker, seqs, cand_beam, cand_token, nb)
            if step == max_new - 1:
                ends = torch.ones_like(ends)

            # Finished hypotheses: candidates that end and are among the best nb, while the prompt can still
            # improve (and, with early_stopping=True, has fewer than nb finished).
            length = step + 1
            accept = ends & (rank < nb) & can_improve[:, None]
            if early is True:
                accept &= ~done_real.all(dim=1, keepdim=True)
            new_scores = torch.where(accept, cand_scores / (length**lp), -math.inf)
            merged_scores = torch.cat([done_scores, new_scores], dim=1)  # (B, nb + K)
            keep = torch.topk(merged_scores, nb, dim=1).indices  # (B, nb)
            past = seqs.tokens()[:, job.prompt_len:].reshape(B, nb, step)  # (B, nb, step)
            new_tokens = torch.full((B, K, done_tokens.shape[2]), job.pad, dtype=torch.long, device=device)
            new_tokens[:, :, :step] = past.gather(1, cand_beam[:, :, None].expand(B, K, step))
            new_tokens[:, :, step] = cand_token
            merged_tokens = torch.cat([done_tokens, new_tokens], dim=1)
            merged_lens = torch.cat([done_lens, torch.full((B, K), length, device=device)], dim=1)
            merged_real = torch.cat([done_real, accept], dim=1)
            done_scores = merged_scores.gather(1, keep)
            done_tokens = merged_tokens.gather(1, keep[:, :, None].expand(B, nb, done_tokens.shape[2]))
            done_lens = merged_lens.gather(1, keep)
            done_real = merged_real.gather(1, keep)
            steps_taken = length
            if step == max_new - 1:
                break

            # Running beams for the next step: the best nb candidates that did not end.
            live_scores = cand_scores + ends.float() * NEG
            pick = torch.topk(live_scores, nb, dim=1).indices  # (B, nb)
            running_scores = live_scores.gather(1, pick)
            rows = (cand_beam.gather(1, pick) + torch.arange(B, device=device)[:, None] * nb).view(-1)
            seqs.reorder(rows)
            seqs.append(cand_token.gather(1, pick).view(-1))

            # Can a running beam still beat the worst finished one? With a positive length penalty and
            # early_stopping="never", assume it could grow to max_new tokens; otherwise judge it as it is.
            if early == "never" and lp > 0:
                best_length = max_new
            else:
                best_length = length
            best_possible = running_scores[:, 0] / (best_length**lp)
            full = done_real.all(dim=1)
            can_improve &= ~full | (best_possible > done_scores.min(dim=1).values)
            if (early is True and full.all()) or not can_improve.any():
                break

    n = job.num_return_sequences
    out_len = int(done_lens[:, :n].max()) if steps_taken else 0
    prompts = seqs.buf[::nb, : job.prompt_len] if steps_taken else seqs.tokens()  # (B, T)
    out = torch.cat([prompts.repeat_interleave(n, dim=0), done_tokens[:, :n, :out_len].reshape(B * n, out_len)], 1)
    return out


def _candidates_hit_stop(checker, seqs, cand_beam, cand_token, nb) -> torch.Tensor:
    """(B, K) bool: which candidate continuations (beam ``cand_beam`` + token ``cand_token``) end with a stop string."""
    B, K = cand_token.shape
    recent = seqs.ids_for_penalty()[:, -checker.lookback:].tolist()  # (B*nb rows), padding as -1
    hits = torch.zeros(B, K, dtype=torch.bool)
    for b in range(B):
        for k in range(K):
            beam = recent[b * nb + int(cand_beam[b, k])]
            hits[b, k] = checker.ends_with_stop([t for t in beam if t >= 0] + [int(cand_token[b, k])])
    return hits.to(cand_token.device)
