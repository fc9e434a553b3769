"""What every pass shares: the per-document context, the registry, and small text helpers.

A pass is a function `(ctx: Context) -> None` that adds findings to the context. Entity passes
run first; `Context.settle_mentions` then resolves overlaps once; relation and statistics passes
read the settled mentions. Registering is one decorator, so a new pass is one new module.
"""
from __future__ import annotations

import bisect
import functools
import operator
import re
from dataclasses import dataclass, field
from functools import cached_property
from itertools import repeat
from typing import Callable

from ..config import name_marks
from ..model import Document, Findings, Mention, Relation, Sentence, StatisticFinding
from ..segment import cut_words, paragraph_of, split_sentences

PassFn = Callable[["Context"], None]
ENTITY_PASSES: list[tuple[str, PassFn]] = []
RELATION_PASSES: list[tuple[str, PassFn]] = []

CJK = r"\u3400-\u9fff"
QUOTES_OPEN = "“‘「『\"'"
QUOTES_CLOSE = "”’」』\"'"
MARKS = name_marks()       # quote and title marks, white space (ontology/patterns.yaml)


def entity_pass(name: str):
    def register(fn: PassFn) -> PassFn:
        ENTITY_PASSES.append((name, fn))
        fn.pass_name = name
        return fn
    return register


def relation_pass(name: str):
    def register(fn: PassFn) -> PassFn:
        RELATION_PASSES.append((name, fn))
        fn.pass_name = name
        return fn
    return register


def alternation(words) -> str:
    """A regex alternation of literal words, longest first (so 边检总站 wins over 总站)."""
    return _alternation(tuple(words))


@functools.lru_cache(maxsize=None)
def _alternation(words: tuple[str, ...]) -> str:
    # Passes ask for the same few word lists for every document: escape them once.
    # Words are grouped by their first character, each group in the same order (副(?:局长|处长)):
    # the same matches, but re tries one group at a place instead of every word.
    groups: dict[str, list[str]] = {}
    for word in sorted(words, key=len, reverse=True):
        groups.setdefault(word[:1], []).append(word)
    return "|".join(re.escape(ws[0]) if len(ws) == 1 else
                    re.escape(first) + "(?:%s)" % "|".join(re.escape(w[1:]) for w in ws)
                    for first, ws in groups.items())


def first_chars(words) -> str:
    """A lookahead for the first characters of `words`. Put before a pattern that can only start
    with one of them, it rules out most positions of a scan at once (the result is the same)."""
    return "(?=[%s])" % re.escape("".join(sorted({w[0] for w in words})))


def initials(words) -> str:
    """The first characters of `words`: where a match of their alternation can start (for
    char_matches, anchored_matches and lookahead_matches)."""
    return "".join(sorted({w[0] for w in words}))


def lookahead_matches(rx: re.Pattern, starts: re.Pattern | str, text: str):
    """rx.finditer(text) for a pattern that matches only the empty string, and only where
    `starts` (a plain alternation of words, or a string of characters that every such place
    starts with) matches. re looks for a plain alternation at C speed, but must try a lookahead
    at every position of the text: jump from word to word."""
    if isinstance(starts, str):                  # (rare characters: str.find is faster still)
        for at in _char_offsets(text, starts):
            m = rx.match(text, at)
            if m is not None:
                yield m
        return
    pos = 0
    while (found := starts.search(text, pos)) is not None:
        m = rx.match(text, found.start())
        if m is not None:
            yield m
        pos = found.start() + 1


def anchored_matches(rx: re.Pattern, anchors: re.Pattern | str, text: str, reach: int):
    """rx.finditer(text) for a pattern each of whose matches has a match of `anchors` (a plain
    alternation of words, or a string of characters any of which is one) starting at most
    `reach` characters after its own start. re must try a pattern that starts with a class of
    common characters at each of them; it finds the anchor words at C speed, and rx is then
    tried only at the few places before each."""
    chars = _char_offsets(text, anchors) if isinstance(anchors, str) else None
    pos = 0                                  # where finditer would go on looking
    while True:
        if chars is None:
            found = anchors.search(text, pos)
            if found is None:
                return
            at = found.start()
        else:
            i = bisect.bisect_left(chars, pos)
            if i == len(chars):
                return
            at = chars[i]
        for start in range(max(pos, at - reach), at + 1):
            m = rx.match(text, start)
            if m is not None:
                yield m
                pos = m.end()
                break
        else:
            pos = at + 1


def char_matches(rx: re.Pattern, chars: str, text: str):
    """rx.finditer(text) for a pattern each of whose matches starts with one of a few `chars`
    (and is not empty): str.find jumps to those characters much faster than re's scan for a
    class of them, and rx is tried only there."""
    pos = 0
    for at in _char_offsets(text, chars):
        if at >= pos:
            m = rx.match(text, at)
            if m is not None:
                yield m
                pos = m.end()


def _char_offsets(text: str, chars: str) -> list[int]:
    """Where any of `chars` is in text, in order (one str.find per occurrence)."""
    out = []
    for ch in chars:
        i = text.find(ch)
        while i >= 0:
            out.append(i)
            i = text.find(ch, i + 1)
    out.sort()
    return out


@functools.lru_cache(maxsize=4096)
def clean_name(name: str) -> str:
    """A canonical name: no quote or book-title marks, no white space."""
    return MARKS.sub("", name)


# Nested mentions that are kept inside a longer one of another class: the place in an agency's
# name, the crime type a campaign is named after, the places a measure names.
NESTABLE = {
    "Agency": {"Location", "Agency"},
    "Campaign": {"CrimeType", "Location"},
    "Measure": {"Location", "Agency", "CrimeType"},
    "CrimeType": set(),
    "Law": set(),
    "Location": set(),
    "Person": set(),
}


_START = operator.attrgetter("start")
_END = operator.attrgetter("end")
_CONFIDENCE = operator.attrgetter("confidence")


def _length(m: Mention) -> int:
    return m.end - m.start


@dataclass
class Context:
    doc: Document
    sentences: list[Sentence] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    statistics: list[StatisticFinding] = field(default_factory=list)
    memo: dict = field(default_factory=dict)     # per-document results relation passes share

    def __post_init__(self):
        self.text: str = self.doc.text          # an attribute, not a property: passes read it often
        if not self.sentences:
            self.sentences = split_sentences(self.doc.text)

    def is_word(self, start: int, end: int) -> bool:
        """Does the segmenter see a word boundary at both ends of text[start:end]?

        Only the neighbourhood is segmented: ambiguous names are rare, and cutting the whole
        document for them would cost more than every other pass together."""
        lo, hi = max(0, start - 8), min(len(self.doc.text), end + 8)
        bounds, pos = {lo, hi}, lo
        for word in cut_words(self.doc.text[lo:hi]):
            pos += len(word)
            bounds.add(pos)
        # The window's own edges are not evidence; trust them only at the text's edges.
        return (start in bounds and (start != lo or lo == 0)) and (end in bounds and (end != hi or hi == len(self.doc.text)))

    @cached_property
    def agency_ending_at(self) -> dict[int, Mention]:
        """Settled agency mentions by end offset (for unit chains)."""
        return {m.end: m for m in self.mentions if m.cls == "Agency" and m.start >= 0}

    @cached_property
    def paragraphs(self) -> list[int]:
        return paragraph_of(self.doc.text, self.sentences)

    @cached_property
    def _sentence_starts(self) -> list[int]:
        return [s.start for s in self.sentences]

    @cached_property
    def _sentence_ends(self) -> list[int]:
        return [s.end for s in self.sentences]

    def sentence_index(self, offset: int) -> int:
        # sentence_at, with the sentences' offsets listed once: every mention asks.
        i = bisect.bisect_right(self._sentence_starts, offset) - 1
        return i if i >= 0 and offset < self._sentence_ends[i] else -1

    @cached_property
    def _surface_text(self) -> str:
        """What Document.surface slices (the original script), looked up once."""
        return self.doc.original or self.doc.text

    def add(self, cls: str, name: str, start: int, end: int, pass_name: str, confidence: float,
            aliases=(), **attrs) -> Mention | None:
        name = clean_name(name)
        if not name or start < 0 or end > len(self.doc.text) or start >= end:
            return None
        aliases = tuple([a for a in aliases if a and a != name]) if aliases else ()
        return self.append(cls, name, start, end, pass_name, confidence, aliases, attrs)

    def append(self, cls: str, name: str, start: int, end: int, pass_name: str,
               confidence: float, aliases: tuple, attrs: dict) -> Mention:
        """`add` for a caller whose name is clean, span valid and aliases checked already."""
        m = Mention(cls, name, start, end, self._surface_text[start:end], pass_name, confidence,
                    self.sentence_index(start), aliases, attrs)
        self.mentions.append(m)
        return m

    def settle_mentions(self) -> None:
        """One reading of each span: longer and surer mentions win; allowed nestings are kept."""
        # Ranked longest, then surest, then first: one stable sort per key, the last key first
        # (keys read in C, not a tuple made per mention).
        ranked = sorted(self.mentions, key=_START)
        ranked.sort(key=_CONFIDENCE, reverse=True)
        ranked.sort(key=_length, reverse=True)
        kept: list[Mention] = []
        # Offset -> the kept mentions over it (no n² scan). A list with a shared tuple per
        # character: marking a span is one slice assignment, not a dict update per character.
        covering: list[tuple] = [()] * (max(map(_END, ranked), default=0) + 1)
        spans: dict[tuple, Mention] = {}          # (start, end, cls, name) -> the kept reading
        blocks = self._blocks
        for m in ranked:
            start, end = m.start, m.end
            if start < 0:                        # from the metadata: no span to share
                kept.append(m)
                continue
            span = (start, end, m.cls, m.name)
            same = spans.get(span)
            if same is not None:                 # two passes agree: keep what each knows
                for key, value in m.attrs.items():
                    # What the lexicon says of a known name outranks a guess from its structure
                    # (中国出入境管理局 is the NIA, not an agency located in 中国).
                    if not (same.pass_name == "lexicon" and key == "location"):
                        same.attrs.setdefault(key, value)
                same.aliases = tuple(dict.fromkeys(same.aliases + m.aliases))
                continue
            # A kept mention is at least as long as m (ranked first), so one that overlaps m
            # covers its first or its last character: only those two need looking at.
            first, last = covering[start], covering[end - 1]
            if first or last:
                if any(map(blocks, first + last, repeat(m))):
                    continue
                covering[start:end] = [k + (m,) for k in covering[start:end]]
            else:                                # (so nothing kept overlaps m)
                covering[start:end] = [(m,)] * (end - start)
            kept.append(m)
            spans[span] = m
        # By start, then longest first: kept is ranked longest first, and the sort is stable.
        self.mentions = sorted(kept, key=_START)
        self.__dict__.pop("agency_ending_at", None)

    def by_sentence(self, cls: str | None = None) -> dict[int, list[Mention]]:
        """Settled mentions grouped by sentence (optionally of one class), computed once."""
        key = ("by_sentence", cls)
        if key not in self.memo:
            groups: dict[int, list[Mention]] = {}
            for m in self.mentions:
                if cls is None or m.cls == cls:
                    group = groups.get(m.sentence)
                    if group is None:            # (setdefault would make a list for every mention)
                        groups[m.sentence] = [m]
                    else:
                        group.append(m)
            self.memo[key] = groups
        return self.memo[key]

    @staticmethod
    def _blocks(k: Mention, m: Mention) -> bool:
        """Does kept mention `k` (at least as long as `m`) rule out `m`?"""
        if m.end <= k.start or m.start >= k.end:
            return False                       # no overlap
        if (k.start, k.end) == (m.start, m.end):
            # Same span: the better-ranked reading wins, unless one class names the other
            # (鸡西 in 鸡西、黑河等边境管理支队 is both a place and, by the list, a unit).
            return m.cls == k.cls or not (m.cls in NESTABLE.get(k.cls, ()) or
                                          k.cls in NESTABLE.get(m.cls, ()))
        inside = k.start <= m.start and m.end <= k.end
        if inside and k.cls == m.cls == "Agency":
            # Only a department keeps its parent inside it (国家移民管理局综合司); 海关 inside
            # 海关总署 is part of a name, not a second agency.
            return k.pass_name != "agency-department"
        return not (inside and m.cls in NESTABLE.get(k.cls, ()))

    def in_sentence(self, index: int, cls: str | None = None) -> list[Mention]:
        return [m for m in self.mentions if m.sentence == index and (cls is None or m.cls == cls)]

    def relate(self, predicate: str, subject: Mention, obj: Mention, pass_name: str,
               confidence: float, sentence: int | None = None) -> None:
        if subject.name == obj.name and subject.cls == obj.cls:
            return
        self.relations.append(Relation(predicate, subject, obj, pass_name, confidence,
                                       obj.sentence if sentence is None else sentence))

    def findings(self) -> Findings:
        return Findings(self.doc, self.sentences, self.mentions, self.relations, self.statistics)
