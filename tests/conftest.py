import io
import os

import pytest

import graphrun
from graphrun.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def compile_text(text: str, filename: str = "test.yaml"):
    """Compile a graph written inline in a test (graphrun.compile_text)."""
    return graphrun.compile_text(text, filename)


def run_text(text: str, filename: str = "test.yaml"):
    return graphrun.run(compile_text(text, filename))


def call(*argv):
    """The CLI in this process, as a user runs it: (exit code, stdout, stderr). The one way the
    tests call the command line in-process."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def root():
    return ROOT


def chain_lines(n: int, x: float = 0.3, name=None) -> list:
    """bench/make_graphs.py's chain (x -> mul p -> add p -> tanh -> ...), as the lines of a graph
    file."""
    params, nodes, previous = [], [], "x"
    for i in range(n):
        if i % 3 == 2:
            nodes.append(f"  n{i}: {{op: tanh, args: [{previous}]}}")
        else:
            params.append(f"  p{i}: {0.5 + (i % 7) * 0.1:.1f}")
            nodes.append(f"  n{i}: {{op: {'mul' if i % 3 == 0 else 'add'}, "
                         f"args: [{previous}, p{i}]}}")
        previous = f"n{i}"
    return (["graphrun: 1", *([f"name: {name}"] if name else []), "inputs:", f"  x: {x}",
             "params:", *params, "nodes:", *nodes, f"loss: {previous}"])
