"""tools: what graphrun says about a graph beyond its results: explain (the chain rule written
out), gradcheck (gradients against finite differences), draw (Mermaid and DOT).

Each returns data and text; none prints. May import: errors, ops, run, results.
"""
