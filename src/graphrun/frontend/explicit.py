"""explicit: a compiled graph written back in the fully explicit form: one `{op, args}` node per
operation (the names expressions and block calls gave them), no expressions, blocks or includes.
`graphrun expand GRAPH` prints it; running it gives byte-identical results, as its nodes are
written in program order (so the program is the same) and its leaves as the file wrote them.
"""

from __future__ import annotations

from ..results.writer import float_text, quote


def explicit_text(data: dict, program) -> str:
    """The explicit form of `program`, compiled from the document `data`."""
    lines = ["# the fully explicit form, written by graphrun expand", "graphrun: 1",
             f"name: {quote(program.name)}"]
    if program.description:
        lines.append(f"description: {quote(program.description)}")
    for section in ("inputs", "params"):
        entries = data.get(section) or {}
        if entries:
            lines.append(f"{section}:")
            lines += [f"  {quote(name)}: {flow(value)}" for name, value in entries.items()]
    lines.append("nodes:" if program.steps else "nodes: {}")
    consts = dict(program.consts)
    for step in program.steps:
        args = ", ".join(quote(program.names[a]) if program.names[a] else float_text(consts[a])
                         for a in step.args)
        attrs = "".join(f", {key}: {flow(value)}" for key, value in step.attrs)
        lines.append(f"  {quote(step.name)}: {{op: {step.op.name}, args: [{args}]{attrs}}}")
    if program.loss is not None:
        lines.append(f"loss: {quote(program.names[program.loss])}")
    if program.tolerance:
        lines.append("tolerance: " + flow(dict(program.tolerance)))
    return "\n".join(lines) + "\n"


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
