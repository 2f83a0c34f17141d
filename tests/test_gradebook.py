"""What `gptlab grade` hands the instructor: LMS import files, HTML feedback, the class report, re-grading
a part of the class, and a run that survives being interrupted.

A one-function course (``add``) keeps the kernels fast; its students are the usual cases: right, right on
the visible test but wrong on the hidden one, untouched, and a file that is not a notebook.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from gptlab.grading.gradebook import CANVAS_HEADER, GRADESCOPE_HEADER, MOODLE_HEADER, read_roster
from gptlab.grading.grade import grade, progress_bar, usable_jobs
from gptlab.grading.release import release_notebook
from gptlab.grading.runner import Limits

LIMITS = Limits(cell_seconds=30, notebook_seconds=60)


def add_course() -> nbformat.NotebookNode:
    """A solution notebook in the course's format: one answer cell, one graded cell with hidden tests."""
    meta = {"grade": False, "grade_id": "add_impl", "locked": False, "schema_version": 3, "solution": True, "task": False}
    test_meta = {"grade": True, "grade_id": "add_test", "locked": True, "points": 2, "schema_version": 3,
                 "solution": False, "task": False}
    return new_notebook(cells=[
        new_markdown_cell("# Add two numbers"),
        new_code_cell("def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION", metadata={"nbgrader": meta}),
        new_code_cell('print("add(1, 2) =", add(1, 2))\nassert add(1, 2) == 3\n### BEGIN HIDDEN TESTS\n'
                      'from gptlab.grading import record\nrecord("halves", add(2.5, 2.5))\n### END HIDDEN TESTS',
                      metadata={"nbgrader": test_meta}),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def answered(source, answer: str | None):
    """The released notebook with the answer cell filled in (None: left untouched)."""
    nb = release_notebook(source)
    if answer is not None:
        nb.cells[1].source = answer
    return nb


ANSWERS = {
    "alice": "def add(a, b):\n    return a + b",
    "bob": "def add(a, b):\n    return int(a) + int(b)",  # right on the visible test only
    "carol": None,
}


def make_class(folder: Path, answers=ANSWERS) -> Path:
    source = add_course()
    (folder / "source").mkdir(parents=True)
    nbformat.write(source, folder / "source" / "add.ipynb")
    for student, answer in answers.items():
        (folder / "subs" / student).mkdir(parents=True)
        nbformat.write(answered(source, answer), folder / "subs" / student / "add.ipynb")
    (folder / "subs" / "dan").mkdir()
    (folder / "subs" / "dan" / "add.ipynb").write_text("{ not a notebook", encoding="utf-8")
    return folder


ROSTER = """student,first_name,last_name,id,sis_user_id,sis_login_id,email,section
alice,Alice,Liddell,101,S101,aliddell,alice@example.edu,A
bob,Bob,Marley,102,S102,bmarley,bob@example.edu,B
carol,Carol,King,103,S103,cking,carol@example.edu,A
erin,Erin,Brockovich,105,S105,ebrock,erin@example.edu,B
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = make_class(tmp_path_factory.mktemp("class"))
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    results = grade(folder / "subs", folder / "out", source_dir=folder / "source", limits=LIMITS, jobs=2,
                    progress=False, formats=("canvas", "gradescope", "moodle"), roster=folder / "roster.csv")
    return folder, {r.student: r for r in results}


def rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_scores(graded):
    _, results = graded
    assert {s: r.total for s, r in results.items()} == {"alice": 2, "bob": 0, "carol": 0, "dan": 0}
    assert results["bob"].tests[0].message.startswith("hidden tests failed: halves")


# ------------------------------------------------------------------------------------------ LMS files


def test_canvas_import_file(graded):
    folder, _ = graded
    table = rows(folder / "out" / "canvas.csv")
    # Canvas's gradebook import: these five columns first, then one per assignment, a Points Possible row.
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "add"] and table[0][:5] == CANVAS_HEADER
    assert table[1] == ["Points Possible", "", "", "", "", "2"]
    by_name = {r[0]: r for r in table[2:]}
    assert by_name["Liddell, Alice"] == ["Liddell, Alice", "101", "S101", "aliddell", "A", "2"]
    assert by_name["Marley, Bob"][-1] == "0"
    assert by_name["Brockovich, Erin"][-1] == ""  # on the roster, nothing submitted: Canvas keeps its grade
    assert by_name["dan"][1:5] == ["", "", "", ""]  # submitted, not on the roster
    assert "dan: has submissions but is not in the roster" in (folder / "out" / "roster_problems.txt").read_text()


def test_gradescope_import_file(graded):
    folder, _ = graded
    table = rows(folder / "out" / "gradescope" / "add.csv")
    assert table[0] == GRADESCOPE_HEADER == ["First Name", "Last Name", "SID", "Email", "Total Score", "Max Points", "Status"]
    by_email = {r[3]: r for r in table[1:]}
    assert by_email["alice@example.edu"] == ["Alice", "Liddell", "S101", "alice@example.edu", "2", "2", "Graded"]
    assert by_email["erin@example.edu"][4:] == ["", "2", "Missing"]


def test_moodle_import_file(graded):
    folder, _ = graded
    table = rows(folder / "out" / "moodle.csv")
    assert table[0] == [*MOODLE_HEADER, "add (Real)"] and MOODLE_HEADER == ["First name", "Last name", "ID number", "Email address"]
    assert ["Bob", "Marley", "S102", "bob@example.edu", "0"] in table


def test_a_roster_without_student_column_is_refused(tmp_path):
    (tmp_path / "r.csv").write_text("name,email\nA,a@x\n")
    with pytest.raises(ValueError, match="needs a 'student' column"):
        read_roster(tmp_path / "r.csv")


# ------------------------------------------------------------------------------------------ feedback and report


def test_html_feedback_shows_test_points_diagnosis_and_output(graded):
    folder, _ = graded
    page = (folder / "out" / "feedback" / "bob.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<title>Feedback for bob</title>" in page
    assert "add_test" in page and "0 / 2" in page
    assert "hidden tests failed: halves" in page  # the diagnosis
    assert "add(1, 2) = 3" in page  # what the failing test cell printed
    assert "record(" not in page  # never the hidden tests' code
    assert "NotImplementedError" in (folder / "out" / "feedback" / "carol.html").read_text()
    assert "What `add_test` printed" in (folder / "out" / "feedback" / "bob.md").read_text()


def test_class_report(graded):
    folder, _ = graded
    report = json.loads((folder / "out" / "report" / "report.json").read_text())
    ex = report["exercises"]["add"]
    assert ex["distribution"] == {"0": 3, "2": 1} and ex["tests"]["add_test"] == {"points": 2, "passed": 1, "graded": 4}
    kinds = {(f["test"], f["count"]) for f in report["common_failures"]}
    assert ("add_test", 1) in kinds and len(report["common_failures"]) == 3  # hidden values, stub, unreadable
    assert [n["student"] for n in report["not_run"]] == ["dan"] and "not a readable notebook" in report["not_run"][0]["why"]
    for png in ("scores.png", "tests.png"):
        assert (folder / "out" / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (folder / "out" / "report" / "report.md").read_text()
    assert "| add_test | 2 | 1 of 4 |" in md and "## Notebooks that did not run to the end" in md


# ------------------------------------------------------------------------------------------ partial runs


def test_interrupted_and_restarted_run_loses_nothing_and_mixes_nothing_up(tmp_path):
    folder = make_class(tmp_path, {f"s{i}": ANSWERS[("alice", "bob", "carol")[i % 3]] for i in range(5)})
    seen = []

    def stop_after_two(result, done, total):
        seen.append(result.student)
        if done == 2:
            raise KeyboardInterrupt

    kw = dict(source_dir=folder / "source", limits=LIMITS, jobs=2, progress=False)
    with pytest.raises(KeyboardInterrupt):
        grade(folder / "subs", folder / "out", on_result=stop_after_two, **kw)
    stored = sorted(p.parent.name for p in (folder / "out" / "results").rglob("*.json"))
    assert stored == sorted(seen) and len(stored) == 2
    assert not list((folder / "out" / "results").rglob("*.tmp"))

    # Between the runs: one stored result is damaged, one graded student hands in a new (wrong) notebook.
    damaged, changed = stored
    (folder / "out" / "results" / damaged / "add.json").write_text('{"student": "s', encoding="utf-8")
    nbformat.write(answered(add_course(), ANSWERS["bob"]), folder / "subs" / changed / "add.ipynb")
    regraded = []
    results = grade(folder / "subs", folder / "out", on_result=lambda r, d, t: regraded.append(r.student), **kw)
    assert sorted(regraded) == sorted({"s0", "s1", "s2", "s3", "s4", "dan"} - set(stored) | {damaged, changed})
    expected = {"s0": 2, "s1": 0, "s2": 0, "s3": 2, "s4": 0, "dan": 0, changed: 0}
    assert {r.student: r.total for r in results} == expected
    gradebook = {r["student"]: r["total"] for r in csv.DictReader(open(folder / "out" / "gradebook.csv"))}
    assert gradebook == {s: f"{v:g}" for s, v in expected.items()}

    # A third run has nothing left to do.
    again = []
    grade(folder / "subs", folder / "out", on_result=lambda r, d, t: again.append(r), **kw)
    assert again == []


def test_regrading_one_student_keeps_the_rest(graded, tmp_path):
    folder, before = graded
    out = tmp_path / "out"
    shutil.copytree(folder / "out", out)
    shutil.copytree(folder / "subs", tmp_path / "subs")
    nbformat.write(answered(add_course(), ANSWERS["alice"]), tmp_path / "subs" / "bob" / "add.ipynb")
    regraded = []
    results = grade(tmp_path / "subs", out, source_dir=folder / "source", limits=LIMITS, progress=False,
                    students={"bob"}, on_result=lambda r, d, t: regraded.append(r.student))
    assert regraded == ["bob"]
    assert {r.student: r.total for r in results} == {"alice": 2, "bob": 2, "carol": 0, "dan": 0}
    with pytest.raises(FileNotFoundError, match="no submissions from zoe"):
        grade(tmp_path / "subs", out, source_dir=folder / "source", students={"zoe"}, progress=False)
    with pytest.raises(FileNotFoundError, match="no solution notebook for exercise"):
        grade(tmp_path / "subs", out, source_dir=folder / "source", exercises={"nope"}, progress=False)


def test_progress_bar_estimates_the_time_left():
    text = io.StringIO()
    bar = progress_bar(4, True, file=text)
    bar.update(1)
    bar.close()
    assert "1/4" in text.getvalue() and "left" in text.getvalue()


def test_jobs_stay_within_memory():
    assert usable_jobs(3, memory_mb=1) == 3
    assert usable_jobs(64, memory_mb=10**9) == 1  # a petabyte per kernel: one at a time
    with pytest.raises(ValueError, match="at least 1"):
        usable_jobs(-1, 1)


def test_a_kernel_that_dies_before_any_cell_is_started_again(monkeypatch):
    from gptlab.grading import runner

    failed = runner.NotebookRun({}, "the kernel failed: Kernel died before replying to kernel_info")
    ran = runner.NotebookRun({0: runner.CellRun(0, "ok")})
    died_in_a_cell = runner.NotebookRun({0: runner.CellRun(0, "error", "the kernel died")}, "the kernel died in cell 0")
    for answers, expected, calls in (([failed, ran], ran, 2), ([failed] * 5, failed, runner.KERNEL_STARTS),
                                     ([died_in_a_cell, ran], died_in_a_cell, 1)):
        queue = list(answers)
        monkeypatch.setattr(runner, "_run_once", lambda nb, limits, keep: queue.pop(0))
        assert runner.run_notebook(new_notebook()) is expected and len(answers) - len(queue) == calls
