"""Findings cached per document, so that a rebuild only extracts the files that changed.

A cached entry is the pickled `Findings` of one file. Its key is the file's path and the sha256
of its bytes; the folder it sits in (the *generation*) is named by a hash of everything else
the findings depend on: the code of the per-document steps (ingest, segment, passes, ...), the
versions of the libraries they use, every knowledge file under ontology/ (lexicons, patterns,
ingest rules) and the build options that change what a file gives. Change any of these and
every entry is stale at once, because every document's passes read all of them: a lexicon
entry can add a match to any text. Resolve and the writers always run on the whole corpus.

Beside each entry, `<key>.<version>.ttl` keeps that document's part of graph.ttl (its evidence,
statistics and sentences, most of the graph; see kg.rdf.document_parts); the version names the
graph code and the resolve options it was made with.

Layout: `<cache>/<generation>/<key[:2]>/<key>.pickle`, written to a temporary name and renamed,
so two builds sharing a cache never see half an entry. `prune()` removes the folders of other
generations and parts of other versions. Entries are pickles: a cache folder is as trusted as
the code that wrote it (the default, `<out>/.cache`, lives next to the outputs it serves).
"""
from __future__ import annotations

import copy
import hashlib
import os
import pickle
import shutil
import sys
import tempfile
from array import array
from importlib import metadata
from pathlib import Path

from . import __version__
from .config import knowledge_fingerprint
from .model import Findings

PACKAGE_DIR = Path(__file__).resolve().parent
# The code that turns one file into Findings: a change in any of it makes new findings.
PIPELINE_FILES = ("ingest.py", "segment.py", "textmap.py", "model.py", "config.py", "lexicon.py",
                  "passes/*.py")
# The code that turns one document's findings into its part of graph.ttl (kg.rdf.document_parts).
GRAPH_FILES = ("rdf.py", "resolve.py", "ontology.py")
LIBRARIES = ("jieba", "opencc", "pyahocorasick", "charset-normalizer", "PyYAML")
FORMAT = "kg-findings-2"       # bump when what an entry holds changes


def dumps(findings: Findings) -> bytes:
    """Findings as bytes, for the cache and for sending between processes. The character offsets
    (one int per character) go as a packed array, which loads faster than a list of ints."""
    doc = copy.copy(findings.document)
    try:
        doc.offsets = array("I", doc.offsets)
    except OverflowError:          # a file above 4 GB: not one that ingest accepts today
        doc.offsets = array("q", doc.offsets)
    packed = copy.copy(findings)
    packed.document = doc
    return pickle.dumps(packed, protocol=pickle.HIGHEST_PROTOCOL)


def loads(blob: bytes) -> Findings:
    findings = pickle.loads(blob)
    if not isinstance(findings, Findings):
        raise TypeError("not a Findings entry")
    findings.document.offsets = findings.document.offsets.tolist()
    return findings


def pipeline_version() -> str:
    """A hash of the per-document code and the libraries it runs on."""
    h = hashlib.sha256(f"{FORMAT}\0{__version__}\0{sys.version_info[:2]}".encode())
    for name in LIBRARIES:
        try:
            h.update(f"{name}={metadata.version(name)}\0".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{name}=?\0".encode())
    return _code_hash(h, PIPELINE_FILES)


def _code_hash(h, patterns) -> str:
    for pattern in patterns:
        for path in sorted(PACKAGE_DIR.glob(pattern)):
            h.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


class FindingsCache:
    def __init__(self, folder: str | Path, options: str = ""):
        """`options`: build options that change the findings of a file (e.g. the size limit)."""
        self.root = Path(folder)
        parts = (pipeline_version(), knowledge_fingerprint(), options)
        self.generation = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
        self.folder = self.root / self.generation
        self.hits = self.misses = 0
        self._part_versions: set[str] = set()    # of the DocumentParts used in this build
        self._digests: dict[str, str] = {}     # key -> sha256 of the bytes it was made from
        self.keys: dict[str, str] = {}         # doc id -> key, of the findings handed out

    def key(self, path: str | Path) -> str | None:
        """The entry name of a file: its path and the hash of its bytes (None if unreadable)."""
        h = hashlib.sha256()
        try:
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
        except OSError:
            return None
        digest = h.hexdigest()
        key = hashlib.sha256(f"{path}\0{digest}".encode("utf-8", "surrogatepass")).hexdigest()
        self._digests[key] = digest
        return key

    def _file(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pickle"

    def has(self, key: str | None) -> bool:
        return key is not None and self._file(key).is_file()

    def get(self, key: str | None) -> Findings | None:
        """The cached findings, or None (missing, or unreadable: then it is made again)."""
        if key is None:
            return None
        try:
            found = loads(self._file(key).read_bytes())
        except Exception:          # missing or damaged: a miss, never a failed build
            self.misses += 1
            return None
        self.hits += 1
        self.keys[found.document.doc_id] = key
        return found

    def put(self, key: str | None, findings: Findings, blob: bytes | None = None) -> None:
        """Store findings (`blob`: what `dumps` made of them, if at hand), unless the file
        changed between `key` and its reading: they are not those of the bytes the key names."""
        if key is None or findings.document.content_hash != self._digests.get(key):
            return
        self.keys[findings.document.doc_id] = key
        blob = blob or dumps(findings)
        target = self._file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def parts(self, options: str = "") -> DocumentParts:
        """The graph.ttl parts of the documents, for these resolve options (min_confidence)."""
        return DocumentParts(self, options)

    def prune(self) -> None:
        """Remove the entries of other generations (other code, knowledge or options), and
        graph parts made by other graph code or options."""
        if not self.root.is_dir():
            return
        for path in self.folder.glob("*/*.ttl"):
            if path.name.split(".")[1] not in self._part_versions:
                path.unlink(missing_ok=True)
        for folder in self.root.iterdir():
            name = folder.name
            if folder.is_dir() and name != self.generation and len(name) == 16 and \
                    all(c in "0123456789abcdef" for c in name):
                shutil.rmtree(folder, ignore_errors=True)


class DocumentParts:
    """Each document's part of graph.ttl (its evidence, statistics and sentences, as Turtle),
    kept beside its findings. They depend on the findings, the knowledge files (both in the
    entry's key), the graph code (GRAPH_FILES) and the resolve options: all in the version."""

    def __init__(self, cache: FindingsCache, options: str = ""):
        self.cache = cache
        self.version = _code_hash(hashlib.sha256(f"{FORMAT}\0{options}".encode()), GRAPH_FILES)[:16]
        cache._part_versions.add(self.version)

    def _file(self, doc_id: str) -> Path | None:
        key = self.cache.keys.get(doc_id)
        return None if key is None else self.cache._file(key).with_suffix(f".{self.version}.ttl")

    def get(self, doc_id: str) -> tuple[int, bytes] | None:
        """(number of triples, Turtle) of the document's part, if kept."""
        path = self._file(doc_id)
        try:
            head, _, body = path.read_bytes().partition(b"\n")
            count, size = map(int, head.split())
        except (AttributeError, OSError, ValueError):
            return None
        return (count, body) if len(body) == size else None     # else damaged: made again

    def put(self, doc_id: str, count: int, body: bytes) -> None:
        path = self._file(doc_id)
        if path is None:
            return
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(b"%d %d\n" % (count, len(body)) + body)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
