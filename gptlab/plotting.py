"""The pictures the course draws, one call each, so that a notebook cell stays one line long.

Every function draws a titled figure with labelled axes (and a legend where there is more than one line)
and shows it. Pass ``ax=`` to draw into an axes of your own figure instead; then nothing is shown and the
axes is returned, so pictures can be put side by side::

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    causal_mask_table(tokens, ax=left)
    attention_heatmap(weights, tokens, ax=right)
    plt.show()

matplotlib is imported when a picture is first drawn, so ``import gptlab`` stays light.
"""
from __future__ import annotations

import html
from typing import Mapping, Sequence

import numpy as np

CHECK, CROSS = "\u2713", "\u00d7"  # ✓ may attend, × may not


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=float)


def _axes(ax, figsize):
    """``(fig, ax, own)``: a new figure when ``ax`` is None (``own`` is True: show it at the end)."""
    if ax is not None:
        return ax.figure, ax, False
    fig, ax = _plt().subplots(figsize=figsize)
    return fig, ax, True


def _finish(fig, ax, own):
    if own:
        fig.tight_layout()
        _plt().show()
        return None
    return ax


def printable(token: str) -> str:
    """A token as a label: spaces and newlines made visible (GPT-2's tokens often start with a space)."""
    return token.replace(" ", "\u2423").replace("\n", "\u21b5").replace("\t", "\u21e5") or "\u2205"


# ----------------------------------------------------------------------------------------------------
# Attention


def attention_heatmap(
    weights,
    tokens: Sequence[str],
    *,
    title: str = "Attention weights",
    ax=None,
    annotate: bool | None = None,
    cmap: str = "Blues",
    colorbar: bool = True,
    colorbar_label: str = "attention weight",
):
    """A (T, T) matrix of attention weights (rows: the query position, columns: the key it looks at), with
    the sentence's tokens on both axes. Entries that are -inf or NaN (masked scores) are drawn grey.
    Values are written in the cells when there are few enough to read (``annotate``)."""
    w = _to_numpy(weights)
    T = len(tokens)
    if w.shape != (T, T):
        raise ValueError(f"weights have shape {w.shape}, expected ({T}, {T}) for {T} tokens")
    fig, ax, own = _axes(ax, (min(0.45 * T + 2.5, 9.0), min(0.45 * T + 1.5, 8.0)))
    masked = np.ma.masked_invalid(w)
    cm = _plt().get_cmap(cmap).with_extremes(bad="#d9d9d9")
    image = ax.imshow(masked, cmap=cm, vmin=min(0.0, float(masked.min())) if masked.count() else 0.0)
    _label_query_key_axes(ax, tokens, title)
    if annotate if annotate is not None else T <= 12:
        top = float(masked.max()) if masked.count() else 1.0
        for i in range(T):
            for j in range(T):
                text = "\u2212\u221e" if np.isneginf(w[i, j]) else f"{w[i, j]:.2f}"
                dark = np.isfinite(w[i, j]) and w[i, j] > 0.6 * top
                ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if dark else "black")
    if colorbar:
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=colorbar_label)
    return _finish(fig, ax, own)


def _label_query_key_axes(ax, tokens, title):
    """Tokens along both axes of a (query, key) square: rows look, columns are looked at."""
    labels = [printable(t) for t in tokens]
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("key: the token looked at")
    ax.set_ylabel("query: the token looking")
    ax.set_title(title)


def causal_mask_table(tokens: Sequence[str], *, title: str = "Who may attend to whom", ax=None, allowed=None):
    """The ✓/× table of a causal mask for a real sentence: row ``i`` (a query) may look at column ``j`` (a key)
    only when ``j <= i``. ``allowed`` (T, T) booleans overrides the mask (e.g. BERT's: all True); by default
    it comes from :func:`gptlab.model.causal_mask`, the same function the model uses."""
    T = len(tokens)
    if allowed is None:
        from .model import causal_mask

        allowed = causal_mask(T, T)
    allowed = _to_numpy(allowed).astype(bool)
    if allowed.shape != (T, T):
        raise ValueError(f"mask has shape {allowed.shape}, expected ({T}, {T})")
    fig, ax, own = _axes(ax, (min(0.45 * T + 2.0, 9.0), min(0.45 * T + 1.5, 8.5)))
    from matplotlib.colors import ListedColormap

    ax.imshow(allowed, cmap=ListedColormap(["#f4cccc", "#c9e7c9"]), vmin=0, vmax=1)
    for i in range(T):
        for j in range(T):
            ax.text(j, i, CHECK if allowed[i, j] else CROSS, ha="center", va="center",
                    color="#1b5e20" if allowed[i, j] else "#b71c1c", fontsize=10)
    _label_query_key_axes(ax, tokens, title)
    return _finish(fig, ax, own)


def attention_heads(maps, tokens: Sequence[str], *, title: str = "Attention of every head", ncols: int = 4,
                    head_titles: Sequence[str] | None = None):
    """Small multiples: one heatmap per head, for ``maps`` of shape (n_head, T, T) (or (rows, n_head, T, T),
    e.g. every layer, drawn one layer per row)."""
    m = _to_numpy(maps)
    if m.ndim == 4:
        rows, ncols = m.shape[0], m.shape[1]
        m = m.reshape(rows * ncols, *m.shape[2:])
    elif m.ndim == 3:
        rows = -(-m.shape[0] // ncols)
    else:
        raise ValueError(f"expected maps of shape (n_head, T, T) or (layers, n_head, T, T), got {m.shape}")
    T = len(tokens)
    if m.shape[1:] != (T, T):
        raise ValueError(f"maps cover {m.shape[1]} positions, but {T} tokens were given")
    plt = _plt()
    size = min(2.4, 0.16 * T + 1.2)  # inches per panel
    fig, axes = plt.subplots(rows, ncols, figsize=(size * ncols, size * rows), squeeze=False)
    labels = [printable(t) for t in tokens]
    for k, ax in enumerate(axes.flat):
        if k >= len(m):
            ax.set_visible(False)
            continue
        ax.imshow(m[k], cmap="Blues", vmin=0, vmax=1)
        ax.set_title(head_titles[k] if head_titles else f"head {k}", fontsize=8)
        if T > 20:  # too many to read at this size: the pattern is the message
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            ax.set_xticks(range(T), labels if k >= len(m) - ncols else [""] * T, rotation=90, fontsize=6)
            ax.set_yticks(range(T), labels if k % ncols == 0 else [""] * T, fontsize=6)
    fig.supxlabel("key: the token looked at")
    fig.supylabel("query: the token looking")
    fig.suptitle(title)
    fig.tight_layout()
    plt.show()


# ----------------------------------------------------------------------------------------------------
# Curves and bars


def line_plot(
    series: Mapping[str, Sequence[float] | tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    logy: bool = False,
    logx: bool = False,
    reference: Mapping[str, float] | None = None,
    marker: str | None = None,
    styles: Mapping[str, dict] | None = None,
    ax=None,
    figsize=(7, 4),
):
    """One line per entry of ``series``: a list of y values (x = 0, 1, ...) or a pair ``(x, y)``.
    ``reference`` draws labelled horizontal lines (e.g. ``{"uniform guess: ln V": math.log(65)}``).
    ``styles`` gives matplotlib line options per series, e.g. ``{"post-LN": {"color": "C1", "linestyle": ":"}}``.
    Non-finite values (a diverged run) are left as gaps."""
    fig, ax, own = _axes(ax, figsize)
    for name, values in series.items():
        if isinstance(values, tuple) and len(values) == 2:
            x, y = _to_numpy(values[0]), _to_numpy(values[1])
        else:
            y = _to_numpy(values)
            x = np.arange(len(y))
        ax.plot(x, y, **{"label": name, "marker": marker, **(styles or {}).get(name, {})})
    for k, (name, value) in enumerate((reference or {}).items()):
        ax.axhline(value, color=f"C{len(series) + k}", linestyle="--", linewidth=1, label=name)
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(series) + len(reference or {}) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    return _finish(fig, ax, own)


def loss_curves(curves, *, title: str = "Training loss", xlabel: str = "step", ylabel: str = "loss (nats per token)",
                **kwargs):
    """:func:`line_plot` with the axis names of a training run."""
    return line_plot(curves, title=title, xlabel=xlabel, ylabel=ylabel, **kwargs)


def distribution_bars(
    labels: Sequence[str],
    probs,
    *,
    title: str = "Next-token distribution",
    highlight: Sequence[bool] | None = None,
    xlabel: str = "token",
    ylabel: str = "probability",
    top: int | None = None,
    highlight_label: str = "kept",
    tokens: bool = True,
    ax=None,
):
    """A bar chart of a distribution over labels, largest first when ``top`` is given (only the ``top``
    largest are drawn). ``highlight`` marks some bars (e.g. the tokens top-k / top-p keep). With ``tokens``
    the labels are tokens, drawn with their spaces and newlines made visible."""
    p = _to_numpy(probs)
    if len(labels) != len(p):
        raise ValueError(f"{len(labels)} labels for {len(p)} values")
    order = np.argsort(-p, kind="stable")[:top] if top else np.arange(len(p))
    fig, ax, own = _axes(ax, (max(5.0, 0.35 * len(order) + 1.5), 3.5))
    colors = ["C0"] * len(order)
    if highlight is not None:
        hl = np.asarray(highlight, dtype=bool)
        colors = ["C1" if hl[i] else "#bbbbbb" for i in order]
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color="C1", label=highlight_label), Patch(color="#bbbbbb", label="dropped")])
    ax.bar(range(len(order)), p[order], color=colors)
    names = [printable(labels[i]) if tokens else labels[i] for i in order]
    ax.set_xticks(range(len(order)), names, rotation=90 if len(order) > 8 else 0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return _finish(fig, ax, own)


def grouped_bars(
    groups: Mapping[str, Mapping[str, float]],
    *,
    title: str,
    ylabel: str,
    xlabel: str = "",
    logy: bool = False,
    ax=None,
):
    """Bars grouped by category: ``{"tied": {"embedding": 38.6e6, "blocks": 85e6}, "untied": {...}}`` draws,
    for each inner key, one bar per outer key."""
    names = list(groups)
    categories = list(dict.fromkeys(k for g in groups.values() for k in g))
    fig, ax, own = _axes(ax, (max(5.0, 1.3 * len(categories) + 2), 3.8))
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        values = [groups[name].get(c, 0.0) for c in categories]
        ax.bar(np.arange(len(categories)) + (k - (len(names) - 1) / 2) * width, values, width, label=name)
    ax.set_xticks(range(len(categories)), categories)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(names) > 1:
        ax.legend()
    return _finish(fig, ax, own)


# ----------------------------------------------------------------------------------------------------
# Text


def show_tokens(pieces: Sequence[str], *, title: str | None = None):
    """A tokenised text as coloured chips, one per token, so token boundaries are visible (HTML)."""
    from IPython.display import HTML

    palette = ("#fde2e4", "#e2ece9", "#dfe7fd", "#fff1c1", "#e8dff5")
    chips = "".join(
        f'<span style="background:{palette[i % len(palette)]};padding:1px 0;white-space:pre;'
        f'font-family:monospace">{html.escape(p).replace(chr(10), "&#8629;<br>")}</span>'
        for i, p in enumerate(pieces)
    )
    head = f"<b>{html.escape(title)}</b><br>" if title else ""
    return HTML(f'<div style="line-height:1.9">{head}{chips}</div>')
