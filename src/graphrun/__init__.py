"""graphrun: declare a computation graph in YAML, run it forward and backward, keep its values and
gradients honest in CI.

The public API is the pipeline as two calls:

    program = graphrun.compile("graphs/simple.yaml")   # load, schema, spec, graph: checks everything
    results = graphrun.run(program)                     # forward, and backward when there is a loss
    print(graphrun.results_text(results))

Problems in a graph file raise GraphError; each Problem carries a document path that
`program_source(...)`/the CLI turn into FILE:LINE:COL.
"""

from .errors import GraphError, NumericError, Problem
from .run.executor import Results, backward, forward
from .run.executor import run as _run
from .frontend.compiler import Compiled, compile, compile_document
from .results.writer import results_text

__version__ = "0.1.0"


def run(program, *, check_finite: bool = True) -> Results:
    """Run a compiled program (or a Compiled from `compile`): forward, then backward if it has a loss."""
    return _run(getattr(program, "program", program), check_finite=check_finite)


__all__ = ["compile", "compile_document", "run", "forward", "backward", "results_text",
           "Compiled", "Results", "GraphError", "NumericError", "Problem", "__version__"]
