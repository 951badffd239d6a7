"""The CLI's commands, one module each: add_arguments(parser), execute(args, out, err); each one's
help line is in cli/main.py's COMMANDS, so that listing them imports none."""
