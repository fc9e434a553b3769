"""kg query, the named queries and the persisted store, on the seeds' output.

The expected answers are facts the seed articles state (they are in the gold annotations);
each test asserts the facts it needs, not the whole answer, so that better extraction elsewhere
does not break it.
"""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDF, Graph, URIRef

from kg import cli
from kg.query import PREFIXES, QueryError, named_queries, resolve, run
from kg.results import solution_rows, table, variables_of, width, write_solutions
from kg.store import STORE_DIR, open_store, store_folder

# rdflib 7 warns about its own ConjunctiveGraph use inside its parsers
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
ROOT = Path(__file__).resolve().parent.parent
NIA = "国家移民管理局"


def select(out: Path, query: str, /, **params) -> list[dict[str, str]]:
    """Rows of a named query as {column: text} (unbound columns left out)."""
    result = run(open_store(out), named_queries()[query].text, params)
    names = variables_of(result)
    return [{n: t.value for n, t in zip(names, row) if t is not None}
            for row in solution_rows(result, names)[0]]


def column(rows, name) -> list[str]:
    return [r.get(name) for r in rows]


# ---------------------------------------------------------------- the named queries

def test_there_are_at_least_twelve_named_queries_each_saying_what_it_answers():
    queries = named_queries()
    assert len(queries) >= 12
    for q in queries.values():
        assert q.text.lstrip().startswith("#"), q.name
        assert len(q.summary) > 20, q.name
        for param in q.params:  # every parameter is projected: Oxigraph substitutes only those
            assert re.search(rf"SELECT[^{{]*\?{param}\b", q.text, re.S), (q.name, param)


def test_measures_issued_by_an_agency_by_any_of_its_names(seeds_output):
    rows = select(seeds_output, "measures-by-agency", agency=NIA)
    assert "口岸签证" in column(rows, "measure")
    assert set(column(rows, "agency_name")) == {NIA}
    visa = next(r for r in rows if r["measure"] == "口岸签证")
    assert int(visa["sentences"]) >= int(visa["documents"]) >= 1
    # the Traditional name of the agency finds the same measures (values are read as Simplified)
    assert select(seeds_output, "measures-by-agency", agency="國家移民管理局") == rows
    # even a Traditional form that no document used
    assert column(select(seeds_output, "about", name="臨滄支隊"), "entity")[0] == "临沧支队"
    # without the parameter: every agency's measures, a superset
    everything = select(seeds_output, "measures-by-agency")
    assert {r["measure"] for r in rows} <= {r["measure"] for r in everything}
    assert select(seeds_output, "measures-by-agency", agency="没有这个机构") == []


def test_campaigns_and_the_crime_types_they_target(seeds_output):
    rows = select(seeds_output, "campaigns", campaign="“獴猎”行动")  # a quoted form of the name
    assert set(column(rows, "campaign_name")) == {"獴猎行动"}
    # and the corner brackets Traditional text quotes with, the inner ones too
    def found(name):
        return [{k: v for k, v in r.items() if k != "campaign"}
                for r in select(seeds_output, "campaigns", campaign=name)]
    assert found("『獴獵』行動") == found("「獴猎」行动") == found("“獴猎”行动") != []
    assert {"非法出入境", "跨境违法犯罪"} <= set(column(rows, "crime_type"))
    assert NIA in rows[0]["conducted_by"].split("、")
    by_crime = select(seeds_output, "campaigns", crime="妨害国（边）境管理犯罪")
    assert "集中打击妨害国（边）境管理犯罪专项斗争" in column(by_crime, "campaign_name")
    assert set(column(by_crime, "crime_type")) == {"妨害国（边）境管理犯罪"}


def test_who_heads_which_agency(seeds_output):
    rows = select(seeds_output, "heads", agency="国家移民管理局边防检查管理司")
    assert column(rows, "person_name") == ["刘海涛"]
    assert select(seeds_output, "heads", person="刘海涛")[0]["agency_name"] == "国家移民管理局边防检查管理司"


def test_units_under_an_agency_and_where_they_are(seeds_output):
    rows = select(seeds_output, "units-of-agency", agency=NIA)
    found = {(r["unit"], r["parent"], r.get("location")) for r in rows}
    assert ("上海边检总站", NIA, "上海") in found
    assert ("临沧支队", "云南边检总站", "临沧") in found          # two levels down
    assert ("耿马大队", "临沧支队", "耿马") in found              # three levels down
    yunnan = select(seeds_output, "units-of-agency", agency="云南边检总站")
    assert set(column(yunnan, "unit")) == {"临沧支队", "耿马大队"}


def test_agencies_that_cooperate_with_one_in_either_direction(seeds_output):
    partners = set(column(select(seeds_output, "cooperating-agencies", agency=NIA), "partner"))
    assert {"海关", "国家民委", "国家边海防委"} <= partners
    customs = set(column(select(seeds_output, "cooperating-agencies", agency="海关"), "partner"))
    assert {NIA, "北京边检总站"} <= customs


def test_statistics_by_metric_and_period_with_who_reported_them(seeds_output):
    rows = select(seeds_output, "statistics", metric="查验出入境人员", period="上半年")
    hit = [r for r in rows if r["what"] == "查验出入境人员" and r["unit"] == "人次"]
    assert [float(r["value"]) for r in hit] == [168000000]
    assert hit[0]["reported_by"] == NIA
    assert hit[0]["document"] == "深化主题教育成果"
    year = select(seeds_output, "statistics", metric="查验出入境人员", period="2023")
    assert 424000000 in [float(r["value"]) for r in year]
    by_reporter = select(seeds_output, "statistics", reporter="武汉边检站")
    assert by_reporter and set(column(by_reporter, "reported_by")) == {"武汉边检站"}


def test_evidence_sentences_point_into_the_source_files(seeds_output):
    rows = select(seeds_output, "evidence", subject=NIA, relation="issues", object="口岸签证")
    assert rows
    for r in rows:
        raw = (ROOT / r["file"]).read_text(encoding="utf-8")
        span = raw[int(r["start"]):int(r["end"])]
        # the sentence is the cleaned text; the offsets cover it in the file as written
        assert re.sub(r"\s", "", span) == re.sub(r"\s", "", r["sentence"])
        assert re.search("口岸(签证|簽證)", r["sentence"])
        assert 0 < float(r["confidence"]) <= 1


def test_documents_mentioning_an_entity(seeds_output):
    rows = select(seeds_output, "documents-mentioning", entity="獴猎")  # short, quote-less form
    assert set(column(rows, "name")) == {"獴猎行动"}
    files = {Path(r["file"]).name for r in rows}
    assert {"000_4cdc6849661e5039.txt", "002_aac3c9161b804244.txt"} <= files
    assert all(r["doc"].startswith(PREFIXES["kgr"] + "doc-") for r in rows)


def test_entities_by_number_of_documents(seeds_output):
    rows = select(seeds_output, "entities-by-documents", **{"class": "Agency"})
    assert rows[0]["name"] == NIA and int(rows[0]["documents"]) == 5
    assert set(column(rows, "type")) == {"Agency"}
    counts = [int(r["documents"]) for r in rows]
    assert counts == sorted(counts, reverse=True)


def test_laws_named_and_where(seeds_output):
    rows = select(seeds_output, "laws")
    names = set(column(rows, "name"))
    assert {"中华人民共和国出境入境管理法", "中华人民共和国出境入境边防检查条例"} <= names
    one = select(seeds_output, "laws", law="《中華人民共和國出境入境管理法》")
    assert column(one, "name") == ["中华人民共和国出境入境管理法"]
    assert one[0]["document"].startswith("许甘露")


def test_timeline_of_dated_findings(seeds_output):
    rows = select(seeds_output, "timeline")
    assert {"2021-11-04", "2021-12-03"} <= set(column(rows, "date"))
    assert all(r.get("date") or r.get("period") for r in rows)
    dates = [r["date"] for r in rows if r.get("date")]
    assert dates == sorted(dates)
    assert any(r["period"] == "2023" and "查验出入境人员" in r["finding"] for r in rows)
    nia = select(seeds_output, "timeline", about=NIA)
    assert nia and len(nia) < len(rows)
    assert all(NIA in r["finding"] or r.get("reported_by") == NIA for r in nia)


TIED_FIGURES = """
@prefix dcterms: <http://purl.org/dc/terms/> . @prefix kgo: <https://w3id.org/zh-policy-kg/ontology#> .
@prefix kgr: <https://w3id.org/zh-policy-kg/resource/> . @prefix prov: <http://www.w3.org/ns/prov#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix skos: <http://www.w3.org/2004/02/skos/core#> .
kgr:a a kgo:Agency ; skos:prefLabel "某边检站"@zh ; kgo:matchKey "某边检站" .
"""


def test_timeline_and_statistics_break_ties_on_every_column(tmp_path):
    # Twenty documents of one day report the same figure: the rows tie on date, period, metric
    # and value, and differ only in their document. They come sorted by it, not in the
    # engine's hash order (which differs from one process to the next).
    ttl = [TIED_FIGURES]
    for i in range(20):
        ttl.append(f"""
kgr:d{i} a kgo:Document ; dcterms:title "文件{i:02}" ; dcterms:date "2024-05-01" .
kgr:t{i} a kgo:Sentence ; kgo:inDocument kgr:d{i} .
kgr:s{i} a kgo:Statistic ; rdfs:label "查验出入境人员 100 万人次"@zh ; kgo:metric "查验出入境人员" ;
    kgo:value 100 ; kgo:unit "万人次" ; kgo:period "2024" ; prov:wasDerivedFrom kgr:t{i} .
kgr:a kgo:reports kgr:s{i} .""")
    (tmp_path / "graph.ttl").write_text("".join(ttl), encoding="utf-8")
    titles = [f"文件{i:02}" for i in range(20)]
    assert column(select(tmp_path, "statistics", metric="查验"), "document") == titles
    assert column(select(tmp_path, "timeline"), "document") == titles
    assert column(select(tmp_path, "timeline", about="某边检站"), "document") == titles


def test_everything_about_an_entity_by_any_of_its_names(seeds_output):
    rows = select(seeds_output, "about", name="國家移民管理局")   # Traditional
    assert set(column(rows, "entity")) == {NIA}
    facts = {(r["direction"], r["property"], r["value"]) for r in rows}
    assert ("→", PREFIXES["kgo"] + "issues", "口岸签证") in facts
    assert ("→", PREFIXES["skos"] + "altLabel", "國家移民管理局") in facts
    assert ("→", PREFIXES["rdf"] + "type", PREFIXES["kgo"] + "Agency") in facts
    assert ("←", PREFIXES["kgo"] + "subOrganizationOf", "上海边检总站") in facts
    assert any(p == PREFIXES["kgo"] + "reports" for _, p, _ in facts)
    short = select(seeds_output, "about", name="獴猎")              # short form, no quote marks
    assert set(column(short, "entity")) == {"獴猎行动"}


def test_search_documents_and_relations_graph(seeds_output):
    assert "上海边检总站" in column(select(seeds_output, "search", text="边检"), "name")
    docs = select(seeds_output, "documents")
    assert len(docs) == 5 and all(int(d["entities"]) > 0 for d in docs)
    triples = list(run(open_store(seeds_output), named_queries()["relations-graph"].text))
    g = Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode(), format="nt")
    found = g.query("""SELECT * { ?a kgo:issues ?m . ?a skos:prefLabel "国家移民管理局"@zh .
                                 ?m skos:prefLabel "口岸签证"@zh }""", initNs=PREFIXES)
    assert len(found) == 1


def test_values_are_bound_not_pasted(seeds_output):
    # A value that would widen the query if it were pasted into the text finds nothing.
    for evil in ('国家移民管理局") || true || ("', "国家移民管理局' || true || '", "} UNION { ?a ?b ?c }"):
        assert select(seeds_output, "measures-by-agency", agency=evil) == []


# ---------------------------------------------------------------- kg query, the command

def kg(capsys, *args) -> tuple[int, str, str]:
    rc = cli.main(["query", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_says_once_that_it_makes_the_store(seeds_output, tmp_path, capsys):
    # a first query of a big graph takes a minute: it says why, on stderr, that once
    shutil.copy(seeds_output / "graph.ttl", tmp_path / "graph.ttl")
    rc, out, err = kg(capsys, tmp_path, "ASK { ?s ?p ?o }")
    assert rc == 0 and out.strip() == "yes"
    assert err.splitlines() == [f"kg query: making the query store of {tmp_path / 'graph.ttl'}, once "
                                "for this graph (about a minute per million triples; `kg build "
                                "--store` makes it at build time)"]
    rc, out, err = kg(capsys, tmp_path, "ASK { ?s ?p ?o }")
    assert rc == 0 and out.strip() == "yes" and err == ""


def test_cli_named_query_with_param_prints_a_table(seeds_output, capsys):
    open_store(seeds_output)         # made beforehand: the query itself prints nothing on stderr
    rc, out, err = kg(capsys, seeds_output, "measures-by-agency", "--param", f"agency={NIA}")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["agency_name", "measure"]
    assert any("口岸签证" in line for line in lines)
    assert re.fullmatch(r"\(\d+ rows?\)", lines[-1])


def test_cli_list_shows_one_line_per_query(seeds_output, capsys):
    rc, out, _ = kg(capsys, seeds_output, "--list")
    assert rc == 0
    lines = out.splitlines()
    assert len(lines) == len(named_queries()) >= 12
    assert any(line.startswith("units-of-agency") and "[agency]" in line for line in lines)


def test_cli_syntax_error_is_the_engines_message_on_one_line(seeds_output, capsys):
    rc, out, err = kg(capsys, seeds_output, "SELECT ?x WHERE { ?x ?p }")
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "syntax error" in err and "1:26" in err      # line:column from Oxigraph


def test_cli_formats_for_select(seeds_output, capsys):
    q = "SELECT ?name WHERE { ?e a kgo:Law ; skos:prefLabel ?name } ORDER BY ?name"
    expected = ["中华人民共和国出境入境管理法", "中华人民共和国出境入境边防检查条例"]
    _, out, _ = kg(capsys, seeds_output, q, "--format", "csv")
    assert [r["name"] for r in csv.DictReader(io.StringIO(out))] == expected
    _, out, _ = kg(capsys, seeds_output, q, "--format", "json")
    data = json.loads(out)
    assert data["head"]["vars"] == ["name"]
    assert [b["name"] for b in data["results"]["bindings"]] == [
        {"type": "literal", "value": v, "xml:lang": "zh"} for v in expected]
    _, out, _ = kg(capsys, seeds_output, q, "--format", "tsv")
    assert out.splitlines() == ["?name"] + [f'"{v}"@zh' for v in expected]
    _, out, _ = kg(capsys, seeds_output, "ASK { ?e a kgo:Law }", "--format", "json")
    assert json.loads(out) == {"head": {}, "boolean": True}


def test_cli_graph_results_and_a_query_file(seeds_output, tmp_path, capsys):
    rq = tmp_path / "laws.rq"
    rq.write_text("CONSTRUCT { ?e skos:prefLabel ?n } WHERE { ?e a kgo:Law ; skos:prefLabel ?n }",
                  encoding="utf-8")
    for fmt, parser in (("ttl", "turtle"), ("nt", "nt"), ("jsonld", "json-ld")):
        rc, out, _ = kg(capsys, seeds_output, rq, "--format", fmt)
        assert rc == 0
        assert len(Graph().parse(data=out, format=parser)) == 2
    rc, _, err = kg(capsys, seeds_output, rq, "--format", "csv")
    assert rc == 2 and "ttl" in err


def test_cli_wrong_parameters_are_usage_errors(seeds_output, capsys):
    rc, _, err = kg(capsys, seeds_output, "units-of-agency")
    assert rc == 2 and "--param agency" in err
    rc, _, err = kg(capsys, seeds_output, "heads", "--param", "nope=1")
    assert rc == 2 and "agency, person" in err
    rc, _, err = kg(capsys, seeds_output, "no-such-query")
    assert rc == 2 and "--list" in err


def test_resolve_tells_names_files_and_text_apart(tmp_path):
    assert resolve("heads")[1].name == "heads"
    text = "SELECT * { ?s ?p ?o }"
    assert resolve(text) == (text, None)
    f = tmp_path / "q.rq"
    f.write_text("ASK {}", encoding="utf-8")
    assert resolve(str(f)) == ("ASK {}", None)
    with pytest.raises(QueryError):
        resolve(str(tmp_path / "missing.rq"))


# ---------------------------------------------------------------- result writers

def test_written_results_read_back_as_the_same_solutions(seeds_output):
    store = open_store(seeds_output)
    q = """SELECT ?e ?label ?count ?missing WHERE {
             ?e a kgo:Agency ; skos:prefLabel ?label ; kgo:documentCount ?count
             OPTIONAL { ?e kgo:nothing ?missing } } ORDER BY ?label"""
    result = run(store, q)
    names = variables_of(result)
    rows, cut = solution_rows(result, names)
    assert not cut and len(rows) > 5
    expected = [[t for t in row] for row in rows]
    for fmt, oxfmt in (("json", ox.QueryResultsFormat.JSON), ("xml", ox.QueryResultsFormat.XML),
                       ("tsv", ox.QueryResultsFormat.TSV)):
        parsed = ox.parse_query_results(write_solutions(names, rows, fmt), oxfmt)
        assert [v.value for v in parsed.variables] == names
        assert [[s[n] for n in names] for s in parsed] == expected, fmt
    cells = list(csv.reader(io.StringIO(write_solutions(names, rows, "csv").decode())))
    assert cells[0] == names and cells[1][1] == rows[0][1].value and cells[1][3] == ""
    limited, cut = solution_rows(run(store, q), names, limit=3)
    assert len(limited) == 3 and cut


def test_table_aligns_chinese_by_display_width():
    text = table(["name", "n"], [[ox.Literal("国家移民管理局"), ox.Literal("5")],
                                 [ox.Literal("abc"), ox.Literal("12")]], PREFIXES)
    lines = text.splitlines()
    positions = [width(line[:line.rindex(v)]) for line, v in zip(lines[2:4], ("5", "12"))]
    assert positions[0] == positions[1] == width("国家移民管理局") + 2


# ---------------------------------------------------------------- the store

def test_store_is_made_once_and_reused(seeds_output):
    first = store_folder(seeds_output)
    stamp = (first / "db").stat().st_mtime_ns
    assert store_folder(seeds_output) == first
    assert (first / "db").stat().st_mtime_ns == stamp
    assert [p.name for p in (seeds_output / STORE_DIR).iterdir() if not p.name.startswith(".")] \
        == [first.name]


def test_store_has_the_graph_and_one_named_graph_per_document(seeds_output, seeds_graph):
    store = open_store(seeds_output)
    count = int(next(store.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"))[0].value)
    assert count == len(seeds_graph)
    docs = {str(d) for d in seeds_graph.subjects(RDF.type, URIRef(PREFIXES["kgo"] + "Document"))}
    assert {g.value for g in store.named_graphs()} == docs
    # named graphs only hold triples of the default graph, and each holds its sentences
    assert not bool(store.query("ASK { GRAPH ?g { ?s ?p ?o } FILTER NOT EXISTS { ?s ?p ?o } }"))
    assert bool(store.query("""ASK { ?s kgo:inDocument ?d . FILTER NOT EXISTS {
                                       GRAPH ?d { ?s kgo:inDocument ?d } } }""",
                            prefixes=PREFIXES)) is False


def _quads(store) -> set:
    """Every quad without a blank node (the ontology's blank nodes get new ids in each store)."""
    return {q for q in store if not isinstance(q.subject, ox.BlankNode)
            and not isinstance(q.object, ox.BlankNode)}


def test_build_with_store_fills_it_from_its_own_data_as_graph_ttl_would(tmp_path, monkeypatch):
    import kg.store
    monkeypatch.setattr(kg.store, "LOAD_CHUNK", 1)    # every block and graph in a load of its own
    monkeypatch.setattr(kg.store, "LOAD_QUADS", 100)  # and the store from graph.ttl in many loads
    out = tmp_path / "out"
    assert cli.main(["build", str(ROOT / "seeds"), "--out", str(out), "--no-html", "--store", "-q"]) == 0
    stores = [p for p in (out / STORE_DIR).iterdir() if not p.name.startswith(".")]
    assert len(stores) == 1
    made = open_store(out)     # the build's store: opening it builds nothing
    assert store_folder(out) == stores[0]
    from_ttl = tmp_path / "from-ttl"
    from_ttl.mkdir()
    shutil.copy(out / "graph.ttl", from_ttl / "graph.ttl")
    expected = open_store(from_ttl)            # made by the DOCUMENT_GRAPHS queries
    assert len(made) == len(expected) > 0
    assert _quads(made) == _quads(expected)
    assert {g.value for g in made.named_graphs()} == {g.value for g in expected.named_graphs()}


OPEN = ("import sys; from kg.store import store_folder; "
        "print(store_folder(sys.argv[1]).name)")


def _open_in(out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", OPEN, str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_rebuilt_graph_gets_a_new_store_and_the_old_one_goes(seeds_output, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(seeds_output / "graph.ttl", out / "graph.ttl")
    first = _open_in(out).communicate()[0].strip()
    with (out / "graph.ttl").open("a", encoding="utf-8") as f:
        f.write('\n<https://example.org/new> <https://example.org/p> "新" .\n')
    second = _open_in(out).communicate()[0].strip()
    assert first and second and first != second
    assert [p.name for p in (out / STORE_DIR).iterdir()] == [second]   # the stale store is gone
    assert bool(open_store(out).query('ASK { ?s ?p "新" }'))


def test_two_processes_opening_a_new_output_at_once_share_one_store(seeds_output, tmp_path):
    out = tmp_path / "race"
    out.mkdir()
    shutil.copy(seeds_output / "graph.ttl", out / "graph.ttl")
    procs = [_open_in(out) for _ in range(3)]
    results = [p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    names = {out_.strip() for out_, _ in results}
    assert len(names) == 1
    assert sorted(p.name for p in (out / STORE_DIR).iterdir()) == sorted(names)  # no temp left


def test_an_output_folder_we_cannot_write_to_is_queried_from_memory(seeds_output, monkeypatch):
    import kg.store

    def refuse(out, **options):
        raise PermissionError(13, "Permission denied", str(out))

    monkeypatch.setattr(kg.store, "store_folder", refuse)
    store = kg.store.open_store(seeds_output)
    assert bool(store.query('ASK { ?a skos:prefLabel "国家移民管理局"@zh }', prefixes=PREFIXES))
    assert len(list(store.named_graphs())) == 5


def test_match_keys_are_each_name_without_the_marks_the_queries_strip(seeds_graph):
    from rdflib.namespace import SKOS
    from kg.ontology import KGO
    from kg.config import patterns
    from kg.rdf import match_key_marks
    marks = match_key_marks()
    # every named query strips the same marks from the name it is given as the keys leave out
    classes = set()
    for path in Path("kg/queries").glob("*.rq"):
        classes |= set(re.findall(r'REPLACE\([^,]+, "\[((?:[^"\\]|\\.)*)\]", ""\)', path.read_text("utf-8")))
    assert classes
    for chars in classes:        # the class as SPARQL writes it: \" for a quote mark
        assert set(chars.replace('\\"', '"')) == set(patterns()["words"]["match_key_marks"]), chars
    entities = set(seeds_graph.subjects(SKOS.prefLabel, None))
    assert entities
    for e in entities:
        names = [*seeds_graph.objects(e, SKOS.prefLabel), *seeds_graph.objects(e, SKOS.altLabel)]
        keys = {str(k) for k in seeds_graph.objects(e, KGO.matchKey)}
        assert keys == {marks.sub("", str(n)) for n in names}, e


def test_a_name_with_marks_finds_the_entity_by_its_match_key(seeds_output):
    def documents(form):
        return [{k: v for k, v in row.items() if k != "entity"}      # (the name asked for)
                for row in select(seeds_output, "documents-mentioning", entity=form)]
    plain = documents("国家移民管理局")
    assert len(plain) == 5
    for form in ("“国家移民管理局”", "《国家移民管理局》", "國家移民管理局"):
        assert documents(form) == plain, form
    about = select(seeds_output, "about", name="“国家移民管理局”")
    assert about and not any("matchKey" in (row.get("property") or "") for row in about)
