"""Benchmark the named SPARQL queries and `kg query` on a built output.

    python bench/query_bench.py /tmp/o20 --runs 20 [--json FILE]
    python bench/query_bench.py                  # builds a 20 MB corpus's output first (--mb)

Opens the output the way `kg query` does (its persisted Oxigraph store, kg/store.py) and runs
every named query (kg/queries/*.rq; --queries DIR for other versions of them) --runs times with
parameter values taken from the graph itself, reading all rows as `kg query` does: once with
"typical" values (e.g. a provincial station, a campaign or law at the first decile of use) and
once with the "largest" ones (the agency named in most documents: the worst case; see PICK).
Queries whose parameters are all optional also run without any: those are whole-graph listings
(every document, every figure, …), printed apart. For each: the median and p90 wall time in ms,
the median CPU time of this process (the machine may be shared: CPU time shows the query's own
cost) and the rows (triples for CONSTRUCT). Then the wall time of
`python -m kg query OUT <name> -p …` as a subprocess, to the first line of output and to exit:
cold (the first call after a build, which makes the store: run on a fresh folder holding a hard
link to graph.ttl) and warm (on OUT, median of --warm calls).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg import store as kg_store  # noqa: E402
from kg.query import named_queries, query_kind, run  # noqa: E402
from kg.results import solution_rows, variables_of  # noqa: E402

# Parameter values are picked from the graph. Each query lists candidates, most used first; the
# "largest" value is the first (e.g. the agency that issues the most measures: on a generated
# corpus, the national administration, named in 90 % of the documents), the "typical" one is
# the candidate at the first decile (a well-known provincial station, campaign or law).
PICK = {
    "issuer": """SELECT ?value (COUNT(?m) AS ?n) WHERE { ?a a kgo:Agency ; kgo:issues ?m ; skos:prefLabel ?value }
        GROUP BY ?value ORDER BY DESC(?n) ?value""",
    "cooperator": """SELECT ?value (COUNT(?p) AS ?n) WHERE {
        ?a a kgo:Agency ; skos:prefLabel ?value . { ?a kgo:cooperatesWith ?p } UNION { ?p kgo:cooperatesWith ?a } }
        GROUP BY ?value ORDER BY DESC(?n) ?value""",
    "parent": """SELECT ?value (COUNT(?u) AS ?n) WHERE { ?u kgo:subOrganizationOf ?a . ?a a kgo:Agency ; skos:prefLabel ?value }
        GROUP BY ?value ORDER BY DESC(?n) ?value""",
    "headed": """SELECT ?value (COUNT(?p) AS ?n) WHERE { ?p kgo:heads ?a . ?a skos:prefLabel ?value }
        GROUP BY ?value ORDER BY DESC(?n) ?value""",
    "campaign": """SELECT ?value ?n WHERE { ?c a kgo:Campaign ; skos:prefLabel ?value ; kgo:documentCount ?n }
        ORDER BY DESC(?n) ?value""",
    "law": """SELECT ?value ?n WHERE { ?l a kgo:Law ; skos:prefLabel ?value ; kgo:documentCount ?n }
        ORDER BY DESC(?n) ?value""",
    "entity": """SELECT ?value ?n WHERE { ?e skos:prefLabel ?value ; kgo:documentCount ?n }
        ORDER BY DESC(?n) ?value""",
    "metric": """SELECT ?value (COUNT(?s) AS ?n) WHERE { ?s a kgo:Statistic ; kgo:metric ?m BIND(STR(?m) AS ?value) }
        GROUP BY ?value ORDER BY DESC(?n) ?value""",
}
SIZES = ("typical", "largest")


def pick_values(store, size: str) -> dict[str, str]:
    """{"issuer": "…", …}: the value of each PICK query, "typical" or "largest"."""
    values = {}
    for key, text in PICK.items():
        candidates = [solution["value"].value for solution in run(store, text)]
        if candidates:
            values[key] = candidates[0 if size == "largest" else len(candidates) // 10]
    return values


# Each named query's parameters: a PICK key, "=text" for a fixed value, or "KEY[:2]" for the
# first two characters of a picked name (a search for part of a name).
PARAMS = {
    "about": {"name": "entity"},
    "campaigns": {"campaign": "campaign"},
    "cooperating-agencies": {"agency": "cooperator"},
    "documents-mentioning": {"entity": "entity"},
    "documents": {},
    "entities-by-documents": {"class": "=Agency"},
    "evidence": {"subject": "issuer", "relation": "=issues"},
    "heads": {"agency": "headed"},
    "laws": {"law": "law"},
    "measures-by-agency": {"agency": "issuer"},
    "relations-graph": {},
    "search": {"text": "issuer[:2]"},
    "statistics": {"metric": "metric"},
    "timeline": {"about": "issuer"},
    "units-of-agency": {"agency": "parent"},
}


def resolve_params(spec: dict[str, str], picked: dict[str, str]) -> dict[str, str]:
    values = {}
    for name, how in spec.items():
        if how.startswith("="):
            values[name] = how[1:]
        elif how.endswith("[:2]"):
            values[name] = picked[how[:-4]][:2]
        else:
            values[name] = picked[how]
    return values


def run_once(store, text: str, values: dict) -> tuple[float, float, int]:
    """Wall and CPU seconds and the rows of one run, reading every row as `kg query` does."""
    t, c = time.perf_counter(), time.process_time()
    result = run(store, text, values)
    kind = query_kind(result)
    if kind == "solutions":
        rows, _ = solution_rows(result, variables_of(result))
        n = len(rows)
    elif kind == "graph":
        n = len(list(result))
    else:
        n = 1
    return time.perf_counter() - t, time.process_time() - c, n


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def time_queries(store, named: dict, cases: list[tuple[str, dict]], runs: int) -> list[dict]:
    out = []
    for name, values in cases:
        text = named[name].text
        run_once(store, text, values)      # warm-up: OpenCC, caches
        times, cpu, rows = [], [], 0
        for _ in range(runs):
            seconds, cpu_seconds, rows = run_once(store, text, values)
            times.append(seconds * 1000)
            cpu.append(cpu_seconds * 1000)
        out.append({"query": name, "params": values, "median_ms": statistics.median(times),
                    "p90_ms": p90(times), "cpu_median_ms": statistics.median(cpu), "rows": rows,
                    "runs": runs})
        print(f"  {name:22} {statistics.median(times):9.1f} {p90(times):9.1f} "
              f"{statistics.median(cpu):9.1f} {rows:8}  {_params_text(values)}", flush=True)
    return out


def _params_text(values: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())


def cli_call(out: Path, name: str, values: dict) -> tuple[float, float]:
    """`python -m kg query OUT name -p …`: seconds to the first line of output and to exit."""
    args = [sys.executable, "-m", "kg", "query", str(out), name]
    for k, v in values.items():
        args += ["-p", f"{k}={v}"]
    t = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    first = time.perf_counter() - t
    proc.stdout.read()
    err = proc.stderr.read()
    proc.wait()
    done = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"kg query failed: {err.decode(errors='replace')}")
    return first, done


def cold_call(out: Path, name: str, values: dict) -> tuple[float, float]:
    """The first `kg query` after a build: on a fresh folder holding (a hard link to) graph.ttl."""
    with tempfile.TemporaryDirectory(prefix="kg-query-cold-") as tmp:
        copy = Path(tmp) / "graph.ttl"
        try:
            os.link(out / "graph.ttl", copy)
        except OSError:
            shutil.copyfile(out / "graph.ttl", copy)
        return cli_call(Path(tmp), name, values)


def build_output(mb: float, corpus: Path | None, work: Path) -> Path:
    if corpus is None:
        corpus = work / "corpus"
        print(f"making a {mb:g} MB corpus in {corpus}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "make_corpus.py"), "--mb", str(mb),
                        "--out", str(corpus)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    out = work / "out"
    print(f"building {out}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "kg", "build", str(corpus), "--out", str(out), "-q",
                    "--no-html"], cwd=ROOT, check=True)
    return out


def options(argv=None) -> argparse.Namespace:
    """This script's options (bench/run.py calls bench() with them)."""
    return parser().parse_args(argv)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, nargs="?", help="a built output folder (default: build one)")
    ap.add_argument("--runs", type=int, default=20, help="runs of each query (default 20)")
    ap.add_argument("--listing-runs", type=int, default=3,
                    help="runs of each whole-graph listing (default 3; 0 skips them)")
    ap.add_argument("--warm", type=int, default=5, help="warm `kg query` calls (default 5)")
    ap.add_argument("--cli-query", default="measures-by-agency",
                    help="the named query timed as `kg query` (default measures-by-agency)")
    ap.add_argument("--mb", type=float, default=20.0, help="without OUT: size of the corpus made (default 20)")
    ap.add_argument("--corpus", type=Path, help="without OUT: build this corpus instead of making one")
    ap.add_argument("--sizes", nargs="+", choices=SIZES, default=list(SIZES),
                    help="which parameter values to time (default: typical largest)")
    ap.add_argument("--queries", type=Path, metavar="DIR",
                    help="time the .rq files of this folder instead of kg/queries (e.g. older versions)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    return ap


def main(argv=None) -> int:
    args = options(argv)

    work = None
    if args.out is None:
        work = Path(tempfile.mkdtemp(prefix="kg-query-bench-"))
        args.out = build_output(args.mb, args.corpus, work)
    try:
        report = bench(args)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def bench(args) -> dict:
    out = args.out
    named = named_queries(args.queries) if args.queries else named_queries()
    missing = sorted(set(named) - set(PARAMS))
    if missing:
        raise SystemExit(f"no parameters chosen for {', '.join(missing)} (add them to PARAMS)")

    store = kg_store.open_store(out)      # made now if OUT has none yet
    triples = int(next(iter(run(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")))["n"].value)
    picked = {size: pick_values(store, size) for size in SIZES}
    report = {"out": str(out), "triples": triples, "runs": args.runs}
    head = f"  {'query':22} {'median':>9} {'p90':>9} {'cpu':>9} {'rows':>8}  parameters"
    for size in args.sizes:
        print(f"\n{out}: {triples:,} triples; {size} parameter values, {args.runs} runs of each query (ms)")
        print(head)
        cases = [(name, resolve_params(PARAMS[name], picked[size])) for name in named]
        report[size] = time_queries(store, named, cases, args.runs)
    if args.listing_runs > 0:
        print(f"\nwhole-graph listings (no parameters), {args.listing_runs} runs (ms)")
        print(head)
        report["listings"] = time_queries(store, named, [(n, {}) for n in named
                                                         if PARAMS[n] and not named[n].required],
                                          args.listing_runs)

    cli_values = resolve_params(PARAMS[args.cli_query], picked["typical"])
    print(f"\n`kg query OUT {args.cli_query} {_params_text(cli_values)}` (s)", flush=True)
    first, done = cold_call(out, args.cli_query, cli_values)
    print(f"  cold (store to make):  first line {first:6.2f}   exit {done:6.2f}", flush=True)
    warm = [cli_call(out, args.cli_query, cli_values) for _ in range(args.warm)]
    warm_first = statistics.median(w[0] for w in warm) if warm else float("nan")
    warm_exit = statistics.median(w[1] for w in warm) if warm else float("nan")
    print(f"  warm (median of {len(warm)}):   first line {warm_first:6.2f}   exit {warm_exit:6.2f}")
    report["kg_query"] = {"query": args.cli_query, "params": cli_values,
                          "cold": {"first_line_s": first, "exit_s": done},
                          "warm": {"calls": len(warm), "first_line_s": warm_first, "exit_s": warm_exit}}
    for size in args.sizes:
        slow = [q["query"] for q in report[size] if q["median_ms"] > 20]
        print(f"named queries above 20 ms median ({size} values): {', '.join(slow) or 'none'}")
    return report


if __name__ == "__main__":
    raise SystemExit(main())
