"""The solution's values carried in the hidden tests, so that the hidden tests decide under nbgrader too.

``gptlab grade`` compares what a hidden test ``record()``\\ s with the solution's values in its own process.
nbgrader only runs the notebook and gives a test cell its points when the cell raised no error, so for
nbgrader the comparison must happen in the kernel, and the solution's values must be there. This module
writes them into each graded cell, at the end of its hidden block::

    from gptlab.grading import expect  # the solution's values, written by python -m gptlab.grading.references
    expect(\"\"\"
    eNq1...
    \"\"\")

``expect`` compares every value the cell recorded with those (same keys, the *solution's* tolerance) and
raises ``AssertionError("hidden tests failed: ...")`` naming what differs. The hidden block never reaches
a student (``gptlab release`` and ``nbgrader generate_assignment`` remove it) and both graders put it back
from the instructor's copy. Exercise authors keep writing plain ``record(key, value)`` calls and run::

    python -m gptlab.grading.references solutions           # run every solution, rewrite its carried values
    python -m gptlab.grading.references solutions --check   # exit 1 where they are missing or stale

This is the weaker of the two guards: code the student ran earlier in the same kernel can replace
``expect`` or hide the error it raises, and nbgrader cannot tell. ``gptlab grade`` also compares outside the
kernel, where no submitted code reaches.
"""
from __future__ import annotations

import argparse
import base64
import copy
import json
import re
import sys
import zlib
from pathlib import Path

from .compare import COMMAND, FAILED, differences
from .record import recorded_in_this_cell

HEADER = f"from gptlab.grading import expect  # the solution's values, written by {COMMAND}"
CARRIED = re.compile(
    r'^[ \t]*from gptlab\.grading import expect\b[^\n]*\n[ \t]*expect\("""\n[A-Za-z0-9+/=\s]*?"""\)[ \t]*(\n|$)', re.M)
END_HIDDEN = re.compile(r"^([ \t]*)### END HIDDEN TESTS", re.M)
WIDTH = 100  # characters per line of the carried text
DIGITS = 9  # significant digits kept of each float: a relative error of 5e-10, far inside any tolerance


# ------------------------------------------------------------------------------------------ in the kernel


def expect(carried: str) -> None:
    """Raise AssertionError unless this cell recorded exactly the carried keys, each within tolerance."""
    problems = differences(decode(carried), recorded_in_this_cell())
    if problems:
        raise AssertionError(FAILED + "; ".join(problems))


def decode(carried: str) -> dict[str, dict]:
    return json.loads(zlib.decompress(base64.b64decode("".join(carried.split()))))


# ------------------------------------------------------------------------------------------ writing them


def _rounded(value: dict) -> dict:
    if value.get("kind") == "list":
        return {**value, "items": [_rounded(v) for v in value["items"]]}
    if value.get("kind") != "float":
        return value
    return {**value, "data": [float(f"{x:.{DIGITS}g}") if isinstance(x, float) else x for x in value["data"]]}


def encode(reference: dict[str, dict]) -> str:
    """The carried text for one test cell's reference (key -> record payload), wrapped in lines."""
    slim = {k: {"value": _rounded(p["value"]), "atol": p["atol"], "rtol": p["rtol"]} for k, p in reference.items()}
    problems = differences(slim, {k: [p] for k, p in reference.items()})
    if problems:  # a test asking for a tolerance tighter than the rounding
        raise ValueError("the rounded values no longer match: " + "; ".join(problems))
    text = base64.b64encode(zlib.compress(json.dumps(slim, sort_keys=True, separators=(",", ":")).encode(), 9)).decode()
    return "\n".join(text[i:i + WIDTH] for i in range(0, len(text), WIDTH))


def without_carried(source: str) -> str:
    return CARRIED.sub("", source)


def carried_text(source: str) -> str | None:
    m = CARRIED.search(source)
    return None if m is None else m.group(0).split('"""')[1]


def with_carried(source: str, reference: dict[str, dict], name: str = "cell") -> str:
    """``source`` with the carried values at the end of its last hidden block (any old ones replaced)."""
    source = without_carried(source)
    ends = list(END_HIDDEN.finditer(source))
    if not ends:
        raise ValueError(f"{name}: a graded cell needs a '### BEGIN HIDDEN TESTS' block to carry its values in")
    end, indent = ends[-1], ends[-1].group(1)
    block = "\n".join(indent + line for line in [HEADER, 'expect("""', *encode(reference).splitlines(), '""")'])
    return source[:end.start()] + block + "\n" + source[end.start():]


def carry(path: Path, limits=None) -> bool:
    """Run the solution notebook ``path`` (carried values left out) in a clean kernel and write the values its
    tests record into its hidden blocks, in the ``.ipynb`` and its paired ``.py``. True if anything changed."""
    import nbformat

    from ..notebooks import write_pair
    from .grade import Source, set_reference
    from .release import NBFORMAT, graded_cells
    from .runner import Limits, run_notebook

    path = Path(path)
    nb = nbformat.read(path, as_version=NBFORMAT)
    clean = copy.deepcopy(nb)
    for g in graded_cells(clean):
        clean.cells[g.index].source = without_carried(clean.cells[g.index].source)
    source = Source(path.stem, clean)
    set_reference(source, run_notebook(clean, limits or Limits(cell_seconds=600, notebook_seconds=3600)))
    changed = False
    for g in graded_cells(nb):
        cell = nb.cells[g.index]
        new = with_carried(cell.source, source.reference[g.grade_id], f"{path.name} {g.grade_id}")
        changed |= new != cell.source
        cell.source = new
    if changed:
        write_pair(nb, path)
    return changed


def stale(folder: Path) -> list[str]:
    """Where the carried values do not match what the committed (executed) solutions record, one sentence
    each; no kernel needed. The outputs stored in a solution notebook are fresh (the notebook checks see
    to that), so values that disagree with them were carried from an older version of the solution."""
    import nbformat

    from .release import NBFORMAT, graded_cells
    from .runner import cell_records

    problems = []
    for path in sorted(Path(folder).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=NBFORMAT)
        for g in graded_cells(nb):
            cell = nb.cells[g.index]
            where = f"{path.name}, test {g.grade_id}"
            text = carried_text(cell.source)
            stored = cell_records(cell)
            if text is None:
                problems.append(f"{where}: no carried values (nbgrader would grade nothing); run {COMMAND} {folder}")
            elif not stored:
                problems.append(f"{where}: no recorded outputs stored; execute the notebook first")
            else:
                why = differences(decode(text), stored)
                if why:
                    problems.append(f"{where}: carried values are stale ({'; '.join(why)}); run {COMMAND} {folder}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the solution notebooks (e.g. solutions)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if values are missing or stale")
    args = parser.parse_args(argv)
    paths = sorted(args.folder.glob("*.ipynb"))
    if not paths:
        print(f"error: no notebooks in {args.folder}", file=sys.stderr)
        return 2
    if args.check:
        problems = stale(args.folder)
        for line in problems:
            print(line, file=sys.stderr)
        return 1 if problems else 0
    from .grade import GradingError

    failed = 0
    for path in paths:
        try:
            print(f"{path}: {'rewritten' if carry(path) else 'up to date'}")
        except (GradingError, ValueError) as exc:
            print(f"FAILED {path}: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
