"""Shared fixtures: the seeds are built once per test session."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from kg.model import Document

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_GOLD = ROOT / "tests" / "gold" / "seeds"


@pytest.fixture(scope="session")
def seeds_output(tmp_path_factory) -> Path:
    from kg.build import build
    out = tmp_path_factory.mktemp("seeds-output")
    build([str(SEEDS)], out, quiet=True)
    return out


@pytest.fixture(scope="session")
def seeds_graph(seeds_output):
    from rdflib import Graph
    return Graph().parse(seeds_output / "graph.ttl", format="turtle")


def make_doc(text: str, meta: dict | None = None, doc_id: str = "t") -> Document:
    """A document as ingest would make it from plain Simplified text."""
    return Document(path=f"{doc_id}.txt", doc_id=doc_id, raw=text, text=text,
                    offsets=list(range(len(text))), original=text, meta=meta or {},
                    content_hash=hashlib.sha256(text.encode()).hexdigest())


@pytest.fixture
def counted(monkeypatch) -> list:
    """Every file a build reads and extracts (not taken from the cache, nor carried over by
    a live build)."""
    seen = []
    import kg.build
    real = kg.build._extract_file

    def spy(path, **kwargs):
        seen.append(Path(path).name)
        return real(path, **kwargs)
    monkeypatch.setattr(kg.build, "_extract_file", spy)
    return seen
