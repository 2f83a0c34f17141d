"""``unavailable(...)``: run a hidden test with the references the student was asked to replace switched off.

An exercise that asks for ``top_p_filter`` is not answered by ``return gptlab.sampling.top_p_filter(...)``.
Inside ``with unavailable("gptlab.sampling.top_p_filter"):`` the named objects raise
:class:`ReferenceUnavailable` when used, so such an answer fails its hidden test and the feedback says why.

The objects themselves are changed, not only the names in their modules, so an alias the student took
earlier (``from gptlab.sampling import top_p_filter as mine``) is caught too:

- a Python function gets, for the duration of the block, a body that raises (its ``__code__`` is swapped);
- a class gets a ``forward`` and an ``__init__`` that raise, so neither a new instance nor an old one works;
- anything else (a built-in such as ``torch.nn.functional.layer_norm``) is replaced in its module, which
  catches the usual ``F.layer_norm(...)`` call.

Everything is restored when the block ends, even when it raises. The block's own code must not need the
objects it switches off: hidden tests compute their expected values elsewhere (the instructor's run).
"""
from __future__ import annotations

import contextlib
import importlib
import types


class ReferenceUnavailable(RuntimeError):
    """The student's answer called a reference implementation the exercise asks them to write."""


def _resolve(dotted: str):
    """``"gptlab.sampling.top_p_filter"`` -> (owner module or class, attribute name, object)."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:-1]:
            owner = getattr(owner, name)
        return owner, parts[-1], getattr(owner, parts[-1])
    raise ValueError(f"cannot find {dotted!r}: give the full dotted path, e.g. 'gptlab.sampling.top_p_filter'")


def _message(dotted: str) -> str:
    short = dotted.rsplit(".", 1)[-1]
    return (f"your answer uses {dotted}, the course's own version of what this exercise asks you to write; "
            f"the graded run makes it unavailable — write {short} yourself")


def _raiser(dotted: str):
    message = _message(dotted)

    def unavailable_reference(*args, **kwargs):
        raise ReferenceUnavailable(message)

    return unavailable_reference


@contextlib.contextmanager
def unavailable(*dotted_names: str):
    """Switch off every named function, class or attribute for the duration of the ``with`` block."""
    undo = []
    try:
        for dotted in dotted_names:
            owner, attr, obj = _resolve(dotted)
            raiser = _raiser(dotted)
            if isinstance(obj, types.FunctionType):
                code = obj.__code__
                # A stand-in with the function's own free variables, so that __code__ may be swapped in.
                obj.__code__ = _code_with_freevars(dotted, code.co_freevars)
                undo.append(lambda obj=obj, code=code: setattr(obj, "__code__", code))
            elif isinstance(obj, type):
                for method in ("__init__", "forward"):
                    had = method in vars(obj)
                    old = vars(obj).get(method)
                    setattr(obj, method, raiser)
                    undo.append(lambda obj=obj, m=method, had=had, old=old:
                                setattr(obj, m, old) if had else delattr(obj, m))
            else:
                setattr(owner, attr, raiser)
                undo.append(lambda owner=owner, attr=attr, obj=obj: setattr(owner, attr, obj))
        yield
    finally:
        for step in reversed(undo):
            step()


def _code_with_freevars(dotted: str, freevars: tuple[str, ...]):
    """Code that raises :class:`ReferenceUnavailable`, with exactly ``freevars`` as its closure variables.

    Python only lets ``f.__code__`` be replaced by code with the same number of free variables, and the
    code keeps running in the original function's globals: so the exception is looked up through
    ``__import__`` (always a builtin) and the message is a constant.
    """
    names = ", ".join(freevars)
    src = (f"def _outer({names}):\n"
           f"    def unavailable_reference(*args, **kwargs):\n"
           f"        {'(' + names + ',)' if freevars else 'None'}\n"
           f"        raise __import__({__name__!r}, fromlist=['_']).ReferenceUnavailable({_message(dotted)!r})\n"
           f"    return unavailable_reference\n")
    namespace: dict = {}
    exec(compile(src, "<unavailable>", "exec"), namespace)
    return namespace["_outer"](*([None] * len(freevars))).__code__
