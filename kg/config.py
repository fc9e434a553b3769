"""Loading the knowledge files under ontology/ (patterns, display, lexicons) once per process."""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import yaml

ONTOLOGY_DIR = Path(__file__).resolve().parent.parent / "ontology"


@functools.lru_cache(maxsize=None)
def patterns() -> dict:
    """ontology/patterns.yaml: trigger words and patterns of the pattern and relation passes."""
    with open(ONTOLOGY_DIR / "patterns.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


# Files under ontology/ that a build reads; lexicons/tools/ holds generator inputs it does not.
KNOWLEDGE_SUFFIXES = {".yaml", ".tsv", ".ttl", ".txt"}
NOT_KNOWLEDGE = ("lexicons/tools/",)


def knowledge_fingerprint() -> str:
    """A hash of every knowledge file: findings cached under another fingerprint are stale."""
    h = hashlib.sha256()
    for path in sorted(ONTOLOGY_DIR.rglob("*")):
        relative = path.relative_to(ONTOLOGY_DIR).as_posix()
        if path.is_file() and path.suffix in KNOWLEDGE_SUFFIXES \
                and not relative.startswith(NOT_KNOWLEDGE):
            h.update(path.relative_to(ONTOLOGY_DIR).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()
