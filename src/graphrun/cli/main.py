"""cli: the only place that prints. `main(argv, stdout, stderr) -> exit code`.

Exit codes follow diff: 0 ok, 1 differences found, 2 trouble (invalid graph, numeric failure, bad
usage), 3 internal error. Each command lives in graphrun/cli/commands/<name>.py with
`add_arguments(parser)` and `execute(args, out, err) -> int`, a thin adapter over the API
(graphrun/api.py); this module dispatches and prints problems as FILE:LINE:COL lines.

`graphrun GRAPH` is `graphrun run GRAPH` when GRAPH exists (or is `-`, or looks like a graph file:
a name ending in .yaml/.yml, or a path); a word close to a command (`valdate`) is a mistyped
command, an error with a did-you-mean that runs nothing. Every command takes `-q/--quiet` (only
what failed is printed), `--color auto|always|never` and `--debug`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms of `--version`)
if TYPE_CHECKING:
    from typing import Optional, Sequence, TextIO

from .args import GRAPH_EXTENSIONS, STDIN, UsageError
from .streams import EXIT_BROKEN_PIPE, StreamError, guard

# Nothing heavy is imported here or in cli/args.py: `--version`, `--help` and a usage error answer
# in the interpreter's start-up time. Only the command named is imported (graphrun.cli.commands.
# <name>), and a command imports the API (numpy, the front end) once its arguments are parsed;
# tests/test_cli_imports.py checks which modules each kind of invocation loads.

EXIT_OK, EXIT_DIFFERENT, EXIT_TROUBLE, EXIT_INTERNAL = 0, 1, 2, 3

# command name -> its one-line help; each is the module graphrun.cli.commands.<name>.
# `graphrun GRAPH` means `graphrun run GRAPH`
COMMANDS = {
    "run": "run graphs forward and backward and write their values and gradients as YAML",
    "check": "run graphs and compare their results with golden results files (exit 1 on a "
             "difference)",
    "diff": "compare two results files with a tolerance (exit 1 on a difference)",
    "validate": "check graph files without running them (exit 2 when one is invalid)",
    "schema": "print the JSON Schema (draft-07) of graph files",
    "explain": "explain the backward pass step by step (the chain rule, node by node)",
    "gradcheck": "check every param's gradient against central finite differences (in float64)",
    "draw": "draw the graph with its values and gradients, as Mermaid (default), DOT or SVG",
    "train": "train the graph's params by gradient descent (SGD, Adam, AdamW as torch.optim)",
    "view": "write a page to step through the forward and backward passes (one HTML file, no "
            "network)",
    "expand": "print the graph in the fully explicit form: one {op, args} node per operation",
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

    def _get_formatter(self):
        # argparse's own width, without its `import shutil` (and bz2, lzma, zlib: 2 ms of every
        # run): argparse makes a formatter for every argument added, not only for --help
        return self.formatter_class(prog=self.prog, width=_terminal_columns() - 2)


def _terminal_columns() -> int:
    """shutil.get_terminal_size().columns: $COLUMNS, else the width of the terminal on stdout,
    else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def build_parser(out: TextIO, err: TextIO, only: Optional[str] = None) -> argparse.ArgumentParser:
    """graphrun's parser: with `only` a command's name, that command and its arguments; with
    `only` "", every command listed (for --help and a bad first word) without their arguments;
    with None, every command and its arguments (importing every command's module)."""
    from .. import __version__

    parser = _Parser(prog="graphrun", out=out, err=err,
                     description="Run a computation graph written in YAML forward and backward.")
    parser.add_argument("--version", action="version", version=f"graphrun {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                parser_class=lambda **kw: _Parser(out=out, err=err, **kw))
    for name, help_text in COMMANDS.items():
        if only and name != only:
            continue  # a command is named: the others are not needed to parse its arguments
        command = sub.add_parser(name, help=help_text, description=help_text)
        if only is not None and name != only:
            continue  # listed in graphrun --help; its arguments are not needed to parse these
        module = importlib.import_module(f"graphrun.cli.commands.{name}")
        module.add_arguments(command)
        if "--quiet" not in command._option_string_actions:  # unless the command has its own
            command.add_argument("-q", "--quiet", action="store_true",
                                 help="print only what failed (no ok lines, no summary)")
        if "--color" not in command._option_string_actions:
            command.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                                 help="colour the text output: auto (default: on a terminal, or "
                                      "with FORCE_COLOR; never with NO_COLOR), always, never")
        command.add_argument("--debug", action="store_true",
                             help="show the Python traceback of an internal error")
        command.set_defaults(execute=module.execute, command_name=name)
    return parser


def _command_or_graph(word: str) -> Optional[str]:
    """For a first argument that is no command: None to run it as a graph, or why it is taken
    for a mistyped command."""
    import os

    if word == STDIN or os.path.exists(word):
        return None
    from ..hints import did_you_mean
    hint = did_you_mean(word, COMMANDS)
    if hint:
        return f"unknown command '{word}'{hint}"
    if word.endswith(GRAPH_EXTENSIONS) or os.sep in word or "/" in word or "." in word:
        return None  # a graph file that is not there: `run` says so, at FILE:1:1
    return (f"unknown command '{word}' (commands: {', '.join(COMMANDS)}); to run a graph file, "
            "name the file")


def main(argv: Optional[Sequence[str]] = None, stdout: Optional[TextIO] = None,
         stderr: Optional[TextIO] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    out, err = guard(out, err)  # a closed, full or broken stream is no internal error
    debug = "--debug" in argv
    try:
        if argv and argv[0] not in COMMANDS and (argv[0] == STDIN or not argv[0].startswith("-")):
            mistyped = _command_or_graph(argv[0])
            if mistyped:
                raise UsageError(f"{mistyped} (see 'graphrun --help')")
            argv.insert(0, DEFAULT_COMMAND)
        parser = build_parser(out, err, only=argv[0] if argv and argv[0] in COMMANDS else "")
        args, extra = parser.parse_known_args(argv)
        if extra:  # named by the subcommand's help, not graphrun's
            where = f"graphrun {args.command_name}" if args.command else "graphrun"
            raise UsageError(f"unrecognized arguments: {' '.join(extra)} "
                             f"(see '{where} --help')")
        if args.command is None:
            parser.print_usage(err)
            err.write("graphrun: error: name a graph file or a command (see 'graphrun --help')\n")
            return EXIT_TROUBLE
        import warnings
        from ..frontend.gcpause import gc_paused
        from ..hints import hint_budget
        with warnings.catch_warnings(), gc_paused(), hint_budget():
            warnings.simplefilter("ignore")  # numpy's RuntimeWarnings never reach the terminal
            return args.execute(args, out, err)
    except _Exit as e:
        return e.status
    except UsageError as e:
        err.write(f"graphrun: error: {_shown(str(e))}\n")  # it may quote a file name
        return EXIT_TROUBLE
    except StreamError as e:
        return _stream_failed(e, err)
    except KeyboardInterrupt as e:  # SIGINT: 130; SIGTERM (results.files.Terminated): 143
        err.write("graphrun: interrupted\n")
        return getattr(e, "exit_code", 130)
    except Exception as e:
        from ..errors import GraphError  # not imported before: none can have been raised
        if isinstance(e, GraphError):
            report(e, err)
            return EXIT_TROUBLE
        # a bug in graphrun, not the user's mistake
        if debug:
            import traceback
            traceback.print_exc(file=err)
        one_line = _shown(" ".join(str(e).split()))
        err.write(f"graphrun: internal error: {type(e).__name__}: {one_line}\n"
                  "This is a bug in graphrun; please report it with the graph file"
                  + ("" if debug else " and the output of the same command with --debug") + ".\n")
        return EXIT_INTERNAL


def _shown(text: str) -> str:
    from ..escaping import shown
    return shown(text)


def cannot(err: TextIO, doing: str, path, error: OSError) -> None:
    """Say on `err`, on one line, that `doing` (write, create) `path` failed: the path and the
    system's reason shown escaped (a reason graphrun wrote itself may name a file)."""
    reason = getattr(error, "strerror", None) or error
    err.write(f"graphrun: error: cannot {doing} {_shown(str(path))}: {_shown(str(reason))}\n")


def _stream_failed(e: StreamError, err) -> int:
    """A broken pipe ends quietly, as a program killed by SIGPIPE does; any other failure to
    write standard output (closed, full) is trouble, said on standard error."""
    if e.broken_pipe:
        return EXIT_BROKEN_PIPE
    err.write(f"graphrun: error: {_shown(str(e))}\n")
    return EXIT_TROUBLE


# the words for each fix a problem names (errors.FIX_WORDS has a Python caller's)
FIX_WORDS = {
    "allow_nonfinite": "; use --allow-nonfinite to write it anyway",
    "memory_budget": " (raise the budget with --memory-budget, or shrink the largest tensors)",
    "allow_outside": "; use --allow-outside to read it anyway",
    "learning_rate": "; try a smaller learning rate (--lr, or lr: in the train section)",
}


def report(error: "GraphError", err: TextIO) -> None:
    """Print every problem as FILE:LINE:COL: error: message (and its notes) on `err`: the first
    errors.MAX_PROBLEMS found (the number at which the checks stop), and then a line saying how
    many more there are."""
    from ..errors import MAX_PROBLEMS as MAX_SHOWN  # imported with the error; not at start-up

    for row in error.located(MAX_SHOWN):
        err.write(row.text(FIX_WORDS) + "\n")
    more = len(error.problems) - MAX_SHOWN
    if more > 0:
        err.write(f"graphrun: note: {more} more problem{'s' if more > 1 else ''} not shown "
                  f"(the first {MAX_SHOWN} are above)\n")


def warn(graph, err: TextIO) -> None:
    """Print a compiled graph's warnings as FILE:LINE:COL: warning: message on `err`; they never
    change the exit status."""
    if graph.program.warnings:
        from ..errors import GraphError
        report(GraphError(graph.program.warnings), err)


def run_module() -> None:
    """Entry point of `python -m graphrun` and the `graphrun` console script."""
    from ..frontend.gcpause import skip_final_collections
    from ..results.files import sigterm_as_interrupt
    from . import streams

    streams.install()
    with sigterm_as_interrupt():  # SIGTERM and SIGHUP clean up like SIGINT, wherever they arrive
        status = main()
    status = streams.finish(status)
    skip_final_collections()  # the process ends here
    sys.exit(status)
