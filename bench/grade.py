"""Grading speed: a class of 30 submissions of one exercise, graded two kernels at a time.

    python bench/grade.py                         # 30 submissions of 06_kv_cache
    python bench/grade.py --exercise 04_attention --students 60 --jobs 2

The class is a realistic mix built from the repository: a third hand in the model answer, a third the
untouched exercise, a third a notebook with one mistake (the fixtures in tests/fixtures/submissions, or
a stub answer where the exercise has no mistake fixture). Prints one JSON object: wall time, time per
notebook, and the score distribution (which must match the mix, or the benchmark fails).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_class(folder: Path, exercise: str, n: int) -> dict[str, str]:
    mistakes = [p for p in (ROOT / "tests" / "fixtures" / "submissions").glob(f"mistake_*/{exercise}.ipynb")]
    kinds = {}
    for i in range(n):
        student = folder / f"student{i:03d}"
        student.mkdir(parents=True)
        kind = ("model_answer", "untouched", "mistake")[i % 3]
        src = {"model_answer": ROOT / "solutions" / f"{exercise}.ipynb",
               "untouched": ROOT / "exercises" / f"{exercise}.ipynb",
               "mistake": mistakes[0] if mistakes else ROOT / "exercises" / f"{exercise}.ipynb"}[kind]
        shutil.copy(src, student / f"{exercise}.ipynb")
        kinds[student.name] = kind
    return kinds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercise", default="06_kv_cache")
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    from gptlab.grading.grade import grade

    with tempfile.TemporaryDirectory() as tmp:
        subs, out = Path(tmp) / "submissions", Path(tmp) / "out"
        kinds = build_class(subs, args.exercise, args.students)
        t0 = time.perf_counter()
        results = grade(subs, out, source_dir=ROOT / "solutions", jobs=args.jobs, progress=sys.stderr.isatty())
        wall = time.perf_counter() - t0
    full = {r.student for r in results if r.total == r.max_total}
    zero = {r.student for r in results if r.total == 0}
    ok = all(s in full for s, k in kinds.items() if k == "model_answer") and \
        all(s in zero for s, k in kinds.items() if k == "untouched")
    print(json.dumps({
        "exercise": args.exercise,
        "submissions": len(results),
        "jobs": args.jobs,
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "wall_s": round(wall, 1),
        "per_notebook_s": round(wall / max(1, len(results)), 2),
        "target_s": 300,
        "scores": dict(sorted(Counter(f"{r.total:g}/{r.max_total:g}" for r in results).items())),
        "scores_match_the_mix": ok,
    }, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
