"""Run a notebook cell's source in a namespace of this process, as IPython would run it.

Notebook cells may use IPython's syntax (``%magic``, ``!shell``, ``?``), which plain ``exec`` rejects;
IPython's own input transformer turns a cell into the Python it stands for. Used where a notebook is run
without a kernel: loading a student's earlier pieces and the in-process self-check of the mistake catalogue.
"""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _transform():
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell


def run_cell(source: str, namespace: dict, label: str) -> None:
    """Execute ``source`` in ``namespace``; ``label`` names the cell in tracebacks."""
    exec(compile(_transform()(source), label, "exec"), namespace)
