"""Text that remembers where each character came from.

Ingest cuts, joins and rewrites the decoded file many times; a `Mapped` string carries,
for every character, its offset in the decoded file (`Document.raw`), so any finding in
the cleaned text can be pointed back at what the user actually has. Characters that
ingest adds (a paragraph break, a space for a joined line) get the raw position where
they stand.

The offsets are kept as runs, not one int per character: cleaning mostly cuts the file
into slices and joins them again, so a paragraph is one run or a few, and a slice or a
join costs the same for a long paragraph as for a short one. The per-character list
(`offsets`) is made once, for the Document.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import Callable, Iterable

_AFTER_ALL = float("inf")   # (i, _AFTER_ALL) sorts after every run that starts at i
# Offsets below 65,536 are copied from this one list: a slice copies references, where a
# range makes a new int object for every character (most of the cost of `offsets`).
_SMALL_INTS = list(range(1 << 16))


class Mapped:
    """A string plus the raw offset of each character, as runs: (i, pos) in `runs` says
    text[i] stands at raw offset pos and the characters after it, up to the next run, at
    pos + 1, pos + 2, ... Runs are sorted by i, the first at 0; no runs for no text."""

    __slots__ = ("text", "runs")

    def __init__(self, text: str = "", runs: list[tuple[int, int]] | None = None):
        self.text = text
        self.runs = [] if runs is None else runs

    @classmethod
    def of(cls, raw: str, start: int = 0, end: int | None = None) -> "Mapped":
        """The slice raw[start:end], each character at its own offset."""
        return cls.run(raw[start:end], start)

    @classmethod
    def run(cls, text: str, pos: int) -> "Mapped":
        """`text` as it stands in the source from offset `pos` on."""
        return cls(text, [(0, pos)] if text else [])

    @classmethod
    def at(cls, text: str, pos: int) -> "Mapped":
        """Characters that stand for one source position (an entity, an inserted break)."""
        return cls(text, [(i, pos) for i in range(len(text))])

    @property
    def offsets(self) -> list[int]:
        """One raw offset per character."""
        out: list[int] = []
        runs = self.runs
        for k, (i, pos) in enumerate(runs):
            end = pos + (runs[k + 1][0] if k + 1 < len(runs) else len(self.text)) - i
            out += _SMALL_INTS[pos:end] if 0 <= pos and end <= len(_SMALL_INTS) else range(pos, end)
        return out

    def offset(self, i: int) -> int:
        """Raw offset of text[i] (0 <= i < len)."""
        j, pos = self.runs[bisect_right(self.runs, (i, _AFTER_ALL)) - 1]
        return pos + i - j

    def __len__(self) -> int:
        return len(self.text)

    def __bool__(self) -> bool:
        return bool(self.text)

    def __getitem__(self, key: slice) -> "Mapped":
        start, stop, step = key.indices(len(self.text))
        if step != 1:
            raise ValueError("Mapped: no slices with a step")
        if start >= stop:
            return Mapped()
        runs = self.runs
        if len(runs) == 1:              # one run (most text): no search
            return Mapped(self.text[start:stop], [(0, runs[0][1] + start)])
        first = bisect_right(runs, (start, _AFTER_ALL)) - 1   # the run that holds text[start]
        end = bisect_left(runs, (stop,))                       # the first run from text[stop] on
        i, pos = runs[first]
        return Mapped(self.text[start:stop],
                      [(0, pos + start - i)] + [(j - start, p) for j, p in runs[first + 1:end]])

    def __add__(self, other: "Mapped") -> "Mapped":
        return concat([self, other])

    def __repr__(self) -> str:
        return f"Mapped({self.text!r})"

    @property
    def start(self) -> int:
        return self.runs[0][1] if self.runs else -1

    @property
    def end(self) -> int:
        """Raw position just after the last character (where a following break stands)."""
        if not self.runs:
            return -1
        i, pos = self.runs[-1]
        return pos + len(self.text) - i

    def strip(self, chars: str | None = None) -> "Mapped":
        left = len(self.text) - len(self.text.lstrip(chars))
        right = len(self.text.rstrip(chars))
        if left == 0 and right == len(self.text) and right:
            return self                 # nothing to strip (the common case): no copy
        return self[left:right] if left < right else Mapped()

    def split_lines(self) -> list["Mapped"]:
        """Split at \\n; a \\r before it (Windows files) is dropped."""
        out, start = [], 0
        one_run = len(self.runs) == 1
        if one_run and "\r" not in self.text:     # (the whole file, most often: no \r to drop)
            pos = self.runs[0][1]
            for line in self.text.split("\n"):
                out.append(Mapped(line, [(0, pos)] if line else []))
                pos += len(line) + 1
            return out
        for line in self.text.split("\n"):
            end = start + len(line)
            if one_run:                 # (the whole file: each line is one run, made here)
                line = line[:-1] if line.endswith("\r") else line
                out.append(Mapped(line, [(0, self.runs[0][1] + start)] if line else []))
            else:
                out.append(self[start:end - 1 if line.endswith("\r") else end])
            start = end + 1
        return out

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
    parts = [p for p in parts if p.text]
    if len(parts) == 1:
        return parts[0]                 # (a paragraph of one line)
    text: list[str] = []
    runs: list[tuple[int, int]] = []
    n = 0                               # length so far
    for p in parts:
        i, pos = p.runs[0]
        if runs and runs[-1][1] + n - runs[-1][0] == pos:
            rest = p.runs[1:]           # continues the run before it (a slice joined back)
        else:
            rest = p.runs
        runs += [(i + n, pos) for i, pos in rest]
        text.append(p.text)
        n += len(p.text)
    return Mapped("".join(text), runs)


def join(parts: list[Mapped], sep: str) -> Mapped:
    """Join non-empty parts with `sep`, which stands just after the part before it."""
    text: list[str] = []
    runs: list[tuple[int, int]] = []
    n = 0                               # length so far
    for p in parts:
        if not p.text:
            continue
        if text:
            i, pos = runs[-1]
            end = pos + n - i           # the end of the part before
            for k in range(len(sep)):
                runs.append((n + k, end))
            text.append(sep)
            n += len(sep)
        if len(p.runs) == 1:            # (most parts: no list to build)
            runs.append((p.runs[0][0] + n, p.runs[0][1]))
        else:
            runs += [(i + n, pos) for i, pos in p.runs]
        text.append(p.text)
        n += len(p.text)
    return Mapped("".join(text), runs)
