"""Shared by the benchmarks: medians of repeated runs, peak memory, a plain-text table."""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc


def median_time(fn, repeat=7, warmup=1):
    """Median wall time of fn() in seconds, over `repeat` runs after `warmup` runs, gc paused."""
    for _ in range(warmup):
        fn()
    return statistics.median(timed(fn) for _ in range(repeat))


def timed(fn) -> float:
    """Seconds of one fn() call, with the garbage collector collected first and paused during it."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def paired_times(baseline, candidate, repeat=15, warmup=2):
    """Run baseline and candidate alternately; return (median baseline s, median candidate s,
    median of the per-pair ratios). Pairing cancels drift from anything else on the machine."""
    for _ in range(warmup):
        baseline()
        candidate()
    base, cand = [], []
    for _ in range(repeat):
        base.append(timed(baseline))
        cand.append(timed(candidate))
    ratios = [c / b for b, c in zip(base, cand)]
    return statistics.median(base), statistics.median(cand), statistics.median(ratios)


def peak_bytes(fn):
    """Peak traced memory of one fn() call (numpy reports its buffers to tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def table(rows, header):
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)  # noqa: E731
                               for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def threads_note():
    """The BLAS in use: threadpoolctl's report when it is installed, else OpenBLAS's own words
    (openblas_get_corename: the kernel chosen for this processor, which is what threadpoolctl
    calls `architecture`; np.show_config() names the build's default target instead)."""
    try:
        from threadpoolctl import threadpool_info
        return "; ".join(f"{i['internal_api']} {i.get('version')} {i.get('architecture')} "
                         f"kernel, {i['num_threads']} threads" for i in threadpool_info())
    except ImportError:
        pass
    import ctypes

    import numpy  # noqa: F401 (loads the BLAS)
    from graphrun import blas
    for library in blas._openblas_libraries():
        for prefix, suffix in (("openblas", ""), ("scipy_openblas", "64_"), ("openblas", "64_")):
            core = getattr(library, f"{prefix}_get_corename{suffix}", None)
            config = getattr(library, f"{prefix}_get_config{suffix}", None)
            if core is not None and config is not None:
                core.restype = config.restype = ctypes.c_char_p
                return (f"{config().decode().split()[1]} OpenBLAS, {core().decode()} kernel "
                        f"(openblas_get_corename), {blas.threads()} threads")
    return "no OpenBLAS found"
