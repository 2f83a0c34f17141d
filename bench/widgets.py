"""How long each explorer takes to redraw after a change, on the models the course notebooks use.

    python bench/widgets.py            # 5 repeats of each change, medians in seconds, one JSON object

The generation explorer runs on the Shakespeare character model (notebook 05's prompt and 60 new tokens),
the attention explorer on the same model (notebook 02's line), the tokenizer explorer on GPT-2's BPE
(notebook 01). Each change is timed from setting the control to the end of the redraw (computing, drawing
the figure, rendering the HTML), outside a kernel: what a browser adds on top is sending the change and
showing the result. The machine's load is printed with the figures: on a shared machine they are upper bounds.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from gptlab.assets import load_shakespeare_char  # noqa: E402
from gptlab.tokenizers import BPETokenizer  # noqa: E402
from gptlab.widgets import AttentionExplorer, GenerationExplorer, TokenizerExplorer  # noqa: E402

REPEATS = 5


def seconds(action) -> float:
    with contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        action()
        return time.perf_counter() - start


def median_of(changes) -> float:
    """Median time over REPEATS rounds of the changes (each round cycles through them)."""
    times = [seconds(change) for _ in range(REPEATS) for change in changes]
    return round(statistics.median(times), 4)


def main():
    torch.set_num_threads(1)  # tiny models run fastest on one thread (see tests/conftest.py)
    model, chars = load_shakespeare_char()
    prompt = "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n\n"
    line = "HAMLET:\nTo be, or not to be, that is the question:"
    results = {}

    g = GenerationExplorer(model, chars, prompt, bars=20, max_new_tokens=60)
    results["generation: first draw (three strategies written)"] = round(seconds(g.redraw), 4)
    temperatures = iter([round(0.5 + 0.05 * i, 2) for i in range(20)])
    results["generation: slider moved (a new sample)"] = median_of([lambda: g.set(temperature=next(temperatures))])
    results["generation: slider back (texts cached)"] = median_of(
        [lambda: g.set(temperature=0.5), lambda: g.set(temperature=0.55)])
    results["generation: log scale toggled"] = median_of(
        [lambda: g.set(log_scale=True), lambda: g.set(log_scale=False)])
    results["generation: next token"] = median_of([g.step])
    fresh = iter(range(1000))
    results["generation: new prompt (three strategies written)"] = median_of(
        [lambda: g.set(prompt=f"ROMEO:\nI will {next(fresh)} ")])

    a = AttentionExplorer(model, chars, line)
    seconds(a.redraw)
    results["attention: one head chosen"] = median_of([lambda: a.set(head=1), lambda: a.set(head=2)])
    results["attention: all heads"] = median_of([lambda: a.set(head="all", layer=1), lambda: a.set(layer=2)])
    results["attention: query moved"] = median_of([lambda: a.set(query=10), lambda: a.set(query=20)])
    results["attention: new text"] = median_of([lambda: a.set(text=line[:30]), lambda: a.set(text=line)])

    t = TokenizerExplorer(BPETokenizer(), line)
    seconds(t.redraw)
    results["tokenizer: text typed (a line)"] = median_of(
        [lambda: t.set(text=line + " naïve \U0001F600"), lambda: t.set(text=line)])
    long_text = (line + " naïve \U0001F600\n") * 20
    results["tokenizer: text typed (20 lines)"] = median_of(
        [lambda: t.set(text=long_text), lambda: t.set(text=long_text + "!")])

    print(json.dumps({"seconds (median)": results, "repeats": REPEATS, "load average": os.getloadavg(),
                      "cpus": os.cpu_count(), "torch threads": torch.get_num_threads()}, indent=2))


if __name__ == "__main__":
    main()
