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
