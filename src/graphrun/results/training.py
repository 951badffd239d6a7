"""training: the training results file, written and read back.

    graphrun: 1
    graph: chain-rule
    train: {the settings the run used, flags merged and every default written out}
    history:
      step1: {lr: 0.01, loss: 100.0}
      ...
    params:
      w: 2.6
      b: 3.8
    steps_taken: 3
    exp_avg:             # the optimizer's state, what resuming needs (Adam's; SGD with momentum
      w: 10.8            # has momentum_buffer; SGD without, none)
      ...
    exp_avg_sq:
      ...

`history` has a row per recorded step, `step<N>` (N from 1, on across resumed runs): that step's
learning rate, the loss before its update and each reported node. (A mapping of one-line rows,
not a list: the forms the fast reader, frontend/fastyaml.py, reads.) `params` holds the trained
value of every param in the forms a graph file accepts (a number, a nested list, `{value: ...,
dtype: float32}`, and for a tensor of more than the sidecar threshold, written to a file,
`{file: <file>.arrays/params.<name>.<digest>.npy}`, named by its content as results files'
sidecars are), so the section can be pasted into a graph file, and `--params FILE` reads it.
`steps_taken` (the number of the last step) and the state sections (torch's state_dict names,
each param's entry in the forms of `params`, sidecars `params.<name>.<section>.<digest>.npy`) are
what `train --resume FILE` goes on from, with the last history row's lr (the schedule's next rate
is made from it); the batches need nothing stored, as they are functions of the seed and the
step. The text is deterministic: a rerun writes the
same bytes.

Read back (`read_results`, for `graphrun diff` and `check --train`) a file is named entries:
`graph`, `train.<key>` and `steps_taken` (the text, compared exactly), `history.<step>.<column>`,
`params.<name>` and the optimizer's state, `<section>.<name>`, each with its line. A fresh run's
entries are those of its own text, read back the same way: one definition of what a training
file holds.
"""

from __future__ import annotations

import json
import math
import os
from typing import Dict, NamedTuple, Optional, Tuple

import numpy as np

from .. import lazy_re
from ..errors import GraphError, Problem, did_you_mean, describe
from ..frontend import reading
from ..frontend.load import MAX_BYTES, SourceMap, load_bytes
from ..ops.table import shape_str
from .compare import Tolerance, compare
from .reader import narrowed
from .golden import FAILED, Outcome
from .reader import Entry, ResultSet, read_results, tensor_problem, version_problem
from . import files
from .writer import FORMAT_VERSION, float_text, quote, tensor_text

SUFFIX = ".train.results.yaml"
_STEP = lazy_re.compile(r"step([1-9][0-9]*)\Z")  # a history row's key
_DTYPES = {"float64": np.dtype("float64"), "float32": np.dtype("float32")}


def training_name(graph: str) -> str:
    """`graphs/linreg.yaml` -> `linreg.train.results.yaml`: what `train -o DIR` writes and where
    `check --train --golden DIR` looks."""
    return os.path.splitext(os.path.basename(graph))[0] + SUFFIX


# ---------------------------------------------------------------------------------------------
# writing

def settings_items(settings) -> list:
    """(key, YAML text) of the `train:` section a run used, in the graph file's own keys."""
    s = settings
    items = [("optimizer", s.optimizer), ("lr", _scalar(s.lr))]
    items.append(("epochs", str(s.epochs)) if s.epochs is not None else ("steps", str(s.steps)))
    items += [(k, _scalar(v)) for k, v in s.options]
    items.append(("schedule", _flow(s.schedule)))
    if s.batch is not None:
        b = s.batch
        items.append(("batch", _flow((("size", b.size), ("over", b.over),
                                      ("shuffle", b.shuffle), ("seed", b.seed)))))
    items.append(("log_every", str(s.log_every)))
    if s.report:
        items.append(("report", _scalar(s.report)))
    return items


def _scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return float_text(v)
    if isinstance(v, str):
        return quote(v)
    return "[" + ", ".join(_scalar(x) for x in v) + "]"


def _flow(pairs) -> str:
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in pairs) + "}"


def render(training, threshold: Optional[int] = None, folder: str = "",
           sidecars: Optional[Dict[str, np.ndarray]] = None) -> Tuple[str, Dict[str, np.ndarray]]:
    """The file's text and the sidecars it names ({file name under `folder`: array}, filled
    into `sidecars` when given); with `threshold` None every param is inline."""
    p = training.program
    lines = [f"graphrun: {FORMAT_VERSION}", f"graph: {quote(p.name)}", "train:"]
    lines += [f"  {key}: {text}" for key, text in settings_items(training.settings)]
    lines.append("history:")
    for row in training.history:
        cells = [f"lr: {float_text(row.lr)}", f"loss: {float_text(row.loss)}"]
        cells += [f"{quote(k)}: {float_text(v)}" for k, v in row.reported.items()]
        lines.append(f"  step{row.step}: {{" + ", ".join(cells) + "}")
    sidecars = {} if sidecars is None else sidecars
    _values(lines, sidecars, "params", training.params, "", threshold, folder)
    lines.append(f"steps_taken: {training.steps_taken}")
    for key, values in training.state.items():
        _values(lines, sidecars, key, values, f".{key}", threshold, folder)
    return "\n".join(lines) + "\n", sidecars


def _values(lines, sidecars, section, values, suffix, threshold, folder) -> None:
    """`section:` and a line per param (name -> array) in a graph file's value forms; a tensor of
    more than `threshold` elements as a sidecar `params.<name><suffix>.<digest>.npy`
    (results/files.py knows `params.` sidecars as its own: it removes them once stale)."""
    lines.append(f"{section}:")
    for name, value in values.items():
        if threshold is not None and value.size > threshold:
            array = np.ascontiguousarray(value)
            file = files.sidecar_name(f"params.{name}{suffix}", array)
            sidecars[file] = array
            entry = f"{{file: {quote(f'{folder}/{file}' if folder else file)}}}"
        elif value.dtype == np.float64:
            entry = tensor_text(value)
        else:
            entry = f"{{value: {tensor_text(value)}, dtype: {value.dtype.name}}}"
        lines.append(f"  {quote(name)}: {entry}")


def training_text(training) -> str:
    """The training results file with every param inline (what `graphrun train` prints)."""
    return render(training)[0]


def write_training(path: str, training, threshold: int) -> None:
    """Write the training results file and its sidecars (results/files: atomically, the pair
    as one, every param inline for a device or a FIFO)."""
    files.write_results(path, lambda folder, sidecars: render(
        training, None if folder is None else threshold, folder, sidecars)[0])


# ---------------------------------------------------------------------------------------------
# reading

def _load(path: str):
    """(data, source) of a results file, every problem located in it."""
    try:
        raw = reading.read_bytes(path, MAX_BYTES)  # a regular file; the loader refuses more
    except FileNotFoundError:
        raise GraphError([Problem("no such training results file", pos=(1, 1))],
                         SourceMap(path)) from None
    except IsADirectoryError:
        raise GraphError([Problem("is a directory, expected a training results file",
                                  pos=(1, 1))], SourceMap(path)) from None
    except OSError as e:
        raise GraphError([Problem(f"cannot read the file: {e.strerror}", pos=(1, 1))],
                         SourceMap(path)) from None
    try:
        document = load_bytes(raw, path, positions_now=True)
    except GraphError as e:
        raise GraphError(e.problems, SourceMap(path)) from None
    problem = version_problem(document.data, document.source, "training results file")
    if problem is not None:
        raise GraphError([problem], document.source)
    return document.data, document.source


def _value(value, path, folder, problems) -> Optional[np.ndarray]:
    """A param's value, in a graph file's forms (the sidecar read with numpy). A problem is
    located at the value, or at the element of a list to blame."""
    dtype = np.dtype("float64")
    if type(value) is dict:
        if "file" in value:
            return _sidecar(value, path, folder, problems)
        written = value.get("dtype", "float64")
        if "value" not in value or set(value) - {"value", "dtype"} or \
                type(written) is not str or written not in _DTYPES:
            found = (f"{describe(written)} as its 'dtype'" if "value" in value and
                     not set(value) - {"value", "dtype"} else "a mapping with the keys "
                     + ", ".join(repr(k) if type(k) is str else describe(k) for k in value))
            problems.append(Problem("expected a number, a nested list, {value: ..., dtype: "
                                    f"float64|float32}} or {{file: NAME.npy}}; found {found}",
                                    path))
            return None
        dtype, value, path = _DTYPES[written], value["value"], path + ("value",)
    if type(value) is bool:  # numpy would take true for 1
        array = None
    elif type(value) is list:
        where = tensor_problem(value, bools=False)
        if where is not None:
            problems.append(Problem(where[1], path + where[0]))
            return None
        array = np.array(value)
    else:
        array = np.array(value) if type(value) in (int, float) else None
    if array is None or array.dtype.kind not in "if" or array.size == 0:
        problems.append(Problem(f"expected a number or a rectangular nested list of numbers; "
                                f"found {describe(value)}", path))
        return None
    try:
        return narrowed(array.astype(np.float64), dtype.type)
    except ValueError as e:  # 1e39 as float32: inf, which the run would refuse too late
        problems.append(Problem(str(e).replace(", the dtype this results file says", ""), path))
        return None


def _sidecar(entry, path, folder, problems) -> Optional[np.ndarray]:
    file = entry["file"]
    if type(file) is not str or not file.endswith(".npy"):
        problems.append(Problem("a param written as a file needs 'file: <name>.npy'", path))
        return None
    parts = file.replace("\\", "/").split("/")
    if os.path.isabs(file) or ".." in parts:
        problems.append(Problem(f"{file!r} must be a path inside the file's folder", path))
        return None
    def numbers(header):
        if header.dtype.kind != "f" or header.dtype.itemsize not in (4, 8):
            raise ValueError(f"it holds {header.dtype} data; a param is float64 or float32")

    try:
        from ..frontend.graph import default_memory_budget
        array = reading.read_npy(os.path.join(folder, *parts), check=numbers,
                                 max_bytes=default_memory_budget())
    except FileNotFoundError:
        problems.append(Problem(f"the file {file} does not exist", path))
        return None
    except (OSError, ValueError, MemoryError) as e:
        words = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or "no memory"
        problems.append(Problem(f"cannot read {file}: {words}", path))
        return None
    if array.dtype not in _DTYPES.values():
        problems.append(Problem(f"{file} holds {array.dtype} data; a param is float64 or "
                                "float32", path))
        return None
    return array


def training_entries(data, source, folder) -> Dict[str, Entry]:
    """The named entries of a loaded training results file (see the module docstring)."""
    def at(path):
        return source.locate(path, at_key=True)

    problems = []
    entries = {}
    if "graph" in data:
        entries["graph"] = Entry(str(data["graph"]), *at(("graph",)))
    train = data.get("train")
    if type(train) is dict:
        for key, value in train.items():
            entries[f"train.{key}"] = Entry(json.dumps(value), *at(("train", key)))
    history = data.get("history")
    if history is not None and type(history) is not dict:
        problems.append(Problem("'history' must be a mapping of rows, step<N>: {lr: ..., loss: "
                                "...}", ("history",), at_key=True))
        history = {}
    for key, row in (history or {}).items():
        step = _STEP.match(key)
        if step is None or type(row) is not dict:
            problems.append(Problem("expected a row step<N>: {lr: ..., loss: ...}",
                                    ("history", key), at_key=True))
            continue
        for column, value in row.items():
            array = _value(value, ("history", key, column), folder, problems)
            entries[f"history.{step.group(1)}.{column}"] = Entry(
                np.zeros(0) if array is None else array, *source.locate(("history", key, column)))
    if "steps_taken" in data:
        entries["steps_taken"] = Entry(json.dumps(data["steps_taken"]), *at(("steps_taken",)))
    for section in ("params", *_OPTIMIZER_OF):
        values = data.get(section)
        if type(values) is dict:
            for name, value in values.items():
                array = _value(value, (section, name), folder, problems)
                entries[f"{section}.{name}"] = Entry(np.zeros(0) if array is None else array,
                                                     *at((section, name)))
        elif values is not None:
            problems.append(Problem(f"'{section}' must be a mapping of names to values",
                                    (section,), at_key=True))
    if problems:
        raise GraphError(problems, source)
    return entries


def from_training(training) -> ResultSet:
    """A fresh run's entries: its own text, read back."""
    document = load_bytes(training_text(training).encode("utf-8"), "<training>",
                          positions_now=True)
    entries = training_entries(document.data, document.source, ".")
    return ResultSet(None, {k: Entry(e.value) for k, e in entries.items()})


def trained_params(path: str, program) -> Dict[str, np.ndarray]:
    """The params of a training results file, by name, for the graph `program`: every param of
    the graph, of its shape and dtype. Raises GraphError located in that file: a name that is not
    a param of the graph (with a did-you-mean), a shape or dtype that differs, a param missing."""
    data, source = _load(path)
    _require_params(data, source)
    problems: list = []
    out = _per_param(data, "params", program, os.path.dirname(os.path.abspath(path)), problems)
    if problems:
        raise GraphError(problems, source)
    return out


def _require_params(data, source) -> None:
    if "nodes" in data:
        raise GraphError([Problem("this is a graph file, not a training results file (graphrun "
                                  "train GRAPH -o FILE writes one)", ("nodes",), at_key=True)],
                         source)
    if type(data.get("params")) is not dict:
        raise GraphError([Problem("not a training results file: it has no 'params' mapping "
                                  "(graphrun train writes one)", ("graphrun",), at_key=True)],
                         source)


def _per_param(data, section, program, folder, problems) -> Dict[str, np.ndarray]:
    """The mapping `section` of a training file (params, or an entry of the optimizer's state)
    checked against the graph's params: each a param of the graph, of its shape and dtype, and
    every one there; name -> array. Its problems are appended."""
    values = data[section]
    what, theirs = ("param", "") if section == "params" else (f"{section} entry", "param ")
    wanted = {program.names[s]: s for s in program.params}
    out = {}
    for name, value in values.items():
        where = (section, name)
        slot = wanted.get(name)
        if slot is None:
            known = ", ".join(wanted) or "none"
            problems.append(Problem(f"'{name}' is not a param of the graph "
                                    f"'{program.name}'{did_you_mean(name, wanted)} (its params: "
                                    f"{known})", where, at_key=True))
            continue
        array = _value(value, where, folder, problems)
        if array is None:
            continue
        t = program.types[slot]
        if array.shape != t.shape:
            problems.append(Problem(f"{what} '{name}' has shape {shape_str(array.shape)} here; "
                                    f"the graph's {theirs}has shape {shape_str(t.shape)}", where))
        elif array.dtype != t.dtype:
            problems.append(Problem(f"{what} '{name}' is {array.dtype} here; the graph's "
                                    f"{theirs}is {t.dtype}", where))
        else:
            out[name] = array
    missing = [name for name in wanted if name not in values]
    if missing:
        problems.append(Problem(f"the graph's param{'s' if len(missing) > 1 else ''} "
                                f"{', '.join(repr(m) for m in missing)} "
                                f"{'are' if len(missing) > 1 else 'is'} not in this file"
                                + ("" if section == "params" else f"'s {section}"),
                                (section,), at_key=True))
    return out


class Checkpoint(NamedTuple):
    """What a training results file gives a run that resumes it: the params, the steps taken and
    the last one's learning rate (its history's last row), the optimizer's state (section -> param name -> array), and its `train` section as written, with
    the file's source map (for errors at its lines)."""

    params: Dict[str, np.ndarray]
    steps_taken: int
    last_lr: float  # the rate of step steps_taken (the schedule goes on from it)
    state: Dict[str, Dict[str, np.ndarray]]
    train: object
    source: SourceMap

    def state_for(self, keys, program) -> list:
        """The optimizer's state the run's settings keep (`keys`: optim.state_keys), per param in
        the program's order: Optimizer's `start`. GraphError at the file's line for a section
        that is missing, or one that another optimizer keeps."""
        problems = []
        for key in keys:
            if key not in self.state:
                problems.append(Problem(
                    f"this file has no '{key}' section: {_OPTIMIZER_OF[key]} state, which a "
                    f"resumed run goes on from (graphrun train writes it after 'steps_taken')",
                    ("steps_taken",), at_key=True))
        for key in self.state:
            if key not in keys:
                problems.append(Problem(
                    f"'{key}' is {_OPTIMIZER_OF[key]} state, which this file's optimizer does not "
                    f"keep" + (f" (it keeps {', '.join(keys)})" if keys else ""), (key,),
                    at_key=True))
        if problems:
            raise GraphError(problems, self.source)
        return [[self.state[key][program.names[s]] for key in keys] for s in program.params]


_OPTIMIZER_OF = {"momentum_buffer": "SGD momentum's", "exp_avg": "Adam's",
                 "exp_avg_sq": "Adam's"}


def read_checkpoint(path, program) -> Checkpoint:
    """A training results file (a path, or a TrainingResults: its own text, read back), for
    resuming the graph `program` from it: its params and state checked against the graph's
    params (as trained_params), its steps_taken a whole number >= 1. Raises GraphError located in
    that file. Its train section is checked against the graph by frontend.train.resumed."""
    if isinstance(path, str):
        data, source = _load(path)
        folder = os.path.dirname(os.path.abspath(path))
    else:
        document = load_bytes(training_text(path).encode("utf-8"), "<training results>",
                              positions_now=True)
        data, source, folder = document.data, document.source, "."
    _require_params(data, source)
    problems: list = []
    params = _per_param(data, "params", program, folder, problems)
    steps = data.get("steps_taken")
    if "steps_taken" not in data:
        problems.append(Problem("this file has no 'steps_taken' (a graphrun from before resuming "
                                "wrote it, or it was cut): --params FILE starts from its params "
                                "alone, with the optimizer and the schedule afresh",
                                ("graphrun",), at_key=True))
    elif type(steps) is not int or steps < 1:
        problems.append(Problem(f"'steps_taken' must be a whole number >= 1 (the steps the "
                                f"params have taken); found {describe(steps)}", ("steps_taken",)))
    else:
        history = data.get("history")
        row = history.get(f"step{steps}") if type(history) is dict else None
        lr = row.get("lr") if type(row) is dict else None
        if type(lr) not in (int, float) or not 0 < lr < math.inf:
            problems.append(Problem(f"the history has no row step{steps} with its lr (the last "
                                    "step's, which graphrun always writes): a resumed run's "
                                    "schedule goes on from that rate",
                                    ("history",) if type(history) is dict else ("steps_taken",),
                                    at_key=True))
    if type(data.get("train")) is not dict:
        problems.append(Problem("this file has no 'train' mapping: the settings of the run it "
                                "records, which a resumed run continues", ("graphrun",),
                                at_key=True))
    state = {}
    for key in _OPTIMIZER_OF:
        if key not in data:
            continue
        if type(data[key]) is not dict:
            problems.append(Problem(f"'{key}' must be a mapping of param names to values",
                                    (key,), at_key=True))
            continue
        state[key] = _per_param(data, key, program, folder, problems)
    if problems:
        raise GraphError(problems, source)
    return Checkpoint(params, steps, float(lr), state, data["train"], source)


# ---------------------------------------------------------------------------------------------
# checking a training run against its golden file

def check_training(graph: str, golden: str, *, rtol=None, atol=None, update: bool = False,
                   sidecar_threshold: int = 1000, memory_budget=None, params=None,
                   fast: bool = True, compiled=None) -> "TrainingOutcome":
    """Train a graph as its train section says (from the params of the training results file
    `params`, when given) and compare the training results with a golden training results file,
    writing it with `update` when it differs or is missing: the statuses of `graphrun check`.
    `compiled`: the graph already compiled (or the GraphError compiling it raised). A golden
    that would replace a file the run reads is refused."""
    from .. import api

    try:
        if isinstance(compiled, GraphError):
            raise compiled
        compiled = compiled or api.compile(graph, memory_budget=memory_budget)
        reads = files.files_read(compiled) + (() if params is None else (params,))
        problem = update and files.clash(files.results_outputs(golden), reads)
        if problem:
            return TrainingOutcome(graph, golden, "error", error=GraphError(
                [Problem(problem, pos=(1, 1))], SourceMap(golden)))
        start = None if params is None else api.trained_params(params, compiled)
        try:
            training = api.train(compiled, params=start, fast=fast)
        except ValueError as e:  # what no line is to blame for: no number of steps anywhere
            raise GraphError([Problem(str(e), ("train",), at_key=True)], compiled.source) \
                from None
    except GraphError as e:
        return TrainingOutcome(graph, golden, "error", error=e)
    fresh = from_training(training)
    outcome = TrainingOutcome(graph, golden, "match", entries=len(fresh.entries))
    if not os.path.exists(golden):
        outcome.status = "missing"
    else:
        try:
            expected = read_results(golden)
        except GraphError as e:
            if not update:
                return TrainingOutcome(graph, golden, "error", error=e)
            outcome.status = "differs"  # an unreadable golden is rewritten by --update
        else:
            tolerance = Tolerance(rtol, atol).over(Tolerance.of_program(compiled.program))
            outcome.differences = compare(expected, fresh, tolerance, "the golden file",
                                          "the training run's results")
            outcome.status = "differs" if outcome.differences else "match"
    if update and outcome.status in FAILED:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(golden)), exist_ok=True)
            training.write(golden, sidecar_threshold=sidecar_threshold)
        except OSError as e:
            error = GraphError([Problem(f"cannot write the golden file: "
                                        f"{getattr(e, 'strerror', None) or e}", pos=(1, 1))],
                               SourceMap(golden))
            return TrainingOutcome(graph, golden, "error", error=error)
        outcome.status = "updated" if outcome.status == "differs" else "created"
    return outcome


class TrainingOutcome(Outcome):
    """What checking one training run found: golden.Outcome's statuses and text."""

    def missing_hint(self) -> str:
        return (f"no golden file {self.golden}; create it with: graphrun check --train "
                f"{self.graph} --golden {self.golden} --update")
