"""`kg build`: files -> documents -> findings -> digests -> entities -> graph.ttl, graph.html, report.json.

Per-document work (ingest, passes and the document's digest, kg.digest) never sees other
documents; only merging the digests and the writers see the whole corpus. A file that cannot be read, is too large, fails or runs past the per-file
time limit is reported in one line and skipped; the other files are still built.

Outputs are written into a hidden staging folder inside the output folder and moved into place
only once all of them are complete, so a build killed at any moment leaves the previous outputs
as they were (a staging folder left by a killed build is removed by the next one).
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from . import __version__
from .ingest import MB, IngestError, collect_paths, default_limits, printable, read_document
from .model import ENTITY_CLASSES, RELATION_TYPES, Document
from . import cache as kg_cache
from .cache import DigestCache, file_stat, file_sha256
from .digest import Digest, digest
from .parallel import Outcome, extract_all
from .passes import run_passes
from .rdf import build_graph, write_turtle
from .incremental import LiveCorpus
from .resolve import merge

STAGING_PREFIX = ".kg-build-"          # + pid + random part: one folder per running build
STALE_AFTER = 24 * 3600                # where a process cannot be asked whether it lives


class BuildError(Exception):
    """Nothing usable was built (the message says why; `errors` has one line per failed file)."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.errors = list(errors or [])


class FileTimeout(BaseException):
    """One file ran past the per-file time limit. A BaseException (like KeyboardInterrupt),
    so that no `except Exception` inside a pass can swallow it."""


@dataclass
class BuildResult:
    out_dir: Path
    documents: int
    entities: int
    relations: int
    statistics: int
    triples: int
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    files: int = 0          # input files found
    read: int = 0           # of which read in this run (a live Builder keeps unchanged ones)


def build(inputs: list[str], out_dir: Path, *, min_confidence: float = 0.0,
          quiet: bool = False, render: bool = True, max_file_bytes: int | None = None,
          file_timeout: float | None = None, debug: bool = False, jobs: int | None = None,
          engine: str = "local", scheduler: str | None = None,
          cache: str | Path | bool = True, store: bool = False) -> BuildResult:
    """Build `inputs` (files, folders, globs) into `out_dir`.

    max_file_bytes / file_timeout: per-file limits (None: ontology/ingest.yaml; timeout 0: none).
    debug: print the traceback of a file that fails unexpectedly (it is skipped either way).
    jobs: processes for the per-file work (None: all cores); engine "dask" runs it on a Dask
    cluster (`scheduler` address, or a local cluster of `jobs` workers), see kg.parallel.
    cache: each file's digest is kept in `<out_dir>/.cache` (True), in this folder, or not (False).
    store: also make the output's query store (kg.store) now, from the build's own data, so
    that the first `kg query` does not wait for it (it is otherwise made on first use).
    Raises BuildError when no file gave a usable document (the outputs are then left alone).
    """
    builder = Builder(inputs, out_dir, min_confidence=min_confidence, quiet=quiet, render=render,
                      max_file_bytes=max_file_bytes, file_timeout=file_timeout, debug=debug,
                      jobs=jobs, engine=engine, scheduler=scheduler, cache=cache, store=store)
    try:
        return builder.run()
    finally:
        builder.close()


class Builder:
    """One build (`run` once, then `close`), or, with `live=True`, a build kept up to date
    (`kg build --watch`, kg.watch): between runs it keeps each file's outcome, keyed by the
    file's size, times and inode, so that an unchanged file is neither hashed nor read again,
    and the merged corpus (kg.incremental), so that only what changed is merged again."""

    def __init__(self, inputs: list[str], out_dir: Path, *, min_confidence: float = 0.0,
                 quiet: bool = False, render: bool = True, max_file_bytes: int | None = None,
                 file_timeout: float | None = None, debug: bool = False, jobs: int | None = None,
                 engine: str = "local", scheduler: str | None = None,
                 cache: str | Path | bool = True, store: bool = False, live: bool = False):
        default_bytes, default_timeout = default_limits()
        self.inputs = inputs
        self.out_dir = Path(out_dir)
        self.max_file_bytes = default_bytes if max_file_bytes is None else max_file_bytes
        self.file_timeout = default_timeout if file_timeout is None else file_timeout
        self.min_confidence, self.quiet, self.render, self.store = min_confidence, quiet, render, store
        self.debug = debug
        self.jobs, self.engine, self.scheduler = jobs, engine, scheduler
        self.cache = None if cache is False else \
            DigestCache(self.out_dir / ".cache" if cache is True else cache,
                        f"max_bytes={self.max_file_bytes}\0min_confidence={min_confidence}")
        self.work = functools.partial(_extract_file, max_file_bytes=self.max_file_bytes,
                                      file_timeout=self.file_timeout, debug=debug,
                                      min_confidence=min_confidence)
        # Worker processes keep the Turtle parts of their documents in files here (kg.parallel).
        self.parts_dir = self.out_dir / f"{STAGING_PREFIX}{os.getpid()}-parts"
        self.spool: PartSpool | None = None
        self.live = LiveCorpus() if live else None
        self.known: dict[Path, tuple[tuple | None, Outcome]] = {}   # live: path -> (stat, outcome)
        self.copies: dict[str, tuple] = {}     # doc id -> (digest, its other paths, the copy with them)
        self.unfinished = False    # the last run stopped before its outputs were written
        self.racy: set[Path] = set()   # files read in the same clock tick as their last change

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool = None
        shutil.rmtree(self.parts_dir, ignore_errors=True)

    def changed(self) -> tuple | None:
        """A scan of the inputs if any file came, went or changed since the last run, else
        None: the folders are listed and each file is stat'ed; none is read, except a file
        read in the same clock tick as its last change (below). Give the scan to the next
        `run` to spare it doing the same."""
        paths, problems, warnings = self._paths()
        signatures = {p: file_stat(p) for p in paths}
        again = self._changed_unseen(signatures)
        if not self.unfinished and not again and len(paths) == len(self.known) and \
                all(self.known.get(p, (None,))[0] == signatures[p] for p in paths):
            return None
        return paths, problems, warnings, signatures, again

    def _changed_unseen(self, signatures: dict) -> set[Path]:
        """Files read less than kg.cache.RACY_NS after their last change could have changed
        again within the same tick of the clock that stamps files, with the same size: their
        stat would not show it. Once that time has passed, each is hashed once more and
        compared with what was read; those that differ are read again."""
        settled = time.time_ns() - kg_cache.RACY_NS
        again = set()
        for path in list(self.racy):
            known = self.known.get(path)
            stat = signatures.get(path)
            if known is None or stat is None or stat != known[0]:
                self.racy.discard(path)          # gone, or its stat shows the change anyway
            elif max(stat[1], stat[2]) < settled:
                self.racy.discard(path)
                d = known[1].digest
                if d is None or d.doc.content_hash != file_sha256(path):
                    again.add(path)
        return again

    def _paths(self) -> tuple[list[Path], list[str], list[str]]:
        """(input files in order, one-line problems of inputs that gave none, warnings)"""
        real_paths: dict[Path, str] = {}
        paths, problems = collect_paths(self.inputs, real_paths)
        warnings = []
        # `kg build . --out output`: the previous outputs are not articles
        out_real = os.path.realpath(self.out_dir) + os.sep
        inside = {p for p in paths if real_paths[p].startswith(out_real)}
        if inside:
            paths = [p for p in paths if p not in inside]
            warnings.append(f"{printable(str(self.out_dir))}: the output folder is among the "
                            f"inputs; its {len(inside)} file(s) not read")
        return paths, problems, warnings

    def _outcomes(self, paths: list[Path], signatures: dict,
                  again: set[Path]) -> Iterator[tuple[Path, Outcome, bool]]:
        """(path, outcome, whether it was worked out in this run) for every path, in order.
        `again`: files to read even though their stat is unchanged."""
        if self.live is None:
            todo = paths
        else:
            signatures = signatures or {p: file_stat(p) for p in paths}
            todo = [p for p in paths if signatures[p] is None or p in again
                    or self.known.get(p, (None,))[0] != signatures[p]]
        # _warm_up runs before the first file not in the cache (and before workers fork: they
        # start with the dictionary loaded).
        fresh = extract_all(self.work, todo, jobs=self.jobs, engine=self.engine,
                            scheduler=self.scheduler, cache=self.cache, prepare=_warm_up,
                            parts_dir=str(self.parts_dir))
        todo_set = set(todo)
        known: dict[Path, tuple] = {}
        for path in paths:
            if path in todo_set:
                _, outcome = next(fresh)
                made = True
                stat = signatures.get(path)
                if stat is not None and max(stat[1], stat[2]) >= time.time_ns() - kg_cache.RACY_NS:
                    self.racy.add(path)
            else:
                outcome, made = self.known[path][1], False
            if self.live is not None:
                known[path] = (signatures[path], outcome)
            yield path, outcome, made
        self.known = known

    def run(self, scan: tuple | None = None) -> BuildResult:
        """Build (again); `scan`: what changed() just returned."""
        self.unfinished = True       # until the outputs are written (or nothing could be built)
        started = time.time()
        clock = time.perf_counter()
        out_dir = self.out_dir
        remove_stale_staging(out_dir)
        paths, problems, warnings, signatures, again = scan or (*self._paths(), {}, set())
        errors = [f"{p}; skipped" for p in problems]
        digests: list[Digest] = []
        seen: dict[str, int] = {}                 # raw hash -> index in digests
        also: dict[int, list[str]] = {}           # index in digests -> its other paths
        timings: Counter = Counter()
        if self.cache is not None:
            self.cache.hits = self.cache.misses = 0
        read = 0
        for i, (path, outcome, made) in enumerate(self._outcomes(paths, signatures, again), 1):
            read += made
            if not self.quiet and (made or self.live is None):
                print(f"[{i}/{len(paths)}] {printable(str(path))}", file=sys.stderr, flush=True)
            timings.update(outcome.seconds if made else {})
            if outcome.error is not None:
                errors.append(outcome.error)
                continue
            d = outcome.digest
            doc = d.doc
            first = seen.get(d.raw_hash)
            if first is not None:
                # The same article under two names counts once; both paths stay in the
                # provenance. (Same decoded text, so every offset is right for both files.)
                also.setdefault(first, []).append(doc.path)
                warnings.append(f"{doc.path}: same text as {digests[first].doc.path}; counted once")
                continue
            warnings += [f"{doc.path}: {printable(w)}" for w in doc.warnings]
            seen[d.raw_hash] = len(digests)
            if self.spool is None:
                self.spool = PartSpool(out_dir)
            if doc.doc_id not in self.spool.where:
                self.spool.keep(d, outcome.part_at)
            elif d.part[1]:         # a live build kept this text's part in an earlier run
                d.part = (d.part[0], b"")
            digests.append(d)
        copies = {}
        for index, paths_too in also.items():
            d = digests[index]
            previous = self.copies.get(d.doc.doc_id)
            if previous is not None and previous[0] is d and previous[1] == paths_too:
                digests[index] = previous[2]      # (a live build then sees the same digest)
            else:
                digests[index] = _with_paths(d, paths_too)
            copies[d.doc.doc_id] = (d, paths_too, digests[index])
        self.copies = copies
        if not digests:
            self.unfinished = False  # the same files would give nothing again
            raise BuildError("no usable document in " + " ".join(printable(x) for x in self.inputs) +
                             (f" ({len(errors)} failed)" if errors else ""), errors)
        timings["extract"] = time.perf_counter() - clock     # wall time of the per-file work
        resolve_started = time.perf_counter()
        if self.live is None:
            resolved, corpus = merge(digests), None
        else:
            try:
                resolved, corpus = self.live.update(digests)
            except BaseException:         # half updated: the next run starts it again whole
                self.live = LiveCorpus()
                raise
        resolved.part_bytes = self.spool.read
        timings["resolve"] = time.perf_counter() - resolve_started
        report = make_report(resolved, warnings, errors, time.time() - started)
        report["limits"] = {"max_file_mb": round(self.max_file_bytes / MB, 3),
                            "file_timeout_seconds": self.file_timeout}
        report["timings"] = timings     # seconds per stage; write_outputs adds its own
        if self.cache is not None:
            report["cache"] = {"folder": str(self.cache.root), "hits": self.cache.hits,
                               "misses": self.cache.misses}
            if self.live is not None:
                report["cache"]["unchanged"] = len(paths) - read     # not read again
        triples = write_outputs(out_dir, resolved, report, render=self.render, corpus=corpus,
                                copy_part=self.spool.copy_to)
        if self.store:
            from .store import store_folder
            store_folder(out_dir, resolved)      # needs the part spool: before it closes
        if self.cache is not None:
            self.cache.prune()
            self.cache.save_index()
        self.unfinished = False
        return BuildResult(out_dir, len(digests), len(resolved.entities), len(resolved.relations),
                           len(resolved.statistics), triples, warnings, errors, len(paths), read)


def _with_paths(d: Digest, paths_too: list[str]) -> Digest:
    """A copy of `d` whose document also lists the other paths of the same text (the digest
    itself may be kept for the next run, so it is not changed)."""
    doc = copy.copy(d.doc)
    doc.meta = {**doc.meta, "_paths": [doc.path, *paths_too]}
    return dataclasses.replace(d, doc=doc)


class PartSpool:
    """Each document's Turtle part, kept in files in the output folder instead of in memory,
    until graph.ttl is written: the build's memory then grows with the entities, not with the
    text (parts are about three bytes per byte of text). Parts made here go to an unnamed
    temporary file; worker processes append theirs to files of their own (kg.parallel) in a
    staging folder, which a killed build leaves for the next one to remove."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.file = tempfile.TemporaryFile(dir=folder)      # gone when closed, or if we crash
        self.where: dict[str, tuple] = {}      # doc id -> (offset, size) here, or (file, offset, size)
        self._open: dict[str, object] = {}     # worker files, opened once

    def keep(self, d: Digest, part_at: tuple[str, int, int] | None = None) -> None:
        if part_at is not None:                 # a worker kept it
            self.where[d.doc.doc_id] = part_at
            return
        count, body = d.part
        self.where[d.doc.doc_id] = (self.file.seek(0, os.SEEK_END), len(body))
        self.file.write(body)
        d.part = (count, b"")

    def read(self, d: Digest) -> bytes:
        where = self.where[d.doc.doc_id]
        if len(where) == 3:
            f, offset, size = self._worker_file(where[0]), where[1], where[2]
        else:
            (offset, size), f = where, self.file
        f.seek(offset)
        return f.read(size)

    def copy_to(self, documents: list, out) -> None:
        """Append the parts of `documents`, in this order, to the open file `out`. Parts that
        lie one after the other in a spool file are copied as one run, by the kernel where it
        can (os.copy_file_range): the bytes do not pass through Python."""
        runs: list[list] = []          # [file, start, end]
        for d in documents:
            where = self.where[d.doc.doc_id]
            if len(where) == 3:
                f, offset, size = self._worker_file(where[0]), where[1], where[2]
            else:
                f, (offset, size) = self.file, where
            if runs and runs[-1][0] is f and runs[-1][2] == offset:
                runs[-1][2] += size
            else:
                runs.append([f, offset, offset + size])
        self.file.flush()
        out.flush()
        for f, start, end in runs:
            _copy_range(f, start, end, out)

    def _worker_file(self, name: str):
        f = self._open.get(name)
        if f is None:
            f = self._open[name] = open(name, "rb")
        return f

    def close(self) -> None:
        self.file.close()
        for f in self._open.values():
            f.close()


def _copy_range(src, start: int, end: int, out) -> None:
    """Bytes start..end of the file `src` to the end of `out` (both flushed)."""
    done = start
    try:
        while done < end:
            n = os.copy_file_range(src.fileno(), out.fileno(), end - done, done)
            if n == 0:
                raise OSError("short copy")
            done += n
        return
    except (AttributeError, OSError):   # not Linux, or a file system that cannot: copy here
        pass
    src.seek(done)
    while done < end:
        chunk = src.read(min(end - done, 1 << 22))
        if not chunk:
            raise OSError(f"spool file ends at {done}, before {end}")
        out.write(chunk)
        done += len(chunk)
    out.flush()


def _extract_file(path, *, max_file_bytes: int, file_timeout: float, debug: bool,
                  min_confidence: float = 0.0) -> Outcome:
    """Ingest, passes and digest of one file (in a worker process with --jobs above 1)."""
    name = printable(str(path))
    try:
        with _time_limit(file_timeout):
            t0 = time.perf_counter()
            doc = read_document(path, max_bytes=max_file_bytes)
            t1 = time.perf_counter()
            f = run_passes(doc)
            t2 = time.perf_counter()
            d = digest(f, min_confidence)
            seconds = {"ingest": t1 - t0, "passes": t2 - t1, "digest": time.perf_counter() - t2}
    except IngestError as e:
        return Outcome(error=f"{e}; skipped")
    except FileTimeout:
        return Outcome(error=f"{name}: took longer than {file_timeout:g} s (--file-timeout); skipped")
    except Exception as e:     # a bug, or memory exhausted, on one file: the others go on
        if debug:
            traceback.print_exc()
        detail = printable(str(e))[:200]
        return Outcome(error=f"{name}: failed ({type(e).__name__}{': ' + detail if detail else ''}); skipped")
    return Outcome(digest=d, seconds=seconds)


def make_report(resolved, warnings, errors, seconds) -> dict:
    classes = Counter(e.cls for e in resolved.entities.values())
    relations = Counter(p for p, _, _ in resolved.relations)
    per_doc = []
    for d in resolved.documents:
        doc = d.doc
        per_doc.append({"doc_id": doc.doc_id, "path": doc.path, "paths": doc.meta.get("_paths", [doc.path]),
                        "title": doc.meta.get("title"), "format": doc.format, "encoding": doc.encoding,
                        "script": doc.script, **d.counts})
    return {
        "version": __version__,
        "documents": len(resolved.documents),
        "entities": {c: classes.get(c, 0) for c in ENTITY_CLASSES},
        "relations": {p: relations.get(p, 0) for p in RELATION_TYPES},
        "statistics": len(resolved.statistics),
        "per_document": per_doc,
        "warnings": warnings,
        "errors": errors,
        "seconds": round(seconds, 2),
    }


def report_json(report: dict) -> str:
    """report.json: one line per key, and one line per item of a list (a document, a warning).
    Readable, and fast: json's indented writer is pure Python (0.6 s for 5,000 documents)."""
    def value(v) -> str:
        if isinstance(v, list) and v:
            return "[\n  " + ",\n  ".join(json.dumps(x, ensure_ascii=False) for x in v) + "\n ]"
        return json.dumps(v, ensure_ascii=False)
    return "{\n" + ",\n".join(f" {json.dumps(k)}: {value(v)}" for k, v in report.items()) + "\n}\n"


# ---------------------------------------------------------------- per-file time limit
@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise FileTimeout when the block runs longer than `seconds` (0: no limit).

    SIGALRM: POSIX, main thread only (elsewhere there is no limit). The exception comes
    between two Python bytecodes, so one long call into C code finishes first."""
    if not seconds or not hasattr(signal, "setitimer") or \
            threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise FileTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _warm_up() -> None:
    """Load what the passes load once (word dictionary, lexicons, patterns) before the first
    file's clock starts: the time limit is for a file's own work. An interrupted load would
    also leave a half-made cache behind."""
    text = "国家移民管理局发布公告。"
    run_passes(Document(path="", doc_id="warm-up", raw=text, text=text,
                        offsets=list(range(len(text))), original=text))


# ---------------------------------------------------------------- atomic outputs
def write_outputs(out_dir: Path, resolved, report: dict, render: bool = True,
                  corpus: tuple[int, bytes] | None = None, copy_part=None) -> int:
    """Write every output into a staging folder inside `out_dir`, then move them into place.
    Returns the number of triples in graph.ttl. `corpus` and `copy_part`: see write_turtle.

    Until the moves, `out_dir` keeps its previous outputs untouched; the moves are renames
    on one file system, done one after the other (graph.ttl, graph.html, report.json)."""
    timings = report.setdefault("timings", {})
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out_dir)
    stage = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=out_dir))
    try:
        names = ["graph.ttl"]
        t = time.perf_counter()
        triples = write_turtle(resolved, stage / "graph.ttl", corpus, copy_part)
        timings["rdf_serialize"] = time.perf_counter() - t
        if render:
            from .render import render_html
            t = time.perf_counter()
            render_html(build_graph(resolved), stage / "graph.html", title="zh-policy-kg")
            timings["render"] = time.perf_counter() - t
            names.append("graph.html")
        report["triples"] = triples
        report["timings"] = {k: round(v, 3) for k, v in timings.items()}
        # backslashreplace: a stray lone surrogate becomes a JSON escape instead of a crash
        text = report_json(report)
        (stage / "report.json").write_bytes(text.encode("utf-8", "backslashreplace"))
        names.append("report.json")
        for name in names:
            _fsync(stage / name)
        for name in names:
            os.replace(stage / name, out_dir / name)
        if not render:
            # A page from an earlier build would no longer match graph.ttl.
            (out_dir / "graph.html").unlink(missing_ok=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return triples


def remove_stale_staging(out_dir: Path) -> None:
    """Remove staging folders that builds killed before finishing left in `out_dir`."""
    if not out_dir.is_dir():
        return
    for folder in out_dir.glob(STAGING_PREFIX + "*"):
        pid = folder.name[len(STAGING_PREFIX):].split("-")[0]
        if folder.is_dir() and not (pid.isdigit() and _running(int(pid), folder)):
            shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int, folder: Path) -> bool:
    """Is the build that owns `folder` still running? (A live build's folder must stay.)"""
    if pid == os.getpid():
        return True
    if os.name != "posix":         # os.kill would end the process there: go by age instead
        return time.time() - folder.stat().st_mtime < STALE_AFTER
    try:
        os.kill(pid, 0)            # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:        # it exists, as another user's process
        return True
    return True


def _fsync(path: Path) -> None:
    """On disk before the rename, so that a crash of the machine cannot leave an empty file."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())
