"""The tokenizer explorer: typed text as the pieces a tokenizer cuts it into.

Each token is a coloured chip with its id underneath. GPT-2's BPE works on UTF-8 bytes, so a character
outside ASCII (an accented letter, a dash, an emoji) is several bytes, and a token may hold only some of
them: such a token is shown as its bytes (``\\xf0\\x9f\\x98``), and a table lists every non-ASCII
character with its bytes and the tokens that carry them. The counts compare characters, bytes and tokens.
"""
from __future__ import annotations

import html

from ..plotting import printable
from .base import Explorer, ExplorerError

PALETTE = ("#fde2e4", "#e2ece9", "#dfe7fd", "#fff1c1", "#e8dff5")


def count_line(characters: int, n_bytes: int, tokens: int, char_tokens: int | None = None) -> str:
    """The line the explorer prints, e.g. ``characters 51 · UTF-8 bytes 53 · BPE tokens 16 · 3.19 characters
    per token`` (with ``· character tokens 51`` when a character tokenizer is compared)."""
    per = f"{characters / tokens:.2f}" if tokens else "-"
    line = f"characters {characters} \u00b7 UTF-8 bytes {n_bytes} \u00b7 BPE tokens {tokens} \u00b7 {per} characters per token"
    return line if char_tokens is None else f"{line} \u00b7 character tokens {char_tokens}"


def token_bytes(tokenizer, ids: list[int]) -> list[bytes]:
    """The bytes of each token on its own (a byte-level BPE token can be part of a character)."""
    encoding = getattr(tokenizer, "encoding", None)
    if encoding is not None and hasattr(encoding, "decode_single_token_bytes"):
        return [encoding.decode_single_token_bytes(i) for i in ids]
    return [t.encode("utf-8") for t in tokenizer.token_strings(ids)]


class TokenizerExplorer(Explorer):
    """A text box; shows its tokens under ``tokenizer`` (GPT-2's BPE, say) as coloured pieces with their ids,
    the bytes of its non-ASCII characters, and the counts. ``chars``, a character tokenizer, adds its token
    count beside BPE's. :meth:`set` types from code: ``set(text="naïve 😀")``.
    """

    def __init__(self, tokenizer, text: str = "", *, chars=None):
        import ipywidgets as widgets

        self.tokenizer, self.chars = tokenizer, chars
        self.text = widgets.Textarea(value=text, description="text", continuous_update=True,
                                     placeholder="type some text", layout=widgets.Layout(width="60em", height="4.5em"))
        self.controls = dict(text=self.text)
        self._build([self.text])

    def compute(self) -> dict:
        text = self.text.value
        surrogates = sorted({f"U+{ord(c):04X}" for c in text if 0xD800 <= ord(c) <= 0xDFFF})
        if surrogates:
            raise ExplorerError(f"the text holds {', '.join(surrogates)}: half of a character (a lone surrogate, "
                                "such as an emoji cut in two), which has no UTF-8 bytes, so no tokenizer can "
                                "encode it")
        ids = list(self.tokenizer.encode(text))
        if self.tokenizer.decode(ids) != text:
            raise ExplorerError("the tokenizer cannot encode this text: its tokens do not decode back to it")
        char_tokens = None
        if self.chars is not None:
            try:
                char_tokens = len(self.chars.encode(text))
            except ValueError as e:
                raise ExplorerError(f"the character tokenizer cannot encode this text: {e}") from None
        pieces = token_bytes(self.tokenizer, ids)
        strings = self.tokenizer.token_strings(ids)
        n_bytes = len(text.encode("utf-8"))
        return dict(text=text, ids=ids, tokens=strings, token_bytes=[p.hex(" ") for p in pieces],
                    characters=len(text), bytes=n_bytes, n_tokens=len(ids), char_tokens=char_tokens,
                    non_ascii=_non_ascii(text, pieces, ids),
                    line=count_line(len(text), n_bytes, len(ids), char_tokens))

    def show(self, info: dict) -> None:
        from IPython.display import HTML, display

        print(info["line"])
        display(HTML(_chips(info) + _bytes_table(info["non_ascii"])))


def _non_ascii(text: str, pieces: list[bytes], ids: list[int]) -> list[dict]:
    """Each non-ASCII character once: its UTF-8 bytes and the tokens that carry them (by byte offsets)."""
    starts, at = [], 0
    for p in pieces:
        starts.append(at)
        at += len(p)
    out, seen, offset = [], set(), 0
    for c in text:
        size = len(c.encode("utf-8"))
        if ord(c) > 127 and c not in seen:
            seen.add(c)
            carriers = [ids[i] for i, s in enumerate(starts) if s < offset + size and s + len(pieces[i]) > offset]
            out.append(dict(char=c, code=f"U+{ord(c):04X}", bytes=c.encode("utf-8").hex(" "), tokens=carriers))
        offset += size
    return out


def _chips(info: dict) -> str:
    chips = []
    for i, (token, raw, token_id) in enumerate(zip(info["tokens"], info["token_bytes"], info["ids"])):
        whole = "\\x" not in token  # a whole character or more; else some bytes of one
        label = html.escape(printable(token)) if whole else html.escape(raw)
        kind = "" if whole else " gptlab-bytes"
        chips.append(
            f'<span class="gptlab-token{kind}" data-id="{token_id}" title="bytes {raw}" style="display:inline-block;'
            f'background:{PALETTE[i % len(PALETTE)]};margin:1px;padding:0 2px;text-align:center;'
            f'{"border:1px dashed #888;" if not whole else ""}"><span style="white-space:pre;font-family:monospace">'
            f'{label}</span><br><small style="color:#555">{token_id}</small></span>')
    return f'<div style="line-height:1.4">{"".join(chips) or "<i>(no tokens)</i>"}</div>'


def _bytes_table(rows: list[dict]) -> str:
    if not rows:
        return ""
    body = "".join(f'<tr><td>{html.escape(r["char"])}</td><td>{r["code"]}</td><td><code>{r["bytes"]}</code></td>'
                   f'<td>{", ".join(map(str, r["tokens"]))}</td></tr>' for r in rows)
    return ('<table class="gptlab-non-ascii" style="margin-top:6px"><tr><th>character</th><th>code point</th>'
            f'<th>UTF-8 bytes</th><th>in tokens</th></tr>{body}</table>')
