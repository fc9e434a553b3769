"""What the corpus needs of one document: its digest.

After the passes, a document's findings hold its whole text, one offset per character and every
sentence. The corpus-wide steps need far less: the entities and relations it names (with IRIs,
kg.resolve.resolve_document), its metadata, and its own part of graph.ttl (its evidence,
statistics and sentences, most of the graph: kg.rdf.document_lines_of), written as Turtle here.
Digests are made where the findings are (in the worker process with --jobs, on a Dask worker),
so that this work runs in parallel, the parent holds a few kB per document instead of the
document itself, and the cache (kg.cache) keeps digests, which load quickly.
"""
from __future__ import annotations

import copy
import hashlib
from collections import Counter
from dataclasses import dataclass, field

from .model import Document, Findings
from .rdf import document_part
from .resolve import resolve_document

# Plain tuples, not objects: a cached digest loads about eight times faster (bench/README.md).
EntityRow = tuple      # (iri, class, label, alt labels, mentions, confidence, passes)
EvidenceRow = tuple    # (doc id, sentence index, pass, confidence)


@dataclass
class Digest:
    doc: Document                # metadata only: raw, text, original and offsets are emptied
    raw_hash: str                # sha256 of the decoded text: the same article under two names
    entities: list[EntityRow]    # what this document says of each entity it names
    relations: list[tuple[tuple[str, str, str], tuple[EvidenceRow, ...]]]   # (predicate, s, o)
    statistics: list[tuple[str, str | None]]     # (statistic node IRI, reporter IRI)
    counts: dict = field(default_factory=dict)   # what the text held, for report.json (its size, findings)
    part: tuple[int, bytes] = (0, b"")           # (triples, Turtle) of its part of graph.ttl


def digest(f: Findings, min_confidence: float = 0.0) -> Digest:
    d = f.document
    local = resolve_document(f, min_confidence)
    count, body = document_part(f, local)
    light = copy.copy(d)
    light.raw = light.text = light.original = ""
    light.offsets = []
    light.meta = dict(d.meta)
    light.warnings = list(d.warnings)
    counts = {
        "characters": len(d.text),
        "sentences": len(f.sentences),
        "mentions": dict(Counter(m.cls for m in f.mentions)),
        "relations": dict(Counter(r.predicate for r in f.relations)),
        "statistics": len(f.statistics),
    }
    return Digest(
        doc=light,
        raw_hash=hashlib.sha256(d.raw.encode("utf-8", "surrogatepass")).hexdigest(),
        entities=[(e.iri, e.cls, e.label, tuple(e.alt_labels), e.mentions, e.confidence, tuple(e.passes))
                  for e in local.entities.values()],      # (merged into sets, sorted when written)
        relations=[(key, tuple((v.doc_id, v.sentence, v.pass_name, v.confidence) for v in rel.evidence))
                   for key, rel in local.relations.items()],
        statistics=[(node, reporter) for _, node, reporter in local.statistics],
        counts=counts, part=(count, body))
