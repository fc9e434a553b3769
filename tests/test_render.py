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
    # edges name their relation; the page labels them from the relations table, in Chinese
    assert {data["relations"][e["rel"]]["zh"] for e in data["edges"]} == \
        {"发布", "开展", "打击", "领导", "隶属", "位于", "合作", "报告"}
    assert data["relations"]["issues"] == {"zh": "发布", "en": "issues"}
    # names, documents and evidence sentences are tables the nodes and edges point into
    nia = next(n for n in data["nodes"] if n["label"] == "国家移民管理局")
    assert "國家移民管理局" in nia["alt"]
    assert sorted(data["docs"][d] for d in nia["docs"]) == sorted([DOCS["d1"], DOCS["d2"]])
    issues = next(e for e in data["edges"] if e["rel"] == "issues" and e["from"] == nia["id"])
    (sent, confidence), = issues["ev"]
    text_, doc = data["sents"][sent]
    assert text_.startswith("国家移民管理局出台口岸签证措施") and data["docs"][doc] == DOCS["d1"]
    assert confidence == 0.8
    stat = next(n for n in data["nodes"] if n["cls"] == "Statistic")
    assert stat["stat"]["value"] == "1.68亿" and stat["stat"]["exact"] == "168000000"
    assert stat["stat"]["period"] == "2023上半年" and stat["stat"]["ev"][0][0] == sent
    # every node has a position and a size; the best-connected one is the biggest
    assert all(isinstance(n["x"], int) and isinstance(n["y"], int) for n in data["nodes"])
    assert nia["size"] == max(n["size"] for n in data["nodes"]) and nia.get("hub") == 1
    # small graph: no reduced view
    assert data["view"]["reduced"] is False and not any(n.get("core") for n in data["nodes"])
    # the legend lists every class present, each with a checkbox; relations too
    display = render.load_display()
    for cls in {c for _, c, _, _, _ in ENTITIES} | {"Statistic"}:
        assert f'data-cls="{cls}"' in text
        assert display["classes"][cls]["zh"] in text
    assert 'data-cls="Document"' not in text
    for rel in ("issues", "reports", "cooperatesWith"):
        assert f'data-rel="{rel}"' in text


def test_page_is_offline(page):
    _, text, _ = page
    for needle in ('src="http', "src='http", 'href="http', "href='http", "url(http", "@import"):
        assert needle not in text.lower()
    assert "vis.Network" in text                            # vis-network is inlined, not linked
    assert "physics: false" in text                         # positions come from Python


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
    # The page never hands graph text to an HTML parser.
    script = text[text.rindex("<script>"):]
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script
    assert "document.write" not in script
    data = page_data(text)
    assert EVIL_LABEL in {n["label"] for n in data["nodes"]}  # the text survives, as data
    assert EVIL_TITLE in data["docs"]
    assert any("</script><b>x</b>" in s for s, _ in data["sents"])


def test_empty_graph(tmp_path):
    out = tmp_path / "graph.html"
    assert render.render_html(Graph(), out) == {"nodes": 0, "edges": 0}
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "图谱为空" in text and "graph is empty" in text
    data = page_data(text)
    assert data["nodes"] == [] and data["edges"] == [] and data["classes"] == {}


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


# ---------------------------------------------------------------- layout, search folding, focus

def _synthetic(n: int):
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "bench" / "render_bench.py"
    spec = importlib.util.spec_from_file_location("render_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.synthetic_graph(n)


def _layout(G):
    display = render.load_display()
    boxes = {n: render.label_box(a["label"], display["classes"][a["cls"]]["shape"], *render.node_style(G, n))
             for n, a in G.nodes(data=True)}
    return render.compute_layout(G, boxes), boxes


def _overlaps(pos, boxes):
    rects = sorted((x - boxes[n][0], y - boxes[n][1], x + boxes[n][0], y + boxes[n][2], n)
                   for n, (x, y) in pos.items())
    found = []
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            if b[0] >= a[2]:
                break
            if b[1] < a[3] and a[1] < b[3]:
                found.append((a[4], b[4]))
    return found


def test_layout_draws_no_label_over_another_and_is_stable():
    G = _synthetic(600)
    pos, boxes = _layout(G)
    assert set(pos) == set(G)
    assert _overlaps(pos, boxes) == []
    again, _ = _layout(_synthetic(600))
    assert again == pos                                       # same graph, same page


def test_layout_keeps_satellites_near_and_single_nodes_below():
    G = render.graph_to_networkx(build_graph())
    pos, boxes = _layout(G)
    assert _overlaps(pos, boxes) == []
    nia, stat, law = (str(KGR[k]) for k in ("nia", "stat1", "law"))
    # a degree-1 node sits next to the node it hangs from, not across the page
    span = max(x for x, _ in pos.values()) - min(x for x, _ in pos.values())
    dist = ((pos[nia][0] - pos[stat][0]) ** 2 + (pos[nia][1] - pos[stat][1]) ** 2) ** 0.5
    assert dist < span / 2
    # the law has no relation: it is in the tray under every connected node
    linked = [n for n in G if G.degree(n)]
    assert G.degree(law) == 0
    assert pos[law][1] - boxes[law][1] > max(pos[n][1] + boxes[n][2] for n in linked)


def test_reduced_view_above_the_limit(monkeypatch):
    monkeypatch.setattr(render, "REDUCE_ABOVE", 5)
    monkeypatch.setattr(render, "REDUCED_NODES", 4)
    G = render.graph_to_networkx(build_graph())
    data = render.page_data(G, render.load_display())
    core = [n for n in data["nodes"] if n.get("core")]
    assert data["view"]["reduced"] is True and data["view"]["limit"] == 4
    assert len(core) == 4 and all("rx" in n and "ry" in n for n in core)
    assert not any(n["cls"] == "Statistic" for n in core)     # statistics fold into the panel
    assert "国家移民管理局" in {n["label"] for n in core}       # the best-connected first


def test_search_folds_traditional_script_and_marks():
    names = ["国家移民管理局", "獴猎行动", "边检"]
    fold = render.fold_map(names)
    assert fold["國"] == "国" and fold["獵"] == "猎" and fold["邊"] == "边" and fold["檢"] == "检"
    assert render._fold("“獴獵”行動", fold) == render._fold("獴猎行动", fold)
    assert render._fold("《國家移民管理局》", fold) == "国家移民管理局"


def test_focus_by_any_name():
    G = render.graph_to_networkx(build_graph())
    nia = str(KGR.nia)
    assert render.find_node(G, "國家移民管理局") == nia       # Traditional, also as an alias
    assert render.find_node(G, "移民局") == nia                # a short form
    assert render.find_node(G, "獴獵行動") == str(KGR.menglie)  # Traditional not seen anywhere
    with pytest.raises(LookupError):
        render.find_node(G, "不存在")
    one = render.focus_subgraph(G, "移民局", 1)
    assert set(one) == {nia} | set(G.successors(nia)) | set(G.predecessors(nia))
    assert str(KGR.smuggle) not in one                         # two relations away
    assert str(KGR.smuggle) in render.focus_subgraph(G, "移民局", 2)
    assert list(render.focus_subgraph(G, "移民局", 0)) == [nia]


def test_kg_render_writes_a_focused_page(tmp_path, capsys):
    from kg.cli import main
    out = tmp_path / "out"
    out.mkdir()
    build_graph().serialize(out / "graph.ttl", format="turtle")
    to = tmp_path / "nia.html"
    assert main(["render", str(out), "--focus", "國家移民管理局", "--hops", "1", "--to", str(to)]) == 0
    data = page_data(to.read_text(encoding="utf-8"))
    G = render.graph_to_networkx(build_graph())
    nia = str(KGR.nia)
    assert len(data["nodes"]) == len({nia} | set(G.successors(nia)) | set(G.predecessors(nia)))
    assert "聚焦" in to.read_text(encoding="utf-8")
    assert data["nodes"][data["view"]["focus"]]["label"] == "国家移民管理局"   # opens selected
    assert main(["render", str(out)]) == 0 and (out / "graph.html").exists()
    assert main(["render", str(out), "--focus", "不存在", "--to", str(tmp_path / "x.html")]) == 1
    assert "不存在" in capsys.readouterr().err and not (tmp_path / "x.html").exists()


PAGE_IN_A_NEW_PROCESS = """
import json, sys
from rdflib import Graph
from kg import render
G = render.graph_to_networkx(Graph().parse(sys.argv[1], format="turtle"))
full = render.page_data(G, render.load_display())
render.REDUCE_ABOVE, render.REDUCED_NODES = 20, 12        # the reduced view's own layout
reduced = render.page_data(G, render.load_display())
focus = render.page_data(render.focus_subgraph(G, "国家移民管理局"), render.load_display())
print(json.dumps([full["nodes"], reduced["nodes"], focus["nodes"]], ensure_ascii=False))
"""


def test_the_page_is_the_same_whatever_the_string_hashes_of_the_process(seeds_output):
    # Sets of strings come out in another order in each process (PYTHONHASHSEED); a layout
    # that iterated one would move every node from one build to the next.
    import subprocess
    import sys
    pages = []
    for seed in ("1", "2", "3"):
        done = subprocess.run([sys.executable, "-c", PAGE_IN_A_NEW_PROCESS, str(seeds_output / "graph.ttl")],
                              capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed})
        pages.append(json.loads(done.stdout))
    assert any(n.get("core") for n in pages[0][1])
    assert pages[0] == pages[1] == pages[2]
