"""Benchmark `kg build` on a corpus against the floor a jieba-based pipeline starts from.

    python bench/make_corpus.py --mb 20 --out /tmp/corpus-20mb
    python bench/run.py /tmp/corpus-20mb --runs 3 --jobs 1 2

Prints, for the same text, the medians of --runs runs of:
  * bare `jieba.cut` over every file (precise mode, and without HMM), dictionary already loaded;
  * the stages of one build in this process, one after the other (ingest, segment: sentence
    splitting and every word cut the passes make (rjieba), passes: the rest of the passes, digest:
    each document's IRIs and its part of the graph as Turtle, resolve: merging the digests,
    serialize: the corpus part and writing graph.ttl, render: graph.html);
  * `kg build` as users run it, for each --jobs value: wall time, chars/s, peak memory of all its
    processes, triples, and the ratio to bare jieba.cut;
  * the size of graph.ttl (bytes, and bytes per triple);
  * the named SPARQL queries on the graph of the last build (bench/query_bench.py: typical and
    largest parameter values, the whole-graph listings, `kg query` cold and warm; --no-queries
    skips them, --query-runs sets the runs of each);
  * with a warm cache, the rebuild after adding one new article (--incremental, on by default):
    by a new `kg build`, and by `kg build --watch` already running over the corpus.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))     # its neighbours: make_corpus, query_bench

import jieba  # noqa: E402

jieba.setLogLevel(60)


def corpus_texts(corpus: Path) -> tuple[list[Path], list[str], int]:
    from kg.ingest import collect_paths
    paths, _ = collect_paths([str(corpus)])
    texts = [p.read_bytes().decode("utf-8", "replace") for p in paths]
    return paths, texts, sum(p.stat().st_size for p in paths)


def bare_jieba(texts: list[str], hmm: bool) -> float:
    t = time.perf_counter()
    for text in texts:
        for _ in jieba.cut(text, HMM=hmm):
            pass
    return time.perf_counter() - t


class WordClock:
    """Counts the time the passes spend cutting words (kg.segment.cut_words, through rjieba),
    by wrapping the name in each module that imported it."""

    def __init__(self):
        import kg.passes.base
        import kg.passes.persons
        self.seconds = 0.0
        for module in (kg.passes.base, kg.passes.persons):
            module.cut_words = self._timed(module.cut_words)

    def _timed(self, cut):
        def timed_cut(*args, **kwargs):
            t = time.perf_counter()
            try:
                return cut(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t
        return timed_cut


def stages(paths: list[Path], jclock: WordClock, render: bool) -> dict[str, float]:
    """One build in this process, stage by stage (no cache, one process)."""
    from kg.digest import digest
    from kg.ingest import read_document
    from kg.passes import run_passes
    from kg.rdf import build_graph, write_turtle
    from kg.resolve import merge
    from kg.segment import split_sentences
    out: dict[str, float] = {}
    t = time.perf_counter()
    docs = [read_document(p) for p in paths]
    out["ingest"] = time.perf_counter() - t
    t = time.perf_counter()
    for d in docs:
        split_sentences(d.text)
    split = time.perf_counter() - t
    jclock.seconds = 0.0
    t = time.perf_counter()
    findings = [run_passes(d) for d in docs]
    passes = time.perf_counter() - t
    out["segment"] = split + jclock.seconds
    out["passes"] = passes - out["segment"]     # the passes split sentences again themselves
    del docs
    t = time.perf_counter()
    digests = [digest(f) for f in findings]     # per document: IRIs, its part of the graph as Turtle
    out["digest"] = time.perf_counter() - t
    del findings
    t = time.perf_counter()
    resolved = merge(digests)
    out["resolve"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        triples = write_turtle(resolved, Path(tmp) / "graph.ttl")
        out["serialize"] = time.perf_counter() - t
        if render:
            from kg.render import render_html
            t = time.perf_counter()
            render_html(build_graph(resolved), Path(tmp) / "graph.html")
            out["render"] = time.perf_counter() - t
    out["triples"] = triples
    return out


def run_build(args: list[str]) -> tuple[float, float, dict]:
    """`python -m kg build …`: wall seconds, peak RSS of its process tree (MB), its report."""
    try:
        import psutil
    except ImportError:
        psutil = None
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "kg", "build", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    if psutil is not None:
        p = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                tree = [p, *p.children(recursive=True)]
                peak = max(peak, sum(c.memory_info().rss for c in tree if c.is_running()) / 2**20)
            except psutil.Error:
                pass
            time.sleep(0.05)
    _, err = proc.communicate()
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"kg build failed:\n{err.decode(errors='replace')[-2000:]}")
    out = Path(args[args.index("--out") + 1])
    return seconds, peak, json.loads((out / "report.json").read_text(encoding="utf-8"))


def watch_rebuilds(corpus: Path, tmp: Path, jobs: int, html: list[str], runs: int):
    """`kg build --watch` over a copy of the corpus (hard links); once it has built it, one new
    article `runs` times, each moved in at once (a rename). Returns the seconds each rebuild took
    as it reports them, and the seconds from each arrival to the line saying it was done."""
    from make_corpus import make_corpus
    watched, out = tmp / "watched", tmp / "watch-out"
    shutil.rmtree(watched, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(corpus, watched, copy_function=os.link)
    proc = subprocess.Popen([sys.executable, "-m", "kg", "build", str(watched), "--out", str(out),
                             "-q", "--jobs", str(jobs), *html, "--watch", "--interval", "0.1"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def line_with(word: str) -> str:
        while line := proc.stderr.readline():
            if word in line:
                return line
        raise SystemExit(f"kg build --watch ended (exit {proc.wait()}) before printing {word!r}")

    rebuilds, arrivals = [], []
    try:
        line_with("watching")
        for i in range(runs):
            made = tmp / f"new-{i}"
            make_corpus(made, 0, seed=2000 + i, first=2 * 10**6 + i, count=1)
            started = time.perf_counter()
            os.rename(made, watched / f"zz-new-{i}")
            line = line_with("rebuilt")
            arrivals.append(time.perf_counter() - started)
            rebuilds.append(float(line.split(" in ", 1)[1].split(" s ", 1)[0]))
    finally:
        proc.terminate()
        proc.wait()
    return rebuilds, arrivals


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        mem = float("nan")
    from importlib.metadata import version
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GB RAM; Python {platform.python_version()}, "
            f"jieba {version('jieba')}, pyoxigraph {version('pyoxigraph')}, rdflib {version('rdflib')}")


def _spin(_=None) -> float:
    t = time.perf_counter()
    x = 0
    for i in range(20_000_000):
        x += i
    return time.perf_counter() - t


def parallel_capacity(jobs: int) -> float:
    """How many cores' worth of pure-Python work `jobs` processes get here at once (ideal: jobs).
    A shared VM can give much less; --jobs figures are read against this."""
    import multiprocessing
    alone = _spin()
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        t = time.perf_counter()
        pool.map(_spin, range(jobs), chunksize=1)
        together = time.perf_counter() - t
    return jobs * alone / together


def median(values):
    return statistics.median(values) if values else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark kg build against bare jieba.cut.")
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement; medians are printed")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, os.cpu_count() or 1],
                    help="--jobs values of kg build to time (default: 1 and all cores)")
    ap.add_argument("--html", action="store_true", help="also time graph.html (slow on big corpora)")
    ap.add_argument("--no-stages", action="store_true", help="skip the in-process stage breakdown")
    ap.add_argument("--no-incremental", action="store_true", help="skip the add-one-article rebuild")
    ap.add_argument("--no-queries", action="store_true", help="skip the named SPARQL queries")
    ap.add_argument("--query-runs", type=int, default=10, help="runs of each named query (default 10)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args(argv)

    paths, texts, size = corpus_texts(args.corpus)
    chars = sum(len(t) for t in texts)
    mb = size / 1e6
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {machine()}")
    print(f"corpus: {args.corpus}: {len(paths)} files, {mb:.1f} MB, {chars:,} characters")
    results: dict = {"corpus_mb": mb, "files": len(paths), "chars": chars}
    if max(args.jobs) > 1:
        cap = parallel_capacity(max(args.jobs))
        results["parallel_capacity"] = cap
        print(f"parallel capacity: {max(args.jobs)} processes get {cap:.2f} cores' worth of work")

    jieba.initialize()                       # the dictionary load is not part of the floor
    for hmm in (True, False):
        secs = [bare_jieba(texts, hmm) for _ in range(args.runs)]
        key = "jieba_cut" if hmm else "jieba_cut_no_hmm"
        results[key] = median(secs)
        print(f"bare jieba.cut{'' if hmm else ' HMM=False'}: {median(secs):.2f} s, "
              f"{mb / median(secs):.2f} MB/s")
    floor = results["jieba_cut"]

    if not args.no_stages:
        jclock = WordClock()
        runs = [stages(paths, jclock, args.html) for _ in range(args.runs)]
        names = [k for k in runs[0] if k != "triples"]
        results["stages"] = {k: median([r[k] for r in runs]) for k in names}
        print("stages, one process, in order (s): " + ", ".join(
            f"{k} {v:.2f}" for k, v in results["stages"].items()) +
            f"; sum {sum(results['stages'].values()):.2f} = "
            f"{sum(results['stages'].values()) / floor:.2f} x bare jieba.cut")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        html = [] if args.html else ["--no-html"]
        results["builds"] = {}
        for jobs in args.jobs:
            runs = []
            for _ in range(args.runs):
                shutil.rmtree(out, ignore_errors=True)
                runs.append(run_build([str(args.corpus), "--out", str(out), "-q", "--jobs", str(jobs),
                                       "--no-cache", *html]))
            wall = median([r[0] for r in runs])
            peak = median([r[1] for r in runs])
            report = runs[-1][2]
            results["builds"][jobs] = {"seconds": wall, "peak_rss_mb": peak, "triples": report.get("triples"),
                                       "timings": report.get("timings"), "ratio": wall / floor}
            print(f"kg build --jobs {jobs}: {wall:.2f} s, {chars / wall:,.0f} chars/s "
                  f"({mb / wall:.2f} MB/s), peak RSS {peak:,.0f} MB, {report.get('triples'):,} triples, "
                  f"ratio to bare jieba.cut {wall / floor:.2f}; report timings {report.get('timings')}")
        ttl = (out / "graph.ttl").stat().st_size
        triples = results["builds"][args.jobs[-1]]["triples"] or 1
        results["graph_ttl_bytes"] = ttl
        print(f"graph.ttl: {ttl / 1e6:.1f} MB, {ttl / triples:.1f} bytes a triple "
              f"({ttl / size:.2f} x the corpus)")

        if not args.no_queries:
            import query_bench
            print("\nnamed queries on the graph of the last build (bench/query_bench.py):", flush=True)
            results["queries"] = query_bench.bench(query_bench.options(
                [str(out), "--runs", str(args.query_runs)]))

        if not args.no_incremental:
            from make_corpus import make_corpus
            jobs = max(args.jobs)
            shutil.rmtree(out, ignore_errors=True)
            base = [str(args.corpus), "--out", str(out), "-q", "--jobs", str(jobs), *html]
            full, _, _ = run_build(base)                     # fills the cache
            extra = Path(tmp) / "extra"
            times = []
            for i in range(args.runs):
                shutil.rmtree(extra, ignore_errors=True)
                make_corpus(extra, 0, seed=1000 + i, first=10**6 + i, count=1)
                seconds, _, report = run_build([*base[:1], str(extra), *base[1:]])
                times.append(seconds)
            inc = median(times)
            results["incremental"] = {"full_with_cache_fill": full, "add_one": inc,
                                      "ratio": inc / results["builds"][jobs]["seconds"],
                                      "timings": report.get("timings"), "cache": report.get("cache")}
            print(f"add one article (cache warm, --jobs {jobs}): {inc:.2f} s = "
                  f"{100 * inc / results['builds'][jobs]['seconds']:.1f}% of the full build "
                  f"(first build filling the cache: {full:.2f} s); timings {report.get('timings')}")
            rebuilds, arrivals = watch_rebuilds(args.corpus, Path(tmp), jobs, html, args.runs)
            whole = results["builds"][jobs]["seconds"]
            results["watch"] = {"rebuild": median(rebuilds), "arrival_to_outputs": median(arrivals),
                                "ratio": median(rebuilds) / whole}
            print(f"add one article to kg build --watch (--jobs {jobs}, --interval 0.1): rebuilt in "
                  f"{median(rebuilds):.2f} s = {100 * median(rebuilds) / whole:.1f}% of the full build; "
                  f"from the file's arrival to new outputs {median(arrivals):.2f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
