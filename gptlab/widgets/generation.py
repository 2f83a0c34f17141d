"""The generation explorer: a prompt, the settings that reshape its next-token distribution, and what each
decoding strategy writes with them.

Sliders set temperature, top-k, top-p, min-p and the repetition penalty; every change redraws the most
likely next tokens as bars (the ones the settings keep highlighted), prints one summary line and writes the
continuation of each strategy (greedy, sampling, beam search) side by side, with the log-probability the
model gives it. The numbers come from :func:`gptlab.sampling.next_token_probs` and
:func:`gptlab.sampling.kept_mask`, the functions :func:`gptlab.generation.generate` samples with, and the
continuations are :func:`~gptlab.generation.generate`'s own, so what the explorer shows is what gets written.

"next token" steps through a generation one token at a time: each press chooses one token with the current
strategy (greedy: the most likely; sample: a seeded draw from the bars; beam: the next token of beam
search's text) and shows the distribution it was chosen from, the token and the running log-probability.
"""
from __future__ import annotations

import dataclasses

import torch

from ..sampling import SamplingSettings, kept_mask, next_token_probs, sample_from_probs
from .base import Explorer, ExplorerError, evaluating

# The controls' ranges are part of the course's contract (the browser test moves them by description).
TEMPERATURE = dict(description="temperature", value=1.0, min=0.05, max=2.0, step=0.05)
TOP_K = dict(description="top-k", value=0, min=0, max=100, step=1)  # 0 means "off"
TOP_P = dict(description="top-p", value=1.0, min=0.05, max=1.0, step=0.05)  # 1.0 means "off"
MIN_P = dict(description="min-p", value=0.0, min=0.0, max=0.5, step=0.01)  # 0 means "off"
REPETITION_PENALTY = dict(description="repetition penalty", value=1.0, min=1.0, max=2.0, step=0.05)  # 1.0: off
STRATEGIES = ("greedy", "sample", "beam")
NUM_BEAMS = 4


def summary_line(kept: int, vocab: int, top_probability: float, entropy: float) -> str:
    """The line the explorer prints, e.g. ``kept 12 of 65 tokens · top probability 0.4312 · entropy 1.2345 nats``."""
    return (f"kept {kept} of {vocab} tokens \u00b7 top probability {top_probability:.4f} "
            f"\u00b7 entropy {entropy:.4f} nats")


def step_line(n: int, token: str, probability: float, log_prob: float, total: float) -> str:
    """The line printed after each step, e.g. ``step 3: chose 'e' · p 0.4100 · log P -0.8916 · running
    log-probability -3.2100 nats``: ``p`` in the distribution the token was chosen from, ``log P`` under the
    model itself (temperature 1, nothing filtered)."""
    return (f"step {n}: chose {token!r} \u00b7 p {probability:.4f} \u00b7 log P {log_prob:.4f} "
            f"\u00b7 running log-probability {total:.4f} nats")


def entropy_nats(probs: torch.Tensor) -> float:
    """-sum p ln p over the tokens that can still be drawn (a removed token, p = 0, adds nothing)."""
    p = probs[probs > 0].double()
    return max(0.0, float(-(p * p.log()).sum()))  # one kept token: 0, not -0


class GenerationExplorer(Explorer):
    """A prompt box, sliders for temperature, top-k, top-p, min-p and the repetition penalty, a log-scale
    toggle, a strategy switch and a "next token" button, over the next-token distribution after the prompt.

    ``model`` is a :class:`gptlab.GPT`, ``tokenizer`` anything with ``encode``/``decode``/``token_strings``.
    ``bars`` most likely tokens are drawn; each strategy writes ``max_new_tokens`` (sampling seeded with
    ``seed``, so the same settings always give the same text). Display the explorer as the last line of a
    cell; :meth:`set` moves its controls from code (``set(top_p=0.5)``), :meth:`step` presses "next token".
    """

    def __init__(self, model, tokenizer, prompt: str, *, bars: int = 20, max_new_tokens: int = 80, seed: int = 0):
        import ipywidgets as widgets

        if bars < 1 or max_new_tokens < 0:
            raise ValueError(f"bars must be positive and max_new_tokens non-negative, got {bars}, {max_new_tokens}")
        self.model, self.tokenizer = model, tokenizer
        self.bars, self.max_new_tokens, self.seed = bars, max_new_tokens, seed
        wide = dict(style={"description_width": "initial"}, continuous_update=False)
        self.prompt = widgets.Textarea(value=prompt, description="prompt", continuous_update=False,
                                       layout=widgets.Layout(width="60em", height="4.5em"))
        self.temperature = widgets.FloatSlider(**TEMPERATURE, readout_format=".2f", **wide)
        self.top_k = widgets.IntSlider(**TOP_K, **wide)
        self.top_p = widgets.FloatSlider(**TOP_P, readout_format=".2f", **wide)
        self.min_p = widgets.FloatSlider(**MIN_P, readout_format=".2f", **wide)
        self.repetition_penalty = widgets.FloatSlider(**REPETITION_PENALTY, readout_format=".2f", **wide)
        self.log_scale = widgets.Checkbox(value=False, description="log scale", indent=False)
        self.strategy = widgets.ToggleButtons(options=STRATEGIES, value="sample", description="strategy")
        self.next_token = widgets.Button(description="next token", icon="step-forward")
        self.restart = widgets.Button(description="restart", icon="undo")
        self.controls = dict(prompt=self.prompt, temperature=self.temperature, top_k=self.top_k, top_p=self.top_p,
                             min_p=self.min_p, repetition_penalty=self.repetition_penalty,
                             log_scale=self.log_scale, strategy=self.strategy)
        # Before the redraw observers: a new prompt or strategy starts the step-through again.
        self.prompt.observe(lambda change: self._forget_steps(), names="value")
        self.strategy.observe(self._strategy_changed, names="value")
        self.next_token.on_click(lambda button: self.step())
        self.restart.on_click(lambda button: self.reset_steps())
        self._logits_cache: dict = {}
        self._continuations_cache: dict = {}
        self._forget_steps()
        self._build([
            self.prompt,
            widgets.HBox([self.temperature, self.top_k, self.top_p]),
            widgets.HBox([self.min_p, self.repetition_penalty, self.log_scale]),
            widgets.HBox([self.strategy, self.next_token, self.restart]),
        ])

    @property
    def sliders(self):
        return (self.temperature, self.top_k, self.top_p, self.min_p, self.repetition_penalty)

    # --- what the controls mean -----------------------------------------------------------------------

    def settings(self, strategy: str | None = None) -> SamplingSettings:
        """The sliders as the settings ``strategy`` (default: the switch's) chooses with. Sampling uses them
        all (top-k 0, top-p 1.0, min-p 0 and penalty 1.0 mean "off"); greedy is temperature 0; beam search
        ranks the model's own log-probabilities; all three use the repetition penalty."""
        strategy = strategy or self.strategy.value
        penalty = float(self.repetition_penalty.value)
        penalty = penalty if penalty != 1.0 else None
        if strategy == "greedy":
            return SamplingSettings(temperature=0.0, repetition_penalty=penalty)
        if strategy == "beam":
            return SamplingSettings(repetition_penalty=penalty)
        return SamplingSettings(
            temperature=float(self.temperature.value),
            top_k=int(self.top_k.value) or None,
            top_p=float(self.top_p.value) if self.top_p.value < 1.0 else None,
            min_p=float(self.min_p.value) or None,
            repetition_penalty=penalty,
        )

    def prompt_ids(self) -> list[int]:
        prompt = self.prompt.value
        if not prompt:
            raise ExplorerError("type a prompt: the bars are the distribution of the token that comes after it")
        ids = list(self.tokenizer.encode(prompt))
        if not ids:
            raise ExplorerError(f"the prompt {prompt!r} encodes to no tokens at all: type some text")
        return ids

    def compute(self) -> dict:
        """What the current controls do to the distribution after the prompt (and the steps taken)."""
        prompt_ids = self.prompt_ids()
        context = prompt_ids + [s["id"] for s in self.steps]
        logits = self._logits(context)  # (V,)
        settings = self.settings()
        input_ids = torch.tensor([context])  # (1, T): what the repetition penalty looks at
        probs = next_token_probs(logits, settings, input_ids=input_ids)  # (V,)
        kept = kept_mask(logits, settings, input_ids=input_ids)  # (V,) bool
        # The outline: after the penalty and temperature, before any token is removed.
        outline = SamplingSettings(temperature=settings.temperature if not settings.greedy else 1.0,
                                   repetition_penalty=settings.repetition_penalty)
        before = next_token_probs(logits, outline, input_ids=input_ids)
        # Most likely first before anything is removed: the kept tokens lead, the removed ones follow in order.
        order = torch.argsort(before, descending=True, stable=True)[: self.bars]
        continuations = self._continuations(prompt_ids)
        return dict(
            prompt=self.prompt.value,
            strategy=self.strategy.value,
            log_scale=bool(self.log_scale.value),
            settings=dataclasses.asdict(settings),
            probs=probs,
            kept=int(kept.sum()),
            vocab=logits.shape[-1],
            top_probability=float(probs.max()),
            entropy=entropy_nats(probs),
            shown_ids=order.tolist(),
            shown_tokens=self.tokenizer.token_strings(order.tolist()),
            shown_probs=probs[order].tolist(),
            shown_unfiltered=before[order].tolist(),
            shown_kept=kept[order].tolist(),
            line=summary_line(int(kept.sum()), logits.shape[-1], float(probs.max()), entropy_nats(probs)),
            steps=[dict(s) for s in self.steps],
            running_log_prob=sum(s["log_prob"] for s in self.steps),
            step_line=self._step_line(),
            generated=self.tokenizer.decode([s["id"] for s in self.steps]),
            continuations=continuations,
            sample=continuations["sample"]["text"],
        )

    # --- step-through ---------------------------------------------------------------------------------

    def step(self) -> dict:
        """Choose one more token with the current strategy and settings ("next token"); returns :attr:`state`."""
        try:
            prompt_ids = self.prompt_ids()
            context = prompt_ids + [s["id"] for s in self.steps]
            logits = self._logits(context)
            probs = next_token_probs(logits, self.settings(), input_ids=torch.tensor([context]))
            strategy = self.strategy.value
            if strategy == "beam":
                plan = self._continuations(prompt_ids)["beam"]["ids"]
                if [s["id"] for s in self.steps] != plan[: len(self.steps)]:
                    raise ExplorerError("the steps so far are not beam search's text (the settings changed): "
                                        "press restart")
                if len(self.steps) >= len(plan):
                    raise ExplorerError(f"beam search's text ends after {len(plan)} tokens: press restart")
                token = plan[len(self.steps)]
            elif strategy == "greedy":
                token = int(probs.argmax())
            else:
                token = int(sample_from_probs(probs[None], self._generator)[0])
        except ExplorerError as e:
            self.redraw(str(e))
            return self.state
        except (ValueError, TypeError, LookupError):
            self.redraw()  # the same input problem compute() explains
            return self.state
        log_prob = float(torch.log_softmax(logits.double(), dim=-1)[token])
        self.steps.append(dict(id=token, token=self.tokenizer.token_strings([token])[0],
                               probability=float(probs[token]), log_prob=log_prob))
        self.redraw()
        return self.state

    def reset_steps(self) -> dict:
        """Back to the prompt ("restart"); returns :attr:`state`."""
        self._forget_steps()
        self.redraw()
        return self.state

    def _forget_steps(self) -> None:
        self.steps: list[dict] = []
        self._generator = torch.Generator().manual_seed(self.seed)

    def _strategy_changed(self, change) -> None:
        self._forget_steps()
        for s in (self.temperature, self.top_k, self.top_p, self.min_p):
            s.disabled = change["new"] != "sample"  # greedy and beam search ignore them

    def _step_line(self) -> str:
        if not self.steps:
            return ""
        s = self.steps[-1]
        return step_line(len(self.steps), s["token"], s["probability"], s["log_prob"],
                         sum(t["log_prob"] for t in self.steps))

    # --- the model ------------------------------------------------------------------------------------

    def _logits(self, context: list[int]) -> torch.Tensor:
        """Next-token logits (V,) after ``context``, seen through the model's window of ``block_size`` tokens."""
        window = tuple(context[-self.model.config.block_size:])
        if window not in self._logits_cache:
            if len(self._logits_cache) > 512:
                self._logits_cache.clear()
            with evaluating(self.model):
                self._logits_cache[window] = self.model(torch.tensor([window]), last_only=True)[0, -1].float()
        return self._logits_cache[window]

    def _continuations(self, prompt_ids: list[int]) -> dict:
        """Each strategy's text after the prompt with the current settings: ``{strategy: {ids, text, log_prob}}``."""
        from ..generation import generate

        out = {}
        for strategy in STRATEGIES:
            settings = self.settings(strategy)
            key = (tuple(prompt_ids), strategy, settings, self.max_new_tokens)
            if key not in self._continuations_cache:
                if len(self._continuations_cache) > 64:
                    self._continuations_cache.clear()
                extra = dict(greedy={}, sample=dict(do_sample=True, seed=self.seed),
                             beam=dict(num_beams=NUM_BEAMS))[strategy]
                full = generate(self.model, prompt_ids, self.max_new_tokens, settings=settings, **extra)
                ids = full[len(prompt_ids):].tolist()
                self._continuations_cache[key] = dict(
                    ids=ids, text=self.tokenizer.decode(ids),
                    log_prob=sequence_log_prob(self.model, full, len(prompt_ids)))
            out[strategy] = dict(self._continuations_cache[key])
        return out

    # --- drawing --------------------------------------------------------------------------------------

    def show(self, info: dict) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import HTML, display

        fig = self._draw(info)
        plt.show()
        plt.close(fig)
        print(info["line"])
        if info["steps"]:
            print(info["step_line"])
        else:
            print(f"press \u201cnext token\u201d to write one token at a time ({info['strategy']})")
        print(f"{info['prompt']}\u2503{info['generated']}")
        display(HTML(_comparison_table(info["continuations"], info["strategy"])))

    def _draw(self, info):
        import matplotlib.pyplot as plt
        from matplotlib import ticker

        from ..plotting import printable

        labels = [printable(t) for t in info["shown_tokens"]]
        x = range(len(labels))
        colours = ["#1f77b4" if k else "#c7c7c7" for k in info["shown_kept"]]
        fig, ax = plt.subplots(figsize=(9, 3.2))
        ax.bar(x, info["shown_unfiltered"], color="none", edgecolor="#7f7f7f", linestyle="--",
               label="before top-k / top-p / min-p")
        ax.bar(x, info["shown_probs"], color=colours, label="chosen from (grey: removed)")
        ax.set_xticks(list(x), labels)
        for label in ax.get_xticklabels():
            label.set_parse_math(False)  # a token such as "$" is text, not the start of a formula
        ax.set_xlabel("next token (most likely first)")
        ax.set_ylabel("probability (log scale)" if info["log_scale"] else "probability")
        if info["log_scale"]:
            ax.set_yscale("log")
            # Plain labels (1e-06): matplotlib's formula labels failed to lay out in some kernels.
            ax.yaxis.set_major_formatter(ticker.LogFormatter(labelOnlyBase=True))
            ax.yaxis.set_minor_formatter(ticker.NullFormatter())
            smallest = min(p for p in info["shown_unfiltered"] + info["shown_probs"] if p > 0)
            ax.set_ylim(max(smallest / 2, 1e-12), 1.5)
        s = info["settings"]
        where = f"step {len(info['steps'])}" if info["steps"] else repr(info["prompt"][-24:])
        if info["strategy"] == "sample":
            how = (f"temperature {s['temperature']:.2f}, top-k {s['top_k'] or 'off'}, top-p {s['top_p'] or 'off'}, "
                   f"min-p {s['min_p'] or 'off'}")
        else:
            how = info["strategy"]
        penalty = s["repetition_penalty"]
        ax.set_title(f"Next token after {where}: {how}" + (f", penalty {penalty:.2f}" if penalty else ""),
                     parse_math=False)
        ax.legend(loc="upper right")
        fig.tight_layout()
        return fig

    def __repr__(self):
        s = self.settings()
        return (f"GenerationExplorer(prompt={self.prompt.value!r}, strategy={self.strategy.value!r}, "
                f"temperature={s.temperature}, top_k={s.top_k}, top_p={s.top_p}, min_p={s.min_p}, "
                f"repetition_penalty={s.repetition_penalty})")


def sequence_log_prob(model, ids: torch.Tensor, start: int) -> float:
    """log P of ``ids[start:]`` under the model (temperature 1, nothing filtered), each token given the
    ``block_size`` tokens before it, the window :func:`gptlab.generation.generate` slides."""
    block = model.config.block_size
    ids = ids.reshape(-1)
    if start < 1 or start >= len(ids):
        return 0.0
    with evaluating(model):
        head = model(ids[None, : min(len(ids), block)])[0]  # (min(T, block), V): positions the window covers
        rows = [head[start - 1: block - 1]] if start < block else []
        later = range(max(start, block), len(ids))  # tokens predicted from a slid window
        if later:
            windows = torch.stack([ids[t - block: t] for t in later])  # (n, block)
            rows.append(model(windows, last_only=True)[:, -1])
        logp = torch.log_softmax(torch.cat(rows).double(), dim=-1)  # (len(ids) - start, V)
    return float(logp.gather(1, ids[start:, None]).sum())


def _comparison_table(continuations: dict, current: str) -> str:
    import html

    cells = []
    for strategy in STRATEGIES:
        c = continuations[strategy]
        mark = "background:#eef4fb;" if strategy == current else ""
        name = f"beam search ({NUM_BEAMS} beams)" if strategy == "beam" else strategy
        cells.append(
            f'<td class="gptlab-continuation" data-strategy="{strategy}" style="vertical-align:top;text-align:left;{mark}'
            f'padding:4px 8px;width:33%"><b>{name}</b> \u00b7 log-probability '
            f'<span class="gptlab-logp">{c["log_prob"]:.2f}</span>'
            f'<div style="white-space:pre-wrap;font-family:monospace">{html.escape(c["text"])}</div></td>')
    return f'<table style="width:100%;table-layout:fixed"><tr>{"".join(cells)}</tr></table>'
