"""graphrun train and the commands that read what it writes: the training results file, --params
TRAINED on run, train, check, explain and draw, check --train, diff, divergence, progress, --plot."""

import io
import os
import shutil
import sys

import numpy as np
import pytest

import graphrun
from conftest import ROOT, call

SIMPLE = os.path.join(ROOT, "graphs", "simple.yaml")
LINREG = os.path.join(ROOT, "graphs", "linreg.yaml")


def trained(tmp_path, *argv, graph=SIMPLE, name="t.train.results.yaml"):
    path = str(tmp_path / name)
    code, out, err = call("train", graph, "-o", path, "-q", *argv)
    assert code == 0, err
    return path


def test_the_training_results_file(tmp_path):
    path = trained(tmp_path, "--lr", "0.01", "--steps", "3")
    assert open(path).read() == """\
graphrun: 1
graph: chain-rule
train:
  optimizer: sgd
  lr: 0.01
  steps: 3
  momentum: 0.0
  dampening: 0.0
  nesterov: false
  weight_decay: 0.0
  schedule: {kind: constant}
  log_every: 1
history:
  step1: {lr: 0.01, loss: 100.0}
  step2: {lr: 0.01, loss: 81.0}
  step3: {lr: 0.01, loss: 65.61}
params:
  w: 1.9160000000000001
  b: 3.4579999999999997
steps_taken: 3
"""
    code, out, err = call("train", SIMPLE, "--lr", "0.01", "--steps", "3")
    assert out == open(path).read()  # stdout gets the same text
    assert err.startswith("trained chain-rule: 3 steps of sgd, lr 0.01, in ")
    assert err.endswith("loss 100 at step 1, 65.61 at step 3; best 65.61 at step 3\n")


def test_reruns_are_byte_identical_and_the_settings_section_trains_again(tmp_path):
    first = trained(tmp_path, "--steps", "20", "--optimizer", "adam", "--lr", "0.1", name="a.yaml")
    again = trained(tmp_path, "--steps", "20", "--optimizer", "adam", "--lr", "0.1", name="b.yaml")
    assert open(first, "rb").read() == open(again, "rb").read()
    # the train section written is a graph file's: pasted into the graph, it trains the same
    text = open(first).read()
    section = text[text.index("train:\n"):text.index("history:")]
    graph = tmp_path / "g.yaml"
    graph.write_text(open(SIMPLE).read() + section)
    code, out, err = call("train", str(graph), "-q")
    assert out.replace("graph: chain-rule", "") == text.replace("graph: chain-rule", "")


def test_o_dir_names_the_file_after_the_graph(tmp_path):
    code, out, err = call("train", LINREG, "-o", str(tmp_path) + os.sep, "-q")
    assert code == 0 and out == "" and err == ""
    assert os.listdir(tmp_path) == ["linreg.train.results.yaml"]


def test_a_missing_output_folder_is_an_error_after_training(tmp_path):
    code, out, err = call("train", LINREG, "-o", str(tmp_path / "no" / "x.yaml"), "-q")
    assert code == 2 and "graphrun: error: cannot write" in err and "does not exist" in err


# ---------------------------------------------------------------------------------------------
# --params TRAINED

def test_run_takes_the_trained_params(tmp_path):
    path = trained(tmp_path, "--lr", "0.01", "--steps", "1")
    code, out, err = call("run", SIMPLE, "--params", path)
    assert code == 0, err
    assert "loss: 81.0\n" in out  # w = 2.6, b = 3.8: v = 9
    assert "  w: 36.0\n" in out  # dL/dw = 2 v x


def test_training_goes_on_from_trained_params_alone(tmp_path):
    """Plain SGD keeps no state: 5 steps, then 5 more from their params, are 10 steps' params;
    --params starts the rest afresh (the step count, the history's numbers)."""
    half = trained(tmp_path, "--lr", "0.01", "--steps", "5", name="half.yaml")
    rest = trained(tmp_path, "--lr", "0.01", "--steps", "5", "--params", half, name="rest.yaml")
    whole = trained(tmp_path, "--lr", "0.01", "--steps", "10", name="whole.yaml")
    params = lambda path: open(path).read().split("params:")[1].split("steps_taken")[0]  # noqa
    assert params(rest) == params(whole)
    assert "  step1: {lr: 0.01, loss: 34.867844" in open(rest).read()  # 100 * 0.81^5
    assert "\nsteps_taken: 5\n" in open(rest).read()


def test_check_explain_and_draw_take_trained_params(tmp_path):
    path = trained(tmp_path, "--lr", "0.01", "--steps", "1")
    code, out, err = call("explain", SIMPLE, "--params", path)
    assert code == 0 and "  w = 2.6   (param)" in out and "  L = square(v) = 81" in out
    code, out, err = call("draw", SIMPLE, "--params", path)
    assert code == 0 and "value 2.6" in out
    golden = str(tmp_path / "g.results.yaml")
    assert call("check", SIMPLE, "--golden", golden, "--params", path, "--update")[0] == 0
    assert "loss: 81.0" in open(golden).read()
    assert call("check", SIMPLE, "--golden", golden, "--params", path)[0] == 0
    assert call("check", SIMPLE, "--golden", golden)[0] == 1  # the graph's own params differ


@pytest.mark.parametrize("params,message", [
    ("  ww: 2.6\n  b: 3.8\n",
     "t.yaml:3:3: error: 'ww' is not a param of the graph 'chain-rule'; did you mean 'w'? (its "
     "params: w, b)"),
    ("  w: [2.6, 1.0]\n  b: 3.8\n",
     "t.yaml:3:6: error: param 'w' has shape (2,) here; the graph's has shape ()"),
    ("  w: {value: 2.6, dtype: float32}\n  b: 3.8\n",
     "t.yaml:3:6: error: param 'w' is float32 here; the graph's is float64"),
    ("  w: 2.6\n", "t.yaml:2:1: error: the graph's param 'b' is not in this file"),
    ("  w: two\n  b: 3.8\n",
     "t.yaml:3:6: error: expected a number or a rectangular nested list of numbers; found string "
     "'two'"),
])
def test_trained_params_that_do_not_fit_are_errors_at_their_line(tmp_path, params, message):
    path = tmp_path / "t.yaml"
    path.write_text("graphrun: 1\nparams:\n" + params)
    for command in (["run", SIMPLE], ["train", SIMPLE, "--steps", "1"], ["explain", SIMPLE],
                    ["draw", SIMPLE]):
        code, out, err = call(*command, "--params", str(path))
        assert code == 2 and out == "", command
        assert f"{path}{message.split('t.yaml', 1)[1]}" in err.splitlines(), (command, err)
        assert err.startswith(str(path)), err


def test_the_error_says_which_line_even_for_a_missing_param(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("graphrun: 1\ngraph: x\nparams:\n  w: 2.6\n")
    code, out, err = call("run", SIMPLE, "--params", str(path))
    assert err == f"{path}:3:1: error: the graph's param 'b' is not in this file\n"


def test_a_results_file_is_not_a_training_file(tmp_path):
    results = tmp_path / "r.results.yaml"
    assert call("run", SIMPLE, "-o", str(results))[0] == 0
    code, out, err = call("run", SIMPLE, "--params", str(results))
    assert code == 2 and "1:1: error: not a training results file: it has no 'params' mapping" in err
    code, out, err = call("run", SIMPLE, "--params", str(tmp_path / "none.yaml"))
    assert code == 2 and "none.yaml:1:1: error: no such training results file" in err


def test_big_params_go_to_sidecars_and_come_back(tmp_path):
    text = open(LINREG).read().replace("w: [1.0, 1.0]", "w: [1.0, 1.0]\n  big: {init: normal, "
                                       "shape: [40, 30], seed: 3}")
    text = text.replace("  L: {op: mse, args: [pred, y]}",
                        "  L0: {op: mse, args: [pred, y]}\n  bs: {op: mean, args: [big]}\n"
                        "  bs2: {op: square, args: [bs]}\n  L: {op: add, args: [L0, bs2]}")
    graph = tmp_path / "big.yaml"
    graph.write_text(text)
    path = trained(tmp_path, "--steps", "3", graph=str(graph), name="big.train.results.yaml")
    written = open(path).read()
    folder = tmp_path / "big.train.results.arrays"
    # named by their content, as results files' sidecars are: the param and its velocity
    name, state = sorted(os.listdir(folder))  # hex digits sort before "momentum"
    assert name.startswith("params.big.") and name.endswith(".npy")
    assert state.startswith("params.big.momentum_buffer.") and state.endswith(".npy")
    assert f"params:\n  w: [" in written
    assert f"  big: {{file: big.train.results.arrays/{name}}}\n" in written
    assert f"momentum_buffer:\n  w: [" in written
    assert f"  big: {{file: big.train.results.arrays/{state}}}\n" in written
    np.testing.assert_array_equal(np.load(folder / state).shape, (40, 30))
    array = np.load(folder / name)
    assert array.shape == (40, 30)
    params = graphrun.trained_params(path, graphrun.compile(str(graph)))
    np.testing.assert_array_equal(params["big"], array)
    code, out, err = call("train", str(graph), "--steps", "3", "-q")  # stdout: every param inline
    assert "params.big" not in out and len(out) > len(written) + 1200 * 10
    trained(tmp_path, "--steps", "4", graph=str(graph), name="big.train.results.yaml")
    again = set(os.listdir(folder))  # the stale sidecars went with the file that named them
    assert len(again) == 2 and not again & {name, state}


def test_an_output_that_is_an_input_is_refused_before_training(tmp_path):
    path = trained(tmp_path, "--lr", "0.01", "--steps", "2")
    before = open(path).read()
    for argv in (["-o", path, "--params", path], ["-o", SIMPLE], ["--plot", SIMPLE]):
        code, out, err = call("train", SIMPLE, "--lr", "0.1", "--steps", "2", *argv)
        assert code == 2 and "refusing to write" in err and "nothing was run" in err, err
    assert open(path).read() == before


# ---------------------------------------------------------------------------------------------
# explain --train

def test_explain_train_writes_the_lessons_update():
    code, out, err = call("explain", SIMPLE, "--train", "--lr", "0.01")
    assert code == 0, err
    assert "  w ← w − lr · ∂L/∂w = 3 − 0.01 · 40 = 2.6\n" in out
    assert "  b ← b − lr · ∂L/∂b = 4 − 0.01 · 20 = 3.8\n" in out
    assert "  backward: ∂L/∂w = 40, ∂L/∂b = 20" in out
    assert "after the update: L = 81 (was 100)" in out


def test_explain_train_shows_the_optimizers_state(tmp_path):
    code, out, err = call("explain", SIMPLE, "--train", "--lr", "0.01", "--optimizer", "adam")
    assert "    m_w ← β1 · m_w + (1 − β1) · ∂L/∂w = 0.9 · 0 + 0.1 · 40 = 4\n" in out
    assert "    v_w ← β2 · v_w + (1 − β2) · (∂L/∂w)² = 0.999 · 0 + 0.001 · 1600 = 1.6\n" in out
    assert "m̂ = m_w / 0.1 = 40, v̂ = v_w / 0.001 = 1600" in out
    assert "    w ← w − lr · m̂ / (√v̂ + ε) = 3 − 0.01 · 40 / (40 + 1e-08) = 2.99\n" in out
    graph = tmp_path / "g.yaml"
    graph.write_text(open(SIMPLE).read() + "train: {lr: 0.01, momentum: 0.9, nesterov: true}\n")
    code, out, err = call("explain", str(graph), "--train")
    assert "    velocity_w ← ∂L/∂w = 40   (the first step starts the velocity" in out
    assert "    g_w ← ∂L/∂w + momentum · velocity_w = 40 + 0.9 · 40 = 76\n" in out
    assert "    w ← w − lr · g_w = 3 − 0.01 · 76 = 2.24\n" in out


def test_explain_train_on_a_batch_of_tensors(tmp_path):
    text = open(os.path.join(ROOT, "graphs", "classifier.yaml")).read()
    text = text.replace("  report: [acc]\n", "  report: [acc]\n  batch: {size: 5, over: [X, y]}\n")
    path = tmp_path / "c.yaml"
    shutil.copytree(os.path.join(ROOT, "graphs", "data"), tmp_path / "data")  # data stays beside
    path.write_text(text)
    code, out, err = call("explain", str(path), "--train")
    assert code == 0, err
    assert "  on the first batch: 5 of the 12 rows of X, y (epoch 1, batch 1 of 3)\n" in out
    assert "\n    ∂L/∂W1 = (2,5) norm " in out and "\n  W1:\n    m_W1 ← β1 · m_W1" in out
    assert "\n    W1 ← W1 − lr · m̂ / (√v̂ + ε)\n       = (2,5) norm " in out


def test_explain_train_numbers_are_the_engines():
    graph = graphrun.compile(SIMPLE)
    for optimizer in ("sgd", "adam", "adamw"):
        e = graphrun.explain_training(graph, optimizer=optimizer, lr=0.01)
        step = graphrun.train(graph, optimizer=optimizer, lr=0.01, steps=1)
        assert {p.name: float(p.after) for p in e.params} == \
            {n: float(v) for n, v in step.params.items()}


def test_explain_flags_go_together():
    assert call("explain", SIMPLE, "--lr", "0.1")[0] == 2
    code, out, err = call("explain", SIMPLE, "--train", "--param", "w")
    assert code == 2 and "takes no --param or --format" in err


# ---------------------------------------------------------------------------------------------
# check --train and diff

def test_check_train_against_a_golden(tmp_path):
    golden = str(tmp_path / "linreg.train.results.yaml")
    code, out, err = call("check", "--train", LINREG, "--golden", golden)
    assert code == 1 and "create it with: graphrun check --train" in out
    assert call("check", "--train", LINREG, "--golden", golden, "--update")[0] == 0
    assert call("check", "--train", LINREG, "--golden", golden)[0] == 0
    text = open(golden).read()
    changed = text.replace("  step50: {lr: 0.05, loss: ", "  step50: {lr: 0.05, loss: 1")
    with open(golden, "w") as f:
        f.write(changed)
    code, out, err = call("check", "--train", LINREG, "--golden", golden)
    assert code == 1, out + err
    line = changed.splitlines().index(next(l for l in changed.splitlines() if "step50:" in l)) + 1
    assert f"history.50.loss" in out and f"{golden}:{line}" in out
    code, out, err = call("check", "--train", str(tmp_path), "--golden", str(tmp_path) + "/")
    assert code == 2  # the folder holds no graphs, only the golden


def test_check_train_folders_use_the_training_name(tmp_path):
    graphs = tmp_path / "graphs"
    graphs.mkdir()
    for name in ("linreg", "simple"):
        text = open(os.path.join(ROOT, "graphs", f"{name}.yaml")).read()
        if name == "simple":
            text += "train: {lr: 0.01, steps: 5}\n"
        (graphs / f"{name}.yaml").write_text(text)
    golden = tmp_path / "golden"
    code, out, err = call("check", "--train", str(graphs), "--golden", str(golden), "--update")
    assert code == 0, out + err
    assert sorted(os.listdir(golden)) == ["linreg.train.results.yaml", "simple.train.results.yaml"]


def test_diff_compares_two_training_files(tmp_path):
    a = trained(tmp_path, "--lr", "0.01", "--steps", "4", name="a.yaml")
    b = trained(tmp_path, "--lr", "0.011", "--steps", "4", name="b.yaml")
    assert call("diff", a, a) == (0, f"ok {a} and {a} match\n", "")
    code, out, err = call("diff", a, b)
    assert code == 1
    for entry in ("train.lr", "history.2.lr", "history.2.loss", "params.w", "params.b"):
        assert f"  {entry} " in out, entry
    assert "history.1.loss" not in out  # the first loss is the graph's: the same
    c = trained(tmp_path, "--lr", "0.01", "--steps", "5", name="c.yaml")
    code, out, err = call("diff", a, c, "--format", "json")
    assert code == 1 and '"entry": "history.5.loss"' in out and '"kind": "new"' in out


def test_diff_reads_a_broken_training_file_with_its_line(tmp_path):
    a = trained(tmp_path, "--lr", "0.01", "--steps", "2", name="a.yaml")
    text = open(a).read().replace("loss: 81.0", "loss: many")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    code, out, err = call("diff", a, str(bad))
    line = text.splitlines().index(next(l for l in text.splitlines() if "many" in l)) + 1
    assert code == 2 and f"bad.yaml:{line}:" in err and "found string 'many'" in err


# ---------------------------------------------------------------------------------------------
# divergence

def test_divergence_stops_at_the_node_with_the_step_and_the_lr_and_writes_nothing(tmp_path):
    out_file = tmp_path / "t.yaml"
    out_file.write_text("before\n")
    code, out, err = call("train", SIMPLE, "--lr", "0.5", "--steps", "300", "-o", str(out_file))
    assert code == 2 and out == ""
    assert err == (f"{SIMPLE}:15:8: error: node 'L' (square): forward produced inf; training "
                   "diverged at step 256 of 300 (lr 0.5): the loss went from 100 at step 1 to "
                   "7.02224e+307 at step 255; try a smaller learning rate (--lr, or lr: in the "
                   "train section)\n")
    assert out_file.read_text() == "before\n"
    assert os.listdir(tmp_path) == ["t.yaml"]


@pytest.mark.parametrize("fast", [True, False])
def test_divergence_is_the_same_on_either_path(fast):
    with pytest.raises(graphrun.NumericError) as e:
        graphrun.train(graphrun.compile(SIMPLE), lr=0.5, steps=300, fast=fast)
    assert "training diverged at step 256 of 300 (lr 0.5)" in str(e.value)
    assert str(e.value).endswith("; try a smaller learning rate (lr=...)")


def test_a_gradient_that_is_not_finite_stops_the_run_at_its_node(tmp_path):
    graph = tmp_path / "g.yaml"  # sqrt at 0: forward 0, backward 1/0
    graph.write_text("graphrun: 1\nparams: {w: 1.0}\nnodes:\n  d: {op: sub, args: [w, 1.0]}\n"
                     "  s: {op: sqrt, args: [d]}\nloss: s\ntrain: {lr: 0.1, steps: 3}\n")
    code, out, err = call("train", str(graph))
    assert code == 2
    assert err.startswith(f"{graph}:5:6: error: node 's' (sqrt): backward produced inf")
    assert "at step 1, before any update: the graph's own params already give it (lr 0.1)" in err


# ---------------------------------------------------------------------------------------------
# progress and the summary

class Terminal(io.StringIO):
    def isatty(self):
        return True


def run_with(err, *argv):
    from graphrun.cli import main
    out = io.StringIO()
    code = main(["train", LINREG, *argv], out, err)
    return code, out.getvalue(), err.getvalue()


def test_a_progress_line_on_a_terminal():
    code, out, err = run_with(Terminal())
    assert code == 0
    assert "\r\x1b[Kstep 1/500  loss 1.8  " in err and " steps/s  0:" in err and " left" in err
    assert err.endswith("\r\x1b[Ktrained linreg: 500 steps of sgd, lr 0.05, in " + err.split(
        "\r\x1b[Ktrained linreg: 500 steps of sgd, lr 0.05, in ")[1])  # the line is cleared


def test_no_progress_when_quiet_or_not_a_terminal():
    code, out, err = run_with(Terminal(), "--quiet")
    assert code == 0 and err == ""
    code, out, err = run_with(io.StringIO())
    assert "\r" not in err and err.startswith("trained linreg: 500 steps of sgd")
    assert "; best 0.00268657 at step " in err


def test_progress_reaches_a_python_caller():
    seen = []
    graphrun.train(graphrun.compile(LINREG), progress=seen.append)
    assert seen and seen[0].step == 1 and seen[0].steps == 500 and seen[0].loss == 1.8


# ---------------------------------------------------------------------------------------------
# --plot

def test_plot_draws_the_loss_curve_with_matplotlib(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib (the 'plot' extra) is not installed")
    png, svg = tmp_path / "loss.png", tmp_path / "loss.svg"
    code, out, err = call("train", os.path.join(ROOT, "graphs", "classifier.yaml"), "--plot",
                          str(png), "-q")
    assert code == 0, err
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 5000
    assert call("train", LINREG, "--plot", str(svg), "-q")[0] == 0
    first = svg.read_bytes()
    assert b"<svg" in first[:500]
    assert call("train", LINREG, "--plot", str(svg), "-q")[0] == 0
    assert svg.read_bytes() == first  # no date in it: a rerun draws the same file


def test_without_matplotlib_the_message_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    code, out, err = call("train", LINREG, "--plot", str(tmp_path / "loss.png"))
    assert code == 2 and out == ""
    assert err == ("graphrun: error: plotting needs matplotlib, an optional extra of graphrun: "
                   "pip install 'graphrun[plot]'\n")
    assert os.listdir(tmp_path) == []


def test_a_plot_file_needs_a_known_extension(tmp_path):
    code, out, err = call("train", LINREG, "--plot", str(tmp_path / "loss.gif"))
    assert code == 2 and "name a .png, .svg or .pdf file" in err


def test_the_plot_extra_is_declared():
    text = open(os.path.join(ROOT, "pyproject.toml")).read()
    assert 'plot = ["matplotlib>=3.5"]' in text
