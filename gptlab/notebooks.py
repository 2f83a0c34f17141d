"""Run the course notebooks and keep them tidy.

The course notebooks are committed *with* their outputs, so that they read well on a web page, and each is
paired with a jupytext ``py:percent`` file, so that a change reads as a normal diff. Two commands::

    python -m gptlab.notebooks execute notebooks/01_causal_lm.ipynb ...   # run in place, refresh the .py
    python -m gptlab.notebooks check notebooks/*.ipynb                    # is everything as committed?

``execute`` takes a notebook or its paired ``.py`` and uses whichever of the two was edited last, so a
notebook can be written in a text editor as a ``.py`` file and turned into an executed notebook. It runs
every cell top to bottom in a fresh kernel, in the notebook's folder, and writes the notebook only if every
cell succeeded, so a failing run never destroys the last good one.

While it runs, every matplotlib figure a cell shows is described (titles and axis labels) in the output's
metadata, under the key :data:`FIGURE_MIME`, which viewers and nbval ignore. That is how ``check`` can tell,
from the file alone, that every figure in the course has a title.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import time
from pathlib import Path

from .errors import GptlabError

FIGURE_MIME = "application/vnd.gptlab.figure+json"
PAIRED_FORMATS = "ipynb,py:percent"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
DEFAULT_TIMEOUT = 600  # seconds per cell
# nbval's comment markers (``# NBVAL_CHECK_OUTPUT`` ...): test tooling a student would read in the cell. The
# course uses nbval's cell-metadata tags instead (``nbval-check-output``, ``nbval-ignore-output``), which a
# reader never sees and jupytext writes on the ``# %%`` line of the paired .py.
MARKER = re.compile(r"NBVAL_[A-Z_]+|PYTEST_VALIDATE_[A-Z_]+")


class NotebookError(GptlabError, RuntimeError):
    """A notebook failed to run; the message names the notebook, the cell and the error."""


# --------------------------------------------------------------------------------------------------
# Inside the kernel: describe each displayed figure


def describe_figure(fig) -> dict:
    """Titles and axis labels of a matplotlib figure (colour bars left out: they need no title)."""
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    return {
        "suptitle": suptitle,
        "axes": [
            {"title": " ".join(t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t),
             "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel()}
            for ax in axes
        ],
    }


def install_figure_recorder(shell=None) -> None:
    """Make IPython describe every displayed figure in its output metadata (called at kernel start)."""
    from IPython.core.formatters import BaseFormatter
    from traitlets import ObjectName, Unicode

    shell = shell or get_ipython()  # noqa: F821  (defined inside IPython)

    class FigureDescription(BaseFormatter):
        # Not a registered type printer: matplotlib's inline backend removes every printer registered for
        # Figure when it starts, so this formatter recognises figures itself.
        format_type = Unicode(FIGURE_MIME)
        print_method = ObjectName("_repr_gptlab_figure_")
        _return_type = dict

        def __call__(self, obj):
            # (data, metadata): no data, so viewers and nbval's output comparison never see it; the
            # description travels in the output's metadata.
            if any(c.__name__ == "Figure" and c.__module__ == "matplotlib.figure" for c in type(obj).__mro__):
                return None, describe_figure(obj)
            return None

    formatter = FigureDescription(parent=shell.display_formatter)
    shell.display_formatter.formatters[FIGURE_MIME] = formatter
    if FIGURE_MIME not in shell.display_formatter.active_types:  # a list fixed when the shell started
        shell.display_formatter.active_types = [*shell.display_formatter.active_types, FIGURE_MIME]


# --------------------------------------------------------------------------------------------------
# Reading and writing a pair


def paired_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """``(X.ipynb, X.py)`` for a path to either of them."""
    path = Path(path)
    if path.suffix not in (".ipynb", ".py"):
        raise ValueError(f"{path}: expected a .ipynb notebook or its paired .py file")
    return path.with_suffix(".ipynb"), path.with_suffix(".py")


def read_source(path: str | os.PathLike):
    """The notebook to run for ``path``: from the ``.ipynb`` or the ``.py``, whichever was edited last."""
    import jupytext
    import nbformat

    ipynb, py = paired_paths(path)
    if not ipynb.exists() and not py.exists():
        raise FileNotFoundError(f"neither {ipynb} nor {py} exists")
    use_py = py.exists() and (not ipynb.exists() or py.stat().st_mtime > ipynb.stat().st_mtime)
    try:
        if use_py:
            nb = jupytext.read(py, fmt="py:percent")
        else:
            nb = nbformat.read(ipynb, as_version=4)
    except Exception as e:  # a broken file: say which one, and why
        raise NotebookError(f"{py if use_py else ipynb} cannot be read: {e}") from e
    if use_py and ipynb.exists():
        print(f"{py} is newer than {ipynb}: running the cells of {py.name}")
    return nb, (py if use_py else ipynb)


def normalise_metadata(nb) -> None:
    """The kernel every course notebook declares, and the pairing with its ``.py`` file."""
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.setdefault("jupytext", {})["formats"] = PAIRED_FORMATS
    for key in ("notebook_metadata_filter", "cell_metadata_filter"):
        nb.metadata["jupytext"].pop(key, None)


def code_fingerprint(nb) -> str:
    """A hash of every code cell's source, in order: recorded when a notebook is executed, so that ``check`` can
    tell stored outputs from code that was edited after the run (in JupyterLab, say, without re-running)."""
    digest = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            digest.update(_source(cell).rstrip().encode() + b"\0")
    return digest.hexdigest()[:16]


def write_pair(nb, path: str | os.PathLike) -> tuple[Path, Path]:
    """Write the notebook and its ``py:percent`` twin."""
    import jupytext
    import nbformat

    ipynb, py = paired_paths(path)
    normalise_metadata(nb)
    nbformat.validate(nb)
    nbformat.write(nb, ipynb)
    jupytext.write(nb, py, fmt="py:percent")
    # The .py is written second; make sure it does not look newer than the notebook it was made from.
    stamp = time.time()
    os.utime(py, (stamp, stamp))
    os.utime(ipynb, (stamp, stamp))
    return ipynb, py


# --------------------------------------------------------------------------------------------------
# Executing


def execute(path: str | os.PathLike, timeout: int = DEFAULT_TIMEOUT, write: bool = True):
    """Run a notebook top to bottom in a fresh ``python3`` kernel whose working folder is the notebook's,
    then write it (with outputs) and its paired ``.py``. Raises :class:`NotebookError` on the first failing
    cell, leaving both files as they were."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb, source = read_source(path)
    normalise_metadata(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    folder = Path(path).resolve().parent
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # inline figures need the default backend
    startup = "import gptlab.notebooks as _n; _n.install_figure_recorder(); del _n"
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        extra_arguments=[f"--IPKernelApp.exec_lines={[startup]!r}"],
    )
    try:
        client.execute(env=env, cwd=str(folder))
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
        raise NotebookError(f"{source} failed; nothing was written.\n{e}") from None
    nb.metadata.setdefault("gptlab", {})["executed_code"] = code_fingerprint(nb)
    if write:
        write_pair(nb, path)
    return nb


# --------------------------------------------------------------------------------------------------
# Checking


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def marker_comments(path: str | os.PathLike) -> list[str]:
    """Cells of a notebook whose text holds an nbval comment marker, as sentences (empty: none does). A student
    reads every cell; what tells the test runner how to compare a cell belongs in its metadata tags."""
    import nbformat

    nb = nbformat.read(paired_paths(path)[0], as_version=4)
    name = Path(path).name
    return [
        f"{name} cell {i}: {m.group(0)} in the cell's text; tag the cell "
        f"{'nbval-' + m.group(0)[6:].lower().replace('_', '-') if m.group(0).startswith('NBVAL_') else 'nbval-...'} "
        "in its metadata instead (`# %% tags=[...]` in the .py)"
        for i, cell in enumerate(nb.cells)
        if (m := MARKER.search(_source(cell)))
    ]


def check(path: str | os.PathLike) -> list[str]:
    """Everything wrong with a committed notebook, as sentences (an empty list means it is fine):
    paired with an up-to-date ``.py``; every code cell executed once, in order, from the code it holds now;
    no error outputs; every figure titled; no nbval marker comment in a cell's text."""
    import jupytext
    import nbformat

    ipynb, py = paired_paths(path)
    name = ipynb.name
    if not ipynb.exists():
        return [f"{name}: missing (only {py.name} exists); run `python -m gptlab.notebooks execute {py}`"]
    try:
        nb = nbformat.read(ipynb, as_version=4)
    except Exception as e:
        return [f"{name}: not a readable notebook: {e}"]
    problems = []
    if nb.metadata.get("kernelspec", {}).get("name") != KERNELSPEC["name"]:
        problems.append(f"{name}: kernelspec must be {KERNELSPEC['name']!r}")

    # Paired and in sync
    if nb.metadata.get("jupytext", {}).get("formats") != PAIRED_FORMATS:
        problems.append(f"{name}: not paired with a py:percent file (jupytext formats {PAIRED_FORMATS!r})")
    if not py.exists():
        problems.append(f"{name}: its paired {py.name} is missing")
    else:
        try:
            twin = jupytext.read(py, fmt="py:percent")
        except Exception as e:
            problems.append(f"{py.name}: cannot be read: {e}")
        else:
            ours = [(c.cell_type, _source(c).rstrip()) for c in nb.cells]
            theirs = [(c.cell_type, _source(c).rstrip()) for c in twin.cells]
            if ours != theirs:
                first = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
                problems.append(
                    f"{name}: differs from {py.name} from cell {first} on; "
                    f"re-run `python -m gptlab.notebooks execute {py}`"
                )

    # Outputs from the code as it stands: the fingerprint recorded by `execute` must match the cells now
    recorded = nb.metadata.get("gptlab", {}).get("executed_code")
    if recorded != code_fingerprint(nb):
        problems.append(
            f"{name}: stored outputs are stale (" + ("not run by `python -m gptlab.notebooks execute`" if recorded is None
                                                   else "code cells edited since the last run")
            + f"); re-run `python -m gptlab.notebooks execute {py}`"
        )
    problems += marker_comments(ipynb)

    # Executed in order, no errors, figures titled
    expected = 1
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"{name} cell {index}"
        if not _source(cell).strip():
            problems.append(f"{where}: empty code cell")
            continue
        if cell.execution_count != expected:
            problems.append(f"{where}: execution count {cell.execution_count}, expected {expected} "
                            "(run the notebook top to bottom)")
        expected = (cell.execution_count or expected) + 1
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"{where}: error output {out.get('ename')}: {out.get('evalue')}")
                continue
            data = out.get("data", {})
            text = data.get("text/plain", "")
            text = text if isinstance(text, str) else "".join(text)
            if not (any(k.startswith("image/") for k in data) and text.startswith("<Figure")):
                continue  # not a matplotlib figure (an image file shown with IPython.display, say)
            fig = out.get("metadata", {}).get(FIGURE_MIME)
            if fig is None:
                problems.append(f"{where}: a figure not described; run the notebook with "
                                "`python -m gptlab.notebooks execute`")
            elif not fig.get("suptitle") and not (fig["axes"] and all(ax["title"] for ax in fig["axes"])):
                problems.append(f"{where}: a figure without a title")
    return problems


# --------------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gptlab.notebooks", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("execute", help="run notebooks in place and refresh their paired .py files")
    run.add_argument("paths", nargs="+", help=".ipynb notebooks or their paired .py files")
    run.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="seconds allowed per cell")
    chk = sub.add_parser("check", help="check committed notebooks: paired, executed in order, no errors, titled figures")
    chk.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)

    failed = 0
    if args.command == "execute":
        for path in dict.fromkeys(str(paired_paths(p)[0]) for p in args.paths):  # X.py and X.ipynb: once
            start = time.perf_counter()
            try:
                execute(path, timeout=args.timeout)
            except (NotebookError, FileNotFoundError, ValueError) as e:
                print(f"FAILED {e}", file=sys.stderr)
                failed += 1
                continue
            print(f"executed {path} in {time.perf_counter() - start:.1f} s")
    else:
        for path in args.paths:
            try:
                problems = check(path)
            except ValueError as e:
                problems = [str(e)]
            for p in problems:
                print(p, file=sys.stderr)
            failed += bool(problems)
        if not failed:
            print(f"{len(args.paths)} notebook(s) OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
