"""Text that remembers where each character came from.

Ingest cuts, joins and rewrites the decoded file many times; a `Mapped` string carries,
for every character, its offset in the decoded file (`Document.raw`), so any finding in
the cleaned text can be pointed back at what the user actually has. Characters that
ingest adds (a paragraph break, a space for a joined line) get the raw position where
they stand.
"""
from __future__ import annotations

import re
from typing import Callable, Iterable


class Mapped:
    """A string plus one raw offset per character (`len(offsets) == len(text)`)."""

    __slots__ = ("text", "offsets")

    def __init__(self, text: str = "", offsets: list[int] | None = None):
        offsets = [] if offsets is None else offsets
        if len(offsets) != len(text):
            raise ValueError("Mapped: one offset per character")
        self.text = text
        self.offsets = offsets

    @classmethod
    def of(cls, raw: str, start: int = 0, end: int | None = None) -> "Mapped":
        """The slice raw[start:end], each character at its own offset."""
        end = len(raw) if end is None else end
        return cls(raw[start:end], list(range(start, end)))

    @classmethod
    def at(cls, text: str, pos: int) -> "Mapped":
        """Characters that stand for one source position (an entity, an inserted break)."""
        return cls(text, [pos] * len(text))

    def __len__(self) -> int:
        return len(self.text)

    def __bool__(self) -> bool:
        return bool(self.text)

    def __getitem__(self, key: slice) -> "Mapped":
        return Mapped(self.text[key], self.offsets[key])

    def __add__(self, other: "Mapped") -> "Mapped":
        return Mapped(self.text + other.text, self.offsets + other.offsets)

    def __repr__(self) -> str:
        return f"Mapped({self.text!r})"

    @property
    def start(self) -> int:
        return self.offsets[0] if self.offsets else -1

    @property
    def end(self) -> int:
        """Raw position just after the last character (where a following break stands)."""
        return self.offsets[-1] + 1 if self.offsets else -1

    def strip(self, chars: str | None = None) -> "Mapped":
        left = len(self.text) - len(self.text.lstrip(chars))
        right = len(self.text.rstrip(chars))
        if left == 0 and right == len(self.text) and right:
            return self                 # nothing to strip (the common case): no copy
        return self[left:right] if left < right else Mapped()

    def split_lines(self) -> list["Mapped"]:
        """Split at \\n; a \\r before it (Windows files) is dropped."""
        out, start = [], 0
        for m in re.finditer("\n", self.text):
            out.append(self[start:m.start()].rstrip_cr())
            start = m.end()
        out.append(self[start:].rstrip_cr())
        return out

    def rstrip_cr(self) -> "Mapped":
        return self[:-1] if self.text.endswith("\r") else self

    def rewrite(self, pattern: re.Pattern, repl: Callable[[re.Match], "Mapped | None"]) -> "Mapped":
        """Replace each match of `pattern` by repl(match) (None deletes it); other text is kept."""
        if not pattern.search(self.text):
            return self                 # most calls: nothing matches
        parts, pos = [], 0
        for m in pattern.finditer(self.text):
            parts.append(self[pos:m.start()])
            new = repl(m)
            if new:
                parts.append(new)
            pos = m.end()
        if not parts:
            return self
        parts.append(self[pos:])
        return concat(parts)

    def keep_group(self, pattern: re.Pattern, group: str = "keep") -> "Mapped":
        """Replace each match by its named group (Markdown `[text](url)` -> text); no group -> delete."""
        def repl(m: re.Match) -> Mapped | None:
            if group in m.re.groupindex and m.group(group) is not None:
                return self[m.start(group):m.end(group)]
            return None
        return self.rewrite(pattern, repl)


def concat(parts: Iterable[Mapped]) -> Mapped:
    text, offsets = [], []
    for p in parts:
        text.append(p.text)
        offsets.extend(p.offsets)
    return Mapped("".join(text), offsets)


def join(parts: list[Mapped], sep: str) -> Mapped:
    """Join non-empty parts with `sep`, which stands just after the part before it."""
    out: list[Mapped] = []
    for p in parts:
        if not p:
            continue
        if out:
            out.append(Mapped.at(sep, out[-1].end))
        out.append(p)
    return concat(out)
