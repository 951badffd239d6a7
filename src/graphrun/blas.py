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
import os
import sys
from typing import Optional

# the variables BLAS and OpenMP libraries read when they load
ENVIRONMENT = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
               "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
_SETTERS = ("openblas_set_num_threads", "scipy_openblas_set_num_threads64_",
            "openblas_set_num_threads64_", "scipy_openblas_set_num_threads")


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
    for library in _openblas_libraries():
        for name in _SETTERS:
            setter = getattr(library, name, None)
            if setter is None:
                continue
            getter = getattr(library, name.replace("set_num_threads", "get_num_threads"), None)
            before = getter() if getter is not None else None
            setter(ctypes.c_int(threads))
            return before
    return None


def threads() -> Optional[int]:
    """The threads the loaded OpenBLAS uses now, or None (no OpenBLAS loaded)."""
    for library in _openblas_libraries():
        for name in ("openblas_get_num_threads", "scipy_openblas_get_num_threads64_",
                     "openblas_get_num_threads64_", "scipy_openblas_get_num_threads"):
            getter = getattr(library, name, None)
            if getter is not None:
                return int(getter())
    return None


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
