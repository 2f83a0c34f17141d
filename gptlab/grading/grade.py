"""Grade a folder of submissions: ``SUBMISSIONS/<student>/<exercise>.ipynb``.

For every submission the student's answer cells (nbgrader ``solution`` cells, matched by ``grade_id``) are
put into a copy of the instructor's notebook, so every other cell — setup, locked tests, hidden tests —
is the instructor's. That notebook runs in its own sandboxed kernel (:mod:`gptlab.grading.runner`). A test
cell earns its points when it ran without error *and* every value it recorded matches, in this process,
the value the instructor's solution recorded in a clean kernel.

Everything is read into memory before any submission runs, so nothing a submission writes to disk can
change the hidden tests, the reference values or another student's notebook.

Each result is stored as soon as it is known (``OUT/results/<student>/<exercise>.json``, written whole or
not at all), with a fingerprint of what produced it: the submitted file, the instructor's notebook, the
limits. A run that is interrupted and started again grades only what has no stored result with a matching
fingerprint, so nothing is lost, and a changed submission or solution is never given an old grade.
``--student``/``--exercise`` re-grade just those submissions and keep everybody else's stored results.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import nbformat

from ..errors import GptlabError
from .compare import COMMAND, FAILED, differences
from .release import NBFORMAT, graded_cells, nbgrader_meta, stub_source, validate
from .runner import Limits, NotebookRun, run_notebook


class GradingError(GptlabError, RuntimeError):
    """The instructor's side is broken (a solution notebook fails its own tests); nothing can be graded."""


@dataclass
class TestResult:
    grade_id: str
    points: float
    max_points: float
    message: str  # what the student reads: "passed", or why not
    output: str = ""  # what the failing test cell printed (its hidden code is never shown)


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

    @property
    def ran(self) -> bool:
        """False when the notebook could not be read or its kernel stopped before the end."""
        return not self.note.startswith(NOT_RUN_NOTES) and not any(t.message.startswith("not run") for t in self.tests)

    def to_dict(self) -> dict:
        return {"student": self.student, "exercise": self.exercise, "note": self.note,
                "tests": [asdict(t) for t in self.tests]}

    @classmethod
    def from_dict(cls, d: dict) -> "ExerciseResult":
        return cls(d["student"], d["exercise"], [TestResult(**t) for t in d["tests"]], d.get("note", ""))


NOT_RUN_NOTES = ("the file is not a readable notebook", "grading failed")


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


MAX_OUTPUT = 2000  # characters of a failing cell's output kept for the feedback


def printed(cell) -> str:
    """What a test cell printed (stdout, stderr, the error line), not its traceback, which would show the
    hidden tests' code; the end is kept when it is long."""
    parts = []
    for out in (cell or {}).get("outputs", []):
        if out.get("output_type") == "stream":
            text = out.get("text", "")
            parts.append(text if isinstance(text, str) else "".join(text))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename', 'Error')}: {out.get('evalue', '')}\n")
    text = re.sub(r"\x1b\[[0-9;]*m", "", "".join(parts))
    return text if len(text) <= MAX_OUTPUT else "..." + text[-MAX_OUTPUT:]


def score(source: Source, run: NotebookRun) -> list[TestResult]:
    results = []
    for g in graded_cells(source.notebook):
        cell = run.cells.get(g.index)
        if cell is None:
            why = "not run: " + (run.stopped or "an earlier cell stopped the notebook")
            results.append(TestResult(g.grade_id, 0.0, g.points, why))
            continue
        if cell.status != "ok":
            kernel_side = cell.error.startswith("AssertionError: " + FAILED)  # the carried values' verdict
            why = cell.error.removeprefix("AssertionError: ") if kernel_side else f"failed: {cell.error}"
            results.append(TestResult(g.grade_id, 0.0, g.points, why, _output(run, g.index)))
            continue
        problems = differences(source.reference[g.grade_id], cell.records)
        if problems:
            results.append(TestResult(g.grade_id, 0.0, g.points, FAILED + "; ".join(problems), _output(run, g.index)))
        else:
            results.append(TestResult(g.grade_id, g.points, g.points, "passed"))
    return results


def _output(run: NotebookRun, index: int) -> str:
    cells = (run.notebook or {}).get("cells", [])
    return printed(cells[index]) if index < len(cells) else ""



def set_reference(source: Source, run: NotebookRun) -> None:
    """Keep the values the solution recorded; refuse a solution that fails its own tests."""
    for g in graded_cells(source.notebook):
        cell = run.cells.get(g.index)
        if cell is None or cell.status != "ok":
            why = run.stopped if cell is None else cell.error
            if cell is not None and cell.error.startswith("AssertionError: " + FAILED):
                why += f" (the values carried in its hidden tests are stale: run {COMMAND} on the solutions)"
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


# ------------------------------------------------------------------------------------------ stored results

GRADER_VERSION = "2"  # part of every fingerprint: a change in how grading works invalidates stored results


def fingerprint(submitted: bytes, source: Source, limits: Limits) -> str:
    """What a stored result depends on: the submitted bytes, the instructor's cells (not their outputs, so
    re-executing a solution keeps the results), the limits."""
    cells = json.dumps([(c.cell_type, c.source, nbgrader_meta(c)) for c in source.notebook.cells], sort_keys=True)
    h = hashlib.sha256(GRADER_VERSION.encode())
    for part in (submitted, cells.encode(), repr(limits).encode()):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


class ResultStore:
    """One JSON file per (student, exercise), replaced whole (write then rename), so an interrupted run
    leaves either the old result, the new one, or none: never half a file or another student's result."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, student: str, exercise: str) -> Path:
        return self.folder / student / f"{exercise}.json"

    def load(self, student: str, exercise: str, key: str) -> ExerciseResult | None:
        try:
            d = json.loads(self._path(student, exercise).read_text(encoding="utf-8"))
            if (d["student"], d["exercise"], d["fingerprint"]) != (student, exercise, key):
                return None
            return ExerciseResult.from_dict(d)
        except (OSError, ValueError, KeyError, TypeError):  # missing, damaged or from another version
            return None

    def save(self, result: ExerciseResult, key: str) -> None:
        path = self._path(result.student, result.exercise)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**result.to_dict(), "fingerprint": key}, indent=1), encoding="utf-8")
        os.replace(tmp, path)


# ------------------------------------------------------------------------------------------ the class


def _run(args):
    nb, limits = args
    return run_notebook(nb, limits)


def usable_jobs(requested: int | None, memory_mb: int) -> int:
    """Kernels graded at once: as asked (default: 2, or 1 on one core), but no more than the memory now
    available holds at each kernel's limit."""
    jobs = requested or max(1, min(2, os.cpu_count() or 1))
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    available = _available_mb()
    if available is not None:
        jobs = min(jobs, max(1, available // max(1, memory_mb)))
    return jobs


def _available_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def progress_bar(total: int, enabled: bool, file=None):
    """A bar with the time spent and an estimate of the time left, from the rate so far."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="grading", unit="notebook", disable=not enabled, file=file or sys.stderr,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                           "[{elapsed} spent, about {remaining} left, {rate_fmt}]")


@dataclass
class Plan:
    """What a run will do: which submissions to grade now, which stored results to reuse."""
    todo: list[tuple[str, str, bytes, str]]  # (student, exercise, submitted bytes, fingerprint)
    reused: dict[tuple[str, str], ExerciseResult]
    waiting: list[tuple[str, str]]  # submissions outside the selection with no stored result yet


def plan(found, sources, store: ResultStore, limits: Limits, *, students=None, exercises=None,
         redo: bool = False) -> Plan:
    todo, reused, waiting = [], {}, []
    for student, exercise, data in found:
        key = fingerprint(data, sources[exercise], limits)
        selected = (not students or student in students) and (not exercises or exercise in exercises)
        stored = store.load(student, exercise, key)
        if selected and (redo or students or exercises or stored is None):
            todo.append((student, exercise, data, key))
        elif stored is not None:
            reused[(student, exercise)] = stored
        else:
            waiting.append((student, exercise))
    return Plan(todo, reused, waiting)


def grade(
    submissions: Path,
    out: Path,
    *,
    source_dir: Path = Path("solutions"),
    limits: Limits = Limits(),
    jobs: int | None = None,
    progress: bool = True,
    students: set[str] | None = None,
    exercises: set[str] | None = None,
    redo: bool = False,
    formats: tuple[str, ...] = (),
    roster: Path | None = None,
    on_result=None,
) -> list[ExerciseResult]:
    """Grade the submissions that need it and write everything about the class into ``out``.

    ``students``/``exercises`` re-grade only those (others keep their stored results); ``redo`` ignores
    stored results. ``on_result(result, done, total)`` is called as each result is stored. Returns the
    results of every submission that has one, sorted by student and exercise."""
    from .feedback import write_feedback
    from .gradebook import read_roster, write_formats, write_gradebook
    from .report import write_report

    out = Path(out)
    sources = load_sources(source_dir)
    for name, chosen in (("student", students), ("exercise", exercises)):
        if chosen is not None and not chosen:
            raise ValueError(f"an empty --{name} selection")
    unknown = sorted(set(exercises or ()) - set(sources))
    if unknown:
        raise FileNotFoundError(f"no solution notebook for exercise(s) {', '.join(unknown)} in {source_dir}")
    people = read_roster(roster) if roster else None
    found, skipped = find_submissions(submissions, sources)
    missing = sorted(set(students or ()) - {s for s, _, _ in found})
    if missing:
        raise FileNotFoundError(f"no submissions from {', '.join(missing)} in {submissions}")
    store = ResultStore(out / "results")
    todo = plan(found, sources, store, limits, students=students, exercises=exercises, redo=redo)
    results = dict(todo.reused)

    done = 0

    def keep(result: ExerciseResult, key: str) -> None:
        nonlocal done
        store.save(result, key)
        results[(result.student, result.exercise)] = result
        done += 1
        bar.update(1)
        if on_result:
            on_result(result, done, len(todo.todo))

    work = []  # (student, exercise, notebook, fingerprint, answers missing)
    bar = progress_bar(len(todo.todo), progress)
    try:
        for student, exercise, data, key in todo.todo:
            try:
                nb, lost = assemble(sources[exercise].notebook, data)
            except ValueError as exc:
                tests = [TestResult(g.grade_id, 0.0, g.points, "not graded") for g in graded_cells(sources[exercise].notebook)]
                keep(ExerciseResult(student, exercise, tests, str(exc)), key)
                continue
            work.append((student, exercise, nb, key, lost))
        if work:
            n = usable_jobs(jobs, limits.memory_mb)
            if jobs and n < jobs:
                print(f"grading {n} at a time, not {jobs}: the free memory holds {n} kernels of "
                      f"{limits.memory_mb} MB (see --memory-mb)", file=sys.stderr)
            _grade_in_pool(work, sources, limits, n, keep)
    finally:
        bar.close()

    graded = [results[k] for k in sorted(results)]
    write_gradebook(out / "gradebook.csv", graded, sources)
    write_feedback(out / "feedback", graded)
    write_report(out / "report", graded, sources)
    if formats:
        write_formats(out, formats, graded, sources, people)
    lines = skipped + [f"{s}/{e}: not graded yet (outside this run's selection)" for s, e in todo.waiting]
    (out / "skipped.txt").unlink(missing_ok=True)
    if lines:
        (out / "skipped.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return graded


def _grade_in_pool(work, sources, limits: Limits, jobs: int, keep) -> None:
    ctx = get_context("spawn")  # a clean worker, whatever state the caller's process is in
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)
    try:
        needed = sorted({ex for _, ex, _, _, _ in work})
        for ex, run in zip(needed, pool.map(_run, [(sources[ex].notebook, limits) for ex in needed])):
            set_reference(sources[ex], run)
        futures = [(item, pool.submit(_run, (item[2], limits))) for item in work]
        for (student, exercise, _, key, lost), fut in futures:
            source = sources[exercise]
            try:
                run = fut.result()
                res = ExerciseResult(student, exercise, score(source, run), _name_cells(run.stopped, source.notebook))
                if lost:
                    res.note = (res.note + "; " if res.note else "") + (
                        "answer cells not found in your notebook (were they deleted or re-created?): " + ", ".join(lost))
            except Exception as exc:  # a worker lost: only this submission pays
                tests = [TestResult(g.grade_id, 0.0, g.points, "not graded") for g in graded_cells(source.notebook)]
                res = ExerciseResult(student, exercise, tests, f"grading failed: {type(exc).__name__}: {exc}")
            keep(res, key)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: what is stored stays stored
        raise
    pool.shutdown(wait=True)
