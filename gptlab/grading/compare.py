"""Compare a recorded student value with the instructor's, in the grader's own process."""
from __future__ import annotations

import math

FAILED = "hidden tests failed: "  # how every failed comparison starts, in the kernel and in the grader
COMMAND = "python -m gptlab.grading.references"  # the command that rewrites the solutions' carried values


def mismatch(reference: dict, submitted, atol: float, rtol: float) -> str | None:
    """``None`` when ``submitted`` equals ``reference`` within tolerance, else why not (no values revealed)."""
    if not isinstance(submitted, dict) or submitted.get("kind") != reference["kind"]:
        got = submitted.get("kind") if isinstance(submitted, dict) else type(submitted).__name__
        return f"expected a {reference['kind']} value, got {got}"
    kind = reference["kind"]
    if kind == "str":
        return None if submitted.get("value") == reference["value"] else "the text differs"
    if kind == "list":
        items = submitted.get("items")
        if not isinstance(items, list) or len(items) != len(reference["items"]):
            return f"expected a list of {len(reference['items'])} items"
        for i, (r, s) in enumerate(zip(reference["items"], items)):
            why = mismatch(r, s, atol, rtol)
            if why:
                return f"item {i}: {why}"
        return None
    if submitted.get("shape") != reference["shape"]:
        return f"expected shape {tuple(reference['shape'])}, got {tuple(submitted.get('shape') or ())}"
    data = submitted.get("data")
    if not isinstance(data, list) or len(data) != len(reference["data"]):
        return "the recorded data is malformed"
    if kind in ("int", "bool"):
        wrong = sum(1 for r, s in zip(reference["data"], data) if r != s)
        return None if wrong == 0 else f"{wrong} of {len(data)} values differ"
    wrong, worst = 0, 0.0
    for r, s in zip(reference["data"], data):
        try:
            r, s = float(r), float(s)  # "inf", "-inf", "nan" arrive as strings
        except (TypeError, ValueError):
            return "the recorded data is malformed"
        if math.isnan(r) or math.isnan(s) or math.isinf(r) or math.isinf(s):
            same = (math.isnan(r) and math.isnan(s)) or r == s
        else:
            same = abs(s - r) <= atol + rtol * abs(r)
            worst = max(worst, abs(s - r))
        wrong += not same
    if wrong == 0:
        return None
    return f"{wrong} of {len(data)} values differ (largest difference {worst:.3g})"


def differences(reference: dict[str, dict], recorded: dict[str, list[dict]]) -> list[str]:
    """What is wrong with one test cell's records (key -> payloads) against the solution's (key -> payload),
    one sentence per key; empty when every value matches within the *solution's* tolerance."""
    problems = []
    for key, ref in reference.items():
        got = recorded.get(key, [])
        if len(got) != 1:
            problems.append(f"{key}: " + ("no result recorded" if not got else "recorded more than once"))
            continue
        value = got[0].get("value") if isinstance(got[0], dict) else None
        why = mismatch(ref["value"], value, ref["atol"], ref["rtol"])
        if why:
            problems.append(f"{key}: {why}")
    extra = set(recorded) - set(reference)
    if extra:
        problems.append("unexpected results recorded: " + ", ".join(sorted(extra)))
    return problems
