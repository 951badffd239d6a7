"""graphrun diff A B: compare two results files (and their .npy sidecars) the way `check` does.

A is the expected side: the table's line column and the json `expected_at` point into A. Exit 0
when they match, 1 when anything differs, 2 when a file cannot be read (or is a graph file, not a
results file). Text shows the worst differences (--max-rows), with the count and the largest
errors; github one annotation, at B's line of the worst entry.
"""

from __future__ import annotations

from ..args import add_max_rows_argument, add_tolerance_arguments
from ..main import EXIT_DIFFERENT, EXIT_OK, EXIT_TROUBLE, report
from ..report import (add_format_argument, difference_dict, github, json_text, paint,
                      problem_dicts, problems_github, shown_difference, use_colour)
from ...escaping import shown


def add_arguments(parser):
    parser.add_argument("a", metavar="A", help="the expected results file")
    parser.add_argument("b", metavar="B", help="the results file to compare with A")
    add_tolerance_arguments(parser)
    add_max_rows_argument(parser)
    add_format_argument(parser)


def execute(args, out, err) -> int:
    from ... import api  # here, not above: parsing the arguments imports nothing heavy
    from ...errors import GraphError
    from ...results.compare import differences_table, summarise, worst_first

    errors = []
    sides = []
    for path in (args.a, args.b):
        try:
            sides.append(api.read_results(path))
        except GraphError as e:
            errors.append(e)
    if errors:
        if args.format == "json":
            out.write(json_text({"command": "diff", "ok": False, "exit_code": EXIT_TROUBLE,
                                 "a": args.a, "b": args.b, "differences": [],
                                 "problems": [p for e in errors for p in problem_dicts(e)]}))
        elif args.format == "github":
            out.write(github([a for e in errors for a in problems_github(e)]))
        else:
            for e in errors:
                report(e, err)
        return EXIT_TROUBLE
    differences = api.diff(*sides, rtol=args.rtol, atol=args.atol)
    code = EXIT_DIFFERENT if differences else EXIT_OK
    n = len(differences)
    if args.format == "json":
        out.write(json_text({"command": "diff", "ok": not differences, "exit_code": code,
                             "a": args.a, "b": args.b, "summary": summarise(differences).json(),
                             "differences": [difference_dict(d) for d in differences],
                             "problems": []}))
    elif args.format == "github":
        if differences:  # one annotation, on B's line when B has the entry: B is what changed
            worst = worst_first(differences)[0]
            file, line, col = worst.got_at or worst.expected_at or (args.b, 1, 1)
            out.write(github([("error", file, line, col,
                               f"worst: {worst.message}; {_headline(args.a, args.b, differences)}",
                               f"graphrun diff: {n} entr{'y' if n == 1 else 'ies'} differ")]))
    elif differences:
        # for people: the file names and the entries' strings shown escaped, one line each
        seen = [shown_difference(d) for d in differences]
        out.write(f"{paint('FAIL', 'red', use_colour(out, args.color))} "
                  f"{_headline(shown(args.a), shown(args.b), seen)}\n")
        out.write(differences_table(seen, line_header=f"line in {shown(args.a)}",
                                    max_rows=args.max_rows))
    elif not args.quiet:
        out.write(f"{paint('ok', 'green', use_colour(out, args.color))} {shown(args.a)} and "
                  f"{shown(args.b)} match\n")
    return code


def _headline(a: str, b: str, differences) -> str:
    from ...results.compare import summarise
    n = len(differences)
    summary = summarise(differences).text()
    return (f"{b}: {n} entr{'y' if n == 1 else 'ies'} differ{'s' if n == 1 else ''} from {a}"
            + (f"; {summary}" if summary else ""))
