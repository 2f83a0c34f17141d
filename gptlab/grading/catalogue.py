"""A catalogue of the mistakes students really make, and the machinery that proves the checks catch them.

A self-check is only as good as the wrong answers it rejects. Each exercise keeps, beside its solution,
a list of :class:`Mistake` s (``solutions/mistakes/<exercise>.py`` defines ``MISTAKES``). A mistake is
the solution's answer with one small edit a real student makes (softmax over the wrong axis, unbiased
variance, targets not shifted ...), and says two things that tests then hold it to:

- ``check``: the message the *visible* self-check must raise (a regular expression), so the student is
  told the real mistake, not a neighbouring one;
- ``loses``: the graded tests whose points it must cost, exactly those, when ``gptlab grade`` runs it.

:func:`self_check` runs a notebook's student-visible cells in this process (fast: no kernel); grading goes
through :func:`gptlab.grading.grade.grade` like any class's submissions.
"""
from __future__ import annotations

import importlib.util
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .cells import run_cell
from .release import NBFORMAT, nbgrader_meta, release_notebook

_BEGIN_END = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)


@dataclass(frozen=True)
class Mistake:
    """One wrong answer. Give either ``edit`` (old, new) applied once to the solution's answer cell, or
    ``source``, the whole answer cell as the student wrote it."""

    name: str                     # a short id, unique in its exercise: "softmax_over_queries"
    answer: str                   # grade_id of the answer cell it changes
    check: str | None             # regex the visible self-check's AssertionError must match; None: it passes
    loses: tuple[str, ...]        # grade_ids of the graded tests it must fail, exactly these
    edit: tuple[str, str] | None = None
    source: str | None = None
    feedback: str | None = None   # regex the grader's message for the lost tests must match
    why: str = ""                 # what the student did, in words (for the catalogue's summary)

    def __post_init__(self):
        if (self.edit is None) == (self.source is None):
            raise ValueError(f"mistake {self.name!r}: give exactly one of edit=(old, new) or source=...")
        if not self.loses:
            raise ValueError(f"mistake {self.name!r}: a mistake must cost at least one graded test")


def solution_answers(nb) -> dict[str, str]:
    """grade_id -> the solution's answer cell as a student would write it (markers removed)."""
    return {nbgrader_meta(c)["grade_id"]: _BEGIN_END.sub("", c.source)
            for c in nb.cells if nbgrader_meta(c).get("solution") and c.cell_type == "code"}


def answers_with(nb, mistake: Mistake) -> dict[str, str]:
    """Every answer cell of the solution, with ``mistake`` applied to its own cell."""
    answers = solution_answers(nb)
    if mistake.answer not in answers:
        raise KeyError(f"mistake {mistake.name!r}: no answer cell {mistake.answer!r} (have {sorted(answers)})")
    if mistake.source is not None:
        answers[mistake.answer] = mistake.source
    else:
        old, new = mistake.edit
        found = answers[mistake.answer].count(old)
        if found != 1:
            raise ValueError(f"mistake {mistake.name!r}: {old!r} occurs {found} times in the answer "
                             f"{mistake.answer!r}, it must occur exactly once")
        answers[mistake.answer] = answers[mistake.answer].replace(old, new)
    return answers


def student_notebook(solution_nb, answers: dict[str, str], name: str = "notebook"):
    """The released exercise with ``answers`` typed into its answer cells: what the student hands in."""
    nb = release_notebook(solution_nb, name)
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and gid in answers:
            cell.source = answers[gid]
    return nb


@dataclass
class CheckFailure:
    cell: int
    grade_id: str | None   # the graded test cell that raised, None for any other cell
    error: str             # exception type name
    message: str


def self_check(solution_nb, answers: dict[str, str], name: str = "notebook") -> CheckFailure | None:
    """Run the student-visible cells (hidden tests removed) top to bottom in a fresh namespace in this
    process; return the first cell that raised, or None if every cell ran."""
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    nb = student_notebook(solution_nb, answers, name)
    namespace = {"__name__": "__main__"}
    try:
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                run_cell(cell.source, namespace, f"<{name} cell {i}>")
            except BaseException as exc:  # a student's cell may raise anything, SystemExit included
                meta = nbgrader_meta(cell)
                return CheckFailure(i, meta.get("grade_id") if meta.get("grade") else None,
                                    type(exc).__name__, str(exc) or traceback.format_exc(limit=1))
    finally:
        plt.close("all")
    return None


def load(folder: Path) -> dict[str, list[Mistake]]:
    """exercise name -> its mistakes, from ``folder/<exercise>.py`` files that define ``MISTAKES``."""
    catalogue = {}
    for path in sorted(Path(folder).glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"_mistakes_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        mistakes = list(getattr(module, "MISTAKES"))
        names = [m.name for m in mistakes]
        if len(set(names)) != len(names):
            raise ValueError(f"{path}: mistake names must be unique")
        catalogue[path.stem] = mistakes
    return catalogue


def read_solution(folder: Path, exercise: str):
    return nbformat.read(Path(folder) / f"{exercise}.ipynb", as_version=NBFORMAT)


def write_submissions(solutions: Path, catalogue: dict[str, list[Mistake]], out: Path) -> dict[str, tuple[str, Mistake]]:
    """One student folder per mistake under ``out`` (``<exercise>--<name>/<exercise>.ipynb``); returns
    student -> (exercise, mistake)."""
    students = {}
    for exercise, mistakes in catalogue.items():
        nb = read_solution(solutions, exercise)
        for m in mistakes:
            student = f"{exercise}--{m.name}"
            folder = Path(out) / student
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(student_notebook(nb, answers_with(nb, m), exercise), folder / f"{exercise}.ipynb")
            students[student] = (exercise, m)
    return students


def summary(catalogue: dict[str, list[Mistake]]) -> str:
    """A Markdown table of the catalogue: exercise, mistake, what the self-check says, tests lost."""
    lines = ["| exercise | mistake | the self-check says | tests lost |", "|---|---|---|---|"]
    for exercise, mistakes in catalogue.items():
        for m in mistakes:
            says = m.check or "(passes: caught by grading only)"
            lines.append(f"| {exercise} | {m.why or m.name} | {says} | {', '.join(m.loses)} |")
    return "\n".join(lines)

