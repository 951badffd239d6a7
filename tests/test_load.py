"""The loader and the schema check: YAML 1.2 scalars, positions, both parsers, and the fast path
of the schema check agreeing with jsonschema."""

import glob
import os

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from graphrun.frontend import load, schema
from graphrun.errors import GraphError
from graphrun.ops import OPS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOSTILE = os.path.join(ROOT, "tests", "hostile")
PARSERS = [load.PythonLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])


@pytest.fixture(params=PARSERS, ids=lambda p: p.__name__)
def parser(request, monkeypatch):
    """Run a test with the C parser and with the pure-Python fallback."""
    monkeypatch.setattr(load, "_Loader", request.param)
    return request.param


def value_of(text):
    return load.load_bytes(f"v: {text}\n".encode()).data["v"]


def problem_of(raw: bytes):
    with pytest.raises(GraphError) as info:
        load.load_bytes(raw, "g.yaml")
    return info.value.problems[0]


# the YAML 1.2 core schema, where PyYAML's YAML 1.1 reading differs (see STYLE.md's traps)
@pytest.mark.parametrize("text, expected", [
    ("1e3", 1000.0), ("2E-3", 0.002), ("1e-5", 1e-5), ("-.5e-3", -0.0005), ("5.", 5.0),
    ("017", 17), ("0o17", 15), ("0x1F", 31), ("-5", -5), ("+1", 1),
    ("-9223372036854775808", -2**63), ("9223372036854775807", 2**63 - 1),
    ("no", "no"), ("on", "on"), ("yes", "yes"), ("off", "off"), ("y", "y"),
    ("1:30", "1:30"), ("2001-12-14", "2001-12-14"), ("1_000", "1_000"), ("0b11", "0b11"),
    ("true", True), ("False", False), ("null", None), ("~", None), ("", None),
    ("nan", "nan"), ("'1e3'", "1e3"), ('"017"', "017"),
])
def test_yaml_1_2_scalars(parser, text, expected):
    value = value_of(text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("text, words", [
    (".nan", "non-finite"), (".NaN", "non-finite"), (".inf", "non-finite"),
    ("-.Inf", "non-finite"), ("+.INF", "non-finite"), ("1e309", "overflows float64"),
    ("-1e400", "overflows float64"), ("9223372036854775808", "int64"),
    ("-9223372036854775809", "int64"), ("1" * 5000, "int64"), ("0x10000000000000000", "int64"),
])
def test_numbers_that_are_errors_at_the_literal(parser, text, words):
    p = problem_of(f"a: 1\nv: {text}\n".encode())
    assert p.pos == (2, 4) and words in p.message


def test_keys_are_names_as_written_never_resolved(parser):
    data = load.load_bytes(b"1: a\nno: b\n~: c\n1e3: d\n").data
    assert data == {"1": "a", "no": "b", "~": "c", "1e3": "d"}


def test_positions_of_keys_values_and_items(parser):
    text = ("graphrun: 1\n"
            "params:\n"
            "  w: [1.0, [2.0, 3.0]]\n"
            "nodes:\n"
            "  \u00fc: {op: neg,   args: [w]}\n")  # a non-ASCII name: columns count characters
    source = load.load_bytes(text.encode()).source
    assert source.locate(()) == (1, 1)
    assert source.locate(("graphrun",)) == (1, 11)
    assert source.locate(("params", "w")) == (3, 6)
    assert source.locate(("params", "w", 1, 0)) == (3, 13)
    assert source.locate(("params", "w"), at_key=True) == (3, 3)
    assert source.locate(("nodes", "\u00fc", "args", 0)) == (5, 25)
    assert source.locate(("nodes", "\u00fc", "op"), at_key=True) == (5, 7)
    # a path that goes past what exists points at its nearest ancestor
    assert source.locate(("nodes", "\u00fc", "args", 7)) == (5, 24)
    assert source.locate(("nodes", "nope", "op")) == (5, 3)  # where the nodes mapping starts


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_breaks_count_as_the_parser_counts_them(parser, newline):
    text = newline.join(["a: 1", "b: [x, y]", "c: z", ""])
    source = load.load_bytes(text.encode()).source
    assert source.locate(("b", 1)) == (2, 8) and source.locate(("c",)) == (3, 4)


def test_a_byte_order_mark_at_the_start_is_skipped(parser):
    document = load.load_bytes("\ufeffa: [1, 2]\n".encode())
    assert document.data == {"a": [1, 2]} and document.source.locate(("a", 1)) == (1, 8)


def test_the_bad_byte_is_named_with_its_line_and_column(parser):
    p = problem_of("a: 1\nb: \u00e9\u00e9 \xff\n".encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    assert p.pos == (2, 7) and "0xff" in p.message


def test_a_lone_surrogate_escape_is_refused(parser):
    with pytest.raises(GraphError) as info:
        load.load_bytes(b'a: 1\nb: "x\\ud800"\n')
    assert info.value.problems[0].pos[0] == 2


@pytest.mark.parametrize("text", ["[" * 100_000, "{a: " * 100_000, "- " * 100_000 + "x",
                                  "a:\n  b: " + "[" * 70])
def test_deep_nesting_is_refused_before_anything_recurses(parser, text):
    p = problem_of(text.encode())
    assert "nesting is deeper than 64 levels" in p.message


def test_both_parsers_stop_at_the_same_bracket(parser):
    assert problem_of(b"[" * 100_000).pos == (1, 65)
    assert problem_of(b"a: " + b"[ " * 1000).pos == (1, 4 + 2 * 63)


def _first_problem(path):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        load.load_bytes(raw, path)
    except GraphError as e:
        return e.problems[0]
    return None


# the two parsers word syntax errors differently, and libyaml stops inside a bad escape
_WORDED_DIFFERENTLY = {"syntax_unclosed.yaml", "syntax_bad_indent.yaml", "surrogate_escape.yaml"}


@pytest.mark.parametrize("name", sorted(os.listdir(HOSTILE)))
def test_both_parsers_find_the_same_problem_in_the_hostile_files(monkeypatch, name):
    if len(PARSERS) < 2:
        pytest.skip("PyYAML without libyaml")
    found = []
    for parser in PARSERS:
        monkeypatch.setattr(load, "_Loader", parser)
        found.append(_first_problem(os.path.join(HOSTILE, name)))
    python, c = found
    assert (python is None) == (c is None)
    if python is not None and name not in _WORDED_DIFFERENTLY:
        assert (python.pos, python.message) == (c.pos, c.message)


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "graphs", "*.yaml"))))
def test_both_parsers_build_the_same_document(monkeypatch, path):
    with open(path, "rb") as f:
        raw = f.read()
    documents = []
    for parser in PARSERS:
        monkeypatch.setattr(load, "_Loader", parser)
        documents.append(load.load_bytes(raw, path))
    assert all(d.data == documents[0].data for d in documents)
    assert documents[0].data == yaml.safe_load(raw)  # these graphs need no YAML 1.2 reading
    for key in documents[0].data:
        assert len({d.source.locate((key,)) for d in documents}) == 1


# ---------------------------------------------------------------------------------------------
# the schema check: a fast path for entries it can prove valid, jsonschema for everything else

def test_the_op_names_in_the_schema_are_the_op_table():
    assert schema.op_names() == set(OPS)


def test_each_section_is_checked_entry_by_entry():
    """The fast path leaves proven entries out of what jsonschema sees; that is only sound while
    the sections' schemas constrain each entry on its own (no minProperties, no dependencies)."""
    s = schema.schema()
    sections = {name: s["properties"][name] for name in schema.SECTIONS}
    sections.update({name: s["definitions"]["leaves"] for name in ("inputs", "params")
                     if "$ref" in sections[name]})
    for body in sections.values():
        assert set(body) <= {"type", "description", "propertyNames", "additionalProperties"}
        assert body["type"] == "object"


NODE_SCHEMA = {"$ref": "#/definitions/node", "definitions": schema.schema()["definitions"]}
VALUE_SCHEMA = {"$ref": "#/definitions/value", "definitions": schema.schema()["definitions"]}

anything = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(-2, 2),
              st.sampled_from(["w", "x_1", "1x", "a-b", "", "mul", "sum"])),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["op", "args", "axis", "keepdims", "shape", "axes", "argz", "value"]), inner, max_size=4),
    max_leaves=8)
nodes = st.fixed_dictionaries(
    {"op": st.sampled_from(sorted(OPS)) | anything, "args": st.lists(anything, max_size=3)},
    optional={"axis": anything, "keepdims": anything, "shape": anything, "axes": anything})


def _valid(instance, schema_):
    validator = schema._Validator(schema_)
    return not list(validator.iter_errors(instance))


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(st.one_of(nodes, anything))
def test_the_fast_path_accepts_only_nodes_jsonschema_accepts(body):
    if schema._node_fits(body):
        assert _valid(body, NODE_SCHEMA)


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(anything)
def test_the_fast_path_accepts_only_values_jsonschema_accepts(value):
    if schema._value_fits(value):
        assert _valid(value, VALUE_SCHEMA)


def _all_documents():
    paths = sorted(glob.glob(os.path.join(ROOT, "graphs", "*.yaml")))
    paths += sorted(glob.glob(os.path.join(HOSTILE, "*.yaml")))
    for path in paths:
        try:
            with open(path, "rb") as f:
                yield os.path.basename(path), load.load_bytes(f.read(), path).data
        except GraphError:
            pass


@pytest.mark.parametrize("name, data", list(_all_documents()))
def test_the_fast_path_changes_no_problem(monkeypatch, name, data):
    fast = schema.check(data)
    monkeypatch.setattr(schema, "_unproven", lambda data: data)
    assert fast == schema.check(data)


def test_schema_problems_come_in_document_order():
    # jsonschema visits a section's entries in set order (it changes with PYTHONHASHSEED); twenty
    # misspelt ops would come back in document order by chance once in 20! runs
    names = [f"n{i:02}" for i in range(20)][::-1]
    data = {"graphrun": 1, "nodes": {name: {"op": "mull", "args": [1]} for name in names}}
    assert [p.path[1] for p in schema.check(data)] == names


def test_jsonschema_is_still_the_judge_of_what_the_fast_path_does_not_prove():
    data = {"graphrun": 1, "nodes": {"u": {"op": "neg", "args": ["w"], "axis": "0"}}}
    assert [p.path for p in schema.check(data)] == [("nodes", "u", "axis")]
