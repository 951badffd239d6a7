"""The front door on scalar chain graphs (bench/make_graphs.py).

1. The loader, in this process: `load_bytes` (the fast reader, PyYAML behind it) against the
   PyYAML reader alone (`fast=False`, the loader before the fast reader) and against
   `yaml.load(text, Loader=yaml.CSafeLoader)` of the same text, the three interleaved round by
   round (the garbage collector paused for each, as graphrun runs); then the memory each takes
   (tracemalloc: the loaded document, and the peak while loading).
2. The whole CLI, each run in a fresh process as a user runs it (`graphrun run --timings`), with
   the fast reader and with PyYAML alone, interleaved: the median of each stage, the wall time,
   the process's peak memory, and how the time grows with size.

    python bench/bench_frontend.py                   # loader: 10k, 100k; CLI: 1k, 10k, 100k
    python bench/bench_frontend.py --loader 10000 100000 1000000 --cli 1000000 --repeat 1
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import table, timed  # noqa: E402
from make_graphs import chain_text  # noqa: E402

from graphrun.frontend import load  # noqa: E402
from graphrun.frontend.load import load_bytes  # noqa: E402

# `fast=False` stands for the loader before the fast reader, which had no limit on the values
# PyYAML reads (load.MAX_GENERAL_VALUES): a 1,000,000-node chain holds more.
load.MAX_GENERAL_VALUES = 1 << 62

STAGES = ("load", "validate", "build", "forward", "backward", "write")
MiB = 2**20

# The CLI in a fresh process, with the fast reader or PyYAML alone (the loader before the fast
# reader: the fast reader refuses everything, and PyYAML had no limit on the values it reads, which
# a 1,000,000-node chain passes), reporting its peak memory: VmHWM, as ru_maxrss of a child
# started by fork or vfork counts the parent's memory too.
CHILD = """import sys
if sys.argv[1] == "pyyaml":
    from graphrun.frontend import fastyaml, load
    fastyaml.read = lambda *args, **kwargs: None
    load.MAX_GENERAL_VALUES = 1 << 62
from graphrun.cli import main
try:
    sys.exit(main(sys.argv[2:]))
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print(f"peak: {peak} kB", file=sys.stderr)
"""


def loader_rows(sizes, repeat):
    rows = []
    for n in sizes:
        text = chain_text(n)
        raw = text.encode("utf-8")
        readers = {"fast": lambda: load_bytes(raw).data,
                   "pyyaml": lambda: load_bytes(raw, fast=False).data,
                   "yaml.load": lambda: yaml.load(text, Loader=yaml.CSafeLoader)}
        times = {kind: [] for kind in readers}
        read = {}  # the documents of a round, kept until its end (freeing them is not timed)
        for round_ in range(repeat):  # interleaved: a drift of the machine's speed hits all three
            for kind, reader in readers.items():
                times[kind].append(timed(lambda: read.setdefault(kind, reader())))
            if round_ == 0:  # all three read the same document (it needs no YAML 1.2 reading)
                assert read["fast"] == read["pyyaml"] == read["yaml.load"]
            read.clear()
        median = {k: statistics.median(v) for k, v in times.items()}
        ratio = {k: statistics.median(a / b for a, b in zip(v, times["yaml.load"]))
                 for k, v in times.items()}
        document, peak = {}, {}
        for kind, fast in (("fast", True), ("pyyaml", False)):
            document[kind], peak[kind] = traced(lambda: load_bytes(raw, fast=fast))
        rows.append([f"{n:,}", f"{len(raw) / MiB:.1f}", f"{median['pyyaml']:.3f}",
                     f"{median['fast']:.3f}", f"x{median['pyyaml'] / median['fast']:.2f}",
                     f"{median['yaml.load']:.3f}", f"{ratio['pyyaml']:.3f}",
                     f"{ratio['fast']:.3f}",
                     f"{document['pyyaml'] / MiB:.0f} / {document['fast'] / MiB:.0f}",
                     f"{peak['pyyaml'] / MiB:.0f} / {peak['fast'] / MiB:.0f}"])
    return table(rows, ["nodes", "MiB", "before s", "after s", "speed-up", "yaml.load s",
                        "before/yaml.load", "after/yaml.load", "document MiB (b/a)",
                        "peak MiB (b/a)"])


def traced(load):
    """(bytes the loaded document keeps, peak bytes while loading), by tracemalloc."""
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        document = load()
        kept, peak = tracemalloc.get_traced_memory()
        del document
        return kept, peak
    finally:
        tracemalloc.stop()
        gc.enable()


def run_once(graph: str, output: str, fast: bool) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, "fast" if fast else "pyyaml", "run",
                           "--timings", graph, "-o", output], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    lines = proc.stderr.splitlines()
    timings = next(l for l in lines if l.startswith("timings: "))[len("timings: "):]
    stages = {k: float(v) for k, v in (item.split("=") for item in timings.split())}
    peak = next(l for l in lines if l.startswith("peak: ")).split()[1]
    return {**stages, "wall": wall, "peak": int(peak) * 1024 / MiB}


def cli_rows(sizes, repeat):
    rows, walls = [], {}
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            graph = os.path.join(folder, f"chain{n}.yaml")
            with open(graph, "w") as f:
                f.write(chain_text(n))
            runs = {True: [], False: []}
            for _ in range(repeat):
                for fast in (False, True):
                    runs[fast].append(run_once(graph, os.path.join(folder, "out.yaml"), fast))
            for fast in (False, True):
                median = {k: statistics.median(r.get(k, 0.0) for r in runs[fast])
                          for k in runs[fast][0]}
                walls[n, fast] = median["wall"]
                rows.append([f"{n:,}", "after" if fast else "before"]
                            + [f"{median.get(k, 0.0):.3f}" for k in STAGES]
                            + [f"{median['wall']:.3f}", f"{median['wall'] / n * 1e6:.1f}",
                               f"{median['peak']:.0f}"])
    lines = [table(rows, ["nodes", "loader", *STAGES, "wall s", "us/node", "peak MiB"])]
    sizes = sorted(sizes)
    for small, big in zip(sizes, sizes[1:]):
        lines.append(f"{big:,} / {small:,} nodes: wall time x{walls[big, True] / walls[small, True]:.1f} "
                     f"(size x{big / small:.0f})")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loader", nargs="*", type=int, default=[10_000, 100_000],
                        help="sizes for the loader in this process")
    parser.add_argument("--cli", nargs="*", type=int, default=[1000, 10_000, 100_000],
                        help="sizes for the CLI in fresh processes")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if args.loader:
        print(loader_rows(args.loader, args.repeat))
        print()
    if args.cli:
        print(cli_rows(args.cli, args.repeat))
    # this machine's speed drifts (a shared host): a fixed pure-Python workload timed in the
    # same run says how fast the machine was meanwhile
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
