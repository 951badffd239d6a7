"""explicit: a compiled graph written back in the fully explicit form: one `{op, args}` node per
operation (the names expressions and block calls gave them), no expressions, blocks or includes.
`graphrun expand GRAPH` prints it; running it gives byte-identical results, as its nodes are
written in program order (so the program is the same) and its leaves as the file wrote them.
Every section it does not expand (`outputs:`, `train:`, ...) is kept, so that `graphrun train`
and the results' selection are the same too.
"""

from __future__ import annotations

from ..results.writer import float_text, quote


# What expansion replaces: `nodes` is written anew from the program, `blocks` and `include` are
# what it expands away. Every other top-level section is kept as the file wrote it (`outputs`,
# `train`, and any section a later format adds), so that nothing a run or a training reads is lost.
EXPANDED = ("nodes", "blocks", "include")
# sections written from the program rather than copied from the document (the same values)
FROM_PROGRAM = ("graphrun", "name", "description", "loss", "tolerance")
# the order they are written in; any other section follows, in the document's order
ORDER = ("inputs", "params", "nodes", "loss", "tolerance", "outputs", "train")


def explicit_text(data: dict, program) -> str:
    """The explicit form of `program`, compiled from the document `data`: its nodes one `{op,
    args}` entry each, and every section but `nodes`, `blocks` and `include` kept."""
    lines = ["# the fully explicit form, written by graphrun expand", "graphrun: 1",
             f"name: {quote(program.name)}"]
    if program.description:
        lines.append(f"description: {quote(program.description)}")
    rest = [key for key in data if key not in ORDER + EXPANDED + FROM_PROGRAM]
    for section in ORDER + tuple(rest):
        if section == "nodes":
            lines += _nodes(program)
        elif section == "loss":
            if program.loss is not None:
                lines.append(f"loss: {quote(program.names[program.loss])}")
        elif section == "tolerance":
            if program.tolerance:
                lines.append("tolerance: " + flow(dict(program.tolerance)))
        elif section in ("inputs", "params"):
            entries = data.get(section) or {}
            if entries:
                lines.append(f"{section}:")
                lines += [f"  {quote(name)}: {flow(value)}" for name, value in entries.items()]
        elif section in data:
            lines.append(f"{quote(section)}: {flow(data[section])}")
    return "\n".join(lines) + "\n"


def _nodes(program) -> list:
    lines = ["nodes:" if program.steps else "nodes: {}"]
    consts = dict(program.consts)
    for step in program.steps:
        args = ", ".join(quote(program.names[a]) if program.names[a] else float_text(consts[a])
                         for a in step.args)
        attrs = "".join(f", {key}: {flow(value)}" for key, value in step.attrs)
        lines.append(f"  {quote(step.name)}: {{op: {step.op.name}, args: [{args}]{attrs}}}")
    return lines


def flow(value) -> str:
    """A loaded YAML value in flow style, read back as the same value."""
    kind = type(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return float_text(value)
    if kind is str:
        return quote(value)
    if kind is dict:
        return "{" + ", ".join(f"{quote(k)}: {flow(v)}" for k, v in value.items()) + "}"
    return "[" + ", ".join(flow(v) for v in value) + "]"
