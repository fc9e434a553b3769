"""kg.api: build, open_graph (rdflib on the Oxigraph store), query with bound values, networkx."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from oxrdflib import OxigraphStore
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import SKOS

from kg import api
from kg.query import QueryError
from kg.render import graph_to_networkx

ROOT = Path(__file__).resolve().parent.parent
KGO = Namespace("https://w3id.org/zh-policy-kg/ontology#")
NIA = "国家移民管理局"


def entity(graph: Graph, label: str) -> URIRef:
    return next(graph.subjects(SKOS.prefLabel, Literal(label, lang="zh")))


def test_open_graph_is_rdflib_on_the_oxigraph_store(seeds_output, seeds_graph):
    g = api.open_graph(seeds_output)
    assert isinstance(g, Graph) and isinstance(g.store, OxigraphStore)
    assert len(g) == len(seeds_graph)
    nia, visa = entity(seeds_graph, NIA), entity(seeds_graph, "口岸签证")
    assert (nia, KGO.issues, visa) in g
    assert str(g.value(nia, SKOS.prefLabel)) == NIA
    rows = g.query("SELECT ?m ?e WHERE { ?e kgo:issues ?m }", initBindings={"e": nia})
    assert visa in {row.m for row in rows}
    with pytest.raises(Exception):   # read-only: the store is shared with other readers
        g.add((nia, KGO.issues, URIRef("urn:x:new")))


def test_query_named_with_bound_values(seeds_output):
    rows = list(api.query(seeds_output, "measures-by-agency", agency="國家移民管理局"))
    assert "口岸签证" in {str(r.measure) for r in rows}
    assert {str(r.agency_name) for r in rows} == {NIA}
    assert all(int(r.documents) >= 1 for r in rows)


def test_query_text_with_an_iri_and_the_errors(seeds_output, seeds_graph):
    nia = entity(seeds_graph, NIA)
    rows = list(api.query(seeds_output, "SELECT ?e ?l WHERE { ?e skos:prefLabel ?l }", e=nia))
    assert [str(r.l) for r in rows] == [NIA]
    rows = list(api.query(seeds_output, "SELECT ?e ?l WHERE { ?e skos:prefLabel ?l }", e=f"<{nia}>"))
    assert [str(r.l) for r in rows] == [NIA]
    with pytest.raises(QueryError, match="syntax error"):
        api.query(seeds_output, "SELECT ?x WHERE { ?x ?p }")
    with pytest.raises(QueryError, match="no parameter"):
        api.query(seeds_output, "heads", boss="x")
    with pytest.raises(QueryError, match="needs"):
        api.query(seeds_output, "about")


def test_networkx_view_is_the_pages_view(seeds_output, seeds_graph):
    G = api.networkx_view(seeds_output)
    H = graph_to_networkx(seeds_graph)
    assert set(G.nodes) == set(H.nodes)
    assert set(G.edges(keys=True)) == set(H.edges(keys=True))
    nia = str(entity(seeds_graph, NIA))
    assert G.nodes[nia]["cls"] == "Agency"


def test_build_writes_the_outputs_and_the_query_store(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("国家移民管理局出台口岸签证措施。上海边检总站查验出入境人员1.2万人次。", encoding="utf-8")
    out = tmp_path / "out"
    result = api.build(src, out, render=False)
    assert result.documents == 1 and (out / "graph.ttl").is_file()
    assert [p for p in (out / "store").iterdir() if not p.name.startswith(".")]
    assert len(list(api.query(out, "documents"))) == 1


def test_readme_example_runs(tmp_path, capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Python API"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "seeds").symlink_to(ROOT / "seeds")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    printed = capsys.readouterr().out
    assert "口岸签证" in printed
