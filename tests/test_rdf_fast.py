"""graph.ttl goes through Oxigraph: the same triples as the rdflib graph, readable, and exact."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, PROV, SKOS

from conftest import SEEDS
from kg.ingest import read_document
from kg.model import Document, Findings, Mention, Relation, Sentence, StatisticFinding
from kg.ontology import KGO, load_ontology
from kg.passes import run_passes
from kg.rdf import PREFIXES, build_graph, write_turtle
from kg.resolve import resolve

DEV = Path(__file__).resolve().parent / "dev" / "articles"


@pytest.fixture(scope="module")
def real_resolved():
    """The seeds and the dev articles (one of them Traditional), through the real pipeline."""
    paths = sorted(SEEDS.glob("*.txt")) + sorted(DEV.glob("*.txt"))
    return resolve([run_passes(read_document(p)) for p in paths])


def hand_made(text: str, title: str = "标题") -> Findings:
    """One document with a node of each kind the graph has; offsets fit the text's first 28
    characters (the rest is one long sentence)."""
    doc = Document(path="d1.txt", doc_id="d1", raw=text, text=text, offsets=list(range(len(text))),
                   original=text, meta={"title": title, "date": "2023-07-01", "author": '记者"某"'},
                   content_hash="0" * 64)
    sent = Sentence(0, 0, len(text), text)
    agency = Mention("Agency", "国家移民管理局", 0, 7, "国家移民管理局", "lexicon", 0.9, sentence=0)
    measure = Mention("Measure", "144小时过境免签", 11, 20, "144小时过境免签", "measure-verb", 0.7,
                      sentence=0)
    stat = StatisticFinding(1.68e8, "人次", "查验出入境人员", "2023", 21, 28, "1.68亿人次", "statistics",
                            0.8, sentence=0, reporter=agency)
    rel = Relation("issues", agency, measure, "issues-conducts", 0.75, sentence=0)
    return Findings(doc, [sent], [agency, measure], [rel], [stat])


def written(resolved, tmp_path) -> tuple[Path, Graph]:
    path = tmp_path / "graph.ttl"
    count = write_turtle(resolved, path)
    g = Graph().parse(path, format="turtle")
    assert count == len(g)
    return path, g


def test_turtle_holds_the_same_triples_as_the_rdflib_graph(real_resolved, tmp_path):
    path, from_file = written(real_resolved, tmp_path)
    graph = build_graph(real_resolved)
    assert len(graph) > 3000
    assert isomorphic(graph, from_file)
    # Oxigraph's own strict parser reads it too, to the same number of triples.
    assert sum(1 for _ in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)) == len(graph)
    # The ontology is in it (its triples without blank nodes, which each parse names anew).
    named = [t for t in load_ontology() if not any(isinstance(x, BNode) for x in t)]
    assert len(named) > 300 and all(t in from_file for t in named)


def test_turtle_uses_prefixes_and_writes_each_subject_once(real_resolved, tmp_path):
    path, g = written(real_resolved, tmp_path)
    text = path.read_text(encoding="utf-8")
    data = text[text.index("@prefix", text.index("owl:Ontology")):]   # after the ontology part
    for prefix, ns in PREFIXES.items():
        assert f"@prefix {prefix}: <{ns}> ." in data
    body = "\n".join(line for line in data.splitlines() if not line.startswith("@prefix"))
    assert "<https://w3id.org/zh-policy-kg/resource/" not in body       # kgr: names, not full IRIs
    starts = [line.split(" ", 1)[0] for line in body.splitlines() if line and not line[0].isspace()]
    assert len(starts) == len(set(starts))                               # one block per subject
    subjects = {s for s in g.subjects() if str(s).startswith(str(PREFIXES["kgr"]))}
    assert len(starts) == len(subjects)
    # Smaller than one triple per line with full IRIs would be.
    assert path.stat().st_size < 0.5 * len(g.serialize(format="nt").encode("utf-8"))


def test_literal_forms_are_exact(tmp_path):
    text = "国家移民管理局发布实施144小时过境免签，1.68亿人次"
    resolved = resolve([hand_made(text)])
    _, g = written(resolved, tmp_path)
    assert isomorphic(g, build_graph(resolved))
    stat = next(g.subjects(RDF.type, KGO.Statistic))
    value = g.value(stat, KGO.value)
    assert value.datatype == XSD.decimal and str(value) == "168000000" and value.toPython() == Decimal(168000000)
    assert g.value(stat, KGO.metric) == Literal("查验出入境人员", lang="zh")
    assert g.value(stat, KGO.period) == Literal("2023")
    assert g.value(stat, KGO.startOffset) == Literal(21)              # xsd:integer
    assert g.value(stat, KGO.endOffset) == Literal(28)
    assert g.value(stat, KGO.confidence) == Literal(Decimal("0.8"), datatype=XSD.decimal)
    agency = next(g.subjects(SKOS.prefLabel, Literal("国家移民管理局", lang="zh")))
    assert (agency, KGO.reports, stat) in g
    assert g.value(agency, KGO.documentCount) == Literal(1)
    measure = next(g.subjects(RDF.type, KGO.Measure))
    assert (agency, KGO.issues, measure) in g
    evidence = next(g.subjects(RDF.type, KGO.Evidence))
    assert (evidence, RDF.type, RDF.Statement) in g
    sentence = g.value(evidence, PROV.wasDerivedFrom)
    assert g.value(sentence, KGO.text) == Literal(text)
    doc = next(g.subjects(RDF.type, KGO.Document))
    assert g.value(doc, DCTERMS.date) == Literal("2023-07-01", datatype=XSD.date)
    assert g.value(doc, DCTERMS.creator) == Literal('记者"某"')


@pytest.mark.parametrize("nasty", ['引号"和\\反斜杠', "换行\n回车\r制表\t", "控制\x01字符 .\n结尾 .",
                                   "<http://x> \"^^<y>", "@prefix kgo: <z> ."])
def test_any_text_is_escaped_and_reads_back(tmp_path, nasty):
    text = "国家移民管理局发布实施144小时过境免签，1.68亿人次" + nasty
    resolved = resolve([hand_made(text, title=nasty)])
    path, g = written(resolved, tmp_path)
    assert isomorphic(g, build_graph(resolved))
    assert Literal(text) in set(g.objects(None, KGO.text))
    assert Literal(nasty, lang="zh") in set(g.objects(None, DCTERMS.title))
    assert sum(1 for _ in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)) == len(g)


def test_a_lone_surrogate_is_replaced_not_fatal(tmp_path):
    text = "国家移民管理局发布实施144小时过境免签，1.68亿人次\udcff"
    _, g = written(resolve([hand_made(text)]), tmp_path)
    texts = [str(o) for o in g.objects(None, KGO.text)]
    assert texts == [text[:-1] + "?"]


def test_every_relation_has_its_evidence_in_the_file(real_resolved, tmp_path):
    _, g = written(real_resolved, tmp_path)
    for (pred, s, o), rel in real_resolved.relations.items():
        assert (URIRef(s), KGO[pred], URIRef(o)) in g
        stated = set(g.subjects(RDF.subject, URIRef(s))) & set(g.subjects(RDF.object, URIRef(o)))
        assert len([e for e in stated if (e, RDF.predicate, KGO[pred]) in g]) == len(rel.evidence)


def test_statements_end_lines_only_where_turtle_does(tmp_path):
    # The writer puts an empty line after ' .' at line ends; a literal ending in ' .' must not
    # be cut (its line break is escaped), so the file still parses to the same graph.
    text = "国家移民管理局发布实施144小时过境免签，1.68亿人次 .\n .\n"
    path, g = written(resolve([hand_made(text, title="标题 .")]), tmp_path)
    assert "\n\n\tkgo:" not in path.read_text(encoding="utf-8")   # no block cut in two
    doc = next(g.subjects(RDF.type, KGO.Document))
    assert g.value(doc, DCTERMS.title) == Literal("标题 .", lang="zh")
    assert set(g.objects(None, KGO.text)) == {Literal(text)}
