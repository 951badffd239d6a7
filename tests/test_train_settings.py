"""The train section: every mistake an error at its line with what was expected, the flags over
the section over torch's defaults, and the settings a run reports."""

import numpy as np
import pytest

import graphrun
from conftest import call, compile_text

GRAPH = """\
graphrun: 1
inputs:
  X: [[1.0, 2.0], [2.0, 0.5], [3.0, -1.0], [4.0, 1.5], [0.5, 3.0]]
  y: [5.0, 3.5, 2.0, 7.5, 6.0]
  z: [1.0, 2.0]
  s: 3.0
params:
  w: [1.0, 1.0]
  b: 0.5
nodes:
  Xw: {op: matmul, args: [X, w]}
  pred: {op: add, args: [Xw, b]}
  L: {op: mse, args: [pred, y]}
  m: {op: mean, args: [pred]}
loss: L
train:
"""  # the section's lines follow, from line 17 on


def problems(tmp_path, section):
    path = tmp_path / "g.yaml"
    path.write_text(GRAPH + section)
    code, out, err = call("validate", str(path))
    assert code == 2 and "Traceback" not in err, err
    return [line.split(": ", 1)[0].split(":", 1)[1] + ": " + line.split(": error: ", 1)[1]
            for line in err.splitlines() if ": error: " in line]


@pytest.mark.parametrize("section,expected", [
    ("  optimizer: adma\n", ["17:14: unknown optimizer 'adma'; did you mean 'adam'?"]),
    ("  optimizer: rmsprop\n",
     ["17:14: unknown optimizer 'rmsprop' (expected one of: sgd, adam, adamw)"]),
    ("  lr: -0.1\n", ["17:7: expected a number > 0; found number -0.1"]),
    ("  lr: 0\n", ["17:7: expected a number > 0; found integer 0"]),
    ("  steps: 0\n", ["17:10: expected an integer >= 1; found integer 0"]),
    ("  steps: 2.5\n", ["17:10: expected an integer; found number 2.5"]),
    ("  stepz: 10\n", ["17:3: unknown key 'stepz' in 'train'; did you mean 'steps'?"]),
    ("  momentun: 0.9\n", ["17:3: unknown key 'momentun' in 'train'; did you mean 'momentum'?"]),
    ("  optimizer: adam\n  momentum: 0.9\n",
     ["18:3: 'momentum' is an option of sgd; this section's optimizer is adam, which takes "
      "betas, eps, weight_decay"]),
    ("  betas: [0.9, 0.99]\n",
     ["17:3: 'betas' is an option of adam and adamw; this section's optimizer is sgd (the "
      "default: no 'optimizer' is written), which takes momentum, dampening, nesterov, "
      "weight_decay"]),
    ("  optimizer: adam\n  betas: [0.9]\n", ["18:10: expected a list of 2 items; found a list of 1 item"]),
    ("  optimizer: adam\n  betas: [0.9, 1.0]\n", ["18:16: expected a number < 1; found number 1.0"]),
    ("  momentum: -0.5\n", ["17:13: expected a number >= 0; found number -0.5"]),
    ("  nesterov: true\n", ["17:13: nesterov needs a momentum > 0 and dampening 0 (as "
                            "torch.optim.SGD)"]),
    ("  steps: 3\n  epochs: 2\n", ["18:3: give either steps or epochs, not both"]),
    ("  schedule: {kind: stepp}\n", ["17:20: unknown kind 'stepp'; did you mean 'step'?"]),
    ("  schedule: {kind: step}\n", ["17:3: kind: step needs 'step_size'"]),
    ("  schedule: {kind: cosine, gamma: 0.5}\n",
     ["17:28: 'gamma' is an option of kind: step; kind: cosine takes t_max, eta_min"]),
    ("  schedule: {kind: step, step_size: 0}\n",
     ["17:37: expected an integer >= 1; found integer 0"]),
    ("  batch: {size: 2, over: [X, w]}\n",
     ["17:30: 'w' is a param: batches split inputs (the data); params are what is learned"]),
    ("  batch: {size: 2, over: [X, Y]}\n", ["17:30: unknown input 'Y'; did you mean 'y'?"]),
    ("  batch: {size: 2, over: [X, z]}\n",
     ["17:30: input 'z' has 2 rows (axis 0) and 'X' has 5: the inputs of a batch must have the "
      "same number of rows"]),
    ("  batch: {size: 2, over: [s]}\n",
     ["17:27: input 's' is a scalar: it has no axis 0 to split into batches"]),
    ("  batch: {size: 6, over: [X, y]}\n",
     ["17:17: batch.size 6 is larger than the data: 'X' has 5 rows (axis 0)"]),
    ("  batch: {size: 0, over: [X, y]}\n", ["17:17: expected an integer >= 1; found integer 0"]),
    ("  batch: {over: [X, y]}\n", ["17:3: 'train/batch' is missing the required key 'size'"]),
    ("  report: [mm]\n", ["17:12: unknown node 'mm'; did you mean 'm'?"]),
    ("  report: [pred]\n", ["17:12: node 'pred' has shape (5,); a reported node must have "
                            "exactly one element (reduce it with mean or sum)"]),
    ("  report: [L]\n", ["17:12: 'L' is the loss: the history records it on every row already"]),
    ("  report: [w]\n", ["17:12: 'w' is a param; report names nodes"]),
    ("  log_every: 0\n", ["17:14: expected an integer >= 1; found integer 0"]),
])
def test_each_mistake_is_an_error_at_its_line(tmp_path, section, expected):
    assert problems(tmp_path, section) == expected


def test_independent_mistakes_are_reported_together(tmp_path):
    found = problems(tmp_path, "  optimizer: adma\n  lr: 0\n  schedule: {kind: step}\n")
    assert [p.split(": ")[0] for p in found] == ["17:14", "18:7"]  # the schema's, first pass


def test_a_batch_that_breaks_a_shape_is_found_before_anything_runs(tmp_path):
    text = GRAPH.replace("  m: {op: mean, args: [pred]}\n",
                         "  m: {op: mean, args: [pred]}\n  r: {op: reshape, args: [pred], "
                         "shape: [5, 1]}\n  rs: {op: sum, args: [r]}\n")
    path = tmp_path / "g.yaml"
    path.write_text(text + "  batch: {size: 2, over: [X, y]}\n")
    code, out, err = call("validate", str(path))
    assert code == 2
    assert ("g.yaml:15:41: error: node 'r': with a batch of 2 rows: reshape: cannot reshape (2,) "
            "(2 elements) into (5,1) (5 elements)") in err
    assert "g.yaml:19:11: note: the batch size is set here" in err
    assert "with a batch of 1 rows" in err  # the last, partial batch of an epoch: 5 = 2 + 2 + 1


def test_a_train_section_needs_a_loss_and_params(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("graphrun: 1\ninputs: {x: 1.0}\nnodes:\n  y: {op: square, args: [x]}\n"
                    "train:\n  steps: 3\n")
    code, out, err = call("validate", str(path))
    assert "g.yaml:5:1: error: a train section needs a loss to minimise" in err
    assert "g.yaml:5:1: error: nothing to train: the graph has no params" in err


def test_the_schema_lists_the_keys_the_section_knows():
    from graphrun.frontend import schema, train
    definition = schema.schema()["definitions"]["train"]
    assert tuple(definition["properties"]) == train.SECTION_KEYS
    assert definition["properties"]["optimizer"]["enum"] == list(train.OPTIMIZERS)
    kinds = definition["properties"]["schedule"]["properties"]
    assert kinds["kind"]["enum"] == list(train.SCHEDULES)
    assert set(kinds) - {"kind"} == {k for options in train.SCHEDULES.values() for k in options}


def test_the_schema_is_a_valid_draft7_schema():
    import jsonschema
    from graphrun.frontend import schema
    jsonschema.Draft7Validator.check_schema(schema.schema())


# ---------------------------------------------------------------------------------------------
# the settings a run uses

SIMPLE = """\
graphrun: 1
inputs: {x: 2}
params: {w: 3, b: 4}
nodes:
  u: {op: mul, args: [w, x]}
  v: {op: add, args: [u, b]}
  L: {op: square, args: [v]}
loss: L
"""


def test_without_a_section_the_defaults_are_torchs():
    s = graphrun.training_settings(compile_text(SIMPLE), steps=10)
    assert (s.optimizer, s.lr, s.steps, s.log_every, s.batch) == ("sgd", 1e-3, 10, 1, None)
    assert s.options == (("momentum", 0.0), ("dampening", 0.0), ("nesterov", False),
                         ("weight_decay", 0.0))
    s = graphrun.training_settings(compile_text(SIMPLE), steps=10, optimizer="adamw")
    assert s.options == (("betas", (0.9, 0.999)), ("eps", 1e-8), ("weight_decay", 0.01))


def test_flags_override_the_section():
    graph = compile_text(SIMPLE + "train: {optimizer: sgd, lr: 0.1, steps: 5, momentum: 0.9}\n")
    s = graphrun.training_settings(graph)
    assert (s.optimizer, s.lr, s.steps, s.option("momentum")) == ("sgd", 0.1, 5, 0.9)
    s = graphrun.training_settings(graph, lr=0.01, steps=7)
    assert (s.lr, s.steps, s.option("momentum")) == (0.01, 7, 0.9)
    # another optimizer starts from its own defaults: the section's options were for sgd
    s = graphrun.training_settings(graph, optimizer="adam")
    assert s.optimizer == "adam" and dict(s.options)["betas"] == (0.9, 0.999)


def test_epochs_count_the_batches_of_an_epoch():
    graph = compile_text(GRAPH + "  epochs: 3\n  batch: {size: 2, over: [X, y]}\n")
    s = graphrun.training_settings(graph)
    assert (s.steps, s.epochs, s.steps_per_epoch) == (9, 3, 3)  # 5 rows: 2 + 2 + 1
    assert graphrun.training_settings(graph, steps=4).steps == 4  # --steps replaces epochs
    assert graphrun.training_settings(graph, epochs=1).steps == 3


@pytest.mark.parametrize("call_,message", [
    (dict(), "how many steps?"),
    (dict(steps=0), "steps must be a whole number >= 1; found 0"),
    (dict(steps=3, lr=-1.0), "the learning rate must be a number > 0; found -1.0"),
    (dict(steps=3, optimizer="adma"), "unknown optimizer 'adma'; did you mean 'adam'?"),
])
def test_settings_no_line_is_to_blame_for_are_value_errors(call_, message):
    with pytest.raises(ValueError) as e:
        graphrun.training_settings(compile_text(SIMPLE), **call_)
    assert message in str(e.value)


def test_a_graph_without_loss_or_params_cannot_train():
    with pytest.raises(ValueError, match="training needs a loss"):
        graphrun.train(compile_text("graphrun: 1\nparams: {w: 1.0}\nnodes:\n"
                                    "  y: {op: square, args: [w]}\n"), steps=2)
    with pytest.raises(ValueError, match="nothing to train"):
        graphrun.train(compile_text("graphrun: 1\ninputs: {w: 1.0}\nnodes:\n"
                                    "  y: {op: square, args: [w]}\nloss: y\n"), steps=2)


def test_the_cli_says_what_is_missing(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(SIMPLE)
    code, out, err = call("train", str(path))
    assert code == 2 and out == ""
    assert "how many steps? give --steps N (or --epochs N)" in err
    code, out, err = call("train", str(path), "--steps", "0")
    assert code == 2 and "expected a whole number >= 1; found '0'" in err
    code, out, err = call("train", str(path), "--steps", "2", "--lr", "0")
    assert code == 2 and "expected a number > 0; found '0'" in err
    code, out, err = call("train", str(path), "--steps", "2", "--optimizer", "adma")
    assert code == 2 and "unknown optimizer 'adma'; did you mean 'adam'?" in err


def test_log_every_records_the_first_the_last_and_every_nth_step():
    graph = compile_text(SIMPLE + "train: {lr: 0.01, steps: 10, log_every: 4}\n")
    assert [r.step for r in graphrun.train(graph).history] == [1, 4, 8, 10]
    assert [r.step for r in graphrun.train(graph, fast=False).history] == [1, 4, 8, 10]


def test_reported_nodes_are_recorded_beside_the_loss():
    graph = compile_text(SIMPLE + "train: {lr: 0.01, steps: 3, report: [v, u]}\n")
    history = graphrun.train(graph).history
    assert [r.reported for r in history] == [{"v": 10.0, "u": 6.0}, {"v": 9.0, "u": 5.2},
                                             {"v": 8.1, "u": pytest.approx(4.48)}]
    assert [r.loss for r in history] == [100.0, 81.0, 65.61]
    assert np.allclose([r.reported["v"] ** 2 for r in history], [r.loss for r in history])
