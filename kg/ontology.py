"""The ontology (ontology/kgo.ttl) and SHACL shapes (ontology/shapes.ttl), and validation against them."""
from __future__ import annotations

from pathlib import Path

from rdflib import Graph, Namespace

ONTOLOGY_DIR = Path(__file__).resolve().parent.parent / "ontology"
KGO = Namespace("https://w3id.org/zh-policy-kg/ontology#")
KGR = Namespace("https://w3id.org/zh-policy-kg/resource/")


def load_ontology() -> Graph:
    """A fresh graph holding kgo.ttl (fresh, so callers may add to it)."""
    return Graph().parse(ONTOLOGY_DIR / "kgo.ttl", format="turtle")


def load_shapes() -> Graph:
    return Graph().parse(ONTOLOGY_DIR / "shapes.ttl", format="turtle")


def validate(graph: Graph) -> tuple[bool, str]:
    """SHACL-validate `graph`; returns (conforms, text report). The graph is not modified."""
    import pyshacl  # imported here: it is slow to import and only validation needs it

    # The ontology is mixed in for rdfs:subClassOf (sh:class), with no inference: RDFS range
    # inference would make the wrong object of a relation an instance of the expected class.
    # `advanced` enables the SPARQL targets of the provenance checks (see shapes.ttl).
    conforms, _, text = pyshacl.validate(
        graph, shacl_graph=load_shapes(), ont_graph=load_ontology(), inference="none", advanced=True,
    )
    return bool(conforms), text
