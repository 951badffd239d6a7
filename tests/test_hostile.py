"""Hostile and broken graph files (tests/hostile/), each run through the real CLI in a subprocess so
that a crash counts: exit 2, `FILE:LINE:COL: error: ...` at the offending key or value with the key
words of the message, no traceback, and the previous output file left byte-identical.

The expected line:col of each file is read off the file by hand (1-based; the column of the
offending token), not copied from graphrun's output.
"""

import io
import os
import subprocess
import sys

import pytest

from graphrun.cli import main

HOSTILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostile")

# file: (line, col, words that the first error line must contain)
EXPECTED = {
    # tags: none at all, nothing is ever constructed from one
    "tag_python_object.yaml": (3, 8, ["tags are not allowed", "!!python/object/apply:os.system"]),
    "tag_binary.yaml": (3, 6, ["tags are not allowed", "!!binary"]),
    "tag_set.yaml": (3, 6, ["tags are not allowed", "!!set"]),
    "tag_timestamp.yaml": (3, 6, ["tags are not allowed", "!!timestamp"]),
    "tag_str.yaml": (4, 11, ["tags are not allowed", "!!str"]),
    "tag_nonspecific.yaml": (4, 11, ["tags are not allowed", "'!'"]),
    "tag_local.yaml": (4, 6, ["tags are not allowed", "!node"]),
    # anchors and aliases
    "alias_bomb.yaml": (2, 4, ["anchors", "&a", "not allowed"]),
    "alias_self.yaml": (2, 8, ["anchors", "&a"]),
    "alias_reuse.yaml": (3, 6, ["anchors", "&v"]),
    "alias_undefined.yaml": (4, 23, ["aliases", "*w", "not allowed"]),
    # nesting depth: the 65th level is where it stops
    "deep_flow.yaml": (1, 65, ["nesting", "deeper than 64"]),
    "deep_flow_mapping.yaml": (2, 260, ["nesting", "deeper than 64"]),
    "deep_block.yaml": (66, 129, ["nesting", "deeper than 64"]),
    "deep_block_sequence.yaml": (4, 129, ["nesting", "deeper than 64"]),
    # bytes and characters
    "bad_utf8.yaml": (3, 17, ["invalid UTF-8", "0xe9"]),
    "utf16.yaml": (1, 1, ["UTF-16", "save it as UTF-8"]),
    "surrogate_bytes.yaml": (4, 24, ["invalid UTF-8", "0xed"]),
    "surrogate_escape.yaml": (3, 19, ["invalid YAML", "escape"]),  # where libyaml stops
    "binary_junk.yaml": (1, 1, ["invalid UTF-8", "0xa5"]),
    "control_character.yaml": (4, 14, ["control character U+0007"]),
    "escape_sequence.yaml": (4, 27, ["control character U+001B"]),
    "nul_byte.yaml": (4, 26, ["NUL byte", "U+0000"]),
    "tab_indent.yaml": (4, 1, ["tab", "spaces"]),
    "bom_in_middle.yaml": (5, 1, ["byte-order mark", "U+FEFF"]),
    "bom_then_error.yaml": (4, 11, ["unknown op 'negg'", "did you mean 'neg'"]),
    "crlf_error.yaml": (4, 11, ["unknown op 'negg'", "did you mean 'neg'"]),
    "cr_only_error.yaml": (4, 11, ["unknown op 'negg'", "did you mean 'neg'"]),
    # documents and syntax
    "empty.yaml": (1, 1, ["empty"]),
    "only_comments.yaml": (1, 1, ["empty"]),
    "two_documents.yaml": (5, 1, ["exactly one YAML document"]),
    "top_level_list.yaml": (1, 1, ["expected a mapping at the top level", "found a list"]),
    "top_level_scalar.yaml": (1, 1, ["expected a mapping at the top level", "string 'graphrun'"]),
    "syntax_unclosed.yaml": (4, 24, ["invalid YAML", "']'"]),
    "syntax_bad_indent.yaml": (5, 4, ["invalid YAML", "line 4"]),
    "key_is_a_list.yaml": (4, 3, ["key must be a plain name"]),
    # duplicate keys: at the second one, naming the line of the first
    "duplicate_node.yaml": (6, 3, ["duplicate key 'u'", "line 4"]),
    "duplicate_key_in_node.yaml": (4, 27, ["duplicate key 'op'", "line 4"]),
    "duplicate_top_level_key.yaml": (5, 1, ["duplicate key 'nodes'", "line 2"]),
    # YAML 1.2 scalars: errors at the literal; YAML 1.1 readings are not made
    "nan.yaml": (3, 12, ["non-finite", ".nan"]),
    "inf.yaml": (3, 6, ["non-finite", "-.inf"]),
    "float_overflow.yaml": (3, 12, ["2.5e308", "overflows float64"]),
    "int_overflow.yaml": (3, 6, ["9223372036854775808", "int64"]),
    "int_huge.yaml": (3, 6, ["5000 characters", "int64"]),
    "yaml11_bool_name.yaml": (5, 7, ["loss names no node", "'no'"]),
    "yaml11_sexagesimal.yaml": (3, 6, ["expected a number or a list", "'1:30'"]),
    "yaml11_date.yaml": (3, 6, ["expected a number or a list", "'2001-12-14'"]),
    # the schema
    "unknown_key.yaml": (4, 16, ["unknown key 'argz'", "did you mean 'args'"]),
    "unknown_top_level_key.yaml": (3, 1, ["unknown key 'nodez'", "did you mean 'nodes'"]),
    "missing_op.yaml": (4, 3, ["node 'u'", "missing", "'op'"]),
    "missing_nodes.yaml": (1, 1, ["missing", "'nodes'"]),
    "wrong_version.yaml": (1, 11, ["expected 1", "integer 2"]),
    "shape_float.yaml": (3, 28, ["expected an integer", "2.0"]),
    "shape_negative.yaml": (3, 30, [">= 1", "-3"]),
    "shape_zero.yaml": (3, 27, [">= 1", "integer 0"]),
    "ragged.yaml": (3, 15, ["ragged", "2 items", "found 1"]),
    "ragged_depth.yaml": (3, 15, ["ragged", "found a number"]),
    "empty_list_value.yaml": (3, 6, ["non-empty list"]),
    "string_in_tensor.yaml": (3, 10, ["expected a number", "'two'"]),
    "args_not_a_list.yaml": (4, 22, ["expected a list", "string 'w'"]),
    "bad_name.yaml": (4, 3, ["bad name '1u'"]),
    "bad_name_used.yaml": (2, 10, ["bad name 'my-w'"]),
    "bad_dtype.yaml": (3, 29, ["unknown dtype 'float16'", "did you mean"]),
    "int_param.yaml": (3, 29, ["param", "float64 or float32", "int64"]),
    "init_wrong_option.yaml": (3, 33, ["'fill'", "init: full", "init: normal"]),
    "missing_npy_file.yaml": (3, 13, ["no such file", "no-such-array.npy"]),
    "keepdims_not_bool.yaml": (5, 37, ["true or false", "'yes'"]),
    "tolerance_and_name.yaml": (2, 19, ["expected a number >= 0", "-1"]),
    "version_as_string.yaml": (1, 11, ["expected 1", "string '1'"]),
    "seed_negative.yaml": (2, 46, ["expected an integer >= 0", "-1"]),
    "number_as_name.yaml": (4, 3, ["bad name '1'"]),
    "bad_name_not_first.yaml": (6, 3, ["bad name 'e f'"]),  # at its key, not its mapping's first
    "bad_name_in_flow.yaml": (2, 22, ["bad name 'c-d'"]),
    # a list where a list is allowed, one item wrong: at the item, not "found a list"
    "list_attribute_bad_item.yaml": (5, 37, ["expected an integer", "boolean true"]),
    "arg_is_boolean.yaml": (4, 26, ["expected a name or a number", "boolean true"]),
    # the graph
    "unknown_op.yaml": (4, 11, ["unknown op 'mull'", "did you mean 'mul'"]),
    "unknown_name.yaml": (4, 23, ["unknown name 'wieght'", "did you mean 'weight'"]),
    "name_defined_twice.yaml": (6, 3, ["'w' is defined twice", "param", "node"]),
    "cycle.yaml": (3, 3, ["cycle: a -> b -> c -> a"]),
    "self_loop.yaml": (4, 26, ["'a'", "self-loop"]),
    "arity.yaml": (4, 22, ["add takes 2 arguments", "found 1"]),
    "concat_no_args.yaml": (3, 25, ["concat takes at least 1 argument", "found 0"]),
    "unknown_attribute.yaml": (4, 27, ["neg takes no attribute 'axis'"]),
    "missing_attribute.yaml": (5, 3, ["reshape needs the attribute 'shape'"]),
    "broadcast_mismatch.yaml": (6, 11, ["node 'u'", "broadcast", "(2,)", "(3,)"]),
    "matmul_mismatch.yaml": (6, 11, ["node 'u'", "matmul", "(2,3)"]),
    "reshape_size.yaml": (5, 38, ["node 'u'", "reshape", "(3,2)"]),
    "axis_out_of_range.yaml": (5, 33, ["node 'u'", "axis 2", "out of range"]),
    "loss_not_scalar.yaml": (6, 7, ["loss 'u'", "(2,)", "exactly one element"]),
    "loss_names_no_node.yaml": (5, 7, ["loss names no node", "'U'", "did you mean 'u'"]),
    "loss_is_a_param.yaml": (5, 7, ["loss 'w'", "param", "must be a node"]),
    "memory_budget.yaml": (3, 28, ["needs about 149.0 GiB", "param 'w'", "--memory-budget"]),
    "memory_budget_absurd_shape.yaml": (2, 34, ["needs about 10^38 bytes", "param 'w'"]),
    "memory_budget_broadcast.yaml": (6, 6, ["needs about", "node 'u'", "(200000,200000)"]),
    "many_errors.yaml": (4, 11, ["unknown op 'mull'"]),
    "learner_mistakes.yaml": (4, 11, ["unknown op 'mull'", "did you mean 'mul'"]),
    "load_errors_and_graph_errors.yaml": (2, 19, ["non-finite", ".nan"]),
    # numbers at run time: at the node's line, naming node, op, pass and first bad index
    "log_zero.yaml": (5, 6, ["node 'u' (log)", "forward", "-inf", "index [1]"]),
    "sqrt_zero_backward.yaml": (5, 6, ["node 'u' (sqrt)", "backward", "inf", "index [1]"]),
    "exp_overflow.yaml": (5, 6, ["node 'u' (exp)", "forward", "inf"]),
    "divide_by_zero.yaml": (5, 6, ["node 'u' (div)", "forward", "inf"]),
    "pow_nan.yaml": (4, 6, ["node 'u' (pow)", "forward", "nan"]),
    "label_out_of_range.yaml": (2, 13, ["node 'u' (cross_entropy)", "label 5", "0..1"]),
    # expressions and blocks: at the token, refused at once however deep or long
    "expr_deep_parens.yaml": (4, 6, ["20,001 characters long", "at most 10,000"]),
    "expr_deep_nesting.yaml": (4, 70, ["nested deeper than 64 levels"]),
    "expr_syntax_error.yaml": (5, 16, ["expected ')'", "the end of the expression"]),
    "expr_unknown_function.yaml": (4, 10, ["unknown function 'tanhh'", "did you mean 'tanh'"]),
    "expr_unknown_attribute.yaml": (4, 13, ["sum takes no attribute 'axes'", "'axis'"]),
    "expr_block_scalar.yaml": (7, 7, ["unknown name 'wieght'"]),
    "expr_block_shape.yaml": (8, 19, ["node 'h.out.1.1'", "matmul (1,3) @ (2,1)"]),
    "expr_block_cycle.yaml": (12, 10, ["block 'f' calls itself: f -> g -> f"]),
    # the ops of issue 14: losses never broadcast; shapes, indices and dtypes at their places
    "mse_broadcast.yaml": (7, 29, ["node 'L'", "mse", "pred (3,1)", "target (3,)",
                                   "(3,3)", "squeeze"]),
    "bce_target_shape.yaml": (7, 55, ["binary_cross_entropy_with_logits", "logits (4,)",
                                      "target (4,1)", "squeeze the target"]),
    "nll_labels_shape.yaml": (8, 34, ["nll_loss", "(2,3)", "labels of shape (2,)", "(2,1)",
                                      "squeeze"]),
    "unknown_op_synonym.yaml": (4, 11, ["unknown op 'clamp'", "did you mean 'clip'"]),
    "conv2d_channels.yaml": (7, 29, ["node 'y'", "conv2d", "3 channels", "expects 2"]),
    "index_out_of_range.yaml": (5, 38, ["node 'row'", "index 2", "out of range", "-2..1"]),
    "take_index_out_of_range.yaml": (3, 6, ["node 't' (take)", "index 5", "-3..2"]),
    "loss_without_gradient.yaml": (6, 7, ["loss 'big'", "bool values", "no gradient"]),
    "where_float_condition.yaml": (6, 25, ["where", "bool condition", "float64"]),
    "argmax_into_float.yaml": (6, 23, ["sum takes floating-point", "int64", "node 'am'",
                                       "argmax"]),
    # numbers from the user (tests/test_hostile_inputs.py has the wider checks)
    "init_uniform_beyond_float64.yaml": (3, 53, ["init: uniform", "high - low within float64"]),
    "reshape_wraps_int64.yaml": (5, 38, ["cannot reshape (7,) (7 elements)",
                                         "(387381625547900583943 elements)"]),
    "broadcast_beyond_int64.yaml": (5, 6, ["needs about 10^39 bytes", "node 'y'"]),
    "section_as_list_with_nan.yaml": (3, 3, ["expected a mapping", "a list of 2 items"]),
    # a graph reads files in its own folder tree only (unless --allow-outside)
    "file_absolute_path.yaml": (3, 13, ["'/etc/graphrun-hostile.npy' is outside the graph's "
                                        "folder", "--allow-outside"]),
    "file_parent_folder.yaml": (3, 13, ["'../../graphs/data/blobs_X.npy' is outside",
                                        "--allow-outside"]),
}


def test_every_file_in_the_corpus_has_an_expectation():
    assert sorted(f for f in os.listdir(HOSTILE) if f.endswith(".yaml")) == sorted(EXPECTED)


# Each file runs in a process of its own, through graphrun's real entry point, so that a crash
# (a segfault, a recursion) counts. Starting Python and importing numpy for each of ~90 files would
# take most of a minute, so one runner imports graphrun once and forks a child per file.
RUNNER = """
import os, sys
import graphrun.api, graphrun.tools.explain  # imported once, before the forks share them
from graphrun.cli import main
for folder in sys.argv[1:]:
    with open(os.path.join(folder, "argv")) as f:
        argv = f.read().split("\\0")
    pid = os.fork()
    if pid == 0:
        for fd, name in ((1, "stdout"), (2, "stderr")):
            os.dup2(os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT), fd)
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", closefd=False)
        code = main(argv)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    status = os.waitpid(pid, 0)[1]
    code = os.waitstatus_to_exitcode(status)
    with open(os.path.join(folder, "status"), "w") as f:
        f.write(str(code))
"""


class Outcome:
    def __init__(self, folder, graph):
        self.graph = graph
        with open(os.path.join(folder, "status")) as f:
            self.returncode = int(f.read())  # negative: killed by a signal
        with open(os.path.join(folder, "stdout")) as f:
            self.stdout = f.read()
        with open(os.path.join(folder, "stderr")) as f:
            self.stderr = f.read()
        with open(os.path.join(folder, "out", "results.yaml"), "rb") as f:
            self.output = f.read()
        self.listing = sorted(os.listdir(os.path.join(folder, "out")))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every file run once through the CLI, writing to an output file that already exists."""
    base = tmp_path_factory.mktemp("hostile")
    folders = []
    for name in sorted(EXPECTED):
        folder = base / name
        (folder / "out").mkdir(parents=True)
        (folder / "out" / "results.yaml").write_bytes(PREVIOUS)
        argv = ["run", os.path.join(HOSTILE, name), "-o", str(folder / "out" / "results.yaml")]
        (folder / "argv").write_text("\0".join(argv))
        folders.append(str(folder))
    if hasattr(os, "fork"):
        subprocess.run([sys.executable, "-c", RUNNER, *folders], timeout=300, check=True)
    else:  # pragma: no cover - no fork (Windows): one interpreter per file
        for folder in folders:
            with open(os.path.join(folder, "argv")) as f:
                argv = f.read().split("\0")
            proc = subprocess.run([sys.executable, "-m", "graphrun", *argv], capture_output=True,
                                  text=True, timeout=60)
            for name, text in (("stdout", proc.stdout), ("stderr", proc.stderr),
                               ("status", str(proc.returncode))):
                with open(os.path.join(folder, name), "w") as f:
                    f.write(text)
    return {name: Outcome(str(base / name), os.path.join(HOSTILE, name))
            for name in sorted(EXPECTED)}


PREVIOUS = b"previous results\r\n\x00"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_file(outcomes, name):
    result = outcomes[name]
    graph = result.graph
    line, col, words = EXPECTED[name]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{graph}:{line}:{col}: error: "), first
    for word in words:
        assert word in first, (word, first)
    # every line is an error or a note with a position, in line order
    positions = []
    for text in result.stderr.splitlines():
        assert text.startswith(f"{graph}:"), text
        where, kind = text[len(graph) + 1:].split(": ", 2)[:2]
        assert kind in ("error", "note"), text
        if kind == "error":
            positions.append(tuple(int(n) for n in where.split(":")))
    assert positions == sorted(positions)
    # the previous output is untouched, and no temporary file is left beside it
    assert result.output == PREVIOUS
    assert result.listing == ["results.yaml"]


def test_os_system_tag_does_not_run(outcomes):
    assert outcomes["tag_python_object.yaml"].returncode == 2
    assert not os.path.exists("/tmp/graphrun-pwned")


def test_many_errors_are_all_reported_in_line_order_and_no_consequences(outcomes):
    result = outcomes["many_errors.yaml"]
    errors = [line[len(result.graph) + 1:] for line in result.stderr.splitlines()]
    assert errors == [
        "4:11: error: unknown op 'mull'; did you mean 'mul'?",
        "5:23: error: unknown name 'zz'",
        "6:16: error: unknown key 'argz' in node 'c'; did you mean 'args'?",
        "8:7: error: loss names no node: 'q'",
    ]  # and nothing about node 'd', whose argument 'c' is broken already


def test_a_node_with_an_unknown_op_still_has_its_references_checked(outcomes):
    result = outcomes["learner_mistakes.yaml"]
    errors = [line[len(result.graph) + 1:] for line in result.stderr.splitlines()]
    assert errors == [
        "4:11: error: unknown op 'mull'; did you mean 'mul'?",
        "4:27: error: unknown name 'x'",
        "5:16: error: unknown key 'argz' in node 'v'; did you mean 'args'?",
        "7:7: error: loss names no node: 'l'; did you mean 'L'?",
    ]


def test_problems_found_while_reading_do_not_hide_the_others(outcomes):
    result = outcomes["load_errors_and_graph_errors.yaml"]
    errors = [line[len(result.graph) + 1:] for line in result.stderr.splitlines()]
    assert errors == [
        "2:19: error: non-finite number .nan is not allowed; graph values must be finite",
        "4:11: error: unknown op 'mull'; did you mean 'mul'?",
        "4:27: error: unknown name 'x'",
        "5:3: error: duplicate key 'u' (first defined at line 4)",
        "7:27: error: number 1e999 overflows float64",
    ]  # nothing about 'v' using 'b', or the loss 't': their own problems are reported


def test_a_schema_error_outside_the_graph_does_not_hide_graph_errors(outcomes):
    result = outcomes["tolerance_and_name.yaml"]
    assert [line[len(result.graph) + 1:] for line in result.stderr.splitlines()] == [
        "2:19: error: expected a number >= 0; found integer -1",
        "2:23: error: unknown key 'foo' in 'tolerance' (expected one of: atol, rtol)",
        "5:23: error: unknown name 'ww'; did you mean 'w'?",
    ]


def test_a_problem_inside_a_block_notes_the_call_like_a_traceback(outcomes):
    result = outcomes["expr_block_shape.yaml"]
    assert result.stderr.splitlines()[1] == \
        f"{result.graph}:11:6: note: in block 'dense', called here"


def test_cycle_notes_name_every_node_with_its_line(outcomes):
    result = outcomes["cycle.yaml"]
    graph = result.graph
    assert result.stderr.splitlines()[1:] == [f"{graph}:4:3: note: 'b' is part of the cycle",
                                              f"{graph}:5:3: note: 'c' is part of the cycle"]


def test_a_file_over_the_size_cap_is_refused_before_parsing(tmp_path):
    from graphrun.frontend.load import MAX_BYTES

    graph = tmp_path / "huge.yaml"
    with open(graph, "wb") as f:
        f.write(b"graphrun: 1\n")
        f.seek(MAX_BYTES)
        f.write(b"\n")
    proc = subprocess.run([sys.executable, "-m", "graphrun", str(graph)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{graph}:1:1: error: file is larger than the 64 MiB limit")


def test_allow_nonfinite_writes_nan_and_inf(tmp_path):
    target = tmp_path / "out.yaml"
    proc = subprocess.run([sys.executable, "-m", "graphrun", "run", "--allow-nonfinite",
                           os.path.join(HOSTILE, "log_zero.yaml"), "-o", str(target)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    text = target.read_text()
    assert "u: [0.0, -.inf]" in text and "L: -.inf" in text


def test_numpy_warnings_never_leak_even_under_python_W_error(tmp_path):
    for flags in ([], ["--allow-nonfinite"]):
        proc = subprocess.run([sys.executable, "-W", "error", "-m", "graphrun", "run", *flags,
                               os.path.join(HOSTILE, "divide_by_zero.yaml")],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == (0 if flags else 2), proc.stderr
        assert "Warning" not in proc.stderr and "Traceback" not in proc.stderr


def test_missing_output_folder_is_an_error(tmp_path):
    graph = os.path.join(os.path.dirname(HOSTILE), "..", "graphs", "simple.yaml")
    out, err = io.StringIO(), io.StringIO()
    code = main(["run", graph, "-o", str(tmp_path / "missing" / "out.yaml")], out, err)
    assert code == 2 and "does not exist" in err.getvalue()
    assert not (tmp_path / "missing").exists()


def test_an_internal_error_is_exit_3_with_one_line_and_a_hint(monkeypatch, tmp_path):
    from graphrun.frontend import compiler

    def broken(*args, **kwargs):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(compiler, "compile_file", broken)
    graph = str(tmp_path / "g.yaml")
    out, err = io.StringIO(), io.StringIO()
    assert main(["run", graph], out, err) == 3
    assert err.getvalue().splitlines()[0] == \
        "graphrun: internal error: ZeroDivisionError: planted"
    assert "please report" in err.getvalue() and "Traceback" not in err.getvalue()
    out, err = io.StringIO(), io.StringIO()
    assert main(["run", graph, "--debug"], out, err) == 3
    assert "Traceback" in err.getvalue() and "planted" in err.getvalue()


def test_the_memory_budget_flag_is_honoured(root):
    graph = os.path.join(root, "graphs", "mlp.yaml")
    out, err = io.StringIO(), io.StringIO()
    assert main(["run", graph, "--memory-budget", "1KB"], out, err) == 2
    assert out.getvalue() == "" and "the budget is 1000 bytes" in err.getvalue()
    assert main(["run", graph, "--memory-budget", "1GiB"], io.StringIO(), io.StringIO()) == 0
