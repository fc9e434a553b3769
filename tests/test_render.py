"""kg.render: the offline HTML page and its networkx view, on a small hand-built graph."""
from __future__ import annotations

import json
import os
import re
from decimal import Decimal

import pytest
from rdflib import RDF, RDFS, Graph, Literal, Namespace
from rdflib.namespace import DCTERMS, PROV, SKOS
import rdflib.namespace

from kg import render

KGO = Namespace("https://w3id.org/zh-policy-kg/ontology#")
KGR = Namespace("https://w3id.org/zh-policy-kg/resource/")
DECIMAL = rdflib.namespace.XSD.decimal  # not XSD itself: pytest's collector warns on it

EVIL_LABEL = "<img src=x onerror=alert(1)>"
EVIL_TITLE = "</script><script>alert(1)</script>"
DATA_BLOCK = re.compile(r'<script type="application/json" id="graph-data">(.*?)</script>', re.S)

# (local name, class, prefLabel, altLabels, documents)
ENTITIES = [
    ("nia", "Agency", "国家移民管理局", ["國家移民管理局", "移民局"], ["d1", "d2"]),
    ("mps", "Agency", "公安部", [], ["d1"]),
    ("shbj", "Agency", "上海边检总站", ["上海邊檢總站"], ["d2"]),
    ("xu", "Person", "许甘露", ["許甘露"], ["d1"]),
    ("visa", "Measure", "口岸签证", ["口岸簽證"], ["d1"]),
    ("menglie", "Campaign", "獴猎行动", ["“獴猎”行动"], ["d2"]),
    ("smuggle", "CrimeType", "走私", [], ["d2"]),
    ("toudu", "CrimeType", "偷渡", [], ["d2"]),
    ("shanghai", "Location", "上海", [], ["d2"]),
    ("law", "Law", "中华人民共和国出境入境管理法", ["出境入境管理法"], ["d1"]),
    ("evil", "Measure", EVIL_LABEL, [], ["d3"]),
]
RELATIONS = [
    ("nia", "issues", "visa"), ("nia", "conducts", "menglie"), ("menglie", "targets", "smuggle"),
    ("menglie", "targets", "toudu"), ("xu", "heads", "nia"), ("shbj", "subOrganizationOf", "nia"),
    ("shbj", "locatedIn", "shanghai"), ("nia", "cooperatesWith", "mps"), ("mps", "issues", "evil"),
]
DOCS = {"d1": "国家移民管理局出台新措施", "d2": "上海边检“獴猎”行动", "d3": EVIL_TITLE}


def build_graph() -> Graph:
    g = Graph()
    for key, title in DOCS.items():
        g.add((KGR[key], RDF.type, KGO.Document))
        g.add((KGR[key], DCTERMS.title, Literal(title)))
        g.add((KGR[key], KGO.sourcePath, Literal(f"seeds/{key}.txt")))
    sent = KGR["s1"]
    g.add((sent, RDF.type, KGO.Sentence))
    g.add((sent, KGO.text, Literal("国家移民管理局出台口岸签证措施。</script><b>x</b>")))
    g.add((sent, KGO.inDocument, KGR.d1))
    g.add((sent, KGO.startOffset, Literal(12)))
    g.add((sent, KGO.endOffset, Literal(40)))
    for key, cls, label, alts, docs in ENTITIES:
        e = KGR[key]
        g.add((e, RDF.type, KGO[cls]))
        g.add((e, SKOS.prefLabel, Literal(label, lang="zh")))
        g.add((e, RDFS.label, Literal(label, lang="zh")))
        for alt in alts:
            g.add((e, SKOS.altLabel, Literal(alt, lang="zh")))
        for d in docs:
            g.add((e, KGO.mentionedIn, KGR[d]))
    for i, (s, p, o) in enumerate(RELATIONS):
        g.add((KGR[s], KGO[p], KGR[o]))
        ev = KGR[f"ev{i}"]
        for t in (KGO.Evidence, RDF.Statement):
            g.add((ev, RDF.type, t))
        g.add((ev, RDF.subject, KGR[s]))
        g.add((ev, RDF.predicate, KGO[p]))
        g.add((ev, RDF.object, KGR[o]))
        g.add((ev, KGO.confidence, Literal(Decimal("0.8"), datatype=DECIMAL)))
        g.add((ev, KGO.extractedBy, Literal("test-pass")))
        g.add((ev, PROV.wasDerivedFrom, sent))
    stat = KGR["stat1"]
    g.add((stat, RDF.type, KGO.Statistic))
    g.add((stat, KGO.value, Literal("168000000", datatype=DECIMAL)))
    g.add((stat, KGO.unit, Literal("人次")))
    g.add((stat, KGO.metric, Literal("查验出入境人员", lang="zh")))
    g.add((stat, KGO.period, Literal("2023上半年")))
    g.add((stat, PROV.wasDerivedFrom, sent))
    g.add((KGR.nia, KGO.reports, stat))
    return g


def page_data(text: str) -> dict:
    blocks = DATA_BLOCK.findall(text)
    assert len(blocks) == 1
    return json.loads(blocks[0])


@pytest.fixture
def page(tmp_path):
    out = tmp_path / "out" / "graph.html"
    stats = render.render_html(build_graph(), out, title=EVIL_TITLE)
    return out, out.read_text(encoding="utf-8"), stats


def test_networkx_view():
    G = render.graph_to_networkx(build_graph())
    assert G.number_of_nodes() == len(ENTITIES) + 1          # entities + the statistic
    assert G.number_of_edges() == len(RELATIONS) + 1         # relations + reports
    nia = G.nodes[str(KGR.nia)]
    assert nia["label"] == "国家移民管理局" and nia["cls"] == "Agency"
    assert nia["altLabels"] == sorted(["國家移民管理局", "移民局"])
    assert nia["documents"] == sorted([DOCS["d1"], DOCS["d2"]])
    assert not any(G.nodes[n]["cls"] == "Document" for n in G)  # documents are not drawn
    stat = G.nodes[str(KGR.stat1)]
    assert stat["cls"] == "Statistic" and stat["label"].startswith("1.68亿人次")
    assert stat["metric"] == "查验出入境人员" and stat["period"] == "2023上半年"
    assert stat["documents"] == [DOCS["d1"]]                 # through its sentence
    edge = G.get_edge_data(str(KGR.nia), str(KGR.visa))["issues"]
    assert edge["predicate"] == "issues"
    assert edge["evidence"][0]["confidence"] == Decimal("0.8")
    assert edge["evidence"][0]["document"] == DOCS["d1"]
    assert "reports" in G.get_edge_data(str(KGR.nia), str(KGR.stat1))


def test_page_has_labels_legend_and_counts(page):
    out, text, stats = page
    G = render.graph_to_networkx(build_graph())
    data = page_data(text)
    assert stats == {"nodes": G.number_of_nodes(), "edges": G.number_of_edges()}
    assert len(data["nodes"]) == G.number_of_nodes() and len(data["edges"]) == G.number_of_edges()
    labels = {n["label"] for n in data["nodes"]}
    for _, _, label, _, _ in ENTITIES:
        assert label in labels
    # edge labels are the Chinese relation names from display.yaml
    assert {e["label"] for e in data["edges"]} == {"发布", "开展", "打击", "领导", "隶属", "位于", "合作", "报告"}
    # tooltips carry the class in both languages and the document titles
    nia = next(n for n in data["nodes"] if n["label"] == "国家移民管理局")
    assert "机构（Agency）" in nia["tip"] and DOCS["d2"] in nia["tip"]
    assert "國家移民管理局" in nia["alt"]
    # the legend lists every class present, each with a checkbox
    display = render.load_display()
    for cls in {c for _, c, _, _, _ in ENTITIES} | {"Statistic"}:
        assert f'data-cls="{cls}"' in text
        assert display["classes"][cls]["zh"] in text
    assert 'data-cls="Document"' not in text


def test_page_is_offline(page):
    _, text, _ = page
    for needle in ('src="http', "src='http", 'href="http', "href='http", "url(http", "@import"):
        assert needle not in text.lower()
    assert "vis.Network" in text                            # vis-network is inlined, not linked
    assert "stabilizationIterationsDone" in text and "physics: false" in text


def test_malicious_text_stays_escaped(page):
    _, text, _ = page
    assert EVIL_LABEL not in text
    assert "<img" not in text
    assert "<b>x</b>" not in text
    # The template itself never writes a closing and an opening script tag back to back.
    assert text.count("</script><script>") == 0
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in text  # <title> and <h1>
    # Every raw </script> is one of the template's own three script elements.
    assert text.lower().count("</script") == 3
    data = page_data(text)
    assert EVIL_LABEL in {n["label"] for n in data["nodes"]}  # the text survives, as data
    assert any(EVIL_TITLE in n["tip"] for n in data["nodes"])


def test_empty_graph(tmp_path):
    out = tmp_path / "graph.html"
    assert render.render_html(Graph(), out) == {"nodes": 0, "edges": 0}
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "图谱为空" in text and "graph is empty" in text
    assert page_data(text) == {"nodes": [], "edges": [], "classes": {}}


def test_write_is_atomic(tmp_path, monkeypatch):
    out = tmp_path / "graph.html"
    out.write_text("old page", encoding="utf-8")

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(render.json, "dumps", boom)
    with pytest.raises(RuntimeError):
        render.render_html(build_graph(), out)
    monkeypatch.undo()
    # a failure while writing the file itself: the old page stays, no temp file is left
    monkeypatch.setattr(render.os, "replace", boom)
    with pytest.raises(RuntimeError):
        render.render_html(build_graph(), out)
    assert out.read_text(encoding="utf-8") == "old page"
    assert os.listdir(tmp_path) == ["graph.html"]


def test_number_format_uses_display_scales():
    scales = render.load_display()["number_scales"]
    assert render.format_number(Decimal("168000000"), scales) == "1.68亿"
    assert render.format_number(Decimal("35000"), scales) == "3.5万"
    assert render.format_number(Decimal("12.50"), scales) == "12.5"
    assert render.format_number("n/a", scales) == "n/a"


def test_display_file_is_checked(tmp_path):
    bad = tmp_path / "display.yaml"
    bad.write_text('classes:\n  Agency: {zh: 机构, en: Agency, colour: "red;x", shape: dot}\n',
                   encoding="utf-8")
    with pytest.raises(ValueError, match="colour"):
        render.load_display(bad)
