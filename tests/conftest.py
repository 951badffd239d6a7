import os

import pytest

import graphrun

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def compile_text(text: str, filename: str = "test.yaml"):
    """Compile a graph written inline in a test (graphrun.compile_text)."""
    return graphrun.compile_text(text, filename)


def run_text(text: str, filename: str = "test.yaml"):
    return graphrun.run(compile_text(text, filename))


@pytest.fixture
def root():
    return ROOT
