"""`kg push`: load graph.ttl into a store that speaks the SPARQL 1.1 Graph Store HTTP Protocol.

PUT replaces the target graph (pushing twice leaves one copy), POST (`append=True`) adds to it.
The target is the default graph (`?default`) or a named graph (`?graph=IRI`). Works with
Oxigraph (`http://host:7878/store`), Fuseki (`http://host:3030/DATASET/data`), GraphDB
(`http://host:7200/repositories/REPO/rdf-graphs/service`) and others.
"""
from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from .store import graph_file


class PushError(Exception):
    """The store refused the graph or could not be reached (the message says which)."""


def target_url(endpoint: str, graph: str | None = None) -> str:
    if urlsplit(endpoint).scheme not in ("http", "https"):
        raise PushError(f"--endpoint must be an http(s) URL, not {endpoint!r}")
    sep = "&" if "?" in endpoint else "?"
    return endpoint + sep + (urlencode({"graph": graph}) if graph else "default")


def push(out: Path | str, endpoint: str, graph: str | None = None, *, append: bool = False,
         timeout: float = 120.0) -> int:
    """Send the output's graph.ttl to the Graph Store endpoint; returns the HTTP status."""
    ttl = graph_file(out)
    url = target_url(endpoint, graph)
    size = ttl.stat().st_size
    with ttl.open("rb") as body:   # streamed, not read into memory
        request = urllib.request.Request(
            url, data=body, method="POST" if append else "PUT",
            headers={"Content-Type": "text/turtle; charset=utf-8", "Content-Length": str(size)})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status
        except urllib.error.HTTPError as e:
            detail = e.read(500).decode("utf-8", "replace").strip().splitlines()
            raise PushError(f"{url}: HTTP {e.code} {e.reason}" +
                            (f": {detail[0]}" if detail else "")) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise PushError(f"cannot reach {endpoint}: {reason}") from None
