"""Query results as bytes in the SPARQL 1.1 result formats, RDF formats, or a readable table.

SELECT results are written here rather than by pyoxigraph's serializer because the endpoint
cuts them at a row limit (pyoxigraph serializes a whole result iterator only). The tests check
that pyoxigraph parses what this writes back to the same solutions.
"""
from __future__ import annotations

import csv
import io
import json
import unicodedata

import pyoxigraph as ox

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

# format name -> media type, for each kind of result
SOLUTION_FORMATS = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
GRAPH_FORMATS = {
    "ttl": "text/turtle",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
}
RDF_FORMATS = {
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}


def variables_of(result) -> list[str]:
    return [v.value for v in result.variables]


def solution_rows(result, names: list[str], limit: int | None = None) -> tuple[list[list], bool]:
    """Up to `limit` rows (each a list of terms or None) and whether more were left."""
    rows = []
    for solution in result:
        if limit is not None and len(rows) >= limit:
            return rows, True
        rows.append([solution[n] for n in names])
    return rows, False


def write_solutions(names: list[str], rows: list[list], fmt: str) -> bytes:
    if fmt == "json":
        return _json(names, rows)
    if fmt == "xml":
        return _xml(names, rows)
    if fmt == "csv":
        return _csv(names, rows)
    if fmt == "tsv":
        return _tsv(names, rows)
    raise ValueError(f"unknown result format {fmt!r}")


def write_boolean(value: bool, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": bool(value)}).encode()
    if fmt == "xml":
        return ('<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
                f"<head/><boolean>{'true' if value else 'false'}</boolean></sparql>\n").encode()
    if fmt in ("csv", "tsv"):
        return b"true\r\n" if value else b"false\r\n"
    raise ValueError(f"unknown result format {fmt!r}")


def write_triples(triples, fmt: str, prefixes: dict[str, str] | None = None) -> bytes:
    options = {"prefixes": prefixes} if prefixes and fmt in ("ttl", "rdfxml") else {}
    # sorted, so that Turtle groups the triples of one subject (the serializer streams)
    triples = sorted(triples, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    return ox.serialize(triples, format=RDF_FORMATS[fmt], **options)


# ---------------------------------------------------------------- the four result formats

def _json_term(term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value not in (XSD_STRING, RDF_LANGSTRING):
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, ox.Triple):  # RDF-star
        return {"type": "triple", "value": {"subject": _json_term(term.subject),
                                            "predicate": _json_term(term.predicate),
                                            "object": _json_term(term.object)}}
    raise TypeError(f"not an RDF term: {term!r}")


def _json(names, rows) -> bytes:
    bindings = [{n: _json_term(t) for n, t in zip(names, row) if t is not None} for row in rows]
    data = {"head": {"vars": names}, "results": {"bindings": bindings}}
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _xml_term(term) -> str:
    from xml.sax.saxutils import escape, quoteattr   # here: it imports urllib (25 ms per kg query)
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
        return f"<literal>{escape(term.value)}</literal>"
    if isinstance(term, ox.Triple):
        return ("<triple>" + "".join(f"<{k}>{_xml_term(getattr(term, k))}</{k}>"
                                     for k in ("subject", "predicate", "object")) + "</triple>")
    raise TypeError(f"not an RDF term: {term!r}")


def _xml(names, rows) -> bytes:
    from xml.sax.saxutils import quoteattr
    out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
    out += [f"<variable name={quoteattr(n)}/>" for n in names]
    out.append("</head><results>")
    for row in rows:
        out.append("<result>")
        out += [f"<binding name={quoteattr(n)}>{_xml_term(t)}</binding>"
                for n, t in zip(names, row) if t is not None]
        out.append("</result>")
    out.append("</results></sparql>\n")
    return "".join(out).encode("utf-8")


def _csv_value(term) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Triple):
        return str(term)
    return term.value


def _csv(names, rows) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(names)
    for row in rows:
        w.writerow([_csv_value(t) for t in row])
    return buf.getvalue().encode("utf-8")


def _tsv(names, rows) -> bytes:
    # Terms in their N-Triples form: pyoxigraph's str() escapes tabs and newlines in literals.
    lines = ["\t".join(f"?{n}" for n in names)]
    lines += ["\t".join("" if t is None else str(t) for t in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


# ---------------------------------------------------------------- the table for people

def short(term, prefixes: dict[str, str]) -> str:
    """A term as a person reads it: IRIs as prefix:name, literals as their text."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        best = max((ns for ns in prefixes.values() if term.value.startswith(ns)), key=len, default=None)
        if best is not None:
            prefix = next(p for p, ns in prefixes.items() if ns == best)
            return f"{prefix}:{term.value[len(best):]}"
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        return term.value
    return str(term)


def width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if width(text) <= limit:
        return text
    out, used = [], 0
    for c in text:
        w = width(c)
        if used + w > limit - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "…"


def table(names: list[str], rows: list[list], prefixes: dict[str, str], max_width: int = 60) -> str:
    cells = [[clip(short(t, prefixes), max_width) for t in row] for row in rows]
    widths = [max([width(n)] + [width(r[i]) for r in cells]) for i, n in enumerate(names)]

    def line(values):
        return "  ".join(v + " " * (w - width(v)) for v, w in zip(values, widths)).rstrip()

    out = [line(names), line(["-" * w for w in widths])] + [line(r) for r in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)
