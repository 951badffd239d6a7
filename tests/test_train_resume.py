"""train --resume: a run that goes on from a training results file is the run that never stopped.

k steps, then k more resumed from the file, give 2k steps' params, optimizer state and history
rows bit for bit (on one machine), and the two files are equal apart from what must differ (the
run's steps and the history's rows before the resumed run's first step): for SGD with momentum,
Nesterov, dampening and weight decay, Adam and AdamW, with StepLR and cosine schedules, with
shuffled minibatches (resumed in the middle of an epoch) and with dropout, on the scalar fast
path (compiled and interpreted), the numpy reference and the array path. What a resumed run
cannot change is an error at the training file's line."""

import os
import re

import numpy as np
import pytest

import graphrun
from conftest import ROOT, call, compile_text

SIMPLE = os.path.join(ROOT, "graphs", "simple.yaml")
LINREG = os.path.join(ROOT, "graphs", "linreg.yaml")
CLASSIFIER = os.path.join(ROOT, "graphs", "classifier.yaml")


def with_train(path, train):
    """The text of an example graph with `train` (a flow mapping) as its train section; the
    classifier's data written inline (the test's graph lives elsewhere)."""
    text = open(path).read()
    if "\ntrain:" in text:
        text = text[:text.index("\ntrain:")] + "\n"
    for name in ("X", "y"):
        array = np.load(os.path.join(ROOT, "graphs", "data", f"blobs_{name}.npy"))
        inline = array.tolist() if array.dtype == np.float64 else \
            f"{{value: {array.tolist()}, dtype: int64}}"
        text = text.replace(f"{{file: data/blobs_{name}.npy}}", str(inline))
    return text + f"train: {train}\n"


def resumed_text(whole: str, k: int, steps_line: str) -> str:
    """What the file of k steps resumed for k more must be, from the file of the 2k steps: the
    run's own steps, and the history from step k + 1 on."""
    out = []
    for line in whole.splitlines(keepends=True):
        row = re.match(r"  step([0-9]+): ", line)
        if row and int(row.group(1)) <= k:
            continue
        if line.startswith(("  steps: ", "  epochs: ")):
            line = steps_line
        out.append(line)
    return "".join(out)


def assert_state_equal(a, b):
    assert list(a.state) == list(b.state)
    for key in a.state:
        for name, value in a.state[key].items():
            assert value.dtype == b.state[key][name].dtype
            np.testing.assert_array_equal(value, b.state[key][name], strict=True)


def assert_resumes(tmp_path, text, k, *, fast=True, steps=None, epochs=None):
    """k steps (or epochs) resumed for k more == 2k, through a file and through the object."""
    run = dict(fast=fast)
    whole = graphrun.train(compile_text(text), steps=steps and 2 * k,
                           epochs=epochs and 2 * k, **run)
    half = graphrun.train(compile_text(text), steps=steps and k, epochs=epochs and k, **run)
    path = str(tmp_path / "half.train.results.yaml")
    half.write(path, sidecar_threshold=4)  # the bigger params and their state as sidecars
    start = half.steps_taken
    line = f"  steps: {start}\n" if steps else f"  epochs: {k}\n"
    for source in (path, half):
        rest = graphrun.train(compile_text(text), resume=source, steps=steps and k,
                              epochs=epochs and k, **run)
        assert rest.steps_taken == whole.steps_taken == 2 * start
        assert rest.history[0].step == start + 1
        assert rest.history == [row for row in whole.history if row.step > start]
        for name, value in whole.params.items():
            np.testing.assert_array_equal(rest.params[name], value, strict=True)
        assert_state_equal(rest, whole)
        assert rest.text() == resumed_text(whole.text(), start, line)
    return whole, half, rest


SGD_NESTEROV = ("{optimizer: sgd, lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 0.01, "
                "schedule: {kind: step, step_size: 3, gamma: 0.5}}")
SGD_DAMPENING = ("{optimizer: sgd, lr: 0.05, momentum: 0.8, dampening: 0.3, "
                 "schedule: {kind: cosine, t_max: 14, eta_min: 0.001}}")
ADAM = ("{optimizer: adam, lr: 0.05, weight_decay: 0.01, "
        "schedule: {kind: cosine, t_max: 10, eta_min: 0.001}}")  # k + k goes past t_max
ADAMW = "{optimizer: adamw, lr: 0.05, betas: [0.8, 0.99], schedule: {kind: step, step_size: 4}}"
SETTINGS = {"sgd_nesterov": SGD_NESTEROV, "sgd_dampening": SGD_DAMPENING, "adam": ADAM,
            "adamw": ADAMW, "sgd": "{lr: 0.01}"}
BATCH = "batch: {size: 5, over: [X, y], shuffle: true, seed: 4}"  # 12 rows: 5, 5, 2


def batched(train: str) -> str:
    return train[:-1] + ", " + BATCH + "}"


@pytest.mark.parametrize("name", SETTINGS)
def test_array_path_resumes_exactly(tmp_path, name):
    assert_resumes(tmp_path, with_train(CLASSIFIER, SETTINGS[name]), 7, steps=True)
    assert_resumes(tmp_path, with_train(LINREG, SETTINGS[name]), 7, steps=True)


@pytest.mark.parametrize("name", SETTINGS)
def test_shuffled_batches_resume_in_the_middle_of_an_epoch(tmp_path, name):
    """7 steps of 3 a epoch: the resumed run starts at the second batch of epoch 3, with the
    permutation that epoch had."""
    whole, half, rest = assert_resumes(tmp_path, with_train(CLASSIFIER, batched(SETTINGS[name])),
                                       7, steps=True)
    assert len({row.loss for row in whole.history}) == len(whole.history)


def test_epochs_resume_for_as_many_epochs_more(tmp_path):
    whole, half, rest = assert_resumes(tmp_path, with_train(CLASSIFIER, batched(ADAM)), 2,
                                       epochs=True)
    assert half.steps_taken == 6 and rest.history[-1].step == 12


@pytest.mark.parametrize("name", SETTINGS)
@pytest.mark.parametrize("k,fast", [(300, True), (5, True), (5, False)],
                         ids=["compiled-loop", "interpreted", "reference"])
def test_scalar_graphs_resume_exactly(tmp_path, name, k, fast):
    """simple.yaml on Python floats: the compiled loop (a run of 256 steps or more), the
    interpreted scalar plan (a shorter one) and the numpy reference; lr small enough to stay
    finite for 600 steps."""
    train = SETTINGS[name].replace("lr: 0.05", "lr: 0.001").replace("t_max: 14", "t_max: 500")
    assert_resumes(tmp_path, with_train(SIMPLE, train), k, steps=True, fast=fast)


def test_a_resumed_run_may_take_another_path_and_gives_the_same_bits():
    text = with_train(SIMPLE, ADAM)
    whole = graphrun.train(compile_text(text), steps=600, fast=False)
    half = graphrun.train(compile_text(text), steps=300)  # the compiled loop on floats
    rest = graphrun.train(compile_text(text), resume=half, fast=False)  # numpy
    assert rest.params == whole.params and rest.history == whole.history[300:]


def test_resumed_runs_chain(tmp_path):
    """10 steps, resumed for 10, resumed for 10: 30 steps."""
    text = with_train(CLASSIFIER, batched(SGD_NESTEROV))
    whole = graphrun.train(compile_text(text), steps=30)
    run = graphrun.train(compile_text(text), steps=10)
    for _ in range(2):
        path = str(tmp_path / f"at{run.steps_taken}.yaml")
        run.write(path)
        run = graphrun.train(compile_text(text), resume=path)  # as many steps as it took: 10
    assert run.steps_taken == 30 and run.history == whole.history[20:]
    for name, value in whole.params.items():
        np.testing.assert_array_equal(run.params[name], value)


def test_dropout_goes_on_with_the_masks_of_its_steps(tmp_path):
    text = """graphrun: 1
inputs:
  x: [[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.0, 1.0]]
  y: [1.0, -1.0]
params:
  w: [0.1, 0.2, -0.1, 0.3]
nodes:
  d: {op: dropout, args: [x], p: 0.5, seed: 3}
  z: {op: matmul, args: [d, w]}
  L: {op: mse, args: [z, y]}
loss: L
train: {optimizer: sgd, lr: 0.1, momentum: 0.5}
"""
    assert_resumes(tmp_path, text, 4, steps=True)


def test_float32_params_keep_their_state_in_float32(tmp_path):
    text = with_train(LINREG, ADAM).replace("w: [1.0, 1.0]", "w: {value: [1.0, 1.0], dtype: "
                                            "float32}").replace("b: 0.5", "b: {value: 0.5, "
                                                                "dtype: float32}")
    whole, half, rest = assert_resumes(tmp_path, text, 6, steps=True)
    assert rest.state["exp_avg"]["w"].dtype == np.float32
    assert "exp_avg:\n  w: {value: [" in rest.text()


def test_a_rerun_resumed_writes_the_same_bytes(tmp_path):
    text = with_train(LINREG, ADAM)
    half = graphrun.train(compile_text(text), steps=5)
    first = graphrun.train(compile_text(text), resume=half, steps=5).text()
    assert graphrun.train(compile_text(text), resume=half, steps=5).text() == first


# ---------------------------------------------------------------------------------------------
# the command line


def graph_file(tmp_path, train, name="g.yaml"):
    path = tmp_path / name
    path.write_text(with_train(SIMPLE, train))
    return str(path)


def test_the_command_line_resumes(tmp_path):
    graph = graph_file(tmp_path, "{optimizer: adam, lr: 0.01, steps: 3}")
    half, rest, whole = (str(tmp_path / f) for f in ("half.yaml", "rest.yaml", "whole.yaml"))
    assert call("train", graph, "-q", "-o", half)[0] == 0
    code, out, err = call("train", graph, "--resume", half, "-o", rest)
    assert code == 0, err
    assert err.startswith("trained chain-rule: 3 steps resumed at step 4 of adam, lr 0.01, in ")
    assert "loss 98.2083 at step 4, 97.0233 at step 6;" in err
    assert call("train", graph, "-q", "--steps", "6", "-o", whole)[0] == 0
    text = open(rest).read()
    assert "history:\n  step4: {lr: 0.01, loss: 98.20827327303248}\n  step5: " in text
    assert text == resumed_text(open(whole).read(), 3, "  steps: 3\n")
    code, out, err = call("train", graph, "-q", "--resume", rest, "--steps", "2")  # to stdout
    assert code == 0 and "  step7: {" in out and "  step8: {" in out and "step9" not in out
    assert "\nsteps_taken: 8\nexp_avg:\n  w: " in out


def test_resume_and_params_are_two_ways_and_not_both(tmp_path):
    graph = graph_file(tmp_path, "{optimizer: adam, lr: 0.01, steps: 3}")
    half = str(tmp_path / "half.yaml")
    call("train", graph, "-q", "-o", half)
    code, out, err = call("train", graph, "--resume", half, "--params", half)
    assert code == 2 and "give --params or --resume, not both" in err
    code, out, err = call("train", graph, "-q", "--params", half)  # afresh: steps 1, 2, 3
    assert code == 0 and "  step1: {lr: 0.01, loss: 98.2082732730" in out
    assert "\nsteps_taken: 3\n" in out


def test_the_file_resumed_from_is_never_replaced(tmp_path):
    graph = graph_file(tmp_path, "{optimizer: adam, lr: 0.01, steps: 3}")
    half = str(tmp_path / "half.yaml")
    call("train", graph, "-q", "-o", half)
    before = open(half).read()
    code, out, err = call("train", graph, "--resume", half, "-o", half)
    assert code == 2 and "refusing to write" in err and "nothing was run" in err
    assert open(half).read() == before


TRAINED = """graphrun: 1
graph: chain-rule
train:
  optimizer: adam
  lr: 0.01
  steps: 3
  betas: [0.9, 0.999]
  eps: 1.0e-08
  weight_decay: 0.0
  schedule: {kind: constant}
  log_every: 1
history:
  step3: {lr: 0.01, loss: 98.80364738009993}
params:
  w: 2.970002914107084
  b: 3.9700029141145943
steps_taken: 3
exp_avg:
  w: 10.805200953325414
  b: 5.402600476662707
exp_avg_sq:
  w: 4.76648394368479
  b: 1.1916209859211975
"""


@pytest.mark.parametrize("edit,flags,message", [
    (None, ["--optimizer", "sgd"],
     "t.yaml:4:14: error: optimizer: the run this file records used adam; --optimizer says sgd: "
     "a resumed run goes on with the same optimizer, options, lr, schedule and batches (to "
     "start afresh from the file's params alone, take them with --params, or params= in "
     "Python)"),
    (None, ["--lr", "0.1"], "t.yaml:5:7: error: lr: the run this file records used 0.01; --lr "
                            "says 0.1: "),
    (("eps: 1.0e-08", "eps: 1.0e-06"), [],
     "t.yaml:8:8: error: eps: the run this file records used 1e-06; the graph's train section "
     "says 1e-08: "),
    (("exp_avg:\n  w:", "exp_avg:\n  ww:"), [],
     "t.yaml:18:1: error: the graph's param 'w' is not in this file's exp_avg\n"
     "t.yaml:19:3: error: 'ww' is not a param of the graph 'chain-rule'; did you mean 'w'? "
     "(its params: w, b)"),
    (("  b: 1.1916209859211975", "  b: [1.0, 2.0]"), [],
     "t.yaml:23:6: error: exp_avg_sq entry 'b' has shape (2,) here; the graph's param has "
     "shape ()"),
    (("exp_avg_sq:\n  w: 4.76648394368479\n  b: 1.1916209859211975\n", ""), [],
     "t.yaml:17:1: error: this file has no 'exp_avg_sq' section: Adam's state, which a "
     "resumed run goes on from (graphrun train writes it after 'steps_taken')"),
    (("exp_avg:\n", "momentum_buffer:\n  w: 1.0\n  b: 2.0\nexp_avg:\n"), [],
     "t.yaml:18:1: error: 'momentum_buffer' is SGD momentum's state, which this file's "
     "optimizer does not keep (it keeps exp_avg, exp_avg_sq)"),
    (("steps_taken: 3\n", ""), [],
     "t.yaml:1:1: error: this file has no 'steps_taken' (a graphrun from before resuming "
     "wrote it, or it was cut): --params FILE starts from its params alone, with the "
     "optimizer and the schedule afresh"),
    (("steps_taken: 3", "steps_taken: 0"), [],
     "t.yaml:17:14: error: 'steps_taken' must be a whole number >= 1 (the steps the params "
     "have taken); found integer 0"),
    (("  step3: {lr: 0.01, loss: 98.80364738009993}\n", "  step2: {lr: 0.01, loss: 99.4}\n"),
     [], "t.yaml:12:1: error: the history has no row step3 with its lr (the last step's, which "
         "graphrun always writes): a resumed run's schedule goes on from that rate"),
    (("  optimizer: adam", "  optimizer: adan"), [],
     "t.yaml:4:14: error: unknown"),
    (("  log_every: 1", "  log_every: 1\n  report: [vv]"), [],
     "t.yaml:12:12: error: unknown node 'vv'; did you mean 'v'?"),
])
def test_what_a_resumed_run_cannot_take_is_an_error_at_the_files_line(tmp_path, edit, flags,
                                                                        message):
    graph = graph_file(tmp_path, "{optimizer: adam, lr: 0.01, eps: 1.0e-08}")
    text = TRAINED
    if edit:
        assert edit[0] in text
        text = text.replace(edit[0], edit[1])
    path = tmp_path / "t.yaml"
    path.write_text(text)
    code, out, err = call("train", graph, "--resume", str(path), *flags)
    assert code == 2 and out == "", err
    assert err.startswith(message.replace("t.yaml:", f"{path}:")), err
    assert "Traceback" not in err


def test_a_conflict_with_the_graphs_section_has_a_note_at_the_graphs_line(tmp_path):
    graph = graph_file(tmp_path, "{optimizer: adam, lr: 0.01, eps: 1.0e-06}")
    path = tmp_path / "t.yaml"
    path.write_text(TRAINED)
    code, out, err = call("train", graph, "--resume", str(path))
    assert code == 2
    first, note = err.splitlines()[:2]
    assert first.startswith(f"{path}:8:8: error: eps: the run this file records used 1e-08; "
                            "the graph's train section says 1e-06: ")
    assert note == f"{graph}:17:36: note: the graph's train section says 1e-06 here"


def test_what_does_not_decide_the_trajectory_may_change(tmp_path):
    """The steps and what the history records are the new run's to choose; restating the
    file's settings is no conflict."""
    graph = graph_file(tmp_path, "{optimizer: adam, lr: 0.01, betas: [0.9, 0.999], "
                                 "log_every: 2, steps: 4}")
    path = tmp_path / "t.yaml"
    path.write_text(TRAINED)
    code, out, err = call("train", graph, "-q", "--resume", str(path), "--lr", "0.01")
    assert code == 0, err
    assert "  step4: {" in out and "  step6: {" in out and "step5" not in out and \
        "  step7: {" in out
    assert "  log_every: 2\n" in out and "  steps: 4\n" in out and "steps_taken: 7\n" in out


def test_api_mistakes_are_value_errors():
    graph = compile_text(with_train(SIMPLE, "{optimizer: adam, lr: 0.01}"))
    half = graphrun.train(graph, steps=2)
    with pytest.raises(ValueError, match="give params or resume, not both"):
        graphrun.train(graph, resume=half, params=half.params)
    other = graphrun.training_settings(graph, steps=3)
    with pytest.raises(ValueError, match="settings differ"):
        graphrun.train(graph, resume=half, settings=other)
    settings = graphrun.training_settings(graph, resume=half)
    assert settings.start == 2 and settings.steps == 2
    assert graphrun.train(graph, resume=half, settings=settings).steps_taken == 4


def test_another_graph_is_refused_at_the_files_line(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(TRAINED)
    code, out, err = call("train", LINREG, "--resume", str(path))
    assert code == 2
    assert err == (f"{path}:15:6: error: param 'w' has shape () here; the graph's has shape (2,)\n"
                   f"{path}:19:6: error: exp_avg entry 'w' has shape () here; the graph's param "
                   "has shape (2,)\n"
                   f"{path}:22:6: error: exp_avg_sq entry 'w' has shape () here; the graph's "
                   "param has shape (2,)\n")


def test_a_file_far_along_resumes_at_once(tmp_path):
    """Nothing is replayed: the schedule goes on from the last row's rate, the batches from the
    step's epoch and place (a file claiming 10^15 steps, hand-made or hostile, resumes as
    fast as any)."""
    text = with_train(CLASSIFIER, batched(ADAM))
    half = graphrun.train(compile_text(text), steps=2)
    path = tmp_path / "far.yaml"
    path.write_text(half.text().replace("steps_taken: 2", f"steps_taken: {10**15}")
                    .replace("  step2: {", f"  step{10**15}: {{"))
    far = graphrun.train(compile_text(text), resume=str(path), steps=2)
    assert [row.step for row in far.history] == [10**15 + 1, 10**15 + 2]
    assert far.steps_taken == 10**15 + 2 and f"\nsteps_taken: {10**15 + 2}\n" in far.text()


def test_diff_compares_the_state_and_the_steps_taken(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(TRAINED)
    b.write_text(TRAINED.replace("steps_taken: 3", "steps_taken: 4")
                 .replace("  w: 10.805200953325414", "  w: 10.8"))
    code, out, err = call("diff", str(a), str(b))
    assert code == 1
    assert "steps_taken" in out and "exp_avg.w" in out and "exp_avg.b" not in out
    assert call("diff", str(a), str(a))[0] == 0


def test_batches_the_file_did_not_have_are_a_conflict_at_its_train_key(tmp_path):
    whole = tmp_path / "whole.yaml"
    whole.write_text(with_train(CLASSIFIER, ADAM))
    batched_graph = tmp_path / "batched.yaml"
    batched_graph.write_text(with_train(CLASSIFIER, batched(ADAM)))
    half = str(tmp_path / "half.yaml")
    assert call("train", str(whole), "--steps", "3", "-q", "-o", half)[0] == 0
    code, out, err = call("train", str(batched_graph), "--resume", half)
    assert code == 2
    assert err.startswith(f"{half}:3:1: error: batch: the run this file records used all the "
                          "data at every step (no batch); the graph's train section says "
                          "batches: ")
    assert f"{batched_graph}:28:" in err.splitlines()[1]


def test_a_resumed_run_that_diverges_says_where_it_went_from_and_to(tmp_path):
    half = str(tmp_path / "half.yaml")
    assert call("train", SIMPLE, "--lr", "0.5", "--steps", "100", "-q", "-o", half)[0] == 0
    code, out, err = call("train", SIMPLE, "--resume", half, "--steps", "200")
    assert code == 2 and out == ""
    assert err.startswith(f"{SIMPLE}:15:8: error: node 'L' (square): forward produced inf; "
                          "training diverged at step 256 of 300 (lr 0.5): the loss went from "
                          "2.58225e+122 at step 101 to 7.02224e+307 at step 255; try a smaller "
                          "learning rate"), err
    big = tmp_path / "big.yaml"
    big.write_text(re.sub(r"(?m)^  w: .*$", "  w: 1.0e+200", open(half).read(), count=1))
    code, out, err = call("train", SIMPLE, "--resume", str(big))
    assert code == 2 and err == (f"{SIMPLE}:15:8: error: node 'L' (square): forward produced "
                                 "inf; at step 101, the first of this resumed run, before any "
                                 "of its updates: the params it resumes from already give it "
                                 "(lr 0.5)\n")
