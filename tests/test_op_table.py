"""The op table as a registry: each entry declares everything about its op (the rest is derived
from it), a failed lookup lists what exists, defaults come from the entry, and docs/ops.md has a
row for every op and for nothing else."""

import os
import re

import numpy as np
import pytest

from conftest import ROOT, compile_text
from graphrun.ops import OPS, REQUIRED, Type
from graphrun.ops.core import op as register


def test_a_failed_lookup_lists_what_exists():
    with pytest.raises(KeyError) as e:
        OPS["mull"]
    assert "no op 'mull'; known ops: abs, accuracy, add, " in str(e.value) and "transpose" in str(e.value)
    assert OPS.get("mull") is None  # still a plain dict


def test_an_op_is_registered_once():
    mul = OPS["mul"]
    with pytest.raises(ValueError, match="'mul' is registered twice"):
        register("mul", forward=mul.forward, vjps=mul.vjps, infer=lambda name, *types: None)


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_entry_says_what_it_is(name):
    op = OPS[name]
    assert op.doc and "\n" not in op.doc
    assert len(op.local) == (1 if op.variadic else op.arity), "one explain text per argument"
    for key, attr in op.attrs.items():
        assert attr.doc, f"{name}: attribute '{key}' has no doc"
        assert attr.default is REQUIRED or attr.kind.fits(attr.default), (name, key)


@pytest.mark.parametrize("name", sorted(n for n in OPS if any(
    a.default is not REQUIRED for a in OPS[n].attrs.values())))
def test_defaults_come_from_the_entry(name):
    """A call that leaves an attribute out gets the entry's default: the same as passing it."""
    op = OPS[name]
    s = next(s for s in op.samples if not set(s.attrs) & set(op.attrs) - set(op.required))
    attrs = {k: op.attrs[k].kind.normalise(v) for k, v in s.attrs.items()}
    full = {**{k: a.default for k, a in op.attrs.items() if a.default is not REQUIRED}, **attrs}
    rng = np.random.default_rng(0)
    args = [d.draw(rng, shape) for shape, d in zip(s.shapes, s.domains)]
    np.testing.assert_array_equal(op.forward(*args, **attrs), op.forward(*args, **full))
    types = [Type(np.shape(a), np.asarray(a).dtype) for a in args]
    assert op.infer(*types, **attrs) == op.infer(*types, **full)


def test_a_node_leaving_an_attribute_out_runs_with_the_default():
    program = compile_text("graphrun: 1\nparams: {x: [[1.0, 5.0], [3.0, 2.0]]}\nnodes:\n"
                           "  s: {op: softmax, args: [x]}\n  m: {op: max, args: [x]}\n").program
    types = dict(zip(program.names, program.types))
    assert types["m"].shape == () and types["s"].shape == (2, 2)  # max over every axis


# ---------------------------------------------------------------------------------------------
# docs/ops.md: a row per op

def _rows_naming_ops():
    """The first cell of every row of the tables whose first column is `op`."""
    with open(os.path.join(ROOT, "docs", "ops.md"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    names, in_op_table = [], False
    for line in lines:
        if not line.startswith("|"):
            in_op_table = False
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == "op":
            in_op_table = True
        elif in_op_table and not set(cells[0]) <= set("-: "):
            match = re.fullmatch(r"`([a-z_0-9]+)(\(.*\))?`", cells[0])
            assert match, f"docs/ops.md: an op row that names no op: {line}"
            names.append(match.group(1))
    return names


def test_docs_have_a_row_for_every_op_and_no_other():
    names = _rows_naming_ops()
    assert len(names) == len(set(names)), "an op with two rows"
    assert set(OPS) - set(names) == set(), "ops of the table without a row in docs/ops.md"
    assert set(names) - set(OPS) == set(), "rows in docs/ops.md that name no op of the table"
