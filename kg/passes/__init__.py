"""The extraction passes, in the order they run. Importing a module registers its passes."""
from __future__ import annotations

from ..model import Document, Findings
from . import lexicon_match, agencies, persons, campaigns, measures, laws_crimes  # noqa: F401
from . import relations, statistics  # noqa: F401  (relation passes read settled mentions)
from .base import ENTITY_PASSES, RELATION_PASSES, Context


def run_passes(doc: Document, only: set[str] | None = None) -> Findings:
    """Every registered pass over one document (or only the named ones)."""
    ctx = Context(doc)
    for name, fn in ENTITY_PASSES:
        if only is None or name in only:
            fn(ctx)
    ctx.settle_mentions()
    for name, fn in RELATION_PASSES:
        if only is None or name in only:
            fn(ctx)
    return ctx.findings()


def pass_names() -> list[str]:
    return [n for n, _ in ENTITY_PASSES + RELATION_PASSES]
