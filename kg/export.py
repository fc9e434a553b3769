"""`kg export`: the built graph in the files other tools read.

- RDF for triple stores, written by Oxigraph: `nt` (graph.ttl exactly), `nq`, `trig` and
  `jsonld` (graph.ttl as the default graph plus one named graph per source document, from the
  output's store, see kg/store.py).
- `graphml` and `gexf` for Gephi, Cytoscape and yEd, through networkx: entities and statistics
  as nodes (label, class, names, documents), relations as edges (predicate, its Chinese name,
  best confidence, number of evidence sentences, documents). Attributes are flat text or
  numbers, as both formats want.
- `csv`: one row per relation, for spreadsheets (UTF-8 with a BOM so that Excel reads Chinese).
"""
from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import networkx as nx
import pyoxigraph as ox

from .query import PREFIXES
from .store import graph_file, open_store

RDF_EXPORTS = {"nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS,
               "trig": ox.RdfFormat.TRIG, "jsonld": ox.RdfFormat.JSON_LD}
FORMATS = (*RDF_EXPORTS, "graphml", "gexf", "csv")
CSV_COLUMNS = ["subject_label", "subject_class", "predicate", "object_label", "object_class",
               "confidence", "documents", "subject", "object"]
JOIN = " | "   # between several values in one attribute or cell
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def export(out: Path | str, fmt: str, dest: Path | str, on_making=None) -> int:
    """Write the graph of a built output in `fmt` to `dest`; returns triples, quads or edges.
    `on_making`: see kg.store.open_store (the dataset formats read the documents' graphs there)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")
    dest = Path(dest)
    with _atomic(dest) as tmp:
        if fmt in RDF_EXPORTS:
            return _rdf(out, fmt, tmp, on_making)
        view = flat_view(_networkx(out))
        if fmt == "graphml":
            nx.write_graphml(view, tmp, edge_id_from_attribute="id")
        elif fmt == "gexf":
            nx.write_gexf(view, tmp)
        else:
            _csv(view, tmp)
        return view.number_of_edges()


def _rdf(out, fmt: str, path: Path, on_making=None) -> int:
    quads = _counted(_quads(out, with_documents=fmt != "nt", on_making=on_making))
    options = {"prefixes": PREFIXES} if fmt == "trig" else {}
    ox.serialize(quads, str(path), RDF_EXPORTS[fmt], **options)
    return quads.count


def _quads(out, with_documents: bool, on_making=None):
    """graph.ttl as written, then (for dataset formats) the store's per-document graphs.

    The default graph is read from graph.ttl itself: Oxigraph keeps numbers, dates and booleans
    as values ("102.0"^^xsd:decimal comes back as "102"), so a dump of the store would be equal
    in value but not term for term. The named graphs come from the store, their literals put
    back in the form graph.ttl has them.
    """
    ttl = graph_file(out)
    for quad in ox.parse(path=str(ttl), format=ox.RdfFormat.TURTLE):
        yield quad if with_documents else quad.triple   # N-Triples takes triples
    if not with_documents:
        return
    store = open_store(out, on_making=on_making)
    written = _as_written(ttl)
    for graph in sorted(store.named_graphs(), key=str):
        for q in store.quads_for_pattern(None, None, None, graph):
            obj = written.get((q.subject, q.predicate, q.object), q.object)
            yield ox.Quad(q.subject, q.predicate, obj, graph)


def _as_written(ttl: Path) -> dict:
    """(subject, predicate, object as the store has it) -> object as graph.ttl writes it."""
    typed = [t for t in ox.parse(path=str(ttl), format=ox.RdfFormat.TURTLE)
             if isinstance(t.object, ox.Literal) and not t.object.language
             and t.object.datatype.value != XSD_STRING]
    scratch = ox.Store()   # in memory: the same encoding as the output's store
    scratch.extend(ox.Quad(ox.NamedNode(f"urn:kg:{i}"), ox.NamedNode("urn:kg:v"), t.object)
                   for i, t in enumerate(typed))
    written = {}
    for q in scratch:
        t = typed[int(q.subject.value[len("urn:kg:"):])]
        written[(t.subject, t.predicate, q.object)] = t.object
    return written


class _counted:
    """An iterator that counts what passed through it."""

    def __init__(self, items):
        self.items, self.count = iter(items), 0

    def __iter__(self):
        return self

    def __next__(self):
        item = next(self.items)
        self.count += 1
        return item


def _networkx(out) -> nx.MultiDiGraph:
    from .api import networkx_view
    return networkx_view(out)


def flat_view(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The render view with every attribute a string or a number (GraphML/GEXF/CSV ready)."""
    from .render import load_display
    relation_names = {k: v.get("zh", k) for k, v in load_display()["relations"].items()}
    H = nx.MultiDiGraph()
    for node, a in G.nodes(data=True):
        attrs = {"label": " ".join(str(a.get("label", node)).split()), "class": a.get("cls", ""),
                 "altLabels": JOIN.join(a.get("altLabels") or []),
                 "documents": JOIN.join(a.get("documents") or []),
                 "documentCount": len(a.get("documents") or [])}
        if a.get("cls") == "Statistic":
            if a.get("value") is not None:
                attrs["value"] = float(a["value"])
            attrs.update(unit=a.get("unit") or "", metric=a.get("metric") or "",
                         period=a.get("period") or "")
        H.add_node(node, **attrs)
    for i, (u, v, key, a) in enumerate(sorted(G.edges(keys=True, data=True), key=lambda e: e[:3])):
        evidence = a.get("evidence") or []
        scores = [e["confidence"] for e in evidence if e.get("confidence") is not None]
        attrs = {"id": f"e{i}", "predicate": key, "label": relation_names.get(key, key),
                 "evidence": len(evidence),
                 "documents": JOIN.join(sorted({e["document"] for e in evidence if e.get("document")}))}
        if scores:
            attrs["confidence"] = float(max(scores))
        H.add_edge(u, v, key=key, **attrs)
    return H


def _csv(view: nx.MultiDiGraph, path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for u, v, a in view.edges(data=True):
            s, o = view.nodes[u], view.nodes[v]
            w.writerow([s["label"], s["class"], a["predicate"], o["label"], o["class"],
                        a.get("confidence", ""), a["documents"], u, v])


class _atomic:
    """A temporary file beside `dest`, moved into place only when the export succeeded."""

    def __init__(self, dest: Path):
        self.dest = dest

    def __enter__(self) -> Path:
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{self.dest.name}.", suffix=".tmp", dir=self.dest.parent)
        os.close(fd)
        self.tmp = Path(name)
        return self.tmp

    def __exit__(self, kind, *_):
        if kind is None:
            os.chmod(self.tmp, 0o644)
            os.replace(self.tmp, self.dest)
        else:
            self.tmp.unlink(missing_ok=True)
        return False
