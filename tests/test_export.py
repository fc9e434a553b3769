"""kg export and kg push on the seeds' output: exports re-import losslessly, and a real
Oxigraph server (the `oxigraph` package's binary) receives the graph over the Graph Store Protocol."""
from __future__ import annotations

import csv
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import networkx as nx
import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

from kg import cli
from kg.api import networkx_view
from kg.export import CSV_COLUMNS, export, flat_view
from kg.push import PushError, push
from kg.store import open_store

# rdflib 7 warns about its own ConjunctiveGraph use inside its parsers
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
KGO = "https://w3id.org/zh-policy-kg/ontology#"


def documents(graph: Graph) -> set[str]:
    return {str(d) for d in graph.subjects(URIRef(
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), URIRef(KGO + "Document"))}


# ---------------------------------------------------------------- RDF

def test_ntriples_is_the_graph_exactly(seeds_output, seeds_graph, tmp_path):
    path = tmp_path / "graph.nt"
    assert export(seeds_output, "nt", path) == len(seeds_graph)
    assert isomorphic(Graph().parse(path, format="nt"), seeds_graph)


@pytest.mark.parametrize("fmt, parser", [("nq", "nquads"), ("trig", "trig"), ("jsonld", "json-ld")])
def test_dataset_formats_have_the_graph_and_one_named_graph_per_document(
        seeds_output, seeds_graph, tmp_path, fmt, parser):
    path = tmp_path / f"graph.{fmt}"
    export(seeds_output, fmt, path)
    ds = Dataset()
    ds.parse(path, format=parser)
    default = ds.graph(DATASET_DEFAULT_GRAPH_ID)
    assert isomorphic(default, seeds_graph)
    named = {str(g.identifier): g for g in ds.graphs() if g.identifier != DATASET_DEFAULT_GRAPH_ID}
    assert set(named) == documents(seeds_graph)
    for iri, g in named.items():
        assert len(g) > 0
        assert all(t in seeds_graph for t in g), iri      # views of the default graph
        # each document's graph holds its own sentences and nothing of other documents
        sentences_docs = set(g.objects(None, URIRef(KGO + "inDocument")))
        assert sentences_docs == {URIRef(iri)}


def test_cli_export_reports_what_it_wrote(seeds_output, tmp_path, capsys):
    out = tmp_path / "out"              # a graph without its query store yet
    out.mkdir()
    shutil.copy(seeds_output / "graph.ttl", out / "graph.ttl")
    for first in (True, False):
        assert cli.main(["export", str(out), "--format", "trig", "--to", str(tmp_path / "g.trig")]) == 0
        lines = capsys.readouterr().err.splitlines()
        assert lines[-1].startswith(f"wrote {tmp_path / 'g.trig'}: ") and lines[-1].endswith(" quads")
        # the documents' graphs come from the store: the first export says it makes it
        assert lines[:-1] == ([f"kg export: making the query store of {out / 'graph.ttl'}, once for "
                               "this graph (about a minute per million triples; `kg build --store` "
                               "makes it at build time)"] if first else [])
    assert not list(tmp_path.glob(".*.tmp"))                        # nothing half-written left


# ---------------------------------------------------------------- networks and spreadsheets

def edge_set(G) -> set[tuple[str, str, str]]:
    return {(u, v, a["predicate"]) for u, v, a in G.edges(data=True)}


@pytest.mark.parametrize("fmt, reader", [("graphml", nx.read_graphml), ("gexf", nx.read_gexf)])
def test_network_formats_keep_nodes_and_edges(seeds_output, tmp_path, fmt, reader):
    view = networkx_view(seeds_output)
    path = tmp_path / f"graph.{fmt}"
    assert export(seeds_output, fmt, path) == view.number_of_edges()
    back = reader(path)
    assert set(back.nodes) == set(view.nodes)
    assert edge_set(back) == {(u, v, k) for u, v, k in view.edges(keys=True)}
    assert back.number_of_edges() == view.number_of_edges()
    nia = next(n for n, a in back.nodes(data=True) if a["label"] == "国家移民管理局")
    assert back.nodes[nia]["class"] == "Agency" and back.nodes[nia]["documentCount"] == 5
    assert "國家移民管理局" in back.nodes[nia]["altLabels"]


def test_flat_view_has_only_plain_attributes(seeds_output):
    view = flat_view(networkx_view(seeds_output))
    for _, a in view.nodes(data=True):
        assert all(isinstance(v, (str, int, float)) for v in a.values())
    for _, _, a in view.edges(data=True):
        assert all(isinstance(v, (str, int, float)) for v in a.values())
    stats = [a for _, a in view.nodes(data=True) if a["class"] == "Statistic"]
    assert any(a["value"] == 168000000 and a["unit"] == "人次" for a in stats)


def test_csv_edge_list(seeds_output, tmp_path):
    path = tmp_path / "edges.csv"
    n = export(seeds_output, "csv", path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")     # BOM: Excel reads it as UTF-8
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == CSV_COLUMNS and len(rows) == n
    visa = [r for r in rows if (r["subject_label"], r["predicate"], r["object_label"])
            == ("国家移民管理局", "issues", "口岸签证")]
    assert len(visa) == 1
    assert visa[0]["subject_class"] == "Agency" and visa[0]["object_class"] == "Measure"
    assert 0 < float(visa[0]["confidence"]) <= 1 and visa[0]["documents"]


# ---------------------------------------------------------------- push to a real Oxigraph server

def oxigraph_binary() -> str | None:
    local = Path(sys.executable).parent / "oxigraph"
    return str(local) if local.exists() else shutil.which("oxigraph")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def oxigraph_server(tmp_path_factory):
    binary = oxigraph_binary()
    if binary is None:
        pytest.skip("the oxigraph server binary is not installed (pip install oxigraph, in the dev extra)")
    port = free_port()
    location = tmp_path_factory.mktemp("oxigraph-db")
    proc = subprocess.Popen([binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"oxigraph serve did not start: {proc.stderr.read().decode()[:500]}")
            time.sleep(0.1)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def count(url: str, graph: str | None = None) -> int:
    where = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "?s ?p ?o"
    query = urllib.parse.urlencode({"query": f"SELECT (COUNT(*) AS ?n) {{ {where} }}"})
    req = urllib.request.Request(f"{url}/query?{query}", headers={"Accept": "text/csv"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return int(r.read().decode().split()[-1])


def test_push_into_oxigraph_default_and_named_graph(seeds_output, seeds_graph, oxigraph_server):
    store = oxigraph_server + "/store"
    assert push(seeds_output, store) in (200, 201, 204)
    assert count(oxigraph_server) == len(seeds_graph)
    push(seeds_output, store)                              # PUT replaces: still one copy
    assert count(oxigraph_server) == len(seeds_graph)
    named = "https://example.org/graphs/seeds"
    assert cli.main(["push", str(seeds_output), "--endpoint", store, "--graph", named]) == 0
    assert count(oxigraph_server, named) == len(seeds_graph)
    req = urllib.request.Request(f"{store}?{urllib.parse.urlencode({'graph': named})}",
                                 headers={"Accept": "application/n-triples"})
    with urllib.request.urlopen(req, timeout=10) as r:
        pushed = Graph().parse(data=r.read().decode(), format="nt")
    # Oxigraph keeps numbers as values ("102.0" comes back as "102"): compare with our own
    # Oxigraph store of the same graph.ttl, which does the same.
    ours = open_store(seeds_output).dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph())
    assert isomorphic(pushed, Graph().parse(data=ours.decode(), format="nt"))


def test_push_errors_are_one_line(seeds_output, capsys):
    with pytest.raises(PushError, match="cannot reach"):
        push(seeds_output, f"http://127.0.0.1:{free_port()}/store", timeout=5)
    assert cli.main(["push", str(seeds_output), "--endpoint", "ftp://example.org/x"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "http(s)" in err
