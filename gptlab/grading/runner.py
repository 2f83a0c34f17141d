"""Run one notebook in its own sandboxed kernel and report what every cell did.

The kernel is a separate process started through ``sandbox.py`` (memory, CPU-time and file-size limits,
writes confined to a fresh temporary working directory with a throwaway HOME). The grader keeps a
wall-clock budget per cell and per notebook; a cell that runs over it, a kernel that dies (``os._exit``,
a segfault, the memory limit) or one that stops answering ends the run: the cells not reached score
nothing, and the kernel is killed. None of it raises out of :func:`run_notebook`.
"""
from __future__ import annotations

import copy
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .record import MIME_TYPE

SANDBOX = str(Path(__file__).with_name("sandbox.py"))


@dataclass
class Limits:
    cell_seconds: float = 60.0
    notebook_seconds: float = 300.0
    memory_mb: int = 4096
    file_mb: int = 64


@dataclass
class CellRun:
    index: int
    status: str  # "ok", "error" or "not run"
    error: str = ""
    records: dict[str, list[dict]] = field(default_factory=dict)  # key -> every payload recorded under it


@dataclass
class NotebookRun:
    cells: dict[int, CellRun]
    stopped: str = ""  # why the run ended early, "" when every cell ran
    notebook: dict | None = None  # the executed notebook (plain dict)


def stored_run_seconds(path) -> float:
    """How long the committed run of a notebook took, from the timings nbclient stores in each cell's
    metadata (infinite when a code cell has none): a way to pick the quickest notebooks without running."""
    from datetime import datetime

    import nbformat

    total = 0.0
    for cell in nbformat.read(path, as_version=4).cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                          for k in ("iopub.execute_input", "shell.execute_reply"))
            total += (end - start).total_seconds()
        elif cell.cell_type == "code":
            return float("inf")
    return total


def _kernel_manager_class():
    from jupyter_client.manager import AsyncKernelManager

    class SandboxedKernelManager(AsyncKernelManager):  # async: a blocking client would stall nbclient's timeouts
        """Starts the kernel through ``sandbox.py`` so the limits apply before any submitted code runs."""

        sandbox_args: list[str] = []

        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            return [sys.executable, SANDBOX, *self.sandbox_args, "--", *cmd]

    return SandboxedKernelManager


def readable_paths(connection_file: str) -> list[str]:
    """What a grading kernel may read: the system, Python and its installed packages, the gptlab package,
    its own connection file. Not the instructor's solutions, nor the submissions folder."""
    import sysconfig

    import gptlab

    paths = {"/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys", "/dev", "/opt",
             sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable)),
             str(Path(gptlab.__file__).resolve().parent), connection_file}
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_paths()[name])
    return sorted(os.path.realpath(p) for p in paths if p)


def _kernel_env(workdir: Path) -> dict[str, str]:
    home, tmp = workdir / ".home", workdir / ".tmp"
    home.mkdir(), tmp.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "MPLBACKEND": "agg",  # no display while grading
        "OMP_NUM_THREADS": "1",  # kernels graded side by side share the cores
        "PYTHONDONTWRITEBYTECODE": "1",
        "GPTLAB_GRADING": "1",
    }
    if "VIRTUAL_ENV" in os.environ:
        env["VIRTUAL_ENV"] = os.environ["VIRTUAL_ENV"]
    return env


def cell_records(cell) -> dict[str, list[dict]]:
    """key -> every record() payload among an executed cell's outputs."""
    records: dict[str, list[dict]] = {}
    for out in cell.get("outputs", []):
        payload = out.get("data", {}).get(MIME_TYPE) if out.get("output_type") in ("display_data", "execute_result") else None
        if isinstance(payload, dict) and isinstance(payload.get("key"), str):
            records.setdefault(payload["key"], []).append(payload)
    return records


def _cell_run(index: int, cell) -> CellRun:
    run = CellRun(index, "ok", records=cell_records(cell))
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            run.status = "error"
            run.error = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}".strip()
    return run


KERNEL_STARTS = 3  # attempts to start a kernel before the notebook scores nothing


def run_notebook(nb, limits: Limits = Limits(), *, keep_notebook: bool = True) -> NotebookRun:
    """Execute ``nb`` (an nbformat notebook, not modified) top to bottom in a fresh sandboxed kernel.

    A kernel that dies before running any cell is started again: on a busy machine another process can
    take the TCP port chosen for it between the choice and the bind ("Address already in use"), and that
    is no fault of the submission.
    """
    for _ in range(KERNEL_STARTS):
        run = _run_once(nb, limits, keep_notebook)
        if run.cells or not run.stopped:
            break
    return run


def _run_once(nb, limits: Limits, keep_notebook: bool) -> NotebookRun:
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = copy.deepcopy(nb)
    workdir = Path(tempfile.mkdtemp(prefix="gptlab-grade-")).resolve()
    cells: dict[int, CellRun] = {}
    stopped = ""
    try:
        km = _kernel_manager_class()(kernel_name="python3")
        km.connection_file = str(workdir.parent / f"{workdir.name}-kernel.json")  # outside the student's folder
        reads = [arg for p in readable_paths(km.connection_file) for arg in ("--read", p)]
        km.sandbox_args = [*reads,
            "--workdir", str(workdir), "--memory-mb", str(limits.memory_mb),
            "--cpu-seconds", str(int(limits.notebook_seconds) + 10), "--file-mb", str(limits.file_mb),
        ]
        client = NotebookClient(
            nb, km=km, kernel_name="python3", timeout=int(limits.cell_seconds), allow_errors=True,
            interrupt_on_timeout=False, shutdown_kernel="immediate", startup_timeout=60,
            resources={"metadata": {"path": str(workdir)}},
        )
        deadline = time.monotonic() + limits.notebook_seconds
        try:
            with client.setup_kernel(env=_kernel_env(workdir)):
                for i, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    remaining = deadline - time.monotonic()
                    if remaining < 1:
                        stopped = f"the notebook ran over its time limit of {limits.notebook_seconds:g} s"
                        break
                    client.timeout = max(1, int(min(limits.cell_seconds, remaining)))
                    try:
                        client.execute_cell(cell, i)
                    except CellTimeoutError:
                        stopped = f"cell {i} ran over the time limit of {client.timeout} s (an endless loop?)"
                        cells[i] = CellRun(i, "error", "time limit exceeded")
                        break
                    except DeadKernelError:
                        stopped = f"the kernel died in cell {i} (a crash, os._exit, or the memory limit)"
                        cells[i] = CellRun(i, "error", "the kernel died")
                        break
                    cells[i] = _cell_run(i, cell)
        except (CellTimeoutError, DeadKernelError) as exc:  # raised while shutting down a stuck kernel
            stopped = stopped or f"the kernel stopped answering: {type(exc).__name__}"
        except RuntimeError as exc:  # e.g. the kernel never started
            stopped = stopped or f"the kernel failed: {exc}"
        finally:
            if km.has_kernel:
                try:
                    run_sync(km.shutdown_kernel)(now=True)
                except Exception:  # already gone
                    pass
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        Path(f"{workdir}-kernel.json").unlink(missing_ok=True)
    return NotebookRun(cells, stopped, nb if keep_notebook else None)
