"""Goal 3: the whole CLI on a scalar chain graph file of 10k and 100k nodes (load, validate,
build, forward, backward, write), as a user runs it: `python -m graphrun run FILE -o OUT
--timings`, in a fresh process each time. Prints the median wall time, the stage breakdown, and
the 100k/10k ratio (linear growth means about 10x).

    python bench/bench_cli.py [--sizes 10000,100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import table  # noqa: E402
from make_graphs import chain_text  # noqa: E402

STAGES = ("load", "validate", "build", "forward", "backward", "write")


def run_once(path, out):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "graphrun", "run", path, "-o", out, "--timings"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"graphrun failed on {path}:\n{proc.stderr}")
    stages = dict(re.findall(r"(\w+)=([0-9.]+)", proc.stderr.strip().splitlines()[-1]))
    return wall, {k: float(v) for k, v in stages.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    rows, walls = [], {}
    with tempfile.TemporaryDirectory() as folder:
        for n in map(int, args.sizes.split(",")):
            path = os.path.join(folder, f"chain{n}.yaml")
            with open(path, "w") as f:
                f.write(chain_text(n))
            runs = [run_once(path, os.path.join(folder, f"chain{n}.results.yaml"))
                    for _ in range(args.repeat)]
            wall = statistics.median(r[0] for r in runs)
            walls[n] = wall
            stages = {k: statistics.median(r[1].get(k, 0.0) for r in runs) for k in STAGES}
            rows.append([f"chain {n} ({os.path.getsize(path) / 2**20:.1f} MiB)", f"{wall:.2f} s",
                         *(f"{stages[k]:.3f}" for k in STAGES)])
    print(table(rows, ["graph file", "wall (process)", *STAGES]))
    sizes = sorted(walls)
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        print(f"\n{big // 1000}k / {small // 1000}k wall time: {walls[big] / walls[small]:.1f}x "
              f"for {big / small:.0f}x the nodes")


if __name__ == "__main__":
    main()
