"""Issue 17, goals 1 and 2: graphrun as a user runs it, a fresh process each time.

1. start-up: `graphrun --version`, `--help`, `schema`, a usage error, and `graphrun
   graphs/simple.yaml`, against `python -c pass` and `python -c "import numpy"`;
2. end to end: `graphrun run mlp.yaml -o OUT` (the 3-layer MLP of bench_mlp.py, every value and
   gradient written, .npy sidecars) against a hand-written numpy script that makes the same
   leaves (default_rng, as `init:` documents), computes the same values and gradients
   (bench_mlp.by_hand) and saves each with np.save.

Rounds interleave the commands (each round runs every command once, in a fresh process); the
table gives medians and ranges, and the ratio is the median of the per-round ratios.

    python bench/bench_cli.py [--rounds 15] [--e2e-rounds 7] [--before SRC] [--dtype float64]

`--before SRC` adds the same commands run from another source tree (PYTHONPATH=SRC, e.g. a
`git archive` of an older commit's src/), interleaved with the others.
"""

from __future__ import annotations

import argparse
import inspect
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import bench_mlp  # noqa: E402
from common import table  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HAND = '''"""The MLP by hand: the leaves as graphrun's init makes them, forward, backward, np.save."""
import os
import sys

import numpy as np

BATCH, WIDTH, CLASSES, DTYPE = {batch}, {width}, {classes}, np.{dtype}


def normal(seed, shape, std=1.0):
    return np.random.default_rng(seed).normal(0.0, std, shape).astype(DTYPE, copy=False)


{by_hand}

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
X = normal(1, (BATCH, WIDTH))
y = np.array([i % CLASSES for i in range(BATCH)], dtype=np.int64)
W1, W2, W3 = normal(2, (WIDTH, WIDTH), 0.03), normal(3, (WIDTH, WIDTH), 0.03), \\
    normal(4, (WIDTH, CLASSES), 0.03)
b1, b2, b3 = (np.zeros(n, DTYPE) for n in (WIDTH, WIDTH, CLASSES))
loss, values, grads = by_hand(X, y, W1, b1, W2, b2, W3, b3)
for section, arrays in (("values", values), ("gradients", grads)):
    for name, array in arrays.items():
        np.save(os.path.join(out, f"{{section}}.{{name}}.npy"), array)
with open(os.path.join(out, "loss.txt"), "w") as f:
    f.write(repr(float(loss)) + "\\n")
'''


def by_hand_source() -> str:
    """bench_mlp.by_hand, returning every value and every gradient as graphrun writes them."""
    source = inspect.getsource(bench_mlp.by_hand)
    source = source.replace(
        "    return loss, (d_W1, d_b1, d_W2, d_b2, d_W3, d_b3)\n",
        "    values = dict(z1=z1, a1=a1, h1=h1, z2=z2, a2=a2, h2=h2, z3=z3, logits=logits)\n"
        "    grads = dict(W1=d_W1, b1=d_b1, W2=d_W2, b2=d_b2, W3=d_W3, b3=d_b3, z1=d_a1, a1=d_a1,\n"
        "                 h1=d_h1, z2=d_a2, a2=d_a2, h2=d_h2, z3=d_logits, logits=d_logits)\n"
        "    return loss, values, grads\n")
    assert "return loss, values, grads" in source
    return source


def run(cmd, env, cwd):
    """(wall seconds, CPU seconds (user + sys), exit code, stderr) of one fresh process. The CPU
    time moves less than the wall time when other work shares the cores."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return took, cpu, done.returncode, done.stderr


def rounds(commands, n, cwd, before=None):
    """{label: [seconds, ...]} over n interleaved rounds, and the same of CPU seconds; each entry
    of `commands` is (label, argv, expected exit code, prepare or None)."""
    times = {label: [] for label, *_ in commands}
    cpus = {label: [] for label, *_ in commands}
    for _ in range(n + 1):  # the first round warms the caches and is dropped
        for label, argv, code, prepare in commands:
            if prepare:
                prepare()
            # bytecode caches on, as an installed graphrun has them (this workplace sets
            # PYTHONDONTWRITEBYTECODE, which would compile every module in every process)
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            if label.startswith("before:"):
                env["PYTHONPATH"] = before
            took, cpu, got, stderr = run(argv, env, cwd)
            if got != code:
                raise SystemExit(f"{label}: exit {got}, expected {code}\n{stderr.decode()}")
            times[label].append(took)
            cpus[label].append(cpu)
    return ({label: ts[1:] for label, ts in times.items()},
            {label: ts[1:] for label, ts in cpus.items()})


def summary(times, base, label):
    ratios = [t / b for t, b in zip(times[label], times[base])]
    ts = times[label]
    return [label, f"{statistics.median(ts) * 1e3:.0f} ms",
            f"{min(ts) * 1e3:.0f}-{max(ts) * 1e3:.0f}", f"{statistics.median(ratios):.2f}x"]


def graphrun_cmd(*args):
    return [sys.executable, "-m", "graphrun", *args]


def startup(n, before):
    simple = os.path.join(ROOT, "graphs", "simple.yaml")
    ours = [("python -c pass", [sys.executable, "-c", "pass"], 0, None),
            ("python -c 'import numpy'", [sys.executable, "-c", "import numpy"], 0, None)]
    cases = [("graphrun --version", ["--version"], 0), ("graphrun --help", ["--help"], 0),
             ("graphrun schema", ["schema"], 0), ("graphrun run --bogus", ["run", "--bogus", simple], 2),
             ("graphrun valdate (mistyped)", ["valdate", simple], 2),
             ("graphrun train --bogus", ["train", "--bogus", simple], 2),
             ("graphrun gradcheck --help", ["gradcheck", "--help"], 0),
             ("graphrun graphs/simple.yaml", [simple], 0)]
    for label, args, code in cases:
        ours.append((label, graphrun_cmd(*args), code, None))
        if before:
            ours.append(("before: " + label, graphrun_cmd(*args), code, None))
    times, cpus = rounds(ours, n, ROOT, before)
    numpy = "python -c 'import numpy'"
    rows = [summary(times, "python -c pass", label) + [summary(times, numpy, label)[3]]
            + [f"{statistics.median(cpus[label]) * 1e3:.0f} ms", summary(cpus, numpy, label)[3]]
            for label in times]
    print(table(rows, ["start-up (fresh process)", "median", "range", "/ python -c pass",
                       "/ import numpy", "CPU", "CPU / import numpy"]))


def end_to_end(n, before, dtype, batch, width):
    work = tempfile.mkdtemp(prefix="bench-cli-")
    try:
        graph = os.path.join(work, "mlp.yaml")
        with open(graph, "w") as f:
            f.write(bench_mlp.graph_text(batch, width, dtype))
        hand = os.path.join(work, "hand.py")
        with open(hand, "w") as f:
            f.write(HAND.format(batch=batch, width=width, classes=bench_mlp.CLASSES, dtype=dtype,
                                by_hand=by_hand_source()))
        outs = {k: os.path.join(work, k) for k in ("hand", "graphrun", "before")}

        def clean(key):
            return lambda: shutil.rmtree(outs[key], ignore_errors=True)

        commands = [("numpy by hand, np.save", [sys.executable, hand, outs["hand"]], 0,
                     clean("hand")),
                    ("graphrun run -o", graphrun_cmd("run", graph, "-o", outs["graphrun"] + "/"),
                     0, clean("graphrun"))]
        if before:
            commands.append(("before: graphrun run -o",
                             graphrun_cmd("run", graph, "-o", outs["before"] + "/"), 0,
                             clean("before")))
        times, cpus = rounds(commands, n, work, before)
        _same(outs["hand"], outs["graphrun"], dtype)
        hand = "numpy by hand, np.save"
        rows = [summary(times, hand, label)
                + [f"{statistics.median(cpus[label]) * 1e3:.0f} ms", summary(cpus, hand, label)[3]]
                for label in times]
        print(table(rows, [f"MLP {batch}x{width} {dtype}, fresh process", "median", "range",
                           "/ by hand", "CPU", "CPU / by hand"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _same(hand, ours, dtype):
    """The two wrote the same values and gradients (a benchmark of wrong code measures nothing)."""
    import numpy as np

    import graphrun
    results = graphrun.read_results(os.path.join(ours, "mlp.results.yaml"))
    tol = dict(rtol=1e-4, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    checked = 0
    for name in os.listdir(hand):
        if not name.endswith(".npy"):
            continue
        section, node, _ = name.split(".")
        got = results.entries[f"{section}.{node}"].value
        np.testing.assert_allclose(np.asarray(got), np.load(os.path.join(hand, name)), **tol)
        checked += 1
    assert checked == 22, checked


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--e2e-rounds", type=int, default=7)
    ap.add_argument("--before", metavar="SRC", help="another source tree, run interleaved")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--only", choices=["startup", "e2e"])
    args = ap.parse_args(argv)
    before = os.path.abspath(args.before) if args.before else None
    if args.only != "e2e":
        startup(args.rounds, before)
        print()
    if args.only != "startup":
        end_to_end(args.e2e_rounds, before, args.dtype, args.batch, args.width)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
