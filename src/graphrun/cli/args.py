"""args: the arguments several commands share, and how a command finds its graph files (files,
folders, `-` for stdin)."""

from __future__ import annotations

import argparse
import os
import re
import sys

# from results/__init__.py, not the writer or golden.py (numpy): parsing imports nothing heavy
from .. import lazy_re
from ..results import SIDECAR_THRESHOLD, results_name
from ..defaults import DEFAULT_LR, OPTIMIZERS

GRAPH_EXTENSIONS = (".yaml", ".yml")
STDIN = "-"  # a graph read from standard input
STDIN_NAME = "<stdin>"  # what messages call it; its `file:` paths are relative to the cwd


class UsageError(Exception):
    """Bad usage of the command line (exit code 2)."""


def add_budget_argument(parser):
    parser.add_argument("--memory-budget", type=parse_size, metavar="SIZE",
                        help="refuse graphs that need more memory than SIZE (e.g. 2GiB); "
                             "default: 80%% of the available memory")


def add_outside_argument(parser):
    parser.add_argument("--allow-outside", action="store_true",
                        help="let file: and include: name files outside the graph's folder "
                             "tree (by default a graph reads only files inside it, so an "
                             "untrusted graph cannot read other files on the machine)")


def graph_options(args) -> dict:
    """The options of api.compile that the command line sets (--memory-budget,
    --allow-outside), for the commands that take them."""
    return {"memory_budget": getattr(args, "memory_budget", None),
            "allow_outside": getattr(args, "allow_outside", False)}


def add_sidecar_argument(parser):
    parser.add_argument("--sidecar-threshold", type=count, default=SIDECAR_THRESHOLD,
                        metavar="N",
                        help="in results files, write tensors of more than N elements as .npy "
                             f"files in <results>.arrays/ (default: {SIDECAR_THRESHOLD})")


def add_tolerance_arguments(parser):
    parser.add_argument("--rtol", type=tolerance, metavar="R",
                        help="relative tolerance (default: the graph's `tolerance:`, else 1e-9 "
                             "for float64 and 1e-5 for float32)")
    parser.add_argument("--atol", type=tolerance, metavar="A",
                        help="absolute tolerance (default: the graph's `tolerance:`, else 1e-12 "
                             "for float64 and 1e-6 for float32)")


def add_outputs_argument(parser):
    parser.add_argument("--outputs", metavar="SECTION",
                        help="what results hold, as a graph file's outputs: section says it "
                             "(overrides it key by key), e.g. 'values: [L, h], gradients: "
                             "params, digits: 6'")


def outputs_option(args):
    """The parsed `--outputs` (an OutputsSpec), or None; a GraphError located in its text."""
    text = getattr(args, "outputs", None)
    if text is None:
        return None
    from ..frontend.outputs import parse_option
    return parse_option(text)


def add_max_rows_argument(parser):
    parser.add_argument("--max-rows", type=whole_number(0), default=10, metavar="N",
                        help="differences shown per graph, worst first (default 10; 0: all)")


def compile_graph(path: str, **options):
    """api.compile, or for `-` api.compile_text of standard input's bytes (read once: a command
    takes `-` at most once)."""
    from .. import api
    if path == STDIN:
        from ..frontend.load import MAX_BYTES  # the loader refuses more: never read it all
        return api.compile_text(sys.stdin.buffer.read(MAX_BYTES + 1), STDIN_NAME, **options)
    return api.compile(path, **options)


def check_outputs(*paths) -> None:
    """A usage error, before any work, for the first output path that cannot be written (its
    folder missing, not a folder, or not writable; results/files.py unwritable)."""
    from ..results.files import unwritable
    for path in paths:
        problem = path and unwritable(path)
        if problem:
            raise UsageError(problem)


def add_params_argument(parser):
    parser.add_argument("--params", metavar="TRAINED",
                        help="take the params from a training results file (what graphrun "
                             "train writes) instead of the graph's own values")


def add_optimizer_arguments(parser):
    """--optimizer and --lr, over the graph's train section (train, explain --train)."""
    parser.add_argument("--optimizer", type=choice(OPTIMIZERS, "optimizer"), metavar="NAME",
                        help=f"{', '.join(OPTIMIZERS)} (torch.optim's SGD, Adam, AdamW; default: "
                             "the train section's, else sgd)")
    parser.add_argument("--lr", type=number(0, False), metavar="LR",
                        help="the learning rate (default: the train section's, else "
                             f"{DEFAULT_LR:g})")


def choice(choices, what):
    """An argparse type: one of `choices`, with a did-you-mean (hints.py, imported only then)."""
    def parse(text):
        if text not in choices:
            from ..hints import did_you_mean
            raise argparse.ArgumentTypeError(
                f"unknown {what} {text!r}{did_you_mean(text, choices)} (expected one of: "
                f"{', '.join(choices)})")
        return text
    return parse


def count(text: str) -> int:
    n = _whole(text) if text.isascii() and text.isdigit() else None
    if n is None or n > MAX_WHOLE:
        raise argparse.ArgumentTypeError(f"expected a whole number of elements up to "
                                         f"{MAX_WHOLE}; found {_shown(text)}")
    return n


MAX_WHOLE = 2**63 - 1  # every count and seed on the command line fits an int64


def _whole(text: str):
    """int(text), or None; past 25 digits, MAX_WHOLE + 1 (too big, and never converted: Python
    refuses to convert more than 4,300 digits)."""
    digits = text.strip().lstrip("+-").lstrip("0")
    if len(digits) > 25 and digits.isdigit():
        return MAX_WHOLE + 1 if not text.strip().startswith("-") else -MAX_WHOLE - 2
    try:
        return int(text)
    except ValueError:
        return None


def tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0; found {text!r}")
    return value


def number(low, inclusive):
    """An argparse type: a finite number > low (>= low when `inclusive`)."""
    def parse(text):
        try:
            x = float(text)
        except ValueError:
            x = float("nan")
        if not (x >= low if inclusive else x > low) or x == float("inf"):
            raise argparse.ArgumentTypeError(
                f"expected a number {'>=' if inclusive else '>'} {low:g}; found {_shown(text)}")
        return x
    return parse


def whole_number(low):
    """An argparse type: a whole number >= low."""
    def parse(text):
        n = _whole(text)
        if n is None or n < low:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low}; found "
                                             f"{_shown(text)}")
        if n > MAX_WHOLE:
            raise argparse.ArgumentTypeError(f"expected a whole number up to {MAX_WHOLE}; "
                                             f"found {_shown(text)}")
        return n
    return parse


_SIZE = lazy_re.compile(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([KMGT]?i?B?|bytes)?\s*\Z", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "BYTES": 1, "K": 1000, "KB": 1000, "KIB": 1024, "M": 10**6, "MB": 10**6,
          "MIB": 2**20, "G": 10**9, "GB": 10**9, "GIB": 2**30, "T": 10**12, "TB": 10**12,
          "TIB": 2**40}


MAX_SIZE = 2**63 - 1  # bytes: 8 EiB, more than any machine has, and still an int64


def parse_size(text: str) -> int:
    """'2GiB', '500MB', '1000000' -> bytes (an argparse type), computed exactly (a float would
    turn 400 digits into inf), at most MAX_SIZE."""
    match = _SIZE.match(text)
    unit = (match.group(2) or "").upper() if match else None
    size = None
    if match and unit in _UNITS:
        number = match.group(1)
        if len(number.split(".")[0].lstrip("0")) > 20:
            size = MAX_SIZE + 1  # too many digits to be a size (and to convert quickly)
        else:
            from fractions import Fraction
            try:
                size = int(Fraction(number) * _UNITS[unit])
            except ValueError:  # thousands of digits after the point
                pass
    if size is None:
        raise argparse.ArgumentTypeError(f"expected a size such as 2GiB, 500MB or 1000000; "
                                         f"found {_shown(text)}")
    if size > MAX_SIZE:
        raise argparse.ArgumentTypeError(f"expected a size up to {MAX_SIZE} bytes (2^63 - 1); "
                                         f"found {_shown(text)}")
    return size


def _shown(text: str) -> str:
    """A command-line value in a message: quoted, and cut when it is long."""
    return repr(text) if len(text) <= 40 else repr(text[:37]) + "..."


def graph_files(paths, libraries: bool = False) -> list:
    """The graph files named: files as given (`-`, standard input, at most once); a folder's
    graph files, sorted: its *.yaml/*.yml files that frontend/recognise.py takes for graphs
    (not results files, so `-o` into the same folder is never read back as a graph; not YAML
    files that do not declare `graphrun:`; not libraries of blocks, unless `libraries`: graphs
    include them, docs/format.md)."""
    from ..frontend.recognise import GRAPH, LIBRARY, file_kind
    kinds = (GRAPH, LIBRARY) if libraries else (GRAPH,)
    files = []
    if list(paths).count(STDIN) > 1:
        raise UsageError("'-' (standard input) can be given once")
    for path in paths:
        if path == STDIN or not os.path.isdir(path):
            files.append(path)
            continue
        found = sorted(os.path.normpath(os.path.join(path, f)) for f in os.listdir(path)
                       if f.endswith(GRAPH_EXTENSIONS) and os.path.isfile(os.path.join(path, f))
                       and file_kind(os.path.join(path, f)) in kinds)
        if not found:
            raise UsageError(f"no graph files (*.yaml, *.yml that declare graphrun:) in the "
                             f"folder {path}")
        files += found
    return files


def parse_shard(text: str):
    """'I/N' -> (I, N), 1 <= I <= N (an argparse type)."""
    match = re.fullmatch(r"\s*([0-9]+)\s*/\s*([0-9]+)\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise argparse.ArgumentTypeError(f"expected I/N with 1 <= I <= N, e.g. 2/4; found "
                                         f"{text!r}")
    return int(match.group(1)), int(match.group(2))


def shard(items: list, which) -> list:
    """The items of shard I of N: every N-th, starting at the I-th (by the sorted order the
    graphs are listed in, so each graph is in exactly one shard, on every machine)."""
    if which is None:
        return items
    i, n = which
    return items[i - 1::n]


def results_paths(graphs, folder: str, name=results_name) -> list:
    """`folder/<stem>.results.yaml` (or another `name(graph)`) for each graph; two graphs with
    one stem are a usage error."""
    paths, seen = [], {}
    for graph in graphs:
        path = os.path.join(folder, name(graph))
        if path in seen:
            raise UsageError(f"{seen[path]} and {graph} would both write {path}; "
                             "give the graph files different names")
        seen[path] = graph
        paths.append(path)
    return paths
