"""One entity, one IRI: merge the mentions of all documents into entities.

Mentions are keyed by class and canonical name. Passes already give canonical names (the
lexicon's label, a unit's short form, a name without quote marks, Simplified script); here the
lexicon's aliases map any remaining surface form to its label. IRIs are hashes of class and
label, so they stay the same across rebuilds and input orders.

An IRI depends on the mention alone, never on other documents, so resolving runs in two halves:
`resolve_document` on one document's findings (in the worker that found them, see kg.digest),
and `merge`, which adds up what each document said about each entity. `resolve` does both.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Callable

from .lexicon import lexicon_entries
from .model import Findings, Mention
from .passes.base import clean_name

KGR = "https://w3id.org/zh-policy-kg/resource/"


def short_hash(*parts: str, n: int = 12) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:n]


@functools.lru_cache(maxsize=1)
def alias_map() -> dict[tuple[str, str], str]:
    out = {}
    for e in lexicon_entries():
        for form in e.aliases:
            out.setdefault((e.cls, form), e.label)
    return out


def canonical(cls: str, name: str) -> str:
    name = clean_name(name)
    return alias_map().get((cls, name), name)


def entity_iri(cls: str, label: str) -> str:
    return f"{KGR}{cls.lower()}-{short_hash(cls, label)}"


def statistic_iri(doc_id: str, st) -> str:
    """A reported figure: its document and its span there."""
    return f"{KGR}statistic-{short_hash(doc_id, str(st.start), str(st.end))}"


@functools.lru_cache(maxsize=1 << 16)
def label_and_iri(cls: str, name: str) -> tuple[str, str]:
    """Memoised: the same names come back in document after document."""
    label = canonical(cls, name)
    return label, entity_iri(cls, label)


@functools.lru_cache(maxsize=1 << 16)
def mention_names(cls: str, name: str, surface: str, aliases: tuple[str, ...]) -> tuple[str, str, tuple[str, ...]]:
    """(label, IRI, alt labels) of a mention: they depend on these four fields alone, and the
    same mentions come back in document after document (memoised)."""
    label, iri = label_and_iri(cls, name)
    alts = []
    for form in (surface, *aliases):
        form = form.strip()
        if form and form != label and clean_name(form) != label:
            alts.append(form)
    return label, iri, tuple(alts)


@dataclass(slots=True)     # cheaper to make: tens per document
class Entity:
    cls: str
    label: str
    iri: str
    alt_labels: set[str] = field(default_factory=set)
    documents: set[str] = field(default_factory=set)    # doc ids
    mentions: int = 0
    confidence: float = 0.0
    passes: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Evidence:
    doc_id: str
    sentence: int
    pass_name: str
    confidence: float


@dataclass(slots=True)
class ResolvedRelation:
    predicate: str
    subject: str        # entity IRIs
    object: str
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        return max(e.confidence for e in self.evidence)


@dataclass
class DocumentResolved:
    """One document's entities, relations and statistics, with IRIs."""
    entities: dict[str, Entity]                 # by IRI; documents == {this doc}
    relations: dict[tuple[str, str, str], ResolvedRelation]
    statistics: list[tuple[object, str, str | None]]  # (StatisticFinding, its IRI, reporter IRI)


@dataclass
class Resolved:
    entities: dict[str, Entity]                 # by IRI
    relations: dict[tuple[str, str, str], ResolvedRelation]
    statistics: list[tuple[str, str, str | None]]  # (doc id, statistic node IRI, reporter IRI)
    documents: list                             # kg.digest.Digest, one per document, in input order
    # The Turtle of a document's part (kg.build keeps them in a spool file, not in memory).
    part_bytes: Callable = field(default=lambda d: d.part[1], repr=False)


def resolve_document(f: Findings, min_confidence: float = 0.0) -> DocumentResolved:
    doc_id = f.document.doc_id
    entities: dict[str, Entity] = {}

    known: dict[int, Entity] = {}     # id(mention) -> its entity: a statistic's reporter or a
                                      # relation's subject is often a mention already counted

    def add(m: Mention) -> Entity:
        """The entity of a mention not seen yet in this document (its mention not counted)."""
        label, iri, alts = mention_names(m.cls, m.name, m.surface, m.aliases)
        e = entities.get(iri)
        if e is None:
            e = entities[iri] = Entity(m.cls, label, iri, documents={doc_id})
        if m.confidence > e.confidence:       # max(), without the call
            e.confidence = m.confidence
        e.passes.add(m.pass_name)
        if alts:
            e.alt_labels.update(alts)
        known[id(m)] = e
        return e

    # `known.get(id(m)) or add(m)` is inlined below rather than a function: this runs ~70 times
    # per document.
    relations: dict[tuple[str, str, str], ResolvedRelation] = {}
    seen: set[tuple[tuple[str, str, str], int]] = set()
    statistics = []
    for m in f.mentions:
        if m.confidence >= min_confidence:
            e = known.get(id(m)) or add(m)
            e.mentions += 1
    for r in f.relations:
        if r.confidence < min_confidence:
            continue
        es = known.get(id(r.subject)) or add(r.subject)
        es.mentions += 1
        eo = known.get(id(r.object)) or add(r.object)
        eo.mentions += 1
        s, o = es.iri, eo.iri
        if r.predicate == "cooperatesWith" and o < s:
            s, o = o, s                       # symmetric: one direction is enough
        key = (r.predicate, s, o)
        rel = relations.get(key)
        if rel is None:
            rel = relations[key] = ResolvedRelation(r.predicate, s, o)
        if (key, r.sentence) not in seen:     # one evidence node per sentence
            seen.add((key, r.sentence))
            rel.evidence.append(Evidence(doc_id, r.sentence, r.pass_name, r.confidence))
    for st in f.statistics:
        if st.confidence < min_confidence:
            continue
        reporter = None
        if st.reporter is not None:
            e = known.get(id(st.reporter)) or add(st.reporter)
            e.mentions += 1
            reporter = e.iri
        statistics.append((st, statistic_iri(doc_id, st), reporter))
    return DocumentResolved(entities, relations, statistics)


def merge(digests: list) -> Resolved:
    """The corpus from its documents' digests (kg.digest.Digest), in their order."""
    entities: dict[str, Entity] = {}
    relations: dict[tuple[str, str, str], ResolvedRelation] = {}
    statistics = []
    for d in digests:
        doc_id = d.doc.doc_id
        for iri, cls, label, alt_labels, mentions, confidence, passes in d.entities:
            e = entities.get(iri)
            if e is None:
                e = entities[iri] = Entity(cls, label, iri)
            e.alt_labels.update(alt_labels)
            e.documents.add(doc_id)
            e.mentions += mentions
            e.confidence = max(e.confidence, confidence)
            e.passes.update(passes)
        for key, evidence in d.relations:
            rel = relations.get(key)
            if rel is None:
                rel = relations[key] = ResolvedRelation(*key)
            rel.evidence.extend(Evidence(*row) for row in evidence)
        statistics.extend((doc_id, node, reporter) for node, reporter in d.statistics)
    # Aliases that only differ from the label by marks or script stay as altLabels; an alias equal
    # to the label is dropped.
    for e in entities.values():
        e.alt_labels.discard(e.label)
    return Resolved(entities, relations, statistics, list(digests))


def resolve(all_findings: list[Findings], min_confidence: float = 0.0) -> Resolved:
    """Both halves at once, for callers that hold every document's findings."""
    from .digest import digest         # kg.digest builds on this module
    return merge([digest(f, min_confidence) for f in all_findings])
