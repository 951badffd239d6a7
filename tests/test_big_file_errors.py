"""Errors deep in a large generated graph file are reported at the line and column where the
mistake is written: the front end's memory layout for big files (arguments without path tuples
of their own, the document let go once the spec is built, names shared with their definitions)
must not move or lose a position. The expected positions are found in the text by hand here,
not through the source map."""

import io

import pytest

from graphrun.cli import main
from conftest import chain_lines as conftest_chain_lines

N = 18_000  # nodes (a multiple of 6: the edits below pick nodes of each kind by N mod 3)


def chain_lines(n):
    return conftest_chain_lines(n, name="big")


def where(lines, line_start, token, nth=1):
    """(line, col), 1-based, of the nth `token` on the line that starts with `line_start`."""
    number = next(i for i, line in enumerate(lines) if line.startswith(line_start))
    col = -1
    for _ in range(nth):
        col = lines[number].index(token, col + 1)
    return number + 1, col + 1


def errors_of(tmp_path, lines):
    path = tmp_path / "big.yaml"
    path.write_text("\n".join(lines) + "\n")
    err = io.StringIO()
    status = main(["run", str(path), "-o", str(tmp_path / "out.yaml")], io.StringIO(), err)
    assert status == 2 and not (tmp_path / "out.yaml").exists()
    return [line for line in err.getvalue().splitlines() if ": error: " in line], str(path)


def test_the_generated_file_runs(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("\n".join(chain_lines(3_000)) + "\n")
    assert main(["run", str(path), "-o", str(tmp_path / "out.yaml")], io.StringIO(),
                io.StringIO()) == 0


@pytest.mark.parametrize("line_start, old, new, token, nth, message", [
    # an unknown name as a node's second argument, near the end
    (f"  n{N - 5}:", f"p{N - 5}]", f"q{N - 5}]", f"q{N - 5}", 1,
     f"unknown name 'q{N - 5}'; did you mean 'p{N - 5}'?"),
    # a self-loop as a first argument, in the middle
    (f"  n{N // 2 + 1}:", f"[n{N // 2}, ", f"[n{N // 2 + 1}, ", f"n{N // 2 + 1}", 2,
     f"node 'n{N // 2 + 1}' uses itself as an argument (a self-loop)"),
    # an unknown op
    (f"  n{N - 1}:", "op: tanh", "op: tahn", "tahn", 1, "unknown op 'tahn'; did you mean 'tanh'?"),
    # an attribute the op does not take (at the key)
    (f"  n{N - 3}:", "op: mul,", "op: mul, axis: 0,", "axis", 1,
     "mul takes no attribute 'axis' (it takes none)"),
    # a param whose value is not a number
    (f"  p{N - 6}:", ": ", ": zero #", "zero", 1, None),
])
def test_an_error_deep_in_a_big_file_is_at_its_line_and_column(tmp_path, line_start, old, new,
                                                               token, nth, message):
    lines = chain_lines(N)
    k = next(i for i, line in enumerate(lines) if line.startswith(line_start))
    assert old in lines[k]
    lines[k] = lines[k].replace(old, new, 1)
    errors, path = errors_of(tmp_path, lines)
    line, col = where(lines, line_start, token, nth)
    assert line > N // 3 and errors and errors[0].startswith(f"{path}:{line}:{col}: error: "), \
        (line, col, errors)
    if message is not None:
        assert errors == [f"{path}:{line}:{col}: error: {message}"]


def test_several_errors_far_apart_each_at_its_own_place(tmp_path):
    lines = chain_lines(N)
    edits = {f"  n{N - 1}:": ("op: tanh", "op: tanhh", "tanhh"),
             f"  n{N // 3}:": (f"p{N // 3}]", "nope]", "nope"),
             "  n1:": ("p1]", "nope]", "nope")}
    expected = []
    for start, (old, new, token) in edits.items():
        k = next(i for i, line in enumerate(lines) if line.startswith(start))
        lines[k] = lines[k].replace(old, new, 1)
        expected.append(where(lines, start, token))
    errors, path = errors_of(tmp_path, lines)
    found = sorted((int(e.split(":")[1]), int(e.split(":")[2])) for e in errors)
    assert found == sorted(expected), errors


def test_a_spec_problem_after_the_document_was_let_go_reads_it_again(tmp_path, monkeypatch):
    """The spec takes the nodes out of the document as it reads them; a problem it finds makes
    the compiler read the text again and go on as before: the same problems, in the same places,
    as when nothing is let go."""
    from graphrun.frontend import compiler, spec

    lines = chain_lines(3_000)
    k = lines.index("nodes:")
    lines[k + 10] = lines[k + 10].replace("args: [", "args: [nope, ", 1)  # graph problems
    lines.insert(k + 1, "  p4: {op: tanh, args: [x]}")  # a spec problem: p4 is a param too
    errors, _ = errors_of(tmp_path, lines)
    calls = []
    real = spec.build_spec

    def keeping(*args, consume=False, **kwargs):
        calls.append(consume)
        return real(*args, **kwargs)

    monkeypatch.setattr(compiler, "build_spec", keeping)
    kept, _ = errors_of(tmp_path, lines)
    # p4 twice; the node given three arguments: unknown name, and too many for its op
    assert calls[0] is True and errors == kept and len(errors) == 3, errors


# spec.MAX_NODES, made small: a graph past it is refused at the node that passes it, written or
# made by an expression, and nothing after it is read; a graph at the limit runs.
@pytest.mark.parametrize("nodes, where", [
    (["a: {op: neg, args: [x]}", "b: {op: neg, args: [a]}", "c: -b"], None),
    (["a: {op: neg, args: [x]}", "b: {op: neg, args: [a]}", "c: -b", "d: -c",
      "e: {op: nope, args: [zz]}"], (8, 3)),
    (["a: -x", "b: (a * x + x) * x", "c: {op: nope, args: [zz]}"], (6, 3)),
    (["a: -x", "b: a * x", "c: a + b"], None),
])
def test_a_graph_past_the_node_limit_is_refused_where_it_passes(tmp_path, monkeypatch, nodes,
                                                                where):
    from graphrun.frontend import spec
    monkeypatch.setattr(spec, "MAX_NODES", 3)
    lines = ["graphrun: 1", "inputs:", "  x: 1.0", "nodes:"] + ["  " + n for n in nodes]
    if where is None:
        path = tmp_path / "big.yaml"
        path.write_text("\n".join(lines) + "\n")
        assert main(["run", str(path), "-o", str(tmp_path / "out.yaml")], io.StringIO(),
                    io.StringIO()) == 0
        return
    errors, path = errors_of(tmp_path, lines)
    assert errors == [f"{path}:{where[0]}:{where[1]}: error: checking stopped here: the graph "
                      "has more than 3 nodes, the limit (each costs the checks about 1 KiB), "
                      "this one passing it"]


# The limit on what PyYAML reads (load.MAX_GENERAL_VALUES), made small: keys and values in the
# forms fastyaml does not read are counted as the events come, and the top-level entry that
# passes the limit is named, with the first block sequence or tab; the forms fastyaml reads are
# not limited. (GENERAL holds 16: the top mapping, 3 keys and their values, x and 1.0, and a's 7.)
GENERAL = ["graphrun: 1", "inputs:", "  x: 1.0", "nodes:", "  a: {op: neg, args: [x]}"]


@pytest.mark.parametrize("lines, where, form", [
    (GENERAL + ["junk:", "- a", "- b"], None, None),  # 20, the limit: `junk` is refused
    (GENERAL + ["junk:", "- a", "- b", "- c", "- d", "- e", "- f"], (6, 1),
     " (a block sequence `- item`, first at line 7)"),
    (GENERAL[:4] + ["  a:", "    op: neg", "    args:", "    - x", "loss: a", "junk: [1, 2]"],
     (10, 1), " (a block sequence `- item`, first at line 8)"),
    (["graphrun: 1", "inputs:", "  x:\t1.0", "nodes:", "  a: {op: neg, args: [x]}",
      "junk: [1, 2, 3, 4, 5]"], (6, 1), " (a tab, first at line 3)"),
    (GENERAL + ["junk: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]"], None, None),  # fastyaml reads it
])
def test_a_file_past_the_general_readers_limit_is_refused_where_it_passes(
        tmp_path, monkeypatch, lines, where, form):
    from graphrun.frontend import load
    monkeypatch.setattr(load, "MAX_GENERAL_VALUES", 20)
    errors, path = errors_of(tmp_path, lines)
    if where is None:
        assert len(errors) == 1 and "unknown key 'junk'" in errors[0], errors
        return
    assert errors == [f"{path}:{where[0]}:{where[1]}: error: the file holds more than 20 keys "
                      f"and values written in forms only the general YAML reader reads{form}, "
                      "the limit, this entry passing it; write a big graph in graphrun's own "
                      "forms (one entry per line, lists in brackets `[a, b]`, no tabs), or keep "
                      "big tensors in .npy files (`file:`)"]
