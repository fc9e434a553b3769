"""The `kg` command line: build, eval, validate, query, serve, export, push.

Exit codes: 0 built (warnings are in report.json), 1 nothing usable was built or a check failed,
2 wrong arguments, 130 Ctrl-C, 143 SIGTERM. User errors print one line; --debug shows the
traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from .stopping import Terminated, sigterm_as_interrupt


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
    b.add_argument("--max-file-mb", type=float, metavar="MB",
                   help="refuse files larger than this (default: limits in ontology/ingest.yaml, 10)")
    b.add_argument("--file-timeout", type=float, metavar="S",
                   help="skip a file that takes longer than S seconds; 0: no limit "
                        "(default: limits in ontology/ingest.yaml, 300)")
    b.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks on errors (same as kg --debug build …)")
    b.add_argument("-j", "--jobs", type=int, metavar="N",
                   help="processes for reading and extracting files (default: all cores)")
    b.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="where per-file work runs: local processes, or a Dask cluster (default: local)")
    b.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --engine dask: the scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster)")
    b.add_argument("--cache", type=Path, metavar="DIR",
                   help="keep each file's findings here for the next build (default: OUT/.cache)")
    b.add_argument("--no-cache", action="store_true", help="extract every file again and keep nothing")
    b.add_argument("--store", action="store_true",
                   help="also make the query store now, so that the first kg query answers at once "
                        "(otherwise it is made on first use, from graph.ttl, more slowly)")
    b.add_argument("--watch", action="store_true",
                   help="after building, stay and rebuild whenever input files come, change or go: "
                        "only those are read again (Ctrl-C stops)")
    b.add_argument("--interval", type=float, metavar="S",
                   help="with --watch: seconds between two looks at the inputs (default: 2)")

    e = sub.add_parser("eval", help="score a built graph against gold annotations")
    e.add_argument("out", type=Path, help="a build output folder (or a graph.ttl)")
    e.add_argument("gold", type=Path, help="folder of gold JSON files")
    e.add_argument("--docs", nargs="*", help="score only these documents' gold")
    e.add_argument("--json", action="store_true", help="print the report as JSON")
    e.add_argument("--show-misses", action="store_true", help="list missed and extra items")

    v = sub.add_parser("validate", help="check a built graph against the SHACL shapes")
    v.add_argument("out", type=Path, help="a build output folder (or a graph.ttl)")

    q = sub.add_parser("query", help="run a SPARQL query (named, .rq file or text) on a built graph")
    q.add_argument("out", type=Path, help="a build output folder")
    q.add_argument("query", nargs="?", help="a named query (see --list), a .rq file, or SPARQL text")
    q.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="bind ?NAME to VALUE (a string; <…> for an IRI); repeatable")
    q.add_argument("--format", choices=SOLUTION_FORMATS + GRAPH_FORMATS, default="table",
                   help="table, csv, tsv, json, xml for SELECT/ASK; ttl, nt, jsonld for "
                        "CONSTRUCT/DESCRIBE (default: table, or ttl for graphs)")
    q.add_argument("--list", action="store_true", help="list the named queries and their parameters")

    s = sub.add_parser("serve", help="a read-only SPARQL 1.1 endpoint and the graph page")
    s.add_argument("out", type=Path, help="a build output folder")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    s.add_argument("--timeout", type=float, default=10.0, metavar="S",
                   help="time limit of one query in seconds (default: 10)")
    s.add_argument("--max-results", type=int, default=10_000, metavar="N",
                   help="rows or triples returned at most (default: 10000)")
    s.add_argument("--max-request", type=int, default=1 << 20, metavar="BYTES",
                   help="largest query or request body accepted (default: 1 MiB)")
    s.add_argument("--workers", type=int, default=2, help="queries run at once (default: 2)")
    s.add_argument("-q", "--quiet", action="store_true", help="no request log")

    x = sub.add_parser("export", help="write the graph for triple stores, Gephi or spreadsheets")
    x.add_argument("out", type=Path, help="a build output folder")
    x.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    x.add_argument("--to", required=True, type=Path, metavar="FILE", help="file to write")

    u = sub.add_parser("push", help="load the graph into a SPARQL 1.1 Graph Store (HTTP PUT or POST)")
    u.add_argument("out", type=Path, help="a build output folder")
    u.add_argument("--endpoint", required=True, metavar="URL",
                   help="the Graph Store endpoint, e.g. http://127.0.0.1:7878/store")
    u.add_argument("--graph", metavar="IRI", help="the named graph to load into (default: the default graph)")
    u.add_argument("--append", action="store_true",
                   help="add to the graph (POST) instead of replacing it (PUT)")
    u.add_argument("--timeout", type=float, default=120.0, metavar="S",
                   help="seconds to wait (default: 120)")

    r = sub.add_parser("render", help="write the graph page, or a page focused on one entity")
    r.add_argument("out", type=Path, help="a build output folder (or a graph.ttl)")
    r.add_argument("--focus", metavar="NAME", help="only the entity of this name (any script or alias) "
                                                  "and its neighbourhood")
    r.add_argument("--hops", type=int, default=1, metavar="N",
                   help="relations to follow from the focus (default: 1)")
    r.add_argument("--to", type=Path, metavar="FILE", help="file to write (default: OUT/graph.html, "
                                                          "or OUT/focus.html with --focus)")
    r.add_argument("--title", default="zh-policy-kg", help="the page's title")

    args = parser.parse_args(argv)
    debug = args.debug
    try:
        with sigterm_as_interrupt():    # kill stops a command as Ctrl-C does (its clean-up runs)
            return COMMANDS[args.command](args)
    except Terminated:
        print("kg: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("kg: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the user; the traceback with --debug
        if debug:
            traceback.print_exc()
        message = " ".join(str(exc).split()) or type(exc).__name__   # one line, whatever it says
        print(f"kg {args.command}: {message}", file=sys.stderr)
        return 1


EXPORT_FORMATS = ("nt", "nq", "trig", "jsonld", "graphml", "gexf", "csv")
GRAPH_FORMATS = ("ttl", "nt", "jsonld")
SOLUTION_FORMATS = ("table", "csv", "tsv", "json", "xml")
KIND_NAMES = {"graph": "CONSTRUCT/DESCRIBE", "solutions": "SELECT", "boolean": "ASK"}


def graph_path(out: Path) -> Path:
    path = out / "graph.ttl" if out.is_dir() else out
    if not path.is_file():
        raise FileNotFoundError(f"no graph at {path}")
    return path


def cmd_build(args) -> int:
    from .build import BuildError, build
    from .ingest import MB
    # (NaN fails every comparison, so it is refused too)
    problem = ("--min-confidence must be between 0 and 1" if not 0.0 <= args.min_confidence <= 1.0
               else "--max-file-mb must be above 0" if args.max_file_mb is not None
               and not 0 < args.max_file_mb < 1e6
               else "--file-timeout must be 0 (no limit) or a number of seconds" if args.file_timeout is not None
               and not 0 <= args.file_timeout < 1e7
               else "--jobs must be at least 1" if args.jobs is not None and args.jobs < 1
               else "--scheduler needs --engine dask" if args.scheduler and args.engine != "dask"
               else "--cache and --no-cache exclude each other" if args.cache and args.no_cache
               else "--watch does not make the store: kg query and kg serve make it from "
                    "the new graph.ttl" if args.watch and args.store
               else "--interval needs --watch" if args.interval is not None and not args.watch
               else "--interval must be above 0" if args.interval is not None
               and not 0 < args.interval < 1e6
               else None)
    if problem:
        print(f"kg build: {problem}", file=sys.stderr)
        return 2
    options = dict(min_confidence=args.min_confidence, render=not args.no_html,
                   file_timeout=args.file_timeout,
                   max_file_bytes=None if args.max_file_mb is None else int(args.max_file_mb * MB),
                   debug=args.debug, jobs=args.jobs, engine=args.engine, scheduler=args.scheduler,
                   cache=False if args.no_cache else args.cache or True)
    if args.watch:
        from .watch import watch
        watch(args.inputs, args.out, quiet=args.quiet, **options,
              **({} if args.interval is None else {"interval": args.interval}))
        return 0
    try:
        result = build(args.inputs, args.out, quiet=args.quiet, store=args.store, **options)
    except BuildError as e:        # nothing built: say why for each file, then main's one line
        for line in e.errors:
            print(f"error: {line}", file=sys.stderr)
        raise
    for line in result.errors:
        print(f"error: {line}", file=sys.stderr)
    if not args.quiet:
        for line in result.warnings:
            print(f"warning: {line}", file=sys.stderr)
        print(f"built {result.out_dir}: {result.documents} documents, {result.entities} entities, "
              f"{result.relations} relations, {result.statistics} statistics, "
              f"{result.triples} triples; {len(result.errors)} skipped, {len(result.warnings)} "
              f"warnings (listed in report.json)", file=sys.stderr)
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


def cmd_query(args) -> int:
    from .query import (PREFIXES, QueryError, check_params, named_queries, parse_params, query_kind,
                        resolve, run)
    from .results import (solution_rows, table, variables_of, write_boolean, write_solutions,
                          write_triples)
    from .store import open_store, say_making
    if args.list:
        for q in named_queries().values():
            params = ", ".join(p + ("" if p in q.required else "?") for p in q.params)
            print(f"{q.name:24} {q.summary}" + (f"  [{params}]" if params else ""))
        return 0
    if not args.query:
        print("kg query: give a query (a name from --list, a .rq file or SPARQL text)", file=sys.stderr)
        return 2
    try:
        text, named = resolve(args.query)
        values = parse_params(args.param)
        check_params(named, values)
    except QueryError as e:
        print(f"kg query: {e}", file=sys.stderr)
        return 2
    try:
        result = run(open_store(args.out, on_making=say_making("kg query")), text, values)
        kind = query_kind(result)
        fmt = "ttl" if kind == "graph" and args.format == "table" else args.format
        if (kind == "graph") != (fmt in GRAPH_FORMATS):
            fits = GRAPH_FORMATS if kind == "graph" else SOLUTION_FORMATS
            print(f"kg query: --format {fmt} does not fit a {KIND_NAMES[kind]} result; use "
                  f"{', '.join(fits)}", file=sys.stderr)
            return 2
        if kind == "graph":
            body = write_triples(list(result), fmt, PREFIXES)
        elif kind == "boolean":
            body = (b"yes\n" if result else b"no\n") if fmt == "table" \
                else write_boolean(bool(result), fmt)
        else:
            names = variables_of(result)
            rows, _ = solution_rows(result, names)
            body = (table(names, rows, PREFIXES) + "\n").encode("utf-8") if fmt == "table" \
                else write_solutions(names, rows, fmt)
    except QueryError as e:
        print(f"kg query: {e}", file=sys.stderr)
        return 1
    try:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    except BrokenPipeError:   # `kg query … | head` is fine; keep Python quiet about it at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def cmd_serve(args) -> int:
    from .serve import serve
    if args.timeout <= 0 or args.max_results < 1 or args.max_request < 1 or args.workers < 1:
        print("kg serve: --timeout, --max-results, --max-request and --workers must be positive",
              file=sys.stderr)
        return 2
    serve(args.out, args.host, args.port, timeout=args.timeout, max_results=args.max_results,
          max_request=args.max_request, workers=args.workers, quiet=args.quiet)
    return 0


def cmd_export(args) -> int:
    from .export import export
    from .store import say_making
    count = export(args.out, args.format, args.to, on_making=say_making("kg export"))
    unit = "edges" if args.format in ("graphml", "gexf", "csv") else \
        "triples" if args.format == "nt" else "quads"
    print(f"wrote {args.to}: {count} {unit}", file=sys.stderr)
    return 0


def cmd_push(args) -> int:
    from .push import push, target_url
    status = push(args.out, args.endpoint, args.graph, append=args.append, timeout=args.timeout)
    print(f"pushed {graph_path(args.out)} to {target_url(args.endpoint, args.graph)} "
          f"({'POST' if args.append else 'PUT'}, HTTP {status})", file=sys.stderr)
    return 0


def cmd_render(args) -> int:
    from rdflib import Graph
    from .render import render_html
    if args.hops < 0:
        print("kg render: --hops must be 0 or more", file=sys.stderr)
        return 2
    source = graph_path(args.out)
    to = args.to or source.parent / ("focus.html" if args.focus else "graph.html")
    stats = render_html(Graph().parse(source, format="turtle"), to, title=args.title,
                        focus=args.focus, hops=args.hops)
    print(f"wrote {to}: {stats['nodes']} nodes, {stats['edges']} edges", file=sys.stderr)
    return 0

COMMANDS = {"build": cmd_build, "eval": cmd_eval, "validate": cmd_validate, "query": cmd_query,
            "serve": cmd_serve, "export": cmd_export, "push": cmd_push, "render": cmd_render}
