"""`kg build --watch`: build, then keep the outputs up to date while files come, change or go.

A rebuild in a new process pays for what every process pays before it can add one article to
a corpus of thousands: starting Python and loading the word dictionary, finding every file's
cache entry, loading every cached digest and merging them all (about 2 s for 5,000 articles,
bench/README.md).
A watching build keeps all of that: every `interval` seconds it looks at the inputs (one stat
per file, nothing read), and when something changed it reads only those files and merges only
what they change (kg.build.Builder with live=True, kg.incremental). The outputs are written
as by any build (atomically) and are the same as a new build of the same files would write.

Knowledge files (ontology/) and the code are loaded once: after changing a lexicon, stop and
start again (the cache then knows which digests are stale).
"""
from __future__ import annotations

import sys
import threading
import time
import traceback
from pathlib import Path

from .build import BuildError, Builder, BuildResult
from .stopping import sigterm_as_interrupt

DEFAULT_INTERVAL = 2.0


def watch(inputs: list[str], out_dir: Path, *, interval: float = DEFAULT_INTERVAL,
          quiet: bool = False, stop: threading.Event | None = None, **options) -> None:
    """Build `inputs` into `out_dir`, then rebuild whenever they change, until `stop` is set
    (or Ctrl-C / SIGTERM). A run that builds nothing usable keeps the previous outputs.
    `options`: those of kg.build.build (store excepted)."""
    stop = stop or threading.Event()
    builder = Builder(inputs, Path(out_dir), quiet=quiet, live=True, **options)
    try:
        with sigterm_as_interrupt():        # `kill` stops it as Ctrl-C does
            _watch(builder, interval, stop)
    except KeyboardInterrupt:
        print("kg build: stopped watching", file=sys.stderr)
    finally:
        builder.close()


def _watch(builder: Builder, interval: float, stop: threading.Event) -> None:
    _run(builder, first=True)
    print(f"kg build: watching {len(builder.known)} files (every {interval:g} s; Ctrl-C stops)",
          file=sys.stderr, flush=True)
    while not stop.wait(interval):
        started = time.perf_counter()
        scan = builder.changed()
        if scan is not None:
            _run(builder, first=False, scan=scan, started=started)


def _run(builder: Builder, first: bool, scan: tuple | None = None,
         started: float | None = None) -> BuildResult | None:
    """One run, and its line; `started`: when the scan that found the change began."""
    started = time.perf_counter() if started is None else started
    try:
        result = builder.run(scan)
    except BuildError as e:
        for line in e.errors:
            print(f"error: {line}", file=sys.stderr)
        print(f"kg build: {e}; outputs left as they were", file=sys.stderr, flush=True)
        return None
    except Exception as e:    # e.g. a full disk: say so, keep watching, try again next time
        if builder.debug:
            traceback.print_exc()
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"kg build: rebuild failed ({type(e).__name__}: {message}); outputs left as they "
              f"were; trying again in the next look", file=sys.stderr, flush=True)
        return None
    seconds = time.perf_counter() - started
    for line in result.errors:
        print(f"error: {line}", file=sys.stderr)
    print(f"{'built' if first else 'rebuilt'} {result.out_dir} in {seconds:.2f} s "
          f"({result.read} of {result.files} files read): "
          f"{result.documents} documents, {result.entities} entities, {result.relations} relations, "
          f"{result.statistics} statistics, {result.triples} triples; {len(result.errors)} skipped, "
          f"{len(result.warnings)} warnings", file=sys.stderr, flush=True)
    return result
