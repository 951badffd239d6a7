"""The loader and the schema check: YAML 1.2 scalars, positions, both parsers, and the fast path
of the schema check agreeing with jsonschema."""

import glob
import os
import re

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


@pytest.fixture(params=["fastyaml"] + PARSERS, ids=lambda p: getattr(p, "__name__", p))
def parser(request, monkeypatch):
    """Run a test through load's door (the fast reader, and the C parser behind it), and with each
    PyYAML parser alone: the C parser and the pure-Python fallback."""
    if request.param != "fastyaml":
        pyyaml_only(monkeypatch, request.param)
    return request.param


def pyyaml_only(monkeypatch, parser):
    """Read with this PyYAML parser alone: the fast reader refuses everything."""
    monkeypatch.setattr(load.fastyaml, "read", lambda *args, **kwargs: None)
    monkeypatch.setattr(load, "_Loader", parser)


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
        pyyaml_only(monkeypatch, parser)
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
        pyyaml_only(monkeypatch, parser)
        documents.append(load.load_bytes(raw, path))
    assert all(d.data == documents[0].data for d in documents)
    assert documents[0].data == yaml.safe_load(raw)  # these graphs need no YAML 1.2 reading
    for key in documents[0].data:
        assert len({d.source.locate((key,)) for d in documents}) == 1


# ---------------------------------------------------------------------------------------------
# lines counted the YAML 1.2 way: only \n, \r\n and \r break a line

NOT_BREAKS = {"NEL": "\x85", "LS": "\u2028", "PS": "\u2029"}


def located_problems(raw: bytes):
    """The problems of a graph file as (line, col, message), through compile and the CLI's
    locating."""
    from graphrun.frontend import compiler
    with pytest.raises(GraphError) as info:
        compiler.compile_bytes(raw, "g.yaml")
    return [(p.line, p.col, p.message) for p in info.value.located()]


@pytest.mark.parametrize("name", NOT_BREAKS)
def test_nel_ls_and_ps_are_characters_in_strings_comments_and_keys(parser, name):
    c = NOT_BREAKS[name]
    text = (f"graphrun: 1\n"
            f"description: a{c}b\n"                    # in a plain string
            f"name: 'x{c}y'\n"                         # in a quoted one
            f"params: {{w: 3}}  # a comment {c} here\n"  # in a comment
            f"# a whole-line comment {c}\n"
            f"nodes:\n"
            f"  u: {{op: neg, args: [w], k{c}: 1}}\n"    # in a key
            f"  L: {{op: negg, args: [u]}}\n"
            f"loss: L\n")
    found = located_problems(text.encode())
    assert [(line, col) for line, col, _ in found] == [(7, 27), (8, 11)]
    assert "unknown key" in found[0][2] and "unknown op 'negg'" in found[1][2]
    document = load.load_bytes(text.encode())
    assert document.data["description"] == f"a{c}b" and document.data["name"] == f"x{c}y"
    assert list(document.data["nodes"]["u"]) == ["op", "args", f"k{c}"]
    assert document.source.locate(("loss",)) == (9, 7)
    assert document.source.locate(("nodes", "L", "args", 0)) == (8, 24)


@pytest.mark.parametrize("name", NOT_BREAKS)
def test_nel_ls_and_ps_count_no_line_in_a_load_error_either(parser, name):
    c = NOT_BREAKS[name]
    p = problem_of(f"a: '{c}'\n# {c}\nb: x{c}\nc: 1e999\n".encode())
    assert p.pos == (4, 4) and "overflows" in p.message
    p = problem_of(f"a: x{c}\nb: [1, 2\n".encode())  # an unclosed flow, begun on line 2
    assert p.pos[0] == 3 and "line 2" in p.message


def test_what_pyyaml_itself_does_with_nel_ls_and_ps():
    """As load._yaml12_text says: both PyYAML parsers read them as line breaks (YAML 1.1), so
    that a comment or a plain scalar ends there, and fold them in a quoted scalar (NEL into a
    space). The loader hides them from PyYAML; these are the parsers on their own."""
    for parser in PARSERS:
        for c in NOT_BREAKS.values():
            with pytest.raises(yaml.YAMLError):  # the rest of the comment is a new line
                yaml.load(f"a: 1 # x{c}y\nb: 2\n", Loader=parser)
            events = list(yaml.parse(f"a: 'x{c}y'\nb: 1\n", Loader=parser))
            assert events[4].value == ("x y" if c == "\x85" else f"x{c}y")
            assert events[5].start_mark.line == 2  # 'b' is on the file's second line


def test_a_stand_in_character_is_one_the_text_cannot_hold_or_make():
    c = "\ue000"
    text = f'a: "\\ue001{c}\u2028"\n'  # U+E000 is in the text, U+E001 made by an escape
    swapped, back = load._yaml12_text(text)
    assert len(swapped) == len(text) and "\u2028" not in swapped
    assert swapped[-3] == "\ue002" and swapped.translate(back) == text
    assert load.load_bytes(text.encode(), fast=False).data == {"a": f"\ue001{c}\u2028"}


# ---------------------------------------------------------------------------------------------
# where a character inside a scalar was written (for errors inside expressions)

SCALARS = (
    "plain: w * x + b\n"                      # 1
    "single: 'w * x + ''b'''\n"               # 2
    'double: "w\\t* \\u00e9x + b"\n'          # 3
    "literal: |\n"                            # 4
    "  w * x\n"                               # 5
    "    + b\n"                               # 6
    "folded: >-\n"                            # 7
    "  w *\n"                                 # 8
    "  x + b\n"                               # 9
    "multi: w *\n"                            # 10
    "   x + b\n"                              # 11
    'dmulti: "w *\n'                          # 12
    '  x + b"\n'                              # 13
    "list: [w, 'x y']\n"                      # 14
)


def test_a_scalar_says_where_and_how_it_was_written(parser):
    source = load.load_bytes(SCALARS.encode()).source
    assert source.scalar(("plain",)) == (1, 8, "plain")
    assert source.scalar(("single",)) == (2, 9, "single-quoted")
    assert source.scalar(("double",)) == (3, 9, "double-quoted")
    assert source.scalar(("literal",)) == (4, 10, "literal")
    assert source.scalar(("folded",)) == (7, 9, "folded")
    assert source.scalar(("list", 1)) == (14, 11, "single-quoted")
    assert source.scalar(("nope",)) is None and source.scalar(("list",)) is None


@pytest.mark.parametrize("path, token, expected", [
    (("plain",), "x", (1, 12)), (("plain",), "b", (1, 16)), (("plain",), " ", (1, 9)),
    (("single",), "x", (2, 14)), (("single",), "'", (2, 18)), (("single",), "b", (2, 20)),
    (("double",), "*", (3, 13)), (("double",), "x", (3, 21)), (("double",), "b", (3, 25)),
    (("literal",), "x", (5, 7)), (("literal",), "+", (6, 5)), (("literal",), "\n", (5, 8)),
    (("literal",), " ", (5, 4)), (("literal",), "b", (6, 7)),
    (("folded",), "*", (8, 5)), (("folded",), "x", (9, 3)), (("folded",), "b", (9, 7)),
    (("multi",), "x", (11, 4)), (("multi",), "b", (11, 8)),
    (("list", 1), "y", (14, 14)),
])
def test_scalar_position_maps_a_character_back_to_the_file(parser, path, token, expected):
    document = load.load_bytes(SCALARS.encode())
    value = document.data
    for part in path:
        value = value[part]
    assert document.source.scalar_position(path, value.index(token)) == expected


def test_scalar_position_falls_back_to_the_scalar_start(parser):
    source = load.load_bytes(SCALARS.encode()).source
    assert source.scalar_position(("dmulti",), 4) == (13, 3)  # double-quoted over two lines: exact now
    assert source.scalar_position(("plain",), 99) == (1, 8)  # past the value's end
    assert source.scalar_position(("list",), 0) == (14, 7)  # not a scalar: where the path is


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
    validator = schema.validator_class()(schema_)
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


def _fits_item_by_item(value) -> bool:
    """schema._value_fits as it was written before it checked a depth at a time."""
    stack = [value]
    while stack:
        v = stack.pop()
        if type(v) is list:
            if not v:
                return False
            stack.extend(v)
        elif type(v) is not float and type(v) is not int:
            return False
    return True


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(anything)
def test_the_fast_value_check_answers_as_one_item_by_item(value):
    assert schema._value_fits(value) == _fits_item_by_item(value)
    assert schema._value_fits([value, [1.5]]) == _fits_item_by_item([value, [1.5]])


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
    monkeypatch.setattr(schema, "_unproven_entries", lambda section, entries: iter(entries.items()))
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


def test_problems_located_from_the_kept_document_are_where_a_second_reading_puts_them(
        tmp_path, monkeypatch):
    """The compiler hands the source map the document it holds once a problem is found
    (SourceMap.keep), so that locating does not read the text again: the positions must be the
    same as a second reading's."""
    from graphrun import api
    from graphrun.frontend.load import SourceMap

    path = tmp_path / "g.yaml"
    path.write_text("graphrun: 1\ninputs:\n  x: [[1, 2], [3, 4], [5]]\n  z: [1, [2]]\n"
                    "params:\n  w: {value: 1.0, dtype: int8}\nnodes:\n"
                    "  y: {op: nop, args: [x, 2]}\n  v: {op: add, args: [q, w], axis: 1}\n"
                    "  t: {op: neg, args: [{a: 1}]}\n")

    def where():
        with pytest.raises(GraphError) as e:
            api.compile(str(path))
        return [(r.line, r.col, r.message) for r in e.value.located()]

    kept = where()
    monkeypatch.setattr(SourceMap, "keep", lambda self, root: None)
    assert kept == where() and len(kept) >= 3, kept


def test_the_printable_check_refuses_exactly_what_yaml_does():
    # load writes YAML's printable set as the few characters outside it (it compiles 50x faster)
    printable = re.compile(
        "[\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
    for code in [*range(0x10000), 0x10000, 0x1F600, 0x10FFFF]:
        c = chr(code)
        assert bool(load._NOT_PRINTABLE.match(c)) != bool(printable.match(c)), hex(code)
    # and ASCII's printable characters as load's bytes for the all-ASCII text it checks in C
    ascii_printable = bytes(code for code in range(128) if printable.match(chr(code)))
    assert load._PRINTABLE_ASCII == ascii_printable


@pytest.mark.parametrize("code", [0, 1, 8, 11, 12, 14, 31, 127])
def test_a_control_character_in_ascii_text_is_refused_where_it_is(code):
    raw = b"graphrun: 1\nnodes:\n  v: {op: neg, args: [x" + bytes([code]) + b"]}\n"
    with pytest.raises(GraphError) as e:
        load.load_bytes(raw)
    assert [(p.pos, "U+" in p.message or "NUL" in p.message) for p in e.value.problems] == \
        [((3, 24), True)]


def test_the_loader_stops_at_the_problem_budget_and_says_where():
    """Duplicate keys past errors.MAX_PROBLEMS are not looked for: the problems printed, then
    where checking stopped (at the last one found)."""
    from graphrun.errors import MAX_PROBLEMS

    text = "graphrun: 1\nnodes:\n  y: {op: neg, args: [x]}\n" + "name: a\n" * 3000
    with pytest.raises(GraphError) as e:
        load.load_bytes(text.encode(), "g.yaml")
    rows = e.value.located()
    assert len(rows) == MAX_PROBLEMS
    assert all(r.message.startswith("duplicate key 'name'") for r in rows[:-1])
    assert (rows[-1].line, rows[-1].message) == (
        MAX_PROBLEMS + 3, f"checking stopped here: {MAX_PROBLEMS - 1} problems above; fix those "
        "first")


def test_the_spec_stops_at_the_problem_budget_and_no_later_stage_runs(tmp_path):
    from graphrun import api
    from graphrun.errors import MAX_PROBLEMS

    n = 2 * MAX_PROBLEMS  # each param also a node: a spec problem each; `q` unknown: a graph one
    path = tmp_path / "g.yaml"
    path.write_text("graphrun: 1\nparams:\n" + "".join(f"  p{i}: 1.0\n" for i in range(n))
                    + "nodes:\n" + "".join(f"  p{i}: {{op: neg, args: [q]}}\n" for i in range(n)))
    with pytest.raises(GraphError) as e:
        api.compile(str(path))
    messages = [r.message for r in e.value.located()]
    assert len(messages) == MAX_PROBLEMS and not any("'q'" in m for m in messages), messages[:3]
    assert messages[-1].startswith(f"checking stopped here: {MAX_PROBLEMS - 1} problems")


def test_the_collector_is_back_after_a_pause_and_collects_what_was_made_in_it():
    """gc_paused ends by moving what was made to the oldest generation (gc.freeze, unfreeze):
    nothing is left frozen, a cycle made while paused is still collected, and objects someone
    else froze stay frozen."""
    import gc
    import weakref

    from graphrun.frontend.gcpause import gc_paused

    class Node:
        pass

    assert gc.isenabled() and gc.get_freeze_count() == 0
    with gc_paused():
        assert not gc.isenabled()
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
    del a, b
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert gone() is not None
    gc.collect()
    assert gone() is None
    kept = [Node()]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused():
            pass
        assert gc.get_freeze_count() == frozen and gc.isenabled()
    finally:
        gc.unfreeze()
    del kept
