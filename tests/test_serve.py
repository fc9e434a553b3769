"""kg serve: the SPARQL 1.1 Protocol endpoint over the seeds' output, with SPARQLWrapper as a
real client and raw HTTP for what clients normally hide (negotiation, limits, paths)."""
from __future__ import annotations

import csv
import http.client
import io
import json
import threading
import time
import urllib.parse

import pytest
from rdflib import Graph
from SPARQLWrapper import CSV, JSON, POST, TSV, TURTLE, XML, SPARQLWrapper

from kg.serve import looks_like_update, make_server, negotiate, uses_service

# rdflib 7 warns about its own ConjunctiveGraph use inside its parsers
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TIMEOUT = 2.0
MAX_RESULTS = 50
MAX_REQUEST = 4096

MEASURES = """PREFIX kgo: <https://w3id.org/zh-policy-kg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?measure WHERE { ?a skos:prefLabel "国家移民管理局"@zh ; kgo:issues ?m . ?m skos:prefLabel ?measure }"""
LAWS_GRAPH = "CONSTRUCT { ?e skos:prefLabel ?n } WHERE { ?e a kgo:Law ; skos:prefLabel ?n }"
HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"   # ~10^10 rows


@pytest.fixture(scope="module")
def server(seeds_output):
    srv = make_server(seeds_output, "127.0.0.1", 0, timeout=TIMEOUT, max_results=MAX_RESULTS,
                      max_request=MAX_REQUEST, workers=2, quiet=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def request(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type") or "", r.read(), r
    finally:
        conn.close()


def get(server, query: str, accept: str | None = None):
    return request(server, "GET", "/sparql?" + urllib.parse.urlencode({"query": query}),
                   headers={"Accept": accept} if accept else {})


def post_form(server, **fields):
    return request(server, "POST", "/sparql", urllib.parse.urlencode(fields).encode(),
                   {"Content-Type": "application/x-www-form-urlencoded"})


def client(server) -> SPARQLWrapper:
    return SPARQLWrapper(server.url + "/sparql")


# ---------------------------------------------------------------- SPARQLWrapper

def test_sparqlwrapper_select_in_json(server):
    sw = client(server)
    sw.setQuery(MEASURES)
    sw.setReturnFormat(JSON)
    data = sw.query().convert()
    assert "口岸签证" in [b["measure"]["value"] for b in data["results"]["bindings"]]


def test_sparqlwrapper_post_xml_csv_tsv(server):
    sw = client(server)
    sw.setQuery(MEASURES)
    sw.setMethod(POST)
    sw.setReturnFormat(XML)
    doc = sw.query().convert()   # a DOM document
    assert "口岸签证" in [n.firstChild.data for n in doc.getElementsByTagName("literal")]
    sw.setReturnFormat(CSV)
    rows = list(csv.reader(io.StringIO(sw.query().convert().decode("utf-8"))))
    assert rows[0] == ["measure"] and ["口岸签证"] in rows
    sw.setReturnFormat(TSV)
    assert '"口岸签证"@zh' in sw.query().convert().decode("utf-8").splitlines()


def test_sparqlwrapper_ask_and_construct(server):
    sw = client(server)
    sw.setQuery("ASK { ?s a kgo:Law }")
    sw.setReturnFormat(JSON)
    assert sw.query().convert()["boolean"] is True
    sw.setQuery(LAWS_GRAPH)
    sw.setReturnFormat(TURTLE)
    g = Graph().parse(data=sw.query().convert(), format="turtle")
    assert {str(o) for o in g.objects()} >= {"中华人民共和国出境入境管理法"}


# ---------------------------------------------------------------- the protocol, by hand

def test_content_negotiation(server):
    for accept, media in (("text/csv", "text/csv"), ("text/tab-separated-values", "text/tab-separated-values"),
                          ("application/sparql-results+xml", "application/sparql-results+xml"),
                          ("application/json", "application/sparql-results+json"),
                          ("text/html, application/xml;q=0.9, */*;q=0.8", "application/sparql-results+xml"),
                          (None, "application/sparql-results+json")):
        status, ctype, _, r = get(server, MEASURES, accept)
        assert status == 200 and ctype.startswith(media), accept
        assert r.getheader("Vary") == "Accept"
    for accept, media in (("application/n-triples", "application/n-triples"),
                          ("application/ld+json", "application/ld+json"), (None, "text/turtle")):
        status, ctype, body, _ = get(server, LAWS_GRAPH, accept)
        assert status == 200 and ctype.startswith(media), accept
        fmt = {"application/n-triples": "nt", "application/ld+json": "json-ld"}.get(media, "turtle")
        assert len(Graph().parse(data=body, format=fmt)) == 2
    status, _, body, _ = get(server, MEASURES, "image/png")
    assert status == 406 and b"offered" in body


def test_post_sparql_query_body(server):
    status, ctype, body, _ = request(server, "POST", "/sparql", MEASURES.encode(),
                                     {"Content-Type": "application/sparql-query", "Accept": "text/csv"})
    assert status == 200 and "口岸签证" in body.decode("utf-8").splitlines()
    status, _, body, _ = post_form(server, query="SELECT ?x WHERE { ?x ?p }")
    assert status == 400 and b"syntax error" in body and b"1:" in body


def test_updates_are_refused(server):
    insert = 'INSERT DATA { <urn:x:a> <urn:x:b> "c" }'
    assert post_form(server, update=insert)[0] == 403
    assert request(server, "POST", "/sparql", insert.encode(),
                   {"Content-Type": "application/sparql-update"})[0] == 403
    status, _, body, _ = get(server, "PREFIX ex: <urn:x:>\n" + insert)
    assert status == 403 and b"read-only" in body
    assert request(server, "PUT", "/sparql", b"x", {"Content-Type": "text/turtle"})[0] == 405
    status, _, body, _ = get(server, "ASK { <urn:x:a> ?p ?o }")
    assert status == 200 and json.loads(body)["boolean"] is False


def test_service_is_refused_so_the_server_fetches_nothing(server):
    status, _, body, _ = get(server, f"SELECT * {{ SERVICE <{server.url}/sparql> {{ ?s ?p ?o }} }}")
    assert status == 403 and b"SERVICE" in body
    # hidden behind a \u escape, which SPARQL undoes before parsing
    assert get(server, "SELECT * { \\u0053ERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")[0] == 403


def test_heavy_query_ends_at_the_limit_while_others_are_answered(server):
    heavy: dict = {}

    def run_heavy():
        started = time.monotonic()
        heavy["status"], _, heavy["body"], _ = post_form(server, query=HEAVY)
        heavy["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run_heavy)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    status, _, body, _ = get(server, MEASURES)
    assert status == 200 and "口岸签证" in body.decode("utf-8")
    assert time.monotonic() - started < TIMEOUT and "status" not in heavy   # answered meanwhile
    thread.join(TIMEOUT + 10)
    assert heavy["status"] == 503 and b"timed out" in heavy["body"]
    assert TIMEOUT - 0.5 < heavy["seconds"] < TIMEOUT + 3
    # the killed worker was replaced: both workers answer again
    results = [get(server, "ASK { ?s ?p ?o }")[0] for _ in range(4)]
    assert results == [200] * 4


def test_result_and_request_size_limits(server):
    status, _, body, r = get(server, "SELECT * { ?s ?p ?o }")
    assert status == 200 and r.getheader("X-KG-Truncated")
    assert len(json.loads(body)["results"]["bindings"]) == MAX_RESULTS
    status, _, body, r = get(server, "SELECT * { ?s ?p ?o } LIMIT 5")
    assert r.getheader("X-KG-Truncated") is None and len(json.loads(body)["results"]["bindings"]) == 5
    long_query = "SELECT * { ?s ?p ?o } #" + "x" * MAX_REQUEST
    assert post_form(server, query=long_query)[0] == 413
    assert get(server, long_query)[0] == 413
    assert request(server, "POST", "/sparql", b"query=x", {"Content-Type": "text/plain"})[0] == 415


def test_page_and_files_of_the_output_folder_only(server, seeds_output):
    status, ctype, body, _ = request(server, "GET", "/")
    assert status == 200 and ctype.startswith("text/html")
    assert body == (seeds_output / "graph.html").read_bytes()
    assert request(server, "GET", "/report.json")[0] == 200
    for path in ("/../pyproject.toml", "/%2e%2e/pyproject.toml", "/..%2fpyproject.toml",
                 "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/store", "/store/", "/.graph.ttl",
                 "//etc/passwd", "/%00", "/nothing.html"):
        assert request(server, "GET", path)[0] == 404, path


# ---------------------------------------------------------------- helpers without a server

def test_negotiation_and_keyword_checks():
    assert negotiate("solutions", "text/csv;q=0.5, text/tab-separated-values", None) == "tsv"
    assert negotiate("graph", "", None) == "ttl"
    assert negotiate("graph", "application/sparql-results+json", "json") == "jsonld"
    assert negotiate("solutions", "text/*", None) == "csv"
    assert negotiate("boolean", "image/png", None) is None
    assert uses_service("select * { service silent <http://x/> { ?s ?p ?o } }")
    assert not uses_service('SELECT * { ?s ?p "SERVICE" . ?s ex:SERVICE ?service } # SERVICE')
    assert uses_service("SELECT * { FILTER(?x = 'a\\\\') SERVICE <http://x/> {} FILTER(?y = 'b') }")
    assert looks_like_update("PREFIX ex: <urn:x:>\n# c\nDELETE WHERE { ?s ?p ?o }")
    assert not looks_like_update("SELECT * { ?s ?p ?o }")


def test_protocol_dataset_parameters_pick_a_documents_graph(server, seeds_output):
    from kg.store import open_store
    doc = next(iter(open_store(seeds_output).named_graphs())).value
    count = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
    everything = int(json.loads(get(server, count)[2])["results"]["bindings"][0]["n"]["value"])
    path = "/sparql?" + urllib.parse.urlencode({"query": count, "default-graph-uri": doc})
    status, _, body, _ = request(server, "GET", path)
    one = int(json.loads(body)["results"]["bindings"][0]["n"]["value"])
    assert status == 200 and 0 < one < everything
    path = "/sparql?" + urllib.parse.urlencode({"query": count, "default-graph-uri": "not an iri"})
    assert request(server, "GET", path)[0] == 400


def test_a_rebuilt_output_is_served_without_a_restart(tmp_path):
    import shutil
    from kg.build import build
    from tests.conftest import SEEDS
    seeds = sorted(SEEDS.iterdir())
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    shutil.copy(seeds[0], corpus)
    build([str(corpus)], out, render=False, quiet=True, jobs=1, cache=False)
    srv = make_server(out, "127.0.0.1", 0, timeout=TIMEOUT, max_results=MAX_RESULTS,
                      max_request=MAX_REQUEST, workers=1, quiet=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    count = "SELECT (COUNT(?d) AS ?n) WHERE { ?d a kgo:Document }"

    def documents() -> int:
        status, _, body, _ = get(srv, count, "application/sparql-results+json")
        assert status == 200, body
        return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])

    try:
        first_store = srv._folder
        assert documents() == 1
        shutil.copy(seeds[1], corpus)
        build([str(corpus)], out, render=False, quiet=True, jobs=1, cache=False)
        deadline = time.monotonic() + 60
        while documents() != 2:          # the previous graph answers while the new one loads
            assert time.monotonic() < deadline, "the rebuilt graph was never served"
            time.sleep(0.1)
        assert srv._folder != first_store and (srv._folder / "db").is_dir()
        # a graph.ttl that cannot be read (not one a build writes): the last good graph stays
        (out / "graph.ttl").write_text("@prefix broken", encoding="utf-8")
        time.sleep(0.05)
        for _ in range(20):
            assert documents() == 2
            time.sleep(0.05)
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)
