"""The gradebook: today's CSV, and the import files of the learning-management systems instructors use.

``gradebook.csv`` has one row per student and exercise with every test's points. The LMS files have one
row per student and one score per exercise (its total), under the columns each system documents:

- ``canvas.csv``: Canvas's gradebook import, ``Student, ID, SIS User ID, SIS Login ID, Section`` and one
  column per assignment, then a ``Points Possible`` row. Canvas matches students by ID or SIS ids and
  assignments by ``Name (id)``: a column named after the exercise alone makes a new assignment, so rename
  it to the existing assignment's ``Name (id)`` to fill that one.
- ``gradescope/<exercise>.csv``: per assignment, Gradescope's score columns ``First Name, Last Name, SID,
  Email, Total Score, Max Points, Status``; Gradescope matches students by email or SID.
- ``moodle.csv``: Moodle's grade import/export columns ``First name, Last name, ID number, Email address``
  and one ``<exercise> (Real)`` column per grade item; at import, map "Email address" or "ID number".

A roster (CSV, one row per student) gives the ids: column ``student`` (the submission folder's name) and
any of ``name, first_name, last_name, id, sis_user_id, sis_login_id, email, section``. Roster students
with no submission for an exercise get a blank score (the LMS keeps what it has); students missing from
the roster are still written, with blank ids, and listed in ``roster_problems.txt``.
"""
from __future__ import annotations

import csv
from pathlib import Path

from .release import graded_cells

FORMATS = ("canvas", "gradescope", "moodle")
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
GRADESCOPE_HEADER = ["First Name", "Last Name", "SID", "Email", "Total Score", "Max Points", "Status"]
MOODLE_HEADER = ["First name", "Last name", "ID number", "Email address"]
ROSTER_COLUMNS = ("student", "name", "first_name", "last_name", "id", "sis_user_id", "sis_login_id", "email", "section")


def fmt(x: float) -> str:
    return f"{x:g}"


def write_gradebook(path: Path, results, sources) -> None:
    """One row per (student, exercise): each test's points (blank for other exercises' tests), total, max."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [g.grade_id for name in sorted(sources) for g in graded_cells(sources[name].notebook)]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "exercise", *columns, "total", "max_total"])
        for r in sorted(results, key=lambda r: (r.student, r.exercise)):
            points = {t.grade_id: t.points for t in r.tests}
            writer.writerow([r.student, r.exercise, *[fmt(points[c]) if c in points else "" for c in columns],
                             fmt(r.total), fmt(r.max_total)])


# ------------------------------------------------------------------------------------------ roster


def read_roster(path: Path) -> dict[str, dict[str, str]]:
    """student folder name -> the roster's fields (every known column present, "" where not given)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"roster {path} does not exist")
    with open(path, newline="", encoding="utf-8-sig") as f:  # utf-8-sig: spreadsheets write a BOM
        reader = csv.DictReader(f)
        header = [h.strip().lower() for h in reader.fieldnames or []]
        if "student" not in header:
            raise ValueError(f"roster {path}: needs a 'student' column (the submission folder names); "
                             f"it has {', '.join(header) or 'no header'}")
        people: dict[str, dict[str, str]] = {}
        for line, row in enumerate(reader, start=2):
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            student = row.get("student", "")
            if not student:
                raise ValueError(f"roster {path}, line {line}: no student name")
            if student in people:
                raise ValueError(f"roster {path}, line {line}: {student!r} is listed twice")
            people[student] = {c: row.get(c, "") for c in ROSTER_COLUMNS}
    return people


def _person(people, student: str) -> dict[str, str]:
    found = (people or {}).get(student)
    if found:
        return found
    return {**{c: "" for c in ROSTER_COLUMNS}, "student": student}


def _names(p: dict[str, str]) -> tuple[str, str]:
    """(first, last): from the roster's columns, else split from ``name``, else the folder name."""
    if p["first_name"] or p["last_name"]:
        return p["first_name"], p["last_name"]
    full = p["name"] or p["student"]
    first, _, last = full.rpartition(" ")
    return (first, last) if first else (full, "")


# ------------------------------------------------------------------------------------------ LMS files


def write_formats(out: Path, formats, results, sources, people=None) -> list[Path]:
    """Write each requested LMS file into ``out``; returns the paths written."""
    bad = sorted(set(formats) - set(FORMATS))
    if bad:
        raise ValueError(f"unknown format(s) {', '.join(bad)}; choose from {', '.join(FORMATS)}")
    exercises = sorted(sources)
    maximum = {ex: sum(g.points for g in graded_cells(sources[ex].notebook)) for ex in exercises}
    totals = {(r.student, r.exercise): r.total for r in results}
    students = sorted({r.student for r in results} | set(people or {}))
    written = []
    if "canvas" in formats:
        written.append(_canvas(out / "canvas.csv", students, exercises, maximum, totals, people))
    if "gradescope" in formats:
        written += _gradescope(out / "gradescope", students, exercises, maximum, totals, people)
    if "moodle" in formats:
        written.append(_moodle(out / "moodle.csv", students, exercises, totals, people))
    unlisted = sorted({r.student for r in results} - set(people or {}))
    problems = out / "roster_problems.txt"
    problems.unlink(missing_ok=True)
    if people is not None and unlisted:
        problems.write_text("".join(f"{s}: has submissions but is not in the roster\n" for s in unlisted), encoding="utf-8")
    return written


def _score(totals, student: str, exercise: str) -> str:
    return fmt(totals[(student, exercise)]) if (student, exercise) in totals else ""


def _canvas(path, students, exercises, maximum, totals, people) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*CANVAS_HEADER, *exercises])
        w.writerow(["Points Possible", "", "", "", "", *[fmt(maximum[ex]) for ex in exercises]])
        for s in students:
            p = _person(people, s)
            first, last = _names(p)
            display = f"{last}, {first}" if last else first  # Canvas lists students as "Last, First"
            w.writerow([display, p["id"], p["sis_user_id"], p["sis_login_id"], p["section"],
                        *[_score(totals, s, ex) for ex in exercises]])
    return path


def _gradescope(folder, students, exercises, maximum, totals, people) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for ex in exercises:
        path = folder / f"{ex}.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(GRADESCOPE_HEADER)
            for s in students:
                p = _person(people, s)
                first, last = _names(p)
                score = _score(totals, s, ex)
                w.writerow([first, last, p["sis_user_id"] or p["id"], p["email"], score, fmt(maximum[ex]),
                            "Graded" if score else "Missing"])
        written.append(path)
    return written


def _moodle(path, students, exercises, totals, people) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*MOODLE_HEADER, *[f"{ex} (Real)" for ex in exercises]])
        for s in students:
            p = _person(people, s)
            first, last = _names(p)
            w.writerow([first, last, p["sis_user_id"] or p["id"], p["email"], *[_score(totals, s, ex) for ex in exercises]])
    return path
