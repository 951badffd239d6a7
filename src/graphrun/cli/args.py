"""args: the arguments several commands share, and how a command finds its graph files."""

from __future__ import annotations

import argparse
import os
import re

from ..results.golden import is_results_file, results_name
from ..results.writer import SIDECAR_THRESHOLD

GRAPH_EXTENSIONS = (".yaml", ".yml")


class UsageError(Exception):
    """Bad usage of the command line (exit code 2)."""


def add_budget_argument(parser):
    parser.add_argument("--memory-budget", type=parse_size, metavar="SIZE",
                        help="refuse graphs that need more memory than SIZE (e.g. 2GiB); "
                             "default: 80%% of the available memory")


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


def add_params_argument(parser):
    parser.add_argument("--params", metavar="TRAINED",
                        help="take the params from a training results file (what graphrun "
                             "train writes) instead of the graph's own values")


def add_optimizer_arguments(parser):
    """--optimizer and --lr, over the graph's train section (train, explain --train)."""
    from ..frontend.train import OPTIMIZERS
    parser.add_argument("--optimizer", type=choice(OPTIMIZERS, "optimizer"), metavar="NAME",
                        help=f"{', '.join(OPTIMIZERS)} (torch.optim's SGD, Adam, AdamW; default: "
                             "the train section's, else sgd)")
    parser.add_argument("--lr", type=number(0, False), metavar="LR",
                        help="the learning rate (default: the train section's, else 0.001)")


def choice(choices, what):
    """An argparse type: one of `choices`, with a did-you-mean."""
    from ..errors import did_you_mean

    def parse(text):
        if text not in choices:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {text!r}{did_you_mean(text, choices)} (expected one of: "
                f"{', '.join(choices)})")
        return text
    return parse


def count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of elements; found {text!r}")
    return int(text)


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
                f"expected a number {'>=' if inclusive else '>'} {low:g}; found {text!r}")
        return x
    return parse


def whole_number(low):
    """An argparse type: a whole number >= low."""
    def parse(text):
        try:
            n = int(text)
        except ValueError:
            n = low - 1
        if n < low:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low}; found {text!r}")
        return n
    return parse


_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([KMGT]?i?B?|bytes)?\s*\Z", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "BYTES": 1, "K": 1000, "KB": 1000, "KIB": 1024, "M": 10**6, "MB": 10**6,
          "MIB": 2**20, "G": 10**9, "GB": 10**9, "GIB": 2**30, "T": 10**12, "TB": 10**12,
          "TIB": 2**40}


def parse_size(text: str) -> int:
    """'2GiB', '500MB', '1000000' -> bytes (an argparse type)."""
    match = _SIZE.match(text)
    unit = (match.group(2) or "").upper() if match else None
    if not match or unit not in _UNITS:
        raise argparse.ArgumentTypeError(f"expected a size such as 2GiB, 500MB or 1000000; "
                                         f"found {text!r}")
    return int(float(match.group(1)) * _UNITS[unit])


def graph_files(paths, libraries: bool = False) -> list:
    """The graph files named: files as given; a folder's *.yaml/*.yml files, sorted, without
    results files (so `-o` into the same folder is never read back as a graph) and, unless
    `libraries`, without libraries of blocks (files with blocks and no nodes: graphs include
    them, docs/format.md)."""
    from ..frontend.blocks import is_library_file

    files = []
    for path in paths:
        if not os.path.isdir(path):
            files.append(path)
            continue
        found = sorted(os.path.normpath(os.path.join(path, f)) for f in os.listdir(path)
                       if f.endswith(GRAPH_EXTENSIONS) and not is_results_file(f)
                       and os.path.isfile(os.path.join(path, f)))
        if not libraries:
            found = [f for f in found if not is_library_file(f)]
        if not found:
            raise UsageError(f"no graph files (*.yaml, *.yml) in the folder {path}")
        files += found
    return files


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
