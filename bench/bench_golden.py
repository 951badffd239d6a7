"""Goal 5: golden checks at the scale of a CI repo: 200 small graph files (three-layer tanh MLPs,
cross_entropy; batch 256, widths 8-512-512-3 by default, about 40 ms each: matmuls big enough for
OpenBLAS to start its threads) and their goldens (the loss, the logits and the params' gradients,
selected with `outputs:`).

    python bench/bench_golden.py [--graphs 200] [--repeat 3] [--batch 256] [--width 512]

Measures, each in fresh processes, runs alternating so that the host's drift hits both sides:

1. the pytest plugin, serial against `pytest -n 2` (pytest-xdist): the speed-up (target >= 1.6x on
   two cores), and `-n 2` with each worker's BLAS left at the cores' count
   (OPENBLAS_NUM_THREADS set by hand, which the plugin respects), to show what the limit buys;
2. `graphrun check graphs/ --golden golden/` as it runs, against the same with
   OPENBLAS_NUM_THREADS=1 set by hand: what BLAS threads cost a serial check of small graphs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

GRAPH = """\
graphrun: 1
name: mlp{i}
inputs:
  X: {{init: normal, shape: [{batch}, 8], seed: {i}}}
  y: {{value: {labels}, dtype: int64}}
params:
  W1: {{init: normal, shape: [8, {width}], seed: {s1}, std: 0.3}}
  b1: {{init: zeros, shape: [{width}]}}
  W2: {{init: normal, shape: [{width}, {width}], seed: {s2}, std: 0.3}}
  b2: {{init: zeros, shape: [{width}]}}
  W3: {{init: normal, shape: [{width}, 3], seed: {s3}, std: 0.3}}
nodes:
  z1: {{op: matmul, args: [X, W1]}}
  a1: {{op: add, args: [z1, b1]}}
  h1: {{op: tanh, args: [a1]}}
  z2: {{op: matmul, args: [h1, W2]}}
  a2: {{op: add, args: [z2, b2]}}
  h2: {{op: tanh, args: [a2]}}
  logits: {{op: matmul, args: [h2, W3]}}
  L: {{op: cross_entropy, args: [logits, y]}}
loss: L
outputs: {{values: [L, logits], gradients: params}}
"""
INI = '[tool.pytest.ini_options]\ntestpaths = ["graphs"]\ngraphrun_golden = "golden"\n'


def make_project(folder: str, n: int, batch: int, width: int) -> None:
    os.makedirs(os.path.join(folder, "graphs"))
    labels = [i % 3 for i in range(batch)]
    for i in range(n):
        with open(os.path.join(folder, "graphs", f"g{i:03d}.yaml"), "w") as f:
            f.write(GRAPH.format(i=i, s1=i + 1, s2=i + 2, s3=i + 3, batch=batch, width=width,
                                 labels=labels))
    with open(os.path.join(folder, "pyproject.toml"), "w") as f:
        f.write(INI)
    run(folder, [sys.executable, "-m", "graphrun", "check", "graphs", "--golden", "golden/",
                 "--update", "-q"])


def environment(**overrides) -> dict:
    """The environment of a CI job: BLAS threads as the machine has them, and Python's bytecode
    cache on (this workplace sets PYTHONDONTWRITEBYTECODE, which makes every process, each xdist
    worker included, compile graphrun from source again)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "PYTEST_ADDOPTS",
                        "PYTHONDONTWRITEBYTECODE")}
    env.update(overrides)
    return env


def run(folder, argv, env=None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=folder, env=env or environment(), capture_output=True,
                          text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n"
                         f"{proc.stderr}")
    return took


def alternate(folder, variants, repeat):
    """{name: [seconds, ...]} with the variants run in turn, `repeat` rounds."""
    times = {name: [] for name in variants}
    for _ in range(repeat):
        for name, (argv, env) in variants.items():
            times[name].append(run(folder, argv, env))
    return times


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--graphs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--width", type=int, default=512)
    args = parser.parse_args(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    folder = tempfile.mkdtemp(prefix="bench_golden_")
    try:
        make_project(folder, args.graphs, args.batch, args.width)
        # hypothesis's pytest plugin (graphrun's own tests use it; a repository of graphs would
        # not have it) imports all of hypothesis at the end of every session: 1-3 s here
        pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                  "-p", "no:hypothesispytest"]
        variants = {
            "pytest (serial)": (pytest, None),
            "pytest -n 2": (pytest + ["-n", "2"], None),
            f"pytest -n 2, BLAS {cores} threads per worker":
                (pytest + ["-n", "2"], environment(OPENBLAS_NUM_THREADS=str(cores))),
        }
        check = [sys.executable, "-m", "graphrun", "check", "graphs", "--golden", "golden/",
                 "-q"]
        variants["graphrun check"] = (check, None)
        variants["graphrun check, OPENBLAS_NUM_THREADS=1"] = \
            (check, environment(OPENBLAS_NUM_THREADS="1"))
        alternate(folder, variants, 1)  # warm: bytecode caches, the page cache
        times = alternate(folder, variants, args.repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    median = {name: statistics.median(t) for name, t in times.items()}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.graphs} graphs (batch {args.batch}, width {args.width}), {cores} cores, "
          f"medians of {args.repeat} alternating runs; load average {load:.1f} at the end")
    for name, seconds in median.items():
        print(f"  {name:48s} {seconds:7.2f} s   (runs: "
              f"{', '.join(f'{t:.2f}' for t in times[name])})")
    serial = median["pytest (serial)"]
    print(f"pytest -n 2 vs serial: {serial / median['pytest -n 2']:.2f}x faster (target >= 1.6x)")
    unlimited = median[f"pytest -n 2, BLAS {cores} threads per worker"]
    print(f"pytest -n 2 with the plugin's BLAS limit vs without: "
          f"{unlimited / median['pytest -n 2']:.2f}x faster")
    one = median["graphrun check, OPENBLAS_NUM_THREADS=1"]
    print(f"graphrun check vs the same with one BLAS thread set by hand: "
          f"{median['graphrun check'] / one:.2f}x the time (1.00x: nothing lost to threads)")


if __name__ == "__main__":
    main()
