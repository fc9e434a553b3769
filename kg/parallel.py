"""Per-document work (ingest and passes) on several processes or on a Dask cluster.

Documents never see each other until resolve, so each file is a task. Results always come back
in input order, which keeps every later step, and so the graph, the same whatever the number of
processes. `--jobs N` uses a local process pool (forked on Linux, so the workers start with the
word dictionary and lexicons the parent already loaded); `--engine dask` sends
the tasks to a Dask cluster (a local one when no `--scheduler` is given) and keeps resolve and
the writers on the client. Workers of a remote cluster must have this package installed at the
same version and must see the input files under the same paths (a shared file system).

With a cache (kg.cache), the parent looks every file up first and only sends the misses out.
"""
from __future__ import annotations

import functools
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import sys
import tempfile
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .cache import dumps, loads, write_entry
from .digest import Digest

ENGINES = ("local", "dask")
BATCH = 8                  # files per Dask task: the scheduler costs about a millisecond a task
DIED = "a worker process ended before finishing its files"
SETTLE_EVERY = 64          # files between two gc.freeze() calls (see _settle)


@dataclass
class Outcome:
    """What one file gave: its digest, or the one-line reason it was skipped."""
    digest: Digest | None = None
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)   # worker time per stage
    cached: bool = False
    blob: bytes | None = None      # the digest as kg.cache.dumps made it in a worker
    part_at: tuple[str, int, int] | None = None   # (file, offset, size) of its Turtle part,
                                                   # when a local worker kept it (see _in_worker)
    stored: bool = False           # the worker put it in the cache itself


def default_jobs() -> int:
    """All the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:          # not on Linux
        return os.cpu_count() or 1


def inline(jobs: int | None, engine: str, count: int) -> bool:
    """Does the work run in this process (one job, or nothing to share)?"""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (one of {', '.join(ENGINES)})")
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    return engine == "local" and (jobs == 1 or count <= 1)


def map_ordered(fn: Callable[[Any], Any], items: Sequence, *, jobs: int | None = None,
                engine: str = "local", scheduler: str | None = None) -> Iterator:
    """fn(item) for every item, in input order, computed on `jobs` processes or on Dask."""
    if inline(jobs, engine, len(items)):
        yield from map(fn, items)
        return
    jobs = default_jobs() if jobs is None else jobs
    if engine == "dask":
        yield from _dask_map(fn, items, jobs, scheduler)
    else:
        yield from _pool_map(fn, items, min(jobs, len(items)))


def _pool_map(fn, items: Sequence, jobs: int) -> Iterator:
    """fn over items on `jobs` worker processes, results in input order.

    Not multiprocessing.Pool: its worker-handler thread wakes up whenever a result waits in the
    pipe and spins until the result thread has read it. On two cores that thread and the GIL it
    takes cost the parent a third of a second of CPU on the 20 MB corpus, taken from the workers
    (bench/README.md). Here the parent's one thread sends chunks and reads results, and a dead
    worker is an error instead of a pool that waits for ever."""
    # fork on Linux (workers start with what the parent loaded); elsewhere the platform's default
    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
    # Small chunks: article sizes vary, and a result is a few hundred kB at most.
    size = max(1, min(8, len(items) // (jobs * 16)))
    chunks = deque(_batches(items, size))
    total = len(chunks)
    gc.freeze()      # what the workers inherit stays out of their collector's walks
    workers: dict = {}              # connection -> (process, numbers of the chunks it holds)
    try:
        for _ in range(jobs):
            conn, child = ctx.Pipe()
            # the parent's ends, which a forked worker holds copies of: it closes them, so that
            # it reads the end of its pipe if the parent dies (and does not stay behind)
            ends = [*workers, conn]
            process = ctx.Process(target=_serve, args=(child, fn, ends), daemon=True)
            process.start()
            child.close()
            workers[conn] = (process, deque())
        sent = 0
        told_to_stop: set = set()

        def send(conn) -> None:
            nonlocal sent
            try:
                if chunks:
                    conn.send(chunks.popleft())
                    workers[conn][1].append(sent)
                    sent += 1
                elif not workers[conn][1] and conn not in told_to_stop:
                    conn.send(None)         # nothing left for it: it exits (told once: after
                    told_to_stop.add(conn)  # that its end of the pipe may be closed)
            except OSError:                 # a broken pipe: it died
                raise RuntimeError(DIED) from None

        for conn in workers:            # two chunks each: a worker never waits for the parent
            send(conn)
            send(conn)
        done: dict[int, list] = {}
        for number in range(total):
            while number not in done:
                busy = {conn: process for conn, (process, held) in workers.items() if held}
                by_sentinel = {process.sentinel: process for process in busy.values()}
                for ready in multiprocessing.connection.wait([*busy, *by_sentinel]):
                    if ready in by_sentinel:    # it ended with work in hand
                        raise RuntimeError(f"{DIED} (exit code {by_sentinel[ready].exitcode})")
                    try:
                        ok, results = ready.recv()
                    except (EOFError, OSError):     # it died while answering
                        raise RuntimeError(DIED) from None
                    if not ok:                  # the exception fn raised in the worker
                        error, text = results
                        raise error from WorkerTraceback(text)
                    done[workers[ready][1].popleft()] = results
                    send(ready)
            if number == total - 1:
                _stop(workers, unfinished=False)    # all sent None: reap them now
            yield from done.pop(number)
    finally:
        _stop(workers, unfinished=bool(chunks) or any(held for _, held in workers.values()))


def _stop(workers: dict, unfinished: bool) -> None:
    """Wait for the workers to exit (each was sent None after its last chunk); when the work is
    unfinished (an error, Ctrl-C, a consumer that stopped early), end them first."""
    for process, _ in workers.values():
        if unfinished and process.is_alive():
            process.terminate()
    for conn, (process, _) in workers.items():
        process.join()
        conn.close()


def _serve(conn, fn, parent_ends: list) -> None:
    """A worker: chunks of items in, (True, results) or (False, (exception, its traceback as
    text)) out; None ends it."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is the parent's to handle: it
    signal.signal(signal.SIGTERM, signal.SIG_DFL)    # ends the workers (not a handler of its)
    for end in parent_ends:
        end.close()
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):     # the parent is gone
            return
        if chunk is None:
            return
        try:
            reply = (True, _run_batch(fn, chunk))
        except Exception as e:          # to the parent, which raises it (as Pool.imap does)
            reply = (False, (e, traceback.format_exc()))
        try:
            conn.send(reply)            # pickled whole before a byte is written
        except OSError:                 # the parent is gone
            return
        except Exception as e:          # an exception (or a result) that does not pickle
            text = reply[1][1] if not reply[0] else traceback.format_exc()
            error = RuntimeError(f"a worker's result could not be sent back: {type(e).__name__}: {e}")
            conn.send((False, (error, text)))


class WorkerTraceback(Exception):
    """The traceback of an exception raised in a worker process, as the text the worker
    formatted: the parent raises the exception `from` it, so `kg --debug` shows where it began."""

    def __str__(self) -> str:
        return "\n\n" + self.args[0]


def _batches(items: Sequence, size: int) -> Iterator[list]:
    """The items in lists of `size` (the last one shorter): the tasks of both engines."""
    return (list(items[i:i + size]) for i in range(0, len(items), size))


def _run_batch(fn, batch: list) -> list:
    return [fn(item) for item in batch]


def _dask_map(fn, items: Sequence, jobs: int, scheduler: str | None) -> Iterator:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise RuntimeError("--engine dask needs Dask: pip install 'zh-policy-kg[dask]'") from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        slots = max(1, sum(client.nthreads().values()))
        pending: deque = deque()
        # a bounded window of tasks: memory stays flat on any corpus size
        for batch in _batches(items, BATCH):
            pending.append(client.submit(_run_batch, fn, batch, pure=False))
            if len(pending) >= 4 * slots:
                yield from _take(pending.popleft())
        while pending:
            yield from _take(pending.popleft())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _take(future) -> list:
    result = future.result()
    future.release()
    return result


def _remote(fn: Callable[[Any], Outcome], item) -> Outcome:
    """fn in a worker: the digest travels as one bytes object (pickled once, in the worker;
    the parent stores those bytes in the cache as they are)."""
    outcome = fn(item)
    if outcome.digest is not None:
        outcome.blob, outcome.digest = dumps(outcome.digest), None
    return outcome


def _in_worker(fn: Callable[[Any], Outcome], parts_dir: str, cache_folder: str | None,
               item: tuple) -> Outcome:
    """fn in a local worker process. The worker stores the new digest in the cache and appends
    its Turtle part (most of its bytes) to a file of its own in `parts_dir`, so that only the
    small rest travels to the parent, pickled once: on two cores, moving 77 MB of digests
    through pipes and writing them again in the parent cost the parent half a second of CPU."""
    path, key, content_hash = item
    outcome = fn(path)
    d = outcome.digest
    if d is None:
        return outcome
    if cache_folder is not None and key is not None and d.doc.content_hash == content_hash:
        write_entry(Path(cache_folder), key, dumps(d))
        outcome.stored = True
    count, body = d.part
    outcome.part_at = _parts_file(parts_dir).append(body)
    d.part = (count, b"")
    outcome.blob, outcome.digest = dumps(d), None
    return outcome


class _PartsFile:
    """This worker's file of Turtle parts: appended to, read by the parent at (offset, size)."""

    def __init__(self, folder: str):
        os.makedirs(folder, exist_ok=True)      # (made when the first part comes, as outputs are)
        self.fd, self.path = tempfile.mkstemp(prefix="worker-", dir=folder)
        self.pid = os.getpid()
        self.size = 0

    def append(self, body: bytes) -> tuple[str, int, int]:
        offset = self.size
        view = memoryview(body)
        while view:                      # (os.write may write less than asked)
            view = view[os.write(self.fd, view):]
        self.size += len(body)
        return self.path, offset, len(body)


_PARTS: dict[str, _PartsFile] = {}      # per worker process: parts folder -> its file


def _parts_file(folder: str) -> _PartsFile:
    f = _PARTS.get(folder)
    if f is None or f.pid != os.getpid():          # (not one a fork inherited)
        f = _PARTS[folder] = _PartsFile(folder)
    return f


def preload() -> None:
    """Load the word dictionary (rjieba's, tags included) in this process, before any worker
    forks: the workers then share it instead of each loading its own."""
    from .segment import cut_words
    cut_words("国家移民管理局")


def extract_all(fn: Callable[[Any], Outcome], paths: Sequence, *, jobs: int | None = None,
                engine: str = "local", scheduler: str | None = None,
                cache=None, prepare: Callable[[], None] | None = None,
                parts_dir: str | None = None) -> Iterator[tuple[Any, Outcome]]:
    """(path, Outcome) for every path, in input order. `fn(path) -> Outcome` does the work;
    with a kg.cache.DigestCache, cached digests are used and new ones stored. `prepare()`
    runs once before the first file that has to be worked on. `parts_dir`: a folder where
    local worker processes keep the Turtle parts of their digests (Outcome.part_at says
    where; the caller removes the folder); without it, parts come back inside the digests."""
    keys = [cache.key(p) if cache is not None else None for p in paths]
    todo = [i for i, k in enumerate(keys) if not (cache is not None and cache.has(k))]
    if todo:
        preload()
        if prepare is not None:
            prepare()
    items = [paths[i] for i in todo]
    if inline(jobs, engine, len(todo)):
        task = fn
    elif engine == "local" and parts_dir is not None:
        task = functools.partial(_in_worker, fn, parts_dir,
                                 str(cache.folder) if cache is not None else None)
        items = [(paths[i], keys[i], cache.expected_hash(keys[i]) if cache is not None else None)
                 for i in todo]
    else:
        task = functools.partial(_remote, fn)
    fresh = map_ordered(task, items, jobs=jobs, engine=engine, scheduler=scheduler)
    todo_set = set(todo)
    for i, (path, key) in enumerate(zip(paths, keys)):
        if i in todo_set:
            outcome = next(fresh)
            if outcome.blob is not None:
                outcome.digest = loads(outcome.blob)
            if cache is not None and outcome.digest is not None:
                if not outcome.stored:
                    cache.put(key, outcome.digest, outcome.blob)
                cache.misses += 1
            outcome.blob = None
        else:
            found = cache.get(key)
            if found is None:               # damaged entry: make it again, here
                outcome = fn(path)
                if outcome.digest is not None:
                    cache.put(key, outcome.digest)
            else:
                outcome = Outcome(digest=found, cached=True)
        yield path, outcome
        if i % SETTLE_EVERY == SETTLE_EVERY - 1:
            _settle()


def _settle() -> None:
    """Digests live until the end of the build, and a full garbage collection walks every one
    of them, again each time the heap has grown by a quarter: two thirds of the time of loading
    a big cache. Collect the young garbage, then move what is left out of the collector's sight."""
    gc.collect(1)
    gc.freeze()
