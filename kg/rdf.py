"""The resolved graph as RDF, following CONTRACT.md.

Relations are direct triples between entities; each also has one kgo:Evidence node per sentence
that states it (a reified rdf:Statement with PROV-O provenance, confidence and the pass that
found it), so that plain SPARQL reaches both the fact and why we believe it.

Speed: the triples are written here as N-Triples lines, one subject after the other, which
Oxigraph parses (strictly: a malformed term fails the build instead of reaching the file) and
writes as Turtle with prefixes, one block per subject (`turtle`). For 390,000 triples rdflib's
memory store and Turtle writer took 17.5 s and 400 MB; this takes 1 s (bench/README.md).
The triples about one document (its evidence, statistics and sentences: most of the graph)
depend on that document alone, so they are made into Turtle where the document was extracted
(`document_part`, written directly as Turtle, kg.digest) and kept in the cache; the build writes anew only the
documents and entities (`corpus_lines`). `build_graph` gives the same triples as an rdflib
Graph, for the callers that want rdflib's API (the HTML page, tests).
"""
from __future__ import annotations

import functools
import re
from collections import defaultdict
from decimal import Decimal
from itertools import chain, islice
from pathlib import Path
from typing import Iterable, Iterator

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS

from .model import Document
from .ontology import KGO, KGR, ONTOLOGY_DIR, load_ontology
from .resolve import Resolved, short_hash

ORG = Namespace("http://www.w3.org/ns/org#")
SCHEMA = Namespace("https://schema.org/")
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"
# Prefixes of graph.ttl (those of ontology/kgo.ttl, which opens the file).
PREFIXES = {
    "kgo": str(KGO), "kgr": str(KGR), "rdf": RDF_NS, "rdfs": RDFS_NS, "xsd": XSD_NS,
    "owl": "http://www.w3.org/2002/07/owl#", "skos": str(SKOS), "prov": str(PROV),
    "dcterms": str(DCTERMS), "org": str(ORG), "schema": str(SCHEMA), "foaf": "http://xmlns.com/foaf/0.1/",
}
BATCH_LINES = 20_000           # lines parsed at once: memory stays at one batch


class _Terms:
    """`K.Evidence` -> '<https://…/ontology#Evidence>' (N-Triples IRI), made once per name."""

    def __init__(self, base: str):
        self.base = base

    def get(self, name: str) -> str:
        return getattr(self, name)

    def __getattr__(self, name: str) -> str:
        value = f"<{self.base}{name}>"
        setattr(self, name, value)          # the next lookup is a plain attribute
        return value


K, R, RDFS_, SKOS_, PROV_, DCT = (_Terms(b) for b in (str(KGO), RDF_NS, RDFS_NS, str(SKOS), str(PROV),
                                                       str(DCTERMS)))
INTEGER, DECIMAL, DATE = (f"^^<{XSD_NS}{n}>" for n in ("integer", "decimal", "date"))
# N-Triples string escapes: these four may not appear as they are between quotes.
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def doc_iri(doc_id: str) -> str:
    return f"{KGR}doc-{doc_id}"


def sentence_iri(doc_id: str, index: int) -> str:
    return f"{KGR}sentence-{doc_id}-{index}"


def decimal_text(value: float) -> str:
    """The shortest plain decimal for a float: 1.68e8 -> '168000000', 0.5 -> '0.5'."""
    text = format(Decimal(repr(float(value))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def confidence_text(value: float) -> str:
    return str(Decimal(str(round(float(value), 2))))


def lit(value: str, lang: str | None = None) -> str:
    text = value.translate(_ESCAPES)
    return f'"{text}"@{lang}' if lang else f'"{text}"'


def integer(n: int) -> str:
    return f'"{int(n)}"{INTEGER}'


def decimal(text: str) -> str:
    return f'"{text}"{DECIMAL}'


def statistic_iri(doc_id: str, st) -> str:
    return f"{KGR}statistic-{short_hash(doc_id, str(st.start), str(st.end))}"


def corpus_lines(resolved: Resolved) -> Iterator[str]:
    """The documents and the entities with their relations: what every build writes anew."""
    outgoing: dict[str, list[str]] = defaultdict(list)      # entity IRI -> "p o" pairs
    for (pred, s, o) in resolved.relations:
        outgoing[s].append(f"{K.get(pred)} <{o}>")
    for _, node, reporter in resolved.statistics:
        if reporter:
            outgoing[reporter].append(f"{K.reports} <{node}>")

    for d in resolved.documents:
        yield from document_lines(d.doc)

    for e in resolved.entities.values():
        node = f"<{e.iri}>"
        label = lit(e.label, "zh")
        yield f"{node} {R.type} {K.get(e.cls)} .\n"
        yield f"{node} {SKOS_.prefLabel} {label} .\n"
        yield f"{node} {RDFS_.label} {label} .\n"
        for alt in sorted(e.alt_labels):
            yield f"{node} {SKOS_.altLabel} {lit(alt, 'zh')} .\n"
        for doc_id in sorted(e.documents):
            yield f"{node} {K.mentionedIn} <{doc_iri(doc_id)}> .\n"
        yield f"{node} {K.documentCount} {integer(len(e.documents))} .\n"
        yield f"{node} {K.confidence} {decimal(confidence_text(e.confidence))} .\n"
        for name in sorted(e.passes):
            yield f"{node} {K.extractedBy} {lit(name)} .\n"
        for pair in outgoing.pop(e.iri, ()):
            yield f"{node} {pair} .\n"
    for s, pairs in outgoing.items():               # subjects that are not entities (none today)
        for pair in pairs:
            yield f"<{s}> {pair} .\n"


# Turtle written directly (the document parts: most of the graph). Every IRI here is one we
# make (kgr: + a class or kind, hashes and doc ids of [A-Za-z0-9_-]), every literal goes
# through `lit`, and tests parse the result with Oxigraph and rdflib (test_rdf_fast, test_roundtrip).
_LOCAL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_BARE_DECIMAL = re.compile(r"[+-]?[0-9]*\.[0-9]+")


def ttl_iri(iri: str) -> str:
    """kgr:name for our own IRIs (when the name is a plain Turtle local name), else <iri>."""
    base = str(KGR)
    if iri.startswith(base) and _LOCAL_NAME.fullmatch(iri, len(base)):
        return "kgr:" + iri[len(base):]
    return f"<{iri}>"


def ttl_decimal(text: str) -> str:
    return text if _BARE_DECIMAL.fullmatch(text) else f'"{text}"^^xsd:decimal'


def ttl_block(subject: str, pairs: list[tuple[str, str]]) -> str:
    """One subject with its (predicate, object) pairs, a predicate's objects joined by ','."""
    parts: list[str] = []
    last = None
    for p, o in pairs:
        if p == last:
            parts[-1] += f" , {o}"
        else:
            parts.append(f"{p} {o}")
            last = p
    return f"{subject} " + " ;\n\t".join(parts) + " .\n\n"


def document_part(f, local) -> tuple[int, bytes]:
    """(triples, Turtle) of one document's part of the graph: its evidence, statistics and
    sentences, one block per subject. `local` is kg.resolve.resolve_document(f): the part
    depends on this document alone."""
    doc_id, doc = f.document.doc_id, f.document
    blocks: list[str] = []
    count = 0
    used_sentences: set[int] = set()
    for (pred, s, o), rel in local.relations.items():
        for ev in rel.evidence:
            node = f"kgr:evidence-{short_hash(pred, s, o, ev.doc_id, str(ev.sentence))}"
            pairs = [("a", "kgo:Evidence"), ("a", "rdf:Statement"), ("rdf:subject", ttl_iri(s)),
                     ("rdf:predicate", f"kgo:{pred}"), ("rdf:object", ttl_iri(o)),
                     ("kgo:confidence", ttl_decimal(confidence_text(ev.confidence))),
                     ("kgo:extractedBy", lit(ev.pass_name)),
                     ("prov:wasDerivedFrom", ttl_iri(sentence_iri(doc_id, ev.sentence)))]
            blocks.append(ttl_block(node, pairs))
            count += len(pairs)
            used_sentences.add(ev.sentence)

    for st, _ in local.statistics:
        pairs = [("a", "kgo:Statistic"), ("kgo:value", ttl_decimal(decimal_text(st.value))),
                 ("kgo:unit", lit(st.unit)), ("kgo:metric", lit(st.metric or st.surface, "zh"))]
        if st.period:
            pairs.append(("kgo:period", lit(st.period)))
        a, b = doc.raw_span(st.start, st.end)
        pairs += [("rdfs:label", lit(f"{st.metric} {st.surface}".strip(), "zh")),
                  ("kgo:confidence", ttl_decimal(confidence_text(st.confidence))),
                  ("kgo:extractedBy", lit(st.pass_name)),
                  ("kgo:startOffset", str(int(a))), ("kgo:endOffset", str(int(b))),
                  ("prov:wasDerivedFrom", ttl_iri(sentence_iri(doc_id, st.sentence)))]
        blocks.append(ttl_block(ttl_iri(statistic_iri(doc_id, st)), pairs))
        count += len(pairs)
        used_sentences.add(st.sentence)

    for index in sorted(used_sentences):
        if not 0 <= index < len(f.sentences):
            continue
        s = f.sentences[index]
        a, b = doc.raw_span(s.start, s.end)
        pairs = [("a", "kgo:Sentence"), ("kgo:text", lit(doc.surface(s.start, s.end))),
                 ("kgo:startOffset", str(int(a))), ("kgo:endOffset", str(int(b))),
                 ("kgo:sentenceIndex", str(int(index))), ("kgo:inDocument", ttl_iri(doc_iri(doc_id)))]
        blocks.append(ttl_block(ttl_iri(sentence_iri(doc_id, index)), pairs))
        count += len(pairs)
    # A lone surrogate (from a damaged file) cannot be UTF-8: it becomes '?'.
    return count, "".join(blocks).encode("utf-8", "replace")


def document_lines(doc: Document) -> Iterator[str]:
    node = f"<{doc_iri(doc.doc_id)}>"
    yield f"{node} {R.type} {K.Document} .\n"
    for p in doc.meta.get("_paths") or [doc.path]:
        yield f"{node} {K.sourcePath} {lit(p)} .\n"
    yield f"{node} {K.contentHash} {lit(doc.content_hash)} .\n"
    yield f"{node} {K.encoding} {lit(doc.encoding)} .\n"
    yield f"{node} {K.script} {lit(doc.script)} .\n"
    yield f"{node} {K.sourceFormat} {lit(doc.format)} .\n"
    meta = doc.meta
    if meta.get("title"):
        yield f"{node} {DCT.title} {lit(str(meta['title']), 'zh')} .\n"
    date = str(meta.get("date") or "")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        yield f'{node} {DCT.date} "{date}"{DATE} .\n'
    elif date:
        yield f"{node} {DCT.date} {lit(date)} .\n"
    for key, prop in (("author", DCT.creator), ("editor", DCT.contributor), ("url", DCT.source)):
        if meta.get(key):
            yield f"{node} {prop} {lit(str(meta[key]))} .\n"


def graph_triples(resolved: Resolved) -> Iterator[ox.Triple]:
    """Every triple of the graph except the ontology's, as pyoxigraph Triples: the corpus part,
    then each document's part (kept as Turtle in its digest)."""
    header = _prefix_lines()
    parts = (ox.parse(header + d.part[1], format=ox.RdfFormat.TURTLE) for d in resolved.documents)
    return chain(_parsed(corpus_lines(resolved)), chain.from_iterable(parts))


def _prefix_lines() -> bytes:
    return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items()).encode()


def _parsed(lines: Iterable[str], counter: list[int] | None = None) -> Iterator[ox.Triple]:
    """N-Triples lines parsed one batch at a time (`counter[0]` counts them)."""
    def batches():
        it = iter(lines)
        while batch := list(islice(it, BATCH_LINES)):
            if counter is not None:
                counter[0] += len(batch)
            # A lone surrogate (from a damaged file) cannot be UTF-8: it becomes '?'.
            yield ox.parse("".join(batch).encode("utf-8", "replace"), format=ox.RdfFormat.N_TRIPLES)
    return chain.from_iterable(batches())


@functools.lru_cache(maxsize=1)
def ontology_triple_count() -> int:
    return sum(1 for _ in ox.parse(path=str(ONTOLOGY_DIR / "kgo.ttl"), format=ox.RdfFormat.TURTLE))


def turtle(lines: Iterable[str]) -> tuple[int, bytes]:
    """(number of triples, Turtle without prefix lines) of N-Triples lines, one block per subject
    and an empty line after each (for people reading graph.ttl)."""
    count = [0]
    data = ox.serialize(_parsed(lines, count), format=ox.RdfFormat.TURTLE, prefixes=PREFIXES)
    pos = 0
    while data.startswith(b"@prefix ", pos):          # graph.ttl declares them once, at the top
        pos = data.index(b"\n", pos) + 1
    # The serializer escapes line breaks inside literals: ' .' at a line end always ends a statement.
    return count[0], data[pos:].replace(b" .\n", b" .\n\n")


def write_turtle(resolved: Resolved, path: str | Path) -> int:
    """Write graph.ttl: the ontology file as it is (prefixes, comments and layout kept), then
    the documents and entities, then each document's evidence, statistics and sentences (the
    Turtle its digest holds). Returns the number of triples written."""
    with open(path, "wb") as f:
        f.write((ONTOLOGY_DIR / "kgo.ttl").read_bytes().rstrip(b"\n") + b"\n\n")
        f.write(_prefix_lines() + b"\n")
        total, body = turtle(corpus_lines(resolved))
        f.write(body)
        for d in resolved.documents:
            total += d.part[0]
            f.write(d.part[1])
    return total + ontology_triple_count()


def to_rdflib(triples: Iterable[ox.Triple], graph: Graph | None = None) -> Graph:
    """Add pyoxigraph triples to an rdflib Graph (a new one if none is given)."""
    g = Graph() if graph is None else graph
    xsd_string = XSD_NS + "string"

    def term(t):
        if isinstance(t, ox.NamedNode):
            return URIRef(t.value)
        if isinstance(t, ox.BlankNode):
            return BNode(t.value)
        if t.language:
            return Literal(t.value, lang=t.language)
        dt = t.datatype.value
        return Literal(t.value) if dt == xsd_string else Literal(t.value, datatype=URIRef(dt))

    made: dict = {}         # the same IRIs and values come back often: make each once
    for t in triples:
        s, p, o = t.subject, t.predicate, t.object
        rs, rp, ro = made.get(s), made.get(p), made.get(o)
        if rs is None:
            rs = made[s] = term(s)
        if rp is None:
            rp = made[p] = term(p)
        if ro is None:
            ro = made[o] = term(o)
        g.add((rs, rp, ro))
    return g


def build_graph(resolved: Resolved, include_ontology: bool = True) -> Graph:
    """The graph as an rdflib Graph: the same triples graph.ttl holds."""
    g = load_ontology() if include_ontology else Graph()
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, Namespace(ns), override=True)
    return to_rdflib(graph_triples(resolved), g)
