"""Test set-up for the whole tree (tests/, and the notebooks nbval runs in notebooks/ and solutions/).

``make test`` runs the suite on several processes (pytest-xdist, ``--dist loadscope``: each test module,
class or notebook stays in one process, so module fixtures are built once and a notebook's cells run in order
in one kernel). The cores are shared out between the processes, through torch's thread count here and
``OMP_NUM_THREADS`` for the kernels and subprocesses they start, so that they do not compete for them.
"""
import os

WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if WORKERS > 1:
    THREADS = max(1, (os.cpu_count() or 1) // WORKERS)
    os.environ["OMP_NUM_THREADS"] = str(THREADS)
    import torch

    torch.set_num_threads(THREADS)
