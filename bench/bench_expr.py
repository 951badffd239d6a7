"""Expressions against the explicit form: the same 100,000-node graph written both ways, loaded,
checked and run by `python -m graphrun run FILE -o OUT --timings` in fresh processes, the two
alternating (so a drift of the machine's speed hits both alike). Prints the median wall time of
each, the median of the per-pair ratios, the stage times, and checks that the two results files
are byte-identical.

    python bench/bench_expr.py                  # 100,000 nodes, 5 pairs
    python bench/bench_expr.py 10000 --repeat 9
    python bench/bench_expr.py --parse          # the parser alone, in this process, on long texts

The graph is bench/make_graphs.py's chain (alternating mul, add, tanh on scalars, a param per mul
and add). Written as expressions, each node is one operation (`n5: n4 * p5`, `n7: tanh(n6)`),
so both files hold the same nodes under the same names. `--nested` also times the same graph
written three operations to a line (`n5: tanh(n4 * p3 + p4)`), whose results name the inner
operations after their place (n5.1.1, n5.1) instead.

`--parse` times `expr.parse` alone on expressions at its length limit (a 3,300-argument concat,
a chain of formulas, a small formula) against Python's own parser (`ast.parse`, in C) on the
same text, alternating in this process; the ratio is the median of the per-pair ratios.
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
from make_graphs import chain_text  # noqa: E402

STAGES = ("load", "validate", "build", "forward", "backward", "write")


def expression_text(n: int, nested: bool = False) -> str:
    """chain_text(n) with each node written as an expression: one operation each, or with
    `nested` each mul-add-tanh triple on one line, named as its last node."""
    lines, previous = [], "x"
    for line in chain_text(n).splitlines():
        if not (line.startswith("  n") and "{op: " in line):
            lines.append(line)
            continue
        name, body = line.strip().split(": ", 1)
        op = body.split("op: ")[1].split(",")[0]
        args = body.split("args: [")[1].split("]")[0].split(", ")
        i = int(name[1:])
        if not nested:
            text = {"mul": "{} * {}", "add": "{} + {}", "tanh": "tanh({})"}[op].format(*args)
            lines.append(f"  {name}: {text}")
        elif op == "tanh":  # n{i} = tanh(n{i-2} + ...): the triple ending here
            lines.append(f"  {name}: tanh({previous} * p{i - 2} + p{i - 1})")
            previous = name
    if nested and n % 3:
        raise SystemExit("--nested needs a multiple of 3 nodes")
    return "\n".join(lines) + "\n"


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


PARSE_TEXTS = {
    "concat of 3,300 names": "concat(" + ", ".join(["x"] * 3300) + ")",
    "concat of 180 formulas": "concat(" + ", ".join(
        ["sum(a * b, axis=0) - tanh(x1 - 2.5) ** 2 / exp(-y)"] * 180) + ")",
    "small formula": "tanh(x * w + b) * 2",
}


def bench_parse(repeat: int) -> None:
    import ast
    from graphrun.frontend import expr
    print(f"expr.parse against ast.parse, {repeat} alternating pairs, each the best of 5 calls")
    print(f"{'text':<28} {'chars':>6} {'parse us':>9} {'ast us':>8} {'ratio':>6}")
    for label, text in PARSE_TEXTS.items():
        ours, theirs = [], []
        for _ in range(repeat):
            for sink, call in ((ours, lambda: expr.parse(text)),
                               (theirs, lambda: ast.parse(text, mode="eval"))):
                best = float("inf")
                for _ in range(5):
                    start = time.perf_counter()
                    call()
                    best = min(best, time.perf_counter() - start)
                sink.append(best)
        ratio = statistics.median(a / b for a, b in zip(ours, theirs))
        print(f"{label:<28} {len(text):>6} {statistics.median(ours) * 1e6:9.0f} "
              f"{statistics.median(theirs) * 1e6:8.0f} {ratio:5.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nodes", nargs="?", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="pairs of runs (default 5)")
    parser.add_argument("--nested", action="store_true",
                        help="also time the graph written three operations to a line")
    parser.add_argument("--parse", action="store_true",
                        help="time the expression parser alone against ast.parse")
    args = parser.parse_args(argv)
    if args.parse:
        return bench_parse(args.repeat)
    with tempfile.TemporaryDirectory() as folder:
        forms = {"explicit": chain_text(args.nodes), "expressions": expression_text(args.nodes)}
        if args.nested:
            forms["nested"] = expression_text(args.nodes, nested=True)
        files = {}
        for form, text in forms.items():
            files[form] = os.path.join(folder, f"{form}.yaml")
            with open(files[form], "w", encoding="utf-8") as f:
                f.write(text)
        runs = {form: [] for form in forms}
        for _ in range(args.repeat):
            for form in forms:
                runs[form].append(run_once(files[form], files[form] + ".out"))
        outputs = {form: open(files[form] + ".out", "rb").read() for form in forms}
        same = outputs["explicit"] == outputs["expressions"]
        print(f"{args.nodes:,} nodes, {args.repeat} runs of each form, alternating "
              f"(sizes: " + ", ".join(f"{form} {os.path.getsize(path) / 2**20:.1f} MiB"
                                     for form, path in files.items()) + ")")
        print(f"{'form':<12} {'wall s':>7} {'ratio':>6}  " + " ".join(f"{s:>8}" for s in STAGES))
        for form in forms:
            wall = statistics.median(r["wall"] for r in runs[form])
            ratio = statistics.median(r["wall"] / b["wall"]
                                      for r, b in zip(runs[form], runs["explicit"]))
            stages = " ".join(f"{statistics.median(r[s] for r in runs[form]):8.3f}"
                              for s in STAGES)
            print(f"{form:<12} {wall:7.2f} {ratio:5.2f}x  {stages}")
        print(f"results of explicit and expressions byte-identical: {same}")
        if not same:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
