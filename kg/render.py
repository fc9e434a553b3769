"""Render a built graph as one self-contained, offline HTML page.

Reads the RDF graph (never re-runs extraction), makes a networkx view of it (entities and
statistics as nodes, relations as edges; documents only in tooltips) and writes one HTML
file with vis-network inlined. pyvis is used only as the source of the vis-network files:
its own template loads CDNs and trusts titles as HTML (see DESIGN.md, traps).

Names, colours and shapes come from ontology/display.yaml, not from this code.
"""
from __future__ import annotations

import functools
import importlib.resources
import json
import math
import os
import re
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import networkx as nx
import yaml
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from rdflib import Graph, Literal, Namespace
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS
from rdflib.term import Node

KGO = Namespace("https://w3id.org/zh-policy-kg/ontology#")

DISPLAY_PATH = Path(__file__).resolve().parent.parent / "ontology" / "display.yaml"
TEMPLATES = Path(__file__).resolve().parent / "templates"
VIS_DIR = ("lib", "vis-9.1.2")  # inside the pyvis package

# vis-network shapes that need nothing from outside the page (no image/icon fonts).
VIS_SHAPES = {"dot", "diamond", "square", "triangle", "triangleDown", "star", "hexagon",
              "box", "ellipse", "circle", "database", "text"}
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")

# Node size by degree: bounded so hubs do not swallow the page.
SIZE_MIN, SIZE_STEP, SIZE_MAX = 10.0, 5.0, 40.0
# Tooltips stay short: a few documents and evidence sentences, each snippet clipped.
TIP_DOCS, TIP_EVIDENCE, TIP_SNIPPET, LABEL_METRIC = 8, 3, 160, 16


# ---------------------------------------------------------------- display data

def load_display(path: Path | None = None) -> dict[str, Any]:
    """Read and check display.yaml (classes, relations, number_scales)."""
    path = Path(path) if path else DISPLAY_PATH
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    classes = data.get("classes") or {}
    for name, spec in classes.items():
        missing = {"zh", "en", "colour", "shape"} - set(spec or {})
        if missing:
            raise ValueError(f"{path}: class {name} lacks {sorted(missing)}")
        # The colour goes into a style attribute and the shape into vis options: check both.
        if not COLOUR.fullmatch(str(spec["colour"])):
            raise ValueError(f"{path}: class {name} colour {spec['colour']!r} is not #rrggbb")
        if spec["shape"] not in VIS_SHAPES:
            raise ValueError(f"{path}: class {name} shape {spec['shape']!r} not in {sorted(VIS_SHAPES)}")
    for name, spec in (data.get("relations") or {}).items():
        if not {"zh", "en"} <= set(spec or {}):
            raise ValueError(f"{path}: relation {name} needs zh and en")
    scales = {str(k): Decimal(str(v)) for k, v in (data.get("number_scales") or {}).items()}
    return {
        "classes": {str(k): {key: str(v) for key, v in spec.items()} for k, spec in classes.items()},
        "relations": {str(k): {key: str(v) for key, v in spec.items()}
                      for k, spec in (data.get("relations") or {}).items()},
        # largest scale first, whatever order the file lists them in
        "number_scales": dict(sorted(scales.items(), key=lambda kv: -kv[1])),
    }


# ---------------------------------------------------------------- RDF -> networkx

def _local(term: Node) -> str:
    text = str(term)
    return re.split(r"[/#]", text)[-1] or text


def _pick_label(graph: Graph, node: Node) -> str:
    """The prefLabel (Chinese first), else rdfs:label, else the IRI's last part."""
    for prop in (SKOS.prefLabel, RDFS.label):
        labels = [o for o in graph.objects(node, prop) if isinstance(o, Literal)]
        if labels:
            def rank(lit: Literal) -> tuple[int, str]:
                lang = (lit.language or "").lower()
                return (0 if lang.startswith("zh") else 1 if not lang else 2, str(lit))
            return str(min(labels, key=rank))
    return _local(node)


def format_number(value: Any, scales: dict[str, Decimal]) -> str:
    """168000000 -> '1.68亿' with the scales of display.yaml; other values as written."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    for name, size in scales.items():
        if size and abs(number) >= size:
            return _plain(round(number / size, 4)) + name
    return _plain(number)


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")  # 1.6800 -> 1.68, 1E+2 -> 100


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Reader:
    """Small cached look-ups on the RDF graph (documents are shared by many nodes)."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self._titles: dict[Node, str] = {}

    def doc_title(self, doc: Node) -> str:
        if doc not in self._titles:
            g = self.graph
            title = g.value(doc, DCTERMS.title) or g.value(doc, KGO.sourcePath) or _local(doc)
            self._titles[doc] = str(title)
        return self._titles[doc]

    def sentences(self, node: Node) -> list[dict[str, Any]]:
        """Sentences a node was derived from: text and document title."""
        out = []
        for sent in sorted(self.graph.objects(node, PROV.wasDerivedFrom)):
            text = self.graph.value(sent, KGO.text)
            doc = self.graph.value(sent, KGO.inDocument)
            out.append({
                "text": str(text) if text is not None else "",
                "document": self.doc_title(doc) if doc is not None else "",
                "start": _python(self.graph.value(sent, KGO.startOffset)),
                "end": _python(self.graph.value(sent, KGO.endOffset)),
                "_doc": doc,
            })
        return out


def _python(term: Node | None) -> Any:
    return term.toPython() if isinstance(term, Literal) else term


def _evidence_index(reader: _Reader) -> dict[tuple[Node, Node, Node], list[dict[str, Any]]]:
    """(subject, predicate, object) -> evidence records, from the reified statements."""
    g = reader.graph
    index: dict[tuple[Node, Node, Node], list[dict[str, Any]]] = {}
    for ev, _, subj in g.triples((None, RDF.subject, None)):
        key = (subj, g.value(ev, RDF.predicate), g.value(ev, RDF.object))
        base = {"confidence": _python(g.value(ev, KGO.confidence)),
                "pass": _python(g.value(ev, KGO.extractedBy))}
        for sent in reader.sentences(ev) or [{"text": "", "document": "", "start": None,
                                              "end": None, "_doc": None}]:
            index.setdefault(key, []).append({**base, **sent})
    return index


def graph_to_networkx(graph: Graph, display: dict[str, Any] | None = None) -> nx.MultiDiGraph:
    """Entities and statistics as nodes, kgo: relations between them as edges.

    Node attributes: label, cls, altLabels, documents (titles); statistics also value,
    unit, metric, period, evidence. Edge key and attribute `predicate` = the kgo: local
    name; `evidence` = the supporting sentences. Documents are not nodes.
    """
    display = display or load_display()
    reader = _Reader(graph)
    order = list(display["classes"])

    cls_of: dict[Node, str] = {}
    for cls in order:  # a node with several types takes the first class in display order
        for node in graph.subjects(RDF.type, KGO[cls]):
            cls_of.setdefault(node, cls)

    nodes = []
    for node, cls in cls_of.items():
        label = _pick_label(graph, node)
        docs = set(graph.objects(node, KGO.mentionedIn))
        attrs: dict[str, Any] = {"cls": cls}
        if cls == "Statistic":
            evidence = reader.sentences(node)
            docs |= {e["_doc"] for e in evidence if e["_doc"] is not None}
            value = _python(graph.value(node, KGO.value))
            unit = str(graph.value(node, KGO.unit) or "")
            metric = str(graph.value(node, KGO.metric) or "")
            period = graph.value(node, KGO.period)
            attrs.update(value=value, unit=unit, metric=metric,
                         period=str(period) if period is not None else None,
                         evidence=[_public(e) for e in evidence])
            if value is not None:  # the page shows the figure, then what was counted
                label = format_number(value, display["number_scales"]) + unit
                if metric:
                    label += "\n" + _clip(metric, LABEL_METRIC)
        alts = {str(a) for a in graph.objects(node, SKOS.altLabel)} - {label}
        attrs.update(label=label, altLabels=sorted(alts),
                     documents=sorted({reader.doc_title(d) for d in docs}))
        nodes.append((order.index(cls), label, str(node), attrs))

    G = nx.MultiDiGraph()
    for _, _, iri, attrs in sorted(nodes, key=lambda n: n[:3]):  # stable page across rebuilds
        G.add_node(iri, **attrs)

    evidence = _evidence_index(reader)
    edges = []
    for subj in cls_of:
        for pred, obj in graph.predicate_objects(subj):
            if obj in cls_of and str(pred).startswith(str(KGO)):
                found = evidence.get((subj, pred, obj), [])
                edges.append((str(subj), str(obj), _local(pred), [_public(e) for e in found]))
    for subj, obj, pred, found in sorted(edges, key=lambda e: e[:3]):
        G.add_edge(subj, obj, key=pred, predicate=pred, evidence=found)
    return G


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


# ---------------------------------------------------------------- tooltips (plain text)

def _node_tip(attrs: dict[str, Any], display: dict[str, Any]) -> str:
    spec = display["classes"][attrs["cls"]]
    lines = [attrs["label"], f"类别：{spec['zh']}（{spec['en']}）"]
    if attrs["altLabels"]:
        lines.append("别名：" + "、".join(attrs["altLabels"]))
    if attrs["cls"] == "Statistic":
        if attrs.get("metric"):
            lines.append("指标：" + attrs["metric"])
        if attrs.get("period"):
            lines.append("时期：" + attrs["period"])
        if attrs.get("value") is not None:
            lines.append(f"数值：{_plain_value(attrs['value'])} {attrs.get('unit', '')}".rstrip())
        lines += _evidence_lines(attrs.get("evidence", []))
    docs = attrs["documents"]
    if docs:
        lines.append("来源文件：")
        lines += ["· " + _clip(d, TIP_SNIPPET) for d in docs[:TIP_DOCS]]
        if len(docs) > TIP_DOCS:
            lines.append(f"…… 另 {len(docs) - TIP_DOCS} 篇")
    return "\n".join(lines)


def _plain_value(value: Any) -> str:
    try:
        return _plain(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def _evidence_lines(evidence: list[dict[str, Any]]) -> list[str]:
    lines = []
    for ev in evidence[:TIP_EVIDENCE]:
        line = f"“{_clip(ev['text'], TIP_SNIPPET)}”" if ev.get("text") else "（无原句）"
        if ev.get("document"):
            line += f" —— {_clip(ev['document'], 60)}"
        extra = []
        try:
            if ev.get("confidence") is not None:
                extra.append(f"置信度 {float(ev['confidence']):.2f}")
        except (TypeError, ValueError):
            pass
        if ev.get("pass"):
            extra.append(str(ev["pass"]))
        if extra:
            line += "（" + "，".join(extra) + "）"
        lines.append(line)
    if len(evidence) > TIP_EVIDENCE:
        lines.append(f"…… 另 {len(evidence) - TIP_EVIDENCE} 条依据")
    return (["依据："] + lines) if lines else []


def _edge_tip(G: nx.MultiDiGraph, u: str, v: str, attrs: dict[str, Any], rel: dict[str, str]) -> str:
    lines = [f"{rel['zh']}（{rel['en']}）",
             f"{G.nodes[u]['label']} → {G.nodes[v]['label']}".replace("\n", " ")]
    return "\n".join(lines + _evidence_lines(attrs.get("evidence", [])))


# ---------------------------------------------------------------- page

@functools.lru_cache(maxsize=None)
def _vis_assets() -> tuple[str, str]:
    """vis-network JS and CSS as shipped inside pyvis, made safe to inline."""
    base = importlib.resources.files("pyvis").joinpath(*VIS_DIR)
    js = base.joinpath("vis-network.min.js").read_text(encoding="utf-8")
    css = base.joinpath("vis-network.css").read_text(encoding="utf-8")
    # An inlined file must not be able to close its own element (or open a script comment).
    js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.I).replace("<!--", "<\\!--")
    css = re.sub(r"</(style)", r"<\\/\1", css, flags=re.I)
    return js, css


def _script_json(data: Any) -> str:
    """JSON for a <script type="application/json"> block: no <, > or & left raw."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _page_data(G: nx.MultiDiGraph, display: dict[str, Any]) -> dict[str, Any]:
    ids = {iri: i for i, iri in enumerate(G.nodes)}  # short ids keep the page small
    nodes = []
    for iri, attrs in G.nodes(data=True):
        size = min(SIZE_MAX, SIZE_MIN + SIZE_STEP * math.sqrt(G.degree(iri)))
        nodes.append({"id": ids[iri], "label": attrs["label"], "cls": attrs["cls"],
                      "alt": attrs["altLabels"], "size": round(size, 1),
                      "tip": _node_tip(attrs, display)})
    edges = []
    for u, v, attrs in G.edges(data=True):
        pred = attrs["predicate"]
        rel = display["relations"].get(pred, {"zh": pred, "en": pred})
        edges.append({"from": ids[u], "to": ids[v], "label": rel["zh"],
                      "tip": _edge_tip(G, u, v, attrs, rel)})
    present = {a["cls"] for _, a in G.nodes(data=True)}
    classes = {c: spec for c, spec in display["classes"].items() if c in present}
    return {"nodes": nodes, "edges": edges, "classes": classes}


def _write_atomic(path: Path, text: str) -> None:
    """Write next to the target and rename: readers never see half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the page is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def render_html(graph: Graph, out_path: Path, title: str = "zh-policy-kg", *,
                display_path: Path | None = None) -> dict[str, int]:
    """Write the graph as one offline HTML page; return {"nodes": n, "edges": m}."""
    display = load_display(display_path)
    G = graph_to_networkx(graph, display)
    data = _page_data(G, display)

    counts: dict[str, int] = {}
    for n in data["nodes"]:
        counts[n["cls"]] = counts.get(n["cls"], 0) + 1
    legend = [{"id": c, **spec, "count": counts[c]} for c, spec in data["classes"].items()]
    rank = {p: i for i, p in enumerate(display["relations"])}
    used = sorted({a["predicate"] for _, _, a in G.edges(data=True)},
                  key=lambda p: (rank.get(p, len(rank)), p))
    relations = [{"id": p, **display["relations"].get(p, {"zh": p, "en": p})} for p in used]

    js, css = _vis_assets()
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True)
    page = env.get_template("graph.html").render(
        title=title,  # autoescaped by Jinja (same escaping as html.escape)
        n_nodes=len(data["nodes"]), n_edges=len(data["edges"]),
        legend=legend, relations=relations,
        graph_json=Markup(_script_json(data)),
        vis_js=Markup(js), vis_css=Markup(css),
    )
    _write_atomic(Path(out_path), page)
    return {"nodes": G.number_of_nodes(), "edges": G.number_of_edges()}
