"""api: the one public API. The CLI, the pytest plugin, the benchmarks and the tests all call it.

    graph = graphrun.compile("graphs/simple.yaml")      # load and check: raises GraphError
    results = graphrun.run(graph)                        # forward, and backward with a loss
    results.loss, results.values["u"], results.grads["w"]
    results = graphrun.run(graph, params={"w": 2.6})     # new leaf values, by name

See the README's "Python API" for the rest (check, explain, gradcheck, draw, write).
"""

from __future__ import annotations

import contextlib
import os
from typing import Mapping, Optional

import numpy as np

from .errors import GraphError, Problem, did_you_mean
from .frontend import compiler
from .frontend.graph import Program
from .ops import shape_str
from .engine import executor
from .engine.values import Results


class Graph:
    """A compiled graph: checked, in program order, ready to run. Made by `compile` or
    `compile_text`; holds the program, its run plan (made on first run) and its leaves' values
    (made on first run: a graph that is only validated allocates nothing)."""

    def __init__(self, program: Program):
        self.program = program
        self._plan: Optional[executor.Plan] = None
        self._leaves: Optional[list] = None
        self._floats: Optional[list] = None  # the leaves as Python floats (leaf_floats)
        self._train_plans: dict = {}  # training's plans, by batch size (engine/train)

    @property
    def name(self) -> str:
        return self.program.name

    @property
    def description(self) -> str:
        return self.program.description

    @property
    def source(self):
        return self.program.source

    @property
    def file(self) -> str:
        return self.program.source.file

    def _names(self, kind):
        return tuple(n for n, k in zip(self.program.names, self.program.kinds) if k == kind)

    @property
    def params(self) -> tuple:
        """The params' names, in file order."""
        return self._names("param")

    @property
    def inputs(self) -> tuple:
        """The inputs' names, in file order."""
        return self._names("input")

    @property
    def nodes(self) -> tuple:
        """The nodes' names, in program order."""
        return self._names("node")

    @property
    def loss(self) -> Optional[str]:
        """The loss node's name, or None."""
        p = self.program
        return None if p.loss is None else p.names[p.loss]

    def shape(self, name: str) -> tuple:
        return self.program.types[self.program.slot(name)].shape

    def dtype(self, name: str) -> np.dtype:
        return self.program.types[self.program.slot(name)].dtype

    @property
    def plan(self) -> executor.Plan:
        """The run plan, compiled on first use."""
        if self._plan is None:
            self._plan = executor.compile_plan(self.program)
        return self._plan

    def leaf_values(self) -> list:
        """Every leaf's array by slot (read-only): generated or read on first use, then kept, so
        every run reads the same values. Values read from .npy files are checked to be finite."""
        if self._leaves is None:
            p = self.program
            leaves = []
            for leaf in p.leaves:
                array = leaf.materialize(p.source)
                array.flags.writeable = False
                leaves.append(array)
            executor.check_leaves(p, leaves, [i for i, leaf in enumerate(p.leaves)
                                              if leaf.file is not None])
            self._leaves = leaves
        return self._leaves

    def leaf_floats(self) -> Optional[list]:
        """Every leaf as a Python float by slot, for a graph the Python-float path runs (None for
        any other): what that path reads, without the array per leaf leaf_values makes (a 0-d
        array is 100 bytes: 66 MiB at a million nodes). Values written in the file are taken as
        they are; generated or read ones from leaf_values, as every run reads them."""
        if self._floats is None and self.plan.scalar is not None:
            floats = [leaf.literal for leaf in self.program.leaves] if self._leaves is None \
                else None
            if floats is None or any(type(x) is not float for x in floats):
                floats = [float(x) for x in self.leaf_values()]
            self._floats = floats
        return self._floats

    def param_values(self) -> dict:
        """name -> a copy of each param's value, to change and pass back to `run`."""
        p = self.program
        leaves = self.leaf_values()
        return {p.names[s]: leaves[s].copy() for s in p.params}

    def with_values(self, params: Optional[Mapping] = None,
                    inputs: Optional[Mapping] = None) -> list:
        """The leaves by slot with some replaced by name, each checked for its name, kind,
        shape and dtype (ValueError naming what was expected)."""
        leaves = self.leaf_values()
        if not params and not inputs:
            return leaves
        leaves = list(leaves)
        p = self.program
        for kind, given in (("param", params), ("input", inputs)):
            for name, value in (given or {}).items():
                slot = p.slots.get(name)
                if slot is None or p.kinds[slot] != kind:
                    raise ValueError(_not_a_leaf(p, name, kind))
                leaves[slot] = _checked(p, slot, value, f"{kind}s[{name!r}]")
        return leaves

    def with_params(self, params: Mapping) -> "Graph":
        """The same graph with these param values (by name, checked as `run` checks them): for
        the tools, which run a graph's own values (`explain`, `draw` with `--params TRAINED`)."""
        other = Graph(self.program)
        other._plan, other._train_plans = self.plan, self._train_plans
        other._leaves = self.with_values(params)
        return other

    def __repr__(self) -> str:
        return (f"<Graph {self.name!r} from {self.file}: {len(self.params)} params, "
                f"{len(self.nodes)} nodes, loss {self.loss!r}>")

    def _repr_html_(self) -> str:
        """A notebook shows every value's kind, op, shape and dtype (tools/view)."""
        from .tools.view import graph_html
        return graph_html(self.program)


def _not_a_leaf(p: Program, name, kind) -> str:
    wanted = [n for n, k in zip(p.names, p.kinds) if k == kind]
    known = f" ({kind}s: {', '.join(wanted) if wanted else 'none'})"
    if name in p.slots:
        other = p.kinds[p.slots[name]]
        return f"'{name}' is {'an' if other == 'input' else 'a'} {other}, not {'an' if kind == 'input' else 'a'} {kind}" + known
    return f"no {kind} named {name!r}{did_you_mean(name, wanted)}{known}"


def _checked(p: Program, slot, value, what) -> np.ndarray:
    t = p.types[slot]
    if isinstance(value, (np.ndarray, np.generic)):  # numpy's own: its dtype is meant
        if value.dtype != t.dtype:
            raise ValueError(f"{what}: expected {t.dtype}; found {value.dtype} (cast it with "
                             f".astype(np.{t.dtype}))")
        array = np.asarray(value)
    else:
        try:
            raw = np.asarray(value)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{what}: expected a number or a rectangular nested list; {e}") \
                from None
        allowed = "iuf" if t.dtype.kind == "f" else "iu"  # never cut off fractions silently
        if raw.dtype.kind not in allowed:
            raise ValueError(f"{what}: expected {t.dtype} numbers; found {raw.dtype} data")
        array = raw.astype(t.dtype)
    if array.shape != t.shape:
        raise ValueError(f"{what}: expected shape {shape_str(t.shape)}; found shape "
                         f"{shape_str(array.shape)}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{what}: holds a value that is not finite")
    return array


def compile(path, *, memory_budget: Optional[int] = None,
            timings: Optional[dict] = None, outputs=None, allow_outside: bool = False) -> Graph:
    """Load and check a graph file. Raises GraphError listing every problem, each located in the
    file (`str(error)` shows `FILE:LINE:COL: error: ...` lines). `outputs` overrides the file's
    `outputs:` section key by key (text as `--outputs` takes it, or a mapping). The files the
    graph names (`file:`, `include:`) must lie in its folder tree, unless `allow_outside`."""
    return Graph(compiler.compile_file(os.fspath(path), memory_budget=memory_budget,
                                       timings=timings, outputs=_outputs(outputs),
                                       allow_outside=allow_outside))


def compile_text(text, name: str = "<string>", *, memory_budget: Optional[int] = None,
                 timings: Optional[dict] = None, outputs=None,
                 allow_outside: bool = False) -> Graph:
    """Compile a graph written in a string (or bytes, as read from a file or stdin). `name` is
    what messages call it; `file:` paths are looked up relative to its folder (the current
    folder for a bare name), and stay in that folder's tree unless `allow_outside`."""
    raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    return Graph(compiler.compile_bytes(raw, name, memory_budget=memory_budget,
                                        timings=timings, outputs=_outputs(outputs),
                                        allow_outside=allow_outside))


def _outputs(outputs):
    """`outputs=` as compile takes it -> an OutputsSpec (or None)."""
    if outputs is None:
        return None
    from .frontend.outputs import OutputsSpec, parse_option
    if isinstance(outputs, OutputsSpec):
        return outputs
    if isinstance(outputs, Mapping):
        import json
        outputs = json.dumps(dict(outputs))  # JSON is YAML: one parser, one set of messages
    return parse_option(outputs)


def _graph(graph) -> Graph:
    return graph if isinstance(graph, Graph) else compile(graph)


def run(graph, *, params: Optional[Mapping] = None, inputs: Optional[Mapping] = None,
        gradients: bool = True, check_finite: bool = True, fast: bool = True,
        timings: Optional[dict] = None) -> Results:
    """Run forward, and backward when the graph has a loss (and `gradients` is left True: False
    runs forward only, and the results have no gradients). `graph` is a Graph (or a path).
    `params` / `inputs` replace leaf values by name for this run. `check_finite=False` lets
    nan/inf through instead of raising NumericError. `fast=False` runs the numpy reference even
    where a faster path would be taken (the results are equal to the last bits the docs promise).
    `timings` receives the seconds of "forward" and "backward"."""
    graph = _graph(graph)
    if params or inputs:
        leaves, floats = graph.with_values(params, inputs), None
    else:  # for the Python-float path, the floats: the arrays made only if the reference runs
        floats = graph.leaf_floats() if fast else None
        leaves = graph.leaf_values if floats is not None else graph.leaf_values()
    with _memory(graph.program):
        values, grads = executor.execute(graph.plan, leaves, gradients=gradients,
                                         check_finite=check_finite, fast=fast, timings=timings,
                                         floats=floats)
    return Results(graph.program, values, grads)


@contextlib.contextmanager
def _memory(program):
    """numpy's MemoryError (a budget set above what the machine has) as a problem in the graph."""
    try:
        yield
    except MemoryError as e:
        raise GraphError([Problem(
            f"not enough memory to run this graph ({e}); the memory budget let it through: "
            "a smaller budget refuses such a graph before it runs", ())],
            program.source) from None


def training_settings(graph, *, optimizer: Optional[str] = None, lr: Optional[float] = None,
                      steps: Optional[int] = None, epochs: Optional[int] = None, resume=None):
    """The settings `train` would use: these arguments over the graph's train section over
    torch.optim's defaults (frontend/train.Settings); with `resume` (a training results file,
    or TrainingResults), over the settings of the run it records (see train). Raises ValueError
    for a setting that is out of range or missing everywhere (how many steps), GraphError at the
    file's line for one that a resumed run cannot change."""
    graph = _graph(graph)
    if resume is not None:
        return _resumed(graph, resume, optimizer, lr, steps, epochs)[0]
    from .frontend.train import resolve
    return resolve(graph.program, optimizer=optimizer, lr=lr, steps=steps, epochs=epochs)


def _resumed(graph, resume, optimizer, lr, steps, epochs):
    """(settings, params, optimizer state) of a run that resumes `resume`."""
    from .engine.optim import state_keys
    from .frontend.train import resumed
    from .results.training import read_checkpoint

    point = read_checkpoint(os.fspath(resume) if isinstance(resume, (str, os.PathLike))
                            else resume, graph.program)
    settings = resumed(graph.program, point.train, point.source, start=point.steps_taken,
                       last_lr=point.last_lr, optimizer=optimizer, lr=lr, steps=steps,
                       epochs=epochs)
    return settings, point.params, point.state_for(state_keys(settings), graph.program)


def train(graph, *, params: Optional[Mapping] = None, optimizer: Optional[str] = None,
          lr: Optional[float] = None, steps: Optional[int] = None, epochs: Optional[int] = None,
          settings=None, fast: bool = True, progress=None, resume=None):
    """Gradient descent on the graph's params, step for step as torch.optim (engine/train):
    the graph's train section, with `optimizer`, `lr`, `steps`, `epochs` over it (or `settings`
    from training_settings). `params` starts from other values, by name (a dict, or
    trained_params(path, graph): the optimizer, the schedule and the batches start afresh).
    `resume` (a training results file's path, or TrainingResults) goes on from the run it
    records: its params, its optimizer's state, its step (the history counts on: step101, ...),
    its schedule and its batches, with its settings (the arguments and the graph's section may
    restate them but not change them; `steps`/`epochs` say how many more, by default as many as
    that run took): k steps resumed for k more give 2k steps' params, bit for bit. Returns
    TrainingResults (`.history`, `.params`, `.state`, `.text()`, `.write(path)`). A loss or
    gradient that is not finite raises NumericError at the node that made it, with the step and
    the learning rate. `fast=False` runs the numpy reference where graphrun would run a scalar
    graph on Python floats. `progress(p)` is called about every 0.1 s with p.step (counted in
    this run), p.steps, p.loss, p.seconds."""
    import time

    from .engine import train as engine

    graph = _graph(graph)
    state = None
    if resume is not None:
        if params is not None:
            raise ValueError("give params or resume, not both: resume goes on from the file's "
                             "params and optimizer state; params starts afresh from params alone")
        if settings is not None:  # training_settings(graph, resume=...)'s: its steps, its rest
            optimizer, lr = settings.optimizer, settings.lr
            steps, epochs = (None, settings.epochs) if settings.epochs else (settings.steps, None)
        resumed_settings, params, state = _resumed(graph, resume, optimizer, lr, steps, epochs)
        if settings is not None and settings != resumed_settings:
            raise ValueError("settings differ from those resuming this file gives: take them "
                             "from training_settings(graph, resume=...)")
        settings = resumed_settings
    elif settings is None:
        settings = training_settings(graph, optimizer=optimizer, lr=lr, steps=steps,
                                     epochs=epochs)
    leaves = graph.with_values(params)
    plans = graph._train_plans
    plans.setdefault(None, graph.plan)
    start = time.perf_counter()
    with _memory(graph.program):
        run_ = engine.run(graph.program, leaves, settings, plans, fast=fast, progress=progress,
                          state=state)
    return engine.TrainingResults(graph.program, settings, run_, time.perf_counter() - start)


def trained_params(path, graph) -> dict:
    """The params of a training results file, by name, checked against the graph (its params,
    their shapes and dtypes): GraphError located in that file otherwise."""
    from .results.training import trained_params as read
    return read(os.fspath(path), _graph(graph).program)


def check_training(graph, golden, **options):
    """Train a graph file and compare its training results (history and params) with a golden
    training results file (results/training; options: rtol, atol, update, sidecar_threshold,
    memory_budget, params: a training results file to start from)."""
    from .results.training import check_training as tool
    return tool(os.fspath(graph), os.fspath(golden), **options)


def explain_training(graph, *, optimizer: Optional[str] = None, lr: Optional[float] = None):
    """The first update of training written out the way the lesson writes it
    (tools/explain_train): `w ← w − lr · ∂L/∂w = 3 − 0.01 · 40 = 2.6`."""
    from .tools import explain_train as tool
    return tool.explain_training(_graph(graph), optimizer=optimizer, lr=lr)


def plot_training(training, path) -> None:
    """Draw the loss (and the reported nodes) of TrainingResults to `path` (.png, .svg, .pdf)
    with matplotlib, the optional extra `pip install 'graphrun[plot]'` (tools/plot)."""
    from .tools import plot as tool
    tool.plot(training, os.fspath(path))


def explain(graph, *, param: Optional[str] = None, max_paths: Optional[int] = None,
            check_finite: bool = True):
    """The backward pass written out the way the chain rule is written by hand (tools/explain).
    `check_finite=False` explains a run that produces nan or inf instead of raising."""
    from .tools import explain as tool
    return tool.explain(_graph(graph), param=param,
                        max_paths=tool.DEFAULT_MAX_PATHS if max_paths is None else max_paths,
                        check_finite=check_finite)


def gradcheck(graph, **options):
    """Every param's gradient against central finite differences (tools/gradcheck; options:
    eps, rtol, atol, max_elements, seed)."""
    from .tools import gradcheck as tool
    return tool.gradcheck(_graph(graph), **options)


def draw(graph_or_results, format: str = "mermaid", *, check_finite: bool = True):
    """A drawing of the graph with its values and gradients (tools/draw): a Drawing whose
    `.text` is Mermaid, DOT or SVG (rendered by Graphviz), and `.warnings` (Mermaid's limits).
    Takes Results, a Graph (run here, with `check_finite`) or a path."""
    from .tools import draw as tool
    results = graph_or_results if isinstance(graph_or_results, Results) else \
        run(_graph(graph_or_results), check_finite=check_finite)
    return tool.draw(results, format)


def view(graph_or_results, *, params: Optional[Mapping] = None, history=None,
         max_paths: Optional[int] = None, check_finite: bool = True):
    """A page to step through (tools/view): the graph, each node's value and gradient, the
    forward pass and then the backward pass one step at a time with explain's lines, and each
    param's paths to the loss. Takes a Graph (run here, with `params` by name if given), a path,
    Results (the page shows that run: its leaf values), or a training run (its trained params and
    its loss curve). `history` adds a loss curve: a training run's history records, or a training
    results file read with read_results. `check_finite=False` shows a run that produces nan or
    inf instead of raising. Returns a Page: `.html`, `.write(path)`; a notebook displays it."""
    from .tools import explain as explain_tool, view as tool
    cap = explain_tool.DEFAULT_MAX_PATHS if max_paths is None else max_paths
    source = graph_or_results
    if isinstance(source, Results) or _is_training(source):
        graph = Graph(source.program)
        if isinstance(source, Results):
            program = source.program
            leaves = [np.asarray(v, t.dtype) for v, t in
                      zip(source.slot_values[:len(program.leaves)], program.types)]
        else:  # a training run: the graph at its trained params, and its history
            leaves = graph.with_values(source.params)
            history = source.history if history is None else history
    else:
        graph = _graph(source)
        leaves = graph.with_values(params)
    rows = None if history is None else tool.history_rows(history)
    return tool.view(graph, leaves=leaves, max_paths=cap, history=rows or None,
                     check_finite=check_finite)


def _is_training(obj) -> bool:
    """A training run (engine/train's TrainingResults): its program, history and trained params."""
    return all(hasattr(obj, name) for name in ("program", "history", "params"))


def expand(path) -> str:
    """The graph file at `path` in the fully explicit form, as text: one `{op, args}` node per
    operation, named as its results name them, no expressions, blocks or includes (`file:`
    paths stay relative to the graph's folder). Running it gives byte-identical results."""
    from .frontend.explicit import explicit_text
    from .frontend.load import load_file
    graph = compile(path)
    return explicit_text(load_file(os.fspath(path)).data, graph.program)


def check(graph, golden, **options):
    """Run a graph file and compare its results with a golden results file (results/golden;
    options: rtol, atol, update, sidecar_threshold, memory_budget, check_finite, outputs)."""
    from .results import golden as tool
    return tool.check_graph(os.fspath(graph), os.fspath(golden), **options)


def read_results(path):
    """A results file and its sidecars, read back as named entries (results/reader)."""
    from .results.reader import read_results as read
    return read(os.fspath(path))


def diff(expected, got, *, rtol: Optional[float] = None, atol: Optional[float] = None):
    """The differences between two results files (paths or read results), as `graphrun diff`
    finds them: a list, empty when they match."""
    from .results.compare import Tolerance, compare
    sides = [read_results(x) if isinstance(x, (str, os.PathLike)) else x for x in (expected, got)]
    return compare(*sides, Tolerance(rtol, atol), sides[0].file or "the expected results",
                   sides[1].file or "the results")


__all__ = ["Graph", "Results", "GraphError", "compile", "compile_text", "run", "explain",
           "gradcheck", "draw", "view", "check", "read_results", "diff", "train",
           "training_settings", "trained_params", "check_training", "explain_training",
           "plot_training", "expand"]
