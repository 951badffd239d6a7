"""cli: the only place that prints. `main(argv, stdout, stderr) -> exit code`.

Exit codes follow diff: 0 ok, 1 differences found, 2 trouble (invalid graph, numeric failure, bad
usage), 3 internal error. Each command lives in graphrun/cli/commands/<name>.py with
`add_arguments(parser)` and `execute(args, out, err) -> int`, a thin adapter over the API
(graphrun/api.py); this module dispatches and prints problems as FILE:LINE:COL lines.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
import warnings
from typing import Optional, Sequence, TextIO

from ..errors import GraphError
from .args import UsageError
from ..frontend.load import gc_paused

EXIT_OK, EXIT_DIFFERENT, EXIT_TROUBLE, EXIT_INTERNAL = 0, 1, 2, 3

# command name -> module in graphrun.cli.commands; `graphrun GRAPH` means `graphrun run GRAPH`
COMMANDS = {
    "run": "run",
    "check": "check",
    "diff": "diff",
    "validate": "validate",
    "schema": "schema",
    "explain": "explain",
    "gradcheck": "gradcheck",
    "draw": "draw",
    "train": "train",
    "view": "view",
    "expand": "expand",
}
DEFAULT_COMMAND = "run"


class _Exit(Exception):
    def __init__(self, status):
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse that writes to our streams and raises instead of calling sys.exit."""

    def __init__(self, *args, out=None, err=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._out, self._err = out, err

    def _print_message(self, message, file=None):
        if message:
            (self._err if file is sys.stderr else self._out).write(message)

    def exit(self, status=0, message=None):
        if message:
            self._err.write(message)
        raise _Exit(status)

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser(out: TextIO, err: TextIO) -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(prog="graphrun", out=out, err=err,
                     description="Run a computation graph written in YAML forward and backward.")
    parser.add_argument("--version", action="version", version=f"graphrun {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                parser_class=lambda **kw: _Parser(out=out, err=err, **kw))
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"graphrun.cli.commands.{module_name}")
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.add_argument("--debug", action="store_true",
                             help="show the Python traceback of an internal error")
        command.set_defaults(execute=module.execute)
    return parser


def main(argv: Optional[Sequence[str]] = None, stdout: Optional[TextIO] = None,
         stderr: Optional[TextIO] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, DEFAULT_COMMAND)
    debug = "--debug" in argv
    try:
        parser = build_parser(out, err)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_usage(err)
            err.write("graphrun: error: name a graph file or a command (see 'graphrun --help')\n")
            return EXIT_TROUBLE
        with warnings.catch_warnings(), gc_paused():
            warnings.simplefilter("ignore")  # numpy's RuntimeWarnings never reach the terminal
            return args.execute(args, out, err)
    except _Exit as e:
        return e.status
    except UsageError as e:
        err.write(f"graphrun: error: {e}\n")
        return EXIT_TROUBLE
    except GraphError as e:
        report(e, err)
        return EXIT_TROUBLE
    except KeyboardInterrupt as e:  # SIGINT: 130; SIGTERM (results.files.Terminated): 143
        err.write("graphrun: interrupted\n")
        return getattr(e, "exit_code", 130)
    except Exception as e:  # a bug in graphrun, not the user's mistake
        if debug:
            traceback.print_exc(file=err)
        one_line = " ".join(str(e).split())
        err.write(f"graphrun: internal error: {type(e).__name__}: {one_line}\n"
                  "This is a bug in graphrun; please report it with the graph file"
                  + ("" if debug else " and the output of the same command with --debug") + ".\n")
        return EXIT_INTERNAL


# the words for each fix a problem names (errors.FIX_WORDS has a Python caller's)
FIX_WORDS = {
    "allow_nonfinite": "; use --allow-nonfinite to write it anyway",
    "memory_budget": " (raise the budget with --memory-budget, or shrink the largest tensors)",
    "learning_rate": "; try a smaller learning rate (--lr, or lr: in the train section)",
}


def report(error: GraphError, err: TextIO) -> None:
    """Print every problem as FILE:LINE:COL: error: message (and its notes) on `err`."""
    for row in error.located():
        err.write(row.text(FIX_WORDS) + "\n")


def warn(graph, err: TextIO) -> None:
    """Print a compiled graph's warnings as FILE:LINE:COL: warning: message on `err`; they never
    change the exit status."""
    if graph.program.warnings:
        report(GraphError(graph.program.warnings), err)


def run_module() -> None:
    """Entry point of `python -m graphrun` and the `graphrun` console script."""
    from ..results.files import sigterm_as_interrupt

    with sigterm_as_interrupt():  # SIGTERM cleans up like SIGINT, wherever it arrives
        status = main()
    sys.exit(status)
