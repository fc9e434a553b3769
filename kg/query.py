"""SPARQL over a built output: named queries (kg/queries/*.rq), bound values, the engine's errors.

A named query is a .rq file whose leading `#` lines say what it answers (the first line) and
which values it takes:

    # Measures an agency issued, with how many sentences and documents say so.
    # param agency: a name of the agency (Simplified, Traditional or short form)
    # param! name: a required value

Values are bound to the query's variables of the same name through pyoxigraph `substitutions`
(never pasted into the text, see DESIGN.md traps). Oxigraph only substitutes variables that
the query projects, so each named query selects its parameters as columns too; an optional
parameter that is not given is left unbound, and the queries test `COALESCE(?x, "") = ""`
for "not given" (BOUND() does not see substituted values in Oxigraph 0.5). Names are matched
against skos:prefLabel and skos:altLabel with quote and book-title marks removed on both sides,
so `獴猎`, `“獴猎”` and `獴猎行动` all find the campaign.

Oxigraph plans a query before it knows the bound values, so a filter on a parameter would run
after everything else; the named queries therefore look up the named entities first and reach
the rest with LATERAL (bench/query_bench.py times them on a 1.5 M triple graph).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

QUERY_DIR = Path(__file__).resolve().parent / "queries"

# Prefixes every query may use without declaring them (named queries declare their own, so
# that they also run on other SPARQL engines that know LATERAL, e.g. Jena: the named queries
# use it (SEP-0006, in the SPARQL 1.2 drafts) to set the order Oxigraph evaluates them in).
PREFIXES = {
    "kgo": "https://w3id.org/zh-policy-kg/ontology#",
    "kgr": "https://w3id.org/zh-policy-kg/resource/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "prov": "http://www.w3.org/ns/prov#",
    "dcterms": "http://purl.org/dc/terms/",
    "org": "http://www.w3.org/ns/org#",
    "schema": "https://schema.org/",
}

PARAM_LINE = re.compile(r"#\s*param(!?)\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)")


class QueryError(Exception):
    """A query that cannot run: bad syntax (the engine's message), unknown name or parameter."""


@dataclass
class NamedQuery:
    name: str
    path: Path
    text: str
    summary: str                                        # the first comment line
    params: dict[str, str] = field(default_factory=dict)    # name -> description
    required: set[str] = field(default_factory=set)


def parse_named(path: Path) -> NamedQuery:
    text = path.read_text(encoding="utf-8")
    summary, params, required = "", {}, set()
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if not line.startswith("#"):
            break                                       # the header ends at the first query line
        m = PARAM_LINE.fullmatch(line)
        if m:
            params[m.group(2)] = m.group(3).strip()
            if m.group(1):
                required.add(m.group(2))
        elif not summary:
            summary = line.lstrip("#").strip()
    if not summary:
        raise QueryError(f"{path.name}: a named query starts with a # line saying what it answers")
    return NamedQuery(path.stem, path, text, summary, params, required)


def named_queries(folder: Path = QUERY_DIR) -> dict[str, NamedQuery]:
    return {q.name: q for q in (parse_named(p) for p in sorted(folder.glob("*.rq")))}


def resolve(spec: str) -> tuple[str, NamedQuery | None]:
    """A query given as a named query, a .rq file, or SPARQL text -> (text, named or None)."""
    is_file_name = "\n" not in spec and spec.endswith((".rq", ".sparql"))
    if not is_file_name and any(c in spec for c in "{} \n\t"):
        return spec, None                               # SPARQL text
    named = named_queries()
    if spec in named:
        return named[spec].text, named[spec]
    path = Path(spec)
    if not path.is_file():
        raise QueryError(f"no named query or file {spec!r} (kg query OUT --list shows the names)")
    try:
        return path.read_text(encoding="utf-8"), None
    except (OSError, UnicodeDecodeError) as e:
        raise QueryError(f"cannot read {spec}: {e}") from None


def parse_params(pairs: list[str]) -> dict[str, str]:
    """["name=value", …] (from --param) -> {name: value}."""
    values: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        name = name.strip().lstrip("?$")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise QueryError(f"--param wants NAME=VALUE, not {pair!r}")
        values[name] = value
    return values


def to_term(value) -> ox.NamedNode | ox.Literal | ox.BlankNode:
    """A bound value as an RDF term: `<iri>` is an IRI, any other text a string literal."""
    if isinstance(value, (ox.NamedNode, ox.Literal, ox.BlankNode)):
        return value
    if isinstance(value, bool):
        return ox.Literal("true" if value else "false",
                          datatype=ox.NamedNode(PREFIXES["xsd"] + "boolean"))
    if isinstance(value, (int, float)):
        return ox.Literal(value)
    text = str(value)
    if text.startswith("<") and text.endswith(">") and len(text) > 2:
        return ox.NamedNode(text[1:-1])
    # Names are stored in Simplified script: a Traditional name finds its entity even when that
    # Traditional form never occurred in a document.
    return ox.Literal(_simplified(text))


@functools.lru_cache(maxsize=1)
def _converter():
    import opencc
    return opencc.OpenCC("t2s")


def _simplified(text: str) -> str:
    return _converter().convert(text)


def check_params(named: NamedQuery | None, values: dict) -> None:
    if named is None:
        return
    unknown = sorted(set(values) - set(named.params))
    if unknown:
        takes = ", ".join(named.params) or "no parameters"
        raise QueryError(f"{named.name} has no parameter {unknown[0]!r} (it takes: {takes})")
    missing = sorted(p for p in named.required if not str(values.get(p) or "").strip())
    if missing:
        raise QueryError(f"{named.name} needs --param {missing[0]}=… ({named.params[missing[0]]})")


def run(store: ox.Store, text: str, values: dict | None = None, **options):
    """Run a query on `store` with values bound to variables; engine errors become QueryError."""
    subs = {ox.Variable(k): to_term(v) for k, v in (values or {}).items()
            if v is not None and v != ""}
    try:
        return store.query(text, prefixes=PREFIXES, substitutions=subs or None, **options)
    except SyntaxError as e:
        raise QueryError(f"syntax error: {e}") from None
    except (RuntimeError, ValueError, OSError) as e:
        raise QueryError(str(e).splitlines()[0] if str(e) else type(e).__name__) from None


def query_kind(result) -> str:
    """'solutions' (SELECT), 'boolean' (ASK) or 'graph' (CONSTRUCT/DESCRIBE)."""
    if isinstance(result, ox.QueryBoolean):
        return "boolean"
    if isinstance(result, ox.QuerySolutions):
        return "solutions"
    return "graph"
