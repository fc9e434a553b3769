"""`kg eval`: score a built graph against gold annotations, the way the reference scorer does.

Gold files are JSON, one per document: entities (class, label, aliases), relations (s, p, o by
label) and statistics (value, unit, metric, reported_by). Entities, relations and statistics
are matched one-to-one over the union of the documents; the headline is micro-averaged F1.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from pathlib import Path

from rdflib import Graph, Literal
from rdflib.namespace import RDF, RDFS, SKOS

from .model import ENTITY_CLASSES, RELATION_TYPES
from .ontology import KGO

_STRIP = re.compile(r"[\s“”‘’\"'《》〈〉「」『』【】()（）\u3000·•]")


def norm(label: str) -> str:
    """Comparison form: NFKC, no quote or bracket marks, no spaces, lower case."""
    return _STRIP.sub("", unicodedata.normalize("NFKC", str(label))).lower()


def unit_norm(unit: str) -> str:
    """Units compare without their parenthesised variants: 架（艘、列、辆）次 == 架次."""
    return norm(re.sub(r"[（(][^）)]*[）)]", "", str(unit)))


def fuzzy(a: str, b: str) -> bool:
    """Containment for long free-text names (measures): the shorter covers half the longer."""
    if not a or not b:
        return False
    short, long_ = sorted((a, b), key=len)
    return short in long_ and len(short) / len(long_) >= 0.5


def prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def load_gold(gold_dir: Path, docs: list[str] | None = None):
    files = sorted(Path(gold_dir).glob("*.json"))
    if docs:
        wanted = {Path(d).stem for d in docs}
        files = [f for f in files if f.stem in wanted]
    if not files:
        raise FileNotFoundError(f"no gold files in {gold_dir}")
    ents, rels, stats = [], set(), []
    for f in files:
        g = json.loads(f.read_text(encoding="utf-8"))
        for e in g["entities"]:
            names = {norm(e["label"]), *map(norm, e.get("aliases", []))}
            ents.append((e["class"], names, e["label"]))
        rels |= {(r["s"], r["p"], r["o"]) for r in g["relations"]}
        stats += [(float(s["value"]), unit_norm(s["unit"]), s.get("metric", ""), s.get("reported_by"))
                  for s in g["statistics"]]
    # The same entity annotated in several documents counts once (union of its names).
    merged: list[tuple[str, set[str], str]] = []
    for cls, names, label in ents:
        same = next((m for m in merged if m[0] == cls and m[1] & names), None)
        if same:
            same[1].update(names)
        else:
            merged.append((cls, set(names), label))
    return merged, sorted(rels), stats


def load_graph(graph: Graph):
    names, shown = defaultdict(set), {}
    for p in (SKOS.prefLabel, SKOS.altLabel, RDFS.label):
        for node, lit in graph.subject_objects(p):
            names[node].add(norm(lit))
            if p == SKOS.prefLabel or node not in shown:
                shown[node] = str(lit)
    ents = [(cls, names[n], shown.get(n, str(n)), n) for cls in ENTITY_CLASSES
            for n in set(graph.subjects(RDF.type, KGO[cls])) if names[n]]
    rels = [(s, p, o) for p in RELATION_TYPES for s, o in graph.subject_objects(KGO[p])]
    stats = []
    for node in sorted(set(graph.subjects(RDF.type, KGO.Statistic))):
        v = graph.value(node, KGO.value)
        try:
            val = float(v.toPython() if isinstance(v, Literal) else v)
        except (TypeError, ValueError):
            continue
        reporter = next(iter(graph.subjects(KGO.reports, node)), None)
        stats.append((val, unit_norm(graph.value(node, KGO.unit) or ""),
                      str(graph.value(node, KGO.metric) or ""), node, reporter))
    return ents, rels, stats


def match_entities(gold, pred) -> dict[int, int]:
    """One-to-one: exact name overlap first, then containment for measures."""
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for fuzzy_pass in (False, True):
        for gi, (gc, gnames, _) in enumerate(gold):
            if gi in pairs:
                continue
            for pi, (pc, pnames, _, _) in enumerate(pred):
                if pi in used or pc != gc:
                    continue
                hit = bool(gnames & pnames) if not fuzzy_pass else (
                    gc == "Measure" and any(fuzzy(a, b) for a in gnames for b in pnames))
                if hit:
                    pairs[gi] = pi
                    used.add(pi)
                    break
    return pairs


def score(graph: Graph, gold_dir: Path, docs: list[str] | None = None):
    """Returns (report, misses): report[part][item] = (tp, n_pred, n_gold), report['micro'] = P, R, F1."""
    g_ents, g_rels, g_stats = load_gold(gold_dir, docs)
    p_ents, p_rels, p_stats = load_graph(graph)
    report: dict = {"entities": {}, "relations": {}, "statistics": {}}
    misses: list[str] = []

    pairs = match_entities(g_ents, p_ents)
    matched_pred = set(pairs.values())
    for cls in ENTITY_CLASSES:
        gi = [i for i, e in enumerate(g_ents) if e[0] == cls]
        pi = [i for i, e in enumerate(p_ents) if e[0] == cls]
        report["entities"][cls] = (sum(1 for i in gi if i in pairs), len(pi), len(gi))
        misses += [f"missed {cls}: {g_ents[i][2]}" for i in gi if i not in pairs]
        misses += [f"extra  {cls}: {p_ents[i][2]}" for i in pi if i not in matched_pred]

    gold_key = {}
    for _, names, label in g_ents:
        for n in names:
            gold_key.setdefault(n, norm(label))
    node_to_gold = {p_ents[pi][3]: norm(g_ents[gi][2]) for gi, pi in pairs.items()}
    for _, names, _, node in p_ents:            # duplicates and class mix-ups still name an entity
        if node not in node_to_gold:
            hit = next((gold_key[n] for n in names if n in gold_key), None)
            if hit:
                node_to_gold[node] = hit
    key = lambda label: gold_key.get(norm(label), norm(label))
    g_keys = {(key(s), p, key(o)) for s, p, o in g_rels}
    p_keys = {(node_to_gold.get(s, f"?{s}"), p, node_to_gold.get(o, f"?{o}")) for s, p, o in p_rels}
    for p in RELATION_TYPES:
        gk = {k for k in g_keys if k[1] == p}
        pk = {k for k in p_keys if k[1] == p}
        if p == "cooperatesWith":                # symmetric
            gk = {tuple(sorted((a, b))) for a, _, b in gk}
            pk = {tuple(sorted((a, b))) for a, _, b in pk}
        report["relations"][p] = (len(gk & pk), len(pk), len(gk))
        misses += [f"missed {p}: {k}" for k in sorted(gk - pk)]
        misses += [f"extra  {p}: {k}" for k in sorted(pk - gk)]

    used: dict[int, int] = {}
    same = lambda gv, gu, pv, pu: pu == gu and abs(pv - gv) <= 0.005 * max(abs(gv), 1e-9)
    for need_reporter in (True, False):
        for gi, (val, unit, _, by) in enumerate(g_stats):
            if gi in used:
                continue
            for pi, (pv, pu, _, _, reporter) in enumerate(p_stats):
                if pi in used.values() or not same(val, unit, pv, pu):
                    continue
                agrees = bool(by) and reporter is not None and \
                    node_to_gold.get(reporter) == gold_key.get(norm(by))
                if agrees or not need_reporter:
                    used[gi] = pi
                    break
    attributed = sum(1 for gi, pi in used.items() if g_stats[gi][3] and p_stats[pi][4] is not None
                     and node_to_gold.get(p_stats[pi][4]) == gold_key.get(norm(g_stats[gi][3])))
    misses += [f"missed statistic: {m} {v:g} {u}" for gi, (v, u, m, _) in enumerate(g_stats)
               if gi not in used]
    misses += [f"extra  statistic: {m} {v:g} {u}" for pi, (v, u, m, _, _) in enumerate(p_stats)
               if pi not in used.values()]
    report["statistics"]["values"] = (len(used), len(p_stats), len(g_stats))
    report["statistics"]["reported_by"] = (attributed, sum(1 for s in p_stats if s[4] is not None),
                                           sum(1 for s in g_stats if s[3]))
    totals = [0, 0, 0]
    for part in ("entities", "relations", "statistics"):
        for t in report[part].values():
            for k in range(3):
                totals[k] += t[k]
    report["micro"] = prf(*totals)
    return report, misses


def format_report(report: dict) -> str:
    lines = [f"{'part':<10} {'item':<18} {'tp':>4} {'pred':>5} {'gold':>5}   P     R     F1"]
    for part in ("entities", "relations", "statistics"):
        for item, (tp, npred, ngold) in report[part].items():
            p, r, f = prf(tp, npred, ngold)
            lines.append(f"{part:<10} {item:<18} {tp:>4} {npred:>5} {ngold:>5}  {p:.2f}  {r:.2f}  {f:.2f}")
    p, r, f = report["micro"]
    lines.append(f"micro P={p:.3f} R={r:.3f} F1={f:.3f}")
    return "\n".join(lines)
