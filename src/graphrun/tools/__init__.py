"""tools: what graphrun says about a graph beyond its results: explain (the chain rule written
out), gradcheck (gradients against finite differences), draw (Mermaid, DOT, SVG by Graphviz),
view (a page to step through, laid out by layout; its CSS and JS are view.css and view.js).

Each returns data and text; none prints. May import: errors, ops, run, results, frontend.blocks
(which block instance a node belongs to, for grouping).
"""
