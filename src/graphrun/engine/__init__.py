"""engine: the reference interpreter. Forward is a flat loop over a Program's steps, backward the
same loop reversed; a faster path for all-scalar programs sits behind the one door `run` opens.

May import: errors, ops, frontend.graph (the Program type only).
"""
