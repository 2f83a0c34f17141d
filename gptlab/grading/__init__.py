"""Release exercises from the solution notebooks and grade a class's submissions.

The solution notebooks in ``solutions/`` are the single source. They use nbgrader's markers and cell
metadata, so an instructor already on nbgrader can use them as they are; ``gptlab release`` and
``gptlab grade`` do the same two jobs without a database or Docker.

Hidden tests do not trust the student's kernel. Code a student ran earlier can redefine any check,
``assert`` helper or torch function, so a graded cell also *records* the student's results on fixed inputs
(:func:`record`); the grader compares them, in its own process, with the values the instructor's solution
recorded in a clean kernel. A wrong answer cannot pass by patching the checks.

A hidden test can also run the student's code with the course's own version of the exercise switched
off (:func:`unavailable`), so an answer that only calls ``gptlab``'s reference earns nothing.

For graders that only run the notebook and look for errors (nbgrader), each hidden block also carries the
solution's values and ends with :func:`expect`, which compares in the kernel (:mod:`.references`).
"""
from .record import MIME_TYPE, record
from .unavailable import ReferenceUnavailable, unavailable

__all__ = ["MIME_TYPE", "ReferenceUnavailable", "expect", "record", "unavailable"]


def __getattr__(name):
    # Imported on first use, so that ``python -m gptlab.grading.references`` runs a module not yet loaded.
    if name == "expect":
        from .references import expect

        return expect
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
