"""One entity, one IRI: merge the mentions of all documents into entities.

Mentions are keyed by class and canonical name. Passes already give canonical names (the
lexicon's label, a unit's short form, a name without quote marks, Simplified script); here the
lexicon's aliases map any remaining surface form to its label. IRIs are hashes of class and
label, so they stay the same across rebuilds and input orders.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

from .lexicon import load_lexicons
from .model import Findings, Mention
from .passes.base import clean_name

KGR = "https://w3id.org/zh-policy-kg/resource/"


def short_hash(*parts: str, n: int = 12) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:n]


@functools.lru_cache(maxsize=1)
def alias_map() -> dict[tuple[str, str], str]:
    out = {}
    for e in load_lexicons():
        for form in e.aliases:
            out.setdefault((e.cls, form), e.label)
    return out


def canonical(cls: str, name: str) -> str:
    name = clean_name(name)
    return alias_map().get((cls, name), name)


def entity_iri(cls: str, label: str) -> str:
    return f"{KGR}{cls.lower()}-{short_hash(cls, label)}"


@dataclass
class Entity:
    cls: str
    label: str
    iri: str
    alt_labels: set[str] = field(default_factory=set)
    documents: set[str] = field(default_factory=set)    # doc ids
    mentions: int = 0
    confidence: float = 0.0
    passes: set[str] = field(default_factory=set)


@dataclass
class Evidence:
    doc_id: str
    sentence: int
    pass_name: str
    confidence: float


@dataclass
class ResolvedRelation:
    predicate: str
    subject: str        # entity IRIs
    object: str
    evidence: list[Evidence] = field(default_factory=list)
    seen: set = field(default_factory=set, repr=False, compare=False)

    @property
    def confidence(self) -> float:
        return max(e.confidence for e in self.evidence)


@dataclass
class Resolved:
    entities: dict[str, Entity]                 # by IRI
    relations: dict[tuple[str, str, str], ResolvedRelation]
    statistics: list[tuple[str, object, str | None]]  # (doc_id, finding, reporter IRI)
    findings: list[Findings]


def resolve(all_findings: list[Findings], min_confidence: float = 0.0) -> Resolved:
    entities: dict[str, Entity] = {}

    def entity_for(m: Mention, doc_id: str) -> str:
        label = canonical(m.cls, m.name)
        iri = entity_iri(m.cls, label)
        e = entities.get(iri)
        if e is None:
            e = entities[iri] = Entity(m.cls, label, iri)
        e.documents.add(doc_id)
        e.mentions += 1
        e.confidence = max(e.confidence, m.confidence)
        e.passes.add(m.pass_name)
        for form in (m.surface, *m.aliases):
            form = form.strip()
            if form and clean_name(form) != label and form != label:
                e.alt_labels.add(form)
        return iri

    relations: dict[tuple[str, str, str], ResolvedRelation] = {}
    statistics = []
    for f in all_findings:
        doc_id = f.document.doc_id
        for m in f.mentions:
            if m.confidence >= min_confidence:
                entity_for(m, doc_id)
        for r in f.relations:
            if r.confidence < min_confidence:
                continue
            s, o = entity_for(r.subject, doc_id), entity_for(r.object, doc_id)
            if r.predicate == "cooperatesWith" and o < s:
                s, o = o, s                       # symmetric: one direction is enough
            key = (r.predicate, s, o)
            rel = relations.setdefault(key, ResolvedRelation(r.predicate, s, o))
            ev = Evidence(doc_id, r.sentence, r.pass_name, r.confidence)
            if (doc_id, r.sentence) not in rel.seen:      # one evidence node per sentence
                rel.seen.add((doc_id, r.sentence))
                rel.evidence.append(ev)
        for st in f.statistics:
            if st.confidence < min_confidence:
                continue
            reporter = entity_for(st.reporter, doc_id) if st.reporter is not None else None
            statistics.append((doc_id, st, reporter))
    # Aliases that only differ from the label by marks or script stay as altLabels; an alias equal
    # to the label is dropped.
    for e in entities.values():
        e.alt_labels.discard(e.label)
    return Resolved(entities, relations, statistics, all_findings)
