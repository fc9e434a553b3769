"""The ontology and shapes under ontology/: they parse, declare the contract's terms, and the shapes
accept a well-formed graph and reject the mistakes the pipeline could make."""
from __future__ import annotations

from decimal import Decimal

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS

from kg.model import ENTITY_CLASSES, RELATION_TYPES
from kg.ontology import KGO, KGR, ONTOLOGY_DIR, load_ontology, load_shapes, validate

ONTOLOGY_IRI = URIRef("https://w3id.org/zh-policy-kg/ontology")

# The terms CONTRACT.md promises, written out here so that a drifting model cannot hide a gap.
CONTRACT_RELATIONS = {  # property -> (domain, range)
    "issues": ("Agency", "Measure"), "conducts": ("Agency", "Campaign"),
    "targets": ("Campaign", "CrimeType"), "heads": ("Person", "Agency"),
    "subOrganizationOf": ("Agency", "Agency"), "locatedIn": ("Agency", "Location"),
    "cooperatesWith": ("Agency", "Agency"), "reports": ("Agency", "Statistic"),
    "mentionedIn": ("NamedEntity", "Document"),
}
CONTRACT_CLASSES = ("Agency", "Person", "Measure", "Campaign", "CrimeType", "Location", "Law",
                    "Statistic", "Document", "Sentence", "Evidence")
CONTRACT_OBJECT_PROPERTIES = tuple(CONTRACT_RELATIONS) + ("inDocument",)
CONTRACT_DATATYPE_PROPERTIES = (
    "value", "unit", "metric", "period", "confidence", "extractedBy", "text", "startOffset",
    "endOffset", "sentenceIndex", "sourcePath", "contentHash", "encoding", "script",
    "sourceFormat", "documentCount",
)


@pytest.fixture(scope="module")
def ont() -> Graph:
    return load_ontology()


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return load_shapes()


# ---------------------------------------------------------------- the ontology itself

def test_files_parse_and_are_not_empty(ont, shapes):
    assert (ONTOLOGY_DIR / "kgo.ttl").is_file() and (ONTOLOGY_DIR / "shapes.ttl").is_file()
    assert len(ont) > 100 and len(shapes) > 100


def test_ontology_header(ont):
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in ont
    for p in (OWL.versionInfo, DCTERMS.title, DCTERMS.description, DCTERMS.license, DCTERMS.created):
        assert ont.value(ONTOLOGY_IRI, p) is not None, p
    assert "MIT" in str(ont.value(ONTOLOGY_IRI, DCTERMS.license))


def _langs(g: Graph, s, p) -> set[str]:
    return {o.language for o in g.objects(s, p) if isinstance(o, Literal)}


def _kgo_terms(g: Graph) -> set[URIRef]:
    kinds = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
    return {s for k in kinds for s in g.subjects(RDF.type, k)
            if isinstance(s, URIRef) and str(s).startswith(str(KGO))}


@pytest.mark.parametrize("name", CONTRACT_CLASSES)
def test_contract_classes_declared(ont, name):
    assert (KGO[name], RDF.type, OWL.Class) in ont


@pytest.mark.parametrize("name", CONTRACT_OBJECT_PROPERTIES + CONTRACT_DATATYPE_PROPERTIES)
def test_contract_properties_declared_with_domain_and_range(ont, name):
    kind = OWL.ObjectProperty if name in CONTRACT_OBJECT_PROPERTIES else OWL.DatatypeProperty
    assert (KGO[name], RDF.type, kind) in ont
    assert ont.value(KGO[name], RDFS.domain) is not None
    assert ont.value(KGO[name], RDFS.range) is not None


def test_every_term_is_documented(ont):
    terms = _kgo_terms(ont)
    assert len(terms) >= len(CONTRACT_CLASSES) + len(CONTRACT_OBJECT_PROPERTIES)
    for t in terms:
        assert {"zh", "en"} <= _langs(ont, t, RDFS.label), t
        assert "en" in _langs(ont, t, RDFS.comment), t
        assert (t, RDFS.isDefinedBy, ONTOLOGY_IRI) in ont, t


def test_relation_domains_and_ranges(ont):
    for name, (subj, obj) in CONTRACT_RELATIONS.items():
        assert ont.value(KGO[name], RDFS.domain) == KGO[subj], name
        assert ont.value(KGO[name], RDFS.range) == KGO[obj], name
    assert (KGO.cooperatesWith, RDF.type, OWL.SymmetricProperty) in ont


def test_model_agrees_with_the_ontology(ont):
    assert set(ENTITY_CLASSES) == set(CONTRACT_CLASSES[:7])
    for name, (subj, obj) in RELATION_TYPES.items():
        assert CONTRACT_RELATIONS[name] == (subj, obj), name
    # kgo:NamedEntity is exactly the entity classes.
    union = ont.value(ont.value(KGO.NamedEntity, OWL.equivalentClass), OWL.unionOf)
    assert set(Collection(ont, union)) == {KGO[c] for c in ENTITY_CLASSES}


def test_datatypes(ont):
    from rdflib.namespace import XSD  # not at module level: pytest probes module globals and rdflib warns

    expected = {"value": XSD.decimal, "unit": XSD.string, "metric": RDF.langString,
                "period": XSD.string, "confidence": XSD.decimal, "startOffset": XSD.integer,
                "endOffset": XSD.integer, "documentCount": XSD.integer}
    for name, dt in expected.items():
        assert ont.value(KGO[name], RDFS.range) == dt, name


def test_alignments(ont):
    sub = {(KGO.Agency, URIRef("http://www.w3.org/ns/org#Organization")),
           (KGO.Person, URIRef("http://xmlns.com/foaf/0.1/Person")),
           (KGO.Campaign, PROV.Activity), (KGO.CrimeType, SKOS.Concept),
           (KGO.Location, DCTERMS.Location), (KGO.Evidence, RDF.Statement),
           (KGO.Statistic, PROV.Entity), (KGO.Sentence, PROV.Entity)}
    for c, sup in sub:
        assert (c, RDFS.subClassOf, sup) in ont, (c, sup)
    assert (KGO.heads, RDFS.subPropertyOf, URIRef("http://www.w3.org/ns/org#headOf")) in ont
    # A measure is not a SKOS concept (the brief rules that out).
    assert (KGO.Measure, RDFS.subClassOf, SKOS.Concept) not in ont


def test_entity_and_provenance_classes_are_pairwise_disjoint(ont):
    needed = {KGO[c] for c in CONTRACT_CLASSES}
    for axiom in ont.subjects(RDF.type, OWL.AllDisjointClasses):
        members = set(Collection(ont, ont.value(axiom, OWL.members)))
        if needed <= members:
            return
    pytest.fail("no owl:AllDisjointClasses covers all entity, statistic and provenance classes")


def test_shapes_use_only_declared_kgo_terms(ont, shapes):
    declared = _kgo_terms(ont)
    used = {t for triple in shapes for t in triple
            if isinstance(t, URIRef) and str(t).startswith(str(KGO))}
    assert used and used <= declared, used - declared


# ---------------------------------------------------------------- SHACL on instance graphs

DOC = KGR["doc/a1b2"]
SENT = KGR["sentence/a1b2/3"]
NIA, SH_STATION, CUSTOMS = KGR["agency/nia"], KGR["agency/sh"], KGR["agency/customs"]
XU, VISA, CAMP = KGR["person/xu"], KGR["measure/visa"], KGR["campaign/menglie"]
SMUGGLING, SHANGHAI, LAW = KGR["crime/smuggling"], KGR["location/shanghai"], KGR["law/exit-entry"]
STAT, MENTION = KGR["stat/a1b2/0"], KGR["mention/a1b2/0"]


def _entity(g: Graph, node, cls: str, name: str, *aliases: str) -> None:
    g.add((node, RDF.type, KGO[cls]))
    g.add((node, SKOS.prefLabel, Literal(name, lang="zh")))
    g.add((node, RDFS.label, Literal(name, lang="zh")))
    for a in aliases:
        g.add((node, SKOS.altLabel, Literal(a, lang="zh")))
    g.add((node, KGO.mentionedIn, DOC))
    g.add((node, KGO.documentCount, Literal(1)))


def _relation(g: Graph, s, p: str, o, n: int) -> None:
    g.add((s, KGO[p], o))
    ev = KGR[f"evidence/{n}"]
    g.add((ev, RDF.type, KGO.Evidence))
    g.add((ev, RDF.subject, s))
    g.add((ev, RDF.predicate, KGO[p]))
    g.add((ev, RDF.object, o))
    g.add((ev, PROV.wasDerivedFrom, SENT))
    g.add((ev, KGO.confidence, Literal(Decimal("0.8"))))
    g.add((ev, KGO.extractedBy, Literal("relation_patterns")))


def make_graph() -> Graph:
    """A small graph that follows the contract in every respect."""
    g = Graph()
    g.add((DOC, RDF.type, KGO.Document))
    g.add((DOC, KGO.contentHash, Literal("ab" * 32)))
    g.add((DOC, KGO.sourcePath, Literal("seeds/x.txt")))
    g.add((DOC, KGO.encoding, Literal("gb18030")))
    g.add((DOC, KGO.script, Literal("Hant")))
    g.add((DOC, KGO.sourceFormat, Literal("html")))
    g.add((DOC, DCTERMS.title, Literal("标题", lang="zh")))
    g.add((SENT, RDF.type, KGO.Sentence))
    g.add((SENT, KGO.text, Literal("國家移民管理局出臺口岸簽證措施。")))
    g.add((SENT, KGO.startOffset, Literal(120)))
    g.add((SENT, KGO.endOffset, Literal(136)))
    g.add((SENT, KGO.sentenceIndex, Literal(3)))
    g.add((SENT, KGO.inDocument, DOC))

    _entity(g, NIA, "Agency", "国家移民管理局", "國家移民管理局")
    _entity(g, SH_STATION, "Agency", "上海边检总站", "上海出入境边防检查总站")
    _entity(g, CUSTOMS, "Agency", "海关")
    _entity(g, XU, "Person", "许甘露")
    _entity(g, VISA, "Measure", "口岸签证", "“口岸签证”")
    _entity(g, CAMP, "Campaign", "獴猎行动", "“獴猎”行动")
    _entity(g, SMUGGLING, "CrimeType", "走私")
    _entity(g, SHANGHAI, "Location", "上海")
    _entity(g, LAW, "Law", "中华人民共和国出境入境管理法", "《中华人民共和国出境入境管理法》")
    for n, (s, p, o) in enumerate([(NIA, "issues", VISA), (NIA, "conducts", CAMP),
                                   (CAMP, "targets", SMUGGLING), (XU, "heads", NIA),
                                   (SH_STATION, "subOrganizationOf", NIA),
                                   (SH_STATION, "locatedIn", SHANGHAI),
                                   (NIA, "cooperatesWith", CUSTOMS), (NIA, "reports", STAT)]):
        _relation(g, s, p, o, n)

    g.add((STAT, RDF.type, KGO.Statistic))
    g.add((STAT, KGO.value, Literal(Decimal("168000000"))))
    g.add((STAT, KGO.unit, Literal("人次")))
    g.add((STAT, KGO.metric, Literal("查验出入境人员", lang="zh")))
    g.add((STAT, KGO.period, Literal("2023上半年")))
    g.add((STAT, KGO.surface, Literal("1.68億人次")))
    g.add((STAT, PROV.wasDerivedFrom, SENT))
    g.add((STAT, KGO.confidence, Literal(Decimal("0.9"))))
    g.add((STAT, KGO.extractedBy, Literal("statistics")))

    g.add((MENTION, RDF.type, KGO.Mention))
    g.add((MENTION, KGO.mentionOf, NIA))
    g.add((MENTION, KGO.inDocument, DOC))
    g.add((MENTION, KGO.surface, Literal("國家移民管理局")))
    g.add((MENTION, KGO.startOffset, Literal(120)))
    g.add((MENTION, KGO.endOffset, Literal(127)))
    g.add((MENTION, PROV.wasDerivedFrom, SENT))
    g.add((MENTION, KGO.confidence, Literal(Decimal("1"))))
    g.add((MENTION, KGO.extractedBy, Literal("lexicon")))
    return g


def test_conforming_graph_validates():
    g = make_graph()
    size = len(g)
    conforms, report = validate(g)
    assert conforms, report
    assert len(g) == size  # validation works on a copy


def test_conforming_graph_with_ontology_merged_in_validates(ont):
    # graph.ttl includes the ontology terms: their labels must not trip the entity shapes.
    conforms, report = validate(make_graph() + ont)
    assert conforms, report


def _drop(p, s=None):
    return lambda g: g.remove((s, p, None))


def _replace(s, p, o):
    return lambda g: (g.remove((s, p, None)), g.add((s, p, o)))


def _rename(node, name: str):
    """Give an entity a new prefLabel (and the matching rdfs:label)."""
    def mutate(g: Graph) -> None:
        _replace(node, SKOS.prefLabel, Literal(name, lang="zh"))(g)
        _replace(node, RDFS.label, Literal(name, lang="zh"))(g)
    return mutate


def _drop_evidence_sentence(g: Graph) -> None:
    g.remove((KGR["evidence/0"], PROV.wasDerivedFrom, None))


def _issues_location(g: Graph) -> None:
    g.remove((NIA, KGO.issues, VISA))
    g.remove((KGR["evidence/0"], None, None))
    _relation(g, NIA, "issues", SHANGHAI, 0)


ONE_PREFLABEL = "exactly one skos:prefLabel, tagged @zh"
BARE_NAME = "skos:prefLabel is the bare name"

# case -> (how to break the conforming graph, a message the report must contain)
BROKEN = {
    "missing prefLabel": (_drop(SKOS.prefLabel, VISA), ONE_PREFLABEL),
    "two prefLabels": (lambda g: g.add((NIA, SKOS.prefLabel, Literal("移民局", lang="zh"))), ONE_PREFLABEL),
    "prefLabel without language": (_replace(SHANGHAI, SKOS.prefLabel, Literal("上海")), ONE_PREFLABEL),
    "prefLabel in English": (_replace(SHANGHAI, SKOS.prefLabel, Literal("Shanghai", lang="en")), ONE_PREFLABEL),
    "prefLabel with book-title marks": (_rename(LAW, "《出境入境管理法》"), BARE_NAME),
    "prefLabel with quote marks": (_rename(CAMP, "“獴猎”行动"), BARE_NAME),
    "prefLabel with corner brackets": (_rename(CAMP, "「獴猎」行动"), BARE_NAME),
    "prefLabel with a space": (_rename(XU, "许 甘露"), BARE_NAME),
    "prefLabel with an ideographic space": (_rename(XU, "许\u3000甘露"), BARE_NAME),
    "rdfs:label differs from prefLabel": (_replace(SHANGHAI, RDFS.label, Literal("沪", lang="zh")),
                                          "rdfs:label equals skos:prefLabel"),
    "altLabel repeats the prefLabel": (lambda g: g.add((NIA, SKOS.altLabel, Literal("国家移民管理局", lang="zh"))),
                                       "skos:altLabel values are language-tagged strings other than"),
    "not mentioned in a document": (_drop(KGO.mentionedIn, SMUGGLING), "kgo:mentionedIn at least one"),
    "issues points at a Location": (_issues_location, "kgo:issues points at a kgo:Measure"),
    "heads from an agency": (lambda g: _relation(g, NIA, "heads", SH_STATION, 98), "only a kgo:Person heads"),
    "statistic mentioned in a document": (lambda g: g.add((STAT, KGO.mentionedIn, DOC)),
                                          "only an entity (one of the seven entity classes)"),
    "two entity classes": (lambda g: g.add((SHANGHAI, RDF.type, KGO.Agency)), "only one of the kgo: classes"),
    "relation without evidence": (lambda g: g.add((SH_STATION, KGO.conducts, CAMP)), "relation has no kgo:Evidence"),
    "evidence for an absent triple": (_drop(KGO.targets, CAMP), "names a triple that is not in the graph"),
    "statistic without value": (_drop(KGO.value, STAT), "exactly one kgo:value, an xsd:decimal"),
    "statistic value as double": (_replace(STAT, KGO.value, Literal(1.68e8)), "exactly one kgo:value, an xsd:decimal"),
    "statistic without sentence": (_drop(PROV.wasDerivedFrom, STAT), "prov:wasDerivedFrom at least one kgo:Sentence"),
    "statistic with empty unit": (_replace(STAT, KGO.unit, Literal("")), "exactly one non-empty kgo:unit"),
    "statistic metric without language": (_replace(STAT, KGO.metric, Literal("查验出入境人员")), "kgo:metric"),
    "evidence without sentence": (_drop_evidence_sentence, "prov:wasDerivedFrom at least one kgo:Sentence"),
    "evidence with an unknown predicate": (_replace(KGR["evidence/0"], RDF.predicate, SKOS.related),
                                           "exactly one rdf:predicate, a kgo: relation property"),
    "evidence without confidence": (_drop(KGO.confidence, KGR["evidence/3"]), "evidence has a kgo:confidence"),
    "confidence above 1": (_replace(KGR["evidence/1"], KGO.confidence, Literal(Decimal("1.5"))),
                           "between 0 and 1"),
    "sentence without offsets": (_drop(KGO.startOffset, SENT), "a sentence has a kgo:startOffset"),
    "sentence ends before it starts": (_replace(SENT, KGO.endOffset, Literal(100)), "below kgo:endOffset"),
    "sentence in no document": (_drop(KGO.inDocument, SENT), "exactly one kgo:inDocument"),
    "document without hash": (_drop(KGO.contentHash, DOC), "exactly one kgo:contentHash"),
    "document with a short hash": (_replace(DOC, KGO.contentHash, Literal("abc123")), "exactly one kgo:contentHash"),
    "document without path": (_drop(KGO.sourcePath, DOC), "at least one kgo:sourcePath"),
    "document with a bad script": (_replace(DOC, KGO.script, Literal("Latn")), "kgo:script is"),
    "mention of nothing": (_drop(KGO.mentionOf, MENTION), "kgo:mentionOf exactly one entity"),
    "mention of a document": (_replace(MENTION, KGO.mentionOf, DOC), "kgo:mentionOf exactly one entity"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_graph_does_not_conform(case):
    mutate, expected_in_report = BROKEN[case]
    g = make_graph()
    mutate(g)
    conforms, report = validate(g)
    assert not conforms, case
    assert expected_in_report in report, report


def test_rdfs_inference_would_hide_wrong_relation_targets():
    """Why validate() runs without inference: with RDFS, a property's range types whatever it
    points at, so a wrong target passes sh:class (only the disjointness shape may still notice)."""
    import pyshacl

    def shacl_rdfs(g: Graph) -> tuple[bool, str]:
        conforms, _, report = pyshacl.validate(g, shacl_graph=load_shapes(),
                                               ont_graph=load_ontology(), inference="rdfs")
        return conforms, report

    g = make_graph()
    _issues_location(g)
    conforms, report = shacl_rdfs(g)
    assert "kgo:issues points at a kgo:Measure" not in report
    assert "only one of the kgo: classes" in report
    g = make_graph()
    g.add((STAT, KGO.mentionedIn, DOC))  # the domain makes the statistic an entity
    assert shacl_rdfs(g)[0]
    assert not validate(g)[0]


def test_cooperation_evidence_counts_in_either_direction():
    g = make_graph()
    g.remove((NIA, KGO.cooperatesWith, CUSTOMS))
    g.add((CUSTOMS, KGO.cooperatesWith, NIA))  # evidence/6 still names NIA → CUSTOMS
    conforms, report = validate(g)
    assert conforms, report


@pytest.mark.parametrize("path", sorted(ONTOLOGY_DIR.rglob("*.yaml")), ids=lambda p: p.name)
def test_knowledge_yaml_reads_as_yaml_safe_load_does(path):
    import yaml
    from kg.config import load_knowledge_yaml
    assert load_knowledge_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8"))
