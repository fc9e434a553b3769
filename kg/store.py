"""A built output as an Oxigraph store, persisted beside it so that queries never re-parse Turtle.

Layout: `OUT/store/<key>/db/` is a RocksDB store made from `OUT/graph.ttl`; `<key>` is the
sha256 of graph.ttl (and of the store layout version), so a rebuilt graph gets a new store
and an old one is never used for a new graph. `OUT/store/<key>/source.json` records the size
and mtime of the graph.ttl it was made from: while they match, opening costs one `stat`.

Races: a store is built in a private temporary folder and renamed into place; when two
processes build the same store at once, the first rename wins and the loser uses the
winner's store. Stores are only ever opened read-only after that. Every opener holds a shared
`flock` on its store's `lock` file for as long as the process lives; stale stores (of older
graphs) are removed only when nobody holds that lock, so a running `kg serve` keeps its store.

Named graphs (for `kg export --format nq|trig|jsonld` and `GRAPH` queries): the default graph
is graph.ttl exactly, and each source document also has a named graph, named by the
document's IRI, holding what that document supports: its own description, its sentences, the
evidence derived from them with the relation triples they support, its statistics with who
reported them, and the type and names of each entity mentioned in it (with the kgo:mentionedIn
link to that document only). Corpus-wide facts (documentCount, entity confidence, the ontology)
stay in the default graph only. Named graphs are views: the default graph alone is the whole
graph, so queries without GRAPH see exactly graph.ttl, and the union of all graphs equals it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from itertools import chain, islice
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pyoxigraph as ox

try:  # advisory locks guard pruning; without fcntl (Windows) stale stores are simply kept
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

STORE_DIR = "store"
LAYOUT = "kg-store-2"          # bump when what goes into the store changes
_HELD: dict[str, int] = {}     # store folder -> fd of its lock file, held until process exit
# The bulk loader holds what one call loads: one call on all of a 1.5 M-triple graph takes
# 1.25 GB. Calls of these sizes hold 100-300 MB, for 20-50 % more time (bench/README.md).
LOAD_CHUNK = 8 << 20        # bytes of Turtle or TriG per call
LOAD_QUADS = 200_000        # quads per call

# What each document's named graph holds (see the module docstring): each row is one quad,
# ?s ?p ?o in graph ?g. Run once, at creation. The rows go in through the bulk loader, not an
# INSERT: an update is one in-memory transaction (on 1.5 M triples: 2.5x the memory, 1.6x the time).
# Entity facts are matched one predicate at a time: `?e kgo:mentionedIn ?g ; ?p ?o` would pair
# every mention of an entity with every other (74 M rows for 124 k mentions on a 20 MB corpus).
DOCUMENT_GRAPHS = [f"""
PREFIX kgo: <https://w3id.org/zh-policy-kg/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?g ?s ?p ?o WHERE {{ {where} }}""" for where in (
    "?s a kgo:Document ; ?p ?o . BIND(?s AS ?g)",
    "?s a kgo:Sentence ; kgo:inDocument ?g ; ?p ?o",
    # evidence, and the relation triple it supports
    "?s a kgo:Evidence ; prov:wasDerivedFrom/kgo:inDocument ?g ; "
    "rdf:subject [] ; rdf:predicate [] ; rdf:object [] ; ?p ?o",
    "?ev a kgo:Evidence ; prov:wasDerivedFrom/kgo:inDocument ?g ; "
    "rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o",
    # statistics, and who reported them
    "?s a kgo:Statistic ; prov:wasDerivedFrom/kgo:inDocument ?g ; ?p ?o",
    "?o a kgo:Statistic ; prov:wasDerivedFrom/kgo:inDocument ?g . ?s ?p ?o . "
    "VALUES ?p { kgo:reports }",
    # each entity mentioned: its class and names, and its links to this document
    "?s kgo:mentionedIn ?g ; rdf:type ?o . BIND(rdf:type AS ?p)",
    "?s kgo:mentionedIn ?g ; skos:prefLabel ?o . BIND(skos:prefLabel AS ?p)",
    "?s kgo:mentionedIn ?g ; skos:altLabel ?o . BIND(skos:altLabel AS ?p)",
    "?s kgo:mentionedIn ?g ; rdfs:label ?o . BIND(rdfs:label AS ?p)",
    "?s kgo:mentionedIn ?g ; ?p ?g . BIND(?g AS ?o)",
)]


def add_document_graphs(store: ox.Store) -> None:
    for query in DOCUMENT_GRAPHS:
        _extend(store, (ox.Quad(s, p, o, g) for g, s, p, o in store.query(query)))


def load_turtle(store: ox.Store, path: Path) -> None:
    """A Turtle file into the default graph, in batches (see LOAD_QUADS)."""
    _extend(store, ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))


def _extend(store: ox.Store, quads: Iterable) -> None:
    quads = iter(quads)
    while batch := list(islice(quads, LOAD_QUADS)):
        store.bulk_extend(batch)


def load_build(store: ox.Store, resolved) -> None:
    """Fill an empty store from a build's own data (kg.resolve.Resolved with its part spool
    open): the default graph from the same bytes graph.ttl was written from (kg.rdf.write_turtle),
    then each document's named graph, made directly (document_graphs) instead of found by the
    DOCUMENT_GRAPHS queries: about 2.5 times faster (bench/README.md). test_store checks
    that both ways give the same store."""
    from .rdf import ONTOLOGY_DIR, _prefix_lines, corpus_part
    store.bulk_load(path=str(ONTOLOGY_DIR / "kgo.ttl"), format=ox.RdfFormat.TURTLE)
    header = _prefix_lines()
    parts = chain([corpus_part(resolved)[1]], map(resolved.part_bytes, resolved.documents))
    for chunk in _chunks(header, parts):
        store.bulk_load(input=chunk, format=ox.RdfFormat.TURTLE)
    for chunk in _chunks(header, document_graphs(resolved)):
        store.bulk_load(input=chunk, format=ox.RdfFormat.TRIG)


def _chunks(header: bytes, pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The pieces (whole Turtle blocks or TriG graphs) joined into chunks of about LOAD_CHUNK bytes."""
    batch, size = [header], 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= LOAD_CHUNK:
            yield b"".join(batch)
            batch, size = [header], 0
    if size:
        yield b"".join(batch)


def document_graphs(resolved) -> Iterator[bytes]:
    """Each document's named graph as TriG: the quads DOCUMENT_GRAPHS would find for it."""
    from .rdf import doc_iri, document_block, lit, ttl_block, ttl_iri
    facts: dict[str, list[str]] = {}     # doc id -> Turtle of the entities it mentions
    for e in resolved.entities.values():
        label = lit(e.label, "zh")
        pairs = [("a", f"kgo:{e.cls}"), ("skos:prefLabel", label), ("rdfs:label", label)]
        pairs += [("skos:altLabel", lit(alt, "zh")) for alt in sorted(e.alt_labels)]
        node = ttl_iri(e.iri)
        for doc_id in e.documents:
            facts.setdefault(doc_id, []).append(
                ttl_block(node, pairs + [("kgo:mentionedIn", ttl_iri(doc_iri(doc_id)))]))
    for d in resolved.documents:
        doc_id = d.doc.doc_id
        lines = [f"\n{ttl_iri(doc_iri(doc_id))} {{\n", document_block(d.doc)[1]]
        lines += [f"{ttl_iri(s)} kgo:{pred} {ttl_iri(o)} .\n" for (pred, s, o), _ in d.relations]
        lines += [f"{ttl_iri(reporter)} kgo:reports {ttl_iri(node)} .\n"
                  for node, reporter in d.statistics if reporter]
        lines += facts.pop(doc_id, ())
        yield "".join(lines).encode("utf-8", "replace") + resolved.part_bytes(d) + b"}\n"


def graph_file(out: Path | str) -> Path:
    """graph.ttl of a build output folder (a graph.ttl path is accepted as well)."""
    out = Path(out)
    path = out / "graph.ttl" if out.is_dir() else out
    if not path.is_file():
        raise FileNotFoundError(f"no graph at {path} (run kg build first)")
    return path


def open_store(out: Path | str, on_making: Callable[[Path], None] | None = None) -> ox.Store:
    """The read-only Oxigraph store of a built output, made on first use (`on_making(graph.ttl)`
    is called before, so that a command can say why this first call takes a while)."""
    try:
        folder = store_folder(out, on_making=on_making)
    except PermissionError:
        # An output folder we may not write to: load the graph into memory for this process.
        store = ox.Store()
        store.load(path=str(graph_file(out)), format=ox.RdfFormat.TURTLE)
        add_document_graphs(store)
        return store
    return ox.Store.read_only(str(folder / "db"))


def say_making(command: str) -> Callable[[Path], None]:
    """An `on_making` for a command: one line on stderr, so that a first query that takes a
    minute does not look hung."""
    def say(ttl: Path) -> None:
        print(f"{command}: making the query store of {ttl}, once for this graph (about a minute "
              f"per million triples; `kg build --store` makes it at build time)",
              file=sys.stderr, flush=True)
    return say


def store_folder(out: Path | str, resolved=None,
                 on_making: Callable[[Path], None] | None = None) -> Path:
    """The folder of the store that matches the current graph.ttl, built if missing.

    `resolved`: the build that just wrote graph.ttl (kg.build, with its part spool still open),
    to fill the store from it directly (load_build).
    The caller's process holds a shared lock on it from now on (see the module docstring).
    """
    ttl = graph_file(out)
    root = ttl.parent / STORE_DIR
    st = ttl.stat()
    for folder in _versions(root):  # fast path: same size and mtime as when it was made
        if _read_source(folder) == _stamp(st) and _hold(folder):
            return folder
    key = _key(ttl)
    folder = root / key
    if not _hold(folder):
        if on_making is not None:
            on_making(ttl)
        _create(ttl, folder, resolved)
        if not _hold(folder):
            raise OSError(f"store {folder} vanished while opening it")
    _write_source(folder, st)     # later opens of this graph.ttl take the fast path
    _prune(root, keep=folder)
    return folder


def _key(ttl: Path) -> str:
    h = hashlib.sha256(f"{LAYOUT}\0{ox.__version__}\0".encode())
    with ttl.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:24]


def _versions(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]


def _read_source(folder: Path) -> dict:
    try:
        return json.loads((folder / "source.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _stamp(st: os.stat_result) -> dict:
    return {"layout": LAYOUT, "oxigraph": ox.__version__, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _write_source(folder: Path, st: os.stat_result) -> None:
    data = _stamp(st)
    if _read_source(folder) == data:
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=".source.", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / "source.json")   # atomic: readers see the old or the new stamp
    except OSError:
        pass   # only the fast path is lost (e.g. a folder we may not write to)


def _create(ttl: Path, folder: Path, resolved=None) -> None:
    """Load graph.ttl into a new store in a temporary folder, then rename it into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
    try:
        store = ox.Store(str(tmp / "db"))
        if resolved is None:
            load_turtle(store, ttl)
            add_document_graphs(store)
        else:
            load_build(store, resolved)
        # Compaction: each bulk load left files of its own, which every index scan merges;
        # fewer files make queries 5-30 % faster (bench/README.md), for about 4 s on 1.5 M triples.
        store.optimize()
        store.flush()
        del store                 # closes RocksDB before the folder moves
        (tmp / "lock").touch()
        os.chmod(tmp, 0o755)      # mkdtemp makes private folders; outputs are for sharing
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / "db").is_dir():   # not a lost race: a real failure
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _hold(folder: Path) -> bool:
    """Take a shared lock on a store; False if it does not exist (or is being removed)."""
    key = str(folder)
    if key in _HELD:
        return True
    try:
        fd = os.open(folder / "lock", os.O_RDONLY)
    except FileNotFoundError:
        return False
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_SH)
    # A pruner may have removed the folder between our open and our lock.
    if not (folder / "db").is_dir():
        os.close(fd)
        return False
    _HELD[key] = fd
    return True


def release(folder: Path) -> None:
    """Let go of a store this process holds (kg serve, once it serves a rebuilt graph): it
    may then be pruned by the next process that makes a store beside it."""
    fd = _HELD.pop(str(folder), None)
    if fd is not None:
        os.close(fd)


def _prune(root: Path, keep: Path) -> None:
    """Remove stores of older graphs that no process has open."""
    if fcntl is None:
        return
    for folder in _versions(root):
        if folder == keep or str(folder) in _HELD:
            continue
        try:
            fd = os.open(folder / "lock", os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:           # someone (a kg serve?) still reads it
            os.close(fd)
            continue
        trash = root / f".removing-{folder.name}-{os.getpid()}"
        try:
            os.rename(folder, trash)   # atomic: openers either hold it or find nothing
        except OSError:
            os.close(fd)
            continue
        os.close(fd)
        shutil.rmtree(trash, ignore_errors=True)
