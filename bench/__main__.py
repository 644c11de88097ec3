"""`python -m bench [NAME ...] [--runs N] [--scale X] ...`: run the benches, print ratios."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time

from bench.harness import Section, add_options, options_from, print_section

BENCHES = [
    "overhead",
    "checkpoints",
    "straggler",
    "concurrency",
    "ttft",
    "startup",
    "cpu",
    "web",
    "postgres",
]
OPT_IN = ["profile"]  # needs py-spy and the right to attach to a process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        choices=[[], *BENCHES, *OPT_IN],
        metavar="NAME",
        help=f"benches to run (default all): {', '.join(BENCHES)}; also: {', '.join(OPT_IN)}",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    add_options(parser)
    args = parser.parse_args(argv)
    options = options_from(args)
    started = time.perf_counter()
    sections: list[Section] = []
    for name in args.names or BENCHES:
        module = importlib.import_module(f"bench.{name}")
        began = time.perf_counter()
        section = module.run(options)
        section.data["wall_s"] = time.perf_counter() - began
        section.notes.append(f"({name}: {section.data['wall_s']:.0f} s)")
        print_section(section)
        sections.append(section)
    wall = time.perf_counter() - started
    print(f"bench: {len(sections)} benches in {wall:.0f} s", flush=True)
    if args.json:
        payload = {s.title: s.data for s in sections} | {"wall_s": wall, "options": vars(args)}
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
