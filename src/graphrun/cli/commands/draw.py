"""graphrun draw GRAPH: the graph as a Mermaid flowchart (default) or Graphviz DOT, with every
node's value and gradient."""

from __future__ import annotations

from ...frontend import compiler as pipeline
from ..main import EXIT_OK, EXIT_TROUBLE, UsageError
from ...tools.draw import FORMATS, draw
from ...run.executor import run as run_program
from ...results.files import clash, files_read, write_text

HELP = "draw the graph with its values and gradients, as Mermaid (default) or DOT text"


def add_arguments(parser):
    parser.add_argument("graph", metavar="GRAPH", help="a graph file (.yaml)")
    parser.add_argument("--format", choices=FORMATS, default="mermaid",
                        help="mermaid (GitHub renders it in Markdown; default) or dot (Graphviz)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the drawing to FILE (atomically) instead of stdout")


def execute(args, out, err) -> int:
    compiled = pipeline.compile(args.graph)
    problem = args.output and clash([args.output], files_read(compiled))
    if problem:
        raise UsageError(problem)
    try:
        results = run_program(compiled.program)
    except Exception as e:
        if hasattr(e, "problems"):
            e.source = compiled.source
        raise
    text = draw(results, args.format)
    if not args.output:
        out.write(text)
        return EXIT_OK
    try:
        write_text(args.output, text)
    except OSError as e:
        err.write(f"graphrun: error: cannot write {args.output}: "
                  f"{getattr(e, 'strerror', None) or e}\n")
        return EXIT_TROUBLE
    return EXIT_OK
