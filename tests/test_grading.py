"""Release and grading: full marks for the solutions, zero for the untouched exercises, exactly one test
lost per known mistake, and hostile submissions contained.

One grading run (module fixture) covers every submission at once, two kernels at a time, so the suite
stays fast; each test then reads its part of the result.
"""
from __future__ import annotations

import copy
import csv
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from gptlab.grading.cli import main
from gptlab.grading.compare import mismatch
from gptlab.grading.grade import GradingError, Source, grade, set_reference
from gptlab.grading.record import encode
from gptlab.grading.release import NotebookFormatError, graded_cells, release_notebook, stale_exercises, validate
from gptlab.grading.runner import CellRun, Limits, NotebookRun

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, EXERCISES = ROOT / "solutions", ROOT / "exercises"
FIXTURES = Path(__file__).parent / "fixtures" / "submissions"
CANARY, ESCAPE = "/tmp/gptlab-grading-canary.txt", "/tmp/gptlab-grading-escape.txt"
EXERCISE_NAMES = sorted(p.stem for p in SOLUTIONS.glob("*.ipynb"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("submissions")
    for student in FIXTURES.iterdir():
        shutil.copytree(student, subs / student.name)
    for name, folder in (("model_answer", SOLUTIONS), ("untouched", EXERCISES)):
        (subs / name).mkdir()
        for nb in folder.glob("*.ipynb"):
            shutil.copy(nb, subs / name / nb.name)
    Path(CANARY).write_text("original")
    Path(ESCAPE).unlink(missing_ok=True)
    out = tmp_path_factory.mktemp("graded")
    results = grade(subs, out, source_dir=SOLUTIONS, limits=Limits(cell_seconds=45, notebook_seconds=180),
                    jobs=2, progress=False)
    return {(r.student, r.exercise): r for r in results}, out


def points(result) -> dict[str, float]:
    return {t.grade_id: t.points for t in result.tests}


# ------------------------------------------------------------------------------------------- the outcomes


@pytest.mark.parametrize("exercise", EXERCISE_NAMES)
def test_solutions_get_full_marks(graded, exercise):
    r = graded[0][("model_answer", exercise)]
    assert r.max_total > 0 and r.total == r.max_total, [t.message for t in r.tests]


@pytest.mark.parametrize("exercise", EXERCISE_NAMES)
def test_untouched_exercises_get_zero(graded, exercise):
    r = graded[0][("untouched", exercise)]
    assert r.total == 0 and len(r.tests) == len(graded_cells(nbformat.read(SOLUTIONS / f"{exercise}.ipynb", 4)))
    assert all("NotImplementedError" in t.message for t in r.tests), [t.message for t in r.tests]


@pytest.mark.parametrize("student, exercise, failing", [
    ("mistake_unscaled", "04_attention", "attention_test"),
    ("mistake_unloaded_weights", "05_block", "swap_test"),
    ("mistake_positions", "09_kv_cache", "decode_test"),
    ("mistake_no_crop", "08_generation", "generate_test"),
])
def test_one_mistake_costs_exactly_one_test(graded, student, exercise, failing):
    r = graded[0][(student, exercise)]
    for t in r.tests:
        expected = 0.0 if t.grade_id == failing else t.max_points
        assert t.points == expected, (t.grade_id, t.message)


def test_a_correct_answer_written_another_way_gets_full_marks(graded):
    """Hidden tests compare results, not methods: inverse-CDF sampling, loops and scatter all pass."""
    r = graded[0][("other_method", "08_generation")]
    assert r.max_total > 0 and r.total == r.max_total, [t.message for t in r.tests]


@pytest.mark.parametrize("student, expected, note", [
    ("syntax_error", {"mask_test": 0, "attention_test": 0, "mha_test": 0}, ""),
    ("exception", {"mask_test": 1, "attention_test": 0, "mha_test": 0}, ""),
    ("infinite_loop", {"mask_test": 0, "attention_test": 0, "mha_test": 0}, "time limit"),
    ("sys_exit", {"mask_test": 1, "attention_test": 2, "mha_test": 2}, ""),
    ("os_exit", {"mask_test": 1, "attention_test": 0, "mha_test": 0}, "kernel died"),
    ("segfault", {"mask_test": 1, "attention_test": 0, "mha_test": 0}, "kernel died"),
    ("huge_allocation", {"mask_test": 1, "attention_test": 2, "mha_test": 2}, ""),
    ("monkeypatch", {"mask_test": 0, "attention_test": 0, "mha_test": 0}, ""),
    ("not_json", {"mask_test": 0, "attention_test": 0, "mha_test": 0}, "not a readable notebook"),
    ("not_a_notebook", {"mask_test": 0, "attention_test": 0, "mha_test": 0}, "not a readable notebook"),
    ("writes_outside", {"mask_test": 1, "attention_test": 2, "mha_test": 2}, ""),
    ("reads_solutions", {"mask_test": 0, "attention_test": 0, "mha_test": 0}, ""),
])
def test_broken_and_hostile_submissions_cost_only_their_own_points(graded, student, expected, note):
    r = graded[0][(student, "04_attention")]
    assert points(r) == expected, [t.message for t in r.tests]
    assert note in r.note
    # Graded in the same run, two at a time: the model answers were not affected.
    assert all(graded[0][("model_answer", ex)].total == graded[0][("model_answer", ex)].max_total for ex in EXERCISE_NAMES)


def test_monkeypatched_checks_pass_in_the_kernel_but_not_in_the_grader(graded):
    r = graded[0][("monkeypatch", "04_attention")]
    # The patched visible checks raised nothing (or their errors were hidden): only the values betray it,
    # and the tolerance the submission asked for was ignored.
    assert all(t.message.startswith("hidden tests failed") for t in r.tests), [t.message for t in r.tests]


def test_writes_outside_the_working_directory_are_refused(graded):
    assert Path(CANARY).read_text() == "original"
    assert not Path(ESCAPE).exists()
    assert not (Path.home().parent / "gptlab-escape.txt").exists()


def test_gradebook_and_feedback(graded):
    results, out = graded
    with open(out / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(results)
    row = next(r for r in rows if r["student"] == "mistake_unscaled")
    assert (row["exercise"], row["mask_test"], row["attention_test"], row["total"], row["max_total"]) == \
        ("04_attention", "1", "0", "3", "5")
    assert row["block_test"] == ""  # another exercise's test
    text = (out / "feedback" / "mistake_unscaled.md").read_text()
    assert "attention_test | 0 / 2" in text and "mask_test | 1 / 1" in text
    assert "the scores are not scaled" in text  # the visible check's message reaches the student
    loop = (out / "feedback" / "infinite_loop.md").read_text()
    assert "your answer cell 'mask_impl' ran over the time limit" in loop


# ------------------------------------------------------------------------------------------- release


def test_exercises_are_released_from_the_current_solutions():
    assert stale_exercises(SOLUTIONS, EXERCISES) == [], "run: gptlab release solutions --out exercises"


def _tiny_source():
    sol = new_code_cell("def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION\n",
                        metadata={"nbgrader": {"grade": False, "grade_id": "add", "locked": False,
                                               "schema_version": 3, "solution": True, "task": False}})
    test = new_code_cell("assert add(1, 2) == 3\n### BEGIN HIDDEN TESTS\nrecord('x', add(2.5, 2.5))\n### END HIDDEN TESTS",
                         metadata={"nbgrader": {"grade": True, "grade_id": "add_test", "locked": True, "points": 2,
                                                "schema_version": 3, "solution": False, "task": False}},
                         outputs=[new_output("stream", name="stdout", text="hi")], execution_count=3)
    return new_notebook(cells=[new_markdown_cell("# add"), sol, test])


def test_release_stubs_answers_and_removes_hidden_tests():
    nb = _tiny_source()
    released = release_notebook(nb)
    assert released.cells[1].source == "def add(a, b):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    assert released.cells[2].source == "assert add(1, 2) == 3"
    assert released.cells[2].outputs == [] and released.cells[2].execution_count is None
    assert released.cells[2].metadata["nbgrader"]["points"] == 2  # metadata kept for nbgrader
    assert "BEGIN SOLUTION" in nb.cells[1].source  # the source is untouched


@pytest.mark.parametrize("breakage, message", [
    (lambda nb: nb.cells[1].metadata.pop("nbgrader"), "without nbgrader solution metadata"),
    (lambda nb: nb.cells[2].metadata["nbgrader"].update(locked=False), "must be locked"),
    (lambda nb: nb.cells[2].metadata["nbgrader"].update(grade_id="add"), "used twice"),
    (lambda nb: setattr(nb.cells[1], "source", nb.cells[1].source.replace("### END SOLUTION", "")), "pair up"),
])
def test_release_rejects_inconsistent_markers(breakage, message):
    nb = _tiny_source()
    breakage(nb)
    with pytest.raises(NotebookFormatError, match=message):
        validate(nb)


def test_release_command_and_its_check(tmp_path):
    assert main(["release", str(SOLUTIONS), "--out", str(tmp_path)]) == 0
    assert main(["release", str(SOLUTIONS), "--out", str(tmp_path), "--check"]) == 0
    first = sorted(tmp_path.glob("*.ipynb"))[0]
    first.write_text(first.read_text().replace("YOUR CODE HERE", "edited by hand"))
    assert main(["release", str(SOLUTIONS), "--out", str(tmp_path), "--check"]) == 1


def test_grade_command_reports_a_missing_folder(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nope"), "--out", str(tmp_path / "out"), "--source", str(SOLUTIONS)]) == 2
    assert "does not exist" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- soundness


def test_a_test_cell_that_records_nothing_is_refused():
    """Without recorded values the grader could only trust the kernel, which the student controls."""
    nb = _tiny_source()
    source = Source("tiny", nb)
    run = NotebookRun({1: CellRun(1, "ok"), 2: CellRun(2, "ok")})
    with pytest.raises(GradingError, match="records no values"):
        set_reference(source, run)


def test_values_are_compared_with_the_references_tolerance():
    import torch

    ref = encode(torch.tensor([1.0, float("-inf")]))
    assert mismatch(ref, encode(torch.tensor([1.0 + 1e-7, float("-inf")])), 1e-5, 0) is None
    assert "1 of 2 values differ" in mismatch(ref, encode(torch.tensor([1.1, float("-inf")])), 1e-5, 0)
    assert "1 of 2 values differ" in mismatch(ref, encode(torch.tensor([1.0, 0.0])), 1e-5, 0)
    assert "shape" in mismatch(ref, encode(torch.ones(3)), 1e-5, 0)
    assert "expected a float" in mismatch(ref, encode(torch.ones(2, dtype=torch.long)), 1e-5, 0)
    assert mismatch(ref, "garbage", 1e-5, 0)


def test_only_answer_cells_come_from_the_student():
    from gptlab.grading.grade import assemble

    source = _tiny_source()
    student = release_notebook(source)
    student.cells[1].source = "def add(a, b):\n    return 4\n"
    student.cells[2].source = "pass  # the student 'simplified' the locked test"
    student.cells.append(new_code_cell("print('extra')", metadata={"nbgrader": {"solution": True, "grade_id": "add_test"}}))
    nb, missing = assemble(source, nbformat.writes(student).encode())
    assert nb.cells[1].source == "def add(a, b):\n    return 4\n"
    assert nb.cells[2].source == source.cells[2].source  # the instructor's test, hidden part included
    assert len(nb.cells) == len(source.cells) and missing == []
    del student.cells[1]
    nb, missing = assemble(source, nbformat.writes(student).encode())
    assert missing == ["add"] and "raise NotImplementedError()" in nb.cells[1].source
    with pytest.raises(ValueError, match="not a readable notebook"):
        assemble(source, b"\xff\xfe not utf-8")


# ------------------------------------------------------------------------------------------ carried values


def test_carried_reference_values_are_fresh():
    """Each hidden block carries the values its solution records, for graders that compare in the kernel."""
    from gptlab.grading.references import stale

    assert stale(SOLUTIONS) == [], "run: python -m gptlab.grading.references solutions"


def test_stale_or_missing_carried_values_are_found(tmp_path):
    from gptlab.grading.references import CARRIED, decode, encode, stale, without_carried

    path = tmp_path / f"{EXERCISE_NAMES[0]}.ipynb"
    shutil.copy(SOLUTIONS / path.name, path)
    nb = nbformat.read(path, 4)
    first, second = graded_cells(nb)[:2]
    cell = nb.cells[first.index]
    carried = decode(CARRIED.search(cell.source).group(0).split('"""')[1])
    key = sorted(carried)[0]
    carried[key] = {**carried[key], "value": {"kind": "str", "value": "an older solution's value"}}
    old = CARRIED.search(cell.source).group(0)
    cell.source = cell.source.replace(old.split('"""')[1], "\n" + encode(carried) + "\n")
    nb.cells[second.index].source = without_carried(nb.cells[second.index].source)
    nbformat.write(nb, path)
    problems = stale(tmp_path)
    assert len(problems) == 2
    assert f"test {first.grade_id}: carried values are stale ({key}: expected a str value" in problems[0]
    assert f"test {second.grade_id}: no carried values" in problems[1]


def test_expect_compares_in_the_kernel_with_the_solutions_tolerance():
    import sys

    from gptlab.grading import expect, record
    from gptlab.grading.references import encode as carried_text, with_carried

    log = sys.modules["gptlab.grading.record"]._LOG
    log.clear()
    reference = {"x": {"key": "x", "value": encode(1.0), "atol": 1e-3, "rtol": 0.0}}
    record("x", 1.0004, atol=100)  # a submission cannot loosen the tolerance
    expect(carried_text(reference))
    log.clear()
    record("x", 1.01)
    with pytest.raises(AssertionError, match=r"hidden tests failed: x: 1 of 1 values differ"):
        expect(carried_text(reference))
    log.clear()
    with pytest.raises(AssertionError, match="x: no result recorded"):
        expect(carried_text(reference))
    source = "assert True\n### BEGIN HIDDEN TESTS\nrecord('x', f())\n### END HIDDEN TESTS"
    once = with_carried(source, reference)
    assert with_carried(once, reference) == once and once.endswith('""")\n### END HIDDEN TESTS')
    assert release_notebook(new_notebook(cells=[new_code_cell(once, metadata=_tiny_source().cells[2].metadata)])).cells[0].source == "assert True"
    log.clear()


