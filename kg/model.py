"""The data that flows between the steps of the pipeline.

A `Document` is what ingest makes of one file; passes read it and return `Finding`s;
resolve turns findings of all documents into entities; rdf writes them out.

Offsets: `Document.text` is the cleaned, Simplified-script text that passes match on.
`Document.offsets[i]` is the offset in `Document.raw` (the decoded file) of `text[i]`,
so every finding can point back at the characters the user actually has.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The entity classes of the contract (CONTRACT.md), in display order.
ENTITY_CLASSES = ("Agency", "Person", "Measure", "Campaign", "CrimeType", "Location", "Law")
# Relations between entities: name -> (subject class, object class).
RELATION_TYPES = {
    "issues": ("Agency", "Measure"),
    "conducts": ("Agency", "Campaign"),
    "targets": ("Campaign", "CrimeType"),
    "heads": ("Person", "Agency"),
    "subOrganizationOf": ("Agency", "Agency"),
    "locatedIn": ("Agency", "Location"),
    "cooperatesWith": ("Agency", "Agency"),
}


@dataclass
class Document:
    path: str                      # the path the user gave (as a string, for reports)
    doc_id: str                    # stable id: file stem + short content hash
    raw: str                       # the whole decoded file
    text: str                      # cleaned text for extraction, Simplified script
    offsets: list[int]             # len(text) entries: index into raw for each char of text
    original: str = ""             # text before script conversion (same length as text)
    meta: dict[str, Any] = field(default_factory=dict)   # title, date, author, editor, ...
    encoding: str = "utf-8"
    script: str = "Hans"           # "Hans" or "Hant" (what the body was written in)
    format: str = "text"           # text | markdown | html | pdf-text
    content_hash: str = ""         # sha256 of the raw bytes
    warnings: list[str] = field(default_factory=list)

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in `raw` covering text[start:end]."""
        if start >= end:
            pos = self.offsets[start] if start < len(self.offsets) else len(self.raw)
            return pos, pos
        return self.offsets[start], self.offsets[end - 1] + 1

    def surface(self, start: int, end: int) -> str:
        """The text as written in the original script (before conversion)."""
        return (self.original or self.text)[start:end]


@dataclass
class Sentence:
    index: int
    start: int                     # offsets into Document.text
    end: int
    text: str


@dataclass
class Mention:
    """An entity found in the text (or in metadata, then start == end == -1)."""
    cls: str                       # one of ENTITY_CLASSES
    name: str                      # canonical candidate name (Simplified, no quote marks)
    start: int
    end: int
    surface: str                   # as written in the original script, with marks
    pass_name: str
    confidence: float
    sentence: int = -1             # index into the document's sentences
    aliases: tuple[str, ...] = ()  # other names the pass knows for this entity
    attrs: dict[str, Any] = field(default_factory=dict)  # e.g. parent unit, place in name


@dataclass
class Relation:
    predicate: str                 # a key of RELATION_TYPES
    subject: Mention
    object: Mention
    pass_name: str
    confidence: float
    sentence: int = -1


@dataclass
class StatisticFinding:
    value: float
    unit: str
    metric: str
    period: str | None
    start: int                     # span of the number and unit in Document.text
    end: int
    surface: str
    pass_name: str
    confidence: float
    sentence: int = -1
    reporter: Mention | None = None


@dataclass
class Findings:
    """Everything the passes found in one document."""
    document: Document
    sentences: list[Sentence]
    mentions: list[Mention] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    statistics: list[StatisticFinding] = field(default_factory=list)
