"""The ontology (ontology/kgo.ttl) and SHACL shapes (ontology/shapes.ttl), and validation against them."""
from __future__ import annotations


from rdflib import RDF, Graph, Namespace

from kg.config import ONTOLOGY_DIR
from kg.model import RELATION_TYPES

KGO = Namespace("https://w3id.org/zh-policy-kg/ontology#")
KGR = Namespace("https://w3id.org/zh-policy-kg/resource/")


def load_ontology() -> Graph:
    """A fresh graph holding kgo.ttl (fresh, so callers may add to it)."""
    return Graph().parse(ONTOLOGY_DIR / "kgo.ttl", format="turtle")


def load_shapes() -> Graph:
    return Graph().parse(ONTOLOGY_DIR / "shapes.ttl", format="turtle")


def validate(graph: Graph) -> tuple[bool, str]:
    """SHACL-validate `graph` plus the provenance checks; returns (conforms, text report).
    The graph is not modified."""
    import pyshacl  # imported here: it is slow to import and only validation needs it

    # The ontology is mixed in for rdfs:subClassOf (sh:class), with no inference: RDFS range
    # inference would make the wrong object of a relation an instance of the expected class.
    conforms, _, text = pyshacl.validate(
        graph, shacl_graph=load_shapes(), ont_graph=load_ontology(), inference="none",
    )
    problems = _provenance_problems(graph)
    if problems:
        text += "\nProvenance problems (%d):\n" % len(problems) + "\n".join(problems) + "\n"
    return bool(conforms) and not problems, text


def _provenance_problems(graph: Graph) -> list[str]:
    """Relation triples that no kgo:Evidence names, and evidence naming a triple not in the graph.
    Checked here rather than in shapes.ttl: the SPARQL forms take minutes in rdflib on big graphs."""
    symmetric = KGO.cooperatesWith
    problems, named = [], set()
    for ev in graph.subjects(RDF.type, KGO.Evidence):
        s, p, o = (graph.value(ev, x) for x in (RDF.subject, RDF.predicate, RDF.object))
        if s is None or p is None or o is None:
            continue  # the shapes report missing parts
        named.add((s, p, o))
        if (s, p, o) not in graph and not (p == symmetric and (o, p, s) in graph):
            problems.append(f"evidence {ev} names a triple that is not in the graph: {s} {p} {o}")
    for name in RELATION_TYPES:
        p = KGO[name]
        for s, o in graph.subject_objects(p):
            if (s, p, o) not in named and not (p == symmetric and (o, p, s) in named):
                problems.append(f"relation has no kgo:Evidence: {s} {p} {o}")
    return problems
