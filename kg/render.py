"""Render a built graph as one self-contained, offline HTML page that reads like a map.

Reads the RDF graph (never re-runs extraction), makes a networkx view of it (entities and
statistics as nodes, relations as edges; documents only as the sources listed in the side
panel), computes every node's position here in Python and writes one HTML file with
vis-network inlined and physics off: the page draws at once and never moves by itself.
pyvis is used only as the source of the vis-network files: its own template loads CDNs and
trusts titles as HTML (see DESIGN.md, traps), and its add_edge is quadratic.

The layout (pure Python: networkx's layouts need numpy/scipy, which are not dependencies;
networkx still gives the components and neighbourhoods):
  * each connected component on its own; nodes with no relation in tidy rows underneath;
  * degree-1 nodes (a statistic and its reporting agency, a unit and its parent) are set in
    rows inside a round block around the node they hang from, class by class, so every hub
    is a labelled cluster with its classes in bands;
  * the remaining core is laid out by a size-aware Fruchterman-Reingold (each cluster's
    radius counts), started from a radial tree so it untangles in few iterations;
  * label boxes are estimated from the text, so labels do not overlap at any zoom; the
    best-known entities ("hubs") get room for the larger labels the page gives them when
    zoomed out, so the page reads like a map: big names first, detail on zooming in.

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
import unicodedata
from collections import deque
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

from .config import load_knowledge_yaml, name_marks, patterns

KGO = Namespace("https://w3id.org/zh-policy-kg/ontology#")

DISPLAY_PATH = Path(__file__).resolve().parent.parent / "ontology" / "display.yaml"
TEMPLATES = Path(__file__).resolve().parent / "templates"
VIS_DIR = ("lib", "vis-9.1.2")  # inside the pyvis package

# vis-network shapes that need nothing from outside the page (no image/icon fonts).
VIS_SHAPES = {"dot", "diamond", "square", "triangle", "triangleDown", "star", "hexagon",
              "box", "ellipse", "circle", "database", "text"}
LABEL_INSIDE = {"box", "ellipse", "circle", "database", "text"}  # vis draws these around the label
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
LABEL_METRIC = 9  # a statistic's label shows this much of what was counted

# Sizes in page units (1 unit = 1 CSS pixel at zoom 1). Node size and label size grow with
# importance (documents or connections, whichever is larger), bounded so hubs stay modest.
SIZE_MIN, SIZE_STEP, SIZE_MAX = 10.0, 4.0, 36.0
FONT_MIN, FONT_STEP, FONT_MAX = 16.0, 2.5, 34.0
EDGE_GAP = 45.0     # the wanted empty space between two linked clusters
BLOCK_GAP = 8.0      # between neighbours in a block, and around each node
PACK_GAP = 60.0     # between components, and around the single nodes' rows
ASPECT = 1.5       # vertical pull relative to horizontal
GRAVITY = 0.1      # pull of each component's core towards its centre (keeps it round)

# Above this many nodes the page opens on a reduced view of the most connected entities.
REDUCE_ABOVE, REDUCED_NODES = 1500, 600
HUB_LABELS = 60     # this many best-known entities keep readable labels at any zoom
HUB_ROOM = 2.0      # ... up to this many times their size, and the layout leaves that room
# ---------------------------------------------------------------- display data

def load_display(path: Path | None = None) -> dict[str, Any]:
    """Read and check display.yaml (classes, relations, number_scales)."""
    path = Path(path) if path else DISPLAY_PATH
    data = (load_knowledge_yaml(path) if path == DISPLAY_PATH
            else yaml.safe_load(path.read_text(encoding="utf-8"))) or {}
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


# ---------------------------------------------------------------- sizes and label boxes

def _importance(G: nx.MultiDiGraph, node: str) -> int:
    """How much a node matters on the map: its documents or its connections, the larger."""
    return max(len(G.nodes[node].get("documents") or ()), G.degree(node))


def node_style(G: nx.MultiDiGraph, node: str) -> tuple[float, float]:
    """(shape size, font size) in page units."""
    root = math.sqrt(max(0, _importance(G, node) - 1))
    return (min(SIZE_MAX, SIZE_MIN + SIZE_STEP * root),
            min(FONT_MAX, FONT_MIN + FONT_STEP * root))


def _text_width(line: str, font: float) -> float:
    # CJK and full-width characters are about one em wide, the rest about half of one.
    return sum(font if unicodedata.east_asian_width(ch) in "WF" else 0.55 * font for ch in line)


def label_box(label: str, shape: str, size: float, font: float) -> tuple[float, float, float]:
    """(half width, extent above, extent below the node's centre) of what a node draws.

    vis draws box-like shapes around the label and the others with the label below.
    """
    lines = label.split("\n") or [""]
    w = max(_text_width(line, font) for line in lines)
    h = len(lines) * font * 1.2
    if shape in LABEL_INSIDE:
        return w / 2 + 8, h / 2 + 7, h / 2 + 7
    return max(w / 2, size) + 2, size + 2, size + h + 4


# ---------------------------------------------------------------- layout

Box = tuple[float, float, float]


def compute_layout(G: nx.MultiDiGraph, boxes: dict[str, Box]) -> dict[str, tuple[float, float]]:
    """Node -> (x, y) in page units (y grows downwards), deterministic for a given graph.

    `boxes` holds each node's label_box. G's node order (class, then label) breaks every
    tie, so the same graph always gives the same page.
    """
    U = nx.Graph()
    U.add_nodes_from(G)
    U.add_edges_from((u, v) for u, v in G.edges() if u != v)
    order = {n: i for i, n in enumerate(G)}
    pieces = []
    for comp in nx.connected_components(U):
        nodes = sorted(comp, key=order.__getitem__)
        pieces.append(_component_layout(U, nodes, boxes, order) if len(nodes) > 1
                      else {nodes[0]: (0.0, 0.0)})
    # Largest components first; then the single nodes, in class order (G's order).
    pieces.sort(key=lambda p: (-len(p), min(order[n] for n in p)))
    return _pack(pieces, boxes)


def _component_layout(U: nx.Graph, nodes: list[str], boxes: dict[str, Box], order) -> dict[str, tuple[float, float]]:
    deg = U.degree
    # Degree-1 nodes sit in a block around their one neighbour (unless that is a leaf too).
    parent = {}
    for n in nodes:
        if deg[n] == 1:
            (p,) = U[n]
            if deg[p] > 1 or order[n] > order[p]:
                parent[n] = p
    core = [n for n in nodes if n not in parent]
    hangers: dict[str, list[str]] = {}
    for n in nodes:  # already in class, then label order
        if n in parent:
            hangers.setdefault(parent[n], []).append(n)

    radius, blocks = {}, {}
    for c in core:
        hw, up, down = boxes[c]
        if c in hangers:
            blocks[c], radius[c] = _block(boxes[c], [boxes[s] for s in hangers[c]])
        else:
            radius[c] = math.hypot(hw, max(up, down))
    pos = _force_layout(U, core, radius, order)
    pos = _push_apart(pos, radius, BLOCK_GAP * 2, rounds=100 if len(core) <= 1500 else 10)
    for c, offsets in blocks.items():
        x, y = pos[c]
        for s, (dx, dy) in zip(hangers[c], offsets):
            pos[s] = (x + dx, y + dy)
    return pos


def _block(hub: Box, sboxes: list[Box]) -> tuple[list[tuple[float, float]], float]:
    """Satellites flowed in rows inside a circle around their hub, like text in a round frame.

    Rows are filled top to bottom in the given (class) order, so each class is a band; the
    hub keeps the middle of its row(s). Returns the offsets and the block's radius.
    """
    up = max(b[1] for b in sboxes)
    down = max(b[2] for b in sboxes)
    row_h = up + down + BLOCK_GAP
    widths = [2 * b[0] + BLOCK_GAP for b in sboxes]
    hub_half = hub[0] + BLOCK_GAP
    area = (sum(widths) + 2 * hub_half) * row_h
    r = max(math.sqrt(area / math.pi), max(widths) / 2 + hub_half, row_h)
    while True:
        placed = _flow(r, up, down, widths, hub, hub_half)
        if placed is not None:
            break
        r *= 1.05
    far = max(math.hypot(abs(x) + b[0], max(abs(y - b[1]), abs(y + b[2])))
              for (x, y), b in zip(placed, sboxes))
    return placed, max(far, math.hypot(hub[0], max(hub[1], hub[2])))


def _flow(r: float, up: float, down: float, widths: list[float], hub: Box,
          hub_half: float) -> list[tuple[float, float]] | None:
    """Fill rows inside radius r; None if the items do not fit.

    Row i has its nodes' centres at y = i * row height; the hub sits at (0, 0), and rows
    whose band reaches the hub leave it room.
    """
    row_h = up + down + BLOCK_GAP
    k = int(r // row_h) + 1
    segments = []  # (y, x0, x1): free stretches, top to bottom, left to right
    for i in range(-k, k + 1):
        y = i * row_h
        top, bottom = y - up - BLOCK_GAP / 2, y + down + BLOCK_GAP / 2
        reach = max(abs(top), abs(bottom))  # the band's corner farthest from the centre line
        if reach >= r:
            continue
        half = math.sqrt(r * r - reach * reach)
        if bottom > -hub[1] - BLOCK_GAP and top < hub[2] + BLOCK_GAP:  # beside the hub
            if half > hub_half:
                segments += [(y, -half, -hub_half), (y, hub_half, half)]
        else:
            segments.append((y, -half, half))
    out: list[tuple[float, float]] = []
    at = 0
    for y, x0, x1 in segments:
        start, used = at, 0.0
        while at < len(widths) and used + widths[at] <= x1 - x0:
            used += widths[at]
            at += 1
        x = x0 + (x1 - x0 - used) / 2  # centre the row's items in their stretch
        for w in widths[start:at]:
            out.append((x + w / 2, y))
            x += w
        if at == len(widths):
            return out
    return None


def _near_pairs(xs: list[float], ys: list[float], rad: list[float], reach: float) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, whose discs may be closer than `reach`: a grid instead of n².

    Cells fit two ordinary discs (up to the 90th percentile of radii); each larger disc
    looks only at the cells its own reach covers.
    """
    n = len(xs)
    small_r = sorted(rad)[int(0.9 * (n - 1))]
    cell = 2 * small_r + reach
    grid: dict[tuple[int, int], list[int]] = {}
    big = []
    for i in range(n):
        if rad[i] > small_r:
            big.append(i)
        else:
            grid.setdefault((int(xs[i] // cell), int(ys[i] // cell)), []).append(i)
    pairs = []
    for (cx, cy), members in grid.items():
        for ox, oy in ((0, 0), (1, 0), (0, 1), (1, 1), (1, -1)):  # each pair of cells once
            if (ox, oy) == (0, 0):
                pairs += [(i, j) if i < j else (j, i)
                          for a, i in enumerate(members) for j in members[a + 1:]]
            else:
                other = grid.get((cx + ox, cy + oy))
                if other:
                    pairs += [(i, j) if i < j else (j, i) for i in members for j in other]
    for a, i in enumerate(big):
        span = rad[i] + small_r + reach
        x0, x1 = int((xs[i] - span) // cell), int((xs[i] + span) // cell)
        y0, y1 = int((ys[i] - span) // cell), int((ys[i] + span) // cell)
        if (x1 - x0 + 1) * (y1 - y0 + 1) > len(grid):
            near = [j for members in grid.values() for j in members]
        else:
            near = [j for gx in range(x0, x1 + 1) for gy in range(y0, y1 + 1)
                    for j in grid.get((gx, gy), ())]
        pairs += [(i, j) if i < j else (j, i) for j in near]
        pairs += [(i, j) if i < j else (j, i) for j in big[a + 1:]]
    return pairs


def _force_layout(U: nx.Graph, core: list[str], radius: dict[str, float], order) -> dict[str, tuple[float, float]]:
    """Fruchterman-Reingold on the distances between cluster rims, repulsion cut off at 2k."""
    n = len(core)
    if n == 1:
        return {core[0]: (0.0, 0.0)}
    index = {c: i for i, c in enumerate(core)}
    rad = [radius[c] for c in core]
    # (in core's order: U.subgraph(core) would iterate a set of them, see induced_subgraph)
    edges = [(i, index[v]) for i, u in enumerate(core) for v in U[u] if index.get(v, -1) > i]
    xs, ys = _radial_tree(U, core, index, rad, order)

    k = EDGE_GAP
    # Large cores get fewer rounds: the radial start is already untangled, and pure Python
    # pays about a microsecond per pair.
    iterations = 60 if n <= 1000 else 20 if n <= 3000 else 12
    t0 = max(rad) + k
    hypot = math.hypot
    for it in range(iterations):
        temp = t0 * (1 - it / iterations) + k * 0.2
        dx = [0.0] * n
        dy = [0.0] * n
        for i, j in _near_pairs(xs, ys, rad, 2 * k):
            ddx, ddy = xs[i] - xs[j], ys[i] - ys[j]
            d = hypot(ddx, ddy) or 0.01
            rim = d - rad[i] - rad[j]
            if rim > 2 * k:
                continue
            f = (k * k / max(rim, 1.0) + (k - rim if rim < 0 else 0)) / d
            dx[i] += ddx * f; dy[i] += ddy * f
            dx[j] -= ddx * f; dy[j] -= ddy * f
        for i, j in edges:
            ddx, ddy = xs[i] - xs[j], ys[i] - ys[j]
            d = hypot(ddx, ddy) or 0.01
            rim = max(d - rad[i] - rad[j], 0.0)
            f = rim * rim / k / d
            dx[i] -= ddx * f; dy[i] -= ddy * f
            dx[j] += ddx * f; dy[j] += ddy * f
        for i in range(n):
            # a weak pull to the centre keeps the component round and compact
            fx = dx[i] - xs[i] * GRAVITY
            fy = dy[i] - ys[i] * GRAVITY * ASPECT  # screens are wider than high
            d = hypot(fx, fy)
            if d > 0:
                step = min(d, temp) / d
                xs[i] += fx * step
                ys[i] += fy * step
    return {c: (xs[i], ys[i]) for c, i in index.items()}


def _radial_tree(U: nx.Graph, core: list[str], index, rad, order) -> tuple[list[float], list[float]]:
    """Start positions: a breadth-first tree from the best-connected node, each subtree in a
    wedge as wide as its share of the nodes' sizes, children in class order."""
    coreset = set(core)
    root = min(core, key=lambda c: (-U.degree(c), order[c]))
    children: dict[str, list[str]] = {root: []}
    seen, queue, bfs = {root}, deque([root]), []
    while queue:
        u = queue.popleft()
        bfs.append(u)
        for v in sorted((v for v in U[u] if v in coreset), key=order.__getitem__):
            if v not in seen:
                seen.add(v)
                children[u].append(v)
                children[v] = []
                queue.append(v)
    weight = {}
    for u in reversed(bfs):
        weight[u] = rad[index[u]] + sum(weight[v] for v in children[u])
    xs, ys = [0.0] * len(core), [0.0] * len(core)
    wedge = {root: (0.0, 2 * math.pi)}
    for u in bfs:
        lo, hi = wedge[u]
        total = sum(weight[v] for v in children[u]) or 1.0
        at = lo
        for v in children[u]:
            span = (hi - lo) * weight[v] / total
            wedge[v] = (at, at + span)
            mid = at + span / 2
            at += span
            dist = rad[index[u]] + rad[index[v]] + EDGE_GAP
            if u != root:  # push outwards from the root, along the middle of v's wedge
                dist += math.hypot(xs[index[u]], ys[index[u]]) - rad[index[u]]
                xs[index[v]], ys[index[v]] = dist * math.cos(mid), dist * math.sin(mid)
            else:
                xs[index[v]], ys[index[v]] = dist * math.cos(mid), dist * math.sin(mid)
    return xs, ys


def _push_apart(pos: dict[str, tuple[float, float]], radius: dict[str, float], gap: float,
                rounds: int = 20) -> dict[str, tuple[float, float]]:
    """Separate clusters whose discs still overlap after the force layout."""
    names = list(pos)
    if len(names) < 2:
        return pos
    xs = [pos[c][0] for c in names]
    ys = [pos[c][1] for c in names]
    rad = [radius[c] for c in names]
    for _ in range(rounds):
        moved = False
        for i, j in _near_pairs(xs, ys, rad, gap):
            ddx, ddy = xs[j] - xs[i], ys[j] - ys[i]
            d = math.hypot(ddx, ddy)
            if d < 0.01:
                ddx, ddy, d = 0.01, 0.0, 0.01
            overlap = rad[i] + rad[j] + gap - d
            if overlap > 0:
                wi = rad[j] / (rad[i] + rad[j])  # the smaller one moves more
                xs[i] -= ddx / d * overlap * wi; ys[i] -= ddy / d * overlap * wi
                xs[j] += ddx / d * overlap * (1 - wi); ys[j] += ddy / d * overlap * (1 - wi)
                moved = True
        if not moved:
            break
    return {c: (xs[i], ys[i]) for i, c in enumerate(names)}


def _pack(pieces: list[dict[str, tuple[float, float]]], boxes: dict[str, Box]) -> dict[str, tuple[float, float]]:
    """Components in rows, largest first, about as wide as a screen; then the single nodes
    in class order, in rows under them like a tray."""
    frames = []
    for p in pieces:
        x0 = min(x - boxes[n][0] for n, (x, y) in p.items())
        x1 = max(x + boxes[n][0] for n, (x, y) in p.items())
        y0 = min(y - boxes[n][1] for n, (x, y) in p.items())
        y1 = max(y + boxes[n][2] for n, (x, y) in p.items())
        frames.append((x0, y0, x1 - x0, y1 - y0))
    groups = [[i for i, p in enumerate(pieces) if len(p) > 1],
              [i for i, p in enumerate(pieces) if len(p) == 1]]
    area = sum((frames[i][2] + PACK_GAP) * (frames[i][3] + PACK_GAP) for i in groups[0])
    width = max([frames[i][2] for i in groups[0]] + [math.sqrt(area * 1.5), 1200.0])
    out: dict[str, tuple[float, float]] = {}
    y = 0.0
    for group, gap in zip(groups, (PACK_GAP, BLOCK_GAP * 2)):
        x = row_h = 0.0
        for i in group:
            x0, y0, w, h = frames[i]
            if x > 0 and x + w > width:
                x, y, row_h = 0.0, y + row_h + gap, 0.0
            for n, (px, py) in pieces[i].items():
                out[n] = (px - x0 + x, py - y0 + y)
            x += w + gap
            row_h = max(row_h, h)
        y += row_h + PACK_GAP * 1.5
    return out


# ---------------------------------------------------------------- search folding

@functools.lru_cache(maxsize=1)
def _converters():
    import opencc  # a dependency already (ingest); loaded only when a page is written
    return [opencc.OpenCC(c) for c in ("s2t", "s2tw", "s2hk")], opencc.OpenCC("t2s")


def fold_map(names: set[str] | list[str]) -> dict[str, str]:
    """Traditional character -> Simplified, for every character of the given names.

    The page folds both the query and the names with it, so 國家移民管理局 finds
    国家移民管理局 even where no Traditional alias was ever seen in a document.
    """
    to_trad, to_simp = _converters()
    chars = {ch for name in names for ch in name if ord(ch) > 0x2E7F}
    fold: dict[str, str] = {}
    for ch in sorted(chars):
        simp = to_simp.convert(ch)
        if len(simp) != 1:
            continue
        if simp != ch:
            fold[ch] = simp
        for conv in to_trad:
            trad = conv.convert(simp)
            if len(trad) == 1 and trad != simp:
                fold.setdefault(trad, simp)
    return fold


def _fold(text: str, fold: dict[str, str]) -> str:
    """The same folding as the page's search: script, case, quote and title marks."""
    text = "".join(fold.get(ch, ch) for ch in unicodedata.normalize("NFKC", text).lower())
    return name_marks().sub("", text)


# ---------------------------------------------------------------- focus (kg render)

def find_node(G: nx.MultiDiGraph, name: str) -> str:
    """The node called `name` (any name, any script); exact match first, then the best-known
    node whose name contains it. LookupError if none does."""
    fold = fold_map({name} | {n for _, a in G.nodes(data=True) for n in [a["label"], *a["altLabels"]]})
    want = _fold(name, fold)
    if not want:
        raise LookupError("empty name")
    best, best_rank = None, None
    for node, a in G.nodes(data=True):
        for n in [a["label"], *a["altLabels"]]:
            have = _fold(n, fold)
            if want not in have:
                continue
            rank = (0 if have == want else 1 if have.startswith(want) else 2, -G.degree(node), len(have))
            if best_rank is None or rank < best_rank:
                best, best_rank = node, rank
    if best is None:
        raise LookupError(f"no node is called {name!r}")
    return best


def focus_subgraph(G: nx.MultiDiGraph, name: str, hops: int = 1) -> nx.MultiDiGraph:
    """The nodes within `hops` relations (either direction) of the node called `name`."""
    centre = find_node(G, name)
    keep = set(nx.single_source_shortest_path_length(G.to_undirected(as_view=True), centre,
                                                     cutoff=max(0, hops)))
    return induced_subgraph(G, keep)


def induced_subgraph(G: nx.MultiDiGraph, keep: set) -> nx.MultiDiGraph:
    """G's nodes in `keep` and the edges between them, in G's (stable) order. Not G.subgraph:
    when fewer than half the nodes are kept, its view iterates a set of them, in an order that
    changes from one process to the next (string hashes), and so would the page's layout."""
    H = G.__class__()
    H.graph.update(G.graph)
    H.add_nodes_from((n, G.nodes[n]) for n in G if n in keep)
    H.add_edges_from((u, v, k, d) for u, v, k, d in G.edges(keys=True, data=True)
                     if u in keep and v in keep)
    return H


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


def _plain_value(value: Any) -> str:
    try:
        return _plain(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def _confidence(value: Any) -> float | None:
    try:
        return round(float(value), 2) if value is not None else None
    except (TypeError, ValueError):
        return None


def page_data(G: nx.MultiDiGraph, display: dict[str, Any], focus: str | None = None) -> dict[str, Any]:
    """Everything the page shows, as plain JSON-ready data.

    Documents and sentences are listed once and referred to by index (many nodes and
    relations share them). Nodes carry their position, size and font size; `core` marks the
    ones in the reduced default view of a large graph. `focus`: the node the page opens on,
    selected.
    """
    ids = {iri: i for i, iri in enumerate(G.nodes)}  # short ids keep the page small
    docs: dict[str, int] = {}
    sents: dict[tuple[str, str], int] = {}

    def doc(title: str) -> int:
        return docs.setdefault(title, len(docs))

    def evidence(records: list[dict[str, Any]]) -> list[list[Any]]:
        out = []
        for r in records:
            key = (r.get("text") or "", r.get("document") or "")
            if key not in sents:
                sents[key] = len(sents)
            out.append([sents[key], _confidence(r.get("confidence"))])
        return out

    classes = display["classes"]
    style = {n: node_style(G, n) for n in G}
    # Hubs: the best-known entities, whose labels the page keeps readable when zoomed out;
    # the layout leaves room for those larger labels.
    hubs = set(sorted((n for n in G if G.nodes[n]["cls"] != "Statistic" and _importance(G, n) >= 2),
                      key=lambda n: (-_importance(G, n), ids[n]))[:HUB_LABELS])
    boxes = {n: label_box(a["label"], classes[a["cls"]]["shape"], style[n][0],
                          style[n][1] * (HUB_ROOM if n in hubs else 1.0))
             for n, a in G.nodes(data=True)}
    pos = compute_layout(G, boxes) if len(G) else {}

    nodes = []
    for iri, a in G.nodes(data=True):
        size, font = style[iri]
        x, y = pos[iri]
        node = {"id": ids[iri], "label": a["label"], "cls": a["cls"], "alt": a["altLabels"],
                "docs": [doc(t) for t in a["documents"]], "size": round(size, 1),
                "font": round(font), "x": round(x), "y": round(y)}
        if a["cls"] == "Statistic":
            node["stat"] = {
                "value": format_number(a["value"], display["number_scales"]) if a.get("value") is not None else "",
                "exact": _plain_value(a["value"]) if a.get("value") is not None else "",
                "unit": a.get("unit") or "", "metric": a.get("metric") or "",
                "period": a.get("period") or "", "ev": evidence(a.get("evidence") or [])}
        nodes.append(node)
    edges = []
    for u, v, a in G.edges(data=True):
        edges.append({"from": ids[u], "to": ids[v], "rel": a["predicate"],
                      "ev": evidence(a.get("evidence") or [])})

    for n in hubs:
        nodes[ids[n]]["hub"] = 1

    # The reduced view of a large graph: the most connected entities; statistics fold into
    # the panel of the agency reporting them.
    # It has its own layout (rx, ry): the full one would leave it sparse and unreadable.
    reduced = len(nodes) > REDUCE_ABOVE
    if reduced:
        ranked = sorted((n for n in G if G.nodes[n]["cls"] != "Statistic"),
                        key=lambda n: (-_importance(G, n), ids[n]))[:REDUCED_NODES]
        keep = set(ranked)
        R = induced_subgraph(G, keep)      # G's order: the same ties broken the same way
        for n, (x, y) in compute_layout(R, boxes).items():
            nodes[ids[n]].update(core=1, rx=round(x), ry=round(y))

    present = {a["cls"] for _, a in G.nodes(data=True)}
    rank = {p: i for i, p in enumerate(display["relations"])}
    used = sorted({e["rel"] for e in edges}, key=lambda p: (rank.get(p, len(rank)), p))
    names = {n for node in nodes for n in [node["label"], *node["alt"]]}
    return {
        "nodes": nodes, "edges": edges,
        "docs": list(docs), "sents": [[text, doc(title) if title else -1] for text, title in sents],
        "classes": {c: spec for c, spec in classes.items() if c in present},
        "relations": {p: display["relations"].get(p, {"zh": p, "en": p}) for p in used},
        "fold": fold_map(names) if names else {},
        "marks": patterns()["words"]["name_marks"],     # what the search ignores, with white space
        "view": {"reduced": reduced, "limit": REDUCED_NODES if reduced else None, "room": HUB_ROOM,
                 "focus": ids[focus] if focus is not None else None},
    }


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


def render_networkx(G: nx.MultiDiGraph, out_path: Path, title: str = "zh-policy-kg", *,
                    display: dict[str, Any] | None = None, note: str = "",
                    focus: str | None = None) -> dict[str, int]:
    """Write the page for a networkx view (as graph_to_networkx makes); return the counts.

    `focus`: a node of G the page opens on, selected with its panel open.
    """
    display = display or load_display()
    data = page_data(G, display, focus)
    counts: dict[str, int] = {}
    for n in data["nodes"]:
        counts[n["cls"]] = counts.get(n["cls"], 0) + 1
    legend = [{"id": c, **spec, "count": counts[c]} for c, spec in data["classes"].items()]
    rel_counts: dict[str, int] = {}
    for e in data["edges"]:
        rel_counts[e["rel"]] = rel_counts.get(e["rel"], 0) + 1
    relations = [{"id": p, **spec, "count": rel_counts[p]} for p, spec in data["relations"].items()]

    js, css = _vis_assets()
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True)
    page = env.get_template("graph.html").render(
        title=title, note=note,  # autoescaped by Jinja (same escaping as html.escape)
        n_nodes=len(data["nodes"]), n_edges=len(data["edges"]),
        legend=legend, relations=relations,
        graph_json=Markup(_script_json(data)),
        vis_js=Markup(js), vis_css=Markup(css),
    )
    _write_atomic(Path(out_path), page)
    return {"nodes": G.number_of_nodes(), "edges": G.number_of_edges()}


def render_html(graph: Graph, out_path: Path, title: str = "zh-policy-kg", *,
                display_path: Path | None = None, focus: str | None = None,
                hops: int = 1) -> dict[str, int]:
    """Write the graph as one offline HTML page; return {"nodes": n, "edges": m}.

    With `focus`, only the nodes within `hops` relations of the node of that name
    (LookupError if there is none).
    """
    display = load_display(display_path)
    G = graph_to_networkx(graph, display)
    note, centre = "", None
    if focus is not None:
        centre = find_node(G, focus)
        G = focus_subgraph(G, focus, hops)
        label = G.nodes[centre]["label"].replace("\n", " ")
        note = f"聚焦：{label} 周围 {hops} 跳（focus: {hops} hop{'s' if hops != 1 else ''}）"
    return render_networkx(G, out_path, title, display=display, note=note, focus=centre)
