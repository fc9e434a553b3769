"""`kg serve`: a read-only SPARQL 1.1 Protocol endpoint over a built output, and its page.

- `/sparql`: GET `?query=`, POST form (`query=`) or POST `application/sparql-query`; results in
  the format the Accept header (or a `format`/`output` parameter) asks for: SPARQL JSON, XML,
  CSV or TSV for SELECT/ASK, Turtle, N-Triples, JSON-LD or RDF/XML for CONSTRUCT/DESCRIBE.
- `/` is graph.html; other files directly in the output folder are served by name (graph.ttl,
  report.json); nothing in subfolders, hidden files or anything outside the folder.

Limits: each query runs in a worker process over the read-only store; a query still running
at the time limit has its process killed (a query inside the engine cannot be interrupted
from a thread) and a fresh worker takes its place, so the server keeps answering. Results
beyond `max_results` rows or triples are cut (header `X-KG-Truncated`); request bodies and
query strings beyond `max_request` bytes are refused with 413. Updates are refused with 403,
and so is SERVICE (federated queries would make this server fetch URLs for its callers).

A rebuild of the output while the server runs is picked up: each query first compares
graph.ttl's size, times and inode with those of the graph being served (one `stat`); when they differ,
the new graph's store is made (or found) in a background thread while the previous graph goes
on answering, then new queries go to it and the previous store is let go.
"""
from __future__ import annotations

import itertools
import multiprocessing
import queue
import re
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pyoxigraph as ox

from .cache import file_stat
from .query import PREFIXES, query_kind
from .results import (GRAPH_FORMATS, SOLUTION_FORMATS, solution_rows, variables_of, write_boolean,
                      write_solutions, write_triples)
from .stopping import sigterm_as_interrupt
from .store import graph_file, release, say_making, store_folder

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_RESULTS = 10_000
DEFAULT_MAX_REQUEST = 1 << 20
DEFAULT_WORKERS = 2

# media type -> format name, for each kind of result (first = default)
SOLUTION_TYPES = {**{t: f for f, t in SOLUTION_FORMATS.items()},
                  "application/json": "json", "application/xml": "xml", "text/xml": "xml"}
GRAPH_TYPES = {**{t: f for f, t in GRAPH_FORMATS.items()},
               "application/x-turtle": "ttl", "text/plain": "nt", "application/json": "jsonld",
               "application/xml": "rdfxml", "text/xml": "rdfxml"}
# `format=`/`output=` values some clients (SPARQLWrapper) send beside the Accept header
FORMAT_WORDS = {
    "solutions": {"json": "json", "xml": "xml", "csv": "csv", "tsv": "tsv"},
    "graph": {"json": "jsonld", "json-ld": "jsonld", "jsonld": "jsonld", "turtle": "ttl",
              "ttl": "ttl", "n3": "ttl", "nt": "nt", "ntriples": "nt", "n-triples": "nt",
              "xml": "rdfxml", "rdf+xml": "rdfxml", "rdfxml": "rdfxml"},
}
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".ttl": "text/turtle; charset=utf-8",
                ".json": "application/json", ".txt": "text/plain; charset=utf-8"}

UPDATE_WORDS = re.compile(r"(?i)^\s*(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b")


# ---------------------------------------------------------------- what a worker does

# One left-to-right scan over what may hide a keyword: escape pairs, strings, IRIs, comments.
# Whatever is left are keywords, names and punctuation.
LEXEMES = re.compile("|".join([
    r"\\.",                           # an escape pair, as in prefixed names (ex:a\\'b)
    r'"""(?:[^"\\]|\\.|"(?!""))*"""', r"'''(?:[^'\\]|\\.|'(?!''))*'''",   # long strings
    r'"(?:[^"\\\n]|\\.)*"', r"'(?:[^'\\\n]|\\.)*'",                   # strings
    r'<[^<>"{}|^`\\\s]*>',             # IRIs (no space or < inside: a less-than sign is no IRI)
    r"#[^\n]*",                       # comments
]), re.S)
UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def _strip(query: str) -> str:
    """The query as the parser sees it (\\u escapes undone first, as SPARQL says), less its
    strings, IRIs and comments."""
    text = UNICODE_ESCAPE.sub(lambda m: chr(min(int(m.group(1) or m.group(2), 16), 0x10FFFF)), query)
    return LEXEMES.sub(" ", text)


def uses_service(query: str) -> bool:
    return re.search(r"(?i)(?<![\w:?$])SERVICE\b", _strip(query)) is not None


def looks_like_update(query: str) -> bool:
    text = re.sub(r"(?i)\b(PREFIX\s+\S*:|BASE)\s*", " ", _strip(query))
    return UPDATE_WORDS.match(text) is not None


def negotiate(kind: str, accept: str, word: str | None) -> str | None:
    """The format name for a kind of result, from a format word or else the Accept header."""
    types, words = ((GRAPH_TYPES, FORMAT_WORDS["graph"]) if kind == "graph"
                    else (SOLUTION_TYPES, FORMAT_WORDS["solutions"]))
    if word and word.lower() in words:
        return words[word.lower()]
    default = next(iter(types.values()))
    ranges = []
    for i, part in enumerate(accept.split(",")):
        media, *params = [f.strip() for f in part.split(";")]
        q = 1.0
        for f in params:
            if f.startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        if media and q > 0:
            ranges.append((-q, i, media.lower()))
    if not ranges:
        return default
    for _, _, media in sorted(ranges):
        if media in types:
            return types[media]
        if media in ("*/*", "*"):
            return default
        if media.endswith("/*"):
            for t, f in types.items():
                if t.startswith(media[:-1]):
                    return f
    return None


def answer(store, job: dict, max_results: int) -> tuple[int, str, bytes, dict]:
    """Run one protocol request on the store: (status, content type, body, extra headers)."""
    query = job["query"]
    if uses_service(query):
        return _text(403, "SERVICE (federated queries) is disabled on this endpoint")
    try:
        options = {}
        if job.get("default_graph"):
            options["default_graph"] = [ox.NamedNode(i) for i in job["default_graph"]]
        if job.get("named_graphs"):
            options["named_graphs"] = [ox.NamedNode(i) for i in job["named_graphs"]]
        result = store.query(query, prefixes=PREFIXES, **options)
        kind = query_kind(result)
        fmt = negotiate(kind, job.get("accept", ""), job.get("format"))
        if fmt is None:
            offered = SOLUTION_TYPES if kind != "graph" else GRAPH_TYPES
            return _text(406, "cannot answer in any type of the Accept header; offered: " +
                         ", ".join(offered))
        headers: dict[str, str] = {}
        if kind == "boolean":
            return 200, _media(fmt), write_boolean(bool(result), fmt), headers
        if kind == "solutions":
            names = variables_of(result)
            rows, cut = solution_rows(result, names, max_results)
            body = write_solutions(names, rows, fmt)
        else:
            triples = list(itertools.islice(result, max_results + 1))
            cut = len(triples) > max_results
            body = write_triples(triples[:max_results], fmt, PREFIXES)
        if cut:
            headers["X-KG-Truncated"] = f"results cut at {max_results}"
        return 200, _media(fmt), body, headers
    except SyntaxError as e:
        if looks_like_update(query):
            return _text(403, "SPARQL Update is not allowed: this endpoint is read-only")
        return _text(400, f"syntax error: {e}")
    except (ValueError, RuntimeError, TypeError) as e:
        return _text(400, f"query error: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    except OSError as e:
        return _text(500, f"store error: {e}")


def _media(fmt: str) -> str:
    media = {**SOLUTION_FORMATS, **GRAPH_FORMATS}[fmt]
    return media if media.endswith("json") else media + "; charset=utf-8"


def _text(status: int, message: str) -> tuple[int, str, bytes, dict]:
    return status, "text/plain; charset=utf-8", (message + "\n").encode("utf-8"), {}


def _worker_main(conn, db_path: str, max_results: int) -> None:
    """A worker process: answer jobs from the pipe until told to stop (None) or killed."""
    store = ox.Store.read_only(db_path)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        conn.send(answer(store, job, max_results))


# ---------------------------------------------------------------- the pool of workers

class _Worker:
    def __init__(self, ctx, db_path: str, max_results: int):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, db_path, max_results),
                                daemon=True, name="kg-serve-worker")
        self.proc.start()
        child.close()

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                self.proc.kill()
        self.proc.join(timeout=2)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=2)
        self.conn.close()


class QueryPool:
    """Worker processes that each hold the read-only store; one query at a time each."""

    def __init__(self, db_path: str, workers: int, max_results: int):
        # spawn, not fork: forking a threaded server can copy locks held by other threads
        self._ctx = multiprocessing.get_context("spawn")
        self._args = (db_path, max_results)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(max(1, workers)):
            self._idle.put(self._start())

    def _start(self) -> _Worker:
        w = _Worker(self._ctx, *self._args)
        with self._lock:
            self._all.add(w)
        return w

    def _replace(self, w: _Worker) -> None:
        with self._lock:
            self._all.discard(w)
        w.stop(kill=True)
        if not self._closed:
            self._idle.put(self._start())

    def run(self, job: dict, timeout: float) -> tuple[int, str, bytes, dict]:
        deadline = time.monotonic() + timeout
        try:
            w = self._idle.get(timeout=timeout)
        except queue.Empty:
            return _text(503, f"server busy: no worker free within {timeout:g} s")
        try:
            w.conn.send(job)
            if w.conn.poll(max(0.0, deadline - time.monotonic())):
                reply = w.conn.recv()
                self._idle.put(w)
                return reply
        except (EOFError, OSError):
            self._replace(w)
            return _text(500, "the query worker died; try again")
        self._replace(w)  # still running: kill it, a fresh worker takes its place
        return _text(503, f"query timed out after {timeout:g} s (the time limit of this endpoint)")

    def retire(self, grace: float) -> None:
        """Start no more workers; stop them all after `grace` seconds, when a query that
        reached this pool just before it was replaced has had its time."""
        self._closed = True
        timer = threading.Timer(grace, self.close)
        timer.daemon = True
        timer.start()

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            w.stop()


# ---------------------------------------------------------------- HTTP

class SparqlServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, out: Path, address: tuple[str, int], *, timeout: float, max_results: int,
                 max_request: int, workers: int, quiet: bool):
        self.out = Path(graph_file(out)).parent.resolve()
        self.workers, self.max_results = workers, max_results
        self._graph = graph_file(self.out)
        self._stamp = file_stat(self._graph)   # taken first: a rebuild from now on is seen
        # holds the store for as long as we serve it
        self._folder = store_folder(self.out, on_making=None if quiet else say_making("kg serve"))
        self.pool = QueryPool(str(self._folder / "db"), workers, max_results)
        self._swap = threading.Lock()
        self._reloading = False
        self._retired: list[QueryPool] = []     # pools of earlier graphs, still finishing
        self.query_timeout = timeout
        self.max_request = max_request
        self.quiet = quiet
        try:
            super().__init__(address, Handler)
        except BaseException:
            self.pool.close()
            raise

    def server_close(self) -> None:
        super().server_close()
        for pool in [*self._retired, self.pool]:
            pool.close()

    def current_pool(self) -> QueryPool:
        """The pool to send a query to. A graph.ttl that changed since (a rebuild) starts
        loading it in the background; until it is ready the previous graph answers."""
        stamp = file_stat(self._graph)
        if stamp is not None and stamp != self._stamp:
            with self._swap:
                if stamp != self._stamp and not self._reloading:
                    self._reloading = True
                    threading.Thread(target=self._reload, args=(stamp,), daemon=True,
                                     name="kg-serve-reload").start()
        return self.pool

    def _reload(self, stamp) -> None:
        try:
            folder = store_folder(self.out)
            pool = QueryPool(str(folder / "db"), self.workers, self.max_results)
        except Exception as e:   # a graph.ttl that cannot be read: keep serving the last one
            print(f"kg serve: {self._graph}: the rebuilt graph could not be loaded "
                  f"({type(e).__name__}: {e}); still serving the previous one", file=sys.stderr)
            with self._swap:
                self._stamp, self._reloading = stamp, False    # not tried again until it changes
            return
        with self._swap:
            old_pool, old_folder = self.pool, self._folder
            self.pool, self._folder, self._stamp, self._reloading = pool, folder, stamp, False
        self._retired.append(old_pool)
        old_pool.retire(grace=self.query_timeout + 5)
        if old_folder != folder:
            # Let go of the previous store once its workers are gone, so that it can be pruned.
            timer = threading.Timer(self.query_timeout + 10, release, args=(old_folder,))
            timer.daemon = True
            timer.start()
        if not self.quiet:
            print(f"kg serve: now serving the rebuilt {self._graph}", file=sys.stderr)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class Handler(BaseHTTPRequestHandler):
    server: SparqlServer
    server_version = "kg-serve"
    timeout = 60            # seconds a client may take to send its request

    def log_message(self, format, *args):  # noqa: A002 (the stdlib's name)
        if not self.server.quiet:
            super().log_message(format, *args)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/sparql":
            if len(url.query) > self.server.max_request:
                return self._reply(*_text(413, "query too long"))
            return self._sparql(parse_qs(url.query, keep_blank_values=True))
        return self._static(url.path)

    def do_HEAD(self):
        url = urlsplit(self.path)
        if url.path == "/sparql":
            return self._reply(*_text(405, "use GET or POST"))
        return self._static(url.path, head=True)

    def do_POST(self):
        url = urlsplit(self.path)
        if url.path != "/sparql":
            return self._reply(*_text(405, "only /sparql takes POST"))
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._reply(*_text(411, "Content-Length required"))
        if length < 0:
            self.close_connection = True
            return self._reply(*_text(400, "Content-Length must not be negative"))
        if length > self.server.max_request:
            self.close_connection = True   # the body is not read
            return self._reply(*_text(413, f"request body over {self.server.max_request} bytes"))
        body = self.rfile.read(length)
        ctype = self.headers.get_content_type()
        params = parse_qs(url.query, keep_blank_values=True)
        try:
            text = body.decode(self.headers.get_content_charset() or "utf-8")
        except (UnicodeDecodeError, LookupError):
            return self._reply(*_text(400, "the request body is not in the charset it names"))
        if ctype == "application/x-www-form-urlencoded":
            for k, v in parse_qs(text, keep_blank_values=True).items():
                params.setdefault(k, []).extend(v)
        elif ctype == "application/sparql-query":
            params["query"] = [text]
        elif ctype == "application/sparql-update":
            return self._reply(*_text(403, "SPARQL Update is not allowed: this endpoint is read-only"))
        else:
            return self._reply(*_text(415, "send application/sparql-query or a form"))
        return self._sparql(params)

    def do_PUT(self):
        self._reply(*_text(405, "this endpoint is read-only"))

    do_DELETE = do_PATCH = do_PUT

    def _sparql(self, params: dict[str, list[str]]):
        if "update" in params:
            return self._reply(*_text(403, "SPARQL Update is not allowed: this endpoint is read-only"))
        queries = params.get("query", [])
        if len(queries) != 1 or not queries[0].strip():
            return self._reply(*_text(400, "send exactly one SPARQL query as query=…"))
        fmt = (params.get("format") or params.get("output") or [None])[0]
        job = {"query": queries[0], "accept": self.headers.get("Accept", ""), "format": fmt,
               "default_graph": params.get("default-graph-uri", []),
               "named_graphs": params.get("named-graph-uri", [])}
        self._reply(*self.server.current_pool().run(job, self.server.query_timeout))

    def _static(self, path: str, head: bool = False):
        name = unquote(path).lstrip("/") or "graph.html"
        out = self.server.out
        # Only files directly in the output folder: no separators, no dot-files, no links out.
        if "/" in name or "\\" in name or "\0" in name or name.startswith("."):
            return self._reply(*_text(404, "not found"))
        target = (out / name).resolve()
        if target.parent != out or not target.is_file():
            return self._reply(*_text(404, "not found"))
        ctype = STATIC_TYPES.get(target.suffix, "application/octet-stream")
        self._reply(200, ctype, target.read_bytes(), {}, head=head)

    def _reply(self, status: int, ctype: str, body: bytes, headers: dict, head: bool = False):
        self.send_response(status, HTTPStatus(status).phrase)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept")
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)


def make_server(out: Path | str, host: str = "127.0.0.1", port: int = 8000, *,
                timeout: float = DEFAULT_TIMEOUT, max_results: int = DEFAULT_MAX_RESULTS,
                max_request: int = DEFAULT_MAX_REQUEST, workers: int = DEFAULT_WORKERS,
                quiet: bool = False) -> SparqlServer:
    """A server ready to `serve_forever()` (port 0 picks a free port; see `.url`)."""
    return SparqlServer(Path(out), (host, port), timeout=timeout, max_results=max_results,
                        max_request=max_request, workers=workers, quiet=quiet)


def serve(out: Path | str, host: str = "127.0.0.1", port: int = 8000, **options) -> None:
    server = make_server(out, host, port, **options)
    print(f"kg serve: SPARQL endpoint {server.url}/sparql, page {server.url}/ "
          f"(time limit {server.query_timeout:g} s; Ctrl-C stops)", file=sys.stderr)
    try:
        # SIGTERM (service managers, `kill`) stops the server as Ctrl-C does: workers are closed.
        with sigterm_as_interrupt():
            server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
