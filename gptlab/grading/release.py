"""nbgrader-compatible notebooks: read the markers, release student versions.

A solution notebook marks answers with ``### BEGIN SOLUTION`` / ``### END SOLUTION`` in cells whose
``metadata.nbgrader.solution`` is true, and hidden tests with ``### BEGIN HIDDEN TESTS`` /
``### END HIDDEN TESTS`` in graded, locked test cells (``grade: true``, ``points``, ``grade_id``). The
released notebook replaces each answer by ``# YOUR CODE HERE`` + ``raise NotImplementedError()`` (as
nbgrader does), drops the hidden tests and every output.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..errors import GptlabError

SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)", re.S | re.M)
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n.*?^[ \t]*### END HIDDEN TESTS[^\n]*(\n|$)", re.S | re.M)
NBFORMAT = 4


class NotebookFormatError(GptlabError, ValueError):
    """A solution notebook whose markers or nbgrader metadata do not agree."""


@dataclass(frozen=True)
class GradedCell:
    grade_id: str
    points: float
    index: int


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def solution_ids(nb) -> list[str]:
    return [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("solution")]


def graded_cells(nb) -> list[GradedCell]:
    return [
        GradedCell(m["grade_id"], float(m.get("points", 0)), i)
        for i, c in enumerate(nb.cells)
        if (m := nbgrader_meta(c)).get("grade") and c.cell_type == "code"
    ]


def validate(nb, name: str = "notebook") -> None:
    """Raise :class:`NotebookFormatError` naming the cell when markers and metadata disagree."""
    seen: set[str] = set()
    for i, cell in enumerate(nb.cells):
        meta, src = nbgrader_meta(cell), cell.source
        where = f"{name}, cell {i}"
        for begin, end in (("### BEGIN SOLUTION", "### END SOLUTION"), ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")):
            if src.count(begin) != src.count(end):
                raise NotebookFormatError(f"{where}: '{begin}' and '{end}' do not pair up")
        if "### BEGIN SOLUTION" in src and not meta.get("solution"):
            raise NotebookFormatError(f"{where}: a solution region in a cell without nbgrader solution metadata")
        if "### BEGIN HIDDEN TESTS" in src and not meta.get("grade"):
            raise NotebookFormatError(f"{where}: hidden tests in a cell that is not a graded test cell")
        if meta.get("solution") or meta.get("grade"):
            gid = meta.get("grade_id")
            if not gid or not re.fullmatch(r"[A-Za-z0-9_\-]+", gid):
                raise NotebookFormatError(f"{where}: nbgrader cells need a grade_id of letters, digits, _ or -")
            if gid in seen:
                raise NotebookFormatError(f"{where}: grade_id {gid!r} is used twice")
            seen.add(gid)
        if meta.get("grade"):
            if cell.cell_type != "code":
                raise NotebookFormatError(f"{where}: only code cells can be graded here")
            if not meta.get("locked"):
                raise NotebookFormatError(f"{where}: a graded test cell must be locked")
            if not float(meta.get("points", 0)) > 0:
                raise NotebookFormatError(f"{where}: a graded test cell needs points > 0")
            if meta.get("solution"):
                raise NotebookFormatError(f"{where}: a cell cannot be both an answer and a test")


def stub_source(source: str, cell_type: str = "code") -> str:
    """The student's version of an answer cell."""
    if cell_type == "markdown":
        return SOLUTION.sub(lambda m: "YOUR ANSWER HERE" + m.group(2), source)
    return SOLUTION.sub(lambda m: f"{m.group(1)}# YOUR CODE HERE\n{m.group(1)}raise NotImplementedError()" + m.group(2), source)


def release_notebook(nb, name: str = "notebook"):
    """Student version of a solution notebook: answers stubbed, hidden tests removed, outputs stripped."""
    validate(nb, name)
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if nbgrader_meta(cell).get("solution"):
            cell.source = stub_source(cell.source, cell.cell_type)
        if nbgrader_meta(cell).get("grade"):
            cell.source = HIDDEN.sub("", cell.source).rstrip("\n")
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        for key in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
    for key in ("jupytext", "widgets"):
        out.metadata.pop(key, None)
    return out


MARKER_LINE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)


def model_answer(nb):
    """What a student who wrote exactly the solution hands in: the released notebook with every answer cell
    holding the solution's answer (markers removed). Used to check that both graders give full marks."""
    out = release_notebook(nb)
    for cell, original in zip(out.cells, nb.cells):
        if nbgrader_meta(original).get("solution"):
            cell.source = MARKER_LINE.sub("", original.source)
    return out


def release_folder(source: Path, out: Path) -> list[Path]:
    """Write the student version of every ``source/*.ipynb`` into ``out``; returns the paths written."""
    source, out = Path(source), Path(out)
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks in {source}")
    check_unique_ids({p.stem: nbformat.read(p, as_version=NBFORMAT) for p in notebooks})
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        text = released_text(path)
        target = out / path.name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def released_text(path: Path) -> str:
    nb = nbformat.read(path, as_version=NBFORMAT)
    return nbformat.writes(release_notebook(nb, path.name)) + "\n"


def stale_exercises(source: Path, out: Path) -> list[str]:
    """Names of exercise notebooks missing from ``out``, out of date, or without a source notebook."""
    source, out = Path(source), Path(out)
    problems = []
    for path in sorted(source.glob("*.ipynb")):
        target = out / path.name
        if not target.exists():
            problems.append(f"{target} is missing")
        elif target.read_text(encoding="utf-8") != released_text(path):
            problems.append(f"{target} is out of date")
    for target in sorted(out.glob("*.ipynb")):
        if not (source / target.name).exists():
            problems.append(f"{target} has no solution notebook in {source}")
    return problems


def check_unique_ids(notebooks: dict) -> None:
    """grade_ids name the gradebook's columns, so they must be unique across all notebooks."""
    owner: dict[str, str] = {}
    for name, nb in notebooks.items():
        validate(nb, name)
        for cell in nb.cells:
            gid = nbgrader_meta(cell).get("grade_id")
            if gid and nbgrader_meta(cell).get("grade"):
                if gid in owner:
                    raise NotebookFormatError(f"grade_id {gid!r} is used in both {owner[gid]} and {name}")
                owner[gid] = name
