"""frontend: graph text -> a checked, ordered Program. Nothing here computes a value.

load (text -> data + source map) -> schema (data against schemas/graph.schema.json) -> spec
(frozen specs, each with its document path) -> graph (references, arity, cycles, shapes -> Program);
`compiler` joins the stages. The sugar (expressions, blocks, includes) becomes the same specs the
explicit form gives inside spec: `expr` parses an expression, `blocks` lowers expressions and
block calls to NodeSpecs and reads includes, `sites` says where a generated node was written;
`explicit` writes a compiled graph back in the explicit form (`graphrun expand`).
May import: errors, ops (for names, attributes and shape rules), results.writer (explicit: its
quoting and float text).
PyYAML lives in `load`, jsonschema in `schema`, networkx in `graph`.
"""
