"""The class report: what the class got right and wrong, in ``report/``.

- ``report.md``: per exercise the score distribution (students per total), per test how many passed, the
  most common failure messages with their counts, and the notebooks that did not run to the end and why;
- ``scores.png`` (one panel per exercise: students per total score) and ``tests.png`` (share of students
  passing each test), drawn with matplotlib;
- ``report.json``: the same numbers, for scripts.

Failure messages are counted after their numbers are replaced by ``N``, so "3 of 81 values differ" and
"5 of 81 values differ" count as one failure; each line shows one real example.
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

from .gradebook import fmt
from .release import graded_cells

TOP_FAILURES = 10


def failure_kind(message: str) -> str:
    return re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "N", message)


def summarise(results, sources) -> dict:
    exercises = {}
    for name in sorted(sources):
        rs = [r for r in results if r.exercise == name]
        if not rs:
            continue
        maximum = sum(g.points for g in graded_cells(sources[name].notebook))
        tests = {}
        for g in graded_cells(sources[name].notebook):
            outcomes = [t for r in rs for t in r.tests if t.grade_id == g.grade_id]
            tests[g.grade_id] = {"points": g.points, "passed": sum(t.points == t.max_points for t in outcomes),
                                 "graded": len(outcomes)}
        totals = sorted(r.total for r in rs)
        exercises[name] = {
            "submissions": len(rs), "max_points": maximum,
            "mean": sum(totals) / len(totals), "median": _median(totals),
            "distribution": {fmt(k): v for k, v in sorted(Counter(totals).items())},
            "tests": tests,
        }
    failures: Counter = Counter()
    example: dict[str, tuple[str, str]] = {}
    for r in results:
        for t in r.tests:
            if t.points < t.max_points:
                kind = (r.exercise, t.grade_id, failure_kind(t.message))
                failures[kind] += 1
                example.setdefault(kind, t.message)
    common = [{"exercise": ex, "test": gid, "count": n, "message": example[(ex, gid, kind)]}
              for (ex, gid, kind), n in failures.most_common(TOP_FAILURES)]
    not_run = [{"student": r.student, "exercise": r.exercise, "why": r.note or _first_not_run(r)}
               for r in results if not r.ran]
    return {"exercises": exercises, "common_failures": common, "not_run": not_run}


def _median(xs: list[float]) -> float:
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def _first_not_run(r) -> str:
    return next((t.message for t in r.tests if t.message.startswith("not run")), "")


def write_report(folder: Path, results, sources) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    summary = summarise(results, sources)
    (folder / "report.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if summary["exercises"]:
        _scores_figure(summary).savefig(folder / "scores.png", dpi=100)
        _tests_figure(summary).savefig(folder / "tests.png", dpi=100)
    (folder / "report.md").write_text(_markdown(summary), encoding="utf-8")
    return summary


def _scores_figure(summary):
    from matplotlib.figure import Figure  # no pyplot: no display, no global state
    from matplotlib.ticker import MaxNLocator

    names = list(summary["exercises"])
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
    fig.suptitle("Score distribution per exercise")
    for i, name in enumerate(names):
        ex = summary["exercises"][name]
        ax = fig.add_subplot(rows, cols, i + 1)
        scores = [float(k) for k in ex["distribution"]]
        ax.bar(scores, list(ex["distribution"].values()), width=max(0.2, ex["max_points"] / 25), color="#4a7ab5")
        ax.set_xlim(-0.5, ex["max_points"] + 0.5)
        ax.set_title(f"{name} (n={ex['submissions']})")
        ax.set_xlabel(f"points (of {fmt(ex['max_points'])})")
        ax.set_ylabel("students")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole students
    return fig


def _tests_figure(summary):
    from matplotlib.figure import Figure

    labels, shares = [], []
    for name, ex in summary["exercises"].items():
        for gid, t in ex["tests"].items():
            labels.append(f"{name} / {gid}")
            shares.append(100 * t["passed"] / max(1, t["graded"]))
    fig = Figure(figsize=(8, 0.35 * len(labels) + 1.5), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(range(len(labels)), shares, color="#5a9a5a")
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("students passing (%)")
    ax.set_title("Share of the class passing each test")
    return fig


def _markdown(summary) -> str:
    lines = ["# Class report", ""]
    if summary["exercises"]:
        lines += ["![scores](scores.png)", "", "![tests](tests.png)", ""]
    for name, ex in summary["exercises"].items():
        lines += [f"## {name}", "",
                  f"{ex['submissions']} submissions, mean {ex['mean']:.2f}, median {fmt(ex['median'])} "
                  f"of {fmt(ex['max_points'])} points.", "",
                  "| points | students |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in ex["distribution"].items()]
        lines += ["", "| test | points | passed |", "|---|---|---|"]
        lines += [f"| {gid} | {fmt(t['points'])} | {t['passed']} of {t['graded']} |" for gid, t in ex["tests"].items()]
        lines.append("")
    lines += ["## Most common failures", ""]
    if summary["common_failures"]:
        lines += ["| students | exercise | test | message (one example) |", "|---|---|---|---|"]
        for f in summary["common_failures"]:
            msg = f["message"].replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {f['count']} | {f['exercise']} | {f['test']} | {msg} |")
    else:
        lines.append("No test failed.")
    lines += ["", "## Notebooks that did not run to the end", ""]
    if summary["not_run"]:
        lines += ["| student | exercise | why |", "|---|---|---|"]
        lines += [f"| {n['student']} | {n['exercise']} | {n['why'].replace('|', '/')} |" for n in summary["not_run"]]
    else:
        lines.append("Every notebook ran to the end.")
    return "\n".join(lines) + "\n"
