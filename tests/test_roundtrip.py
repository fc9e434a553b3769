"""Untrusted text through RDF and the page (issue 7): whatever a stranger's file puts into a
label, a sentence, a metric, a title or a path comes back out exactly, in every format, from
both RDF libraries, and is never read as markup by the page.

What cannot come back is a lone surrogate (it cannot be written as UTF-8 at all). Ingest turns
the ones that can reach a Document (escapes in YAML front matter, file names that are not UTF-8)
into U+FFFD or \\xNN (kg.ingest.printable / _clean_meta); kg.rdf replaces any left as a last
guard. Everything else, control characters included, is written escaped and read back as it was.
"""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS

from kg.build import write_outputs
from kg.model import Document, Findings, Mention, Relation, Sentence, StatisticFinding
from kg.ontology import KGO
from kg.rdf import build_graph, doc_iri, graph_triples, sentence_iri
from kg.resolve import resolve

# Characters and strings that break naive writers: quotes of both long-string forms, escapes,
# line ends (" .\n" is what graph.ttl's writer looks for between statements), every C0 control,
# markup, and characters that are white space or invisible in some parsers.
SPECIALS = ['"', '"""', "'''", "\\", "\\u0041", "\\n", "\n", "\r", "\r\n", " .\n", "\t", ">", "<",
            "&", "<script>", "</script>", "<!--", "]]>", "{{", "}}", "\u2028", "\u2029", "\x85",
            "\ufeff", "\ufffe", "\uffff", "\U0010ffff", "@zh", "^^", "#", "\x7f"] + \
    [chr(c) for c in range(0x20)]
TEXT = st.lists(st.one_of(st.characters(codec="utf-8"), st.sampled_from(SPECIALS)),
                min_size=1, max_size=24).map("".join)

DOC_ID = "doc_0123abcd"


def resolved_with(text: str, name: str, metric: str, title: str, path: str):
    """One document whose sentence is `text`, an agency called `name` that issues a measure,
    and a statistic counting `metric`, resolved as the build resolves findings."""
    doc = Document(path=path, doc_id=DOC_ID, raw=text, text=text, offsets=list(range(len(text))),
                   original=text, meta={"title": title}, content_hash="0" * 64)
    agency = Mention("Agency", name, 0, len(text), name, "test", 0.9, sentence=0)
    measure = Mention("Measure", "措施" + name, 0, len(text), "措施" + name, "test", 0.9, sentence=0)
    stat = StatisticFinding(1.68e8, "人次", metric, "2023", 0, len(text), text, "test", 0.9,
                            sentence=0, reporter=agency)
    f = Findings(doc, [Sentence(0, 0, len(text), text)], [agency, measure],
                 [Relation("issues", agency, measure, "test", 0.9, sentence=0)], [stat])
    return resolve([f])


def expected(resolved, text, metric, title, path) -> dict[tuple[str, str], set[tuple[str, str | None]]]:
    """(subject, predicate) -> {(value, language)} the graph must hold."""
    entity = next(e for e in resolved.entities.values() if e.cls == "Agency")
    statistic = ox.NamedNode(str(KGO.Statistic))
    stat = next(t.subject.value for t in graph_triples(resolved) if t.object == statistic)
    return {
        (entity.iri, str(SKOS.prefLabel)): {(entity.label, "zh")},
        (sentence_iri(DOC_ID, 0), str(KGO.text)): {(text, None)},
        (stat, str(KGO.metric)): {(metric, "zh")},
        (doc_iri(DOC_ID), str(DCTERMS.title)): {(title, "zh")},
        (doc_iri(DOC_ID), str(KGO.sourcePath)): {(path, None)},
    }


def in_rdflib(g: Graph, s: str, p: str) -> set:
    return {(str(o), o.language) for o in g.objects(URIRef(s), URIRef(p))}


def in_oxigraph(store: ox.Store, s: str, p: str) -> set:
    return {(q.object.value, q.object.language) for q in
            store.quads_for_pattern(ox.NamedNode(s), ox.NamedNode(p), None)}


FORMATS = [("turtle", ox.RdfFormat.TURTLE), ("nt", ox.RdfFormat.N_TRIPLES), ("json-ld", ox.RdfFormat.JSON_LD)]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, TEXT, TEXT, TEXT, TEXT)
def test_any_text_round_trips_in_every_format_and_both_libraries(text, name, metric, title, path):
    resolved = resolved_with(text, name, metric, title, path)
    want = expected(resolved, text, metric, title, path)
    triples = list(graph_triples(resolved))
    rdflib_graph = build_graph(resolved, include_ontology=False)
    for rdflib_format, ox_format in FORMATS:
        # rdflib writes, pyoxigraph and rdflib read
        data = rdflib_graph.serialize(format=rdflib_format, encoding="utf-8")
        store = ox.Store()
        store.load(data, format=ox_format)
        back = Graph().parse(data=data, format=rdflib_format)
        # pyoxigraph writes, rdflib and pyoxigraph read
        ox_data = ox.serialize(triples, format=ox_format)
        ox_back = Graph().parse(data=ox_data, format=rdflib_format)
        ox_store = ox.Store()
        ox_store.load(ox_data, format=ox_format)
        for (s, p), values in want.items():
            assert in_oxigraph(store, s, p) == values, (rdflib_format, "rdflib -> oxigraph", p)
            assert in_rdflib(back, s, p) == values, (rdflib_format, "rdflib -> rdflib", p)
            assert in_rdflib(ox_back, s, p) == values, (rdflib_format, "oxigraph -> rdflib", p)
            assert in_oxigraph(ox_store, s, p) == values, (rdflib_format, "oxigraph -> oxigraph", p)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, TEXT, TEXT, TEXT, TEXT)
def test_graph_ttl_as_the_build_writes_it_round_trips(text, name, metric, title, path):
    """graph.ttl, report.json and graph.html exactly as `kg build` writes them."""
    resolved = resolved_with(text, name, metric, title, path)
    want = expected(resolved, text, metric, title, path)
    report = {"documents": 1, "per_document": [{"path": path, "title": title}], "errors": [text]}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_outputs(out, resolved, report, render=True)
        g = Graph().parse(out / "graph.ttl", format="turtle")
        store = ox.Store()
        store.load(path=str(out / "graph.ttl"), format=ox.RdfFormat.TURTLE)
        assert len(store) == len(g)
        for (s, p), values in want.items():
            assert in_rdflib(g, s, p) == values, p
            assert in_oxigraph(store, s, p) == values, p
        back = json.loads((out / "report.json").read_text(encoding="utf-8"))
        assert back["per_document"] == [{"path": path, "title": title}] and back["errors"] == [text]
        page = (out / "graph.html").read_text(encoding="utf-8")
    check_page(page, resolved, text)


DATA_BLOCK = re.compile(r'(<script type="application/json" id="graph-data">)(.*?)(</script>)', re.S)
BENIGN = {}


def check_page(page: str, resolved, text: str) -> None:
    """Text stays text: the data block parses back to the labels, holds no markup character,
    and the page around it is byte for byte the page of a graph with plain labels."""
    blocks = DATA_BLOCK.findall(page)
    assert len(blocks) == 1
    raw = blocks[0][1]
    assert not re.search(r"[<>&]", raw)                     # nothing that can end the element
    data = json.loads(raw)
    labels = {n["label"] for n in data["nodes"]}
    for e in resolved.entities.values():
        assert e.label in labels
    if not BENIGN:
        with tempfile.TemporaryDirectory() as tmp:
            plain = resolved_with("国家移民管理局出台措施。", "国家移民管理局", "查验人员", "标题", "a.txt")
            write_outputs(Path(tmp), plain, {}, render=True)
            BENIGN["page"] = (Path(tmp) / "graph.html").read_text(encoding="utf-8")
    outside = DATA_BLOCK.sub(r"\1\3", page)
    assert outside == DATA_BLOCK.sub(r"\1\3", BENIGN["page"])


@pytest.mark.parametrize("bad", ["\ud800", "a\udcffb", "\udfff\ud800"])
def test_lone_surrogates_are_replaced_not_a_crash(bad, tmp_path):
    """kg.rdf's last guard: a lone surrogate in a literal is replaced, the build does not fail.
    (Names never hold one: they come from decoded text, which ingest checks, see test_fuzz.)"""
    resolved = resolved_with("句子" + bad, "机构", "指标" + bad, "标题" + bad, "路径" + bad)
    write_outputs(tmp_path, resolved, {"errors": ["x" + bad]}, render=True)
    g = Graph().parse(tmp_path / "graph.ttl", format="turtle")
    fixed = bad.encode("utf-8", "replace").decode("utf-8")       # kg.rdf's guard: "?" each
    assert set(g.objects(URIRef(sentence_iri(DOC_ID, 0)), KGO.text)) == {Literal("句子" + fixed)}
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["errors"] == ["x" + bad]
