"""The `kg` command line: build, eval, validate.

Exit codes: 0 built (warnings are in report.json), 1 nothing usable was built or a check failed,
2 wrong arguments. User errors print one line; --debug shows the traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kg", description="Knowledge graphs from Chinese policy text.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build the graph of files, folders or globs")
    b.add_argument("inputs", nargs="+", help="files, folders or glob patterns")
    b.add_argument("--out", type=Path, default=Path("output"), help="output folder (default: output)")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    b.add_argument("--min-confidence", type=float, default=0.0, metavar="X",
                   help="drop findings below this confidence (0..1)")
    b.add_argument("--no-html", action="store_true", help="skip graph.html")

    e = sub.add_parser("eval", help="score a built graph against gold annotations")
    e.add_argument("out", type=Path, help="a build output folder (or a graph.ttl)")
    e.add_argument("gold", type=Path, help="folder of gold JSON files")
    e.add_argument("--docs", nargs="*", help="score only these documents' gold")
    e.add_argument("--json", action="store_true", help="print the report as JSON")
    e.add_argument("--show-misses", action="store_true", help="list missed and extra items")

    v = sub.add_parser("validate", help="check a built graph against the SHACL shapes")
    v.add_argument("out", type=Path, help="a build output folder (or a graph.ttl)")

    args = parser.parse_args(argv)
    debug = args.debug
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("kg: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the user; the traceback with --debug
        if debug:
            traceback.print_exc()
        print(f"kg {args.command}: {exc}", file=sys.stderr)
        return 1


def graph_path(out: Path) -> Path:
    path = out / "graph.ttl" if out.is_dir() else out
    if not path.is_file():
        raise FileNotFoundError(f"no graph at {path}")
    return path


def cmd_build(args) -> int:
    from .build import build
    if not 0.0 <= args.min_confidence <= 1.0:
        print("kg build: --min-confidence must be between 0 and 1", file=sys.stderr)
        return 2
    result = build(args.inputs, args.out, min_confidence=args.min_confidence,
                   quiet=args.quiet, render=not args.no_html)
    for line in result.errors:
        print(f"error: {line}", file=sys.stderr)
    if not args.quiet:
        for line in result.warnings:
            print(f"warning: {line}", file=sys.stderr)
        print(f"built {result.out_dir}: {result.documents} documents, {result.entities} entities, "
              f"{result.relations} relations, {result.statistics} statistics, "
              f"{result.triples} triples", file=sys.stderr)
    return 0


def cmd_eval(args) -> int:
    from rdflib import Graph
    from .evaluate import format_report, score
    graph = Graph().parse(graph_path(args.out), format="turtle")
    report, misses = score(graph, args.gold, args.docs)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print(format_report(report))
        if args.show_misses:
            print("\n".join(misses))
    return 0


def cmd_validate(args) -> int:
    from rdflib import Graph
    from .ontology import validate
    conforms, text = validate(Graph().parse(graph_path(args.out), format="turtle"))
    print("conforms" if conforms else text)
    return 0 if conforms else 1


COMMANDS = {"build": cmd_build, "eval": cmd_eval, "validate": cmd_validate}
