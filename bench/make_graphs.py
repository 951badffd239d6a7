"""Graph files for the benchmarks: scalar chains of alternating mul/add/tanh with a param per mul
and add, ending in a scalar loss.

    python bench/make_graphs.py 100000 /tmp/chain100k.yaml
"""

from __future__ import annotations

import sys


def chain_text(n: int) -> str:
    """A graph file of n nodes: x -> mul p -> add p -> tanh -> mul p -> ... ; loss is the last."""
    params, nodes = [], []
    previous = "x"
    for i in range(n):
        kind = i % 3
        name = f"n{i}"
        if kind == 2:
            nodes.append(f"  {name}: {{op: tanh, args: [{previous}]}}")
        else:
            param = f"p{i}"
            params.append(f"  {param}: {0.5 + (i % 7) * 0.1:.1f}")
            op = "mul" if kind == 0 else "add"
            nodes.append(f"  {name}: {{op: {op}, args: [{previous}, {param}]}}")
        previous = name
    return "\n".join(["graphrun: 1", f"name: chain{n}", "inputs:", "  x: 0.3", "params:",
                      *params, "nodes:", *nodes, f"loss: {previous}", ""])


def main(argv):
    n, path = int(argv[0]), argv[1]
    with open(path, "w", encoding="utf-8") as f:
        f.write(chain_text(n))


if __name__ == "__main__":
    main(sys.argv[1:])
