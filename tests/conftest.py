import os

import pytest

from graphrun import compile_document, run
from graphrun.frontend.load import load_bytes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def compile_text(text: str, filename: str = "test.yaml"):
    """Compile a graph written inline in a test."""
    return compile_document(load_bytes(text.encode("utf-8"), filename))


def run_text(text: str, filename: str = "test.yaml"):
    return run(compile_text(text, filename))


@pytest.fixture
def root():
    return ROOT
