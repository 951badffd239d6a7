"""graphrun diff A B: compare two results files (and their .npy sidecars) the way `check` does.

A is the expected side: the table's line column and the json `expected_at` point into A. Exit 0
when they match, 1 when anything differs, 2 when a file cannot be read.
"""

from __future__ import annotations

from ... import api
from ...errors import GraphError
from ...results.compare import differences_table
from ..args import add_tolerance_arguments
from ..main import EXIT_DIFFERENT, EXIT_OK, EXIT_TROUBLE, report
from ..report import (add_format_argument, annotation, difference_dict, json_text, paint,
                      problem_dicts, problems_github, use_colour)

HELP = "compare two results files with a tolerance (exit 1 on a difference)"


def add_arguments(parser):
    parser.add_argument("a", metavar="A", help="the expected results file")
    parser.add_argument("b", metavar="B", help="the results file to compare with A")
    add_tolerance_arguments(parser)
    add_format_argument(parser)


def execute(args, out, err) -> int:
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
            out.write("".join(problems_github(e) for e in errors))
        else:
            for e in errors:
                report(e, err)
        return EXIT_TROUBLE
    differences = api.diff(*sides, rtol=args.rtol, atol=args.atol)
    code = EXIT_DIFFERENT if differences else EXIT_OK
    if args.format == "json":
        out.write(json_text({"command": "diff", "ok": not differences, "exit_code": code,
                             "a": args.a, "b": args.b,
                             "differences": [difference_dict(d) for d in differences],
                             "problems": []}))
    elif args.format == "github":
        for d in differences:  # on B's line when B has the entry: B is the file that changed
            file, line, col = d.got_at or d.expected_at or (args.b, 1, 1)
            out.write(annotation("error", file, line, col, d.message))
    elif differences:
        n = len(differences)
        out.write(f"{paint('FAIL', 'red', use_colour(out))} {args.b}: {n} "
                  f"entr{'y' if n == 1 else 'ies'} differ{'s' if n == 1 else ''} from {args.a}\n")
        out.write(differences_table(differences, line_header=f"line in {args.a}"))
    else:
        out.write(f"{paint('ok', 'green', use_colour(out))} {args.a} and {args.b} match\n")
    return code
