"""Graph files built to be slow to reject (issue 10), each just under the 64 MiB size cap, for the
"Slow to reject" table in bench/README.md:

    python bench/make_hostile.py /tmp/hostile          # every kind
    python bench/make_hostile.py /tmp/hostile ragged   # one kind
    /usr/bin/time -f "%e s %M KB" graphrun /tmp/hostile/ragged.yaml

Each file repeats one small entry until the next would pass SIZE; the entry's count is printed.
"""

from __future__ import annotations

import os
import sys

SIZE = 64 * 2**20 - 4096  # under load.MAX_BYTES: rejected for what is in it, not for its size


def _fill(head: str, entry, tail: str = "") -> tuple:
    """(text, count): head, then entry(0), entry(1), ... while the whole stays under SIZE."""
    parts, size, i = [head], len(head) + len(tail), 0
    while True:
        piece = entry(i)
        if size + len(piece) > SIZE:
            break
        parts.append(piece)
        size += len(piece)
        i += 1
    parts.append(tail)
    return "".join(parts), i


_GRAPH = "graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n  y: {op: neg, args: [x]}\n"

KINDS = {
    # every node uses a name that is defined nowhere
    "unknown_names": lambda: _fill("graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n",
                                   lambda i: f"  n{i}: {{op: neg, args: [u{i}]}}\n"),
    # every node names an op that does not exist
    "unknown_ops": lambda: _fill("graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n",
                                 lambda i: f"  n{i}: {{op: nop, args: [x]}}\n"),
    # for scale: a valid file of as many nodes, a chain of negations
    "valid": lambda: _fill("graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n  n0: {op: neg, args: [x]}\n",
                           lambda i: f"  n{i + 1}: {{op: neg, args: [n{i}]}}\n"),
    # a matrix whose last row is one short (the first ragged entry is the last one)
    "ragged": lambda: _fill("graphrun: 1\ninputs:\n  x: [", lambda i: "[1.5, 2.5], ",
                            "[1.5]]\nnodes:\n  y: {op: neg, args: [x]}\n"),
    # the same top-level key, millions of times
    "duplicate_keys": lambda: _fill("graphrun: 1\nnodes:\n  y: {op: neg, args: [x]}\n",
                                    lambda i: "name: ab\n"),
    # a list of empty mappings where the nodes mapping belongs
    "empty_mappings": lambda: _fill("graphrun: 1\nnodes: [", lambda i: "{}, ", "{}]\n"),
    # the densest lists: 62 levels deep, over and over, under a key the schema does not know
    "deepest_lists": lambda: _fill(_GRAPH + "junk: [", lambda i: "[" * 62 + "]" * 62 + ", ",
                                   "1]\n"),
    # millions of one-character names in one flow list
    "names_list": lambda: _fill(_GRAPH + "junk: [", lambda i: "a, ", "a]\n"),
    # millions of keys in one flow mapping, and as many block mapping lines
    "flow_keys": lambda: _fill(_GRAPH + "junk: {", lambda i: f"a{i}: 1, ", "b: 1}\n"),
    "mapping_lines": lambda: _fill(_GRAPH + "junk:\n", lambda i: f"  a{i}: 1\n"),
    # block sequences: only PyYAML reads them (one event per item)
    "block_sequence": lambda: _fill(_GRAPH + "junk:\n", lambda i: "- a\n"),
    "nested_block_sequences": lambda: _fill(_GRAPH + "junk:\n",
                                            lambda i: "- - - - - - - - - - - - 1\n"),
    # a valid chain written as expressions: more nodes than the graph limit (spec.MAX_NODES)
    "expressions": lambda: _fill("graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n  n0: -x\n",
                                 lambda i: f"  n{i + 1}: -n{i}\n"),
    # a valid chain with one node of three lines each: the fast reader's line-by-line form
    "block_nodes": lambda: _fill("graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n  n0:\n    op: neg\n"
                                 "    args: [x]\n",
                                 lambda i: f"  n{i + 1}:\n    op: neg\n    args: [n{i}]\n"),
}


def main(argv):
    folder, kinds = argv[0], argv[1:] or list(KINDS)
    os.makedirs(folder, exist_ok=True)
    for kind in kinds:
        text, count = KINDS[kind]()
        with open(os.path.join(folder, f"{kind}.yaml"), "w", encoding="utf-8") as f:
            f.write(text)
        print(f"{kind}.yaml: {count:,} entries, {len(text):,} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
