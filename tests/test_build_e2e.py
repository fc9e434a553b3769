"""The seeds, end to end: what `kg build seeds --out DIR` writes."""
from __future__ import annotations

import json
import re
import subprocess
import sys

from rdflib import RDF, Graph, Literal
from rdflib.namespace import SKOS

from kg.ontology import KGO, validate
from tests.conftest import ROOT, SEEDS


def test_outputs_exist_and_turtle_parses_in_rdflib_and_oxigraph(seeds_output):
    import pyoxigraph
    for name in ("graph.ttl", "graph.html", "report.json"):
        assert (seeds_output / name).stat().st_size > 0
    store = pyoxigraph.Store()
    store.load(path=str(seeds_output / "graph.ttl"), format=pyoxigraph.RdfFormat.TURTLE)
    assert len(store) == len(Graph().parse(seeds_output / "graph.ttl", format="turtle"))


def test_graph_conforms_to_the_shapes(seeds_graph):
    conforms, report = validate(seeds_graph)
    assert conforms, report


def test_every_entity_has_one_simplified_pref_label_without_marks(seeds_graph):
    for cls in ("Agency", "Person", "Measure", "Campaign", "CrimeType", "Location", "Law"):
        for node in seeds_graph.subjects(RDF.type, KGO[cls]):
            labels = list(seeds_graph.objects(node, SKOS.prefLabel))
            assert len(labels) == 1 and labels[0].language == "zh"
            assert not re.search(r"[“”《》\s]", str(labels[0]))


def test_traditional_and_simplified_names_are_one_entity(seeds_graph):
    nia = [n for n in seeds_graph.subjects(SKOS.prefLabel, Literal("国家移民管理局", lang="zh"))]
    assert len(nia) == 1
    assert Literal("國家移民管理局", lang="zh") in set(seeds_graph.objects(nia[0], SKOS.altLabel))
    docs = set(seeds_graph.objects(nia[0], KGO.mentionedIn))
    assert len(docs) == 5


def test_quoted_campaign_forms_are_one_entity(seeds_graph):
    nodes = set(seeds_graph.subjects(SKOS.prefLabel, Literal("獴猎行动", lang="zh")))
    assert len(nodes) == 1
    assert len(set(seeds_graph.objects(nodes.pop(), KGO.mentionedIn))) == 2


def test_relations_and_statistics_trace_to_sentences_with_sparql(seeds_graph):
    q = """
    PREFIX kgo: <https://w3id.org/zh-policy-kg/ontology#>
    PREFIX prov: <http://www.w3.org/ns/prov#>
    PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
    SELECT ?s ?p ?o ?text ?start ?end ?doc WHERE {
      ?s ?p ?o . ?ev rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; prov:wasDerivedFrom ?sent .
      ?sent kgo:text ?text ; kgo:startOffset ?start ; kgo:endOffset ?end ; kgo:inDocument ?doc .
    }"""
    rows = list(seeds_graph.query(q))
    assert rows
    relation_count = sum(1 for p in ("issues", "conducts", "targets", "heads", "subOrganizationOf",
                                     "locatedIn", "cooperatesWith")
                         for _ in seeds_graph.subject_objects(KGO[p]))
    assert len({(r.s, r.p, r.o) for r in rows}) == relation_count
    # Offsets point into the decoded source file: the sentence text is there.
    raw = {}
    for r in rows[:50]:
        path = str(seeds_graph.value(r.doc, KGO.sourcePath))
        raw.setdefault(path, (ROOT / path).read_text(encoding="utf-8") if (ROOT / path).exists()
                       else (SEEDS / path.split("/")[-1]).read_text(encoding="utf-8"))
        span = raw[path][int(r.start):int(r.end)]
        assert re.sub(r"\s", "", span)[:4] == re.sub(r"\s", "", str(r.text))[:4] or \
            str(r.text)[:2] in span  # Traditional text is stored as written


def test_statistic_values_and_units(seeds_graph):
    figures = {(float(seeds_graph.value(s, KGO.value)), str(seeds_graph.value(s, KGO.unit)))
               for s in seeds_graph.subjects(RDF.type, KGO.Statistic)}
    assert (168000000.0, "人次") in figures
    assert (5.17, "吨") in figures
    assert (221000000.0, "元") in figures
    assert (98.2, "%") in figures


def test_report_counts_match_the_graph(seeds_output, seeds_graph):
    report = json.loads((seeds_output / "report.json").read_text(encoding="utf-8"))
    assert report["documents"] == 5
    assert report["entities"]["Agency"] == len(set(seeds_graph.subjects(RDF.type, KGO.Agency)))
    assert report["statistics"] == len(set(seeds_graph.subjects(RDF.type, KGO.Statistic)))
    assert len(report["per_document"]) == 5


def test_html_is_offline(seeds_output):
    html = (seeds_output / "graph.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?https?://|url\(\s*["']?https?://|@import""", html)
    assert "国家移民管理局" in html


def test_iris_are_stable_across_rebuilds(seeds_graph, tmp_path):
    from kg.build import build
    build([str(SEEDS / "000_4cdc6849661e5039.txt")], tmp_path, quiet=True, render=False)
    again = Graph().parse(tmp_path / "graph.ttl", format="turtle")
    label = Literal("国家移民管理局", lang="zh")
    assert set(again.subjects(SKOS.prefLabel, label)) == set(seeds_graph.subjects(SKOS.prefLabel, label))


def test_python_dash_m_kg_works_like_kg(tmp_path):
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "kg", "build", str(SEEDS / "001_a3555228d4adfba0.txt"),
                          "--out", str(out), "-q"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert (out / "graph.ttl").exists() and (out / "graph.html").exists()


def test_nothing_usable_is_a_one_line_error_and_keeps_the_old_output(seeds_output, tmp_path):
    bad = tmp_path / "empty.txt"
    bad.write_text("   \n", encoding="utf-8")
    before = (seeds_output / "graph.ttl").read_bytes()
    run = subprocess.run([sys.executable, "-m", "kg", "build", str(bad), str(tmp_path / "missing.txt"),
                          "--out", str(seeds_output), "-q"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "empty.txt" in run.stderr and "missing.txt" in run.stderr
    assert (seeds_output / "graph.ttl").read_bytes() == before


def test_min_confidence_filters_findings(tmp_path):
    from kg.build import build
    low = build([str(SEEDS)], tmp_path / "all", quiet=True, render=False)
    high = build([str(SEEDS)], tmp_path / "sure", quiet=True, render=False, min_confidence=0.8)
    assert high.relations < low.relations
    assert high.entities < low.entities


def test_an_output_folder_inside_the_inputs_is_not_read_as_articles(tmp_path):
    import shutil
    from kg.build import build
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seed in sorted(SEEDS.iterdir())[:2]:
        shutil.copy(seed, corpus / seed.name)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "out").symlink_to(corpus / "output", target_is_directory=True)
    first = build([str(corpus)], corpus / "output", render=True, quiet=True, jobs=1, cache=False)
    assert first.documents == 2 and not first.warnings
    # Again, with graph.html, graph.ttl and report.json now in the input folder, and once
    # through a link to the output folder: its files are still not articles.
    for out in (corpus / "output", tmp_path / "elsewhere" / "out"):
        again = build([str(corpus)], out, render=True, quiet=True, jobs=1, cache=False)
        assert again.documents == 2 and again.triples == first.triples
        assert any("output folder is among the inputs" in w for w in again.warnings)
