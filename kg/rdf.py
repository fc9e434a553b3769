"""The resolved graph as RDF, following CONTRACT.md.

Relations are direct triples between entities; each also has one kgo:Evidence node per sentence
that states it (a reified rdf:Statement with PROV-O provenance, confidence and the pass that
found it), so that plain SPARQL reaches both the fact and why we believe it.

Speed: the graph is written directly as Turtle with prefixes, one block per subject (`ttl_block`):
no RDF library in the loop. Every IRI is one we make (kgr: + a kind, hashes and doc ids of
[A-Za-z0-9_-]) and every literal goes through `lit`; tests parse the result with Oxigraph and
rdflib, nasty strings included (test_rdf_fast, test_roundtrip). For 390,000 triples rdflib's
memory store and Turtle writer took 17.5 s and 400 MB (bench/README.md).
The triples about one document (its evidence, statistics and sentences: most of the graph)
depend on that document alone, so they are made where the document was extracted
(`document_part`, kg.digest) and kept in the cache; a build writes anew only the documents and
entities (`corpus_part`). `build_graph` gives the same triples as an rdflib Graph, for the
callers that want rdflib's API (the HTML page, tests).
"""
from __future__ import annotations

import functools
import re
from collections import defaultdict
from decimal import Decimal
from itertools import chain, groupby
from operator import itemgetter
from pathlib import Path
from typing import Iterable, Iterator

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS

from .config import patterns
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
# String escapes: these four may not appear as they are between quotes (Turtle and N-Triples).
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def doc_iri(doc_id: str) -> str:
    return f"{KGR}doc-{doc_id}"


def sentence_iri(doc_id: str, index: int) -> str:
    return f"{KGR}sentence-{doc_id}-{index}"


def decimal_text(value: float) -> str:
    """The shortest plain decimal for a float: 1.68e8 -> '168000000', 0.5 -> '0.5'."""
    text = repr(float(value))
    if "e" in text or "n" in text:      # 1e+16, inf, nan: Decimal writes them out; a plain repr
        text = format(Decimal(text), "f")   # is already what Decimal would give
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def confidence_text(value: float) -> str:
    return str(Decimal(str(round(float(value), 2))))


def lit(value: str, lang: str | None = None) -> str:
    # Most strings need no escape: testing for the four characters is far cheaper than
    # translate, which looks up every character of a CJK string.
    if '"' in value or "\\" in value or "\n" in value or "\r" in value:
        value = value.translate(_ESCAPES)
    return f'"{value}"@{lang}' if lang else f'"{value}"'


_LOCAL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_BARE_DECIMAL = re.compile(r"[+-]?[0-9]*\.[0-9]+")


_KGR = str(KGR)


def ttl_iri(iri: str) -> str:
    """kgr:name for our own IRIs (when the name is a plain Turtle local name), else <iri>."""
    if iri.startswith(_KGR) and _LOCAL_NAME.fullmatch(iri, len(_KGR)):
        return "kgr:" + iri[len(_KGR):]
    return f"<{iri}>"


def ttl_decimal(text: str) -> str:
    return text if _BARE_DECIMAL.fullmatch(text) else f'"{text}"^^xsd:decimal'


def ttl_block(subject: str, pairs: list[tuple[str, str]]) -> str:
    """One subject with its (predicate, object) pairs; the objects of a predicate that follow
    each other are joined by ',' (more than two: one per line, for an agency in 5,000 documents)."""
    # (groupby and map: the loop over pairs runs in C)
    return ttl_groups(subject, [(p, list(map(_second, g))) for p, g in groupby(pairs, _first)])


def ttl_groups(subject: str, groups: list[tuple[str, list[str]]]) -> str:
    """ttl_block of pairs already grouped: (predicate, its objects), no two neighbours alike."""
    parts = []
    for p, objs in groups:
        if len(objs) < 3:
            parts.append(f"{p} {' , '.join(objs)}")
        else:
            parts.append(f"{p}\n\t\t" + " ,\n\t\t".join(objs))
    return f"{subject} " + " ;\n\t".join(parts) + " .\n\n"


_first, _second = itemgetter(0), itemgetter(1)


@functools.lru_cache(maxsize=1024)
def _confidence(value: float) -> str:
    return ttl_decimal(confidence_text(value))      # a handful of distinct values


# Memoised for document_part: entity IRIs, pass names and units come back in every document.
_entity_node = functools.lru_cache(maxsize=1 << 16)(ttl_iri)
_short_lit = functools.lru_cache(maxsize=1024)(lit)


def document_part(f, local) -> tuple[int, bytes]:
    """(triples, Turtle) of one document's part of the graph: its evidence, statistics and
    sentences, one block per subject. `local` is kg.resolve.resolve_document(f): the part
    depends on this document alone. Most of the graph's triples are made here, so each kind
    of node is one template (the layout ttl_block gives)."""
    doc_id, doc = f.document.doc_id, f.document
    blocks: list[str] = []
    count = 0
    used_sentences: set[int] = set()
    doc_node = ttl_iri(doc_iri(doc_id))
    if _LOCAL_NAME.fullmatch(f"sentence-{doc_id}-"):          # ingest's doc ids always are
        sentence_node = f"kgr:sentence-{doc_id}-{{}}".format
    else:
        def sentence_node(index: int) -> str:
            return ttl_iri(sentence_iri(doc_id, index))
    for (pred, s, o), rel in local.relations.items():
        subject, obj = _entity_node(s), _entity_node(o)
        for ev in rel.evidence:
            node = f"kgr:evidence-{short_hash(pred, s, o, ev.doc_id, str(ev.sentence))}"
            blocks.append(f"{node} a kgo:Evidence , rdf:Statement ;\n\trdf:subject {subject} ;\n"
                          f"\trdf:predicate kgo:{pred} ;\n\trdf:object {obj} ;\n"
                          f"\tkgo:confidence {_confidence(ev.confidence)} ;\n"
                          f"\tkgo:extractedBy {_short_lit(ev.pass_name)} ;\n"
                          f"\tprov:wasDerivedFrom {sentence_node(ev.sentence)} .\n\n")
            count += 8
            used_sentences.add(ev.sentence)

    for st, node, _ in local.statistics:
        a, b = doc.raw_span(st.start, st.end)
        period = f"\tkgo:period {lit(st.period)} ;\n" if st.period else ""
        blocks.append(f"{ttl_iri(node)} a kgo:Statistic ;\n"
                      f"\tkgo:value {ttl_decimal(decimal_text(st.value))} ;\n"
                      f"\tkgo:unit {_short_lit(st.unit)} ;\n\tkgo:metric {lit(st.metric or st.surface, 'zh')} ;\n"
                      f"{period}\trdfs:label {lit(f'{st.metric} {st.surface}'.strip(), 'zh')} ;\n"
                      f"\tkgo:confidence {_confidence(st.confidence)} ;\n"
                      f"\tkgo:extractedBy {_short_lit(st.pass_name)} ;\n"
                      f"\tkgo:startOffset {int(a)} ;\n\tkgo:endOffset {int(b)} ;\n"
                      f"\tprov:wasDerivedFrom {sentence_node(st.sentence)} .\n\n")
        count += 11 if period else 10
        used_sentences.add(st.sentence)

    for index in sorted(used_sentences):
        if not 0 <= index < len(f.sentences):
            continue
        s = f.sentences[index]
        a, b = doc.raw_span(s.start, s.end)
        blocks.append(f"{sentence_node(index)} a kgo:Sentence ;\n"
                      f"\tkgo:text {lit(doc.surface(s.start, s.end))} ;\n"
                      f"\tkgo:startOffset {int(a)} ;\n\tkgo:endOffset {int(b)} ;\n"
                      f"\tkgo:sentenceIndex {int(index)} ;\n\tkgo:inDocument {doc_node} .\n\n")
        count += 6
    # A lone surrogate (from a damaged file) cannot be UTF-8: it becomes '?'.
    return count, "".join(blocks).encode("utf-8", "replace")


def corpus_part(resolved: Resolved) -> tuple[int, bytes]:
    """(triples, Turtle) of the documents and the entities with their relations: what every
    build writes anew."""
    outgoing: dict[str, list[tuple[str, str]]] = defaultdict(list)     # entity IRI -> pairs
    for (pred, s, o) in resolved.relations:
        outgoing[s].append(relation_pair(pred, o))
    for _, node, reporter in resolved.statistics:
        if reporter:
            outgoing[reporter].append(report_pair(node))
    blocks = [document_block(d.doc) for d in resolved.documents]
    count = sum(n for n, _ in blocks)
    blocks = [text for _, text in blocks]
    for e in resolved.entities.values():
        n, text = entity_block(e, outgoing.pop(e.iri, ()))
        blocks.append(text)
        count += n
    for s, pairs in outgoing.items():               # subjects that are not entities (none today)
        blocks.append(ttl_block(ttl_iri(s), pairs))
        count += len(pairs)
    return count, "".join(blocks).encode("utf-8", "replace")


def relation_pair(pred: str, obj: str) -> tuple[str, str]:
    return f"kgo:{pred}", _entity_node(obj)


_STATISTIC = f"{KGR}statistic-"


def report_pair(node: str) -> tuple[str, str]:
    # statistic_iri's names (a hash in hex) are always plain local names: no regex for 55,000
    name = node[len(_STATISTIC):]
    if node.startswith(_STATISTIC) and name.isascii() and name.isalnum():
        return "kgo:reports", "kgr:" + node[len(_KGR):]
    return "kgo:reports", ttl_iri(node)


def entity_block(e, outgoing) -> tuple[int, str]:
    """(triples, Turtle) of one merged entity (kg.resolve.Entity); `outgoing`: its relation
    and kgo:reports pairs in the order they were first found (kept within a predicate)."""
    label = lit(e.label, "zh")
    # Grouped here rather than as pairs for ttl_block: an agency is in thousands of documents.
    groups = [("a", [f"kgo:{e.cls}"]), ("skos:prefLabel", [label]), ("rdfs:label", [label])]
    if e.alt_labels:
        groups.append(("skos:altLabel", [lit(alt, "zh") for alt in sorted(e.alt_labels)]))
    groups.append(("kgo:matchKey", [lit(key) for key in match_keys(e.label, e.alt_labels)]))
    if e.documents:
        groups.append(("kgo:mentionedIn", list(map(doc_node, sorted(e.documents)))))
    groups += [("kgo:documentCount", [str(len(e.documents))]),
               ("kgo:confidence", [_confidence(e.confidence)])]
    if e.passes:
        groups.append(("kgo:extractedBy", [lit(name) for name in sorted(e.passes)]))
    groups += [(p, list(map(_second, g))) for p, g in groupby(sorted(outgoing, key=_first), _first)]
    return sum(len(objs) for _, objs in groups), ttl_groups(ttl_iri(e.iri), groups)


@functools.lru_cache(maxsize=1 << 17)
def doc_node(doc_id: str) -> str:
    """A document's node in Turtle (memoised: an agency is mentioned in thousands)."""
    return ttl_iri(doc_iri(doc_id))


def match_keys(label: str, alt_labels) -> list[str]:
    """An entity's kgo:matchKey values: each of its names without quote and title marks."""
    marks = match_key_marks()
    return sorted({marks.sub("", name) for name in (label, *alt_labels)})


@functools.lru_cache(maxsize=1)
def match_key_marks() -> re.Pattern:
    """The marks of ontology/patterns.yaml (words.match_key_marks), as a class to remove. The
    named queries strip the same class (test_query checks that they agree)."""
    return re.compile(f"[{re.escape(patterns()['words']['match_key_marks'])}]")


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def document_block(doc: Document) -> tuple[int, str]:
    """(triples, Turtle) of a document node: its paths, hash, encoding, script, format, metadata."""
    pairs = [("a", "kgo:Document")]
    pairs += [("kgo:sourcePath", lit(p)) for p in doc.meta.get("_paths") or [doc.path]]
    pairs += [("kgo:contentHash", lit(doc.content_hash)), ("kgo:encoding", lit(doc.encoding)),
              ("kgo:script", lit(doc.script)), ("kgo:sourceFormat", lit(doc.format))]
    meta = doc.meta
    if meta.get("title"):
        pairs.append(("dcterms:title", lit(str(meta["title"]), "zh")))
    date = str(meta.get("date") or "")
    if _DATE.fullmatch(date):
        pairs.append(("dcterms:date", f'"{date}"^^xsd:date'))
    elif date:
        pairs.append(("dcterms:date", lit(date)))
    for key, prop in (("author", "dcterms:creator"), ("editor", "dcterms:contributor"), ("url", "dcterms:source")):
        if meta.get(key):
            pairs.append((prop, lit(str(meta[key]))))
    return len(pairs), ttl_block(ttl_iri(doc_iri(doc.doc_id)), pairs)


def graph_triples(resolved: Resolved) -> Iterator[ox.Triple]:
    """Every triple of the graph except the ontology's, as pyoxigraph Triples: the corpus part,
    then each document's part (kept as Turtle in its digest)."""
    header = _prefix_lines()
    parts = chain([corpus_part(resolved)[1]], map(resolved.part_bytes, resolved.documents))
    return chain.from_iterable(ox.parse(header + part, format=ox.RdfFormat.TURTLE) for part in parts)


def _prefix_lines() -> bytes:
    return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items()).encode()


@functools.lru_cache(maxsize=1)
def ontology_triple_count() -> int:
    return sum(1 for _ in ox.parse(path=str(ONTOLOGY_DIR / "kgo.ttl"), format=ox.RdfFormat.TURTLE))


def write_turtle(resolved: Resolved, path: str | Path, corpus: tuple[int, bytes] | None = None,
                 copy_part=None) -> int:
    """Write graph.ttl: the ontology file as it is (prefixes, comments and layout kept), then
    the documents and entities, then each document's evidence, statistics and sentences (the
    Turtle its digest holds). Returns the number of triples written.
    corpus: corpus_part(resolved), if already made (kg.incremental); copy_part(documents, file):
    appends the documents' parts to the file (kg.build.PartSpool.copy_to), instead of writing
    resolved.part_bytes(d) for each."""
    with open(path, "wb") as f:
        f.write((ONTOLOGY_DIR / "kgo.ttl").read_bytes().rstrip(b"\n") + b"\n\n")
        f.write(_prefix_lines() + b"\n")
        total, body = corpus if corpus is not None else corpus_part(resolved)
        f.write(body)
        total += sum(d.part[0] for d in resolved.documents)
        if copy_part is not None:
            copy_part(resolved.documents, f)
        else:
            for d in resolved.documents:
                f.write(resolved.part_bytes(d))
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
