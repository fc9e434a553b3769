"""`kg build`: files -> documents -> findings -> entities -> graph.ttl, graph.html, report.json.

Per-document work (ingest and passes) never sees other documents; only resolve and the writers
see the whole corpus. A file that cannot be read is reported and skipped. Nothing in the output
folder is replaced until every output has been written in full.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .ingest import IngestError, collect_paths, read_document
from .model import ENTITY_CLASSES, RELATION_TYPES, Findings
from .passes import run_passes
from .rdf import build_graph
from .resolve import resolve


class BuildError(Exception):
    """Nothing usable was built (the message says why)."""


@dataclass
class BuildResult:
    out_dir: Path
    documents: int
    entities: int
    relations: int
    statistics: int
    triples: int
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def build(inputs: list[str], out_dir: Path, *, min_confidence: float = 0.0,
          quiet: bool = False, render: bool = True) -> BuildResult:
    started = time.time()
    paths, problems = collect_paths(inputs)
    errors = list(problems)
    warnings: list[str] = []
    findings: list[Findings] = []
    seen: dict[str, Findings] = {}
    for i, path in enumerate(paths, 1):
        if not quiet:
            print(f"[{i}/{len(paths)}] {path}", file=sys.stderr)
        try:
            doc = read_document(path)
        except IngestError as e:
            errors.append(str(e))
            continue
        if doc.content_hash in seen:
            # The same article under two names counts once; both paths stay in the provenance.
            first = seen[doc.content_hash].document
            first.meta.setdefault("_paths", [first.path]).append(doc.path)
            warnings.append(f"{doc.path}: same content as {first.path}; counted once")
            continue
        warnings += [f"{doc.path}: {w}" for w in doc.warnings]
        f = run_passes(doc)
        seen[doc.content_hash] = f
        findings.append(f)
    if not findings:
        raise BuildError("no usable document in " + " ".join(inputs) +
                         (f" ({len(errors)} failed)" if errors else ""))
    resolved = resolve(findings, min_confidence=min_confidence)
    graph = build_graph(resolved)
    report = make_report(resolved, findings, warnings, errors, time.time() - started)
    write_outputs(out_dir, graph, report, render=render)
    return BuildResult(out_dir, len(findings), len(resolved.entities), len(resolved.relations),
                       len(resolved.statistics), len(graph), warnings, errors)


def make_report(resolved, findings, warnings, errors, seconds) -> dict:
    classes = Counter(e.cls for e in resolved.entities.values())
    relations = Counter(p for p, _, _ in resolved.relations)
    per_doc = []
    for f in findings:
        d = f.document
        per_doc.append({
            "doc_id": d.doc_id, "path": d.path, "paths": d.meta.get("_paths", [d.path]),
            "title": d.meta.get("title"), "format": d.format, "encoding": d.encoding,
            "script": d.script, "characters": len(d.text), "sentences": len(f.sentences),
            "mentions": dict(Counter(m.cls for m in f.mentions)),
            "relations": dict(Counter(r.predicate for r in f.relations)),
            "statistics": len(f.statistics),
        })
    return {
        "version": __version__,
        "documents": len(findings),
        "entities": {c: classes.get(c, 0) for c in ENTITY_CLASSES},
        "relations": {p: relations.get(p, 0) for p in RELATION_TYPES},
        "statistics": len(resolved.statistics),
        "per_document": per_doc,
        "warnings": warnings,
        "errors": errors,
        "seconds": round(seconds, 2),
    }


def write_outputs(out_dir: Path, graph, report: dict, render: bool = True) -> None:
    """Write every output to temporary files first, then move them into place."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        ttl = _temp(out_dir, "graph.ttl")
        graph.serialize(destination=str(ttl), format="turtle", encoding="utf-8")
        staged.append((ttl, out_dir / "graph.ttl"))
        rep = _temp(out_dir, "report.json")
        rep.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        staged.append((rep, out_dir / "report.json"))
        if render:
            from .render import render_html
            html = _temp(out_dir, "graph.html")
            render_html(graph, html, title="zh-policy-kg")
            staged.append((html, out_dir / "graph.html"))
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, final in staged:
        os.replace(tmp, final)


def _temp(out_dir: Path, name: str) -> Path:
    fd, path = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
    os.close(fd)
    os.chmod(path, 0o644)          # mkstemp makes files private; outputs are for sharing
    return Path(path)
