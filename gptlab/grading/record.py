"""``record(key, value)``: how a hidden test hands a student's result to the grader.

The value is sent as a display message of its own MIME type, which ``gptlab grade`` reads from the
executed notebook and compares, in its own process, with the value the instructor's solution recorded,
using the tolerance the *instructor's* run asked for. The value is also kept in the kernel, for the
comparison that graders which only watch for errors (nbgrader) rely on: see
:mod:`gptlab.grading.references`.
"""
from __future__ import annotations

import math

MIME_TYPE = "application/vnd.gptlab.record+json"
MAX_ELEMENTS = 200_000  # a record is a test result, not a data set

# (cell number, key, payload) for every record() made in this kernel, read by references.expect().
_LOG: list[tuple[object, str, dict]] = []


def cell_number():
    """Which cell is running: the id of the kernel's current execute request (one per cell, whatever the
    front end: nbgrader, nbclient, nbval, which does not count cells), else IPython's count, else None."""
    try:
        shell = get_ipython()  # noqa: F821  (defined inside IPython)
    except NameError:
        return None
    kernel = getattr(shell, "kernel", None)
    try:
        msg_id = kernel.get_parent()["header"]["msg_id"]
        if msg_id:
            return msg_id
    except Exception:  # an older ipykernel, or no kernel (a terminal IPython)
        pass
    return shell.execution_count


def recorded_in_this_cell() -> dict[str, list[dict]]:
    """key -> every payload recorded under it by the cell that is running now."""
    here = cell_number()
    out: dict[str, list[dict]] = {}
    for number, key, payload in _LOG:
        if number == here:
            out.setdefault(key, []).append(payload)
    return out


def _number(x):
    """JSON has no inf/nan: spell them as strings."""
    if isinstance(x, bool):
        return x
    if isinstance(x, int):
        return x
    x = float(x)
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def encode(value) -> dict:
    """A JSON-able description of a tensor, array, number, string or (nested) list of them."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if torch is not None and isinstance(value, torch.Tensor):
        t = value.detach().cpu()
        kind = "bool" if t.dtype == torch.bool else ("float" if t.is_floating_point() else "int")
        if t.is_floating_point():
            t = t.double()
        return _array(kind, list(t.shape), t.reshape(-1).tolist())
    if type(value).__module__ == "numpy" and hasattr(value, "dtype"):
        kind = {"b": "bool", "f": "float"}.get(value.dtype.kind, "int")
        return _array(kind, list(value.shape), value.reshape(-1).tolist())
    if isinstance(value, bool):
        return {"kind": "bool", "shape": [], "data": [value]}
    if isinstance(value, int):
        return {"kind": "int", "shape": [], "data": [value]}
    if isinstance(value, float):
        return {"kind": "float", "shape": [], "data": [_number(value)]}
    if isinstance(value, str):
        return {"kind": "str", "value": value}
    if isinstance(value, (list, tuple)):
        return {"kind": "list", "items": [encode(v) for v in value]}
    raise TypeError(f"cannot record a value of type {type(value).__name__}")


def _array(kind: str, shape: list[int], data: list) -> dict:
    if len(data) > MAX_ELEMENTS:
        raise ValueError(f"a recorded value may have at most {MAX_ELEMENTS} elements, got {len(data)}")
    return {"kind": kind, "shape": shape, "data": [_number(x) for x in data]}


def record(key: str, value, *, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Hand ``value`` to the grader under ``key`` (unique within the test cell).

    ``atol``/``rtol`` only count in the instructor's run: a submission cannot loosen its own tolerance.
    """
    from IPython.display import display

    payload = {"key": str(key), "value": encode(value), "atol": float(atol), "rtol": float(rtol)}
    _LOG.append((cell_number(), payload["key"], payload))
    shape = payload["value"].get("shape")
    display({MIME_TYPE: payload, "text/plain": f"recorded {key}" + (f" {tuple(shape)}" if shape else "")}, raw=True)
