"""The attention explorer: where one token looks, drawn on the text itself.

Choose a layer and a head (or all heads of the layer, as small multiples) and a query token: every key the
query may see gets a red background whose opacity is its weight (the strongest key fully red), and the
tokens after the query, which the causal mask hides from it, are greyed out.

The weights come from the model through one of two interfaces (:func:`attention_weights`), so the explorer
works for :class:`gptlab.GPT` and for a model written by hand:

- ``model.attention_maps(idx)`` returns a list with one tensor per layer, each (1, n_head, T, T): row ``t``
  holds query ``t``'s weights over the keys (what :meth:`gptlab.GPT.attention_maps` does); or
- ``model(idx, attn_weights_out=maps)`` appends those tensors to the list ``maps`` while it runs (what
  :meth:`gptlab.GPT.forward` does).

``idx`` is a (1, T) tensor of token ids. A model with neither is explained in the explorer's output.
"""
from __future__ import annotations

import html

import torch

from ..plotting import printable
from .base import Explorer, ExplorerError, evaluating

INTERFACE = ("the attention explorer needs the model's attention weights: give the model a method "
             "attention_maps(idx) that returns one (1, n_head, T, T) tensor per layer, or let model(idx, "
             "attn_weights_out=maps) append them to the list maps")
ALL_HEADS = "all"


def attention_weights(model, idx: torch.Tensor) -> torch.Tensor:
    """Every layer's attention weights for token ids ``idx`` (1, T), as one tensor (n_layer, n_head, T, T),
    through either interface of the module docstring; :class:`ExplorerError` says what is missing."""
    maps: list = []
    with evaluating(model) if hasattr(model, "eval") else torch.no_grad():
        if callable(getattr(model, "attention_maps", None)):
            maps = model.attention_maps(idx)
        elif callable(model):
            try:
                model(idx, attn_weights_out=maps)
            except TypeError as e:
                if "attn_weights_out" in str(e):
                    raise ExplorerError(f"{INTERFACE} ({type(model).__name__} has neither)") from None
                raise
        else:
            raise ExplorerError(f"{INTERFACE} (got a {type(model).__name__}, which cannot be called)")
    T = idx.shape[1]
    if not isinstance(maps, (list, tuple)) or not maps:
        raise ExplorerError(f"{INTERFACE} ({type(model).__name__} gave no weights: {type(maps).__name__} "
                            f"of length {len(maps) if hasattr(maps, '__len__') else '?'})")
    for i, m in enumerate(maps):
        if not isinstance(m, torch.Tensor) or m.dim() != 4 or m.shape[0] != 1 or tuple(m.shape[2:]) != (T, T):
            shape = tuple(m.shape) if isinstance(m, torch.Tensor) else type(m).__name__
            raise ExplorerError(f"layer {i}'s attention weights have shape {shape}, expected (1, n_head, {T}, {T})"
                                f" for {T} tokens: {INTERFACE}")
    if len({m.shape[1] for m in maps}) > 1:
        raise ExplorerError(f"the layers have different numbers of heads: {[m.shape[1] for m in maps]}")
    return torch.stack([m[0].detach().float().cpu() for m in maps])  # (n_layer, n_head, T, T)


def attention_line(layer: int, head: int, query: int, query_token: str, key: int, key_token: str, weight: float,
                   future: float) -> str:
    """The line printed for one head, e.g. ``layer 2 · head 1 · query 12 'e' · top key 11 ' ' weight 0.8123 ·
    future 0.0000`` (``future``: the weight on tokens after the query, 0 under the causal mask)."""
    return (f"layer {layer} \u00b7 head {head} \u00b7 query {query} {query_token!r} \u00b7 top key {key} "
            f"{key_token!r} weight {weight:.4f} \u00b7 future {future:.4f}")


class AttentionExplorer(Explorer):
    """A text box, a layer, a head ("all heads" for small multiples) and a query token; shows the query's
    attention weights over the keys on the text itself.

    ``model`` needs one of the interfaces in :mod:`gptlab.widgets.attention`'s docstring, ``tokenizer``
    ``encode`` and ``token_strings``. :meth:`set` changes the controls from code:
    ``set(layer=1, head=2, query=10)``.
    """

    def __init__(self, model, tokenizer, text: str, *, layer: int = 0, head=ALL_HEADS, query: int | None = None):
        import ipywidgets as widgets

        self.model, self.tokenizer = model, tokenizer
        n_layer, n_head = self._shape(text)
        self.text = widgets.Textarea(value=text, description="text", continuous_update=False,
                                     layout=widgets.Layout(width="60em", height="4.5em"))
        self.layer = widgets.Dropdown(options=_layers(n_layer), value=min(layer, n_layer - 1), description="layer")
        self.head = widgets.Dropdown(options=_heads(n_head), value=head if head in range(n_head) else ALL_HEADS,
                                     description="head")
        self.query = widgets.IntSlider(value=0, min=0, max=0, description="query", continuous_update=False)
        self.controls = dict(text=self.text, layer=self.layer, head=self.head, query=self.query)
        self.text.observe(lambda change: self._follow_text(), names="value")  # before the redraw observer
        self._build([self.text, widgets.HBox([self.layer, self.head, self.query])])
        self._follow_text(query)

    def _shape(self, text: str) -> tuple[int, int]:
        """(n_layer, n_head) from a first look at the weights (1, 1 when they cannot be had: the problem is
        shown once the explorer is displayed)."""
        try:
            maps = attention_weights(self.model, self._ids(text or "a"))
        except (ExplorerError, ValueError, TypeError, LookupError):
            return 1, 1
        return maps.shape[0], maps.shape[1]

    def _ids(self, text: str) -> torch.Tensor:
        if not text:
            raise ExplorerError("type a text: the explorer shows how its tokens attend to each other")
        ids = list(self.tokenizer.encode(text))
        block = getattr(getattr(self.model, "config", None), "block_size", None)
        if block is not None and len(ids) > block:
            raise ExplorerError(f"the text is {len(ids)} tokens long, more than the model's context of {block}: "
                                "shorten it")
        if not ids:
            raise ExplorerError(f"{text!r} encodes to no tokens: type some text")
        return torch.tensor([ids])  # (1, T)

    def _follow_text(self, query: int | None = None) -> None:
        """A new text: the query slider spans its tokens and starts on the last one (or ``query``)."""
        try:
            T = self._ids(self.text.value).shape[1]
        except (ExplorerError, ValueError, TypeError, LookupError):
            return  # compute() explains it
        with self._hold():
            self.query.max = max(T - 1, 0)
            self.query.value = T - 1 if query is None else min(max(query, 0), T - 1)

    def _fit_choices(self, n_layer: int, n_head: int) -> None:
        """The layer and head menus list what the model has (known only once its weights could be had)."""
        with self._hold():
            if len(self.layer.options) != n_layer:
                value = self.layer.value
                self.layer.options = _layers(n_layer)
                self.layer.value = value if value < n_layer else 0
            if len(self.head.options) != n_head + 1:
                value = self.head.value
                self.head.options = _heads(n_head)
                self.head.value = value if value == ALL_HEADS or value < n_head else ALL_HEADS

    def _refusal(self, name, value):
        if name == "query":
            try:
                T = self._ids(self.text.value).shape[1]
            except (ExplorerError, ValueError, TypeError, LookupError):
                return None
            if not isinstance(value, int) or not 0 <= value < T:
                return f"query {value!r} does not exist here: the text has {T} tokens, positions 0 to {T - 1}"
            return None
        return super()._refusal(name, value)

    def compute(self) -> dict:
        ids = self._ids(self.text.value)
        maps = attention_weights(self.model, ids)  # (n_layer, n_head, T, T)
        n_layer, n_head, T, _ = maps.shape
        self._fit_choices(n_layer, n_head)
        layer, head, q = self.layer.value, self.head.value, int(self.query.value)
        if not 0 <= layer < n_layer:
            raise ExplorerError(f"layer {layer} does not exist: the model has layers 0 to {n_layer - 1}")
        if head != ALL_HEADS and not 0 <= head < n_head:
            raise ExplorerError(f"head {head} does not exist: each layer has heads 0 to {n_head - 1}")
        if not 0 <= q < T:
            raise ExplorerError(f"query {q} does not exist: the text has {T} tokens, positions 0 to {T - 1}")
        tokens = self.tokenizer.token_strings(ids[0].tolist())
        heads = list(range(n_head)) if head == ALL_HEADS else [head]
        rows = maps[layer, heads, q]  # (len(heads), T): the query's weights over every key
        shown = []
        for h, row in zip(heads, rows):
            key = int(row[: q + 1].argmax())
            future = float(row[q + 1:].sum())
            shown.append(dict(head=h, weights=row[: q + 1].tolist(), top_key=key, top_weight=float(row[key]),
                              future=future,
                              line=attention_line(layer, h, q, tokens[q], key, tokens[key], float(row[key]), future)))
        return dict(text=self.text.value, tokens=tokens, ids=ids[0].tolist(), layer=layer, head=head, query=q,
                    n_layer=n_layer, n_head=n_head, heads=shown, lines=[s["line"] for s in shown])

    def show(self, info: dict) -> None:
        from IPython.display import HTML, display

        for line in info["lines"]:
            print(line)
        panels = []
        for s in info["heads"]:
            spans = "".join(_token_span(t, j, info["query"], s["weights"]) for j, t in enumerate(info["tokens"]))
            panels.append(f'<div class="gptlab-head" data-head="{s["head"]}" style="flex:1 1 30em;'
                          f'min-width:22em;border:1px solid #ddd;padding:4px"><b>layer {info["layer"]}, head '
                          f'{s["head"]}</b><div style="font-family:monospace;line-height:1.8">{spans}</div></div>')
        legend = ("red: where the boxed query token looks (opacity = weight, the strongest key fully red); "
                  "grey: the future, hidden by the causal mask")
        display(HTML(f'<div style="display:flex;flex-wrap:wrap;gap:6px">{"".join(panels)}</div>'
                     f'<div style="color:#666;font-size:90%">{legend}</div>'))


def _layers(n_layer: int) -> list[int]:
    return list(range(n_layer))


def _heads(n_head: int) -> list:
    return [("all heads", ALL_HEADS)] + [(str(h), h) for h in range(n_head)]


def _token_span(token: str, j: int, query: int, weights: list[float]) -> str:
    text = html.escape(printable(token))
    if j > query:
        return (f'<span class="gptlab-future" title="after the query: masked" style="color:#bbb;'
                f'white-space:pre">{text}</span>')
    w = weights[j]
    alpha = w / max(max(weights), 1e-12)
    box = "outline:2px solid #000;" if j == query else ""
    return (f'<span class="gptlab-key" data-weight="{w:.4f}" title="weight {w:.4f}" style="white-space:pre;'
            f'background:rgba(214,39,40,{alpha:.3f});{box}">{text}</span>')
