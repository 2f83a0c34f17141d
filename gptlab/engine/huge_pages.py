"""Huge pages behind the large tensors that a decoding step streams, on Linux.

What it optimises: at batch 1 a decoding step reads every weight once (~500 MB for GPT-2 small), so its speed
is the memory's. Memory comes in 4 KiB pages, and every page the step reads needs its address translated:
~120,000 translations a token, each one that misses the TLB a walk through the page tables (two of them in
a virtual machine). Linux's transparent huge pages (2 MiB) need 512 times fewer, but where
``/sys/kernel/mm/transparent_hugepage/enabled`` says ``madvise`` (the usual setting) it gives them only to
memory that asks, and PyTorch does not ask. :func:`advise_huge_pages` asks for a tensor's memory:
``madvise(MADV_HUGEPAGE)`` and, from Linux 6.1, ``madvise(MADV_COLLAPSE)``, which moves the pages already
there into huge ones at once, so that the weights stream faster (``bench/generate.py`` measures the step; each
separately allocated tensor keeps up to 4 MiB at its ends in small pages).

Why it is safe: it changes where the bytes lie in physical memory, never their values, so every result is
bit for bit what it was. It touches only the 2 MiB-aligned pages that lie wholly inside a tensor's storage
(the pages at its ends may hold other allocations). Elsewhere than Linux on a CPU tensor, or on a kernel
without the calls, it does nothing; it never raises.
"""
from __future__ import annotations

import ctypes
import sys
import weakref

import torch


def _huge_page_bytes() -> int:
    """The kernel's transparent huge page size: 2 MiB on x86-64 (and arm64 with 4 KiB pages)."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 2 << 20


HUGE_PAGE = _huge_page_bytes()
_MADV_HUGEPAGE, _MADV_COLLAPSE = 14, 25

# data_ptr -> the tensor last advised there: each tensor is advised once, and a new one at a reused address again.
_ADVISED: "weakref.WeakValueDictionary[int, torch.Tensor]" = weakref.WeakValueDictionary()
_madvise = None  # libc's madvise, loaded at the first call; False where there is none


def advise_huge_pages(*tensors: torch.Tensor) -> int:
    """Ask Linux to back the memory of these (CPU) tensors with 2 MiB pages. Values are unchanged.

    Returns the bytes moved into huge pages now (0 where the system cannot, or for tensors advised before)."""
    madvise = _libc_madvise()
    collapsed = 0
    if not madvise:
        return collapsed
    for t in tensors:
        if t.device.type != "cpu" or t.numel() * t.element_size() < HUGE_PAGE:
            continue
        start = t.data_ptr()
        if _ADVISED.get(start) is t:
            continue
        storage = t.untyped_storage()
        first = -(-storage.data_ptr() // HUGE_PAGE) * HUGE_PAGE  # the first huge page wholly inside
        end = (storage.data_ptr() + storage.nbytes()) // HUGE_PAGE * HUGE_PAGE
        if end > first:
            madvise(first, end - first, _MADV_HUGEPAGE)  # keep them huge (khugepaged) ...
            if madvise(first, end - first, _MADV_COLLAPSE) == 0:  # ... and make them so now (Linux >= 6.1)
                collapsed += end - first
        _ADVISED[start] = t
    return collapsed


def aligned_empty(shape, dtype=torch.float32) -> torch.Tensor:
    """An uninitialised contiguous tensor whose data starts on a huge-page boundary (all of it can be huge)."""
    numel = 1
    for n in shape:
        numel *= n
    itemsize = torch.empty((), dtype=dtype).element_size()
    spare = HUGE_PAGE // itemsize
    raw = torch.empty(numel + spare, dtype=dtype)
    offset = (-raw.data_ptr() % HUGE_PAGE) // itemsize
    return raw[offset : offset + numel].view(shape)


def _libc_madvise():
    global _madvise
    if _madvise is None:
        _madvise = False
        if sys.platform.startswith("linux"):
            try:
                fn = ctypes.CDLL(None, use_errno=True).madvise
                fn.argtypes, fn.restype = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
                _madvise = fn
            except (OSError, AttributeError):
                pass
    return _madvise
