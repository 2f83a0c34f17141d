"""Start a command (the grading kernel) with limits a submitted notebook cannot lift.

Run as a script, ``python sandbox.py --workdir DIR --memory-mb M --cpu-seconds S -- CMD ...``: it sets
the limits on its own process and then *becomes* ``CMD`` (``os.execv``), so they hold for the kernel and
everything it starts. Only the standard library is imported, to keep the kernel's start fast.

- memory: ``RLIMIT_AS`` — a huge allocation fails inside the student's cell (``MemoryError`` /
  ``RuntimeError``) instead of taking the machine down;
- CPU time: ``RLIMIT_CPU`` — a backstop behind the grader's wall-clock limit, for code that ignores
  interrupts;
- file size: ``RLIMIT_FSIZE`` — no filling the disk;
- files: where the kernel supports Landlock (Linux >= 5.13), writing, creating, deleting or renaming
  anything outside ``--workdir`` is refused by the kernel, and so is reading anything outside ``--workdir``
  and the ``--read`` paths (Python, its packages, gptlab, the system). A submission can therefore neither
  change nor *read* the instructor's solutions and their recorded reference values, nor other students'
  files. Where Landlock is missing, the grader still keeps the instructor's notebooks and all submissions
  in memory, so a write elsewhere cannot change anybody's grade.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import resource
import sys

# Landlock constants from <linux/landlock.h>.
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_WRITE_FILE = 1 << 1
_REMOVE_DIR, _REMOVE_FILE = 1 << 4, 1 << 5
_MAKE_ALL = sum(1 << b for b in range(6, 13))  # char, dir, reg, sock, fifo, block, sym
_READ_FILE, _READ_DIR = 1 << 2, 1 << 3
_REFER, _TRUNCATE = 1 << 13, 1 << 14
_PR_SET_NO_NEW_PRIVS = 38


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def restrict_files(folder: str, readable: list[str] | None = None) -> bool:
    """Forbid every write outside ``folder`` (and ``/dev/null``) for this process and its children; with
    ``readable``, also every read outside ``folder`` and those paths.

    Returns False, changing nothing, where Landlock is unavailable.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    if abi < 1:
        return False
    handled = _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE_ALL
    if abi >= 2:
        handled |= _REFER
    if abi >= 3:
        handled |= _TRUNCATE
    if readable is not None:
        handled |= _READ_FILE | _READ_DIR
    attr = ctypes.c_uint64(handled)  # struct landlock_ruleset_attr, first field only (an extensible struct)
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(8), ctypes.c_uint32(0))
    if ruleset < 0:
        return False
    file_rights = handled & (_WRITE_FILE | _TRUNCATE | _READ_FILE)  # what a rule on a single file may carry
    rules = [(folder, handled), ("/dev/null", file_rights)]
    for path in readable or []:
        if os.path.exists(path):
            rules.append((path, _READ_FILE | (_READ_DIR if os.path.isdir(path) else 0)))
    for path, rights in rules:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        rule = _PathBeneath(rights, fd)
        if libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
        os.close(fd)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.syscall(_SYS_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    os.close(ruleset)
    return True


def apply_limits(memory_mb: int, cpu_seconds: int, file_mb: int) -> None:
    mem = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    size = file_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a segfault leaves no core file behind


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--cpu-seconds", type=int, required=True)
    parser.add_argument("--file-mb", type=int, default=64)
    parser.add_argument("--read", action="append", default=None, help="a path the kernel may read (repeatable)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    os.chdir(args.workdir)
    apply_limits(args.memory_mb, args.cpu_seconds, args.file_mb)
    contained = restrict_files(os.path.realpath(args.workdir), args.read)
    os.environ["GPTLAB_SANDBOX_WRITES"] = "restricted" if contained else "unrestricted"
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
