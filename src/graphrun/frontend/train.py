"""train: the `train:` section of a graph file.

- Its vocabulary: the optimizers and schedules with their options and defaults, torch.optim's
  (SGD, Adam, AdamW; StepLR, CosineAnnealingLR), in one table that the checks, the settings and
  the training results file read (schemas/graph.schema.json lists the same keys: a test keeps
  them equal).
- `build_train(data, problems)`: the schema-valid section -> a TrainSpec, with what the schema
  cannot say (an option of another optimizer, steps and epochs both, nesterov without momentum).
- `check_train(program)`: the section against the graph: a loss and params to train, batches over
  inputs of one length, reported nodes of one element, and every node's shape again with the
  batches' row counts.
- `resolve(program, ...)`: the settings a run uses, the command line's flags merged over the file's
  section and every default filled in.
- `resumed(program, section, source, ...)`: the settings of a run that resumes the run a training
  results file records (its `train:` section): that run's settings go on, the graph's section and
  the flags may restate them but not change what decides the trajectory (the optimizer and its
  options, the lr, the schedule, the batches); what they leave out is the file's.

Nothing here computes: the math is engine/optim.py's and engine/train.py's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

from ..errors import GraphError, Note, Problem, did_you_mean
from ..ops.table import shape_str
# optimizer -> its options and their defaults (in the order the results file writes them), and
# the default lr: in defaults.py, which `graphrun train --help` reads without this module's imports
from ..defaults import DEFAULT_LR, DEFAULT_OPTIMIZER, OPTIMIZERS

REQUIRED = object()  # an option with no default
ALL_STEPS = object()  # cosine's t_max: the run's number of steps unless written
# schedule kind -> its options and their defaults
SCHEDULES = {
    "constant": {},
    "step": {"step_size": REQUIRED, "gamma": 0.1},  # torch.optim.lr_scheduler.StepLR
    "cosine": {"t_max": ALL_STEPS, "eta_min": 0.0},  # torch.optim.lr_scheduler.CosineAnnealingLR
}

BATCH_DEFAULTS = {"shuffle": True, "seed": 0}
COLUMNS = ("step", "lr", "loss")  # the history's own columns: no reported node may take a name

_OPTION_KEYS = {key for options in OPTIMIZERS.values() for key in options}

# what each key may hold, for the JSON Schema (schema() below; torch.optim's own checks: lr > 0
# here as the issue asks, momentum, weight_decay and eps >= 0, betas in [0, 1))
_NUMBER, _INTEGER = {"type": "number"}, {"type": "integer", "minimum": 1}
_NAMES = {"type": "array", "items": {"$ref": "#/definitions/name"}}
_RULES = {
    "optimizer": ("sgd (default), adam or adamw: torch.optim's SGD, Adam, AdamW",
                  {"enum": list(OPTIMIZERS)}),
    "lr": (f"the learning rate (default {DEFAULT_LR:g}, as torch.optim)",
           {"type": "number", "exclusiveMinimum": 0}),
    "steps": ("how many updates", _INTEGER),
    "epochs": ("how many passes over the data (instead of steps)", _INTEGER),
    "momentum": ("sgd: the momentum factor (default 0)", {"type": "number", "minimum": 0}),
    "dampening": ("sgd: dampening for momentum (default 0)", _NUMBER),
    "nesterov": ("sgd: Nesterov momentum (default false)", {"type": "boolean"}),
    "weight_decay": ("sgd, adam: L2 penalty; adamw: decoupled weight decay (defaults 0, 0, 0.01)",
                     {"type": "number", "minimum": 0}),
    "betas": ("adam, adamw: the running averages' coefficients (default [0.9, 0.999])",
              {"type": "array", "items": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
               "minItems": 2, "maxItems": 2}),
    "eps": ("adam, adamw: added to the denominator (default 1.0e-8)",
            {"type": "number", "minimum": 0}),
    "schedule": ("the learning rate per step: constant (default), step (StepLR) or cosine "
                 "(CosineAnnealingLR), stepped once per step", None),
    "batch": ("minibatches along axis 0 of the inputs `over`; epoch e a permutation from "
              "numpy's default_rng([seed, e])", None),
    "log_every": ("the history records every log_every-th step (and the first and the last; "
                  "default 1)", _INTEGER),
    "report": ("other nodes of one element the history records beside the loss", _NAMES),
}
_SCHEDULE_RULES = {
    "step_size": ("step: multiply the lr by gamma every step_size steps", _INTEGER),
    "gamma": ("step: the factor (default 0.1)", {"type": "number", "exclusiveMinimum": 0}),
    "t_max": ("cosine: the steps of half a period (default: all the steps)", _INTEGER),
    "eta_min": ("cosine: the smallest lr (default 0)", {"type": "number", "minimum": 0}),
}
# every key the section may hold, in the schema's order
SECTION_KEYS = tuple(_RULES)


def schema() -> dict:
    """The JSON Schema of the section (draft-07), from the tables above: ops/schema.py writes it
    into schemas/graph.schema.json."""
    def rule(doc, fragment):
        return {"description": doc + ".", **fragment}

    properties = {k: rule(doc, f) for k, (doc, f) in _RULES.items() if f is not None}
    schedule = {"kind": {"enum": list(SCHEDULES)}}
    schedule.update((k, rule(doc, f)) for k, (doc, f) in _SCHEDULE_RULES.items())
    properties["schedule"] = {**rule(_RULES["schedule"][0], {}), "type": "object",
                              "required": ["kind"], "additionalProperties": False,
                              "properties": schedule}
    properties["batch"] = {**rule(_RULES["batch"][0], {}), "type": "object",
                           "required": ["size", "over"], "additionalProperties": False,
                           "properties": {"size": _INTEGER, "over": {**_NAMES, "minItems": 1},
                                          "shuffle": {"description": "default true",
                                                      "type": "boolean"},
                                          "seed": {"description": "default 0",
                                                   "type": "integer", "minimum": 0}}}
    return {"type": "object", "additionalProperties": False,
            "properties": {k: properties[k] for k in _RULES}}


@dataclass(frozen=True)
class BatchSpec:
    """Minibatches along axis 0 of the inputs `over`."""

    size: int
    over: Tuple[str, ...]
    shuffle: bool = True
    seed: int = 0


@dataclass(frozen=True)
class TrainSpec:
    """The `train:` section as written (None: not written), checked on its own."""

    optimizer: Optional[str] = None
    lr: Optional[float] = None
    steps: Optional[int] = None
    epochs: Optional[int] = None
    options: Tuple[Tuple[str, object], ...] = ()  # the optimizer's options written, in file order
    schedule: Optional[Tuple[Tuple[str, object], ...]] = None  # ("kind", ...) first
    batch: Optional[BatchSpec] = None
    log_every: Optional[int] = None
    report: Tuple[str, ...] = ()


def build_train(data, problems: list) -> Optional[TrainSpec]:
    """The section (schema-valid, or absent) -> a TrainSpec; its problems are appended."""
    if data is None:
        return None
    found = len(problems)
    optimizer = data.get("optimizer")
    chosen = optimizer or DEFAULT_OPTIMIZER
    options = []
    for key, value in data.items():
        if key not in _OPTION_KEYS:
            continue
        if key not in OPTIMIZERS[chosen]:
            owners = [name for name, keys in OPTIMIZERS.items() if key in keys]
            which = f"this section's optimizer is {chosen}" + \
                ("" if optimizer else " (the default: no 'optimizer' is written)")
            problems.append(Problem(
                f"'{key}' is an option of {' and '.join(owners)}; {which}, which takes "
                f"{', '.join(OPTIMIZERS[chosen])}", ("train", key), at_key=True))
            continue
        options.append((key, _as_default(value, OPTIMIZERS[chosen][key])))
    written = dict(options)
    if written.get("nesterov") and not (written.get("momentum", 0) > 0
                                        and written.get("dampening", 0) == 0):
        problems.append(Problem("nesterov needs a momentum > 0 and dampening 0 (as "
                                "torch.optim.SGD)", ("train", "nesterov")))
    if "steps" in data and "epochs" in data:
        problems.append(Problem("give either steps or epochs, not both", ("train", "epochs"),
                                at_key=True, notes=(Note("steps is given here",
                                                         ("train", "steps")),)))
    schedule = _schedule(data.get("schedule"), problems)
    batch = data.get("batch")
    if batch is not None:
        batch = BatchSpec(batch["size"], tuple(batch["over"]),
                          batch.get("shuffle", BATCH_DEFAULTS["shuffle"]),
                          batch.get("seed", BATCH_DEFAULTS["seed"]))
    report = tuple(data.get("report", ()))
    for i, name in enumerate(report):
        if name in report[:i]:
            problems.append(Problem(f"'{name}' is reported twice", ("train", "report", i)))
        elif name in COLUMNS:
            problems.append(Problem(f"a reported node cannot be named '{name}': the history "
                                    f"has a column of that name ({', '.join(COLUMNS)})",
                                    ("train", "report", i)))
    if len(problems) > found:
        return None
    return TrainSpec(optimizer, _number(data.get("lr")), data.get("steps"), data.get("epochs"),
                     tuple(options), schedule, batch, data.get("log_every"), report)


def _number(x):
    return None if x is None else float(x)


def _as_default(value, default):
    """A written option in its default's type: `momentum: 1` is the float 1.0, `betas` a tuple
    of floats (what the results file writes, and what the formulas see)."""
    if isinstance(default, bool):
        return value
    if isinstance(default, tuple):
        return tuple(float(x) for x in value)
    return float(value) if isinstance(default, float) else value


def _schedule(data, problems):
    if data is None:
        return None
    kind = data["kind"]
    takes = SCHEDULES[kind]
    ok = True
    for key in data:
        if key != "kind" and key not in takes:
            owners = [k for k, options in SCHEDULES.items() if key in options]
            problems.append(Problem(
                f"'{key}' is an option of kind: {' and '.join(owners)}; kind: {kind} takes "
                + (", ".join(takes) if takes else "none"), ("train", "schedule", key),
                at_key=True))
            ok = False
    for key, default in takes.items():
        if default is REQUIRED and key not in data:
            problems.append(Problem(f"kind: {kind} needs '{key}'", ("train", "schedule"),
                                    at_key=True))
            ok = False
    return (("kind", kind),) + tuple((k, _as_default(data[k], takes[k])) for k in takes
                                     if k in data) if ok else None


# ---------------------------------------------------------------------------------------------
# the section against the graph

def check_train(program, spec=None) -> list:
    """Problems of the program's train section (or of `spec`, a training results file's)
    against the graph (empty when there is none)."""
    spec = program.train if spec is None else spec
    if spec is None:
        return []
    problems = []
    if program.loss is None:
        problems.append(Problem("a train section needs a loss to minimise (add 'loss: NAME', "
                                "a node of one element)", ("train",), at_key=True))
    if not program.params:
        problems.append(Problem("nothing to train: the graph has no params", ("train",),
                                at_key=True))
    nodes = [program.names[step.out] for step in program.steps]
    for i, name in enumerate(spec.report):
        path = ("train", "report", i)
        slot = program.slots.get(name)
        if slot is None:
            problems.append(Problem(f"unknown node '{name}'{did_you_mean(name, nodes)}", path))
        elif program.kinds[slot] != "node":
            problems.append(Problem(f"'{name}' is {_a(program.kinds[slot])}; report names "
                                    "nodes", path))
        elif slot == program.loss:
            problems.append(Problem(f"'{name}' is the loss: the history records it on every "
                                    "row already", path))
        elif math.prod(program.types[slot].shape) != 1:
            problems.append(Problem(f"node '{name}' has shape "
                                    f"{shape_str(program.types[slot].shape)}; a reported node "
                                    "must have exactly one element (reduce it with mean or "
                                    "sum)", path))
    if spec.batch is not None:
        problems += _check_batch(program, spec.batch)
    return problems


def _a(kind: str) -> str:
    return f"{'an' if kind == 'input' else 'a'} {kind}"


def _check_batch(program, batch: BatchSpec) -> list:
    from .graph import rebatched  # graph imports this module

    problems = []
    rows = {}  # name -> rows, of the inputs that can be batched
    inputs = [program.names[s] for s, k in enumerate(program.kinds) if k == "input"]
    for i, name in enumerate(batch.over):
        path = ("train", "batch", "over", i)
        slot = program.slots.get(name)
        if name in batch.over[:i]:
            problems.append(Problem(f"'{name}' is named twice", path))
        elif slot is None:
            problems.append(Problem(f"unknown input '{name}'{did_you_mean(name, inputs)}", path))
        elif program.kinds[slot] == "param":
            problems.append(Problem(f"'{name}' is a param: batches split inputs (the data); "
                                    "params are what is learned", path))
        elif program.kinds[slot] != "input":
            problems.append(Problem(f"'{name}' is a node; batches split inputs", path))
        elif not program.types[slot].shape:
            problems.append(Problem(f"input '{name}' is a scalar: it has no axis 0 to split "
                                    "into batches", path))
        else:
            rows[name] = program.types[slot].shape[0]
    if problems or not rows:
        return problems
    first, n = next(iter(rows.items()))
    for i, name in enumerate(batch.over):
        if rows[name] != n:
            problems.append(Problem(
                f"input '{name}' has {rows[name]} rows (axis 0) and '{first}' has {n}: the "
                "inputs of a batch must have the same number of rows",
                ("train", "batch", "over", i),
                notes=(Note(f"'{first}' is defined here", program.paths[program.slots[first]],
                            program.source),)))
            return problems
    if batch.size > n:
        problems.append(Problem(f"batch.size {batch.size} is larger than the data: '{first}' "
                                f"has {n} rows (axis 0)", ("train", "batch", "size")))
        return problems
    slots = [program.slots[name] for name in batch.over]
    for size in batch_sizes(n, batch.size):
        try:
            rebatched(program, slots, size)
        except GraphError as e:
            problems += e.problems
    return problems


def batch_sizes(rows: int, size: int) -> Tuple[int, ...]:
    """The row counts of an epoch's batches that differ from the data's own: the full batches
    and the last, partial one (kept, as torch's drop_last=False)."""
    return tuple(dict.fromkeys(b for b in (size, rows % size) if b and b != rows))


# ---------------------------------------------------------------------------------------------
# the settings of a run

@dataclass(frozen=True)
class Settings:
    """Everything a training run uses, every default filled in."""

    optimizer: str
    lr: float
    steps: int  # the number of steps the run takes
    epochs: Optional[int]  # when the steps were given as epochs
    options: Tuple[Tuple[str, object], ...]  # every option of the optimizer, in OPTIMIZERS order
    schedule: Tuple[Tuple[str, object], ...]  # ("kind", ...) and every option of the kind
    batch: Optional[BatchSpec]
    rows: Optional[int]  # the rows of the batched inputs
    log_every: int
    report: Tuple[str, ...]
    start: int = 0  # the steps taken before this run (a resumed run's file's steps_taken)
    resumed_lr: Optional[float] = None  # a resumed run's: the rate of step `start`

    @property
    def last(self) -> int:
        """The number of the run's last step (steps count on across resumed runs)."""
        return self.start + self.steps

    def option(self, name: str):
        return dict(self.options)[name]

    @property
    def steps_per_epoch(self) -> int:
        return 1 if self.batch is None else -(-self.rows // self.batch.size)

    def logged(self, step: int) -> bool:
        """Whether the history records `step` (counted from 1, on across resumed runs): the run's
        first, its last, and every log_every-th."""
        return step == self.start + 1 or step == self.last or step % self.log_every == 0


def resolve(program, *, optimizer: Optional[str] = None, lr: Optional[float] = None,
            steps: Optional[int] = None, epochs: Optional[int] = None,
            need_steps: bool = True, spec: Optional[TrainSpec] = None,
            start: int = 0, resumed_lr: Optional[float] = None) -> Settings:
    """The settings of a run: the arguments (the command line's flags) over the graph's train
    section (or `spec`) over the defaults; `start` the steps taken before and `resumed_lr` the
    rate of the last of them (a resumed run's).
    Raises ValueError for settings no file line is to blame for (no number of steps anywhere, a
    flag out of range, a graph with nothing to train)."""
    spec = spec or program.train or TrainSpec()
    if optimizer is not None and optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}{did_you_mean(optimizer, OPTIMIZERS)} "
                         f"(expected one of: {', '.join(OPTIMIZERS)})")
    if lr is not None and not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"the learning rate must be a number > 0; found {lr!r}")
    for what, n in (("steps", steps), ("epochs", epochs)):
        if n is not None and not (type(n) is int and n >= 1):
            raise ValueError(f"{what} must be a whole number >= 1; found {n!r}")
    if program.train is None:  # the file's section was checked against the graph; this was not
        if program.loss is None:
            raise ValueError("training needs a loss to minimise: the graph has none (add "
                             "'loss: NAME', a node of one element)")
        if not program.params:
            raise ValueError("nothing to train: the graph has no params")
    file_optimizer = spec.optimizer or DEFAULT_OPTIMIZER
    chosen = optimizer or file_optimizer
    # the file's options are for the file's optimizer: another one named by a flag starts from
    # its own defaults
    written = dict(spec.options) if chosen == file_optimizer else {}
    options = tuple((k, written.get(k, default)) for k, default in OPTIMIZERS[chosen].items())
    rows = None
    if spec.batch is not None:
        rows = program.types[program.slots[spec.batch.over[0]]].shape[0]
    if steps is None and epochs is None:
        steps, epochs = spec.steps, spec.epochs
    per_epoch = 1 if spec.batch is None else -(-rows // spec.batch.size)
    if steps is None:
        if epochs is None:
            if need_steps:
                raise ValueError("how many steps? give --steps N (or --epochs N), or write "
                                 "'steps: N' in the graph's train section")
            steps = 1
        else:
            steps = epochs * per_epoch
    schedule = dict(spec.schedule or (("kind", "constant"),))
    kind = schedule["kind"]
    filled = (("kind", kind),) + tuple(
        (k, steps if d is ALL_STEPS and k not in schedule else schedule.get(k, d))
        for k, d in SCHEDULES[kind].items())
    return Settings(chosen, DEFAULT_LR if lr is None and spec.lr is None else
                    float(lr if lr is not None else spec.lr), steps, epochs, options, filled,
                    spec.batch, rows, spec.log_every or 1, spec.report, start, resumed_lr)


def resumed(program, section, source, *, start: int, last_lr: float,
            optimizer: Optional[str] = None,
            lr: Optional[float] = None, steps: Optional[int] = None,
            epochs: Optional[int] = None) -> Settings:
    """The settings of a run that resumes the run a training results file records: `section` is
    that file's `train:` mapping (`source` the file's source map), `start` its steps_taken and
    `last_lr` the rate of that step (its history's last row). The
    run goes on with the file's optimizer, options, lr, schedule (a cosine's t_max too) and
    batches; the flags and the graph's train section may restate them, and a value of theirs that
    differs is an error at the file's line (with a note at the graph's). The history's log_every
    and report, and the number of steps, are the flags' or the graph's when given, else the
    file's. Raises GraphError (located in the file) or ValueError (a flag out of range)."""
    from .schema import check

    problems = [p for p in check({"graphrun": 1, "nodes": {}, "train": section})
                if p.path[:1] == ("train",)]
    if problems:
        raise GraphError(problems, source)
    spec = build_train(section, problems)
    if spec is None:
        raise GraphError(problems, source)
    problems = check_train(program, spec)
    if problems:
        raise GraphError(problems, source)
    was = resolve(program, spec=spec, steps=spec.steps, epochs=spec.epochs, need_steps=False)
    graph = program.train or TrainSpec()
    chosen = optimizer or graph.optimizer
    options = dict(graph.options) if (graph.optimizer or DEFAULT_OPTIMIZER) == was.optimizer \
        else {}
    stated = [("optimizer", ("optimizer",), was.optimizer, chosen,
               "--optimizer" if optimizer else None),
              ("lr", ("lr",), was.lr, lr if lr is not None else graph.lr,
               "--lr" if lr is not None else None)]
    stated += [(k, (k,), was.option(k), options.get(k), None) for k, _ in was.options]
    schedule = dict(was.schedule)
    for k, v in graph.schedule or ():
        stated.append((f"schedule {k}", ("schedule", k), schedule.get(k), v, None))
        if schedule["kind"] != v:
            break  # the kind differs: its options are another schedule's
    if graph.batch is not None and was.batch is None:
        stated.append(("batch", ("batch",), "all the data at every step (no batch)",
                       "batches", None))
    elif graph.batch is not None:
        for k in ("size", "over", "shuffle", "seed"):
            stated.append((f"batch {k}", ("batch", k), getattr(was.batch, k),
                           getattr(graph.batch, k), None))
    for what, path, theirs, ours, flag in stated:
        if ours is None or ours == theirs:
            continue
        at = ("train",) + path
        where = _written(section, at)
        by = flag or "the graph's train section"
        notes = () if flag else (Note(f"the graph's train section says {_text(ours)} here",
                                      ("train",) + path, program.source),)
        problems.append(Problem(
            f"{what}: the run this file records used {_text(theirs)}; {by} says {_text(ours)}: "
            "a resumed run goes on with the same optimizer, options, lr, schedule and batches "
            "(to start afresh from the file's params alone, take them with --params, or "
            "params= in Python)", where, at_key=where != at, notes=notes))
    if problems:
        raise GraphError(problems, source)
    given = graph.steps is not None or graph.epochs is not None
    merged = TrainSpec(was.optimizer, was.lr, graph.steps if given else spec.steps,
                       graph.epochs if given else spec.epochs, was.options, was.schedule,
                       was.batch, graph.log_every or spec.log_every, graph.report or spec.report)
    return resolve(program, steps=steps, epochs=epochs, spec=merged, start=start,
                   resumed_lr=last_lr)


def _written(section, path):
    """`path` (("train", key, ...)) cut back to what the file's section has: a problem about a
    key it leaves out is at the key that holds it."""
    node = {"train": section}
    for i, key in enumerate(path):
        if type(node) is not dict or key not in node:
            return path[:i]
        node = node[key]
    return path


def _text(value) -> str:
    """A setting as the file writes it: repr() of a float (it reads back as the same float)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return repr(value) if isinstance(value, float) else str(value)
