"""The catalogue of real students' mistakes (``solutions/mistakes/``): each one is diagnosed by its
exercise's visible self-check with the right message, and costs exactly its hidden tests' points when
graded. One grading run per exercise covers its whole catalogue."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from gptlab.grading import catalogue
from gptlab.grading.grade import grade
from gptlab.grading.runner import Limits

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
CATALOGUE = catalogue.load(SOLUTIONS / "mistakes")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """exercise -> {student: result}: one grading run per exercise, on first use. Split by exercise so
    that the test processes share the catalogue (tests/conftest.py groups its tests the same way)."""
    runs = {}
    jobs = 1 if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1 else 2

    def results(exercise):
        if exercise not in runs:
            subs = tmp_path_factory.mktemp(f"mistakes-{exercise}")
            catalogue.write_submissions(SOLUTIONS, {exercise: CATALOGUE[exercise]}, subs)
            graded = grade(subs, tmp_path_factory.mktemp(f"graded-{exercise}"), source_dir=SOLUTIONS,
                           limits=Limits(cell_seconds=60, notebook_seconds=240), jobs=jobs, progress=False)
            runs[exercise] = {r.student: r for r in graded}
        return runs[exercise]

    return results


def test_every_mistake_names_an_exercise_that_exists():
    for exercise in CATALOGUE:
        assert (SOLUTIONS / f"{exercise}.ipynb").exists(), exercise


def check_diagnosis(exercise, mistake):
    nb = catalogue.read_solution(SOLUTIONS, exercise)
    failure = catalogue.self_check(nb, catalogue.answers_with(nb, mistake), exercise)
    if mistake.check is None:
        assert failure is None, f"the visible checks were expected to pass, but: {failure}"
        return
    assert failure is not None, "this wrong answer passes every visible check"
    assert failure.error == "AssertionError", f"cell {failure.cell} raised {failure.error}: {failure.message}"
    assert re.search(mistake.check, failure.message), f"wrong diagnosis: {failure.message!r}"


def check_points(result, mistake):
    assert result.tests, result.note
    for t in result.tests:
        if t.grade_id in mistake.loses:
            assert t.points == 0, f"{t.grade_id} should be lost: {t.message}"
            if mistake.feedback:
                assert re.search(mistake.feedback, t.message), t.message
        else:
            assert t.points == t.max_points, f"{t.grade_id} should not be lost: {t.message}"


def exercise_tests(exercise):
    """The two tests of every mistake of ``exercise``, as one class: a class is the unit that pytest-xdist's
    ``--dist loadscope`` hands to one process, so the catalogue's grading spreads over the processes."""
    mistakes = pytest.mark.parametrize("mistake", CATALOGUE[exercise], ids=lambda m: m.name)

    class Tests:
        @mistakes
        def test_self_check_names_the_mistake(self, mistake):
            check_diagnosis(exercise, mistake)

        @mistakes
        def test_mistake_costs_exactly_its_tests(self, graded, mistake):
            check_points(graded(exercise)[f"{exercise}--{mistake.name}"], mistake)

    Tests.__name__ = Tests.__qualname__ = f"TestMistakes_{exercise}"
    return Tests


for _exercise in CATALOGUE:
    globals()[f"TestMistakes_{_exercise}"] = exercise_tests(_exercise)


def test_the_solutions_pass_their_own_self_checks():
    for exercise in CATALOGUE:
        nb = catalogue.read_solution(SOLUTIONS, exercise)
        assert catalogue.self_check(nb, catalogue.solution_answers(nb), exercise) is None
