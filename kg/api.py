"""A small Python API for notebooks: build, open, query, networkx.

    from kg import api
    api.build(["seeds"], "output")
    g = api.open_graph("output")                    # an rdflib Graph on the Oxigraph store
    for row in api.query("output", "measures-by-agency", agency="国家移民管理局"):
        print(row.measure, row.sentences)
    G = api.networkx_view("output")

`open_graph` gives rdflib's API over the output's persisted, read-only Oxigraph store through
oxrdflib (which works with pyoxigraph 0.5): `graph.query` runs on Oxigraph, not on rdflib's
slow SPARQL engine, and `initBindings` become Oxigraph substitutions. The graph is read-only
(the store is shared with other readers); `Graph(...) + graph` gives an editable copy.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import networkx as nx
from rdflib import Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.query import Result
from rdflib.term import Node

from .query import PREFIXES, QueryError, check_params, resolve
from .store import open_store


def build(paths: Iterable[str | Path] | str | Path, out: str | Path, **options):
    """Build the graph of files, folders or globs into `out` (see `kg build`) and its query store.

    Options are those of kg.build.build (min_confidence, render, quiet: True by default).
    Returns its BuildResult.
    """
    from .build import build as build_outputs
    if isinstance(paths, (str, Path)):
        paths = [paths]
    options.setdefault("quiet", True)
    options.setdefault("store", True)   # made now, so that the first query does not wait for it
    return build_outputs([str(p) for p in paths], Path(out), **options)


def open_graph(out: str | Path) -> Graph:
    """The default graph of a built output as a read-only rdflib Graph on its Oxigraph store."""
    from oxrdflib import OxigraphStore
    graph = Graph(store=OxigraphStore(store=open_store(out)), identifier=DATASET_DEFAULT_GRAPH_ID)
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True)
    return graph


def query(out: str | Path, name_or_sparql: str, **bindings) -> Result:
    """Run a named query, a .rq file or SPARQL text; keyword arguments are bound to variables.

    Strings become plain literals and rdflib terms pass as they are; the values are never
    pasted into the query text.
    """
    text, named = resolve(name_or_sparql)
    values = {k: v for k, v in bindings.items() if v is not None and v != ""}
    check_params(named, values)
    terms = {k: v if isinstance(v, Node) else _literal_or_iri(v) for k, v in values.items()}
    try:
        return open_graph(out).query(text, initBindings=terms)
    except SyntaxError as e:
        raise QueryError(f"syntax error: {e}") from None


def _literal_or_iri(value) -> Node:
    text = value if isinstance(value, str) else None
    if text and text.startswith("<") and text.endswith(">") and len(text) > 2:
        return URIRef(text[1:-1])
    return Literal(value)


def networkx_view(out: str | Path) -> nx.MultiDiGraph:
    """Entities and statistics as nodes, relations as edges (the page's view, kg.render)."""
    from .render import graph_to_networkx
    return graph_to_networkx(open_graph(out))
