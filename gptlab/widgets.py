"""Interactive widgets for the course notebooks.

:class:`GenerationExplorer` puts three sliders (temperature, top-k, top-p) over one prompt's next-token
distribution. Every change redraws the most likely tokens as bars (the ones the settings keep highlighted),
prints one summary line and samples a continuation with exactly those settings. The numbers come from
:func:`gptlab.sampling.next_token_probs`, the function :func:`gptlab.generation.generate` samples from, so
what the sliders show is what gets sampled.

The explorer remembers what it drew last in :attr:`GenerationExplorer.state`. Setting a slider's ``value``
from code redraws at once (ipywidgets calls observers synchronously in the kernel), so a notebook cell can
move a slider and assert on ``state`` straight after.
"""
from __future__ import annotations

import contextlib

import torch

from .sampling import kept_mask, next_token_probs

# The sliders' ranges are part of the course's contract (the browser test moves them by description).
TEMPERATURE = dict(description="temperature", value=1.0, min=0.05, max=2.0, step=0.05)
TOP_K = dict(description="top-k", value=0, min=0, max=100, step=1)  # 0 means "off"
TOP_P = dict(description="top-p", value=1.0, min=0.05, max=1.0, step=0.05)  # 1.0 means "off"


def summary_line(kept: int, vocab: int, top_probability: float, entropy: float) -> str:
    """The line the explorer prints, e.g. ``kept 12 of 65 tokens · top probability 0.4312 · entropy 1.2345 nats``."""
    return (f"kept {kept} of {vocab} tokens \u00b7 top probability {top_probability:.4f} "
            f"\u00b7 entropy {entropy:.4f} nats")


def entropy_nats(probs: torch.Tensor) -> float:
    """-sum p ln p over the tokens that can still be drawn (a removed token, p = 0, adds nothing)."""
    p = probs[probs > 0].double()
    return max(0.0, float(-(p * p.log()).sum()))  # one kept token: 0, not -0


class GenerationExplorer:
    """Sliders for temperature, top-k and top-p over the next-token distribution after ``prompt``.

    ``model`` is a :class:`gptlab.GPT`, ``tokenizer`` anything with ``encode``/``decode``/``token_strings``.
    ``bars`` most likely tokens are drawn; ``max_new_tokens`` are sampled (seeded with ``seed``, so the same
    sliders always give the same text). Display the explorer as the last line of a cell.
    """

    def __init__(self, model, tokenizer, prompt: str, *, bars: int = 20, max_new_tokens: int = 80, seed: int = 0):
        import ipywidgets as widgets

        if not prompt:
            raise ValueError("the explorer needs a non-empty prompt: the distribution is over what comes next")
        if bars < 1 or max_new_tokens < 0:
            raise ValueError(f"bars must be positive and max_new_tokens non-negative, got {bars}, {max_new_tokens}")
        self.model, self.tokenizer, self.prompt = model, tokenizer, prompt
        self.bars, self.max_new_tokens, self.seed = bars, max_new_tokens, seed
        self.prompt_ids = torch.tensor([tokenizer.encode(prompt)], dtype=torch.long)  # (1, T)
        block = model.config.block_size
        was_training = model.training
        model.eval()
        with torch.no_grad():
            self.logits = model(self.prompt_ids[:, -block:], last_only=True)[0, -1].float()  # (V,)
        model.train(was_training)
        self.vocab_size = self.logits.shape[-1]

        self.temperature = widgets.FloatSlider(**TEMPERATURE, continuous_update=False, readout_format=".2f")
        self.top_k = widgets.IntSlider(**TOP_K, continuous_update=False)
        self.top_p = widgets.FloatSlider(**TOP_P, continuous_update=False, readout_format=".2f")
        self.output = widgets.Output()
        self.state: dict = {}
        self.redraws = 0
        self._holding = False
        for s in self.sliders:
            s.observe(self._on_change, names="value")
        self.widget = widgets.VBox([widgets.HBox(self.sliders), self.output])

    @property
    def sliders(self):
        return (self.temperature, self.top_k, self.top_p)

    def settings(self) -> dict:
        """The sliders as :func:`gptlab.generation.generate` arguments (0 top-k and 1.0 top-p mean "off")."""
        return dict(
            temperature=float(self.temperature.value),
            top_k=int(self.top_k.value) or None,
            top_p=float(self.top_p.value) if self.top_p.value < 1.0 else None,
        )

    def set(self, temperature=None, top_k=None, top_p=None) -> dict:
        """Move several sliders, then redraw once; returns the new :attr:`state`."""
        with self._hold():
            for slider, value in zip(self.sliders, (temperature, top_k, top_p)):
                if value is not None:
                    slider.value = value
        self.redraw()
        return self.state

    def compute(self) -> dict:
        """What the current settings do to the distribution (no drawing)."""
        settings = self.settings()
        probs = next_token_probs(self.logits, **settings)  # (V,)
        kept = kept_mask(self.logits, **settings)  # (V,) bool
        order = torch.argsort(probs, descending=True, stable=True)[: self.bars]
        unfiltered = torch.softmax(self.logits / settings["temperature"], dim=-1)  # before top-k / top-p
        return dict(
            settings=settings,
            probs=probs,
            kept=int(kept.sum()),
            vocab=self.vocab_size,
            top_probability=float(probs.max()),
            entropy=entropy_nats(probs),
            shown_ids=order.tolist(),
            shown_tokens=self.tokenizer.token_strings(order.tolist()),
            shown_probs=probs[order].tolist(),
            shown_unfiltered=unfiltered[order].tolist(),
            shown_kept=kept[order].tolist(),
        )

    def sample(self, settings: dict) -> str:
        from .generation import generate

        if not self.max_new_tokens:
            return ""
        out = generate(self.model, self.prompt_ids, self.max_new_tokens, do_sample=True, seed=self.seed, **settings)
        return self.tokenizer.decode(out[0, self.prompt_ids.shape[1]:].tolist())

    def redraw(self) -> None:
        """Recompute, draw the bars, print the summary line and a sample into the output widget."""
        import matplotlib.pyplot as plt
        from IPython.display import clear_output

        info = self.compute()
        line = summary_line(info["kept"], info["vocab"], info["top_probability"], info["entropy"])
        text = self.sample(info["settings"])
        with self.output:
            clear_output(wait=True)
            fig = self._draw(info)
            plt.show()
            plt.close(fig)
            print(line)
            print(f"sampled continuation:\n{self.prompt}\u2503{text}")
        self.redraws += 1
        self.state = dict(info, line=line, sample=text, redraws=self.redraws)

    def _draw(self, info):
        import matplotlib.pyplot as plt

        from .plotting import printable

        labels = [printable(t) for t in info["shown_tokens"]]
        x = range(len(labels))
        colours = ["#1f77b4" if k else "#c7c7c7" for k in info["shown_kept"]]
        fig, ax = plt.subplots(figsize=(9, 3.2))
        ax.bar(x, info["shown_unfiltered"], color="none", edgecolor="#7f7f7f", linestyle="--",
               label="before top-k / top-p")
        ax.bar(x, info["shown_probs"], color=colours, label="sampled from (grey: removed)")
        ax.set_xticks(list(x), labels)
        ax.set_xlabel("next token (most likely first)")
        ax.set_ylabel("probability")
        s = info["settings"]
        ax.set_title(f"Next token after {self.prompt[-24:]!r}: temperature {s['temperature']:.2f}, "
                     f"top-k {s['top_k'] or 'off'}, top-p {s['top_p'] or 'off'}")
        ax.legend(loc="upper right")
        fig.tight_layout()
        return fig

    def _on_change(self, change) -> None:
        if not self._holding:
            self.redraw()

    @contextlib.contextmanager
    def _hold(self):
        """Move several sliders without a redraw for each."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
        self.redraw()

    def __repr__(self):
        s = self.settings()
        return f"GenerationExplorer(prompt={self.prompt!r}, temperature={s['temperature']}, top_k={s['top_k']}, top_p={s['top_p']})"
