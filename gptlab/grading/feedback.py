"""Feedback a student can read: ``feedback/<student>.md`` and the same as a page, ``<student>.html``.

Each exercise lists its tests with their points, the diagnosis (the visible check's message, or which
hidden values differ) and, for a failing test, what the test cell printed. The traceback is never shown,
since it would quote the hidden tests' code. ``results.json`` holds the same for scripts.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

from .gradebook import fmt

CLOSING = ("Only your answer cells were graded, inside the instructor's copy of the notebook; cells you added "
           "were not run. Hidden tests check more than the visible ones.")

STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}th,td{border:1px solid #ccc;padding:.4rem;
text-align:left;vertical-align:top}th{background:#f3f3f3}tr.pass td.points{color:#176317}
tr.fail td.points{color:#a11}pre{background:#f7f7f7;padding:.5rem;white-space:pre-wrap;margin:.3rem 0 0}
.note{background:#fff6d6;padding:.5rem}"""


def write_feedback(folder: Path, results) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list] = {}
    for r in results:
        by_student.setdefault(r.student, []).append(r)
    for student, rs in by_student.items():
        rs = sorted(rs, key=lambda r: r.exercise)
        (folder / f"{student}.md").write_text(markdown(student, rs), encoding="utf-8")
        (folder / f"{student}.html").write_text(page(student, rs), encoding="utf-8")
    (folder / "results.json").write_text(json.dumps([r.to_dict() for r in results], indent=1), encoding="utf-8")


def markdown(student: str, results) -> str:
    lines = [f"# Feedback for {student}", ""]
    for r in results:
        lines += [f"## {r.exercise}: {fmt(r.total)} / {fmt(r.max_total)} points", ""]
        if r.note:
            lines += [f"Note: {r.note}", ""]
        lines += ["| test | points | result |", "|---|---|---|"]
        for t in r.tests:
            msg = t.message.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {t.grade_id} | {fmt(t.points)} / {fmt(t.max_points)} | {msg} |")
        lines.append("")
        for t in r.tests:
            if t.output:
                lines += [f"What `{t.grade_id}` printed:", "", "```", t.output.rstrip(), "```", ""]
    lines.append(CLOSING)
    return "\n".join(lines) + "\n"


def page(student: str, results) -> str:
    e = html.escape
    total = sum(r.total for r in results)
    maximum = sum(r.max_total for r in results)
    body = [f"<h1>Feedback for {e(student)}</h1>", f"<p>{fmt(total)} / {fmt(maximum)} points in all.</p>"]
    for r in results:
        body.append(f"<h2>{e(r.exercise)}: {fmt(r.total)} / {fmt(r.max_total)} points</h2>")
        if r.note:
            body.append(f'<p class="note">{e(r.note)}</p>')
        body.append("<table><tr><th>test</th><th>points</th><th>result</th></tr>")
        for t in r.tests:
            passed = t.points == t.max_points
            output = f"<pre>{e(t.output.rstrip())}</pre>" if t.output else ""
            body.append(f'<tr class="{"pass" if passed else "fail"}"><td>{e(t.grade_id)}</td>'
                        f'<td class="points">{fmt(t.points)} / {fmt(t.max_points)}</td>'
                        f"<td>{e(t.message)}{output}</td></tr>")
        body.append("</table>")
    body.append(f"<p>{e(CLOSING)}</p>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Feedback for {e(student)}</title>'
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
