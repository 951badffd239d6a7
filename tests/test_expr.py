"""Expressions: `u: w * x` is the node `{op: mul, args: [w, x]}`. The parser against Python's own
(precedence, associativity), its limits, nothing evaluated, every problem at the exact line and
column of its token (hand-counted below) for every scalar style, the generated names, the fast
path against the general one, and `graphrun expand` giving byte-identical results."""

import ast
import glob
import os
import shutil

import pytest

import graphrun
from conftest import ROOT, call, compile_text, run_text
from graphrun.errors import GraphError
from graphrun.frontend import blocks, expr
from graphrun.frontend.blocks import is_library_file
from graphrun.frontend.expr import ExprError, parse
from graphrun.frontend.load import load_bytes
from graphrun.frontend.sites import At
from graphrun.frontend.spec import arg_path
from graphrun.ops import OPS

HEAD = "graphrun: 1\ninputs: {x: 2.0, y: [1.0, 2.0]}\nparams: {w: 3.0, b: [4.0, 5.0]}\n"


def errors(text, name="g.yaml"):
    with pytest.raises(GraphError) as e:
        compile_text(text, name)
    return [f"{row.line}:{row.col}: {row.message}" for row in e.value.located()]


# ---------------------------------------------------------------------------------------------
# the grammar, against Python's parser as the oracle

def canonical(tree):
    """Our tree as nested tuples (op, operands...)."""
    kind = type(tree)
    if kind is expr.Name:
        return tree.text
    if kind is expr.Number:
        return float(tree.value)
    if kind is expr.BinOp:
        return (tree.op, canonical(tree.left), canonical(tree.right))
    if kind is expr.Neg:
        return ("neg", canonical(tree.operand))
    if kind is expr.Call:
        return (tree.func,) + tuple(canonical(a) for a in tree.args)
    raise AssertionError(tree)


PY_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.MatMult: "@",
          ast.Pow: "**"}


def python_canonical(node):
    """Python's tree of the same text, in the same form (its constant folding of -1 included)."""
    if isinstance(node, ast.Expression):
        return python_canonical(node.body)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.BinOp):
        return (PY_OPS[type(node.op)], python_canonical(node.left), python_canonical(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = python_canonical(node.operand)
        return -inner if isinstance(node.operand, ast.Constant) else ("neg", inner)
    if isinstance(node, ast.Call):
        return (node.func.id,) + tuple(python_canonical(a) for a in node.args)
    raise AssertionError(ast.dump(node))


CASES = [
    "a + b * c", "a * b + c", "a - b - c", "a / b / c", "a ** b ** c", "-a ** 2", "(-a) ** 2",
    "2 ** -a", "a @ b @ c", "a + b @ c * d", "-a * b", "- - a", "a * -b", "-1 * a", "a ** -1",
    "tanh(a @ b + c) * 2", "f(a, b + c, -d)", "(a + b) * (c - d) / e ** f ** -g",
    "a - -b", "1e-3 * a + .5", "x1 * 3.25 - 7", "a*b/c@d", "exp(-(a - b) ** 2 / 2)",
]


@pytest.mark.parametrize("text", CASES)
def test_precedence_and_associativity_are_pythons(text):
    assert canonical(parse(text)) == python_canonical(ast.parse(text, mode="eval"))


def test_every_operator_is_one_op_of_the_table():
    assert set(expr.OPERATORS.values()) | {expr.NEGATE, expr.SQUARE} <= set(OPS)
    graph = compile_text(HEAD + "nodes:\n  s: x + w\n  d: x - w\n  m: x * w\n  q: x / w\n"
                         "  p: x ** w\n  sq: x ** 2\n  cube: x ** 3\n  n: -x\n  mm: y @ b\n")
    ops = {step.name: step.op.name for step in graph.program.steps}
    assert ops == {"s": "add", "d": "sub", "m": "mul", "q": "div", "p": "pow", "sq": "square",
                   "cube": "pow", "n": "neg", "mm": "matmul"}


def test_a_negative_literal_is_a_literal_and_attributes_are_keywords():
    graph = compile_text(HEAD + "nodes:\n  u: x * -2\n  s: sum(y * w, axis=0, keepdims=true)\n"
                                "  r: reshape(y, shape=[2, -1])\n")
    steps = {step.name: step for step in graph.program.steps}
    assert steps["u"].op.name == "mul" and len(graph.program.consts) == 1
    assert graph.program.consts[0][1] == -2.0
    assert steps["s"].attrs == (("axis", 0), ("keepdims", True))
    assert steps["r"].attrs == (("shape", (2, -1)),)


# ---------------------------------------------------------------------------------------------
# limits and safety

def test_deep_nesting_and_long_expressions_are_refused_with_a_clear_error():
    for depth in (65, 10_000):
        text = "(" * depth + "x" + ")" * depth
        with pytest.raises(ExprError) as e:
            parse(text)
        assert "nested deeper than 64 levels" in e.value.message or \
            "at most 10,000" in e.value.message
    assert canonical(parse("(" * 64 + "x" + ")" * 64)) == "x"
    with pytest.raises(ExprError) as e:
        parse("x + " * 250_000 + "x")  # a megabyte
    assert "1,000,001 characters" in e.value.message and e.value.at == 0
    with pytest.raises(ExprError) as e:
        parse("- " * 100 + "x")
    assert "nested deeper than 64" in e.value.message and e.value.at == 128
    with pytest.raises(ExprError) as e:
        parse(" + ".join(["x"] * 70))
    assert "chain of operators" in e.value.message


def test_a_megabyte_expression_in_a_file_is_one_error_at_its_start(tmp_path):
    graph = tmp_path / "big.yaml"
    graph.write_text(HEAD + "nodes:\n  u: " + "x + " * 250_000 + "x\n")
    code, out, err = call("run", str(graph))
    assert code == 2 and out == ""
    assert err == f"{graph}:5:6: error: the expression is 1,000,001 characters long; at most " \
                  "10,000 are allowed (split it into several nodes)\n"


@pytest.mark.parametrize("text,words", [
    ("__import__('os').system('touch /tmp/graphrun-pwned')", "a string is only a keyword"),
    ("eval(x)", "unknown function 'eval'"),
    ("x.__class__", "a name or a number alone is not an operation"),
    ("lambda: x", "expected an operator"),
    ("x if w else b", "expected an operator"),
    ("[x for x in y]", "a list is only a keyword's value"),
    ("x; w", "one expression per node"),
    ("f'{x}'", "expected an operator"),
])
def test_nothing_is_ever_evaluated(text, words):
    found = errors(HEAD + f"nodes:\n  u: \"{text}\"\n")
    assert any(words in line for line in found), found
    assert not os.path.exists("/tmp/graphrun-pwned")


# ---------------------------------------------------------------------------------------------
# every problem at its token: line and column counted by hand, for each scalar style

STYLES = {
    # the expression `x + wz` written each way; 'wz' is on the line and column given
    "plain": ("  u: x + wz\n", (5, 10)),
    "single-quoted": ("  u: 'x + wz'\n", (5, 11)),
    "double-quoted": ("  u: \"x + wz\"\n", (5, 11)),
    "literal block": ("  u: |\n    x +\n      wz\n", (7, 7)),
    "folded block": ("  u: >\n    x + wz\n", (6, 9)),
}


@pytest.mark.parametrize("style", STYLES)
def test_an_unknown_name_is_reported_at_its_token(style):
    body, (line, col) = STYLES[style]
    assert errors(HEAD + "nodes:\n" + body) == [f"{line}:{col}: unknown name 'wz'; did you mean "
                                                "'w'?"]


@pytest.mark.parametrize("body,expected", [
    ("  u: tanh(x, w)\n", "5:6: tanh takes 1 argument; found 2"),
    ("  u: tanhh(x)\n", "5:6: unknown function 'tanhh'; did you mean 'tanh'? (a function is an op "
                        "of the table or a block)"),
    ("  u: sum(y, axes=0)\n", "5:13: sum takes no attribute 'axes' (it takes axis, keepdims); "
                              "did you mean 'axis'?"),
    ("  u: sum(y, keepdims=3)\n", "5:22: sum: keepdims must be true or false; found 3"),
    ("  u: sum(y, 0)\n", "5:6: sum takes 1 argument; found 2 (attributes are keywords: "
                         "sum(x, axis=...))"),
    ("  u: x * (w + b\n", "5:16: expected ')'; found the end of the expression"),
    ("  u: x w\n", "5:8: expected an operator or the end of the expression; found name 'w' "
                   "(two values need an operator between them, such as '*')"),
    ("  u: x // w\n", "5:8: expected an operator or the end of the expression; found '//' "
                      "(floor division is not an op; write floor(a / b) if the table has it, or "
                      "a / b)"),
    ("  u: reshape(y)\n", "5:6: reshape needs the attribute 'shape' (reshape(x, shape=...))"),
    ("  u: x\n", "5:6: an expression must compute something; a name or a number alone is not an "
                 "operation (use the name itself, or make a constant an input)"),
    ("  u: \"\"\n", "5:6: the expression is empty; write an operation such as 'a + b' or "
                    "'tanh(x)'"),
])
def test_problems_in_an_expression_point_at_their_token(body, expected):
    found = errors(HEAD + "nodes:\n" + body)
    assert found[0].startswith(expected), found


def test_a_shape_mismatch_is_at_the_sub_expression_that_causes_it():
    found = errors("graphrun: 1\ninputs: {A: [[1.0, 2.0]], v: [1.0, 2.0, 3.0]}\nnodes:\n"
                   "  u: tanh(A @ v) + 1\n")
    assert found == ["4:13: node 'u.1.1': shape mismatch: matmul (1,2) @ (3,): 2 columns "
                     "against 3 rows"]


def test_each_independent_problem_is_reported_and_none_that_follows():
    found = errors(HEAD + "nodes:\n  u: x * wz\n  v: u + tanhh(x)\n  q: v * 2\n  L: q + (\n"
                   "  M: sum(L)\nloss: M\n")
    assert found == ["5:10: unknown name 'wz'; did you mean 'w'?",
                     "6:10: unknown function 'tanhh'; did you mean 'tanh'? (a function is an "
                     "op of the table or a block)",
                     "8:11: expected a name, a number or '('; found the end of the expression"]


def test_a_cycle_through_expressions_is_named_at_the_nodes():
    found = errors(HEAD + "nodes:\n  a: c * 2\n  c: a + 1\n")
    assert found == ["5:3: cycle: a -> c -> a"]


# ---------------------------------------------------------------------------------------------
# generated names

def names_of(text):
    return compile_text(text).nodes


def test_sub_expressions_are_named_by_their_place_in_the_owners_expression():
    nodes = names_of(HEAD + "nodes:\n  h: tanh(y @ b + w)\n  L: mean(softplus(h) - x * h)\n")
    assert nodes == ("h.1.1", "h.1", "h", "L.1.1", "L.1.2", "L.1", "L")
    user = names_of(HEAD + "nodes:\n  h_1: tanh(y)\n")
    for name in nodes:
        assert name == "h" or name == "L" or not name.isidentifier()  # outside the user's names
    assert user == ("h_1",)


def test_names_do_not_change_when_unrelated_nodes_change():
    before = names_of(HEAD + "nodes:\n  a: x * w + 1\n  h: tanh(y * w + b) * 2\n  L: sum(h)\n")
    after = names_of(HEAD + "nodes:\n  zz: tanh(x) * (w - 3)\n  h: tanh(y * w + b) * 2\n"
                            "  L: sum(h * 1)\n")
    assert [n for n in before if n.startswith("h")] == [n for n in after if n.startswith("h")] \
        == ["h.1.1.1", "h.1.1", "h.1", "h"]


def test_a_written_name_that_an_expression_also_gives_is_defined_twice():
    found = errors(HEAD + "nodes:\n  h.1: {op: neg, args: [x]}\n  h: tanh(x * w)\n")
    assert found[0] == "6:13: name 'h.1' is defined twice: written as a node, and given by the " \
        "expression of node 'h'; names must be unique across inputs, params and nodes"


def test_generated_names_go_through_results_files_check_and_diff(tmp_path):
    graph = tmp_path / "g.yaml"
    graph.write_text(HEAD + "nodes:\n  h: tanh(y * w + b)\n  L: sum(h ** 2)\nloss: L\n")
    out = tmp_path / "g.results.yaml"
    assert call("run", str(graph), "-o", str(out))[0] == 0
    read = graphrun.read_results(out)
    assert {"values.h.1.1", "values.h.1", "values.L.1", "gradients.h.1"} <= set(read.entries)
    assert call("check", str(graph), "--golden", str(out)) == (0, f"ok      {graph}\n1 graph "
                                                              "checked: 1 ok\n", "")
    assert graphrun.diff(out, out) == []


# ---------------------------------------------------------------------------------------------
# the two forms

def test_the_forms_mix_and_give_byte_identical_results():
    explicit = run_text(HEAD + "nodes:\n  u: {op: mul, args: [w, x]}\n  v: {op: add, args: [u, b]}"
                        "\n  L: {op: sum, args: [v]}\nloss: L\n", "g.yaml").text()
    mixed = run_text(HEAD + "nodes:\n  u: w * x\n  v: {op: add, args: [u, b]}\n  L: sum(v)\n"
                            "loss: L\n", "g.yaml").text()
    assert explicit == mixed


ONE_OP = ["a * b", "a+b", " a - 2 ", "2.5 / a", "a @ b", "a ** 2", "a ** 2.0", "a ** 3", "1e3*a",
          "tanh(a)", "exp( a )", "maximum(a, b)", "mse(a, 0.5)", "h.1 * w", "x.y + z",
          "sum(a)", "concat(a, b)", "reshape(a)", "a ** b", ".5 + a", "3 + 4", "dense(a, b)"]


@pytest.mark.parametrize("text", ONE_OP)
def test_the_fast_path_makes_what_the_general_path_makes(text):
    library = blocks.Library()
    library.blocks["dense"] = None  # a block named so: the fast path must leave it alone
    source = load_bytes(f"nodes:\n  n: {text}\n".encode(), "g.yaml").source
    got = blocks._simple("n", text, source, library, None)
    if text.startswith("dense") or text.startswith("reshape") or text.startswith("concat"):
        assert got is None  # a block, an op that needs an attribute, a variadic op
        return
    fast, slow = [], []
    via_door = blocks.expand_node("n", text, source, library, fast)
    want = blocks.expand_node("n", text, source, library, slow, fast=False)

    def plain(specs):
        out = []
        for node in specs:
            at = node.path[2]
            site = at.site
            out.append((node.name, node.op, node.attrs,
                        [(type(a).__name__, a[0], arg_path(node, i)[3:])
                         for i, a in enumerate(node.args)],
                        (site.doc, site.op_at, site.args_at, site.attrs_at, site.root),
                        at.calls))
        return out

    assert plain(got) == plain(via_door) == plain(want) and fast == slow == []


def _specs_plainly(specs):
    """NodeSpecs as comparable values: every name, op, attribute, argument (its kind, value and
    document path) and site (its place in the file, offsets, calls)."""
    def flat(path):  # a path, its At (compared by identity) as what it holds
        if path is None:
            return None
        return tuple((site_of(part.site), part.calls) if type(part) is At else part
                     for part in path)

    def site_of(site):
        return (site.source, site.doc, site.op_at, site.args_at, dict(site.attrs_at), site.root)

    return [(node.name, node.op, node.attrs, flat(node.path),
             [(type(a).__name__, a[0], flat(a.path), flat(arg_path(node, i)))
              for i, a in enumerate(node.args)]) for node in specs]


TEMPLATED = ["tanh(x * w + b) - exp(-(x - 3) ** 2 / 2.5) * zz", "concat(x, x, 1.5, y, zz)",
             "sum(a * b, axis=0) + mean(a, axis=[0, 1], keepdims=true)", "((((x))))  *  -2",
             "-x ** 2 + -(y.1 @ h.z)", "maximum(x, 0) + n.1 * 2", "x ** 2 ** 3 * 1e-3",
             "concat(" + ", ".join(["x"] * 500) + ", tanh(y), 2)"]


@pytest.mark.parametrize("text", TEMPLATED)
def test_a_template_makes_for_each_owner_what_the_general_path_makes(text):
    """With no block to call, an expression is parsed and lowered once (blocks._template_of);
    each node that writes the same text gets the general path's nodes from it: the names after
    its own, the sites in its own place."""
    lines = "".join(f"  {owner}: {text}\n" for owner in ("n", "m", "n_2"))
    source = load_bytes(f"nodes:\n{lines}".encode(), "g.yaml").source
    library = blocks.Library()
    for owner in ("n", "m", "n_2"):
        got = blocks.expand_node(owner, text, source, library, [])
        want = blocks.expand_node(owner, text, source, blocks.Library(), [], fast=False)
        assert _specs_plainly(got) == _specs_plainly(want)
        assert blocks.generated_names(owner, text, source, library) == \
            tuple(node.name for node in want)
    assert text in library.templates  # made once, used three times


def test_a_template_is_not_made_for_a_library_with_blocks_nor_for_a_problem():
    source = load_bytes(b"nodes:\n  n: tanh(x) + 1\n  m: tanh(x\n", "g.yaml").source
    library = blocks.Library()
    library.blocks["dense"] = None
    assert blocks.expand_node("n", "tanh(x) + 1", source, library, []) is not None
    assert library.templates == {}  # a call may mean the block: the general path, each time
    for fast in (True, False):  # the template's problem is the general path's
        problems = []
        assert blocks.expand_node("m", "tanh(x", source, blocks.Library(), problems,
                                  fast=fast) is None
        assert [(p.message, p.path, p.pos, p.source) for p in problems] == [
            ("expected ',' or ')' in the call of 'tanh'; found the end of the expression",
             ("nodes", "m"), (3, 12), source)]


@pytest.mark.parametrize("text", ["tanh(x", "concat(x, ", "x + + 1", "sum(x, axis=0.5)",
                                  "tanhh(x) * 2", "x", "3", "concat()", "mean(x, bad=1)",
                                  "-" * 70 + "x", "f(x) @ 'a'", "x[0.5]"])
def test_a_templates_problem_is_the_general_paths(text):
    source = load_bytes(f"nodes:\n  m: {text!r}\n".encode(), "g.yaml").source
    found = []
    for fast in (True, False):
        problems = []
        assert blocks.expand_node("m", text, source, blocks.Library(), problems,
                                  fast=fast) is None
        found.append([(p.message, p.path, p.pos) for p in problems])
    assert found[0] == found[1] and len(found[0]) == 1


def test_indexing_is_parsed_and_needs_the_index_op():
    tree = parse("x[0, 1:3, ::-1]")
    assert type(tree) is expr.Index and len(tree.items) == 3
    if "index" in OPS:  # pragma: no cover - the op table has no index op yet (branch "ops")
        return
    assert errors(HEAD + "nodes:\n  u: y[0] * 2\n") == [
        "5:7: indexing x[...] needs the op 'index' in the op table, which this graphrun does "
        "not have yet"]


# ---------------------------------------------------------------------------------------------
# graphrun expand

EXAMPLES = [g for g in sorted(glob.glob(os.path.join(ROOT, "graphs", "*.yaml")))
            if not is_library_file(g)]


@pytest.mark.parametrize("graph", EXAMPLES, ids=os.path.basename)
def test_expand_gives_the_explicit_form_and_byte_identical_results(graph, tmp_path):
    folder = tmp_path / "graphs"
    shutil.copytree(os.path.dirname(graph), folder)  # file: paths stay relative to the folder
    code, explicit, err = call("expand", graph)
    assert (code, err) == (0, "")
    assert "blocks:" not in explicit and "include:" not in explicit
    for line in explicit.split("nodes:\n", 1)[1].splitlines():
        if line.startswith("  "):
            assert "{op: " in line and "args: [" in line
    target = folder / "expanded.yaml"
    target.write_text(explicit)
    assert call("run", str(target)) == call("run", graph)
    assert call("expand", str(target))[1] == explicit  # the explicit form is its own expansion


# ---------------------------------------------------------------------------------------------
# integer literals, as the file reader reads them (YAML 1.2 core schema, int64)

def test_an_integer_literal_is_an_int64_whatever_its_digits():
    for text in ("4611686018427387904", "9223372036854775807", "-9223372036854775808",
                 "- 9223372036854775808", "00000000000000000000012"):
        value = int(text.replace(" ", ""))
        assert parse(text) == expr.Number(value, 0) and type(parse(text).value) is int
    written = "graphrun: 1\ninputs:\n  x: [[1.0, 2.0]]\nnodes:\n  a: "
    reshape = "reshape (1,2) (2 elements) into (4611686018427387904,4) (18446744073709551616"
    assert reshape in errors(written + "\"reshape(x, shape=[4611686018427387904, 4])\"\n")[0]
    assert reshape in errors(written + "{op: reshape, args: [x], shape: [4611686018427387904, 4]}"
                             "\n")[0]
    assert "an index is an integer literal" not in errors(written + "x[1000000000000000000]\n")[0]


@pytest.mark.parametrize("text,at,message", [
    ("9223372036854775808", 0, "integer 9223372036854775808 does not fit in int64"),
    ("x * -9223372036854775809", 4, "integer -9223372036854775809 does not fit in int64"),
    ("--9223372036854775808", 0, "integer 9223372036854775808 does not fit in int64"),
    ("-9223372036854775808 ** 2", 1, "integer 9223372036854775808 does not fit in int64"),
    ("x[0, " + "1" * 5000 + "]", 5, "integer 111111111111...111111111111 (5000 characters) "
                                    "does not fit in int64"),
    ("x * 1e999", 4, "number 1e999 overflows float64"),
    ("x * -1e999", 5, "number 1e999 overflows float64"),
])
def test_an_integer_beyond_int64_is_an_error_at_its_token(text, at, message):
    with pytest.raises(ExprError) as e:
        parse(text)
    assert (e.value.message, e.value.at) == (message, at)


def test_a_seed_beyond_int64_is_named_as_the_file_reader_names_it():
    found = errors("graphrun: 1\ninputs:\n  x: [1.0]\nnodes:\n"
                   "  d: \"dropout(x, p=0.5, seed=99999999999999999999999)\"\n"
                   "  e: {op: dropout, args: [x], p: 0.5, seed: 99999999999999999999999}\n")
    assert found == ["5:30: integer 99999999999999999999999 does not fit in int64",
                     "6:45: integer 99999999999999999999999 does not fit in int64"]


@pytest.mark.parametrize("text,at", [("tanh(", 5), ("f(x,", 4), ("sum(y, axis=0,", 14)])
def test_a_call_left_open_is_an_error_at_the_end(text, at):
    with pytest.raises(ExprError) as e:  # was an IndexError: the token after the end
        parse(text)
    # at the end, where an argument was to come (not "a name, a number or '('": a keyword or
    # ')' may come there too)
    assert e.value.message == "expected an argument or ')'; found the end of the expression" \
        and e.value.at == at


# ---------------------------------------------------------------------------------------------
# positions in a scalar over several lines, every style (columns counted by hand)

LINES = {
    # the expression `x + zz` (or with more around it) over lines; 'zz' is at the line and column
    "double-quoted, folded": ("  u: \"x +\n    zz\"\n", (6, 5)),
    "double-quoted, trailing spaces": ("  u: \"x +   \n      zz\"\n", (6, 7)),
    "double-quoted, escaped break": ("  u: \"x + \\\n    zz\"\n", (6, 5)),
    "double-quoted, escaped break in a name": ("  u: \"x + z\\\n    z\"\n", (5, 11)),
    "double-quoted, blank line": ("  u: \"x +\n\n    zz\"\n", (7, 5)),
    "double-quoted, escapes before": ("  u: \"\\x78 \\u002B\n   \\t zz\"\n", (6, 7)),
    "double-quoted, CRLF": ("  u: \"x +\r\n    zz\"\r\n", (6, 5)),
    "single-quoted, folded": ("  u: 'x\n    +\n     zz'\n", (7, 6)),
    "single-quoted, blank lines": ("  u: 'x +\n\n\n   zz'\n", (8, 4)),
    "plain, folded": ("  u: x\n    + zz\n", (6, 7)),
    "plain, blank line": ("  u: x +\n\n    zz\n", (7, 5)),
    "literal": ("  u: |\n    x +\n      zz\n", (7, 7)),
    "literal, blank line first": ("  u: |-\n\n    x +\n    zz\n", (8, 5)),
    "literal, indentation indicator": ("  u: |1\n     x +\n     zz\n", (7, 6)),
    "folded": ("  u: >\n    x +\n    zz\n", (7, 5)),
    "folded, blank line": ("  u: >  # a comment\n    x +\n\n    zz\n", (8, 5)),
    "folded, more indented": ("  u: >\n    x\n      + zz\n", (7, 9)),
}


@pytest.mark.parametrize("style", LINES)
def test_a_token_is_at_its_place_in_a_scalar_over_several_lines(style):
    body, (line, col) = LINES[style]
    found = errors(HEAD + "nodes:\n" + body)
    assert found == [f"{line}:{col}: unknown name 'zz'"], found


# ---------------------------------------------------------------------------------------------
# the parser's work: in C per token, not in Python (no test times anything)

def python_calls(text) -> int:
    """How many Python functions parse(text) calls (C functions not counted)."""
    count = [0]

    def profile(frame, event, arg):
        count[0] += event == "call"

    import sys
    parse("x")  # the tokenizer's pattern is compiled at its first use (lazy_re): not counted
    sys.setprofile(profile)
    try:
        parse(text)
    finally:
        sys.setprofile(None)
    return count[0]


def test_parsing_costs_a_few_python_calls_per_operator_and_none_per_lone_argument():
    # the 9,900-character concat of 3,300 names took 70,000 calls (a Token and seven levels of
    # descent per token), 4 s a MiB
    assert python_calls("concat(" + ", ".join(["x"] * 3300) + ")") < 50
    formula = " + ".join(["sum(a * b, axis=0)"] * 60)  # 660 tokens
    assert python_calls(formula) < 3 * 660


# ---------------------------------------------------------------------------------------------
# a plain scalar's long run of digits (frontend/scalars.py, shared by both readers)

@pytest.mark.parametrize("text, value", [("0" * 5000 + "1", 1), ("-" + "0" * 5000 + "2", -2),
                                         ("+" + "0" * 5000, 0), ("-0", 0),
                                         ("0" * 4000 + "9223372036854775807", 2**63 - 1),
                                         ("-" + "0" * 4400 + "9223372036854775808", -2**63)])
def test_leading_zeros_are_the_number_they_write_however_many(text, value):
    from graphrun.frontend.scalars import resolve_plain
    got = resolve_plain(text)  # was Python's own ValueError past 4,300 digits, as the message
    assert got == value and type(got) is int


def test_a_long_integer_is_refused_as_one_that_does_not_fit():
    from graphrun.frontend.scalars import resolve_plain
    for text in ("0" * 5000 + "9223372036854775808", "1" * 5000):
        with pytest.raises(ValueError, match=r"^integer .* does not fit in int64$"):
            resolve_plain(text)
    zeros = "0" * 5000
    compile_text(f"graphrun: 1\ninputs:\n  x: {zeros}1\n  v: [{zeros}2, 3]\nnodes:\n"
                 f"  y: x * v\n", "g.yaml")  # both readers: a block mapping, a flow list
