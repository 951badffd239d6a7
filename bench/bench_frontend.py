"""The whole CLI on scalar chain graphs (bench/make_graphs.py): load, validate, build, forward,
backward, write, each in a fresh process as a user runs it. Prints the median of each stage
(`graphrun run --timings`), the wall time of the process, and how the time grows with size.

    python bench/bench_frontend.py              # 1k, 10k, 100k nodes, 3 runs each
    python bench/bench_frontend.py 100000 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import table  # noqa: E402
from make_graphs import chain_text  # noqa: E402

STAGES = ("load", "validate", "build", "forward", "backward", "write")


def run_once(graph: str, output: str) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "graphrun", "run", "--timings", graph,
                           "-o", output], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    line = next(l for l in proc.stderr.splitlines() if l.startswith("timings: "))
    stages = dict(item.split("=") for item in line[len("timings: "):].split())
    return {**{k: float(v) for k, v in stages.items()}, "wall": wall}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rows, walls = [], {}
    with tempfile.TemporaryDirectory() as folder:
        for n in args.sizes:
            graph = os.path.join(folder, f"chain{n}.yaml")
            with open(graph, "w") as f:
                f.write(chain_text(n))
            runs = [run_once(graph, os.path.join(folder, "out.yaml")) for _ in range(args.repeat)]
            median = {k: statistics.median(r.get(k, 0.0) for r in runs) for k in runs[0]}
            walls[n] = median["wall"]
            rows.append([f"{n:,}"] + [f"{median.get(k, 0.0):.3f}" for k in STAGES]
                        + [f"{median['wall']:.3f}", f"{median['wall'] / n * 1e6:.1f}"])
    print(table(rows, ["nodes", *STAGES, "wall s", "us/node"]))
    sizes = sorted(walls)
    for small, big in zip(sizes, sizes[1:]):
        print(f"{big:,} / {small:,} nodes: wall time x{walls[big] / walls[small]:.1f} "
              f"(size x{big / small:.0f})")
    # goal 3 is an absolute time, and this machine's speed drifts (a shared host): a fixed
    # pure-Python workload timed in the same run says how fast the machine was meanwhile
    print(f"machine speed meanwhile: 10,000,000 Python additions took {python_loop():.2f} s")


def python_loop() -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    main()
