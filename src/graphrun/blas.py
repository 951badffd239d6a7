"""blas: how many threads numpy's BLAS may use, for processes that run many small graphs side by
side (pytest-xdist workers, `graphrun check` over a folder).

OpenBLAS (numpy's wheels bundle it) starts one thread per core and keeps them spinning for a while
after each call. Two xdist workers on two cores each with two BLAS threads fight over the cores,
and every small matmul pays for waking threads it does not need. The thread count is read from
the environment when the library loads, so `limit_before_import` sets it for a process that has
not imported numpy yet; `limit` changes it at run time, through the library's own
`openblas_set_num_threads` (found among the loaded libraries, as threadpoolctl finds it; no
dependency for a dozen lines).
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
from contextlib import contextmanager
from typing import Optional

# the variables BLAS and OpenMP libraries read when they load
ENVIRONMENT = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
               "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
_SETTERS = ("openblas_set_num_threads", "scipy_openblas_set_num_threads64_",
            "openblas_set_num_threads64_", "scipy_openblas_set_num_threads")


# whether the user chose the thread count (as the process started): then graphrun keeps it
USER_SET = any(os.environ.get(name) for name in ENVIRONMENT)


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def limit_before_import(threads: int) -> bool:
    """Set the thread variables (those the user has not set) for a BLAS not loaded yet. False
    when numpy is imported already (then use `limit`)."""
    for name in ENVIRONMENT:
        os.environ.setdefault(name, str(threads))
    return "numpy" not in sys.modules


def limit(threads: int) -> Optional[int]:
    """Set the threads of the OpenBLAS numpy loaded; the number it had, or None when no OpenBLAS
    is loaded (another BLAS, or numpy not imported)."""
    calls = _calls()
    if calls is None:
        return None
    get, set_ = calls
    before = get()
    set_(threads)
    return before


def threads() -> Optional[int]:
    """The threads the loaded OpenBLAS uses now, or None (no OpenBLAS loaded)."""
    calls = _calls()
    return None if calls is None else calls[0]()


# elements of a graph's largest value (256 x 1024) up to which it runs on one thread: a matmul of
# such operands takes milliseconds, which a second thread shortens by at most half on an idle
# machine, and lengthens several times when the cores are shared (bench/README.md, goal 5)
SMALL = 1 << 18


def one_thread_if_small(program):
    """Run a graph whose tensors are all small (at most SMALL elements) with one BLAS thread,
    restoring the count after: threads it can hardly use would only spin beside it, and take a
    core from another process. A bigger graph keeps every thread, and a count the user set
    (OPENBLAS_NUM_THREADS and the like, when the process started) is kept."""
    return one_thread_if(max((math.prod(t.shape) for t in program.types), default=0) <= SMALL)


@contextmanager
def one_thread_if(small: bool):
    """One BLAS thread inside the block when `small` (a graph whose values are all at most SMALL
    elements; executor.Plan.small) and the user did not choose the count; else as it is."""
    before = limit(1) if small and not USER_SET else None
    try:
        yield
    finally:
        if before is not None and before != 1:
            limit(before)


@contextmanager
def one_thread():
    """One BLAS thread inside the block, whatever the count outside (restored after): for work
    that is memory-bound and brief, such as the writer's summaries (`x . x` of a sidecar), where
    waking a second thread costs more than it saves (12 ms instead of 0.5 ms for a 1024x1024
    float64 on a shared machine), and the sum's order then does not depend on the count."""
    before = limit(1)
    try:
        yield
    finally:
        if before is not None and before != 1:
            limit(before)


_CACHE = []


def _calls():
    """(get, set) of the loaded OpenBLAS's thread count, found once numpy has loaded it."""
    if _CACHE:
        return _CACHE[0]
    if "numpy" not in sys.modules:
        return None  # not loaded yet: look again later
    found = None
    for library in _openblas_libraries():
        for name in _SETTERS:
            setter = getattr(library, name, None)
            getter = getattr(library, name.replace("set_num_threads", "get_num_threads"), None)
            if setter is not None and getter is not None:
                found = (lambda g=getter: int(g()), lambda n, s=setter: s(ctypes.c_int(n)))
                break
        if found:
            break
    _CACHE.append(found)
    return found


def _openblas_libraries():
    """The loaded shared libraries whose file name says OpenBLAS (Linux: /proc/self/maps)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split(None, 5)[-1].strip() for line in f if "openblas" in line.lower()}
    except OSError:
        return []
    libraries = []
    for path in sorted(p for p in paths if p.startswith("/") and ".so" in p):
        try:
            libraries.append(ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | os.RTLD_LOCAL))
        except OSError:
            continue
    return libraries
