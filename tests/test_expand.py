"""`graphrun expand GRAPH` keeps every section it does not expand: only `nodes` is rewritten (one
`{op, args}` node per operation) and `blocks`/`include` are expanded away; `outputs:`, `train:`,
`tolerance:`, `loss:`, `name:`, `description:` and the leaves survive, so that the expanded file
runs *and trains* to byte-identical results. (tests/test_expr.py checks the explicit form
itself.)"""

import glob
import os
import shutil
import textwrap

import pytest
import yaml

from conftest import ROOT, call
from graphrun.frontend.blocks import is_library_file
from graphrun.frontend.explicit import EXPANDED

EXAMPLES = [g for g in sorted(glob.glob(os.path.join(ROOT, "graphs", "*.yaml")))
            if not is_library_file(g)]

LAYERS = textwrap.dedent("""\
    graphrun: 1
    blocks:
      dense_tanh:
        args: [x, W, b]
        nodes:
          z: x @ W + b
          out: tanh(z)
        output: out
    """)

# graphs written for this test: each has sections expand must keep, in the forms they take
WRITTEN = {
    "outputs_and_train.yaml": textwrap.dedent("""\
        graphrun: 1
        name: "odd: name"
        description: "a description, with: colons"
        include: [layers.yaml]
        inputs:
          X: [[1.0, 2.0], [3.0, -1.0], [0.5, 0.25], [-1.0, 1.5]]
          t: [1.0, -1.0, 0.5, 0.0]
        params:
          W: [[0.5, -0.25], [0.125, 1.0]]
          b: [0.1, -0.2]
          v: [0.3, -0.7]
        nodes:
          h: dense_tanh(X, W, b)
          pred: h @ v
          L: mean((pred - t) ** 2)
          m: max(pred)
        loss: L
        tolerance: {rtol: 1.0e-9, atol: 1.0e-12}
        outputs:
          values: [L, "h*", m]
          gradients: [params, h]
          digits: 6
        train:
          optimizer: adam
          lr: 0.01
          betas: [0.8, 0.99]
          eps: 1.0e-6
          weight_decay: 0.001
          steps: 7
          log_every: 2
          schedule: {kind: step, step_size: 3, gamma: 0.5}
          batch: {size: 2, over: [X, t], shuffle: true, seed: 4}
          report: [m]
        """),
    "outputs_words.yaml": textwrap.dedent("""\
        graphrun: 1
        inputs:
          x: 2.0
        params:
          w: 3.0
        nodes:
          u: w * x + 1
          L: u ** 2
        loss: L
        outputs: {values: none, gradients: params}
        train: {optimizer: sgd, lr: 0.001, momentum: 0.5, nesterov: true, dampening: 0.0,
                epochs: 3, schedule: {kind: cosine, t_max: 2, eta_min: 0.0001}}
        """),
    "values_only.yaml": textwrap.dedent("""\
        graphrun: 1
        name: values_only
        inputs:
          x: [1.0, 2.0, 3.0]
        nodes:
          y: exp(x) + x
          z: sum(y)
        outputs: {values: [z, inputs]}
        """),
}


def written_folder(tmp_path):
    folder = tmp_path / "written"
    folder.mkdir()
    (folder / "layers.yaml").write_text(LAYERS)
    for name, text in WRITTEN.items():
        (folder / name).write_text(text)
    return folder


def expanded_beside(graph, folder):
    """Expand `graph` and write the result into `folder` (where its file: paths still resolve)."""
    code, text, err = call("expand", str(graph))
    assert (code, err) == (0, "")
    target = folder / ("expanded." + os.path.basename(graph))
    target.write_text(text)
    return target, text


def cases(tmp_path, which):
    """(original, folder the expanded file goes in) for example `which`."""
    if which in WRITTEN:
        folder = written_folder(tmp_path)
        return folder / which, folder
    folder = tmp_path / "graphs"
    shutil.copytree(os.path.dirname(which), folder)  # file: paths stay relative to the folder
    return folder / os.path.basename(which), folder


ALL = EXAMPLES + sorted(WRITTEN)


def ids(which):
    return os.path.basename(which)


@pytest.mark.parametrize("which", ALL, ids=ids)
def test_expand_keeps_every_section_it_does_not_expand(which, tmp_path):
    graph, folder = cases(tmp_path, which)
    target, text = expanded_beside(graph, folder)
    with open(graph) as f:
        original = yaml.safe_load(f)
    expanded = yaml.safe_load(text)
    kept = set(original) - set(EXPANDED)
    assert set(expanded) == kept | {"nodes", "name"}  # a graph without a name: its file's stem
    assert expanded["name"] == original.get("name", os.path.splitext(graph.name)[0])
    for section in kept - {"inputs", "params"}:  # leaves: yaml.safe_load reads 1e-3 as text
        assert expanded[section] == original[section], section
    assert expanded["nodes"] and "blocks" not in expanded and "include" not in expanded


@pytest.mark.parametrize("which", ALL, ids=ids)
def test_the_expanded_file_runs_to_byte_identical_results(which, tmp_path):
    graph, folder = cases(tmp_path, which)
    target, _ = expanded_beside(graph, folder)
    got = call("run", str(target))
    assert got == call("run", str(graph)) and got[0] == 0
    assert call("expand", str(target))[1] == call("expand", str(graph))[1]  # a fixed point


def test_outputs_selection_survives(tmp_path):
    folder = written_folder(tmp_path)
    target, _ = expanded_beside(folder / "outputs_and_train.yaml", folder)
    code, out, err = call("run", str(target))
    doc = yaml.safe_load(out)
    assert (code, err) == (0, "")
    # values: L, the glob h* (h.z.1, h.z, h) and m; gradients: the params and h; 6 digits
    assert list(doc["values"]) == ["h.z.1", "h.z", "h", "L", "m"]
    assert list(doc["gradients"]) == ["W", "b", "v", "h"]
    assert "pred" not in out and doc["values"]["L"] == float(f"{doc['values']['L']:.6g}")


TRAINED = [g for g in ALL
           if "train" in yaml.safe_load(WRITTEN[g] if g in WRITTEN else open(g).read())]


def test_the_examples_with_a_train_section_are_tested():
    assert {os.path.basename(g) for g in TRAINED} >= {
        "classifier.yaml", "linreg.yaml", "outputs_and_train.yaml", "outputs_words.yaml"}


@pytest.mark.parametrize("which", TRAINED, ids=ids)
def test_the_expanded_file_trains_to_identical_results(which, tmp_path):
    graph, folder = cases(tmp_path, which)
    target, _ = expanded_beside(graph, folder)
    # the train section's own settings (steps, optimizer, schedule, batches, report) decide
    got = call("train", "-q", str(target))
    assert got == call("train", "-q", str(graph)) and got[0] == 0
