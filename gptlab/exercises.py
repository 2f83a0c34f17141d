"""Bring what a student wrote in earlier exercises into a later one.

Each exercise notebook is graded on its own, so a later exercise never *needs* an earlier one: its
scaffold uses the course's reference pieces. But the point of the track is that, at the end, the model
that generates text is the student's own. :func:`mine` reads an exercise notebook the student saved and
returns what its answer cells define; :func:`own_pieces` gathers several such pieces and says, for each,
whether it is the student's or the course's.

Only the notebook's *setup* cells (the code cells before its first answer cell: imports, constants) and
its answer cells are run, never its checks, plots or training runs, so loading is quick and has no side
effects. An answer cell that still says ``raise NotImplementedError()`` counts as not written.
"""
from __future__ import annotations

import types
from pathlib import Path

import nbformat

from .grading.cells import run_cell
from .grading.release import nbgrader_meta


class NotWrittenYet(LookupError):
    """The exercise notebook is missing, or the piece asked for is not written (or does not run) yet."""


def _code_to_run(nb) -> tuple[list[str], list[str]]:
    """(setup cells, answer cells) of an exercise notebook."""
    setup, answers = [], []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            answers.append(cell.source)
        elif not answers and not meta.get("grade"):
            setup.append(cell.source)
    return setup, answers


def mine(exercise: str, folder: str | Path = ".") -> types.SimpleNamespace:
    """Everything the answer cells of ``folder/<exercise>.ipynb`` define, as attributes.

    ``exercise`` may be given with or without ``.ipynb``. Raises :class:`NotWrittenYet` naming the notebook
    and the cell when the file is missing or an answer cell fails to run.
    """
    path = Path(folder) / (exercise if exercise.endswith(".ipynb") else f"{exercise}.ipynb")
    if not path.exists():
        raise NotWrittenYet(f"{path} not found: save that exercise (File > Save) in {Path(folder).resolve()}")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:
        raise NotWrittenYet(f"{path} is not a readable notebook: {exc}") from None
    setup, answers = _code_to_run(nb)
    if not answers:
        raise NotWrittenYet(f"{path} has no answer cells (nbgrader 'solution' cells): is it an exercise notebook?")
    namespace: dict = {"__name__": f"exercise_{path.stem}"}
    for kind, sources in (("setup", setup), ("answer", answers)):
        for n, source in enumerate(sources, 1):
            try:
                run_cell(source, namespace, f"<{path.name}: {kind} cell {n}>")
            except NotImplementedError:
                continue  # a piece not written yet: whatever else the notebook defines still loads
            except Exception as exc:
                raise NotWrittenYet(f"{path.name}, {kind} cell {n} fails: {type(exc).__name__}: {exc}") from None
    defined = {k: v for k, v in namespace.items() if not k.startswith("_") and not isinstance(v, types.ModuleType)}
    return types.SimpleNamespace(**defined)


def own_pieces(wanted: dict[str, tuple[str, object]], folder: str | Path = ".", *, verbose: bool = True) -> dict:
    """``{name: (exercise, reference)}`` -> ``{name: object}``: the student's ``name`` from that exercise
    where it is written and runs, else the reference. Prints one line per piece saying whose it is."""
    found, loaded = {}, {}  # exercise -> namespace, or the NotWrittenYet that loading it raised
    for name, (exercise, reference) in wanted.items():
        if exercise not in loaded:
            try:
                loaded[exercise] = mine(exercise, folder)
            except NotWrittenYet as exc:
                loaded[exercise] = exc
        source = loaded[exercise]
        if isinstance(source, NotWrittenYet) or not hasattr(source, name):
            found[name] = reference
            reason = str(source) if isinstance(source, NotWrittenYet) else f"{name} is not defined in {exercise}"
            whose = f"the course's ({reason})"
        else:
            found[name] = getattr(source, name)
            whose = f"yours, from {exercise}"
        if verbose:
            print(f"{name:>24}: {whose}")
    return found
