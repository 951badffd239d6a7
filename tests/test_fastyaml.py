"""The fast reader (fastyaml) against the PyYAML reader, through load's one door: for every text,
the same data (types and key order included), the same position for every value and key the
source map gives, and the same problems. Texts: every file in graphs/, tests/golden/ and
tests/hostile/, and documents from a seeded generator, in the fast reader's forms and near them
(the near ones are what it must refuse, or read exactly alike).

A comparison is only worth something where the fast reader answered: the tests also check that
it did, for every file in graphs/ and tests/golden/ and for every generated document in its forms.
"""

import glob
import os
import random
import re

import pytest

from graphrun import api
from graphrun.errors import GraphError
from graphrun.frontend import fastyaml, load

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = sorted(glob.glob(os.path.join(ROOT, "graphs", "*.yaml"))
               + glob.glob(os.path.join(ROOT, "tests", "golden", "*.yaml"))
               + glob.glob(os.path.join(ROOT, "tests", "hostile", "*.yaml")))
WRITTEN_BY_US = [p for p in FILES if os.sep + "hostile" + os.sep not in p]


def typed(value):
    """A value as nested tuples that say every type and every key's order (1 == 1.0 == True,
    and dicts compare equal in any order)."""
    if type(value) is dict:
        return ("dict",) + tuple((k, typed(v)) for k, v in value.items())
    if type(value) is list:
        return ("list",) + tuple(typed(v) for v in value)
    return type(value).__name__, repr(value)


def all_positions(source, data):
    """Every position the source map gives for this document: of the top, of each value and key,
    of a path that goes one step past each collection or scalar (its nearest ancestor's), of each
    string's first, middle and last character (with how the string was written)."""
    found = {((), False): source.locate(())}
    todo = [((), data)]
    while todo:
        path, value = todo.pop()
        if type(value) is str:
            found[(path, "scalar")] = source.scalar(path), tuple(
                source.scalar_position(path, k) for k in {0, len(value) // 2, len(value) - 1})
            continue
        if type(value) is dict:
            items = list(value.items())
            found[(path + ("no such key",), False)] = source.locate(path + ("no such key",))
        elif type(value) is list:
            items = list(enumerate(value))
            found[(path + (len(value),), False)] = source.locate(path + (len(value),))
        else:  # a number, a boolean or a null: a path past it is its position
            found[(path + ("past",), False)] = source.locate(path + ("past",))
            continue
        for key, item in items:
            found[(path + (key,), False)] = source.locate(path + (key,))
            if type(value) is dict:
                found[(path + (key,), True)] = source.locate(path + (key,), at_key=True)
            todo.append((path + (key,), item))
    return found


def outcome(raw: bytes, fast: bool, nonfinite: bool = False):
    try:
        document, problems = load.load_bytes(raw, "g.yaml", fast=fast, nonfinite=nonfinite), None
    except GraphError as e:  # compared as they are located (each path resolved in its source)
        document, problems = getattr(e, "document", None), e.located()
    if document is None:
        return problems, None, None
    return problems, typed(document.data), all_positions(document.source, document.data)


def accepted(raw: bytes, nonfinite: bool = False) -> bool:
    """Whether the fast reader answers for this text itself (after load's character checks)."""
    try:
        text = load._decode(raw)
        load._check_characters(load.SourceMap("g.yaml", text))
    except GraphError:
        return False
    return fastyaml.read(text, nonfinite=nonfinite, max_depth=load.MAX_DEPTH) is not None


def assert_same(raw: bytes, nonfinite: bool = False):
    fast, reference = outcome(raw, True, nonfinite), outcome(raw, False, nonfinite)
    assert fast[0] == reference[0], f"problems differ: {raw!r}"
    assert fast[1] == reference[1], f"data differ: {raw!r}"
    assert fast[2] == reference[2], f"positions differ: {raw!r}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.relpath(p, ROOT))
def test_the_files_read_alike(path):
    with open(path, "rb") as f:
        raw = f.read()
    for nonfinite in (False, True):
        assert_same(raw, nonfinite)


@pytest.mark.parametrize("path", WRITTEN_BY_US, ids=lambda p: os.path.relpath(p, ROOT))
def test_the_fast_reader_reads_every_example_and_golden_file(path):
    with open(path, "rb") as f:
        assert accepted(f.read(), nonfinite=True)


# ---------------------------------------------------------------------------------------------
# generated documents

NAMES = ["w", "x_1", "n5", "W1", "relu", "data/blobs_X.npy", "a-b", "a.b", "_", "a'b", "a&b", "a*b",
         "NaN", "Infinity", "nullx", "trueish", "e", "E5", "\u00fc", "\u65e5\u672c", "\U0001F600x",
         "a\u2028b", "b\x85", "\u2029c", "x\u00a0y", "op", "args", "value"]
KEY_WORDS = ["null", "true", "False", "1", "no", "~", "1e3"]  # keys are names as written
NUMBERS = ["0", "-0", "1", "-5", "17", "0.5", "-0.25", "1e3", "1E-3", "2.5e+10", "0.1e2",
           "1.0", "-0.0", "0.0036211290177734987", "1e-5", "3.0e-07", "922337203685477580"]
NEAR_NUMBERS = ["9223372036854775807", "-9223372036854775808", "12345678901234567890.5", "017", "5.", ".5", "+1", "0x1F", "0o17", "0b11", "1_000", "1e308", "2e308",
                "1e-400", "9223372036854775808", "-9223372036854775809", "1" * 25, "-.inf",
                ".nan", ".Inf", "-Infinity", "1:30", "2001-12-14", "1e", "--1", "1-2", "00",
                "-01", "-", "1.5.2", "0.5e"]
WORDS = ["true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "~",
         "yes", "no", "on", "off", "tRue"]
QUOTED = ["'a b'", "'it''s'", '"q"', '"a\\tb"', "''", '""', "'a #b'", '"x: y"', "'a'b'",
          "'\u2028'", '"\\u2028"', '"\\L"', "'x\x85y'", "'1e3'"]
ODD = ["a b", "a#b", "a #b", "a: b", "a:b", "a,b", "[a", "a]", "?a", "!a", "&a", "*a", "|", ">",
       "- a", "%a", "@a", "`a", "a?b", "!!str a", "a\tb", "{a", "a}", "a:", ":a", "-a", "- ",
       "a  b", "a, b: c", "[x], y: z", "{a: b}, c: d", "x: y"]


class Writer:
    """A random graph-file-like document. `clean`: only what fastyaml reads."""

    def __init__(self, rng: random.Random, clean: bool):
        self.rng, self.clean = rng, clean

    def chance(self, p):
        return not self.clean and self.rng.random() < p

    def pick(self, *pools):
        return self.rng.choice(self.rng.choice(pools))

    def key(self, taken):
        """A key that is not in `taken` (a duplicate, now and then, when not clean)."""
        if taken and self.chance(0.05):
            return self.rng.choice(taken)
        pool = [k for k in NAMES + ([] if self.clean else KEY_WORDS) if k not in taken]
        taken.append(self.rng.choice(pool))
        return taken[-1]

    def scalar(self, in_flow: bool):
        if self.clean:
            return self.pick(NAMES, NUMBERS, WORDS[:10])
        return self.pick(NAMES, NUMBERS, NEAR_NUMBERS, WORDS, QUOTED, ODD)

    def separator(self, kind):  # ", " or ": ", sometimes written otherwise
        if self.chance(0.05):
            return self.rng.choice([kind.strip(), " " + kind, kind + " ", " " + kind.strip()])
        return kind

    def flow(self, depth):
        """A flow collection; depth: how many more levels it may open."""
        opening = self.rng.choice("[{")
        count = self.rng.choice([0, 1, 2, 3, 5])
        items, keys = [], []
        for _ in range(count):
            if depth > 1 and self.rng.random() < 0.3:
                item = self.flow(depth - 1)
            else:
                item = self.scalar(True)
            if opening == "{":
                item = self.key(keys) + self.separator(": ") + item
            items.append(item)
        text = opening + "".join(
            (self.separator(", ") if i else "") + item for i, item in enumerate(items))
        if items and self.chance(0.05):
            text += ","  # a trailing comma: YAML allows it
        if self.chance(0.05) and items:
            text += " " if self.rng.random() < 0.5 else ""
        return text + ("]" if opening == "[" else "}")

    def deep_flow(self, levels):
        return "[" * levels + "1" + "]" * levels

    def value(self, level):
        r = self.rng.random()
        if r < 0.35:
            return self.flow(3)
        if r < 0.37 and not self.clean:
            return self.deep_flow(self.rng.choice([60, 61, 62, 63, 64, 65]) - level)
        return self.scalar(False)

    def comment(self):
        return self.rng.choice(["# c", "#", "# \u2028 LS", "# \x85 NEL", "# \u2029", "# a: [b",
                                "#\t tab" if not self.clean else "# 'q"])

    def end_of_line(self):
        if self.rng.random() < 0.1:
            return " " + self.comment()
        if self.rng.random() < 0.05:
            return "  "
        return ""

    def mapping(self, lines, indent, level, step):
        count = self.rng.choice([1, 2, 3, 6])
        keys = []
        for _ in range(count):
            key = self.key(keys)
            pad = " " * indent
            if self.chance(0.03):
                pad += " "  # a line indented one off
            if self.rng.random() < 0.1:
                lines.append(" " * self.rng.choice([0, indent, indent + 3]) + self.comment())
            if self.rng.random() < 0.05:
                lines.append(" " * self.rng.choice([0, 1, 5]))
            if level < 5 and self.rng.random() < 0.2:
                lines.append(pad + key + ":" + self.end_of_line())
                if self.rng.random() < 0.85:
                    self.mapping(lines, indent + step, level + 1, step)
            else:
                lines.append(pad + key + ":" + self.separator(" ").rstrip(",") + self.value(level)
                             + self.end_of_line())

    def document(self):
        lines = []
        if self.chance(0.03):
            lines.append(self.rng.choice(["---", "%YAML 1.2\n---", "# top"]))
        self.mapping(lines, 0, 1, self.rng.choice([2, 2, 4, 1]))
        if self.chance(0.03):
            lines.append(self.rng.choice(["...", "---\na: 1", "- x"]))
        text = "\n".join(lines) + ("\n" if self.rng.random() < 0.8 else "")
        if self.rng.random() < 0.1:
            text = text.replace("\n", "\r\n")
        if self.chance(0.03):
            text = text.replace("\n", "\r", 1)
        if self.chance(0.03):
            text = text.replace("  ", "\t", 1)
        return text


def mutated(rng: random.Random, text: str) -> str:
    """The text with a few characters inserted or deleted: near the forms, by construction."""
    for _ in range(rng.choice([1, 2, 3])):
        at = rng.randrange(len(text) + 1)
        if rng.random() < 0.6:
            text = text[:at] + rng.choice(" :,-#[]{}'\"\n\r\t&*!?|>~.0e\u2028\x85\ufeff") + text[at:]
        else:
            text = text[:at] + text[at + rng.choice([1, 2, 5]):]
    return text


def documents(seed: int, count: int, clean: bool):
    rng = random.Random(seed)
    writer = Writer(rng, clean)
    return [writer.document() for _ in range(count)]


@pytest.mark.parametrize("seed", range(8))
def test_documents_in_the_fast_forms_are_read_by_it_and_alike(seed):
    for text in documents(seed, 150, clean=True):
        raw = text.encode("utf-8")
        assert accepted(raw), raw
        assert_same(raw)


@pytest.mark.parametrize("seed", range(8))
def test_documents_near_the_fast_forms_read_alike(seed):
    answered = 0
    for text in documents(100 + seed, 150, clean=False):
        raw = text.encode("utf-8")
        answered += accepted(raw)
        assert_same(raw)
        assert_same(raw, nonfinite=True)
    assert 20 <= answered <= 140  # the fast reader answered for some, and refused some


@pytest.mark.parametrize("seed", range(8))
def test_mutated_documents_read_alike(seed):
    rng = random.Random(1000 + seed)
    for text in documents(200 + seed, 100, clean=True):
        raw = mutated(rng, text).encode("utf-8", "surrogatepass")
        assert_same(raw)


@pytest.mark.parametrize("chunk", [1, 40])
def test_a_block_mapping_read_in_chunks_reads_alike(monkeypatch, chunk):
    """Big block mappings are turned into JSON a chunk of lines at a time (a duplicate key can
    be in two chunks); here every few lines are a chunk."""
    monkeypatch.setattr(fastyaml, "_CHUNK", chunk)
    rng = random.Random(chunk)
    for text in documents(300, 100, clean=True) + documents(301, 100, clean=False):
        assert_same(text.encode("utf-8"))
        assert_same(mutated(rng, text).encode("utf-8"))
    nodes = "nodes:\n" + "".join(f"  n{i}: {{op: neg, args: [x]}}\n" for i in range(50))
    assert_same((nodes + "  n3: {op: neg, args: [x]}\n").encode())  # a duplicate, chunks apart
    # two pairs on one line, and a duplicate chunks apart: the number of keys comes out right
    assert_same((nodes.replace("n1: {", "n1: a, m: {") + "  n3: {op: neg, args: [x]}\n").encode())


def nested_blocks(levels: int, bottom: str = "1") -> str:
    """Block mappings nested `levels` deep (the top one included), `bottom` in the deepest."""
    return ("".join(" " * i + f"k{i}:\n" for i in range(levels - 1))
            + " " * (levels - 1) + f"v: {bottom}\n")


# Hand-picked texts at the edges of the fast forms: each is read alike, and the first group is
# read by the fast reader itself.
IN_THE_FORMS = [
    "a: [1,2]\n", "a: [x] # c\n", "a: {op: x, args: [y, 2]}\n", "a: [True, ~, Null]\n",
    "a: [TRUE, FALSE, NULL, true, false, null]\n", "a: ''\n", "a: -x\n",
    "a: f(x, [y]) and {z}\n", "a: x?y\n", "a:\n  b:\n    c: 1\n  d: 2\n", "a: 1\r\nb:\r\n  c: 2\r\n",
    "\u2028a: 1\n", "a: b\u2028c\n", "a: 1 # \u2028 c\nb: 2\n", "a: [b\u2029, \x85c]\n",
    "# top\n\n   # indented\na: 1\n\n# between\nb:\n  c: 1\n# inside, at column 0\n  d: 2\n",
    "a: " + "[" * 63 + "]" * 63 + "\n", "a:\n  b: " + "[" * 62 + "]" * 62 + "\n", nested_blocks(63, "[1]"),
    nested_blocks(64),
    "a: 12345678901234567890.5\n", "a: 0.0036211290177734987\n", "a: {null: 1, true: 2}\n",
]
NEAR_THE_FORMS = [
    "nodes:\n  u: a, b: c\n", "nodes:\n  u: [x], y: z\n", "nodes:\n  u: {a: b}, c: d\n",
    "a: [ x ]\n", "a: 'x # y'  # z\n", "a: {1e3: 3}\n", "a: {x:1}\n", "a: [x,y]\n", "a: {x: }\n", "a: [x, ]\n", "a: [x,]\n", "a: [a b]\n",
    "nodes:\n  u: a b\n", "nodes:\n  u: [a\n  v: b]\n", "a: [x, #c\n  y]\n", "a: {op: x, op: y}\n",
    "nodes:\n  u: {op: x}\n  u: {op: y}\n", "a: 1e400\n", "a: [1e400]\n", "nodes:\n  u: 1e400\n",
    "a: [1e-400]\n", "a: [-Infinity]\n", "a: [NaN, Infinity]\n", "a: [True,False]\n",
    "a: ['x']\n", 'a: ["x"]\n', "a: [x'y]\n", "a: [?x]\n", "a: [x?y]\n", "nodes:\n  a?b: 1\n",
    "a: -\n", "a: - x\n", "a: [-]\n", "a: [9223372036854775808]\n", "a: [017, .5, +1, 0x1F]\n",
    "a: 1\rb: 2\n", "---\na: 1\n", "a: 1\n...\n", "a: 1\n---\nb: 2\n", "a:\n    b: 1\n  c: 2\n",
    "a: 1\n  b: 2\n", "a:\n  - x\n", "a: |\n  x\n", "a: >\n  x\n", "a: &x 1\nb: *x\n",
    "a: !!str 1\n", "a: 'it''s'\n", 'a: "a\\tb"\n', "a: " + "[" * 64 + "]" * 64 + "\n",
    "a:\n  b: " + "[" * 63 + "]" * 63 + "\n", nested_blocks(64, "[1]"), nested_blocks(65),
    "a:\tb\n",
    "a: [x]]\n", "a: [x}\n", "a: {x: [y}]\n", "a: [x], [y]\n", "nodes:\n  u: [x], [y]\n",
    "a: b: c\n", "a: b:\n", "a:b\n", " a: 1\n", "a : 1\n", "a: 1 #c\n  b: 2\n", "- a\n", "[a]\n",
    "a\n", "", "# only\n", "a: {b: {c: d, c: e}}\n", "a: [{b: 1, b: 2}]\n", "a: .nan\n",
    "nodes:\n  u: .inf\n", "a: [.nan]\n", "a: 'x\x85y'\n", "a: \"x\u2028y\"\n", "a: x\n b\n",
]


@pytest.mark.parametrize("text", IN_THE_FORMS)
def test_texts_in_the_fast_forms(text):
    assert accepted(text.encode())
    assert_same(text.encode())


@pytest.mark.parametrize("text", NEAR_THE_FORMS)
def test_texts_near_the_fast_forms(text):
    for nonfinite in (False, True):
        assert_same(text.encode(), nonfinite)


@pytest.mark.parametrize("chunk", [1, 300, fastyaml._CHUNK])
def test_one_entry_per_line_mappings_are_read_in_bulk(monkeypatch, chunk):
    """The bulk reading is the point of the fast reader: a file of sections of one `key: value`
    per line never goes line by line (were it to, it would still be right, only slow)."""
    monkeypatch.setattr(fastyaml, "_CHUNK", chunk)
    monkeypatch.setattr(fastyaml, "_block", None)  # calling it fails
    lines = [f"  n{i}: {{op: mul, args: [n{i - 1}, p{i}]}}  # {i}" for i in range(1, 200)]
    params = [f"  p{i}: {i / 8}" for i in range(1, 200)]
    text = "\n".join(["graphrun: 1", "inputs:", "  n0: 0.5", "params:", *params,
                      "", "nodes:", *lines, "loss: n199", ""])
    assert_same(text.encode())
    assert accepted(text.encode())
    # an explicit example (graphs/mlp.yaml is written in expressions now, which are read line by
    # line: a plain scalar with spaces is not JSON)
    with open(os.path.join(ROOT, "graphs", "classifier.yaml"), "rb") as f:
        assert accepted(f.read())


@pytest.mark.parametrize("written", [
    "[1, 2.5, -3, 4]", "[ [1, 2], [3, 4], [5] ]", "[{a: 1}, {}, [], [x, y], z]",
    "[[1, [2]], 3, 4]", "[[1, 2], [3, [4, 5]], [6]]", "[1,2,3]"])
def test_one_flow_item_is_found_where_all_of_them_are(written):
    """flow_item skips to one item of a flow list; where it answers, it is where flow_positions
    records that item (a nested item before it: no answer, flow_positions is asked)."""
    text = f"graphrun: 1\nx: {written}\n"
    at = text.index("[")
    value = fastyaml.read(text)["x"]
    marks = {}
    fastyaml.flow_positions(value, text, at, marks)
    every = marks[id(value)][1]
    answers = [fastyaml.flow_item(text, at, k) for k in range(len(value))]
    assert all(a is None or a == every[k] for k, a in enumerate(answers)), (answers, every)
    assert answers[0] == every[0]


def test_a_ragged_item_deep_in_a_long_flow_list_is_at_its_column(tmp_path):
    rows = 200_000
    text = "graphrun: 1\ninputs:\n  x: [" + "[1.5, 2.5], " * rows + "[1.5]]\nnodes:\n" \
        "  y: {op: neg, args: [x]}\n"
    path = tmp_path / "g.yaml"
    path.write_text(text)
    with pytest.raises(GraphError) as e:
        api.compile(str(path))
    col = text.split("\n")[2].index("[1.5]]") + 1
    assert [(r.line, r.col) for r in e.value.located()] == [(3, col)]


def test_a_name_starts_as_documented():
    # a letter, `_` or any non-ASCII character; fastyaml writes it as what it is not (see _NAME)
    start = re.compile("[A-Za-z_\x80-\U0010ffff]")
    for code in [*range(0x10000), 0x10000, 0x1F600, 0x10FFFF]:
        c = chr(code)
        assert bool(fastyaml._KEY.match(c)) == bool(start.match(c)), hex(code)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_paths_located_in_any_order_are_where_pyyaml_puts_them(newline):
    """The fast reader's texts are located from the text (fastyaml.Outline: one search per key,
    from where the mapping's previous key was found): in a shuffled order, past the last key
    and back, every value and key is where the PyYAML reader puts it."""
    lines = ["# a graph", "graphrun: 1", "", "inputs:", "  # the inputs", "  x: 1.5",
             "  y:   [[1, 2], [3, 4]]  # a comment", "#  z: not a key", "  z:", "params:",
             "  w: {init: zeros, shape: [2, 2]}", "  xy: 2", "  x: 3", "nodes:", "  v:",
             "    op: mul", "      # deeper comment", "    args: [x, w]", "  u: {op: neg, args: [v]}",
             "outputs:", "last:"]
    raw = newline.join(lines).encode() + newline.encode()
    assert accepted(raw)
    fast, reference = load.load_bytes(raw, fast=True), load.load_bytes(raw, fast=False)
    paths = [(path, at_key) for path, at_key in all_positions(reference.source, reference.data)
             if at_key != "scalar"]
    paths += [(("inputs", "x: 1.5\n  y"), False), (("nodes", "v", "op: mul\n    args"), True),
              (("params", 2), False), (("nodes", "u", "args", True), False)]  # no such keys
    for seed in range(5):
        random.Random(seed).shuffle(paths)
        source = load.load_bytes(raw, fast=True).source
        assert source.read_fast
        for path, at_key in paths:
            assert source.locate(path, at_key) == reference.source.locate(path, at_key), path
    assert fast.source.locate(("nodes", "v", "args", 1)) == (18, 15)


def test_a_big_number_is_found_as_the_regex_finds_it():
    """fastyaml._big_number looks for this regex in translated bytes: both agree on every text."""
    regex = re.compile("(?<![.0-9])[0-9]{19}|[eE][-+]?[0-9]{3}")
    rng = random.Random(17)
    alphabet = "0123456789.eE+-, []xé"
    texts = ["", "1" * 19, "0." + "1" * 19, "1." + "2" * 30, "1e300", "1E+300", "1e-30", "2e3",
             "x" + "9" * 19, "-" + "9" * 18, "[1.5e-308, 2]", "é" + "1" * 19]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(60))) for _ in range(3000)]
    texts += ["".join(rng.choice("0123456789" * 8 + ".e-") for _ in range(rng.randrange(80)))
              for _ in range(3000)]
    for text in texts:
        assert fastyaml._big_number(text.encode()) == bool(regex.search(text)), text


def test_names_split_out_where_few_are_as_the_regex_splits_them():
    """fastyaml._name_split tries _NAME_TOKEN only where a space is followed by a character a
    name can start with, when few are (a tensor's text): both give the same parts, on texts of
    mostly numbers (that way) and of many names (the regex's), ASCII or not."""
    rng = random.Random(23)
    numbers = [" 1", " 2.5", ", ", " [", "]", " -3", " 1e5", " 7E-2", "\n ", " {", "}", " 0"]
    rare = [" x", " true", " null", " e", " E1", " _a", " ab:", ":", " nullx", " é", " ~", "a",
            " trueb", " x]", " x,", " x:", " True", "\n x:", " é]", " a-b", " Ab1"]
    texts = [" x: [1, 2]", " 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 x", " e" + " 1" * 40]
    for share in (0.0, 0.02, 0.1, 0.5):
        texts += ["".join(rng.choice(rare) if rng.random() < share else rng.choice(numbers)
                          for _ in range(rng.randrange(120))) for _ in range(2000)]
    sparse = 0
    for text in texts:
        assert fastyaml._name_split(text) == fastyaml._NAME_TOKEN.split(text), text
        marked = text.encode().translate(fastyaml._NAME_START_AS_A)
        sparse += text.isascii() and marked.count(b" A") <= marked.count(b" ") >> 4
    assert 2000 < sparse < len(texts) - 2000  # both ways taken, often


def test_the_bytes_a_name_starts_with_are_the_names_first_characters():
    for byte in range(256):
        starts = bool(fastyaml._KEY.match(bytes([byte]).decode("latin-1")))
        assert (fastyaml._NAME_START_AS_A[byte] == ord("A")) == starts, byte
        assert fastyaml._NAME_START_AS_A[byte] in (ord("A"), byte)


@pytest.mark.parametrize("node", [
    "{op: neg, args: [x]}", "{op: neg, args: [x], args: [y]}", "{op: neg, op: exp, args: [x]}",
    "{args: [x], op: neg}", "{op: add, args: [x, args: 1]}", "{op: neg, args: [{op: x, args: []}]}",
    "{ op: neg , args: [x]}", "{op: args, args: [op]}", "{op: true, args: [null, op]}"])
def test_a_nodes_keys_quoted_in_bulk_read_alike(node):
    """_json_text quotes `{ op: ` and `, args: ` by str.replace before its split: wherever they
    are written, and written again, the text reads as PyYAML reads it."""
    raw = f"graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n  v: {node}\n  w: {node}\n".encode()
    assert_same(raw)


# The limit on lists and mappings (load.MAX_COLLECTIONS), made small: both readers count before
# they make, and name the top-level entry that passes it.
LIMITED = [
    ("a: [[1], [2], [3]]\n", None),  # the top mapping and 4 lists: 5, the limit
    ("a: [[1], [2], [3], [4]]\n", (1, 1)),
    ("graphrun: 1\nnodes:\n  x: {op: neg, args: [y]}\n  y: {op: neg, args: [z]}\n", (2, 1)),
    ("graphrun: 1\nnodes:\n  x: {op: neg, args: [y]}\n", None),
    ("a: 1\nb:\n  c:\n    d:\n      e: [1]\n", None),  # nested block mappings, then a list
    ("a: 1\nb:\n  c:\n    d:\n      e: [[1]]\n", (2, 1)),
    ("a: [1]\nb: {c: [1], d: [[2]]}\n", (2, 1)),
    ("a: [1]  # [[[[[[ in a comment\nb: ['[[[[', '{{{{']\n", None),  # quoted: PyYAML counts
    ("a: [1]\nb: ['[[[[', [[[1]]]]\n", (2, 1)),
    ("a: [1]\nb:\t[[[[1]]]]\n", (2, 1)),  # a tab: PyYAML alone
    ("- [1]\n- [[[[1]]]]\n", (2, 6)),  # no top-level key: the list that passes the limit
]


@pytest.mark.parametrize("text, where", LIMITED)
def test_the_collection_limit_is_one_answer_in_both_readers(monkeypatch, text, where):
    monkeypatch.setattr(load, "MAX_COLLECTIONS", 5)
    raw = text.encode()
    assert_same(raw)
    problems = outcome(raw, True)[0]
    limit = [p for p in problems or () if "lists and mappings" in p.message]
    if where is None:
        assert not limit
    else:
        assert [(p.line, p.col) for p in limit] == [where], problems
        assert "more than 5 lists and mappings" in limit[0].message


def _fits_by_rounds(brackets: bytes, budget: int) -> bool:
    """_fits as it was before its numpy path: pairs removed round by round."""
    for _ in range(budget + 1):
        if len(brackets) == brackets.count(b"\n"):
            return True
        shorter = brackets.replace(b"[]", b"\0").replace(b"{}", b"\0").replace(b"\0", b"")
        if len(shorter) == len(brackets):
            return False
        brackets = shorter
    return False


def test_the_running_sums_of_depth_agree_with_removing_pairs(monkeypatch):
    monkeypatch.setattr(fastyaml, "_ROUNDS_UP_TO", 0)  # every text by running sums
    rng = random.Random(17)
    for _ in range(3000):
        depth, parts = 0, []
        for _ in range(rng.randrange(1, 40)):
            step = rng.choice("[[]]\n" if rng.random() < 0.9 else "[]\n{}")
            parts.append(step)
        brackets = "".join(parts).encode()
        budget = rng.randrange(0, 6)
        one_kind = b"{" not in brackets and b"}" not in brackets
        if one_kind or _fits_by_rounds(brackets, budget):  # (a `[` closed by `}`: json's refusal)
            assert fastyaml._fits(brackets, budget) == _fits_by_rounds(brackets, budget), brackets
    deep = b"[" * 62 + b"]" * 62
    assert fastyaml._fits(deep * 3, 62) and not fastyaml._fits(deep * 3, 61)


# Mappings of node lines (`name: {op: name, args: [name, ...]}`), read by one regex
# (fastyaml._node_lines) when every line is one: read as PyYAML reads them, whichever reader
# answers; the first group by the regex itself.
NODE_LINES = [
    "  a: {op: neg, args: [x]}\n  b: {op: add, args: [a, x]}\n",
    "  a: {op: neg, args: [x]}\n  true: {op: neg, args: [a]}\n",  # a key as written: a name
    "  nullify: {op: nulls, args: [truer, Falsey, xnull]}\n",  # words inside names
    "  \u00e9t\u00e9: {op: neg, args: [x\u2028y]}\n  _b.1: {op: f, args: [\u00e9t\u00e9, a'b]}\n",
    "    a: {op: neg, args: [x]}\n    b: {op: neg, args: [a]}\n",  # four spaces
    "  a: {op: neg, args: [x]} \n", "  a: {op: neg, args: [x]}  # c\n\n  # d\n",  # cleaned
]
NOT_NODE_LINES = [
    "  a: {op: neg, args: [x]}\n  b: {op: true, args: [a]}\n",  # a boolean op
    "  a: {op: neg, args: [null]}\n", "  a: {op: neg, args: [x, NULL]}\n",
    "  a: {op: neg, args: [True, x]}\n",
    "  a: {op: neg, args: [x]}\n  a: {op: exp, args: [x]}\n",  # a duplicate
    "  a: {op: neg, args: [x]}\n  b: {op: mul, args: [a, 2]}\n",  # a number
    "  a: {op: neg, args: []}\n", "  a: {op: neg, args: [x,y]}\n", "  a: {op: neg, args: [x] }\n",
    "  a: {op: neg, args: [x], axis: 0}\n", "  a: {args: [x], op: neg}\n",
    "  a: {op: neg, args: [x]}\n  b: 1\n", "  a: {op: neg, args: [x]}\n  b: [x]\n",
    "  a: {op: neg, args: [x, ]}\n", "  a: {op: neg, args: [[x]]}\n",
]


def assert_read_by(monkeypatch, raw: bytes, reader: str, by_it: bool, nonfinite=(False,)):
    """`raw` read alike by both readers with every line (or entry) a chunk and with one chunk,
    and by fastyaml's `reader` itself (a regex) exactly when `by_it`."""
    by_regex = []
    real = getattr(fastyaml, reader)

    def spy(*args):
        by_regex.append(real(*args))
        return by_regex[-1]

    monkeypatch.setattr(fastyaml, reader, spy)
    for chunk in (1, fastyaml._CHUNK):
        monkeypatch.setattr(fastyaml, "_CHUNK", chunk)
        by_regex.clear()
        for each in nonfinite:
            assert_same(raw, each)
        if by_it:
            assert accepted(raw) and any(found is not None for found in by_regex)
        else:
            assert all(found is None for found in by_regex)


# Mappings of node blocks (`name:` above `op: name` and `args: [name, ...]`), read by one regex
# (fastyaml._node_blocks) when every entry is one: read as PyYAML reads them, whichever reader
# answers; the first group by the regex itself.
NODE_BLOCKS = [
    "  a:\n    op: neg\n    args: [x]\n  b:\n    op: add\n    args: [a, x]\n",
    "  a:\n    op: neg\n    args: [x]\n  true:\n    op: neg\n    args: [a]\n",  # a name
    "  nullify:\n    op: nulls\n    args: [truer, Falsey, xnull]\n",  # words inside names
    "  \u00e9t\u00e9:\n   op: neg\n   args: [x\u2028y]\n  _b.1:\n   op: f\n   args: [a'b]\n",
    "    a:\n      op: neg\n      args: [x]\n",  # four spaces, then six
    "  a:  # c\n\n    op: neg \n    # d\n    args: [x]  # e\n",  # cleaned
]
NOT_NODE_BLOCKS = [
    "  a:\n    op: neg\n    args: [x]\n  b:\n    op: true\n    args: [a]\n",  # a boolean op
    "  a:\n    op: neg\n    args: [null]\n", "  a:\n    op: neg\n    args: [x, NULL]\n",
    "  a:\n    op: neg\n    args: [x]\n  a:\n    op: exp\n    args: [x]\n",  # a duplicate
    "  a:\n    op: neg\n    args: [x]\n  b:\n    op: mul\n    args: [a, 2]\n",  # a number
    "  a:\n    op: neg\n    args: []\n", "  a:\n    op: neg\n    args: [x,y]\n",
    "  a:\n    op: neg\n    args: [x]\n    axis: 0\n",  # a third key
    "  a:\n    op: neg\n    args: [x]\n  b:\n    args: [x]\n    op: neg\n",  # its order
    "  a:\n    op: neg\n    args: [x]\n  b:\n     op: neg\n     args: [x]\n",  # indented apart
    "  a:\n    op: neg\n    args: [x]\n  b: {op: neg, args: [a]}\n",  # a node line among them
    "  a:\n    op: neg\n    args:\n    - x\n",  # a block sequence
    "  a:\n    op: neg\n      args: [x]\n",  # args deeper than op: a syntax error
]


NODES = ([("_node_lines", lines, lines in NODE_LINES) for lines in NODE_LINES + NOT_NODE_LINES]
         + [("_node_blocks", lines, lines in NODE_BLOCKS)
            for lines in NODE_BLOCKS + NOT_NODE_BLOCKS])


@pytest.mark.parametrize("reader, lines, by_it", NODES)
def test_nodes_read_alike(monkeypatch, reader, lines, by_it):
    """Node lines and node blocks under `nodes`: read as PyYAML reads them (every line or entry
    a chunk, and one chunk), and by the regex itself when `by_it`."""
    raw = f"graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n{lines}loss: a\n".encode()
    assert_same(raw)
    assert_read_by(monkeypatch, raw, reader, by_it)


COUNTED = [
    # the mapping, and each node's mapping and list, taken from the limit before any is made
    ("".join(f"  n{i}:\n    op: neg\n    args: [x]\n" for i in range(10)), 10),
    # a mapping the node-line regex gives up on (a number on its last line) is read through
    # JSON, and its lists and mappings counted once
    ("".join(f"  n{i}: {{op: neg, args: [x]}}\n" for i in range(10))
     + "  z: {op: mul, args: [x, 2]}\n", 11),
]


@pytest.mark.parametrize("nodes,count", COUNTED)
def test_nodes_count_their_collections_once(monkeypatch, nodes, count):
    """At the limit (the top mapping, `nodes`, and a mapping and a list a node), no error; one
    under it, the limit's."""
    raw = f"nodes:\n{nodes}".encode()
    monkeypatch.setattr(load, "MAX_COLLECTIONS", 1 + 1 + 2 * count)
    assert accepted(raw) and outcome(raw, True)[0] is None
    monkeypatch.setattr(load, "MAX_COLLECTIONS", 1 + 1 + 2 * count - 1)
    assert "lists and mappings" in outcome(raw, True)[0][0].message


# Mappings of `name: plain string` lines (expressions), read by one regex (fastyaml._plain_lines)
# when every line is one: read as PyYAML reads them; the first group by the regex itself.
PLAIN_LINES = [
    "  a: -x\n  b: tanh(a) + 1\n", "  a: x\n  b: a * x\n", "  a: x]\n  b: y}, z\n",
    "  a: it's\n  b: x\"y\n  c: x:y\n  d: a?b\n", "  a: -(x)\n  b: \u00e9t\u00e9 @ W\n",
    "  a: nullify\n  b: True_or\n", "  a: x  # a comment\n\n  b: -a\n", "  a: x\u2028y\n",
    "    a: x\n    b: -a\n",
]
NOT_PLAIN_LINES = [
    "  a: -x\n  b: true\n", "  a: -x\n  b: Null\n", "  a: -x\n  b: ~\n", "  a: -x\n  b: 0.5\n",
    "  a: -x\n  b: -1\n", "  a: -x\n  b: -.5\n", "  a: -x\n  b: .inf\n", "  a: -x\n  b: +1\n",
    "  a: -x\n  a: -y\n", "  a: -x\n  b: c: d\n", "  a: -x\n  b: [x]\n", "  a: -x\n  b: {op: x}\n",
    "  a: -x\n  b: 'x'\n", "  a: -x\n  b: &x y\n", "  a: -x\n  b: *x\n", "  a: -x\n  b: !x y\n",
    "  a: -x\n  b: |\n    y\n", "  a: -x\n  b: - y\n", "  a: -x\n  b: --y\n", "  a: -x\n  b: ?y\n",
    "  a: -x\n  b: %y\n", "  a: -x\n  b: @y\n", "  a: -x\n  b: `y\n", "  a: -x\n  b: :y\n",
    "  a: -x\n  b:\n    c: y\n", "  a: -x\n   b: y\n",
]




# Mappings of `name: number` lines (a scalar graph's params), read by one regex
# (fastyaml._number_lines) when every line is one: read as PyYAML reads them.
NUMBER_LINES = [
    "  a: 1\n  b: -0.5\n  c: 1e3\n  d: -0\n  e: 12E-2\n  f: 0.0036211290177734987\n",
    "  a: 123456789012345678\n  b: -123456789012345678.5\n  c: 1e99\n  d: -0.0\n  e: 5e-05\n",
    "  a: 1  # one\n\n  b: 2\n", "    a: 1\n    b: 2.5\n",
]
NOT_NUMBER_LINES = [
    "  a: 1\n  b: 017\n", "  a: 1\n  b: .5\n", "  a: 1\n  b: +1\n", "  a: 1\n  b: 1.\n",
    "  a: 1\n  b: 1e300\n", "  a: 1\n  b: 1234567890123456789\n", "  a: 1\n  b: 0x1F\n",
    "  a: 1\n  b: 1_000\n", "  a: 1\n  a: 2\n", "  a: 1\n  b: x\n", "  a: 1\n  b: [1]\n",
    "  a: 1\n  b: .inf\n", "  a: 1\n  b: 1e-400\n", "  a: 1\n  b: 1:30\n", "  a: 1\n  b: 1 2\n",
    "  a: 1\n  b: -\n", "  a: 1\n  b: 2001-12-14\n",
]


SCALAR_LINES = (
    [("_plain_lines", lines, True) for lines in PLAIN_LINES]
    + [("_plain_lines", lines, False) for lines in NOT_PLAIN_LINES]
    + [("_number_lines", lines, True) for lines in NUMBER_LINES]
    + [("_number_lines", lines, False) for lines in NOT_NUMBER_LINES])


@pytest.mark.parametrize("reader, lines, by_it", SCALAR_LINES)
def test_scalar_lines_read_alike(monkeypatch, reader, lines, by_it):
    """Plain-string lines under `nodes`, number lines under `params`: read as PyYAML reads them,
    and by the regex itself when `by_it`."""
    if reader == "_plain_lines":
        raw = f"graphrun: 1\ninputs:\n  x: 1.0\nnodes:\n{lines}".encode()
    else:
        raw = f"graphrun: 1\nparams:\n{lines}nodes:\n  y: {{op: neg, args: [a]}}\n".encode()
    assert_read_by(monkeypatch, raw, reader, by_it, nonfinite=(False, True))


# A top-level key the caller refuses whatever its value (`read_only`: a graph file's keys): its
# value, written on its line as one flow collection ending there, is left unread
UNREAD_VALUES = [  # (the value after `junk: `, left unread)
    ("[a, b, c]", True), ("{a: 1, b: [2, 3]}", True), ("[]", True), ("{}", True),
    ("{a: 1, a: 2}", True), ("[a: b: c]", True), ("[x, *y, &z w, !!str v]", True),
    ("[[[1]]]  # a comment", True), ("[" * 63 + "]" * 63, True),
    ("[" * 64 + "]" * 64, False),  # deeper than the document may be: that problem is its own
    ("[a] [b]", False), ("[a], b", False), ("[a, b", False), ("[a}", False), ("{a: [1}]", False),
    ("[a, 'b]']", False), ('["a]"]', False), ("a b", False), ("1", False), ("'[x]'", False),
    ("['a]", False), ('["a]', False),  # a quoted scalar may go on over the lines below
    ("[a,\n  b]", False), ("[a]\n  b: 1", False),  # a flow, and lines below it
    # or the lines below `junk:`: every flow closed on its line, no quotes
    ("\n  a: [1]\n  b: {c: d}", True), ("\n  - a\n  - [b, c]", True), ("\n  a: |\n    t", True),
    ("\n  a:\n    - - b", True), ("\n  a: b\n  a: c", True),
    ("\n  a: [1,\n  2]", False), ("\n  a: [1,\n2]", False), ("\n  a: 'x'", False),
    ('\n  a: "x\n  y"', False), ("\n  a: |\n    [t", False),  # (a bracket in a block scalar)
]


@pytest.mark.parametrize("value, unread", UNREAD_VALUES)
def test_a_key_refused_whatever_its_value_is_left_unread_when_its_lines_hold_it(value, unread):
    text = f"graphrun: 1\njunk: {value}\ninputs:\n  x: 1.0\nnodes:\n  y: {{op: neg, args: [x]}}\n"
    got = fastyaml.read(text, read_only=frozenset({"graphrun", "inputs", "nodes"}))
    whole = fastyaml.read(text)
    if unread:
        assert got["junk"] is fastyaml.UNREAD and list(got) == ["graphrun", "junk", "inputs", "nodes"]
        assert got["nodes"] == {"y": {"op": "neg", "args": ["x"]}} and got["inputs"] == {"x": 1.0}
    else:
        assert got == whole  # read as without `read_only` (or refused alike)
    # a key the caller reads is always read
    assert fastyaml.read(text, read_only=frozenset({"graphrun", "junk", "inputs", "nodes"})) == whole


def test_a_key_refused_whatever_its_value_is_one_problem_and_the_rest_is_checked(monkeypatch):
    """The graph's problems with a value left unread are those of a whole read (the value read
    fine); with a problem inside the value (a duplicate key, YAML that is not), the key is the
    one problem there, and the rest of the file is checked all the same."""
    def problems(text):
        with pytest.raises(GraphError) as e:
            api.compile_text(text, "g.yaml")
        return str(e.value)

    rest = "inputs:\n  x: 1.0\nnodes:\n  y: x + zz\n  w: {op: mull, args: [x]}\n"
    unread = problems(f"graphrun: 1\njunk: [a, {{b: 1}}]\n{rest}")
    monkeypatch.setattr("graphrun.frontend.schema.top_level_keys", lambda: None)  # read whole
    assert problems(f"graphrun: 1\njunk: [a, {{b: 1}}]\n{rest}") == unread
    monkeypatch.undo()
    assert unread.splitlines() == [
        "g.yaml:2:1: error: unknown key 'junk' in the graph (expected one of: blocks, "
        "description, graphrun, include, inputs, loss, name, nodes, outputs, params, tolerance, "
        "train)",
        "g.yaml:6:10: error: unknown name 'zz'",
        "g.yaml:7:11: error: unknown op 'mull'; did you mean 'mul'?"]
    for inside in ("{a: 1, a: 2}", "[a: b: c]"):
        assert problems(f"graphrun: 1\njunk: {inside}\n{rest}") == unread
