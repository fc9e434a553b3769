"""Loading the knowledge files under ontology/ (patterns, display, lexicons) once per process."""
from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

import yaml

ONTOLOGY_DIR = Path(__file__).resolve().parent.parent / "ontology"


_LIBYAML = getattr(yaml, "CSafeLoader", None)      # PyYAML built with libyaml


def load_knowledge_yaml(path: Path):
    """A YAML file of ours under ontology/, as yaml.safe_load reads it, by libyaml where PyYAML
    has it: ten times faster (50 ms less for each process), and test_ontology checks that it
    reads every such file as yaml.safe_load does. (Documents' front matter: kg.ingest.)"""
    text = Path(path).read_text(encoding="utf-8")
    return yaml.load(text, Loader=_LIBYAML) if _LIBYAML else yaml.safe_load(text)


@functools.lru_cache(maxsize=None)
def patterns() -> dict:
    """ontology/patterns.yaml: trigger words and patterns of the pattern and relation passes."""
    return load_knowledge_yaml(ONTOLOGY_DIR / "patterns.yaml")


@functools.lru_cache(maxsize=None)
def name_marks() -> re.Pattern:
    """patterns.yaml's words.name_marks and white space, as one class: what clean_name takes out
    of a name, and what the page's search (and `kg render --focus`) ignores."""
    return re.compile(f"[{re.escape(patterns()['words']['name_marks'])}\\s]")


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
