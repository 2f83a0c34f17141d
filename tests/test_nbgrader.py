"""Real nbgrader on the course's solution notebooks: the single source satisfies both graders.

A course folder is set up from ``solutions/`` (the two whose stored run was fastest, by the timings the
notebooks record, to keep this test short) plus the one-function ``add`` course, whose student ``bob``
is right on the visible test and wrong on the hidden one. nbgrader generates the assignment, autogrades
a full-marks submission, an untouched release and bob, and exports; its score for every test cell must
equal `gptlab grade`'s. Bob's zero shows that the hidden tests decide inside nbgrader's kernel too (the
carried reference values, :mod:`gptlab.grading.references`).
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from gptlab.grading.grade import grade
from gptlab.grading.references import carry
from gptlab.grading.release import graded_cells, model_answer, release_notebook
from gptlab.grading.runner import Limits, stored_run_seconds

pytest.importorskip("nbgrader", reason="nbgrader is a test dependency (pip install -e '.[test]')")

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
ASSIGNMENT = "gptlab"
FASTEST = 2


def chosen_solutions() -> list[Path]:
    paths = sorted(SOLUTIONS.glob("*.ipynb"), key=lambda p: (stored_run_seconds(p), p.name))
    return paths[:FASTEST]


# nbgrader runs `alembic` (and its kernels) from PATH: this environment's scripts must come first.
BIN = str(Path(sys.executable).parent)
ENV = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", ""), "PYTHONWARNINGS": "ignore"}


def nbgrader(course: Path, *args: str) -> str:
    done = subprocess.run([str(Path(BIN) / "nbgrader"), *args], cwd=course, capture_output=True, text=True,
                          timeout=300, env=ENV)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    from test_gradebook import ANSWERS, add_course, answered

    base = tmp_path_factory.mktemp("nbgrader")
    root = base / "course"
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.course_id = {ASSIGNMENT!r}\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(root / 'gradebook.db')!r}\n"
        "c.Execute.timeout = 300\n", encoding="utf-8")
    for path in chosen_solutions():
        shutil.copy(path, source / path.name)
    # The add course gets its carried values the way the solutions do, from the one command's code.
    (base / "add").mkdir()
    nbformat.write(add_course(), base / "add" / "add.ipynb")
    carry(base / "add" / "add.ipynb", Limits(cell_seconds=60, notebook_seconds=120))
    shutil.copy(base / "add" / "add.ipynb", source / "add.ipynb")
    names = sorted(p.stem for p in source.glob("*.ipynb"))

    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    release = root / "release" / ASSIGNMENT
    students = {"full": {}, "untouched": {}, "bob": {"add": answered(add_course(), ANSWERS["bob"])}}
    for name in names:
        solution = nbformat.read(source / f"{name}.ipynb", as_version=4)
        students["full"][name] = model_answer(solution)
        students["untouched"][name] = nbformat.read(release / f"{name}.ipynb", as_version=4)
        students["bob"].setdefault(name, students["untouched"][name])
    for student, notebooks in students.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, folder / f"{name}.ipynb")
    log = nbgrader(root, "autograde", ASSIGNMENT, "--force")
    nbgrader(root, "export")

    from nbgrader.api import Gradebook

    theirs = {}
    saved_path = os.environ.get("PATH", "")
    os.environ["PATH"] = ENV["PATH"]
    try:
        gb = Gradebook(f"sqlite:///{root / 'gradebook.db'}")
    finally:
        os.environ["PATH"] = saved_path
    with gb:
        for student in students:
            for name in names:
                for g in graded_cells(nbformat.read(source / f"{name}.ipynb", as_version=4)):
                    theirs[(student, name, g.grade_id)] = gb.find_grade(g.grade_id, name, ASSIGNMENT, student).score
    ours = {(r.student, r.exercise, t.grade_id): t.points
            for r in grade(root / "submitted", base / "graded", source_dir=source, jobs=2, progress=False)
            for t in r.tests}
    with open(root / "grades.csv", newline="") as f:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    return {"root": root, "names": names, "theirs": theirs, "ours": ours, "exported": exported, "log": log}


def test_nbgrader_scores_equal_gptlab_grade_test_by_test(course):
    assert len(course["theirs"]) >= 3 * 5  # three students, at least five graded cells each
    assert course["theirs"] == course["ours"]


def test_full_marks_untouched_zero_and_hidden_tests_decide_under_nbgrader(course):
    ours, theirs = course["ours"], course["theirs"]
    full = {k: v for k, v in theirs.items() if k[0] == "full"}
    assert all(v > 0 for v in full.values()) and not any(v for k, v in theirs.items() if k[0] == "untouched")
    assert theirs[("bob", "add", "add_test")] == 0  # visible test passed, hidden values wrong
    assert course["exported"]["full"] == sum(full.values()) and course["exported"]["untouched"] == 0
    assert ours[("bob", "add", "add_test")] == 0


def test_nbgrader_releases_what_gptlab_release_does(course):
    for name in course["names"]:
        theirs = nbformat.read(course["root"] / "release" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
        ours = release_notebook(nbformat.read(course["root"] / "source" / ASSIGNMENT / f"{name}.ipynb", as_version=4))
        assert [c.source for c in theirs.cells] == [c.source for c in ours.cells], name
        assert "expect(" not in json.dumps([c.source for c in theirs.cells])  # carried values stay hidden
