"""``gptlab grade SUBMISSIONS --out DIR`` and ``gptlab release SOLUTIONS --out EXERCISES``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import GptlabError
from .gradebook import FORMATS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gptlab", description="Release exercises and grade submissions.")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("release", help="write student notebooks from the solution notebooks")
    r.add_argument("source", type=Path, help="folder of solution notebooks (e.g. solutions)")
    r.add_argument("--out", type=Path, required=True, help="folder for the student notebooks (e.g. exercises)")
    r.add_argument("--check", action="store_true", help="write nothing; exit 1 if --out is out of date")

    g = sub.add_parser("grade", help="grade SUBMISSIONS/<student>/<exercise>.ipynb")
    g.add_argument("submissions", type=Path)
    g.add_argument("--out", type=Path, required=True, help="where gradebook.csv and feedback/ go")
    g.add_argument("--source", type=Path, default=Path("solutions"), help="the instructor's notebooks")
    g.add_argument("--jobs", type=int, default=None,
                   help="notebooks graded at once (default 2; fewer if memory at --memory-mb each runs short)")
    g.add_argument("--student", action="append", help="re-grade only this student (repeatable); others keep their results")
    g.add_argument("--exercise", action="append", help="re-grade only this exercise (repeatable)")
    g.add_argument("--redo", action="store_true", help="ignore stored results and grade everything again")
    g.add_argument("--format", action="append", choices=FORMATS, default=[],
                   help="also write this LMS's import file (repeatable): canvas, gradescope, moodle")
    g.add_argument("--roster", type=Path, help="CSV with a 'student' column (folder names) and the LMS ids")
    g.add_argument("--cell-timeout", type=float, default=60.0, help="seconds one cell may run")
    g.add_argument("--notebook-timeout", type=float, default=300.0, help="seconds one notebook may run")
    g.add_argument("--memory-mb", type=int, default=4096, help="address-space limit of each kernel")
    g.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from .grade import grade
    from .release import release_folder, stale_exercises
    from .runner import Limits

    try:
        if args.command == "release":
            if args.check:
                problems = stale_exercises(args.source, args.out)
                for line in problems:
                    print(line, file=sys.stderr)
                return 1 if problems else 0
            for path in release_folder(args.source, args.out):
                print(path)
            return 0

        limits = Limits(args.cell_timeout, args.notebook_timeout, args.memory_mb)
        try:
            results = grade(args.submissions, args.out, source_dir=args.source, limits=limits, jobs=args.jobs,
                            progress=not args.no_progress, students=_chosen(args.student),
                            exercises=_chosen(args.exercise), redo=args.redo, formats=tuple(args.format),
                            roster=args.roster)
        except KeyboardInterrupt:
            print("interrupted: every result finished so far is stored; run the same command again to go on",
                  file=sys.stderr)
            return 130
        print(f"{len(results)} results -> {args.out / 'gradebook.csv'}; feedback in {args.out / 'feedback'}, "
              f"class report in {args.out / 'report'}")
        return 0
    except (FileNotFoundError, GptlabError, ValueError) as exc:  # NotebookFormatError, GradingError ...
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _chosen(names: list[str] | None) -> set[str] | None:
    return set(names) if names else None


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
