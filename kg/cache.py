"""Digests cached per document, so that a rebuild only extracts the files that changed.

A cached entry is the pickled `kg.digest.Digest` of one file: what the corpus needs of it,
including its own part of graph.ttl as Turtle. Its key is the file's path and the sha256 of its
bytes; the folder it sits in (the *generation*) is named by a hash of everything else the digest
depends on: the code of the per-document steps (ingest, segment, passes, resolve, rdf, ...), the
versions of the libraries they use, every knowledge file under ontology/ (lexicons, patterns,
ingest rules) and the build options that change what a file gives (size limit, minimum
confidence). Change any of these and every entry is stale at once, because every document's
passes read all of them: a lexicon entry can add a match to any text. Merging the digests and
writing the corpus part of the graph always run on the whole corpus.

Layout: `<cache>/<generation>/<key[:2]>/<key>.pickle`, written to a temporary name and renamed,
so two builds sharing a cache never see half an entry. `prune()` removes the folders of other
generations. Entries are pickles: a cache folder is as trusted as the code that wrote it (the
default, `<out>/.cache`, lives next to the outputs it serves).

`<cache>/files.index` keeps, for each file of the last build, its size, times and inode with
the sha256 of its bytes, as git's index does: a file whose stat is unchanged is not read again
to be hashed (for a big archive, most of the time of a rebuild that finds little new). A file
changed less than two seconds before it was hashed is not recorded (a change within the same
clock tick would not show in its times), nor one whose times are in the future.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .config import knowledge_fingerprint

if TYPE_CHECKING:                  # (imported when loading: kg.serve uses file_stat alone)
    from .digest import Digest

PACKAGE_DIR = Path(__file__).resolve().parent
# The code that turns one file into its digest: a change in any of it makes new digests.
PIPELINE_FILES = ("ingest.py", "segment.py", "textmap.py", "model.py", "config.py", "lexicon.py",
                  "passes/*.py", "resolve.py", "rdf.py", "ontology.py", "digest.py")
LIBRARIES = ("jieba", "rjieba", "opencc", "pyahocorasick", "charset-normalizer", "PyYAML", "pyoxigraph")
FORMAT = "kg-digest-1"         # bump when what an entry holds changes
INDEX = "files.index"          # (see the module's docstring)
RACY_NS = 2 * 10**9            # a file changed this recently is hashed again next time


def dumps(digest: Digest) -> bytes:
    """A digest as bytes, for the cache and for sending between processes."""
    return pickle.dumps(digest, protocol=pickle.HIGHEST_PROTOCOL)


def loads(blob: bytes) -> Digest:
    from .digest import Digest
    digest = pickle.loads(blob)
    if not isinstance(digest, Digest):
        raise TypeError("not a digest entry")
    return digest


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


def file_stat(path) -> tuple | None:
    """What says a file is unchanged without reading it (as make and git do): its size, its
    modification and change times in nanoseconds, and its inode (None: no such file)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


def file_sha256(path) -> str | None:
    """The sha256 of a file's bytes, in hex (None: it cannot be read)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def entry_path(folder: Path, key: str) -> Path:
    return folder / key[:2] / f"{key}.pickle"


def write_entry(folder: Path, key: str, blob: bytes, target: Path | None = None) -> None:
    """Store an entry (at `target`, if given) under a temporary name, then rename it: a reader
    sees all of it or none. (Also called in worker processes, which store what they made.)"""
    target = target or entry_path(folder, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class DigestCache:
    def __init__(self, folder: str | Path, options: str = ""):
        """`options`: build options that change the digest of a file (size limit, confidence)."""
        self.root = Path(folder)
        parts = (pipeline_version(), knowledge_fingerprint(), options)
        self.generation = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
        self.folder = self.root / self.generation
        self.hits = self.misses = 0
        self._hashes: dict[str, str] = {}     # key -> sha256 of the bytes it was made from
        self._index: dict[str, tuple] | None = None    # files.index as read (path -> stat, hash)
        self._seen: dict[str, tuple] = {}              # what this build can record in it

    def key(self, path: str | Path) -> str | None:
        """The entry name of a file: its path and the hash of its bytes (None if unreadable).
        The hash comes from files.index when the file's stat is the one recorded there."""
        name = str(path)
        stat = file_stat(path)       # before reading: a change while read shows next time
        if stat is None:
            return None
        if self._index is None:
            self._index = self._read_index()
        known = self._index.get(name)
        if known is not None and known[0] == stat:
            content = known[1]
        else:
            content = file_sha256(path)
            if content is None:
                return None
        if max(stat[1], stat[2]) < time.time_ns() - RACY_NS:    # (modified, changed)
            self._seen[name] = (stat, content)
        key = hashlib.sha256(f"{path}\0{content}".encode("utf-8", "surrogatepass")).hexdigest()
        self._hashes[key] = content
        return key

    def _read_index(self) -> dict:
        try:
            index = pickle.loads((self.root / INDEX).read_bytes())
            return index if isinstance(index, dict) else {}
        except Exception:          # missing or damaged: every file is hashed again
            return {}

    def save_index(self) -> None:
        """Record the stat and hash of the files this build hashed or found unchanged (the
        index then forgets the files no longer among the inputs)."""
        if self._index is None:
            return
        try:
            write_entry(self.root, INDEX, pickle.dumps(self._seen, protocol=pickle.HIGHEST_PROTOCOL),
                        target=self.root / INDEX)
        except OSError:            # a cache that cannot be written is a slower build, not a failed one
            pass

    def _file(self, key: str) -> Path:
        return entry_path(self.folder, key)

    def expected_hash(self, key: str | None) -> str | None:
        """The sha256 of the bytes `key` was made from (a digest of other bytes is not stored)."""
        return self._hashes.get(key) if key is not None else None

    def has(self, key: str | None) -> bool:
        return key is not None and self._file(key).is_file()

    def get(self, key: str | None) -> Digest | None:
        """The cached digest, or None (missing, or unreadable: then it is made again)."""
        if key is None:
            return None
        try:
            found = loads(self._file(key).read_bytes())
        except Exception:          # missing or damaged: a miss, never a failed build
            self.misses += 1
            return None
        self.hits += 1
        return found

    def put(self, key: str | None, digest: Digest, blob: bytes | None = None) -> None:
        """Store a digest (`blob`: what `dumps` made of it, if at hand), unless the file
        changed between `key` and its reading: it is not that of the bytes the key names."""
        if key is None or digest.doc.content_hash != self._hashes.get(key):
            return
        write_entry(self.folder, key, blob or dumps(digest))

    def prune(self) -> None:
        """Remove the entries of other generations (other code, knowledge or options)."""
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            name = folder.name
            if folder.is_dir() and name != self.generation and len(name) == 16 and \
                    all(c in "0123456789abcdef" for c in name):
                shutil.rmtree(folder, ignore_errors=True)
