"""Grade a folder of submissions: ``SUBMISSIONS/<student>/<exercise>.ipynb``.

For every submission the student's answer cells (nbgrader ``solution`` cells, matched by ``grade_id``) are
put into a copy of the instructor's notebook, so every other cell — setup, locked tests, hidden tests —
is the instructor's. That notebook runs in its own sandboxed kernel (:mod:`gptlab.grading.runner`). A test
cell earns its points when it ran without error *and* every value it recorded matches, in this process,
the value the instructor's solution recorded in a clean kernel.

Everything is read into memory before any submission runs, so nothing a submission writes to disk can
change the hidden tests, the reference values or another student's notebook.
"""
from __future__ import annotations

import copy
import csv
import json
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import nbformat

from .compare import mismatch
from .release import NBFORMAT, graded_cells, nbgrader_meta, stub_source, validate
from .runner import Limits, NotebookRun, run_notebook


class GradingError(RuntimeError):
    """The instructor's side is broken (a solution notebook fails its own tests); nothing can be graded."""


@dataclass
class TestResult:
    grade_id: str
    points: float
    max_points: float
    message: str  # what the student reads: "passed", or why not


@dataclass
class ExerciseResult:
    student: str
    exercise: str
    tests: list[TestResult]
    note: str = ""  # about the notebook as a whole (unreadable, stopped early ...)

    @property
    def total(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def max_total(self) -> float:
        return sum(t.max_points for t in self.tests)


@dataclass
class Source:
    name: str
    notebook: object
    reference: dict[str, dict[str, dict]] = field(default_factory=dict)  # grade_id -> key -> payload


def load_sources(folder: Path) -> dict[str, Source]:
    folder = Path(folder)
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no solution notebooks in {folder}")
    sources = {}
    for path in paths:
        nb = nbformat.read(path, as_version=NBFORMAT)
        validate(nb, path.name)
        sources[path.stem] = Source(path.stem, nb)
    return sources


def find_submissions(folder: Path, exercises) -> tuple[list[tuple[str, str, bytes]], list[str]]:
    """``(student, exercise, file bytes)`` for every ``<student>/<exercise>.ipynb``; plus what was skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    found, skipped = [], []
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(student_dir.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            if path.stem not in exercises:
                skipped.append(f"{path}: no exercise named {path.stem!r}")
                continue
            found.append((student_dir.name, path.stem, path.read_bytes()))
    for path in sorted(folder.glob("*.ipynb")):
        skipped.append(f"{path}: put each student's notebooks in a folder named after the student")
    return found, skipped


def assemble(source_nb, submitted: bytes):
    """The instructor's notebook with the student's answer cells in it, and the answer cells that were
    missing (their stubs are used); raises ValueError if the file is not a notebook."""
    try:
        student_nb = nbformat.reads(submitted.decode("utf-8"), as_version=NBFORMAT)
    except Exception as exc:  # not UTF-8, not JSON, not a notebook
        raise ValueError(f"the file is not a readable notebook ({type(exc).__name__}: {str(exc)[:200]})") from None
    answers = {}
    for cell in student_nb.get("cells", []):
        meta = nbgrader_meta(cell) if isinstance(cell, dict) else {}
        if meta.get("solution") and isinstance(meta.get("grade_id"), str) and isinstance(cell.get("source"), str):
            answers.setdefault(meta["grade_id"], cell["source"])
    nb = copy.deepcopy(source_nb)
    missing = []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            if meta["grade_id"] not in answers:
                missing.append(meta["grade_id"])
            cell.source = answers.get(meta["grade_id"], stub_source(cell.source, cell.cell_type))
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb, missing


def _name_cells(text: str, nb) -> str:
    """'cell 7' -> 'your answer cell attention_impl' where the cell is an answer, so a student can find it."""
    def name(m):
        i = int(m.group(1))
        meta = nbgrader_meta(nb.cells[i]) if i < len(nb.cells) else {}
        return f"your answer cell {meta['grade_id']!r}" if meta.get("solution") else f"cell {i}"
    return re.sub(r"\bcell (\d+)", name, text)


def score(source: Source, run: NotebookRun) -> list[TestResult]:
    results = []
    for g in graded_cells(source.notebook):
        cell = run.cells.get(g.index)
        if cell is None:
            why = "not run: " + (run.stopped or "an earlier cell stopped the notebook")
            results.append(TestResult(g.grade_id, 0.0, g.points, why))
            continue
        if cell.status != "ok":
            results.append(TestResult(g.grade_id, 0.0, g.points, f"failed: {cell.error}"))
            continue
        problems = []
        for key, ref in source.reference[g.grade_id].items():
            got = cell.records.get(key, [])
            if len(got) != 1:
                problems.append(f"{key}: " + ("no result recorded" if not got else "recorded more than once"))
                continue
            why = mismatch(ref["value"], got[0].get("value"), ref["atol"], ref["rtol"])
            if why:
                problems.append(f"{key}: {why}")
        extra = set(cell.records) - set(source.reference[g.grade_id])
        if extra:
            problems.append("unexpected results recorded: " + ", ".join(sorted(extra)))
        if problems:
            results.append(TestResult(g.grade_id, 0.0, g.points, "hidden tests failed: " + "; ".join(problems)))
        else:
            results.append(TestResult(g.grade_id, g.points, g.points, "passed"))
    return results


def _run(args):
    nb, limits = args
    run = run_notebook(nb, limits)
    return run


def compute_reference(source: Source, limits: Limits) -> NotebookRun:
    run = run_notebook(source.notebook, limits)
    set_reference(source, run)
    return run


def set_reference(source: Source, run: NotebookRun) -> None:
    """Keep the values the solution recorded; refuse a solution that fails its own tests."""
    for g in graded_cells(source.notebook):
        cell = run.cells.get(g.index)
        if cell is None or cell.status != "ok":
            why = run.stopped if cell is None else cell.error
            raise GradingError(f"{source.name}: the solution fails its own test {g.grade_id!r}: {why}")
        if not cell.records:
            raise GradingError(
                f"{source.name}: test {g.grade_id!r} records no values; a hidden test must record() the "
                "student's results, or code run before it could fake a pass"
            )
        dupes = [k for k, v in cell.records.items() if len(v) != 1]
        if dupes:
            raise GradingError(f"{source.name}: test {g.grade_id!r} records {dupes} more than once")
        source.reference[g.grade_id] = {k: v[0] for k, v in cell.records.items()}


def grade(
    submissions: Path,
    out: Path,
    *,
    source_dir: Path = Path("solutions"),
    limits: Limits = Limits(),
    jobs: int | None = None,
    progress: bool = True,
) -> list[ExerciseResult]:
    """Grade every submission; write ``out/gradebook.csv`` and ``out/feedback/<student>.md``."""
    from tqdm.auto import tqdm

    sources = load_sources(source_dir)
    found, skipped = find_submissions(submissions, sources)
    jobs = jobs or max(1, min(2, os.cpu_count() or 1))
    needed = sorted({ex for _, ex, _ in found})
    results: list[ExerciseResult] = []
    work = []  # (index into results, notebook)
    missing_answers: dict[int, list[str]] = {}
    for student, exercise, data in found:
        try:
            nb, missing = assemble(sources[exercise].notebook, data)
        except ValueError as exc:
            tests = [TestResult(g.grade_id, 0.0, g.points, "not graded") for g in graded_cells(sources[exercise].notebook)]
            results.append(ExerciseResult(student, exercise, tests, str(exc)))
            continue
        results.append(ExerciseResult(student, exercise, []))
        work.append((len(results) - 1, nb))
        if missing:
            missing_answers[len(results) - 1] = missing

    ctx = get_context("spawn")  # a clean worker, whatever state the caller's process is in
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        refs = list(pool.map(_run, [(sources[ex].notebook, limits) for ex in needed]))
        for ex, run in zip(needed, refs):
            set_reference(sources[ex], run)
        futures = [(i, pool.submit(_run, (nb, limits))) for i, nb in work]
        bar = tqdm(total=len(futures), desc="grading", unit="notebook", disable=not progress)
        for i, fut in futures:
            res = results[i]
            try:
                run = fut.result()
                res.tests = score(sources[res.exercise], run)
                res.note = run.stopped = _name_cells(run.stopped, sources[res.exercise].notebook)
                if i in missing_answers:
                    lost = ", ".join(missing_answers[i])
                    res.note = (res.note + "; " if res.note else "") + (
                        f"answer cells not found in your notebook (were they deleted or re-created?): {lost}")
            except Exception as exc:  # a worker lost: only this submission pays
                res.tests = [TestResult(g.grade_id, 0.0, g.points, "not graded")
                             for g in graded_cells(sources[res.exercise].notebook)]
                res.note = f"grading failed: {type(exc).__name__}: {exc}"
            bar.update(1)
        bar.close()

    write_gradebook(Path(out) / "gradebook.csv", results, sources)
    write_feedback(Path(out) / "feedback", results)
    if skipped:
        (Path(out) / "skipped.txt").write_text("\n".join(skipped) + "\n", encoding="utf-8")
    return results


def write_gradebook(path: Path, results: list[ExerciseResult], sources: dict[str, Source]) -> None:
    """One row per (student, exercise): each test's points (blank for other exercises' tests), total, max."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [g.grade_id for name in sorted(sources) for g in graded_cells(sources[name].notebook)]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "exercise", *columns, "total", "max_total"])
        for r in sorted(results, key=lambda r: (r.student, r.exercise)):
            points = {t.grade_id: t.points for t in r.tests}
            writer.writerow([r.student, r.exercise, *[_fmt(points[c]) if c in points else "" for c in columns],
                             _fmt(r.total), _fmt(r.max_total)])


def _fmt(x: float) -> str:
    return f"{x:g}"


def write_feedback(folder: Path, results: list[ExerciseResult]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list[ExerciseResult]] = {}
    for r in results:
        by_student.setdefault(r.student, []).append(r)
    for student, rs in by_student.items():
        lines = [f"# Feedback for {student}", ""]
        for r in sorted(rs, key=lambda r: r.exercise):
            lines += [f"## {r.exercise}: {_fmt(r.total)} / {_fmt(r.max_total)} points", ""]
            if r.note:
                lines += [f"Note: {r.note}", ""]
            lines += ["| test | points | result |", "|---|---|---|"]
            for t in r.tests:
                msg = t.message.replace("|", "\\|").replace("\n", " ")
                lines.append(f"| {t.grade_id} | {_fmt(t.points)} / {_fmt(t.max_points)} | {msg} |")
            lines.append("")
        lines.append("Only your answer cells were graded, inside the instructor's copy of the notebook; "
                     "cells you added were not run. Hidden tests check more than the visible ones.")
        (folder / f"{student}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "results.json").write_text(json.dumps(
        [{"student": r.student, "exercise": r.exercise, "note": r.note,
          "tests": [t.__dict__ for t in r.tests]} for r in results], indent=1), encoding="utf-8")
