"""The resolved graph as RDF, following CONTRACT.md.

Relations are direct triples between entities; each also has one kgo:Evidence node per sentence
that states it (a reified rdf:Statement with PROV-O provenance, confidence and the pass that
found it), so that plain SPARQL reaches both the fact and why we believe it.
"""
from __future__ import annotations

import re
from decimal import Decimal

from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS

from .model import Document, Findings
from .ontology import KGO, KGR, load_ontology
from .resolve import Resolved, short_hash

ORG = Namespace("http://www.w3.org/ns/org#")
SCHEMA = Namespace("https://schema.org/")


def doc_iri(doc_id: str) -> URIRef:
    return KGR[f"doc-{doc_id}"]


def sentence_iri(doc_id: str, index: int) -> URIRef:
    return KGR[f"sentence-{doc_id}-{index}"]


def decimal_literal(value: float) -> Literal:
    text = format(Decimal(repr(float(value))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return Literal(Decimal(text), datatype=XSD.decimal)


def confidence_literal(value: float) -> Literal:
    return Literal(Decimal(str(round(float(value), 2))), datatype=XSD.decimal)


def build_graph(resolved: Resolved, include_ontology: bool = True) -> Graph:
    g = load_ontology() if include_ontology else Graph()
    for prefix, ns in (("kgo", KGO), ("kgr", KGR), ("skos", SKOS), ("prov", PROV),
                       ("dcterms", DCTERMS), ("org", ORG), ("schema", SCHEMA)):
        g.bind(prefix, ns, override=True)
    by_doc: dict[str, Findings] = {f.document.doc_id: f for f in resolved.findings}
    used_sentences: set[tuple[str, int]] = set()

    for f in resolved.findings:
        add_document(g, f.document)

    for e in resolved.entities.values():
        node = URIRef(e.iri)
        g.add((node, RDF.type, KGO[e.cls]))
        g.add((node, SKOS.prefLabel, Literal(e.label, lang="zh")))
        g.add((node, RDFS.label, Literal(e.label, lang="zh")))
        for alt in sorted(e.alt_labels):
            g.add((node, SKOS.altLabel, Literal(alt, lang="zh")))
        for doc_id in sorted(e.documents):
            g.add((node, KGO.mentionedIn, doc_iri(doc_id)))
        g.add((node, KGO.documentCount, Literal(len(e.documents))))
        g.add((node, KGO.confidence, confidence_literal(e.confidence)))
        for name in sorted(e.passes):
            g.add((node, KGO.extractedBy, Literal(name)))

    for (pred, s, o), rel in resolved.relations.items():
        g.add((URIRef(s), KGO[pred], URIRef(o)))
        for ev in rel.evidence:
            node = KGR[f"evidence-{short_hash(pred, s, o, ev.doc_id, str(ev.sentence))}"]
            g.add((node, RDF.type, KGO.Evidence))
            g.add((node, RDF.type, RDF.Statement))
            g.add((node, RDF.subject, URIRef(s)))
            g.add((node, RDF.predicate, KGO[pred]))
            g.add((node, RDF.object, URIRef(o)))
            g.add((node, KGO.confidence, confidence_literal(ev.confidence)))
            g.add((node, KGO.extractedBy, Literal(ev.pass_name)))
            g.add((node, PROV.wasDerivedFrom, sentence_iri(ev.doc_id, ev.sentence)))
            used_sentences.add((ev.doc_id, ev.sentence))

    for doc_id, st, reporter in resolved.statistics:
        node = KGR[f"statistic-{short_hash(doc_id, str(st.start), str(st.end))}"]
        g.add((node, RDF.type, KGO.Statistic))
        g.add((node, KGO.value, decimal_literal(st.value)))
        g.add((node, KGO.unit, Literal(st.unit)))
        g.add((node, KGO.metric, Literal(st.metric or st.surface, lang="zh")))
        if st.period:
            g.add((node, KGO.period, Literal(st.period)))
        g.add((node, RDFS.label, Literal(f"{st.metric} {st.surface}".strip(), lang="zh")))
        g.add((node, KGO.confidence, confidence_literal(st.confidence)))
        g.add((node, KGO.extractedBy, Literal(st.pass_name)))
        doc = by_doc[doc_id].document
        a, b = doc.raw_span(st.start, st.end)
        g.add((node, KGO.startOffset, Literal(a)))
        g.add((node, KGO.endOffset, Literal(b)))
        g.add((node, PROV.wasDerivedFrom, sentence_iri(doc_id, st.sentence)))
        used_sentences.add((doc_id, st.sentence))
        if reporter:
            g.add((URIRef(reporter), KGO.reports, node))

    for doc_id, index in sorted(used_sentences):
        f = by_doc[doc_id]
        if not 0 <= index < len(f.sentences):
            continue
        s = f.sentences[index]
        node = sentence_iri(doc_id, index)
        a, b = f.document.raw_span(s.start, s.end)
        g.add((node, RDF.type, KGO.Sentence))
        g.add((node, KGO.text, Literal(f.document.surface(s.start, s.end))))
        g.add((node, KGO.startOffset, Literal(a)))
        g.add((node, KGO.endOffset, Literal(b)))
        g.add((node, KGO.sentenceIndex, Literal(index)))
        g.add((node, KGO.inDocument, doc_iri(doc_id)))
    return g


def add_document(g: Graph, doc: Document) -> None:
    node = doc_iri(doc.doc_id)
    g.add((node, RDF.type, KGO.Document))
    paths = doc.meta.get("_paths") or [doc.path]
    for p in paths:
        g.add((node, KGO.sourcePath, Literal(p)))
    g.add((node, KGO.contentHash, Literal(doc.content_hash)))
    g.add((node, KGO.encoding, Literal(doc.encoding)))
    g.add((node, KGO.script, Literal(doc.script)))
    g.add((node, KGO.sourceFormat, Literal(doc.format)))
    meta = doc.meta
    if meta.get("title"):
        g.add((node, DCTERMS.title, Literal(str(meta["title"]), lang="zh")))
    date = str(meta.get("date") or "")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        g.add((node, DCTERMS.date, Literal(date, datatype=XSD.date)))
    elif date:
        g.add((node, DCTERMS.date, Literal(date)))
    if meta.get("author"):
        g.add((node, DCTERMS.creator, Literal(str(meta["author"]))))
    if meta.get("editor"):
        g.add((node, DCTERMS.contributor, Literal(str(meta["editor"]))))
    if meta.get("url"):
        g.add((node, DCTERMS.source, Literal(str(meta["url"]))))
