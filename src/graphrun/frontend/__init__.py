"""frontend: graph text -> a checked, ordered Program. Nothing here computes a value.

load (text -> data + source map) -> schema (data against schemas/graph.schema.json) -> spec
(frozen specs, each with its document path) -> graph (references, arity, cycles, shapes -> Program);
`compiler` joins the stages. May import: errors, ops (for names, attributes and shape rules).
PyYAML lives in `load`, jsonschema in `schema`, networkx in `graph`.
"""
