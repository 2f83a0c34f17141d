"""The catalogue of real students' mistakes (``solutions/mistakes/``): each one is diagnosed by its
exercise's visible self-check with the right message, and costs exactly its hidden tests' points when
graded. One grading run (module fixture) covers the whole catalogue, two kernels at a time."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from gptlab.grading import catalogue
from gptlab.grading.grade import grade
from gptlab.grading.runner import Limits

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
CATALOGUE = catalogue.load(SOLUTIONS / "mistakes")
CASES = [(ex, m) for ex, ms in CATALOGUE.items() for m in ms]


def _id(case):
    return f"{case[0]}--{case[1].name}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("mistakes")
    students = catalogue.write_submissions(SOLUTIONS, CATALOGUE, subs)
    results = grade(subs, tmp_path_factory.mktemp("graded"), source_dir=SOLUTIONS,
                    limits=Limits(cell_seconds=60, notebook_seconds=240), jobs=2, progress=False)
    return {r.student: r for r in results}, students


def test_every_mistake_names_an_exercise_that_exists():
    for exercise in CATALOGUE:
        assert (SOLUTIONS / f"{exercise}.ipynb").exists(), exercise


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_self_check_names_the_mistake(case):
    exercise, mistake = case
    nb = catalogue.read_solution(SOLUTIONS, exercise)
    failure = catalogue.self_check(nb, catalogue.answers_with(nb, mistake), exercise)
    if mistake.check is None:
        assert failure is None, f"the visible checks were expected to pass, but: {failure}"
        return
    assert failure is not None, "this wrong answer passes every visible check"
    assert failure.error == "AssertionError", f"cell {failure.cell} raised {failure.error}: {failure.message}"
    assert re.search(mistake.check, failure.message), f"wrong diagnosis: {failure.message!r}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_mistake_costs_exactly_its_tests(graded, case):
    exercise, mistake = case
    result = graded[0][f"{exercise}--{mistake.name}"]
    assert result.tests, result.note
    for t in result.tests:
        if t.grade_id in mistake.loses:
            assert t.points == 0, f"{t.grade_id} should be lost: {t.message}"
            if mistake.feedback:
                assert re.search(mistake.feedback, t.message), t.message
        else:
            assert t.points == t.max_points, f"{t.grade_id} should not be lost: {t.message}"


def test_the_solutions_pass_their_own_self_checks():
    for exercise in CATALOGUE:
        nb = catalogue.read_solution(SOLUTIONS, exercise)
        assert catalogue.self_check(nb, catalogue.solution_answers(nb), exercise) is None
