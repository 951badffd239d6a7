"""graphrun train GRAPH: gradient descent on the graph's params, step for step as torch.optim.

The graph's `train:` section says how (docs/format.md); --optimizer, --lr, --steps and --epochs
override it (a graph without one trains with plain SGD). The training results file (the settings
used, the history, the trained params) goes to stdout, or to `-o FILE` (`-o DIR`:
DIR/<stem>.train.results.yaml), atomically, big params as .npy sidecars. --resume TRAINED goes
on from the run a training results file records (its settings, params, optimizer state, step);
--params TRAINED takes its params alone and starts the rest afresh. On a terminal a progress
line is drawn on stderr (none with --quiet or when stderr is not a terminal), and a closing summary
follows (not with --quiet). A loss or gradient that stops being finite ends the run with exit 2 at
the node that produced it, the step and the learning rate; nothing is written then.
"""

from __future__ import annotations

import os

from ...results.files import clash, files_read, results_outputs
from ..args import (UsageError, add_budget_argument, add_optimizer_arguments,
                    add_outside_argument, add_params_argument, add_sidecar_argument,
                    check_outputs, graph_options, whole_number)
from ..main import EXIT_OK, EXIT_TROUBLE, cannot
from ...escaping import shown

# The API and the tools (numpy) are imported where they are used, once the arguments are parsed:
# `graphrun COMMAND --help` and a usage error answer in the interpreter's start-up time.


def add_arguments(parser):
    parser.add_argument("graph", metavar="GRAPH", help="a graph file (.yaml) with a loss")
    parser.add_argument("-o", "--output", metavar="FILE|DIR",
                        help="write the training results to FILE (atomically) instead of stdout; "
                             "a folder DIR gets <stem>.train.results.yaml")
    parser.add_argument("--steps", type=whole_number(1), metavar="N",
                        help="how many updates (default: the train section's)")
    parser.add_argument("--epochs", type=whole_number(1), metavar="N",
                        help="how many passes over the data, instead of --steps")
    add_optimizer_arguments(parser)
    add_params_argument(parser)
    parser.add_argument("--resume", metavar="TRAINED",
                        help="go on from a training results file: its params, optimizer state, "
                             "step, schedule and batches, with its settings (--steps: how many "
                             "more; --params instead starts afresh from its params alone)")
    parser.add_argument("--plot", metavar="FILE",
                        help="draw the loss curve (and reported nodes) to FILE: .png, .svg or "
                             "pdf (needs matplotlib: pip install 'graphrun[plot]')")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress line and no closing summary on stderr")
    add_budget_argument(parser)
    add_outside_argument(parser)
    add_sidecar_argument(parser)


def execute(args, out, err) -> int:
    from ... import api
    from ...results.training import training_name
    from ...tools.plot import PlotError, check as check_plot
    if args.steps is not None and args.epochs is not None:
        raise UsageError("give --steps or --epochs, not both")
    if args.params is not None and args.resume is not None:
        raise UsageError("give --params or --resume, not both: --resume goes on from the "
                         "file's run, --params starts afresh from its params alone")
    target = args.output
    if target and (os.path.isdir(target) or target.endswith(("/", os.sep))):
        target = os.path.join(target, training_name(args.graph))
    check_outputs(target, args.plot)  # before anything is compiled or trained
    graph = api.compile(args.graph, **graph_options(args))
    outputs = (results_outputs(target) if target else ()) + ((args.plot,) if args.plot else ())
    reads = files_read(graph) + tuple(f for f in (args.params, args.resume) if f is not None)
    problem = outputs and clash(outputs, reads)  # before anything runs (results/files.py)
    if problem:
        raise UsageError(problem)
    try:
        settings = api.training_settings(graph, optimizer=args.optimizer, lr=args.lr,
                                         steps=args.steps, epochs=args.epochs,
                                         resume=args.resume)
    except ValueError as e:
        raise UsageError(f"{args.graph}: {e}") from None
    start = None if args.params is None else api.trained_params(args.params, graph)
    if args.plot:
        try:
            check_plot(args.plot)
        except PlotError as e:
            raise UsageError(str(e)) from None
    show = not args.quiet and _is_terminal(err)
    training = api.train(graph, params=start, settings=settings, resume=args.resume,
                         progress=_Progress(err) if show else None)
    if show:
        err.write("\r\x1b[K")  # the progress line goes; the summary stays
    written = []
    try:
        if target:
            training.write(target, sidecar_threshold=args.sidecar_threshold)
            written.append(target)
        if args.plot:
            api.plot_training(training, args.plot)
            written.append(args.plot)
    except OSError as e:
        cannot(err, "write", str(e.filename or target), e)
        return EXIT_TROUBLE
    if not target:
        out.write(training.text())
    if not args.quiet:
        # one line: the graph's name and the files written shown escaped
        err.write(shown(training.summary() + (f"; wrote {', '.join(written)}" if written
                                              else "")) + "\n")
    return EXIT_OK


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _Progress:
    """The progress line: step/total, the loss, steps per second and the time left."""

    def __init__(self, err):
        self.err = err

    def __call__(self, p) -> None:
        rate = p.step / p.seconds if p.seconds > 0 else 0.0
        left = (p.steps - p.step) / rate if rate else 0.0
        minutes, seconds = divmod(int(left + 0.5), 60)
        self.err.write(f"\r\x1b[Kstep {p.step}/{p.steps}  loss {p.loss:.6g}  {rate:,.0f} steps/s"
                       f"  {minutes}:{seconds:02d} left")
        self.err.flush()
