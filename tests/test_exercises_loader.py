"""``gptlab.exercises``: a later exercise takes the pieces the student wrote in an earlier one."""
import shutil
from pathlib import Path

import pytest

from gptlab.exercises import NotWrittenYet, mine, own_pieces

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
EXERCISES = SOLUTIONS.parent / "exercises"


def _any_exercise():
    return sorted(SOLUTIONS.glob("*.ipynb"))[0]


def test_a_solved_notebook_gives_its_answers(tmp_path):
    path = _any_exercise()
    shutil.copy(path, tmp_path / path.name)
    ns = mine(path.stem, tmp_path)
    defined = [k for k, v in vars(ns).items() if callable(v)]
    assert defined, "the solution's answer cells define nothing callable"


def test_an_untouched_exercise_gives_nothing_and_pieces_fall_back(tmp_path, capsys):
    path = EXERCISES / _any_exercise().name
    shutil.copy(path, tmp_path / path.name)
    sentinel = object()
    pieces = own_pieces({"not_there": (path.stem, sentinel)}, tmp_path)
    assert pieces["not_there"] is sentinel
    assert "the course's" in capsys.readouterr().out


def test_missing_or_broken_notebooks_say_what_to_do(tmp_path):
    with pytest.raises(NotWrittenYet, match="not found: save that exercise"):
        mine("99_nothing", tmp_path)
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(NotWrittenYet, match="not a readable notebook"):
        mine("broken", tmp_path)
